//! The business events' JSON Schemas under `docs/events/` (draft 2020-12, formats checked),
//! for the tests that check what the handlers, `serve` and the bus publish (feature
//! `event-schemas`; the crate's own unit tests have it too).

use serde_json::Value;

use crate::events::BusinessEvent;

/// The validator of the event `name` (`docs/events/<name>.schema.json`).
pub fn validator(name: &str) -> jsonschema::Validator {
    let path = format!(
        "{}/../../docs/events/{name}.schema.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What the schema of the event `name` finds wrong with `detail` (empty when it is valid).
pub fn detail_errors(name: &str, detail: &Value) -> Vec<String> {
    validator(name)
        .iter_errors(detail)
        .map(|e| format!("{e}: {detail}"))
        .collect()
}

/// What its schema finds wrong with the event's detail.
pub fn errors(event: &BusinessEvent) -> Vec<String> {
    detail_errors(event.name(), &event.detail())
}

/// Every business event serialises to a detail that its schema accepts, and the schemas refuse
/// personal data and malformed ids.
#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::events::{samples, EVENT_NAMES};

    #[test]
    fn every_event_matches_its_schema() {
        let samples = samples();
        assert_eq!(samples.len(), EVENT_NAMES.len());
        for event in &samples {
            let detail = event.detail();
            assert_eq!(
                detail_errors(event.name(), &detail),
                Vec::<String>::new(),
                "{detail}"
            );
        }
    }

    #[test]
    fn a_vehicle_opt_out_names_the_vehicle_and_a_stop_does_not() {
        let at = samples()[0].occurred_at;
        let muted =
            BusinessEvent::opted_out("C-1", "whatsapp", Some(("XTA210990Y2765432", "o1")), at);
        assert!(detail_errors("OptedOut", &muted.detail()).is_empty());
        let mut detail = muted.detail();
        detail.as_object_mut().unwrap().remove("vehicle_id");
        assert!(!detail_errors("OptedOut", &detail).is_empty());
        let mut stop = BusinessEvent::opted_out("C-1", "sms", None, at).detail();
        assert!(detail_errors("OptedOut", &stop).is_empty());
        stop["vehicle_id"] = json!("XTA210990Y2765432");
        assert!(!detail_errors("OptedOut", &stop).is_empty());
    }

    #[test]
    fn a_name_or_a_phone_in_an_event_is_refused() {
        for event in samples() {
            for (field, value) in [("first_name", "Иван"), ("phone", "+79161234567")] {
                let mut detail = event.detail();
                detail[field] = json!(value);
                assert!(
                    !detail_errors(event.name(), &detail).is_empty(),
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
                !detail_errors("VisitRecorded", &detail).is_empty(),
                "{field} = {value}"
            );
        }
    }
}
