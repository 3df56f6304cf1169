use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::*;
use crate::forecast::{DueLimit, ForecastInput, Forecaster, RateBasis, Reading, ReadingSource};
use crate::forecast::{Schedule, ServicePoint};

pub(super) fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// An instant given in Moscow time, `YYYY-MM-DD HH:MM`.
pub(super) fn msk(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_str(&format!("{text} +03:00"), "%Y-%m-%d %H:%M %z")
        .unwrap()
        .with_timezone(&Utc)
}

fn due_on(date: &str, spread_days: i64) -> ServiceDue {
    due_at(day(date), spread_days)
}

/// A car due on `due` by time, its 80 % interval `spread_days` wide, serviced a year before.
pub(super) fn due_at(due: NaiveDate, spread_days: i64) -> ServiceDue {
    ServiceDue {
        km_per_day: 41.0,
        due_date: due,
        due_km: 45_000,
        p10: due - Duration::days(spread_days / 2),
        p90: due + Duration::days(spread_days - spread_days / 2),
        limit: DueLimit::Time,
        basis: RateBasis::History,
        service: ServicePoint {
            date: due - Duration::days(365),
            km: 30_000,
        },
        time_due: due,
        flags: Vec::new(),
        reason: String::new(),
    }
}

struct Case {
    due: ServiceDue,
    visit: LastVisit,
    sent: StageSet,
    contacts: Vec<ContactRecord>,
    status: CustomerStatus,
    registered: NaiveDate,
    warranty_until: Option<NaiveDate>,
    declined: Vec<Recommendation>,
}

impl Case {
    /// A 4-year-old car, serviced on 2024-01-10, due on 2025-01-10 with a narrow forecast.
    fn new() -> Self {
        Case {
            due: due_on("2025-01-10", 10),
            visit: LastVisit {
                closed_at: msk("2024-01-10 15:00"),
                kind: VisitKind::Maintenance,
            },
            sent: StageSet::EMPTY,
            contacts: Vec::new(),
            status: CustomerStatus::Sleeping,
            registered: day("2020-06-01"),
            warranty_until: Some(day("2023-06-01")),
            declined: Vec::new(),
        }
    }

    fn declined(mut self, code: &str, urgency: Urgency) -> Self {
        self.declined.push(Recommendation {
            code: code.into(),
            name: format!("Работа {code}"),
            urgency,
            labor_estimate: crate::money::Money::from_roubles(3000),
            parts_estimate: crate::money::Money::from_roubles(5000),
        });
        self
    }

    fn sent(mut self, stage: Stage, at: &str, reaction: Option<Reaction>) -> Self {
        self.sent.insert(stage);
        self.contacts.push(ContactRecord {
            stage,
            sent_at: msk(at),
            reaction,
        });
        self
    }

    fn eval(&self, at: &str) -> Vec<Decision> {
        let input = TriggerInput {
            at: msk(at),
            due: &self.due,
            last_visit: self.visit,
            sent: self.sent,
            contacts: &self.contacts,
            status: self.status,
            first_registration: self.registered,
            warranty_until: self.warranty_until,
            declined: &self.declined,
        };
        evaluate_triggers(&Policy::default(), &input)
    }

    fn stages(&self, at: &str) -> Vec<Stage> {
        self.eval(at).iter().map(|d| d.stage).collect()
    }
}

#[test]
fn fifteen_thousand_km_a_year_and_the_last_visit_at_30000_km_is_due_a_year_later_with_a_reminder_30_days_before(
) {
    let readings: Vec<Reading> = [("2023-01-10", 15_000), ("2024-01-10", 30_000)]
        .iter()
        .map(|&(d, km)| Reading {
            date: day(d),
            km,
            source: ReadingSource::Visit,
        })
        .collect();
    let readings = [
        readings,
        vec![Reading {
            date: day("2024-07-10"),
            km: 37_500,
            source: ReadingSource::CustomerReported,
        }],
    ]
    .concat();
    let due = Forecaster::new(Schedule {
        km: 15_000,
        months: 12,
    })
    .forecast(&ForecastInput {
        readings: &readings,
        first_registration: Some(day("2022-01-10")),
        last_service: Some(ServicePoint {
            date: day("2024-01-10"),
            km: 30_000,
        }),
        as_of: Some(day("2024-07-10")),
    })
    .unwrap();
    let days_after_visit = (due.due_date - day("2024-01-10")).num_days();
    assert!(
        (350..=366).contains(&days_after_visit),
        "due {} ({days_after_visit} days)",
        due.due_date
    );

    let case = Case {
        due: due.clone(),
        ..Case::new()
    };
    let eve = due.due_date - Duration::days(31);
    let reminder_day = due.due_date - Duration::days(30);
    assert!(!case
        .stages(&format!("{eve} 12:00"))
        .contains(&Stage::SoftReminder));
    let decisions = case.eval(&format!("{reminder_day} 12:00"));
    let reminder = decisions
        .iter()
        .find(|d| d.stage == Stage::SoftReminder)
        .unwrap();
    assert_eq!(reminder.class, ContactClass::Service);
    assert_eq!(
        reminder.reason,
        Reason::DueSoon {
            due: due.due_date,
            days_left: 30
        }
    );
}

