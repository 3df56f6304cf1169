use chrono::{DateTime, Duration, NaiveDate, Utc};
use proptest::prelude::*;

use super::*;
use crate::triggers::{CriticalReason, Reaction, Reason};

fn msk(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_str(&format!("{text} +03:00"), "%Y-%m-%d %H:%M %z")
        .unwrap()
        .with_timezone(&Utc)
}

fn cycle() -> DateTime<Utc> {
    msk("2024-01-10 15:00")
}

fn decision(stage: Stage, at: DateTime<Utc>) -> Decision {
    let reason = match stage {
        Stage::CriticalOffer => Reason::Critical(CriticalReason::WarrantyEnds {
            on: NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(),
        }),
        _ => Reason::AfterVisit {
            visit: NaiveDate::from_ymd_opt(2024, 1, 10).unwrap(),
        },
    };
    Decision {
        stage,
        class: stage.class(),
        at,
        cycle: cycle(),
        reason,
    }
}

/// A customer id outside the default 10 % control group.
fn treated_id() -> CustomerId {
    let policy = Policy::default();
    (0..)
        .map(|i| CustomerId::parse(&format!("C-{i}")).unwrap())
        .find(|id| !in_control_group(id, policy.contact().control_group))
        .unwrap()
}

fn control_id() -> CustomerId {
    let policy = Policy::default();
    (0..)
        .map(|i| CustomerId::parse(&format!("C-{i}")).unwrap())
        .find(|id| in_control_group(id, policy.contact().control_group))
        .unwrap()
}

const BOTH: Consents = Consents {
    service_messages: true,
    marketing: true,
};

fn check(
    id: &CustomerId,
    consents: Consents,
    history: &[ContactRecord],
    decisions: Vec<Decision>,
) -> Vec<Verdict> {
    let recipient = Recipient {
        customer_id: id,
        consents,
        opted_out: false,
        last_marketing_at: None,
    };
    apply_contact_policy(&Policy::default(), &recipient, history, cycle(), decisions)
        .into_iter()
        .map(|c| c.verdict)
        .collect()
}

#[test]
fn a_message_decided_at_23_00_is_deferred_to_09_00_not_dropped() {
    let id = treated_id();
    let verdicts = check(
        &id,
        BOTH,
        &[],
        vec![decision(Stage::SoftReminder, msk("2024-12-11 23:00"))],
    );
    assert_eq!(
        verdicts,
        [Verdict::Defer {
            at: msk("2024-12-12 09:00"),
            because: Deferral::QuietHours {
                from: msk("2024-12-11 23:00")
            }
        }]
    );
}

#[test]
fn a_message_decided_after_midnight_waits_until_09_00_the_same_day() {
    let id = treated_id();
    let verdicts = check(
        &id,
        BOTH,
        &[],
        vec![decision(Stage::SoftReminder, msk("2024-12-12 01:30"))],
    );
    assert_eq!(verdicts[0].send_at(), Some(msk("2024-12-12 09:00")));
}

#[test]
fn a_message_in_the_day_goes_out_at_once() {
    let id = treated_id();
    let at = msk("2024-12-11 09:00");
    assert_eq!(
        check(&id, BOTH, &[], vec![decision(Stage::SoftReminder, at)]),
        [Verdict::Send { at }]
    );
    let at = msk("2024-12-11 20:59");
    assert_eq!(
        check(&id, BOTH, &[], vec![decision(Stage::SoftReminder, at)]),
        [Verdict::Send { at }]
    );
}

#[test]
fn an_opted_out_customer_gets_nothing_at_all() {
    let id = treated_id();
    let recipient = Recipient {
        customer_id: &id,
        consents: BOTH,
        opted_out: true,
        last_marketing_at: None,
    };
    let decisions = vec![
        decision(Stage::SoftReminder, msk("2024-12-11 12:00")),
        decision(Stage::SatisfactionRequest, msk("2024-12-11 12:00")),
    ];
    let checked = apply_contact_policy(&Policy::default(), &recipient, &[], cycle(), decisions);
    assert!(checked
        .iter()
        .all(|c| c.verdict.veto() == Some(Veto::OptedOut)));
}

