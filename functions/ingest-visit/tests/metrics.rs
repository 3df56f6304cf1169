//! The metric lines the visit ingest writes: `VisitsRecorded` for a work order stored for the
//! first time, `Conversions` by stage when the visit is credited to the reminder it followed.

mod common;

use app::compose::OfferRecord;
use app::evaluate::{CycleInfo, StageMark};
use chrono::{DateTime, Duration, Utc};
use common::*;
use domain::triggers::{Reason, Stage};
use lambda_support::metrics::capture;
use serde_json::{json, Value};
use store::repo::NewOffer;

const VIN: &str = "XW7BE40K70S025476";
const CYCLE: &str = "A3C0001116";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn parsed(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .collect()
}

/// The soft reminder of the visit's cycle, sent on 1 November 2027.
async fn reminder_sent(repos: &store::repo::Repos<store::RedbStore>) {
    let sent = at("2027-11-01T10:00:00+03:00");
    let info = CycleInfo { started_at: now() };
    repos.cycles.open(VIN, CYCLE, &info).await.unwrap();
    let mark = StageMark {
        send_at: sent,
        decided_at: sent,
    };
    repos
        .cycles
        .mark_stage(VIN, CYCLE, "soft_reminder", &mark)
        .await
        .unwrap();
    let offer_id = app::messages::offer_id(VIN, CYCLE, Stage::SoftReminder);
    let record = OfferRecord {
        cycle_id: CYCLE.into(),
        stage: Stage::SoftReminder,
        reason: Reason::DueSoon {
            due: sent.date_naive(),
            days_left: 11,
        },
        send_at: sent,
        priced: None,
    };
    let new = NewOffer {
        offer_id: &offer_id,
        customer_id: "C-1001",
        vin: VIN,
        created_at: sent,
        offer: &record,
    };
    repos.offers.create(&new).await.unwrap();
    repos
        .offers
        .claim::<OfferRecord>(&offer_id, "composer", sent, Duration::seconds(60))
        .await
        .unwrap();
    assert!(repos
        .offers
        .mark_sent(&offer_id, "composer", sent)
        .await
        .unwrap());
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
