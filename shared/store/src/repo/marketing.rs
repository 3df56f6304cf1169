//! The customer's last marketing message, one item per customer: the frequency cap's memory
//! across every vehicle and cycle of the customer, and its lock. A marketing stage goes out only
//! after a conditional write moves the mark forward by at least the minimum gap, so two
//! vehicles of one customer evaluated at the same moment cannot both pass the cap.

use chrono::{DateTime, Duration, Utc};

use super::{epoch, integer, string};
use crate::expr::{Condition, Update};
use crate::item::Key;
use crate::port::{Store, StoreError};

const MARK: &str = "marketing_mark";
const LAST_AT: &str = "last_marketing_at";
const OFFER_ID: &str = "offer_id";

fn mark_key(customer_id: &str) -> Key {
    Key::new(format!("CUST#{customer_id}"), "MARKETING")
}

/// What claiming the customer's marketing slot did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarketingClaim {
    /// The mark now holds this offer at this time.
    Claimed,
    /// This offer held the mark already (a repeated evaluation): nothing changed.
    AlreadyHeld,
    /// Another marketing message went out less than the gap before: the offer must not go out.
    Taken { last_at: DateTime<Utc> },
}

/// The last marketing message of each customer.
#[derive(Clone)]
pub struct MarketingMarks<S> {
    store: S,
}

impl<S: Store> MarketingMarks<S> {
    pub fn new(store: S) -> Self {
        MarketingMarks { store }
    }

    /// When the customer's last marketing message goes (or went) out, and its offer id.
    pub async fn last(
        &self,
        customer_id: &str,
    ) -> Result<Option<(DateTime<Utc>, String)>, StoreError> {
        let Some(item) = self.store.get(&mark_key(customer_id)).await? else {
            return Ok(None);
        };
        let at = integer(&item, LAST_AT)?;
        let at = DateTime::from_timestamp(at, 0).ok_or_else(|| {
            StoreError::malformed(&super::item_key(&item), format!("{LAST_AT} {at}"))
        })?;
        Ok(Some((at, string(&item, OFFER_ID)?)))
    }

    /// Moves the customer's mark to `offer_id` at `at`, only if the last marketing message is
    /// at least `min_gap` before `at` (or there is none). Atomic: of concurrent claims closer
    /// than the gap, one wins. The offer that holds the mark may claim it again.
    pub async fn claim(
        &self,
        customer_id: &str,
        offer_id: &str,
        at: DateTime<Utc>,
        min_gap: Duration,
    ) -> Result<MarketingClaim, StoreError> {
        let update = Update::new(mark_key(customer_id))
            .set(super::ENTITY, MARK)
            .set("customer_id", customer_id)
            .set(LAST_AT, epoch(at))
            .set(OFFER_ID, offer_id)
            .when(
                Condition::NotExists(LAST_AT.into())
                    .or(Condition::le(LAST_AT, epoch(at - min_gap))),
            );
        match self.store.update(update).await {
            Ok(_) => Ok(MarketingClaim::Claimed),
            Err(StoreError::ConditionFailed) => match self.last(customer_id).await? {
                Some((_, holder)) if holder == offer_id => Ok(MarketingClaim::AlreadyHeld),
                Some((last_at, _)) => Ok(MarketingClaim::Taken { last_at }),
                // Removed in between: not expected; the caller retries.
                None => Err(StoreError::Conflict),
            },
            Err(e) => Err(e),
        }
    }
}
