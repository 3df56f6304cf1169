//! `offer-composer`: consumes compose messages and sends each through the customer's channel
//! (Telegram, else WhatsApp, else SMS with a booking link; see `app::outreach`) at most once
//! (outbox lease per offer id). The same queue carries the day-before reminders of confirmed
//! bookings from the nightly run (`app::booking::reminder`), each sent once per hold. A message
//! decided inside quiet hours is handed back to the queue, invisible until its send time;
//! failures are partial batch failures. Each batch writes its sends and the messengers'
//! failures as metrics (`lambda_support::metrics`).

pub mod config;

use std::future::Future;

use app::booking::reminder::{send_reminder, ReminderOutcome};
use app::campaigns::Switches;
use app::messages::{ComposeOffer, RemindBooking};
use app::outreach::Outreach;
use app::{ComposeError, ComposeOutcome, ComposeSettings};
use chrono::{DateTime, Utc};
use domain::policy::Policy;
use lambda_support::aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_support::metrics::{self, Dimension, Dims, Metric};
use lambda_support::{batch_response, RecordError};
use store::repo::Repos;
use store::Store;

/// Hands a received message back to its queue for a while.
pub trait Postpone: Send + Sync + 'static {
    /// Makes the message invisible for `seconds` (at most 12 hours).
    fn postpone(
        &self,
        record: &SqsMessage,
        seconds: i32,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// SQS's longest visibility timeout.
pub const MAX_POSTPONE_SECONDS: i64 = 12 * 3600;

/// What the handler needs, built once per cold start.
pub struct Deps<S, C, P> {
    pub repos: Repos<S>,
    pub policy: Policy,
    /// The channels messages go through ([`channels::Channels`] in Lambda).
    pub channel: C,
    /// WhatsApp template names and the SMS booking links.
    pub compose: ComposeSettings,
    pub postpone: P,
    /// Where OfferSent goes (the stack's event bus).
    pub events: app::Events,
}

/// Handles a batch at `now` as `sender` (the invocation's request id). Offers are priced
/// without the offer rules switched off as stored now (read once per batch). The batch's metrics
/// are written once, before it returns.
pub async fn handle<S: Store, C: Outreach, P: Postpone>(
    deps: &Deps<S, C, P>,
    event: SqsEvent,
    sender: &str,
    now: DateTime<Utc>,
) -> SqsBatchResponse {
    metrics::invocation(handle_batch(deps, event, sender, now)).await
}

async fn handle_batch<S: Store, C: Outreach, P: Postpone>(
    deps: &Deps<S, C, P>,
    event: SqsEvent,
    sender: &str,
    now: DateTime<Utc>,
) -> SqsBatchResponse {
    let mut outcomes = Vec::with_capacity(event.records.len());
    match Switches::load(&deps.repos).await {
        Ok(switches) => {
            let pricing = switches.pricing_policy(&deps.policy);
            for record in &event.records {
                outcomes.push(handle_record(deps, &pricing, record, sender, now).await);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "campaign switches unreadable: the batch is retried");
            for _ in &event.records {
                outcomes.push(Err(RecordError::Retry(anyhow::anyhow!(
                    "campaign switches: {e}"
                ))));
            }
        }
    }
    batch_response(&event, outcomes)
}

async fn handle_record<S: Store, C: Outreach, P: Postpone>(
    deps: &Deps<S, C, P>,
    pricing: &Policy,
    record: &SqsMessage,
    sender: &str,
    now: DateTime<Utc>,
) -> Result<(), RecordError> {
    let body = record.body.as_deref().unwrap_or_default();
    if let Ok(reminder) = RemindBooking::from_json(body) {
        return handle_reminder(deps, record, &reminder, sender, now).await;
    }
    let message =
        ComposeOffer::from_json(body).map_err(|e| RecordError::Rejected(e.to_string()))?;
    let outcome = app::compose_and_deliver(
        &deps.repos,
        pricing,
        &deps.channel,
        &deps.compose,
        &message,
        sender,
        now,
    )
    .await;
    let ComposeOffer::V1 { stage, .. } = &message;
    match &outcome {
        Ok(ComposeOutcome::Sent { channel, rule, .. }) => count_send(
            Metric::MessagesSent,
            stage.as_str(),
            channel,
            rule.as_deref(),
        ),
        Err(ComposeError::Channel { channel, .. }) => {
            count_send(Metric::SendFailures, stage.as_str(), channel, None)
        }
        _ => {}
    }
    let outcome = outcome.map_err(record_error)?;
    match outcome {
        // Published again for a message sent before (the same event id): a retry after a
        // failed publish repairs it.
        ComposeOutcome::Sent { .. } | ComposeOutcome::AlreadySent => {
            let event = app::BusinessEvent::offer_sent(&message, now);
            deps.events.publish(&[event]).await?;
            Ok(())
        }
        ComposeOutcome::NoChannel
        | ComposeOutcome::NoConsent
        | ComposeOutcome::OptedOut
        | ComposeOutcome::Stale
        | ComposeOutcome::SwitchedOff => Ok(()),
        ComposeOutcome::NotYet { send_at } => postpone(deps, record, send_at, now).await,
    }
}

/// Hands the record back until `send_at` (a retry that is no failure of the message).
async fn postpone<S, C, P: Postpone>(
    deps: &Deps<S, C, P>,
    record: &SqsMessage,
    send_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), RecordError> {
    let seconds = (send_at - now).num_seconds().clamp(1, MAX_POSTPONE_SECONDS);
    deps.postpone.postpone(record, seconds as i32).await?;
    Err(RecordError::Postponed(format!(
        "not before {send_at}; postponed {seconds} s"
    )))
}

async fn handle_reminder<S: Store, C: Outreach, P: Postpone>(
    deps: &Deps<S, C, P>,
    record: &SqsMessage,
    reminder: &RemindBooking,
    sender: &str,
    now: DateTime<Utc>,
) -> Result<(), RecordError> {
    let outcome = send_reminder(
        &deps.repos,
        &deps.policy,
        &deps.channel,
        reminder,
        sender,
        now,
    )
    .await;
    match &outcome {
        Ok(ReminderOutcome::Sent { channel, .. }) => {
            count_send(Metric::MessagesSent, REMINDER_STAGE, channel, None)
        }
        Err(ComposeError::Channel { channel, .. }) => {
            count_send(Metric::SendFailures, REMINDER_STAGE, channel, None)
        }
        _ => {}
    }
    let outcome = outcome.map_err(record_error)?;
    match outcome {
        ReminderOutcome::Sent { .. }
        | ReminderOutcome::AlreadySent
        | ReminderOutcome::Stale
        | ReminderOutcome::NotReachable => Ok(()),
        ReminderOutcome::NotYet { send_at } => postpone(deps, record, send_at, now).await,
    }
}

/// The `Stage` dimension of the day-before reminders of bookings.
pub const REMINDER_STAGE: &str = "booking_reminder";

/// Counts a message sent (or failed by its messenger) of `stage` through `channel`.
fn count_send(metric: Metric, stage: &str, channel: &str, rule: Option<&str>) {
    let dims = Dims::new()
        .with(Dimension::Stage, stage)
        .with(Dimension::Channel, channel)
        .with_opt(Dimension::Rule, rule);
    metrics::count(metric, dims, 1);
}

/// The one place compose errors become record outcomes.
fn record_error(e: ComposeError) -> RecordError {
    match e {
        ComposeError::Unknown(_) => RecordError::Rejected(e.to_string()),
        ComposeError::Busy(_) | ComposeError::Store(_) | ComposeError::Channel { .. } => {
            RecordError::Retry(anyhow::anyhow!("{e}"))
        }
    }
}

/// Postpones through SQS `ChangeMessageVisibility` on the record's own queue.
#[derive(Debug, Clone)]
pub struct SqsPostpone {
    pub client: lambda_support::aws_sdk_sqs::Client,
}

/// The queue URL of an SQS ARN (`arn:aws:sqs:<region>:<account>:<name>`).
pub fn queue_url_of(arn: &str, endpoint: Option<&str>) -> Option<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let [_, _, "sqs", region, account, name] = parts.as_slice() else {
        return None;
    };
    Some(match endpoint {
        Some(base) => format!("{}/{account}/{name}", base.trim_end_matches('/')),
        None => format!("https://sqs.{region}.amazonaws.com/{account}/{name}"),
    })
}

impl Postpone for SqsPostpone {
    async fn postpone(&self, record: &SqsMessage, seconds: i32) -> anyhow::Result<()> {
        let arn = record.event_source_arn.as_deref().unwrap_or_default();
        let url =
            queue_url_of(arn, None).ok_or_else(|| anyhow::anyhow!("record without a queue ARN"))?;
        self.client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(record.receipt_handle.as_deref().unwrap_or_default())
            .visibility_timeout(seconds)
            .send()
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_arn_gives_its_url() {
        assert_eq!(
            queue_url_of(
                "arn:aws:sqs:eu-central-1:123456789012:autodrive-dev-compose",
                None
            )
            .as_deref(),
            Some("https://sqs.eu-central-1.amazonaws.com/123456789012/autodrive-dev-compose")
        );
        assert_eq!(queue_url_of("not-an-arn", None), None);
    }
}
