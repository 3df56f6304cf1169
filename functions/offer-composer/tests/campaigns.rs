//! An offer rule switched off on the composer's batch path: the offer is priced without it.

use app::compose::OfferRecord;
use app::messages::{offer_id, ComposeOffer};
use channels::fake_telegram::FakeTelegram;
use channels::TelegramBot;
use chrono::{DateTime, NaiveDate, Utc};
use domain::policy::Policy;
use domain::triggers::{Reason, Stage};
use lambda_support::aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use offer_composer::{handle, Deps, Postpone};
use store::repo::Repos;
use store::RedbStore;

const VIN: &str = "XW7BE40K70S025476";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

struct Never;

impl Postpone for Never {
    async fn postpone(&self, _record: &SqsMessage, _seconds: i32) -> anyhow::Result<()> {
        anyhow::bail!("nothing is postponed here")
    }
}

fn sqs_event(body: String) -> SqsEvent {
    serde_json::from_value(serde_json::json!({ "Records": [{
        "messageId": "m0", "receiptHandle": "rh-0", "body": body,
        "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:autodrive-dev-compose",
        "awsRegion": "eu-central-1"
    }]}))
    .unwrap()
}

fn personal_offer(cycle_id: &str, now: DateTime<Utc>) -> ComposeOffer {
    let due = NaiveDate::from_ymd_opt(2027, 11, 12).unwrap();
    ComposeOffer::V1 {
        offer_id: offer_id(VIN, cycle_id, Stage::PersonalOffer),
        vin: VIN.into(),
        customer_id: "C-1001".into(),
        cycle_id: cycle_id.into(),
        stage: Stage::PersonalOffer,
        reason: Reason::DueSoon { due, days_left: 7 },
        send_at: now,
    }
}

async fn rules_priced(
    deps: &Deps<RedbStore, channels::Channels, Never>,
    cycle_id: &str,
) -> Vec<String> {
    let now = at("2027-11-05T10:00:00+03:00");
    let message = personal_offer(cycle_id, now);
    let response = handle(deps, sqs_event(message.to_json()), "req", now).await;
    assert!(response.batch_item_failures.is_empty());
    let ComposeOffer::V1 { offer_id, .. } = message;
    let stored = deps
        .repos
        .offers
        .get::<OfferRecord>(&offer_id)
        .await
        .unwrap()
        .unwrap();
    stored.offer.priced.unwrap().rule_ids
}

/// The example customer's visit evaluated on 5 November 2027 on a fresh store, and the
/// composer's dependencies sending through a fake Bot API.
async fn evaluated() -> (
    tempfile::TempDir,
    FakeTelegram,
    Deps<RedbStore, channels::Channels, Never>,
) {
    let dir = tempfile::tempdir().unwrap();
    let repos = Repos::new(RedbStore::open(dir.path().join("store.redb")).unwrap());
    let policy = Policy::default();
    app::fixtures::example_visit_evaluated(&repos, &policy, at("2027-11-05T01:00:00+03:00"))
        .await
        .unwrap();
    let telegram = FakeTelegram::start("42:TOKEN").unwrap();
    let deps = Deps {
        repos,
        policy,
        channel: channels::Channels {
            telegram: Some(TelegramBot::new(telegram.base_url(), "42:TOKEN")),
            ..Default::default()
        },
        compose: Default::default(),
        postpone: Never,
        events: app::Events::none(),
    };
    (dir, telegram, deps)
}

#[tokio::test]
async fn an_offer_rule_switched_off_is_left_out_of_the_next_offer_and_back_on_it_applies_again() {
    let (_dir, _telegram, deps) = evaluated().await;
    let first = rules_priced(&deps, "c1").await;
    let rule = first[0].clone();
    assert!(deps.policy.offers().iter().any(|r| r.id == rule));

    let now = at("2027-11-05T09:00:00+03:00");
    app::campaigns::switch(&deps.repos, &deps.policy, &rule, false, "anna", now)
        .await
        .unwrap();
    let off = rules_priced(&deps, "c2").await;
    assert!(!off.contains(&rule), "{off:?}");

    app::campaigns::switch(&deps.repos, &deps.policy, &rule, true, "anna", now)
        .await
        .unwrap();
    assert_eq!(rules_priced(&deps, "c3").await[0], rule);
}

/// A stage switched off after the night queued its message (it waited for the end of the quiet
/// hours) sends nothing when the message comes back; switched on again, the next one goes.
#[tokio::test]
async fn a_stage_switched_off_after_its_message_was_queued_sends_nothing() {
    let (_dir, telegram, deps) = evaluated().await;
    let now = at("2027-11-05T10:00:00+03:00");
    let stage = Stage::PersonalOffer.as_str();
    app::campaigns::switch(&deps.repos, &deps.policy, stage, false, "anna", now)
        .await
        .unwrap();
    let queued = personal_offer("c1", now);
    let response = handle(&deps, sqs_event(queued.to_json()), "req", now).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(telegram.calls().is_empty(), "{:?}", telegram.calls());

    app::campaigns::switch(&deps.repos, &deps.policy, stage, true, "anna", now)
        .await
        .unwrap();
    let next = personal_offer("c2", now);
    let response = handle(&deps, sqs_event(next.to_json()), "req", now).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(telegram.calls().len(), 1);
}
