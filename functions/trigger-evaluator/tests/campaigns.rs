//! Campaign switches on the evaluator's batch path, and the preview against the night it
//! previews, on the embedded store.

mod common;

use app::campaigns::{preview, switch, NIGHT_RUN_LOCAL};
use app::messages::{ComposeOffer, EvaluateVehicle};
use app::ports::Collected;
use app::{run_shard, ShardBudget};
use chrono::{DateTime, NaiveDate, Utc};
use common::{at, sqs_event};
use domain::policy::Policy;
use domain::triggers::Stage;
use store::port::Scan;
use store::repo::Repos;
use store::{Item, ItemRead, RedbStore};
use trigger_evaluator::{handle, Deps};

const VIN: &str = "XW7BE40K70S025476";

fn night() -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 11, 1).unwrap()
}

fn open(dir: &tempfile::TempDir) -> RedbStore {
    RedbStore::open(dir.path().join("store.redb")).unwrap()
}

async fn deps(store: RedbStore) -> Deps<RedbStore, Collected> {
    let repos = Repos::new(store);
    let policy = Policy::default();
    let body = serde_json::to_vec(&app::fixtures::example_visit()).unwrap();
    app::record_visit(&repos, &policy, &body, at("2026-11-12T16:00:00+03:00"))
        .await
        .unwrap();
    Deps {
        repos,
        policy,
        compose: Collected::default(),
        events: app::Events::none(),
    }
}

async fn forecast(deps: &Deps<RedbStore, Collected>) {
    let vehicle = deps
        .repos
        .vehicles
        .get::<domain::Vehicle>(VIN)
        .await
        .unwrap()
        .unwrap();
    app::forecast_vehicle(&deps.repos, &deps.policy, &vehicle.vehicle, night())
        .await
        .unwrap();
}

fn evaluate() -> String {
    EvaluateVehicle::V1 {
        run_date: night(),
        vin: VIN.into(),
    }
    .to_json()
}

fn composed(deps: &Deps<RedbStore, Collected>) -> Vec<(String, Stage, DateTime<Utc>)> {
    let mut sent: Vec<_> = deps
        .compose
        .take()
        .iter()
        .map(|b| {
            let ComposeOffer::V1 {
                vin,
                stage,
                send_at,
                ..
            } = ComposeOffer::from_json(b).unwrap();
            (vin, stage, send_at)
        })
        .collect();
    sent.sort();
    sent
}

/// Every item of the store, in a stable order.
async fn dump(store: &RedbStore) -> Vec<String> {
    let mut items: Vec<Item> = Vec::new();
    let mut cursor = None;
    loop {
        let page = ItemRead::scan(store, &Scan::segment(0, 1).after(cursor))
            .await
            .unwrap();
        items.extend(page.items);
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut text: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
    text.sort();
    text
}

#[tokio::test]
async fn a_switched_off_stage_is_not_queued_and_goes_once_switched_back_on() {
    let dir = tempfile::tempdir().unwrap();
    let deps = deps(open(&dir)).await;
    forecast(&deps).await;
    let now = at("2027-11-01T10:00:00+03:00");
    switch(
        &deps.repos,
        &deps.policy,
        "soft_reminder",
        false,
        "anna",
        now,
    )
    .await
    .unwrap();
    let response = handle(&deps, sqs_event(&[evaluate()]), now).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(composed(&deps)
        .iter()
        .all(|(_, stage, _)| *stage != Stage::SoftReminder));

    switch(
        &deps.repos,
        &deps.policy,
        "soft_reminder",
        true,
        "anna",
        now,
    )
    .await
    .unwrap();
    let response = handle(&deps, sqs_event(&[evaluate()]), now).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(composed(&deps)
        .iter()
        .any(|(_, stage, _)| *stage == Stage::SoftReminder));

    // One step's mark key is not a campaign: it cannot switch the stage off unseen.
    let step = switch(
        &deps.repos,
        &deps.policy,
        "declined_work#2",
        false,
        "anna",
        now,
    )
    .await;
    assert!(
        matches!(step, Err(app::campaigns::SwitchError::Unknown(_))),
        "{step:?}"
    );
}

#[tokio::test]
async fn a_switched_off_stage_is_vetoed_as_campaign_off() {
    let dir = tempfile::tempdir().unwrap();
    let deps = deps(open(&dir)).await;
    forecast(&deps).await;
    let now = at("2027-11-01T10:00:00+03:00");
    let message = EvaluateVehicle::from_json(&evaluate()).unwrap();
    let on = app::evaluate_vehicle(&deps.repos, &deps.policy, &message, now)
        .await
        .unwrap();
    let stages: Vec<Stage> = on
        .compose
        .iter()
        .map(|ComposeOffer::V1 { stage, .. }| *stage)
        .collect();
    assert!(!stages.is_empty());
    for stage in &stages {
        switch(
            &deps.repos,
            &deps.policy,
            stage.as_str(),
            false,
            "anna",
            now,
        )
        .await
        .unwrap();
    }
    let off = app::evaluate_vehicle(&deps.repos, &deps.policy, &message, now)
        .await
        .unwrap();
    assert!(off.compose.is_empty());
    for stage in stages {
        assert!(off
            .vetoed
            .contains(&(stage, app::evaluate::CAMPAIGN_OFF.to_owned())));
    }
}

#[tokio::test]
async fn a_preview_writes_nothing_and_its_first_day_is_what_the_night_then_queues() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let deps = deps(store.clone()).await;
    let before = dump(&store).await;
    let rows = preview(&deps.repos, &deps.policy, night(), 7)
        .await
        .unwrap();
    assert_eq!(dump(&store).await, before);
    let first: Vec<_> = rows
        .iter()
        .filter(|r| r.day == night())
        .map(|r| (r.vin.clone(), r.stage, r.send_at))
        .collect();
    assert!(!first.is_empty());
    assert!(rows
        .iter()
        .all(|r| r.customer_id == "C-1001" && r.channel == "telegram"));

    let shard = app::plan_night(night(), 1).shards.remove(0);
    let budget = ShardBudget {
        page_size: 100,
        max_pages: 10,
    };
    let report = run_shard(&deps.repos, &deps.policy, &shard, budget)
        .await
        .unwrap();
    let bodies: Vec<String> = report.evaluate.iter().map(|m| m.to_json()).collect();
    let evaluated_at = night()
        .and_time(NIGHT_RUN_LOCAL)
        .and_local_timezone(deps.policy.time_zone())
        .unwrap()
        .to_utc();
    let response = handle(&deps, sqs_event(&bodies), evaluated_at).await;
    assert!(response.batch_item_failures.is_empty());
    let mut first = first;
    first.sort();
    assert_eq!(composed(&deps), first);
}
