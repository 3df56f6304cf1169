//! Customer lifecycle status and vehicle age band at a given day.

use std::fmt;

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::policy::{AgeBands, Policy, Thresholds};
use crate::values::Vehicle;

/// Where a customer stands in the service lifecycle, from the visit history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerStatus {
    /// No visit yet, or only one recent visit.
    New,
    /// Comes on the car's schedule: not overdue past the sleeping threshold, and the last
    /// visit did not end a lost spell.
    Loyal,
    /// The maintenance is overdue by more than the sleeping threshold (30 days by default).
    Sleeping,
    /// The maintenance is overdue by more than the lost threshold (180 days by default).
    Lost,
    /// On schedule again: the last visit came after a gap in which the customer was lost.
    Returned,
    /// Opted out of every message.
    Blocked,
}

impl CustomerStatus {
    pub const ALL: [CustomerStatus; 6] = [
        CustomerStatus::New,
        CustomerStatus::Loyal,
        CustomerStatus::Sleeping,
        CustomerStatus::Lost,
        CustomerStatus::Returned,
        CustomerStatus::Blocked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CustomerStatus::New => "new",
            CustomerStatus::Loyal => "loyal",
            CustomerStatus::Sleeping => "sleeping",
            CustomerStatus::Lost => "lost",
            CustomerStatus::Returned => "returned",
            CustomerStatus::Blocked => "blocked",
        }
    }

    /// Parses the wire name (`"new"`, `"loyal"`, …).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for CustomerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Age of a car since first registration, in the dealer's bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AgeBand {
    /// Younger than 3 years: under the manufacturer's warranty.
    #[serde(rename = "0-3")]
    Warranty,
    /// 3 to 5 years: out of warranty, the owner is deciding where to service.
    #[serde(rename = "3-5")]
    Middle,
    /// 5 years and older: at risk of going to independent garages.
    #[serde(rename = "5+")]
    Old,
}

impl AgeBand {
    pub const ALL: [AgeBand; 3] = [AgeBand::Warranty, AgeBand::Middle, AgeBand::Old];

    pub fn as_str(self) -> &'static str {
        match self {
            AgeBand::Warranty => "0-3",
            AgeBand::Middle => "3-5",
            AgeBand::Old => "5+",
        }
    }

    /// Parses the wire name: `"0-3"`, `"3-5"` or `"5+"`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.as_str() == text)
    }
}

impl fmt::Display for AgeBand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `date` plus whole months, clamped to the end of a shorter month; saturates at the calendar's end.
pub(crate) fn plus_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// The car's age band on `today`. A car registered in the future counts as new.
pub fn age_band(first_registration: NaiveDate, today: NaiveDate, bands: &AgeBands) -> AgeBand {
    if today >= plus_months(first_registration, bands.old_from_years * 12) {
        AgeBand::Old
    } else if today >= plus_months(first_registration, bands.middle_from_years * 12) {
        AgeBand::Middle
    } else {
        AgeBand::Warranty
    }
}

/// What a customer's status is decided from, for one of their cars.
#[derive(Debug, Clone, Copy)]
pub struct StatusFacts<'a> {
    /// Days of the customer's visits (any order, any kind, any of their cars); visits after
    /// the day asked about are ignored.
    pub visit_days: &'a [NaiveDate],
    /// The car's forecast due date of the next maintenance. `None` when there is no forecast:
    /// the last visit plus `interval_months` stands in for it.
    pub due: Option<NaiveDate>,
    /// The car's maintenance interval in months (the schedule's time limit).
    pub interval_months: u32,
    pub opted_out: bool,
}

