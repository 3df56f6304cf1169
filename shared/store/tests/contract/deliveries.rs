//! Contract of the delivery statuses of sent messages and of the forecast kept on a visit, on
//! both backends.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use store::repo::{CustomerRecord, DeliveryStatus, NewDelivery, NewVisit, Repos, VehicleRecord};
use store::Store;

crate::contract!(deliveries:
    a_status_only_moves_forward_and_a_failure_is_kept_once,
    a_status_before_the_note_is_kept_and_claimed_by_it,
    concurrent_statuses_end_at_the_furthest,
    the_forecast_before_a_visit_is_kept_on_it_once,
);

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 12, 9, 0, 0).unwrap() + Duration::minutes(minute)
}

fn sent<'a>(message_key: &'a str, offer_id: &'a str) -> NewDelivery<'a> {
    NewDelivery {
        messenger: "whatsapp",
        message_key,
        offer_id,
        customer_id: "C-1",
        at: at(0),
        status: DeliveryStatus::Sent,
    }
}

pub async fn a_status_only_moves_forward_and_a_failure_is_kept_once<S: Store>(s: S) {
    let repos = Repos::new(s);
    let d = &repos.deliveries;
    d.note_sent(&sent("wamid.1", "o1")).await.unwrap();
    d.note_sent(&sent("wamid.1", "o1")).await.unwrap();
    assert!(d
        .advance("whatsapp", "wamid.1", DeliveryStatus::Delivered, at(1))
        .await
        .unwrap());
    assert!(!d
        .advance("whatsapp", "wamid.1", DeliveryStatus::Delivered, at(2))
        .await
        .unwrap());
    assert!(d
        .advance("whatsapp", "wamid.1", DeliveryStatus::Read, at(3))
        .await
        .unwrap());
    assert!(!d
        .advance("whatsapp", "wamid.1", DeliveryStatus::Sent, at(4))
        .await
        .unwrap());
    assert!(d.fail("whatsapp", "wamid.1", at(5)).await.unwrap());
    assert!(!d.fail("whatsapp", "wamid.1", at(6)).await.unwrap());
    let stored = d.get("whatsapp", "wamid.1").await.unwrap().unwrap();
    assert_eq!(stored.offer_id, "o1");
    assert_eq!(stored.status, Some(DeliveryStatus::Read));
    assert_eq!(stored.failed_at, Some(at(5)));
    assert!(!stored.failed(), "it was read before the failure came");

    d.note_sent(&sent("wamid.2", "o2")).await.unwrap();
    assert!(d.fail("whatsapp", "wamid.2", at(1)).await.unwrap());
    let failed = d.get("whatsapp", "wamid.2").await.unwrap().unwrap();
    assert!(failed.failed() && !failed.delivered());
    let listed: Vec<String> = d
        .for_customer("C-1")
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.offer_id)
        .collect();
    assert_eq!(listed, ["o1", "o2"]);
    assert!(d.for_customer("C-2").await.unwrap().is_empty());
}

pub async fn a_status_before_the_note_is_kept_and_claimed_by_it<S: Store>(s: S) {
    let repos = Repos::new(s);
    let d = &repos.deliveries;
    assert!(d
        .advance("whatsapp", "wamid.9", DeliveryStatus::Delivered, at(1))
        .await
        .unwrap());
    assert_eq!(
        d.get("whatsapp", "wamid.9").await.unwrap(),
        None,
        "nobody claims it yet"
    );
    assert!(d.for_customer("C-1").await.unwrap().is_empty());
    d.note_sent(&sent("wamid.9", "o9")).await.unwrap();
    let stored = d.get("whatsapp", "wamid.9").await.unwrap().unwrap();
    assert_eq!(
        stored.status,
        Some(DeliveryStatus::Delivered),
        "the note keeps it"
    );
    assert_eq!(d.for_customer("C-1").await.unwrap().len(), 1);
    let telegram = NewDelivery {
        messenger: "telegram",
        message_key: "o10",
        status: DeliveryStatus::Delivered,
        ..sent("o10", "o10")
    };
    d.note_sent(&telegram).await.unwrap();
    let stored = d.get("telegram", "o10").await.unwrap().unwrap();
    assert!(stored.delivered() && !stored.read());
}

pub async fn concurrent_statuses_end_at_the_furthest<S: Store>(s: S) {
    let repos = Repos::new(s);
    repos
        .deliveries
        .note_sent(&sent("wamid.c", "oc"))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..12 {
        let repos = repos.clone();
        let status = DeliveryStatus::ALL[i % 3];
        tasks.push(tokio::spawn(async move {
            repos
                .deliveries
                .advance("whatsapp", "wamid.c", status, at(i as i64))
                .await
        }));
    }
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => {}
            Err(e) if e.is_retryable() => {}
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    let stored = repos
        .deliveries
        .get("whatsapp", "wamid.c")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, Some(DeliveryStatus::Read));
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Due {
    due_date: NaiveDate,
    due_km: u32,
}

pub async fn the_forecast_before_a_visit_is_kept_on_it_once<S: Store>(s: S) {
    let repos = Repos::new(s);
    let closed_on = NaiveDate::from_ymd_opt(2027, 11, 10).unwrap();
    let note = Due {
        due_date: NaiveDate::from_ymd_opt(2027, 11, 12).unwrap(),
        due_km: 105_000,
    };
    assert!(
        !repos
            .visits
            .note_forecast_before("VIN1", closed_on, "WO-1", &note)
            .await
            .unwrap(),
        "no such visit"
    );
    let body = serde_json::json!({"kind": "maintenance"});
    repos
        .visits
        .record(&NewVisit {
            work_order_id: "WO-1",
            closed_on,
            odometer_km: 104_000,
            visit: &body,
            vehicle: VehicleRecord {
                vin: "VIN1",
                customer_id: "C-1",
                vehicle: &body,
            },
            keep_vehicle: false,
            customer: CustomerRecord {
                customer_id: "C-1",
                telegram_chat_id: None,
                phone: None,
                profile: &body,
            },
        })
        .await
        .unwrap();
    assert!(repos
        .visits
        .note_forecast_before("VIN1", closed_on, "WO-1", &note)
        .await
        .unwrap());
    let later = Due {
        due_km: 1,
        ..note.clone()
    };
    assert!(!repos
        .visits
        .note_forecast_before("VIN1", closed_on, "WO-1", &later)
        .await
        .unwrap());
    let kept = repos.visits.forecasts_before::<Due>("C-1").await.unwrap();
    assert_eq!(kept, [("WO-1".to_owned(), note)]);
    let visit = repos
        .visits
        .by_work_order::<serde_json::Value>("WO-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(visit.visit, body, "the visit itself is as stored");
}
