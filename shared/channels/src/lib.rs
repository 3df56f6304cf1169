//! Messengers the customer is reached through: the Telegram Bot API, the WhatsApp Cloud API, an
//! HTTP SMS gateway, the console (local runs), and fake API servers that check and record
//! requests (tests).

mod fake_http;
pub mod fake_sms;
pub mod fake_telegram;
pub mod fake_whatsapp;
pub mod sms;
pub mod telegram;
pub mod whatsapp;

pub use sms::SmsGateway;
pub use telegram::TelegramBot;
pub use whatsapp::{WhatsAppCloud, WhatsAppError};

use anyhow::anyhow;
use app::outreach::{Delivery, Outreach, Reach};
use app::ports::{Address, Channel, OutgoingMessage};
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

/// The channels of a deployment; the ones not configured are `None` and never chosen.
#[derive(Debug, Default)]
pub struct Channels {
    pub telegram: Option<TelegramBot>,
    pub whatsapp: Option<WhatsAppCloud>,
    pub sms: Option<SmsGateway>,
}

impl Outreach for Channels {
    fn reach(&self) -> Reach {
        Reach {
            telegram: self.telegram.is_some(),
            whatsapp: self.whatsapp.is_some(),
            sms: self.sms.is_some(),
        }
    }

    async fn deliver(&self, delivery: &Delivery) -> anyhow::Result<String> {
        let missing = |name| anyhow!("{name} is not configured");
        match delivery {
            Delivery::Message(message) => match &message.to {
                Address::Telegram(_) => {
                    let bot = self.telegram.as_ref().ok_or_else(|| missing("Telegram"))?;
                    bot.send(message).await
                }
                Address::WhatsApp(_) => {
                    let cloud = self.whatsapp.as_ref().ok_or_else(|| missing("WhatsApp"))?;
                    cloud.send(message).await
                }
                Address::Sms(to) => {
                    let sms = self.sms.as_ref().ok_or_else(|| missing("SMS"))?;
                    sms.send_sms(to, &app::sms_text::fit_sms(&message.text))
                        .await
                }
            },
            Delivery::Template { to, template } => {
                let cloud = self.whatsapp.as_ref().ok_or_else(|| missing("WhatsApp"))?;
                Ok(cloud.send_template(to, template).await?)
            }
            Delivery::Sms { to, text } => {
                let sms = self.sms.as_ref().ok_or_else(|| missing("SMS"))?;
                sms.send_sms(to, text).await
            }
        }
    }
}
