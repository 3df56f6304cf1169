//! Messengers the customer is reached through: the Telegram Bot API, the WhatsApp Cloud API,
//! the console (local runs), and fake API servers that check and record requests (tests).

mod fake_http;
pub mod fake_telegram;
pub mod fake_whatsapp;
pub mod telegram;
pub mod whatsapp;

pub use telegram::TelegramBot;
pub use whatsapp::{WhatsAppCloud, WhatsAppError};

use app::ports::{Channel, OutgoingMessage};
use std::sync::atomic::{AtomicU64, Ordering};

/// Prints messages to stdout (local runs; never in Lambda, texts carry personal data).
#[derive(Debug, Default)]
pub struct ConsoleChannel {
    next_id: AtomicU64,
}

impl Channel for ConsoleChannel {
    async fn send(&self, message: &OutgoingMessage) -> anyhow::Result<String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        println!("[{}] {}", message.to, message.text);
        for row in &message.buttons {
            let labels: Vec<&str> = row.iter().map(|b| b.text.as_str()).collect();
            println!("    [{}]", labels.join("] ["));
        }
        Ok(id.to_string())
    }
}
