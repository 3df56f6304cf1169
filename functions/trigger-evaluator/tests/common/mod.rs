//! What the evaluator's tests share: instants, SQS batches, and a world of the embedded store
//! with the trigger-evaluator and offer-composer handlers over a fake Telegram Bot API.

#![allow(dead_code)]

use app::messages::{ComposeOffer, EvaluateVehicle};
use app::ports::Collected;
use channels::fake_telegram::FakeTelegram;
use channels::TelegramBot;
use chrono::{DateTime, NaiveDate, Utc};
use domain::policy::Policy;
use lambda_support::aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use store::repo::Repos;
use store::RedbStore;

/// An RFC 3339 instant.
pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// A `YYYY-MM-DD` day.
pub fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// An SQS batch with one record per body.
pub fn sqs_event(bodies: &[String]) -> SqsEvent {
    let records: Vec<serde_json::Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            serde_json::json!({
                "messageId": format!("m{i}"), "receiptHandle": format!("rh-{i}"), "body": body,
                "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:autodrive-dev-queue",
                "awsRegion": "eu-central-1"
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
}

/// A composer that never needs to postpone here (every message is composed at its time).
pub struct NoPostpone;

impl offer_composer::Postpone for NoPostpone {
    async fn postpone(&self, _: &SqsMessage, _: i32) -> anyhow::Result<()> {
        Ok(())
    }
}

/// The store, the policy, both handlers and the fake Bot API they send through.
pub struct World {
    pub repos: Repos<RedbStore>,
    pub policy: Policy,
    pub evaluator: trigger_evaluator::Deps<RedbStore, Collected>,
    pub composer: offer_composer::Deps<RedbStore, channels::Channels, NoPostpone>,
    pub telegram: FakeTelegram,
    _dir: tempfile::TempDir,
}

impl World {
    /// A world in which `visit` (a visits-contract body) was recorded at `recorded_at`, as
    /// ingest-visit records it.
    pub async fn with_visit(visit: &[u8], recorded_at: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        let repos = Repos::new(RedbStore::open(dir.path().join("store.redb")).unwrap());
        let policy = Policy::default();
        app::record_visit(&repos, &policy, visit, at(recorded_at))
            .await
            .unwrap();
        let telegram = FakeTelegram::start("42:TOKEN").unwrap();
        World {
            evaluator: trigger_evaluator::Deps {
                repos: repos.clone(),
                policy: policy.clone(),
                compose: Collected::default(),
                events: app::Events::none(),
            },
            composer: offer_composer::Deps {
                repos: repos.clone(),
                policy: policy.clone(),
                channel: channels::Channels {
                    telegram: Some(TelegramBot::new(telegram.base_url(), "42:TOKEN")),
                    ..Default::default()
                },
                compose: Default::default(),
                postpone: NoPostpone,
                events: app::Events::none(),
            },
            repos,
            policy,
            telegram,
            _dir: dir,
        }
    }

    /// The night's forecast of `vin`, then the evaluator's batch for it at `now`; the compose
    /// messages it queued.
    pub async fn night(&self, vin: &str, night: &str, now: &str) -> Vec<ComposeOffer> {
        let vehicle = self
            .repos
            .vehicles
            .get::<domain::Vehicle>(vin)
            .await
            .unwrap()
            .unwrap();
        app::forecast_vehicle(&self.repos, &self.policy, &vehicle.vehicle, day(night))
            .await
            .unwrap();
        let body = EvaluateVehicle::V1 {
            run_date: day(night),
            vin: vin.into(),
        }
        .to_json();
        let response =
            trigger_evaluator::handle(&self.evaluator, sqs_event(&[body]), at(now)).await;
        assert!(response.batch_item_failures.is_empty());
        self.evaluator
            .compose
            .take()
            .iter()
            .map(|b| ComposeOffer::from_json(b).unwrap())
            .collect()
    }

    /// The composer's batch of `messages` at `now`.
    pub async fn compose(&self, messages: &[ComposeOffer], now: &str) {
        let bodies: Vec<String> = messages.iter().map(ComposeOffer::to_json).collect();
        let response =
            offer_composer::handle(&self.composer, sqs_event(&bodies), "req", at(now)).await;
        assert!(response.batch_item_failures.is_empty());
    }
}
