//! Closures an advisor sets on a day: the whole day, or one lift (sick leave, a lift under
//! repair), stored beside the day's slots. Derivation and holds respect them; opening undoes
//! them.

use chrono::NaiveDate;
use domain::policy::PlannedSlot;

use super::{is_slot, slot_key, slot_of, Capacity, Slot, CAPACITY, REMAINING};
use crate::expr::{Condition, Update};
use crate::item::Key;
use crate::port::{Query, Store, StoreError, WriteOp, MAX_TRANSACTION_OPS};
use crate::repo::{data, query_all, with_data};

const CLOSED_DAY: &str = "CLOSED#DAY";
const CLOSED_LIFT: &str = "CLOSED#LIFT#";

pub(super) fn day_closed_key(date: NaiveDate) -> Key {
    Key::new(format!("CAP#{date}"), CLOSED_DAY)
}

fn lift_closed_key(date: NaiveDate, lift: u32) -> Key {
    Key::new(format!("CAP#{date}"), format!("{CLOSED_LIFT}{lift:03}"))
}

/// A day's capacity as stored: its slots and what the advisors closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayCapacity {
    pub date: NaiveDate,
    /// Closed by an advisor: nothing is offered or held.
    pub closed: bool,
    /// Lifts closed by an advisor, ascending.
    pub closed_lifts: Vec<u32>,
    /// By start time.
    pub slots: Vec<Slot>,
}

impl DayCapacity {
    /// The slots a customer may still take.
    pub fn free_slots(&self) -> impl Iterator<Item = &Slot> {
        self.slots
            .iter()
            .filter(move |s| !self.closed && s.remaining > 0)
    }
}

/// What closing a lift did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiftClosure {
    /// Closed now: every slot of the day has one unit fewer.
    Closed,
    /// It was closed before; nothing changed.
    AlreadyClosed,
    /// The workshop has no such lift that day; nothing changed.
    NoSuchLift,
}

impl<S: Store> Capacity<S> {
    /// The day's capacity as stored (its slots and closures), nothing derived: a read.
    pub async fn stored_day(&self, date: NaiveDate) -> Result<DayCapacity, StoreError> {
        let items = query_all(&self.store, Query::partition(format!("CAP#{date}"))).await?;
        let mut day = DayCapacity {
            date,
            closed: false,
            closed_lifts: Vec::new(),
            slots: Vec::new(),
        };
        for item in &items {
            let sk = item
                .get(crate::table::SK)
                .and_then(|v| v.as_s())
                .unwrap_or("");
            if sk == CLOSED_DAY {
                day.closed = true;
            } else if let Some(lift) = sk.strip_prefix(CLOSED_LIFT) {
                day.closed_lifts.extend(lift.parse::<u32>().ok());
            } else if is_slot(item) {
                day.slots.push(slot_of(item)?);
            }
        }
        Ok(day)
    }

    /// The day's capacity, its planned slots created first when they are not stored yet (with
    /// the lifts closed that day taken off). A closed day is returned as it is.
    pub async fn day(
        &self,
        date: NaiveDate,
        plan: &[PlannedSlot],
    ) -> Result<DayCapacity, StoreError> {
        let day = self.stored_day(date).await?;
        if day.closed {
            return Ok(day);
        }
        if self
            .derive(date, plan, day.closed_lifts.len(), &day.slots)
            .await?
        {
            return self.stored_day(date).await;
        }
        Ok(day)
    }

    /// Closes the whole day to new holds; false when it was closed before.
    pub async fn close_day(&self, date: NaiveDate) -> Result<bool, StoreError> {
        let item = crate::repo::new_item(&day_closed_key(date), "closure");
        match self.store.put(item, Some(Condition::absent())).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Opens a day closed by [`Capacity::close_day`]; false when it was not closed.
    pub async fn open_day(&self, date: NaiveDate) -> Result<bool, StoreError> {
        match self
            .store
            .delete(&day_closed_key(date), Some(Condition::present()))
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Closes lift `lift` (1-based) for the day: the day's slots are derived from `plan` if
    /// need be, then each takes one unit fewer, atomically with storing the closure. Bookings
    /// already taken stay; a slot they now overfill offers nothing.
    pub async fn close_lift(
        &self,
        date: NaiveDate,
        lift: u32,
        plan: &[PlannedSlot],
    ) -> Result<LiftClosure, StoreError> {
        let lifts = plan.iter().map(|p| p.lifts).max().unwrap_or(0);
        if lift == 0 || lift > lifts {
            return Ok(LiftClosure::NoSuchLift);
        }
        let mut day = self.stored_day(date).await?;
        if day.closed_lifts.contains(&lift) {
            return Ok(LiftClosure::AlreadyClosed);
        }
        if self
            .derive(date, plan, day.closed_lifts.len(), &day.slots)
            .await?
        {
            day = self.stored_day(date).await?;
        }
        let starts: Vec<String> = day
            .slots
            .iter()
            .filter(|s| s.capacity >= 1)
            .map(|s| s.start.clone())
            .collect();
        if starts.len() >= MAX_TRANSACTION_OPS {
            return Err(StoreError::Invalid(format!(
                "{} slots on {date} are too many to close a lift at once",
                starts.len()
            )));
        }
        let mut ops = vec![WriteOp::put_if(
            with_data(&lift_closed_key(date, lift), "closure", &starts)?,
            Condition::absent(),
        )];
        for start in &starts {
            ops.push(WriteOp::Update(
                Update::new(slot_key(date, start))
                    .add(CAPACITY, -1)
                    .add(REMAINING, -1)
                    .when(Condition::ge(CAPACITY, 1)),
            ));
        }
        match self.store.transact(ops).await {
            Ok(()) => Ok(LiftClosure::Closed),
            Err(StoreError::TransactionConditionFailed { index: 0 }) => {
                Ok(LiftClosure::AlreadyClosed)
            }
            Err(StoreError::TransactionConditionFailed { .. }) => Err(StoreError::Conflict),
            Err(e) => Err(e),
        }
    }

    /// Opens a lift closed by [`Capacity::close_lift`]: the slots it took a unit from get it
    /// back. False when it was not closed.
    pub async fn open_lift(&self, date: NaiveDate, lift: u32) -> Result<bool, StoreError> {
        let key = lift_closed_key(date, lift);
        let Some(item) = self.store.get(&key).await? else {
            return Ok(false);
        };
        let starts: Vec<String> = data(&item)?;
        let mut ops = vec![WriteOp::Delete {
            key,
            condition: Some(Condition::present()),
        }];
        for start in &starts {
            ops.push(WriteOp::Update(
                Update::new(slot_key(date, start))
                    .add(CAPACITY, 1)
                    .add(REMAINING, 1)
                    .when(Condition::present()),
            ));
        }
        match self.store.transact(ops).await {
            Ok(()) => Ok(true),
            Err(StoreError::TransactionConditionFailed { index: 0 }) => Ok(false),
            Err(StoreError::TransactionConditionFailed { .. }) => Err(StoreError::Conflict),
            Err(e) => Err(e),
        }
    }
}
