//! Composing and sending one stage's message: price the offer, render the Russian text, then
//! the outbox (create once, lease, send, mark sent) so a message goes out at most once.

use chrono::{DateTime, Duration, Utc};
use domain::policy::Policy;
use domain::pricing::{price_offer, Offer, OfferInput};
use domain::render::{render_message, MessageContext};
use domain::status::{age_band, customer_status};
use domain::triggers::{Reason, Stage};
use domain::{Customer, Vehicle, Visit};
use serde::{Deserialize, Serialize};
use store::repo::{Claim, NewOffer, Repos};
use store::{Store, StoreError};

use crate::messages::ComposeOffer;
use crate::ports::{Address, Button, Channel, OutgoingMessage};

/// The label of the booking button.
pub const BOOK_BUTTON: &str = "Записаться";
/// Callback data of the booking button: `book:<offer id>`.
pub const BOOK_PREFIX: &str = "book:";

/// How long a sender holds an offer before another may take over.
pub const SEND_LEASE_SECONDS: i64 = 60;

/// An offer as kept in the outbox and the customer's history (no personal data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfferRecord {
    pub cycle_id: String,
    pub stage: Stage,
    pub reason: Reason,
    pub send_at: DateTime<Utc>,
    pub priced: Option<Offer>,
}

/// What composing did.
#[derive(Debug, Clone, PartialEq)]
pub enum ComposeOutcome {
    /// Sent now, with the messenger's message id.
    Sent { message_id: String },
    /// This offer was sent before; nothing was sent again.
    AlreadySent,
    /// Too early (quiet hours): hand it back until `send_at`.
    NotYet { send_at: DateTime<Utc> },
    /// No channel this system can send the customer's message through.
    NoChannel,
    /// The customer said STOP after the message was queued: nothing is sent.
    OptedOut,
}

/// Why composing failed.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// The message names data the store does not have: retrying does not help.
    #[error("{0}")]
    Unknown(String),
    /// Another sender holds the offer's lease; retry later.
    #[error("offer {0} is being sent by another sender")]
    Busy(String),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// The messenger failed; the lease was given back, retry later.
    #[error("channel: {0:#}")]
    Channel(anyhow::Error),
}

/// Composes and sends the stage's message at `now` as `sender` (the invocation's id).
pub async fn compose_and_send<S: Store, C: Channel>(
    repos: &Repos<S>,
    policy: &Policy,
    channel: &C,
    message: &ComposeOffer,
    sender: &str,
    now: DateTime<Utc>,
) -> Result<ComposeOutcome, ComposeError> {
    let ComposeOffer::V1 {
        offer_id,
        vin,
        customer_id,
        cycle_id,
        stage,
        reason,
        send_at,
    } = message;
    if *send_at > now {
        return Ok(ComposeOutcome::NotYet { send_at: *send_at });
    }
    let stored = repos
        .customers
        .get::<Customer>(customer_id)
        .await?
        .ok_or_else(|| ComposeError::Unknown(format!("customer {customer_id} not found")))?;
    if stored.opted_out() {
        tracing::info!(offer_id = %offer_id, customer_id = %customer_id, "opted out");
        return Ok(ComposeOutcome::OptedOut);
    }
    let customer = stored.profile;
    let Some(chat_id) = customer.telegram_chat_id else {
        tracing::info!(offer_id = %offer_id, customer_id = %customer_id, "no channel");
        return Ok(ComposeOutcome::NoChannel);
    };
    let vehicle = repos
        .vehicles
        .get::<Vehicle>(vin)
        .await?
        .ok_or_else(|| ComposeError::Unknown(format!("vehicle {vin} not found")))?
        .vehicle;
    let priced = if stage.is_offer() {
        price(repos, policy, &vehicle, customer_id, now).await?
    } else {
        None
    };
    let record = OfferRecord {
        cycle_id: cycle_id.clone(),
        stage: *stage,
        reason: reason.clone(),
        send_at: *send_at,
        priced,
    };
    repos
        .offers
        .create(&NewOffer {
            offer_id,
            customer_id,
            vin,
            created_at: now,
            offer: &record,
        })
        .await?;
    let lease = Duration::seconds(SEND_LEASE_SECONDS);
    match repos
        .offers
        .claim::<OfferRecord>(offer_id, sender, now, lease)
        .await?
    {
        Claim::Claimed(_) => {}
        Claim::AlreadySent => return Ok(ComposeOutcome::AlreadySent),
        Claim::Busy => return Err(ComposeError::Busy(offer_id.clone())),
        Claim::Missing => return Err(ComposeError::Unknown(format!("offer {offer_id} vanished"))),
    }
    let car = format!("{} {}", vehicle.make().as_str(), vehicle.model().as_str());
    let text = render_message(&MessageContext {
        first_name: customer.first_name.as_str(),
        car: &car,
        stage: *stage,
        reason,
        offer: record.priced.as_ref(),
        time_zone: policy.time_zone(),
    });
    let outgoing = OutgoingMessage {
        to: Address::Telegram(chat_id.get()),
        text,
        buttons: buttons(*stage, offer_id),
    };
    match channel.send(&outgoing).await {
        Ok(message_id) => {
            repos.offers.mark_sent(offer_id, sender, now).await?;
            tracing::info!(offer_id = %offer_id, vehicle_id = %vin, %stage, "offer sent");
            Ok(ComposeOutcome::Sent { message_id })
        }
        Err(e) => {
            repos.offers.release(offer_id, sender).await?;
            Err(ComposeError::Channel(e))
        }
    }
}

fn buttons(stage: Stage, offer_id: &str) -> Vec<Vec<Button>> {
    match stage {
        Stage::SoftReminder
        | Stage::PersonalOffer
        | Stage::CriticalOffer
        | Stage::SeasonalTires => {
            vec![vec![Button {
                text: BOOK_BUTTON.into(),
                callback_data: format!("{BOOK_PREFIX}{offer_id}"),
            }]]
        }
        Stage::AskOdometer | Stage::SatisfactionRequest => vec![],
    }
}

async fn price<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    vehicle: &Vehicle,
    customer_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<Offer>, ComposeError> {
    let today = now.with_timezone(&policy.time_zone()).date_naive();
    let visits = repos.visits.for_customer::<Visit>(customer_id).await?;
    let days: Vec<_> = visits
        .iter()
        .map(|v| v.closed_on)
        .filter(|d| *d <= today)
        .collect();
    let status = customer_status(&days, false, today, policy.thresholds());
    let band = age_band(vehicle.first_registration(), today, policy.age_bands());
    let last_maintenance = visits
        .iter()
        .rev()
        .filter(|v| v.vin == vehicle.vin().as_str())
        .find(|v| v.visit.kind().is_scheduled_maintenance());
    let input = OfferInput {
        status,
        age_band: band,
        make: vehicle.make().as_str(),
        model: vehicle.model().as_str(),
        last_maintenance: last_maintenance.map_or(&[][..], |v| v.visit.lines()),
        at: now,
    };
    match price_offer(policy, &input) {
        Ok(offer) => Ok(Some(offer)),
        Err(e) => {
            tracing::warn!(vehicle_id = %vehicle.vin().as_str(), error = %e, "offer not priced");
            Ok(None)
        }
    }
}
