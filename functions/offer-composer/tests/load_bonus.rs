//! The `load` bonus mode on offer-composer's path (`handle` → `compose_and_send` → pricing →
//! `app::incentives::place_bonus`): the bonus goes on the idlest days ahead, the message names
//! them, the slot picker (booking-webhook's use case) marks them, and once those days fill up
//! the next offer's bonus moves to other days.

use app::compose::OfferRecord;
use app::messages::{offer_id, ComposeOffer};
use app::ports::Address;
use app::{BookingSettings, MessengerUpdate, UpdateKind};
use channels::fake_telegram::FakeTelegram;
use channels::TelegramBot;
use chrono::{DateTime, NaiveDate, Utc};
use domain::policy::Policy;
use domain::triggers::{Reason, Stage};
use lambda_support::aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use offer_composer::{handle, Deps, Postpone};
use store::repo::{NewHold, Repos};
use store::RedbStore;

const VIN: &str = "XW7BE40K70S025476";
const CUSTOMER_CHAT: i64 = 5550001;

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

/// Sends cycle `cycle_id`'s personal offer at `now`; its stored priced offer and the text.
async fn offer(
    deps: &Deps<RedbStore, channels::Channels, Never>,
    telegram: &FakeTelegram,
    cycle_id: &str,
    now: DateTime<Utc>,
) -> (String, domain::pricing::Offer, String) {
    let id = offer_id(VIN, cycle_id, Stage::PersonalOffer);
    let message = ComposeOffer::V1 {
        offer_id: id.clone(),
        vin: VIN.into(),
        customer_id: "C-1001".into(),
        cycle_id: cycle_id.into(),
        stage: Stage::PersonalOffer,
        reason: Reason::DueSoon {
            due: NaiveDate::from_ymd_opt(2027, 11, 12).unwrap(),
            days_left: 7,
        },
        send_at: now,
    };
    let response = handle(deps, sqs_event(message.to_json()), "req", now).await;
    assert!(response.batch_item_failures.is_empty());
    let stored = deps
        .repos
        .offers
        .get::<OfferRecord>(&id)
        .await
        .unwrap()
        .unwrap();
    let text = telegram
        .calls()
        .iter()
        .rev()
        .find(|c| c.method == "sendMessage")
        .and_then(|c| c.body["text"].as_str().map(str::to_owned))
        .unwrap();
    (id, stored.offer.priced.unwrap(), text)
}

/// Every unit of `date`'s planned slots held by other customers.
async fn fill(repos: &Repos<RedbStore>, policy: &Policy, date: NaiveDate) {
    for (i, slot) in policy.workshop().slots_on(date).iter().enumerate() {
        repos
            .capacity
            .define_slot(date, &slot.start, slot.lifts)
            .await
            .unwrap();
        for unit in 0..slot.lifts {
            let booking_id = format!("other-{date}-{i}-{unit}");
            let held = repos
                .capacity
                .hold(&NewHold {
                    booking_id: &booking_id,
                    date,
                    start: &slot.start,
                    customer_id: "C-OTHER",
                    vin: "XTA21700000000001",
                    hold_until: at("2027-12-31T00:00:00+03:00"),
                    booking: &serde_json::json!({}),
                })
                .await
                .unwrap();
            assert_eq!(held, store::repo::HoldOutcome::Held);
        }
    }
}

#[tokio::test]
async fn the_bonus_goes_on_the_idle_days_and_moves_when_they_fill_up() {
    let dir = tempfile::tempdir().unwrap();
    let repos = Repos::new(RedbStore::open(dir.path().join("store.redb")).unwrap());
    let policy =
        Policy::from_toml("[pricing]\nbonus_mode = \"load\"\nload_bonus_days = 2\n").unwrap();
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
    let now = at("2027-11-05T10:00:00+03:00");
    // The example visit's work order opened the car's current cycle.
    let (first_id, first, text) = offer(&deps, &telegram, "A3C0001116", now).await;
    assert_eq!(first.bonus_dates.len(), 2, "{first:?}");
    assert!(first.weekday_bonus_days.is_empty());
    let named = domain::render::bonus_days_ru(&first).unwrap();
    assert!(
        text.contains(&format!("+500 бонусных баллов при записи на {named}")),
        "{text}"
    );
    for date in &first.bonus_dates {
        assert!(*date > now.date_naive() && *date <= now.date_naive() + chrono::Days::new(14));
    }

    // The picker marks exactly the bonus days.
    let update = MessengerUpdate {
        update_id: "u1".into(),
        from: Address::Telegram(CUSTOMER_CHAT),
        kind: UpdateKind::Callback {
            callback_id: None,
            data: format!("book:{first_id}"),
        },
    };
    let settings = BookingSettings {
        advisor_chat_id: -100777,
        max_slots_shown: 200,
    };
    let picker = app::handle_update(&deps.repos, &deps.policy, &settings, &update, now)
        .await
        .unwrap();
    let message = &picker.messages[0];
    assert!(
        message.text.contains("★ — +500 бонусных баллов"),
        "{}",
        message.text
    );
    let mut starred = 0;
    for button in message.buttons.iter().flatten() {
        let date: NaiveDate = button
            .callback_data
            .split(':')
            .nth(2)
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            button.text.ends_with(" ★"),
            first.bonus_dates.contains(&date),
            "{}",
            button.text
        );
        starred += usize::from(button.text.ends_with(" ★"));
    }
    assert!(starred > 0);

    // Other customers take every unit of those days: the next offer's bonus moves.
    for date in &first.bonus_dates {
        fill(&deps.repos, &deps.policy, *date).await;
    }
    let (_, second, _) = offer(&deps, &telegram, "c2", now).await;
    assert_eq!(second.bonus_dates.len(), 2);
    assert!(
        second
            .bonus_dates
            .iter()
            .all(|d| !first.bonus_dates.contains(d)),
        "{:?} then {:?}",
        first.bonus_dates,
        second.bonus_dates
    );

    // The advisors close the next idle day (/close in their chat): it has no lifts to fill,
    // so the bonus does not go there either.
    let closed = second.bonus_dates[0];
    assert!(deps.repos.capacity.close_day(closed).await.unwrap());
    let (_, third, _) = offer(&deps, &telegram, "c3", now).await;
    assert_eq!(third.bonus_dates.len(), 2);
    assert!(
        !third.bonus_dates.contains(&closed),
        "{closed} closed, yet {:?}",
        third.bonus_dates
    );
}
