//! Reading DMS exports (`autodrive import FILE.csv` parses through [`parse_export`]).

use chrono::NaiveDate;
use domain::{LineKind, VisitKind};

use super::fields::{advisor_id_of, first_name_of, parse_km, work_order_code};
use super::*;

const TZ: chrono_tz::Tz = chrono_tz::Europe::Moscow;

/// A data row with the given work order, odometer and line; the other columns are fixed.
fn row(order: &str, km: &str, kind: &str, code: &str, price: &str) -> String {
    format!(
        "{order};12.11.2026;Иванов Михаил Петрович;+7 (916) 758-64-88;XW7BE40K70S025476;Toyota;\
         Camry;20.05.2019;{km};ТО;{kind};{code};Позиция {code};1;{price};100,00;Петров А.В."
    )
}

fn file(rows: &[String]) -> String {
    file_under(header(), rows)
}

/// The rows under the header line `head`.
pub(super) fn file_under(head: String, rows: &[String]) -> String {
    let mut text = head;
    for r in rows {
        text.push('\n');
        text.push_str(r);
    }
    text.push('\n');
    text
}

pub(super) fn errors_of(text: &str) -> Vec<String> {
    match parse_export(text.as_bytes().to_vec(), TZ) {
        Ok(_) => vec![],
        Err(e) => e.errors.iter().map(ToString::to_string).collect(),
    }
}

fn one_order() -> String {
    file(&[
        row("A3C0001116", "90 000", "Работа", "TO-60", "6 500,00"),
        row("A3C0001116", "90 000", "Запчасть", "04152", "1 200,50"),
    ])
}

#[test]
fn a_work_order_of_two_rows_becomes_one_visit_of_the_contract() {
    let export = parse_export(one_order().into_bytes(), TZ).unwrap();
    assert_eq!(export.work_orders(), 1);
    assert_eq!((export.lines, export.vehicles, export.customers), (2, 1, 1));
    let visit = &export.visits()[0];
    assert_eq!(visit.work_order_id().as_str(), "A3C0001116");
    assert_eq!(visit.kind(), VisitKind::Maintenance);
    assert_eq!(visit.odometer().km(), 90_000);
    assert_eq!(visit.closed_at().to_rfc3339(), "2026-11-12T18:00:00+03:00");
    assert_eq!(visit.customer().phone.as_str(), "+79167586488");
    assert_eq!(visit.customer().first_name.as_str(), "Михаил");
    assert_eq!(visit.customer().id.as_str(), "dms-A3C0001116");
    assert!(!visit.customer().consents.service_messages && !visit.customer().consents.marketing);
    assert_eq!(visit.advisor_id().unwrap().as_str(), "Petrov-A.V.");
    assert_eq!(
        visit.vehicle().first_registration(),
        NaiveDate::from_ymd_opt(2019, 5, 20).unwrap()
    );
    let lines = visit.lines();
    assert_eq!(lines[0].kind, LineKind::Labor);
    assert_eq!(lines[0].price.to_string(), "6500.00");
    assert_eq!(lines[1].kind, LineKind::Part);
    assert_eq!(lines[1].price.to_string(), "1200.50");
}

#[test]
fn a_utf8_bom_and_windows_1251_bytes_read_the_same() {
    let text = one_order();
    let plain = parse_export(text.as_bytes().to_vec(), TZ).unwrap();
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend_from_slice(text.as_bytes());
    let bom = parse_export(with_bom, TZ).unwrap();
    let (cp1251, _, unmappable) = encoding_rs::WINDOWS_1251.encode(&text);
    assert!(!unmappable);
    let windows = parse_export(cp1251.into_owned(), TZ).unwrap();
    assert_eq!(plain.encoding, TextEncoding::Utf8);
    assert_eq!(bom.encoding, TextEncoding::Utf8WithBom);
    assert_eq!(windows.encoding, TextEncoding::Windows1251);
    assert_eq!(plain.visits(), bom.visits());
    assert_eq!(plain.visits(), windows.visits());
}

#[test]
fn decimal_commas_and_thousands_spaces_of_every_kind_are_read() {
    assert_eq!(parse_decimal("3 150,50").unwrap(), "3150.50");
    assert_eq!(parse_decimal("3\u{a0}150,50").unwrap(), "3150.50");
    assert_eq!(parse_decimal("1\u{202f}003\u{a0}150").unwrap(), "1003150");
    assert_eq!(parse_decimal("1,5").unwrap(), "1.5");
    assert_eq!(parse_decimal("1200.00").unwrap(), "1200.00");
    assert_eq!(parse_decimal("0").unwrap(), "0");
    for bad in ["", "1,2,3", "3.150,50", "12 3x4", "1e5", ",5"] {
        assert!(parse_decimal(bad).is_err(), "{bad:?}");
    }
    assert_eq!(parse_km("45 000").unwrap(), 45_000);
    assert_eq!(parse_km("45000,00").unwrap(), 45_000);
    assert!(parse_km("45 000,5").unwrap_err().contains("whole number"));
}

