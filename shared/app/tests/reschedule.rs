//! The customer's side after a booking: moving it from the confirmation, the day-before
//! reminder and cancelling from it, buttons that are not theirs or from an older message, and
//! races for the last unit of a slot (new bookings against each other and against a move), on
//! the embedded store.

mod common;

use std::sync::{Arc, Mutex};

use app::booking::reminder::{reminders_due, send_reminder, ReminderOutcome};
use app::booking::BookingRecord;
use app::messages::RemindBooking;
use app::outreach::TelegramOnly;
use app::ports::{Address, Channel, OutgoingMessage};
use app::UpdateKind;
use common::*;
use store::repo::BookingState;

#[derive(Default)]
struct Recording(Mutex<Vec<OutgoingMessage>>);

impl Channel for Recording {
    async fn send(&self, message: &OutgoingMessage) -> anyhow::Result<String> {
        let mut sent = self.0.lock().unwrap();
        sent.push(message.clone());
        Ok(sent.len().to_string())
    }
}

/// Units taken by active bookings of each slot of `date` equal what the slot lost.
async fn assert_consistent(w: &World, date: &str) {
    let slots = w.repos.capacity.slots_on(day(date)).await.unwrap();
    let bookings = w
        .repos
        .capacity
        .bookings_on::<BookingRecord>(day(date))
        .await
        .unwrap();
    for slot in slots {
        let active = bookings
            .iter()
            .filter(|b| b.start == slot.start && b.state.is_active())
            .count() as u32;
        assert_eq!(
            slot.capacity - slot.remaining,
            active,
            "{date} {}: capacity {}, remaining {}, active bookings {active}",
            slot.start,
            slot.capacity,
            slot.remaining
        );
    }
}

#[tokio::test]
async fn the_customer_moves_a_confirmed_booking_and_the_old_time_is_freed_with_the_new_one_taken() {
    let w = World::new().await;
    let book = w
        .offer("o1", "C-1001", MIKHAIL_VIN, "2027-11-01T09:00:00+03:00")
        .await;
    let confirmed = w
        .book(MIKHAIL, &book, "02.11 10:00", "2027-11-01T10:00:00+03:00")
        .await;
    let confirmation = to(&confirmed, MIKHAIL);
    assert!(
        confirmation
            .text
            .contains("«Автодрайв» по адресу: Москва, Дмитровское шоссе, 163"),
        "{}",
        confirmation.text
    );
    assert_eq!(labels(&confirmed, MIKHAIL), ["Перенести", "Отменить"]);
    assert_eq!(labels(&confirmed, ADVISORS), ["Не приехал", "Отменить"]);
    let reschedule = button(&confirmed, MIKHAIL, "Перенести");
    let id = booking_of(&reschedule);

    let picker = w
        .press(MIKHAIL, &reschedule, "2027-11-01T11:00:00+03:00")
        .await;
    let shown = labels(&picker, MIKHAIL);
    assert!(!shown.contains(&"02.11 10:00".to_owned()), "{shown:?}");
    assert_eq!(shown.first().unwrap(), "02.11 09:00");
    assert_eq!(shown.last().unwrap(), "Отменить запись");
    assert!(to(&picker, MIKHAIL)
        .text
        .starts_with("Ваша запись — 02.11 10:00."));
    let later = button(&picker, MIKHAIL, "02.11 14:00");
    let moved = w.press(MIKHAIL, &later, "2027-11-01T11:01:00+03:00").await;

    let booking = w.booking(&id).await;
    assert_eq!(
        (booking.start.as_str(), booking.state, booking.attempt),
        ("14:00", BookingState::Confirmed, 2)
    );
    assert_eq!(w.slot("2027-11-02", "10:00").await, (4, 4));
    assert_eq!(w.slot("2027-11-02", "14:00").await, (4, 3));
    assert_consistent(&w, "2027-11-02").await;
    assert!(to(&moved, MIKHAIL)
        .text
        .starts_with("Запись перенесена на 02.11 14:00 (вместо 02.11 10:00)."));
    assert_eq!(labels(&moved, MIKHAIL), ["Перенести", "Отменить"]);
    assert!(to(&moved, ADVISORS)
        .text
        .contains("Клиент перенёс запись с 02.11 10:00 на 02.11 14:00"));
    assert_eq!(labels(&moved, ADVISORS), ["Не приехал", "Отменить"]);
    assert_eq!(toast(&moved), "Новое время: 02.11 14:00");

    // The buttons of the first confirmation and of the first picker refuse themselves.
    for old in [&reschedule, &button(&picker, MIKHAIL, "02.11 13:00")] {
        let stale = w.press(MIKHAIL, old, "2027-11-01T11:02:00+03:00").await;
        assert!(toast(&stale).contains("из старого сообщения"), "{stale:?}");
        assert_eq!(stale.messages.len(), 1);
    }
    assert_eq!(w.booking(&id).await.start, "14:00");
    let cancel_old = button(&confirmed, MIKHAIL, "Отменить");
    let stale = w
        .press(MIKHAIL, &cancel_old, "2027-11-01T11:03:00+03:00")
        .await;
    assert!(toast(&stale).contains("из старого сообщения"));
    assert_eq!(w.booking(&id).await.state, BookingState::Confirmed);
}

