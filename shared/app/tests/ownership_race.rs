//! Visits of one car from different customers delivered at once (`app::record_visit`, what
//! ingest-visit and `serve`'s `/v1/visits` run): the car ends with the customer of the newest
//! visit, whatever order the deliveries finish in.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::policy::Policy;
use store::repo::Repos;
use store::RedbStore;

const VIN: &str = "XW7BE40K70S025476";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// The visit of month `m` of 2026, by customer `C-R<m>`.
fn visit_of_month(m: u32) -> Vec<u8> {
    let mut body = app::fixtures::visit(
        &format!("WO-R{m:02}"),
        VIN,
        &format!("2026-{m:02}-05T12:00:00+03:00"),
        10_000 * m,
    );
    body["customer"]["id"] = format!("C-R{m}").into();
    body["customer"]["phone"] = format!("+791612345{m:02}").into();
    body["customer"]["telegram_chat_id"] = (5_560_000 + i64::from(m)).into();
    serde_json::to_vec(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_visits_of_one_car_leave_it_with_the_newest_visits_customer() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path().join("store.redb")).unwrap();
        let repos = Arc::new(Repos::new(store));
        let mut tasks = tokio::task::JoinSet::new();
        for m in 1..=12 {
            let repos = Arc::clone(&repos);
            tasks.spawn(async move {
                let policy = Policy::default();
                let now = at("2027-01-10T10:00:00+03:00");
                app::record_visit(&repos, &policy, &visit_of_month(m), now).await
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap().unwrap();
        }
        let vehicle = repos
            .vehicles
            .get::<domain::Vehicle>(VIN)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(vehicle.customer_id, "C-R12", "round {round}");
        let visits = repos
            .visits
            .for_vehicle::<domain::Visit>(VIN)
            .await
            .unwrap();
        assert_eq!(visits.len(), 12, "round {round}");
    }
}
