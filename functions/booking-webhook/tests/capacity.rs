//! Workshop capacity through the Telegram webhook: the advisors close a day from their chat,
//! slots come from the policy alone, and a lapsed hold cannot be confirmed.

mod common;

use booking_webhook::handle;
use channels::fake_telegram::FakeTelegram;
use channels::TelegramBot;
use common::{at, deps, headers, reminded, ADVISOR_CHAT, CUSTOMER_CHAT};
use serde_json::json;
use store::repo::BookingState;

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
    let telegram = FakeTelegram::start("7:BOT").unwrap();
    let bot = TelegramBot::new(telegram.base_url(), "7:BOT");
    let repos = reminded(dir.path(), &bot).await;
    let book = telegram.calls()[0].body["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        .as_str()
        .unwrap()
        .to_owned();
    let deps = deps(&repos, bot, app::Events::none());
    let last_to = |chat: i64| common::last_to(&telegram, chat);
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
