//! Tests of the visit webhook body: the contract sample, every field rule, field paths, fuzzing.

use chrono::NaiveDate;
use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::money::Money;

const SAMPLE: &str = r#"{
  "work_order_id": "A3C0001116",
  "closed_at": "2026-11-12T15:40:00+03:00",
  "kind": "maintenance",
  "odometer_km": 90000,
  "advisor_id": "adv-7",
  "customer": {
    "id": "C-1001", "first_name": "Михаил", "phone": "+79161234567",
    "telegram_chat_id": null,
    "consents": {"service_messages": true, "marketing": true}
  },
  "vehicle": {
    "vin": "XW7BE40K70S025476", "make": "Toyota", "model": "Camry",
    "first_registration": "2019-05-20", "warranty_until": "2022-05-20"
  },
  "lines": [
    {"kind": "labor", "code": "TO-60", "name": "ТО-6", "qty": "1", "price": "6500.00", "cost": "2600.00"},
    {"kind": "part", "code": "04152-YZZA6", "name": "Фильтр масляный", "qty": "1", "price": "1200.00", "cost": "950.00"}
  ]
}"#;

fn sample() -> Value {
    serde_json::from_str(SAMPLE).unwrap()
}

fn parse(value: &Value) -> Result<Visit, VisitErrors> {
    Visit::parse_json(&serde_json::to_vec(value).unwrap())
}

fn parse_with(mutate: impl FnOnce(&mut Value)) -> Result<Visit, VisitErrors> {
    let mut value = sample();
    mutate(&mut value);
    parse(&value)
}

/// The errors of a sample changed by `mutate`; panics if it still parses.
fn errors_with(mutate: impl FnOnce(&mut Value)) -> VisitErrors {
    parse_with(mutate).expect_err("the changed visit must be rejected")
}

