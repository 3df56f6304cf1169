//! The visit ingest credits the reminder a visit followed, through the handler, once.

mod common;

use app::conversions::ConversionRecord;
use common::*;
use domain::triggers::Stage;
use serde_json::json;

#[tokio::test]
async fn a_visit_after_a_sent_reminder_is_credited_once_through_the_handler() {
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

    // The evaluator opened the visit's cycle and the composer sent its soft reminder.
    let repos = &deps.repos;
    reminder_sent(repos).await;
    let offer_id = app::messages::offer_id(VIN, CYCLE, Stage::SoftReminder);
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
    let reply = ingest_visit::handle(&deps, &headers, &second, now).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let again = ingest_visit::handle(&deps, &headers, &second, now).await;
    assert_eq!(again.status, 200, "{}", again.body);

    let credited = repos
        .conversions
        .for_vehicle::<ConversionRecord>(VIN)
        .await
        .unwrap();
    assert_eq!(credited.len(), 1);
    assert_eq!(credited[0].work_order_id, "WO-2");
    let c = &credited[0].record;
    assert_eq!(
        (c.stage, c.days_to_visit, c.offer_id.as_str()),
        (Stage::SoftReminder, 14, offer_id.as_str())
    );
}
