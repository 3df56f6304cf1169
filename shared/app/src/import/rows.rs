//! Reading the export's rows: the header, then each row's columns parsed from the DMS's
//! notation, every problem kept with its line and column.

use std::fmt;

use chrono::NaiveDate;
use domain::{LineKind, VisitKind};

use super::fields::{self, Column};

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

/// The columns every row of a work order repeats; `None` where the value did not parse (the
/// problem is reported).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrderFields {
    pub number: String,
    pub closed_on: Option<NaiveDate>,
    pub client: String,
    pub phone: Option<String>,
    pub vin: String,
    pub make: String,
    pub model: String,
    pub first_registration: Option<NaiveDate>,
    pub odometer_km: Option<i64>,
    pub kind: Option<VisitKind>,
    pub advisor: String,
}

/// The columns of one work-order line; amounts in the contract's plain decimal form.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LineFields {
    pub kind: Option<LineKind>,
    pub code: String,
    pub name: String,
    pub qty: Option<String>,
    pub price: Option<String>,
    pub cost: Option<String>,
}

/// One row of the export.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub line: u64,
    pub order: OrderFields,
    pub item: LineFields,
}

/// Checks the header (line 1): exactly the 17 columns of [`fields::header`].
pub(crate) fn check_header(record: &csv::StringRecord) -> Result<(), ImportError> {
    let expected = || format!("the header must be exactly {:?}", fields::header());
    if record.len() != Column::ALL.len() {
        return Err(ImportError::line(
            1,
            format!("{}; it has {} columns", expected(), record.len()),
        ));
    }
    for (i, (got, column)) in record.iter().zip(Column::ALL).enumerate() {
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
    Ok(())
}

/// Parses one data row, reporting each bad value with its line and column.
pub(crate) fn parse_row(
    line: u64,
    record: &csv::StringRecord,
    errors: &mut ImportErrors,
) -> Option<Row> {
    if record.len() != Column::ALL.len() {
        errors.push(ImportError::line(
            line,
            format!(
                "expected {} columns separated by ';', got {}",
                Column::ALL.len(),
                record.len()
            ),
        ));
        return None;
    }
    let text = |column: Column| record.get(column as usize).unwrap_or("").trim();
    let mut parsed = Parsed { line, errors };
    let number = text(Column::WorkOrder).to_owned();
    if number.is_empty() {
        parsed.keep(Column::WorkOrder, Err::<(), _>("is empty".to_owned()));
    }
    let order = OrderFields {
        closed_on: parsed.keep(Column::ClosedOn, fields::parse_date(text(Column::ClosedOn))),
        client: squeeze(text(Column::Customer)),
        phone: parsed.keep(Column::Phone, fields::normalise_phone(text(Column::Phone))),
        vin: text(Column::Vin).to_uppercase(),
        make: text(Column::Make).to_owned(),
        model: text(Column::Model).to_owned(),
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
        number,
    };
    let item = LineFields {
        kind: parsed.keep(
            Column::LineKind,
            fields::parse_line_kind(text(Column::LineKind)),
        ),
        code: text(Column::Code).to_owned(),
        name: text(Column::Name).to_owned(),
        qty: parsed.keep(
            Column::Quantity,
            fields::parse_decimal(text(Column::Quantity)),
        ),
        price: parsed.keep(Column::Price, fields::parse_decimal(text(Column::Price))),
        cost: parsed.keep(Column::Cost, fields::parse_decimal(text(Column::Cost))),
    };
    Some(Row { line, order, item })
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

fn squeeze(text: &str) -> String {
    if text.contains(char::is_whitespace) {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        text.to_owned()
    }
}

/// The order-level columns of `later` that disagree with `first` (values that did not parse
/// are not compared).
pub(crate) fn disagreements(first: &OrderFields, later: &OrderFields) -> Vec<Column> {
    fn differ<T: PartialEq>(a: &Option<T>, b: &Option<T>) -> bool {
        matches!((a, b), (Some(a), Some(b)) if a != b)
    }
    let checks = [
        (Column::ClosedOn, differ(&first.closed_on, &later.closed_on)),
        (Column::Customer, first.client != later.client),
        (Column::Phone, differ(&first.phone, &later.phone)),
        (Column::Vin, first.vin != later.vin),
        (Column::Make, first.make != later.make),
        (Column::Model, first.model != later.model),
        (
            Column::FirstRegistration,
            differ(&first.first_registration, &later.first_registration),
        ),
        (
            Column::Odometer,
            differ(&first.odometer_km, &later.odometer_km),
        ),
        (Column::RepairKind, differ(&first.kind, &later.kind)),
        (Column::Advisor, first.advisor != later.advisor),
    ];
    checks
        .into_iter()
        .filter(|&(_, differs)| differs)
        .map(|(column, _)| column)
        .collect()
}

/// A value of an order-level column for a message (personal data is not repeated).
pub(crate) fn shown(order: &OrderFields, column: Column) -> String {
    let date = |d: &Option<NaiveDate>| d.map(|d| d.format("%d.%m.%Y").to_string());
    let value = match column {
        Column::ClosedOn => date(&order.closed_on),
        Column::Vin => Some(order.vin.clone()),
        Column::Make => Some(order.make.clone()),
        Column::Model => Some(order.model.clone()),
        Column::FirstRegistration => date(&order.first_registration),
        Column::Odometer => order.odometer_km.map(|km| km.to_string()),
        Column::RepairKind => order.kind.map(|k| k.as_str().to_owned()),
        Column::Advisor => Some(order.advisor.clone()),
        _ => None,
    };
    match value {
        Some(v) if !column.is_personal() => fields::quoted(&v),
        _ => "a different value".to_owned(),
    }
}
