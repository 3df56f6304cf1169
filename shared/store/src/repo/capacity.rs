//! Service capacity: slots with remaining units, derived from the workshop's plan on first
//! use; holds that reserve a unit conditionally and lapse unconfirmed; confirmation, and
//! cancellation that returns the unit. A slot is never overbooked.

mod closures;
mod moves;

pub use closures::{DayCapacity, LiftClosure};
pub use moves::{MoveOutcome, MoveTo, NewSlot, ReminderClaim};

use chrono::{DateTime, NaiveDate, Utc};
use domain::policy::PlannedSlot;
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
const ATTEMPT: &str = "attempt";
const SLOT: &str = "slot";
const REMINDED_AT: &str = "reminded_at";

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
    /// This booking id holds a unit already (held or confirmed); nothing changed. A booking
    /// cancelled or lapsed before is held again (its `attempt` goes up).
    AlreadyHeld,
    /// No unit left, no such slot, or the day is closed; nothing changed.
    Full,
}

/// Where a booking is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingState {
    Held,
    Confirmed,
    Cancelled,
    /// Not confirmed by its `hold_until`; the unit went back to the slot.
    Lapsed,
    /// Confirmed, and the customer did not come (marked by an advisor after the slot's time).
    NoShow,
}

impl BookingState {
    fn as_str(self) -> &'static str {
        match self {
            BookingState::Held => "HELD",
            BookingState::Confirmed => "CONFIRMED",
            BookingState::Cancelled => "CANCELLED",
            BookingState::Lapsed => "LAPSED",
            BookingState::NoShow => "NO_SHOW",
        }
    }

    /// Held or confirmed: the booking takes a unit of its slot.
    pub fn is_active(self) -> bool {
        matches!(self, BookingState::Held | BookingState::Confirmed)
    }

    fn parse(text: &str) -> Option<Self> {
        [
            BookingState::Held,
            BookingState::Confirmed,
            BookingState::Cancelled,
            BookingState::Lapsed,
            BookingState::NoShow,
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
    /// Until when an unconfirmed hold keeps its unit (`Held` only).
    pub hold_until: Option<DateTime<Utc>>,
    /// 1 for the first hold of this booking id, one more for each hold after a cancellation or
    /// a lapse.
    pub attempt: u32,
    /// When the day-before reminder of this attempt went out.
    pub reminded_at: Option<DateTime<Utc>>,
    pub booking: P,
}

impl<P> Booking<P> {
    /// Held past `hold_until` at `now`: the hold counts as lapsed.
    pub fn lapsed_at(&self, now: DateTime<Utc>) -> bool {
        self.state == BookingState::Held && self.hold_until.is_some_and(|until| until < now)
    }
}

fn slot_of(item: &Item) -> Result<Slot, StoreError> {
    let key = super::item_key(item);
    let bad = |e: String| StoreError::malformed(&key, e);
    let count =
        |name| integer(item, name).and_then(|n| u32::try_from(n).map_err(|e| bad(e.to_string())));
    // A lift closed over bookings already taken leaves the slot below zero: none remain.
    let remaining = integer(item, REMAINING)?.max(0);
    Ok(Slot {
        date: string(item, "date")?
            .parse()
            .map_err(|e: chrono::ParseError| bad(e.to_string()))?,
        start: string(item, "start")?,
        capacity: count(CAPACITY)?,
        remaining: u32::try_from(remaining).map_err(|e| bad(e.to_string()))?,
    })
}

fn is_slot(item: &Item) -> bool {
    item.get(super::ENTITY).and_then(|v| v.as_s()) == Some(SLOT)
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
        hold_until: match item.get(HOLD_UNTIL) {
            Some(_) => DateTime::from_timestamp(integer(item, HOLD_UNTIL)?, 0),
            None => None,
        },
        attempt: match item.get(ATTEMPT) {
            Some(_) => u32::try_from(integer(item, ATTEMPT)?).unwrap_or(1),
            None => 1,
        },
        reminded_at: match item.get(REMINDED_AT) {
            Some(_) => DateTime::from_timestamp(integer(item, REMINDED_AT)?, 0),
            None => None,
        },
        booking: data(item)?,
    })
}