fn money(text: &str) -> Money {
    Money::parse(text).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Every node of a JSON value as (field path like `lines[1].price`, JSON pointer).
fn nodes(value: &Value) -> Vec<(String, String)> {
    fn walk(value: &Value, path: &str, pointer: &str, out: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let p = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    let ptr = format!("{pointer}/{key}");
                    out.push((p.clone(), ptr.clone()));
                    walk(child, &p, &ptr, out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    let ptr = format!("{pointer}/{i}");
                    out.push((p.clone(), ptr.clone()));
                    walk(child, &p, &ptr, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, "", "", &mut out);
    out
}

#[test]
fn the_sample_visit_from_the_contract_parses() {
    let visit = Visit::parse_json(SAMPLE.as_bytes()).unwrap();
    assert_eq!(visit.work_order_id().as_str(), "A3C0001116");
    assert_eq!(visit.closed_at().to_rfc3339(), "2026-11-12T15:40:00+03:00");
    assert_eq!(visit.kind(), VisitKind::Maintenance);
    assert_eq!(visit.odometer().km(), 90_000);
    assert_eq!(visit.advisor_id().map(AdvisorId::as_str), Some("adv-7"));
    let customer = visit.customer();
    assert_eq!(customer.id.as_str(), "C-1001");
    assert_eq!(customer.first_name.as_str(), "Михаил");
    assert_eq!(customer.phone.as_str(), "+79161234567");
    assert_eq!(customer.telegram_chat_id, None);
    assert_eq!(
        customer.consents,
        Consents {
            service_messages: true,
            marketing: true
        }
    );
    let vehicle = visit.vehicle();
    assert_eq!(vehicle.vin().as_str(), "XW7BE40K70S025476");
    assert_eq!(
        (vehicle.make().as_str(), vehicle.model().as_str()),
        ("Toyota", "Camry")
    );
    assert_eq!(vehicle.first_registration(), date(2019, 5, 20));
    assert_eq!(vehicle.warranty_until(), Some(date(2022, 5, 20)));
    assert_eq!(visit.lines().len(), 2);
    assert_eq!(visit.lines()[1].kind, LineKind::Part);
    assert_eq!(visit.lines()[1].name, "Фильтр масляный");
}

#[test]
fn visit_totals_sum_the_lines() {
    let visit = Visit::parse_json(SAMPLE.as_bytes()).unwrap();
    assert_eq!(visit.total_price(), money("7700.00"));
    assert_eq!(visit.total_cost(), money("3550.00"));
    assert_eq!(visit.labor_price(), money("6500.00"));
    assert_eq!(visit.parts_price(), money("1200.00"));
    assert_eq!(
        visit
            .labor_lines()
            .map(|l| l.code.as_str())
            .collect::<Vec<_>>(),
        ["TO-60"]
    );
    assert_eq!(
        visit
            .part_lines()
            .map(|l| l.code.as_str())
            .collect::<Vec<_>>(),
        ["04152-YZZA6"]
    );
}

#[test]
fn a_visit_serialises_back_to_exactly_the_contract_shape() {
    let visit = Visit::parse_json(SAMPLE.as_bytes()).unwrap();
    assert_eq!(serde_json::to_value(&visit).unwrap(), sample());
    let again: Visit = serde_json::from_value(sample()).unwrap();
    assert_eq!(again, visit);
}

#[test]
fn the_dto_deserialises_the_sample_and_converts_to_the_same_visit() {
    let dto: VisitDto = serde_json::from_str(SAMPLE).unwrap();
    assert_eq!(dto.odometer_km, 90_000);
    assert_eq!(dto.lines[0].price, "6500.00");
    assert_eq!(
        Visit::try_from(dto).unwrap(),
        Visit::parse_json(SAMPLE.as_bytes()).unwrap()
    );
}

#[test]
fn the_dealer_day_of_a_visit_follows_the_dealer_time_zone() {
    let visit = parse_with(|v| v["closed_at"] = json!("2026-11-12T22:30:00Z")).unwrap();
    assert_eq!(
        visit.closed_on(chrono_tz::Europe::Moscow),
        date(2026, 11, 13)
    );
    assert_eq!(visit.closed_on(chrono_tz::UTC), date(2026, 11, 12));
}

#[test]
fn a_north_american_vin_with_the_right_check_digit_is_accepted_in_a_visit() {
    let visit = parse_with(|v| v["vehicle"]["vin"] = json!("1M8GDM9AXKP042788")).unwrap();
    assert_eq!(visit.vehicle().vin().wmi(), "1M8");
}

#[test]
fn a_north_american_vin_with_a_wrong_check_digit_is_rejected_at_vehicle_vin() {
    let errors = errors_with(|v| v["vehicle"]["vin"] = json!("1M8GDM9A1KP042788"));
    assert_eq!(errors.fields(), ["vehicle.vin"]);
    assert!(errors
        .message_for("vehicle.vin")
        .unwrap()
        .contains("check digit"));
}

#[test]
fn a_vin_of_the_wrong_length_is_rejected_at_vehicle_vin() {
    let errors = errors_with(|v| v["vehicle"]["vin"] = json!("XW7BE40K70S02547"));
    assert_eq!(errors.fields(), ["vehicle.vin"]);
    assert!(errors
        .message_for("vehicle.vin")
        .unwrap()
        .contains("got 16"));
}

#[test]
fn a_work_order_id_with_a_space_is_rejected() {
    assert_eq!(
        errors_with(|v| v["work_order_id"] = json!("A3C 0001")).fields(),
        ["work_order_id"]
    );
}

#[test]
fn a_close_time_without_an_offset_is_rejected() {
    let errors = errors_with(|v| v["closed_at"] = json!("2026-11-12T15:40:00"));
    assert_eq!(errors.fields(), ["closed_at"]);
}

#[test]
fn an_unknown_visit_kind_is_rejected() {
    let errors = errors_with(|v| v["kind"] = json!("oil_change"));
    assert_eq!(errors.fields(), ["kind"]);
    assert!(errors
        .message_for("kind")
        .unwrap()
        .contains("maintenance, repair"));
}

#[test]
fn a_visit_with_a_negative_odometer_is_rejected() {
    let errors = errors_with(|v| v["odometer_km"] = json!(-5));
    assert_eq!(errors.fields(), ["odometer_km"]);
    assert!(errors
        .message_for("odometer_km")
        .unwrap()
        .contains("negative"));
}

#[test]
fn a_visit_with_a_fractional_odometer_is_rejected() {
    let errors = errors_with(|v| v["odometer_km"] = json!(90000.5));
    assert_eq!(errors.fields(), ["odometer_km"]);
    assert!(errors
        .message_for("odometer_km")
        .unwrap()
        .contains("whole number"));
}

#[test]
fn a_visit_with_an_odometer_above_two_million_km_is_rejected() {
    for km in [json!(2_000_001), json!(u64::MAX)] {
        let errors = errors_with(|v| v["odometer_km"] = km);
        assert_eq!(errors.fields(), ["odometer_km"]);
        assert!(errors
            .message_for("odometer_km")
            .unwrap()
            .contains("at most 2000000"));
    }
}

#[test]
fn a_visit_with_the_odometer_as_a_string_is_rejected() {
    let errors = errors_with(|v| v["odometer_km"] = json!("90000"));
    assert_eq!(errors.fields(), ["odometer_km"]);
    assert!(errors
        .message_for("odometer_km")
        .unwrap()
        .contains("got a string"));
}

#[test]
fn the_advisor_is_optional_but_not_blank() {
    let visit = parse_with(|v| {
        v.as_object_mut().unwrap().remove("advisor_id");
    })
    .unwrap();
    assert_eq!(visit.advisor_id(), None);
    assert_eq!(
        parse_with(|v| v["advisor_id"] = Value::Null)
            .unwrap()
            .advisor_id(),
        None
    );
    assert_eq!(
        errors_with(|v| v["advisor_id"] = json!("")).fields(),
        ["advisor_id"]
    );
    let serialised = serde_json::to_value(&visit).unwrap();
    assert!(serialised.get("advisor_id").is_none());
}

#[test]
fn a_customer_with_a_bad_id_name_or_phone_is_rejected_at_each_field() {
    assert_eq!(
        errors_with(|v| v["customer"]["id"] = json!("")).fields(),
        ["customer.id"]
    );
    assert_eq!(
        errors_with(|v| v["customer"]["first_name"] = json!("  ")).fields(),
        ["customer.first_name"]
    );
    assert_eq!(
        errors_with(|v| v["customer"]["phone"] = json!("8 916 123-45-67")).fields(),
        ["customer.phone"]
    );
}

#[test]
fn an_error_about_a_phone_or_first_name_does_not_repeat_it() {
    let errors = errors_with(|v| {
        v["customer"]["phone"] = json!("+7916123456x");
        v["customer"]["first_name"] = json!(format!("Михаил{}", "\u{7}"));
    });
    assert_eq!(errors.fields(), ["customer.first_name", "customer.phone"]);
    let report = errors.to_string();
    assert!(
        !report.contains("7916") && !report.contains("Михаил"),
        "{report}"
    );
    let typed = errors_with(|v| v["customer"]["phone"] = json!(79161234567u64));
    assert!(!typed.to_string().contains("7916"), "{typed}");
}

#[test]
fn a_telegram_chat_id_is_optional_and_kept_when_given() {
    let visit = parse_with(|v| v["customer"]["telegram_chat_id"] = json!(123_456_789)).unwrap();
    assert_eq!(
        visit.customer().telegram_chat_id.map(TelegramChatId::get),
        Some(123_456_789)
    );
    let visit = parse_with(|v| {
        v["customer"]
            .as_object_mut()
            .unwrap()
            .remove("telegram_chat_id");
    })
    .unwrap();
    assert_eq!(visit.customer().telegram_chat_id, None);
    assert_eq!(
        errors_with(|v| v["customer"]["telegram_chat_id"] = json!(0)).fields(),
        ["customer.telegram_chat_id"]
    );
    assert_eq!(
        errors_with(|v| v["customer"]["telegram_chat_id"] = json!("123")).fields(),
        ["customer.telegram_chat_id"]
    );
}

#[test]
fn consents_are_required_booleans() {
    let visit = parse_with(|v| v["customer"]["consents"]["marketing"] = json!(false)).unwrap();
    assert!(visit.customer().consents.allows(ContactClass::Service));
    assert!(!visit.customer().consents.allows(ContactClass::Marketing));
    assert_eq!(
        errors_with(|v| v["customer"]["consents"]["marketing"] = json!("yes")).fields(),
        ["customer.consents.marketing"]
    );
}

#[test]
fn a_vehicle_with_a_blank_make_or_model_is_rejected() {
    assert_eq!(
        errors_with(|v| v["vehicle"]["make"] = json!("")).fields(),
        ["vehicle.make"]
    );
    assert_eq!(
        errors_with(|v| v["vehicle"]["model"] = json!("x".repeat(61))).fields(),
        ["vehicle.model"]
    );
}

#[test]
fn a_first_registration_in_another_date_format_is_rejected() {
    let errors = errors_with(|v| v["vehicle"]["first_registration"] = json!("20.05.2019"));
    assert_eq!(errors.fields(), ["vehicle.first_registration"]);
}

/// A typo's century (1899 for 1999) is refused: no dealer's system holds it, and a spreadsheet
/// cannot show it (ingest-visit answers 422 with these fields).
#[test]
fn a_visit_or_a_registration_from_a_century_no_dealer_system_holds_is_rejected() {
    let errors = errors_with(|v| {
        v["closed_at"] = json!("1899-06-01T10:00:00+03:00");
        v["vehicle"]["first_registration"] = json!("1895-01-01");
        v["vehicle"]["warranty_until"] = Value::Null;
    });
    assert_eq!(errors.fields(), ["closed_at", "vehicle.first_registration"]);
    assert!(parse_with(|v| {
        v["closed_at"] = json!("1950-01-02T10:00:00+03:00");
        v["vehicle"]["first_registration"] = json!("1900-01-01");
        v["vehicle"]["warranty_until"] = Value::Null;
    })
    .is_ok());
}

#[test]
fn a_vehicle_registered_after_the_visit_closed_is_rejected() {
    let errors = errors_with(|v| {
        v["vehicle"]["first_registration"] = json!("2026-11-13");
        v["vehicle"]["warranty_until"] = Value::Null;
    });
    assert_eq!(errors.fields(), ["vehicle.first_registration"]);
    assert!(errors
        .message_for("vehicle.first_registration")
        .unwrap()
        .contains("after the visit"));
    let both = errors_with(|v| v["vehicle"]["first_registration"] = json!("2026-11-13"));
    assert_eq!(
        both.fields(),
        ["vehicle.warranty_until", "vehicle.first_registration"]
    );
    assert!(parse_with(|v| {
        v["vehicle"]["first_registration"] = json!("2026-11-12");
        v["vehicle"]["warranty_until"] = Value::Null;
    })
    .is_ok());
}

#[test]
fn a_warranty_ending_before_first_registration_is_rejected() {
    let errors = errors_with(|v| v["vehicle"]["warranty_until"] = json!("2019-05-19"));
    assert_eq!(errors.fields(), ["vehicle.warranty_until"]);
}

#[test]
fn an_unknown_warranty_end_is_null_or_absent() {
    let visit = parse_with(|v| v["vehicle"]["warranty_until"] = Value::Null).unwrap();
    assert_eq!(visit.vehicle().warranty_until(), None);
    assert_eq!(
        serde_json::to_value(&visit).unwrap()["vehicle"]["warranty_until"],
        Value::Null
    );
    let visit = parse_with(|v| {
        v["vehicle"]
            .as_object_mut()
            .unwrap()
            .remove("warranty_until");
    })
    .unwrap();
    assert_eq!(visit.vehicle().warranty_until(), None);
}

#[test]
fn a_visit_without_lines_is_rejected() {
    let errors = errors_with(|v| v["lines"] = json!([]));
    assert_eq!(errors.fields(), ["lines"]);
    assert!(errors
        .message_for("lines")
        .unwrap()
        .contains("at least one"));
}

#[test]
fn a_visit_with_more_than_500_lines_is_rejected() {
    let line = sample()["lines"][0].clone();
    assert_eq!(
        parse_with(|v| v["lines"] = json!(vec![line.clone(); 500]))
            .unwrap()
            .lines()
            .len(),
        500
    );
    let errors = errors_with(|v| v["lines"] = json!(vec![line; 501]));
    assert_eq!(errors.fields(), ["lines"]);
    assert!(errors.message_for("lines").unwrap().contains("got 501"));
}

#[test]
fn a_bad_line_is_reported_with_its_index_and_field() {
    assert_eq!(
        errors_with(|v| v["lines"][1]["price"] = json!("1200,00")).fields(),
        ["lines[1].price"]
    );
    assert_eq!(
        errors_with(|v| v["lines"][0]["qty"] = json!("0")).fields(),
        ["lines[0].qty"]
    );
    assert_eq!(
        errors_with(|v| v["lines"][0]["kind"] = json!("service")).fields(),
        ["lines[0].kind"]
    );
    assert_eq!(
        errors_with(|v| v["lines"][1]["code"] = json!(" ")).fields(),
        ["lines[1].code"]
    );
    assert_eq!(
        errors_with(|v| v["lines"][1]["name"] = json!("x".repeat(201))).fields(),
        ["lines[1].name"]
    );
    assert_eq!(
        errors_with(|v| v["lines"][0]["cost"] = json!("-1")).fields(),
        ["lines[0].cost"]
    );
    assert_eq!(
        errors_with(|v| v["lines"][0]["price"] = json!(6500.0)).fields(),
        ["lines[0].price"]
    );
}

#[test]
fn several_bad_fields_give_several_errors() {
    let errors = errors_with(|v| {
        v["vehicle"]["vin"] = json!("XW7BE40K70S0254761");
        v["customer"]["phone"] = json!("89161234567");
        v["lines"][1]["price"] = json!("-1200.00");
        v["lines"][0]["qty"] = json!("1.0001");
        v["odometer_km"] = json!(-1);
    });
    let mut fields = errors.fields();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "customer.phone",
            "lines[0].qty",
            "lines[1].price",
            "odometer_km",
            "vehicle.vin"
        ]
    );
}

#[test]
fn shape_problems_and_value_problems_are_reported_together() {
    let errors = errors_with(|v| {
        v["loyalty_card"] = json!("123");
        v.as_object_mut().unwrap().remove("kind");
        v["vehicle"]["vin"] = json!("XW7BE40K70S02547");
        v["lines"][0]["qty"] = json!(1);
    });
    let mut fields = errors.fields();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["kind", "lines[0].qty", "loyalty_card", "vehicle.vin"]
    );
    assert_eq!(errors.message_for("loyalty_card"), Some("unknown field"));
    assert_eq!(errors.message_for("kind"), Some("missing field"));
    assert_eq!(
        errors.message_for("lines[0].qty"),
        Some("expected a string, got a number")
    );
}

