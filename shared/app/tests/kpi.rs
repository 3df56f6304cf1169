//! The KPI engine on the embedded store: a small dealership recorded through the visits use
//! case, its November 2027 messages sent by the composer (Telegram, and WhatsApp with the
//! Cloud API's delivery statuses), booked, confirmed, marked a no-show and answered through the
//! messenger use case, then every KPI read back from `app::kpi::compute`; and the uplift's
//! interval against a synthetic base with a known lift.

use std::sync::Mutex;

use app::kpi::delivery::{record_status, ReportedStatus, StatusOutcome};
use app::kpi::uplift::{uplift_of, CampaignCustomer};
use app::kpi::{compute, Dimension, KpiQuery};
use app::outreach::{Delivery, Outreach, Reach};
use app::ports::{Address, Channel, Messenger, OutgoingMessage, WhatsAppId};
use app::{BookingSettings, ComposeOffer, ComposeOutcome, MessengerUpdate, UpdateKind};
use chrono::{DateTime, NaiveDate, Utc};
use domain::contact::in_control_group;
use domain::policy::Policy;
use domain::status::AgeBand;
use domain::triggers::{Reaction, Stage};
use domain::{CustomerId, Money};
use serde_json::Value;
use store::repo::{DeliveryStatus, NewDelivery, Repos};
use store::{RedbStore, TtlClock};

const ADVISORS: i64 = -100;
const MIKHAIL: i64 = 5550001;
const MIKHAIL_VIN: &str = "XW7BE40K70S025476";
const OLGA: i64 = 5550002;
const OLGA_VIN: &str = "XTA21700000000002";
const IVAN: i64 = 5550003;
const IVAN_VIN: &str = "XTA21700000000003";
const ANNA_VIN: &str = "XTA21700000000004";
const ANNA_PHONE: &str = "+79160000004";
const PETR: i64 = 5550005;
const PETR_VIN: &str = "XTA21700000000005";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
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

/// WhatsApp only: every delivery accepted with the next `wamid`.
#[derive(Default)]
struct WhatsAppOnly(Mutex<u32>);

impl Outreach for WhatsAppOnly {
    fn reach(&self) -> Reach {
        Reach {
            whatsapp: true,
            ..Reach::default()
        }
    }

    async fn deliver(&self, _: &Delivery) -> anyhow::Result<String> {
        let mut n = self.0.lock().unwrap();
        *n += 1;
        Ok(format!("wamid.KPI{n}"))
    }
}

/// A maintenance visit of the fixture's shape for another customer and car.
#[allow(clippy::too_many_arguments)]
fn visit(
    (id, name, chat, phone): (&str, &str, Option<i64>, &str),
    vin: &str,
    order: &str,
    closed: &str,
    km: u32,
    first_registration: &str,
    advisor: &str,
) -> Value {
    let mut body = app::fixtures::visit(order, vin, &format!("{closed}T12:00:00+03:00"), km);
    body["advisor_id"] = advisor.into();
    body["customer"]["id"] = id.into();
    body["customer"]["first_name"] = name.into();
    body["customer"]["phone"] = phone.into();
    body["customer"]["telegram_chat_id"] = chat.map_or(Value::Null, Value::from);
    body["vehicle"]["first_registration"] = first_registration.into();
    body["vehicle"]["warranty_until"] = Value::Null;
    body
}

struct Shop {
    _dir: tempfile::TempDir,
    repos: Repos<RedbStore>,
    policy: Policy,
    channel: Recording,
    next: u32,
    /// Пётр's customer id: the first candidate outside the control group (his offer is
    /// marketing).
    petr: String,
}

impl Shop {
    async fn record(&self, body: &Value) {
        let closed = at(body["closed_at"].as_str().unwrap());
        let bytes = serde_json::to_vec(body).unwrap();
        app::record_visit(&self.repos, &self.policy, &bytes, closed)
            .await
            .unwrap();
    }

