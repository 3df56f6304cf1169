//! The use cases on the embedded store.

use app::messages::{EvaluateVehicle, NightlyShard};
use app::{fixtures, plan_night, record_visit, run_shard, ShardBudget};
use chrono::{DateTime, NaiveDate, Utc};
use domain::policy::Policy;
use domain::triggers::Stage;
use domain::Visit;
use store::repo::Repos;
use store::RedbStore;

fn repos(dir: &tempfile::TempDir) -> Repos<RedbStore> {
    Repos::new(RedbStore::open(dir.path().join("store.redb")).unwrap())
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn vin(i: u32) -> String {
    format!("XW7BE40K70S{i:06}")
}

#[tokio::test]
async fn a_valid_visit_is_stored_once_and_forecast_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let repos = repos(&dir);
    let policy = Policy::default();
    let body = serde_json::to_vec(&fixtures::example_visit()).unwrap();
    let now = at("2026-11-12T16:00:00+03:00");

    let first = record_visit(&repos, &policy, &body, now).await.unwrap();
    assert!(first.newly_stored);
    let due = first.due.clone().expect("a forecast");
    assert!(due.due_date > date("2026-11-12"));
    assert_eq!(
        repos.forecasts.get("XW7BE40K70S025476").await.unwrap(),
        Some(due)
    );

    let again = record_visit(&repos, &policy, &body, now).await.unwrap();
    assert!(!again.newly_stored);
    let visits = repos
        .visits
        .for_vehicle::<Visit>("XW7BE40K70S025476")
        .await
        .unwrap();
    assert_eq!(visits.len(), 1);
    let readings = repos
        .readings
        .for_vehicle("XW7BE40K70S025476")
        .await
        .unwrap();
    assert_eq!(readings.len(), 1);
    assert_eq!(readings[0].km, 90_000);
}

#[tokio::test]
async fn an_invalid_visit_stores_nothing_and_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let repos = repos(&dir);
    let mut visit = fixtures::example_visit();
    visit["odometer_km"] = (-5).into();
    let body = serde_json::to_vec(&visit).unwrap();
    let err = record_visit(
        &repos,
        &Policy::default(),
        &body,
        at("2026-11-12T16:00:00Z"),
    )
    .await
    .unwrap_err();
    let app::RecordVisitError::Invalid(errors) = err else {
        panic!("expected field errors, got {err}");
    };
    assert!(errors.fields().contains(&"odometer_km"));
    assert!(repos
        .vehicles
        .get::<domain::Vehicle>("XW7BE40K70S025476")
        .await
        .unwrap()
        .is_none());
}

