//! The dealer's policy in force everywhere, as deployed: a non-default `policy.toml` (a longer
//! reminder lead, other quiet hours, a deeper labour discount, a longer hold) is read the way
//! every function's cold start reads `POLICY_FILE`, and on moto_server it decides which car the
//! night queues and reminds, when the messages leave the compose queue, what the offer costs and
//! how long the advisor has to confirm; the same night on the repository's `policy.toml` does
//! none of that.

mod common;

use app::compose::OfferRecord;
use app::messages::ComposeOffer;
use chrono::Datelike;
use common::{day, Stack, ADVISOR_CHAT};
use domain::policy::Policy;
use domain::triggers::{CriticalReason, Reason, Stage};
use serde_json::Value;

const ROOT_POLICY: &str = include_str!("../../../policy.toml");

/// Due on 20 July 2027 (12 months after its last maintenance, at a low mileage): 35 days after
/// the night.
const DUE_SOON_VIN: &str = "XW7BE40K70S025101";
const DUE_SOON_CHAT: i64 = 6_100_001;
/// Due on 1 April 2027: 75 days overdue on the night, its owner `sleeping`, the car 4 years old.
const OVERDUE_VIN: &str = "XW7BE40K70S025102";
const OVERDUE_CHAT: i64 = 6_100_002;

/// The repository's policy with other values for the reminder lead, the quiet hours, the
/// discount of the rule for 3-5-year-old cars of sleeping customers and the hold time.
fn custom_policy_toml() -> String {
    let mut text = ROOT_POLICY.to_owned();
    for (from, to) in [
        (
            "soft_reminder_days_before_due = 30",
            "soft_reminder_days_before_due = 40",
        ),
        (
            "quiet_hours_from = \"21:00\"",
            "quiet_hours_from = \"22:00\"",
        ),
        ("quiet_hours_to = \"09:00\"", "quiet_hours_to = \"10:30\""),
        (
            "statuses = [\"sleeping\", \"lost\"]\nlabor_discount_percent = 20",
            "statuses = [\"sleeping\", \"lost\"]\nlabor_discount_percent = 35",
        ),
        ("hold_minutes = 30", "hold_minutes = 45"),
    ] {
        assert_eq!(
            text.matches(from).count(),
            1,
            "policy.toml has {from:?} once"
        );
        text = text.replace(from, to);
    }
    text
}

/// Writes `text` where a layer would put it and reads it as the cold start does.
fn deployed_policy(name: &str, text: &str) -> Policy {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("policy-e2e");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    lambda_support::policy_from_file(path.to_str().unwrap()).expect("the policy file loads")
}

fn visit(
    work_order: &str,
    vin: &str,
    closed_at: &str,
    km: u32,
    customer: (&str, &str, &str, i64),
    registered: &str,
) -> Value {
    let mut visit = app::fixtures::visit(work_order, vin, closed_at, km);
    let (id, name, phone, chat) = customer;
    visit["customer"]["id"] = id.into();
    visit["customer"]["first_name"] = name.into();
    visit["customer"]["phone"] = phone.into();
    visit["customer"]["telegram_chat_id"] = chat.into();
    visit["vehicle"]["first_registration"] = registered.into();
    let registered = day(registered);
    visit["vehicle"]["warranty_until"] = registered
        .with_year(registered.year() + 3)
        .unwrap()
        .to_string()
        .into();
    visit
}

/// What one night on a stack did, and the messages it decided.
struct Night {
    queued: u64,
    composed: Vec<ComposeOffer>,
}

impl Night {
    fn of(&self, vin: &str) -> Vec<&ComposeOffer> {
        self.composed
            .iter()
            .filter(|ComposeOffer::V1 { vin: v, .. }| v == vin)
            .collect()
    }
}

async fn one_night(stack: &Stack) -> Night {
    for v in [
        visit(
            "P-0001",
            DUE_SOON_VIN,
            "2026-07-20T11:00:00+03:00",
            20_000,
            ("C-2001", "Анна", "+79160000001", DUE_SOON_CHAT),
            "2023-03-01",
        ),
        visit(
            "P-0002",
            OVERDUE_VIN,
            "2026-04-01T11:00:00+03:00",
            22_000,
            ("C-2002", "Борис", "+79160000002", OVERDUE_CHAT),
            "2023-02-01",
        ),
    ] {
        let (status, answer) = stack
            .post_visit(&v, stack.local(day("2027-06-14"), "12:00:00"))
            .await;
        assert_eq!(status, 201, "{answer}");
    }
    let night = stack.nightly(day("2027-06-15")).await;
    let evaluated = stack
        .evaluate_all(stack.local(day("2027-06-15"), "01:00:05"))
        .await;
    assert_eq!(evaluated.failures(), 0);
    assert_eq!(evaluated.bodies.len() as u64, night.queued);
    // A look at the compose queue: every message received, then handed back at once.
    let mut peeked = Vec::new();
    while let Some(event) = stack.receive(&stack.compose).await {
        peeked.push(event);
    }
    let mut composed = Vec::new();
    for event in &peeked {
        composed.extend(
            event
                .records
                .iter()
                .map(|r| ComposeOffer::from_json(r.body.as_deref().unwrap()).unwrap()),
        );
        stack.make_visible(&stack.compose, event).await;
    }
    Night {
        queued: night.queued,
        composed,
    }
}

