//! The customers' bonus points ledger: one entry per booking that earned points, written once
//! (a repeated confirmation grants nothing more).

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{data, integer, query_all, string, with_data};
use crate::expr::Condition;
use crate::item::Key;
use crate::port::{Query, Store, StoreError};

const POINTS: &str = "points";

fn ledger_pk(customer_id: &str) -> String {
    format!("POINTS#{customer_id}")
}

fn entry_key(customer_id: &str, booking_id: &str) -> Key {
    Key::new(ledger_pk(customer_id), format!("BOOK#{booking_id}"))
}

/// One grant of points.
#[derive(Debug, Clone, PartialEq)]
pub struct PointsEntry<P> {
    /// The booking the points came from.
    pub booking_id: String,
    pub points: i64,
    pub at: DateTime<Utc>,
    /// Why (the rule, the slot), as the caller recorded it.
    pub detail: P,
}

/// Points earned by customers.
#[derive(Clone)]
pub struct Points<S> {
    store: S,
}

impl<S: Store> Points<S> {
    pub fn new(store: S) -> Self {
        Points { store }
    }

    /// Grants `points` to the customer for the booking; false (nothing changed) when this
    /// booking granted points before.
    pub async fn grant<P: Serialize>(
        &self,
        customer_id: &str,
        booking_id: &str,
        points: i64,
        at: DateTime<Utc>,
        detail: &P,
    ) -> Result<bool, StoreError> {
        let mut item = with_data(&entry_key(customer_id, booking_id), "points", detail)?;
        item.insert("booking_id".into(), booking_id.into());
        item.insert(POINTS.into(), points.into());
        item.insert("at".into(), at.to_rfc3339().into());
        match self.store.put(item, Some(Condition::absent())).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The customer's entries, by booking id.
    pub async fn ledger<P: DeserializeOwned>(
        &self,
        customer_id: &str,
    ) -> Result<Vec<PointsEntry<P>>, StoreError> {
        let items = query_all(&self.store, Query::partition(ledger_pk(customer_id))).await?;
        items
            .iter()
            .map(|item| {
                let at = string(item, "at")?;
                Ok(PointsEntry {
                    booking_id: string(item, "booking_id")?,
                    points: integer(item, POINTS)?,
                    at: DateTime::parse_from_rfc3339(&at)
                        .map_err(|e| StoreError::malformed(&super::item_key(item), e))?
                        .to_utc(),
                    detail: data(item)?,
                })
            })
            .collect()
    }

    /// The customer's points in total.
    pub async fn balance(&self, customer_id: &str) -> Result<i64, StoreError> {
        let entries = self.ledger::<serde::de::IgnoredAny>(customer_id).await?;
        Ok(entries.iter().map(|e| e.points).sum())
    }
}
