//! The nightly-forecast Lambda's page (`nightly::forecast_page`, also what `autodrive serve`'s
//! 01:00 run and the demo call) queues every vehicle some trigger can fire for, not only the
//! ones due soon: warranty end, the 3/5-year line, the tyre season, a customer turned lost.

use app::messages::{EvaluateVehicle, NightlyShard};
use app::{fixtures, forecast_page, record_visit, start_shard};
use chrono::{DateTime, NaiveDate, Utc};
use domain::policy::Policy;
use store::repo::Repos;
use store::RedbStore;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// A car: its VIN, registration, warranty end, and one visit (kind, closed at).
struct Car {
    vin: &'static str,
    registered: &'static str,
    warranty_until: &'static str,
    kind: &'static str,
    visit: &'static str,
}

/// The VINs the night of `run_date` queues for evaluation, after recording each car's visit.
async fn queued(policy: &Policy, cars: &[Car], run_date: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let repos = Repos::new(RedbStore::open(dir.path().join("store.redb")).unwrap());
    for (i, car) in cars.iter().enumerate() {
        let mut body = fixtures::visit(&format!("WO-{i}"), car.vin, car.visit, 40_000);
        body["kind"] = car.kind.into();
        body["vehicle"]["first_registration"] = car.registered.into();
        body["vehicle"]["warranty_until"] = car.warranty_until.into();
        let bytes = serde_json::to_vec(&body).unwrap();
        record_visit(&repos, policy, &bytes, at(car.visit))
            .await
            .unwrap();
    }
    let shard = NightlyShard::V1 {
        run_date: date(run_date),
        shard: 0,
        total_shards: 1,
    };
    let run = start_shard(&repos, &shard).await.unwrap();
    let page = forecast_page(&repos, policy, &run, 100).await.unwrap();
    assert_eq!(page.forecast, cars.len() as u64, "every car forecast");
    let mut vins: Vec<String> = page
        .evaluate
        .into_iter()
        .map(|EvaluateVehicle::V1 { vin, .. }| vin)
        .collect();
    vins.sort();
    vins
}

/// Serviced in February 2026: due in February 2027, far from any lead on 15 June 2026.
const QUIET: Car = Car {
    vin: "XW7BE40K70S000001",
    registered: "2022-01-20",
    warranty_until: "2025-01-20",
    kind: "maintenance",
    visit: "2026-02-10T12:00:00+03:00",
};

#[tokio::test]
async fn the_night_queues_a_car_whose_warranty_ends_or_which_crosses_an_age_line_though_not_due_soon(
) {
    let warranty = Car {
        vin: "XW7BE40K70S000002",
        registered: "2023-07-20",
        warranty_until: "2026-07-20",
        ..QUIET
    };
    let five_years = Car {
        vin: "XW7BE40K70S000003",
        registered: "2021-06-01",
        warranty_until: "2024-06-01",
        ..QUIET
    };
    let vins = queued(
        &Policy::default(),
        &[QUIET, warranty, five_years],
        "2026-06-15",
    )
    .await;
    assert_eq!(vins, ["XW7BE40K70S000002", "XW7BE40K70S000003"]);
}

#[tokio::test]
async fn the_night_queues_every_car_in_the_tyre_season_unless_its_tyres_were_just_changed() {
    let changed = Car {
        vin: "XW7BE40K70S000004",
        kind: "tires",
        visit: "2026-10-02T12:00:00+03:00",
        ..QUIET
    };
    // Five weeks after the tyre visit: past its satisfaction and recovery windows.
    let vins = queued(&Policy::default(), &[QUIET, changed], "2026-11-06").await;
    assert_eq!(vins, ["XW7BE40K70S000001"]);
}

#[tokio::test]
async fn the_night_queues_a_car_whose_customer_turned_lost() {
    // Due 2026-01-10, lost from 2026-07-10 on (180 days past due); outside the tyre seasons.
    // (A car past due stays queued anyway: the reminder stages' lead has no end.)
    let policy = Policy::from_toml("[thresholds]\ncritical_overdue_months = 12\n").unwrap();
    let lapsed = Car {
        vin: "XW7BE40K70S000005",
        visit: "2025-01-10T12:00:00+03:00",
        ..QUIET
    };
    let vins = queued(&policy, &[QUIET, lapsed], "2026-07-15").await;
    assert_eq!(vins, ["XW7BE40K70S000005"]);
}