/// What [`Capacity::resize_slot`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resize {
    Created,
    Unchanged,
    Resized {
        was: u32,
    },
    /// Not changed: `taken` units are held or booked.
    BelowTaken {
        taken: u32,
    },
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
        let mut item = new_item(&slot_key(date, start), SLOT);
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

    /// Sets a slot's capacity at `now`, creating it when absent: the units taken stay taken,
    /// so the remaining ones move by the difference (conditional on the capacity read, retried
    /// when another change came first). Refused when fewer units than are held or booked;
    /// holds lapsed by `now` are let go first and do not count.
    pub async fn resize_slot(
        &self,
        date: NaiveDate,
        start: &str,
        capacity: u32,
        now: DateTime<Utc>,
    ) -> Result<Resize, StoreError> {
        if self.define_slot(date, start, capacity).await? {
            return Ok(Resize::Created);
        }
        self.release_lapsed_on(date, now).await?;
        for _ in 0..8 {
            let Some(slot) = self
                .slots_on(date)
                .await?
                .into_iter()
                .find(|s| s.start == start)
            else {
                continue;
            };
            let taken = slot.capacity.saturating_sub(slot.remaining);
            if capacity == slot.capacity {
                return Ok(Resize::Unchanged);
            }
            if capacity < taken {
                return Ok(Resize::BelowTaken { taken });
            }
            let delta = i64::from(capacity) - i64::from(slot.capacity);
            let update = Update::new(slot_key(date, start))
                .set(CAPACITY, capacity)
                .add(REMAINING, delta)
                .when(Condition::eq(CAPACITY, slot.capacity).and(Condition::ge(REMAINING, -delta)));
            match self.store.update(update).await {
                Ok(_) => return Ok(Resize::Resized { was: slot.capacity }),
                Err(StoreError::ConditionFailed) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::ConditionFailed)
    }

    /// The slots stored for a day, by start time (nothing is derived; see [`Capacity::day`]).
    pub async fn slots_on(&self, date: NaiveDate) -> Result<Vec<Slot>, StoreError> {
        let items = query_all(&self.store, Query::partition(format!("CAP#{date}"))).await?;
        items.iter().filter(|i| is_slot(i)).map(slot_of).collect()
    }

    /// Creates the planned slots of a day that are not stored yet, each with its lifts less the
    /// lifts closed that day (create-if-absent: two callers at once create each slot once).
    /// A closed day gets none.
    pub(crate) async fn derive(
        &self,
        date: NaiveDate,
        plan: &[PlannedSlot],
        closed_lifts: usize,
        stored: &[Slot],
    ) -> Result<bool, StoreError> {
        let mut created = false;
        for planned in plan {
            if stored.iter().any(|s| s.start == planned.start) {
                continue;
            }
            let lifts = planned.lifts.saturating_sub(closed_lifts as u32);
            created |= self.define_slot(date, &planned.start, lifts).await?;
        }
        Ok(created)
    }

    /// Reserves one unit of the slot for the booking, atomically with storing the booking and
    /// checking that the day is not closed. The slot must exist ([`Capacity::day`] derives it).
    /// A booking id cancelled or lapsed before is held again as its next attempt.
    pub async fn hold<P: Serialize>(
        &self,
        hold: &NewHold<'_, P>,
    ) -> Result<HoldOutcome, StoreError> {
        let (fresh, attempt) = match self.store.get(&booking_key(hold.booking_id)).await? {
            None => (Condition::absent(), 1),
            Some(item) => {
                let before = booking_of::<serde::de::IgnoredAny>(&item)?;
                if before.state.is_active() {
                    return Ok(HoldOutcome::AlreadyHeld);
                }
                let same_attempt = if item.contains_key(ATTEMPT) {
                    Condition::eq(ATTEMPT, before.attempt)
                } else {
                    Condition::NotExists(ATTEMPT.into())
                };
                let unchanged = Condition::eq(STATUS, before.state.as_str()).and(same_attempt);
                (unchanged, before.attempt + 1)
            }
        };
        let mut booking = with_data(&booking_key(hold.booking_id), "booking", hold.booking)?;
        booking.insert("booking_id".into(), hold.booking_id.into());
        booking.insert("date".into(), hold.date.to_string().into());
        booking.insert("start".into(), hold.start.into());
        booking.insert("customer_id".into(), hold.customer_id.into());
        booking.insert("vin".into(), hold.vin.into());
        booking.insert(STATUS.into(), BookingState::Held.as_str().into());
        booking.insert(HOLD_UNTIL.into(), epoch(hold.hold_until).into());
        booking.insert(ATTEMPT.into(), attempt.into());
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
                WriteOp::put_if(booking, fresh),
                WriteOp::Check {
                    key: closures::day_closed_key(hold.date),
                    condition: Condition::absent(),
                },
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

    /// Confirms a held booking (the advisor's click) at `now`; false unless it is held, its
    /// hold has not lapsed by `now`, and (when given) it is still hold `attempt`.
    pub async fn confirm(
        &self,
        booking_id: &str,
        attempt: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut held = Condition::eq(STATUS, BookingState::Held.as_str())
            .and(Condition::ge(HOLD_UNTIL, epoch(now)));
        if let Some(attempt) = attempt {
            held = held.and(Condition::eq(ATTEMPT, attempt));
        }
        let update = Update::new(booking_key(booking_id))
            .set(STATUS, BookingState::Confirmed.as_str())
            .remove(HOLD_UNTIL)
            .when(held);
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
        self.give_back(booking_id, active, BookingState::Cancelled)
            .await
    }

    /// Marks lapsed a hold that was not confirmed by its `hold_until` and returns its unit;
    /// false otherwise.
    pub async fn release_lapsed(
        &self,
        booking_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let lapsed = Condition::eq(STATUS, BookingState::Held.as_str())
            .and(Condition::lt(HOLD_UNTIL, epoch(now)));
        self.give_back(booking_id, lapsed, BookingState::Lapsed)
            .await
    }

    /// Releases every hold of the day that lapsed by `now` (the lazy sweep that runs before the
    /// day's slots are shown or taken); how many were released.
    pub async fn release_lapsed_on(
        &self,
        date: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let mut released = 0;
        for booking in self.bookings_on::<serde::de::IgnoredAny>(date).await? {
            if booking.lapsed_at(now) && self.release_lapsed(&booking.booking_id, now).await? {
                released += 1;
            }
        }
        Ok(released)
    }

    async fn give_back(
        &self,
        booking_id: &str,
        when: Condition,
        to: BookingState,
    ) -> Result<bool, StoreError> {
        let Some(item) = self.store.get(&booking_key(booking_id)).await? else {
            return Ok(false);
        };
        let date: NaiveDate = string(&item, "date")?
            .parse()
            .map_err(|e: chrono::ParseError| StoreError::malformed(&booking_key(booking_id), e))?;
        let start = string(&item, "start")?;
        let cancel = Update::new(booking_key(booking_id))
            .set(STATUS, to.as_str())
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
