//! The booking conversation on the deployed stack (moto_server: DynamoDB and the template's
//! queues; fake Telegram): three customers messaged on the night of 1 November 2027 race for
//! the last unit of a slot (one holds it, the other is offered the next free times), a move
//! races a new booking for another last unit (never both), a customer moves a confirmed
//! booking from its confirmation, the next night queues the day-before reminders on the compose
//! queue and offer-composer sends each once after the quiet hours, and the advisor's
//! «Не приехал» is refused before the slot's time and kept after it.

mod common;

use app::booking::BookingRecord;
use chrono::NaiveDate;
use common::*;
use domain::policy::Policy;
use serde_json::{json, Value};
use store::repo::BookingState;

const MIKHAIL: i64 = 5550001;
const ANNA: i64 = 5550002;
const PETR: i64 = 5550003;

/// A visit closed on 12 November 2026 for a customer of their own car.
fn visit(work_order: &str, id: &str, name: &str, phone: &str, chat: i64, vin: &str) -> Value {
    let mut v = app::fixtures::visit(work_order, vin, "2026-11-12T15:40:00+03:00", 90_000);
    v["customer"] = json!({
        "id": id, "first_name": name, "phone": phone, "telegram_chat_id": chat,
        "consents": {"service_messages": true, "marketing": true}
    });
    v
}

