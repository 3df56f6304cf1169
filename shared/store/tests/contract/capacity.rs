//! Contract of derived capacity, closures, lapsing holds, the points ledger and conversions.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use domain::policy::PlannedSlot;
use store::repo::{BookingState, HoldOutcome, LiftClosure, NewConversion, NewHold, Repos, Resize};
use store::Store;

crate::contract!(capacity:
    a_day_is_derived_from_the_plan_once_and_keeps_what_was_taken,
    concurrent_customers_deriving_and_holding_one_day_never_exceed_its_lifts,
    a_closed_day_offers_and_holds_nothing_until_it_is_opened,
    a_slot_resized_keeps_its_units_taken_and_never_goes_below_them,
    a_closed_lift_takes_a_unit_from_every_slot_and_opening_gives_it_back,
    a_lapsed_hold_cannot_be_confirmed_and_its_booking_is_held_again_as_the_next_attempt,
    points_are_granted_once_per_booking_and_summed,
    a_conversion_is_credited_once_per_cycle_and_listed_by_month,
);

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, h, m, 0).unwrap()
}

fn plan(lifts: u32) -> Vec<PlannedSlot> {
    ["09:00", "10:00", "11:00"]
        .into_iter()
        .map(|start| PlannedSlot {
            start: start.into(),
            lifts,
        })
        .collect()
}

fn hold<'a>(id: &'a str, start: &'a str, until: DateTime<Utc>) -> NewHold<'a, ()> {
    NewHold {
        booking_id: id,
        date: day(),
        start,
        customer_id: id,
        vin: "VIN",
        hold_until: until,
        booking: &(),
    }
}

pub async fn a_day_is_derived_from_the_plan_once_and_keeps_what_was_taken<S: Store>(s: S) {
    let repos = Repos::new(s);
    assert!(repos.capacity.slots_on(day()).await.unwrap().is_empty());
    let derived = repos.capacity.day(day(), &plan(2)).await.unwrap();
    let shape: Vec<(&str, u32, u32)> = derived
        .slots
        .iter()
        .map(|s| (s.start.as_str(), s.capacity, s.remaining))
        .collect();
    assert_eq!(shape, [("09:00", 2, 2), ("10:00", 2, 2), ("11:00", 2, 2)]);
    let held = repos.capacity.hold(&hold("a", "10:00", at(12, 0))).await;
    assert_eq!(held.unwrap(), HoldOutcome::Held);
    let again = repos.capacity.day(day(), &plan(4)).await.unwrap();
    assert_eq!(
        again.slots[1].remaining, 1,
        "a stored slot is not derived again"
    );
    assert_eq!(again.slots[0].capacity, 2);
    assert_eq!(again.free_slots().count(), 3);
}

pub async fn concurrent_customers_deriving_and_holding_one_day_never_exceed_its_lifts<S: Store>(
    s: S,
) {
    let repos = Repos::new(s);
    let mut tasks = Vec::new();
    for i in 0..30 {
        let repos = repos.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("B{i:02}");
            let start = ["09:00", "10:00", "11:00"][i % 3];
            for _ in 0..5 {
                let derived = repos.capacity.day(day(), &plan(3)).await;
                let held = match derived {
                    Ok(_) => repos.capacity.hold(&hold(&id, start, at(12, 0))).await,
                    Err(e) => Err(e),
                };
                match held {
                    Err(e) if e.is_retryable() => continue,
                    other => return other.unwrap(),
                }
            }
            HoldOutcome::Full
        }));
    }
    let mut held = 0;
    for task in tasks {
        held += usize::from(task.await.unwrap() == HoldOutcome::Held);
    }
    let slots = repos.capacity.slots_on(day()).await.unwrap();
    assert_eq!(slots.len(), 3, "each slot derived once");
    let bookings = repos.capacity.bookings_on::<()>(day()).await.unwrap();
    for slot in &slots {
        let taken = bookings.iter().filter(|b| b.start == slot.start).count();
        assert!(taken <= 3, "{}: {taken} bookings on 3 lifts", slot.start);
        assert_eq!(slot.capacity, 3);
        assert_eq!(slot.remaining as usize + taken, 3);
    }
    assert_eq!(held, bookings.len());
    assert!(held <= 9);
}

pub async fn a_closed_day_offers_and_holds_nothing_until_it_is_opened<S: Store>(s: S) {
    let repos = Repos::new(s);
    assert!(repos.capacity.close_day(day()).await.unwrap());
    assert!(!repos.capacity.close_day(day()).await.unwrap());
    let closed = repos.capacity.day(day(), &plan(2)).await.unwrap();
    assert!(closed.closed);
    assert_eq!(closed.free_slots().count(), 0);
    repos.capacity.define_slot(day(), "09:00", 2).await.unwrap();
    assert_eq!(
        repos
            .capacity
            .hold(&hold("a", "09:00", at(12, 0)))
            .await
            .unwrap(),
        HoldOutcome::Full
    );
    assert!(repos.capacity.open_day(day()).await.unwrap());
    assert!(!repos.capacity.open_day(day()).await.unwrap());
    let open = repos.capacity.day(day(), &plan(2)).await.unwrap();
    assert_eq!(open.free_slots().count(), 3);
    assert_eq!(
        repos
            .capacity
            .hold(&hold("a", "09:00", at(12, 0)))
            .await
            .unwrap(),
        HoldOutcome::Held
    );
}

