//! Where `serve` sends messages: the real Telegram Bot API and WhatsApp Cloud API when they are
//! configured, else the console (a local run prints what would go out).

use app::ports::{Channel, OutgoingMessage};
use booking_webhook::{TelegramOut, WhatsAppOut};
use channels::{ConsoleChannel, TelegramBot, WhatsAppCloud};

/// Telegram: the Bot API or the console.
pub enum Telegram {
    Api(TelegramBot),
    Console(ConsoleChannel),
}

/// WhatsApp: the Cloud API or the console.
pub enum WhatsApp {
    Api(WhatsAppCloud),
    Console {
        phone_number_id: String,
        console: ConsoleChannel,
    },
}

impl TelegramOut for Telegram {
    async fn send_message(&self, message: &OutgoingMessage) -> anyhow::Result<()> {
        match self {
            Telegram::Api(bot) => bot.send_message(message).await.map(drop),
            Telegram::Console(console) => console.send(message).await.map(drop),
        }
    }

    async fn answer_callback_query(&self, id: &str, text: Option<&str>) -> anyhow::Result<()> {
        match self {
            Telegram::Api(bot) => bot.answer_callback_query(id, text).await,
            Telegram::Console(_) => Ok(()),
        }
    }
}

impl Channel for Telegram {
    async fn send(&self, message: &OutgoingMessage) -> anyhow::Result<String> {
        match self {
            Telegram::Api(bot) => bot.send(message).await,
            Telegram::Console(console) => console.send(message).await,
        }
    }
}

impl WhatsAppOut for WhatsApp {
    fn phone_number_id(&self) -> &str {
        match self {
            WhatsApp::Api(client) => client.phone_number_id(),
            WhatsApp::Console {
                phone_number_id, ..
            } => phone_number_id,
        }
    }

    async fn send_message(&self, message: &OutgoingMessage) -> anyhow::Result<()> {
        match self {
            WhatsApp::Api(client) => Ok(client.send_message(message).await.map(drop)?),
            WhatsApp::Console { console, .. } => console.send(message).await.map(drop),
        }
    }
}
