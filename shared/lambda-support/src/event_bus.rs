//! Business events onto the stack's EventBridge bus: `PutEvents` in batches of ten, entries that
//! come back with an error code retried (bounded, with backoff), source `autodrive`, detail-type
//! the event's name, detail its JSON (ids only).

use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use app::events::{BoxFuture, BusinessEvent, EventSink, SOURCE};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

/// Most entries one `PutEvents` takes.
pub const MAX_BATCH: usize = 10;
/// Tries per batch (the first and the retries of what failed).
pub const MAX_TRIES: u32 = 4;

/// The stack's event bus.
#[derive(Clone, Debug)]
pub struct EventBus {
    client: aws_sdk_eventbridge::Client,
    bus_name: String,
    backoff: Duration,
}

impl EventBus {
    pub fn new(client: aws_sdk_eventbridge::Client, bus_name: impl Into<String>) -> Self {
        EventBus {
            client,
            bus_name: bus_name.into(),
            backoff: Duration::from_millis(100),
        }
    }

    /// The bus named by `EVENT_BUS_NAME`.
    pub fn from_env(config: &aws_config::SdkConfig) -> Result<Self, crate::ConfigError> {
        let name = crate::required("EVENT_BUS_NAME")?;
        Ok(Self::new(aws_sdk_eventbridge::Client::new(config), name))
    }

    /// The first wait between tries (doubled each time).
    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    fn entry(&self, event: &BusinessEvent) -> anyhow::Result<PutEventsRequestEntry> {
        let time =
            aws_sdk_eventbridge::primitives::DateTime::from_secs(event.occurred_at.timestamp());
        Ok(PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus_name)
            .source(SOURCE)
            .detail_type(event.name())
            .detail(serde_json::to_string(&event.detail())?)
            .time(time)
            .build())
    }

    /// Puts every event, ten per request; the entries a request refused are put again up to
    /// [`MAX_TRIES`] times, then it fails naming how many were not accepted.
    pub async fn put_all(&self, events: &[BusinessEvent]) -> anyhow::Result<()> {
        for chunk in events.chunks(MAX_BATCH) {
            let mut pending: Vec<&BusinessEvent> = chunk.iter().collect();
            let mut wait = self.backoff;
            for attempt in 1..=MAX_TRIES {
                let entries = pending
                    .iter()
                    .map(|e| self.entry(e))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let sent = self
                    .client
                    .put_events()
                    .set_entries(Some(entries))
                    .send()
                    .await;
                let out = match sent {
                    Ok(out) => out,
                    Err(e) if attempt < MAX_TRIES => {
                        tracing::warn!(error = %aws_sdk_eventbridge::error::DisplayErrorContext(&e), attempt, "PutEvents failed, retrying");
                        tokio::time::sleep(wait).await;
                        wait *= 2;
                        continue;
                    }
                    Err(e) => return Err(e).context("PutEvents"),
                };
                let failed: Vec<&BusinessEvent> = if out.failed_entry_count() == 0 {
                    Vec::new()
                } else {
                    pending
                        .iter()
                        .zip(out.entries())
                        .filter(|(_, result)| result.error_code().is_some())
                        .map(|(event, _)| *event)
                        .collect()
                };
                if failed.is_empty() {
                    pending.clear();
                    break;
                }
                for event in &failed {
                    tracing::warn!(event_id = %event.event_id, detail_type = event.name(), attempt, "event refused by the bus");
                }
                pending = failed;
                if attempt < MAX_TRIES {
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
            }
            if !pending.is_empty() {
                bail!(
                    "{} events were not accepted by bus {} after {MAX_TRIES} tries",
                    pending.len(),
                    self.bus_name
                );
            }
        }
        Ok(())
    }
}

impl EventSink for EventBus {
    fn publish<'a>(&'a self, events: &'a [BusinessEvent]) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            self.put_all(events)
                .await
                .map_err(|e| anyhow!("publishing {} events: {e:#}", events.len()))
        })
    }
}
