//! The evaluator on the embedded store with SQS event payloads.

use app::messages::{ComposeOffer, EvaluateVehicle};
use app::ports::Collected;
use chrono::{DateTime, NaiveDate, Utc};
use domain::policy::Policy;
use lambda_support::aws_lambda_events::sqs::SqsEvent;
use store::repo::Repos;
use store::RedbStore;
use trigger_evaluator::{handle, Deps};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn sqs_event(bodies: &[(&str, String)]) -> SqsEvent {
    let records: Vec<serde_json::Value> = bodies
        .iter()
        .map(|(id, body)| {
            serde_json::json!({
                "messageId": id, "receiptHandle": format!("rh-{id}"), "body": body,
                "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:autodrive-dev-evaluate",
                "awsRegion": "eu-central-1"
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
}

async fn deps(dir: &tempfile::TempDir) -> Deps<RedbStore, Collected> {
    let repos = Repos::new(RedbStore::open(dir.path().join("store.redb")).unwrap());
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

fn evaluate(vin: &str) -> String {
    EvaluateVehicle::V1 {
        run_date: NaiveDate::from_ymd_opt(2027, 11, 1).unwrap(),
        vin: vin.into(),
    }
    .to_json()
}

#[tokio::test]
async fn a_due_car_is_passed_to_the_composer_once_and_bad_records_do_not_block_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let deps = deps(&dir).await;
    // The forecast as the night of 1 November 2027 leaves it.
    let vehicle = deps
        .repos
        .vehicles
        .get::<domain::Vehicle>("XW7BE40K70S025476")
        .await
        .unwrap()
        .unwrap();
    app::forecast_vehicle(
        &deps.repos,
        &deps.policy,
        &vehicle.vehicle,
        NaiveDate::from_ymd_opt(2027, 11, 1).unwrap(),
    )
    .await
    .unwrap();
    let now = at("2027-11-01T10:00:00+03:00");
    let event = sqs_event(&[
        ("m1", evaluate("XW7BE40K70S025476")),
        ("m2", "not json".into()),
        ("m3", r#"{"v":"9","vin":"X"}"#.into()),
        ("m4", evaluate("XW7BE40K70S999999")),
    ]);
    let response = handle(&deps, event, now).await;
    assert!(response.batch_item_failures.is_empty());
    let composed: Vec<ComposeOffer> = deps
        .compose
        .take()
        .iter()
        .map(|b| ComposeOffer::from_json(b).unwrap())
        .collect();
    assert!(!composed.is_empty());
    assert!(composed
        .iter()
        .all(|ComposeOffer::V1 { vin, .. }| vin == "XW7BE40K70S025476"));

    let replay = sqs_event(&[("m1", evaluate("XW7BE40K70S025476"))]);
    let response = handle(&deps, replay, now).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(deps.compose.take().is_empty());
}

/// A compose queue that is down.
struct Down;

impl app::ports::Outbound for Down {
    async fn send(&self, _bodies: Vec<String>) -> anyhow::Result<()> {
        anyhow::bail!("queue unavailable")
    }
}

#[tokio::test]
async fn a_record_whose_messages_cannot_be_queued_is_retried_and_decided_again() {
    let dir = tempfile::tempdir().unwrap();
    let ok = deps(&dir).await;
    let vehicle = ok
        .repos
        .vehicles
        .get::<domain::Vehicle>("XW7BE40K70S025476")
        .await
        .unwrap()
        .unwrap();
    app::forecast_vehicle(
        &ok.repos,
        &ok.policy,
        &vehicle.vehicle,
        NaiveDate::from_ymd_opt(2027, 11, 1).unwrap(),
    )
    .await
    .unwrap();
    let down = Deps {
        repos: ok.repos.clone(),
        policy: Policy::default(),
        compose: Down,
        events: app::Events::none(),
    };
    let now = at("2027-11-01T10:00:00+03:00");
    let event = || sqs_event(&[("m1", evaluate("XW7BE40K70S025476"))]);
    let response = handle(&down, event(), now).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, vec!["m1".to_string()]);

    let response = handle(&ok, event(), now).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(!ok.compose.take().is_empty(), "the retry decides again");
}
