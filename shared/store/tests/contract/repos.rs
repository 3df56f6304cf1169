//! Contract of the repositories: the guarantees of the storage layer, on both backends.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use domain::{Reading, ReadingSource};
use serde::{Deserialize, Serialize};
use store::repo::{
    Begin, BookingState, Claim, ContactHandle, CustomerRecord, HoldOutcome, NewHold, NewOffer,
    NewVisit, OfferState, OpenOutcome, OptOutOutcome, RecordOutcome, Repos, StageOutcome,
    VehicleRecord,
};
use store::{Store, StoreError};

crate::contract!(repos:
    the_same_work_order_recorded_20_times_concurrently_gives_one_visit_and_one_reading,
    a_visit_that_keeps_the_vehicle_leaves_its_owner_and_answers_as_stored,
    fifty_concurrent_holds_on_three_units_let_exactly_three_through,
    a_cancelled_booking_returns_its_unit_and_a_lapsed_hold_can_be_released,
    an_offer_is_claimed_by_one_of_many_concurrent_senders_and_sent_once,
    a_lapsed_lease_passes_to_another_sender_and_the_first_can_no_longer_mark_it_sent,
    an_idempotency_record_goes_from_in_progress_to_completed_and_a_lapsed_one_is_taken_over,
    readings_come_back_oldest_first_and_each_is_appended_once,
    the_scan_segments_of_vehicles_hold_every_vehicle_once,
    customers_are_found_by_telegram_chat_and_by_phone,
    an_opt_out_survives_a_later_visit_and_a_new_profile_and_the_first_time_is_kept,
    a_stop_from_a_chat_or_phone_is_remembered_once_per_handle,
    forecasts_are_kept_per_vehicle_and_found_by_due_date,
    a_vehicle_has_one_open_cycle_and_each_stage_is_marked_once,
    a_reaction_is_recorded_once_per_kind_and_read_back_with_its_stage,
    concurrent_counter_increments_are_all_counted,
    a_policy_override_changed_meanwhile_is_not_overwritten,
    a_nightly_shard_resumes_from_its_checkpoint_and_counts_each_page_once,
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Visit {
    kind: String,
    total: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Vehicle {
    make: String,
    first_registration: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    first_name: String,
    marketing: bool,
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 12, h, 0, 0).unwrap()
}

fn vehicle() -> Vehicle {
    Vehicle {
        make: "Toyota".into(),
        first_registration: day(2019, 5, 20),
    }
}

/// A visit of `customer_id` to the example car.
fn new_visit<'a>(
    work_order_id: &'a str,
    closed_on: NaiveDate,
    customer_id: &'a str,
    keep_vehicle: bool,
    (visit, vehicle, profile): (&'a Visit, &'a Vehicle, &'a Profile),
) -> NewVisit<'a, Visit, Vehicle, Profile> {
    NewVisit {
        work_order_id,
        closed_on,
        odometer_km: 90_000,
        visit,
        vehicle: VehicleRecord {
            vin: "XW7BE40K70S025476",
            customer_id,
            vehicle,
        },
        keep_vehicle,
        customer: CustomerRecord {
            customer_id,
            telegram_chat_id: None,
            phone: None,
            profile,
        },
    }
}

/// A back-filled older visit of another customer is stored with its reading, and the vehicle
/// item is not written: its owner and the owner's answers stay, in the same transaction.
pub async fn a_visit_that_keeps_the_vehicle_leaves_its_owner_and_answers_as_stored<S: Store>(s: S) {
    let repos = Repos::new(s);
    let visit = Visit {
        kind: "maintenance".into(),
        total: "7700.00".into(),
    };
    let (vehicle, profile) = (vehicle(), profile());
    let parts = (&visit, &vehicle, &profile);
    let vin = "XW7BE40K70S025476";
    let owner = new_visit("W2", day(2026, 11, 12), "C-2002", false, parts);
    repos.visits.record(&owner).await.unwrap();
    let sold = at(12);
    repos.answers.mark_sold(vin, "C-2002", sold).await.unwrap();
    let older = new_visit("W1", day(2025, 6, 1), "C-1001", true, parts);
    assert_eq!(
        repos.visits.record(&older).await.unwrap(),
        RecordOutcome::Recorded
    );
    let stored = repos.vehicles.get::<Vehicle>(vin).await.unwrap().unwrap();
    assert_eq!(stored.customer_id, "C-2002");
    assert_eq!(stored.contact.sold_at, Some(sold));
    let visits = repos.visits.for_vehicle::<Visit>(vin).await.unwrap();
    assert_eq!(visits.len(), 2);
    assert_eq!(repos.readings.for_vehicle(vin).await.unwrap().len(), 2);
}