#[test]
fn a_stop_reply_in_the_history_works_at_once() {
    let id = treated_id();
    let stop = ContactRecord {
        stage: Stage::SoftReminder,
        sent_at: msk("2024-12-11 12:00"),
        reaction: Some(Reaction::OptedOut),
    };
    let verdicts = check(
        &id,
        BOTH,
        &[stop],
        vec![decision(
            Stage::SatisfactionRequest,
            msk("2024-12-12 12:00"),
        )],
    );
    assert_eq!(verdicts[0].veto(), Some(Veto::OptedOut));
}

#[test]
fn each_class_needs_its_own_consent() {
    let id = treated_id();
    let at = msk("2024-12-11 12:00");
    let service_only = Consents {
        service_messages: true,
        marketing: false,
    };
    let verdicts = check(
        &id,
        service_only,
        &[],
        vec![
            decision(Stage::SeasonalTires, at),
            decision(Stage::SatisfactionRequest, at),
        ],
    );
    assert_eq!(
        verdicts[0].veto(),
        Some(Veto::NoConsent {
            class: ContactClass::Marketing
        })
    );
    assert_eq!(verdicts[1], Verdict::Send { at });
    let marketing_only = Consents {
        service_messages: false,
        marketing: true,
    };
    let verdicts = check(
        &id,
        marketing_only,
        &[],
        vec![decision(Stage::SoftReminder, at)],
    );
    assert_eq!(
        verdicts[0].veto(),
        Some(Veto::NoConsent {
            class: ContactClass::Service
        })
    );
}

#[test]
fn at_most_one_marketing_message_per_seven_days() {
    let id = treated_id();
    let last = ContactRecord {
        stage: Stage::SeasonalTires,
        sent_at: msk("2024-12-05 12:00"),
        reaction: None,
    };
    let early = check(
        &id,
        BOTH,
        &[last],
        vec![decision(Stage::PersonalOffer, msk("2024-12-12 11:59"))],
    );
    assert_eq!(
        early[0].veto(),
        Some(Veto::MarketingCap {
            last_sent_at: last.sent_at,
            next_allowed_at: msk("2024-12-12 12:00")
        })
    );
    let on_time = check(
        &id,
        BOTH,
        &[last],
        vec![decision(Stage::PersonalOffer, msk("2024-12-12 12:00"))],
    );
    assert_eq!(
        on_time[0],
        Verdict::Send {
            at: msk("2024-12-12 12:00")
        }
    );
}

#[test]
fn a_marketing_message_about_another_car_of_the_customer_counts_for_the_cap() {
    let id = treated_id();
    let recipient = Recipient {
        customer_id: &id,
        consents: BOTH,
        opted_out: false,
        last_marketing_at: Some(msk("2024-12-09 12:00")),
    };
    let decisions = vec![decision(Stage::SeasonalTires, msk("2024-12-11 12:00"))];
    let checked = apply_contact_policy(&Policy::default(), &recipient, &[], cycle(), decisions);
    assert_eq!(
        checked[0].verdict.veto(),
        Some(Veto::MarketingCap {
            last_sent_at: msk("2024-12-09 12:00"),
            next_allowed_at: msk("2024-12-16 12:00")
        })
    );
}

#[test]
fn service_messages_are_not_capped() {
    let id = treated_id();
    let last = ContactRecord {
        stage: Stage::SeasonalTires,
        sent_at: msk("2024-12-10 12:00"),
        reaction: None,
    };
    let at = msk("2024-12-11 12:00");
    assert_eq!(
        check(&id, BOTH, &[last], vec![decision(Stage::SoftReminder, at)]),
        [Verdict::Send { at }]
    );
}

#[test]
fn two_marketing_decisions_at_once_send_only_the_first() {
    let id = treated_id();
    let at = msk("2024-10-05 12:00");
    let verdicts = check(
        &id,
        BOTH,
        &[],
        vec![
            decision(Stage::CriticalOffer, at),
            decision(Stage::SeasonalTires, at),
        ],
    );
    assert_eq!(verdicts[0], Verdict::Send { at });
    assert!(matches!(
        verdicts[1].veto(),
        Some(Veto::MarketingCap { .. })
    ));
}

