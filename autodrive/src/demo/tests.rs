use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{DateTime, FixedOffset};
use domain::contact::{in_control_group, in_quiet_hours};
use domain::policy::Policy;
use domain::{ContactClass, CustomerId};
use serde_json::Value;

use super::report::bucket_of;
use super::{dealership, run_in, DemoConfig, DemoReport};

const CUSTOMERS: u32 = 200;

fn at() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-11-12T01:00:00+03:00").unwrap()
}

fn config(seed: u64) -> DemoConfig {
    DemoConfig {
        customers: CUSTOMERS,
        seed,
        at: at(),
        warm_up_days: 10,
        policy: domain::policy::Policy::default(),
    }
}

fn run_kept(seed: u64) -> (DemoReport, Value, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let report = run_in(&config(seed), dir.path()).unwrap();
    let json = serde_json::to_value(&report).unwrap();
    (report, json, dir)
}

fn run(seed: u64) -> (DemoReport, Value) {
    let (report, json, _) = run_kept(seed);
    (report, json)
}

/// The small demo with seed 42, run once for the tests that only read it; its data directory
/// (with the report files) lives as long as the tests.
fn small_run() -> &'static (DemoReport, Value, tempfile::TempDir) {
    static SMALL: OnceLock<(DemoReport, Value, tempfile::TempDir)> = OnceLock::new();
    SMALL.get_or_init(|| run_kept(42))
}

fn small() -> (&'static DemoReport, &'static Value) {
    let (report, json, _) = small_run();
    (report, json)
}

