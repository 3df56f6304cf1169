//! Changing a booking after it was held, always for the attempt a button was made for: moving
//! it to another slot (the old unit given back in the same transaction that takes the new one,
//! so a failure leaves the booking where it was), cancelling it, marking a no-show, the
//! day-before reminder's once-only mark, and a note kept beside the booking (the alternatives
//! an advisor proposes).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Serialize;

use super::{
    booking_key, booking_of, closures, slot_key, BookingState, Capacity, ATTEMPT, HOLD_UNTIL,
    REMAINING, REMINDED_AT, STATUS,
};
use crate::expr::{Condition, Update};
use crate::item::{to_attr, Item, Key};
use crate::port::{Store, StoreError, WriteOp};
use crate::repo::{data, epoch, integer, with_data, DATA};
use crate::table::{GSI1, GSI2};

const REMINDER_LEASE: &str = "reminder_lease";
const REMINDER_HOLDER: &str = "reminder_holder";
const NOTE_VERSION: &str = "version";

fn note_key(booking_id: &str, name: &str) -> Key {
    Key::new(format!("BOOK#{booking_id}"), format!("NOTE#{name}"))
}

/// The state a moved booking takes at its new slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveTo {
    /// Held until the advisor confirms it (or it lapses).
    Held { hold_until: DateTime<Utc> },
    /// Confirmed at once.
    Confirmed,
}

/// Where a booking moves to, and what it stores from then on.
#[derive(Debug, Clone, Copy)]
pub struct NewSlot<'a, P> {
    pub date: NaiveDate,
    pub start: &'a str,
    pub to: MoveTo,
    pub booking: &'a P,
}

/// What a move did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveOutcome {
    /// The booking is at the new slot as its attempt `attempt`; its old unit (if it held one)
    /// went back.
    Moved { attempt: u32 },
    /// The booking is not at that attempt any more, or was cancelled or marked a no-show;
    /// nothing changed.
    Stale,
    /// No unit left at the new slot, no such slot, or its day is closed; nothing changed.
    Full,
    /// The booking is at that slot already; nothing changed.
    SameSlot,
}

/// What claiming a booking's reminder did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderClaim {
    /// This sender may send it now, then mark it sent (or release it).
    Claimed,
    /// It went out before.
    AlreadySent,
    /// Another sender holds it.
    Busy,
    /// The booking is not confirmed at that attempt any more: nothing to remind of.
    Stale,
}

/// The condition that an item still is `state` at `attempt` (an item from before attempts
/// were stored is attempt 1).
fn still(item: &Item, state: BookingState, attempt: u32) -> Condition {
    let same_attempt = if item.contains_key(ATTEMPT) {
        Condition::eq(ATTEMPT, attempt)
    } else {
        Condition::NotExists(ATTEMPT.into())
    };
    Condition::eq(STATUS, state.as_str()).and(same_attempt)
}

impl<S: Store> Capacity<S> {
    /// Moves attempt `attempt` of a held, lapsed or confirmed booking to another slot as its
    /// next attempt, in one transaction: the booking's new slot, state and data, a unit taken
    /// from the new slot (which must exist and have one left, on a day not closed), and the
    /// old slot's unit given back when the booking held one. A reminder mark is cleared.
    pub async fn move_booking<P: Serialize>(
        &self,
        booking_id: &str,
        attempt: u32,
        slot: &NewSlot<'_, P>,
    ) -> Result<MoveOutcome, StoreError> {
        let key = booking_key(booking_id);
        let Some(item) = self.store.get(&key).await? else {
            return Ok(MoveOutcome::Stale);
        };
        let before = booking_of::<IgnoredAny>(&item)?;
        let movable = matches!(
            before.state,
            BookingState::Held | BookingState::Lapsed | BookingState::Confirmed
        );
        if before.attempt != attempt || !movable {
            return Ok(MoveOutcome::Stale);
        }
        if before.date == slot.date && before.start == slot.start {
            return Ok(MoveOutcome::SameSlot);
        }
        let (state, hold_until) = match slot.to {
            MoveTo::Held { hold_until } => (BookingState::Held, Some(hold_until)),
            MoveTo::Confirmed => (BookingState::Confirmed, None),
        };
        let mut update = Update::new(key)
            .set("date", slot.date.to_string())
            .set("start", slot.start)
            .set(STATUS, state.as_str())
            .set(ATTEMPT, attempt + 1)
            .set(DATA, to_attr(slot.booking)?)
            .set(GSI1.pk, format!("BOOKINGS#{}", slot.date))
            .set(GSI1.sk, format!("{}#{booking_id}", slot.start))
            .set(GSI2.sk, format!("BOOK#{}#{}", slot.date, slot.start))
            .remove(REMINDED_AT)
            .remove(REMINDER_LEASE)
            .remove(REMINDER_HOLDER);
        update = match hold_until {
            Some(until) => update.set(HOLD_UNTIL, epoch(until)),
            None => update.remove(HOLD_UNTIL),
        };
        let mut ops = vec![
            WriteOp::Update(update.when(still(&item, before.state, attempt))),
            WriteOp::Check {
                key: closures::day_closed_key(slot.date),
                condition: Condition::absent(),
            },
            WriteOp::Update(
                Update::new(slot_key(slot.date, slot.start))
                    .add(REMAINING, -1)
                    .when(Condition::ge(REMAINING, 1)),
            ),
        ];
        if before.state.is_active() {
            ops.push(WriteOp::Update(
                Update::new(slot_key(before.date, &before.start))
                    .add(REMAINING, 1)
                    .when(Condition::present()),
            ));
        }
        match self.store.transact(ops).await {
            Ok(()) => Ok(MoveOutcome::Moved {
                attempt: attempt + 1,
            }),
            Err(StoreError::TransactionConditionFailed { index: 0 }) => Ok(MoveOutcome::Stale),
            Err(StoreError::TransactionConditionFailed { index: 1 | 2 }) => Ok(MoveOutcome::Full),
            Err(StoreError::TransactionConditionFailed { .. }) => Err(StoreError::malformed(
                &slot_key(before.date, &before.start),
                "the slot of an active booking is missing",
            )),
            Err(e) => Err(e),
        }
    }

