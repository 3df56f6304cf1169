//! Service capacity: slots with remaining units, holds that reserve a unit conditionally,
//! confirmation, and cancellation that returns the unit. A slot is never overbooked.

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{data, epoch, integer, new_item, query_all, string, with_data};
use crate::expr::{Condition, Update};
use crate::item::{Item, Key};
use crate::port::{Query, Store, StoreError, WriteOp};
use crate::table::{GSI1, GSI2};

const REMAINING: &str = "remaining";
const CAPACITY: &str = "capacity";
const STATUS: &str = "status";
const HOLD_UNTIL: &str = "hold_until";

fn slot_key(date: NaiveDate, start: &str) -> Key {
    Key::new(format!("CAP#{date}"), format!("SLOT#{start}"))
}

fn booking_key(booking_id: &str) -> Key {
    Key::new(format!("BOOK#{booking_id}"), "BOOKING")
}

/// A slot of a day with its capacity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub date: NaiveDate,
    /// Start time, e.g. `10:00`.
    pub start: String,
    pub capacity: u32,
    pub remaining: u32,
}

/// A reservation request.
#[derive(Debug, Clone, Copy)]
pub struct NewHold<'a, P> {
    pub booking_id: &'a str,
    pub date: NaiveDate,
    pub start: &'a str,
    pub customer_id: &'a str,
    pub vin: &'a str,
    /// The hold lapses after this unless confirmed ([`Capacity::release_lapsed`]).
    pub hold_until: DateTime<Utc>,
    pub booking: &'a P,
}

/// What a hold did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldOutcome {
    /// One unit of the slot is reserved for this booking.
    Held,
    /// This booking id holds (or held) a unit already; nothing changed.
    AlreadyHeld,
    /// No unit left (or no such slot); nothing changed.
    Full,
}

/// Where a booking is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingState {
    Held,
    Confirmed,
    Cancelled,
}

