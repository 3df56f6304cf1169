//! Contract of bulk writes: visits recorded many at a time end as recorded one by one.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use store::repo::{CustomerRecord, NewVisit, RecordOutcome, Repos, VehicleRecord};
use store::Store;

crate::contract!(bulk:
    visits_of_shared_cars_and_customers_recorded_together_end_as_recorded_one_by_one,
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Visit {
    order: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Car {
    make: String,
    owner_since: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    first_name: String,
}

/// One work order of the batch: its car, its customer and what the CRM sent of them.
struct Order {
    id: String,
    closed_on: NaiveDate,
    vin: &'static str,
    customer: &'static str,
    phone: &'static str,
    visit: Visit,
    car: Car,
    profile: Profile,
}

/// 40 work orders, oldest first: two cars of one customer (written a different way over the
/// years) until the second car is sold to another customer at order 30.
fn orders() -> Vec<Order> {
    let start = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    (0..40u32)
        .map(|n| {
            let vin = if n % 3 == 0 { "CAR-A" } else { "CAR-B" };
            let (customer, phone) = match (vin, n >= 30) {
                ("CAR-B", true) => ("C-2", "+79160000002"),
                _ => ("C-1", "+79160000001"),
            };
            Order {
                id: format!("WO-{n:02}"),
                closed_on: start + Duration::days(i64::from(n) * 30),
                vin,
                customer,
                phone,
                visit: Visit { order: n },
                car: Car {
                    make: "Kia".into(),
                    owner_since: if customer == "C-2" { 30 } else { 0 },
                },
                profile: Profile {
                    first_name: format!("Имя {}", n / 10),
                },
            }
        })
        .collect()
}

fn new_visit(order: &Order) -> NewVisit<'_, Visit, Car, Profile> {
    NewVisit {
        work_order_id: &order.id,
        closed_on: order.closed_on,
        odometer_km: 1_000 * order.visit.order,
        visit: &order.visit,
        vehicle: VehicleRecord {
            vin: order.vin,
            customer_id: order.customer,
            vehicle: &order.car,
        },
        keep_vehicle: false,
        customer: CustomerRecord {
            customer_id: order.customer,
            telegram_chat_id: None,
            phone: Some(order.phone),
            profile: &order.profile,
        },
    }
}

pub async fn visits_of_shared_cars_and_customers_recorded_together_end_as_recorded_one_by_one<
    S: Store,
>(
    s: S,
) {
    let repos = Repos::new(s);
    let orders = orders();
    for before in [&orders[5], &orders[17]] {
        repos.visits.record(&new_visit(before)).await.unwrap();
    }
    let mut batch: Vec<_> = orders.iter().map(new_visit).collect();
    batch.insert(21, new_visit(&orders[20]));
    let outcomes = repos.visits.record_many(&batch).await.unwrap();
    let skipped: Vec<usize> = (0..batch.len())
        .filter(|&i| outcomes[i] == RecordOutcome::AlreadyRecorded)
        .collect();
    assert_eq!(skipped, [5, 17, 21], "stored before, or twice in the batch");

    let last_of = |vin: &str| orders.iter().rfind(|o| o.vin == vin).unwrap();
    for vin in ["CAR-A", "CAR-B"] {
        let car = repos.vehicles.get::<Car>(vin).await.unwrap().unwrap();
        assert_eq!(car.customer_id, last_of(vin).customer, "{vin}");
        assert_eq!(car.vehicle, last_of(vin).car, "{vin}");
        let visits = repos.visits.for_vehicle::<Visit>(vin).await.unwrap();
        let expected: Vec<u32> = orders
            .iter()
            .filter(|o| o.vin == vin)
            .map(|o| o.visit.order)
            .collect();
        let got: Vec<u32> = visits.iter().map(|v| v.visit.order).collect();
        assert_eq!(got, expected, "{vin}");
        assert_eq!(
            repos.readings.for_vehicle(vin).await.unwrap().len(),
            expected.len()
        );
    }
    for (customer, phone) in [("C-1", "+79160000001"), ("C-2", "+79160000002")] {
        let last = orders.iter().rfind(|o| o.customer == customer).unwrap();
        let stored = repos.customers.get::<Profile>(customer).await.unwrap();
        assert_eq!(stored.unwrap().profile, last.profile, "{customer}");
        let found = repos.customers.by_phone(phone).await.unwrap();
        assert_eq!(found.as_deref(), Some(customer));
        let visits = repos.visits.for_customer::<Visit>(customer).await.unwrap();
        let count = orders.iter().filter(|o| o.customer == customer).count();
        assert_eq!(visits.len(), count, "{customer}");
    }
    let vehicles = repos.vehicles.for_customer::<Car>("C-1").await.unwrap();
    assert_eq!(vehicles.len(), 1, "the sold car is no longer C-1's");
}
