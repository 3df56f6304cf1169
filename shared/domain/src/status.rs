//! Customer lifecycle status and vehicle age band at a given day.

use std::fmt;

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::policy::{AgeBands, Thresholds};

/// Where a customer stands in the service lifecycle, from the visit history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerStatus {
    /// No visit yet, or only one recent visit.
    New,
    /// Comes regularly: the last visit is recent and came less than the lost threshold after
    /// the one before it.
    Loyal,
    /// No visit for more than the sleeping threshold (8 months by default).
    Sleeping,
    /// No visit for more than the lost threshold (12 months by default).
    Lost,
    /// The last visit is recent and came after a gap longer than the lost threshold.
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

/// The customer's status on `today` from the days of their visits (any order, any kind of visit;
/// visits after `today` are ignored). An opted-out customer is `Blocked` whatever the history.
pub fn customer_status(
    visit_days: &[NaiveDate],
    opted_out: bool,
    today: NaiveDate,
    thresholds: &Thresholds,
) -> CustomerStatus {
    if opted_out {
        return CustomerStatus::Blocked;
    }
    let mut last: Option<NaiveDate> = None;
    let mut previous: Option<NaiveDate> = None;
    for &day in visit_days.iter().filter(|&&d| d <= today) {
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
    if today > plus_months(last, thresholds.lost_after_months) {
        return CustomerStatus::Lost;
    }
    if today > plus_months(last, thresholds.sleeping_after_months) {
        return CustomerStatus::Sleeping;
    }
    match previous {
        None => CustomerStatus::New,
        Some(p) if last > plus_months(p, thresholds.lost_after_months) => CustomerStatus::Returned,
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

    fn status(visits: &[&str], today: &str) -> CustomerStatus {
        let visits: Vec<_> = visits.iter().map(|v| d(v)).collect();
        customer_status(&visits, false, d(today), Policy::default().thresholds())
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
    fn a_customer_with_two_visits_within_eight_months_is_loyal() {
        let s = status(&["2024-11-01", "2024-04-01"], "2025-01-01");
        assert_eq!(s, CustomerStatus::Loyal);
    }

    #[test]
    fn no_visit_for_more_than_eight_months_is_sleeping() {
        assert_eq!(status(&["2024-03-01"], "2024-11-01"), CustomerStatus::New);
        assert_eq!(
            status(&["2024-03-01"], "2024-11-02"),
            CustomerStatus::Sleeping
        );
    }

    #[test]
    fn no_visit_for_more_than_twelve_months_is_lost() {
        let visits = ["2023-01-10", "2023-06-10"];
        assert_eq!(status(&visits, "2024-06-10"), CustomerStatus::Sleeping);
        assert_eq!(status(&visits, "2024-06-11"), CustomerStatus::Lost);
    }

    #[test]
    fn a_recent_visit_after_a_long_gap_is_returned() {
        let s = status(&["2022-01-10", "2024-12-01"], "2025-01-01");
        assert_eq!(s, CustomerStatus::Returned);
    }

    #[test]
    fn a_visit_ten_months_after_the_previous_one_keeps_the_customer_loyal() {
        let s = status(&["2023-02-01", "2023-12-01"], "2024-01-01");
        assert_eq!(s, CustomerStatus::Loyal);
    }

    #[test]
    fn visits_after_the_day_asked_about_are_ignored() {
        let s = status(&["2023-01-10", "2025-03-01"], "2024-06-11");
        assert_eq!(s, CustomerStatus::Lost);
    }

    #[test]
    fn an_opted_out_customer_is_blocked_whatever_the_history() {
        let visits = [d("2024-12-01"), d("2024-06-01")];
        let s = customer_status(
            &visits,
            true,
            d("2025-01-01"),
            Policy::default().thresholds(),
        );
        assert_eq!(s, CustomerStatus::Blocked);
    }

    #[test]
    fn the_visit_order_does_not_matter() {
        let a = status(&["2024-11-01", "2024-04-01", "2023-01-01"], "2025-01-01");
        let b = status(&["2023-01-01", "2024-04-01", "2024-11-01"], "2025-01-01");
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
