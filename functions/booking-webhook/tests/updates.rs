//! The Telegram webhook with raw update bodies, against the fake Bot API.

mod common;

use booking_webhook::handle;
use channels::fake_telegram::FakeTelegram;
use channels::TelegramBot;
use chrono::NaiveDate;
use common::{at, deps, test_store, ADVISOR_CHAT, CUSTOMER_CHAT, SECRET};
use domain::policy::Policy;
use lambda_http::http::HeaderMap;
use store::repo::{BookingState, Repos};
use store::RedbStore;

fn headers(secret: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(booking_webhook::SECRET_HEADER, secret.parse().unwrap());
    h
}

fn press(update_id: i64, chat_id: i64, data: &str) -> Vec<u8> {
    lambda_support::test_events::telegram_callback(update_id, chat_id, data)
}

/// A store where the reminder with «Записаться» went out; returns its callback data.
async fn reminded(repos: &Repos<RedbStore>, telegram: &FakeTelegram, bot: &TelegramBot) -> String {
    let policy = Policy::default();
    let now = at("2027-11-01T10:00:00+03:00");
    let evaluation = app::fixtures::example_visit_evaluated(repos, &policy, now)
        .await
        .unwrap();
    app::compose_and_send(repos, &policy, bot, &evaluation.compose[0], "t", now)
        .await
        .unwrap();
    telegram.calls()[0].body["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_booking_flow_through_the_webhook_sends_each_reply_once() {
    let dir = tempfile::tempdir().unwrap();
    let repos = Repos::new(test_store(dir.path()));
    let telegram = FakeTelegram::start("7:BOT").unwrap();
    let bot = TelegramBot::new(telegram.base_url(), "7:BOT");
    let book = reminded(&repos, &telegram, &bot).await;
    let tomorrow = NaiveDate::from_ymd_opt(2027, 11, 2).unwrap();
    repos
        .capacity
        .define_slot(tomorrow, "10:00", 1)
        .await
        .unwrap();
    let deps = deps(&repos, bot, app::Events::none());
    let now = at("2027-11-01T10:05:00+03:00");

    let reply = handle(
        &deps,
        &headers(SECRET),
        &press(10, CUSTOMER_CHAT, &book),
        now,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let picker = telegram.calls().last().cloned().unwrap();
    assert_eq!(picker.method, "answerCallbackQuery");
    let calls = telegram.calls();
    let slot = calls[calls.len() - 2].body["reply_markup"]["inline_keyboard"][0][0]
        ["callback_data"]
        .as_str()
        .unwrap()
        .to_owned();

    let reply = handle(
        &deps,
        &headers(SECRET),
        &press(11, CUSTOMER_CHAT, &slot),
        now,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let advisor = telegram
        .calls()
        .into_iter()
        .find(|c| c.body["chat_id"] == ADVISOR_CHAT)
        .unwrap();
    let confirm = advisor.body["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = telegram.calls().len();
    let replay = handle(
        &deps,
        &headers(SECRET),
        &press(11, CUSTOMER_CHAT, &slot),
        now,
    )
    .await;
    assert_eq!(replay.status, 200);
    assert_eq!(
        telegram.calls().len(),
        before,
        "a repeated update sends nothing"
    );

    let by_customer = handle(
        &deps,
        &headers(SECRET),
        &press(12, CUSTOMER_CHAT, &confirm),
        now,
    )
    .await;
    // Refused, and answered: in the chat and on the button.
    assert_eq!(by_customer.status, 200, "{}", by_customer.body);
    let calls = telegram.calls();
    let [refusal, toast] = &calls[calls.len() - 2..] else {
        unreachable!()
    };
    assert_eq!(refusal.body["chat_id"], CUSTOMER_CHAT);
    assert!(refusal.body["text"]
        .as_str()
        .unwrap()
        .contains("не для вас"));
    assert_eq!(toast.method, "answerCallbackQuery");
    let reply = handle(
        &deps,
        &headers(SECRET),
        &press(13, ADVISOR_CHAT, &confirm),
        now,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(telegram
        .calls()
        .iter()
        .any(|c| c.body["chat_id"] == CUSTOMER_CHAT
            && c.body["text"].as_str().unwrap().contains("подтверждена")));
    let booking = repos
        .capacity
        .booking::<app::booking::BookingRecord>(
            confirm.trim_start_matches("c:").split(':').next().unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(booking.state, BookingState::Confirmed);
    assert!(telegram.rejected().is_empty());
}

#[tokio::test]
async fn a_wrong_secret_gets_401_and_an_unreadable_update_gets_422() {
    let dir = tempfile::tempdir().unwrap();
    let repos = Repos::new(test_store(dir.path()));
    let telegram = FakeTelegram::start("7:BOT").unwrap();
    let deps = deps(
        &repos,
        TelegramBot::new(telegram.base_url(), "7:BOT"),
        app::Events::none(),
    );
    let now = at("2027-11-01T10:05:00+03:00");
    let body = press(1, CUSTOMER_CHAT, "book:o0000000000000000");
    assert_eq!(
        handle(&deps, &headers("wrong"), &body, now).await.status,
        401
    );
    assert_eq!(
        handle(&deps, &HeaderMap::new(), &body, now).await.status,
        401
    );
    assert_eq!(handle(&deps, &headers(SECRET), b"{", now).await.status, 422);
    assert!(telegram.calls().is_empty());
    // A press of a garbled or unknown button is refused, and answered with why.
    let garbled = press(2, CUSTOMER_CHAT, "s:nonsense");
    assert_eq!(
        handle(&deps, &headers(SECRET), &garbled, now).await.status,
        200
    );
    assert_eq!(
        handle(&deps, &headers(SECRET), &body, now).await.status,
        200
    );
    let calls = telegram.calls();
    let methods: Vec<&str> = calls.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(
        methods,
        [
            "sendMessage",
            "answerCallbackQuery",
            "sendMessage",
            "answerCallbackQuery"
        ]
    );
    assert!(calls[2].body["text"].as_str().unwrap().contains("устарело"));
    assert!(calls[3].body["text"].as_str().unwrap().contains("устарело"));
    // A press without data (a game button, a client's bug) is answered too: the customer's
    // client would spin until answerCallbackQuery.
    let mut no_data: serde_json::Value =
        serde_json::from_slice(&press(3, CUSTOMER_CHAT, "x")).unwrap();
    no_data["callback_query"]
        .as_object_mut()
        .unwrap()
        .remove("data");
    let no_data = serde_json::to_vec(&no_data).unwrap();
    assert_eq!(
        handle(&deps, &headers(SECRET), &no_data, now).await.status,
        200
    );
    let answered = telegram.calls().pop().unwrap();
    assert_eq!(answered.method, "answerCallbackQuery");
    assert!(answered.body["text"]
        .as_str()
        .unwrap()
        .contains("не работает"));
    // Nor is a press whose message Telegram no longer sends (too old): it is answered as from
    // the presser's private chat; and button data with a NUL is no id of ours.
    for (update_id, data) in [(4, "book:o0000000000000000"), (5, "book:o1\u{0}")] {
        let mut old: serde_json::Value =
            serde_json::from_slice(&press(update_id, CUSTOMER_CHAT, data)).unwrap();
        let query = old["callback_query"].as_object_mut().unwrap();
        query.remove("message");
        query.insert(
            "from".into(),
            serde_json::json!({"id": CUSTOMER_CHAT, "is_bot": false}),
        );
        let old = serde_json::to_vec(&old).unwrap();
        let reply = handle(&deps, &headers(SECRET), &old, now).await;
        assert_eq!(reply.status, 200, "{data:?}: {}", reply.body);
        let answered = telegram.calls().pop().unwrap();
        assert_eq!(answered.method, "answerCallbackQuery", "{data:?}");
    }
}
