//! Sample visits for tests and demos: webhook bodies in the documented shape.

use serde_json::{json, Value};

/// A maintenance visit body for `vin` at `odometer_km`, closed at `closed_at` (RFC 3339).
pub fn visit(work_order_id: &str, vin: &str, closed_at: &str, odometer_km: u32) -> Value {
    json!({
        "work_order_id": work_order_id,
        "closed_at": closed_at,
        "kind": "maintenance",
        "odometer_km": odometer_km,
        "advisor_id": "adv-7",
        "customer": {
            "id": "C-1001", "first_name": "Михаил", "phone": "+79161234567",
            "telegram_chat_id": 5550001,
            "consents": {"service_messages": true, "marketing": true}
        },
        "vehicle": {
            "vin": vin, "make": "Toyota", "model": "Camry",
            "first_registration": "2019-05-20", "warranty_until": "2022-05-20"
        },
        "lines": [
            {"kind": "labor", "code": "TO-60", "name": "ТО-6", "qty": "1", "price": "6500.00", "cost": "2600.00"},
            {"kind": "part", "code": "04152-YZZA6", "name": "Фильтр масляный", "qty": "1", "price": "1200.00", "cost": "950.00"}
        ]
    })
}

/// The example body of the webhook contract.
pub fn example_visit() -> Value {
    visit(
        "A3C0001116",
        "XW7BE40K70S025476",
        "2026-11-12T15:40:00+03:00",
        90_000,
    )
}

/// The example visit recorded (12 November 2026), its vehicle forecast on the dealer's day of
/// `at` and evaluated at `at`: the soft reminder is due on 1 November 2027.
pub async fn example_visit_evaluated<S: store::Store>(
    repos: &store::repo::Repos<S>,
    policy: &domain::policy::Policy,
    at: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<crate::Evaluation> {
    let body = serde_json::to_vec(&example_visit())?;
    let closed = chrono::DateTime::parse_from_rfc3339("2026-11-12T16:00:00+03:00")?.to_utc();
    crate::record_visit(repos, policy, &body, closed).await?;
    let vin = "XW7BE40K70S025476";
    let vehicle = repos
        .vehicles
        .get::<domain::Vehicle>(vin)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the example vehicle was not stored"))?;
    let night = at.with_timezone(&policy.time_zone()).date_naive();
    crate::forecast_vehicle(repos, policy, &vehicle.vehicle, night).await?;
    let message = crate::EvaluateVehicle::V1 {
        run_date: night,
        vin: vin.into(),
    };
    Ok(crate::evaluate_vehicle(repos, policy, &message, at).await?)
}
