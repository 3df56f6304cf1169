//! Trigger evaluation: which stage of the customer cycle is due for one vehicle at an instant.
//!
//! Pure: the forecast, the stages already sent in the current cycle and the contact history are
//! inputs; storing the marks is the caller's business. A visit closes the cycle and opens the
//! next one; each stage fires at most once per cycle. [`window`] derives from the same rules
//! the days on which a stage can fire at all, which is what the nightly run queues by.

use std::fmt;

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::forecast::ServiceDue;
use crate::policy::Policy;
use crate::status::{plus_months, CustomerStatus};
use crate::values::{ContactClass, Recommendation, Urgency, VisitKind};

/// A stage of the customer cycle, i.e. a kind of message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The due-date forecast is uncertain: ask the customer for the odometer.
    AskOdometer,
    /// The maintenance is due in about a month.
    SoftReminder,
    /// A week before the due date, after an unanswered reminder: a personal offer.
    PersonalOffer,
    /// The customer is about to be lost: the strongest offer.
    CriticalOffer,
    /// A few days after a visit: how was it?
    SatisfactionRequest,
    /// The seasonal tyre change.
    SeasonalTires,
    /// Days after a visit: work recommended there and declined (up to three follow-ups).
    DeclinedWork,
}

impl Stage {
    pub const ALL: [Stage; 7] = [
        Stage::AskOdometer,
        Stage::SoftReminder,
        Stage::PersonalOffer,
        Stage::CriticalOffer,
        Stage::SatisfactionRequest,
        Stage::SeasonalTires,
        Stage::DeclinedWork,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::AskOdometer => "ask_odometer",
            Stage::SoftReminder => "soft_reminder",
            Stage::PersonalOffer => "personal_offer",
            Stage::CriticalOffer => "critical_offer",
            Stage::SatisfactionRequest => "satisfaction_request",
            Stage::SeasonalTires => "seasonal_tires",
            Stage::DeclinedWork => "declined_work",
        }
    }

    /// Parses a stage name exactly (campaign switches, template lists, the dashboard).
    pub fn parse(text: &str) -> Option<Stage> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The stage a cycle's mark key ([`Stage::mark_key`]) belongs to: a stage name, or
    /// `declined_work#<step>` (1 to 3).
    pub fn from_mark_key(key: &str) -> Option<Stage> {
        match key.split_once('#') {
            Some((name, "1" | "2" | "3")) => {
                Self::parse(name).filter(|s| *s == Stage::DeclinedWork)
            }
            Some(_) => None,
            None => Self::parse(key),
        }
    }

    /// The key the stage is marked under in a cycle (once per key): the stage's name, and for
    /// the declined-work follow-ups `declined_work#<step>` (1 to 3).
    pub fn mark_key(self, reason: &Reason) -> String {
        match reason {
            Reason::DeclinedWork { step, .. } => step_key(self, *step),
            _ => self.as_str().to_owned(),
        }
    }

    /// Every key the stage may be marked under in a cycle.
    pub fn mark_keys(self) -> Vec<String> {
        match self {
            Stage::DeclinedWork => (1..=3).map(|step| step_key(self, step)).collect(),
            _ => vec![self.as_str().to_owned()],
        }
    }

    /// Offers and campaigns are marketing; reminders and requests about the car are service.
    pub fn class(self) -> ContactClass {
        match self {
            Stage::AskOdometer | Stage::SoftReminder | Stage::SatisfactionRequest => {
                ContactClass::Service
            }
            Stage::PersonalOffer
            | Stage::CriticalOffer
            | Stage::SeasonalTires
            | Stage::DeclinedWork => ContactClass::Marketing,
        }
    }

    /// The class of one message of the stage: a declined-work follow-up that names `safety`
    /// work is a service message, otherwise the stage's class.
    pub fn class_for(self, reason: &Reason) -> ContactClass {
        match reason {
            Reason::DeclinedWork { safety: true, .. } => ContactClass::Service,
            _ => self.class(),
        }
    }

    /// The stages that lead up to the due date; at most one of them goes out per evaluation.
    pub fn is_due_stage(self) -> bool {
        matches!(
            self,
            Stage::AskOdometer | Stage::SoftReminder | Stage::PersonalOffer | Stage::CriticalOffer
        )
    }

    /// Whether this stage carries a priced offer.
    pub fn is_offer(self) -> bool {
        matches!(
            self,
            Stage::PersonalOffer | Stage::CriticalOffer | Stage::DeclinedWork
        )
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

fn step_key(stage: Stage, step: u8) -> String {
    format!("{}#{step}", stage.as_str())
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of stages: the marks of the stages already sent in a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct StageSet(u8);

impl StageSet {
    pub const EMPTY: StageSet = StageSet(0);

    pub fn insert(&mut self, stage: Stage) {
        self.0 |= stage.bit();
    }

    pub fn contains(self, stage: Stage) -> bool {
        self.0 & stage.bit() != 0
    }

    pub fn iter(self) -> impl Iterator<Item = Stage> {
        Stage::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl FromIterator<Stage> for StageSet {
    fn from_iter<I: IntoIterator<Item = Stage>>(iter: I) -> Self {
        let mut set = StageSet::EMPTY;
        for s in iter {
            set.insert(s);
        }
        set
    }
}

/// What the customer did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reaction {
    /// Seen, nothing done: counts as no reaction.
    Read,
    Clicked,
    Replied,
    Booked,
    Declined,
    /// STOP: no more messages on any channel.
    OptedOut,
    /// A satisfaction score, 0 to 10.
    Rated(u8),
}

impl Reaction {
    /// Whether the customer acted on the message (reading it is not acting).
    pub fn is_response(self) -> bool {
        !matches!(self, Reaction::Read)
    }
}

/// One message sent about a vehicle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRecord {
    pub stage: Stage,
    pub sent_at: DateTime<Utc>,
    pub reaction: Option<Reaction>,
}

/// The visit that opened the current cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastVisit {
    pub closed_at: DateTime<Utc>,
    pub kind: VisitKind,
}

/// Everything the evaluator looks at for one vehicle.
#[derive(Debug, Clone, Copy)]
pub struct TriggerInput<'a> {
    pub at: DateTime<Utc>,
    pub due: &'a ServiceDue,
    pub last_visit: LastVisit,
    /// Stages already sent in the current cycle (since `last_visit`).
    pub sent: StageSet,
    /// Messages sent about this vehicle, any order, any cycle.
    pub contacts: &'a [ContactRecord],
    /// The customer's status at `at`.
    pub status: CustomerStatus,
    pub first_registration: NaiveDate,
    /// When absent the warranty is taken to end on the 0–3 band's upper line.
    pub warranty_until: Option<NaiveDate>,
    /// Work recommended at `last_visit` and declined (none for most visits).
    pub declined: &'a [Recommendation],
}