pub async fn a_slot_resized_keeps_its_units_taken_and_never_goes_below_them<S: Store>(s: S) {
    let repos = Repos::new(s);
    let slot = |repos: &Repos<S>| {
        let repos = repos.clone();
        async move {
            let slots = repos.capacity.slots_on(day()).await.unwrap();
            let slot = slots.iter().find(|s| s.start == "09:00").unwrap();
            (slot.capacity, slot.remaining)
        }
    };
    let resize = |capacity| {
        repos
            .capacity
            .resize_slot(day(), "09:00", capacity, at(11, 0))
    };
    assert_eq!(resize(2).await.unwrap(), Resize::Created);
    for id in ["a", "b"] {
        let held = repos.capacity.hold(&hold(id, "09:00", at(12, 0))).await;
        assert_eq!(held.unwrap(), HoldOutcome::Held);
    }
    assert_eq!(slot(&repos).await, (2, 0));
    assert_eq!(resize(2).await.unwrap(), Resize::Unchanged);
    assert_eq!(resize(3).await.unwrap(), Resize::Resized { was: 2 });
    assert_eq!(slot(&repos).await, (3, 1));
    assert_eq!(resize(1).await.unwrap(), Resize::BelowTaken { taken: 2 });
    assert_eq!(slot(&repos).await, (3, 1), "refused: nothing changed");
    assert_eq!(resize(2).await.unwrap(), Resize::Resized { was: 3 });
    assert_eq!(slot(&repos).await, (2, 0));
    let full = repos.capacity.hold(&hold("c", "09:00", at(12, 0))).await;
    assert_eq!(full.unwrap(), HoldOutcome::Full);
    // At 13:00 both holds (until 12:00) have lapsed: they do not count against a smaller slot.
    let later = repos
        .capacity
        .resize_slot(day(), "09:00", 1, at(13, 0))
        .await
        .unwrap();
    assert_eq!(later, Resize::Resized { was: 2 });
    assert_eq!(slot(&repos).await, (1, 1));
}

pub async fn a_closed_lift_takes_a_unit_from_every_slot_and_opening_gives_it_back<S: Store>(s: S) {
    let repos = Repos::new(s);
    let cap = &repos.capacity;
    assert_eq!(
        cap.close_lift(day(), 3, &plan(2)).await.unwrap(),
        LiftClosure::NoSuchLift
    );
    assert_eq!(
        cap.close_lift(day(), 2, &plan(2)).await.unwrap(),
        LiftClosure::Closed
    );
    assert_eq!(
        cap.close_lift(day(), 2, &plan(2)).await.unwrap(),
        LiftClosure::AlreadyClosed
    );
    let closed = cap.day(day(), &plan(2)).await.unwrap();
    assert_eq!(closed.closed_lifts, [2]);
    assert!(closed
        .slots
        .iter()
        .all(|s| (s.capacity, s.remaining) == (1, 1)));
    assert_eq!(
        cap.hold(&hold("a", "09:00", at(12, 0))).await.unwrap(),
        HoldOutcome::Held
    );
    assert_eq!(
        cap.hold(&hold("b", "09:00", at(12, 0))).await.unwrap(),
        HoldOutcome::Full
    );
    assert!(cap.open_lift(day(), 2).await.unwrap());
    assert!(!cap.open_lift(day(), 2).await.unwrap());
    let open = cap.day(day(), &plan(2)).await.unwrap();
    let shape: Vec<(u32, u32)> = open
        .slots
        .iter()
        .map(|s| (s.capacity, s.remaining))
        .collect();
    assert_eq!(shape, [(2, 1), (2, 2), (2, 2)]);

    // Closed over a full slot: it offers nothing, and opening restores it exactly.
    cap.hold(&hold("b", "09:00", at(12, 0))).await.unwrap();
    assert_eq!(
        cap.close_lift(day(), 1, &plan(2)).await.unwrap(),
        LiftClosure::Closed
    );
    let over = cap.day(day(), &plan(2)).await.unwrap();
    assert_eq!((over.slots[0].capacity, over.slots[0].remaining), (1, 0));
    assert!(cap.open_lift(day(), 1).await.unwrap());
    let back = cap.day(day(), &plan(2)).await.unwrap();
    assert_eq!((back.slots[0].capacity, back.slots[0].remaining), (2, 0));
}

