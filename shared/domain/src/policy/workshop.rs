//! Workshop capacity as policy: lifts (posts) and hours per weekday, slot length, the
//! production calendar's non-working days and the dealer's own closed days, how far ahead
//! slots are offered and how long an unconfirmed hold lasts. A day's slots are planned from it.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Weekday};

use super::calendar;

/// Opening hours and lifts of one weekday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayHours {
    pub open: NaiveTime,
    /// The last slot ends at or before this.
    pub close: NaiveTime,
    pub lifts: u32,
}

/// A slot the plan offers on a day: its start (`HH:MM`) and how many cars it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedSlot {
    pub start: String,
    pub lifts: u32,
}

/// The `[workshop]` section of the policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Workshop {
    /// Lifts on a day whose hours do not name their own.
    pub lifts: u32,
    pub slot_minutes: u32,
    /// Slots are offered from tomorrow to this many days ahead.
    pub days_ahead: u32,
    /// An unconfirmed hold lapses this long after the customer chose the slot.
    pub hold_minutes: u32,
    /// Hours by weekday, Monday first; `None` is closed.
    pub hours: [Option<DayHours>; 7],
    /// Closed on the Russian production calendar's non-working days, and open with a weekday's
    /// hours on its working weekend days.
    pub production_calendar: bool,
    /// The dealer's own closed days on top of the calendar.
    pub closed_days: Vec<NaiveDate>,
}

impl Workshop {
    /// The hours of `date`, or `None` when the workshop is closed that day.
    pub fn hours_on(&self, date: NaiveDate) -> Option<DayHours> {
        if self.closed_days.contains(&date) {
            return None;
        }
        let weekday = if self.production_calendar {
            if calendar::is_non_working(date) {
                return None;
            }
            calendar::worked_instead_of(date).unwrap_or(date.weekday())
        } else {
            date.weekday()
        };
        self.hours[weekday.num_days_from_monday() as usize].filter(|h| h.lifts > 0)
    }

    /// The slots of `date`: from opening, one every `slot_minutes`, each ending by closing
    /// time; none on a closed day.
    pub fn slots_on(&self, date: NaiveDate) -> Vec<PlannedSlot> {
        let Some(hours) = self.hours_on(date) else {
            return Vec::new();
        };
        let step = Duration::minutes(i64::from(self.slot_minutes.max(1)));
        let mut slots = Vec::new();
        let mut start = hours.open;
        while start < hours.close && hours.close - start >= step {
            slots.push(PlannedSlot {
                start: start.format("%H:%M").to_string(),
                lifts: hours.lifts,
            });
            let next = start + step;
            if next <= start {
                break;
            }
            start = next;
        }
        slots
    }

    /// The hours of a weekday as configured (ignoring calendars and closed days).
    pub fn weekday_hours(&self, weekday: Weekday) -> Option<DayHours> {
        self.hours[weekday.num_days_from_monday() as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn a_weekday_has_hourly_slots_for_every_lift_and_sunday_has_none() {
        let policy = Policy::default();
        let w = policy.workshop();
        let tuesday = w.slots_on(day("2026-12-01"));
        assert_eq!(tuesday.first().unwrap().start, "09:00");
        assert_eq!(tuesday.last().unwrap().start, "19:00");
        assert_eq!(tuesday.len(), 11);
        assert!(tuesday.iter().all(|s| s.lifts == w.lifts));
        assert!(w.slots_on(day("2026-12-06")).is_empty(), "a Sunday");
    }

    #[test]
    fn holidays_and_the_dealers_closed_days_have_no_slots() {
        let mut w = Policy::default().workshop().clone();
        assert!(w.slots_on(day("2026-01-09")).is_empty());
        assert!(w.slots_on(day("2026-03-09")).is_empty());
        assert!(!w.slots_on(day("2026-12-03")).is_empty());
        w.closed_days.push(day("2026-12-03"));
        assert!(w.slots_on(day("2026-12-03")).is_empty());
        w.production_calendar = false;
        assert!(!w.slots_on(day("2026-03-09")).is_empty());
    }

    #[test]
    fn a_working_saturday_takes_the_hours_of_the_weekday_it_replaces() {
        let mut w = Policy::default().workshop().clone();
        w.hours[5] = None;
        assert_eq!(w.slots_on(day("2025-11-01")).len(), 11);
        assert!(w.slots_on(day("2025-11-08")).is_empty());
    }

    #[test]
    fn a_slot_that_would_run_past_closing_time_is_not_planned() {
        let mut w = Policy::default().workshop().clone();
        w.slot_minutes = 90;
        let slots = w.slots_on(day("2026-12-01"));
        let starts: Vec<&str> = slots.iter().map(|s| s.start.as_str()).collect();
        assert_eq!(
            starts,
            ["09:00", "10:30", "12:00", "13:30", "15:00", "16:30", "18:00"]
        );
    }
}