fn count(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

#[test]
fn every_vehicle_is_counted_in_exactly_one_due_date_bucket() {
    let (report, json) = small();
    let mileage = &json["mileage"];
    let keys: Vec<&str> = mileage["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["overdue", "today", "days_2_7", "days_8_31", "days_32_plus"]
    );
    let counted: u64 = mileage["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| count(&b["count"]))
        .sum();
    assert!(count(&mileage["vehicles"]) > u64::from(CUSTOMERS));
    assert_eq!(
        counted + count(&mileage["without_forecast"]),
        count(&mileage["vehicles"])
    );
    for (i, bucket) in report.mileage.buckets.iter().enumerate() {
        for row in &bucket.samples {
            assert_eq!(bucket_of(row.days_left), i, "{row:?} in {}", bucket.key);
        }
    }
    assert!(
        report.mileage.buckets[0].count > 0,
        "lost customers are overdue"
    );
    assert!(
        report.mileage.buckets[4].count > 0,
        "loyal customers are not due yet"
    );
}

#[test]
fn the_run_sends_soft_reminders_and_personal_or_critical_offers() {
    let (_, json) = small();
    let sent = &json["offers"]["period"]["sent_by_stage"];
    assert!(count(&sent["soft_reminder"]) >= 1, "{sent}");
    assert!(
        count(&sent["personal_offer"]) + count(&sent["critical_offer"]) >= 1,
        "{sent}"
    );
    let samples = json["offers"]["samples"].as_array().unwrap();
    assert!(samples.iter().any(|s| {
        s["offer"]["rule_ids"]
            .as_array()
            .is_some_and(|ids| !ids.is_empty())
    }));
    assert!(samples
        .iter()
        .all(|s| !s["text"].as_str().unwrap().contains("+7")));
}

#[test]
fn no_marketing_goes_to_a_control_group_or_unconsenting_customer() {
    let (report, json) = small();
    let policy = Policy::default();
    let sample = dealership::build(42, CUSTOMERS, at(), policy.time_zone());
    let mut consents = HashMap::new();
    for visit in &sample.visits {
        let c = &visit.body["customer"];
        consents.insert(
            c["id"].as_str().unwrap().to_owned(),
            (
                c["consents"]["service_messages"].as_bool().unwrap(),
                c["consents"]["marketing"].as_bool().unwrap(),
            ),
        );
    }
    let marketing: Vec<_> = report
        .sent
        .iter()
        .filter(|s| s.stage.class_for(&s.reason) == ContactClass::Marketing)
        .collect();
    assert!(!marketing.is_empty());
    for s in &report.sent {
        let (service, market) = consents[&s.customer_id];
        let id = CustomerId::parse(&s.customer_id).unwrap();
        match s.stage.class_for(&s.reason) {
            ContactClass::Marketing => {
                assert!(market, "{} got marketing without consent", s.offer_id);
                assert!(
                    !in_control_group(&id, policy.contact().control_group),
                    "{} went to the control group",
                    s.offer_id
                );
            }
            ContactClass::Service => assert!(service, "{} without consent", s.offer_id),
        }
    }
    let audit = &json["audit"];
    assert_eq!(count(&audit["messages_checked"]), report.sent.len() as u64);
    assert_eq!(count(&audit["marketing_to_control_group"]), 0);
    assert_eq!(count(&audit["marketing_without_consent"]), 0);
    assert!(count(&json["offers"]["period"]["vetoes"]["control_group"]) > 0);
    assert!(count(&json["offers"]["period"]["vetoes"]["no_marketing_consent"]) > 0);
}

#[test]
fn no_message_is_sent_in_quiet_hours_and_night_decisions_wait_for_the_morning() {
    let (report, json) = small();
    let policy = Policy::default();
    assert!(!report.sent.is_empty());
    for s in &report.sent {
        assert!(
            !in_quiet_hours(&policy, s.sent_at),
            "{} at {}",
            s.offer_id,
            s.sent_at
        );
    }
    let period = &json["offers"]["period"];
    assert!(count(&period["deferred_quiet_hours"]) > 0);
    assert_eq!(count(&json["audit"]["sent_in_quiet_hours"]), 0);
}

#[test]
fn a_booking_pressed_by_a_customer_is_confirmed_by_the_advisor() {
    let (_, json) = small();
    let kpi = &json["kpi"];
    assert!(count(&kpi["booking_requests_period"]) > 0, "{kpi}");
    assert_eq!(
        count(&kpi["bookings_confirmed_period"]),
        count(&kpi["bookings_held_period"])
    );
}

#[test]
fn the_kpi_engine_counts_from_the_store_what_the_simulated_customers_did() {
    let (report, json) = small();
    let kpi = &json["kpi"];
    let funnel = report.kpis.funnel.total();
    assert_eq!(
        funnel.clicked,
        count(&kpi["booking_requests_period"]),
        "{funnel:?}"
    );
    assert_eq!(funnel.held, count(&kpi["bookings_held_period"]));
    assert_eq!(funnel.confirmed, count(&kpi["bookings_confirmed_period"]));
    let sent: usize = report.sent.len();
    assert_eq!(funnel.sent as usize, sent, "every message the run sent");
    assert_eq!(funnel.delivered, funnel.sent, "Telegram accepted them all");
    let churn = report.kpis.churn.total();
    assert_eq!(
        churn.answers,
        count(&kpi["serviced_answers_period"]),
        "{churn:?}"
    );
    assert!(churn.answers > 0, "a few say «Уже обслужился»");
    let uplift = report.kpis.uplift.total().uplift.unwrap();
    let arms = uplift.treatment.customers + uplift.control.customers;
    assert!(arms > 0, "{uplift:?}");
    assert!(uplift.interval.is_some());
    assert!(json["kpis"]["uplift"][0]["figures"]["uplift"]["interval"]["lower"].is_number());
    let text = super::render_ru(report);
    assert!(
        text.contains("Прирост визитов к контрольной группе"),
        "{text}"
    );
    assert!(text.contains("95\u{a0}% ДИ"), "{text}");
    assert!(text.contains("Удержание автомобилей 3+ лет"), "{text}");
}

#[test]
fn customers_rate_their_visits_and_each_low_score_alerts_the_advisors_once() {
    let (_, json) = small();
    let kpi = &json["kpi"];
    assert!(count(&kpi["ratings_period"]) > 0, "{kpi}");
    assert!(count(&kpi["low_ratings_period"]) <= count(&kpi["ratings_period"]));
    assert_eq!(
        count(&kpi["advisor_alerts_period"]),
        count(&kpi["low_ratings_period"]),
        "{kpi}"
    );
}

#[test]
fn the_same_seed_gives_the_same_json_and_another_seed_other_numbers() {
    let (_, first) = small();
    let (_, again) = run(42);
    assert_eq!(first.to_string(), again.to_string());
    let (_, other) = run(43);
    assert_ne!(first["kpi"], other["kpi"]);
    assert_ne!(first["mileage"], other["mileage"]);
}

#[test]
fn a_directory_that_holds_a_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(store::redb_store::STORE_FILE), b"").unwrap();
    let err = run_in(&config(1), dir.path()).unwrap_err();
    assert!(err.to_string().contains("already holds a store"), "{err}");
}

