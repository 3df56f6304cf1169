//! Idempotency records for repeatable inputs (messenger update ids, webhook deliveries):
//! IN_PROGRESS with a lease, COMPLETED with the stored result; a lapsed lease can be taken over.

use chrono::{DateTime, Duration, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{epoch, new_item, string};
use crate::expr::Condition;
use crate::item::{from_attr, to_attr, Key};
use crate::port::{Store, StoreError};
use crate::table::TTL;

const STATE: &str = "state";
const LEASE_UNTIL: &str = "lease_until";
const RESULT: &str = "result";
const IN_PROGRESS: &str = "IN_PROGRESS";
const COMPLETED: &str = "COMPLETED";

fn record_key(scope: &str, key: &str) -> Key {
    Key::new(format!("IDEM#{scope}#{key}"), "IDEM")
}

/// What beginning work on a key found.
#[derive(Debug, Clone, PartialEq)]
pub enum Begin<R> {
    /// This caller owns the work now (new, or taken over from a lapsed lease).
    Started,
    /// Another caller is working on it and its lease has not lapsed.
    InProgress,
    /// Done before; here is the stored result.
    Completed(R),
}

/// Idempotency records, kept until their retention ends (the TTL attribute).
#[derive(Clone)]
pub struct Idempotency<S> {
    store: S,
}

impl<S: Store> Idempotency<S> {
    pub fn new(store: S) -> Self {
        Idempotency { store }
    }

    /// Claims `key` in `scope` for `lease` from `now`; the record is kept for `retain`.
    pub async fn begin<R: DeserializeOwned>(
        &self,
        scope: &str,
        key: &str,
        now: DateTime<Utc>,
        lease: Duration,
        retain: Duration,
    ) -> Result<Begin<R>, StoreError> {
        let rkey = record_key(scope, key);
        let mut item = new_item(&rkey, "idempotency");
        item.insert(STATE.into(), IN_PROGRESS.into());
        item.insert(LEASE_UNTIL.into(), epoch(now + lease).into());
        item.insert(TTL.into(), epoch(now + retain.max(lease)).into());
        let claimable = Condition::absent()
            .or(Condition::eq(STATE, IN_PROGRESS).and(Condition::le(LEASE_UNTIL, epoch(now))));
        match self.store.put(item, Some(claimable)).await {
            Ok(()) => Ok(Begin::Started),
            Err(StoreError::ConditionFailed) => match self.store.get(&rkey).await? {
                Some(found) if string(&found, STATE)? == COMPLETED => {
                    let result = found
                        .get(RESULT)
                        .ok_or_else(|| StoreError::malformed(&rkey, "no result"))?;
                    Ok(Begin::Completed(
                        from_attr(result).map_err(|e| StoreError::malformed(&rkey, e))?,
                    ))
                }
                _ => Ok(Begin::InProgress),
            },
            Err(e) => Err(e),
        }
    }

    /// Stores the result; later `begin` calls return it until `now + retain`.
    pub async fn complete<R: Serialize>(
        &self,
        scope: &str,
        key: &str,
        result: &R,
        now: DateTime<Utc>,
        retain: Duration,
    ) -> Result<(), StoreError> {
        let mut item = new_item(&record_key(scope, key), "idempotency");
        item.insert(STATE.into(), COMPLETED.into());
        item.insert(RESULT.into(), to_attr(result)?);
        item.insert(TTL.into(), epoch(now + retain).into());
        self.store.put(item, None).await
    }

    /// Takes `key` in `scope` as a lock for `lease` from `now` (a claim no one completes): true
    /// when taken, false while another holder's lease runs. [`Idempotency::abandon`] lets it go.
    pub async fn lock(
        &self,
        scope: &str,
        key: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let taken = self.begin::<bool>(scope, key, now, lease, lease).await?;
        Ok(matches!(taken, Begin::Started))
    }

    /// Drops an in-progress claim after a failure, so a retry can start at once.
    pub async fn abandon(&self, scope: &str, key: &str) -> Result<(), StoreError> {
        match self
            .store
            .delete(
                &record_key(scope, key),
                Some(Condition::eq(STATE, IN_PROGRESS)),
            )
            .await
        {
            Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
