//! The writers: one per format, each taking any report's [`Table`]. XLSX for the marketer (real
//! date and number cells), CSV for Excel in a Russian locale, aligned text for the terminal.

mod csv;
#[cfg(test)]
mod tests;
mod text;
mod xlsx;

use std::fmt;

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::{Decimal, RoundingStrategy};

use super::table::{Cell, ColumnKind, Table};

pub use self::csv::write_csv;
pub use self::text::render_text;
pub use self::xlsx::write_xlsx;

/// An output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Aligned text for the terminal.
    Table,
    /// `;`-separated UTF-8 with a BOM and decimal commas.
    Csv,
    Xlsx,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Table, Format::Csv, Format::Xlsx];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == text)
    }

    /// The file extension (`txt` for the text table).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Table => "txt",
            other => other.as_str(),
        }
    }

    /// The HTTP content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Table => "text/plain; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a table could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("xlsx: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("writing: {0}")]
    Io(#[from] std::io::Error),
}

/// The table in `format`, as the bytes of a file.
pub fn export(table: &Table, format: Format) -> Result<Vec<u8>, ExportError> {
    match format {
        Format::Table => Ok(render_text(table).into_bytes()),
        Format::Csv => {
            let mut out = Vec::new();
            write_csv(table, &mut out)?;
            Ok(out)
        }
        Format::Xlsx => write_xlsx(table),
    }
}

/// `12.11.2026`.
pub(crate) fn date_ru(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

fn datetime_ru(t: NaiveDateTime) -> String {
    t.format("%d.%m.%Y %H:%M").to_string()
}

/// A decimal with `places` places and a decimal comma; digits grouped by `group` when given.
fn number_ru(value: Decimal, places: u32, group: Option<char>) -> String {
    let rounded = value.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero);
    let fixed = format!("{:.*}", places as usize, rounded);
    let (sign, digits) = match fixed.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", fixed.as_str()),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    let mut out = String::from(sign);
    for (i, ch) in whole.chars().enumerate() {
        if let Some(sep) = group {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                out.push(sep);
            }
        }
        out.push(ch);
    }
    if let Some(f) = fraction {
        out.push(',');
        out.push_str(f);
    }
    out
}

/// The places a numeric column is shown with.
fn places(kind: ColumnKind) -> u32 {
    match kind {
        ColumnKind::Decimal(p) => p,
        ColumnKind::Money => 2,
        ColumnKind::Percent(p) => p,
        _ => 0,
    }
}

/// A cell as Russian text: decimal commas, dates as `dd.mm.yyyy`; digits grouped by `group`.
fn cell_text(cell: &Cell, kind: ColumnKind, group: Option<char>) -> String {
    match cell {
        Cell::Empty => String::new(),
        Cell::Text(t) => t.clone(),
        Cell::Date(d) => date_ru(*d),
        Cell::DateTime(t) => datetime_ru(*t),
        Cell::Integer(n) => number_ru(Decimal::from(*n), 0, group),
        Cell::Decimal(d) | Cell::Money(d) | Cell::Percent(d) => number_ru(*d, places(kind), group),
    }
}

fn is_numeric(kind: ColumnKind) -> bool {
    matches!(
        kind,
        ColumnKind::Integer | ColumnKind::Decimal(_) | ColumnKind::Money | ColumnKind::Percent(_)
    )
}