#[test]
fn nothing_fires_in_the_middle_of_a_cycle() {
    assert_eq!(Case::new().stages("2024-07-01 12:00"), []);
}

#[test]
fn a_wide_forecast_asks_for_the_odometer_about_45_days_before_the_due_date() {
    let wide = Case {
        due: due_on("2025-01-10", 60),
        ..Case::new()
    };
    assert_eq!(wide.stages("2024-11-26 12:00"), [Stage::AskOdometer]);
    assert_eq!(wide.stages("2024-11-25 12:00"), []);
    assert_eq!(wide.stages("2024-12-10 12:00"), [Stage::AskOdometer]);
    assert_eq!(wide.stages("2024-12-11 12:00"), [Stage::SoftReminder]);
    let narrow = Case::new();
    assert_eq!(narrow.stages("2024-11-26 12:00"), []);
}

#[test]
fn the_odometer_request_is_a_service_message_with_the_interval_as_its_reason() {
    let wide = Case {
        due: due_on("2025-01-10", 60),
        ..Case::new()
    };
    let d = &wide.eval("2024-11-30 12:00")[0];
    assert_eq!(
        (d.stage, d.class),
        (Stage::AskOdometer, ContactClass::Service)
    );
    assert_eq!(
        d.reason,
        Reason::UncertainDue {
            due: day("2025-01-10"),
            interval_days: 60
        }
    );
}

#[test]
fn the_personal_offer_fires_a_week_before_the_due_date_when_the_reminder_got_no_reaction() {
    let case = Case::new().sent(Stage::SoftReminder, "2024-12-11 12:00", None);
    assert_eq!(case.stages("2025-01-02 12:00"), []);
    let decisions = case.eval("2025-01-03 12:00");
    assert_eq!(decisions.len(), 1);
    assert_eq!(
        (decisions[0].stage, decisions[0].class),
        (Stage::PersonalOffer, ContactClass::Marketing)
    );
    let read_only = Case::new().sent(
        Stage::SoftReminder,
        "2024-12-11 12:00",
        Some(Reaction::Read),
    );
    assert_eq!(read_only.stages("2025-01-03 12:00"), [Stage::PersonalOffer]);
}

#[test]
fn no_personal_offer_when_the_customer_reacted_to_the_reminder() {
    for reaction in [Reaction::Clicked, Reaction::Replied, Reaction::Declined] {
        let case = Case::new().sent(Stage::SoftReminder, "2024-12-11 12:00", Some(reaction));
        assert_eq!(case.stages("2025-01-05 12:00"), [], "{reaction:?}");
    }
}

#[test]
fn no_personal_offer_without_a_reminder_in_this_cycle() {
    let case = Case {
        sent: [Stage::SoftReminder].into_iter().collect(),
        ..Case::new()
    };
    assert_eq!(case.stages("2025-01-05 12:00"), []);
}

#[test]
fn the_personal_offer_waits_a_few_days_after_a_late_reminder() {
    let case = Case::new().sent(Stage::SoftReminder, "2025-01-04 12:00", None);
    assert_eq!(case.stages("2025-01-06 12:00"), []);
    assert_eq!(case.stages("2025-01-07 12:00"), [Stage::PersonalOffer]);
}

