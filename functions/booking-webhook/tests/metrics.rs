//! The metric lines `booking_webhook::handle_request` writes: a slot held counts
//! `BookingsHeld`, the advisor's confirmation `BookingsConfirmed`, the customer's cancellation
//! `BookingsCancelled`, each by the messenger the customer booked through and only once.

mod common;

use booking_webhook::{handle_request, Deps};
use channels::fake_telegram::FakeTelegram;
use channels::TelegramBot;
use chrono::{DateTime, Utc};
use common::{at, deps, reminded, ADVISOR_CHAT, CUSTOMER_CHAT, SECRET};
use lambda_support::metrics::capture;
use serde_json::Value;
use store::RedbStore;

/// A button press through API Gateway, as the Lambda runtime hands it over.
fn press(update_id: i64, chat_id: i64, data: &str) -> lambda_http::Request {
    let body = lambda_support::test_events::telegram_callback(update_id, chat_id, data);
    lambda_support::test_events::http_api_event(
        "POST",
        booking_webhook::TELEGRAM_PATH,
        "",
        &[(booking_webhook::SECRET_HEADER, SECRET)],
        &body,
    )
}

/// The request's metric lines, parsed, checked to be EMF in the Autodrive namespace.
async fn metric_lines(
    deps: &Deps<RedbStore>,
    request: lambda_http::Request,
    now: DateTime<Utc>,
) -> Vec<Value> {
    let (response, lines) = capture(handle_request(deps, request, now)).await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
    lines
        .iter()
        .map(|l| {
            let line: Value = serde_json::from_str(l).unwrap();
            let directive = &line["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(directive["Namespace"], "Autodrive");
            assert_eq!(
                directive["Dimensions"],
                serde_json::json!([["Channel"], []])
            );
            for metric in directive["Metrics"].as_array().unwrap() {
                assert!(line[metric["Name"].as_str().unwrap()].is_number(), "{line}");
            }
            line
        })
        .collect()
}

#[tokio::test]
async fn booking_webhook_handle_request_counts_a_hold_its_confirmation_and_its_cancellation() {
    let dir = tempfile::tempdir().unwrap();
    let telegram = FakeTelegram::start("7:BOT").unwrap();
    let bot = TelegramBot::new(telegram.base_url(), "7:BOT");
    let repos = reminded(dir.path(), &bot).await;
    let button = |chat: i64, row: usize| {
        common::last_to(&telegram, chat)["reply_markup"]["inline_keyboard"][row][0]["callback_data"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let book = button(CUSTOMER_CHAT, 0);
    let deps = deps(&repos, bot, app::Events::none());
    let now = at("2027-11-01T10:05:00+03:00");

    let opened = metric_lines(&deps, press(1, CUSTOMER_CHAT, &book), now).await;
    assert!(opened.is_empty(), "the slot picker changes no booking");
    let slot = button(CUSTOMER_CHAT, 0);

    let held = metric_lines(&deps, press(2, CUSTOMER_CHAT, &slot), now).await;
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["BookingsHeld"], 1);
    assert_eq!(held[0]["Channel"], "telegram");
    let again = metric_lines(&deps, press(2, CUSTOMER_CHAT, &slot), now).await;
    assert!(again.is_empty(), "the same update again: {again:?}");

    let confirm = button(ADVISOR_CHAT, 0);
    let confirmed = metric_lines(&deps, press(3, ADVISOR_CHAT, &confirm), now).await;
    assert_eq!(confirmed.len(), 1, "{confirmed:?}");
    assert_eq!(confirmed[0]["BookingsConfirmed"], 1);
    assert_eq!(
        confirmed[0]["Channel"], "telegram",
        "the customer's messenger, not the advisors' chat"
    );
    // A second «Подтвердить» (another update) repeats the event for the bus, not the count.
    let twice = metric_lines(&deps, press(30, ADVISOR_CHAT, &confirm), now).await;
    assert!(twice.is_empty(), "a repeated confirmation: {twice:?}");

    let rows = telegram
        .calls()
        .into_iter()
        .rev()
        .find(|c| c.method == "sendMessage" && c.body["chat_id"] == CUSTOMER_CHAT)
        .unwrap()
        .body["reply_markup"]["inline_keyboard"][0]
        .as_array()
        .unwrap()
        .clone();
    let cancel = rows
        .iter()
        .find(|b| b["text"].as_str().unwrap().contains("Отменить"))
        .expect("a cancel button under the confirmation")["callback_data"]
        .as_str()
        .unwrap()
        .to_owned();
    let cancelled = metric_lines(&deps, press(4, CUSTOMER_CHAT, &cancel), now).await;
    assert_eq!(cancelled.len(), 1, "{cancelled:?}");
    assert_eq!(cancelled[0]["BookingsCancelled"], 1);
    assert_eq!(cancelled[0]["Channel"], "telegram");
}
