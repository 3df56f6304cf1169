//! Delivery statuses of the messages the composer sends: noted at the send (a Telegram message
//! the Bot API accepted counts as delivered: Telegram reports nothing later; WhatsApp and SMS
//! start as sent), then moved on by WhatsApp's status webhooks (sent < delivered < read, never
//! back; a failure is recorded once). A message read on WhatsApp is also the customer's `read`
//! reaction to the stage.

use chrono::{DateTime, Utc};
use domain::triggers::Reaction;
use store::repo::{DeliveryStatus, NewDelivery, Repos};
use store::{Store, StoreError};

use crate::compose::OfferRecord;
use crate::evaluate::record_reaction;
use crate::outreach::Route;
use crate::ports::Messenger;

/// A status a messenger reported for a message it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportedStatus {
    Sent,
    Delivered,
    Read,
    Failed,
}

impl ReportedStatus {
    /// WhatsApp's `statuses[].status`; other values (`deleted`, `warning`) carry nothing here.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "sent" => Some(ReportedStatus::Sent),
            "delivered" => Some(ReportedStatus::Delivered),
            "read" => Some(ReportedStatus::Read),
            "failed" => Some(ReportedStatus::Failed),
            _ => None,
        }
    }
}

/// What noting a reported status did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusOutcome {
    /// The message moved on (or its failure was recorded).
    Recorded,
    /// The message got this far before, or the status came late: nothing changed.
    Unchanged,
}

fn messenger_of(route: &Route) -> Messenger {
    match route {
        Route::Telegram(_) => Messenger::Telegram,
        Route::WhatsAppSession(_) | Route::WhatsAppTemplate(_) => Messenger::WhatsApp,
        Route::Sms(_) => Messenger::Sms,
    }
}

/// Notes the message the composer just sent for `offer_id` through `route`. Never fails the
/// send: a storage error is logged and the message counts as not delivered.
pub(crate) async fn note_sent<S: Store>(
    repos: &Repos<S>,
    route: &Route,
    offer_id: &str,
    customer_id: &str,
    message_id: &str,
    at: DateTime<Utc>,
) {
    let messenger = messenger_of(route);
    let (message_key, status) = match messenger {
        Messenger::Telegram => (offer_id, DeliveryStatus::Delivered),
        Messenger::WhatsApp => (message_id, DeliveryStatus::Sent),
        Messenger::Sms => (offer_id, DeliveryStatus::Sent),
    };
    let noted = repos
        .deliveries
        .note_sent(&NewDelivery {
            messenger: messenger.as_str(),
            message_key,
            offer_id,
            customer_id,
            at,
            status,
        })
        .await;
    if let Err(e) = noted {
        tracing::warn!(offer_id = %offer_id, error = %e, "delivery not noted");
    }
}

/// Records a status `messenger` reported at `at` for its message `message_id`.
pub async fn record_status<S: Store>(
    repos: &Repos<S>,
    messenger: Messenger,
    message_id: &str,
    status: ReportedStatus,
    at: DateTime<Utc>,
) -> Result<StatusOutcome, StoreError> {
    let name = messenger.as_str();
    let moved = match status {
        ReportedStatus::Sent => {
            repos
                .deliveries
                .advance(name, message_id, DeliveryStatus::Sent, at)
                .await?
        }
        ReportedStatus::Delivered => {
            repos
                .deliveries
                .advance(name, message_id, DeliveryStatus::Delivered, at)
                .await?
        }
        ReportedStatus::Read => {
            repos
                .deliveries
                .advance(name, message_id, DeliveryStatus::Read, at)
                .await?
        }
        ReportedStatus::Failed => repos.deliveries.fail(name, message_id, at).await?,
    };
    if moved && status == ReportedStatus::Read {
        if let Some(delivery) = repos.deliveries.get(name, message_id).await? {
            if let Some(offer) = repos.offers.get::<OfferRecord>(&delivery.offer_id).await? {
                record_reaction(
                    repos,
                    &offer.vin,
                    &offer.offer.cycle_id,
                    offer.offer.stage,
                    Reaction::Read,
                    at,
                )
                .await?;
            }
        }
    }
    tracing::info!(messenger = name, moved, status = ?status, "delivery status");
    Ok(if moved {
        StatusOutcome::Recorded
    } else {
        StatusOutcome::Unchanged
    })
}
