//! The reports on the embedded store: a small dealership recorded through the visits use case,
//! one reminder sent, clicked and booked, then every report read back as typed rows and tables.

use std::sync::Mutex;

use app::ports::{Address, Channel, OutgoingMessage};
use app::reports::{
    abc_report, build_table, lost_report, mileage_report, offers_report, rfm_report, Base,
    DueBucket, OffersFilter, Period, ReportError, ReportName, ReportRequest, VisitBand,
};
use app::{BookingSettings, ComposeOutcome, MessengerUpdate, UpdateKind};
use chrono::{DateTime, NaiveDate, Utc};
use domain::policy::{AbcBasis, Policy};
use domain::segments::{AbcClass, RfmSegment};
use domain::status::CustomerStatus;
use domain::triggers::{Reaction, Stage};
use domain::Money;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use store::repo::{BookingState, Repos};
use store::{RedbStore, TtlClock};

const EXAMPLE_VIN: &str = "XW7BE40K70S025476";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// The report day.
fn report_day() -> NaiveDate {
    day("2027-11-12")
}

#[derive(Default)]
struct Recording(Mutex<Vec<OutgoingMessage>>);

impl Channel for Recording {
    async fn send(&self, message: &OutgoingMessage) -> anyhow::Result<String> {
        let mut sent = self.0.lock().unwrap();
        sent.push(message.clone());
        Ok(sent.len().to_string())
    }
}

/// A visit body: labour at `labor` (cost 40 %) and a part at 1,200 (cost 950).
fn visit(
    customer: (&str, &str, i64),
    vin: &str,
    order: &str,
    (closed, km): (&str, u32),
    labor: u32,
) -> Value {
    let (id, name, chat) = customer;
    json!({
        "work_order_id": order, "closed_at": format!("{closed}T12:00:00+03:00"),
        "kind": if order.ends_with('R') { "repair" } else { "maintenance" },
        "odometer_km": km,
        "customer": {
            "id": id, "first_name": name, "phone": format!("+7916{chat:07}"),
            "telegram_chat_id": chat,
            "consents": {"service_messages": true, "marketing": true}
        },
        "vehicle": {
            "vin": vin, "make": "Kia", "model": "Rio", "first_registration": "2018-03-01"
        },
        "lines": [
            {"kind": "labor", "code": "TO", "name": "ТО", "qty": "1",
             "price": format!("{labor}.00"), "cost": format!("{}.00", labor * 2 / 5)},
            {"kind": "part", "code": "F", "name": "Фильтр", "qty": "1", "price": "1200.00", "cost": "950.00"}
        ]
    })
}

const OLGA: (&str, &str, i64) = ("C-2", "Ольга", 5550002);
const IVAN: (&str, &str, i64) = ("C-3", "Иван", 5550003);
const ANNA: (&str, &str, i64) = ("C-4", "Анна", 5550004);

