//! The Telegram Bot API: `sendMessage` with inline keyboards and `answerCallbackQuery`.

use anyhow::{anyhow, bail, Context};
use app::ports::{Address, Channel, OutgoingMessage};
use serde::Deserialize;
use serde_json::json;

/// The official Bot API.
pub const DEFAULT_BASE_URL: &str = "https://api.telegram.org";

/// A bot. `Debug` hides the token.
#[derive(Clone)]
pub struct TelegramBot {
    http: reqwest::Client,
    base_url: String,
    token: String,
}

impl std::fmt::Debug for TelegramBot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramBot")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
struct ApiReply<T> {
    ok: bool,
    result: Option<T>,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SentMessage {
    message_id: i64,
}

impl TelegramBot {
    /// A bot at `base_url` (the official API or a test server).
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> Self {
        TelegramBot {
            http: reqwest::Client::new(),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            token: token.into(),
        }
    }

    async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        method: &str,
        body: serde_json::Value,
    ) -> anyhow::Result<T> {
        let url = format!("{}/bot{}/{method}", self.base_url, self.token);
        let response = self
            .http
            .post(url)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("Telegram {method}: request failed"))?;
        let status = response.status();
        let reply: ApiReply<T> = response
            .json()
            .await
            .with_context(|| format!("Telegram {method}: unreadable reply ({status})"))?;
        match (reply.ok, reply.result) {
            (true, Some(result)) => Ok(result),
            _ => bail!(
                "Telegram {method}: {status} {}",
                reply.description.unwrap_or_default()
            ),
        }
    }

    /// `sendMessage` with an inline keyboard; returns the message id. The message must be
    /// addressed to a Telegram chat.
    pub async fn send_message(&self, message: &OutgoingMessage) -> anyhow::Result<i64> {
        let Address::Telegram(chat_id) = message.to else {
            return Err(anyhow!(
                "Telegram sendMessage: {} is not a Telegram chat",
                message.to
            ));
        };
        let mut body = json!({"chat_id": chat_id, "text": message.text});
        if !message.buttons.is_empty() {
            body["reply_markup"] = json!({"inline_keyboard": message.buttons});
        }
        let sent: SentMessage = self.call("sendMessage", body).await?;
        Ok(sent.message_id)
    }

    /// `answerCallbackQuery`: stops the button's spinner, optionally with a short notice.
    pub async fn answer_callback_query(
        &self,
        callback_query_id: &str,
        text: Option<&str>,
    ) -> anyhow::Result<()> {
        let mut body = json!({"callback_query_id": callback_query_id});
        if let Some(text) = text {
            body["text"] = text.into();
        }
        let _: bool = self.call("answerCallbackQuery", body).await?;
        Ok(())
    }
}

impl Channel for TelegramBot {
    async fn send(&self, message: &OutgoingMessage) -> anyhow::Result<String> {
        Ok(self.send_message(message).await?.to_string())
    }
}
