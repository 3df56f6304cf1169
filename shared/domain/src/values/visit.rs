//! A closed visit (work order) as the CRM reports it, its wire shape and field-level errors.

use std::fmt;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::customer::{Consents, Customer, FirstName};
use super::dates::{parse_date, parse_timestamp};
use super::ids::{AdvisorId, CustomerId, TelegramChatId, WorkOrderId};
use super::odometer::Odometer;
use super::phone::PhoneE164;
use super::plate::Plate;
use super::recommendation::{Recommendation, RecommendationDto};
use super::vehicle::{Make, Model, Vehicle, VehicleDto};
use super::vin::Vin;
use super::work_order::{LineDto, LineKind, WorkOrderLine};
use crate::money::Money;

/// What the visit was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitKind {
    Maintenance,
    Repair,
    Warranty,
    Bodywork,
    Tires,
    Diagnostics,
}

/// Why a visit kind was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "visit kind must be one of maintenance, repair, warranty, bodywork, tires, diagnostics; \
     got {0:?}"
)]
pub struct VisitKindError(String);

impl VisitKind {
    pub const ALL: [VisitKind; 6] = [
        VisitKind::Maintenance,
        VisitKind::Repair,
        VisitKind::Warranty,
        VisitKind::Bodywork,
        VisitKind::Tires,
        VisitKind::Diagnostics,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VisitKind::Maintenance => "maintenance",
            VisitKind::Repair => "repair",
            VisitKind::Warranty => "warranty",
            VisitKind::Bodywork => "bodywork",
            VisitKind::Tires => "tires",
            VisitKind::Diagnostics => "diagnostics",
        }
    }

    /// Parses the wire name exactly (lower case).
    pub fn parse(text: &str) -> Result<Self, VisitKindError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| VisitKindError(text.chars().take(40).collect()))
    }

    /// Only a maintenance visit resets the service schedule.
    pub fn is_scheduled_maintenance(self) -> bool {
        self == VisitKind::Maintenance
    }
}

impl fmt::Display for VisitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem with one field of an incoming document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// JSON path of the field: `vehicle.vin`, `lines[1].price`; `$` for the body as a whole.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl fmt::Display) -> Self {
        FieldError {
            field: field.into(),
            message: message.to_string(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Every problem found in a visit (never empty when returned as an error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VisitErrors(pub Vec<FieldError>);

impl VisitErrors {
    /// The paths of the fields in error, in report order.
    pub fn fields(&self) -> Vec<&str> {
        self.0.iter().map(|e| e.field.as_str()).collect()
    }

    /// The message for `field`, if that field is in error.
    pub fn message_for(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

impl fmt::Display for VisitErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for VisitErrors {}

/// Why parsed parts do not make a visit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VisitError {
    #[error("a visit has at least one work-order line")]
    NoLines,
    #[error("a visit has at most {max} work-order lines, got {count}", max = Visit::MAX_LINES)]
    TooManyLines { count: usize },
    #[error(
        "a visit has at most {max} recommendations, got {count}",
        max = Visit::MAX_RECOMMENDATIONS
    )]
    TooManyRecommendations { count: usize },
    #[error("first registration ({first_registration}) is after the visit closed ({closed_on})")]
    RegisteredAfterClose {
        first_registration: NaiveDate,
        closed_on: NaiveDate,
    },
}

impl VisitError {
    /// The wire field the problem belongs to.
    pub fn field(&self) -> &'static str {
        match self {
            VisitError::NoLines | VisitError::TooManyLines { .. } => "lines",
            VisitError::TooManyRecommendations { .. } => "recommendations",
            VisitError::RegisteredAfterClose { .. } => "vehicle.first_registration",
        }
    }
}

/// The parsed parts of a visit, for [`Visit::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct VisitParts {
    pub work_order_id: WorkOrderId,
    pub closed_at: DateTime<FixedOffset>,
    pub kind: VisitKind,
    pub odometer: Odometer,
    pub advisor_id: Option<AdvisorId>,
    pub customer: Customer,
    pub vehicle: Vehicle,
    pub lines: Vec<WorkOrderLine>,
    /// Work recommended and declined at this visit (none when the CRM sends none).
    pub recommendations: Vec<Recommendation>,
}

/// A closed work order: 1..=500 lines, the vehicle registered no later than the close date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "VisitDto", into = "VisitDto")]
pub struct Visit {
    work_order_id: WorkOrderId,
    closed_at: DateTime<FixedOffset>,
    kind: VisitKind,
    odometer: Odometer,
    advisor_id: Option<AdvisorId>,
    customer: Customer,
    vehicle: Vehicle,
    lines: Vec<WorkOrderLine>,
    recommendations: Vec<Recommendation>,
}

