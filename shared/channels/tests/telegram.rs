//! The Bot API client against the fake server.

use app::ports::{Address, Button, Channel, OutgoingMessage};
use channels::fake_telegram::FakeTelegram;
use channels::TelegramBot;

#[tokio::test]
async fn a_message_with_a_button_arrives_in_the_documented_shape() {
    let server = FakeTelegram::start("123:ABC").unwrap();
    let bot = TelegramBot::new(server.base_url(), "123:ABC");
    let message = OutgoingMessage {
        to: Address::Telegram(5550001),
        text: "Михаил, пора на ТО.".into(),
        buttons: vec![vec![Button {
            text: "Записаться".into(),
            callback_data: "book:offer-1".into(),
        }]],
    };
    let id = bot.send(&message).await.unwrap();
    assert_eq!(id, "1");
    bot.answer_callback_query("cb-1", Some("Готово"))
        .await
        .unwrap();
    let calls = server.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].method, "sendMessage");
    assert_eq!(calls[0].body["chat_id"], 5550001);
    assert_eq!(
        calls[0].body["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
        "book:offer-1"
    );
    assert_eq!(calls[1].method, "answerCallbackQuery");
    assert!(server.rejected().is_empty());
}

#[tokio::test]
async fn a_refused_request_is_an_error_and_a_wrong_token_is_refused() {
    let server = FakeTelegram::start("123:ABC").unwrap();
    let bot = TelegramBot::new(server.base_url(), "999:WRONG");
    let message = OutgoingMessage {
        to: Address::Telegram(1),
        text: "x".into(),
        buttons: vec![],
    };
    assert!(bot.send(&message).await.is_err());
    let good = TelegramBot::new(server.base_url(), "123:ABC");
    let empty = OutgoingMessage {
        to: Address::Telegram(1),
        text: String::new(),
        buttons: vec![],
    };
    assert!(good.send(&empty).await.is_err());
    assert_eq!(server.rejected().len(), 2);
    assert!(server.calls().is_empty());
}