async fn fleet(repos: &Repos<RedbStore>, count: u32) {
    let policy = Policy::default();
    for i in 0..count {
        let body = serde_json::to_vec(&fixtures::visit(
            &format!("WO-{i}"),
            &vin(i),
            "2025-12-01T12:00:00+03:00",
            60_000 + i,
        ))
        .unwrap();
        record_visit(repos, &policy, &body, at("2025-12-01T13:00:00+03:00"))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn every_vehicle_is_forecast_once_across_the_shards_of_a_night() {
    let dir = tempfile::tempdir().unwrap();
    let repos = repos(&dir);
    fleet(&repos, 25).await;
    let policy = Policy::default();
    let run_date = date("2026-11-20");
    let plan = plan_night(run_date, 4);
    assert_eq!(plan.shards.len(), 4);
    let budget = ShardBudget {
        page_size: 3,
        max_pages: 1_000,
    };
    let mut evaluate = Vec::new();
    let mut forecast = 0;
    for shard in &plan.shards {
        let report = run_shard(&repos, &policy, shard, budget).await.unwrap();
        assert!(report.done);
        forecast += report.forecast;
        evaluate.extend(report.evaluate);
    }
    assert_eq!(forecast, 25);
    let mut vins: Vec<String> = evaluate
        .into_iter()
        .map(|EvaluateVehicle::V1 { vin, .. }| vin)
        .collect();
    vins.sort();
    vins.dedup();
    assert_eq!(vins.len(), 25, "a year after service every car is due");
    let processed: u64 = repos
        .runs
        .shards(run_date)
        .await
        .unwrap()
        .iter()
        .map(|c| c.processed)
        .sum();
    assert_eq!(processed, 25);
}

#[tokio::test]
async fn a_repeated_run_date_does_no_work_twice_and_a_stopped_shard_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let repos = repos(&dir);
    fleet(&repos, 10).await;
    let policy = Policy::default();
    let shard = NightlyShard::V1 {
        run_date: date("2026-11-20"),
        shard: 0,
        total_shards: 1,
    };
    let one_page = ShardBudget {
        page_size: 4,
        max_pages: 1,
    };
    let first = run_shard(&repos, &policy, &shard, one_page).await.unwrap();
    assert_eq!((first.forecast, first.done), (4, false));
    let rest = ShardBudget {
        page_size: 4,
        max_pages: 100,
    };
    let second = run_shard(&repos, &policy, &shard, rest).await.unwrap();
    assert!(second.done);
    assert_eq!(first.forecast + second.forecast, 10);
    let replay = run_shard(&repos, &policy, &shard, rest).await.unwrap();
    assert_eq!((replay.pages, replay.forecast), (0, 0));
    assert!(replay.evaluate.is_empty());
}

#[tokio::test]
async fn a_due_car_gets_its_stage_once_however_often_it_is_evaluated() {
    let dir = tempfile::tempdir().unwrap();
    let repos = repos(&dir);
    let policy = Policy::default();
    let body = serde_json::to_vec(&fixtures::example_visit()).unwrap();
    record_visit(&repos, &policy, &body, at("2026-11-12T16:00:00+03:00"))
        .await
        .unwrap();
    let night = run_shard(
        &repos,
        &policy,
        &NightlyShard::V1 {
            run_date: date("2027-11-01"),
            shard: 0,
            total_shards: 1,
        },
        ShardBudget {
            page_size: 10,
            max_pages: 10,
        },
    )
    .await
    .unwrap();
    assert_eq!(night.evaluate.len(), 1);
    let message = &night.evaluate[0];

    // Decided at 01:00, inside the quiet hours: it goes out at 09:00 Moscow time.
    let now = at("2027-11-01T01:00:00+03:00");
    let first = app::evaluate_vehicle(&repos, &policy, message, now)
        .await
        .unwrap();
    let stages: Vec<Stage> = first
        .compose
        .iter()
        .map(|app::ComposeOffer::V1 { stage, .. }| *stage)
        .collect();
    assert_eq!(
        stages,
        vec![Stage::SoftReminder, Stage::SeasonalTires],
        "a month before the due date, in November"
    );
    for app::ComposeOffer::V1 {
        vin,
        send_at,
        offer_id,
        cycle_id,
        ..
    } in &first.compose
    {
        assert_eq!(vin, "XW7BE40K70S025476");
        assert_eq!(cycle_id, "A3C0001116");
        assert_eq!(*send_at, at("2027-11-01T09:00:00+03:00"));
        assert_eq!(offer_id.len(), 17);
    }
    let uncommitted = app::evaluate_vehicle(&repos, &policy, message, now)
        .await
        .unwrap();
    assert_eq!(uncommitted.compose, first.compose, "not marked yet");
    assert_eq!(app::commit_evaluation(&repos, &first).await.unwrap(), 2);
    assert_eq!(
        app::commit_evaluation(&repos, &uncommitted).await.unwrap(),
        0
    );

    let again = app::evaluate_vehicle(&repos, &policy, message, now)
        .await
        .unwrap();
    assert!(again.compose.is_empty(), "{again:?}");
}

#[tokio::test]
async fn an_unknown_vehicle_is_an_error_that_retrying_does_not_fix() {
    let dir = tempfile::tempdir().unwrap();
    let repos = repos(&dir);
    let message = EvaluateVehicle::V1 {
        run_date: date("2027-11-01"),
        vin: "XW7BE40K70S999999".into(),
    };
    let err = app::evaluate_vehicle(
        &repos,
        &Policy::default(),
        &message,
        at("2027-11-01T12:00:00Z"),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, app::EvaluateError::UnknownVehicle(_)),
        "{err}"
    );
}
