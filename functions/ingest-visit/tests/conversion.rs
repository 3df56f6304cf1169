//! The visit ingest credits the reminder a visit followed, through the handler, once.

mod common;

use app::compose::OfferRecord;
use app::conversions::ConversionRecord;
use app::evaluate::{CycleInfo, StageMark};
use chrono::{DateTime, Duration, Utc};
use common::*;
use domain::triggers::{Reason, Stage};
use serde_json::json;
use store::repo::NewOffer;

const VIN: &str = "XW7BE40K70S025476";
const CYCLE: &str = "A3C0001116";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

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
