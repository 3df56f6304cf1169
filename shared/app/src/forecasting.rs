//! Re-forecasting one vehicle from its stored readings and visits.

use chrono::{DateTime, FixedOffset, NaiveDate};
use domain::policy::Policy;
use domain::triggers::LastVisit;
use domain::{ForecastInput, Forecaster, ServiceDue, ServicePoint, Urgency, Vehicle, VisitKind};
use serde::Deserialize;
use store::repo::Repos;
use store::{Store, StoreError};

/// Forecasts the vehicle's next maintenance as of `as_of` from everything stored about it and
/// stores the forecast. `None` when the readings do not allow a forecast (nothing is stored).
pub async fn forecast_vehicle<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    vehicle: &Vehicle,
    as_of: NaiveDate,
) -> Result<Option<ServiceDue>, StoreError> {
    let due = compute_forecast(repos, policy, vehicle, as_of).await?;
    if let Some(due) = &due {
        repos.forecasts.put(vehicle.vin().as_str(), due).await?;
    }
    Ok(due)
}

/// What a forecast needs of a stored visit (`domain::Visit`'s stored shape); the rest of it
/// (customer, vehicle, lines) is not decoded.
#[derive(Debug, Deserialize)]
struct ServiceMark {
    closed_at: DateTime<FixedOffset>,
    kind: VisitKind,
    odometer_km: u32,
    #[serde(default)]
    recommendations: Vec<DeclinedMark>,
}

/// What the night needs of a declined recommendation: how urgent it is.
#[derive(Debug, Deserialize)]
struct DeclinedMark {
    urgency: Urgency,
}

/// The vehicle's forecast as of `as_of` from its stored readings and visits, not stored.
pub async fn compute_forecast<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    vehicle: &Vehicle,
    as_of: NaiveDate,
) -> Result<Option<ServiceDue>, StoreError> {
    Ok(night_facts(repos, policy, vehicle, as_of).await?.due)
}

/// What the night learns of a vehicle: its forecast and the visit that opened its current cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct NightFacts {
    pub due: Option<ServiceDue>,
    /// The latest visit of any kind closed on or before the night's day.
    pub last_visit: Option<LastVisit>,
    /// The most urgent work declined at that visit, if any was.
    pub declined_work: Option<Urgency>,
}

/// The vehicle's forecast as of `as_of` (not stored) and its last visit, from one read of its
/// readings and one of its visits.
pub async fn night_facts<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    vehicle: &Vehicle,
    as_of: NaiveDate,
) -> Result<NightFacts, StoreError> {
    let vin = vehicle.vin().as_str();
    let tz = policy.time_zone();
    let readings: Vec<_> = repos
        .readings
        .for_vehicle(vin)
        .await?
        .into_iter()
        .filter(|r| r.date <= as_of)
        .collect();
    let visits = repos.visits.for_vehicle::<ServiceMark>(vin).await?;
    let last = visits
        .iter()
        .rev()
        .map(|v| &v.visit)
        .find(|v| v.closed_at.with_timezone(&tz).date_naive() <= as_of);
    let last_visit = last.map(|v| LastVisit {
        closed_at: v.closed_at.to_utc(),
        kind: v.kind,
    });
    let declined_work = last.and_then(|v| v.recommendations.iter().map(|r| r.urgency).min());
    let last_service = visits
        .iter()
        .rev()
        .map(|v| &v.visit)
        .map(|v| (v.closed_at.with_timezone(&tz).date_naive(), v))
        .filter(|(closed_on, _)| *closed_on <= as_of)
        .find(|(_, v)| v.kind.is_scheduled_maintenance())
        .map(|(closed_on, v)| ServicePoint {
            date: closed_on,
            km: v.odometer_km,
        });
    // A maintenance the customer told us was done elsewhere counts from its day when later.
    let elsewhere = readings
        .iter()
        .filter(|r| r.source == domain::ReadingSource::ServiceElsewhere)
        .max_by_key(|r| r.date)
        .map(|r| ServicePoint {
            date: r.date,
            km: r.km,
        });
    let last_service = match (last_service, elsewhere) {
        (Some(ours), Some(theirs)) if theirs.date <= ours.date => Some(ours),
        (ours, theirs) => theirs.or(ours),
    };
    let input = ForecastInput {
        readings: &readings,
        first_registration: Some(vehicle.first_registration()),
        last_service,
        as_of: Some(as_of),
    };
    let forecaster =
        Forecaster::new(policy.schedule_for(vehicle.make().as_str(), vehicle.model().as_str()));
    let due = match forecaster.forecast(&input) {
        Ok(due) => Some(due),
        Err(e) => {
            tracing::warn!(vehicle_id = %vin, error = %e, "no forecast");
            None
        }
    };
    Ok(NightFacts {
        due,
        last_visit,
        declined_work,
    })
}