    /// Cancels attempt `attempt` of a held or confirmed booking and returns its unit; false when
    /// the booking is at another attempt or not active.
    pub async fn cancel_attempt(&self, booking_id: &str, attempt: u32) -> Result<bool, StoreError> {
        let Some(item) = self.store.get(&booking_key(booking_id)).await? else {
            return Ok(false);
        };
        let when = still(&item, BookingState::Held, attempt).or(still(
            &item,
            BookingState::Confirmed,
            attempt,
        ));
        self.give_back(booking_id, when, BookingState::Cancelled)
            .await
    }

    /// Marks confirmed attempt `attempt` a no-show; false when it is not confirmed at that
    /// attempt (marked before, cancelled, moved). The slot is past: no unit changes hands.
    pub async fn mark_no_show(&self, booking_id: &str, attempt: u32) -> Result<bool, StoreError> {
        let key = booking_key(booking_id);
        let Some(item) = self.store.get(&key).await? else {
            return Ok(false);
        };
        let update = Update::new(key)
            .set(STATUS, BookingState::NoShow.as_str())
            .when(still(&item, BookingState::Confirmed, attempt));
        match self.store.update(update).await {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Claims the day-before reminder of confirmed attempt `attempt` for `holder` at `now`
    /// for `lease` (then [`Capacity::mark_reminded`] or [`Capacity::release_reminder`]).
    pub async fn claim_reminder(
        &self,
        booking_id: &str,
        attempt: u32,
        holder: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<ReminderClaim, StoreError> {
        let key = booking_key(booking_id);
        let Some(item) = self.store.get(&key).await? else {
            return Ok(ReminderClaim::Stale);
        };
        let free = Condition::NotExists(REMINDER_LEASE.into())
            .or(Condition::lt(REMINDER_LEASE, epoch(now)));
        let update = Update::new(key.clone())
            .set(REMINDER_LEASE, epoch(now + lease))
            .set(REMINDER_HOLDER, holder)
            .when(
                still(&item, BookingState::Confirmed, attempt)
                    .and(Condition::NotExists(REMINDED_AT.into()))
                    .and(free),
            );
        match self.store.update(update).await {
            Ok(_) => Ok(ReminderClaim::Claimed),
            Err(StoreError::ConditionFailed) => {
                let Some(now_item) = self.store.get(&key).await? else {
                    return Ok(ReminderClaim::Stale);
                };
                let current = booking_of::<IgnoredAny>(&now_item)?;
                Ok(
                    if current.state != BookingState::Confirmed || current.attempt != attempt {
                        ReminderClaim::Stale
                    } else if now_item.contains_key(REMINDED_AT) {
                        ReminderClaim::AlreadySent
                    } else {
                        ReminderClaim::Busy
                    },
                )
            }
            Err(e) => Err(e),
        }
    }

    /// Records that `holder` sent the reminder at `now`; false when it does not hold it.
    pub async fn mark_reminded(
        &self,
        booking_id: &str,
        holder: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let update = Update::new(booking_key(booking_id))
            .set(REMINDED_AT, epoch(now))
            .remove(REMINDER_LEASE)
            .remove(REMINDER_HOLDER)
            .when(Condition::eq(REMINDER_HOLDER, holder));
        match self.store.update(update).await {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Gives the reminder back after a failed send, so it may be sent again.
    pub async fn release_reminder(&self, booking_id: &str, holder: &str) -> Result<(), StoreError> {
        let update = Update::new(booking_key(booking_id))
            .remove(REMINDER_LEASE)
            .remove(REMINDER_HOLDER)
            .when(Condition::eq(REMINDER_HOLDER, holder));
        match self.store.update(update).await {
            Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The note `name` kept beside a booking, with its version.
    pub async fn note<P: DeserializeOwned>(
        &self,
        booking_id: &str,
        name: &str,
    ) -> Result<Option<(P, u32)>, StoreError> {
        let Some(item) = self.store.get(&note_key(booking_id, name)).await? else {
            return Ok(None);
        };
        let version = u32::try_from(integer(&item, NOTE_VERSION)?).unwrap_or(0);
        Ok(Some((data(&item)?, version)))
    }

    /// Writes note `name` of a booking if it is still at version `expected` (`None`: absent);
    /// false when another writer came first.
    pub async fn put_note<P: Serialize>(
        &self,
        booking_id: &str,
        name: &str,
        note: &P,
        expected: Option<u32>,
    ) -> Result<bool, StoreError> {
        let key = note_key(booking_id, name);
        let mut item = with_data(&key, "booking_note", note)?;
        item.insert("booking_id".into(), booking_id.into());
        item.insert(NOTE_VERSION.into(), expected.map_or(1, |v| v + 1).into());
        let condition = match expected {
            None => Condition::absent(),
            Some(v) => Condition::eq(NOTE_VERSION, v),
        };
        match self.store.put(item, Some(condition)).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