/// Olga came five times, the last in June 2025 (lost, 4–7 visits); Ivan once in March 2026
/// (due March 2027, more than 180 days past due on the report day: lost, ≤ 3); Anna in May 2027 (new); the example customer in November 2026 and again two
/// days before the report day, after a reminder he clicked and booked from.
async fn dealership() -> (tempfile::TempDir, Repos<RedbStore>, String) {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path().join("store.redb"))
        .unwrap()
        .with_ttl_clock(at("2026-11-01T00:00:00+03:00"));
    let repos = Repos::new(store);
    let policy = Policy::default();
    let mut bodies = vec![
        visit(
            OLGA,
            "XTA21700000000002",
            "O-1",
            ("2022-01-10", 30_000),
            9_000,
        ),
        visit(
            OLGA,
            "XTA21700000000002",
            "O-2",
            ("2022-09-10", 42_000),
            9_000,
        ),
        visit(
            OLGA,
            "XTA21700000000002",
            "O-3R",
            ("2023-05-10", 55_000),
            20_000,
        ),
        visit(
            OLGA,
            "XTA21700000000002",
            "O-4",
            ("2024-01-10", 66_000),
            9_000,
        ),
        visit(
            OLGA,
            "XTA21700000000002",
            "O-5R",
            ("2025-06-01", 88_000),
            30_000,
        ),
        visit(
            IVAN,
            "XTA21700000000003",
            "I-1",
            ("2026-03-01", 61_000),
            4_000,
        ),
        visit(
            ANNA,
            "XTA21700000000004",
            "A-1",
            ("2027-05-01", 15_000),
            5_000,
        ),
    ];
    bodies.sort_by_key(|b| b["closed_at"].as_str().unwrap().to_owned());
    for body in &bodies {
        let closed = at(body["closed_at"].as_str().unwrap());
        let bytes = serde_json::to_vec(body).unwrap();
        app::record_visit(&repos, &policy, &bytes, closed)
            .await
            .unwrap();
    }
    let evaluation =
        app::fixtures::example_visit_evaluated(&repos, &policy, at("2027-11-01T01:00:05+03:00"))
            .await
            .unwrap();
    app::commit_evaluation(&repos, &evaluation).await.unwrap();
    let channel = Recording::default();
    let morning = at("2027-11-01T09:00:30+03:00");
    let mut offer_id = String::new();
    for message in &evaluation.compose {
        let outcome = app::compose_and_send(&repos, &policy, &channel, message, "t", morning)
            .await
            .unwrap();
        assert!(
            matches!(outcome, ComposeOutcome::Sent { .. }),
            "{outcome:?}"
        );
        let app::ComposeOffer::V1 {
            offer_id: id,
            stage,
            ..
        } = message;
        if *stage == Stage::SoftReminder {
            offer_id = id.clone();
        }
    }
    assert!(!offer_id.is_empty(), "a soft reminder went out");
    let settings = BookingSettings {
        advisor_chat_id: -100,
        max_slots_shown: 6,
    };
    let press = |id: &str, data: String| MessengerUpdate {
        update_id: id.into(),
        from: Address::Telegram(5550001),
        kind: UpdateKind::Callback {
            callback_id: Some(format!("cb-{id}")),
            data,
        },
    };
    let noon = at("2027-11-01T12:00:00+03:00");
    let picker = app::handle_update(
        &repos,
        &policy,
        &settings,
        &press("u1", format!("book:{offer_id}")),
        noon,
    )
    .await
    .unwrap();
    let slot = picker.messages[0].buttons[0][0].callback_data.clone();
    app::handle_update(&repos, &policy, &settings, &press("u2", slot), noon)
        .await
        .unwrap();
    let later = json!({
        "work_order_id": "WO-2", "closed_at": "2027-11-10T12:00:00+03:00",
        "kind": "maintenance", "odometer_km": 105_000,
        "customer": app::fixtures::example_visit()["customer"].clone(),
        "vehicle": app::fixtures::example_visit()["vehicle"].clone(),
        "lines": app::fixtures::example_visit()["lines"].clone(),
    });
    let bytes = serde_json::to_vec(&later).unwrap();
    app::record_visit(&repos, &policy, &bytes, at("2027-11-10T12:05:00+03:00"))
        .await
        .unwrap();
    (dir, repos, offer_id)
}

async fn base(repos: &Repos<RedbStore>) -> Base {
    Base::load(repos, &Policy::default()).await.unwrap()
}

#[tokio::test]
async fn the_base_holds_every_vehicle_and_customer_with_their_visits() {
    let (_dir, repos, _) = dealership().await;
    let base = base(&repos).await;
    assert_eq!(base.vehicles.len(), 4);
    let ids: Vec<&str> = base
        .customers
        .iter()
        .map(|c| c.customer_id.as_str())
        .collect();
    assert_eq!(ids, ["C-1001", "C-2", "C-3", "C-4"]);
    let olga = base.customer("C-2").unwrap();
    assert_eq!(olga.visits.len(), 5);
    assert_eq!(olga.first_name, "Ольга");
    assert_eq!(olga.visits[2].revenue, Money::from_roubles(21_200));
    assert_eq!(olga.visits[2].margin(), Decimal::from(21_200 - 8_000 - 950));
}