    /// The night's evaluation of `vin` (forecast first, as the nightly run does), its messages
    /// sent through `outreach` in the morning: (stage, offer id) of each sent.
    async fn contact<O: Outreach>(
        &self,
        vin: &str,
        night: &str,
        morning: &str,
        outreach: &O,
    ) -> Vec<(Stage, String)> {
        let night = at(night);
        let run_date = night.with_timezone(&self.policy.time_zone()).date_naive();
        let vehicle = self
            .repos
            .vehicles
            .get::<domain::Vehicle>(vin)
            .await
            .unwrap()
            .unwrap();
        app::forecast_vehicle(&self.repos, &self.policy, &vehicle.vehicle, run_date)
            .await
            .unwrap();
        let message = app::EvaluateVehicle::V1 {
            run_date,
            vin: vin.into(),
        };
        let evaluation = app::evaluate_vehicle(&self.repos, &self.policy, &message, night)
            .await
            .unwrap();
        app::commit_evaluation(&self.repos, &evaluation)
            .await
            .unwrap();
        self.send(&evaluation.compose, morning, outreach).await
    }

    async fn send<O: Outreach>(
        &self,
        compose: &[ComposeOffer],
        morning: &str,
        outreach: &O,
    ) -> Vec<(Stage, String)> {
        let mut sent = Vec::new();
        for message in compose {
            let outcome = app::compose_and_deliver(
                &self.repos,
                &self.policy,
                outreach,
                &app::ComposeSettings::default(),
                message,
                "t",
                at(morning),
            )
            .await
            .unwrap();
            let ComposeOffer::V1 {
                offer_id, stage, ..
            } = message;
            if matches!(outcome, ComposeOutcome::Sent { .. }) {
                sent.push((*stage, offer_id.clone()));
            }
        }
        sent
    }

    async fn press(&mut self, chat: i64, data: &str, when: &str) -> Vec<OutgoingMessage> {
        self.next += 1;
        let update = MessengerUpdate {
            update_id: format!("u{}", self.next),
            from: Address::Telegram(chat),
            kind: UpdateKind::Callback {
                callback_id: Some(format!("cb{}", self.next)),
                data: data.to_owned(),
            },
        };
        let settings = BookingSettings {
            advisor_chat_id: ADVISORS,
            max_slots_shown: 6,
        };
        let replies = app::handle_update(&self.repos, &self.policy, &settings, &update, at(when))
            .await
            .unwrap();
        app::finish_update(&self.repos, &update, at(when))
            .await
            .unwrap();
        replies.messages
    }

    /// «Записаться» → the first slot offered → the advisor confirms: the advisors' card.
    async fn book(&mut self, chat: i64, offer_id: &str, when: &str) -> Vec<OutgoingMessage> {
        let picker = self.press(chat, &format!("book:{offer_id}"), when).await;
        let slot = picker[0].buttons[0][0].callback_data.clone();
        let held = self.press(chat, &slot, when).await;
        let confirm = button(&held, ADVISORS, 0);
        self.press(ADVISORS, &confirm, when).await
    }
}

/// The data of the `index`th button of the message to `chat`.
fn button(messages: &[OutgoingMessage], chat: i64, index: usize) -> String {
    messages
        .iter()
        .find(|m| m.to == Address::Telegram(chat) && !m.buttons.is_empty())
        .and_then(|m| m.buttons.iter().flatten().nth(index))
        .map(|b| b.callback_data.clone())
        .unwrap_or_else(|| panic!("no button {index} to {chat} in {messages:#?}"))
}

fn button_named(messages: &[OutgoingMessage], text: &str) -> String {
    messages
        .iter()
        .flat_map(|m| m.buttons.iter().flatten())
        .find(|b| b.text == text)
        .map(|b| b.callback_data.clone())
        .unwrap_or_else(|| panic!("no «{text}» in {messages:#?}"))
}

fn offer_of(sent: &[(Stage, String)], stage: Stage) -> String {
    sent.iter()
        .find(|(s, _)| *s == stage)
        .map(|(_, id)| id.clone())
        .unwrap_or_else(|| panic!("no {stage} in {sent:?}"))
}

fn not_in_control(policy: &Policy, candidates: &[&str]) -> String {
    let share = policy.contact().control_group;
    candidates
        .iter()
        .find(|id| !in_control_group(&CustomerId::parse(id).unwrap(), share))
        .unwrap()
        .to_string()
}