#[test]
fn every_report_is_written_as_xlsx_and_csv_and_reads_back() {
    use calamine::{open_workbook, Data, Reader, Xlsx};

    let (report, json, dir) = small_run();
    let names: Vec<&str> = report.reports.iter().map(|r| r.name).collect();
    assert_eq!(
        names,
        ["mileage", "lost", "abc", "rfm", "offers", "kpi", "funnel", "uplift"]
    );
    assert_eq!(report.reports_dir, dir.path().join("reports"));
    for written in &report.reports {
        for file in &written.files {
            let path = dir.path().join(file);
            assert!(path.is_file(), "{} missing", path.display());
        }
        let csv = std::fs::read(dir.path().join(format!("reports/{}.csv", written.name))).unwrap();
        assert!(
            csv.starts_with("\u{feff}".as_bytes()),
            "{} has no BOM",
            written.name
        );
        let text = String::from_utf8(csv).unwrap();
        assert_eq!(text.lines().count(), written.rows + 1, "{}", written.name);
        let path = dir.path().join(format!("reports/{}.xlsx", written.name));
        let mut book: Xlsx<_> = open_workbook(&path).unwrap();
        let sheet = book.sheet_names()[0].clone();
        let range = book.worksheet_range(&sheet).unwrap();
        assert_eq!(range.height(), written.rows + 1, "{}", written.name);
        assert!(range
            .rows()
            .next()
            .unwrap()
            .iter()
            .all(|h| matches!(h, Data::String(_))));
    }

    let mileage = dir.path().join("reports/mileage.xlsx");
    let mut book: Xlsx<_> = open_workbook(&mileage).unwrap();
    let sheet = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&sheet).unwrap();
    let header: Vec<String> = range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|h| h.to_string())
        .collect();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let first = range.rows().nth(1).unwrap();
    assert!(matches!(&first[column("Плановое ТО")], Data::DateTime(d) if d.is_datetime()));
    assert!(matches!(first[column("Км/день")], Data::Float(_)));
    assert!(matches!(
        first[column("Пробег на конец, км")],
        Data::Float(_)
    ));
    let counted: u64 = json["mileage"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| count(&b["count"]))
        .sum();
    assert_eq!(range.height() as u64, counted + 1);
    let csv = std::fs::read_to_string(dir.path().join("reports/mileage.csv")).unwrap();
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .starts_with("\u{feff}Группа;Марка;Модель;VIN;"));

    let rows = |name: &str| report.reports.iter().find(|r| r.name == name).unwrap().rows;
    assert_eq!(
        rows("offers") as u64,
        count(&json["kpi"]["messages_sent_period"]),
        "the offers report lists every message the run sent"
    );
    assert_eq!(
        rows("lost") as u64,
        count(&json["kpi"]["customers_by_status"]["lost"])
    );
    assert_eq!(rows("rfm"), report.kpi.customers);
}

/// `demo` runs on the dealer's policy file (`--policy`, `POLICY_FILE` or ./policy.toml), the
/// same one the stack deploys: a larger control group there is a larger control group here.
#[test]
fn the_demo_runs_on_the_policy_it_is_given() {
    let shipped = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../policy.toml"));
    let edited = shipped.replace("control_group_percent = 10", "control_group_percent = 50");
    assert_ne!(
        edited, shipped,
        "policy.toml names control_group_percent = 10"
    );
    let mut config = config(7);
    config.policy = domain::policy::Policy::from_toml(&edited).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let half = run_in(&config, dir.path()).unwrap();
    let (default, _) = run(7);
    let (h, d) = (
        half.kpi.control_group_customers,
        default.kpi.control_group_customers,
    );
    assert!(h > 3 * d, "control group {h} under 50 %, {d} under 10 %");
}
