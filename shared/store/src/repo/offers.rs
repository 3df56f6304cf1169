//! Offers and the send outbox: PENDING → SENDING (leased to one sender) → SENT, by conditional
//! updates, so an offer is sent at most once however many senders run.

use chrono::{DateTime, Duration, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{data, epoch, query_all, string, with_data};
use crate::expr::{Condition, Update};
use crate::item::{Item, Key};
use crate::port::{Query, Store, StoreError};
use crate::table::{GSI1, GSI2};

const OFFER: &str = "offer";
const STATE: &str = "state";
const LEASE_OWNER: &str = "lease_owner";
const LEASE_UNTIL: &str = "lease_until";
const OUTBOX: &str = "OUTBOX";
const SENT_AT: &str = "sent_at";

fn offer_key(offer_id: &str) -> Key {
    Key::new(format!("OFFER#{offer_id}"), "OFFER")
}

/// Where an offer is in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferState {
    Pending,
    Sending,
    Sent,
}

impl OfferState {
    fn as_str(self) -> &'static str {
        match self {
            OfferState::Pending => "PENDING",
            OfferState::Sending => "SENDING",
            OfferState::Sent => "SENT",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [OfferState::Pending, OfferState::Sending, OfferState::Sent]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// An offer to put in the outbox.
#[derive(Debug, Clone, Copy)]
pub struct NewOffer<'a, P> {
    pub offer_id: &'a str,
    pub customer_id: &'a str,
    pub vin: &'a str,
    pub created_at: DateTime<Utc>,
    pub offer: &'a P,
}

/// A stored offer with its outbox state.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredOffer<P> {
    pub offer_id: String,
    pub customer_id: String,
    pub vin: String,
    pub state: OfferState,
    /// Sender holding the lease while `Sending`, or the one that sent it.
    pub sender: Option<String>,
    /// When the offer was put in the outbox.
    pub created_at: Option<DateTime<Utc>>,
    /// When it was sent (`Sent` only).
    pub sent_at: Option<DateTime<Utc>>,
    pub offer: P,
}

/// What claiming an offer for sending did.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim<P> {
    /// This sender holds the lease now and may send the offer.
    Claimed(P),
    /// Another sender holds an unexpired lease.
    Busy,
    /// The offer was sent already.
    AlreadySent,
    /// No such offer.
    Missing,
}

fn instant(item: &Item, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    match item.get(name).and_then(|v| v.as_s()) {
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|t| Some(t.to_utc()))
            .map_err(|e| StoreError::malformed(&super::item_key(item), e)),
        None => Ok(None),
    }
}

fn stored_offer<P: DeserializeOwned>(item: &Item) -> Result<StoredOffer<P>, StoreError> {
    let state = string(item, STATE)?;
    Ok(StoredOffer {
        offer_id: string(item, "offer_id")?,
        customer_id: string(item, "customer_id")?,
        vin: string(item, "vin")?,
        state: OfferState::parse(&state).ok_or_else(|| {
            StoreError::malformed(&super::item_key(item), format!("state {state}"))
        })?,
        sender: item
            .get(LEASE_OWNER)
            .and_then(|v| v.as_s())
            .map(str::to_owned),
        created_at: instant(item, "created_at")?,
        sent_at: instant(item, SENT_AT)?,
        offer: data(item)?,
    })
}

/// Offers, their history per customer, and the outbox of unsent ones.
#[derive(Clone)]
pub struct Offers<S> {
    store: S,
}

impl<S: Store> Offers<S> {
    pub fn new(store: S) -> Self {
        Offers { store }
    }

