//! From the sent reminder to a confirmed booking, on the embedded store.

use std::sync::Mutex;

use app::ports::{Channel, OutgoingMessage};
use app::{BookingSettings, MessengerUpdate, UpdateKind};
use chrono::{DateTime, NaiveDate, Utc};
use domain::policy::Policy;
use store::repo::{BookingState, Repos};
use store::RedbStore;

const CUSTOMER_CHAT: i64 = 5550001;
const ADVISOR_CHAT: i64 = -100777;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

#[derive(Default)]
struct Recording(Mutex<Vec<OutgoingMessage>>);

impl Channel for Recording {
    async fn send(&self, message: &OutgoingMessage) -> anyhow::Result<String> {
        let mut sent = self.0.lock().unwrap();
        sent.push(message.clone());
        Ok(sent.len().to_string())
    }
}

fn settings() -> BookingSettings {
    BookingSettings {
        advisor_chat_id: ADVISOR_CHAT,
        days_ahead: 7,
        hold_minutes: 30,
        max_slots_shown: 6,
    }
}

fn press(update_id: &str, chat_id: i64, data: &str) -> MessengerUpdate {
    MessengerUpdate {
        update_id: update_id.into(),
        chat_id,
        kind: UpdateKind::Callback {
            callback_id: format!("cb-{update_id}"),
            data: data.into(),
        },
    }
}

/// Handles an update and records it as done, as the webhook does.
async fn deliver(
    repos: &Repos<RedbStore>,
    update: &MessengerUpdate,
    now: DateTime<Utc>,
) -> Result<app::UpdateReplies, app::UpdateError> {
    let replies = app::handle_update(repos, &Policy::default(), &settings(), update, now).await?;
    app::finish_update(repos, update, now).await.unwrap();
    Ok(replies)
}

#[tokio::test]
async fn the_customer_books_a_slot_from_the_reminder_and_the_advisor_confirms_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let repos = Repos::new(RedbStore::open(dir.path().join("store.redb")).unwrap());
    let policy = Policy::default();
    let body = serde_json::to_vec(&app::fixtures::example_visit()).unwrap();
    app::record_visit(&repos, &policy, &body, at("2026-11-12T16:00:00+03:00"))
        .await
        .unwrap();
    let vehicle = repos
        .vehicles
        .get::<domain::Vehicle>("XW7BE40K70S025476")
        .await
        .unwrap()
        .unwrap();
    let night = NaiveDate::from_ymd_opt(2027, 11, 1).unwrap();
    app::forecast_vehicle(&repos, &policy, &vehicle.vehicle, night)
        .await
        .unwrap();
    let evaluation = app::evaluate_vehicle(
        &repos,
        &policy,
        &app::EvaluateVehicle::V1 {
            run_date: night,
            vin: "XW7BE40K70S025476".into(),
        },
        at("2027-11-01T10:00:00+03:00"),
    )
    .await
    .unwrap();
    let channel = Recording::default();
    let now = at("2027-11-01T10:00:00+03:00");
    app::compose_and_send(
        &repos,
        &policy,
        &channel,
        &evaluation.compose[0],
        "test",
        now,
    )
    .await
    .unwrap();
    let reminder = channel.0.lock().unwrap()[0].clone();
    let book = reminder.buttons[0][0].callback_data.clone();
    assert!(book.starts_with("book:"));

    let tomorrow = NaiveDate::from_ymd_opt(2027, 11, 2).unwrap();
    repos
        .capacity
        .define_slot(tomorrow, "10:00", 1)
        .await
        .unwrap();
    repos
        .capacity
        .define_slot(tomorrow, "11:00", 2)
        .await
        .unwrap();

    let picker = deliver(&repos, &press("1", CUSTOMER_CHAT, &book), now)
        .await
        .unwrap();
    assert_eq!(picker.messages.len(), 1);
    let slots: Vec<String> = picker.messages[0]
        .buttons
        .iter()
        .map(|row| row[0].callback_data.clone())
        .collect();
    assert_eq!(slots.len(), 2);
    assert!(slots.iter().all(|s| s.len() <= 64));
    assert_eq!(picker.messages[0].buttons[0][0].text, "02.11 10:00");

    let stranger = deliver(&repos, &press("2", 999, &slots[0]), now).await;
    assert!(matches!(stranger, Err(app::UpdateError::Forbidden(999))));

    let held = deliver(&repos, &press("3", CUSTOMER_CHAT, &slots[0]), now)
        .await
        .unwrap();
    assert_eq!(held.messages.len(), 2);
    assert_eq!(held.messages[1].chat_id, ADVISOR_CHAT);
    let confirm = held.messages[1].buttons[0][0].callback_data.clone();
    let replay = deliver(&repos, &press("3", CUSTOMER_CHAT, &slots[0]), now)
        .await
        .unwrap();
    assert!(replay.messages.is_empty(), "the same update twice");
    let slot = repos.capacity.slots_on(tomorrow).await.unwrap();
    assert_eq!(slot[0].remaining, 0);

    let by_customer = deliver(&repos, &press("4", CUSTOMER_CHAT, &confirm), now).await;
    assert!(matches!(by_customer, Err(app::UpdateError::Forbidden(_))));
    let confirmed = deliver(&repos, &press("5", ADVISOR_CHAT, &confirm), now)
        .await
        .unwrap();
    let to_customer = confirmed
        .messages
        .iter()
        .find(|m| m.chat_id == CUSTOMER_CHAT)
        .expect("the customer's confirmation");
    assert!(to_customer.text.contains("подтверждена"));
    let booking_id = confirm.trim_start_matches("c:");
    let booking = repos
        .capacity
        .booking::<app::booking::BookingRecord>(booking_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(booking.state, BookingState::Confirmed);
    let bookings = repos
        .capacity
        .bookings_of_customer::<app::booking::BookingRecord>("C-1001")
        .await
        .unwrap();
    assert_eq!(bookings.len(), 1);
}
