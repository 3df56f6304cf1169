//! Repositories over the port, written once for every backend.
//!
//! Every item carries `pk`, `sk`, an `entity` tag and, for domain values, a `data` map with the
//! value serialised through serde (see `docs/storage.md`); attributes that conditions or indexes
//! need (states, leases, capacity, index keys, TTL) are top-level attributes beside it.

mod answers;
mod capacity;
mod conversions;
mod customers;
mod cycles;
mod deliveries;
mod erasure;
mod forecasts;
mod idempotency;
mod marketing;
mod offers;
mod points;
mod runs;
mod settings;
mod trade_in;
mod visits;

pub use answers::{AwaitingKm, Snooze, VehicleAnswers, VehicleContact};
pub use capacity::{
    Booking, BookingState, Capacity, DayCapacity, HoldOutcome, LiftClosure, MoveOutcome, MoveTo,
    NewHold, NewSlot, ReminderClaim, Resize, Slot,
};
pub use conversions::{Conversions, NewConversion, StoredConversion};
pub use customers::{
    ContactHandle, CustomerRecord, Customers, OptOutOutcome, StoredCustomer, Suppression,
};
pub use cycles::{CycleContacts, Cycles, OpenOutcome, StageOutcome};
pub use deliveries::{Deliveries, DeliveryStatus, NewDelivery, StoredDelivery};
pub use erasure::{Erased, Erasure};
pub use forecasts::Forecasts;
pub use idempotency::{Begin, Idempotency};
pub use marketing::{MarketingClaim, MarketingMarks};
pub use offers::{Claim, NewOffer, OfferState, Offers, StoredOffer};
pub use points::{Points, PointsEntry};
pub use runs::{Checkpoint, NightlyRuns};
pub use settings::{CampaignCounters, CampaignSwitches, PolicyOverrides};
pub use trade_in::TradeInLeads;
pub use visits::{
    NewVisit, Readings, RecordOutcome, StoredVehicle, StoredVisit, VehicleRecord, Vehicles, Visits,
};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::item::{from_attr, to_attr, AttrValue, Item, Key};
use crate::port::{Query, Store, StoreError};

/// Attribute holding the serialised domain value.
pub const DATA: &str = "data";
/// Attribute naming what an item is (`vehicle`, `reading`, ...).
pub const ENTITY: &str = "entity";

/// Every repository over one store.
#[derive(Clone)]
pub struct Repos<S> {
    pub visits: Visits<S>,
    pub readings: Readings<S>,
    pub vehicles: Vehicles<S>,
    pub customers: Customers<S>,
    pub forecasts: Forecasts<S>,
    pub marketing: MarketingMarks<S>,
    pub cycles: Cycles<S>,
    pub offers: Offers<S>,
    pub capacity: Capacity<S>,
    pub idempotency: Idempotency<S>,
    pub counters: CampaignCounters<S>,
    pub switches: CampaignSwitches<S>,
    pub policy: PolicyOverrides<S>,
    pub runs: NightlyRuns<S>,
    pub points: Points<S>,
    pub conversions: Conversions<S>,
    pub answers: VehicleAnswers<S>,
    pub erasure: Erasure<S>,
    pub deliveries: Deliveries<S>,
    pub trade_in: TradeInLeads<S>,
}

impl<S: Store> Repos<S> {
    pub fn new(store: S) -> Self {
        Repos {
            visits: Visits::new(store.clone()),
            readings: Readings::new(store.clone()),
            vehicles: Vehicles::new(store.clone()),
            customers: Customers::new(store.clone()),
            forecasts: Forecasts::new(store.clone()),
            marketing: MarketingMarks::new(store.clone()),
            cycles: Cycles::new(store.clone()),
            offers: Offers::new(store.clone()),
            capacity: Capacity::new(store.clone()),
            idempotency: Idempotency::new(store.clone()),
            counters: CampaignCounters::new(store.clone()),
            switches: CampaignSwitches::new(store.clone()),
            policy: PolicyOverrides::new(store.clone()),
            runs: NightlyRuns::new(store.clone()),
            points: Points::new(store.clone()),
            conversions: Conversions::new(store.clone()),
            answers: VehicleAnswers::new(store.clone()),
            erasure: Erasure::new(store.clone()),
            deliveries: Deliveries::new(store.clone()),
            trade_in: TradeInLeads::new(store),
        }
    }
}

pub(crate) fn new_item(key: &Key, entity: &str) -> Item {
    let mut item = key.to_item();
    item.insert(ENTITY.into(), AttrValue::S(entity.into()));
    item
}

pub(crate) fn set_data<T: Serialize + ?Sized>(
    item: &mut Item,
    value: &T,
) -> Result<(), StoreError> {
    item.insert(DATA.into(), to_attr(value)?);
    Ok(())
}

pub(crate) fn with_data<T: Serialize + ?Sized>(
    key: &Key,
    entity: &str,
    value: &T,
) -> Result<Item, StoreError> {
    let mut item = new_item(key, entity);
    set_data(&mut item, value)?;
    Ok(item)
}

pub(crate) fn item_key(item: &Item) -> Key {
    Key::of(item).unwrap_or_else(|| Key::new("?", "?"))
}

pub(crate) fn data<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    let value = item
        .get(DATA)
        .ok_or_else(|| StoreError::malformed(&item_key(item), "no data attribute"))?;
    from_attr(value).map_err(|e| StoreError::malformed(&item_key(item), e))
}

pub(crate) fn string(item: &Item, name: &str) -> Result<String, StoreError> {
    item.get(name)
        .and_then(AttrValue::as_s)
        .map(str::to_owned)
        .ok_or_else(|| StoreError::malformed(&item_key(item), format!("no string {name}")))
}

pub(crate) fn integer(item: &Item, name: &str) -> Result<i64, StoreError> {
    item.get(name)
        .and_then(AttrValue::as_n)
        .and_then(|n| n.to_i64())
        .ok_or_else(|| StoreError::malformed(&item_key(item), format!("no integer {name}")))
}

pub(crate) fn epoch(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

/// Every item of a query, following cursors.
pub(crate) async fn query_all<S: Store>(store: &S, query: Query) -> Result<Vec<Item>, StoreError> {
    let mut items = Vec::new();
    let mut query = query;
    loop {
        let page = store.query(&query).await?;
        items.extend(page.items);
        match page.cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return Ok(items),
        }
    }
}