#[test]
fn phones_as_the_dms_writes_them_become_e164() {
    for typed in [
        "+7 (916) 758-64-88",
        "8 916 758 64 88",
        "89167586488",
        "79167586488",
        "9167586488",
        "8(916)758-64-88",
        "8\u{a0}916\u{a0}758\u{a0}64\u{a0}88",
    ] {
        assert_eq!(normalise_phone(typed).unwrap(), "+79167586488", "{typed:?}");
    }
    assert_eq!(
        normalise_phone("+375 29 123-45-67").unwrap(),
        "+375291234567"
    );
    for bad in [
        "",
        "758-64-88",
        "8 916 758 64 8",
        "+7 916 CALL",
        "доб. 123",
        "58916758648",
    ] {
        let message = normalise_phone(bad).unwrap_err();
        assert!(!message.contains("916"), "{message}");
    }
}

#[test]
fn dates_are_day_month_year_with_dots() {
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    assert_eq!(parse_date("12.11.2026").unwrap(), day(2026, 11, 12));
    assert_eq!(parse_date("1.2.2020").unwrap(), day(2020, 2, 1));
    for bad in [
        "2026-11-12",
        "31.02.2024",
        "12.11.26",
        "12.11.2026 0:00:00",
        "",
    ] {
        assert!(
            parse_date(bad).unwrap_err().contains("dd.mm.yyyy"),
            "{bad:?}"
        );
    }
}

#[test]
fn names_numbers_and_advisors_are_put_in_the_contracts_alphabet() {
    assert_eq!(first_name_of("Иванов Михаил Петрович"), "Михаил");
    assert_eq!(first_name_of("Иванов  Михаил"), "Михаил");
    assert_eq!(first_name_of("Михаил"), "Михаил");
    assert_eq!(first_name_of("ИП Сидоров Олег Иванович"), "Олег");
    assert_eq!(first_name_of("ООО  \"Ромашка\""), "ООО \"Ромашка\"");
    assert_eq!(work_order_code("А3С0001116"), "A3C0001116");
    assert_eq!(work_order_code(" ЗН-000123 "), "ZH-000123");
    assert_eq!(advisor_id_of("Петров А.В."), Some("Petrov-A.V.".into()));
    assert_eq!(
        advisor_id_of("Щукина Юлия"),
        Some("Shchukina-Yuliya".into())
    );
    assert_eq!(advisor_id_of("  "), None);
}

#[test]
fn every_bad_value_is_named_by_line_and_column() {
    let text = file(&[
        row("A1", "12 3x4", "Работа", "TO", "100"),
        row("A2", "1000", "Услуга", "TO", "100"),
        row("A3", "1000", "Работа", "TO", "сто"),
        row("A4", "1000", "Работа", "TO", "100").replace("12.11.2026", "31.11.2026"),
        row("A5", "1000", "Работа", "TO", "100").replace("+7 (916) 758-64-88", "758-64-88"),
        row("A6", "1000", "Работа", "TO", "100").replace(";ТО;", ";Мойка;"),
        row("A7", "1000", "Работа", "TO", "100").replace("XW7BE40K70S025476", "XW7BE40K70S02547"),
        row("A8", "1000", "Работа", "TO", "-5"),
    ]);
    let errors = errors_of(&text);
    let expected = [
        "line 2, column «Пробег»: \"12 3x4\" is not a number",
        "line 3, column «Вид строки»: \"Услуга\" is not a line kind: Работа, Запчасть, Рекомендованная работа or Рекомендованная запчасть",
        "line 4, column «Цена»: \"сто\" is not a number",
        "line 5, column «Дата закрытия»: \"31.11.2026\" is not a date (dd.mm.yyyy)",
        "line 6, column «Телефон»: not a phone number",
        "line 7, column «Вид ремонта»: \"Мойка\" is not a repair kind",
        "line 8, column «VIN»: ",
        "line 9, column «Цена»: unit price: money must not be negative",
    ];
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    for (error, start) in errors.iter().zip(expected) {
        assert!(
            error.starts_with(start),
            "{error:?} should start with {start:?}"
        );
    }
    assert!(!errors[4].contains("758"), "{}", errors[4]);
}

