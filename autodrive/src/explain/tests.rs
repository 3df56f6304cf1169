use serde_json::{json, Value};

use super::*;

fn visit(customer_id: &str, work_order: &str, closed_at: &str, km: u32) -> Value {
    json!({
        "work_order_id": work_order,
        "closed_at": closed_at,
        "kind": "maintenance",
        "odometer_km": km,
        "advisor_id": "adv-7",
        "customer": {
            "id": customer_id, "first_name": "Михаил", "phone": "+79161234567",
            "telegram_chat_id": null,
            "consents": {"service_messages": true, "marketing": true}
        },
        "vehicle": {
            "vin": "XW7BE40K70S025476", "make": "Toyota", "model": "Camry",
            "first_registration": "2020-05-20", "warranty_until": "2023-05-20"
        },
        "lines": [
            {"kind": "labor", "code": "TO-60", "name": "ТО-6", "qty": "1", "price": "6500.00", "cost": "2600.00"},
            {"kind": "part", "code": "04152-YZZA6", "name": "Фильтр масляный", "qty": "1", "price": "1200.00", "cost": "950.00"}
        ]
    })
}

/// A 4½-year-old Camry serviced every January at 15,000 km a year; the reminder of
/// 16 December got no reaction.
fn scenario(customer_id: &str) -> Value {
    json!({
        "visits": [
            visit(customer_id, "WO-1", "2023-01-15T11:00:00+03:00", 30_000),
            visit(customer_id, "WO-2", "2024-01-15T11:00:00+03:00", 45_000)
        ],
        "readings": [{"date": "2024-07-15", "odometer_km": 52_500, "source": "customer_reported"}],
        "contacts": [
            {"stage": "satisfaction_request", "sent_at": "2024-01-18T12:00:00+03:00", "reaction": {"rated": 9}},
            {"stage": "soft_reminder", "sent_at": "2024-12-16T10:00:00+03:00", "reaction": null}
        ]
    })
}

fn run_at(scenario: &Value, at: &str) -> Explanation {
    let parsed = Scenario::parse_json(&serde_json::to_vec(scenario).unwrap()).unwrap();
    let at = DateTime::parse_from_rfc3339(at)
        .unwrap()
        .with_timezone(&Utc);
    explain(&Policy::default(), &parsed, at).unwrap()
}

/// Serviced every January, due on 15 January 2025 and six weeks past it (sleeping: more than
/// 30 days overdue), the reminder unanswered: the personal offer carries the 3–5-year discount.
#[test]
fn a_sleeping_customer_six_weeks_past_the_due_date_gets_a_personal_offer_of_20_percent_off_labour()
{
    let e = run_at(&scenario("C-1001"), "2025-02-25T12:00:00+03:00");
    assert!(!e.control_group);
    assert_eq!(
        (e.status, e.age_band),
        (CustomerStatus::Sleeping, AgeBand::Middle)
    );
    let days = (e.due.date - NaiveDate::from_ymd_opt(2025, 1, 15).unwrap()).num_days();
    assert!(days.abs() <= 3, "due {}", e.due.date);
    assert_eq!(e.decisions.len(), 1);
    let d = &e.decisions[0];
    assert_eq!(
        (d.stage, d.class, d.vetoed_by.as_deref()),
        (Stage::PersonalOffer, ContactClass::Marketing, None)
    );
    let offer = e.offer.unwrap();
    assert_eq!(offer.rule_ids, ["wake-up-3-5", "weekday_bonus"]);
    assert_eq!(offer.customer_saving.to_string(), "1300.00");
    assert_eq!(offer.final_price.to_string(), "6400.00");
}

/// The same customer a week before the due date is on schedule (loyal): the personal offer goes
/// out, without the discount meant for customers drifting away.
#[test]
fn the_same_customer_a_week_before_the_due_date_is_loyal_and_gets_no_discount() {
    let e = run_at(&scenario("C-1001"), "2025-01-09T12:00:00+03:00");
    assert_eq!(e.status, CustomerStatus::Loyal);
    assert_eq!(e.decisions[0].stage, Stage::PersonalOffer);
    let v = serde_json::to_value(&e).unwrap();
    let offer = &v["offer"];
    assert!(
        offer.is_null() || offer["labor_discount_percent"] == "0.00",
        "{offer}"
    );
}

