//! Rows into work orders: rows of one `Заказ-наряд` (adjacent or not) make one visit of the
//! webhook contract, validated by the contract's own rules, each problem traced back to the
//! line and column it came from.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};
use chrono_tz::Tz;
use domain::values::{CustomerDto, LineDto, VehicleDto, VisitDto};
use domain::{Consents, FieldError, Visit};

use super::decode::{decode, TextEncoding};
use super::fields::{self, quoted, Column};
use super::rows::{
    check_header, disagreements, parse_row, shown, ImportError, ImportErrors, LineFields,
    OrderFields,
};

/// The dealer-local hour a work order is taken to have closed at: the DMS gives only the day.
pub const CLOSING_HOUR: u32 = 18;

/// A valid export: its work orders as visits of the webhook contract, oldest first (a day's
/// work orders in the order of the file).
#[derive(Debug, Clone)]
pub struct ParsedExport {
    pub encoding: TextEncoding,
    /// Work-order lines (data rows).
    pub lines: usize,
    /// Distinct VINs.
    pub vehicles: usize,
    /// Distinct phones: the export's customers.
    pub customers: usize,
    pub(crate) visits: Vec<Visit>,
}

impl ParsedExport {
    pub fn work_orders(&self) -> usize {
        self.visits.len()
    }

    /// The visits, oldest first, as they will be recorded.
    pub fn visits(&self) -> &[Visit] {
        &self.visits
    }
}

/// One work order's rows so far.
struct Draft {
    first_line: u64,
    order: OrderFields,
    lines: Vec<(u64, LineFields)>,
}

/// The instant a work order closed on `day` is taken to be: [`CLOSING_HOUR`]:00 dealer time.
pub fn closing_instant(day: NaiveDate, tz: Tz) -> DateTime<FixedOffset> {
    let local = day.and_hms_opt(CLOSING_HOUR, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&local)
        .earliest()
        .unwrap_or_else(|| tz.from_utc_datetime(&local))
        .fixed_offset()
}

fn single(error: ImportError) -> ImportErrors {
    let mut errors = ImportErrors::default();
    errors.push(error);
    errors
}

fn csv_problem(e: &csv::Error) -> ImportError {
    let line = e.position().map_or(0, |p| p.line());
    ImportError::line(line, format!("unreadable CSV: {e}"))
}

/// Decodes, reads and validates a whole DMS export; nothing is stored. Every problem is
/// reported with its line and column. The text is freed before the visits are built.
pub fn parse_export(bytes: Vec<u8>, tz: Tz) -> Result<ParsedExport, ImportErrors> {
    let (text, encoding) = decode(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => check_header(&record).map_err(single)?,
        Ok(false) => {
            let message = format!(
                "the file is empty; expected the header {:?}",
                fields::header()
            );
            return Err(single(ImportError::line(1, message)));
        }
        Err(e) => return Err(single(csv_problem(&e))),
    }
    let mut counter = LineCounter::new(text.as_bytes());
    let mut errors = ImportErrors::default();
    let mut drafts: Vec<Draft> = Vec::new();
    let mut by_number: HashMap<String, usize> = HashMap::new();
    let mut lines = 0usize;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                errors.push(csv_problem(&e));
                break;
            }
        }
        if record.iter().all(|field| field.trim().is_empty()) {
            continue;
        }
        lines += 1;
        let line = record
            .position()
            .map_or(0, |p| counter.line_at(p.byte() as usize));
        let Some(row) = parse_row(line, &record, &mut errors) else {
            continue;
        };
        if row.order.number.is_empty() {
            continue;
        }
        match by_number.get(&row.order.number) {
            Some(&i) => {
                let draft = &mut drafts[i];
                for column in disagreements(&draft.order, &row.order) {
                    errors.push(disagreement(draft, &row.order, row.line, column));
                }
                draft.lines.push((row.line, row.item));
            }
            None => {
                by_number.insert(row.order.number.clone(), drafts.len());
                drafts.push(Draft {
                    first_line: row.line,
                    order: row.order,
                    lines: vec![(row.line, row.item)],
                });
            }
        }
    }
    drop(by_number);
    drop(reader);
    drop(text);
    drafts.sort_by_key(|d| (d.order.closed_on, d.first_line));
    let visits = build_visits(drafts, tz, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let vehicles = visits
        .iter()
        .map(|v| v.vehicle().vin().as_str())
        .collect::<HashSet<_>>()
        .len();
    let customers = visits
        .iter()
        .map(|v| v.customer().phone.as_str())
        .collect::<HashSet<_>>()
        .len();
    Ok(ParsedExport {
        encoding,
        lines,
        vehicles,
        customers,
        visits,
    })
}

/// Line numbers of record starts. The CSV reader's own count is one short after a CRLF line
/// end, and its byte position of a record may be on the line end before it.
struct LineCounter<'t> {
    text: &'t [u8],
    counted_to: usize,
    line: u64,
}

impl<'t> LineCounter<'t> {
    fn new(text: &'t [u8]) -> Self {
        LineCounter {
            text,
            counted_to: 0,
            line: 1,
        }
    }