#[test]
fn overdue_by_more_than_two_months_fires_a_critical_offer() {
    let case = Case {
        status: CustomerStatus::Sleeping,
        ..Case::new()
    }
    .sent(Stage::SoftReminder, "2024-12-11 12:00", None)
    .sent(Stage::PersonalOffer, "2025-01-03 12:00", None);
    assert_eq!(case.stages("2025-03-10 12:00"), []);
    let decisions = case.eval("2025-03-11 12:00");
    assert_eq!(decisions.len(), 1);
    assert_eq!(
        (decisions[0].stage, decisions[0].class),
        (Stage::CriticalOffer, ContactClass::Marketing)
    );
    assert_eq!(
        decisions[0].reason,
        Reason::Critical(CriticalReason::Overdue {
            due: day("2025-01-10"),
            days_overdue: 60
        })
    );
}

#[test]
fn a_warranty_ending_within_60_days_fires_a_critical_offer() {
    let case = Case {
        due: due_on("2025-06-10", 10),
        registered: day("2022-03-01"),
        warranty_until: Some(day("2025-03-01")),
        status: CustomerStatus::New,
        ..Case::new()
    };
    assert_eq!(case.stages("2024-12-30 12:00"), []);
    let d = &case.eval("2024-12-31 12:00")[0];
    assert_eq!(
        d.reason,
        Reason::Critical(CriticalReason::WarrantyEnds {
            on: day("2025-03-01")
        })
    );
}

#[test]
fn without_a_warranty_date_the_warranty_ends_at_three_years() {
    let case = Case {
        due: due_on("2025-06-10", 10),
        registered: day("2022-03-01"),
        warranty_until: None,
        status: CustomerStatus::New,
        ..Case::new()
    };
    let d = &case.eval("2025-02-01 12:00")[0];
    assert_eq!(
        d.reason,
        Reason::Critical(CriticalReason::WarrantyEnds {
            on: day("2025-03-01")
        })
    );
}

#[test]
fn a_customer_whose_status_turned_lost_gets_a_critical_offer() {
    let case = Case {
        status: CustomerStatus::Lost,
        ..Case::new()
    };
    let d = &case.eval("2024-06-01 12:00")[0];
    assert_eq!(d.stage, Stage::CriticalOffer);
    assert_eq!(
        d.reason,
        Reason::Critical(CriticalReason::TurnedLost {
            last_visit: day("2024-01-10")
        })
    );
}

#[test]
fn a_satisfaction_score_of_six_or_below_fires_a_critical_offer() {
    let low = Case {
        status: CustomerStatus::Loyal,
        ..Case::new()
    }
    .sent(
        Stage::SatisfactionRequest,
        "2024-01-13 12:00",
        Some(Reaction::Rated(6)),
    );
    let d = &low.eval("2024-01-14 12:00")[0];
    assert_eq!(
        d.reason,
        Reason::Critical(CriticalReason::LowSatisfaction { score: 6 })
    );
    let fine = Case {
        status: CustomerStatus::Loyal,
        ..Case::new()
    }
    .sent(
        Stage::SatisfactionRequest,
        "2024-01-13 12:00",
        Some(Reaction::Rated(7)),
    );
    assert_eq!(fine.stages("2024-01-14 12:00"), []);
}

#[test]
fn a_car_crossing_the_five_year_line_gets_a_critical_offer() {
    let case = Case {
        registered: day("2019-05-20"),
        status: CustomerStatus::Loyal,
        ..Case::new()
    };
    assert_eq!(case.stages("2024-05-19 12:00"), []);
    let d = &case.eval("2024-05-20 12:00")[0];
    assert_eq!(
        d.reason,
        Reason::Critical(CriticalReason::CrossedAgeLine {
            years: 5,
            on: day("2024-05-20")
        })
    );
    assert_eq!(case.stages("2024-06-19 12:00"), []);
}

#[test]
fn each_stage_fires_at_most_once_per_cycle() {
    let case = Case::new().sent(
        Stage::SoftReminder,
        "2024-12-11 12:00",
        Some(Reaction::Clicked),
    );
    assert_eq!(case.stages("2024-12-20 12:00"), []);
    let lost = Case {
        status: CustomerStatus::Lost,
        ..Case::new()
    }
    .sent(Stage::CriticalOffer, "2024-06-01 12:00", None);
    assert_eq!(lost.stages("2024-06-20 12:00"), []);
}

#[test]
fn an_earlier_stage_does_not_fire_after_a_later_one() {
    let case = Case::new().sent(Stage::CriticalOffer, "2024-11-01 12:00", None);
    assert_eq!(case.stages("2024-12-20 12:00"), []);
}