#[test]
fn an_unknown_field_anywhere_is_reported_at_its_path() {
    let errors = errors_with(|v| {
        v["customer"]["email"] = json!("a@b.c");
        v["customer"]["consents"]["sms"] = json!(true);
        v["vehicle"]["color"] = json!("red");
        v["lines"][1]["discount"] = json!("0");
    });
    assert_eq!(
        errors.fields(),
        [
            "customer.email",
            "customer.consents.sms",
            "vehicle.color",
            "lines[1].discount"
        ]
    );
    assert!(errors.0.iter().all(|e| e.message == "unknown field"));
}

#[test]
fn every_missing_required_field_is_reported_at_its_path() {
    let optional = [
        "advisor_id",
        "customer.telegram_chat_id",
        "vehicle.warranty_until",
    ];
    let value = sample();
    for (path, pointer) in nodes(&value) {
        let Some((parent, key)) = pointer.rsplit_once('/') else {
            continue;
        };
        let mut changed = value.clone();
        let removed = match changed.pointer_mut(if parent.is_empty() { "" } else { parent }) {
            Some(Value::Object(map)) => map.remove(key).is_some(),
            _ => false,
        };
        if !removed {
            continue;
        }
        let result = parse(&changed);
        if optional.contains(&path.as_str()) {
            assert!(result.is_ok(), "{path} is optional");
        } else {
            let errors = result.expect_err(&path);
            assert_eq!(errors.fields(), [path.as_str()]);
            assert_eq!(errors.0[0].message, "missing field");
        }
    }
}