/// November 2027 at the dealership:
/// - Михаил (5+ years car, adv-7) gets the soft reminder, books, the advisor confirms, and he
///   comes on 10 November (the visit credited to the reminder);
/// - Иван (adv-9) gets the soft reminder and answers «Уже обслужился» → «В другом сервисе»;
/// - Анна, on WhatsApp only, gets the soft reminder as a template: delivered, then read;
/// - Пётр (a 4-year-old car overdue since June) gets the critical offer priced at 20 % off
///   labour, books a Tuesday slot (bonus points), is confirmed and does not come (no-show);
/// - Ольга, unseen since May 2024, comes back on 20 November (reactivated).
async fn november() -> (Shop, Vec<(Stage, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path().join("store.redb"))
        .unwrap()
        .with_ttl_clock(at("2026-11-01T00:00:00+03:00"));
    let policy = Policy::default();
    let petr = not_in_control(&policy, &["C-5", "C-6", "C-7", "C-8", "C-9"]);
    let mut shop = Shop {
        _dir: dir,
        repos: Repos::new(store),
        policy,
        channel: Recording::default(),
        next: 0,
        petr,
    };
    let petr = shop.petr.clone();
    let history = [
        visit(
            ("C-2", "Ольга", Some(OLGA), "+79160000002"),
            OLGA_VIN,
            "O-1",
            "2024-05-10",
            20_000,
            "2018-03-01",
            "adv-9",
        ),
        visit(
            ("C-3", "Иван", Some(IVAN), "+79160000003"),
            IVAN_VIN,
            "I-1",
            "2026-12-01",
            60_000,
            "2019-03-01",
            "adv-9",
        ),
        visit(
            ("C-4", "Анна", None, ANNA_PHONE),
            ANNA_VIN,
            "A-1",
            "2026-11-20",
            40_000,
            "2021-04-01",
            "adv-7",
        ),
        visit(
            (&petr, "Пётр", Some(PETR), "+79160000005"),
            PETR_VIN,
            "P-1",
            "2026-06-01",
            40_000,
            "2023-06-01",
            "adv-7",
        ),
    ];
    for body in &history {
        shop.record(body).await;
    }
    let night = "2027-11-01T01:00:05+03:00";
    let morning = "2027-11-01T09:00:30+03:00";
    let evaluation = app::fixtures::example_visit_evaluated(&shop.repos, &shop.policy, at(night))
        .await
        .unwrap();
    app::commit_evaluation(&shop.repos, &evaluation)
        .await
        .unwrap();
    let telegram = app::outreach::TelegramOnly(&shop.channel);
    let mut sent = shop.send(&evaluation.compose, morning, &telegram).await;
    let mikhail = offer_of(&sent, Stage::SoftReminder);
    let ivan = shop.contact(IVAN_VIN, night, morning, &telegram).await;
    let petr_sent = shop.contact(PETR_VIN, night, morning, &telegram).await;
    let anna_id = WhatsAppId::parse(ANNA_PHONE.trim_start_matches('+')).unwrap();
    app::outreach::note_whatsapp_inbound(&shop.repos, &anna_id, at("2027-10-20T10:00:00+03:00"))
        .await
        .unwrap();
    let anna = shop
        .contact(ANNA_VIN, night, morning, &WhatsAppOnly::default())
        .await;
    assert!(
        anna.iter().any(|(s, _)| *s == Stage::SoftReminder),
        "{anna:?}"
    );

    shop.book(MIKHAIL, &mikhail, "2027-11-01T12:00:00+03:00")
        .await;
    let mut mikhail_visit =
        app::fixtures::visit("WO-2", MIKHAIL_VIN, "2027-11-10T12:00:00+03:00", 105_000);
    mikhail_visit["customer"]["telegram_chat_id"] = MIKHAIL.into();
    shop.record(&mikhail_visit).await;

    let ivan_offer = offer_of(&ivan, Stage::SoftReminder);
    let where_ = shop
        .press(
            IVAN,
            &format!("done:{ivan_offer}"),
            "2027-11-02T10:00:00+03:00",
        )
        .await;
    let elsewhere = button_named(&where_, "В другом сервисе");
    shop.press(IVAN, &elsewhere, "2027-11-02T10:01:00+03:00")
        .await;

    let critical = offer_of(&petr_sent, Stage::CriticalOffer);
    let card = shop
        .book(PETR, &critical, "2027-11-01T12:30:00+03:00")
        .await;
    let no_show = button_named(&card, "Не приехал");
    shop.press(ADVISORS, &no_show, "2027-11-02T18:00:00+03:00")
        .await;

    shop.record(&visit(
        ("C-2", "Ольга", Some(OLGA), "+79160000002"),
        OLGA_VIN,
        "O-2",
        "2027-11-20",
        45_000,
        "2018-03-01",
        "adv-9",
    ))
    .await;

    sent.extend(ivan);
    sent.extend(petr_sent);
    sent.extend(anna);
    (shop, sent)
}

