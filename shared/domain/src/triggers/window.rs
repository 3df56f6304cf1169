//! The days on which a stage of the customer cycle can fire for a vehicle, derived from the
//! same rules as [`evaluate_triggers`](super::evaluate_triggers), so the nightly run queues
//! exactly the vehicles the evaluator may act on and no second, hand-written window can drift.
//!
//! Each stage contributes a necessary condition on the day alone, from what the nightly run
//! knows of the vehicle (its forecast, its last visit, its registration and warranty). What only
//! suppresses a stage is ignored: marks already sent, a booking, consent, opt-out, the contact
//! policy. The contact-driven inputs are bounded by the rules themselves:
//!
//! - a personal offer needs an unanswered reminder, which only narrows the due-date lead;
//! - a low satisfaction score makes a critical offer only within `csat_recovery_days` after the
//!   visit it rates (a recovery offer), so the night queues the vehicle for that many days
//!   after each visit, whether or not a score came in;
//! - `lost` is decided by the forecast due date ([`crate::status::customer_status`]), so the
//!   night knows the day the customer turns lost.

use chrono::{Datelike, Days, NaiveDate};

use super::{first_step, LastVisit, Stage};
use crate::forecast::ServiceDue;
use crate::policy::{Policy, SeasonWindow};
use crate::status::plus_months;
use crate::values::{Urgency, VisitKind};

/// What the nightly run knows about a vehicle.
#[derive(Debug, Clone, Copy)]
pub struct WindowInput<'a> {
    pub due: &'a ServiceDue,
    /// The visit that opens the current cycle (the latest, of any kind). Without one nothing
    /// fires: the evaluator has no cycle to decide in.
    pub last_visit: Option<LastVisit>,
    pub first_registration: NaiveDate,
    /// When absent the warranty is taken to end on the 0–3 band's upper line.
    pub warranty_until: Option<NaiveDate>,
    /// The most urgent work declined at the last visit, if any was.
    pub declined_work: Option<Urgency>,
}

/// The earliest day on or after `from` on which some stage could fire for the vehicle, if any.
/// A necessary condition: on every other day `evaluate_triggers` decides nothing for it.
pub fn next_trigger_day(
    policy: &Policy,
    input: &WindowInput<'_>,
    from: NaiveDate,
) -> Option<NaiveDate> {
    Stage::ALL
        .into_iter()
        .filter_map(|stage| stage_next_day(policy, input, stage, from))
        .min()
}

/// Whether some stage could fire for the vehicle on `day`.
pub fn can_fire_on(policy: &Policy, input: &WindowInput<'_>, day: NaiveDate) -> bool {
    next_trigger_day(policy, input, day) == Some(day)
}

/// The earliest day on or after `from` on which `stage` could fire.
pub fn stage_next_day(
    policy: &Policy,
    input: &WindowInput<'_>,
    stage: Stage,
    from: NaiveDate,
) -> Option<NaiveDate> {
    let visit = input.last_visit?;
    let visit_day = visit
        .closed_at
        .with_timezone(&policy.time_zone())
        .date_naive();
    let t = policy.triggers();
    let due = input.due.due_date;
    match stage {
        Stage::AskOdometer => {
            let wide = input.due.interval_days() > i64::from(t.ask_odometer_min_interval_days);
            let lead = t.ask_odometer_days_before_due;
            let last = due.checked_sub_days(days(t.soft_reminder_days_before_due))?;
            within(from, wide.then(|| before(due, lead))?, last.pred_opt()?)
        }
        Stage::SoftReminder => Some(from.max(before(due, t.soft_reminder_days_before_due))),
        Stage::PersonalOffer => Some(from.max(before(due, t.personal_offer_days_before_due))),
        Stage::CriticalOffer => critical_next_day(policy, input, visit_day, from),
        Stage::SatisfactionRequest => {
            let first = after(visit_day, t.satisfaction_after_days)?;
            within(from, first, after(first, t.satisfaction_window_days)?)
        }
        Stage::SeasonalTires => t
            .seasonal_tires
            .iter()
            .filter_map(|w| season_next_day(w, visit, visit_day, from))
            .min(),
        Stage::DeclinedWork => {
            let step = first_step(input.declined_work?);
            let first = after(visit_day, t.declined_work_days[step])?;
            let last = after(
                visit_day,
                t.declined_work_days[2] + t.declined_work_window_days,
            )?;
            within(from, first, last)
        }
    }
}

fn critical_next_day(
    policy: &Policy,
    input: &WindowInput<'_>,
    visit_day: NaiveDate,
    from: NaiveDate,
) -> Option<NaiveDate> {
    let h = policy.thresholds();
    let bands = policy.age_bands();
    let due = input.due.due_date;
    let overdue = plus_months(due, h.critical_overdue_months)
        .succ_opt()
        .map(|d| from.max(d));
    let lost = after(due, h.lost_after_overdue_days)
        .and_then(|d| d.succ_opt())
        .map(|d| from.max(d));
    let warranty_end = input
        .warranty_until
        .unwrap_or_else(|| plus_months(input.first_registration, bands.middle_from_years * 12));
    let warranty = within(
        from,
        before(warranty_end, h.warranty_window_days),
        warranty_end,
    );
    let low_score = within(from, visit_day, after(visit_day, h.csat_recovery_days)?);
    let age_lines = [bands.middle_from_years, bands.old_from_years]
        .into_iter()
        .filter_map(|years| {
            let line = plus_months(input.first_registration, years * 12);
            let last = after(line, h.age_line_window_days)?.pred_opt()?;
            within(from, line, last)
        })
        .min();
    [overdue, lost, warranty, low_score, age_lines]
        .into_iter()
        .flatten()
        .min()
}

/// The first day on or after `from` inside the window's occurrences in which the car has not
/// had its tyres changed (a tyre visit on or after the occurrence's start).
fn season_next_day(
    window: &SeasonWindow,
    visit: LastVisit,
    visit_day: NaiveDate,
    from: NaiveDate,
) -> Option<NaiveDate> {
    let year = from.year();
    (year - 1..=year + 2)
        .filter_map(|start_year| {
            let start = window.from.in_year(start_year);
            let end_year = if window.to < window.from {
                start_year + 1
            } else {
                start_year
            };
            let end = window.to.in_year(end_year);
            let changed = visit.kind == VisitKind::Tires && visit_day >= start;
            if changed {
                return None;
            }
            within(from, start, end)
        })
        .min()
}

/// The first day on or after `from` in `first..=last`.
fn within(from: NaiveDate, first: NaiveDate, last: NaiveDate) -> Option<NaiveDate> {
    let day = from.max(first);
    (day <= last).then_some(day)
}

fn days(n: u32) -> Days {
    Days::new(u64::from(n))
}

/// `n` days before `day`, or the first day of the calendar.
fn before(day: NaiveDate, n: u32) -> NaiveDate {
    day.checked_sub_days(days(n)).unwrap_or(NaiveDate::MIN)
}

fn after(day: NaiveDate, n: u32) -> Option<NaiveDate> {
    day.checked_add_days(days(n))
}

#[cfg(test)]
mod tests;
