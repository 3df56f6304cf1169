//! From the sent reminder to a confirmed booking, and STOP, on the embedded store.

use std::sync::Mutex;

use app::ports::{Address, Channel, OutgoingMessage, WhatsAppId};
use app::{BookingSettings, MessengerUpdate, UpdateKind};
use chrono::{DateTime, NaiveDate, Utc};
use domain::policy::Policy;
use store::repo::{BookingState, Repos};
use store::{RedbStore, TtlClock};

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
        max_slots_shown: 6,
    }
}

fn press(update_id: &str, chat_id: i64, data: &str) -> MessengerUpdate {
    MessengerUpdate {
        update_id: update_id.into(),
        from: Address::Telegram(chat_id),
        kind: UpdateKind::Callback {
            callback_id: Some(format!("cb-{update_id}")),
            data: data.into(),
        },
    }
}

/// The WhatsApp account on the example customer's phone (+79161234567).
fn customer_whatsapp() -> Address {
    Address::WhatsApp(WhatsAppId::parse("79161234567").unwrap())
}

fn text(update_id: &str, from: Address, text: &str) -> MessengerUpdate {
    MessengerUpdate {
        update_id: update_id.into(),
        from,
        kind: UpdateKind::Text(text.into()),
    }
}

fn evaluate_message() -> app::EvaluateVehicle {
    app::EvaluateVehicle::V1 {
        run_date: NaiveDate::from_ymd_opt(2027, 11, 1).unwrap(),
        vin: "XW7BE40K70S025476".into(),
    }
}

/// The example visit (12 November 2026) through the visits use case.
async fn record_example_visit(repos: &Repos<RedbStore>) {
    let body = serde_json::to_vec(&app::fixtures::example_visit()).unwrap();
    app::record_visit(
        repos,
        &Policy::default(),
        &body,
        at("2026-11-12T16:00:00+03:00"),
    )
    .await
    .unwrap();
}

/// The example visit recorded and its vehicle forecast on the night of 1 November 2027, when
/// the soft reminder falls due.
async fn due_for_a_reminder(repos: &Repos<RedbStore>) {
    let policy = Policy::default();
    record_example_visit(repos).await;
    let vehicle = repos
        .vehicles
        .get::<domain::Vehicle>("XW7BE40K70S025476")
        .await
        .unwrap()
        .unwrap();
    let night = NaiveDate::from_ymd_opt(2027, 11, 1).unwrap();
    app::forecast_vehicle(repos, &policy, &vehicle.vehicle, night)
        .await
        .unwrap();
}

