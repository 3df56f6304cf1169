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