impl BookingState {
    fn as_str(self) -> &'static str {
        match self {
            BookingState::Held => "HELD",
            BookingState::Confirmed => "CONFIRMED",
            BookingState::Cancelled => "CANCELLED",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [
            BookingState::Held,
            BookingState::Confirmed,
            BookingState::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// A stored booking.
#[derive(Debug, Clone, PartialEq)]
pub struct Booking<P> {
    pub booking_id: String,
    pub date: NaiveDate,
    pub start: String,
    pub customer_id: String,
    pub vin: String,
    pub state: BookingState,
    pub booking: P,
}

fn slot_of(item: &Item) -> Result<Slot, StoreError> {
    let key = super::item_key(item);
    let bad = |e: String| StoreError::malformed(&key, e);
    let count =
        |name| integer(item, name).and_then(|n| u32::try_from(n).map_err(|e| bad(e.to_string())));
    Ok(Slot {
        date: string(item, "date")?
            .parse()
            .map_err(|e: chrono::ParseError| bad(e.to_string()))?,
        start: string(item, "start")?,
        capacity: count(CAPACITY)?,
        remaining: count(REMAINING)?,
    })
}

fn booking_of<P: DeserializeOwned>(item: &Item) -> Result<Booking<P>, StoreError> {
    let key = super::item_key(item);
    let state = string(item, STATUS)?;
    Ok(Booking {
        booking_id: string(item, "booking_id")?,
        date: string(item, "date")?
            .parse()
            .map_err(|e: chrono::ParseError| StoreError::malformed(&key, e))?,
        start: string(item, "start")?,
        customer_id: string(item, "customer_id")?,
        vin: string(item, "vin")?,
        state: BookingState::parse(&state)
            .ok_or_else(|| StoreError::malformed(&key, format!("status {state}")))?,
        booking: data(item)?,
    })
}

/// Slots, holds and bookings.
#[derive(Clone)]
pub struct Capacity<S> {
    store: S,
}

impl<S: Store> Capacity<S> {
    pub fn new(store: S) -> Self {
        Capacity { store }
    }

    /// Defines a slot with `capacity` units; false when the slot exists already.
    pub async fn define_slot(
        &self,
        date: NaiveDate,
        start: &str,
        capacity: u32,
    ) -> Result<bool, StoreError> {
        let mut item = new_item(&slot_key(date, start), "slot");
        item.insert("date".into(), date.to_string().into());
        item.insert("start".into(), start.into());
        item.insert(CAPACITY.into(), capacity.into());
        item.insert(REMAINING.into(), capacity.into());
        match self.store.put(item, Some(Condition::absent())).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The slots of a day, by start time.
    pub async fn slots_on(&self, date: NaiveDate) -> Result<Vec<Slot>, StoreError> {
        let items = query_all(&self.store, Query::partition(format!("CAP#{date}"))).await?;
        items.iter().map(slot_of).collect()
    }

    /// Reserves one unit of the slot for the booking, atomically with storing the booking.
    pub async fn hold<P: Serialize>(
        &self,
        hold: &NewHold<'_, P>,
    ) -> Result<HoldOutcome, StoreError> {
        let mut booking = with_data(&booking_key(hold.booking_id), "booking", hold.booking)?;
        booking.insert("booking_id".into(), hold.booking_id.into());
        booking.insert("date".into(), hold.date.to_string().into());
        booking.insert("start".into(), hold.start.into());
        booking.insert("customer_id".into(), hold.customer_id.into());
        booking.insert("vin".into(), hold.vin.into());
        booking.insert(STATUS.into(), BookingState::Held.as_str().into());
        booking.insert(HOLD_UNTIL.into(), epoch(hold.hold_until).into());
        booking.insert(GSI1.pk.into(), format!("BOOKINGS#{}", hold.date).into());
        booking.insert(
            GSI1.sk.into(),
            format!("{}#{}", hold.start, hold.booking_id).into(),
        );
        booking.insert(GSI2.pk.into(), format!("CUST#{}", hold.customer_id).into());
        booking.insert(
            GSI2.sk.into(),
            format!("BOOK#{}#{}", hold.date, hold.start).into(),
        );
        let take = Update::new(slot_key(hold.date, hold.start))
            .add(REMAINING, -1)
            .when(Condition::ge(REMAINING, 1));
        match self
            .store
            .transact(vec![
                WriteOp::put_if(booking, Condition::absent()),
                WriteOp::Update(take),
            ])
            .await
        {
            Ok(()) => Ok(HoldOutcome::Held),
            Err(StoreError::TransactionConditionFailed { index: 0 }) => {
                Ok(HoldOutcome::AlreadyHeld)
            }
            Err(StoreError::TransactionConditionFailed { .. }) => Ok(HoldOutcome::Full),
            Err(e) => Err(e),
        }
    }

    /// Confirms a held booking (the advisor's click); false unless it was held.
    pub async fn confirm(&self, booking_id: &str) -> Result<bool, StoreError> {
        let update = Update::new(booking_key(booking_id))
            .set(STATUS, BookingState::Confirmed.as_str())
            .remove(HOLD_UNTIL)
            .when(Condition::eq(STATUS, BookingState::Held.as_str()));
        match self.store.update(update).await {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Cancels a held or confirmed booking and returns its unit to the slot; false when there
    /// is no such booking or it was cancelled before.
    pub async fn cancel(&self, booking_id: &str) -> Result<bool, StoreError> {
        let active = Condition::eq(STATUS, BookingState::Held.as_str())
            .or(Condition::eq(STATUS, BookingState::Confirmed.as_str()));
        self.give_back(booking_id, active).await
    }

    /// Cancels a hold that was not confirmed by its `hold_until`; false otherwise.
    pub async fn release_lapsed(
        &self,
        booking_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let lapsed = Condition::eq(STATUS, BookingState::Held.as_str())
            .and(Condition::lt(HOLD_UNTIL, epoch(now)));
        self.give_back(booking_id, lapsed).await
    }

    async fn give_back(&self, booking_id: &str, when: Condition) -> Result<bool, StoreError> {
        let Some(item) = self.store.get(&booking_key(booking_id)).await? else {
            return Ok(false);
        };
        let date: NaiveDate = string(&item, "date")?
            .parse()
            .map_err(|e: chrono::ParseError| StoreError::malformed(&booking_key(booking_id), e))?;
        let start = string(&item, "start")?;
        let cancel = Update::new(booking_key(booking_id))
            .set(STATUS, BookingState::Cancelled.as_str())
            .remove(HOLD_UNTIL)
            .when(when);
        let give = Update::new(slot_key(date, &start))
            .add(REMAINING, 1)
            .when(Condition::present());
        match self
            .store
            .transact(vec![WriteOp::Update(cancel), WriteOp::Update(give)])
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::TransactionConditionFailed { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn booking<P: DeserializeOwned>(
        &self,
        booking_id: &str,
    ) -> Result<Option<Booking<P>>, StoreError> {
        match self.store.get(&booking_key(booking_id)).await? {
            Some(item) => booking_of(&item).map(Some),
            None => Ok(None),
        }
    }

    /// Bookings of a day (any state), by start time.
    pub async fn bookings_on<P: DeserializeOwned>(
        &self,
        date: NaiveDate,
    ) -> Result<Vec<Booking<P>>, StoreError> {
        let q = Query::partition(format!("BOOKINGS#{date}")).on_index(GSI1.name);
        let items = query_all(&self.store, q).await?;
        items.iter().map(booking_of).collect()
    }

    /// Bookings of a customer (any state), by date.
    pub async fn bookings_of_customer<P: DeserializeOwned>(
        &self,
        customer_id: &str,
    ) -> Result<Vec<Booking<P>>, StoreError> {
        let q = Query::partition(format!("CUST#{customer_id}"))
            .on_index(GSI2.name)
            .begins_with("BOOK#");
        let items = query_all(&self.store, q).await?;
        items.iter().map(booking_of).collect()
    }
}