fn november_query() -> KpiQuery {
    KpiQuery {
        from: day("2027-11-01"),
        to: day("2027-11-30"),
        at: day("2027-12-20"),
        grace_days: 30,
    }
}

#[tokio::test]
async fn whatsapp_statuses_move_a_message_forward_only_and_a_read_is_a_reaction() {
    let (shop, sent) = november().await;
    let repos = &shop.repos;
    let noted = repos
        .deliveries
        .get("whatsapp", "wamid.KPI1")
        .await
        .unwrap()
        .expect("the composer noted the WhatsApp message");
    assert_eq!(noted.status, Some(DeliveryStatus::Sent));
    assert!(sent.iter().any(|(_, id)| *id == noted.offer_id));

    let status = |s, t: &str| record_status(repos, Messenger::WhatsApp, "wamid.KPI1", s, at(t));
    use ReportedStatus::*;
    use StatusOutcome::*;
    assert_eq!(
        status(Delivered, "2027-11-01T09:01:00+03:00")
            .await
            .unwrap(),
        Recorded
    );
    assert_eq!(
        status(Delivered, "2027-11-01T09:01:00+03:00")
            .await
            .unwrap(),
        Unchanged
    );
    assert_eq!(
        status(Read, "2027-11-01T19:00:00+03:00").await.unwrap(),
        Recorded
    );
    assert_eq!(
        status(Delivered, "2027-11-01T19:05:00+03:00")
            .await
            .unwrap(),
        Unchanged,
        "late"
    );
    assert_eq!(
        status(Sent, "2027-11-01T19:06:00+03:00").await.unwrap(),
        Unchanged,
        "late"
    );
    assert_eq!(
        status(Failed, "2027-11-01T19:07:00+03:00").await.unwrap(),
        Recorded
    );
    assert_eq!(
        status(Failed, "2027-11-01T19:08:00+03:00").await.unwrap(),
        Unchanged
    );
    let d = repos
        .deliveries
        .get("whatsapp", "wamid.KPI1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status, Some(DeliveryStatus::Read));
    assert!(
        d.delivered() && d.read() && !d.failed(),
        "read before it failed: {d:?}"
    );

    let offer = repos
        .offers
        .get::<app::compose::OfferRecord>(&d.offer_id)
        .await
        .unwrap()
        .unwrap();
    let reactions = repos
        .cycles
        .reactions::<app::evaluate::ReactionMark>(&offer.vin, &offer.offer.cycle_id)
        .await
        .unwrap();
    assert!(
        reactions
            .iter()
            .any(|(_, _, m)| m.reaction == Reaction::Read),
        "{reactions:?}"
    );

    // A status before the send was noted is kept and claimed by the note; one nobody claims
    // changes no offer.
    let early = record_status(
        repos,
        Messenger::WhatsApp,
        "wamid.EARLY",
        Read,
        at("2027-11-03T10:00:00+03:00"),
    )
    .await
    .unwrap();
    assert_eq!(early, Recorded);
    assert_eq!(
        repos
            .deliveries
            .get("whatsapp", "wamid.EARLY")
            .await
            .unwrap(),
        None
    );
    repos
        .deliveries
        .note_sent(&NewDelivery {
            messenger: "whatsapp",
            message_key: "wamid.EARLY",
            offer_id: "o-early",
            customer_id: "C-4",
            at: at("2027-11-03T09:59:59+03:00"),
            status: DeliveryStatus::Sent,
        })
        .await
        .unwrap();
    let early = repos
        .deliveries
        .get("whatsapp", "wamid.EARLY")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(early.status, Some(DeliveryStatus::Read));
    let anna = repos.deliveries.for_customer("C-4").await.unwrap();
    assert_eq!(
        anna.len(),
        3,
        "her reminder, her tyre season, the early one: {anna:?}"
    );
}

#[tokio::test]
async fn the_funnel_follows_each_message_from_sent_to_visit_per_stage_and_rule() {
    let (shop, _) = november().await;
    record_status(
        &shop.repos,
        Messenger::WhatsApp,
        "wamid.KPI1",
        ReportedStatus::Delivered,
        at("2027-11-01T09:01:00+03:00"),
    )
    .await
    .unwrap();
    let report = compute(&shop.repos, &shop.policy, &november_query())
        .await
        .unwrap();

    let reminders = report
        .funnel
        .get(&Dimension::Stage(Stage::SoftReminder))
        .unwrap();
    assert_eq!(reminders.sent, 3, "Михаил, Иван, Анна: {reminders:?}");
    assert_eq!(
        reminders.delivered, 3,
        "two on Telegram, one reported by WhatsApp"
    );
    assert_eq!(
        reminders.read, 2,
        "Михаил booked, Иван answered; Анна's not read yet"
    );
    assert_eq!(
        (reminders.clicked, reminders.held, reminders.confirmed),
        (1, 1, 1)
    );
    assert_eq!((reminders.visited, reminders.no_show), (1, 0));
    assert_eq!((reminders.bookings_due, reminders.shown), (1, 1));
    assert_eq!(reminders.revenue, domain::Money::from_roubles(7700));
    assert_eq!(
        report.reminder_to_booking_percent(),
        Some(rust_decimal::Decimal::new(333, 1))
    );

    let critical = report
        .funnel
        .get(&Dimension::Stage(Stage::CriticalOffer))
        .unwrap();
    assert_eq!((critical.sent, critical.delivered), (1, 1));
    assert_eq!((critical.held, critical.confirmed), (1, 1));
    assert_eq!((critical.visited, critical.no_show), (0, 1));
    assert_eq!(critical.show_percent, Some(rust_decimal::Decimal::ZERO));
    assert_eq!(critical.revenue, domain::Money::ZERO);
    let rule = report
        .funnel
        .rows
        .iter()
        .find_map(|r| match &r.dimension {
            Dimension::StageRule {
                stage: Stage::CriticalOffer,
                rule: Some(rule),
            } => Some(rule.clone()),
            _ => None,
        })
        .expect("the critical offer's rule slice");
    assert_eq!(
        report.funnel.get(&Dimension::Rule(rule)).unwrap().no_show,
        1
    );
    let total = report.funnel.total();
    assert_eq!((total.bookings_due, total.shown), (2, 1));
    assert_eq!(total.show_percent, Some(rust_decimal::Decimal::new(500, 1)));
    let by_advisor = report
        .funnel
        .get(&Dimension::Advisor("adv-9".into()))
        .unwrap();
    assert!(by_advisor.sent >= 1, "Иван's reminder: {by_advisor:?}");
}

#[tokio::test]
async fn retention_reactivation_pricing_points_accuracy_and_churn_come_from_the_store() {
    let (shop, _) = november().await;
    let report = compute(&shop.repos, &shop.policy, &november_query())
        .await
        .unwrap();

    // 3+ cars seen from 1 October 2026 to 31 October 2027: Михаил's (back on 10 November),
    // Иван's and Анна's (not back). Пётр's was last seen in June 2026, Ольга's in 2024.
    let retention = report.retention.total();
    assert_eq!(
        (retention.base, retention.retained),
        (3, 1),
        "{retention:?}"
    );
    assert!(!report.retention_window.complete);
    assert_eq!(report.retention_window.returned_by, day("2027-11-30"));
    let old = report
        .retention
        .get(&Dimension::AgeBand(AgeBand::Old))
        .unwrap();
    assert_eq!((old.base, old.retained), (3, 1));

    let back = report.reactivation.total();
    assert_eq!((back.customers, back.visits), (1, 1), "Ольга");
    assert_eq!(back.revenue, Money::from_roubles(7_700));
    assert_eq!(back.margin, rust_decimal::Decimal::from(7_700 - 3_550));
    assert!(report
        .reactivation
        .get(&Dimension::Advisor("adv-9".into()))
        .is_some());

    let pricing = report.pricing.total();
    assert_eq!(
        pricing.priced_offers, 1,
        "Пётр's critical offer: {pricing:?}"
    );
    assert_eq!(
        pricing.discount_offered,
        Money::from_roubles(1_300),
        "20 % of 6 500"
    );
    assert_eq!(pricing.converted_offers, 0);
    assert!(
        pricing.points_granted > 0,
        "a Tuesday slot earns points: {pricing:?}"
    );
    assert_eq!(pricing.bookings_with_points, 1);
    let ledger = shop.repos.points.balance(&shop.petr).await.unwrap();
    assert_eq!(pricing.points_granted, ledger);

    let accuracy = report.accuracy.total();
    assert_eq!(
        accuracy.visits, 2,
        "Михаил's and Ольга's maintenance: {accuracy:?}"
    );
    let mikhail = shop
        .repos
        .visits
        .forecasts_before::<app::kpi::accuracy::ForecastBefore>("C-1001")
        .await
        .unwrap();
    assert_eq!(mikhail.len(), 1, "{mikhail:?}");
    assert_eq!(mikhail[0].0, "WO-2");
    let mikhail_error = (day("2027-11-10") - mikhail[0].1.due_date).num_days();
    let olga = shop
        .repos
        .visits
        .forecasts_before::<app::kpi::accuracy::ForecastBefore>("C-2")
        .await
        .unwrap();
    assert_eq!(olga.len(), 1, "her first visit had no forecast before it");
    let olga_error = (day("2027-11-20") - olga[0].1.due_date).num_days();
    assert!(olga_error > 500, "she was due in 2025");
    let mae = rust_decimal::Decimal::from(mikhail_error.abs() + olga_error.abs())
        / rust_decimal::Decimal::TWO;
    assert_eq!(accuracy.mae_days, Some(mae.round_dp(1)));
    assert_eq!(
        accuracy.within_14_days,
        u64::from(mikhail_error.abs() <= 14)
    );

    let churn = report.churn.total();
    assert_eq!(churn.answers, 1);
    assert_eq!(churn.count("serviced_elsewhere"), 1);
    assert_eq!(churn.lost(), 1);
    assert_eq!(
        report
            .churn
            .get(&Dimension::Stage(Stage::SoftReminder))
            .unwrap()
            .answers,
        1
    );
}

#[tokio::test]
async fn every_customer_counts_in_the_arm_assigned_whatever_was_delivered() {
    let (shop, _) = november().await;
    let report = compute(&shop.repos, &shop.policy, &november_query())
        .await
        .unwrap();
    let share = shop.policy.contact().control_group;
    // Due (as forecast on 31 October) from 1 September to 30 December: Михаил (12 November),
    // Анна (20 November), Иван (1 December), Пётр (overdue since June: out); Ольга (due in
    // 2025: out). Only Михаил came, and his visit in the window did not take him out.
    let mut expected = (
        domain::uplift::Arm::default(),
        domain::uplift::Arm::default(),
    );
    for (id, visited) in [("C-1001", true), ("C-4", false), ("C-3", false)] {
        let arm = if in_control_group(&CustomerId::parse(id).unwrap(), share) {
            &mut expected.1
        } else {
            &mut expected.0
        };
        arm.customers += 1;
        arm.visited += u64::from(visited);
    }
    let total = report.uplift.total();
    assert_eq!((total.treatment, total.control), expected);
    assert_eq!(report.campaign.due_from, day("2027-09-01"));
    assert_eq!(report.campaign.due_to, day("2027-12-30"));
    assert!(!report.campaign.complete, "visits count until 30 December");
    let warning = total.warning_ru.as_deref().unwrap();
    assert!(warning.contains("контрольной"), "{warning}");
}

#[tokio::test]
async fn the_kpi_funnel_and_uplift_reports_read_back_from_xlsx() {
    use app::reports::{build_table, export, Format, ReportName, ReportOptions, ReportRequest};
    use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};

    let (shop, _) = november().await;
    let options = ReportOptions {
        at: Some(day("2027-12-20")),
        from: Some(day("2027-11-01")),
        to: Some(day("2027-11-30")),
        grace_days: Some(30),
        ..ReportOptions::default()
    };
    let mut sheets = Vec::new();
    for name in [ReportName::Kpi, ReportName::Funnel, ReportName::Uplift] {
        let options = ReportOptions {
            grace_days: options.grace_days.filter(|_| name != ReportName::Funnel),
            ..options.clone()
        };
        let request = ReportRequest::from_options(name, &options, day("2027-12-20")).unwrap();
        let table = build_table(&shop.repos, &shop.policy, &request)
            .await
            .unwrap();
        let bytes = export(&table, Format::Xlsx).unwrap();
        let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let range = book.worksheet_range(&table.sheet).unwrap();
        let rows: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
        let cells = |row: &[Data]| -> Vec<String> { row.iter().map(|c| c.to_string()).collect() };
        let header = rows
            .iter()
            .position(|r| r.iter().any(|c| c.to_string() == table.columns[0].header))
            .unwrap();
        assert_eq!(
            cells(&rows[header]),
            table
                .columns
                .iter()
                .map(|c| c.header.clone())
                .collect::<Vec<_>>()
        );
        assert_eq!(rows.len() - header - 1, table.rows.len(), "{name}");
        sheets.push((name, rows[header + 1..].to_vec()));
        for format in [Format::Csv, Format::Table] {
            assert!(!export(&table, format).unwrap().is_empty());
        }
    }
    let text = |c: &Data| -> String { c.to_string() };
    let find = |rows: &[Vec<Data>], first: &str, second: &str| -> Vec<Data> {
        rows.iter()
            .find(|r| text(&r[0]) == first && text(&r[1]) == second)
            .cloned()
            .unwrap_or_else(|| panic!("no {first} / {second}"))
    };
    let kpi = &sheets[0].1;
    let retention = find(kpi, "Удержание автомобилей 3+ лет (13 месяцев)", "всего");
    assert_eq!(retention[3], Data::Float(1.0));
    assert_eq!(retention[4], Data::Float(3.0));
    let churn = find(
        kpi,
        "Ответ «Уже обслужился»: обслужился в другом сервисе",
        "всего",
    );
    assert_eq!(churn[3], Data::Float(1.0));
    // Per stage: the visits credited to its messages over those sent, and their revenue
    // (Михаил's visit after the reminder: the fixture's 6 500 + 1 200 ₽).
    let by_stage = kpi
        .iter()
        .find(|r| {
            text(&r[0]) == "Этап: визиты и выручка"
                && r.iter().any(|c| text(c) == "мягкое напоминание")
        })
        .expect("the reminders' visits and revenue");
    for figure in [1.0, 3.0, 7700.0] {
        assert!(
            by_stage.contains(&Data::Float(figure)),
            "{figure}: {by_stage:?}"
        );
    }
    let funnel = &sheets[1].1;
    let reminder = find(funnel, "этап", "мягкое напоминание");
    assert_eq!(reminder[2], Data::Float(3.0), "sent");
    assert_eq!(reminder[9], Data::Float(1.0), "visited");
    let uplift = &sheets[2].1;
    let total = find(uplift, "всего", "");
    let customers = |c: &Data| match c {
        Data::Float(x) => *x,
        Data::Empty => 0.0,
        other => panic!("{other:?}"),
    };
    assert_eq!(customers(&total[2]) + customers(&total[5]), 3.0);
    assert!(
        total[13].to_string().contains("Групп мало")
            || total[13].to_string().contains("Сравнивать не с чем")
    );
}