/// Repositories on a new embedded store in a temporary directory (kept while the guard lives).
fn fresh_store() -> (tempfile::TempDir, Repos<RedbStore>) {
    let dir = tempfile::tempdir().unwrap();
    // The tests' instants (November 2026 to 2028) are not today's: TTLs follow a clock set
    // before the first of them, so an update is still known when it is delivered again.
    let store = RedbStore::open(dir.path().join("store.redb"))
        .unwrap()
        .with_ttl_clock(at("2026-11-01T00:00:00+03:00"));
    let repos = Repos::new(store);
    (dir, repos)
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
    let (_dir, repos) = fresh_store();
    let book = reminder_sent(&repos).await;
    let now = at("2027-11-01T10:00:00+03:00");
    assert!(book.starts_with("book:"));

    // Nothing defines capacity: the slots come from the policy's workshop (4 lifts, 09:00-20:00
    // on Tuesday 2 November).
    let tomorrow = NaiveDate::from_ymd_opt(2027, 11, 2).unwrap();
    assert!(repos.capacity.slots_on(tomorrow).await.unwrap().is_empty());

    let picker = deliver(&repos, &press("1", CUSTOMER_CHAT, &book), now)
        .await
        .unwrap();
    assert_eq!(picker.messages.len(), 1);
    let slots: Vec<String> = picker.messages[0]
        .buttons
        .iter()
        .map(|row| row[0].callback_data.clone())
        .collect();
    assert_eq!(slots.len(), settings().max_slots_shown);
    assert!(slots.iter().all(|s| s.len() <= 64));
    assert_eq!(picker.messages[0].buttons[0][0].text, "02.11 09:00");

    // A refused press is answered, in the chat and on the button, and changes nothing.
    let stranger = deliver(&repos, &press("2", 999, &slots[0]), now)
        .await
        .unwrap();
    assert_eq!(stranger.messages.len(), 1);
    assert_eq!(stranger.messages[0].to, Address::Telegram(999));
    assert!(stranger.messages[0].text.contains("не для вас"));
    assert_eq!(stranger.callback_answer.unwrap().0, "cb-2");

    let held = deliver(&repos, &press("3", CUSTOMER_CHAT, &slots[0]), now)
        .await
        .unwrap();
    assert_eq!(held.messages.len(), 2);
    assert_eq!(held.messages[1].to, Address::Telegram(ADVISOR_CHAT));
    let confirm = held.messages[1].buttons[0][0].callback_data.clone();
    let replay = deliver(&repos, &press("3", CUSTOMER_CHAT, &slots[0]), now)
        .await
        .unwrap();
    assert!(replay.messages.is_empty(), "the same update twice");
    let slot = repos.capacity.slots_on(tomorrow).await.unwrap();
    assert_eq!(slot.len(), 11);
    assert_eq!(
        (slot[0].start.as_str(), slot[0].capacity, slot[0].remaining),
        ("09:00", 4, 3)
    );

    let by_customer = deliver(&repos, &press("4", CUSTOMER_CHAT, &confirm), now)
        .await
        .unwrap();
    assert!(by_customer.messages[0].text.contains("не для вас"));
    assert!(by_customer.callback_answer.is_some());
    let confirmed = deliver(&repos, &press("5", ADVISOR_CHAT, &confirm), now)
        .await
        .unwrap();
    let to_customer = confirmed
        .messages
        .iter()
        .find(|m| m.to == Address::Telegram(CUSTOMER_CHAT))
        .expect("the customer's confirmation");
    assert!(to_customer.text.contains("подтверждена"));
    let booking_id = confirm.trim_start_matches("c:").split(':').next().unwrap();
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

#[tokio::test]
async fn stop_in_telegram_opts_the_customer_out_once_and_the_evaluator_queues_nothing_afterwards() {
    let (_dir, repos) = fresh_store();
    due_for_a_reminder(&repos).await;
    let policy = Policy::default();
    let now = at("2027-11-01T10:00:00+03:00");
    let before = app::evaluate_vehicle(&repos, &policy, &evaluate_message(), now)
        .await
        .unwrap();
    assert!(
        !before.compose.is_empty(),
        "the reminder is due before STOP"
    );

    let stop = text("20", Address::Telegram(CUSTOMER_CHAT), "  СТОП ");
    let replies = deliver(&repos, &stop, now).await.unwrap();
    assert_eq!(replies.messages.len(), 1);
    assert_eq!(replies.messages[0].to, Address::Telegram(CUSTOMER_CHAT));
    assert_eq!(replies.messages[0].text, app::booking::STOP_REPLY);
    let replay = deliver(&repos, &stop, now).await.unwrap();
    assert!(replay.messages.is_empty(), "the same STOP is answered once");
    let customer = repos
        .customers
        .get::<domain::Customer>("C-1001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(customer.opted_out_at, Some(now));

    let after = app::evaluate_vehicle(&repos, &policy, &evaluate_message(), now)
        .await
        .unwrap();
    assert!(after.compose.is_empty());
    assert!(!after.vetoed.is_empty());
    assert!(after.vetoed.iter().all(|(_, veto)| veto == "opted_out"));
    assert_eq!(app::commit_evaluation(&repos, &after).await.unwrap(), 0);
}

#[tokio::test]
async fn stop_on_whatsapp_opts_the_customer_out_and_a_later_visit_does_not_undo_it() {
    let (_dir, repos) = fresh_store();
    due_for_a_reminder(&repos).await;
    let policy = Policy::default();
    let now = at("2027-11-01T10:00:00+03:00");

    let stop = text("wamid.STOP1", customer_whatsapp(), "Отписаться");
    let replies = deliver(&repos, &stop, now).await.unwrap();
    assert_eq!(replies.messages.len(), 1);
    assert_eq!(replies.messages[0].to, customer_whatsapp());
    assert_eq!(replies.messages[0].text, app::booking::STOP_REPLY);

    let later = app::fixtures::visit(
        "A3C0002222",
        "XW7BE40K70S025476",
        "2027-11-05T12:00:00+03:00",
        104_000,
    );
    let body = serde_json::to_vec(&later).unwrap();
    let recorded = app::record_visit(&repos, &policy, &body, at("2027-11-05T12:10:00+03:00"))
        .await
        .unwrap();
    assert!(recorded.newly_stored);
    let customer = repos
        .customers
        .get::<domain::Customer>("C-1001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        customer.opted_out_at,
        Some(now),
        "the visit keeps the opt-out"
    );

    let far_later = at("2028-10-20T10:00:00+03:00");
    let vehicle = repos
        .vehicles
        .get::<domain::Vehicle>("XW7BE40K70S025476")
        .await
        .unwrap()
        .unwrap();
    app::forecast_vehicle(
        &repos,
        &policy,
        &vehicle.vehicle,
        NaiveDate::from_ymd_opt(2028, 10, 20).unwrap(),
    )
    .await
    .unwrap();
    let evaluation = app::evaluate_vehicle(
        &repos,
        &policy,
        &app::EvaluateVehicle::V1 {
            run_date: NaiveDate::from_ymd_opt(2028, 10, 20).unwrap(),
            vin: "XW7BE40K70S025476".into(),
        },
        far_later,
    )
    .await
    .unwrap();
    assert!(evaluation.compose.is_empty());
    assert!(!evaluation.vetoed.is_empty(), "a reminder was due again");
    assert!(evaluation
        .vetoed
        .iter()
        .all(|(_, veto)| veto == "opted_out"));
}

#[tokio::test]
async fn a_queued_reminder_is_not_sent_after_stop() {
    let (_dir, repos) = fresh_store();
    due_for_a_reminder(&repos).await;
    let policy = Policy::default();
    let now = at("2027-11-01T10:00:00+03:00");
    let evaluation = app::evaluate_vehicle(&repos, &policy, &evaluate_message(), now)
        .await
        .unwrap();
    deliver(
        &repos,
        &text("21", Address::Telegram(CUSTOMER_CHAT), "/stop"),
        now,
    )
    .await
    .unwrap();
    let channel = Recording::default();
    let outcome = app::compose_and_send(
        &repos,
        &policy,
        &channel,
        &evaluation.compose[0],
        "test",
        now,
    )
    .await
    .unwrap();
    assert_eq!(outcome, app::ComposeOutcome::OptedOut);
    assert!(channel.0.lock().unwrap().is_empty());
}

#[tokio::test]
async fn stop_from_an_unknown_sender_is_answered_and_changes_nothing() {
    let (_dir, repos) = fresh_store();
    due_for_a_reminder(&repos).await;
    let stranger = Address::WhatsApp(WhatsAppId::parse("79990000000").unwrap());
    let now = at("2027-11-01T10:00:00+03:00");
    let replies = deliver(&repos, &text("wamid.X", stranger.clone(), "STOP"), now)
        .await
        .unwrap();
    assert_eq!(replies.messages.len(), 1);
    assert_eq!(replies.messages[0].to, stranger);
    let customer = repos
        .customers
        .get::<domain::Customer>("C-1001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(customer.opted_out_at, None);
}

#[tokio::test]
async fn stop_before_the_crm_sent_the_customer_opts_them_out_when_their_first_visit_arrives() {
    let (_dir, repos) = fresh_store();
    let first = at("2026-11-01T10:00:00+03:00");
    let second = at("2026-11-02T10:00:00+03:00");
    // from the phone on WhatsApp, then from the Telegram chat, before any visit is known
    for (id, from, when) in [
        ("wamid.EARLY", customer_whatsapp(), second),
        ("41", Address::Telegram(CUSTOMER_CHAT), first),
    ] {
        let replies = deliver(&repos, &text(id, from.clone(), "СТОП"), when)
            .await
            .unwrap();
        assert_eq!(replies.messages.len(), 1);
        assert_eq!(replies.messages[0].to, from);
    }
    record_example_visit(&repos).await;
    let customer = repos
        .customers
        .get::<domain::Customer>("C-1001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        customer.opted_out_at,
        Some(first),
        "the earlier STOP counts"
    );
    let (stages, _) =
        stages_composed_on(&repos, NaiveDate::from_ymd_opt(2027, 11, 1).unwrap()).await;
    assert!(stages.is_empty(), "{stages:?}");
}

#[tokio::test]
async fn a_whatsapp_customer_sees_at_most_ten_slots_and_is_confirmed_on_whatsapp() {
    let (_dir, repos) = fresh_store();
    due_for_a_reminder(&repos).await;
    let policy = Policy::default();
    let now = at("2027-11-01T10:00:00+03:00");
    let evaluation = app::evaluate_vehicle(&repos, &policy, &evaluate_message(), now)
        .await
        .unwrap();
    let channel = Recording::default();
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
    let book = channel.0.lock().unwrap()[0].buttons[0][0]
        .callback_data
        .clone();
    for day in 2..=3 {
        let date = NaiveDate::from_ymd_opt(2027, 11, day).unwrap();
        for hour in 9..=14 {
            repos
                .capacity
                .define_slot(date, &format!("{hour}:00"), 1)
                .await
                .unwrap();
        }
    }
    let mut settings = settings();
    settings.max_slots_shown = 20;
    let choose = |id: &str, data: &str| MessengerUpdate {
        update_id: id.into(),
        from: customer_whatsapp(),
        kind: UpdateKind::Callback {
            callback_id: None,
            data: data.into(),
        },
    };
    let picker = app::handle_update(&repos, &policy, &settings, &choose("wamid.1", &book), now)
        .await
        .unwrap();
    assert_eq!(picker.callback_answer, None);
    assert_eq!(picker.messages[0].to, customer_whatsapp());
    assert_eq!(picker.messages[0].buttons.len(), 10);
    let slot = picker.messages[0].buttons[0][0].callback_data.clone();
    let held = app::handle_update(&repos, &policy, &settings, &choose("wamid.2", &slot), now)
        .await
        .unwrap();
    // Delivered: the next press on the booking may go in.
    app::finish_update(&repos, &choose("wamid.2", &slot), now)
        .await
        .unwrap();
    assert_eq!(held.messages[0].to, customer_whatsapp());
    assert_eq!(held.messages[1].to, Address::Telegram(ADVISOR_CHAT));
    let confirm = held.messages[1].buttons[0][0].callback_data.clone();
    let by_whatsapp = app::handle_update(
        &repos,
        &policy,
        &settings,
        &choose("wamid.3", &confirm),
        now,
    )
    .await;
    let refused = by_whatsapp.unwrap();
    app::finish_update(&repos, &choose("wamid.3", &confirm), now)
        .await
        .unwrap();
    assert!(
        refused.messages[0].text.contains("не для вас"),
        "{refused:?}"
    );
    let confirmed = deliver(&repos, &press("30", ADVISOR_CHAT, &confirm), now)
        .await
        .unwrap();
    let to_customer: Vec<_> = confirmed
        .messages
        .iter()
        .filter(|m| m.to != Address::Telegram(ADVISOR_CHAT))
        .collect();
    assert_eq!(to_customer.len(), 1);
    assert_eq!(to_customer[0].to, customer_whatsapp());
    assert!(to_customer[0].text.contains("подтверждена"));
}

/// The stages composed for the example vehicle on `night` at 10:00 Moscow time, marked as the
/// evaluator function does.
async fn stages_composed_on(
    repos: &Repos<RedbStore>,
    night: NaiveDate,
) -> (Vec<domain::triggers::Stage>, Vec<app::ComposeOffer>) {
    let policy = Policy::default();
    let vehicle = repos
        .vehicles
        .get::<domain::Vehicle>("XW7BE40K70S025476")
        .await
        .unwrap()
        .unwrap();
    app::forecast_vehicle(repos, &policy, &vehicle.vehicle, night)
        .await
        .unwrap();
    let now = at(&format!("{night}T10:00:00+03:00"));
    let message = app::EvaluateVehicle::V1 {
        run_date: night,
        vin: "XW7BE40K70S025476".into(),
    };
    let evaluation = app::evaluate_vehicle(repos, &policy, &message, now)
        .await
        .unwrap();
    app::evaluate::commit_evaluation(repos, &evaluation)
        .await
        .unwrap();
    let stages = evaluation
        .compose
        .iter()
        .map(|m| match m {
            app::ComposeOffer::V1 { stage, .. } => *stage,
        })
        .collect();
    (stages, evaluation.compose)
}

/// The reminder of 1 November 2027 sent through a recording channel; its «Записаться» data.
async fn reminder_sent(repos: &Repos<RedbStore>) -> String {
    record_example_visit(repos).await;
    let (stages, compose) =
        stages_composed_on(repos, NaiveDate::from_ymd_opt(2027, 11, 1).unwrap()).await;
    let reminder = stages
        .iter()
        .position(|s| *s == domain::triggers::Stage::SoftReminder)
        .expect("the soft reminder is due");
    let channel = Recording::default();
    app::compose_and_send(
        repos,
        &Policy::default(),
        &channel,
        &compose[reminder],
        "test",
        at("2027-11-01T10:00:00+03:00"),
    )
    .await
    .unwrap();
    let sent = channel.0.lock().unwrap()[0].clone();
    sent.buttons[0][0].callback_data.clone()
}

/// Whether `stage` is composed on any night from `first` to `last`.
async fn stage_fires(
    repos: &Repos<RedbStore>,
    stage: domain::triggers::Stage,
    first: NaiveDate,
    last: NaiveDate,
) -> bool {
    let mut night = first;
    while night <= last {
        let (stages, _) = stages_composed_on(repos, night).await;
        if stages.contains(&stage) {
            return true;
        }
        night = night.succ_opt().unwrap();
    }
    false
}

/// The due date is 12 November 2027 and the reminder went late (1 November), so the personal
/// offer falls due a few days after it: the nights from 2 to 15 November.
async fn personal_offer_fires(repos: &Repos<RedbStore>) -> bool {
    stage_fires(
        repos,
        domain::triggers::Stage::PersonalOffer,
        NaiveDate::from_ymd_opt(2027, 11, 2).unwrap(),
        NaiveDate::from_ymd_opt(2027, 11, 15).unwrap(),
    )
    .await
}

#[tokio::test]
async fn an_unanswered_reminder_is_followed_by_the_personal_offer() {
    let (_dir, repos) = fresh_store();
    reminder_sent(&repos).await;
    assert!(personal_offer_fires(&repos).await);
}

#[tokio::test]
async fn a_customer_who_pressed_book_on_the_reminder_gets_no_personal_offer() {
    let (_dir, repos) = fresh_store();
    let book = reminder_sent(&repos).await;
    let now = at("2027-11-01T12:00:00+03:00");
    deliver(&repos, &press("1", CUSTOMER_CHAT, &book), now)
        .await
        .unwrap();
    deliver(&repos, &press("1", CUSTOMER_CHAT, &book), now)
        .await
        .unwrap();
    assert!(!personal_offer_fires(&repos).await);
}

#[tokio::test]
async fn a_confirmed_booking_stops_every_later_reminder_and_offer_of_the_cycle() {
    let (_dir, repos) = fresh_store();
    let book = reminder_sent(&repos).await;
    let now = at("2027-11-01T12:00:00+03:00");
    let picker = deliver(&repos, &press("1", CUSTOMER_CHAT, &book), now)
        .await
        .unwrap();
    let slot = picker.messages[0].buttons[0][0].callback_data.clone();
    let held = deliver(&repos, &press("2", CUSTOMER_CHAT, &slot), now)
        .await
        .unwrap();
    let confirm = held.messages[1].buttons[0][0].callback_data.clone();
    deliver(&repos, &press("3", ADVISOR_CHAT, &confirm), now)
        .await
        .unwrap();
    assert!(!personal_offer_fires(&repos).await);
    for night in ["2027-11-20", "2028-01-05", "2028-03-01"] {
        let (stages, _) = stages_composed_on(&repos, night.parse().unwrap()).await;
        assert!(
            !stages.iter().any(|s| matches!(
                s,
                domain::triggers::Stage::SoftReminder
                    | domain::triggers::Stage::PersonalOffer
                    | domain::triggers::Stage::CriticalOffer
            )),
            "{night}: {stages:?}"
        );
    }
}

#[tokio::test]
async fn an_odometer_reply_is_stored_once_and_re_times_the_forecast_at_once() {
    let (_dir, repos) = fresh_store();
    due_for_a_reminder(&repos).await;
    let vin = "XW7BE40K70S025476";
    let before = repos.forecasts.get(vin).await.unwrap().unwrap();
    let readings_before = repos.readings.for_vehicle(vin).await.unwrap().len();
    let now = at("2027-06-01T12:00:00+03:00");
    let reply = text("31", Address::Telegram(CUSTOMER_CHAT), "101\u{a0}000 км");
    let answered = deliver(&repos, &reply, now).await.unwrap();
    let after = repos.forecasts.get(vin).await.unwrap().unwrap();
    assert!(
        after.due_date < before.due_date,
        "{} km/day now: {} -> {}",
        after.km_per_day,
        before.due_date,
        after.due_date
    );
    assert_eq!(after.limit, domain::DueLimit::Distance);
    assert_eq!(answered.messages.len(), 1);
    let answer = &answered.messages[0].text;
    assert!(answer.starts_with("Спасибо!"), "{answer}");
    assert!(
        answer.contains(&after.due_date.format("%d.%m.%Y").to_string()),
        "{answer}"
    );
    let readings = repos.readings.for_vehicle(vin).await.unwrap();
    assert_eq!(readings.len(), readings_before + 1);
    let reported = readings.iter().find(|r| r.km == 101_000).unwrap();
    assert_eq!(reported.source, domain::ReadingSource::CustomerReported);

    let again = deliver(&repos, &reply, now).await.unwrap();
    assert!(again.messages.is_empty(), "the same update twice");
    assert_eq!(
        repos.readings.for_vehicle(vin).await.unwrap().len(),
        readings_before + 1
    );
}

#[tokio::test]
async fn an_odometer_below_the_last_visit_is_refused_and_a_rating_sized_number_is_ignored() {
    let (_dir, repos) = fresh_store();
    due_for_a_reminder(&repos).await;
    let vin = "XW7BE40K70S025476";
    let forecast = repos.forecasts.get(vin).await.unwrap();
    let readings = repos.readings.for_vehicle(vin).await.unwrap().len();
    let now = at("2027-06-01T12:00:00+03:00");
    let low = deliver(
        &repos,
        &text("41", Address::Telegram(CUSTOMER_CHAT), "80000"),
        now,
    )
    .await
    .unwrap();
    assert!(
        low.messages[0].text.contains("меньше"),
        "{:?}",
        low.messages
    );
    let rating = deliver(
        &repos,
        &text("42", Address::Telegram(CUSTOMER_CHAT), "7"),
        now,
    )
    .await
    .unwrap();
    assert!(rating.messages.is_empty());
    let stranger = deliver(&repos, &text("43", Address::Telegram(999), "120000"), now)
        .await
        .unwrap();
    assert!(stranger.messages.is_empty());
    assert_eq!(
        repos.readings.for_vehicle(vin).await.unwrap().len(),
        readings
    );
    assert_eq!(repos.forecasts.get(vin).await.unwrap(), forecast);
}

#[tokio::test]
async fn with_two_cars_the_odometer_goes_to_the_one_we_asked_about_and_counts_as_a_reply() {
    let (_dir, repos) = fresh_store();
    due_for_a_reminder(&repos).await;
    let policy = Policy::default();
    let second = "JTMBFREV10D123456";
    let body = serde_json::to_vec(&app::fixtures::visit(
        "A3C0002002",
        second,
        "2026-12-01T12:00:00+03:00",
        40_000,
    ))
    .unwrap();
    app::record_visit(&repos, &policy, &body, at("2026-12-01T13:00:00+03:00"))
        .await
        .unwrap();
    let now = at("2027-06-01T12:00:00+03:00");
    let unclear = deliver(
        &repos,
        &text("51", Address::Telegram(CUSTOMER_CHAT), "61000"),
        now,
    )
    .await
    .unwrap();
    assert!(unclear.messages[0].text.contains("Не поняли"));
    assert!(repos
        .readings
        .for_vehicle(second)
        .await
        .unwrap()
        .iter()
        .all(|r| r.km != 61_000));

    let cycle = "A3C0002002";
    let started = at("2026-12-01T12:00:00+03:00");
    repos
        .cycles
        .open(
            second,
            cycle,
            &app::evaluate::CycleInfo {
                started_at: started,
            },
        )
        .await
        .unwrap();
    let asked_at = at("2027-05-30T10:00:00+03:00");
    repos
        .cycles
        .mark_stage(
            second,
            cycle,
            "ask_odometer",
            &app::evaluate::StageMark {
                send_at: asked_at,
                decided_at: asked_at,
            },
        )
        .await
        .unwrap();
    let answered = deliver(
        &repos,
        &text("52", Address::Telegram(CUSTOMER_CHAT), "61 000"),
        now,
    )
    .await
    .unwrap();
    assert!(answered.messages[0].text.starts_with("Спасибо!"));
    let readings = repos.readings.for_vehicle(second).await.unwrap();
    assert!(readings.iter().any(|r| r.km == 61_000));
    let reactions = repos
        .cycles
        .reactions::<app::evaluate::ReactionMark>(second, cycle)
        .await
        .unwrap();
    assert_eq!(reactions.len(), 1);
    assert_eq!(reactions[0].0, "ask_odometer");
    assert_eq!(reactions[0].2.reaction, domain::triggers::Reaction::Replied);
}

/// The example visit (12 November 2026) and the satisfaction request of 15 November.
async fn satisfaction_requested(repos: &Repos<RedbStore>) {
    record_example_visit(repos).await;
    let (stages, _) =
        stages_composed_on(repos, NaiveDate::from_ymd_opt(2026, 11, 15).unwrap()).await;
    assert!(
        stages.contains(&domain::triggers::Stage::SatisfactionRequest),
        "{stages:?}"
    );
}

/// The nights from 16 to 30 November 2026: does a critical offer go out?
async fn critical_offer_fires(repos: &Repos<RedbStore>) -> bool {
    stage_fires(
        repos,
        domain::triggers::Stage::CriticalOffer,
        NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(),
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_low_score_alerts_the_advisors_once_and_makes_a_critical_offer() {
    let (_dir, repos) = fresh_store();
    satisfaction_requested(&repos).await;
    let now = at("2026-11-15T12:00:00+03:00");
    let customer = Address::Telegram(CUSTOMER_CHAT);

    let replies = deliver(&repos, &text("r1", customer.clone(), " 4 из 10 "), now)
        .await
        .unwrap();
    assert_eq!(replies.messages.len(), 2, "{:?}", replies.messages);
    assert_eq!(replies.messages[0].to, customer);
    assert!(replies.messages[0]
        .text
        .contains("мастер-консультант свяжется"));
    let alert = &replies.messages[1];
    assert_eq!(alert.to, Address::Telegram(ADVISOR_CHAT));
    assert!(alert.text.contains("4 из 10"), "{}", alert.text);
    assert!(alert.text.contains("XW7BE40K70S025476"), "{}", alert.text);

    // the same message delivered again (its idempotency record has lapsed: these dates are
    // behind the store's clock), then a second low score: the score is stored once, so the
    // advisors hear of it once
    let again = deliver(&repos, &text("r1", customer.clone(), " 4 из 10 "), now)
        .await
        .unwrap();
    assert!(
        again.messages.iter().all(|m| m.to == customer),
        "{:?}",
        again.messages
    );
    let second = deliver(&repos, &text("r2", customer.clone(), "3"), now)
        .await
        .unwrap();
    assert_eq!(second.messages.len(), 1, "{:?}", second.messages);
    assert_eq!(second.messages[0].to, customer);

    assert!(critical_offer_fires(&repos).await);
}

#[tokio::test]
async fn a_high_score_is_thanked_alerts_nobody_and_makes_no_critical_offer() {
    let (_dir, repos) = fresh_store();
    satisfaction_requested(&repos).await;
    let now = at("2026-11-15T12:00:00+03:00");
    let replies = deliver(&repos, &text("r1", customer_whatsapp(), "10/10"), now)
        .await
        .unwrap();
    assert_eq!(replies.messages.len(), 1, "{:?}", replies.messages);
    assert_eq!(replies.messages[0].to, customer_whatsapp());
    assert!(replies.messages[0].text.contains("высокую оценку"));
    assert!(!critical_offer_fires(&repos).await);
}

#[tokio::test]
async fn a_score_that_answers_no_satisfaction_request_is_left_alone() {
    let (_dir, repos) = fresh_store();
    record_example_visit(&repos).await;
    let now = at("2026-11-15T12:00:00+03:00");
    let replies = deliver(
        &repos,
        &text("r1", Address::Telegram(CUSTOMER_CHAT), "2"),
        now,
    )
    .await
    .unwrap();
    assert!(replies.messages.is_empty(), "{:?}", replies.messages);
    // a stranger's score too
    let replies = deliver(&repos, &text("r2", Address::Telegram(42), "2"), now)
        .await
        .unwrap();
    assert!(replies.messages.is_empty());
}
