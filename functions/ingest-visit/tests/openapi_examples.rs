//! Every request example of `docs/openapi.yaml` goes through the real Lambda entry and gets the
//! status the document promises, with a body that matches the documented response schema.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use common::*;
use ingest_visit::Secret;
use serde_json::Value;

const DOCUMENT: &str = include_str!("../../../docs/openapi.yaml");

struct Example {
    name: String,
    body: Vec<u8>,
    expected_status: u16,
    expected_fields: Option<BTreeSet<String>>,
    signature: Option<String>,
    send_after: Option<String>,
}

fn document() -> Value {
    serde_norway::from_str(DOCUMENT).expect("docs/openapi.yaml is valid YAML")
}

fn examples(doc: &Value) -> Vec<Example> {
    let post = &doc["paths"]["/v1/visits"]["post"];
    let examples = post["requestBody"]["content"]["application/json"]["examples"]
        .as_object()
        .expect("the visits request body has examples");
    examples
        .iter()
        .map(|(name, example)| {
            let body = serde_json::to_vec(&example["value"]).unwrap();
            let expected_status = example["x-expected-status"]
                .as_u64()
                .unwrap_or_else(|| panic!("example {name} has no x-expected-status"))
                as u16;
            let t = now().timestamp() - example["x-signature-age-seconds"].as_i64().unwrap_or(0);
            let signature = match example["x-signature"].as_str() {
                Some("none") => None,
                Some(other) => panic!("example {name}: unknown x-signature {other}"),
                None => {
                    let secret = example["x-signature-secret"].as_str().unwrap_or(SECRET);
                    Some(Secret::parse(secret).unwrap().sign(t, &body))
                }
            };
            let expected_fields = example["x-expected-fields"].as_array().map(|fields| {
                fields
                    .iter()
                    .map(|f| f.as_str().unwrap().to_owned())
                    .collect()
            });
            Example {
                name: name.clone(),
                body,
                expected_status,
                expected_fields,
                signature,
                send_after: example["x-send-after"].as_str().map(str::to_owned),
            }
        })
        .collect()
}

/// Checks `value` against the subset of JSON Schema the document uses; returns what is wrong.
fn violations(doc: &Value, schema: &Value, value: &Value, path: &str) -> Vec<String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unsupported $ref {reference}"));
        return violations(doc, &doc["components"]["schemas"][name], value, path);
    }
    if let Some(options) = schema["oneOf"].as_array() {
        let matching = options
            .iter()
            .filter(|option| violations(doc, option, value, path).is_empty())
            .count();
        return match matching {
            1 => vec![],
            n => vec![format!("{path}: matches {n} of the oneOf options")],
        };
    }
    let mut wrong = Vec::new();
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let type_ok = types.is_empty()
        || types.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            other => panic!("unsupported type {other}"),
        });
    if !type_ok {
        return vec![format!("{path}: {value} is not of type {types:?}")];
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            wrong.push(format!("{path}: {value} is not one of {allowed:?}"));
        }
    }
    if let Some(constant) = schema.get("const") {
        if constant != value {
            wrong.push(format!("{path}: {value} is not {constant}"));
        }
    }
    if schema["format"] == "date" {
        if let Some(text) = value.as_str() {
            if NaiveDate::parse_from_str(text, "%Y-%m-%d").is_err() {
                wrong.push(format!("{path}: {text} is not a date"));
            }
        }
    }
    if let Some(object) = value.as_object() {
        for required in schema["required"].as_array().into_iter().flatten() {
            let key = required.as_str().unwrap();
            if !object.contains_key(key) {
                wrong.push(format!("{path}: missing {key}"));
            }
        }
        let properties = schema["properties"].as_object();
        for (key, item) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(property) => {
                    wrong.extend(violations(doc, property, item, &format!("{path}.{key}")))
                }
                None if schema["additionalProperties"] == false => {
                    wrong.push(format!("{path}: undocumented property {key}"))
                }
                None => {}
            }
        }
    }
    if let Some(items) = value.as_array() {
        if let Some(min) = schema["minItems"].as_u64() {
            if (items.len() as u64) < min {
                wrong.push(format!("{path}: fewer than {min} items"));
            }
        }
        for (i, item) in items.iter().enumerate() {
            wrong.extend(violations(
                doc,
                &schema["items"],
                item,
                &format!("{path}[{i}]"),
            ));
        }
    }
    wrong
}

