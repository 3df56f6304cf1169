//! Workshop capacity through the Telegram webhook: the advisors close a day from their chat,
//! slots come from the policy alone, and a lapsed hold cannot be confirmed.

mod common;

use app::BookingSettings;
use booking_webhook::{handle, Deps, WhatsApp};
use channels::fake_telegram::FakeTelegram;
use channels::{TelegramBot, WhatsAppCloud};
use common::{at, test_store};
use domain::policy::Policy;
use lambda_http::http::HeaderMap;
use serde_json::json;
use store::repo::{BookingState, Repos};

const CUSTOMER_CHAT: i64 = 5550001;
const ADVISOR_CHAT: i64 = -100777;
const SECRET: &str = "telegram-webhook-secret";

fn headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(booking_webhook::SECRET_HEADER, SECRET.parse().unwrap());
    h
}

fn press(update_id: i64, chat_id: i64, data: &str) -> Vec<u8> {
    lambda_support::test_events::telegram_callback(update_id, chat_id, data)
}

fn say(update_id: i64, chat_id: i64, text: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "update_id": update_id,
        "message": {"message_id": update_id, "chat": {"id": chat_id, "type": "group"}, "text": text}
    }))
    .unwrap()
}

#[tokio::test]
async fn advisors_close_a_day_in_their_chat_and_a_lapsed_hold_is_refused_through_the_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let repos = Repos::new(test_store(dir.path()));
    let telegram = FakeTelegram::start("7:BOT").unwrap();
    let bot = TelegramBot::new(telegram.base_url(), "7:BOT");
    let policy = Policy::default();
    let sent_at = at("2027-11-01T10:00:00+03:00");
    let evaluation = app::fixtures::example_visit_evaluated(&repos, &policy, sent_at)
        .await
        .unwrap();
    app::compose_and_send(&repos, &policy, &bot, &evaluation.compose[0], "t", sent_at)
        .await
        .unwrap();
    let book = telegram.calls()[0].body["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        .as_str()
        .unwrap()
        .to_owned();
    let deps = Deps {
        repos: repos.clone(),
        policy,
        bot,
        settings: BookingSettings {
            advisor_chat_id: ADVISOR_CHAT,
            max_slots_shown: 6,
        },
        whatsapp: WhatsApp {
            client: WhatsAppCloud::new("http://127.0.0.1:9", "106540352242922", "token"),
            app_secret: "app-secret".into(),
            verify_token: "verify".into(),
        },
        webhook_secret: SECRET.into(),
        sms: None,
        links: None,
        events: app::Events::none(),
    };
    let last_to = |chat: i64| {
        telegram
            .calls()
            .into_iter()
            .rev()
            .find(|c| c.method == "sendMessage" && c.body["chat_id"] == chat)
            .expect("a message to the chat")
            .body
    };
    let now = at("2027-11-01T10:05:00+03:00");

    let reply = handle(
        &deps,
        &headers(),
        &say(1, ADVISOR_CHAT, "/close 2027-11-02"),
        now,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let answer = last_to(ADVISOR_CHAT);
    assert!(answer["text"]
        .as_str()
        .unwrap()
        .contains("02.11.2027 закрыт для записи"));
    let by_customer = handle(
        &deps,
        &headers(),
        &say(2, CUSTOMER_CHAT, "/open 2027-11-02"),
        now,
    )
    .await;
    assert_eq!(by_customer.status, 403);

    let reply = handle(&deps, &headers(), &press(3, CUSTOMER_CHAT, &book), now).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let picker = last_to(CUSTOMER_CHAT);
    let first = &picker["reply_markup"]["inline_keyboard"][0][0];
    assert_eq!(
        first["text"], "03.11 09:00",
        "slots from the policy; 2 November is closed"
    );
    let slot = first["callback_data"].as_str().unwrap().to_owned();

    let reply = handle(&deps, &headers(), &press(4, CUSTOMER_CHAT, &slot), now).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let confirm = last_to(ADVISOR_CHAT)["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        .as_str()
        .unwrap()
        .to_owned();
    let late = at("2027-11-01T10:36:00+03:00");
    let reply = handle(&deps, &headers(), &press(5, ADVISOR_CHAT, &confirm), late).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(last_to(ADVISOR_CHAT)["text"]
        .as_str()
        .unwrap()
        .contains("истекла"));
    let asked = last_to(CUSTOMER_CHAT);
    assert!(asked["text"]
        .as_str()
        .unwrap()
        .contains("не была подтверждена вовремя"));
    assert_eq!(
        asked["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
        book
    );
    let bookings = repos
        .capacity
        .bookings_of_customer::<app::booking::BookingRecord>("C-1001")
        .await
        .unwrap();
    assert_eq!(bookings[0].state, BookingState::Lapsed);
    let day = repos
        .capacity
        .slots_on("2027-11-03".parse().unwrap())
        .await
        .unwrap();
    assert_eq!((day[0].capacity, day[0].remaining), (4, 4));
    assert!(telegram.rejected().is_empty());
}
