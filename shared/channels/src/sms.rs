//! A generic HTTP SMS gateway: `POST {base}/messages` with `Authorization: Bearer <API key>` and
//! `{"from": <sender name>, "to": <E.164>, "text": ...}`; a 2xx answer carries `{"id": ...}`.
//! Texts over two segments are refused before sending.

use anyhow::{anyhow, bail, Context};
use app::sms_text::{segments, MAX_SEGMENTS};
use domain::PhoneE164;
use serde::Deserialize;
use serde_json::json;

/// Whether `name` is a sender name gateways take: 1 to 11 Latin letters, digits, spaces, `-`,
/// `.` or `_`, not only digits.
pub fn is_sender_name(name: &str) -> bool {
    (1..=11).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b" -._".contains(&b))
        && !name.bytes().all(|b| b.is_ascii_digit())
}

/// The gateway. `Debug` hides the API key.
#[derive(Clone)]
pub struct SmsGateway {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
    sender: String,
}

impl std::fmt::Debug for SmsGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsGateway")
            .field("base_url", &self.base_url)
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
struct Sent {
    id: String,
}

impl SmsGateway {
    pub fn new(
        base_url: impl Into<String>,
        api_key: impl Into<String>,
        sender: impl Into<String>,
    ) -> Self {
        SmsGateway {
            http: reqwest::Client::new(),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            api_key: api_key.into(),
            sender: sender.into(),
        }
    }

    /// Sends `text` to `to`; returns the gateway's message id.
    pub async fn send_sms(&self, to: &PhoneE164, text: &str) -> anyhow::Result<String> {
        let parts = segments(text);
        if parts > MAX_SEGMENTS {
            bail!("SMS of {parts} segments refused (at most {MAX_SEGMENTS})");
        }
        let response = self
            .http
            .post(format!("{}/messages", self.base_url))
            .bearer_auth(&self.api_key)
            .json(&json!({"from": self.sender, "to": to.as_str(), "text": text}))
            .send()
            .await
            .context("SMS gateway: request failed")?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            let why: String = body.chars().take(200).collect();
            return Err(anyhow!("SMS gateway: HTTP {status}: {why}"));
        }
        let sent: Sent = response
            .json()
            .await
            .with_context(|| format!("SMS gateway: unreadable reply ({status})"))?;
        Ok(sent.id)
    }
}
