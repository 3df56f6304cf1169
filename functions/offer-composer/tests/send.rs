//! The composer on the embedded store, sending to the fake Bot API.

use std::sync::Mutex;

use app::messages::ComposeOffer;
use channels::fake_telegram::FakeTelegram;
use channels::TelegramBot;
use chrono::{DateTime, Utc};
use domain::policy::Policy;
use lambda_support::aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use offer_composer::{handle, Deps, Postpone};
use store::repo::Repos;
use store::RedbStore;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

#[derive(Default)]
struct Postponed(Mutex<Vec<(String, i32)>>);

impl Postpone for Postponed {
    async fn postpone(&self, record: &SqsMessage, seconds: i32) -> anyhow::Result<()> {
        self.0
            .lock()
            .unwrap()
            .push((record.message_id.clone().unwrap_or_default(), seconds));
        Ok(())
    }
}

fn sqs_event(bodies: &[String]) -> SqsEvent {
    let records: Vec<serde_json::Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            serde_json::json!({
                "messageId": format!("m{i}"), "receiptHandle": format!("rh-{i}"), "body": body,
                "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:autodrive-dev-compose",
                "awsRegion": "eu-central-1"
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
}

/// A stored visit, the night of 1 November 2027 and its decisions.
async fn decided(repos: &Repos<RedbStore>, policy: &Policy) -> Vec<String> {
    let evaluation =
        app::fixtures::example_visit_evaluated(repos, policy, at("2027-11-01T01:00:05+03:00"))
            .await
            .unwrap();
    app::commit_evaluation(repos, &evaluation).await.unwrap();
    evaluation
        .compose
        .iter()
        .map(ComposeOffer::to_json)
        .collect()
}

#[tokio::test]
async fn a_reminder_decided_at_night_waits_for_the_morning_then_goes_out_once_with_a_booking_button(
) {
    let dir = tempfile::tempdir().unwrap();
    let repos = Repos::new(RedbStore::open(dir.path().join("store.redb")).unwrap());
    let policy = Policy::default();
    let bodies = decided(&repos, &policy).await;
    assert!(!bodies.is_empty());
    let telegram = FakeTelegram::start("42:TOKEN").unwrap();
    let deps = Deps {
        repos,
        policy,
        channel: channels::Channels {
            telegram: Some(TelegramBot::new(telegram.base_url(), "42:TOKEN")),
            ..Default::default()
        },
        compose: Default::default(),
        postpone: Postponed::default(),
        events: app::Events::none(),
    };

    let night = handle(
        &deps,
        sqs_event(&bodies),
        "req-1",
        at("2027-11-01T01:00:10+03:00"),
    )
    .await;
    assert_eq!(night.batch_item_failures.len(), bodies.len());
    let postponed = deps.postpone.0.lock().unwrap().clone();
    assert_eq!(postponed.len(), bodies.len());
    assert!(postponed.iter().all(|(_, s)| (28_780..=28_800).contains(s)));
    assert!(telegram.calls().is_empty());

    let morning = at("2027-11-01T09:00:30+03:00");
    let sent = handle(&deps, sqs_event(&bodies), "req-2", morning).await;
    assert!(sent.batch_item_failures.is_empty());
    let calls = telegram.calls();
    assert_eq!(calls.len(), bodies.len());
    let reminder = &calls[0].body;
    assert_eq!(reminder["chat_id"], 5550001);
    assert!(reminder["text"].as_str().unwrap().starts_with("Михаил"));
    let button = &reminder["reply_markup"]["inline_keyboard"][0][0];
    assert_eq!(button["text"], "Записаться");
    assert!(button["callback_data"]
        .as_str()
        .unwrap()
        .starts_with("book:o"));

    let again = handle(&deps, sqs_event(&bodies), "req-3", morning).await;
    assert!(again.batch_item_failures.is_empty());
    assert_eq!(telegram.calls().len(), bodies.len(), "nothing sent twice");
    assert!(telegram.rejected().is_empty());
}