#[test]
fn rows_of_one_work_order_need_not_be_adjacent() {
    let text = file(&[
        row("A1", "1000", "Работа", "L1", "100"),
        row("B2", "1000", "Работа", "L2", "100").replace("XW7BE40K70S025476", "XW7BE40K70S025477"),
        row("A1", "1000", "Запчасть", "P1", "50"),
    ]);
    let export = parse_export(text.as_bytes().to_vec(), TZ).unwrap();
    assert_eq!(export.work_orders(), 2);
    let visits = export.visits();
    let a1 = visits
        .iter()
        .find(|v| v.work_order_id().as_str() == "A1")
        .unwrap();
    let codes: Vec<_> = a1.lines().iter().map(|l| l.code.as_str()).collect();
    assert_eq!(codes, ["L1", "P1"]);
    assert_eq!(export.vehicles, 2);
    assert_eq!(export.customers, 1);
}

#[test]
fn order_columns_that_disagree_across_a_work_orders_rows_name_both_lines() {
    let text = file(&[
        row("A1", "45 000", "Работа", "L1", "100"),
        row("B2", "1000", "Работа", "L2", "100"),
        row("A1", "45 100", "Запчасть", "P1", "50"),
        row("A1", "45000", "Запчасть", "P2", "50").replace("+7 (916) 758-64-88", "89160000000"),
    ]);
    let errors = errors_of(&text);
    assert_eq!(
        errors,
        [
            "line 4, column «Пробег»: \"45100\" differs from \"45000\" on line 2 of the same \
             work order \"A1\"",
            "line 5, column «Телефон»: differs from line 2 of the same work order \"A1\"",
        ]
    );
}

#[test]
fn the_same_phone_written_two_ways_is_one_customer_and_agrees() {
    let text = file(&[
        row("A1", "1000", "Работа", "L1", "100"),
        row("A1", "1000", "Работа", "L2", "100").replace("+7 (916) 758-64-88", "8 916 758 64 88"),
    ]);
    assert!(errors_of(&text).is_empty());
}

#[test]
fn a_wrong_header_or_a_short_row_is_refused() {
    let text = one_order().replacen("Пробег", "Пробег, км", 1);
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("line 1: the header must be exactly"),
        "{}",
        errors[0]
    );
    assert!(errors[0].contains("column 9 is \"Пробег, км\" instead of «Пробег»"));
    let short = file(&["A1;12.11.2026;Иванов".to_owned()]);
    assert_eq!(
        errors_of(&short),
        ["line 2: expected 17 columns separated by ';', got 3"]
    );
    assert!(errors_of("")[0].starts_with("line 1: the file is empty"));
}

#[test]
fn a_registration_after_the_close_is_reported_on_its_column() {
    let text =
        file(&[row("A1", "1000", "Работа", "L1", "100").replace("20.05.2019", "20.05.2027")]);
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("line 2, column «Дата первой регистрации»: first registration"),
        "{}",
        errors[0]
    );
}

#[test]
fn two_numbers_that_read_the_same_in_latin_letters_are_refused() {
    let text = file(&[
        row("А1", "1000", "Работа", "L1", "100"),
        row("A1", "1000", "Работа", "L2", "100"),
    ]);
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("line 3, column «Заказ-наряд»: \"A1\" and \"А1\" (line 2)"),
        "{}",
        errors[0]
    );
}

#[test]
fn each_dms_repair_kind_maps_onto_a_visit_kind() {
    let kinds = [
        ("ТО", VisitKind::Maintenance),
        ("Ремонт", VisitKind::Repair),
        ("Гарантия", VisitKind::Warranty),
        ("Кузовной ремонт", VisitKind::Bodywork),
        ("Шиномонтаж", VisitKind::Tires),
        ("Диагностика", VisitKind::Diagnostics),
    ];
    for (dms, kind) in kinds {
        let text =
            file(&[row("A1", "1000", "Работа", "L1", "100").replace(";ТО;", &format!(";{dms};"))]);
        let export = parse_export(text.as_bytes().to_vec(), TZ).unwrap();
        assert_eq!(export.visits()[0].kind(), kind, "{dms}");
    }
}

#[test]
fn work_orders_are_recorded_oldest_first_whatever_the_files_order() {
    let text = file(&[
        row("A2", "2000", "Работа", "L1", "100").replace("12.11.2026", "01.03.2025"),
        row("A1", "1000", "Работа", "L1", "100").replace("12.11.2026", "01.03.2024"),
    ]);
    let export = parse_export(text.as_bytes().to_vec(), TZ).unwrap();
    let visits = export.visits();
    let order: Vec<_> = visits.iter().map(|v| v.work_order_id().as_str()).collect();
    assert_eq!(order, ["A1", "A2"]);
    assert!(export
        .visits()
        .iter()
        .all(|v| v.customer().id.as_str() == "dms-A1"));
}

