//! Uplift by intention to treat: every customer of the campaign population counts in the arm
//! the control group assigns them to (`domain::contact::in_control_group` with the policy's
//! share), whether or not a message reached them, so the comparison carries no selection by
//! consent, channel or reaction.
//!
//! - The population: customers with a car due in the campaign window. A car is due when,
//!   forecast as of the day before the window (from the readings and visits on or before that
//!   day, as the nightly run would have, so nothing in the window moves a customer in or out),
//!   its due date or one of its triggers falls in the window `[from, to]`: the soft reminder
//!   (`due − soft_reminder_days_before_due`) or the critical overdue offer (`due +
//!   critical_overdue_months`), that is a due date in `[from − critical_overdue_months, to +
//!   soft_reminder_days_before_due]`.
//! - The outcome: any visit of the customer (any car, any kind) in `[from, to + grace_days]`;
//!   until that day has passed the figure is still running (`complete` is false).
//! - The comparison: treatment rate minus control rate with Newcombe's 95 % interval, the
//!   relative lift, both arms' counts, and the customers each arm needs to see a +20 % lift
//!   (`domain::uplift`). Sliced by the due car's age band on `from` and the advisor of its last
//!   visit before it.

use chrono::{Days, Months, NaiveDate};
use domain::contact::in_control_group;
use domain::uplift::{measure_uplift, Arm, Uplift};
use domain::{CustomerId, Vehicle};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use store::repo::Repos;
use store::{Store, StoreError};

use super::breakdown::{Breakdown, Figures, Tags, Tally};
use super::facts::Facts;
use super::KpiQuery;
use crate::forecasting::compute_forecast;

/// The campaign window of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignWindow {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Cars due from this day …
    pub due_from: NaiveDate,
    /// … to this day (both included) are in the population.
    pub due_to: NaiveDate,
    /// Visits count up to this day: the window's end plus the grace days.
    pub visits_until: NaiveDate,
    /// Whether `visits_until` has passed by the report day.
    pub complete: bool,
    /// The control group's share of customers, percent.
    pub control_share_percent: Decimal,
}

pub fn campaign_window(query: &KpiQuery, policy: &domain::policy::Policy) -> CampaignWindow {
    let t = policy.triggers();
    let overdue = Months::new(policy.thresholds().critical_overdue_months);
    let visits_until = query
        .to
        .checked_add_days(Days::new(u64::from(query.grace_days)))
        .unwrap_or(NaiveDate::MAX);
    CampaignWindow {
        from: query.from,
        to: query.to,
        due_from: query
            .from
            .checked_sub_months(overdue)
            .unwrap_or(NaiveDate::MIN),
        due_to: query
            .to
            .checked_add_days(Days::new(u64::from(t.soft_reminder_days_before_due)))
            .unwrap_or(NaiveDate::MAX),
        visits_until,
        complete: visits_until < query.at,
        control_share_percent: policy.contact().control_group.value(),
    }
}

/// One customer of the population, as assigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignCustomer {
    pub customer_id: String,
    pub control: bool,
    pub visited: bool,
    pub tags: Tags,
}

/// Both arms of one slice and their comparison.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpliftFigures {
    pub treatment: Arm,
    pub control: Arm,
    pub uplift: Option<Uplift>,
    /// Set when the arms are too small to see a +20 % lift.
    pub warning_ru: Option<String>,
}

impl Figures for UpliftFigures {
    fn finish(&mut self) {
        let uplift = measure_uplift(self.treatment, self.control);
        self.warning_ru = uplift.warning_ru();
        self.uplift = Some(uplift);
    }
}

/// The comparison over the population, sliced by the customers' tags.
pub fn uplift_of(customers: &[CampaignCustomer]) -> Breakdown<UpliftFigures> {
    let mut tally = Tally::<UpliftFigures>::default();
    for c in customers {
        tally.add(&c.tags, |f| {
            let arm = if c.control {
                &mut f.control
            } else {
                &mut f.treatment
            };
            arm.customers += 1;
            arm.visited += u64::from(c.visited);
        });
    }
    tally.finish()
}

/// The campaign population of the window with each customer's arm and outcome.
pub async fn campaign_population<S: Store>(
    repos: &Repos<S>,
    facts: &Facts<'_>,
    window: &CampaignWindow,
) -> Result<Vec<CampaignCustomer>, StoreError> {
    let policy = facts.policy;
    let share = policy.contact().control_group;
    let as_of = window.from.pred_opt().unwrap_or(window.from);
    let mut population = Vec::new();
    for customer in &facts.base.customers {
        let Ok(id) = CustomerId::parse(&customer.customer_id) else {
            tracing::warn!(customer_id = %customer.customer_id, "unreadable customer id left out of the uplift");
            continue;
        };
        let mut due: Option<(NaiveDate, &str)> = None;
        for vin in &customer.vins {
            if !facts.visits_of(vin).any(|v| v.closed_on <= as_of) {
                continue;
            }
            let Some(vehicle) = repos.vehicles.get::<Vehicle>(vin).await? else {
                continue;
            };
            let Some(forecast) = compute_forecast(repos, policy, &vehicle.vehicle, as_of).await?
            else {
                continue;
            };
            let day = forecast.due_date;
            if window.due_from <= day && day <= window.due_to && due.is_none_or(|(d, _)| day < d) {
                due = Some((day, vin));
            }
        }
        let Some((_, vin)) = due else {
            continue;
        };
        let visited = customer
            .visits
            .iter()
            .any(|v| window.from <= v.closed_on && v.closed_on <= window.visits_until);
        population.push(CampaignCustomer {
            customer_id: customer.customer_id.clone(),
            control: in_control_group(&id, share),
            visited,
            tags: Tags {
                age_band: facts.age_band(vin, window.from),
                advisor: facts.advisor_before(vin, as_of),
                ..Tags::default()
            },
        });
    }
    Ok(population)
}
