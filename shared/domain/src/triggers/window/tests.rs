use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;

use super::*;
use crate::money::Money;
use crate::status::{customer_status, CustomerStatus, StatusFacts};
use crate::triggers::tests::{day, due_at, msk};
use crate::triggers::{evaluate_triggers, ContactRecord, Reaction, StageSet, TriggerInput};
use crate::values::{Recommendation, Urgency};

fn due_on(due: NaiveDate, spread_days: i64) -> ServiceDue {
    due_at(due, spread_days)
}

/// A 4-year-old car serviced on 2024-01-10 and due a year later: outside every window in
/// summer 2024 (no tyre season, no age line, no warranty end, long after the visit).
fn quiet_car(due: &ServiceDue) -> WindowInput<'_> {
    WindowInput {
        due,
        last_visit: Some(LastVisit {
            closed_at: msk("2024-01-10 15:00"),
            kind: VisitKind::Maintenance,
        }),
        first_registration: day("2020-09-01"),
        warranty_until: Some(day("2023-09-01")),
        declined_work: None,
    }
}

#[test]
fn a_car_due_in_six_months_is_not_queued_in_a_quiet_week() {
    let due = due_on(day("2025-01-10"), 10);
    let policy = Policy::default();
    let car = quiet_car(&due);
    assert!(!can_fire_on(&policy, &car, day("2024-07-01")));
    // The soft reminder's lead, 30 days before the due date, is the next day.
    assert_eq!(
        next_trigger_day(&policy, &car, day("2024-07-01")),
        Some(day("2024-10-01"))
    );
}

#[test]
fn the_warranty_end_window_opens_60_days_before_the_end() {
    let due = due_on(day("2025-01-10"), 10);
    let car = WindowInput {
        warranty_until: Some(day("2024-08-30")),
        first_registration: day("2021-08-30"),
        ..quiet_car(&due)
    };
    let policy = Policy::default();
    assert_eq!(
        stage_next_day(&policy, &car, Stage::CriticalOffer, day("2024-06-01")),
        Some(day("2024-07-01"))
    );
    assert!(can_fire_on(&policy, &car, day("2024-08-30")));
}

#[test]
fn a_tyre_visit_in_this_season_moves_the_next_tyre_day_to_the_next_season() {
    let due = due_on(day("2025-01-10"), 10);
    let car = WindowInput {
        last_visit: Some(LastVisit {
            closed_at: msk("2024-10-05 12:00"),
            kind: VisitKind::Tires,
        }),
        ..quiet_car(&due)
    };
    let policy = Policy::default();
    assert_eq!(
        stage_next_day(&policy, &car, Stage::SeasonalTires, day("2024-10-20")),
        Some(day("2025-03-20"))
    );
}

#[test]
fn a_customer_turns_lost_180_days_after_the_due_date() {
    let due = due_on(day("2023-01-10"), 10);
    let car = WindowInput {
        first_registration: day("2015-09-01"),
        warranty_until: None,
        ..quiet_car(&due)
    };
    let policy = Policy::from_toml("[thresholds]\ncritical_overdue_months = 12\n").unwrap();
    assert_eq!(
        stage_next_day(&policy, &car, Stage::CriticalOffer, day("2023-06-01")),
        Some(day("2023-07-10"))
    );
}

#[test]
fn without_a_visit_nothing_can_fire() {
    let due = due_on(day("2024-07-10"), 10);
    let car = WindowInput {
        last_visit: None,
        ..quiet_car(&due)
    };
    assert_eq!(
        next_trigger_day(&Policy::default(), &car, day("2024-07-10")),
        None
    );
}