#[test]
fn only_the_most_important_due_stage_goes_out() {
    let id = treated_id();
    let at = msk("2024-12-11 12:00");
    let both = vec![
        decision(Stage::CriticalOffer, at),
        decision(Stage::SoftReminder, at),
    ];
    let verdicts = check(&id, BOTH, &[], both.clone());
    assert_eq!(verdicts[0], Verdict::Send { at });
    assert_eq!(
        verdicts[1].veto(),
        Some(Veto::Superseded {
            by: Stage::CriticalOffer
        })
    );
    let service_only = Consents {
        service_messages: true,
        marketing: false,
    };
    let verdicts = check(&id, service_only, &[], both);
    assert_eq!(verdicts[1], Verdict::Send { at });
}

#[test]
fn a_service_request_never_stacks_on_another_message_the_same_day() {
    // Day 3 after a visit with declined brake work: the follow-up and the satisfaction
    // request are both due and neither is a due stage.
    let id = treated_id();
    let at = msk("2024-12-11 12:00");
    let verdicts = check(
        &id,
        BOTH,
        &[],
        vec![
            decision(Stage::DeclinedWork, at),
            decision(Stage::SatisfactionRequest, at),
        ],
    );
    assert_eq!(verdicts[0], Verdict::Send { at });
    assert_eq!(
        verdicts[1].veto(),
        Some(Veto::Superseded {
            by: Stage::DeclinedWork
        })
    );
    // A message sent earlier the same day counts; the next day the request goes.
    let sent = ContactRecord {
        stage: Stage::DeclinedWork,
        sent_at: msk("2024-12-11 10:00"),
        reaction: None,
    };
    let request = |at| vec![decision(Stage::SatisfactionRequest, at)];
    assert_eq!(
        check(&id, BOTH, &[sent], request(at))[0].veto(),
        Some(Veto::Superseded {
            by: Stage::DeclinedWork
        })
    );
    let next_day = msk("2024-12-12 12:00");
    assert_eq!(
        check(&id, BOTH, &[sent], request(next_day)),
        [Verdict::Send { at: next_day }]
    );
}

#[test]
fn the_control_group_gets_no_marketing_but_does_get_service_messages() {
    let id = control_id();
    let at = msk("2024-12-11 12:00");
    let verdicts = check(
        &id,
        BOTH,
        &[],
        vec![
            decision(Stage::PersonalOffer, at),
            decision(Stage::SatisfactionRequest, at),
        ],
    );
    assert_eq!(verdicts[0].veto(), Some(Veto::ControlGroup));
    assert_eq!(verdicts[1], Verdict::Send { at });
}

#[test]
fn a_decision_of_a_cycle_closed_by_a_later_visit_is_vetoed() {
    let id = treated_id();
    let recipient = Recipient {
        customer_id: &id,
        consents: BOTH,
        opted_out: false,
        last_marketing_at: None,
    };
    let stale = decision(Stage::SoftReminder, msk("2024-12-11 12:00"));
    let checked = apply_contact_policy(
        &Policy::default(),
        &recipient,
        &[],
        msk("2024-12-11 10:00"),
        vec![stale],
    );
    assert_eq!(checked[0].verdict.veto(), Some(Veto::CycleClosed));
}

#[test]
fn the_control_group_hash_is_the_standard_fnv1a() {
    assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
}

#[test]
fn the_control_group_holds_about_ten_percent_of_customers() {
    let share = Policy::default().contact().control_group;
    let n = 20_000;
    let held = (0..n)
        .filter(|i| in_control_group(&CustomerId::parse(&format!("C-{i}")).unwrap(), share))
        .count();
    assert!((1_800..=2_200).contains(&held), "{held} of {n}");
    let none = (0..1000).any(|i| {
        in_control_group(
            &CustomerId::parse(&format!("C-{i}")).unwrap(),
            Percent::ZERO,
        )
    });
    assert!(!none);
}

#[test]
fn quiet_hours_follow_the_policy_time_zone() {
    let policy = Policy::from_toml("[dealer]\ntime_zone = \"Asia/Vladivostok\"\n").unwrap();
    let vladivostok_22 = msk("2024-12-11 15:00");
    assert!(in_quiet_hours(&policy, vladivostok_22));
    assert!(!in_quiet_hours(&Policy::default(), vladivostok_22));
    assert_eq!(
        next_allowed_instant(&policy, vladivostok_22),
        msk("2024-12-12 02:00")
    );
}

fn any_stage() -> impl Strategy<Value = Stage> {
    proptest::sample::select(Stage::ALL.to_vec())
}

