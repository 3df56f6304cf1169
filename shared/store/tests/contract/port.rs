//! Contract of the item-level port.

use std::collections::BTreeSet;

use store::{
    AttrValue, BatchOp, Condition, Item, Key, Query, Scan, SortKey, Store, StoreError, TtlClock,
    Update, WriteOp,
};

crate::contract!(port:
    a_put_item_is_read_back_unchanged,
    a_put_guarded_by_absence_fails_on_an_existing_item_and_changes_nothing,
    an_update_sets_adds_and_removes_and_returns_the_new_item,
    an_update_of_a_missing_item_creates_it,
    an_update_whose_condition_fails_changes_nothing,
    numbers_in_conditions_compare_numerically,
    a_conditional_delete_only_deletes_when_the_condition_holds,
    a_query_returns_the_partition_in_sort_key_order_both_ways,
    sort_key_conditions_select_the_right_items,
    pages_of_a_query_cover_the_partition_once_in_both_directions,
    a_query_on_an_index_finds_items_by_their_index_keys,
    a_sparse_index_forgets_an_item_whose_index_key_is_removed,
    a_transaction_writes_everything_or_nothing,
    a_transaction_touching_one_item_twice_is_invalid,
    expired_items_are_invisible_and_count_as_absent,
    with_a_ttl_clock_items_expire_by_that_clock_not_the_walls,
    the_segments_of_a_scan_return_every_item_exactly_once,
    a_scan_filter_keeps_only_matching_items,
    a_batch_write_puts_and_deletes_more_than_one_request_holds,
);

fn item(pk: &str, sk: &str, attrs: &[(&str, AttrValue)]) -> Item {
    let mut item = Key::new(pk, sk).to_item();
    for (k, v) in attrs {
        item.insert((*k).to_owned(), v.clone());
    }
    item
}

fn sks(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["sk"].as_s().unwrap().to_owned())
        .collect()
}

fn epoch_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub async fn a_put_item_is_read_back_unchanged<S: Store>(s: S) {
    let mut nested = std::collections::BTreeMap::new();
    nested.insert("x".to_owned(), AttrValue::Bool(false));
    let original = item(
        "P#1",
        "A",
        &[
            ("name", "Михаил".into()),
            ("n", AttrValue::N(store::Number::parse("12.5").unwrap())),
            ("flag", true.into()),
            ("none", AttrValue::Null),
            ("bin", AttrValue::B(vec![1, 2, 3])),
            ("list", AttrValue::L(vec!["a".into(), 1.into()])),
            ("map", AttrValue::M(nested)),
        ],
    );
    s.put(original.clone(), None).await.unwrap();
    assert_eq!(s.get(&Key::new("P#1", "A")).await.unwrap(), Some(original));
    assert_eq!(s.get(&Key::new("P#1", "B")).await.unwrap(), None);
}

pub async fn a_put_guarded_by_absence_fails_on_an_existing_item_and_changes_nothing<S: Store>(
    s: S,
) {
    let first = item("P#1", "A", &[("v", 1.into())]);
    s.put(first.clone(), Some(Condition::absent()))
        .await
        .unwrap();
    let second = item("P#1", "A", &[("v", 2.into())]);
    let err = s.put(second, Some(Condition::absent())).await.unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed), "{err:?}");
    assert_eq!(s.get(&Key::new("P#1", "A")).await.unwrap(), Some(first));
}

pub async fn an_update_sets_adds_and_removes_and_returns_the_new_item<S: Store>(s: S) {
    s.put(
        item("P#1", "A", &[("count", 5.into()), ("old", "x".into())]),
        None,
    )
    .await
    .unwrap();
    let after = s
        .update(
            Update::new(Key::new("P#1", "A"))
                .set("state", "SENT")
                .add("count", -2)
                .remove("old"),
        )
        .await
        .unwrap();
    let expected = item("P#1", "A", &[("count", 3.into()), ("state", "SENT".into())]);
    assert_eq!(after, expected);
    assert_eq!(s.get(&Key::new("P#1", "A")).await.unwrap(), Some(expected));
}

