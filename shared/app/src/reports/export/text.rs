//! Aligned text for the terminal: the title, the header, numbers right-aligned with grouped
//! digits and decimal commas; long text cut to fit.

use std::fmt::Write;

use super::{cell_text, is_numeric, Table};

/// The widest a text column gets; longer values end in `…`.
const MAX_WIDTH: usize = 44;

/// The table as text, ending with the row count.
pub fn render_text(table: &Table) -> String {
    let cells: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .zip(&table.columns)
                .map(|(cell, column)| cut(&cell_text(cell, column.kind, Some(' '))))
                .collect()
        })
        .collect();
    let widths: Vec<usize> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            cells
                .iter()
                .map(|row| width(&row[i]))
                .chain([width(&cut(&column.header))])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let _ = writeln!(out, "{}\n", table.title);
    let headers: Vec<String> = table.columns.iter().map(|c| cut(&c.header)).collect();
    line(&mut out, &headers, &widths, |_| false);
    let rule: Vec<String> = widths.iter().map(|&w| "─".repeat(w)).collect();
    line(&mut out, &rule, &widths, |_| false);
    for row in &cells {
        line(&mut out, row, &widths, |i| {
            is_numeric(table.columns[i].kind)
        });
    }
    let _ = writeln!(out, "\nСтрок: {}", table.rows.len());
    out
}

fn line(out: &mut String, cells: &[String], widths: &[usize], right: impl Fn(usize) -> bool) {
    let mut text = String::new();
    for (i, (cell, &w)) in cells.iter().zip(widths).enumerate() {
        if i > 0 {
            text.push_str("  ");
        }
        let pad = " ".repeat(w.saturating_sub(width(cell)));
        if right(i) {
            text.push_str(&pad);
            text.push_str(cell);
        } else {
            text.push_str(cell);
            text.push_str(&pad);
        }
    }
    out.push_str(text.trim_end());
    out.push('\n');
}

fn width(text: &str) -> usize {
    text.chars().count()
}

fn cut(text: &str) -> String {
    if width(text) <= MAX_WIDTH {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(MAX_WIDTH - 1).collect();
    short.push('…');
    short
}