#[test]
fn line_numbers_are_the_files_with_crlf_line_ends_blank_lines_and_quoted_line_breaks() {
    let rows = [
        row("A1", "1000", "Работа", "L1", "100"),
        String::new(),
        row("A2", "1000", "Работа", "L1", "100")
            .replace("Иванов Михаил", "\"Иванов\r\nМихаил")
            .replace("Петрович;", "Петрович\";"),
        row("A3", "10x", "Работа", "L1", "100"),
    ];
    let text = file(&rows).replace('\n', "\r\n").replace("\r\r\n", "\r\n");
    assert_eq!(
        errors_of(&text),
        ["line 6, column «Пробег»: \"10x\" is not a number"]
    );
}

#[test]
fn a_validated_work_order_is_built_from_its_values_as_through_the_contract() {
    let text = file(&[
        row("ЗН-1", "90 000", "Работа", "TO-60", "6 500,00"),
        row("ЗН-1", "90 000", "Запчасть", "04152", "1200").replace(";1;", ";1,25;"),
        row("A2", "91 000", "Запчасть", "P-2", "0,5")
            .replace("Петров А.В.", "")
            .replace("12.11.2026", "13.11.2026"),
    ]);
    let export = parse_export(text.into_bytes(), TZ).unwrap();
    assert_eq!(export.work_orders(), 2);
    for &id in &export.sorted {
        let through_contract = export.visit(id).unwrap();
        let from_values = export.valid_visit(id).unwrap();
        assert_eq!(from_values, through_contract);
        assert_eq!(
            serde_json::to_value(&from_values).unwrap(),
            serde_json::to_value(&through_contract).unwrap()
        );
    }
}

/// `file` with the optional «Госномер» column: each row gets the plate given for it.
fn file_with_plates(rows: &[(String, &str)]) -> String {
    let mut text = header() + ";Госномер";
    for (r, plate) in rows {
        text.push('\n');
        text.push_str(r);
        text.push(';');
        text.push_str(plate);
    }
    text.push('\n');
    text
}

#[test]
fn an_optional_plate_column_puts_the_normalised_plate_on_the_vehicle() {
    let text = file_with_plates(&[
        (
            row("A1", "90 000", "Работа", "TO-60", "6 500,00"),
            "a 123 bc 777",
        ),
        (
            row("A1", "90 000", "Запчасть", "04152", "1 200,50"),
            "А123ВС777",
        ),
        (
            row("A2", "91 000", "Работа", "TO-60", "6 500,00").replace("12.11.2026", "13.11.2026"),
            "",
        ),
    ]);
    let export = parse_export(text.into_bytes(), TZ).unwrap();
    let plates: Vec<_> = export
        .visits()
        .iter()
        .map(|v| v.vehicle().plate().map(|p| p.as_str().to_owned()))
        .collect();
    assert_eq!(plates, [Some("А123ВС777".to_owned()), None]);
    for &id in &export.sorted {
        assert_eq!(export.valid_visit(id).unwrap(), export.visit(id).unwrap());
    }
}

#[test]
fn a_bad_or_disagreeing_plate_is_named_without_repeating_it() {
    let text = file_with_plates(&[
        (
            row("A1", "90 000", "Работа", "TO-60", "6 500,00"),
            "А123ВС777",
        ),
        (
            row("A1", "90 000", "Запчасть", "04152", "1 200,50"),
            "В456ОР199",
        ),
        (row("A2", "90 000", "Работа", "TO-60", "6 500,00"), "А1*3"),
    ]);
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("line 3, column «Госномер»: differs from line 2"));
    assert!(!errors[0].contains("В456ОР199") && !errors[0].contains("А123ВС777"));
    assert!(errors[1].starts_with("line 4, column «Госномер»: a plate has only letters"));
    // A row without the plate column under a header with it is a short row.
    let short = file_with_plates(&[(row("A1", "90 000", "Работа", "TO-60", "6 500,00"), "")])
        .replace(";\n", "\n");
    assert_eq!(
        errors_of(&short),
        ["line 2: expected 18 columns separated by ';', got 17"]
    );
    // Another column after the others is still a wrong header.
    let extra = one_order().replacen("Мастер-консультант", "Мастер-консультант;Цвет", 1);
    assert!(errors_of(&extra)[0].contains("column 18 is \"Цвет\" instead of «Госномер»"));
}
