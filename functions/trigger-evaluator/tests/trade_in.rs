//! Trade-in leads from the nightly evaluation, through the trigger-evaluator handler on the
//! embedded store: a 4-year-old car whose warranty just ended and whose brakes were repaired
//! three times in a year is a lead, once per quarter, with its reasons, valid against
//! `docs/events/TradeInLead.schema.json`.

mod common;

use app::events::{BusinessEvent, CollectedEvents, EventKind};
use app::messages::EvaluateVehicle;
use app::ports::Collected;
use chrono::NaiveDate;
use common::{at, sqs_event};
use domain::policy::Policy;
use store::repo::Repos;
use store::RedbStore;
use trigger_evaluator::{handle, Deps};

const VIN: &str = "XTA210990Y2765432";
const OWNER: &str = "C-3003";

fn visit(work_order_id: &str, closed_at: &str, km: u32, kind: &str) -> Vec<u8> {
    let mut body = app::fixtures::visit(work_order_id, VIN, closed_at, km);
    body["kind"] = kind.into();
    body["customer"]["id"] = OWNER.into();
    body["vehicle"]["first_registration"] = "2022-01-15".into();
    body["vehicle"]["warranty_until"] = "2026-10-15".into();
    if kind == "repair" {
        body["lines"] = serde_json::json!([
            {"kind": "labor", "code": format!("BRK-{work_order_id}"),
             "name": "Ремонт тормозной системы", "qty": "1", "price": "4500.00", "cost": "1800.00"}
        ]);
    }
    serde_json::to_vec(&body).unwrap()
}

/// A fresh embedded store holding the visits (bodies with their closing instant), recorded as
/// ingest-visit records them.
async fn store_with(visits: &[(Vec<u8>, &str)]) -> (tempfile::TempDir, Repos<RedbStore>) {
    let dir = tempfile::tempdir().unwrap();
    let repos = Repos::new(RedbStore::open(dir.path().join("store.redb")).unwrap());
    for (body, closed_at) in visits {
        let recorded = app::record_visit(&repos, &Policy::default(), body, at(closed_at))
            .await
            .unwrap();
        assert!(recorded.newly_stored);
    }
    (dir, repos)
}

/// [`store_with`] the visits `(work order, closed at, km, kind)` of [`visit`].
async fn store_with_visits(
    visits: &[(&str, &str, u32, &str)],
) -> (tempfile::TempDir, Repos<RedbStore>) {
    let bodies: Vec<(Vec<u8>, &str)> = visits
        .iter()
        .map(|&(wo, closed_at, km, kind)| (visit(wo, closed_at, km, kind), closed_at))
        .collect();
    store_with(&bodies).await
}

/// The handler's dependencies on `repos`, publishing to `events`.
fn deps(repos: &Repos<RedbStore>, events: app::Events) -> Deps<RedbStore, Collected> {
    Deps {
        repos: repos.clone(),
        policy: Policy::default(),
        compose: Collected::default(),
        events,
    }
}

/// The nightly run for the car at `now`: its forecast, then the handler's batch of one.
async fn evaluate(
    deps: &Deps<RedbStore, Collected>,
    now: &str,
) -> lambda_support::aws_lambda_events::sqs::SqsBatchResponse {
    let now = at(now);
    let day: NaiveDate = now.with_timezone(&deps.policy.time_zone()).date_naive();
    let vehicle = deps
        .repos
        .vehicles
        .get::<domain::Vehicle>(VIN)
        .await
        .unwrap()
        .unwrap();
    app::forecast_vehicle(&deps.repos, &deps.policy, &vehicle.vehicle, day)
        .await
        .unwrap();
    let body = EvaluateVehicle::V1 {
        run_date: day,
        vin: VIN.into(),
    }
    .to_json();
    handle(deps, sqs_event(&[body]), now).await
}

/// [`evaluate`], every message handled; the events it published.
async fn night(
    deps: &Deps<RedbStore, Collected>,
    events: &CollectedEvents,
    now: &str,
) -> Vec<BusinessEvent> {
    let response = evaluate(deps, now).await;
    assert!(response.batch_item_failures.is_empty());
    deps.compose.take();
    events.take()
}

fn reasons(event: &BusinessEvent) -> (&str, &str, &[String]) {
    match &event.kind {
        EventKind::TradeInLead {
            lead_id,
            customer_id,
            reasons,
            ..
        } => (lead_id, customer_id, reasons),
        other => panic!("not a trade-in lead: {other:?}"),
    }
}

#[tokio::test]
async fn an_older_car_with_signs_is_a_lead_once_a_quarter_with_its_reasons() {
    let (_dir, repos) = store_with_visits(&[
        ("W1", "2025-12-01T12:00:00+03:00", 60_000, "maintenance"),
        ("W2", "2026-02-10T12:00:00+03:00", 63_000, "repair"),
        ("W3", "2026-06-10T12:00:00+03:00", 68_000, "repair"),
        ("W4", "2026-10-10T12:00:00+03:00", 73_000, "repair"),
    ])
    .await;
    let events = CollectedEvents::default();
    let deps = deps(&repos, app::Events::new(events.clone()));

    let first = night(&deps, &events, "2026-11-20T01:00:05+03:00").await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].name(), "TradeInLead");
    assert_eq!(app::event_schemas::errors(&first[0]), Vec::<String>::new());
    let (lead_id, customer_id, why) = reasons(&first[0]);
    assert_eq!(lead_id, format!("tradein:{VIN}:2026Q4"));
    assert_eq!(customer_id, OWNER);
    assert_eq!(why, ["warranty_ended", "repeated_repairs:BRK"]);
    let text = first[0].detail().to_string();
    assert!(
        !text.contains("+7916") && !text.contains("Михаил"),
        "{text}"
    );

    // The same quarter raises none, whatever the signs.
    assert!(night(&deps, &events, "2026-11-21T01:00:05+03:00")
        .await
        .is_empty());
    assert!(night(&deps, &events, "2026-12-10T01:00:05+03:00")
        .await
        .is_empty());

    // The next quarter: the warranty ended too long ago, the repairs still count.
    let next = night(&deps, &events, "2027-01-12T01:00:05+03:00").await;
    assert_eq!(next.len(), 1, "{next:?}");
    let (lead_id, _, why) = reasons(&next[0]);
    assert_eq!(lead_id, format!("tradein:{VIN}:2027Q1"));
    assert_eq!(why, ["repeated_repairs:BRK"]);
    assert_eq!(app::event_schemas::errors(&next[0]), Vec::<String>::new());
}