impl Visit {
    pub const MAX_LINES: usize = 500;
    pub const MAX_RECOMMENDATIONS: usize = 50;

    pub fn new(parts: VisitParts) -> Result<Self, VisitError> {
        check_line_count(parts.lines.len())?;
        check_recommendation_count(parts.recommendations.len())?;
        check_registration(parts.vehicle.first_registration(), &parts.closed_at)?;
        Ok(Visit {
            work_order_id: parts.work_order_id,
            closed_at: parts.closed_at,
            kind: parts.kind,
            odometer: parts.odometer,
            advisor_id: parts.advisor_id,
            customer: parts.customer,
            vehicle: parts.vehicle,
            lines: parts.lines,
            recommendations: parts.recommendations,
        })
    }

    /// Parses the webhook body, reporting malformed JSON, unknown, missing and mistyped fields
    /// and every invalid value as field errors.
    pub fn parse_json(bytes: &[u8]) -> Result<Self, VisitErrors> {
        super::json::parse_visit_json(bytes)
    }

    pub fn into_parts(self) -> VisitParts {
        VisitParts {
            work_order_id: self.work_order_id,
            closed_at: self.closed_at,
            kind: self.kind,
            odometer: self.odometer,
            advisor_id: self.advisor_id,
            customer: self.customer,
            vehicle: self.vehicle,
            lines: self.lines,
            recommendations: self.recommendations,
        }
    }

    pub fn work_order_id(&self) -> &WorkOrderId {
        &self.work_order_id
    }

    /// When the work order was closed, with the offset the CRM sent.
    pub fn closed_at(&self) -> DateTime<FixedOffset> {
        self.closed_at
    }

    /// The calendar day the visit closed in the dealer's time zone.
    pub fn closed_on(&self, dealer_tz: Tz) -> NaiveDate {
        self.closed_at.with_timezone(&dealer_tz).date_naive()
    }

    pub fn kind(&self) -> VisitKind {
        self.kind
    }

    pub fn odometer(&self) -> Odometer {
        self.odometer
    }

    pub fn advisor_id(&self) -> Option<&AdvisorId> {
        self.advisor_id.as_ref()
    }

    pub fn customer(&self) -> &Customer {
        &self.customer
    }

    pub fn vehicle(&self) -> &Vehicle {
        &self.vehicle
    }

    /// The lines in the CRM's order; never empty.
    pub fn lines(&self) -> &[WorkOrderLine] {
        &self.lines
    }

    /// Work recommended and declined at this visit, in the CRM's order.
    pub fn recommendations(&self) -> &[Recommendation] {
        &self.recommendations
    }

    pub fn labor_lines(&self) -> impl Iterator<Item = &WorkOrderLine> {
        self.lines.iter().filter(|l| l.kind == LineKind::Labor)
    }

    pub fn part_lines(&self) -> impl Iterator<Item = &WorkOrderLine> {
        self.lines.iter().filter(|l| l.kind == LineKind::Part)
    }

    /// Sum of the lines' total prices (each rounded to kopecks first).
    pub fn total_price(&self) -> Money {
        self.lines.iter().map(WorkOrderLine::total_price).sum()
    }

    /// Sum of the lines' total costs (each rounded to kopecks first).
    pub fn total_cost(&self) -> Money {
        self.lines.iter().map(WorkOrderLine::total_cost).sum()
    }

    pub fn labor_price(&self) -> Money {
        self.labor_lines().map(WorkOrderLine::total_price).sum()
    }

    pub fn parts_price(&self) -> Money {
        self.part_lines().map(WorkOrderLine::total_price).sum()
    }
}

/// The earliest year a visit may have closed in.
pub const EARLIEST_VISIT_YEAR: i32 = 1950;
/// The earliest year a vehicle may have been first registered in.
pub const EARLIEST_REGISTRATION_YEAR: i32 = 1900;

fn check_registration(
    first_registration: NaiveDate,
    closed_at: &DateTime<FixedOffset>,
) -> Result<(), VisitError> {
    let closed_on = closed_at.date_naive();
    if first_registration > closed_on {
        Err(VisitError::RegisteredAfterClose {
            first_registration,
            closed_on,
        })
    } else {
        Ok(())
    }
}

fn check_recommendation_count(count: usize) -> Result<(), VisitError> {
    if count > Visit::MAX_RECOMMENDATIONS {
        Err(VisitError::TooManyRecommendations { count })
    } else {
        Ok(())
    }
}

