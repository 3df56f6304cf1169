//! «Напомнить позже»: the customer put a message of the cycle off until a day. Before that day no
//! message about the car's maintenance or season goes out (the satisfaction request, about a
//! visit already made, is not held). From that day the stage that follows the snoozed one comes:
//! a snoozed reminder brings the personal offer then, however many days are left to the due date
//! (the snooze counts as no answer to it); after a snoozed offer later stages follow their own
//! rules. The contact policy still decides whether and when each goes out.

use chrono::NaiveDate;

use super::{ContactRecord, Decision, Reaction, Reason, Stage, TriggerInput};
use crate::policy::Policy;

/// A snoozed stage of the current cycle and the dealer's day it waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snooze {
    pub stage: Stage,
    pub until: NaiveDate,
}

/// Whether a snooze holds the stage back.
fn held(stage: Stage) -> bool {
    stage.is_due_stage() || stage == Stage::SeasonalTires
}

/// The decisions of [`super::evaluate_triggers`] for `input` with the cycle's snooze applied,
/// most important first as there.
pub fn apply_snooze(
    policy: &Policy,
    input: &TriggerInput<'_>,
    snooze: Snooze,
    decisions: Vec<Decision>,
) -> Vec<Decision> {
    let today = input.at.with_timezone(&policy.time_zone()).date_naive();
    if today < snooze.until {
        return decisions.into_iter().filter(|d| !held(d.stage)).collect();
    }
    let cycle = input.last_visit.closed_at;
    let in_cycle = |c: &&ContactRecord| c.sent_at >= cycle && c.sent_at <= input.at;
    let booked = input
        .contacts
        .iter()
        .filter(in_cycle)
        .any(|c| c.reaction == Some(Reaction::Booked));
    let offer_sent = [Stage::PersonalOffer, Stage::CriticalOffer]
        .into_iter()
        .any(|s| input.sent.contains(s));
    let decided = decisions.iter().any(|d| d.stage == Stage::PersonalOffer);
    if snooze.stage != Stage::SoftReminder || booked || offer_sent || decided {
        return decisions;
    }
    let Some(reminder) = input
        .contacts
        .iter()
        .filter(in_cycle)
        .filter(|c| c.stage == Stage::SoftReminder)
        .max_by_key(|c| c.sent_at)
    else {
        return decisions;
    };
    let offer = Decision {
        stage: Stage::PersonalOffer,
        class: Stage::PersonalOffer.class(),
        at: input.at,
        cycle,
        reason: Reason::ReminderUnanswered {
            due: input.due.due_date,
            reminder_sent: reminder.sent_at,
        },
    };
    let mut out = decisions;
    let at = out
        .iter()
        .position(|d| d.stage != Stage::CriticalOffer)
        .unwrap_or(out.len());
    out.insert(at, offer);
    out
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::status::CustomerStatus;
    use crate::triggers::{evaluate_triggers, LastVisit, StageSet};
    use crate::values::VisitKind;
    use crate::{DueLimit, RateBasis, ServiceDue, ServicePoint};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn due(date: &str) -> ServiceDue {
        ServiceDue {
            km_per_day: 40.0,
            due_date: day(date),
            due_km: 105_000,
            p10: day(date),
            p90: day(date),
            limit: DueLimit::Distance,
            basis: RateBasis::Fleet,
            service: ServicePoint {
                date: day("2026-11-12"),
                km: 90_000,
            },
            time_due: day("2027-11-12"),
            flags: vec![],
            reason: String::new(),
        }
    }

    fn decide(
        now: &str,
        due: &ServiceDue,
        contacts: &[ContactRecord],
        snooze: Snooze,
    ) -> Vec<Stage> {
        let policy = Policy::default();
        let input = TriggerInput {
            at: at(now),
            due,
            last_visit: LastVisit {
                closed_at: at("2026-11-12T15:40:00+03:00"),
                kind: VisitKind::Maintenance,
            },
            sent: contacts.iter().map(|c| c.stage).collect::<StageSet>(),
            contacts,
            status: CustomerStatus::Loyal,
            first_registration: day("2019-05-20"),
            warranty_until: Some(day("2022-05-20")),
            declined: &[],
        };
        let decisions = evaluate_triggers(&policy, &input);
        apply_snooze(&policy, &input, snooze, decisions)
            .into_iter()
            .map(|d| d.stage)
            .collect()
    }

    fn reminder(sent: &str, reaction: Option<Reaction>) -> ContactRecord {
        ContactRecord {
            stage: Stage::SoftReminder,
            sent_at: at(sent),
            reaction,
        }
    }

    #[test]
    fn before_the_day_nothing_about_the_due_date_goes_out() {
        let due = due("2027-12-01");
        let contacts = [reminder(
            "2027-11-01T10:00:00+03:00",
            Some(Reaction::Replied),
        )];
        let snooze = Snooze {
            stage: Stage::SoftReminder,
            until: day("2027-11-26"),
        };
        assert!(decide("2027-11-25T10:00:00+03:00", &due, &contacts, snooze).is_empty());
    }

    #[test]
    fn a_snoozed_reminder_brings_the_personal_offer_on_the_day_however_far_the_due_date() {
        let due = due("2027-12-20");
        let contacts = [reminder(
            "2027-11-20T10:00:00+03:00",
            Some(Reaction::Replied),
        )];
        let snooze = Snooze {
            stage: Stage::SoftReminder,
            until: day("2027-11-27"),
        };
        assert_eq!(
            decide("2027-11-27T10:00:00+03:00", &due, &contacts, snooze),
            [Stage::PersonalOffer]
        );
    }

    #[test]
    fn a_booked_cycle_or_an_offer_sent_brings_nothing_more() {
        let due = due("2027-12-20");
        let snooze = Snooze {
            stage: Stage::SoftReminder,
            until: day("2027-11-27"),
        };
        let booked = [reminder(
            "2027-11-20T10:00:00+03:00",
            Some(Reaction::Booked),
        )];
        assert!(decide("2027-11-28T10:00:00+03:00", &due, &booked, snooze).is_empty());
        let offered = [
            reminder("2027-11-20T10:00:00+03:00", Some(Reaction::Replied)),
            ContactRecord {
                stage: Stage::PersonalOffer,
                sent_at: at("2027-11-27T10:00:00+03:00"),
                reaction: None,
            },
        ];
        assert!(decide("2027-11-28T10:00:00+03:00", &due, &offered, snooze).is_empty());
    }

    #[test]
    fn after_a_snoozed_offer_later_stages_follow_their_own_rules() {
        let due = due("2027-12-20");
        let contacts = [
            reminder("2027-11-20T10:00:00+03:00", None),
            ContactRecord {
                stage: Stage::PersonalOffer,
                sent_at: at("2027-12-13T10:00:00+03:00"),
                reaction: Some(Reaction::Replied),
            },
        ];
        let snooze = Snooze {
            stage: Stage::PersonalOffer,
            until: day("2027-12-20"),
        };
        assert!(decide("2027-12-21T10:00:00+03:00", &due, &contacts, snooze).is_empty());
    }
}