/// Why a critical offer fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "critical")]
pub enum CriticalReason {
    Overdue { due: NaiveDate, days_overdue: i64 },
    WarrantyEnds { on: NaiveDate },
    TurnedLost { last_visit: NaiveDate },
    LowSatisfaction { score: u8 },
    CrossedAgeLine { years: u32, on: NaiveDate },
}

/// Why a stage fires.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Reason {
    UncertainDue {
        due: NaiveDate,
        interval_days: i64,
    },
    DueSoon {
        due: NaiveDate,
        days_left: i64,
    },
    ReminderUnanswered {
        due: NaiveDate,
        reminder_sent: DateTime<Utc>,
    },
    Critical(CriticalReason),
    AfterVisit {
        visit: NaiveDate,
    },
    TireSeason {
        window: String,
    },
    /// Work declined at the visit, followed up (`step` 1 to 3): the recommendations' codes in
    /// this message, and whether one of them is `safety` work.
    DeclinedWork {
        visit: NaiveDate,
        step: u8,
        codes: Vec<String>,
        safety: bool,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::UncertainDue { due, interval_days } => write!(
                f,
                "maintenance predicted for {due} but the forecast spans {interval_days} days"
            ),
            Reason::DueSoon { due, days_left } if *days_left >= 0 => {
                write!(f, "maintenance due on {due}, in {days_left} days")
            }
            Reason::DueSoon { due, days_left } => {
                write!(f, "maintenance was due on {due}, {} days ago", -days_left)
            }
            Reason::ReminderUnanswered { due, reminder_sent } => write!(
                f,
                "maintenance due on {due}; no reaction to the reminder of {}",
                reminder_sent.date_naive()
            ),
            Reason::Critical(c) => match c {
                CriticalReason::Overdue { due, days_overdue } => {
                    write!(f, "maintenance overdue by {days_overdue} days (due {due})")
                }
                CriticalReason::WarrantyEnds { on } => write!(f, "warranty ends on {on}"),
                CriticalReason::TurnedLost { last_visit } => {
                    write!(f, "customer lost: last visit on {last_visit}")
                }
                CriticalReason::LowSatisfaction { score } => {
                    write!(f, "last satisfaction score was {score}")
                }
                CriticalReason::CrossedAgeLine { years, on } => {
                    write!(f, "the car turned {years} years old on {on}")
                }
            },
            Reason::AfterVisit { visit } => write!(f, "visit on {visit}"),
            Reason::TireSeason { window } => write!(f, "{window} tyre season"),
            Reason::DeclinedWork {
                visit, step, codes, ..
            } => write!(
                f,
                "follow-up {step} on work declined on {visit}: {}",
                codes.join(", ")
            ),
        }
    }
}