/// SplitMix64: the synthetic base's dice.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / ((1u64 << 53) as f64) < p
    }
}

#[test]
fn a_known_lift_falls_inside_the_interval_in_at_least_nine_seeds_of_ten() {
    // 6 000 customers assigned by the policy's 10 % control group; control customers visit
    // with 30 %, treated ones with 36 % (+6 points, +20 %).
    let share = Policy::default().contact().control_group;
    let (control_rate, treatment_rate) = (0.30, 0.36);
    let seeds = 200;
    let mut covered = 0;
    let mut arms = (0, 0);
    for seed in 0..seeds {
        let mut dice = Dice(seed);
        let customers: Vec<CampaignCustomer> = (0..6_000)
            .map(|i| {
                let customer_id = format!("S{seed}-{i}");
                let control = in_control_group(&CustomerId::parse(&customer_id).unwrap(), share);
                let visited = dice.chance(if control {
                    control_rate
                } else {
                    treatment_rate
                });
                CampaignCustomer {
                    customer_id,
                    control,
                    visited,
                    tags: Default::default(),
                }
            })
            .collect();
        let report = uplift_of(&customers);
        let uplift = report.total().uplift.unwrap();
        arms = (uplift.treatment.customers, uplift.control.customers);
        if uplift
            .interval
            .unwrap()
            .contains(treatment_rate - control_rate)
        {
            covered += 1;
        }
    }
    assert!(
        covered >= seeds * 9 / 10,
        "covered in {covered} of {seeds} seeds (arms {arms:?})"
    );
    assert!(
        arms.1 > 450 && arms.1 < 750,
        "about 10 % in control: {arms:?}"
    );
}

