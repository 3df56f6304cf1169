//! Trade-in leads raised, one item per vehicle and calendar quarter (`VEH#<vin>` /
//! `TRADEIN#<quarter>`): written with a condition, so a vehicle is a lead at most once a quarter.

use chrono::{DateTime, Utc};

use super::new_item;
use super::visits::vehicle_pk;
use crate::expr::Condition;
use crate::item::Key;
use crate::port::{Store, StoreError};

fn lead_key(vin: &str, quarter: &str) -> Key {
    Key::new(vehicle_pk(vin), format!("TRADEIN#{quarter}"))
}

/// The trade-in leads raised per vehicle and quarter.
#[derive(Clone)]
pub struct TradeInLeads<S> {
    store: S,
}

impl<S: Store> TradeInLeads<S> {
    pub fn new(store: S) -> Self {
        TradeInLeads { store }
    }

    /// Whether a lead was raised for the vehicle in the quarter (`2026Q4`).
    pub async fn raised(&self, vin: &str, quarter: &str) -> Result<bool, StoreError> {
        Ok(self.store.get(&lead_key(vin, quarter)).await?.is_some())
    }

    /// Records the quarter's lead for the vehicle; false when one was recorded before (the first
    /// is kept).
    pub async fn mark(
        &self,
        vin: &str,
        quarter: &str,
        lead_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut item = new_item(&lead_key(vin, quarter), "trade_in_lead");
        item.insert("lead_id".into(), lead_id.into());
        item.insert("raised_at".into(), at.to_rfc3339().into());
        match self.store.put(item, Some(Condition::absent())).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
