//! Contract of erasing a customer's personal data and of the answers kept on vehicles and
//! cycles, on both backends.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use store::repo::{
    AwaitingKm, ContactHandle, CustomerRecord, NewVisit, OpenOutcome, Repos, Snooze, VehicleRecord,
};
use store::{AttrValue, Item, Key, Scan, Store};

crate::contract!(erasure:
    an_erasure_leaves_no_personal_data_keeps_the_history_and_suppresses_the_handles,
    a_stop_kept_under_a_plain_handle_moves_under_its_digest_on_erasure,
    a_suppression_by_erasure_is_lifted_per_handle,
    a_cycle_closed_by_an_answer_keeps_its_reason_and_is_not_opened_again,
    the_answers_on_a_vehicle_bind_its_owner_and_the_next_visit_clears_them,
);

const PHONE: &str = "+79161234567";
const CHAT: i64 = 5_550_001;
const NAME: &str = "Михаил";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    first_name: String,
    phone: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Visit {
    kind: String,
    customer: Profile,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Vehicle {
    make: String,
}

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 11, 2, h, 0, 0).unwrap()
}

fn profile() -> Profile {
    Profile {
        first_name: NAME.into(),
        phone: PHONE.into(),
    }
}

async fn record<S: Store>(repos: &Repos<S>, work_order_id: &str, day: u32, owner: &str) {
    let visit = Visit {
        kind: "maintenance".into(),
        customer: profile(),
    };
    let vehicle = Vehicle {
        make: "Toyota".into(),
    };
    repos
        .visits
        .record(&NewVisit {
            work_order_id,
            closed_on: NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
            odometer_km: 90_000,
            visit: &visit,
            vehicle: VehicleRecord {
                vin: "V1",
                customer_id: owner,
                vehicle: &vehicle,
            },
            keep_vehicle: false,
            customer: CustomerRecord {
                customer_id: owner,
                telegram_chat_id: Some(CHAT),
                phone: Some(PHONE),
                profile: &profile(),
            },
        })
        .await
        .unwrap();
}

fn anonymous(visit: Visit) -> Option<Visit> {
    Some(Visit {
        customer: Profile {
            first_name: "-".into(),
            phone: "+70000000000".into(),
        },
        ..visit
    })
}

fn mentions(value: &AttrValue, needle: &str) -> bool {
    match value {
        AttrValue::S(s) => s.contains(needle),
        AttrValue::N(n) => n.to_string().contains(needle),
        AttrValue::L(items) => items.iter().any(|v| mentions(v, needle)),
        AttrValue::M(map) => map
            .iter()
            .any(|(k, v)| k.contains(needle) || mentions(v, needle)),
        _ => false,
    }
}

async fn every_item<S: Store>(s: &S) -> Vec<Item> {
    let mut items = Vec::new();
    let mut scan = Scan::segment(0, 1);
    loop {
        let page = s.scan(&scan).await.unwrap();
        items.extend(page.items);
        match page.cursor {
            Some(cursor) => scan = scan.after(Some(cursor)),
            None => return items,
        }
    }
}

pub async fn an_erasure_leaves_no_personal_data_keeps_the_history_and_suppresses_the_handles<
    S: Store,
