//! OfferSent from the composer: one per message sent, the same id again for a redelivered
//! message found sent, each valid against its schema, and a bus that refuses it makes the
//! record a batch failure (retried).

use app::events::{BusinessEvent, CollectedEvents};
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

struct NoPostpone;

impl Postpone for NoPostpone {
    async fn postpone(&self, _: &SqsMessage, _: i32) -> anyhow::Result<()> {
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

#[tokio::test]
async fn each_message_sent_publishes_offer_sent_and_a_redelivery_the_same_id() {
    let dir = tempfile::tempdir().unwrap();
    let repos = Repos::new(RedbStore::open(dir.path().join("store.redb")).unwrap());
    let policy = Policy::default();
    let evaluation =
        app::fixtures::example_visit_evaluated(&repos, &policy, at("2027-11-01T01:00:05+03:00"))
            .await
            .unwrap();
    app::commit_evaluation(&repos, &evaluation).await.unwrap();
    let bodies: Vec<String> = evaluation
        .compose
        .iter()
        .map(ComposeOffer::to_json)
        .collect();
    assert!(!bodies.is_empty());
    let telegram = FakeTelegram::start("42:TOKEN").unwrap();
    let mut deps = Deps {
        repos,
        policy,
        channel: channels::Channels {
            telegram: Some(TelegramBot::new(telegram.base_url(), "42:TOKEN")),
            ..Default::default()
        },
        compose: Default::default(),
        postpone: NoPostpone,
        events: app::Events::new(app::events::RefusingEvents),
    };
    let morning = at("2027-11-01T09:00:30+03:00");

    let refused = handle(&deps, sqs_event(&bodies), "req-1", morning).await;
    assert_eq!(refused.batch_item_failures.len(), bodies.len());
    assert_eq!(
        telegram.calls().len(),
        bodies.len(),
        "sent, then the publish failed"
    );

    let events = CollectedEvents::default();
    deps.events = app::Events::new(events.clone());
    let retried = handle(&deps, sqs_event(&bodies), "req-2", morning).await;
    assert!(retried.batch_item_failures.is_empty());
    assert_eq!(telegram.calls().len(), bodies.len(), "nothing sent twice");
    let first = events.take();
    assert_eq!(first.len(), bodies.len());
    for (event, message) in first.iter().zip(&evaluation.compose) {
        let ComposeOffer::V1 { offer_id, .. } = message;
        assert_eq!(event.name(), "OfferSent");
        assert_eq!(event.detail()["offer_id"], offer_id.as_str());
        assert_eq!(app::event_schemas::errors(event), Vec::<String>::new());
    }
    handle(&deps, sqs_event(&bodies), "req-3", morning).await;
    let again = events.take();
    let ids = |events: &[BusinessEvent]| {
        events
            .iter()
            .map(|e| e.event_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&again), ids(&first));
}
