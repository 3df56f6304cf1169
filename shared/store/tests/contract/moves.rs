//! Contract of a booking's changes after its hold: moving it between slots in one write,
//! cancelling or marking a no-show only at its attempt, the once-only reminder mark, notes
//! beside a booking, and vehicles found by licence plate.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use store::repo::{
    BookingState, HoldOutcome, MoveOutcome, MoveTo, NewHold, NewSlot, ReminderClaim, Repos,
    VehicleRecord,
};
use store::{Store, StoreError};

crate::contract!(moves:
    a_move_gives_back_the_old_unit_and_takes_the_new_one_in_one_write,
    a_move_to_a_full_or_closed_slot_or_from_an_old_attempt_changes_nothing,
    a_move_racing_holds_for_the_last_unit_never_overbooks,
    a_reminder_is_claimed_and_marked_once_and_a_move_clears_the_mark,
    cancel_and_no_show_act_only_on_their_attempt,
    a_note_is_written_once_per_version,
    vehicles_are_found_by_their_plate,
);

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, h, m, 0).unwrap()
}

fn hold<'a>(id: &'a str, start: &'a str) -> NewHold<'a, ()> {
    NewHold {
        booking_id: id,
        date: day(),
        start,
        customer_id: id,
        vin: "VIN",
        hold_until: at(12, 0),
        booking: &(),
    }
}

fn to<'a>(start: &'a str, to: MoveTo) -> NewSlot<'a, ()> {
    NewSlot {
        date: day(),
        start,
        to,
        booking: &(),
    }
}

async fn remaining<S: Store>(repos: &Repos<S>, start: &str) -> u32 {
    let slots = repos.capacity.slots_on(day()).await.unwrap();
    slots.iter().find(|s| s.start == start).unwrap().remaining
}

async fn setup<S: Store>(s: S, slots: &[(&str, u32)]) -> Repos<S> {
    let repos = Repos::new(s);
    for (start, capacity) in slots {
        repos
            .capacity
            .define_slot(day(), start, *capacity)
            .await
            .unwrap();
    }
    repos
}

pub async fn a_move_gives_back_the_old_unit_and_takes_the_new_one_in_one_write<S: Store>(s: S) {
    let repos = setup(s, &[("09:00", 2), ("10:00", 2)]).await;
    assert_eq!(
        repos.capacity.hold(&hold("a", "09:00")).await.unwrap(),
        HoldOutcome::Held
    );
    assert!(repos
        .capacity
        .confirm("a", Some(1), at(11, 0))
        .await
        .unwrap());
    let moved = repos
        .capacity
        .move_booking("a", 1, &to("10:00", MoveTo::Confirmed))
        .await
        .unwrap();
    assert_eq!(moved, MoveOutcome::Moved { attempt: 2 });
    assert_eq!(
        (
            remaining(&repos, "09:00").await,
            remaining(&repos, "10:00").await
        ),
        (2, 1)
    );
    let booking = repos.capacity.booking::<()>("a").await.unwrap().unwrap();
    assert_eq!(
        (
            booking.start.as_str(),
            booking.state,
            booking.attempt,
            booking.hold_until
        ),
        ("10:00", BookingState::Confirmed, 2, None)
    );
    let listed = repos.capacity.bookings_on::<()>(day()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].start, "10:00");
    let mine = repos
        .capacity
        .bookings_of_customer::<()>("a")
        .await
        .unwrap();
    assert_eq!(mine[0].start, "10:00");

    // Back as a hold: held until a new instant.
    let until = at(13, 0);
    let back = repos
        .capacity
        .move_booking("a", 2, &to("09:00", MoveTo::Held { hold_until: until }))
        .await
        .unwrap();
    assert_eq!(back, MoveOutcome::Moved { attempt: 3 });
    let booking = repos.capacity.booking::<()>("a").await.unwrap().unwrap();
    assert_eq!(
        (booking.state, booking.hold_until),
        (BookingState::Held, Some(until))
    );
    assert_eq!(
        (
            remaining(&repos, "09:00").await,
            remaining(&repos, "10:00").await
        ),
        (1, 2)
    );
}