/// A policy with random trigger timings, thresholds and tyre windows.
fn policies() -> impl Strategy<Value = Policy> {
    (
        (0u32..=20, 1u32..=40, 1u32..=40, 0u32..=90),
        (0u32..=10, 1u32..=15, 0u32..=10, 1u32..=60),
        (0u32..=6, 0u32..=120, 0u32..=60, 0u32..=10, 1u32..=60),
        (0u32..=60, 1u32..=300),
        (1u32..=12, 1u32..=28, 1u32..=12, 1u32..=28),
    )
        .prop_filter_map(
            "a valid policy",
            |(
                (personal, soft_extra, ask_extra, ask_min),
                (wait, sat_after, sat_window_minus, recovery_extra),
                (overdue_m, warranty_w, csat_max, age_w, _),
                (sleeping, lost_extra),
                (m1, d1, m2, d2),
            )| {
                let soft = personal + soft_extra;
                let text = format!(
                    "[triggers]\npersonal_offer_days_before_due = {personal}\n\
                     soft_reminder_days_before_due = {soft}\n\
                     ask_odometer_days_before_due = {}\n\
                     ask_odometer_min_interval_days = {ask_min}\n\
                     reaction_wait_days = {wait}\n\
                     satisfaction_after_days = {sat_after}\n\
                     satisfaction_window_days = {}\n\
                     [[triggers.seasonal_tires]]\nname = \"a\"\nfrom = \"{m1:02}-{d1:02}\"\nto = \"{m2:02}-{d2:02}\"\n\
                     [thresholds]\ncritical_overdue_months = {overdue_m}\n\
                     warranty_window_days = {warranty_w}\ncsat_alarm_max = {csat_max}\n\
                     age_line_window_days = {age_w}\ncsat_recovery_days = {}\n\
                     sleeping_after_overdue_days = {sleeping}\n\
                     lost_after_overdue_days = {}\n",
                    soft + ask_extra,
                    (sat_after + sat_window_minus).max(1),
                    recovery_extra,
                    sleeping + lost_extra,
                );
                Policy::from_toml(&text).ok()
            },
        )
}

const KINDS: [VisitKind; 3] = [VisitKind::Maintenance, VisitKind::Tires, VisitKind::Repair];
const REACTIONS: [Option<Reaction>; 6] = [
    None,
    Some(Reaction::Read),
    Some(Reaction::Booked),
    Some(Reaction::Rated(3)),
    Some(Reaction::Rated(9)),
    Some(Reaction::Clicked),
];

fn base() -> NaiveDate {
    day("2024-01-01")
}

