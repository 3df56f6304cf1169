//! Small ports the use cases' callers hand messages to.

use std::future::Future;
use std::sync::Mutex;

/// Where versioned messages go next (an SQS queue in Lambda, a vector in process).
pub trait Outbound: Send + Sync + 'static {
    /// Sends every body or fails (the caller retries; consumers are idempotent).
    fn send(&self, bodies: Vec<String>) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Collects messages in memory (local runs and tests).
#[derive(Debug, Default)]
pub struct Collected(Mutex<Vec<String>>);

impl Collected {
    /// Every message sent so far, removed.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Outbound for Collected {
    async fn send(&self, bodies: Vec<String>) -> anyhow::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(bodies);
        Ok(())
    }
}

/// A button under a message; `callback_data` comes back when the customer presses it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Button {
    pub text: String,
    pub callback_data: String,
}

/// A message to one chat, with rows of buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub chat_id: i64,
    pub text: String,
    pub buttons: Vec<Vec<Button>>,
}

/// A messenger the customer is reached through.
pub trait Channel: Send + Sync + 'static {
    /// Sends the message; returns the messenger's message id. An error means it was not sent
    /// (as far as the sender can tell) and may be retried.
    fn send(
        &self,
        message: &OutgoingMessage,
    ) -> impl Future<Output = anyhow::Result<String>> + Send;
}