#[test]
fn a_decision_at_23_00_is_shown_deferred_to_09_00() {
    let e = run_at(&scenario("C-1001"), "2025-02-25T23:00:00+03:00");
    let d = &e.decisions[0];
    assert_eq!(d.deferred_by, Some("quiet_hours"));
    assert_eq!(
        d.at,
        DateTime::parse_from_rfc3339("2025-02-26T09:00:00+03:00").unwrap()
    );
    assert!(e.offer.is_some());
}

#[test]
fn a_customer_in_the_control_group_is_shown_the_veto_and_no_offer() {
    let e = run_at(&scenario("C-1005"), "2025-02-25T12:00:00+03:00");
    assert!(e.control_group);
    assert_eq!(e.decisions[0].vetoed_by.as_deref(), Some("control_group"));
    assert!(e.offer.is_none());
}

#[test]
fn the_json_output_has_every_field_the_advisor_reads() {
    let e = run_at(&scenario("C-1001"), "2025-02-25T12:00:00+03:00");
    let v = serde_json::to_value(&e).unwrap();
    for key in ["status", "age_band", "due", "decisions", "offer"] {
        assert!(v.get(key).is_some(), "{key}");
    }
    assert_eq!(v["status"], "sleeping");
    assert_eq!(v["age_band"], "3-5");
    for key in ["date", "p10", "p90", "limit"] {
        assert!(v["due"][key].is_string(), "due.{key}");
    }
    let d = &v["decisions"][0];
    assert_eq!(d["stage"], "personal_offer");
    assert_eq!(d["class"], "marketing");
    assert!(d["at"].is_string() && d["reason"].is_string());
    assert!(d["vetoed_by"].is_null());
    let o = &v["offer"];
    for key in [
        "rule_ids",
        "lines",
        "labor_discount_percent",
        "parts_discount",
        "customer_saving",
        "margin_before",
        "margin_after",
        "weekday_bonus_points",
        "package_price",
        "perks",
        "expires_at",
    ] {
        assert!(o.get(key).is_some(), "offer.{key}");
    }
    assert_eq!(o["parts_discount"], "0.00");
    assert_eq!(o["weekday_bonus_points"], 500);
    assert_eq!(o["labor_discount_percent"], "20.00");
}

#[test]
fn in_the_middle_of_the_cycle_nothing_happens_and_there_is_no_offer() {
    let e = run_at(&scenario("C-1001"), "2024-06-01T12:00:00+03:00");
    assert!(e.decisions.is_empty());
    assert!(e.offer.is_none());
    assert_eq!(e.status, CustomerStatus::Loyal);
}

#[test]
fn visits_and_contacts_after_the_instant_are_ignored() {
    let mut s = scenario("C-1001");
    s["visits"].as_array_mut().unwrap().push(visit(
        "C-1001",
        "WO-3",
        "2025-03-20T11:00:00+03:00",
        60_000,
    ));
    let e = run_at(&s, "2025-02-25T12:00:00+03:00");
    assert_eq!(e.decisions[0].stage, Stage::PersonalOffer);
}

#[test]
fn a_bad_visit_in_the_scenario_is_reported_with_its_index_and_field() {
    let mut s = scenario("C-1001");
    s["visits"][1]["vehicle"]["vin"] = json!("NOT-A-VIN");
    let err = Scenario::parse_json(&serde_json::to_vec(&s).unwrap()).unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("visits[1]") && text.contains("vehicle.vin"),
        "{text}"
    );
}

#[test]
fn the_documented_example_scenario_gives_a_personal_offer() {
    let bytes = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/explain-scenario.json"
    ));
    let scenario = Scenario::parse_json(bytes).unwrap();
    let at = DateTime::parse_from_rfc3339("2025-02-25T12:00:00+03:00")
        .unwrap()
        .with_timezone(&Utc);
    let e = explain(&Policy::default(), &scenario, at).unwrap();
    assert_eq!(e.decisions[0].stage, Stage::PersonalOffer);
    let text = render_text(&e);
    assert!(text.contains("personal_offer [marketing]"), "{text}");
    assert!(text.contains("7700.00 -> 6400.00"), "{text}");
}
