//! Every business event serialises to a detail that its JSON Schema under `docs/events/` accepts,
//! and the schemas refuse personal data and malformed ids.

use app::events::{samples, BusinessEvent, EVENT_NAMES};
use serde_json::{json, Value};

fn schema(name: &str) -> jsonschema::Validator {
    let path = format!(
        "{}/../../docs/events/{name}.schema.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn errors(name: &str, detail: &Value) -> Vec<String> {
    schema(name)
        .iter_errors(detail)
        .map(|e| e.to_string())
        .collect()
}

#[test]
fn every_event_matches_its_schema() {
    let samples = samples();
    assert_eq!(samples.len(), EVENT_NAMES.len());
    for event in &samples {
        let detail = event.detail();
        assert_eq!(
            errors(event.name(), &detail),
            Vec::<String>::new(),
            "{detail}"
        );
    }
}

#[test]
fn a_vehicle_opt_out_names_the_vehicle_and_a_stop_does_not() {
    let at = samples()[0].occurred_at;
    let muted = BusinessEvent::opted_out("C-1", "whatsapp", Some(("XTA210990Y2765432", "o1")), at);
    assert!(errors("OptedOut", &muted.detail()).is_empty());
    let mut detail = muted.detail();
    detail.as_object_mut().unwrap().remove("vehicle_id");
    assert!(!errors("OptedOut", &detail).is_empty());
    let mut stop = BusinessEvent::opted_out("C-1", "sms", None, at).detail();
    assert!(errors("OptedOut", &stop).is_empty());
    stop["vehicle_id"] = json!("XTA210990Y2765432");
    assert!(!errors("OptedOut", &stop).is_empty());
}

#[test]
fn a_name_or_a_phone_in_an_event_is_refused() {
    for event in samples() {
        for (field, value) in [("first_name", "Иван"), ("phone", "+79161234567")] {
            let mut detail = event.detail();
            detail[field] = json!(value);
            assert!(
                !errors(event.name(), &detail).is_empty(),
                "{} took {field}",
                event.name()
            );
        }
    }
}

#[test]
fn a_malformed_id_or_time_is_refused() {
    let visit = &samples()[0];
    for (field, value) in [
        ("vehicle_id", json!("not a vin")),
        ("event_id", json!("12345")),
        ("occurred_at", json!("yesterday")),
        ("customer_id", json!("")),
    ] {
        let mut detail = visit.detail();
        detail[field] = value.clone();
        assert!(
            !errors("VisitRecorded", &detail).is_empty(),
            "{field} = {value}"
        );
    }
}