#[tokio::test]
async fn lost_customers_are_grouped_by_visits_with_their_last_work_order_and_revenue() {
    let (_dir, repos, _) = dealership().await;
    let base = base(&repos).await;
    let policy = Policy::default();
    let report = lost_report(&base, &policy, report_day(), Period::until(report_day()));
    let ids: Vec<&str> = report.rows.iter().map(|r| r.customer_id.as_str()).collect();
    assert_eq!(ids, ["C-3", "C-2"], "≤ 3 visits first");
    let olga = &report.rows[1];
    assert_eq!(olga.band, VisitBand::From4To7);
    assert_eq!(olga.last_visit, day("2025-06-01"));
    assert_eq!(olga.last_work_order, "O-5R");
    assert_eq!(olga.visits, 5);
    let revenue = 3 * 10_200 + 21_200 + 31_200;
    assert_eq!(olga.revenue, Money::from_roubles(revenue));
    let cost = 3 * (3_600 + 950) + (8_000 + 950) + (12_000 + 950);
    assert_eq!(olga.margin, Decimal::from(revenue - cost));
    assert_eq!(report.rows[0].band, VisitBand::UpTo3);
    assert_eq!(report.statuses[&CustomerStatus::Lost], 2);
    assert_eq!(report.statuses[&CustomerStatus::Loyal], 1);
    assert_eq!(report.statuses[&CustomerStatus::New], 1);

    let since_2025 = Period {
        from: Some(day("2025-01-01")),
        to: report_day(),
    };
    let report = lost_report(&base, &policy, report_day(), since_2025);
    assert_eq!(report.rows[1].visits_in_period, 1);
    assert_eq!(report.rows[1].revenue, Money::from_roubles(31_200));
    assert_eq!(report.rows[1].visits, 5, "the band counts every visit");
}

#[tokio::test]
async fn abc_ranks_by_revenue_or_by_margin_with_the_domains_classes() {
    let (_dir, repos, _) = dealership().await;
    let base = base(&repos).await;
    let policy = Policy::default();
    let period = Period::until(report_day());
    let report = abc_report(&base, &policy, period, None);
    assert_eq!(report.by, AbcBasis::Revenue);
    assert_eq!(report.rows[0].customer_id, "C-2");
    assert_eq!(report.rows[0].class, AbcClass::A);
    let values: Vec<Decimal> = report.rows.iter().map(|r| r.revenue.amount()).collect();
    let classes: Vec<AbcClass> = report.rows.iter().map(|r| r.class).collect();
    assert_eq!(
        classes,
        domain::segments::abc_classes(&values, policy.segments())
    );
    assert_eq!(
        report.rows.last().unwrap().cumulative_percent,
        Decimal::ONE_HUNDRED
    );
    let counted: usize = report.classes.iter().map(|c| c.customers).sum();
    assert_eq!(counted, report.rows.len());

    let by_margin = abc_report(&base, &policy, period, Some(AbcBasis::Margin));
    assert_eq!(by_margin.by, AbcBasis::Margin);
    let margins: Vec<Decimal> = by_margin.rows.iter().map(|r| r.margin).collect();
    assert!(margins.windows(2).all(|w| w[0] >= w[1]), "{margins:?}");
    assert!(by_margin.table().title.contains("по марже"));
}