#[test]
fn a_field_of_the_wrong_json_type_is_reported_at_its_own_path() {
    let value = sample();
    let mut checked = 0;
    for (path, pointer) in nodes(&value) {
        let mut changed = value.clone();
        let node = changed.pointer_mut(&pointer).unwrap();
        *node = match node {
            Value::Bool(_) => json!("yes"),
            Value::Array(_) => json!({}),
            _ => json!([true]),
        };
        let errors = parse(&changed).expect_err(&path);
        assert_eq!(errors.fields(), [path.as_str()], "{errors}");
        assert!(errors.0[0].message.starts_with("expected"), "{errors}");
        checked += 1;
    }
    assert_eq!(checked, 8 + 5 + 2 + 5 + 2 + 2 * 6);
}

#[test]
fn malformed_json_is_one_error_for_the_whole_body() {
    let errors = Visit::parse_json(b"{\"work_order_id\": \"A3C0001116\",").unwrap_err();
    assert_eq!(errors.fields(), ["$"]);
    assert!(errors.0[0].message.starts_with("malformed JSON"));
    assert_eq!(Visit::parse_json(b"").unwrap_err().fields(), ["$"]);
    assert_eq!(
        Visit::parse_json(&SAMPLE.as_bytes()[1..])
            .unwrap_err()
            .fields(),
        ["$"]
    );
}