pub async fn a_move_to_a_full_or_closed_slot_or_from_an_old_attempt_changes_nothing<S: Store>(
    s: S,
) {
    let repos = setup(s, &[("09:00", 1), ("10:00", 1)]).await;
    repos.capacity.hold(&hold("a", "09:00")).await.unwrap();
    repos.capacity.hold(&hold("b", "10:00")).await.unwrap();
    let full = repos
        .capacity
        .move_booking("a", 1, &to("10:00", MoveTo::Confirmed))
        .await;
    assert_eq!(full.unwrap(), MoveOutcome::Full);
    let missing = repos
        .capacity
        .move_booking("a", 1, &to("11:00", MoveTo::Confirmed))
        .await;
    assert_eq!(missing.unwrap(), MoveOutcome::Full);
    let same = repos
        .capacity
        .move_booking("a", 1, &to("09:00", MoveTo::Confirmed))
        .await;
    assert_eq!(same.unwrap(), MoveOutcome::SameSlot);
    let old = repos
        .capacity
        .move_booking("a", 7, &to("10:00", MoveTo::Confirmed))
        .await;
    assert_eq!(old.unwrap(), MoveOutcome::Stale);
    let unknown = repos
        .capacity
        .move_booking("z", 1, &to("10:00", MoveTo::Confirmed))
        .await;
    assert_eq!(unknown.unwrap(), MoveOutcome::Stale);
    assert!(repos.capacity.cancel("b").await.unwrap());
    assert!(repos.capacity.close_day(day()).await.unwrap());
    let closed = repos
        .capacity
        .move_booking("a", 1, &to("10:00", MoveTo::Confirmed))
        .await;
    assert_eq!(closed.unwrap(), MoveOutcome::Full);
    let cancelled = repos
        .capacity
        .move_booking("b", 1, &to("09:00", MoveTo::Confirmed))
        .await;
    assert_eq!(cancelled.unwrap(), MoveOutcome::Stale);
    let a = repos.capacity.booking::<()>("a").await.unwrap().unwrap();
    assert_eq!(
        (a.start.as_str(), a.attempt, a.state),
        ("09:00", 1, BookingState::Held)
    );
    assert_eq!(
        (
            remaining(&repos, "09:00").await,
            remaining(&repos, "10:00").await
        ),
        (0, 1)
    );
}

pub async fn a_move_racing_holds_for_the_last_unit_never_overbooks<S: Store>(s: S) {
    let repos = setup(s, &[("09:00", 3), ("10:00", 1)]).await;
    for id in ["a", "b", "c"] {
        repos.capacity.hold(&hold(id, "09:00")).await.unwrap();
    }
    let mut tasks = Vec::new();
    for (i, id) in ["a", "b", "c", "x", "y"].into_iter().enumerate() {
        let repos = repos.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..5 {
                let result = if i < 3 {
                    repos
                        .capacity
                        .move_booking(id, 1, &to("10:00", MoveTo::Confirmed))
                        .await
                        .map(|o| matches!(o, MoveOutcome::Moved { .. }))
                } else {
                    repos
                        .capacity
                        .hold(&hold(id, "10:00"))
                        .await
                        .map(|o| o == HoldOutcome::Held)
                };
                match result {
                    Err(StoreError::Conflict) => continue,
                    other => return other.unwrap(),
                }
            }
            false
        }));
    }
    let mut won = 0;
    for task in tasks {
        won += usize::from(task.await.unwrap());
    }
    assert_eq!(won, 1, "one of them has the unit");
    let bookings = repos.capacity.bookings_on::<()>(day()).await.unwrap();
    for (start, capacity) in [("09:00", 3), ("10:00", 1)] {
        let active = bookings
            .iter()
            .filter(|b| b.start == start && b.state.is_active())
            .count() as u32;
        assert_eq!(remaining(&repos, start).await + active, capacity, "{start}");
    }
}

pub async fn a_reminder_is_claimed_and_marked_once_and_a_move_clears_the_mark<S: Store>(s: S) {
    let repos = setup(s, &[("09:00", 2), ("10:00", 2)]).await;
    repos.capacity.hold(&hold("a", "09:00")).await.unwrap();
    let lease = Duration::seconds(60);
    let held = repos
        .capacity
        .claim_reminder("a", 1, "x", at(11, 0), lease)
        .await;
    assert_eq!(held.unwrap(), ReminderClaim::Stale, "not confirmed yet");
    repos
        .capacity
        .confirm("a", Some(1), at(11, 0))
        .await
        .unwrap();
    let claim = |who: &'static str, when: DateTime<Utc>, attempt: u32| {
        let repos = repos.clone();
        async move {
            repos
                .capacity
                .claim_reminder("a", attempt, who, when, lease)
                .await
                .unwrap()
        }
    };
    assert_eq!(claim("x", at(11, 0), 1).await, ReminderClaim::Claimed);
    assert_eq!(claim("y", at(11, 0), 1).await, ReminderClaim::Busy);
    repos.capacity.release_reminder("a", "x").await.unwrap();
    assert_eq!(claim("y", at(11, 0), 1).await, ReminderClaim::Claimed);
    assert!(!repos
        .capacity
        .mark_reminded("a", "x", at(11, 1))
        .await
        .unwrap());
    assert!(repos
        .capacity
        .mark_reminded("a", "y", at(11, 1))
        .await
        .unwrap());
    assert_eq!(claim("x", at(11, 5), 1).await, ReminderClaim::AlreadySent);
    let booking = repos.capacity.booking::<()>("a").await.unwrap().unwrap();
    assert_eq!(booking.reminded_at, Some(at(11, 1)));

    let moved = repos
        .capacity
        .move_booking("a", 1, &to("10:00", MoveTo::Confirmed))
        .await
        .unwrap();
    assert_eq!(moved, MoveOutcome::Moved { attempt: 2 });
    assert_eq!(claim("x", at(12, 0), 1).await, ReminderClaim::Stale);
    assert_eq!(claim("x", at(12, 0), 2).await, ReminderClaim::Claimed);
    // A lease left behind by a crashed sender lapses.
    assert_eq!(claim("y", at(12, 2), 2).await, ReminderClaim::Claimed);
}