prop_compose! {
    fn any_instant()(minutes in 0i64..(2 * 366 * 24 * 60)) -> DateTime<Utc> {
        msk("2024-01-11 00:00") + Duration::minutes(minutes)
    }
}

prop_compose! {
    fn any_history()(items in proptest::collection::vec((any_stage(), any_instant()), 0..4)) -> Vec<ContactRecord> {
        items.into_iter().map(|(stage, sent_at)| ContactRecord { stage, sent_at, reaction: None }).collect()
    }
}

prop_compose! {
    fn any_decisions()(items in proptest::collection::vec((any_stage(), any_instant()), 1..6)) -> Vec<Decision> {
        items.into_iter().map(|(stage, at)| decision(stage, at)).collect()
    }
}

proptest! {
    #[test]
    fn an_opted_out_customer_never_gets_a_marketing_message(
        decisions in any_decisions(), history in any_history(), n in 0u32..10_000,
    ) {
        let id = CustomerId::parse(&format!("C-{n}")).unwrap();
        let recipient = Recipient { customer_id: &id, consents: BOTH, opted_out: true, last_marketing_at: None };
        for c in apply_contact_policy(&Policy::default(), &recipient, &history, cycle(), decisions) {
            prop_assert_eq!(c.verdict.send_at(), None);
        }
    }

    #[test]
    fn a_customer_without_marketing_consent_never_gets_a_marketing_message(
        decisions in any_decisions(), history in any_history(), n in 0u32..10_000, service in any::<bool>(),
    ) {
        let id = CustomerId::parse(&format!("C-{n}")).unwrap();
        let consents = Consents { service_messages: service, marketing: false };
        let recipient = Recipient { customer_id: &id, consents, opted_out: false, last_marketing_at: None };
        for c in apply_contact_policy(&Policy::default(), &recipient, &history, cycle(), decisions) {
            if c.decision.class == ContactClass::Marketing {
                prop_assert_eq!(c.verdict.send_at(), None);
            }
        }
    }

    #[test]
    fn a_customer_in_the_control_group_never_gets_a_marketing_message(
        decisions in any_decisions(), history in any_history(), n in 0u32..100_000,
    ) {
        let policy = Policy::default();
        let id = (n..)
            .map(|i| CustomerId::parse(&format!("C-{i}")).unwrap())
            .find(|id| in_control_group(id, policy.contact().control_group))
            .unwrap();
        let recipient = Recipient { customer_id: &id, consents: BOTH, opted_out: false, last_marketing_at: None };
        for c in apply_contact_policy(&policy, &recipient, &history, cycle(), decisions) {
            if c.decision.class == ContactClass::Marketing {
                prop_assert_eq!(c.verdict.send_at(), None);
            }
        }
    }

    #[test]
    fn nothing_is_sent_in_quiet_hours(
        decisions in any_decisions(), history in any_history(), n in 0u32..10_000,
    ) {
        let id = CustomerId::parse(&format!("C-{n}")).unwrap();
        let policy = Policy::default();
        let recipient = Recipient { customer_id: &id, consents: BOTH, opted_out: false, last_marketing_at: None };
        for c in apply_contact_policy(&policy, &recipient, &history, cycle(), decisions) {
            if let Some(at) = c.verdict.send_at() {
                prop_assert!(!in_quiet_hours(&policy, at), "sent at {}", at);
                prop_assert!(at >= c.decision.at);
                let local = at.with_timezone(&policy.time_zone()).time();
                prop_assert!(local >= chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap());
                prop_assert!(local < chrono::NaiveTime::from_hms_opt(21, 0, 0).unwrap());
            }
        }
    }

    #[test]
    fn a_deferred_message_is_never_dropped_for_quiet_hours_alone(at in any_instant(), n in 0u32..10_000) {
        let id = CustomerId::parse(&format!("C-{n}")).unwrap();
        let recipient = Recipient { customer_id: &id, consents: BOTH, opted_out: false, last_marketing_at: None };
        let checked = apply_contact_policy(&Policy::default(), &recipient, &[], cycle(), vec![decision(Stage::SoftReminder, at)]);
        let sent = checked[0].verdict.send_at().unwrap();
        prop_assert!(sent - at < Duration::hours(12) + Duration::minutes(1));
    }
}