    /// The line of the record whose position is `byte` (positions never decrease).
    fn line_at(&mut self, byte: usize) -> u64 {
        let start = byte
            + self.text[byte.min(self.text.len())..]
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
        let start = start.min(self.text.len());
        if start > self.counted_to {
            let newlines = self.text[self.counted_to..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.line += newlines as u64;
            self.counted_to = start;
        }
        self.line
    }
}

fn disagreement(first: &Draft, later: &OrderFields, line: u64, column: Column) -> ImportError {
    let order = quoted(&first.order.number);
    let message = if column.is_personal() {
        format!(
            "differs from line {} of the same work order {order}",
            first.first_line
        )
    } else {
        format!(
            "{} differs from {} on line {} of the same work order {order}",
            shown(later, column),
            shown(&first.order, column),
            first.first_line
        )
    };
    ImportError::at(line, column, message)
}

/// The customer id of an imported customer: the export has none, so the first work order the
/// customer's phone appears on names them (`dms-A3C0001116`); ids never carry personal data.
fn customer_id_for(code: &str) -> String {
    let safe: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'))
        .take(60)
        .collect();
    format!("dms-{safe}")
}

/// Turns every complete work order into a visit through the contract's validation.
fn build_visits(drafts: Vec<Draft>, tz: Tz, errors: &mut ImportErrors) -> Vec<Visit> {
    let mut visits = Vec::with_capacity(drafts.len());
    let mut codes: HashMap<String, (String, u64)> = HashMap::new();
    let mut customer_ids: HashMap<String, String> = HashMap::new();
    for draft in drafts {
        let code = fields::work_order_code(&draft.order.number);
        match codes.get(&code) {
            Some((number, line)) => {
                let message = format!(
                    "{} and {} (line {line}) are the same work-order id {code:?} in Latin letters",
                    quoted(&draft.order.number),
                    quoted(number),
                );
                errors.push(ImportError::at(
                    draft.first_line,
                    Column::WorkOrder,
                    message,
                ));
                continue;
            }
            None => {
                codes.insert(code.clone(), (draft.order.number.clone(), draft.first_line));
            }
        }
        let customer_id = match &draft.order.phone {
            Some(phone) => customer_ids
                .entry(phone.clone())
                .or_insert_with(|| customer_id_for(&code))
                .clone(),
            None => continue,
        };
        let located = Located::of(&draft);
        let Some(dto) = visit_dto(draft, code, customer_id, tz) else {
            continue;
        };
        match Visit::try_from(dto) {
            Ok(visit) => visits.push(visit),
            Err(problems) => {
                for problem in problems.0 {
                    errors.push(located.error(&problem));
                }
            }
        }
    }
    visits
}

/// The body the CRM would have sent for this work order; `None` if a value did not parse.
fn visit_dto(draft: Draft, code: String, customer_id: String, tz: Tz) -> Option<VisitDto> {
    let o = draft.order;
    let lines = draft
        .lines
        .into_iter()
        .map(|(_, l)| {
            Some(LineDto {
                kind: l.kind?.as_str().to_owned(),
                code: l.code,
                name: l.name,
                qty: l.qty?,
                price: l.price?,
                cost: l.cost?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(VisitDto {
        work_order_id: code,
        closed_at: closing_instant(o.closed_on?, tz).to_rfc3339(),
        kind: o.kind?.as_str().to_owned(),
        odometer_km: o.odometer_km?,
        advisor_id: fields::advisor_id_of(&o.advisor),
        customer: CustomerDto {
            id: customer_id,
            first_name: fields::first_name_of(&o.client),
            phone: o.phone?,
            telegram_chat_id: None,
            consents: Consents::default(),
        },
        vehicle: VehicleDto {
            vin: o.vin,
            make: o.make,
            model: o.model,
            first_registration: o.first_registration?.format("%Y-%m-%d").to_string(),
            warranty_until: None,
        },
        lines,
    })
}

/// Where a work order's contract fields came from in the file.
struct Located {
    first_line: u64,
    number: String,
    line_of_item: Vec<u64>,
}

impl Located {
    fn of(draft: &Draft) -> Self {
        Located {
            first_line: draft.first_line,
            number: draft.order.number.clone(),
            line_of_item: draft.lines.iter().map(|(line, _)| *line).collect(),
        }
    }

    /// A contract field error at the line and column of the export it came from.
    fn error(&self, problem: &FieldError) -> ImportError {
        let order_column = |column| ImportError::at(self.first_line, column, &problem.message);
        match problem.field.as_str() {
            "work_order_id" => ImportError::at(
                self.first_line,
                Column::WorkOrder,
                format!("{} {}", quoted(&self.number), problem.message),
            ),
            "closed_at" => order_column(Column::ClosedOn),
            "kind" => order_column(Column::RepairKind),
            "odometer_km" => order_column(Column::Odometer),
            "advisor_id" => order_column(Column::Advisor),
            "customer.first_name" | "customer.id" => order_column(Column::Customer),
            "customer.phone" => order_column(Column::Phone),
            "vehicle.vin" => order_column(Column::Vin),
            "vehicle.make" => order_column(Column::Make),
            "vehicle.model" => order_column(Column::Model),
            "vehicle.first_registration" => order_column(Column::FirstRegistration),
            field => match self.item_field(field) {
                Some((line, column)) => ImportError::at(line, column, &problem.message),
                None => ImportError::line(
                    self.first_line,
                    format!("work order {}: {}", quoted(&self.number), problem.message),
                ),
            },
        }
    }

    /// `lines[3].price` → the line of the fourth row and the column «Цена».
    fn item_field(&self, field: &str) -> Option<(u64, Column)> {
        let rest = field.strip_prefix("lines[")?;
        let (index, name) = rest.split_once("].")?;
        let line = *self.line_of_item.get(index.parse::<usize>().ok()?)?;
        let column = match name {
            "kind" => Column::LineKind,
            "code" => Column::Code,
            "name" => Column::Name,
            "qty" => Column::Quantity,
            "price" => Column::Price,
            "cost" => Column::Cost,
            _ => return None,
        };
        Some((line, column))
    }
}
