//! Scripted conversations through the Telegram webhook against the fake Bot API (which checks
//! the documented shapes): a booking moved from its confirmation, cancelled from the day-before
//! reminder, «Другое время» proposed by the advisor and picked by the customer, cancelled by the
//! advisor, a no-show refused before the slot's time and kept after it, and `/client` by phone,
//! VIN and plate in the advisors' chat only. Every update is delivered twice: the second time
//! sends nothing; every button press is answered.

mod common;

use app::booking::reminder::{reminders_due, send_reminder, ReminderOutcome};
use app::booking::BookingRecord;
use app::outreach::TelegramOnly;
use booking_webhook::{handle, Deps};
use channels::fake_telegram::{Call, FakeTelegram};
use channels::TelegramBot;
use common::{at, test_store, SECRET};
use domain::policy::Policy;
use lambda_http::http::HeaderMap;
use serde_json::{json, Value};
use store::repo::{BookingState, Repos};
use store::RedbStore;

const CUSTOMER: i64 = 5550001;
const STRANGER: i64 = 5559999;
const ADVISORS: i64 = -100777;

struct Script {
    _dir: tempfile::TempDir,
    repos: Repos<RedbStore>,
    telegram: FakeTelegram,
    deps: Deps<RedbStore>,
    next_update: std::cell::Cell<i64>,
}

/// A message the bot sent: to whom, its text and its buttons as (label, data).
#[derive(Debug, Clone)]
struct Sent {
    to: i64,
    text: String,
    buttons: Vec<(String, String)>,
}

fn sent(call: &Call) -> Option<Sent> {
    if call.method != "sendMessage" {
        return None;
    }
    let buttons = call.body["reply_markup"]["inline_keyboard"]
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
    Some(Sent {
        to: call.body["chat_id"].as_i64().unwrap(),
        text: call.body["text"].as_str().unwrap().to_owned(),
        buttons,
    })
}

/// What one delivery made the bot do.
#[derive(Debug)]
struct Outcome {
    messages: Vec<Sent>,
    /// The texts of the button answers.
    answers: Vec<String>,
}

impl Outcome {
    fn to(&self, chat: i64) -> &Sent {
        self.messages
            .iter()
            .find(|m| m.to == chat)
            .unwrap_or_else(|| panic!("nothing to {chat}: {self:#?}"))
    }

    fn button(&self, chat: i64, label: &str) -> String {
        let message = self.to(chat);
        message
            .buttons
            .iter()
            .find(|(text, _)| text == label)
            .unwrap_or_else(|| panic!("no {label:?} in {message:#?}"))
            .1
            .clone()
    }

    fn labels(&self, chat: i64) -> Vec<&str> {
        self.to(chat)
            .buttons
            .iter()
            .map(|(t, _)| t.as_str())
            .collect()
    }
}

impl Script {
    /// The example customer (chat 5550001, plate А123ВС777) reminded on 1 November 2027 at
    /// 10:00: returns the script and the reminder's «Записаться» data.
    async fn start() -> (Script, String) {
        let dir = tempfile::tempdir().unwrap();
        let repos = Repos::new(test_store(dir.path()));
        let policy = Policy::default();
        let mut visit = app::fixtures::example_visit();
        visit["vehicle"]["plate"] = json!("А123ВС777");
        let body = serde_json::to_vec(&visit).unwrap();
        app::record_visit(&repos, &policy, &body, at("2026-11-12T16:00:00+03:00"))
            .await
            .unwrap();
        let telegram = FakeTelegram::start("7:BOT").unwrap();
        let bot = TelegramBot::new(telegram.base_url(), "7:BOT");
        let now = at("2027-11-01T10:00:00+03:00");
        let evaluation = app::fixtures::example_visit_evaluated(&repos, &policy, now)
            .await
            .unwrap();
        app::compose_and_send(&repos, &policy, &bot, &evaluation.compose[0], "t", now)
            .await
            .unwrap();
        let book = sent(&telegram.calls()[0]).unwrap().buttons[0].1.clone();
        assert!(book.starts_with("book:"), "{book}");
        let deps = common::deps(&repos, bot, app::Events::none());
        let script = Script {
            _dir: dir,
            repos,
            telegram,
            deps,
            next_update: std::cell::Cell::new(100),
        };
        (script, book)
    }