pub async fn a_lapsed_hold_cannot_be_confirmed_and_its_booking_is_held_again_as_the_next_attempt<
    S: Store,
>(
    s: S,
) {
    let repos = Repos::new(s);
    let cap = &repos.capacity;
    cap.day(day(), &plan(1)).await.unwrap();
    assert_eq!(
        cap.hold(&hold("a", "09:00", at(10, 30))).await.unwrap(),
        HoldOutcome::Held
    );
    let a = cap.booking::<()>("a").await.unwrap().unwrap();
    assert_eq!((a.attempt, a.hold_until), (1, Some(at(10, 30))));
    assert!(!a.lapsed_at(at(10, 30)));
    assert!(a.lapsed_at(at(10, 31)));
    assert!(
        !cap.confirm("a", Some(1), at(10, 31)).await.unwrap(),
        "lapsed"
    );
    assert_eq!(cap.release_lapsed_on(day(), at(10, 31)).await.unwrap(), 1);
    assert_eq!(cap.release_lapsed_on(day(), at(10, 31)).await.unwrap(), 0);
    let a = cap.booking::<()>("a").await.unwrap().unwrap();
    assert_eq!(a.state, BookingState::Lapsed);
    assert_eq!(cap.slots_on(day()).await.unwrap()[0].remaining, 1);

    assert_eq!(
        cap.hold(&hold("a", "10:00", at(11, 0))).await.unwrap(),
        HoldOutcome::Held
    );
    let a = cap.booking::<()>("a").await.unwrap().unwrap();
    assert_eq!(
        (a.state, a.attempt, a.start.as_str()),
        (BookingState::Held, 2, "10:00")
    );
    assert!(
        !cap.confirm("a", Some(1), at(10, 45)).await.unwrap(),
        "an older attempt"
    );
    assert!(cap.confirm("a", Some(2), at(10, 45)).await.unwrap());
    assert_eq!(
        cap.hold(&hold("a", "11:00", at(12, 0))).await.unwrap(),
        HoldOutcome::AlreadyHeld
    );
    assert!(cap.cancel("a").await.unwrap());
    assert_eq!(
        cap.hold(&hold("a", "11:00", at(12, 0))).await.unwrap(),
        HoldOutcome::Held
    );
    let a = cap.booking::<()>("a").await.unwrap().unwrap();
    assert_eq!(a.attempt, 3);
    let remaining: Vec<u32> = cap
        .slots_on(day())
        .await
        .unwrap()
        .iter()
        .map(|s| s.remaining)
        .collect();
    assert_eq!(remaining, [1, 1, 0]);
}

pub async fn points_are_granted_once_per_booking_and_summed<S: Store>(s: S) {
    let repos = Repos::new(s);
    let p = &repos.points;
    assert!(p
        .grant("C1", "b1", 500, at(10, 0), &"weekday_bonus")
        .await
        .unwrap());
    assert!(!p
        .grant("C1", "b1", 500, at(11, 0), &"weekday_bonus")
        .await
        .unwrap());
    assert!(p
        .grant("C1", "b2", 300, at(12, 0), &"weekday_bonus")
        .await
        .unwrap());
    assert_eq!(p.balance("C1").await.unwrap(), 800);
    assert_eq!(p.balance("C2").await.unwrap(), 0);
    let ledger = p.ledger::<String>("C1").await.unwrap();
    assert_eq!(ledger.len(), 2);
    assert_eq!(
        (ledger[0].booking_id.as_str(), ledger[0].points),
        ("b1", 500)
    );
    assert_eq!(ledger[0].at, at(10, 0));
}

pub async fn a_conversion_is_credited_once_per_cycle_and_listed_by_month<S: Store>(s: S) {
    let repos = Repos::new(s);
    let credit = |cycle: &'static str, wo: &'static str, d: u32| NewConversion {
        vin: "VIN1",
        cycle_id: cycle,
        work_order_id: wo,
        visit_on: NaiveDate::from_ymd_opt(2026, 12, d).unwrap(),
        record: &"soft_reminder",
    };
    let c = &repos.conversions;
    assert!(c.credit(&credit("WO-1", "WO-2", 5)).await.unwrap());
    assert!(!c.credit(&credit("WO-1", "WO-2", 5)).await.unwrap());
    assert!(!c.credit(&credit("WO-1", "WO-3", 9)).await.unwrap());
    assert!(c.credit(&credit("WO-2", "WO-3", 9)).await.unwrap());
    let mine = c.for_vehicle::<String>("VIN1").await.unwrap();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0].work_order_id, "WO-2");
    assert_eq!(c.in_month::<String>(2026, 12).await.unwrap().len(), 2);
    assert!(c.in_month::<String>(2026, 11).await.unwrap().is_empty());
}
