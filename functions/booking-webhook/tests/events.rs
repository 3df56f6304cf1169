//! The business events of the booking conversation, as the webhook publishes them: a held
//! slot, the advisor's confirmation (again, with the same id, for a repeated confirmation), the
//! customer's cancellation and STOP, each valid against its schema under `docs/events/`.

mod common;

use app::events::CollectedEvents;
use booking_webhook::handle;
use channels::fake_telegram::FakeTelegram;
use channels::TelegramBot;
use chrono::NaiveDate;
use common::{at, deps, headers, reminded, ADVISOR_CHAT, CUSTOMER_CHAT};
use serde_json::json;

fn press(update_id: i64, chat_id: i64, data: &str) -> Vec<u8> {
    lambda_support::test_events::telegram_callback(update_id, chat_id, data)
}

fn say(update_id: i64, chat_id: i64, text: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "update_id": update_id,
        "message": {"message_id": 1, "date": 0, "chat": {"id": chat_id, "type": "private"}, "text": text}
    }))
    .unwrap()
}

/// The first button under the latest message to `chat` whose label is `label`.
fn button(telegram: &FakeTelegram, chat: i64, label: &str) -> String {
    telegram
        .calls()
        .iter()
        .rev()
        .filter(|c| c.method == "sendMessage" && c.body["chat_id"] == chat)
        .flat_map(|c| {
            c.body["reply_markup"]["inline_keyboard"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .find(|b| b["text"].as_str().is_some_and(|t| t.contains(label)))
        .and_then(|b| b["callback_data"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no «{label}» for {chat}"))
}

#[tokio::test]
async fn hold_confirm_cancel_and_stop_are_published_as_valid_events() {
    let dir = tempfile::tempdir().unwrap();
    let telegram = FakeTelegram::start("7:BOT").unwrap();
    let bot = TelegramBot::new(telegram.base_url(), "7:BOT");
    let repos = reminded(dir.path(), &bot).await;
    let tomorrow = NaiveDate::from_ymd_opt(2027, 11, 2).unwrap();
    repos
        .capacity
        .define_slot(tomorrow, "10:00", 1)
        .await
        .unwrap();
    let events = CollectedEvents::default();
    let deps = deps(&repos, bot, app::Events::new(events.clone()));
    let now = at("2027-11-01T10:05:00+03:00");
    let mut update = 10;
    let mut post = |body: fn(i64, i64, &str) -> Vec<u8>, chat: i64, data: String| {
        update += 1;
        let request = body(update, chat, &data);
        let deps = &deps;
        async move {
            let reply = handle(deps, &headers(), &request, now).await;
            assert_eq!(reply.status, 200, "{data}: {}", reply.body);
        }
    };

    post(
        press,
        CUSTOMER_CHAT,
        button(&telegram, CUSTOMER_CHAT, "Записаться"),
    )
    .await;
    assert_eq!(events.names(), Vec::<&str>::new(), "the picker is no event");
    post(
        press,
        CUSTOMER_CHAT,
        button(&telegram, CUSTOMER_CHAT, "10:00"),
    )
    .await;
    let confirm = button(&telegram, ADVISOR_CHAT, "Подтвердить");
    post(press, ADVISOR_CHAT, confirm.clone()).await;
    post(press, ADVISOR_CHAT, confirm).await;
    post(
        press,
        CUSTOMER_CHAT,
        button(&telegram, CUSTOMER_CHAT, "Отменить"),
    )
    .await;
    post(say, CUSTOMER_CHAT, "STOP".into()).await;

    let published = events.take();
    let names: Vec<&str> = published.iter().map(|e| e.name()).collect();
    assert_eq!(
        names,
        [
            "BookingHeld",
            "BookingConfirmed",
            "BookingConfirmed",
            "BookingCancelled",
            "OptedOut"
        ]
    );
    assert_eq!(
        published[1].event_id, published[2].event_id,
        "a repeated confirmation, the same id"
    );
    for event in &published {
        let detail = event.detail();
        assert_eq!(
            app::event_schemas::detail_errors(event.name(), &detail),
            Vec::<String>::new(),
            "{detail}"
        );
        assert_eq!(detail["customer_id"], published[0].detail()["customer_id"]);
    }
    assert_eq!(published[3].detail()["by"], "customer");
    assert_eq!(published[4].detail()["scope"], "all");
}

/// A hold whose replies cannot be delivered (the Bot API refuses them) is still published:
/// the store changed, and a retry of the update would find the slot held and publish nothing.
#[tokio::test]
async fn a_hold_is_published_even_when_its_replies_fail() {
    let dir = tempfile::tempdir().unwrap();
    let telegram = FakeTelegram::start("7:BOT").unwrap();
    let good = TelegramBot::new(telegram.base_url(), "7:BOT");
    let repos = reminded(dir.path(), &good).await;
    let tomorrow = NaiveDate::from_ymd_opt(2027, 11, 2).unwrap();
    repos
        .capacity
        .define_slot(tomorrow, "10:00", 1)
        .await
        .unwrap();
    let events = CollectedEvents::default();
    let deps = |bot| deps(&repos, bot, app::Events::new(events.clone()));
    let now = at("2027-11-01T10:05:00+03:00");
    let book = press(
        11,
        CUSTOMER_CHAT,
        &button(&telegram, CUSTOMER_CHAT, "Записаться"),
    );
    let up = deps(good);
    assert_eq!(handle(&up, &headers(), &book, now).await.status, 200);
    let slot = press(
        12,
        CUSTOMER_CHAT,
        &button(&telegram, CUSTOMER_CHAT, "10:00"),
    );
    let down = deps(TelegramBot::new(telegram.base_url(), "7:REVOKED"));
    let reply = handle(&down, &headers(), &slot, now).await;
    assert_ne!(reply.status, 200, "the replies could not be sent");
    assert_eq!(events.names(), ["BookingHeld"]);
}