pub async fn an_update_of_a_missing_item_creates_it<S: Store>(s: S) {
    let after = s
        .update(Update::new(Key::new("C#1", "COUNTERS")).add("sent", 1))
        .await
        .unwrap();
    assert_eq!(after, item("C#1", "COUNTERS", &[("sent", 1.into())]));
}

pub async fn an_update_whose_condition_fails_changes_nothing<S: Store>(s: S) {
    let original = item("P#1", "A", &[("state", "SENT".into())]);
    s.put(original.clone(), None).await.unwrap();
    let err = s
        .update(
            Update::new(Key::new("P#1", "A"))
                .set("state", "SENDING")
                .when(Condition::eq("state", "PENDING")),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed), "{err:?}");
    assert_eq!(s.get(&Key::new("P#1", "A")).await.unwrap(), Some(original));
}

pub async fn numbers_in_conditions_compare_numerically<S: Store>(s: S) {
    s.put(item("P#1", "A", &[("remaining", 10.into())]), None)
        .await
        .unwrap();
    let take = |need: i64| {
        Update::new(Key::new("P#1", "A"))
            .add("remaining", -need)
            .when(Condition::ge("remaining", need))
    };
    // "9" > "10" as text; numerically 10 >= 9.
    s.update(take(9)).await.unwrap();
    let err = s.update(take(2)).await.unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed), "{err:?}");
    s.update(take(1)).await.unwrap();
    let left = s.get(&Key::new("P#1", "A")).await.unwrap().unwrap();
    assert_eq!(left["remaining"], AttrValue::from(0));
    assert!(Condition::lt("remaining", 1).holds(Some(&left)));
}

pub async fn a_conditional_delete_only_deletes_when_the_condition_holds<S: Store>(s: S) {
    s.put(item("P#1", "A", &[("state", "HELD".into())]), None)
        .await
        .unwrap();
    let err = s
        .delete(
            &Key::new("P#1", "A"),
            Some(Condition::eq("state", "BOOKED")),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed), "{err:?}");
    assert!(s.get(&Key::new("P#1", "A")).await.unwrap().is_some());
    s.delete(&Key::new("P#1", "A"), Some(Condition::eq("state", "HELD")))
        .await
        .unwrap();
    assert_eq!(s.get(&Key::new("P#1", "A")).await.unwrap(), None);
    s.delete(&Key::new("P#1", "A"), None).await.unwrap();
}

async fn seed_partition<S: Store>(s: &S) {
    let ops = [
        "READ#2024-03-01",
        "READ#2023-01-15",
        "PROFILE",
        "READ#2024-11-30",
        "VISIT#1",
    ]
    .iter()
    .map(|sk| BatchOp::Put(item("VEH#1", sk, &[])))
    .chain([BatchOp::Put(item("VEH#2", "READ#2024-01-01", &[]))])
    .collect();
    s.batch_write(ops).await.unwrap();
}

pub async fn a_query_returns_the_partition_in_sort_key_order_both_ways<S: Store>(s: S) {
    seed_partition(&s).await;
    let up = s.query(&Query::partition("VEH#1")).await.unwrap();
    assert_eq!(
        sks(&up.items),
        [
            "PROFILE",
            "READ#2023-01-15",
            "READ#2024-03-01",
            "READ#2024-11-30",
            "VISIT#1"
        ]
    );
    assert_eq!(up.cursor, None);
    let down = s
        .query(&Query::partition("VEH#1").begins_with("READ#").descending())
        .await
        .unwrap();
    assert_eq!(
        sks(&down.items),
        ["READ#2024-11-30", "READ#2024-03-01", "READ#2023-01-15"]
    );
}

