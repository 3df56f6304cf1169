//! The nightly handler on the embedded store with schedule events.

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::messages::EvaluateVehicle;
use app::ports::Collected;
use chrono::{DateTime, NaiveDate, Utc};
use domain::policy::Policy;
use lambda_support::aws_lambda_events::eventbridge::EventBridgeEvent;
use nightly_forecast::{handle, Deps};
use store::repo::Repos;
use store::RedbStore;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

async fn deps(dir: &tempfile::TempDir, vehicles: u32) -> Arc<Deps<RedbStore, Collected>> {
    let repos = Repos::new(RedbStore::open(dir.path().join("store.redb")).unwrap());
    let policy = Policy::default();
    for i in 0..vehicles {
        let body = serde_json::to_vec(&app::fixtures::visit(
            &format!("WO-{i}"),
            &format!("XW7BE40K70S{i:06}"),
            "2025-12-01T12:00:00+03:00",
            60_000 + i,
        ))
        .unwrap();
        app::record_visit(&repos, &policy, &body, at("2025-12-01T13:00:00+03:00"))
            .await
            .unwrap();
    }
    Arc::new(Deps {
        repos,
        policy,
        evaluate: Collected::default(),
        compose: Collected::default(),
        segments: 4,
        page_size: 5,
    })
}

/// The payload EventBridge Scheduler delivers for a ScheduleV2 target.
fn schedule_event(time: &str) -> EventBridgeEvent<serde_json::Value> {
    serde_json::from_value(serde_json::json!({
        "version": "0",
        "id": "5a7b0e2c-1111-2222-3333-444455556666",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "123456789012",
        "time": time,
        "region": "eu-central-1",
        "resources": ["arn:aws:scheduler:eu-central-1:123456789012:schedule/default/autodrive-dev-nightly-forecast"],
        "detail": "{}"
    }))
    .unwrap()
}

fn later() -> Instant {
    Instant::now() + Duration::from_secs(3_600)
}

fn vins(bodies: &[String]) -> Vec<String> {
    let mut vins: Vec<String> = bodies
        .iter()
        .map(|b| match EvaluateVehicle::from_json(b).unwrap() {
            EvaluateVehicle::V1 { vin, .. } => vin,
        })
        .collect();
    vins.sort();
    vins
}

#[tokio::test]
async fn a_schedule_event_forecasts_every_vehicle_and_queues_the_due_ones_for_its_dealer_day() {
    let dir = tempfile::tempdir().unwrap();
    let deps = deps(&dir, 23).await;
    // 01:00 Moscow on 20 November is 22:00 UTC on the 19th.
    let summary = handle(
        deps.clone(),
        schedule_event("2026-11-19T22:00:00Z"),
        later(),
    )
    .await
    .unwrap();
    assert_eq!(
        summary.run_date,
        Some(NaiveDate::from_ymd_opt(2026, 11, 20).unwrap())
    );
    assert_eq!((summary.segments_done, summary.forecast), (4, 23));
    let queued = vins(&deps.evaluate.take());
    assert_eq!(queued.len(), 23);
    queued.windows(2).for_each(|w| assert_ne!(w[0], w[1]));
}

#[tokio::test]
async fn a_repeated_schedule_event_for_the_same_night_does_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let deps = deps(&dir, 12).await;
    let event = || schedule_event("2026-11-19T22:00:00Z");
    handle(deps.clone(), event(), later()).await.unwrap();
    assert_eq!(deps.evaluate.take().len(), 12);
    let again = handle(deps.clone(), event(), later()).await.unwrap();
    assert_eq!((again.forecast, again.queued), (0, 0));
    assert!(deps.evaluate.take().is_empty());
}

#[tokio::test]
async fn a_run_out_of_time_fails_and_the_retry_resumes_from_the_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let deps = deps(&dir, 12).await;
    let event = || schedule_event("2026-11-19T22:00:00Z");
    let no_time = Instant::now();
    let err = handle(deps.clone(), event(), no_time).await.unwrap_err();
    assert!(err.to_string().contains("0 of 4 segments done"), "{err}");
    let retry = handle(deps.clone(), event(), later()).await.unwrap();
    assert_eq!(retry.forecast, 12);
    assert_eq!(vins(&deps.evaluate.take()).len(), 12);
}

#[tokio::test]
async fn a_schedule_event_without_a_time_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let deps = deps(&dir, 1).await;
    let mut event = schedule_event("2026-11-19T22:00:00Z");
    event.time = None;
    assert!(handle(deps, event, later()).await.is_err());
}