#[test]
fn a_body_that_is_not_an_object_is_rejected() {
    for body in ["[]", "null", "42", "\"visit\""] {
        let errors = Visit::parse_json(body.as_bytes()).unwrap_err();
        assert_eq!(errors.fields(), ["$"], "{body}");
        assert!(errors.0[0].message.starts_with("expected an object"));
    }
}

#[test]
fn a_duplicated_field_is_rejected() {
    let body = SAMPLE.replacen(
        "\"kind\": \"maintenance\",",
        "\"kind\": \"maintenance\", \"kind\": \"repair\",",
        1,
    );
    let errors = Visit::parse_json(body.as_bytes()).unwrap_err();
    assert_eq!(errors.fields(), ["$"]);
    assert!(errors.0[0].message.contains("duplicate field"), "{errors}");
}

#[test]
fn debug_output_of_a_visit_or_its_dto_does_not_show_the_name_or_phone() {
    let dto: VisitDto = serde_json::from_str(SAMPLE).unwrap();
    let visit = Visit::try_from(dto.clone()).unwrap();
    for text in [format!("{dto:?}"), format!("{visit:?}")] {
        assert!(text.contains("C-1001"), "{text}");
        assert!(
            !text.contains("Михаил") && !text.contains("9161234567"),
            "{text}"
        );
    }
}