pub async fn sort_key_conditions_select_the_right_items<S: Store>(s: S) {
    seed_partition(&s).await;
    let q = |sk: SortKey| Query::partition("VEH#1").sort_key(sk);
    let run = |q: Query| {
        let s = s.clone();
        async move { sks(&s.query(&q).await.unwrap().items) }
    };
    assert_eq!(run(q(SortKey::Eq("PROFILE".into()))).await, ["PROFILE"]);
    assert_eq!(
        run(q(SortKey::Between(
            "READ#2024-01-01".into(),
            "READ#2024-11-30".into()
        )))
        .await,
        ["READ#2024-03-01", "READ#2024-11-30"]
    );
    assert_eq!(
        run(q(SortKey::Lt("READ#2024".into()))).await,
        ["PROFILE", "READ#2023-01-15"]
    );
    assert_eq!(
        run(q(SortKey::Le("READ#2024-03-01".into()))).await,
        ["PROFILE", "READ#2023-01-15", "READ#2024-03-01"]
    );
    assert_eq!(
        run(q(SortKey::Gt("READ#2024-03-01".into()))).await,
        ["READ#2024-11-30", "VISIT#1"]
    );
    assert_eq!(run(q(SortKey::Ge("VISIT#1".into()))).await, ["VISIT#1"]);
}

pub async fn pages_of_a_query_cover_the_partition_once_in_both_directions<S: Store>(s: S) {
    let ops = (0..23)
        .map(|i| BatchOp::Put(item("P#1", &format!("R#{i:03}"), &[("i", i.into())])))
        .collect();
    s.batch_write(ops).await.unwrap();
    for descending in [false, true] {
        let mut seen = Vec::new();
        let mut cursor = None;
        let mut pages = 0;
        loop {
            let mut q = Query::partition("P#1").limit(5).after(cursor.take());
            if descending {
                q = q.descending();
            }
            let page = s.query(&q).await.unwrap();
            assert!(page.items.len() <= 5);
            if page.cursor.is_some() {
                assert_eq!(page.items.len(), 5, "only the last page may be short");
            }
            seen.extend(sks(&page.items));
            pages += 1;
            match page.cursor {
                Some(c) => {
                    let text = c.as_str().to_owned();
                    cursor = Some(store::Cursor::parse(&text).expect("cursor round-trips"));
                }
                None => break,
            }
        }
        let mut expected: Vec<String> = (0..23).map(|i| format!("R#{i:03}")).collect();
        if descending {
            expected.reverse();
        }
        assert_eq!(seen, expected);
        assert!((5..=6).contains(&pages), "{pages} pages");
    }
}

pub async fn a_query_on_an_index_finds_items_by_their_index_keys<S: Store>(s: S) {
    for (vin, since) in [("V3", "2021"), ("V1", "2019"), ("V2", "2020")] {
        s.put(
            item(
                &format!("VEH#{vin}"),
                "PROFILE",
                &[
                    ("gsi1pk", "CUST#7".into()),
                    ("gsi1sk", format!("VEH#{since}").into()),
                ],
            ),
            None,
        )
        .await
        .unwrap();
    }
    s.put(
        item(
            "VEH#X",
            "PROFILE",
            &[("gsi1pk", "CUST#8".into()), ("gsi1sk", "VEH#2000".into())],
        ),
        None,
    )
    .await
    .unwrap();
    let page = s
        .query(
            &Query::partition("CUST#7")
                .on_index("gsi1")
                .begins_with("VEH#"),
        )
        .await
        .unwrap();
    let pks: Vec<&str> = page.items.iter().map(|i| i["pk"].as_s().unwrap()).collect();
    assert_eq!(pks, ["VEH#V1", "VEH#V2", "VEH#V3"]);
    let first = s
        .query(&Query::partition("CUST#7").on_index("gsi1").limit(2))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    let rest = s
        .query(
            &Query::partition("CUST#7")
                .on_index("gsi1")
                .limit(2)
                .after(first.cursor),
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0]["pk"], AttrValue::from("VEH#V3"));
}

