//! What the conversation tests share: the embedded store with two customers and their cars,
//! offers to book from, and updates handled as the webhook handles them (each id once).
#![allow(dead_code, reason = "each test file uses a part of it")]

use std::sync::atomic::{AtomicU32, Ordering};

use app::booking::BookingRecord;
use app::ports::{Address, OutgoingMessage};
use app::{BookingSettings, MessengerUpdate, UpdateError, UpdateKind, UpdateReplies};
use chrono::{DateTime, NaiveDate, Utc};
use domain::policy::Policy;
use domain::triggers::{Reason, Stage};
use store::repo::{Booking, NewOffer, Repos};
use store::{RedbStore, TtlClock};

pub const MIKHAIL: i64 = 5550001;
pub const ANNA: i64 = 5550002;
pub const ADVISORS: i64 = -100777;
pub const MIKHAIL_VIN: &str = "XW7BE40K70S025476";
pub const ANNA_VIN: &str = "XW7BE40K70S025477";

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

pub fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

pub fn settings() -> BookingSettings {
    BookingSettings {
        advisor_chat_id: ADVISORS,
        max_slots_shown: 6,
    }
}

/// Mikhail's visit (his car has the plate А123ВС777, sent in Latin look-alikes) and Anna's.
fn visits() -> [serde_json::Value; 2] {
    let mut mikhail = app::fixtures::example_visit();
    mikhail["vehicle"]["plate"] = "a123bc 777".into();
    mikhail["customer"]["telegram_chat_id"] = MIKHAIL.into();
    let mut anna =
        app::fixtures::visit("A3C0002001", ANNA_VIN, "2026-11-13T12:00:00+03:00", 70_000);
    anna["customer"]["id"] = "C-1002".into();
    anna["customer"]["first_name"] = "Анна".into();
    anna["customer"]["phone"] = "+79167654321".into();
    anna["customer"]["telegram_chat_id"] = ANNA.into();
    [mikhail, anna]
}

pub struct World {
    _dir: Option<tempfile::TempDir>,
    pub repos: Repos<RedbStore>,
    pub policy: Policy,
    next: AtomicU32,
}