#[test]
fn field_errors_serialise_as_a_list_for_the_422_answer() {
    let errors = errors_with(|v| v["vehicle"]["vin"] = json!("XW7BE40K70S02547"));
    assert_eq!(
        serde_json::to_value(&errors).unwrap(),
        json!([{"field": "vehicle.vin", "message": "a VIN has exactly 17 characters, got 16"}])
    );
}

#[test]
fn visit_kinds_are_snake_case_and_only_maintenance_is_scheduled() {
    for kind in VisitKind::ALL {
        assert_eq!(VisitKind::parse(kind.as_str()), Ok(kind));
        assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
        assert_eq!(
            kind.is_scheduled_maintenance(),
            kind == VisitKind::Maintenance
        );
    }
    assert!(VisitKind::parse("Maintenance").is_err());
}

#[test]
fn visit_parts_without_lines_or_registered_after_close_do_not_make_a_visit() {
    let parts = Visit::parse_json(SAMPLE.as_bytes()).unwrap().into_parts();
    let mut empty = parts.clone();
    empty.lines.clear();
    assert_eq!(Visit::new(empty), Err(VisitError::NoLines));
    let mut early = parts.clone();
    early.closed_at = parse_timestamp("2019-05-19T23:00:00+03:00").unwrap();
    assert_eq!(
        Visit::new(early),
        Err(VisitError::RegisteredAfterClose {
            first_registration: date(2019, 5, 20),
            closed_on: date(2019, 5, 19),
        })
    );
    assert!(Visit::new(parts).is_ok());
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        prop::sample::select(vec![
            "",
            " ",
            "0",
            "-1",
            "1.0001",
            "1e3",
            "2026-11-12",
            "2026-11-12T15:40:00Z",
            "1M8GDM9AXKP042788",
            "+79161234567",
            "labor",
            "part",
            "repair",
            "99999999999",
        ])
        .prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Replace(prop::sample::Index, Value),
    Remove(prop::sample::Index),
    AddField(prop::sample::Index, String, Value),
    DuplicateLine(prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), json_value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        any::<prop::sample::Index>().prop_map(Mutation::Remove),
        (any::<prop::sample::Index>(), "[a-z_]{1,20}", json_value())
            .prop_map(|(i, k, v)| Mutation::AddField(i, k, v)),
        any::<prop::sample::Index>().prop_map(Mutation::DuplicateLine),
    ]
}