fn at(day_offset: i64, minute: i64) -> DateTime<Utc> {
    let d = base() + Duration::days(day_offset);
    let local = d.and_hms_opt(0, 0, 0).unwrap() + Duration::minutes(minute);
    chrono_tz::Europe::Moscow
        .from_local_datetime(&local)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Whenever `evaluate_triggers` fires a stage on a day, the window says the stage (and so
    /// the vehicle) can fire that day: the nightly run queues every vehicle the evaluator acts on.
    #[test]
    fn every_stage_the_evaluator_fires_is_inside_the_window(
        policy in policies(),
        today in 0i64..1500,
        minute in 0i64..1440,
        due_offset in -900i64..900,
        spread in 0i64..80,
        visit_back in 0i64..800,
        visit_minute in 0i64..1440,
        kind in 0usize..3,
        registered_back in 0i64..4000,
        warranty in prop::option::of(-400i64..400),
        older_visits in prop::collection::vec(1i64..900, 0..3),
        opted_out in any::<bool>(),
        (contacts, declined_urgency) in (
            prop::collection::vec((0usize..7, 0i64..400, 0usize..6), 0..5),
            prop::option::of(0usize..3),
        ),
    ) {
        let now = at(today, minute);
        let day_now = base() + Duration::days(today);
        let visit_at = at(today - visit_back, visit_minute).min(now);
        let visit_day = visit_at.with_timezone(&policy.time_zone()).date_naive();
        let due = due_on(day_now + Duration::days(due_offset), spread);
        let registered = day_now - Duration::days(registered_back);
        let warranty_until = warranty.map(|w| registered + Duration::days(3 * 365 + w));
        let mut visit_days = vec![visit_day];
        visit_days.extend(older_visits.iter().map(|b| visit_day - Duration::days(*b)));
        let status = customer_status(
            &StatusFacts {
                visit_days: &visit_days,
                due: Some(due.due_date),
                interval_months: 12,
                opted_out,
            },
            day_now,
            policy.thresholds(),
        );
        let records: Vec<ContactRecord> = contacts
            .iter()
            .map(|&(stage, back, reaction)| ContactRecord {
                stage: Stage::ALL[stage],
                sent_at: (now - Duration::hours(back * 6)).max(visit_at),
                reaction: REACTIONS[reaction],
            })
            .collect();
        let sent: StageSet = records.iter().map(|c| c.stage).collect();
        let last_visit = LastVisit { closed_at: visit_at, kind: KINDS[kind] };
        let declined: Vec<Recommendation> = declined_urgency
            .map(|u| Recommendation {
                code: "BRK-F".into(),
                name: "Колодки".into(),
                urgency: Urgency::ALL[u],
                labor_estimate: Money::from_roubles(2400),
                parts_estimate: Money::from_roubles(5600),
            })
            .into_iter()
            .collect();
        let decisions = evaluate_triggers(&policy, &TriggerInput {
            at: now,
            due: &due,
            last_visit,
            sent,
            contacts: &records,
            status,
            first_registration: registered,
            warranty_until,
            declined: &declined,
        });
        let window = WindowInput {
            due: &due,
            last_visit: Some(last_visit),
            first_registration: registered,
            warranty_until,
            declined_work: declined.iter().map(|r| r.urgency).min(),
        };
        for d in &decisions {
            prop_assert_eq!(
                stage_next_day(&policy, &window, d.stage, day_now),
                Some(day_now),
                "{:?} fired on {} ({}) but the window says otherwise; status {}",
                d.stage, day_now, d.reason, status
            );
        }
        if !decisions.is_empty() {
            prop_assert!(can_fire_on(&policy, &window, day_now));
        }
    }

    /// The next trigger day is the first day on which the vehicle can fire: none before it.
    #[test]
    fn the_next_trigger_day_is_the_first_day_the_vehicle_can_fire(
        policy in policies(),
        from in 0i64..1500,
        due_offset in -400i64..400,
        spread in 0i64..80,
        visit_back in 0i64..400,
        kind in 0usize..3,
        registered_back in 0i64..3000,
    ) {
        let from_day = base() + Duration::days(from);
        let due = due_on(from_day + Duration::days(due_offset), spread);
        let window = WindowInput {
            due: &due,
            last_visit: Some(LastVisit {
                closed_at: at(from - visit_back, 720),
                kind: KINDS[kind],
            }),
            first_registration: from_day - Duration::days(registered_back),
            warranty_until: None,
            declined_work: None,
        };
        let next = next_trigger_day(&policy, &window, from_day);
        let limit = next.unwrap_or(from_day + Duration::days(800));
        let mut d = from_day;
        while d < limit {
            prop_assert!(!can_fire_on(&policy, &window, d), "{d} before {next:?}");
            d += Duration::days(1);
        }
        if let Some(n) = next {
            prop_assert!(can_fire_on(&policy, &window, n));
        }
    }
}

#[test]
fn the_low_score_window_is_what_the_evaluator_uses() {
    // A score of 3 rated 40 days after the visit: past the 30-day recovery window.
    let due = due_on(day("2025-01-10"), 10);
    let policy = Policy::default();
    let visit = LastVisit {
        closed_at: msk("2024-01-10 15:00"),
        kind: VisitKind::Maintenance,
    };
    let records = [ContactRecord {
        stage: Stage::SatisfactionRequest,
        sent_at: msk("2024-01-13 12:00"),
        reaction: Some(Reaction::Rated(3)),
    }];
    let fires = |at: &str| {
        !evaluate_triggers(
            &policy,
            &TriggerInput {
                at: msk(at),
                due: &due,
                last_visit: visit,
                sent: records.iter().map(|c| c.stage).collect(),
                contacts: &records,
                status: CustomerStatus::Loyal,
                first_registration: day("2020-09-01"),
                warranty_until: Some(day("2023-09-01")),
                declined: &[],
            },
        )
        .is_empty()
    };
    assert!(fires("2024-02-09 12:00"));
    assert!(!fires("2024-02-10 12:00"));
    let car = quiet_car(&due);
    assert!(can_fire_on(&policy, &car, day("2024-02-09")));
    assert!(!can_fire_on(&policy, &car, day("2024-02-10")));
}