#[test]
fn a_visit_opens_a_new_cycle_in_which_the_stages_fire_again() {
    let old_cycle = ContactRecord {
        stage: Stage::SoftReminder,
        sent_at: msk("2023-12-11 12:00"),
        reaction: Some(Reaction::Booked),
    };
    let case = Case {
        contacts: vec![old_cycle],
        ..Case::new()
    };
    assert_eq!(case.stages("2024-12-11 12:00"), [Stage::SoftReminder]);
}

#[test]
fn a_booking_in_this_cycle_stops_reminders_and_offers() {
    let case = Case {
        status: CustomerStatus::Lost,
        ..Case::new()
    }
    .sent(
        Stage::SoftReminder,
        "2024-12-11 12:00",
        Some(Reaction::Booked),
    );
    assert_eq!(case.stages("2025-05-15 12:00"), []);
}

#[test]
fn the_satisfaction_request_goes_three_days_after_a_visit_and_not_weeks_later() {
    let case = Case {
        status: CustomerStatus::Loyal,
        ..Case::new()
    };
    assert_eq!(case.stages("2024-01-12 12:00"), []);
    let d = &case.eval("2024-01-13 12:00")[0];
    assert_eq!(
        (d.stage, d.class),
        (Stage::SatisfactionRequest, ContactClass::Service)
    );
    assert_eq!(
        d.reason,
        Reason::AfterVisit {
            visit: day("2024-01-10")
        }
    );
    assert_eq!(
        case.stages("2024-01-20 12:00"),
        [Stage::SatisfactionRequest]
    );
    assert_eq!(case.stages("2024-01-21 12:00"), []);
}

#[test]
fn the_tyre_season_fires_in_its_window_unless_the_tyres_were_just_changed() {
    let case = Case {
        status: CustomerStatus::Loyal,
        ..Case::new()
    };
    let d = &case.eval("2024-10-05 12:00")[0];
    assert_eq!(
        (d.stage, d.class),
        (Stage::SeasonalTires, ContactClass::Marketing)
    );
    assert_eq!(
        d.reason,
        Reason::TireSeason {
            window: "autumn".into()
        }
    );
    assert_eq!(case.stages("2024-09-30 12:00"), []);
    let changed = Case {
        visit: LastVisit {
            closed_at: msk("2024-10-02 10:00"),
            kind: VisitKind::Tires,
        },
        status: CustomerStatus::Loyal,
        ..Case::new()
    };
    assert_eq!(changed.stages("2024-10-20 12:00"), []);
}

#[test]
fn the_dealer_calendar_day_counts_not_the_utc_one() {
    let case = Case::new();
    assert_eq!(case.stages("2024-12-11 02:00"), [Stage::SoftReminder]);
    assert_eq!(case.stages("2024-12-10 23:30"), []);
}

#[test]
fn decisions_come_most_important_first() {
    let case = Case {
        status: CustomerStatus::Lost,
        ..Case::new()
    };
    assert_eq!(
        case.stages("2024-12-11 12:00"),
        [Stage::CriticalOffer, Stage::SoftReminder]
    );
}

#[test]
fn stages_and_reactions_have_stable_wire_names() {
    assert_eq!(
        serde_json::to_string(&Stage::CriticalOffer).unwrap(),
        "\"critical_offer\""
    );
    assert_eq!(Stage::parse("seasonal_tires"), Some(Stage::SeasonalTires));
    assert_eq!(
        serde_json::to_string(&Reaction::Rated(5)).unwrap(),
        "{\"rated\":5}"
    );
    assert_eq!(
        serde_json::from_str::<Reaction>("\"booked\"").unwrap(),
        Reaction::Booked
    );
}

#[test]
fn a_critical_reason_round_trips_through_json_with_its_kind() {
    let reason = Reason::Critical(CriticalReason::Overdue {
        due: day("2025-01-10"),
        days_overdue: 61,
    });
    let json = serde_json::to_value(&reason).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"kind": "critical", "critical": "overdue", "due": "2025-01-10", "days_overdue": 61})
    );
    assert_eq!(serde_json::from_value::<Reason>(json).unwrap(), reason);
}

/// The declined-work decision at `at`, if one fires.
fn declined_work(case: &Case, at: &str) -> Option<Decision> {
    case.eval(at)
        .into_iter()
        .find(|d| d.stage == Stage::DeclinedWork)
}