/// The customer's status on `today`, relative to the car's own schedule: `sleeping` and `lost`
/// when the maintenance is overdue (past the due date) by more than the policy's days, so a
/// customer who comes on schedule is never either, whatever the interval. Without a visit the
/// customer is `new`; `returned` when the last visit came after a gap in which the customer
/// had been lost (one interval plus the lost threshold); `loyal` otherwise. An opted-out
/// customer is `blocked` whatever the history.
///
/// Only the due date and `today` decide `sleeping` and `lost` (given a visit), so the nightly
/// run can tell from a vehicle's forecast on which day its customer turns `lost`.
/// The customer's status on `today` as seen for one of their cars: `due` its forecast due date
/// (`None` without a forecast), its maintenance interval from the policy's schedule for it.
pub fn status_for_car(
    policy: &Policy,
    vehicle: &Vehicle,
    due: Option<NaiveDate>,
    visit_days: &[NaiveDate],
    opted_out: bool,
    today: NaiveDate,
) -> CustomerStatus {
    let schedule = policy.schedule_for(vehicle.make().as_str(), vehicle.model().as_str());
    let facts = StatusFacts {
        visit_days,
        due,
        interval_months: schedule.months,
        opted_out,
    };
    customer_status(&facts, today, policy.thresholds())
}

