//! Conversion credit in the visit ingest path: the visit after a sent reminder credits it once.

use std::sync::Mutex;

use app::ports::{Channel, OutgoingMessage};
use chrono::{DateTime, NaiveDate, Utc};
use domain::policy::Policy;
use domain::triggers::Stage;
use serde_json::json;
use store::repo::Repos;
use store::{RedbStore, TtlClock};

const VIN: &str = "XW7BE40K70S025476";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

#[derive(Default)]
struct Recording(Mutex<Vec<OutgoingMessage>>);

impl Channel for Recording {
    async fn send(&self, message: &OutgoingMessage) -> anyhow::Result<String> {
        self.0.lock().unwrap().push(message.clone());
        Ok("1".into())
    }
}

fn fresh_store() -> (tempfile::TempDir, Repos<RedbStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path().join("store.redb"))
        .unwrap()
        .with_ttl_clock(at("2026-11-01T00:00:00+03:00"));
    (dir, Repos::new(store))
}

fn visit(work_order_id: &str, closed_at: &str) -> Vec<u8> {
    let example = app::fixtures::example_visit();
    let body = json!({
        "work_order_id": work_order_id, "closed_at": closed_at,
        "kind": "maintenance", "odometer_km": 104_000,
        "customer": example["customer"].clone(),
        "vehicle": example["vehicle"].clone(),
        "lines": example["lines"].clone(),
    });
    serde_json::to_vec(&body).unwrap()
}