#[tokio::test]
async fn the_forecast_before_a_visit_is_kept_on_its_first_new_visit_and_not_on_an_older_one() {
    let dir = tempfile::tempdir().unwrap();
    let repos = Repos::new(RedbStore::open(dir.path().join("store.redb")).unwrap());
    let policy = Policy::default();
    let order = |id: &str, closed: &str, km: u32| {
        let body = app::fixtures::visit(id, MIKHAIL_VIN, &format!("{closed}T12:00:00+03:00"), km);
        domain::Visit::parse_json(&serde_json::to_vec(&body).unwrap()).unwrap()
    };
    let first = serde_json::to_vec(&app::fixtures::visit(
        "V-1",
        MIKHAIL_VIN,
        "2026-01-10T12:00:00+03:00",
        60_000,
    ))
    .unwrap();
    app::record_visit(&repos, &policy, &first, at("2026-01-10T12:05:00+03:00"))
        .await
        .unwrap();
    let before = repos.forecasts.get(MIKHAIL_VIN).await.unwrap().unwrap();
    // A batch (as the import stores it): the later visit first, then the earlier one.
    let (v3, v2) = (
        order("V-3", "2027-02-01", 80_000),
        order("V-2", "2026-12-01", 72_000),
    );
    let stored = app::store_visits(&repos, &policy, &[&v3, &v2])
        .await
        .unwrap();
    assert_eq!(stored, [true, true]);
    let notes = repos
        .visits
        .forecasts_before::<app::kpi::accuracy::ForecastBefore>("C-1001")
        .await
        .unwrap();
    assert_eq!(
        notes,
        [(
            "V-2".to_owned(),
            app::kpi::accuracy::ForecastBefore::from(&before)
        )],
        "the earliest visit of the batch had the stored forecast before it; the later one did not"
    );
    // The same batch again, and an older work order after the forecast moved on: nothing new.
    app::store_visits(&repos, &policy, &[&v3, &v2])
        .await
        .unwrap();
    let due = app::forecast_vehicle(&repos, &policy, v3.vehicle(), day("2027-02-02"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(due.service.date, day("2027-02-01"));
    let old = order("V-0", "2025-05-01", 45_000);
    app::store_visits(&repos, &policy, &[&old]).await.unwrap();
    let notes = repos
        .visits
        .forecasts_before::<app::kpi::accuracy::ForecastBefore>("C-1001")
        .await
        .unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
}