#[tokio::test]
async fn a_move_to_a_time_taken_meanwhile_keeps_the_booking_where_it_was() {
    let w = World::new().await;
    w.repos
        .capacity
        .define_slot(day("2027-11-02"), "13:00", 1)
        .await
        .unwrap();
    let mikhail = w
        .offer("o1", "C-1001", MIKHAIL_VIN, "2027-11-01T09:00:00+03:00")
        .await;
    let anna = w
        .offer("o2", "C-1002", ANNA_VIN, "2027-11-01T09:00:00+03:00")
        .await;
    let now = "2027-11-01T10:00:00+03:00";
    let confirmed = w.book(MIKHAIL, &mikhail, "02.11 10:00", now).await;
    let reschedule = button(&confirmed, MIKHAIL, "Перенести");
    let id = booking_of(&reschedule);
    let picker = w.press(MIKHAIL, &reschedule, now).await;
    w.hold(ANNA, &anna, "02.11 13:00", now).await;

    let taken = w
        .press(MIKHAIL, &button(&picker, MIKHAIL, "02.11 13:00"), now)
        .await;
    assert!(
        to(&taken, MIKHAIL).text.starts_with(
            "Время 02.11 13:00 уже занято. Ваша запись на 02.11 10:00 остаётся в силе."
        ),
        "{taken:?}"
    );
    assert!(!labels(&taken, MIKHAIL).contains(&"02.11 13:00".to_owned()));
    assert_eq!(toast(&taken), "Время 02.11 13:00 уже занято");
    let booking = w.booking(&id).await;
    assert_eq!(
        (booking.start.as_str(), booking.state, booking.attempt),
        ("10:00", BookingState::Confirmed, 1)
    );
    assert_eq!(w.slot("2027-11-02", "13:00").await, (1, 0));
    assert_eq!(w.slot("2027-11-02", "10:00").await, (4, 3));
    assert_consistent(&w, "2027-11-02").await;
}

#[tokio::test]
async fn another_customer_or_a_customer_on_advisor_buttons_is_refused_and_nothing_changes() {
    let w = World::new().await;
    let book = w
        .offer("o1", "C-1001", MIKHAIL_VIN, "2027-11-01T09:00:00+03:00")
        .await;
    let now = "2027-11-01T10:00:00+03:00";
    let confirmed = w.book(MIKHAIL, &book, "02.11 10:00", now).await;
    let reschedule = button(&confirmed, MIKHAIL, "Перенести");
    let id = booking_of(&reschedule);
    let picker = w.press(MIKHAIL, &reschedule, now).await;
    let mikhails = [
        reschedule.clone(),
        button(&confirmed, MIKHAIL, "Отменить"),
        button(&picker, MIKHAIL, "02.11 11:00"),
    ];
    for data in &mikhails {
        let refused = w.press(ANNA, data, now).await;
        assert_eq!(refused.messages.len(), 1);
        assert_eq!(refused.messages[0].to, Address::Telegram(ANNA));
        assert_eq!(toast(&refused), "Эта запись оформлена не на вас.");
    }
    for data in [
        button(&confirmed, ADVISORS, "Не приехал"),
        button(&confirmed, ADVISORS, "Отменить"),
    ] {
        let refused = w.press(MIKHAIL, &data, "2027-11-02T11:00:00+03:00").await;
        assert!(toast(&refused).contains("не для вас"), "{refused:?}");
    }
    for data in ["rs:b1:x", "rt:b1:1:2027-11-02", "ns:", "rs:bnothing:1"] {
        let refused = w.press(MIKHAIL, data, now).await;
        assert_eq!(refused.messages.len(), 1, "{data}");
    }
    let booking = w.booking(&id).await;
    assert_eq!(
        (booking.start.as_str(), booking.state, booking.attempt),
        ("10:00", BookingState::Confirmed, 1)
    );
    assert_consistent(&w, "2027-11-02").await;
}

