//! CSV for Excel in a Russian locale: UTF-8 with a BOM (so Excel reads Cyrillic), `;` between
//! fields, decimal commas, dates as `dd.mm.yyyy`, CRLF line ends.

use std::io::Write;

use super::{cell_text, Table};
use crate::reports::table::ColumnKind;

/// The byte-order mark Excel needs to take the file as UTF-8.
pub const BOM: &str = "\u{feff}";
pub const SEPARATOR: char = ';';

/// Writes the header row and every row.
pub fn write_csv(table: &Table, out: &mut impl Write) -> std::io::Result<()> {
    let mut text = String::from(BOM);
    let headers: Vec<String> = table.columns.iter().map(|c| field(&c.header)).collect();
    push_line(&mut text, &headers);
    for row in &table.rows {
        let fields: Vec<String> = row
            .iter()
            .zip(&table.columns)
            .map(|(cell, column)| {
                let text = cell_text(cell, column.kind, None);
                match column.kind {
                    ColumnKind::Text => field(&inert(text)),
                    _ => field(&text),
                }
            })
            .collect();
        push_line(&mut text, &fields);
    }
    out.write_all(text.as_bytes())
}

/// A text Excel would run as a formula (`=…`, `+…`, `-…`, `@…`, or after a tab or carriage
/// return: a customer's name or a car's make as typed into the CRM) gets a leading `'`, which
/// Excel shows as text. Numbers and dates are the report's own and stay as they are.
fn inert(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

fn push_line(text: &mut String, fields: &[String]) {
    text.push_str(&fields.join(&SEPARATOR.to_string()));
    text.push_str("\r\n");
}

/// Quotes a field holding the separator, a quote, a line break or edge spaces.
fn field(value: &str) -> String {
    let needs_quotes = value.contains([SEPARATOR, '"', '\n', '\r'])
        || value.starts_with(' ')
        || value.ends_with(' ');
    if needs_quotes {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::table::Cell;

    /// A name typed as a formula reaches Excel as text; a negative amount stays a number.
    #[test]
    fn a_text_that_excel_would_run_is_written_inert_and_numbers_are_not_touched() {
        let mut table = Table::new("Клиенты", "Клиенты")
            .column("Имя", ColumnKind::Text)
            .column("Сумма", ColumnKind::Integer);
        for name in ["=HYPERLINK(\"http://x\")", "@SUM(1,2)", "+7 916", "Анна"] {
            table.push(vec![Cell::Text(name.into()), Cell::Integer(-5)]);
        }
        let mut out = Vec::new();
        write_csv(&table, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.trim_start_matches(BOM).lines().skip(1).collect();
        assert_eq!(
            lines,
            [
                "\"'=HYPERLINK(\"\"http://x\"\")\";-5",
                "'@SUM(1,2);-5",
                "'+7 916;-5",
                "Анна;-5"
            ]
        );
    }
}
