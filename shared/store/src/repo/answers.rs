//! What a customer answered about one vehicle's messages. Sold (every message stops), a snoozed
//! cycle (its next stage waits) and an odometer asked after a service elsewhere are attributes
//! of the vehicle item: the next visit's write of the vehicle clears them, and the nightly scan
//! reads them with the vehicle. Marketing muted by the owner is an item of its own
//! (`VEH#<vin>` / `MUTED#<customer>`), so it outlives visits and binds that owner only.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::customers::instant;
use super::new_item;
use super::visits::{vehicle_pk, PROFILE};
use crate::expr::{Condition, Update};
use crate::item::{from_attr, to_attr, Item, Key};
use crate::port::{Store, StoreError};

const SOLD_AT: &str = "sold_at";
const SNOOZE: &str = "snooze";
const AWAITING_KM: &str = "awaiting_km";
const MUTED_AT: &str = "muted_at";

fn vehicle_key(vin: &str) -> Key {
    Key::new(vehicle_pk(vin), PROFILE)
}

fn muted_key(vin: &str, customer_id: &str) -> Key {
    Key::new(vehicle_pk(vin), format!("MUTED#{customer_id}"))
}

/// «Напомнить позже»: the cycle's next stage waits until `until` (the dealer's day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snooze {
    pub cycle_id: String,
    /// The stage whose message was snoozed (its stable name).
    pub stage: String,
    pub until: NaiveDate,
    pub at: DateTime<Utc>,
}

/// The customer said the car was serviced elsewhere and was asked for the odometer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwaitingKm {
    pub cycle_id: String,
    pub asked_at: DateTime<Utc>,
}

/// The answers kept on a vehicle item (cleared when a visit stores the vehicle again).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VehicleContact {
    /// When the owner said they sold the car: no message about it goes out.
    pub sold_at: Option<DateTime<Utc>>,
    pub snooze: Option<Snooze>,
    pub awaiting_km: Option<AwaitingKm>,
}

fn attr<T: serde::de::DeserializeOwned>(item: &Item, name: &str) -> Result<Option<T>, StoreError> {
    item.get(name)
        .map(|v| from_attr(v).map_err(|e| StoreError::malformed(&super::item_key(item), e)))
        .transpose()
}

/// The answers on a stored vehicle item.
pub(crate) fn vehicle_contact(item: &Item) -> Result<VehicleContact, StoreError> {
    Ok(VehicleContact {
        sold_at: instant(item, SOLD_AT)?,
        snooze: attr(item, SNOOZE)?,
        awaiting_km: attr(item, AWAITING_KM)?,
    })
}

/// The customer's answers about their vehicles.
#[derive(Clone)]
pub struct VehicleAnswers<S> {
    store: S,
}

impl<S: Store> VehicleAnswers<S> {
    pub fn new(store: S) -> Self {
        VehicleAnswers { store }
    }

    /// Sets an attribute of the vehicle if it is stored and owned by `customer_id`.
    async fn set_owned(
        &self,
        vin: &str,
        customer_id: &str,
        name: &str,
        value: crate::item::AttrValue,
    ) -> Result<bool, StoreError> {
        let update = Update::new(vehicle_key(vin))
            .set(name, value)
            .when(Condition::present().and(Condition::eq("customer_id", customer_id)));
        match self.store.update(update).await {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Records that `customer_id` sold the vehicle at `at` (the first time is kept until the
    /// next visit). False when the vehicle is not theirs.
    pub async fn mark_sold(
        &self,
        vin: &str,
        customer_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let update = Update::new(vehicle_key(vin))
            .set(SOLD_AT, at.to_rfc3339())
            .when(
                Condition::present()
                    .and(Condition::eq("customer_id", customer_id))
                    .and(Condition::NotExists(SOLD_AT.into())),
            );
        match self.store.update(update).await {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Snoozes a cycle of the vehicle (replacing an earlier snooze). False when the vehicle is
    /// not `customer_id`'s.
    pub async fn snooze(
        &self,
        vin: &str,
        customer_id: &str,
        snooze: &Snooze,
    ) -> Result<bool, StoreError> {
        self.set_owned(vin, customer_id, SNOOZE, to_attr(snooze)?)
            .await
    }

    /// Remembers that the odometer after a service elsewhere was asked for.
    pub async fn await_km(
        &self,
        vin: &str,
        customer_id: &str,
        awaiting: &AwaitingKm,
    ) -> Result<bool, StoreError> {
        self.set_owned(vin, customer_id, AWAITING_KM, to_attr(awaiting)?)
            .await
    }

    /// The odometer asked for came; false when none was awaited.
    pub async fn km_received(&self, vin: &str) -> Result<bool, StoreError> {
        let update = Update::new(vehicle_key(vin))
            .remove(AWAITING_KM)
            .when(Condition::Exists(AWAITING_KM.into()));
        match self.store.update(update).await {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// «Не присылать»: no marketing about the vehicle to `customer_id` from `at` (the first time
    /// is kept). True the first time.
    pub async fn mute_marketing(
        &self,
        vin: &str,
        customer_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut item = new_item(&muted_key(vin, customer_id), "marketing_muted");
        item.insert("customer_id".into(), customer_id.into());
        item.insert(MUTED_AT.into(), at.to_rfc3339().into());
        match self.store.put(item, Some(Condition::absent())).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Undoes [`VehicleAnswers::mute_marketing`]; false when it was not muted.
    pub async fn unmute_marketing(&self, vin: &str, customer_id: &str) -> Result<bool, StoreError> {
        match self
            .store
            .delete(&muted_key(vin, customer_id), Some(Condition::present()))
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Since when `customer_id` wants no marketing about the vehicle, if they said so.
    pub async fn marketing_muted_since(
        &self,
        vin: &str,
        customer_id: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self.store.get(&muted_key(vin, customer_id)).await? {
            Some(item) => instant(&item, MUTED_AT),
            None => Ok(None),
        }
    }
}