pub async fn cancel_and_no_show_act_only_on_their_attempt<S: Store>(s: S) {
    let repos = setup(s, &[("09:00", 2), ("10:00", 2)]).await;
    repos.capacity.hold(&hold("a", "09:00")).await.unwrap();
    assert!(!repos.capacity.mark_no_show("a", 1).await.unwrap(), "held");
    repos
        .capacity
        .confirm("a", Some(1), at(11, 0))
        .await
        .unwrap();
    repos
        .capacity
        .move_booking("a", 1, &to("10:00", MoveTo::Confirmed))
        .await
        .unwrap();
    assert!(!repos.capacity.cancel_attempt("a", 1).await.unwrap());
    assert!(!repos.capacity.mark_no_show("a", 1).await.unwrap());
    assert!(repos.capacity.mark_no_show("a", 2).await.unwrap());
    assert!(!repos.capacity.mark_no_show("a", 2).await.unwrap());
    assert!(
        !repos.capacity.cancel_attempt("a", 2).await.unwrap(),
        "a no-show"
    );
    let a = repos.capacity.booking::<()>("a").await.unwrap().unwrap();
    assert_eq!(a.state, BookingState::NoShow);
    assert!(!a.state.is_active());

    repos.capacity.hold(&hold("b", "09:00")).await.unwrap();
    assert!(repos.capacity.cancel_attempt("b", 1).await.unwrap());
    assert!(!repos.capacity.cancel_attempt("b", 1).await.unwrap());
    assert_eq!(remaining(&repos, "09:00").await, 2);
}

pub async fn a_note_is_written_once_per_version<S: Store>(s: S) {
    let repos = Repos::new(s);
    let capacity = &repos.capacity;
    assert_eq!(capacity.note::<Vec<u32>>("a", "alt").await.unwrap(), None);
    assert!(capacity.put_note("a", "alt", &vec![1], None).await.unwrap());
    assert!(!capacity.put_note("a", "alt", &vec![2], None).await.unwrap());
    assert_eq!(
        capacity.note::<Vec<u32>>("a", "alt").await.unwrap(),
        Some((vec![1], 1))
    );
    assert!(capacity
        .put_note("a", "alt", &vec![1, 2], Some(1))
        .await
        .unwrap());
    assert!(!capacity
        .put_note("a", "alt", &vec![3], Some(1))
        .await
        .unwrap());
    assert_eq!(
        capacity.note::<Vec<u32>>("a", "alt").await.unwrap(),
        Some((vec![1, 2], 2))
    );
}

pub async fn vehicles_are_found_by_their_plate<S: Store>(s: S) {
    let repos = Repos::new(s);
    for (vin, customer) in [("V1", "C1"), ("V2", "C2")] {
        let vehicle = serde_json::json!({"vin": vin});
        repos
            .vehicles
            .put(&VehicleRecord {
                vin,
                customer_id: customer,
                vehicle: &vehicle,
            })
            .await
            .unwrap();
    }
    assert!(repos.vehicles.index_plate("V1", "А123ВС777").await.unwrap());
    assert!(!repos.vehicles.index_plate("V9", "А123ВС777").await.unwrap());
    let found = repos
        .vehicles
        .by_plate::<serde_json::Value>("А123ВС777")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].vin.as_str(), found[0].customer_id.as_str()),
        ("V1", "C1")
    );
    // The plate moves to another car: both are found until the first is stored again.
    assert!(repos.vehicles.index_plate("V2", "А123ВС777").await.unwrap());
    assert_eq!(
        repos
            .vehicles
            .by_plate::<serde_json::Value>("А123ВС777")
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(repos
        .vehicles
        .by_plate::<serde_json::Value>("В777ОО99")
        .await
        .unwrap()
        .is_empty());
}
