//! The metric lines the visit ingest writes: `VisitsRecorded` for a work order stored for the
//! first time, `Conversions` by stage when the visit is credited to the reminder it followed.

mod common;

use common::*;
use lambda_support::metrics::capture;
use serde_json::{json, Value};

fn parsed(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .collect()
}

#[tokio::test]
async fn ingest_visit_handle_request_counts_a_new_visit_without_dimensions_and_not_a_repeat() {
    let dir = tempfile::tempdir().unwrap();
    let (deps, _store) = deps(&dir);
    let body = example_body();
    let signature = deps.secret.sign(now().timestamp(), &body);
    let request = || api_gateway_request("POST", "/v1/visits", &body, Some(&signature));

    let (response, lines) = capture(ingest_visit::handle_request(&deps, request(), now())).await;
    assert_eq!(response.status(), 201);
    let lines = parsed(&lines);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["VisitsRecorded"], 1);
    assert_eq!(
        lines[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([[]])
    );
    assert_eq!(
        lines[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"],
        json!([{"Name": "VisitsRecorded", "Unit": "Count"}])
    );

    let (again, lines) = capture(ingest_visit::handle_request(&deps, request(), now())).await;
    assert_eq!(again.status(), 200);
    assert!(lines.is_empty(), "{lines:?}");
}

#[tokio::test]
async fn ingest_visit_handle_counts_a_visit_credited_to_a_reminder_as_a_conversion_by_stage() {
    let dir = tempfile::tempdir().unwrap();
    let (deps, _store) = deps(&dir);
    let first = example_body();
    let reply = ingest_visit::handle(
        &deps,
        &signed_headers(&first, now().timestamp()),
        &first,
        now(),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reminder_sent(&deps.repos).await;

    let example = app::fixtures::example_visit();
    let second = serde_json::to_vec(&json!({
        "work_order_id": "WO-2", "closed_at": "2027-11-15T12:00:00+03:00",
        "kind": "maintenance", "odometer_km": 104_000,
        "customer": example["customer"].clone(),
        "vehicle": example["vehicle"].clone(),
        "lines": example["lines"].clone(),
    }))
    .unwrap();
    let now = at("2027-11-15T12:01:00+03:00");
    let headers = signed_headers(&second, now.timestamp());
    let (reply, lines) = capture(ingest_visit::handle(&deps, &headers, &second, now)).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let lines = parsed(&lines);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let conversion = lines
        .iter()
        .find(|l| l.get("Conversions").is_some())
        .unwrap();
    assert_eq!(conversion["Conversions"], 1);
    assert_eq!(conversion["Stage"], "soft_reminder");
    assert!(
        conversion.get("Rule").is_none(),
        "a reminder has no offer rule"
    );
    assert_eq!(
        conversion["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["Stage"], []])
    );
    assert!(lines.iter().any(|l| l["VisitsRecorded"] == 1));
    for line in &lines {
        let text = line.to_string();
        assert!(!text.contains(VIN) && !text.contains("C-1001"), "{text}");
    }

    let (again, lines) = capture(ingest_visit::handle(&deps, &headers, &second, now)).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert!(lines.is_empty(), "credited once: {lines:?}");
}