fn profile() -> Profile {
    Profile {
        first_name: "Михаил".into(),
        marketing: true,
    }
}

pub async fn the_same_work_order_recorded_20_times_concurrently_gives_one_visit_and_one_reading<
    S: Store,
>(
    s: S,
) {
    let repos = Repos::new(s);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let repos = repos.clone();
        tasks.push(tokio::spawn(async move {
            let visit = Visit {
                kind: "maintenance".into(),
                total: "7700.00".into(),
            };
            let vehicle = vehicle();
            let profile = profile();
            repos
                .visits
                .record(&NewVisit {
                    work_order_id: "A3C0001116",
                    closed_on: day(2026, 11, 12),
                    odometer_km: 90_000,
                    visit: &visit,
                    vehicle: VehicleRecord {
                        vin: "XW7BE40K70S025476",
                        customer_id: "C-1001",
                        vehicle: &vehicle,
                    },
                    keep_vehicle: false,
                    customer: CustomerRecord {
                        customer_id: "C-1001",
                        telegram_chat_id: None,
                        phone: Some("+79161234567"),
                        profile: &profile,
                    },
                })
                .await
        }));
    }
    let mut recorded = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(RecordOutcome::Recorded) => recorded += 1,
            Ok(RecordOutcome::AlreadyRecorded) => {}
            Err(e) if e.is_retryable() => {}
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(recorded, 1);
    let visits = repos
        .visits
        .for_vehicle::<Visit>("XW7BE40K70S025476")
        .await
        .unwrap();
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0].work_order_id, "A3C0001116");
    assert_eq!(visits[0].customer_id, "C-1001");
    let readings = repos
        .readings
        .for_vehicle("XW7BE40K70S025476")
        .await
        .unwrap();
    assert_eq!(
        readings,
        [Reading {
            date: day(2026, 11, 12),
            km: 90_000,
            source: ReadingSource::Visit
        }]
    );
    let by_order = repos
        .visits
        .by_work_order::<Visit>("A3C0001116")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_order.visit.total, "7700.00");
    assert_eq!(
        repos
            .visits
            .for_customer::<Visit>("C-1001")
            .await
            .unwrap()
            .len(),
        1
    );
    let stored = repos
        .vehicles
        .get::<Vehicle>("XW7BE40K70S025476")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.vehicle, vehicle());
    let customer = repos
        .customers
        .get::<Profile>("C-1001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(customer.profile, profile());
}

pub async fn fifty_concurrent_holds_on_three_units_let_exactly_three_through<S: Store>(s: S) {
    let repos = Repos::new(s);
    let date = day(2026, 11, 17);
    assert!(repos.capacity.define_slot(date, "10:00", 3).await.unwrap());
    assert!(!repos.capacity.define_slot(date, "10:00", 9).await.unwrap());
    let mut tasks = Vec::new();
    for i in 0..50 {
        let repos = repos.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("B{i:02}");
            let customer = format!("C{i:02}");
            repos
                .capacity
                .hold(&NewHold {
                    booking_id: &id,
                    date,
                    start: "10:00",
                    customer_id: &customer,
                    vin: "VIN",
                    hold_until: at(12),
                    booking: &"ТО-6",
                })
                .await
        }));
    }
    let mut held = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(HoldOutcome::Held) => held += 1,
            Ok(HoldOutcome::Full) => {}
            Err(e) if e.is_retryable() => {}
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(held, 3);
    let slots = repos.capacity.slots_on(date).await.unwrap();
    assert_eq!(slots.len(), 1);
    assert_eq!((slots[0].capacity, slots[0].remaining), (3, 0));
    let bookings = repos.capacity.bookings_on::<String>(date).await.unwrap();
    assert_eq!(bookings.len(), 3);
    assert!(bookings.iter().all(|b| b.state == BookingState::Held));
}

