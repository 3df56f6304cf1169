//! Where `serve` sends messages: the real Telegram Bot API, WhatsApp Cloud API and SMS gateway
//! when they are configured, else the console (a local run prints what would go out).

use app::outreach::{Delivery, Outreach, Reach};
use app::ports::{Address, Channel, OutgoingMessage};
use booking_webhook::{TelegramOut, WhatsAppOut};
use channels::{ConsoleChannel, SmsGateway, TelegramBot, WhatsAppCloud};

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

/// What the composer sends through: each channel's API when configured, else the console.
pub struct Outbound {
    pub telegram: Telegram,
    pub whatsapp: WhatsApp,
    pub sms: Option<SmsGateway>,
    pub console: ConsoleChannel,
}

impl Outreach for Outbound {
    fn reach(&self) -> Reach {
        Reach {
            telegram: true,
            whatsapp: true,
            sms: true,
        }
    }

    async fn deliver(&self, delivery: &Delivery) -> anyhow::Result<String> {
        match delivery {
            Delivery::Message(message) => match &message.to {
                Address::Telegram(_) => self.telegram.send(message).await,
                Address::WhatsApp(_) => match &self.whatsapp {
                    WhatsApp::Api(client) => Ok(client.send_message(message).await?),
                    WhatsApp::Console { console, .. } => console.send(message).await,
                },
                Address::Sms(to) => self.sms_or_console(to, &message.text).await,
            },
            Delivery::Template { to, template } => match &self.whatsapp {
                WhatsApp::Api(client) => Ok(client.send_template(to, template).await?),
                WhatsApp::Console { console, .. } => {
                    let text =
                        format!("[template {}] {}", template.name, template.body.join(" | "));
                    console
                        .send(&OutgoingMessage::text(Address::WhatsApp(to.clone()), text))
                        .await
                }
            },
            Delivery::Sms { to, text } => self.sms_or_console(to, text).await,
        }
    }
}

impl Outbound {
    async fn sms_or_console(&self, to: &domain::PhoneE164, text: &str) -> anyhow::Result<String> {
        match &self.sms {
            Some(gateway) => gateway.send_sms(to, text).await,
            None => {
                self.console
                    .send(&OutgoingMessage::text(Address::Sms(to.clone()), text))
                    .await
            }
        }
    }
}
