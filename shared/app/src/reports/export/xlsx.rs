//! XLSX through rust_xlsxwriter: one worksheet, a bold header row, the panes frozen below it, an
//! autofilter over the table, columns as wide as their content, and real cells: dates are Excel
//! dates, numbers are numbers with a number format (percentages as fractions with `0.0%`).

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{
    ColNum, DocProperties, ExcelDateTime, Format, FormatBorder, RowNum, Workbook, Worksheet,
    XlsxError,
};

use super::{cell_text, ExportError, Table};
use crate::reports::table::{Cell, ColumnKind};

const MIN_WIDTH: usize = 8;
const MAX_WIDTH: usize = 50;
/// Room for the autofilter's button beside the header.
const FILTER_BUTTON: usize = 3;

/// Excel's number format for a column.
fn number_format(kind: ColumnKind) -> String {
    match kind {
        ColumnKind::Text => "@".into(),
        ColumnKind::Date => "dd.mm.yyyy".into(),
        ColumnKind::DateTime => "dd.mm.yyyy hh:mm".into(),
        ColumnKind::Integer | ColumnKind::Decimal(0) => "#,##0".into(),
        ColumnKind::Decimal(p) => format!("#,##0.{}", "0".repeat(p as usize)),
        ColumnKind::Money => "#,##0.00 \"₽\"".into(),
        ColumnKind::Percent(0) => "0%".into(),
        ColumnKind::Percent(p) => format!("0.{}%", "0".repeat(p as usize)),
    }
}

/// The workbook's bytes.
pub fn write_xlsx(table: &Table) -> Result<Vec<u8>, ExportError> {
    let mut workbook = Workbook::new();
    workbook.set_properties(&DocProperties::new().set_title(&table.title));
    let sheet = workbook.add_worksheet();
    sheet.set_name(sheet_name(&table.sheet))?;
    fill(sheet, table)?;
    Ok(workbook.save_to_buffer()?)
}

fn fill(sheet: &mut Worksheet, table: &Table) -> Result<(), XlsxError> {
    let header = Format::new()
        .set_bold()
        .set_border_bottom(FormatBorder::Thin);
    let formats: Vec<Format> = table
        .columns
        .iter()
        .map(|c| Format::new().set_num_format(number_format(c.kind)))
        .collect();
    for (col, column) in table.columns.iter().enumerate() {
        sheet.write_string_with_format(0, col_num(col), &column.header, &header)?;
    }
    for (r, row) in table.rows.iter().enumerate() {
        let r = row_num(r + 1);
        for (c, (cell, format)) in row.iter().zip(&formats).enumerate() {
            write_cell(sheet, r, col_num(c), cell, format)?;
        }
    }
    for (col, column) in table.columns.iter().enumerate() {
        let content = table
            .rows
            .iter()
            .map(|row| cell_text(&row[col], column.kind, Some(' ')).chars().count())
            .max()
            .unwrap_or(0);
        let header = column.header.chars().count() + FILTER_BUTTON;
        let width = content.max(header).clamp(MIN_WIDTH, MAX_WIDTH) + 1;
        sheet.set_column_width(col_num(col), width as f64)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    if !table.columns.is_empty() {
        let last_row = row_num(table.rows.len());
        sheet.autofilter(0, 0, last_row, col_num(table.columns.len() - 1))?;
    }
    Ok(())
}

fn write_cell(
    sheet: &mut Worksheet,
    row: RowNum,
    col: ColNum,
    cell: &Cell,
    format: &Format,
) -> Result<(), XlsxError> {
    match cell {
        Cell::Empty => {}
        Cell::Text(text) => {
            sheet.write_string(row, col, text)?;
        }
        // A date Excel cannot hold (before 1900) is written as text rather than failing the file.
        Cell::Date(d) => match excel_date(*d) {
            Ok(date) => {
                sheet.write_datetime_with_format(row, col, date, format)?;
            }
            Err(_) => {
                sheet.write_string(row, col, d.format("%d.%m.%Y").to_string())?;
            }
        },
        Cell::DateTime(t) => match excel_datetime(*t) {
            Ok(time) => {
                sheet.write_datetime_with_format(row, col, time, format)?;
            }
            Err(_) => {
                sheet.write_string(row, col, t.format("%d.%m.%Y %H:%M").to_string())?;
            }
        },
        Cell::Integer(n) => {
            sheet.write_number_with_format(row, col, *n as f64, format)?;
        }
        Cell::Decimal(d) | Cell::Money(d) => {
            sheet.write_number_with_format(row, col, d.to_f64().unwrap_or(0.0), format)?;
        }
        Cell::Percent(p) => {
            let fraction = p.to_f64().unwrap_or(0.0) / 100.0;
            sheet.write_number_with_format(row, col, fraction, format)?;
        }
    }
    Ok(())
}

fn excel_date(d: NaiveDate) -> Result<ExcelDateTime, XlsxError> {
    let year = u16::try_from(d.year()).map_err(|_| XlsxError::DateTimeRangeError(d.to_string()))?;
    ExcelDateTime::from_ymd(year, d.month() as u8, d.day() as u8)
}

fn excel_datetime(t: NaiveDateTime) -> Result<ExcelDateTime, XlsxError> {
    excel_date(t.date())?.and_hms(t.hour() as u16, t.minute() as u8, t.second())
}

/// A worksheet name Excel accepts: no `[]:*?/\`, at most 31 characters, not blank.
fn sheet_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { ' ' } else { c })
        .take(31)
        .collect();
    let clean = clean.trim().trim_matches('\'').to_owned();
    if clean.is_empty() {
        "Отчёт".into()
    } else {
        clean
    }
}

fn row_num(i: usize) -> RowNum {
    RowNum::try_from(i).unwrap_or(RowNum::MAX)
}

fn col_num(i: usize) -> ColNum {
    ColNum::try_from(i).unwrap_or(ColNum::MAX)
}

#[cfg(test)]
mod tests {
    use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};

    use super::*;

    /// A date before Excel's first (1900) is written as text; the file is still made and the
    /// other dates stay Excel dates (the `mileage`, `lost` and `rfm` reports over old data).
    #[test]
    fn a_date_excel_cannot_hold_is_written_as_text_and_the_file_is_made() {
        let mut table = Table::new("Даты", "Даты").column("Дата", ColumnKind::Date);
        for date in ["1899-06-01", "2026-11-12"] {
            table.push(vec![Cell::Date(date.parse().unwrap())]);
        }
        let bytes = write_xlsx(&table).unwrap();
        let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let range = book.worksheet_range("Даты").unwrap();
        let cells: Vec<&Data> = range.rows().skip(1).map(|row| &row[0]).collect();
        assert_eq!(cells[0], &Data::String("01.06.1899".into()));
        assert!(matches!(cells[1], Data::DateTime(_)), "{:?}", cells[1]);
    }
}