pub async fn a_cancelled_booking_returns_its_unit_and_a_lapsed_hold_can_be_released<S: Store>(
    s: S,
) {
    let repos = Repos::new(s);
    let date = day(2026, 11, 18);
    repos.capacity.define_slot(date, "09:00", 1).await.unwrap();
    let hold = |id: &'static str, until| NewHold {
        booking_id: id,
        date,
        start: "09:00",
        customer_id: "C1",
        vin: "VIN1",
        hold_until: until,
        booking: &(),
    };
    assert_eq!(
        repos.capacity.hold(&hold("a", at(10))).await.unwrap(),
        HoldOutcome::Held
    );
    assert_eq!(
        repos.capacity.hold(&hold("a", at(10))).await.unwrap(),
        HoldOutcome::AlreadyHeld
    );
    assert_eq!(
        repos.capacity.hold(&hold("b", at(10))).await.unwrap(),
        HoldOutcome::Full
    );
    assert!(repos.capacity.confirm("a", None, at(9)).await.unwrap());
    assert!(!repos.capacity.confirm("a", None, at(9)).await.unwrap());
    assert!(repos.capacity.cancel("a").await.unwrap());
    assert!(!repos.capacity.cancel("a").await.unwrap());
    assert_eq!(repos.capacity.slots_on(date).await.unwrap()[0].remaining, 1);
    let a = repos.capacity.booking::<()>("a").await.unwrap().unwrap();
    assert_eq!(a.state, BookingState::Cancelled);

    assert_eq!(
        repos.capacity.hold(&hold("c", at(10))).await.unwrap(),
        HoldOutcome::Held
    );
    assert!(!repos.capacity.release_lapsed("c", at(9)).await.unwrap());
    assert!(repos.capacity.release_lapsed("c", at(11)).await.unwrap());
    assert_eq!(repos.capacity.slots_on(date).await.unwrap()[0].remaining, 1);
    assert_eq!(
        repos
            .capacity
            .bookings_of_customer::<()>("C1")
            .await
            .unwrap()
            .len(),
        2
    );
}

fn new_offer(id: &str) -> NewOffer<'_, &'static str> {
    NewOffer {
        offer_id: id,
        customer_id: "C-1001",
        vin: "VIN1",
        created_at: at(9),
        offer: &"20 % на работы",
    }
}

