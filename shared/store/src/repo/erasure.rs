//! Erasing a customer's personal data (a data-subject request): the profile keeps only its id
//! and what KPIs and the contact policy need (when it was erased, an opt-out), the visits keep
//! their work orders with the customer part anonymised, and the handles the customer was reached
//! by are suppressed by digest (`SUPPRESS#<sha256>` / `ERASED`), so no message goes to them
//! until the customer gives their data again.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::customers::{
    customer_key, instant, legacy_suppression_key, suppression_pk, ContactHandle, SUPPRESSED_AT,
    SUPPRESSION,
};
use super::{data, item_key, new_item, query_all, DATA};
use crate::expr::{Condition, Update};
use crate::item::{to_attr, Key};
use crate::port::{Query, Store, StoreError};
use crate::table::{GSI1, GSI2};

const ERASED_AT: &str = "erased_at";
const ERASED: &str = "ERASED";

fn erased_key(handle: ContactHandle<'_>) -> Key {
    Key::new(suppression_pk(handle), ERASED)
}

/// What an erasure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Erased {
    /// The profile was there and its personal data is gone now.
    pub profile: bool,
    /// Visits whose customer part was anonymised.
    pub visits: usize,
    /// Handles suppressed.
    pub handles: usize,
}

/// Erasure of personal data and the suppression it leaves.
#[derive(Clone)]
pub struct Erasure<S> {
    store: S,
}

impl<S: Store> Erasure<S> {
    pub fn new(store: S) -> Self {
        Erasure { store }
    }

    /// Erases the personal data of `customer_id` at `at`. The `handles` (read from the profile
    /// before) are suppressed first; a STOP mark kept under a plain handle moves under its digest.
    /// Then each visit's data `V` is rewritten through `anonymise` (`None` leaves it and fails:
    /// nothing personal may stay), and last the profile loses its data, index keys and WhatsApp
    /// time and gains `erased_at` (its opt-out stays). Repeating it changes nothing more.
    pub async fn erase_customer<V, F>(
        &self,
        customer_id: &str,
        handles: &[ContactHandle<'_>],
        at: DateTime<Utc>,
        anonymise: F,
    ) -> Result<Erased, StoreError>
    where
        V: DeserializeOwned + Serialize,
        F: Fn(V) -> Option<V>,
    {
        for handle in handles {
            self.suppress(*handle, at).await?;
        }
        let q = Query::partition(format!("CUST#{customer_id}"))
            .on_index(GSI1.name)
            .begins_with("VISIT#");
        let mut visits = 0;
        for item in query_all(&self.store, q).await? {
            let key = item_key(&item);
            let visit: V = data(&item)?;
            let anonymous = anonymise(visit)
                .ok_or_else(|| StoreError::malformed(&key, "the visit cannot be anonymised"))?;
            let update = Update::new(key)
                .set(DATA, to_attr(&anonymous)?)
                .when(Condition::present());
            match self.store.update(update).await {
                Ok(_) => visits += 1,
                Err(StoreError::ConditionFailed) => {}
                Err(e) => return Err(e),
            }
        }
        let profile = Update::new(customer_key(customer_id))
            .remove(DATA)
            .remove(GSI1.pk)
            .remove(GSI1.sk)
            .remove(GSI2.pk)
            .remove(GSI2.sk)
            .remove("whatsapp_inbound_at")
            .set(ERASED_AT, at.to_rfc3339())
            .when(Condition::Exists(DATA.into()));
        let profile = match self.store.update(profile).await {
            Ok(_) => true,
            Err(StoreError::ConditionFailed) => false,
            Err(e) => return Err(e),
        };
        Ok(Erased {
            profile,
            visits,
            handles: handles.len(),
        })
    }

    /// Suppresses a handle as erased at `at` (a later erasure moves the time on), and moves a
    /// STOP mark kept under the plain handle under its digest.
    pub async fn suppress(
        &self,
        handle: ContactHandle<'_>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut item = new_item(&erased_key(handle), "suppression");
        item.insert(ERASED_AT.into(), at.to_rfc3339().into());
        self.store.put(item, None).await?;
        let legacy = legacy_suppression_key(handle);
        if let Some(old) = self.store.get(&legacy).await? {
            if let Some(since) = instant(&old, SUPPRESSED_AT)? {
                let mut stop = new_item(
                    &Key::new(suppression_pk(handle), SUPPRESSION),
                    "suppression",
                );
                stop.insert(SUPPRESSED_AT.into(), since.to_rfc3339().into());
                match self.store.put(stop, Some(Condition::absent())).await {
                    Ok(()) | Err(StoreError::ConditionFailed) => {}
                    Err(e) => return Err(e),
                }
            }
            self.store.delete(&legacy, None).await?;
        }
        Ok(())
    }

    /// When the customer's personal data was erased, if it was (a profile stored again later
    /// keeps the time).
    pub async fn erased_at(&self, customer_id: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self.store.get(&customer_key(customer_id)).await? {
            Some(item) => instant(&item, ERASED_AT),
            None => Ok(None),
        }
    }

    /// Since when messages to this handle are suppressed by an erasure, if they are.
    pub async fn handle_erased_since(
        &self,
        handle: ContactHandle<'_>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self.store.get(&erased_key(handle)).await? {
            Some(item) => instant(&item, ERASED_AT),
            None => Ok(None),
        }
    }

    /// Lifts an erasure's suppression of a handle (the customer gave it again with consent);
    /// false when it was not suppressed.
    pub async fn lift(&self, handle: ContactHandle<'_>) -> Result<bool, StoreError> {
        match self
            .store
            .delete(&erased_key(handle), Some(Condition::present()))
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