impl World {
    /// Both customers on a fresh embedded store.
    pub async fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        // The tests' instants are not today's: TTLs follow a clock set before them.
        let store = RedbStore::open(dir.path().join("store.redb"))
            .unwrap()
            .with_ttl_clock(at("2026-11-01T00:00:00+03:00"));
        World::on(Repos::new(store), Some(dir)).await
    }

    /// Both customers on `repos`.
    pub async fn on(repos: Repos<RedbStore>, dir: Option<tempfile::TempDir>) -> World {
        let policy = Policy::default();
        for visit in visits() {
            let body = serde_json::to_vec(&visit).unwrap();
            app::record_visit(&repos, &policy, &body, at("2026-11-13T16:00:00+03:00"))
                .await
                .unwrap();
        }
        World {
            _dir: dir,
            repos,
            policy,
            next: AtomicU32::new(1),
        }
    }

    /// A soft reminder to the customer about `vin`, sent at `made` in the car's open contact
    /// cycle: its «Записаться» data.
    pub async fn offer(&self, offer_id: &str, customer_id: &str, vin: &str, made: &str) -> String {
        let made = at(made);
        let cycle_id = format!("cycle-{vin}");
        let cycle = app::evaluate::CycleInfo { started_at: made };
        self.repos
            .cycles
            .open(vin, &cycle_id, &cycle)
            .await
            .unwrap();
        let record = app::compose::OfferRecord {
            cycle_id,
            stage: Stage::SoftReminder,
            reason: Reason::DueSoon {
                due: made.date_naive(),
                days_left: 30,
            },
            send_at: made,
            priced: None,
        };
        self.repos
            .offers
            .create(&NewOffer {
                offer_id,
                customer_id,
                vin,
                created_at: made,
                offer: &record,
            })
            .await
            .unwrap();
        let lease = chrono::Duration::seconds(60);
        self.repos
            .offers
            .claim::<app::compose::OfferRecord>(offer_id, "test", made, lease)
            .await
            .unwrap();
        self.repos
            .offers
            .mark_sent(offer_id, "test", made)
            .await
            .unwrap();
        format!("book:{offer_id}")
    }

    pub fn update(&self, from: i64, kind: UpdateKind) -> MessengerUpdate {
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        MessengerUpdate {
            update_id: id.to_string(),
            from: Address::Telegram(from),
            kind,
        }
    }

    /// Handles an update at `now` and records it done, as the webhook does.
    pub async fn deliver(
        &self,
        update: &MessengerUpdate,
        now: &str,
    ) -> Result<UpdateReplies, UpdateError> {
        let now = at(now);
        let replies =
            app::handle_update(&self.repos, &self.policy, &settings(), update, now).await?;
        app::finish_update(&self.repos, update, now).await.unwrap();
        Ok(replies)
    }

    /// `from` presses a button with `data` at `now`; the update is delivered twice and the
    /// second time changes nothing and sends nothing.
    pub async fn press(&self, from: i64, data: &str, now: &str) -> UpdateReplies {
        let update = self.update(
            from,
            UpdateKind::Callback {
                callback_id: Some(format!("cb-{data}")),
                data: data.into(),
            },
        );
        let replies = self.deliver(&update, now).await.unwrap();
        let again = self.deliver(&update, now).await.unwrap();
        assert_eq!(again, UpdateReplies::default(), "the same update twice");
        assert!(
            replies.callback_answer.is_some(),
            "every press is answered: {data}"
        );
        replies
    }

    /// `from` writes `text` at `now` (delivered twice, the second time changing nothing).
    pub async fn say(&self, from: i64, text: &str, now: &str) -> UpdateReplies {
        let update = self.update(from, UpdateKind::Text(text.into()));
        let replies = self.deliver(&update, now).await.unwrap();
        assert_eq!(
            self.deliver(&update, now).await.unwrap(),
            UpdateReplies::default()
        );
        replies
    }

    /// The customer at `chat` books `label` (`02.11 10:00`) from `book` at `now`: the advisors'
    /// request card.
    pub async fn hold(&self, chat: i64, book: &str, label: &str, now: &str) -> OutgoingMessage {
        let picker = self.press(chat, book, now).await;
        let slot = button(&picker, chat, label);
        let held = self.press(chat, &slot, now).await;
        to(&held, ADVISORS).clone()
    }

    /// [`World::hold`], then the advisor confirms at once: the replies of the confirmation.
    pub async fn book(&self, chat: i64, book: &str, label: &str, now: &str) -> UpdateReplies {
        let card = self.hold(chat, book, label, now).await;
        let confirm = card.buttons[0][0].callback_data.clone();
        self.press(ADVISORS, &confirm, now).await
    }

    pub async fn booking(&self, booking_id: &str) -> Booking<BookingRecord> {
        self.repos
            .capacity
            .booking(booking_id)
            .await
            .unwrap()
            .unwrap()
    }

    /// (capacity, remaining) of a slot.
    pub async fn slot(&self, date: &str, start: &str) -> (u32, u32) {
        let slots = self.repos.capacity.slots_on(day(date)).await.unwrap();
        let slot = slots.iter().find(|s| s.start == start).unwrap();
        (slot.capacity, slot.remaining)
    }
}

/// The message to `chat` among the replies.
pub fn to(replies: &UpdateReplies, chat: i64) -> &OutgoingMessage {
    replies
        .messages
        .iter()
        .find(|m| m.to == Address::Telegram(chat))
        .unwrap_or_else(|| panic!("no message to {chat}: {replies:#?}"))
}

/// The data of the button labelled `text` in the message to `chat`.
pub fn button(replies: &UpdateReplies, chat: i64, text: &str) -> String {
    button_in(to(replies, chat), text)
}

/// The data of the button labelled `text` in `message`.
pub fn button_in(message: &OutgoingMessage, text: &str) -> String {
    message
        .buttons
        .iter()
        .flatten()
        .find(|b| b.text == text)
        .unwrap_or_else(|| panic!("no button {text:?} in {message:#?}"))
        .callback_data
        .clone()
}

/// Every button label of the message to `chat`.
pub fn labels(replies: &UpdateReplies, chat: i64) -> Vec<String> {
    to(replies, chat)
        .buttons
        .iter()
        .flatten()
        .map(|b| b.text.clone())
        .collect()
}

/// The text on the pressed button's answer.
pub fn toast(replies: &UpdateReplies) -> &str {
    replies
        .callback_answer
        .as_ref()
        .map(|(_, text)| text.as_str())
        .unwrap_or_default()
}

/// The booking id in a button's data (`<kind>:<booking id>:<attempt>...`).
pub fn booking_of(data: &str) -> String {
    data.split(':').nth(1).unwrap().to_owned()
}