/// A stage that is due, to be checked by the contact policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub stage: Stage,
    pub class: ContactClass,
    /// When it should go out (before quiet hours are applied).
    pub at: DateTime<Utc>,
    /// When the cycle it belongs to was opened (the last visit).
    pub cycle: DateTime<Utc>,
    pub reason: Reason,
}

/// The stages due for one vehicle at `input.at`, most important first: critical offer, personal
/// offer, soft reminder, odometer request, then the declined-work follow-up (its day is set by
/// the policy; the satisfaction request has a window of days to wait in), the satisfaction
/// request and the tyre season.
pub fn evaluate_triggers(policy: &Policy, input: &TriggerInput<'_>) -> Vec<Decision> {
    let tz = policy.time_zone();
    let today = input.at.with_timezone(&tz).date_naive();
    let cycle = input.last_visit.closed_at;
    let visit_day = cycle.with_timezone(&tz).date_naive();
    let in_cycle = |c: &&ContactRecord| c.sent_at >= cycle && c.sent_at <= input.at;
    let sent = input.sent;
    let mut out = Vec::new();
    let mut push = |stage: Stage, reason: Reason| {
        out.push(Decision {
            stage,
            class: stage.class_for(&reason),
            at: input.at,
            cycle,
            reason,
        });
    };

    let booked = input
        .contacts
        .iter()
        .filter(in_cycle)
        .any(|c| c.reaction == Some(Reaction::Booked));
    let later_sent = |stage: Stage| {
        Stage::ALL
            .into_iter()
            .filter(|s| s.is_due_stage() && *s > stage)
            .any(|s| sent.contains(s))
    };

    if !booked {
        let t = policy.triggers();
        let due = input.due.due_date;
        let days_left = (due - today).num_days();
        if !sent.contains(Stage::CriticalOffer) {
            if let Some(reason) = critical_reason(policy, input, today, visit_day) {
                push(Stage::CriticalOffer, Reason::Critical(reason));
            }
        }
        if !sent.contains(Stage::PersonalOffer)
            && !later_sent(Stage::PersonalOffer)
            && days_left <= i64::from(t.personal_offer_days_before_due)
        {
            let reminder = input
                .contacts
                .iter()
                .filter(in_cycle)
                .filter(|c| c.stage == Stage::SoftReminder)
                .max_by_key(|c| c.sent_at);
            let wait = Days::new(u64::from(t.reaction_wait_days));
            if let Some(r) = reminder {
                let unanswered = !r.reaction.is_some_and(Reaction::is_response);
                let waited = r
                    .sent_at
                    .checked_add_days(wait)
                    .is_some_and(|w| w <= input.at);
                if unanswered && waited {
                    push(
                        Stage::PersonalOffer,
                        Reason::ReminderUnanswered {
                            due,
                            reminder_sent: r.sent_at,
                        },
                    );
                }
            }
        }
        if !sent.contains(Stage::SoftReminder)
            && !later_sent(Stage::SoftReminder)
            && days_left <= i64::from(t.soft_reminder_days_before_due)
        {
            push(Stage::SoftReminder, Reason::DueSoon { due, days_left });
        }
        let interval_days = input.due.interval_days();
        if !sent.contains(Stage::AskOdometer)
            && !later_sent(Stage::AskOdometer)
            && days_left <= i64::from(t.ask_odometer_days_before_due)
            && days_left > i64::from(t.soft_reminder_days_before_due)
            && interval_days > i64::from(t.ask_odometer_min_interval_days)
        {
            push(
                Stage::AskOdometer,
                Reason::UncertainDue { due, interval_days },
            );
        }
    }

    if !booked {
        if let Some(reason) = declined_work(policy, input, today, visit_day) {
            push(Stage::DeclinedWork, reason);
        }
    }

    let t = policy.triggers();
    let since_visit = (today - visit_day).num_days();
    let after = i64::from(t.satisfaction_after_days);
    if !sent.contains(Stage::SatisfactionRequest)
        && since_visit >= after
        && since_visit <= after + i64::from(t.satisfaction_window_days)
    {
        push(
            Stage::SatisfactionRequest,
            Reason::AfterVisit { visit: visit_day },
        );
    }

    if !sent.contains(Stage::SeasonalTires) {
        let open = t
            .seasonal_tires
            .iter()
            .find_map(|w| Some((w, w.start_containing(today)?)));
        if let Some((window, start)) = open {
            let changed_this_season =
                input.last_visit.kind == VisitKind::Tires && visit_day >= start;
            if !changed_this_season {
                push(
                    Stage::SeasonalTires,
                    Reason::TireSeason {
                        window: window.name.clone(),
                    },
                );
            }
        }
    }
    out
}