#[tokio::test]
async fn rfm_scores_every_customer_and_names_the_segment_and_the_action() {
    let (_dir, repos, _) = dealership().await;
    let base = base(&repos).await;
    let report = rfm_report(&base, report_day(), Period::until(report_day()));
    assert_eq!(report.rows.len(), 4);
    let example = report
        .rows
        .iter()
        .find(|r| r.customer_id == "C-1001")
        .unwrap();
    assert_eq!(example.rfm.recency, 5, "the latest visit");
    assert_eq!(example.segment, RfmSegment::of(example.rfm));
    let olga = report.rows.iter().find(|r| r.customer_id == "C-2").unwrap();
    assert_eq!(olga.rfm.frequency, 5, "the most visits");
    assert_eq!(olga.rfm.recency, 1, "the longest ago");
    assert_eq!(olga.segment, RfmSegment::CannotLose);
    let table = report.table();
    let row = table.rows.iter().find(|r| r[1] == "C-2".into()).unwrap();
    assert_eq!(row[0], "Нельзя потерять".into());
    assert_eq!(row[6], "155".into());
    assert!(matches!(&row[7], app::reports::Cell::Text(t) if t.contains("Звонок")));
}

/// A typo in a self-reported odometer (1,900,000 km a day after 105,000) is flagged by the
/// forecast and left out of the km driven; so is a rollback.
#[tokio::test]
async fn the_mileage_analysis_leaves_out_readings_the_forecast_does_not_trust() {
    let (_dir, repos, _) = dealership().await;
    let policy = Policy::default();
    for (date, km, reference) in [
        ("2027-11-11", 1_900_000, "typo"),
        ("2027-11-11", 10_000, "rollback"),
    ] {
        let reading = domain::Reading {
            date: day(date),
            km,
            source: domain::ReadingSource::CustomerReported,
        };
        repos
            .readings
            .append(EXAMPLE_VIN, &reading, reference)
            .await
            .unwrap();
    }
    let vehicle = repos
        .vehicles
        .get::<domain::Vehicle>(EXAMPLE_VIN)
        .await
        .unwrap()
        .unwrap()
        .vehicle;
    let due = app::forecast_vehicle(&repos, &policy, &vehicle, report_day())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(due.flags.len(), 2, "{:?}", due.flags);
    let base = base(&repos).await;
    let report = mileage_report(&repos, &base, report_day()).await.unwrap();
    let row = report.rows.iter().find(|r| r.vin == EXAMPLE_VIN).unwrap();
    assert_eq!(row.start_km, 105_000);
    // Two days at the car's pace since the visit of 10 November, not 1.8 million km or none.
    assert!(
        row.end_km > row.start_km && row.driven_km < 1_000,
        "{row:?}"
    );
}

#[tokio::test]
async fn the_mileage_analysis_groups_vehicles_by_planned_date_with_km_since_the_last_maintenance() {
    let (_dir, repos, _) = dealership().await;
    let base = base(&repos).await;
    let report = mileage_report(&repos, &base, report_day()).await.unwrap();
    assert_eq!(report.vehicles(), 4);
    assert!(report.without_forecast.is_empty());
    for row in &report.rows {
        assert_eq!(row.bucket, DueBucket::of_days(row.days_left), "{row:?}");
        assert_eq!(row.days_left, (row.due_date - report_day()).num_days());
        assert!(
            row.p10 <= row.due_date && row.due_date <= row.p90,
            "{row:?}"
        );
        assert_eq!(row.end_km, row.start_km + row.driven_km);
    }
    let example = report.rows.iter().find(|r| r.vin == EXAMPLE_VIN).unwrap();
    let last = example.last_maintenance.as_ref().unwrap();
    assert_eq!(
        (last.work_order_id.as_str(), last.closed_on),
        ("WO-2", day("2027-11-10"))
    );
    assert_eq!(example.start_km, 105_000);
    assert_eq!(example.owner, "Михаил");
    let olga = report.rows.iter().find(|r| r.customer_id == "C-2").unwrap();
    assert_eq!(olga.bucket, DueBucket::Overdue);
    assert_eq!(
        olga.last_maintenance.as_ref().unwrap().work_order_id,
        "O-4",
        "a repair is not a maintenance"
    );
    let buckets: Vec<DueBucket> = report.rows.iter().map(|r| r.bucket).collect();
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]));
    let table = report.table();
    assert_eq!(table.rows.len(), 4);
    assert_eq!(table.columns.len(), table.rows[0].len());
}