pub async fn a_sparse_index_forgets_an_item_whose_index_key_is_removed<S: Store>(s: S) {
    s.put(
        item(
            "OFFER#1",
            "OFFER",
            &[("gsi2pk", "OUTBOX".into()), ("gsi2sk", "1".into())],
        ),
        None,
    )
    .await
    .unwrap();
    let outbox = || Query::partition("OUTBOX").on_index("gsi2");
    assert_eq!(s.query(&outbox()).await.unwrap().items.len(), 1);
    s.update(
        Update::new(Key::new("OFFER#1", "OFFER"))
            .set("state", "SENT")
            .remove("gsi2pk")
            .remove("gsi2sk"),
    )
    .await
    .unwrap();
    assert!(s.query(&outbox()).await.unwrap().items.is_empty());
}

pub async fn a_transaction_writes_everything_or_nothing<S: Store>(s: S) {
    s.put(item("SLOT#1", "S", &[("remaining", 1.into())]), None)
        .await
        .unwrap();
    let hold = |id: &str| {
        vec![
            WriteOp::put_if(item(&format!("BOOK#{id}"), "B", &[]), Condition::absent()),
            WriteOp::Update(
                Update::new(Key::new("SLOT#1", "S"))
                    .add("remaining", -1)
                    .when(Condition::ge("remaining", 1)),
            ),
        ]
    };
    s.transact(hold("a")).await.unwrap();
    let err = s.transact(hold("b")).await.unwrap_err();
    assert!(
        matches!(err, StoreError::TransactionConditionFailed { index: 1 }),
        "{err:?}"
    );
    assert_eq!(s.get(&Key::new("BOOK#b", "B")).await.unwrap(), None);
    let err = s.transact(hold("a")).await.unwrap_err();
    assert!(
        matches!(err, StoreError::TransactionConditionFailed { index: 0 }),
        "{err:?}"
    );
    let slot = s.get(&Key::new("SLOT#1", "S")).await.unwrap().unwrap();
    assert_eq!(slot["remaining"], AttrValue::from(0));
    s.transact(vec![
        WriteOp::Check {
            key: Key::new("BOOK#a", "B"),
            condition: Condition::present(),
        },
        WriteOp::Delete {
            key: Key::new("BOOK#a", "B"),
            condition: None,
        },
    ])
    .await
    .unwrap_err();
    s.transact(vec![
        WriteOp::Check {
            key: Key::new("SLOT#1", "S"),
            condition: Condition::eq("remaining", 0),
        },
        WriteOp::Delete {
            key: Key::new("BOOK#a", "B"),
            condition: Some(Condition::present()),
        },
    ])
    .await
    .unwrap();
    assert_eq!(s.get(&Key::new("BOOK#a", "B")).await.unwrap(), None);
}

pub async fn a_transaction_touching_one_item_twice_is_invalid<S: Store>(s: S) {
    let err = s
        .transact(vec![
            WriteOp::put(item("P#1", "A", &[])),
            WriteOp::Update(Update::new(Key::new("P#1", "A")).set("x", 1)),
        ])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert_eq!(s.get(&Key::new("P#1", "A")).await.unwrap(), None);
}

pub async fn expired_items_are_invisible_and_count_as_absent<S: Store>(s: S) {
    let now = epoch_now();
    s.put(
        item("IDEM#1", "I", &[("expires_at", (now - 10).into())]),
        None,
    )
    .await
    .unwrap();
    s.put(
        item("IDEM#1", "J", &[("expires_at", (now + 3600).into())]),
        None,
    )
    .await
    .unwrap();
    assert_eq!(s.get(&Key::new("IDEM#1", "I")).await.unwrap(), None);
    assert!(s.get(&Key::new("IDEM#1", "J")).await.unwrap().is_some());
    assert_eq!(
        sks(&s.query(&Query::partition("IDEM#1")).await.unwrap().items),
        ["J"]
    );
    let mut scanned = Vec::new();
    for seg in 0..2 {
        scanned.extend(sks(&s.scan(&Scan::segment(seg, 2)).await.unwrap().items));
    }
    assert_eq!(scanned, ["J"]);
    s.put(
        item("IDEM#1", "I", &[("fresh", true.into())]),
        Some(Condition::absent()),
    )
    .await
    .unwrap();
    assert_eq!(
        s.get(&Key::new("IDEM#1", "I")).await.unwrap(),
        Some(item("IDEM#1", "I", &[("fresh", true.into())]))
    );
}

