//! The marketing cap over the pipeline the trigger-evaluator Lambda runs (`evaluate_vehicle`,
//! then `commit_evaluation`; `autodrive serve` and the demo call the same): whatever a
//! customer's fleet, and with the fleet's vehicles evaluated concurrently on the same night, no
//! customer gets two marketing messages within `marketing_min_gap_days`.

use std::collections::BTreeMap;

use app::messages::{ComposeOffer, EvaluateVehicle};
use app::{commit_evaluation, evaluate_vehicle, fixtures, forecast_vehicle, record_visit};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use domain::contact::in_control_group;
use domain::policy::Policy;
use domain::triggers::Stage;
use domain::{ContactClass, CustomerId, Vehicle};
use proptest::prelude::*;
use store::repo::Repos;
use store::RedbStore;

fn night(day: NaiveDate) -> DateTime<Utc> {
    chrono_tz::Europe::Moscow
        .from_local_datetime(&day.and_hms_opt(1, 0, 5).unwrap())
        .unwrap()
        .to_utc()
}

/// A car: days since its first registration and since its last visit (before the first
/// night), and whether that visit changed the tyres.
#[derive(Debug, Clone)]
struct Car {
    registered_days_back: i64,
    visit_days_back: i64,
    tires: bool,
}

fn car() -> impl Strategy<Value = Car> {
    (700i64..3_000, 0i64..500, prop::bool::weighted(0.2)).prop_map(
        |(registered_days_back, visit_days_back, tires)| Car {
            registered_days_back,
            visit_days_back,
            tires,
        },
    )
}

/// Marketing messages handed on, per customer: (send at, stage, VIN).
type Sends = BTreeMap<String, Vec<(DateTime<Utc>, Stage, String)>>;

fn vin(customer: usize, car: usize) -> String {
    format!("XW7BE40K70S{customer:03}{car:03}")
}

/// Records each customer's cars, then runs `nights` nights from `first`: the night's forecast,
/// every vehicle evaluated concurrently, then committed. Returns the marketing messages handed
/// on.
async fn run(fleet: &[Vec<Car>], first: NaiveDate, nights: u32) -> Sends {
    let dir = tempfile::tempdir().unwrap();
    let repos = Repos::new(RedbStore::open(dir.path().join("store.redb")).unwrap());
    let policy = Policy::default();
    let mut vins = Vec::new();
    for (c, cars) in fleet.iter().enumerate() {
        for (v, car) in cars.iter().enumerate() {
            let vin = vin(c, v);
            let closed = night(first) - Duration::days(car.visit_days_back + 1);
            let registered = (first - Duration::days(car.registered_days_back)).to_string();
            let mut body =
                fixtures::visit(&format!("WO-{c}-{v}"), &vin, &closed.to_rfc3339(), 40_000);
            body["kind"] = if car.tires { "tires" } else { "maintenance" }.into();
            body["customer"]["id"] = format!("C-{c}").into();
            body["customer"]["phone"] = format!("+7916123{c:04}").into();
            body["customer"]["telegram_chat_id"] = (5_550_000 + c as i64).into();
            body["vehicle"]["first_registration"] = registered.into();
            body["vehicle"]["warranty_until"] = serde_json::Value::Null;
            let bytes = serde_json::to_vec(&body).unwrap();
            record_visit(&repos, &policy, &bytes, closed).await.unwrap();
            vins.push(vin);
        }
    }
    let mut sent: Sends = BTreeMap::new();
    for n in 0..nights {
        let day = first + Duration::days(i64::from(n));
        let now = night(day);
        for vin in &vins {
            let vehicle = repos.vehicles.get::<Vehicle>(vin).await.unwrap().unwrap();
            forecast_vehicle(&repos, &policy, &vehicle.vehicle, day)
                .await
                .unwrap();
        }
        let mut tasks = Vec::new();
        for vin in &vins {
            let (repos, policy) = (repos.clone(), policy.clone());
            let message = EvaluateVehicle::V1 {
                run_date: day,
                vin: vin.clone(),
            };
            tasks.push(tokio::spawn(async move {
                evaluate_vehicle(&repos, &policy, &message, now)
                    .await
                    .unwrap()
            }));
        }
        for task in tasks {
            let evaluation = task.await.unwrap();
            commit_evaluation(&repos, &evaluation).await.unwrap();
            for ComposeOffer::V1 {
                customer_id,
                stage,
                send_at,
                vin,
                ..
            } in evaluation.compose
            {
                if stage.class() == ContactClass::Marketing {
                    sent.entry(customer_id)
                        .or_default()
                        .push((send_at, stage, vin));
                }
            }
        }
    }
    sent
}

fn assert_gap(sent: &Sends, gap_days: i64) {
    for (customer, sends) in sent {
        let mut sends = sends.clone();
        sends.sort();
        for pair in sends.windows(2) {
            assert!(
                pair[1].0 - pair[0].0 >= Duration::days(gap_days),
                "customer {customer}: {:?} then {:?}",
                pair[0],
                pair[1]
            );
        }
    }
}

fn treated(customer: usize) -> bool {
    let id = CustomerId::parse(&format!("C-{customer}")).unwrap();
    !in_control_group(&id, Policy::default().contact().control_group)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn no_customer_gets_two_marketing_messages_within_seven_days_whatever_their_fleet(
        fleet in prop::collection::vec(prop::collection::vec(car(), 1..=3), 1..=4),
        start in 0i64..20,
    ) {
        // From late September: the autumn tyre season opens for every car at once.
        let first = NaiveDate::from_ymd_opt(2026, 9, 20).unwrap() + Duration::days(start);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .unwrap();
        let sent = runtime.block_on(run(&fleet, first, 24));
        assert_gap(&sent, i64::from(Policy::default().contact().marketing_min_gap_days));
        if (0..fleet.len()).any(treated) {
            prop_assert!(!sent.is_empty(), "some marketing went out");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_cars_of_one_customer_evaluated_at_once_in_the_tyre_season_get_one_offer_that_week() {
    let treated = (0..).find(|c| treated(*c)).unwrap();
    let car = Car {
        registered_days_back: 2_000,
        visit_days_back: 100,
        tires: false,
    };
    let mut fleet = vec![Vec::new(); treated];
    fleet.push(vec![car.clone(), car]);
    let sent = run(&fleet, NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(), 8).await;
    let sends = &sent[&format!("C-{treated}")];
    assert_gap(&sent, 7);
    let tyres: Vec<_> = sends
        .iter()
        .filter(|(_, stage, _)| *stage == Stage::SeasonalTires)
        .collect();
    // One car on the first night, the other a week later.
    assert_eq!(tyres.len(), 2, "{sends:?}");
    assert_ne!(tyres[0].2, tyres[1].2);
    assert_eq!(tyres[1].0 - tyres[0].0, Duration::days(7));
}