fn response_schema(doc: &Value, status: u16) -> &Value {
    let responses = &doc["paths"]["/v1/visits"]["post"]["responses"];
    let response = &responses[status.to_string()];
    assert!(
        response.is_object(),
        "status {status} is not documented in the responses"
    );
    &response["content"]["application/json"]["schema"]
}

#[tokio::test]
async fn every_request_example_of_the_openapi_document_gets_its_documented_status_and_body() {
    let doc = document();
    let examples = examples(&doc);
    assert!(
        examples.len() >= 10,
        "only {} examples in the document",
        examples.len()
    );
    let by_name: BTreeMap<&str, &Example> = examples.iter().map(|e| (e.name.as_str(), e)).collect();

    for example in &examples {
        let dir = tempfile::tempdir().unwrap();
        let (deps, store) = deps(&dir);
        let mut chain = vec![example];
        while let Some(before) = chain.last().unwrap().send_after.as_deref() {
            let earlier = by_name
                .get(before)
                .unwrap_or_else(|| panic!("{}: x-send-after names no example", example.name));
            chain.push(earlier);
        }
        for earlier in chain.iter().skip(1).rev() {
            let request = api_gateway_request(
                "POST",
                "/v1/visits",
                &earlier.body,
                earlier.signature.as_deref(),
            );
            let response = ingest_visit::handle_request(&deps, request, now()).await;
            assert_eq!(
                response.status(),
                earlier.expected_status,
                "{}",
                earlier.name
            );
        }
        let stored_before = item_count(&store).await;

        let request = api_gateway_request(
            "POST",
            "/v1/visits",
            &example.body,
            example.signature.as_deref(),
        );
        let response = ingest_visit::handle_request(&deps, request, now()).await;
        let status = response.status().as_u16();
        let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(status, example.expected_status, "{}: {body}", example.name);
        let wrong = violations(&doc, response_schema(&doc, status), &body, "$");
        assert!(wrong.is_empty(), "{}: {wrong:?}", example.name);

        if let Some(expected) = &example.expected_fields {
            let fields: BTreeSet<String> = body["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["field"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(&fields, expected, "{}", example.name);
        }
        if status != 201 {
            assert_eq!(
                item_count(&store).await,
                stored_before,
                "{} changed the store",
                example.name
            );
        }
    }
}

#[test]
fn every_response_example_of_the_openapi_document_matches_its_schema() {
    let doc = document();
    let responses = doc["paths"]["/v1/visits"]["post"]["responses"]
        .as_object()
        .unwrap();
    assert!(responses.len() >= 4);
    for (status, response) in responses {
        let content = &response["content"]["application/json"];
        let wrong = violations(&doc, &content["schema"], &content["example"], "$");
        assert!(wrong.is_empty(), "response {status}: {wrong:?}");
    }
}

#[test]
fn the_schema_check_finds_a_wrong_body() {
    let doc = document();
    let schema = response_schema(&doc, 422);
    let bare_list = serde_json::json!([{"field": "vin", "message": "bad"}]);
    assert!(!violations(&doc, schema, &bare_list, "$").is_empty());
    let extra =
        serde_json::json!({"error": "invalid", "errors": [{"field": "a", "message": "b", "x": 1}]});
    assert!(!violations(&doc, schema, &extra, "$").is_empty());
    let accepted = response_schema(&doc, 201);
    let bad_date = serde_json::json!({"work_order_id": "A", "vin": "V", "status": "stored", "due_date": "soon"});
    assert!(!violations(&doc, accepted, &bad_date, "$").is_empty());
}
