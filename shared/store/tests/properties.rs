//! Invariants of the embedded backend under random operations.

use std::collections::BTreeMap;

use chrono::{NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use store::repo::{HoldOutcome, NewHold, Repos};
use store::{BatchOp, Item, Key, Query, RedbStore};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

#[derive(Debug, Clone)]
enum Op {
    Hold(u8),
    Confirm(u8),
    Cancel(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..12).prop_map(Op::Hold),
        (0u8..12).prop_map(Op::Confirm),
        (0u8..12).prop_map(Op::Cancel),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn a_slot_is_never_overbooked(capacity in 0u32..5, ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let repos = Repos::new(RedbStore::open(dir.path().join("s.redb")).unwrap());
        let date = NaiveDate::from_ymd_opt(2026, 11, 17).unwrap();
        let until = Utc.with_ymd_and_hms(2026, 11, 17, 9, 0, 0).unwrap();
        runtime().block_on(async {
            repos.capacity.define_slot(date, "10:00", capacity).await.unwrap();
            let mut active = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Hold(b) => {
                        let id = format!("B{b}");
                        let outcome = repos.capacity.hold(&NewHold {
                            booking_id: &id, date, start: "10:00", customer_id: "C", vin: "V",
                            hold_until: until, booking: &(),
                        }).await.unwrap();
                        // A booking cancelled before is held again.
                        let expected = if active.contains_key(&b) {
                            HoldOutcome::AlreadyHeld
                        } else if (active.len() as u32) < capacity {
                            HoldOutcome::Held
                        } else {
                            HoldOutcome::Full
                        };
                        prop_assert_eq!(outcome, expected);
                        if outcome == HoldOutcome::Held {
                            active.insert(b, ());
                        }
                    }
                    Op::Confirm(b) => {
                        repos.capacity.confirm(&format!("B{b}"), None, until).await.unwrap();
                    }
                    Op::Cancel(b) => {
                        let cancelled = repos.capacity.cancel(&format!("B{b}")).await.unwrap();
                        prop_assert_eq!(cancelled, active.remove(&b).is_some());
                    }
                }
                let slot = &repos.capacity.slots_on(date).await.unwrap()[0];
                prop_assert_eq!(slot.remaining + active.len() as u32, capacity);
            }
            Ok(())
        })?;
    }

    #[test]
    fn pages_of_a_query_match_the_sorted_partition(
        sks in proptest::collection::btree_set("[a-zA-Z0-9#]{1,6}", 0..40),
        limit in 1u32..7,
        descending in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path().join("s.redb")).unwrap();
        runtime().block_on(async {
            use store::{ItemRead, ItemWrite};
            let ops = sks.iter().map(|sk| BatchOp::Put(Key::new("P", sk.as_str()).to_item()))
                .chain([BatchOp::Put(Key::new("Q", "x").to_item())])
                .collect();
            store.batch_write(ops).await.unwrap();
            let mut seen = Vec::new();
            let mut cursor = None;
            loop {
                let mut q = Query::partition("P").limit(limit).after(cursor.take());
                if descending { q = q.descending(); }
                let page = store.query(&q).await.unwrap();
                seen.extend(page.items.iter().map(|i: &Item| i["sk"].as_s().unwrap().to_owned()));
                match page.cursor { Some(c) => cursor = Some(c), None => break }
            }
            let mut expected: Vec<String> = sks.iter().cloned().collect();
            if descending { expected.reverse(); }
            prop_assert_eq!(seen, expected);
            Ok(())
        })?;
    }
}
