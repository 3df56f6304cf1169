//! Back-filling the store from a DMS (1C-style) export of closed work orders, one row per
//! work-order line: the whole file is decoded and validated first (every problem named by line
//! and column), then each work order is recorded through the same use case as the CRM webhook.
//! Reached from the CLI as `autodrive import FILE.csv [--dry-run]`.

mod decode;
mod fields;
mod group;
mod record;
mod rows;
#[cfg(test)]
mod tests;

pub use decode::{decode, TextEncoding};
pub use fields::{header, normalise_phone, parse_date, parse_decimal, Column};
pub use group::{closing_instant, parse_export, ParsedExport, CLOSING_HOUR};
pub use record::{import_export, ImportSummary};
pub use rows::{ImportError, ImportErrors};