#[test]
fn declined_work_is_followed_up_on_days_3_10_and_30_soonest_for_safety() {
    // Visit on 2024-01-10: brake pads (safety), shock absorbers (soon), a wash (later).
    let case = Case::new()
        .declined("BRK-F", Urgency::Safety)
        .declined("SUS-010", Urgency::Soon)
        .declined("WSH", Urgency::Later);
    assert_eq!(declined_work(&case, "2024-01-12 12:00"), None);
    let first = declined_work(&case, "2024-01-13 12:00").unwrap();
    assert_eq!(
        first.reason,
        Reason::DeclinedWork {
            visit: day("2024-01-10"),
            step: 1,
            codes: vec!["BRK-F".into()],
            safety: true
        }
    );
    // Safety work is a service message, named under the stage's own key per step.
    assert_eq!(first.class, ContactClass::Service);
    assert_eq!(
        Stage::DeclinedWork.mark_key(&first.reason),
        "declined_work#1"
    );
    assert_eq!(
        Stage::from_mark_key("declined_work#1"),
        Some(Stage::DeclinedWork)
    );
    assert_eq!(
        Stage::parse("declined_work#1"),
        None,
        "a switch names a whole stage"
    );
    assert_eq!(Stage::from_mark_key("soft_reminder#1"), None);
    assert_eq!(Stage::from_mark_key("declined_work#4"), None);
    assert_eq!(Stage::DeclinedWork.mark_keys().len(), 3);
    assert!(Stage::DeclinedWork
        .mark_keys()
        .iter()
        .all(|k| Stage::from_mark_key(k) == Some(Stage::DeclinedWork)));
    // Once sent, nothing until the second step's day.
    let case = case.sent(Stage::DeclinedWork, "2024-01-13 12:00", None);
    assert_eq!(declined_work(&case, "2024-01-19 12:00"), None);
    let second = declined_work(&case, "2024-01-20 12:00").unwrap();
    assert!(matches!(&second.reason,
        Reason::DeclinedWork { step: 2, codes, safety: true, .. } if codes == &["BRK-F", "SUS-010"]));
    let case = case.sent(Stage::DeclinedWork, "2024-01-20 12:00", None);
    assert_eq!(declined_work(&case, "2024-02-08 12:00"), None);
    let last = declined_work(&case, "2024-02-09 12:00").unwrap();
    assert!(
        matches!(&last.reason, Reason::DeclinedWork { step: 3, codes, .. } if codes.len() == 3)
    );
    let case = case.sent(Stage::DeclinedWork, "2024-02-09 12:00", None);
    assert_eq!(declined_work(&case, "2024-02-12 12:00"), None);
}

#[test]
fn work_for_later_waits_for_the_last_follow_up_which_is_marketing() {
    let case = Case::new().declined("WSH", Urgency::Later);
    for at in ["2024-01-13 12:00", "2024-01-20 12:00", "2024-02-08 12:00"] {
        assert_eq!(declined_work(&case, at), None, "{at}");
    }
    let last = declined_work(&case, "2024-02-09 12:00").unwrap();
    assert_eq!(last.class, ContactClass::Marketing);
    // Not later than the window after its day.
    assert!(declined_work(&case, "2024-02-16 12:00").is_some());
    assert_eq!(declined_work(&case, "2024-02-17 12:00"), None);
}

#[test]
fn a_missed_follow_up_is_not_sent_late_and_a_no_or_a_booking_ends_them() {
    let case = Case::new().declined("BRK-F", Urgency::Safety);
    // The night of day 3 was missed: day 11 sends the second step's follow-up, once.
    let second = declined_work(&case, "2024-01-21 12:00").unwrap();
    assert!(matches!(
        second.reason,
        Reason::DeclinedWork { step: 2, .. }
    ));
    let declined = Case::new().declined("BRK-F", Urgency::Safety).sent(
        Stage::DeclinedWork,
        "2024-01-13 12:00",
        Some(Reaction::Declined),
    );
    assert_eq!(declined_work(&declined, "2024-01-20 12:00"), None);
    let booked = Case::new().declined("BRK-F", Urgency::Safety).sent(
        Stage::DeclinedWork,
        "2024-01-13 12:00",
        Some(Reaction::Booked),
    );
    assert_eq!(declined_work(&booked, "2024-01-20 12:00"), None);
    assert_eq!(declined_work(&Case::new(), "2024-01-13 12:00"), None);
}