fn send_at_of(message: &ComposeOffer) -> chrono::DateTime<chrono::Utc> {
    let ComposeOffer::V1 { send_at, .. } = message;
    *send_at
}

fn stage_of(message: &ComposeOffer) -> Stage {
    let ComposeOffer::V1 { stage, .. } = message;
    *stage
}

fn offer_id_of(message: &ComposeOffer) -> String {
    let ComposeOffer::V1 { offer_id, .. } = message;
    offer_id.clone()
}

fn texts_to(stack: &Stack, chat: i64) -> Vec<String> {
    stack
        .telegram
        .calls()
        .iter()
        .filter(|c| c.method == "sendMessage" && c.body["chat_id"] == chat)
        .map(|c| c.body["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployed_non_default_policy_sets_the_reminder_lead_the_quiet_hours_the_discount_and_the_hold_everywhere(
) {
    let custom = deployed_policy("custom.toml", &custom_policy_toml());
    let default = deployed_policy("policy.toml", ROOT_POLICY);
    assert_eq!(default.triggers().soft_reminder_days_before_due, 30);
    assert_eq!(
        default.contact().quiet_to,
        chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap()
    );
    assert_eq!(default.workshop().hold_minutes, 30);
    assert_eq!(custom.triggers().soft_reminder_days_before_due, 40);
    assert_eq!(
        custom.contact().quiet_to,
        chrono::NaiveTime::from_hms_opt(10, 30, 0).unwrap()
    );
    assert_eq!(custom.workshop().hold_minutes, 45);
    let offered = domain::CustomerId::parse("C-2002").unwrap();
    assert!(
        !domain::contact::in_control_group(&offered, custom.contact().control_group),
        "the customer of the offer gets marketing"
    );
    let clock = common::at("2027-06-01T00:00:00+03:00");
    let deployed = Stack::deploy("policy-custom", custom, clock).await;
    let stock = Stack::deploy("policy-default", default, clock).await;
    let night = day("2027-06-15");

    // The night: the custom lead (40 days) queues and reminds the car due in 35 days; the
    // default lead (30 days) leaves it alone. Both find the overdue car critical.
    let custom_night = one_night(&deployed).await;
    let default_night = one_night(&stock).await;
    assert_eq!((custom_night.queued, default_night.queued), (2, 1));
    let reminder = custom_night.of(DUE_SOON_VIN);
    assert_eq!(reminder.len(), 1, "{:?}", custom_night.composed);
    assert_eq!(stage_of(reminder[0]), Stage::SoftReminder);
    let ComposeOffer::V1 { reason, .. } = reminder[0];
    assert_eq!(
        *reason,
        Reason::DueSoon {
            due: day("2027-07-20"),
            days_left: 35
        }
    );
    assert!(default_night.of(DUE_SOON_VIN).is_empty());
    for night_of in [&custom_night, &default_night] {
        let critical = night_of.of(OVERDUE_VIN);
        assert_eq!(critical.len(), 1);
        assert_eq!(stage_of(critical[0]), Stage::CriticalOffer);
        let ComposeOffer::V1 { reason, .. } = critical[0];
        assert!(matches!(
            reason,
            Reason::Critical(CriticalReason::Overdue {
                days_overdue: 75,
                ..
            })
        ));
    }

    // Decided at 01:00, each goes out when the quiet hours end: 10:30 here, 09:00 by default.
    let quiet_end = deployed.local(night, "10:30:00");
    for message in &custom_night.composed {
        assert_eq!(send_at_of(message), quiet_end);
    }
    for message in &default_night.composed {
        assert_eq!(send_at_of(message), stock.local(night, "09:00:00"));
    }
    let sent = stock.compose_all(stock.local(night, "09:00:30")).await;
    assert_eq!((sent.bodies.len(), sent.failures()), (1, 0));
    let early = deployed
        .compose_all(deployed.local(night, "09:00:30"))
        .await;
    assert_eq!(
        (early.bodies.len(), early.failures()),
        (2, 2),
        "still quiet at 09:00: both handed back to the queue"
    );
    assert!(deployed.telegram.calls().is_empty());
    assert!(
        deployed.receive(&deployed.compose).await.is_none(),
        "postponed on the queue until 10:30"
    );
    // 89 minutes later (the visibility the composer set runs out at once here).
    for failed in &early.failed {
        deployed.make_visible(&deployed.compose, failed).await;
    }
    let just_before = deployed
        .compose_all(deployed.local(night, "10:29:59"))
        .await;
    assert_eq!((just_before.bodies.len(), just_before.failures()), (2, 2));
    assert!(deployed.telegram.calls().is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let on_time = deployed.compose_all(quiet_end).await;
    assert_eq!((on_time.bodies.len(), on_time.failures()), (2, 0));
    assert_eq!(deployed.dead_letters(&deployed.compose).await, 0);

    let reminder_text = texts_to(&deployed, DUE_SOON_CHAT);
    assert_eq!(reminder_text.len(), 1);
    assert!(
        reminder_text[0].starts_with(
            "Анна, через 35 дней (20.07.2027) вашему Toyota Camry пора на плановое ТО."
        ),
        "{}",
        reminder_text[0]
    );
    assert!(texts_to(&stock, DUE_SOON_CHAT).is_empty());

    // The priced offer carries the policy's discount: 35 % off labour here, 20 % by default.
    for (stack, percent, sent_at, list, price) in [
        (&deployed, 35, quiet_end, "7 700", "5 425"),
        (&stock, 20, stock.local(night, "09:00:30"), "7 700", "6 400"),
    ] {
        let texts = texts_to(stack, OVERDUE_CHAT);
        assert_eq!(texts.len(), 1);
        let expected = format!(
            "Скидка {percent} % на работы: {}\u{a0}₽ вместо {}\u{a0}₽.",
            price.replace(' ', "\u{a0}"),
            list.replace(' ', "\u{a0}")
        );
        assert!(texts[0].contains(&expected), "{} / {expected}", texts[0]);
        let composed = if percent == 35 {
            &custom_night
        } else {
            &default_night
        };
        let offer_id = offer_id_of(composed.of(OVERDUE_VIN)[0]);
        let offer = stack
            .repos
            .offers
            .get::<OfferRecord>(&offer_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(offer.sent_at, Some(sent_at));
        let priced = offer.offer.priced.expect("a priced offer");
        assert_eq!(priced.rule_ids[0], "wake-up-3-5");
        assert_eq!(
            priced.labor_discount_percent.normalize().to_string(),
            percent.to_string()
        );
    }

    // booking-webhook holds the slot for the policy's 45 minutes, on the custom offer's terms.
    let book = deployed
        .telegram
        .calls()
        .iter()
        .find(|c| c.body["chat_id"] == OVERDUE_CHAT)
        .and_then(|c| {
            c.body["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
                .as_str()
                .map(str::to_owned)
        })
        .expect("the offer's booking button");
    let pressed = deployed.local(night, "11:00:00");
    assert_eq!(deployed.press(OVERDUE_CHAT, &book, pressed).await, 200);
    let slot = last_button(&deployed, OVERDUE_CHAT);
    assert!(slot.contains(":2027-06-16:09:00"), "{slot}");
    assert_eq!(deployed.press(OVERDUE_CHAT, &slot, pressed).await, 200);
    let advisor = texts_to(&deployed, ADVISOR_CHAT);
    assert_eq!(advisor.len(), 1);
    assert!(
        advisor[0].starts_with(&format!(
            "Новая запись на 16.06 09:00, автомобиль {OVERDUE_VIN}. Подтвердите до 11:45, иначе бронь снимется."
        )),
        "{}",
        advisor[0]
    );
    assert!(
        advisor[0].contains("скидка 35 % на работы"),
        "{}",
        advisor[0]
    );
    let confirm = last_button(&deployed, ADVISOR_CHAT);
    let in_time = deployed.local(night, "11:44:00");
    assert_eq!(deployed.press(ADVISOR_CHAT, &confirm, in_time).await, 200);
    let bookings = deployed
        .repos
        .capacity
        .bookings_of_customer::<Value>("C-2002")
        .await
        .unwrap();
    assert_eq!(bookings.len(), 1);
    assert_eq!(bookings[0].state, store::repo::BookingState::Confirmed);
    assert!(texts_to(&deployed, OVERDUE_CHAT)
        .last()
        .unwrap()
        .starts_with("Борис, ваша запись на 16.06 09:00 подтверждена."));
    assert!(deployed.telegram.rejected().is_empty());
    assert!(stock.telegram.rejected().is_empty());
}

/// The callback data of the first button of the latest message to `chat`.
fn last_button(stack: &Stack, chat: i64) -> String {
    stack
        .telegram
        .calls()
        .iter()
        .rev()
        .find(|c| c.method == "sendMessage" && c.body["chat_id"] == chat)
        .and_then(|c| c.body["reply_markup"]["inline_keyboard"][0][0]["callback_data"].as_str())
        .expect("a message with a button")
        .to_owned()
}
