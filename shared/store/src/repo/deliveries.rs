//! What became of each sent message: sent, delivered, read (each only after the one before; a
//! late or repeated status changes nothing) and failed, as the messenger reports it. One item
//! per message (`DELIVERY#<messenger>#<message key>` / `DELIVERY`), ids only; listed per
//! customer for the KPIs.

use chrono::{DateTime, Duration, Utc};

use super::{epoch, integer, item_key, query_all, string};
use crate::expr::{Condition, Update};
use crate::item::{Item, Key};
use crate::port::{Query, Store, StoreError};
use crate::table::{GSI1, TTL};

const ENTITY_NAME: &str = "delivery";
const RANK: &str = "rank";
const FAILED_AT: &str = "failed_at";
const OFFER_ID: &str = "offer_id";

/// How long a status for a message no offer claims is kept (a reply the webhook sent, or a
/// status that came before the send was noted).
const UNCLAIMED_DAYS: i64 = 30;

fn delivery_key(messenger: &str, message_key: &str) -> Key {
    Key::new(format!("DELIVERY#{messenger}#{message_key}"), "DELIVERY")
}

/// How far a message got. Ordered: a status only ever moves to a later one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeliveryStatus {
    /// The messenger accepted it.
    Sent,
    /// It reached the customer's device.
    Delivered,
    /// The customer opened it.
    Read,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 3] = [
        DeliveryStatus::Sent,
        DeliveryStatus::Delivered,
        DeliveryStatus::Read,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
        }
    }

    fn rank(self) -> i64 {
        match self {
            DeliveryStatus::Sent => 1,
            DeliveryStatus::Delivered => 2,
            DeliveryStatus::Read => 3,
        }
    }

    fn of_rank(rank: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.rank() == rank)
    }

    /// The attribute holding when the message reached this status.
    fn at_attribute(self) -> &'static str {
        match self {
            DeliveryStatus::Sent => "sent_at",
            DeliveryStatus::Delivered => "delivered_at",
            DeliveryStatus::Read => "read_at",
        }
    }
}

/// A message sent for an offer, to note.
#[derive(Debug, Clone, Copy)]
pub struct NewDelivery<'a> {
    /// `telegram`, `whatsapp`, `sms`.
    pub messenger: &'a str,
    /// What the messenger's status reports will name the message by (WhatsApp's `wamid`), or
    /// the offer id where none come.
    pub message_key: &'a str,
    pub offer_id: &'a str,
    pub customer_id: &'a str,
    pub at: DateTime<Utc>,
    /// `Sent`, or `Delivered` where the messenger's acceptance means delivery.
    pub status: DeliveryStatus,
}

/// A noted message with how far it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDelivery {
    pub offer_id: String,
    pub messenger: String,
    /// `None` when only a failure was reported.
    pub status: Option<DeliveryStatus>,
    pub failed_at: Option<DateTime<Utc>>,
}

impl StoredDelivery {
    /// Reached the device (or was read).
    pub fn delivered(&self) -> bool {
        self.status >= Some(DeliveryStatus::Delivered)
    }

    pub fn read(&self) -> bool {
        self.status >= Some(DeliveryStatus::Read)
    }

    /// Reported failed and never delivered.
    pub fn failed(&self) -> bool {
        self.failed_at.is_some() && !self.delivered()
    }
}

/// Delivery statuses of sent messages.
#[derive(Clone)]
pub struct Deliveries<S> {
    store: S,
}

fn instant(item: &Item, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    match item.get(name).and_then(|v| v.as_s()) {
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|t| Some(t.to_utc()))
            .map_err(|e| StoreError::malformed(&item_key(item), e)),
        None => Ok(None),
    }
}

fn stored(item: &Item) -> Result<StoredDelivery, StoreError> {
    let status = match item.get(RANK) {
        Some(_) => DeliveryStatus::of_rank(integer(item, RANK)?),
        None => None,
    };
    Ok(StoredDelivery {
        offer_id: string(item, OFFER_ID)?,
        messenger: string(item, "messenger")?,
        status,
        failed_at: instant(item, FAILED_AT)?,
    })
}

impl<S: Store> Deliveries<S> {
    pub fn new(store: S) -> Self {
        Deliveries { store }
    }

    /// Notes that a message went out for an offer, at `status`. Idempotent; a status reported
    /// before the note (the webhook was quicker) is kept when it is further along.
    pub async fn note_sent(&self, d: &NewDelivery<'_>) -> Result<(), StoreError> {
        let claim = Update::new(delivery_key(d.messenger, d.message_key))
            .set(super::ENTITY, ENTITY_NAME)
            .set(OFFER_ID, d.offer_id)
            .set("customer_id", d.customer_id)
            .set("messenger", d.messenger)
            .set(GSI1.pk, format!("CUST#{}", d.customer_id))
            .set(GSI1.sk, format!("DELIV#{}", d.offer_id))
            .remove(TTL);
        self.store.update(claim).await?;
        self.advance(d.messenger, d.message_key, d.status, d.at)
            .await
            .map(drop)
    }

    /// Moves the message to `status` at `at` unless it got as far already; true when it moved.
    /// A status for a message not noted (yet) is kept for a while, unclaimed.
    pub async fn advance(
        &self,
        messenger: &str,
        message_key: &str,
        status: DeliveryStatus,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let further = Condition::NotExists(RANK.into()).or(Condition::lt(RANK, status.rank()));
        let update = Update::new(delivery_key(messenger, message_key))
            .set(RANK, status.rank())
            .set(status.at_attribute(), at.to_rfc3339());
        self.apply(update, further, messenger, at).await
    }

    /// Records that the messenger reported the message failed (the first report is kept);
    /// true the first time.
    pub async fn fail(
        &self,
        messenger: &str,
        message_key: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let update =
            Update::new(delivery_key(messenger, message_key)).set(FAILED_AT, at.to_rfc3339());
        let first = Condition::NotExists(FAILED_AT.into());
        self.apply(update, first, messenger, at).await
    }

    /// Applies a status change when `condition` holds: to a message an offer claims as it is,
    /// else to an unclaimed one that expires unless an offer claims it. False when `condition`
    /// does not hold.
    async fn apply(
        &self,
        update: Update,
        condition: Condition,
        messenger: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let claimed = update
            .clone()
            .when(condition.clone().and(Condition::Exists(OFFER_ID.into())));
        match self.store.update(claimed).await {
            Ok(_) => return Ok(true),
            Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e),
        }
        let unclaimed = update
            .set(super::ENTITY, ENTITY_NAME)
            .set("messenger", messenger)
            .set(TTL, epoch(at + Duration::days(UNCLAIMED_DAYS)))
            .when(condition.and(Condition::NotExists(OFFER_ID.into())));
        match self.store.update(unclaimed).await {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The offer a message was sent for, once noted.
    pub async fn get(
        &self,
        messenger: &str,
        message_key: &str,
    ) -> Result<Option<StoredDelivery>, StoreError> {
        match self
            .store
            .get(&delivery_key(messenger, message_key))
            .await?
        {
            Some(item) if item.contains_key(OFFER_ID) => stored(&item).map(Some),
            _ => Ok(None),
        }
    }

    /// The noted messages of a customer, by offer id.
    pub async fn for_customer(&self, customer_id: &str) -> Result<Vec<StoredDelivery>, StoreError> {
        let q = Query::partition(format!("CUST#{customer_id}"))
            .on_index(GSI1.name)
            .begins_with("DELIV#");
        let items = query_all(&self.store, q).await?;
        items.iter().map(stored).collect()
    }
}