/// The follow-up step (0-based) whose span contains `since` days after the visit: step `k` runs
/// from its day to the day before the next; the last for `declined_work_window_days`.
pub fn declined_work_step(policy: &Policy, since: i64) -> Option<usize> {
    let t = policy.triggers();
    let days = t.declined_work_days.map(i64::from);
    let last_end = days[2] + i64::from(t.declined_work_window_days);
    (0..3).rev().find(|&k| {
        let end = if k == 2 { last_end } else { days[k + 1] - 1 };
        days[k] <= since && since <= end
    })
}

/// The first follow-up step (0-based) at which work of this urgency is named.
pub fn first_step(urgency: Urgency) -> usize {
    match urgency {
        Urgency::Safety => 0,
        Urgency::Soon => 1,
        Urgency::Later => 2,
    }
}

/// The declined-work follow-up due today, if any: the step whose span holds today, when no
/// follow-up went out in that span yet, naming the work due by then. The customer's «Не
/// присылать» (or a decline) on an earlier follow-up of the cycle ends them; a booking holds
/// them (checked by the caller).
fn declined_work(
    policy: &Policy,
    input: &TriggerInput<'_>,
    today: NaiveDate,
    visit_day: NaiveDate,
) -> Option<Reason> {
    if input.declined.is_empty() {
        return None;
    }
    let tz = policy.time_zone();
    let cycle = input.last_visit.closed_at;
    let earlier: Vec<&ContactRecord> = input
        .contacts
        .iter()
        .filter(|c| c.stage == Stage::DeclinedWork && c.sent_at >= cycle)
        .collect();
    let refused = earlier
        .iter()
        .any(|c| matches!(c.reaction, Some(Reaction::Declined | Reaction::OptedOut)));
    if refused {
        return None;
    }
    let since = (today - visit_day).num_days();
    let step = declined_work_step(policy, since)?;
    let span_start = visit_day + Days::new(u64::from(policy.triggers().declined_work_days[step]));
    let sent_in_span = earlier
        .iter()
        .any(|c| c.sent_at.with_timezone(&tz).date_naive() >= span_start);
    if sent_in_span {
        return None;
    }
    let named: Vec<&Recommendation> = input
        .declined
        .iter()
        .filter(|r| first_step(r.urgency) <= step)
        .collect();
    if named.is_empty() {
        return None;
    }
    Some(Reason::DeclinedWork {
        visit: visit_day,
        step: step as u8 + 1,
        codes: named.iter().map(|r| r.code.clone()).collect(),
        safety: named.iter().any(|r| r.urgency == Urgency::Safety),
    })
}

/// The first reason, if any, that makes the offer critical today.
fn critical_reason(
    policy: &Policy,
    input: &TriggerInput<'_>,
    today: NaiveDate,
    visit_day: NaiveDate,
) -> Option<CriticalReason> {
    let h = policy.thresholds();
    let bands = policy.age_bands();
    let due = input.due.due_date;
    if today > plus_months(due, h.critical_overdue_months) {
        let days_overdue = (today - due).num_days();
        return Some(CriticalReason::Overdue { due, days_overdue });
    }
    let warranty_end = input
        .warranty_until
        .unwrap_or_else(|| plus_months(input.first_registration, bands.middle_from_years * 12));
    let to_end = (warranty_end - today).num_days();
    if (0..=i64::from(h.warranty_window_days)).contains(&to_end) {
        return Some(CriticalReason::WarrantyEnds { on: warranty_end });
    }
    if input.status == CustomerStatus::Lost {
        return Some(CriticalReason::TurnedLost {
            last_visit: visit_day,
        });
    }
    let cycle = input.last_visit.closed_at;
    let score = input
        .contacts
        .iter()
        .filter(|c| c.sent_at >= cycle && c.sent_at <= input.at)
        .filter_map(|c| match c.reaction {
            Some(Reaction::Rated(s)) => Some((c.sent_at, s)),
            _ => None,
        })
        .max_by_key(|(at, _)| *at);
    let recovery_ends = visit_day
        .checked_add_days(Days::new(u64::from(h.csat_recovery_days)))
        .unwrap_or(NaiveDate::MAX);
    if let Some((_, score)) = score.filter(|_| today <= recovery_ends) {
        if score <= h.csat_alarm_max {
            return Some(CriticalReason::LowSatisfaction { score });
        }
    }
    for years in [bands.middle_from_years, bands.old_from_years] {
        let line = plus_months(input.first_registration, years * 12);
        let since = (today - line).num_days();
        if (0..i64::from(h.age_line_window_days)).contains(&since) {
            return Some(CriticalReason::CrossedAgeLine { years, on: line });
        }
    }
    None
}

pub mod snooze;
pub mod window;

#[cfg(test)]
mod tests;