    /// Posts `body` twice at `now`: both 200, the second sends nothing.
    async fn deliver(&self, body: Vec<u8>, now: &str) -> Outcome {
        let mut headers = HeaderMap::new();
        headers.insert(booking_webhook::SECRET_HEADER, SECRET.parse().unwrap());
        let before = self.telegram.calls().len();
        let reply = handle(&self.deps, &headers, &body, at(now)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let calls = self.telegram.calls();
        let again = handle(&self.deps, &headers, &body, at(now)).await;
        assert_eq!(again.status, 200, "{}", again.body);
        assert_eq!(self.telegram.calls().len(), calls.len(), "delivered twice");
        assert!(
            self.telegram.rejected().is_empty(),
            "{:?}",
            self.telegram.rejected()
        );
        let new = &calls[before..];
        Outcome {
            messages: new.iter().filter_map(sent).collect(),
            answers: new
                .iter()
                .filter(|c| c.method == "answerCallbackQuery")
                .map(|c| c.body["text"].as_str().unwrap_or_default().to_owned())
                .collect(),
        }
    }

    fn update_id(&self) -> i64 {
        let id = self.next_update.get();
        self.next_update.set(id + 1);
        id
    }

    /// `chat` presses a button: the press is answered once.
    async fn press(&self, chat: i64, data: &str, now: &str) -> Outcome {
        let body = lambda_support::test_events::telegram_callback(self.update_id(), chat, data);
        let outcome = self.deliver(body, now).await;
        assert_eq!(outcome.answers.len(), 1, "every press is answered once");
        outcome
    }

    /// `chat` writes `text` (the advisors' chat is a group).
    async fn say(&self, chat: i64, text: &str, now: &str) -> Outcome {
        let kind = if chat < 0 { "supergroup" } else { "private" };
        let body = serde_json::to_vec(&json!({
            "update_id": self.update_id(),
            "message": {
                "message_id": 7, "date": at(now).timestamp(),
                "from": {"id": 42, "is_bot": false, "first_name": "X"},
                "chat": {"id": chat, "type": kind},
                "text": text
            }
        }))
        .unwrap();
        self.deliver(body, now).await
    }

    /// The customer books `label` from `book`: the advisors' request.
    async fn hold(&self, book: &str, label: &str, now: &str) -> Outcome {
        let picker = self.press(CUSTOMER, book, now).await;
        let slot = picker.button(CUSTOMER, label);
        self.press(CUSTOMER, &slot, now).await
    }

    async fn booking(&self, id: &str) -> store::repo::Booking<BookingRecord> {
        self.repos.capacity.booking(id).await.unwrap().unwrap()
    }
}

fn booking_of(data: &str) -> String {
    data.split(':').nth(1).unwrap().to_owned()
}

#[tokio::test]
async fn the_customer_moves_the_booking_from_its_confirmation() {
    let (s, book) = Script::start().await;
    let now = "2027-11-01T10:05:00+03:00";
    let held = s.hold(&book, "02.11 10:00", now).await;
    let confirmed = s
        .press(ADVISORS, &held.button(ADVISORS, "Подтвердить"), now)
        .await;
    assert_eq!(confirmed.labels(CUSTOMER), ["Перенести", "Отменить"]);
    let reschedule = confirmed.button(CUSTOMER, "Перенести");
    let picker = s
        .press(CUSTOMER, &reschedule, "2027-11-01T12:00:00+03:00")
        .await;
    assert_eq!(picker.answers, ["Готово"]);
    let moved = s
        .press(
            CUSTOMER,
            &picker.button(CUSTOMER, "02.11 15:00"),
            "2027-11-01T12:01:00+03:00",
        )
        .await;
    assert_eq!(moved.answers, ["Новое время: 02.11 15:00"]);
    assert!(moved
        .to(CUSTOMER)
        .text
        .starts_with("Запись перенесена на 02.11 15:00 (вместо 02.11 10:00)."));
    assert!(moved
        .to(ADVISORS)
        .text
        .starts_with("Клиент перенёс запись с 02.11 10:00 на 02.11 15:00"));
    let booking = s.booking(&booking_of(&reschedule)).await;
    assert_eq!(
        (booking.start.as_str(), booking.state, booking.attempt),
        ("15:00", BookingState::Confirmed, 2)
    );
    // The first confirmation's button refuses itself, with why.
    let stale = s
        .press(CUSTOMER, &reschedule, "2027-11-01T12:02:00+03:00")
        .await;
    assert!(stale.answers[0].contains("из старого сообщения"));
    assert_eq!(stale.to(CUSTOMER).text, stale.answers[0]);
    // Someone else's press on the customer's button is refused too.
    let other = s
        .press(
            STRANGER,
            &moved.button(CUSTOMER, "Отменить"),
            "2027-11-01T12:03:00+03:00",
        )
        .await;
    assert_eq!(other.answers, ["Эта запись оформлена не на вас."]);
    assert_eq!(
        s.booking(&booking_of(&reschedule)).await.state,
        BookingState::Confirmed
    );
}

#[tokio::test]
async fn the_customer_cancels_from_the_day_before_reminder() {
    let (s, book) = Script::start().await;
    let policy = Policy::default();
    let now = "2027-11-01T10:05:00+03:00";
    s.press(CUSTOMER, &book, now).await;
    let held = s
        .press(CUSTOMER, &format!("s:{}:2027-11-03:11:00", &book[5..]), now)
        .await;
    s.press(ADVISORS, &held.button(ADVISORS, "Подтвердить"), now)
        .await;

    let due = reminders_due(&s.repos, &policy, "2027-11-02".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    let outreach = TelegramOnly(&s.deps.bot);
    let before = s.telegram.calls().len();
    let outcome = send_reminder(
        &s.repos,
        &policy,
        &outreach,
        &due[0],
        "t",
        at("2027-11-02T09:00:00+03:00"),
    )
    .await
    .unwrap();
    assert!(matches!(outcome, ReminderOutcome::Sent { .. }));
    let reminder = sent(&s.telegram.calls()[before]).unwrap();
    assert_eq!(reminder.to, CUSTOMER);
    assert!(
        reminder.text.contains("завтра, 03.11, в 11:00"),
        "{}",
        reminder.text
    );
    assert!(reminder.text.contains("Москва, Дмитровское шоссе, 163"));

    let cancel = reminder.buttons[1].1.clone();
    assert_eq!(reminder.buttons[1].0, "Отменить");
    let cancelled = s
        .press(CUSTOMER, &cancel, "2027-11-02T09:30:00+03:00")
        .await;
    assert_eq!(cancelled.answers, ["Запись отменена"]);
    assert_eq!(cancelled.labels(CUSTOMER), ["Записаться"]);
    assert!(cancelled
        .to(ADVISORS)
        .text
        .starts_with("Клиент отменил запись на 03.11 11:00"));
    let booking = s.booking(&booking_of(&cancel)).await;
    assert_eq!(booking.state, BookingState::Cancelled);
    let slots = s
        .repos
        .capacity
        .slots_on("2027-11-03".parse().unwrap())
        .await
        .unwrap();
    assert!(slots.iter().all(|slot| slot.remaining == slot.capacity));
}

#[tokio::test]
async fn the_advisor_proposes_other_times_the_customer_picks_one_and_the_advisor_confirms_it() {
    let (s, book) = Script::start().await;
    let now = "2027-11-01T10:05:00+03:00";
    let held = s.hold(&book, "02.11 10:00", now).await;
    let request = held.to(ADVISORS);
    assert!(request.text.contains("Клиент C-1001: Михаил, +79161234567"));
    assert!(request.text.contains("А123ВС777"));
    let picker = s
        .press(ADVISORS, &held.button(ADVISORS, "Другое время"), now)
        .await;
    for label in ["02.11 12:00", "02.11 16:00"] {
        let marked = s
            .press(ADVISORS, &picker.button(ADVISORS, label), now)
            .await;
        assert!(marked.messages.is_empty());
        assert!(marked.answers[0].starts_with("Отмечено"));
    }
    let proposed = s
        .press(ADVISORS, &picker.button(ADVISORS, "Отправить клиенту"), now)
        .await;
    assert_eq!(
        proposed.labels(CUSTOMER),
        ["02.11 12:00", "02.11 16:00", "Отменить запись"]
    );
    let taken = s
        .press(
            CUSTOMER,
            &proposed.button(CUSTOMER, "02.11 16:00"),
            "2027-11-01T10:20:00+03:00",
        )
        .await;
    assert!(taken
        .to(ADVISORS)
        .text
        .starts_with("Клиент выбрал другое время: 02.11 16:00 вместо 02.11 10:00"));
    let confirmed = s
        .press(
            ADVISORS,
            &taken.button(ADVISORS, "Подтвердить"),
            "2027-11-01T10:21:00+03:00",
        )
        .await;
    assert!(confirmed
        .to(CUSTOMER)
        .text
        .starts_with("Михаил, ваша запись на 02.11 16:00 подтверждена."));
    let booking = s
        .booking(&booking_of(&taken.button(ADVISORS, "Отменить")))
        .await;
    assert_eq!(
        (booking.start.as_str(), booking.state, booking.attempt),
        ("16:00", BookingState::Confirmed, 2)
    );
}

#[tokio::test]
async fn the_advisor_cancels_and_the_customer_is_told() {
    let (s, book) = Script::start().await;
    let now = "2027-11-01T10:05:00+03:00";
    let held = s.hold(&book, "02.11 10:00", now).await;
    let cancelled = s
        .press(ADVISORS, &held.button(ADVISORS, "Отменить"), now)
        .await;
    assert_eq!(cancelled.answers, ["Запись отменена"]);
    assert!(cancelled
        .to(CUSTOMER)
        .text
        .starts_with("Михаил, к сожалению, сервис не сможет принять вас 02.11 10:00"));
    assert_eq!(cancelled.labels(CUSTOMER), ["Записаться"]);
    let id = booking_of(&held.button(ADVISORS, "Отменить"));
    assert_eq!(s.booking(&id).await.state, BookingState::Cancelled);
}

#[tokio::test]
async fn a_no_show_is_refused_before_the_slots_time_and_marked_after_it() {
    let (s, book) = Script::start().await;
    let now = "2027-11-01T10:05:00+03:00";
    let held = s.hold(&book, "02.11 10:00", now).await;
    let confirmed = s
        .press(ADVISORS, &held.button(ADVISORS, "Подтвердить"), now)
        .await;
    let no_show = confirmed.button(ADVISORS, "Не приехал");
    let early = s
        .press(ADVISORS, &no_show, "2027-11-02T09:30:00+03:00")
        .await;
    assert_eq!(
        early.answers,
        ["Отметить неявку можно после начала записи: 02.11 10:00."]
    );
    assert_eq!(
        s.booking(&booking_of(&no_show)).await.state,
        BookingState::Confirmed
    );
    let marked = s
        .press(ADVISORS, &no_show, "2027-11-02T10:40:00+03:00")
        .await;
    assert_eq!(marked.answers, ["Неявка отмечена"]);
    assert_eq!(
        s.booking(&booking_of(&no_show)).await.state,
        BookingState::NoShow
    );
    let by_customer = s
        .press(CUSTOMER, &no_show, "2027-11-02T10:41:00+03:00")
        .await;
    assert!(
        by_customer.answers[0].contains("не для вас"),
        "{by_customer:?}"
    );
}

#[tokio::test]
async fn client_answers_by_phone_vin_and_plate_in_the_advisors_chat_and_refuses_elsewhere() {
    let (s, book) = Script::start().await;
    let now = "2027-11-01T10:05:00+03:00";
    s.hold(&book, "02.11 10:00", now).await;
    for query in [
        "/client +79161234567",
        "/client XW7BE40K70S025476",
        "/client@AutodriveBot a123bc777",
    ] {
        let answer = s.say(ADVISORS, query, now).await;
        assert_eq!(answer.messages.len(), 1, "{query}");
        let text = &answer.to(ADVISORS).text;
        assert!(
            text.starts_with("Клиент C-1001: Михаил, +79161234567\n"),
            "{text}"
        );
        assert!(
            text.contains("Записи: 02.11.2027 10:00 — ждёт подтверждения."),
            "{text}"
        );
    }
    for chat in [CUSTOMER, STRANGER] {
        let refused = s.say(chat, "/client +79161234567", now).await;
        assert_eq!(refused.messages.len(), 1);
        assert_eq!(
            refused.to(chat).text,
            "Эта команда доступна только мастерам-консультантам."
        );
    }
}

/// The answers of the whole scenario went out in documented shapes (checked by the fake on
/// every call) and no callback data was longer than Telegram allows.
#[tokio::test]
async fn every_button_of_the_conversation_fits_telegrams_callback_data() {
    let (s, book) = Script::start().await;
    let now = "2027-11-01T10:05:00+03:00";
    let held = s.hold(&book, "02.11 10:00", now).await;
    let picker = s
        .press(ADVISORS, &held.button(ADVISORS, "Другое время"), now)
        .await;
    let all: Vec<Value> = s.telegram.calls().iter().map(|c| c.body.clone()).collect();
    let data: Vec<&str> = all
        .iter()
        .flat_map(|b| {
            b["reply_markup"]["inline_keyboard"]
                .as_array()
                .into_iter()
                .flatten()
        })
        .flat_map(|row| row.as_array().into_iter().flatten())
        .filter_map(|b| b["callback_data"].as_str())
        .collect();
    assert!(data.len() > 10);
    assert!(
        data.iter().all(|d| !d.is_empty() && d.len() <= 64),
        "{data:?}"
    );
    assert!(!picker.to(ADVISORS).buttons.is_empty());
}
