//! Reading the export's rows: the header, then each row's columns parsed from the DMS's
//! notation and each work-order line checked by the contract's rules, every problem kept with
//! its line and column.

use std::borrow::Cow;
use std::fmt;

use chrono::NaiveDate;
use domain::values::{LineDto, Plate, Urgency};
use domain::{VisitKind, WorkOrderLine};

use super::fields::{self, Column, RowKind};
use super::records::Record;

/// One problem of the export, at a line of the file (the header is line 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub line: u64,
    /// The column, when the problem is in one.
    pub column: Option<Column>,
    pub message: String,
}

impl ImportError {
    pub(crate) fn at(line: u64, column: Column, message: impl Into<String>) -> Self {
        ImportError {
            line,
            column: Some(column),
            message: message.into(),
        }
    }

    pub(crate) fn line(line: u64, message: impl Into<String>) -> Self {
        ImportError {
            line,
            column: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(column) => write!(f, "line {}, column {column}: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// Every problem of an export (the first [`ImportErrors::KEPT`] of them, and how many there
/// were); an export with any imports nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportErrors {
    pub errors: Vec<ImportError>,
    pub total: usize,
}

impl ImportErrors {
    /// Problems kept with their text; the rest are counted.
    pub const KEPT: usize = 1_000;

    pub(crate) fn push(&mut self, error: ImportError) {
        self.total += 1;
        if self.errors.len() < Self::KEPT {
            self.errors.push(error);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.errors {
            writeln!(f, "{e}")?;
        }
        if self.total > self.errors.len() {
            writeln!(f, "... and {} more", self.total - self.errors.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for ImportErrors {}

/// The columns every row of a work order repeats, as this row has them; `None` where the value
/// did not parse (the problem is reported).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrderFields<'r> {
    pub number: &'r str,
    pub closed_on: Option<NaiveDate>,
    pub client: Cow<'r, str>,
    pub phone: Option<String>,
    pub vin: Cow<'r, str>,
    pub make: &'r str,
    pub model: &'r str,
    pub first_registration: Option<NaiveDate>,
    pub odometer_km: Option<i64>,
    pub kind: Option<VisitKind>,
    pub advisor: Cow<'r, str>,
    /// `Some(None)` when the export has no plate for the car.
    pub plate: Option<Option<Plate>>,
}

/// What a row adds to its work order.
#[derive(Debug)]
pub(crate) enum RowItem {
    /// A line of the work order.
    Line(WorkOrderLine),
    /// Work the advisor recommended and the customer declined, priced at its estimate (`cost`
    /// is not read: a declined job has none).
    RecommendedWork {
        line: WorkOrderLine,
        urgency: Urgency,
    },
    /// A part of the recommended work before it.
    RecommendedPart(WorkOrderLine),
}

/// One row of the export: its work order's columns and its line, `None` when a value of the
/// line did not parse or the contract refused it (the problems are reported).
#[derive(Debug)]
pub(crate) struct Row<'r> {
    pub line: u64,
    pub order: OrderFields<'r>,
    pub item: Option<RowItem>,
}

/// Checks the header (line 1): the 17 columns of [`fields::header`], optionally followed by
/// the optional columns ([`Column::OPTIONAL`], in order). How many columns each row must have.
pub(crate) fn check_header(record: Record<'_>) -> Result<usize, ImportError> {
    let expected = || {
        format!(
            "the header must be exactly {:?}, optionally followed by {}",
            fields::header(),
            Column::OPTIONAL.map(|c| c.to_string()).join(", ")
        )
    };
    let columns = record.len();
    if columns < Column::ALL.len() || columns > Column::ALL.len() + Column::OPTIONAL.len() {
        return Err(ImportError::line(
            1,
            format!("{}; it has {columns} columns", expected()),
        ));
    }
    let titles = Column::ALL.iter().chain(&Column::OPTIONAL);
    for (i, (got, column)) in record.iter().zip(titles).enumerate() {
        if got.trim() != column.title() {
            return Err(ImportError::line(
                1,
                format!(
                    "{}; column {} is {} instead of {column}",
                    expected(),
                    i + 1,
                    fields::quoted(got.trim())
                ),
            ));
        }
    }
    Ok(columns)
}

/// Parses one data row of an export whose header has `columns` columns, reporting each bad
/// value with its line and column.
pub(crate) fn parse_row<'r>(
    record: Record<'r>,
    columns: usize,
    errors: &mut ImportErrors,
) -> Option<Row<'r>> {
    let line = record.line;
    if record.len() != columns {
        errors.push(ImportError::line(
            line,
            format!(
                "expected {columns} columns separated by ';', got {}",
                record.len()
            ),
        ));
        return None;
    }
    let text = |column: Column| {
        let i = column as usize;
        if i < columns {
            record.get(i).trim()
        } else {
            ""
        }
    };
    let mut parsed = Parsed { line, errors };
    let number = text(Column::WorkOrder);
    if number.is_empty() {
        parsed.keep(Column::WorkOrder, Err::<(), _>("is empty".to_owned()));
    }
    let order = OrderFields {
        number,
        closed_on: parsed.keep(Column::ClosedOn, fields::parse_date(text(Column::ClosedOn))),
        client: squeeze(text(Column::Customer)),
        phone: parsed.keep(Column::Phone, fields::normalise_phone(text(Column::Phone))),
        vin: upper(text(Column::Vin)),
        make: text(Column::Make),
        model: text(Column::Model),
        first_registration: parsed.keep(
            Column::FirstRegistration,
            fields::parse_date(text(Column::FirstRegistration)),
        ),
        odometer_km: parsed.keep(Column::Odometer, fields::parse_km(text(Column::Odometer))),
        kind: parsed.keep(
            Column::RepairKind,
            fields::parse_repair_kind(text(Column::RepairKind)),
        ),
        advisor: squeeze(text(Column::Advisor)),
        plate: match text(Column::Plate) {
            "" => Some(None),
            plate => parsed.keep(
                Column::Plate,
                Plate::parse(plate).map(Some).map_err(|e| e.to_string()),
            ),
        },
    };
    let kind = parsed.keep(
        Column::LineKind,
        fields::parse_row_kind(text(Column::LineKind)),
    );
    let urgency = match (kind, text(Column::Urgency)) {
        (Some(RowKind::Recommended(domain::LineKind::Labor)), "") => parsed.keep(
            Column::Urgency,
            Err::<Option<Urgency>, _>(URGENCY_MISSING.to_owned()),
        ),
        (_, "") => Some(None),
        (Some(RowKind::Line(_)), _) => parsed.keep(
            Column::Urgency,
            Err(
                "only recommended work (Рекомендованная работа) has an urgency; leave it empty \
                 on work done"
                    .to_owned(),
            ),
        ),
        (_, urgency) => parsed.keep(Column::Urgency, fields::parse_urgency(urgency).map(Some)),
    };
    let qty = parsed.keep(
        Column::Quantity,
        fields::parse_decimal(text(Column::Quantity)),
    );
    let price = parsed.keep(Column::Price, fields::parse_decimal(text(Column::Price)));
    let cost = match (kind, text(Column::Cost)) {
        (Some(RowKind::Recommended(_)), "") => Some("0".to_owned()),
        (Some(RowKind::Recommended(_)), cost) => parsed
            .keep(Column::Cost, fields::parse_decimal(cost))
            .map(|_| "0".to_owned()),
        (_, cost) => parsed.keep(Column::Cost, fields::parse_decimal(cost)),
    };
    let item = match (kind, urgency, qty, price, cost) {
        (Some(kind), Some(urgency), Some(qty), Some(price), Some(cost)) => {
            let (RowKind::Line(line_kind) | RowKind::Recommended(line_kind)) = kind;
            let dto = LineDto {
                kind: line_kind.as_str().to_owned(),
                code: text(Column::Code).to_owned(),
                name: text(Column::Name).to_owned(),
                qty,
                price,
                cost,
            };
            match WorkOrderLine::try_from(dto) {
                Ok(item) => match (kind, urgency) {
                    (RowKind::Line(_), _) => Some(RowItem::Line(item)),
                    (RowKind::Recommended(domain::LineKind::Labor), Some(urgency)) => {
                        Some(RowItem::RecommendedWork {
                            line: item,
                            urgency,
                        })
                    }
                    (RowKind::Recommended(domain::LineKind::Part), _) => {
                        Some(RowItem::RecommendedPart(item))
                    }
                    // Recommended work without an urgency was reported above.
                    (RowKind::Recommended(domain::LineKind::Labor), None) => None,
                },
                Err(problems) => {
                    for problem in problems.0 {
                        let column = line_column(problem.field()).unwrap_or(Column::LineKind);
                        parsed
                            .errors
                            .push(ImportError::at(line, column, problem.to_string()));
                    }
                    None
                }
            }
        }
        _ => None,
    };
    Some(Row { line, order, item })
}

/// Why a row of recommended work without an urgency is refused.
const URGENCY_MISSING: &str = "recommended work needs an urgency: Безопасность, Скоро or Позже \
     (the column «Срочность» after «Госномер»)";

/// The column of a work-order line's contract field.
pub(crate) fn line_column(field: &str) -> Option<Column> {
    Some(match field {
        "kind" => Column::LineKind,
        "code" => Column::Code,
        "name" => Column::Name,
        "qty" => Column::Quantity,
        "price" => Column::Price,
        "cost" => Column::Cost,
        "urgency" => Column::Urgency,
        "labor_estimate" | "parts_estimate" => Column::Price,
        _ => return None,
    })
}

/// Values of one row, each problem reported at the row's line.
struct Parsed<'e> {
    line: u64,
    errors: &'e mut ImportErrors,
}

impl Parsed<'_> {
    fn keep<T>(&mut self, column: Column, result: Result<T, String>) -> Option<T> {
        result
            .map_err(|message| {
                self.errors
                    .push(ImportError::at(self.line, column, message))
            })
            .ok()
    }
}

/// Words separated by one space (borrowed when they are already).
fn squeeze(text: &str) -> Cow<'_, str> {
    let squeezed = text
        .split(' ')
        .all(|word| !word.is_empty() && !word.contains(char::is_whitespace));
    if squeezed || text.is_empty() {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.split_whitespace().collect::<Vec<_>>().join(" "))
    }
}

/// Upper case (borrowed when it is already).
fn upper(text: &str) -> Cow<'_, str> {
    if text.chars().any(char::is_lowercase) || !text.is_ascii() {
        let upper = text.to_uppercase();
        if upper == text {
            Cow::Borrowed(text)
        } else {
            Cow::Owned(upper)
        }
    } else {
        Cow::Borrowed(text)
    }
}

/// A value of an order-level column for a message (personal data is not repeated).
pub(crate) fn shown(column: Column, value: Option<String>) -> String {
    match value {
        Some(v) if !column.is_personal() => fields::quoted(&v),
        _ => "a different value".to_owned(),
    }
}

/// A date as the export writes it.
pub(crate) fn dms_date(date: NaiveDate) -> String {
    date.format("%d.%m.%Y").to_string()
}