#[tokio::test]
async fn the_offers_report_shows_what_was_sent_why_and_what_came_of_it() {
    let (_dir, repos, offer_id) = dealership().await;
    let base = base(&repos).await;
    let policy = Policy::default();
    let period = Period::until(report_day());
    let all = offers_report(&repos, &base, &policy, OffersFilter::All, period)
        .await
        .unwrap();
    let row = all.rows.iter().find(|r| r.offer_id == offer_id).unwrap();
    assert_eq!(row.customer_id, "C-1001");
    assert_eq!(row.stage, Stage::SoftReminder);
    assert_eq!(row.sent_at, at("2027-11-01T09:00:30+03:00"));
    assert_eq!(row.sent_local.to_string(), "2027-11-01 09:00:30");
    assert_eq!(row.car, "Toyota Camry");
    assert!(
        row.reactions.contains(&Reaction::Clicked),
        "{:?}",
        row.reactions
    );
    let booking = row.booking.as_ref().unwrap();
    assert_eq!(
        (booking.date, booking.state),
        (day("2027-11-02"), BookingState::Held)
    );
    let visit = row.visit.as_ref().unwrap();
    assert_eq!(visit.work_order_id, "WO-2");

    let mine = offers_report(
        &repos,
        &base,
        &policy,
        OffersFilter::Customer("C-1001".into()),
        period,
    )
    .await
    .unwrap();
    assert_eq!(mine.rows, all.rows);
    assert!(all.rows.len() >= 2, "the reminder and the tyre season");
    let by_vin = offers_report(
        &repos,
        &base,
        &policy,
        OffersFilter::Vin(EXAMPLE_VIN.into()),
        period,
    )
    .await
    .unwrap();
    assert_eq!(by_vin.rows, all.rows);
    let before = Period {
        from: None,
        to: day("2027-10-31"),
    };
    let none = offers_report(&repos, &base, &policy, OffersFilter::All, before)
        .await
        .unwrap();
    assert!(none.rows.is_empty());

    let table = mine.table();
    assert!(table.title.contains("клиента C-1001"));
    let index = mine
        .rows
        .iter()
        .position(|r| r.offer_id == offer_id)
        .unwrap();
    let cells = &table.rows[index];
    assert_eq!(cells[5], "мягкое напоминание".into());
    assert!(matches!(&cells[15], app::reports::Cell::Text(t) if t.contains("Записаться")));
    assert!(matches!(&cells[16], app::reports::Cell::Text(t) if t.contains("02.11.2027 09:00")));
}

#[tokio::test]
async fn every_report_builds_from_the_store_and_an_unknown_customer_is_an_error() {
    let (_dir, repos, _) = dealership().await;
    let policy = Policy::default();
    for name in ReportName::ALL {
        let request = ReportRequest::on(name, report_day());
        let table = build_table(&repos, &policy, &request).await.unwrap();
        assert!(!table.rows.is_empty(), "{name}");
        for row in &table.rows {
            assert_eq!(row.len(), table.columns.len(), "{name}");
            for (cell, column) in row.iter().zip(&table.columns) {
                assert!(cell.fits(column.kind), "{name}: {cell:?} in {column:?}");
            }
        }
        for format in app::reports::Format::ALL {
            assert!(!app::reports::export(&table, format).unwrap().is_empty());
        }
    }
    let mut request = ReportRequest::on(ReportName::Offers, report_day());
    request.offers = OffersFilter::Customer("C-404".into());
    let err = build_table(&repos, &policy, &request).await.unwrap_err();
    assert!(matches!(err, ReportError::UnknownCustomer(_)), "{err}");
    let mut request = ReportRequest::on(ReportName::Lost, report_day());
    request.period.from = Some(day("2028-01-01"));
    let err = build_table(&repos, &policy, &request).await.unwrap_err();
    assert!(matches!(err, ReportError::EmptyPeriod { .. }), "{err}");
}