#[tokio::test]
async fn the_day_before_the_customer_gets_one_reminder_and_cancels_from_it() {
    let w = World::new().await;
    let policy = w.policy.clone();
    w.offer("o1", "C-1001", MIKHAIL_VIN, "2027-11-01T09:00:00+03:00")
        .await;
    let now = "2027-11-01T10:00:00+03:00";
    let held = w.press(MIKHAIL, "s:o1:2027-11-03:10:00", now).await;
    let confirm = to(&held, ADVISORS).buttons[0][0].callback_data.clone();
    w.press(ADVISORS, &confirm, now).await;
    let id = booking_of(&confirm);

    assert!(reminders_due(&w.repos, &policy, day("2027-11-01"))
        .await
        .unwrap()
        .is_empty());
    let due = reminders_due(&w.repos, &policy, day("2027-11-02"))
        .await
        .unwrap();
    assert_eq!(
        due,
        [RemindBooking::V1 {
            booking_id: id.clone(),
            attempt: 1,
            send_at: at("2027-11-02T09:00:00+03:00"),
        }]
    );
    let channel = Recording::default();
    let outreach = TelegramOnly(&channel);
    let send = |now: &'static str| {
        let (repos, policy, message, outreach) = (&w.repos, &policy, &due[0], &outreach);
        async move {
            send_reminder(repos, policy, outreach, message, "test", at(now))
                .await
                .unwrap()
        }
    };
    assert_eq!(
        send("2027-11-02T08:30:00+03:00").await,
        ReminderOutcome::NotYet {
            send_at: at("2027-11-02T09:00:00+03:00")
        }
    );
    assert!(matches!(
        send("2027-11-02T09:00:30+03:00").await,
        ReminderOutcome::Sent { .. }
    ));
    assert_eq!(
        send("2027-11-02T09:05:00+03:00").await,
        ReminderOutcome::AlreadySent
    );
    assert!(reminders_due(&w.repos, &policy, day("2027-11-02"))
        .await
        .unwrap()
        .is_empty());
    let sent = channel.0.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    let reminder = &sent[0];
    assert_eq!(reminder.to, Address::Telegram(MIKHAIL));
    assert_eq!(
        reminder.text,
        "Михаил, напоминаем: завтра, 03.11, в 10:00 ждём вас в «Автодрайв» по адресу: \
         Москва, Дмитровское шоссе, 163. Если планы изменились, перенесите или отмените запись."
    );
    let texts: Vec<&str> = reminder
        .buttons
        .iter()
        .flatten()
        .map(|b| b.text.as_str())
        .collect();
    assert_eq!(texts, ["Перенести", "Отменить"]);

    let cancel = reminder.buttons[0][1].callback_data.clone();
    let cancelled = w.press(MIKHAIL, &cancel, "2027-11-02T12:00:00+03:00").await;
    assert_eq!(w.booking(&id).await.state, BookingState::Cancelled);
    assert_eq!(w.slot("2027-11-03", "10:00").await, (4, 4));
    assert_eq!(
        to(&cancelled, MIKHAIL).text,
        "Запись на 03.11 10:00 отменена. Если захотите записаться снова, нажмите «Записаться»."
    );
    assert_eq!(labels(&cancelled, MIKHAIL), ["Записаться"]);
    assert!(to(&cancelled, ADVISORS)
        .text
        .starts_with("Клиент отменил запись на 03.11 10:00, автомобиль XW7BE40K70S025476."));

    // The reminder's other button, and a reminder of the cancelled booking, do nothing more.
    let reschedule = reminder.buttons[0][0].callback_data.clone();
    let closed = w
        .press(MIKHAIL, &reschedule, "2027-11-02T12:01:00+03:00")
        .await;
    assert_eq!(
        to(&closed, MIKHAIL).text,
        "Запись на 03.11 10:00 уже отменена. Чтобы записаться снова, нажмите «Записаться»."
    );
    let again = RemindBooking::V1 {
        booking_id: id,
        attempt: 1,
        send_at: at("2027-11-02T09:00:00+03:00"),
    };
    let outcome = send_reminder(
        &w.repos,
        &policy,
        &outreach,
        &again,
        "test",
        at("2027-11-02T13:00:00+03:00"),
    )
    .await
    .unwrap();
    assert_eq!(outcome, ReminderOutcome::Stale);
    assert_eq!(channel.0.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_reminder_waits_for_the_end_of_quiet_hours_and_a_moved_booking_is_reminded_of_afresh() {
    let w = World::new().await;
    let policy = w.policy.clone();
    w.offer("o1", "C-1001", MIKHAIL_VIN, "2027-11-01T09:00:00+03:00")
        .await;
    let now = "2027-11-01T10:00:00+03:00";
    let held = w.press(MIKHAIL, "s:o1:2027-11-03:10:00", now).await;
    let confirm = to(&held, ADVISORS).buttons[0][0].callback_data.clone();
    let confirmed = w.press(ADVISORS, &confirm, now).await;
    let due = reminders_due(&w.repos, &policy, day("2027-11-02"))
        .await
        .unwrap();
    let channel = Recording::default();
    let outreach = TelegramOnly(&channel);
    let late_night = send_reminder(
        &w.repos,
        &policy,
        &outreach,
        &due[0],
        "test",
        at("2027-11-02T22:30:00+03:00"),
    )
    .await
    .unwrap();
    assert_eq!(
        late_night,
        ReminderOutcome::NotYet {
            send_at: at("2027-11-03T09:00:00+03:00")
        }
    );

    // Moved to Friday (Thursday 4 November is a holiday) before it went out: the queued
    // reminder is stale, the night before Friday reminds of the new time.
    let id = booking_of(&button(&confirmed, MIKHAIL, "Перенести"));
    let friday_noon = format!("rt:{id}:1:2027-11-05:12:00");
    let moved = w
        .press(MIKHAIL, &friday_noon, "2027-11-02T20:00:00+03:00")
        .await;
    let text = &to(&moved, MIKHAIL).text;
    assert!(
        text.starts_with("Запись перенесена на 05.11 12:00"),
        "{text}"
    );
    let stale = send_reminder(
        &w.repos,
        &policy,
        &outreach,
        &due[0],
        "test",
        at("2027-11-03T09:00:00+03:00"),
    )
    .await
    .unwrap();
    assert_eq!(stale, ReminderOutcome::Stale);
    assert!(reminders_due(&w.repos, &policy, day("2027-11-02"))
        .await
        .unwrap()
        .is_empty());
    let friday = reminders_due(&w.repos, &policy, day("2027-11-04"))
        .await
        .unwrap();
    assert!(matches!(
        &friday[..],
        [RemindBooking::V1 { attempt: 2, .. }]
    ));
    assert!(channel.0.lock().unwrap().is_empty());
}

/// Customers pressing `data` at once: each (chat, replies).
async fn at_once(
    w: &Arc<World>,
    presses: Vec<(i64, String)>,
    now: &'static str,
) -> Vec<(i64, app::UpdateReplies)> {
    let mut tasks = tokio::task::JoinSet::new();
    for (chat, data) in presses {
        let w = w.clone();
        tasks.spawn(async move {
            let update = w.update(
                chat,
                UpdateKind::Callback {
                    callback_id: Some("cb".into()),
                    data,
                },
            );
            (chat, w.deliver(&update, now).await.unwrap())
        });
    }
    let mut out = Vec::new();
    while let Some(done) = tasks.join_next().await {
        out.push(done.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_customers_racing_for_the_last_unit_one_holds_it_and_the_other_is_offered_the_next_free_times(
) {
    let starts = ["09:00", "10:00", "11:00", "12:00", "13:00"];
    let now = "2027-11-01T10:00:00+03:00";
    // Each round on a fresh store: a car already booked adds another offer's work to its visit
    // instead of taking a second lift, so a round's winner would not race again.
    for (round, start) in starts.iter().enumerate() {
        let w = Arc::new(World::new().await);
        w.repos
            .capacity
            .define_slot(day("2027-11-02"), start, 1)
            .await
            .unwrap();
        let (m, a) = (format!("om{round}"), format!("oa{round}"));
        w.offer(&m, "C-1001", MIKHAIL_VIN, now).await;
        w.offer(&a, "C-1002", ANNA_VIN, now).await;
        let presses = vec![
            (MIKHAIL, format!("s:{m}:2027-11-02:{start}")),
            (ANNA, format!("s:{a}:2027-11-02:{start}")),
        ];
        let results = at_once(&w, presses, now).await;
        let winners: Vec<i64> = results
            .iter()
            .filter(|(_, r)| {
                r.messages
                    .iter()
                    .any(|m| m.to == Address::Telegram(ADVISORS))
            })
            .map(|(chat, _)| *chat)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:#?}");
        let (loser, lost) = results.iter().find(|(c, _)| *c != winners[0]).unwrap();
        let offered = to(lost, *loser);
        assert!(
            offered
                .text
                .starts_with(&format!("Время 02.11 {start} уже занято.")),
            "{}",
            offered.text
        );
        let times: Vec<&str> = offered
            .buttons
            .iter()
            .flatten()
            .map(|b| b.text.as_str())
            .collect();
        assert!(!times.is_empty() && !times.contains(&format!("02.11 {start}").as_str()));
        assert_eq!(w.slot("2027-11-02", start).await, (1, 0));
        assert_consistent(&w, "2027-11-02").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_move_racing_a_new_booking_for_the_last_unit_never_double_books() {
    let contested = ["15:00", "16:00", "17:00", "18:00", "19:00"];
    let now = "2027-11-01T10:00:00+03:00";
    let mut moves_won = 0;
    // Each round on a fresh store: Anna's car, once booked, would add another offer's work to
    // that visit instead of racing for a second lift.
    for (round, start) in contested.iter().enumerate() {
        let w = Arc::new(World::new().await);
        w.repos
            .capacity
            .define_slot(day("2027-11-02"), start, 1)
            .await
            .unwrap();
        w.offer("om", "C-1001", MIKHAIL_VIN, now).await;
        let held = w.press(MIKHAIL, "s:om:2027-11-02:09:00", now).await;
        let confirm = to(&held, ADVISORS).buttons[0][0].callback_data.clone();
        w.press(ADVISORS, &confirm, now).await;
        let id = booking_of(&confirm);
        let before = w.booking(&id).await;
        let anna = format!("oa{round}");
        w.offer(&anna, "C-1002", ANNA_VIN, now).await;
        let presses = vec![
            (
                MIKHAIL,
                format!("rt:{id}:{}:2027-11-02:{start}", before.attempt),
            ),
            (ANNA, format!("s:{anna}:2027-11-02:{start}")),
        ];
        at_once(&w, presses, now).await;
        let after = w.booking(&id).await;
        let bookings = w
            .repos
            .capacity
            .bookings_on::<BookingRecord>(day("2027-11-02"))
            .await
            .unwrap();
        let at_start = bookings
            .iter()
            .filter(|b| b.start == *start && b.state.is_active())
            .count();
        assert_eq!(at_start, 1, "round {round}: one booking holds the unit");
        assert_eq!(w.slot("2027-11-02", start).await, (1, 0));
        if after.start == *start {
            moves_won += 1;
            assert_eq!(after.attempt, before.attempt + 1);
        } else {
            assert_eq!(
                (after.start.as_str(), after.attempt),
                (before.start.as_str(), before.attempt)
            );
        }
        assert_eq!(after.state, BookingState::Confirmed);
        assert_consistent(&w, "2027-11-02").await;
    }
    println!("the move won {moves_won} of {} races", contested.len());
}
