use std::io::{Cursor, Read};

use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::*;
use crate::reports::table::{Cell, ColumnKind, Table};

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

/// A table with a column of every kind and an empty cell.
fn sample() -> Table {
    let mut table = Table::new("Проверка: все виды ячеек", "Проверка")
        .column("Клиент", ColumnKind::Text)
        .column("Дата", ColumnKind::Date)
        .column("Отправлено", ColumnKind::DateTime)
        .column("Пробег, км", ColumnKind::Integer)
        .column("Км/день", ColumnKind::Decimal(1))
        .column("Выручка, ₽", ColumnKind::Money)
        .column("Скидка, %", ColumnKind::Percent(1));
    table.push(vec![
        "Иван; «Ромашка»".into(),
        day("2026-11-12").into(),
        day("2026-11-12").and_hms_opt(9, 30, 0).unwrap().into(),
        Cell::int(123_456),
        Cell::Decimal(dec("32.8")),
        Cell::Money(dec("1234.5")),
        Cell::Percent(dec("20")),
    ]);
    table.push(vec![
        "Пётр".into(),
        Cell::Empty,
        Cell::Empty,
        Cell::int(-5),
        Cell::Decimal(dec("0.04")),
        Cell::Money(dec("-300")),
        Cell::Percent(dec("12.5")),
    ]);
    table
}

fn excel_serial(d: NaiveDate) -> f64 {
    (d - day("1899-12-30")).num_days() as f64
}

fn sheet_xml(bytes: &[u8]) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut xml = String::new();
    zip.by_name("xl/worksheets/sheet1.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    xml
}

#[test]
fn the_xlsx_has_a_header_of_strings_and_real_dates_and_numbers() {
    let bytes = write_xlsx(&sample()).unwrap();
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names(), ["Проверка"]);
    let range = book.worksheet_range("Проверка").unwrap();
    assert_eq!(range.get_size(), (3, 7));
    let headers: Vec<&Data> = (0..7).map(|c| range.get((0, c)).unwrap()).collect();
    assert!(headers.iter().all(|h| matches!(h, Data::String(_))));
    assert_eq!(headers[5], &Data::String("Выручка, ₽".into()));

    let cell = |r: usize, c: usize| range.get((r, c)).unwrap().clone();
    assert_eq!(cell(1, 0), Data::String("Иван; «Ромашка»".into()));
    match cell(1, 1) {
        Data::DateTime(d) => {
            assert!(d.is_datetime());
            assert_eq!(d.as_f64(), excel_serial(day("2026-11-12")));
        }
        other => panic!("a date cell is {other:?}"),
    }
    match cell(1, 2) {
        Data::DateTime(d) => {
            let expected = excel_serial(day("2026-11-12")) + 9.5 / 24.0;
            assert!((d.as_f64() - expected).abs() < 1e-9, "{}", d.as_f64());
        }
        other => panic!("a date-time cell is {other:?}"),
    }
    assert_eq!(cell(1, 3), Data::Float(123_456.0));
    assert_eq!(cell(1, 4), Data::Float(32.8));
    assert_eq!(cell(1, 5), Data::Float(1234.5));
    assert_eq!(cell(1, 6), Data::Float(0.2), "a percentage is a fraction");
    assert_eq!(cell(2, 1), Data::Empty);
    assert_eq!(cell(2, 5), Data::Float(-300.0));
}

#[test]
fn the_xlsx_freezes_the_header_filters_the_table_and_sizes_the_columns() {
    let xml = sheet_xml(&write_xlsx(&sample()).unwrap());
    assert!(xml.contains(r#"ySplit="1""#), "{xml}");
    assert!(xml.contains(r#"state="frozen""#), "{xml}");
    assert!(xml.contains(r#"<autoFilter ref="A1:G3""#), "{xml}");
    assert!(xml.contains(r#"customWidth="1""#), "{xml}");
}

#[test]
fn the_xlsx_gives_dates_money_and_percentages_their_number_formats() {
    let bytes = write_xlsx(&sample()).unwrap();
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes.as_slice())).unwrap();
    let mut styles = String::new();
    zip.by_name("xl/styles.xml")
        .unwrap()
        .read_to_string(&mut styles)
        .unwrap();
    for format in ["dd.mm.yyyy", "dd.mm.yyyy hh:mm", "0.0%", "#,##0.0", "₽"] {
        assert!(styles.contains(format), "{format} missing: {styles}");
    }
}

#[test]
fn the_csv_is_utf8_with_a_bom_semicolons_and_decimal_commas() {
    let mut out = Vec::new();
    write_csv(&sample(), &mut out).unwrap();
    assert!(out.starts_with(&[0xEF, 0xBB, 0xBF]), "no BOM");
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').split("\r\n").collect();
    assert_eq!(
        lines[0],
        "Клиент;Дата;Отправлено;Пробег, км;Км/день;Выручка, ₽;Скидка, %"
    );
    assert_eq!(
        lines[1],
        "\"Иван; «Ромашка»\";12.11.2026;12.11.2026 09:30;123456;32,8;1234,50;20,0"
    );
    assert_eq!(lines[2], "Пётр;;;-5;0,0;-300,00;12,5");
    assert_eq!(lines[3], "", "the last line ends with CRLF");
}

#[test]
fn the_text_table_aligns_columns_and_groups_digits() {
    let text = render_text(&sample());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Проверка: все виды ячеек");
    let header = lines[2];
    let first = lines[4];
    let column = |line: &str, needle: &str| {
        line.chars().count() - line[line.find(needle).unwrap()..].chars().count()
    };
    assert!(first.contains("123 456"), "{first}");
    assert!(first.contains("1 234,50"), "{first}");
    let header_end = column(header, "Пробег, км") + "Пробег, км".chars().count();
    let value_end = column(first, "123 456") + "123 456".chars().count();
    assert_eq!(header_end, value_end, "numbers are right-aligned:\n{text}");
    assert!(text.ends_with("Строк: 2\n"));
}

#[test]
fn formats_parse_by_name_and_export_picks_the_writer() {
    assert_eq!(Format::parse("xlsx"), Some(Format::Xlsx));
    assert_eq!(Format::parse("XLSX"), None);
    let table = sample();
    assert!(export(&table, Format::Xlsx).unwrap().starts_with(b"PK"));
    assert!(export(&table, Format::Csv)
        .unwrap()
        .starts_with("\u{feff}".as_bytes()));
    assert!(String::from_utf8(export(&table, Format::Table).unwrap())
        .unwrap()
        .starts_with("Проверка"));
}

#[test]
fn a_long_sheet_name_or_one_with_forbidden_characters_is_made_acceptable() {
    let mut table = sample();
    table.sheet = "Отчёт [1/2]: очень длинное название листа".into();
    let bytes = write_xlsx(&table).unwrap();
    let book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let name = &book.sheet_names()[0];
    assert!(name.chars().count() <= 31, "{name}");
    assert!(!name.contains(['[', ']', '/', ':']), "{name}");
}