fn check_line_count(count: usize) -> Result<(), VisitError> {
    match count {
        0 => Err(VisitError::NoLines),
        n if n > Visit::MAX_LINES => Err(VisitError::TooManyLines { count: n }),
        _ => Ok(()),
    }
}

/// The body of `POST /v1/visits` exactly as sent: money and quantities as strings,
/// `odometer_km` a JSON integer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisitDto {
    pub work_order_id: String,
    pub closed_at: String,
    pub kind: String,
    pub odometer_km: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advisor_id: Option<String>,
    pub customer: CustomerDto,
    pub vehicle: VehicleDto,
    pub lines: Vec<LineDto>,
    /// Optional; absent or `null` is none.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub recommendations: Vec<RecommendationDto>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<RecommendationDto>, D::Error> {
    Option::<Vec<RecommendationDto>>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// The customer part of the visit body. `Debug` hides the first name and phone.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerDto {
    pub id: String,
    pub first_name: String,
    pub phone: String,
    #[serde(default)]
    pub telegram_chat_id: Option<i64>,
    pub consents: Consents,
}

impl fmt::Debug for CustomerDto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomerDto")
            .field("id", &self.id)
            .field("first_name", &"..")
            .field("phone", &"..")
            .field("telegram_chat_id", &self.telegram_chat_id)
            .field("consents", &self.consents)
            .finish()
    }
}

fn path(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}.{field}")
    }
}

fn check<T, E: fmt::Display>(
    errors: &mut Vec<FieldError>,
    field: String,
    r: Result<T, E>,
) -> Option<T> {
    r.map_err(|e| errors.push(FieldError::new(field, e))).ok()
}

fn customer_from_dto(
    dto: CustomerDto,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Customer> {
    let id = check(errors, path(prefix, "id"), CustomerId::parse(&dto.id));
    let first_name = check(
        errors,
        path(prefix, "first_name"),
        FirstName::parse(&dto.first_name),
    );
    let phone = check(errors, path(prefix, "phone"), PhoneE164::parse(&dto.phone));
    let telegram_chat_id = match dto.telegram_chat_id {
        None => Some(None),
        Some(id) => check(
            errors,
            path(prefix, "telegram_chat_id"),
            TelegramChatId::new(id),
        )
        .map(Some),
    };
    Some(Customer {
        id: id?,
        first_name: first_name?,
        phone: phone?,
        telegram_chat_id: telegram_chat_id?,
        consents: dto.consents,
    })
}

fn vehicle_from_dto(
    dto: VehicleDto,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Vehicle> {
    let vin = check(errors, path(prefix, "vin"), Vin::parse(&dto.vin));
    let make = check(errors, path(prefix, "make"), Make::parse(&dto.make));
    let model = check(errors, path(prefix, "model"), Model::parse(&dto.model));
    let registered = check(
        errors,
        path(prefix, "first_registration"),
        parse_date(&dto.first_registration),
    );
    let warranty_until = match dto.warranty_until {
        None => Some(None),
        Some(text) => check(errors, path(prefix, "warranty_until"), parse_date(&text)).map(Some),
    };
    let plate = match dto.plate {
        None => Some(None),
        Some(text) => check(errors, path(prefix, "plate"), Plate::parse(&text)).map(Some),
    };
    let (vin, make, model, registered, warranty_until, plate) =
        (vin?, make?, model?, registered?, warranty_until?, plate?);
    check(
        errors,
        path(prefix, "warranty_until"),
        Vehicle::new(vin, make, model, registered, warranty_until),
    )
    .map(|vehicle| vehicle.with_plate(plate))
}

fn recommendations_from_dto(
    dtos: Vec<RecommendationDto>,
    errors: &mut Vec<FieldError>,
) -> Option<Vec<Recommendation>> {
    if let Err(e) = check_recommendation_count(dtos.len()) {
        errors.push(FieldError::new(e.field(), e));
        return None;
    }
    let mut out = Vec::with_capacity(dtos.len());
    let mut valid = true;
    for (i, dto) in dtos.iter().enumerate() {
        match dto.check() {
            Ok(r) => out.push(r),
            Err(found) => {
                valid = false;
                errors.extend(
                    found
                        .iter()
                        .map(|e| FieldError::new(format!("recommendations[{i}].{}", e.field()), e)),
                );
            }
        }
    }
    valid.then_some(out)
}

fn lines_from_dto(dtos: Vec<LineDto>, errors: &mut Vec<FieldError>) -> Option<Vec<WorkOrderLine>> {
    if let Err(e) = check_line_count(dtos.len()) {
        errors.push(FieldError::new(e.field(), e));
        return None;
    }
    let mut lines = Vec::with_capacity(dtos.len());
    let mut valid = true;
    for (i, dto) in dtos.into_iter().enumerate() {
        match WorkOrderLine::try_from(dto) {
            Ok(line) => lines.push(line),
            Err(line_errors) => {
                valid = false;
                errors.extend(
                    line_errors
                        .0
                        .iter()
                        .map(|e| FieldError::new(format!("lines[{i}].{}", e.field()), e)),
                );
            }
        }
    }
    valid.then_some(lines)
}

impl TryFrom<CustomerDto> for Customer {
    type Error = VisitErrors;
    fn try_from(dto: CustomerDto) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        customer_from_dto(dto, "", &mut errors).ok_or(VisitErrors(errors))
    }
}

impl TryFrom<VehicleDto> for Vehicle {
    type Error = VisitErrors;
    fn try_from(dto: VehicleDto) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        vehicle_from_dto(dto, "", &mut errors).ok_or(VisitErrors(errors))
    }
}