>(
    s: S,
) {
    let repos = Repos::new(s.clone());
    record(&repos, "WO-1", 12, "C-1").await;
    record(&repos, "WO-2", 20, "C-1").await;
    repos.customers.opt_out("C-1", at(8)).await.unwrap();
    let handles = [ContactHandle::Phone(PHONE), ContactHandle::Telegram(CHAT)];
    let erased = repos
        .erasure
        .erase_customer("C-1", &handles, at(9), anonymous)
        .await
        .unwrap();
    assert!(erased.profile);
    assert_eq!((erased.visits, erased.handles), (2, 2));

    assert_eq!(repos.customers.get::<Profile>("C-1").await.unwrap(), None);
    assert_eq!(repos.erasure.erased_at("C-1").await.unwrap(), Some(at(9)));
    assert_eq!(repos.customers.by_phone(PHONE).await.unwrap(), None);
    assert_eq!(repos.customers.by_telegram_chat(CHAT).await.unwrap(), None);
    for handle in handles {
        assert_eq!(
            repos.erasure.handle_erased_since(handle).await.unwrap(),
            Some(at(9))
        );
    }
    let visits = repos.visits.for_customer::<Visit>("C-1").await.unwrap();
    assert_eq!(visits.len(), 2);
    assert!(visits.iter().all(|v| v.visit.kind == "maintenance"));
    assert!(visits.iter().all(|v| v.visit.customer.first_name == "-"));
    for item in every_item(&s).await {
        for needle in [PHONE, "79161234567", NAME, "5550001"] {
            assert!(
                !item.values().any(|v| mentions(v, needle)),
                "{needle} left in {item:?}"
            );
        }
    }
    // The opt-out and the erasure time stay on the id; erasing again changes nothing more.
    let again = repos
        .erasure
        .erase_customer("C-1", &handles, at(10), anonymous)
        .await
        .unwrap();
    assert!(!again.profile);
    assert_eq!(repos.erasure.erased_at("C-1").await.unwrap(), Some(at(9)));
    let unknown = repos
        .erasure
        .erase_customer::<Visit, _>("C-404", &[], at(9), anonymous)
        .await
        .unwrap();
    assert!(!unknown.profile);
    assert_eq!(unknown.visits, 0);

    // The customer comes back: the profile is stored again, the erasure time kept.
    record(&repos, "WO-3", 28, "C-1").await;
    assert_eq!(
        repos
            .customers
            .get::<Profile>("C-1")
            .await
            .unwrap()
            .unwrap()
            .profile,
        profile()
    );
    assert_eq!(repos.erasure.erased_at("C-1").await.unwrap(), Some(at(9)));
    assert_eq!(
        repos.customers.by_phone(PHONE).await.unwrap().as_deref(),
        Some("C-1")
    );
}

pub async fn a_stop_kept_under_a_plain_handle_moves_under_its_digest_on_erasure<S: Store>(s: S) {
    let repos = Repos::new(s.clone());
    let legacy = Key::new(format!("SUPPRESS#PHONE#{PHONE}"), "SUPPRESSION");
    let mut item = legacy.to_item();
    item.insert("entity".into(), "suppression".into());
    item.insert("suppressed_at".into(), at(7).to_rfc3339().into());
    s.put(item, None).await.unwrap();
    let phone = ContactHandle::Phone(PHONE);
    assert_eq!(
        repos.customers.suppressed_since(phone).await.unwrap(),
        Some(at(7))
    );

    repos.erasure.suppress(phone, at(9)).await.unwrap();
    assert_eq!(s.get(&legacy).await.unwrap(), None);
    assert_eq!(
        repos.customers.suppressed_since(phone).await.unwrap(),
        Some(at(7))
    );
    assert!(!repos.customers.suppress(phone, at(10)).await.unwrap());
    for item in every_item(&s).await {
        assert!(
            !item.values().any(|v| mentions(v, "79161234567")),
            "{item:?}"
        );
    }
}