pub async fn an_offer_is_claimed_by_one_of_many_concurrent_senders_and_sent_once<S: Store>(s: S) {
    let repos = Repos::new(s);
    assert!(repos.offers.create(&new_offer("O1")).await.unwrap());
    assert!(!repos.offers.create(&new_offer("O1")).await.unwrap());
    assert_eq!(repos.offers.unsent(10).await.unwrap(), ["O1"]);
    let mut tasks = Vec::new();
    for i in 0..10 {
        let repos = repos.clone();
        tasks.push(tokio::spawn(async move {
            let sender = format!("sender-{i}");
            let claim = repos
                .offers
                .claim::<String>("O1", &sender, at(10), Duration::minutes(5))
                .await
                .unwrap();
            (sender, claim)
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        let (sender, claim) = task.await.unwrap();
        match claim {
            Claim::Claimed(offer) => {
                assert_eq!(offer, "20 % на работы");
                winners.push(sender);
            }
            Claim::Busy => {}
            other => panic!("unexpected claim {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    let winner = &winners[0];
    assert!(!repos
        .offers
        .mark_sent("O1", "sender-x", at(10))
        .await
        .unwrap());
    assert!(repos.offers.mark_sent("O1", winner, at(10)).await.unwrap());
    let later = repos
        .offers
        .claim::<String>("O1", "sender-late", at(11), Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(later, Claim::AlreadySent);
    let stored = repos.offers.get::<String>("O1").await.unwrap().unwrap();
    assert_eq!(stored.state, OfferState::Sent);
    assert_eq!(stored.sender.as_deref(), Some(winner.as_str()));
    assert_eq!(stored.sent_at, Some(at(10)));
    assert!(stored.created_at.is_some());
    assert!(repos.offers.unsent(10).await.unwrap().is_empty());
    assert_eq!(
        repos
            .offers
            .for_customer::<String>("C-1001")
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        repos
            .offers
            .claim::<String>("nope", "s", at(10), Duration::minutes(5))
            .await
            .unwrap(),
        Claim::Missing
    );
}

pub async fn a_lapsed_lease_passes_to_another_sender_and_the_first_can_no_longer_mark_it_sent<
    S: Store,
>(
    s: S,
) {
    let repos = Repos::new(s);
    repos.offers.create(&new_offer("O2")).await.unwrap();
    let lease = Duration::minutes(5);
    let first = repos
        .offers
        .claim::<String>("O2", "a", at(10), lease)
        .await
        .unwrap();
    assert!(matches!(first, Claim::Claimed(_)));
    let early = repos
        .offers
        .claim::<String>("O2", "b", at(10) + Duration::minutes(4), lease)
        .await
        .unwrap();
    assert_eq!(early, Claim::Busy);
    let after = repos
        .offers
        .claim::<String>("O2", "b", at(10) + Duration::minutes(6), lease)
        .await
        .unwrap();
    assert!(matches!(after, Claim::Claimed(_)));
    assert!(!repos.offers.mark_sent("O2", "a", at(11)).await.unwrap());
    assert!(!repos.offers.release("O2", "a").await.unwrap());
    assert!(repos.offers.release("O2", "b").await.unwrap());
    let stored = repos.offers.get::<String>("O2").await.unwrap().unwrap();
    assert_eq!(stored.state, OfferState::Pending);
    let again = repos
        .offers
        .claim::<String>("O2", "c", at(11), lease)
        .await
        .unwrap();
    assert!(matches!(again, Claim::Claimed(_)));
    assert!(repos.offers.mark_sent("O2", "c", at(11)).await.unwrap());
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Reply {
    status: u16,
    booking_id: String,
}

pub async fn an_idempotency_record_goes_from_in_progress_to_completed_and_a_lapsed_one_is_taken_over<
    S: Store,
>(
    s: S,
) {
    let repos = Repos::new(s);
    let idem = &repos.idempotency;
    // Real time: the TTL attribute is honoured against the clock.
    let now = Utc::now();
    let lease = Duration::seconds(30);
    let keep = Duration::days(7);
    let begin = |key: &'static str, t: DateTime<Utc>| {
        let idem = idem.clone();
        async move {
            idem.begin::<Reply>("telegram", key, t, lease, keep)
                .await
                .unwrap()
        }
    };
    assert_eq!(begin("upd-1", now).await, Begin::Started);
    assert_eq!(
        begin("upd-1", now + Duration::seconds(5)).await,
        Begin::InProgress
    );
    let reply = Reply {
        status: 200,
        booking_id: "B1".into(),
    };
    idem.complete("telegram", "upd-1", &reply, now, keep)
        .await
        .unwrap();
    assert_eq!(
        begin("upd-1", now + Duration::hours(1)).await,
        Begin::Completed(reply)
    );

    assert_eq!(begin("upd-2", now).await, Begin::Started);
    assert_eq!(
        begin("upd-2", now + Duration::seconds(29)).await,
        Begin::InProgress
    );
    assert_eq!(
        begin("upd-2", now + Duration::seconds(31)).await,
        Begin::Started
    );

    assert_eq!(begin("upd-3", now).await, Begin::Started);
    idem.abandon("telegram", "upd-3").await.unwrap();
    assert_eq!(begin("upd-3", now).await, Begin::Started);

    assert_eq!(begin("upd-4", now).await, Begin::Started);
    assert_eq!(
        idem.begin::<Reply>("whatsapp", "upd-4", now, lease, keep)
            .await
            .unwrap(),
        Begin::Started,
        "scopes are separate"
    );

    // A completed record past its retention is gone: the key can be used again.
    let old = now - Duration::days(8);
    idem.complete("telegram", "upd-5", &"done", old, keep)
        .await
        .unwrap();
    assert_eq!(begin("upd-5", now).await, Begin::Started);
}

pub async fn readings_come_back_oldest_first_and_each_is_appended_once<S: Store>(s: S) {
    let repos = Repos::new(s);
    let r = |y, km| Reading {
        date: day(y, 6, 1),
        km,
        source: ReadingSource::CustomerReported,
    };
    assert!(repos
        .readings
        .append("V1", &r(2024, 30_000), "MSG#2")
        .await
        .unwrap());
    assert!(repos
        .readings
        .append("V1", &r(2022, 10_000), "MSG#1")
        .await
        .unwrap());
    assert!(!repos
        .readings
        .append("V1", &r(2022, 10_000), "MSG#1")
        .await
        .unwrap());
    repos
        .readings
        .append_many([
            ("V1", r(2023, 20_000), "CSV#1"),
            ("V2", r(2023, 5_000), "CSV#2"),
        ])
        .await
        .unwrap();
    let kms: Vec<u32> = repos
        .readings
        .for_vehicle("V1")
        .await
        .unwrap()
        .iter()
        .map(|r| r.km)
        .collect();
    assert_eq!(kms, [10_000, 20_000, 30_000]);
    assert!(repos.readings.for_vehicle("V3").await.unwrap().is_empty());
}

pub async fn the_scan_segments_of_vehicles_hold_every_vehicle_once<S: Store>(s: S) {
    let repos = Repos::new(s);
    let v = vehicle();
    let vins: Vec<String> = (0..50).map(|i| format!("VIN{i:03}")).collect();
    repos
        .vehicles
        .put_many(vins.iter().map(|vin| VehicleRecord {
            vin,
            customer_id: if vin.ends_with('7') { "C7" } else { "C0" },
            vehicle: &v,
        }))
        .await
        .unwrap();
    let readings: Vec<(&str, Reading, &str)> = vins
        .iter()
        .map(|vin| {
            (
                vin.as_str(),
                Reading {
                    date: day(2025, 1, 1),
                    km: 1,
                    source: ReadingSource::Visit,
                },
                "X",
            )
        })
        .collect();
    repos.readings.append_many(readings).await.unwrap();
    let mut seen = Vec::new();
    for segment in 0..3 {
        let mut cursor = None;
        loop {
            let (page, next) = repos
                .vehicles
                .scan::<Vehicle>(segment, 3, cursor.take(), 8)
                .await
                .unwrap();
            seen.extend(page.into_iter().map(|v| v.vin));
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    seen.sort();
    assert_eq!(seen, vins);
    let of_c7: Vec<String> = repos
        .vehicles
        .for_customer::<Vehicle>("C7")
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.vin)
        .collect();
    assert_eq!(of_c7, ["VIN007", "VIN017", "VIN027", "VIN037", "VIN047"]);
}

pub async fn customers_are_found_by_telegram_chat_and_by_phone<S: Store>(s: S) {
    let repos = Repos::new(s);
    let p = profile();
    repos
        .customers
        .put(&CustomerRecord {
            customer_id: "C1",
            telegram_chat_id: Some(555),
            phone: Some("+79160000001"),
            profile: &p,
        })
        .await
        .unwrap();
    repos
        .customers
        .put(&CustomerRecord {
            customer_id: "C2",
            telegram_chat_id: None,
            phone: Some("+79160000002"),
            profile: &p,
        })
        .await
        .unwrap();
    assert_eq!(
        repos
            .customers
            .by_telegram_chat(555)
            .await
            .unwrap()
            .as_deref(),
        Some("C1")
    );
    assert_eq!(repos.customers.by_telegram_chat(556).await.unwrap(), None);
    assert_eq!(
        repos
            .customers
            .by_phone("+79160000002")
            .await
            .unwrap()
            .as_deref(),
        Some("C2")
    );
    repos.customers.forget("C2").await.unwrap();
    assert_eq!(
        repos.customers.by_phone("+79160000002").await.unwrap(),
        None
    );
    assert!(repos
        .customers
        .get::<Profile>("C2")
        .await
        .unwrap()
        .is_none());
}

pub async fn an_opt_out_survives_a_later_visit_and_a_new_profile_and_the_first_time_is_kept<
    S: Store,
>(
    s: S,
) {
    let repos = Repos::new(s);
    let visit = Visit {
        kind: "maintenance".into(),
        total: "7700.00".into(),
    };
    let vehicle = vehicle();
    let record = |work_order_id: &'static str, profile: Profile, telegram: Option<i64>| {
        let repos = repos.clone();
        let visit = visit.clone();
        let vehicle = vehicle.clone();
        async move {
            repos
                .visits
                .record(&NewVisit {
                    work_order_id,
                    closed_on: day(2026, 11, 12),
                    odometer_km: 90_000,
                    visit: &visit,
                    vehicle: VehicleRecord {
                        vin: "XW7BE40K70S025476",
                        customer_id: "C-1001",
                        vehicle: &vehicle,
                    },
                    keep_vehicle: false,
                    customer: CustomerRecord {
                        customer_id: "C-1001",
                        telegram_chat_id: telegram,
                        phone: Some("+79161234567"),
                        profile: &profile,
                    },
                })
                .await
                .unwrap()
        }
    };
    assert_eq!(
        record("A1", profile(), Some(555)).await,
        RecordOutcome::Recorded
    );
    let before = repos
        .customers
        .get::<Profile>("C-1001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.opted_out_at, None);
    assert!(!before.opted_out());

    assert_eq!(
        repos.customers.opt_out("C-1001", at(10)).await.unwrap(),
        OptOutOutcome::OptedOut
    );
    assert_eq!(
        repos.customers.opt_out("C-1001", at(11)).await.unwrap(),
        OptOutOutcome::AlreadyOptedOut
    );
    assert!(repos
        .customers
        .note_whatsapp_inbound("C-1001", at(20))
        .await
        .unwrap());
    assert!(
        !repos
            .customers
            .note_whatsapp_inbound("C-1001", at(15))
            .await
            .unwrap(),
        "an earlier WhatsApp message does not move the service window back"
    );
    assert!(!repos
        .customers
        .note_whatsapp_inbound("C-404", at(20))
        .await
        .unwrap());

    let changed = Profile {
        first_name: "Михаил".into(),
        marketing: false,
    };
    assert_eq!(
        record("A2", changed.clone(), None).await,
        RecordOutcome::Recorded
    );
    let after = repos
        .customers
        .get::<Profile>("C-1001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.profile, changed, "the profile is replaced");
    assert_eq!(after.opted_out_at, Some(at(10)), "the opt-out is kept");
    assert_eq!(
        after.whatsapp_inbound_at,
        Some(at(20)),
        "the last WhatsApp message is kept"
    );
    assert_eq!(
        repos.customers.by_telegram_chat(555).await.unwrap(),
        None,
        "a handle the new profile lacks is no longer an index key"
    );
    assert_eq!(
        repos
            .customers
            .by_phone("+79161234567")
            .await
            .unwrap()
            .as_deref(),
        Some("C-1001")
    );

    repos
        .customers
        .put(&CustomerRecord {
            customer_id: "C-1001",
            telegram_chat_id: Some(556),
            phone: None,
            profile: &profile(),
        })
        .await
        .unwrap();
    let put = repos
        .customers
        .get::<Profile>("C-1001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(put.opted_out_at, Some(at(10)));
    assert_eq!(put.profile, profile());
    assert_eq!(
        repos.customers.by_phone("+79161234567").await.unwrap(),
        None
    );
    assert_eq!(
        repos
            .customers
            .by_telegram_chat(556)
            .await
            .unwrap()
            .as_deref(),
        Some("C-1001")
    );

    assert_eq!(
        repos.customers.opt_out("C-404", at(10)).await.unwrap(),
        OptOutOutcome::UnknownCustomer
    );
    assert!(repos
        .customers
        .get::<Profile>("C-404")
        .await
        .unwrap()
        .is_none());
}

fn service_due(due: NaiveDate) -> domain::ServiceDue {
    domain::ServiceDue {
        km_per_day: 41.1,
        due_date: due,
        due_km: 105_000,
        p10: due - Duration::days(12),
        p90: due + Duration::days(15),
        limit: domain::DueLimit::Distance,
        basis: domain::RateBasis::History,
        service: domain::ServicePoint {
            date: day(2026, 1, 10),
            km: 90_000,
        },
        time_due: day(2027, 1, 10),
        flags: vec![domain::ReadingFlag::Rollback {
            date: day(2025, 3, 1),
            km: 10,
        }],
        reason: "distance limit first".into(),
    }
}

pub async fn forecasts_are_kept_per_vehicle_and_found_by_due_date<S: Store>(s: S) {
    let repos = Repos::new(s);
    let d1 = day(2026, 12, 1);
    repos.forecasts.put("V1", &service_due(d1)).await.unwrap();
    let (v2, v3) = (service_due(d1), service_due(day(2026, 12, 2)));
    repos
        .forecasts
        .put_many([("V2", &v2), ("V3", &v3)])
        .await
        .unwrap();
    assert_eq!(
        repos.forecasts.get("V1").await.unwrap(),
        Some(service_due(d1))
    );
    assert_eq!(repos.forecasts.get("V9").await.unwrap(), None);
    let due: Vec<String> = repos
        .forecasts
        .due_on(d1)
        .await
        .unwrap()
        .into_iter()
        .map(|(vin, _)| vin)
        .collect();
    assert_eq!(due, ["V1", "V2"]);
    repos
        .forecasts
        .put("V1", &service_due(day(2026, 12, 2)))
        .await
        .unwrap();
    assert_eq!(repos.forecasts.due_on(d1).await.unwrap().len(), 1);
}

pub async fn a_vehicle_has_one_open_cycle_and_each_stage_is_marked_once<S: Store>(s: S) {
    let repos = Repos::new(s);
    let cycles = &repos.cycles;
    assert_eq!(
        cycles
            .open("V1", "2026-12", &"due 2026-12-01")
            .await
            .unwrap(),
        OpenOutcome::Opened
    );
    assert_eq!(
        cycles
            .open("V1", "2026-12", &"due 2026-12-01")
            .await
            .unwrap(),
        OpenOutcome::Opened
    );
    assert_eq!(
        cycles
            .open("V1", "2027-12", &"due 2027-12-01")
            .await
            .unwrap(),
        OpenOutcome::OtherOpen {
            cycle_id: "2026-12".into()
        }
    );
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let cycles = cycles.clone();
        tasks.push(tokio::spawn(async move {
            cycles
                .mark_stage("V1", "2026-12", "soft_reminder", &at(10))
                .await
        }));
    }
    let mut marked = 0;
    for task in tasks {
        if task.await.unwrap().unwrap() == StageOutcome::Marked {
            marked += 1;
        }
    }
    assert_eq!(marked, 1);
    cycles
        .mark_stage("V1", "2026-12", "personal_offer", &at(11))
        .await
        .unwrap();
    let stages: Vec<String> = cycles
        .stages::<DateTime<Utc>>("V1", "2026-12")
        .await
        .unwrap()
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(stages, ["personal_offer", "soft_reminder"]);
    let open = cycles.open_cycle::<String>("V1").await.unwrap().unwrap();
    assert_eq!(open, ("2026-12".to_owned(), "due 2026-12-01".to_owned()));
    assert!(!cycles.close("V1", "2027-12", &"visited").await.unwrap());
    assert!(cycles.close("V1", "2026-12", &"visited").await.unwrap());
    assert_eq!(cycles.open_cycle::<String>("V1").await.unwrap(), None);
    assert_eq!(
        cycles.open("V1", "2027-12", &"due").await.unwrap(),
        OpenOutcome::Opened
    );
}

pub async fn a_reaction_is_recorded_once_per_kind_and_read_back_with_its_stage<S: Store>(s: S) {
    let repos = Repos::new(s);
    let cycles = &repos.cycles;
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let cycles = cycles.clone();
        tasks.push(tokio::spawn(async move {
            cycles
                .react("V1", "2026-12", "soft_reminder", "clicked", &at(12))
                .await
        }));
    }
    let mut first = 0;
    for task in tasks {
        if task.await.unwrap().unwrap() {
            first += 1;
        }
    }
    assert_eq!(first, 1, "a repeated delivery records nothing new");
    assert!(cycles
        .react("V1", "2026-12", "soft_reminder", "booked", &at(13))
        .await
        .unwrap());
    assert!(cycles
        .react("V1", "2027-12", "soft_reminder", "clicked", &at(14))
        .await
        .unwrap());
    let reactions = cycles
        .reactions::<DateTime<Utc>>("V1", "2026-12")
        .await
        .unwrap();
    assert_eq!(
        reactions,
        [
            ("soft_reminder".to_owned(), "booked".to_owned(), at(13)),
            ("soft_reminder".to_owned(), "clicked".to_owned(), at(12)),
        ]
    );
    let stages = cycles
        .stages::<DateTime<Utc>>("V1", "2026-12")
        .await
        .unwrap();
    assert!(stages.is_empty(), "reactions are not stage marks");
    cycles
        .mark_stage("V1", "2026-12", "soft_reminder", &at(10))
        .await
        .unwrap();
    let both = cycles
        .contacts::<DateTime<Utc>, DateTime<Utc>>("V1", "2026-12")
        .await
        .unwrap();
    assert_eq!(both.stages, [("soft_reminder".to_owned(), at(10))]);
    assert_eq!(both.reactions, reactions);
}

pub async fn concurrent_counter_increments_are_all_counted<S: Store>(s: S) {
    let repos = Repos::new(s);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let repos = repos.clone();
        tasks.push(tokio::spawn(async move {
            repos.counters.add("winter-26", "2026-11", "sent", 1).await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(
        repos
            .counters
            .add("winter-26", "2026-11", "booked", 2)
            .await
            .unwrap(),
        2
    );
    let counters = repos.counters.get("winter-26", "2026-11").await.unwrap();
    assert_eq!(counters.get("sent"), Some(&20));
    assert_eq!(counters.get("booked"), Some(&2));
    assert!(repos
        .counters
        .get("winter-26", "2026-12")
        .await
        .unwrap()
        .is_empty());
}

pub async fn a_policy_override_changed_meanwhile_is_not_overwritten<S: Store>(s: S) {
    let repos = Repos::new(s);
    let policy = &repos.policy;
    assert_eq!(policy.put("margin_floor", &"0.25", None).await.unwrap(), 1);
    assert!(matches!(
        policy.put("margin_floor", &"0.20", None).await,
        Err(StoreError::ConditionFailed)
    ));
    assert_eq!(
        policy.put("margin_floor", &"0.30", Some(1)).await.unwrap(),
        2
    );
    assert!(matches!(
        policy.put("margin_floor", &"0.10", Some(1)).await,
        Err(StoreError::ConditionFailed)
    ));
    assert_eq!(
        policy.get::<String>("margin_floor").await.unwrap(),
        Some(("0.30".to_owned(), 2))
    );
    policy.put("control_group", &10u32, None).await.unwrap();
    let names: Vec<String> = policy
        .list::<serde_json::Value>()
        .await
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["control_group", "margin_floor"]);
}

pub async fn a_nightly_shard_resumes_from_its_checkpoint_and_counts_each_page_once<S: Store>(s: S) {
    let repos = Repos::new(s.clone());
    let runs = &repos.runs;
    let night = day(2026, 11, 13);
    let v = vehicle();
    let vins: Vec<String> = (0..30).map(|i| format!("V{i:02}")).collect();
    repos
        .vehicles
        .put_many(vins.iter().map(|vin| VehicleRecord {
            vin,
            customer_id: "C",
            vehicle: &v,
        }))
        .await
        .unwrap();

    let start = runs.start(night, 0, 1).await.unwrap();
    assert_eq!(
        (start.cursor.clone(), start.processed, start.done),
        (None, 0, false)
    );
    let (page, next) = repos
        .vehicles
        .scan::<Vehicle>(0, 1, None, 10)
        .await
        .unwrap();
    let cp = runs
        .advance(night, 0, None, next.as_ref(), page.len() as u64)
        .await
        .unwrap();
    assert_eq!(cp.processed, 10);
    // The same page reported again (a retried worker) is refused and not counted twice.
    assert!(matches!(
        runs.advance(night, 0, None, next.as_ref(), 10).await,
        Err(StoreError::ConditionFailed)
    ));
    // A restarted worker resumes where the checkpoint is.
    let resumed = runs.start(night, 0, 1).await.unwrap();
    assert_eq!(resumed.processed, 10);
    let mut cursor = resumed.cursor.clone();
    let mut seen = 10;
    loop {
        let (page, next) = repos
            .vehicles
            .scan::<Vehicle>(0, 1, cursor.clone(), 10)
            .await
            .unwrap();
        seen += page.len();
        let cp = runs
            .advance(night, 0, cursor.as_ref(), next.as_ref(), page.len() as u64)
            .await
            .unwrap();
        if next.is_none() {
            assert!(cp.done);
            break;
        }
        cursor = next;
    }
    assert_eq!(seen, 30);
    let shards = runs.shards(night).await.unwrap();
    assert_eq!(shards.len(), 1);
    assert_eq!((shards[0].processed, shards[0].done), (30, true));
}

pub async fn a_stop_from_a_chat_or_phone_is_remembered_once_per_handle<S: Store>(s: S) {
    let repos = Repos::new(s);
    let chat = ContactHandle::Telegram(79_161_234_567);
    let phone = ContactHandle::Phone("+79161234567");
    assert_eq!(repos.customers.suppressed_since(chat).await.unwrap(), None);

    let mut tasks = Vec::new();
    for i in 0..10 {
        let repos = repos.clone();
        tasks.push(tokio::spawn(async move {
            repos.customers.suppress(chat, at(10 + i)).await.unwrap()
        }));
    }
    let mut firsts = 0;
    for task in tasks {
        firsts += usize::from(task.await.unwrap());
    }
    assert_eq!(firsts, 1);
    let since = repos
        .customers
        .suppressed_since(chat)
        .await
        .unwrap()
        .unwrap();
    assert!((at(10)..=at(19)).contains(&since), "{since}");

    // the phone with the same digits is another handle
    assert_eq!(repos.customers.suppressed_since(phone).await.unwrap(), None);
    assert!(repos.customers.suppress(phone, at(20)).await.unwrap());
    assert!(!repos.customers.suppress(phone, at(21)).await.unwrap());
    assert_eq!(
        repos.customers.suppressed_since(phone).await.unwrap(),
        Some(at(20))
    );
    assert_eq!(
        repos.customers.suppressed_since(chat).await.unwrap(),
        Some(since)
    );
    assert_eq!(
        repos.customers.suppression(phone).await.unwrap(),
        Some(store::repo::Suppression {
            at: at(20),
            channel: None
        })
    );

    // The channel a STOP came on is kept with it; a later STOP changes neither.
    let sms = ContactHandle::Phone("+79031112233");
    let by_sms = repos.customers.suppress_from(sms, at(21), Some("sms"));
    assert!(by_sms.await.unwrap());
    let by_whatsapp = repos.customers.suppress_from(sms, at(22), Some("whatsapp"));
    assert!(!by_whatsapp.await.unwrap());
    let kept = repos.customers.suppression(sms).await.unwrap().unwrap();
    assert_eq!((kept.at, kept.channel.as_deref()), (at(21), Some("sms")));
}