impl TryFrom<VisitDto> for Visit {
    type Error = VisitErrors;

    /// Checks every field and reports every problem, each at its JSON path.
    fn try_from(dto: VisitDto) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        let e = &mut errors;
        let work_order_id = check(
            e,
            "work_order_id".into(),
            WorkOrderId::parse(&dto.work_order_id),
        );
        let closed_at = check(e, "closed_at".into(), parse_timestamp(&dto.closed_at));
        let kind = check(e, "kind".into(), VisitKind::parse(&dto.kind));
        let odometer = check(e, "odometer_km".into(), Odometer::new(dto.odometer_km));
        let advisor_id = match &dto.advisor_id {
            None => Some(None),
            Some(text) => check(e, "advisor_id".into(), AdvisorId::parse(text)).map(Some),
        };
        let registered = parse_date(&dto.vehicle.first_registration).ok();
        let customer = customer_from_dto(dto.customer, "customer", e);
        let vehicle = vehicle_from_dto(dto.vehicle, "vehicle", e);
        if let (Some(closed_at), Some(registered)) = (&closed_at, registered) {
            if let Err(err) = check_registration(registered, closed_at) {
                e.push(FieldError::new(err.field(), err));
            }
        }
        // Dates no dealer's system holds: a typo's century, which spreadsheets cannot show.
        if closed_at.is_some_and(|t| t.year() < EARLIEST_VISIT_YEAR) {
            e.push(FieldError::new(
                "closed_at",
                format!("is before {EARLIEST_VISIT_YEAR}: not a work order of a dealer's system"),
            ));
        }
        if registered.is_some_and(|d| d.year() < EARLIEST_REGISTRATION_YEAR) {
            e.push(FieldError::new(
                "vehicle.first_registration",
                format!("is before {EARLIEST_REGISTRATION_YEAR}"),
            ));
        }
        let lines = lines_from_dto(dto.lines, e);
        let recommendations = recommendations_from_dto(dto.recommendations, e);
        let parts = (|| {
            Some(VisitParts {
                work_order_id: work_order_id?,
                closed_at: closed_at?,
                kind: kind?,
                odometer: odometer?,
                advisor_id: advisor_id?,
                customer: customer?,
                vehicle: vehicle?,
                lines: lines?,
                recommendations: recommendations?,
            })
        })();
        match parts {
            Some(parts) if errors.is_empty() => Visit::new(parts)
                .map_err(|err| VisitErrors(vec![FieldError::new(err.field(), err)])),
            _ => Err(VisitErrors(errors)),
        }
    }
}

impl From<Visit> for VisitDto {
    fn from(visit: Visit) -> Self {
        let customer = visit.customer;
        VisitDto {
            work_order_id: visit.work_order_id.into(),
            closed_at: visit.closed_at.to_rfc3339(),
            kind: visit.kind.as_str().to_owned(),
            odometer_km: i64::from(visit.odometer.km()),
            advisor_id: visit.advisor_id.map(String::from),
            customer: CustomerDto {
                id: customer.id.into(),
                first_name: customer.first_name.into(),
                phone: customer.phone.into(),
                telegram_chat_id: customer.telegram_chat_id.map(TelegramChatId::get),
                consents: customer.consents,
            },
            vehicle: visit.vehicle.into(),
            lines: visit.lines.iter().map(LineDto::from).collect(),
            recommendations: visit
                .recommendations
                .into_iter()
                .map(RecommendationDto::from)
                .collect(),
        }
    }
}