/// The example visit of 12 November 2026, and the soft reminder of 1 November 2027 decided by
/// the evaluator and sent by the composer.
async fn reminder_sent(repos: &Repos<RedbStore>) {
    let policy = Policy::default();
    let first = serde_json::to_vec(&app::fixtures::example_visit()).unwrap();
    app::record_visit(repos, &policy, &first, at("2026-11-12T16:00:00+03:00"))
        .await
        .unwrap();
    let night = NaiveDate::from_ymd_opt(2027, 11, 1).unwrap();
    let vehicle = repos
        .vehicles
        .get::<domain::Vehicle>(VIN)
        .await
        .unwrap()
        .unwrap();
    app::forecast_vehicle(repos, &policy, &vehicle.vehicle, night)
        .await
        .unwrap();
    let now = at("2027-11-01T10:00:00+03:00");
    let message = app::EvaluateVehicle::V1 {
        run_date: night,
        vin: VIN.into(),
    };
    let evaluation = app::evaluate_vehicle(repos, &policy, &message, now)
        .await
        .unwrap();
    app::evaluate::commit_evaluation(repos, &evaluation)
        .await
        .unwrap();
    let reminder = evaluation
        .compose
        .iter()
        .find(|m| {
            matches!(
                m,
                app::ComposeOffer::V1 {
                    stage: Stage::SoftReminder,
                    ..
                }
            )
        })
        .expect("the soft reminder is due");
    let channel = Recording::default();
    app::compose_and_send(repos, &policy, &channel, reminder, "test", now)
        .await
        .unwrap();
    assert_eq!(channel.0.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_visit_after_the_reminder_credits_it_once_with_the_days_from_message_to_visit() {
    let (_dir, repos) = fresh_store();
    reminder_sent(&repos).await;
    let policy = Policy::default();
    let body = visit("WO-2", "2027-11-10T12:00:00+03:00");
    let now = at("2027-11-10T12:05:00+03:00");
    let recorded = app::record_visit(&repos, &policy, &body, now)
        .await
        .unwrap();
    let credit = recorded.converted.expect("the reminder is credited");
    assert_eq!(credit.stage, Stage::SoftReminder);
    assert_eq!(credit.rule, None);
    assert_eq!(credit.days_to_visit, 9);
    assert_eq!(credit.sent_at, at("2027-11-01T10:00:00+03:00"));
    assert_eq!(
        credit.offer_id,
        app::messages::offer_id(VIN, "A3C0001116", Stage::SoftReminder)
    );

    let again = app::record_visit(&repos, &policy, &body, now)
        .await
        .unwrap();
    assert!(!again.newly_stored);
    assert_eq!(again.converted, None, "the same visit delivered again");
    let later = visit("WO-3", "2027-11-20T12:00:00+03:00");
    let third = app::record_visit(&repos, &policy, &later, at("2027-11-20T12:05:00+03:00"))
        .await
        .unwrap();
    assert_eq!(third.converted, None, "the cycle was credited once");
    let stored = repos
        .conversions
        .for_vehicle::<app::conversions::ConversionRecord>(VIN)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (
            stored[0].cycle_id.as_str(),
            stored[0].work_order_id.as_str()
        ),
        ("A3C0001116", "WO-2")
    );
    assert_eq!(
        repos
            .conversions
            .in_month::<app::conversions::ConversionRecord>(2027, 11)
            .await
            .unwrap()
            .len(),
        1
    );
    let open = repos
        .cycles
        .open_cycle::<app::evaluate::CycleInfo>(VIN)
        .await
        .unwrap();
    assert_eq!(open, None, "the converted cycle is closed");
}

#[tokio::test]
async fn a_visit_before_the_message_went_out_or_without_one_credits_nothing() {
    let (_dir, repos) = fresh_store();
    let policy = Policy::default();
    let first = serde_json::to_vec(&app::fixtures::example_visit()).unwrap();
    app::record_visit(&repos, &policy, &first, at("2026-11-12T16:00:00+03:00"))
        .await
        .unwrap();
    let body = visit("WO-2", "2027-10-20T12:00:00+03:00");
    let recorded = app::record_visit(&repos, &policy, &body, at("2027-10-20T12:05:00+03:00"))
        .await
        .unwrap();
    assert_eq!(recorded.converted, None, "no cycle, no message");

    let (_dir2, repos) = fresh_store();
    reminder_sent(&repos).await;
    let early = visit("WO-0", "2027-10-31T12:00:00+03:00");
    let recorded = app::record_visit(&repos, &policy, &early, at("2027-11-01T12:00:00+03:00"))
        .await
        .unwrap();
    assert_eq!(
        recorded.converted, None,
        "closed before the reminder was sent"
    );
    assert!(repos
        .conversions
        .for_vehicle::<app::conversions::ConversionRecord>(VIN)
        .await
        .unwrap()
        .is_empty());
}

/// Two messages went out; the customer pressed «Записаться» under the earlier one: the visit is
/// credited to the message acted on, not to the later one (ingest-visit's record_visit).
#[tokio::test]
async fn the_message_the_customer_acted_on_is_credited_over_a_later_one() {
    let (_dir, repos) = fresh_store();
    reminder_sent(&repos).await;
    let policy = Policy::default();
    let reminder_id = app::messages::offer_id(VIN, "A3C0001116", Stage::SoftReminder);
    // A later message of the same cycle (the tyre campaign), sent an hour after the reminder.
    let tyres = app::ComposeOffer::V1 {
        offer_id: app::messages::offer_id(VIN, "A3C0001116", Stage::SeasonalTires),
        vin: VIN.into(),
        customer_id: app::fixtures::example_visit()["customer"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        cycle_id: "A3C0001116".into(),
        stage: Stage::SeasonalTires,
        reason: domain::triggers::Reason::TireSeason {
            window: "autumn".into(),
        },
        send_at: at("2027-11-01T11:00:00+03:00"),
    };
    let channel = Recording::default();
    app::compose_and_send(
        &repos,
        &policy,
        &channel,
        &tyres,
        "test",
        at("2027-11-01T11:00:00+03:00"),
    )
    .await
    .unwrap();
    assert_eq!(
        channel.0.lock().unwrap().len(),
        1,
        "the tyre message went out"
    );
    repos
        .cycles
        .mark_stage(
            VIN,
            "A3C0001116",
            Stage::SeasonalTires.as_str(),
            &app::evaluate::StageMark {
                send_at: at("2027-11-01T11:00:00+03:00"),
                decided_at: at("2027-11-01T11:00:00+03:00"),
            },
        )
        .await
        .unwrap();
    app::evaluate::record_reaction(
        &repos,
        VIN,
        "A3C0001116",
        Stage::SoftReminder,
        domain::triggers::Reaction::Clicked,
        at("2027-11-02T09:00:00+03:00"),
    )
    .await
    .unwrap();
    let body = visit("WO-2", "2027-11-10T12:00:00+03:00");
    let recorded = app::record_visit(&repos, &policy, &body, at("2027-11-10T12:05:00+03:00"))
        .await
        .unwrap();
    let credit = recorded.converted.expect("a message is credited");
    assert_eq!(
        (credit.stage, credit.offer_id),
        (Stage::SoftReminder, reminder_id)
    );
}
