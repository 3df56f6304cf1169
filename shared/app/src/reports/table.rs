//! The table every report renders to: a title, typed columns and rows of typed cells, so one
//! writer per format (XLSX, CSV, terminal text) serves every report.

use chrono::{NaiveDate, NaiveDateTime};
use domain::Money;
use rust_decimal::{Decimal, RoundingStrategy};

/// What a column holds; the writers choose the cell type and number format from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Date,
    /// A date and time of day, dealer time.
    DateTime,
    Integer,
    /// A decimal number shown with this many places.
    Decimal(u32),
    /// Roubles with kopecks (may be negative: a margin).
    Money,
    /// Percentage points (`20` is 20 %), shown with this many places.
    Percent(u32),
}

/// A column: its Russian header and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub header: String,
    pub kind: ColumnKind,
}

/// One value of a row; `Empty` fits every column.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
    Integer(i64),
    Decimal(Decimal),
    Money(Decimal),
    /// Percentage points.
    Percent(Decimal),
}

impl Cell {
    /// Whether the cell may stand in a column of `kind`.
    pub fn fits(&self, kind: ColumnKind) -> bool {
        matches!(
            (self, kind),
            (Cell::Empty, _)
                | (Cell::Text(_), ColumnKind::Text)
                | (Cell::Date(_), ColumnKind::Date)
                | (Cell::DateTime(_), ColumnKind::DateTime)
                | (Cell::Integer(_), ColumnKind::Integer)
                | (Cell::Decimal(_), ColumnKind::Decimal(_))
                | (Cell::Money(_), ColumnKind::Money)
                | (Cell::Percent(_), ColumnKind::Percent(_))
        )
    }

    pub fn money(m: Money) -> Cell {
        Cell::Money(m.amount())
    }

    /// A count or a kilometre figure.
    pub fn int(n: impl Into<i64>) -> Cell {
        Cell::Integer(n.into())
    }

    /// A float rounded to `places` (km/day).
    pub fn decimal(x: f64, places: u32) -> Cell {
        Decimal::from_f64_retain(x)
            .map(|d| {
                Cell::Decimal(
                    d.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero),
                )
            })
            .unwrap_or(Cell::Empty)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::Text(text.to_owned())
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell::Text(text)
    }
}

impl From<NaiveDate> for Cell {
    fn from(date: NaiveDate) -> Cell {
        Cell::Date(date)
    }
}

impl From<NaiveDateTime> for Cell {
    fn from(at: NaiveDateTime) -> Cell {
        Cell::DateTime(at)
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(value: Option<T>) -> Cell {
        value.map_or(Cell::Empty, Into::into)
    }
}

/// A report as a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The report's Russian title with its date or period.
    pub title: String,
    /// The worksheet's name (at most 31 characters).
    pub sheet: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(title: impl Into<String>, sheet: impl Into<String>) -> Self {
        Table {
            title: title.into(),
            sheet: sheet.into(),
            columns: Vec::new(),
            rows: Vec::new(),
        }
    }

    pub fn column(mut self, header: &str, kind: ColumnKind) -> Self {
        self.columns.push(Column {
            header: header.to_owned(),
            kind,
        });
        self
    }

    /// Adds a row; it must have a cell per column, each fitting its column.
    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.columns.len(), "{}", self.title);
        debug_assert!(
            row.iter()
                .zip(&self.columns)
                .all(|(cell, column)| cell.fits(column.kind)),
            "{}: {row:?}",
            self.title
        );
        self.rows.push(row);
    }
}
