//! Back-filling the store from a DMS (1C-style) export of closed work orders, one row per
//! work-order line: the file is read a piece at a time and validated whole first (every problem
//! named by line and column), keeping only a compact form of its work orders; then each work
//! order is recorded through the same use case as the CRM webhook. Reached from the CLI as
//! `autodrive import FILE.csv [--dry-run]`.

#[cfg(test)]
mod declined_tests;
mod decode;
mod export;
mod fields;
mod group;
mod record;
mod records;
mod rows;
#[cfg(test)]
mod tests;

pub use decode::TextEncoding;
pub use export::{closing_instant, ParsedExport, CLOSING_HOUR};
pub use fields::{full_header, header, normalise_phone, parse_date, parse_decimal, Column};
pub use group::{parse_export, read_export};
pub use record::{import_export, ImportSummary};
pub use rows::{ImportError, ImportErrors};
