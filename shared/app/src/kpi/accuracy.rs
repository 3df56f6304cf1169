//! Live forecast accuracy. A visit re-forecasts its vehicle at once, so the forecast it is to be
//! judged against would be gone: storing a visit keeps the vehicle's stored forecast from
//! before it on the visit record ([`ForecastBefore`]; the webhook's and the import's path,
//! `crate::visits::store_visits`). The KPI compares it with each scheduled maintenance closed
//! in the period (a repair is not the event the forecast predicts): the mean absolute error in
//! days and km, the mean signed error in days (positive: the car came later than forecast), and
//! the share within 14 days.

use std::collections::HashMap;

use chrono::NaiveDate;
use domain::{ServiceDue, Visit};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use store::repo::Repos;
use store::{Store, StoreError};

use super::breakdown::{Breakdown, Figures, Tags, Tally};
use super::facts::Facts;
use super::{share_percent, KpiQuery};

/// Days within which a forecast counts as on time.
pub const ON_TIME_DAYS: i64 = 14;

/// The vehicle's forecast before a visit, as kept on the visit record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForecastBefore {
    pub due_date: NaiveDate,
    pub due_km: u32,
    /// The 80 % interval of the due date.
    pub p10: NaiveDate,
    pub p90: NaiveDate,
}

impl From<&ServiceDue> for ForecastBefore {
    fn from(due: &ServiceDue) -> Self {
        ForecastBefore {
            due_date: due.due_date,
            due_km: due.due_km,
            p10: due.p10,
            p90: due.p90,
        }
    }
}

/// The stored forecasts of the vehicles of `visits`, read before the visits are stored.
pub(crate) async fn forecasts_before_visits<S: Store>(
    repos: &Repos<S>,
    visits: &[&Visit],
) -> Result<HashMap<String, ServiceDue>, StoreError> {
    let mut forecasts = HashMap::new();
    for visit in visits {
        let vin = visit.vehicle().vin().as_str();
        if forecasts.contains_key(vin) {
            continue;
        }
        if let Some(due) = repos.forecasts.get(vin).await? {
            forecasts.insert(vin.to_owned(), due);
        }
    }
    Ok(forecasts)
}

/// Keeps each vehicle's forecast from before on its earliest visit of `visits`, when that
/// visit was stored now (`stored`, in the order of `visits`) and closed after the maintenance
/// the forecast counts from: a forecast made after the visit (an older work order imported
/// late) is not one to judge it by, and the later visits of a batch had another forecast
/// before them, which was never stored.
pub(crate) async fn note_forecasts_before<S: Store>(
    repos: &Repos<S>,
    time_zone: chrono_tz::Tz,
    visits: &[&Visit],
    stored: &[bool],
    before: &HashMap<String, ServiceDue>,
) -> Result<(), StoreError> {
    for (vin, due) in before {
        let first = visits
            .iter()
            .zip(stored)
            .filter(|(v, _)| v.vehicle().vin().as_str() == vin)
            .min_by_key(|(v, _)| v.closed_at());
        let Some((visit, true)) = first else {
            continue;
        };
        let closed_on = visit.closed_on(time_zone);
        if closed_on <= due.service.date {
            continue;
        }
        repos
            .visits
            .note_forecast_before(
                vin,
                closed_on,
                visit.work_order_id().as_str(),
                &ForecastBefore::from(due),
            )
            .await?;
    }
    Ok(())
}

/// Forecast errors at the scheduled maintenances of the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    /// Maintenance visits with a forecast from before them.
    pub visits: u64,
    /// Mean |actual day − forecast due date|.
    pub mae_days: Option<Decimal>,
    /// Mean (actual day − forecast due date): positive when cars come later than forecast.
    pub mean_error_days: Option<Decimal>,
    /// Mean |odometer at the visit − forecast due km|.
    pub mae_km: Option<Decimal>,
    /// Visits within [`ON_TIME_DAYS`] of the forecast due date.
    pub within_14_days: u64,
    pub within_14_days_percent: Option<Decimal>,
    /// Visits inside the forecast's 80 % interval.
    pub within_interval: u64,
    pub within_interval_percent: Option<Decimal>,
    #[serde(skip)]
    abs_days: i64,
    #[serde(skip)]
    signed_days: i64,
    #[serde(skip)]
    abs_km: i64,
}

impl Accuracy {
    /// Adds one maintenance visit closed on `day` at `km` against its earlier forecast.
    pub(super) fn add(&mut self, forecast: &ForecastBefore, day: NaiveDate, km: u32) {
        let days = (day - forecast.due_date).num_days();
        self.visits += 1;
        self.abs_days += days.abs();
        self.signed_days += days;
        self.abs_km += (i64::from(km) - i64::from(forecast.due_km)).abs();
        self.within_14_days += u64::from(days.abs() <= ON_TIME_DAYS);
        self.within_interval += u64::from(forecast.p10 <= day && day <= forecast.p90);
    }
}

fn mean(sum: i64, n: u64) -> Option<Decimal> {
    (n > 0).then(|| (Decimal::from(sum) / Decimal::from(n)).round_dp(1))
}

impl Figures for Accuracy {
    fn finish(&mut self) {
        self.mae_days = mean(self.abs_days, self.visits);
        self.mean_error_days = mean(self.signed_days, self.visits);
        self.mae_km = mean(self.abs_km, self.visits);
        self.within_14_days_percent = share_percent(self.within_14_days, self.visits);
        self.within_interval_percent = share_percent(self.within_interval, self.visits);
    }
}

/// The errors at the scheduled maintenances closed in the period, sliced by the car's age band
/// and the advisor on the visit.
pub fn accuracy(facts: &Facts<'_>, query: &KpiQuery) -> Breakdown<Accuracy> {
    let mut tally = Tally::<Accuracy>::default();
    for customer in &facts.base.customers {
        for visit in &customer.visits {
            if visit.closed_on < query.from
                || visit.closed_on > query.to
                || !visit.kind.is_scheduled_maintenance()
            {
                continue;
            }
            let Some(before) = facts.forecasts_before.get(&visit.work_order_id) else {
                continue;
            };
            let tags = Tags {
                age_band: facts.age_band(&visit.vin, visit.closed_on),
                advisor: visit.advisor_id.clone(),
                ..Tags::default()
            };
            tally.add(&tags, |a| a.add(before, visit.closed_on, visit.odometer_km));
        }
    }
    tally.finish()
}
