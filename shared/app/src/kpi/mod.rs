//! What the marketer sees: the retention KPIs of a period and the control-group uplift, from
//! the store, through one entry point, [`compute`] (or [`compute_with_base`] when the caller
//! has loaded the [`Base`] already). The result, [`KpiReport`], is plain data (serde) for a
//! dashboard, and renders to the `kpi`, `funnel` and `uplift` report tables ([`tables`]).
//!
//! Every figure is broken down ([`Breakdown`]) into the total and the slices a fact has: the
//! car's age band, the message's stage and offer rule, and the service advisor (see each
//! module for what a figure counts and which slices apply):
//!
//! - [`retention`]: retention of 3+ year old cars over 13 months;
//! - [`funnel`]: sent → delivered / read → «Записаться» → held → confirmed → visited, no-shows,
//!   reminder → booking and the show rate, per stage and offer rule;
//! - [`reactivation`]: revenue and margin from customers back after more than 12 months;
//! - [`pricing`]: discount given against the margin the floor kept, bonus points granted;
//! - [`accuracy`]: the live forecast's error at each maintenance;
//! - [`churn`]: the «Уже обслужился» answers by reason;
//! - [`uplift`]: treatment against control by intention to treat, with Newcombe's interval.

pub mod accuracy;
pub mod breakdown;
pub mod churn;
pub mod delivery;
pub mod facts;
pub mod funnel;
pub mod pricing;
pub mod reactivation;
pub mod retention;
pub mod tables;
pub mod uplift;

use chrono::{Days, NaiveDate};
use domain::policy::Policy;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use store::repo::Repos;
use store::{Store, StoreError};

pub use accuracy::Accuracy;
pub use breakdown::{Breakdown, Dimension, Row};
pub use churn::Churn;
pub use funnel::Funnel;
pub use pricing::Pricing;
pub use reactivation::Reactivation;
pub use retention::{Retention, RetentionWindow};
pub use uplift::{CampaignWindow, UpliftFigures};

use crate::reports::Base;
use facts::Facts;

/// Visits count this many days after the campaign window unless asked otherwise.
pub const DEFAULT_GRACE_DAYS: u32 = 30;
/// A period without a start is this many days up to its end.
pub const DEFAULT_PERIOD_DAYS: u64 = 30;

/// What the KPIs are asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpiQuery {
    /// First day of the period (dealer time), included.
    pub from: NaiveDate,
    /// Last day of the period, included.
    pub to: NaiveDate,
    /// The report day: what the store holds is as of it (a window not over by then is still
    /// running).
    pub at: NaiveDate,
    /// Days after the period a visit still counts for the uplift.
    pub grace_days: u32,
}

impl KpiQuery {
    /// The period `from..=to` as of `to`, with the default grace days.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Self {
        KpiQuery {
            from,
            to,
            at: to,
            grace_days: DEFAULT_GRACE_DAYS,
        }
    }

    /// The period a report request names: without a start, the [`DEFAULT_PERIOD_DAYS`] up to
    /// its end.
    pub fn of_period(from: Option<NaiveDate>, to: NaiveDate, at: NaiveDate) -> Self {
        let from = from.unwrap_or_else(|| {
            to.checked_sub_days(Days::new(DEFAULT_PERIOD_DAYS - 1))
                .unwrap_or(to)
        });
        KpiQuery {
            from,
            to,
            at,
            grace_days: DEFAULT_GRACE_DAYS,
        }
    }
}

/// The KPIs of a period: plain data, every figure broken down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpiReport {
    pub query: KpiQuery,
    pub retention_window: RetentionWindow,
    pub retention: Breakdown<Retention>,
    /// With the stage-and-rule slices.
    pub funnel: Breakdown<Funnel>,
    pub reactivation: Breakdown<Reactivation>,
    pub pricing: Breakdown<Pricing>,
    pub accuracy: Breakdown<Accuracy>,
    pub churn: Breakdown<Churn>,
    pub campaign: CampaignWindow,
    pub uplift: Breakdown<UpliftFigures>,
}

impl KpiReport {
    /// Held over sent of the soft reminders: reminder → booking conversion.
    pub fn reminder_to_booking_percent(&self) -> Option<Decimal> {
        self.funnel
            .get(&Dimension::Stage(domain::triggers::Stage::SoftReminder))
            .and_then(|f| f.booking_percent)
    }
}

/// The KPIs of `query`'s period from the store (loads the base).
pub async fn compute<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    query: &KpiQuery,
) -> Result<KpiReport, StoreError> {
    let base = Base::load(repos, policy).await?;
    compute_with_base(repos, &base, policy, query).await
}

/// The KPIs of `query`'s period over a base loaded before.
pub async fn compute_with_base<S: Store>(
    repos: &Repos<S>,
    base: &Base,
    policy: &Policy,
    query: &KpiQuery,
) -> Result<KpiReport, StoreError> {
    let facts = Facts::load(repos, base, policy, query).await?;
    let (retention_window, retention) = retention::retention(&facts, query);
    let campaign = uplift::campaign_window(query, policy);
    let population = uplift::campaign_population(repos, &facts, &campaign).await?;
    Ok(KpiReport {
        query: *query,
        retention_window,
        retention,
        funnel: funnel::funnel(&facts, query.at),
        reactivation: reactivation::reactivation(&facts, query),
        pricing: pricing::pricing(&facts, query),
        accuracy: accuracy::accuracy(&facts, query),
        churn: churn::churn(&facts, query),
        campaign,
        uplift: uplift::uplift_of(&population),
    })
}

/// `part` of `whole` in percent, one decimal; `None` of nothing.
pub(crate) fn share_percent(part: u64, whole: u64) -> Option<Decimal> {
    (whole > 0)
        .then(|| (Decimal::from(part) * Decimal::ONE_HUNDRED / Decimal::from(whole)).round_dp(1))
}