#[tokio::test]
async fn a_car_without_signs_or_too_young_is_no_lead() {
    let closed_at = "2026-10-10T12:00:00+03:00";
    let mut body = app::fixtures::visit("W1", VIN, closed_at, 40_000);
    body["customer"]["id"] = OWNER.into();
    body["vehicle"]["first_registration"] = "2024-03-01".into();
    body["vehicle"]["warranty_until"] = "2026-10-15".into();
    let (_dir, repos) = store_with(&[(serde_json::to_vec(&body).unwrap(), closed_at)]).await;
    let events = CollectedEvents::default();
    let young = deps(&repos, app::Events::new(events.clone()));
    assert!(night(&young, &events, "2026-11-20T01:00:05+03:00")
        .await
        .is_empty());

    // A car with every sign, whose owner sent STOP: no lead for sales to call about.
    let (_dir, repos) = store_with_visits(&[
        ("W1", "2025-12-01T12:00:00+03:00", 60_000, "maintenance"),
        ("W2", "2026-02-10T12:00:00+03:00", 63_000, "repair"),
        ("W3", "2026-06-10T12:00:00+03:00", 68_000, "repair"),
        ("W4", "2026-10-10T12:00:00+03:00", 73_000, "repair"),
    ])
    .await;
    repos
        .customers
        .opt_out(OWNER, at("2026-11-01T10:00:00+03:00"))
        .await
        .unwrap();
    let stopped = deps(&repos, app::Events::new(events.clone()));
    assert!(night(&stopped, &events, "2026-11-20T01:00:05+03:00")
        .await
        .is_empty());
}

#[tokio::test]
async fn a_lead_the_bus_refused_is_retried_and_raised_with_the_same_id() {
    let (_dir, repos) = store_with_visits(&[
        ("W1", "2025-12-01T12:00:00+03:00", 60_000, "maintenance"),
        ("W2", "2026-10-10T12:00:00+03:00", 73_000, "maintenance"),
    ])
    .await;
    let day = "2026-11-20T01:00:05+03:00";
    let refused = evaluate(
        &deps(&repos, app::Events::new(app::events::RefusingEvents)),
        day,
    )
    .await;
    assert_eq!(refused.batch_item_failures.len(), 1);
    assert!(!repos.trade_in.raised(VIN, "2026Q4").await.unwrap());

    let events = CollectedEvents::default();
    let up = deps(&repos, app::Events::new(events.clone()));
    let retried = night(&up, &events, day).await;
    assert_eq!(retried.len(), 1);
    assert_eq!(reasons(&retried[0]).2, ["warranty_ended"]);
    assert_eq!(
        retried[0].event_id,
        app::events::event_id("TradeInLead", &format!("tradein:{VIN}:2026Q4"))
    );
    assert!(up.repos.trade_in.raised(VIN, "2026Q4").await.unwrap());
}

/// Declined work comes with the visit (the contract's `recommendations`): a costly estimate
/// declined at the owner's last visit is a lead saying `declined_estimate`; the same car whose
/// last visit declined little is none.
#[tokio::test]
async fn a_costly_estimate_declined_at_the_last_visit_is_a_lead() {
    for (labor, parts, expect_lead) in [
        ("18000.00", "34000.00", true),
        ("4000.00", "9000.00", false),
    ] {
        let closed_at = "2026-10-10T12:00:00+03:00";
        let mut body: serde_json::Value =
            serde_json::from_slice(&visit("W1", closed_at, 73_000, "maintenance")).unwrap();
        body["vehicle"]["warranty_until"] = "2025-01-15".into();
        body["recommendations"] = serde_json::json!([
            {"code": "SUS-010", "name": "Замена передних амортизаторов", "urgency": "soon",
             "labor_estimate": labor, "parts_estimate": parts}
        ]);
        let (_dir, repos) = store_with(&[(serde_json::to_vec(&body).unwrap(), closed_at)]).await;
        let stored = repos
            .visits
            .for_vehicle::<domain::Visit>(VIN)
            .await
            .unwrap();
        assert_eq!(stored[0].visit.recommendations().len(), 1);
        let events = CollectedEvents::default();
        let deps = deps(&repos, app::Events::new(events.clone()));
        let raised = night(&deps, &events, "2026-11-20T01:00:05+03:00").await;
        if expect_lead {
            assert_eq!(raised.len(), 1, "{raised:?}");
            assert_eq!(reasons(&raised[0]).2, ["declined_estimate"]);
            assert_eq!(app::event_schemas::errors(&raised[0]), Vec::<String>::new());
        } else {
            assert!(raised.is_empty(), "{raised:?}");
        }
    }
}