pub async fn a_suppression_by_erasure_is_lifted_per_handle<S: Store>(s: S) {
    let repos = Repos::new(s);
    let chat = ContactHandle::Telegram(CHAT);
    let phone = ContactHandle::Phone(PHONE);
    assert!(!repos.erasure.lift(chat).await.unwrap());
    repos.erasure.suppress(chat, at(9)).await.unwrap();
    repos.erasure.suppress(phone, at(9)).await.unwrap();
    repos.erasure.suppress(phone, at(11)).await.unwrap();
    assert_eq!(
        repos.erasure.handle_erased_since(phone).await.unwrap(),
        Some(at(11))
    );
    assert!(repos.erasure.lift(chat).await.unwrap());
    assert!(!repos.erasure.lift(chat).await.unwrap());
    assert_eq!(repos.erasure.handle_erased_since(chat).await.unwrap(), None);
    assert!(repos
        .erasure
        .handle_erased_since(phone)
        .await
        .unwrap()
        .is_some());
    // A STOP from the handle is a separate mark.
    assert_eq!(repos.customers.suppressed_since(phone).await.unwrap(), None);
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Closure {
    reason: String,
    at: DateTime<Utc>,
}

pub async fn a_cycle_closed_by_an_answer_keeps_its_reason_and_is_not_opened_again<S: Store>(s: S) {
    let repos = Repos::new(s);
    let cycles = &repos.cycles;
    cycles.open("V1", "WO-1", &"info").await.unwrap();
    let sold = Closure {
        reason: "sold".into(),
        at: at(9),
    };
    assert!(!cycles
        .close_answered("V1", "WO-0", "sold", &sold)
        .await
        .unwrap());
    assert!(cycles
        .close_answered("V1", "WO-1", "sold", &sold)
        .await
        .unwrap());
    let here = Closure {
        reason: "serviced_here".into(),
        at: at(10),
    };
    assert!(!cycles
        .close_answered("V1", "WO-1", "serviced_here", &here)
        .await
        .unwrap());
    assert_eq!(
        cycles.closure::<Closure>("V1", "WO-1").await.unwrap(),
        Some(sold.clone())
    );
    assert_eq!(cycles.closure::<Closure>("V1", "WO-0").await.unwrap(), None);
    assert_eq!(
        cycles.closures::<Closure>("V1").await.unwrap(),
        [("WO-1".to_owned(), sold)]
    );
    assert!(cycles.is_closed("V1", "WO-1").await.unwrap());
    assert!(!cycles.is_closed("V1", "WO-2").await.unwrap());
    assert_eq!(cycles.open_cycle::<String>("V1").await.unwrap(), None);
    assert_eq!(
        cycles.open("V1", "WO-1", &"info").await.unwrap(),
        OpenOutcome::Closed
    );
    assert_eq!(cycles.open_cycle::<String>("V1").await.unwrap(), None);
    assert_eq!(
        cycles.open("V1", "WO-2", &"next").await.unwrap(),
        OpenOutcome::Opened
    );
    // The closure's record is not a stage mark or a reaction of the cycle.
    let contacts = cycles
        .contacts::<serde_json::Value, serde_json::Value>("V1", "WO-1")
        .await
        .unwrap();
    assert!(contacts.stages.is_empty() && contacts.reactions.is_empty());
}

pub async fn the_answers_on_a_vehicle_bind_its_owner_and_the_next_visit_clears_them<S: Store>(
    s: S,
) {
    let repos = Repos::new(s);
    record(&repos, "WO-1", 12, "C-1").await;
    let answers = &repos.answers;
    assert!(!answers.mark_sold("V1", "C-2", at(9)).await.unwrap());
    assert!(!answers.mark_sold("V9", "C-1", at(9)).await.unwrap());
    assert!(answers.mark_sold("V1", "C-1", at(9)).await.unwrap());
    assert!(!answers.mark_sold("V1", "C-1", at(10)).await.unwrap());
    let snooze = Snooze {
        cycle_id: "WO-1".into(),
        stage: "soft_reminder".into(),
        until: NaiveDate::from_ymd_opt(2027, 11, 16).unwrap(),
        at: at(9),
    };
    assert!(!answers.snooze("V1", "C-2", &snooze).await.unwrap());
    assert!(answers.snooze("V1", "C-1", &snooze).await.unwrap());
    let awaiting = AwaitingKm {
        cycle_id: "WO-1".into(),
        asked_at: at(9),
    };
    assert!(answers.await_km("V1", "C-1", &awaiting).await.unwrap());
    let stored = repos.vehicles.get::<Vehicle>("V1").await.unwrap().unwrap();
    assert_eq!(stored.contact.sold_at, Some(at(9)));
    assert_eq!(stored.contact.snooze, Some(snooze));
    assert_eq!(stored.contact.awaiting_km, Some(awaiting));
    let scanned = repos
        .vehicles
        .scan::<Vehicle>(0, 1, None, 10)
        .await
        .unwrap()
        .0;
    assert_eq!(scanned[0].contact, stored.contact);
    assert!(answers.km_received("V1").await.unwrap());
    assert!(!answers.km_received("V1").await.unwrap());

    assert!(answers.mute_marketing("V1", "C-1", at(9)).await.unwrap());
    assert!(!answers.mute_marketing("V1", "C-1", at(10)).await.unwrap());
    assert_eq!(
        answers.marketing_muted_since("V1", "C-1").await.unwrap(),
        Some(at(9))
    );
    assert_eq!(
        answers.marketing_muted_since("V1", "C-2").await.unwrap(),
        None
    );

    // The next visit stores the vehicle again: sold and snooze go, the mute stays.
    record(&repos, "WO-2", 20, "C-1").await;
    let stored = repos.vehicles.get::<Vehicle>("V1").await.unwrap().unwrap();
    assert_eq!(stored.contact, store::repo::VehicleContact::default());
    assert!(answers
        .marketing_muted_since("V1", "C-1")
        .await
        .unwrap()
        .is_some());
    assert!(answers.unmute_marketing("V1", "C-1").await.unwrap());
    assert!(!answers.unmute_marketing("V1", "C-1").await.unwrap());
    assert_eq!(
        answers.marketing_muted_since("V1", "C-1").await.unwrap(),
        None
    );
}