fn apply(value: &mut Value, mutation: &Mutation) {
    let all = nodes(value);
    let pointer = |i: &prop::sample::Index| all[i.index(all.len())].1.clone();
    match mutation {
        Mutation::Replace(i, new) => *value.pointer_mut(&pointer(i)).unwrap() = new.clone(),
        Mutation::Remove(i) => {
            let ptr = pointer(i);
            let (parent, key) = ptr.rsplit_once('/').unwrap();
            match value.pointer_mut(parent) {
                Some(Value::Object(map)) => {
                    map.remove(key);
                }
                Some(Value::Array(items)) => {
                    items.remove(key.parse::<usize>().unwrap());
                }
                _ => {}
            }
        }
        Mutation::AddField(i, key, new) => {
            let ptr = pointer(i);
            let (parent, _) = ptr.rsplit_once('/').unwrap();
            if let Some(Value::Object(map)) = value.pointer_mut(parent) {
                map.insert(key.clone(), new.clone());
            }
        }
        Mutation::DuplicateLine(i) => {
            if let Some(Value::Array(items)) = value.get_mut("lines") {
                if !items.is_empty() {
                    let line = items[i.index(items.len())].clone();
                    items.push(line);
                }
            }
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_strings_never_panic_any_parser(text in any::<String>()) {
        let _ = Vin::parse(&text);
        let _ = PhoneE164::parse(&text);
        let _ = FirstName::parse(&text);
        let _ = CustomerId::parse(&text);
        let _ = AdvisorId::parse(&text);
        let _ = WorkOrderId::parse(&text);
        let _ = Make::parse(&text);
        let _ = Model::parse(&text);
        let _ = VisitKind::parse(&text);
        let _ = LineKind::parse(&text);
        let _ = Quantity::parse(&text);
        let _ = parse_date(&text);
        let _ = parse_timestamp(&text);
        let errors = Visit::parse_json(text.as_bytes()).unwrap_err();
        prop_assert!(!errors.0.is_empty());
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_visit_parser(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Err(errors) = Visit::parse_json(&bytes) {
            prop_assert!(!errors.0.is_empty());
        }
    }

    #[test]
    fn byte_mutations_of_the_sample_never_panic_the_visit_parser(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..6),
    ) {
        let mut bytes = SAMPLE.as_bytes().to_vec();
        for (at, byte, op) in edits {
            let i = at.index(bytes.len());
            match op {
                0 => { bytes.remove(i); }
                1 => bytes.insert(i, byte),
                _ => bytes[i] = byte,
            }
        }
        match Visit::parse_json(&bytes) {
            Ok(visit) => {
                let again = Visit::parse_json(&serde_json::to_vec(&visit).unwrap());
                prop_assert_eq!(again, Ok(visit));
            }
            Err(errors) => prop_assert!(!errors.0.is_empty()),
        }
    }

    #[test]
    fn structural_mutations_of_the_sample_never_panic_and_agree_with_the_dto(
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let mut value = sample();
        for m in &mutations {
            apply(&mut value, m);
        }
        let result = parse(&value);
        match serde_json::from_value::<VisitDto>(value.clone()) {
            Ok(dto) => prop_assert_eq!(&result, &Visit::try_from(dto)),
            Err(_) => prop_assert!(result.is_err(), "the DTO rejects what parse_json accepted"),
        }
        match result {
            Ok(visit) => {
                let again = Visit::parse_json(&serde_json::to_vec(&visit).unwrap());
                prop_assert_eq!(again, Ok(visit));
            }
            Err(errors) => {
                prop_assert!(!errors.0.is_empty());
                prop_assert!(errors.0.iter().all(|e| !e.field.is_empty() && !e.message.is_empty()));
                prop_assert!(
                    errors.0.iter().all(|e| e.field != "$"),
                    "every problem of a JSON object is placed at a field: {}", errors
                );
            }
        }
    }
}

#[test]
fn a_plate_is_optional_and_stored_normalised() {
    let visit = parse_with(|v| v["vehicle"]["plate"] = json!("a 123 bc 777")).unwrap();
    assert_eq!(
        visit.vehicle().plate().map(|p| p.as_str()),
        Some("А123ВС777")
    );
    assert_eq!(parse(&sample()).unwrap().vehicle().plate(), None);
    let none = parse_with(|v| v["vehicle"]["plate"] = Value::Null).unwrap();
    assert_eq!(none.vehicle().plate(), None);
}

#[test]
fn an_unreadable_plate_is_rejected_at_its_field() {
    let errors = errors_with(|v| v["vehicle"]["plate"] = json!("А1*3"));
    assert_eq!(errors.fields(), ["vehicle.plate"]);
    let errors = errors_with(|v| v["vehicle"]["plate"] = json!(777));
    assert_eq!(errors.fields(), ["vehicle.plate"]);
}

fn brake_pads() -> Value {
    json!({"code": "BRK-F", "name": "Замена передних тормозных колодок", "urgency": "safety",
           "labor_estimate": "2400.00", "parts_estimate": "5600.00"})
}

#[test]
fn declined_recommendations_are_optional_and_kept_through_the_wire_shape() {
    assert!(parse(&sample()).unwrap().recommendations().is_empty());
    let visit = parse_with(|v| v["recommendations"] = json!([brake_pads()])).unwrap();
    let declined = &visit.recommendations()[0];
    assert_eq!(declined.urgency, crate::values::Urgency::Safety);
    assert_eq!(declined.estimate(), money("8000.00"));
    let again: Visit = serde_json::from_value(serde_json::to_value(&visit).unwrap()).unwrap();
    assert_eq!(again, visit);
    assert!(parse_with(|v| v["recommendations"] = Value::Null).is_ok());
    // A stored visit from before the field reads back with none.
    let stored: Visit = serde_json::from_value(sample()).unwrap();
    assert!(stored.recommendations().is_empty());
}

#[test]
fn every_bad_recommendation_field_is_named_at_its_path() {
    let errors = errors_with(|v| {
        let mut bad = brake_pads();
        bad["urgency"] = "urgent".into();
        bad["labor_estimate"] = json!(2400);
        bad["colour"] = "red".into();
        let mut missing = brake_pads();
        missing.as_object_mut().unwrap().remove("parts_estimate");
        v["recommendations"] = json!([brake_pads(), bad, missing]);
    });
    assert_eq!(
        errors.fields(),
        [
            "recommendations[1].colour",
            "recommendations[1].labor_estimate",
            "recommendations[2].parts_estimate",
            "recommendations[1].urgency",
        ]
    );
    let too_many = errors_with(|v| v["recommendations"] = json!(vec![brake_pads(); 51]));
    assert_eq!(too_many.fields(), ["recommendations"]);
    let not_a_list = errors_with(|v| v["recommendations"] = json!({"code": "x"}));
    assert_eq!(not_a_list.fields(), ["recommendations"]);
}