pub async fn the_segments_of_a_scan_return_every_item_exactly_once<S: Store>(s: S) {
    let ops = (0..120)
        .map(|i| BatchOp::Put(item(&format!("VEH#{i}"), "PROFILE", &[])))
        .collect();
    s.batch_write(ops).await.unwrap();
    let total = 4;
    let mut seen = Vec::new();
    for seg in 0..total {
        let mut cursor = None;
        loop {
            let page = s
                .scan(&Scan::segment(seg, total).limit(7).after(cursor.take()))
                .await
                .unwrap();
            seen.extend(
                page.items
                    .iter()
                    .map(|i| i["pk"].as_s().unwrap().to_owned()),
            );
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), 120);
    assert_eq!(unique.len(), 120);
    let err = s.scan(&Scan::segment(4, 4)).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
}

pub async fn a_scan_filter_keeps_only_matching_items<S: Store>(s: S) {
    let mut ops = Vec::new();
    for i in 0..30 {
        ops.push(BatchOp::Put(item(
            &format!("VEH#{i}"),
            "PROFILE",
            &[("entity", "vehicle".into())],
        )));
        ops.push(BatchOp::Put(item(
            &format!("VEH#{i}"),
            "READ#1",
            &[("entity", "reading".into())],
        )));
    }
    s.batch_write(ops).await.unwrap();
    let mut vehicles = 0;
    let mut cursor = None;
    loop {
        let page = s
            .scan(
                &Scan::segment(0, 1)
                    .limit(8)
                    .after(cursor.take())
                    .filter(Condition::eq("entity", "vehicle")),
            )
            .await
            .unwrap();
        assert!(page
            .items
            .iter()
            .all(|i| i["sk"] == AttrValue::from("PROFILE")));
        vehicles += page.items.len();
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(vehicles, 30);
}

pub async fn a_batch_write_puts_and_deletes_more_than_one_request_holds<S: Store>(s: S) {
    let puts = (0..60)
        .map(|i| BatchOp::Put(item("P#1", &format!("{i:02}"), &[])))
        .collect();
    s.batch_write(puts).await.unwrap();
    let deletes = (0..60)
        .filter(|i| i % 2 == 0)
        .map(|i| BatchOp::Delete(Key::new("P#1", format!("{i:02}"))))
        .collect();
    s.batch_write(deletes).await.unwrap();
    let left = s.query(&Query::partition("P#1")).await.unwrap().items;
    assert_eq!(left.len(), 30);
    assert!(sks(&left)
        .iter()
        .all(|sk| sk.parse::<u32>().unwrap() % 2 == 1));
}

pub async fn with_a_ttl_clock_items_expire_by_that_clock_not_the_walls<S: Store + TtlClock>(s: S) {
    // a record kept until a year ago, read by a simulation living two years ago
    let year = 365 * 86_400;
    let expires = epoch_now() - year;
    let past = s
        .clone()
        .with_ttl_clock(chrono::DateTime::from_timestamp(expires - year, 0).unwrap());
    past.put(item("IDEM#2", "K", &[("expires_at", expires.into())]), None)
        .await
        .unwrap();
    assert!(past.get(&Key::new("IDEM#2", "K")).await.unwrap().is_some());
    assert_eq!(
        sks(&past.query(&Query::partition("IDEM#2")).await.unwrap().items),
        ["K"]
    );
    let err = past
        .put(item("IDEM#2", "K", &[]), Some(Condition::absent()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed), "{err:?}");
    // the wall clock (and a clock past the TTL) sees it gone
    assert_eq!(s.get(&Key::new("IDEM#2", "K")).await.unwrap(), None);
    let later = s.with_ttl_clock(chrono::DateTime::from_timestamp(expires + 1, 0).unwrap());
    assert_eq!(later.get(&Key::new("IDEM#2", "K")).await.unwrap(), None);
}