pub fn customer_status(
    facts: &StatusFacts<'_>,
    today: NaiveDate,
    thresholds: &Thresholds,
) -> CustomerStatus {
    if facts.opted_out {
        return CustomerStatus::Blocked;
    }
    let mut last: Option<NaiveDate> = None;
    let mut previous: Option<NaiveDate> = None;
    for &day in facts.visit_days.iter().filter(|&&d| d <= today) {
        match last {
            Some(l) if day > l => {
                previous = Some(l);
                last = Some(day);
            }
            Some(l) if day < l && previous.is_none_or(|p| day > p) => previous = Some(day),
            Some(_) => {}
            None => last = Some(day),
        }
    }
    let Some(last) = last else {
        return CustomerStatus::New;
    };
    let due = facts
        .due
        .unwrap_or_else(|| plus_months(last, facts.interval_months));
    let overdue = (today - due).num_days();
    if overdue > i64::from(thresholds.lost_after_overdue_days) {
        return CustomerStatus::Lost;
    }
    if overdue > i64::from(thresholds.sleeping_after_overdue_days) {
        return CustomerStatus::Sleeping;
    }
    let lost_by = |visit: NaiveDate| {
        plus_months(visit, facts.interval_months)
            .checked_add_days(Days::new(u64::from(thresholds.lost_after_overdue_days)))
            .unwrap_or(NaiveDate::MAX)
    };
    match previous {
        None => CustomerStatus::New,
        Some(p) if last > lost_by(p) => CustomerStatus::Returned,
        Some(_) => CustomerStatus::Loyal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    /// Status with the default 12-month schedule and no forecast (last visit + 12 months).
    fn status(visits: &[&str], today: &str) -> CustomerStatus {
        status_due(visits, None, 12, today)
    }

    fn status_due(visits: &[&str], due: Option<&str>, months: u32, today: &str) -> CustomerStatus {
        let visits: Vec<_> = visits.iter().map(|v| d(v)).collect();
        let facts = StatusFacts {
            visit_days: &visits,
            due: due.map(d),
            interval_months: months,
            opted_out: false,
        };
        customer_status(&facts, d(today), Policy::default().thresholds())
    }

    #[test]
    fn a_customer_without_visits_is_new() {
        assert_eq!(status(&[], "2025-01-01"), CustomerStatus::New);
    }

    #[test]
    fn a_customer_with_one_recent_visit_is_new() {
        assert_eq!(status(&["2024-10-01"], "2025-01-01"), CustomerStatus::New);
    }

    #[test]
    fn a_customer_who_comes_every_twelve_months_is_loyal_right_up_to_the_due_date_and_after() {
        let visits = ["2022-03-01", "2023-03-01", "2024-03-01"];
        for today in ["2024-11-02", "2025-02-28", "2025-03-01", "2025-03-31"] {
            assert_eq!(status(&visits, today), CustomerStatus::Loyal, "{today}");
        }
    }

    #[test]
    fn overdue_by_more_than_thirty_days_is_sleeping() {
        let visits = ["2023-03-01", "2024-03-01"];
        assert_eq!(status(&visits, "2025-03-31"), CustomerStatus::Loyal);
        assert_eq!(status(&visits, "2025-04-01"), CustomerStatus::Sleeping);
    }

    #[test]
    fn overdue_by_more_than_180_days_is_lost() {
        let visits = ["2023-01-10", "2023-06-10"];
        let due = Some("2024-06-10");
        assert_eq!(
            status_due(&visits, due, 12, "2024-12-07"),
            CustomerStatus::Sleeping
        );
        assert_eq!(
            status_due(&visits, due, 12, "2024-12-08"),
            CustomerStatus::Lost
        );
    }

    #[test]
    fn the_forecast_due_date_decides_not_the_months_since_the_visit() {
        // High mileage: the km limit makes the car due 5 months after the visit.
        let visits = ["2024-01-10", "2024-06-10"];
        let due = Some("2024-11-10");
        assert_eq!(
            status_due(&visits, due, 12, "2024-12-10"),
            CustomerStatus::Loyal
        );
        assert_eq!(
            status_due(&visits, due, 12, "2024-12-11"),
            CustomerStatus::Sleeping
        );
    }

    #[test]
    fn a_car_on_a_six_month_cadence_that_skipped_one_service_is_sleeping() {
        let visits = ["2023-07-01", "2024-01-01", "2024-07-01"];
        // Due 2025-01-01, skipped; a month and a half later.
        assert_eq!(
            status_due(&visits, None, 6, "2024-12-31"),
            CustomerStatus::Loyal
        );
        assert_eq!(
            status_due(&visits, None, 6, "2025-02-15"),
            CustomerStatus::Sleeping
        );
    }

    #[test]
    fn a_recent_visit_after_a_lost_spell_is_returned() {
        let s = status(&["2022-01-10", "2024-12-01"], "2025-01-01");
        assert_eq!(s, CustomerStatus::Returned);
    }

    #[test]
    fn a_visit_a_month_late_keeps_the_customer_loyal() {
        let s = status(&["2023-01-01", "2024-02-01"], "2024-03-01");
        assert_eq!(s, CustomerStatus::Loyal);
    }

    #[test]
    fn visits_after_the_day_asked_about_are_ignored() {
        let s = status(&["2023-01-10", "2025-03-01"], "2024-08-11");
        assert_eq!(s, CustomerStatus::Lost);
    }

    #[test]
    fn an_opted_out_customer_is_blocked_whatever_the_history() {
        let visits = [d("2024-12-01"), d("2024-06-01")];
        let facts = StatusFacts {
            visit_days: &visits,
            due: None,
            interval_months: 12,
            opted_out: true,
        };
        let s = customer_status(&facts, d("2025-01-01"), Policy::default().thresholds());
        assert_eq!(s, CustomerStatus::Blocked);
    }

    #[test]
    fn the_visit_order_does_not_matter() {
        let a = status(&["2024-11-01", "2024-04-01", "2023-05-01"], "2025-01-01");
        let b = status(&["2023-05-01", "2024-04-01", "2024-11-01"], "2025-01-01");
        assert_eq!((a, b), (CustomerStatus::Loyal, CustomerStatus::Loyal));
    }

    #[test]
    fn age_bands_change_on_the_third_and_fifth_registration_anniversary() {
        let bands = Policy::default().age_bands().clone();
        let reg = d("2019-05-20");
        assert_eq!(age_band(reg, d("2022-05-19"), &bands), AgeBand::Warranty);
        assert_eq!(age_band(reg, d("2022-05-20"), &bands), AgeBand::Middle);
        assert_eq!(age_band(reg, d("2024-05-19"), &bands), AgeBand::Middle);
        assert_eq!(age_band(reg, d("2024-05-20"), &bands), AgeBand::Old);
        assert_eq!(age_band(reg, d("2019-01-01"), &bands), AgeBand::Warranty);
    }

    #[test]
    fn statuses_and_bands_have_stable_wire_names() {
        assert_eq!(serde_json::to_string(&AgeBand::Middle).unwrap(), "\"3-5\"");
        assert_eq!(
            serde_json::to_string(&CustomerStatus::Returned).unwrap(),
            "\"returned\""
        );
        assert_eq!(AgeBand::parse("5+"), Some(AgeBand::Old));
        assert_eq!(CustomerStatus::parse("lost"), Some(CustomerStatus::Lost));
        assert_eq!(CustomerStatus::parse("Lost"), None);
    }
}
