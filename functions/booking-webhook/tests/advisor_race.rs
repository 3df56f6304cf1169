//! The advisor's «Подтвердить» and «Отменить» pressed at the same instant, through the webhook
//! (`booking_webhook::handle`, what the Lambda and `serve` run): the customer must never read
//! «подтверждена» after «отменена». The confirmation's reply is held in flight while the cancel
//! arrives; the cancel waits (409, Telegram delivers it again) until the confirmation's replies
//! went out, so the customer reads them in the order the store changed.

mod common;

use std::sync::Arc;

use app::ports::OutgoingMessage;
use booking_webhook::{handle, Deps, TelegramOut};
use channels::fake_telegram::FakeTelegram;
use channels::TelegramBot;
use common::{at, headers, reminded, ADVISOR_CHAT, CUSTOMER_CHAT};
use store::repo::BookingState;
use tokio::sync::Notify;

fn press(update_id: i64, chat_id: i64, data: &str) -> Vec<u8> {
    lambda_support::test_events::telegram_callback(update_id, chat_id, data)
}

/// The bot, except that the customer's «подтверждена» waits for `release` once it is in
/// flight (and says so on `in_flight`).
#[derive(Clone)]
struct SlowConfirmation {
    bot: TelegramBot,
    in_flight: Arc<Notify>,
    release: Arc<Notify>,
}

impl TelegramOut for SlowConfirmation {
    async fn send_message(&self, message: &OutgoingMessage) -> anyhow::Result<()> {
        let to_customer = message.to == app::ports::Address::Telegram(CUSTOMER_CHAT);
        if to_customer && message.text.contains("подтверждена") {
            self.in_flight.notify_one();
            self.release.notified().await;
        }
        TelegramOut::send_message(&self.bot, message).await
    }

    async fn answer_callback_query(&self, id: &str, text: Option<&str>) -> anyhow::Result<()> {
        TelegramOut::answer_callback_query(&self.bot, id, text).await
    }
}

#[tokio::test]
async fn a_cancel_pressed_while_the_confirmation_goes_out_is_told_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let telegram = FakeTelegram::start("7:BOT").unwrap();
    let bot = TelegramBot::new(telegram.base_url(), "7:BOT");
    let repos = reminded(dir.path(), &bot).await;
    let keyboard =
        |chat: i64| common::last_to(&telegram, chat)["reply_markup"]["inline_keyboard"].clone();
    let data = |keyboard: &serde_json::Value, row: usize, col: usize| {
        keyboard[row][col]["callback_data"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let slow = SlowConfirmation {
        bot: bot.clone(),
        in_flight: Arc::new(Notify::new()),
        release: Arc::new(Notify::new()),
    };
    let plain = common::deps(&repos, bot, app::Events::none());
    let deps = Arc::new(Deps {
        repos: plain.repos.clone(),
        policy: plain.policy.clone(),
        bot: slow.clone(),
        whatsapp: plain.whatsapp,
        settings: plain.settings.clone(),
        webhook_secret: plain.webhook_secret.clone(),
        sms: None,
        links: None,
        events: app::Events::none(),
    });
    let now = at("2027-11-01T10:05:00+03:00");
    let book = data(&keyboard(CUSTOMER_CHAT), 0, 0);
    assert_eq!(
        handle(&*deps, &headers(), &press(1, CUSTOMER_CHAT, &book), now)
            .await
            .status,
        200
    );
    let slot = data(&keyboard(CUSTOMER_CHAT), 0, 0);
    assert_eq!(
        handle(&*deps, &headers(), &press(2, CUSTOMER_CHAT, &slot), now)
            .await
            .status,
        200
    );
    let card = keyboard(ADVISOR_CHAT);
    let (confirm, cancel) = (data(&card, 0, 0), data(&card, 1, 1));
    assert!(card[1][1]["text"] == "Отменить", "{card}");

    let confirming = tokio::spawn({
        let deps = Arc::clone(&deps);
        let body = press(3, ADVISOR_CHAT, &confirm);
        async move { handle(&*deps, &headers(), &body, now).await }
    });
    slow.in_flight.notified().await;
    // The confirmation is stored and its reply in flight: the cancel waits for it.
    let early = handle(&*deps, &headers(), &press(4, ADVISOR_CHAT, &cancel), now).await;
    assert_eq!(early.status, 409, "{}", early.body);
    slow.release.notify_one();
    assert_eq!(confirming.await.unwrap().status, 200);
    // Telegram delivers the refused update again; now it goes through.
    let again = handle(&*deps, &headers(), &press(4, ADVISOR_CHAT, &cancel), now).await;
    assert_eq!(again.status, 200, "{}", again.body);

    let told: Vec<String> = telegram
        .calls()
        .into_iter()
        .filter(|c| c.method == "sendMessage" && c.body["chat_id"] == CUSTOMER_CHAT)
        .map(|c| c.body["text"].as_str().unwrap().to_owned())
        .collect();
    let confirmed = told.iter().position(|t| t.contains("подтверждена"));
    let cancelled = told.iter().position(|t| t.contains("запись отменена"));
    assert!(
        matches!((confirmed, cancelled), (Some(a), Some(b)) if a < b),
        "the customer reads the cancel last: {told:?}"
    );
    let bookings = repos
        .capacity
        .bookings_of_customer::<app::booking::BookingRecord>("C-1001")
        .await
        .unwrap();
    assert_eq!(bookings[0].state, BookingState::Cancelled);
    assert!(telegram.rejected().is_empty());
}
