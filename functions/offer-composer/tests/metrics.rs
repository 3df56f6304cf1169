//! The metric lines `offer_composer::handle` writes: a message sent counts `MessagesSent`, a
//! message the messenger refused counts `SendFailures`, each by stage and channel.

use app::messages::ComposeOffer;
use channels::fake_telegram::FakeTelegram;
use channels::{Channels, TelegramBot};
use chrono::{DateTime, Utc};
use domain::policy::Policy;
use lambda_support::aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use lambda_support::metrics::capture;
use offer_composer::{handle, Deps, Postpone};
use serde_json::Value;
use store::repo::Repos;
use store::RedbStore;

const TOKEN: &str = "42:TOKEN";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

struct NoPostpone;

impl Postpone for NoPostpone {
    async fn postpone(&self, _: &SqsMessage, _: i32) -> anyhow::Result<()> {
        anyhow::bail!("nothing is postponed in the morning")
    }
}

fn sqs_event(bodies: &[String]) -> SqsEvent {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            serde_json::json!({
                "messageId": format!("m{i}"), "receiptHandle": format!("rh-{i}"), "body": body,
                "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:autodrive-dev-compose",
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
}

/// The example visit decided on 1 November 2027, its first message, and a composer sending to
/// the fake Bot API with `token`.
async fn rig(
    dir: &tempfile::TempDir,
    telegram: &FakeTelegram,
    token: &str,
) -> (Deps<RedbStore, Channels, NoPostpone>, String) {
    let repos = Repos::new(RedbStore::open(dir.path().join("store.redb")).unwrap());
    let policy = Policy::default();
    let evaluation =
        app::fixtures::example_visit_evaluated(&repos, &policy, at("2027-11-01T01:00:05+03:00"))
            .await
            .unwrap();
    app::commit_evaluation(&repos, &evaluation).await.unwrap();
    let body = evaluation.compose[0].to_json();
    let deps = Deps {
        repos,
        policy,
        channel: Channels {
            telegram: Some(TelegramBot::new(telegram.base_url(), token)),
            ..Default::default()
        },
        compose: Default::default(),
        postpone: NoPostpone,
        events: app::Events::none(),
    };
    (deps, body)
}

fn stage_of(body: &str) -> &'static str {
    let ComposeOffer::V1 { stage, .. } = ComposeOffer::from_json(body).unwrap();
    stage.as_str()
}

/// The one line written, checked to be EMF in the Autodrive namespace.
fn only_line(lines: &[String]) -> Value {
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line: Value = serde_json::from_str(&lines[0]).unwrap();
    let directive = &line["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "Autodrive");
    for metric in directive["Metrics"].as_array().unwrap() {
        assert!(line[metric["Name"].as_str().unwrap()].is_number(), "{line}");
    }
    for name in directive["Dimensions"][0].as_array().unwrap() {
        assert!(line[name.as_str().unwrap()].is_string(), "{line}");
    }
    assert_eq!(directive["Dimensions"][1], serde_json::json!([]));
    line
}

#[tokio::test]
async fn offer_composer_handle_counts_a_message_sent_by_stage_and_channel() {
    let dir = tempfile::tempdir().unwrap();
    let telegram = FakeTelegram::start(TOKEN).unwrap();
    let (deps, body) = rig(&dir, &telegram, TOKEN).await;
    let morning = at("2027-11-01T09:00:30+03:00");

    let (response, lines) = capture(handle(
        &deps,
        sqs_event(std::slice::from_ref(&body)),
        "req-1",
        morning,
    ))
    .await;

    assert!(response.batch_item_failures.is_empty());
    assert_eq!(telegram.calls().len(), 1);
    let line = only_line(&lines);
    assert_eq!(line["MessagesSent"], 1);
    assert!(line.get("SendFailures").is_none());
    assert_eq!(line["Stage"], stage_of(&body));
    assert_eq!(line["Channel"], "telegram");
    assert!(!lines[0].contains("C-1001") && !lines[0].contains("5550001"));

    let (_, again) = capture(handle(&deps, sqs_event(&[body]), "req-2", morning)).await;
    assert!(
        again.is_empty(),
        "a message sent before is not counted again"
    );
}

#[tokio::test]
async fn offer_composer_handle_counts_a_message_the_messenger_refused_as_a_send_failure() {
    let dir = tempfile::tempdir().unwrap();
    let telegram = FakeTelegram::start(TOKEN).unwrap();
    let (deps, body) = rig(&dir, &telegram, "42:WRONG").await;

    let (response, lines) = capture(handle(
        &deps,
        sqs_event(std::slice::from_ref(&body)),
        "req-1",
        at("2027-11-01T09:00:30+03:00"),
    ))
    .await;

    assert_eq!(response.batch_item_failures.len(), 1, "retried");
    let line = only_line(&lines);
    assert_eq!(line["SendFailures"], 1);
    assert!(line.get("MessagesSent").is_none());
    assert_eq!(line["Stage"], stage_of(&body));
    assert_eq!(line["Channel"], "telegram");
}