    /// Puts a new offer in the outbox (PENDING); returns false when the id exists already.
    pub async fn create<P: Serialize>(&self, offer: &NewOffer<'_, P>) -> Result<bool, StoreError> {
        let created = offer.created_at.to_rfc3339();
        let mut item = with_data(&offer_key(offer.offer_id), OFFER, offer.offer)?;
        item.insert("offer_id".into(), offer.offer_id.into());
        item.insert("customer_id".into(), offer.customer_id.into());
        item.insert("vin".into(), offer.vin.into());
        item.insert("created_at".into(), created.clone().into());
        item.insert(STATE.into(), OfferState::Pending.as_str().into());
        item.insert(GSI1.pk.into(), format!("CUST#{}", offer.customer_id).into());
        item.insert(
            GSI1.sk.into(),
            format!("OFFER#{created}#{}", offer.offer_id).into(),
        );
        item.insert(GSI2.pk.into(), OUTBOX.into());
        item.insert(
            GSI2.sk.into(),
            format!("{created}#{}", offer.offer_id).into(),
        );
        match self.store.put(item, Some(Condition::absent())).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn get<P: DeserializeOwned>(
        &self,
        offer_id: &str,
    ) -> Result<Option<StoredOffer<P>>, StoreError> {
        match self.store.get(&offer_key(offer_id)).await? {
            Some(item) => stored_offer(&item).map(Some),
            None => Ok(None),
        }
    }

    /// Leases a PENDING offer (or one whose lease expired) to `sender` until `now + lease`.
    pub async fn claim<P: DeserializeOwned>(
        &self,
        offer_id: &str,
        sender: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Claim<P>, StoreError> {
        let claimable = Condition::eq(STATE, OfferState::Pending.as_str()).or(Condition::eq(
            STATE,
            OfferState::Sending.as_str(),
        )
        .and(Condition::le(LEASE_UNTIL, epoch(now))));
        let update = Update::new(offer_key(offer_id))
            .set(STATE, OfferState::Sending.as_str())
            .set(LEASE_OWNER, sender)
            .set(LEASE_UNTIL, epoch(now + lease))
            .when(claimable);
        match self.store.update(update).await {
            Ok(item) => Ok(Claim::Claimed(data(&item)?)),
            Err(StoreError::ConditionFailed) => match self.store.get(&offer_key(offer_id)).await? {
                None => Ok(Claim::Missing),
                Some(item) if string(&item, STATE)? == OfferState::Sent.as_str() => {
                    Ok(Claim::AlreadySent)
                }
                Some(_) => Ok(Claim::Busy),
            },
            Err(e) => Err(e),
        }
    }

    /// Records that `sender` sent the offer; false when it no longer holds the lease (another
    /// sender took over after the lease expired), in which case nothing changed.
    pub async fn mark_sent(
        &self,
        offer_id: &str,
        sender: &str,
        sent_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let update = Update::new(offer_key(offer_id))
            .set(STATE, OfferState::Sent.as_str())
            .set(SENT_AT, sent_at.to_rfc3339())
            .remove(LEASE_UNTIL)
            .remove(GSI2.pk)
            .remove(GSI2.sk)
            .when(
                Condition::eq(STATE, OfferState::Sending.as_str())
                    .and(Condition::eq(LEASE_OWNER, sender)),
            );
        match self.store.update(update).await {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Gives the lease back after a failed send, so the offer is PENDING again.
    pub async fn release(&self, offer_id: &str, sender: &str) -> Result<bool, StoreError> {
        let update = Update::new(offer_key(offer_id))
            .set(STATE, OfferState::Pending.as_str())
            .remove(LEASE_OWNER)
            .remove(LEASE_UNTIL)
            .when(
                Condition::eq(STATE, OfferState::Sending.as_str())
                    .and(Condition::eq(LEASE_OWNER, sender)),
            );
        match self.store.update(update).await {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The offers a customer received, oldest first.
    pub async fn for_customer<P: DeserializeOwned>(
        &self,
        customer_id: &str,
    ) -> Result<Vec<StoredOffer<P>>, StoreError> {
        let q = Query::partition(format!("CUST#{customer_id}"))
            .on_index(GSI1.name)
            .begins_with("OFFER#");
        let items = query_all(&self.store, q).await?;
        items.iter().map(stored_offer).collect()
    }

    /// Ids of unsent offers (PENDING or SENDING), oldest first, at most `limit`.
    pub async fn unsent(&self, limit: u32) -> Result<Vec<String>, StoreError> {
        let q = Query::partition(OUTBOX).on_index(GSI2.name).limit(limit);
        let page = self.store.query(&q).await?;
        page.items.iter().map(|i| string(i, "offer_id")).collect()
    }
}
