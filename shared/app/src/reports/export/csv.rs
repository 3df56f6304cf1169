//! CSV for Excel in a Russian locale: UTF-8 with a BOM (so Excel reads Cyrillic), `;` between
//! fields, decimal commas, dates as `dd.mm.yyyy`, CRLF line ends.

use std::io::Write;

use super::{cell_text, Table};

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
            .map(|(cell, column)| field(&cell_text(cell, column.kind, None)))
            .collect();
        push_line(&mut text, &fields);
    }
    out.write_all(text.as_bytes())
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