/// The Telegram messages to `chat`, oldest first: (text, buttons as (label, data)).
fn messages_to(stack: &Stack, chat: i64) -> Vec<(String, Vec<(String, String)>)> {
    stack
        .telegram
        .calls()
        .into_iter()
        .filter(|c| c.method == "sendMessage" && c.body["chat_id"] == chat)
        .map(|c| {
            let buttons = c.body["reply_markup"]["inline_keyboard"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|row| row.as_array().cloned().unwrap_or_default())
                .map(|b| {
                    (
                        b["text"].as_str().unwrap().to_owned(),
                        b["callback_data"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            (c.body["text"].as_str().unwrap().to_owned(), buttons)
        })
        .collect()
}

/// The data of the latest button labelled `label` in a message to `chat`.
fn latest_button(stack: &Stack, chat: i64, label: &str) -> String {
    messages_to(stack, chat)
        .into_iter()
        .rev()
        .flat_map(|(_, buttons)| buttons)
        .find(|(text, _)| text == label)
        .unwrap_or_else(|| panic!("no {label:?} sent to {chat}"))
        .1
}

fn last_text(stack: &Stack, chat: i64) -> String {
    messages_to(stack, chat)
        .pop()
        .map(|m| m.0)
        .unwrap_or_default()
}

/// The text of the answer to the latest button press.
fn last_answer(stack: &Stack) -> String {
    stack
        .telegram
        .calls()
        .into_iter()
        .rev()
        .find(|c| c.method == "answerCallbackQuery")
        .map(|c| c.body["text"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

/// Units taken by active bookings of each slot of `date` equal what the slot lost.
async fn assert_consistent(stack: &Stack, date: NaiveDate) {
    let slots = stack.repos.capacity.slots_on(date).await.unwrap();
    let bookings = stack
        .repos
        .capacity
        .bookings_on::<BookingRecord>(date)
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
            "{date} {}",
            slot.start
        );
    }
}

async fn bookings_of(stack: &Stack, chat: i64) -> Vec<store::repo::Booking<BookingRecord>> {
    let customer = stack
        .repos
        .customers
        .by_telegram_chat(chat)
        .await
        .unwrap()
        .unwrap();
    stack
        .repos
        .capacity
        .bookings_of_customer::<BookingRecord>(&customer)
        .await
        .unwrap()
}

/// The customer's one booking (one offer each).
async fn booking_of(stack: &Stack, chat: i64) -> store::repo::Booking<BookingRecord> {
    let mut bookings = bookings_of(stack, chat).await;
    assert_eq!(bookings.len(), 1, "one booking per offer");
    bookings.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn races_a_move_the_day_before_reminder_and_a_no_show_on_the_deployed_stack() {
    let policy = Policy::default();
    let stack = Stack::deploy("conversation", policy, at("2026-11-01T00:00:00+03:00")).await;
    let closed = at("2026-11-12T16:00:00+03:00");
    let mut mikhail = visit(
        "A3C0001116",
        "C-1001",
        "Михаил",
        "+79161234567",
        MIKHAIL,
        "XW7BE40K70S025476",
    );
    mikhail["vehicle"]["plate"] = json!("a123bc 777");
    for body in [
        mikhail,
        visit(
            "A3C0001117",
            "C-1002",
            "Анна",
            "+79167654321",
            ANNA,
            "XW7BE40K70S025477",
        ),
        visit(
            "A3C0001118",
            "C-1003",
            "Пётр",
            "+79165550003",
            PETR,
            "XW7BE40K70S025478",
        ),
    ] {
        let (status, answer) = stack.post_visit(&body, closed).await;
        assert_eq!(status, 201, "{answer}");
    }

    // Monday 1 November: the night messages all three, «Записаться» under each.
    let monday = day("2027-11-01");
    let wednesday = day("2027-11-03");
    let night = stack.nightly(monday).await;
    assert_eq!((night.reminders, night.queued), (0, 3));
    assert_eq!(
        stack
            .evaluate_all(stack.local(monday, "01:00:05"))
            .await
            .failures(),
        0
    );
    let morning = stack.compose_all(stack.local(monday, "09:00:30")).await;
    assert_eq!(morning.failures(), 0);
    assert!(
        morning.compose_messages().len() >= 3,
        "the reminder at least"
    );
    let book = |chat| latest_button(&stack, chat, "Записаться");
    let offer = |chat: i64| book(chat)["book:".len()..].to_owned();

    // The last unit of Wednesday 10:00: Mikhail and Anna press it at once.
    for start in ["10:00", "15:00"] {
        stack
            .repos
            .capacity
            .define_slot(wednesday, start, 1)
            .await
            .unwrap();
    }
    let t = stack.local(monday, "10:00:00");
    for chat in [MIKHAIL, ANNA, PETR] {
        assert_eq!(stack.press(chat, &book(chat), t).await, 200);
    }
    let (m, a) = (offer(MIKHAIL), offer(ANNA));
    let (dm, da) = (
        format!("s:{m}:2027-11-03:10:00"),
        format!("s:{a}:2027-11-03:10:00"),
    );
    // Boxed: two webhook handlings at once are too deep for the test thread's stack.
    let (sm, sa) = tokio::join!(
        Box::pin(stack.press(MIKHAIL, &dm, t)),
        Box::pin(stack.press(ANNA, &da, t))
    );
    assert_eq!((sm, sa), (200, 200));
    assert_eq!(
        stack
            .repos
            .capacity
            .slots_on(wednesday)
            .await
            .unwrap()
            .iter()
            .find(|s| s.start == "10:00")
            .unwrap()
            .remaining,
        0
    );
    let (winner, loser) = if !bookings_of(&stack, MIKHAIL).await.is_empty() {
        (MIKHAIL, ANNA)
    } else {
        (ANNA, MIKHAIL)
    };
    assert!(
        last_text(&stack, loser)
            .starts_with("Время 03.11 10:00 уже занято. Выберите удобное время:"),
        "{}",
        last_text(&stack, loser)
    );
    let next_free: Vec<String> = messages_to(&stack, loser)
        .pop()
        .unwrap()
        .1
        .into_iter()
        .map(|b| b.0)
        .collect();
    assert!(!next_free.is_empty() && !next_free.contains(&"03.11 10:00".to_owned()));
    assert!(last_text(&stack, winner).starts_with("Заявка на 03.11 10:00 отправлена"));
    // The loser takes Wednesday 11:00; the advisor confirms both.
    let lost_offer = offer(loser);
    assert_eq!(
        stack
            .press(loser, &format!("s:{lost_offer}:2027-11-03:11:00"), t)
            .await,
        200
    );
    for chat in [winner, loser] {
        let id = booking_of(&stack, chat).await.booking_id;
        let confirm = format!("c:{id}:1");
        assert_eq!(
            stack
                .press(ADVISOR_CHAT, &confirm, stack.local(monday, "10:05:00"))
                .await,
            200
        );
        assert_eq!(
            booking_of(&stack, chat).await.state,
            BookingState::Confirmed
        );
    }
    assert_consistent(&stack, wednesday).await;

    // Mikhail moves into the last unit of Wednesday 15:00 while Pëtr books it: never both.
    let before = booking_of(&stack, MIKHAIL).await;
    let p = offer(PETR);
    let t = stack.local(monday, "11:00:00");
    let move_data = format!(
        "rt:{}:{}:2027-11-03:15:00",
        before.booking_id, before.attempt
    );
    let hold_data = format!("s:{p}:2027-11-03:15:00");
    let (sm, sp) = tokio::join!(
        Box::pin(stack.press(MIKHAIL, &move_data, t)),
        Box::pin(stack.press(PETR, &hold_data, t))
    );
    assert_eq!((sm, sp), (200, 200));
    let moved = booking_of(&stack, MIKHAIL).await;
    let petr = bookings_of(&stack, PETR).await;
    let at_three = petr
        .iter()
        .chain([&moved])
        .filter(|b| b.start == "15:00" && b.state.is_active())
        .count();
    assert_eq!(at_three, 1, "one of them holds 15:00: {moved:?} {petr:?}");
    if moved.start == "15:00" {
        assert_eq!(moved.attempt, before.attempt + 1);
        assert!(petr.is_empty());
        assert!(last_text(&stack, PETR).starts_with("Время 03.11 15:00 уже занято."));
        // Pëtr takes Wednesday 16:00 instead.
        let other = format!("s:{p}:2027-11-03:16:00");
        assert_eq!(stack.press(PETR, &other, t).await, 200);
    } else {
        assert_eq!(
            (moved.start.as_str(), moved.attempt),
            (before.start.as_str(), before.attempt)
        );
        assert!(
            last_answer(&stack).contains("уже занято")
                || last_text(&stack, MIKHAIL).contains("уже занято")
        );
    }
    let petr = booking_of(&stack, PETR).await;
    let confirm = format!("c:{}:1", petr.booking_id);
    assert_eq!(stack.press(ADVISOR_CHAT, &confirm, t).await, 200);
    assert_eq!(
        booking_of(&stack, PETR).await.state,
        BookingState::Confirmed
    );
    assert_eq!(moved.state, BookingState::Confirmed);
    assert_consistent(&stack, wednesday).await;

    // Anna moves her confirmed booking to Tuesday from the confirmation.
    let t = stack.local(monday, "12:00:00");
    let reschedule = latest_button(&stack, ANNA, "Перенести");
    assert_eq!(stack.press(ANNA, &reschedule, t).await, 200);
    assert_eq!(
        stack
            .press(ANNA, &latest_button(&stack, ANNA, "02.11 12:00"), t)
            .await,
        200
    );
    assert!(last_text(&stack, ANNA).starts_with("Запись перенесена на 02.11 12:00"));
    assert!(last_text(&stack, ADVISOR_CHAT).contains("на 02.11 12:00"));
    let anna = booking_of(&stack, ANNA).await;
    assert_eq!(
        (anna.date, anna.start.as_str(), anna.state),
        (day("2027-11-02"), "12:00", BookingState::Confirmed)
    );
    assert_eq!(stack.press(ANNA, &reschedule, t).await, 200);
    assert!(last_answer(&stack).contains("из старого сообщения"));
    assert_consistent(&stack, wednesday).await;
    assert_consistent(&stack, day("2027-11-02")).await;

    // Tuesday's night queues the reminders of Wednesday's confirmed bookings; the composer
    // sends each once after the quiet hours; a retried night queues none again.
    let tuesday = day("2027-11-02");
    let wednesday_booked: Vec<i64> = {
        let mut chats = Vec::new();
        for chat in [MIKHAIL, ANNA, PETR] {
            let b = booking_of(&stack, chat).await;
            if b.date == wednesday && b.state == BookingState::Confirmed {
                chats.push(chat);
            }
        }
        chats
    };
    assert_eq!(
        wednesday_booked.len(),
        2,
        "Mikhail and Pëtr or the other way"
    );
    let night = stack.nightly(tuesday).await;
    assert_eq!(night.reminders, 2);
    stack.evaluate_all(stack.local(tuesday, "01:00:05")).await;
    let reminded = stack.compose_all(stack.local(tuesday, "09:00:30")).await;
    assert_eq!((reminded.reminders().len(), reminded.failures()), (2, 0));
    for chat in &wednesday_booked {
        let reminders: Vec<String> = messages_to(&stack, *chat)
            .into_iter()
            .map(|m| m.0)
            .filter(|t| t.contains("напоминаем: завтра, 03.11"))
            .collect();
        assert_eq!(reminders.len(), 1, "{chat}: {reminders:?}");
        assert!(reminders[0].contains("«Автодрайв» по адресу: Москва, Дмитровское шоссе, 163"));
    }
    let retried = stack.nightly(tuesday).await;
    assert_eq!(retried.reminders, 0);
    assert_eq!(stack.dead_letters(&stack.compose).await, 0);

    // Wednesday: «Не приехал» on Mikhail's booking, refused before its time, kept after it.
    let mikhail = booking_of(&stack, MIKHAIL).await;
    let no_show = format!("ns:{}:{}", mikhail.booking_id, mikhail.attempt);
    let start = stack.local(wednesday, &format!("{}:00", mikhail.start));
    assert_eq!(
        stack
            .press(ADVISOR_CHAT, &no_show, start - chrono::Duration::minutes(5))
            .await,
        200
    );
    assert_eq!(
        last_answer(&stack),
        format!(
            "Отметить неявку можно после начала записи: 03.11 {}.",
            mikhail.start
        )
    );
    assert_eq!(
        booking_of(&stack, MIKHAIL).await.state,
        BookingState::Confirmed
    );
    assert_eq!(
        stack
            .press(
                ADVISOR_CHAT,
                &no_show,
                start + chrono::Duration::minutes(30)
            )
            .await,
        200
    );
    assert_eq!(last_answer(&stack), "Неявка отмечена");
    assert_eq!(
        booking_of(&stack, MIKHAIL).await.state,
        BookingState::NoShow
    );

    // The advisors find Mikhail by his plate; nobody else can ask.
    let t = stack.local(wednesday, "12:00:00");
    assert_eq!(
        stack
            .telegram_text(ADVISOR_CHAT, "/client А123ВС777", t)
            .await,
        200
    );
    let card = last_text(&stack, ADVISOR_CHAT);
    assert!(
        card.starts_with("Клиент C-1001: Михаил, +79161234567"),
        "{card}"
    );
    assert!(card.contains("клиент не приехал"), "{card}");
    assert_eq!(stack.telegram_text(PETR, "/client А123ВС777", t).await, 200);
    assert_eq!(last_text(&stack, PETR), app::booking::client::NOT_FOR_YOU);
    assert!(
        stack.telegram.rejected().is_empty(),
        "{:?}",
        stack.telegram.rejected()
    );
}
