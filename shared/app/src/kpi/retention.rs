//! Retention of cars 3+ years old. For a period starting on `from`: the base is every vehicle at
//! least as old as the policy's middle age band (3 years by default) on `from` with a visit in
//! the 13 months before `from` (`[from − 13 months, from)`); it is retained when it is seen
//! again within 13 months of `from` (a visit in `[from, from + 13 months)`), counting the visits
//! closed by the period's end. Until the period spans the 13 months the figure is still running
//! (`complete` is false). Sliced by the age band on `from` and the advisor of the last visit
//! before it.

use chrono::{Months, NaiveDate};
use domain::status::AgeBand;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::breakdown::{Breakdown, Figures, Tags, Tally};
use super::facts::Facts;
use super::{share_percent, KpiQuery};

/// The look-back and look-ahead windows, in months.
pub const RETENTION_MONTHS: u32 = 13;

/// Retention of one slice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Retention {
    /// Vehicles 3+ years old seen in the 13 months before the period.
    pub base: u64,
    /// Of them, seen again within 13 months of the period's start (by its end).
    pub retained: u64,
    pub percent: Option<Decimal>,
}

impl Figures for Retention {
    fn finish(&mut self) {
        self.percent = share_percent(self.retained, self.base);
    }
}

/// The windows of the retention figure for a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionWindow {
    /// First day of the look-back.
    pub seen_from: NaiveDate,
    /// Last day a return counts (the earlier of `from + 13 months − 1 day` and the period's end).
    pub returned_by: NaiveDate,
    /// Whether the whole 13 months after `from` are in the period.
    pub complete: bool,
}

pub fn retention_window(query: &KpiQuery) -> RetentionWindow {
    let months = Months::new(RETENTION_MONTHS);
    let seen_from = query
        .from
        .checked_sub_months(months)
        .unwrap_or(NaiveDate::MIN);
    let ahead_end = query
        .from
        .checked_add_months(months)
        .and_then(|d| d.pred_opt())
        .unwrap_or(NaiveDate::MAX);
    RetentionWindow {
        seen_from,
        returned_by: ahead_end.min(query.to),
        complete: query.to >= ahead_end,
    }
}

pub fn retention(facts: &Facts<'_>, query: &KpiQuery) -> (RetentionWindow, Breakdown<Retention>) {
    let window = retention_window(query);
    let mut tally = Tally::<Retention>::default();
    for vehicle in &facts.base.vehicles {
        let Some(band) = facts.age_band(&vehicle.vin, query.from) else {
            continue;
        };
        if band == AgeBand::Warranty {
            continue;
        }
        let visits: Vec<_> = facts.visits_of(&vehicle.vin).collect();
        let Some(last) = visits
            .iter()
            .rev()
            .find(|v| window.seen_from <= v.closed_on && v.closed_on < query.from)
        else {
            continue;
        };
        let retained = visits
            .iter()
            .any(|v| query.from <= v.closed_on && v.closed_on <= window.returned_by);
        let tags = Tags {
            age_band: Some(band),
            advisor: last.advisor_id.clone(),
            ..Tags::default()
        };
        tally.add(&tags, |r| {
            r.base += 1;
            r.retained += u64::from(retained);
        });
    }
    (window, tally.finish())
}
