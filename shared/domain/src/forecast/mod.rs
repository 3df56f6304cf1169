//! Mileage forecaster: when does a vehicle's next scheduled maintenance fall due.

mod model;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use model::{add_months, forecast_due, ForecastParams, Forecaster};

/// Where an odometer reading came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadingSource {
    /// Read off the car at a dealer visit (work order).
    Visit,
    /// Told by the customer (messenger reply, phone call).
    CustomerReported,
    /// Told by the customer as the odometer at a maintenance done elsewhere: a reading and the
    /// service the next one counts from.
    ServiceElsewhere,
}

/// One odometer reading as recorded, not yet trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    pub date: NaiveDate,
    pub km: u32,
    pub source: ReadingSource,
}

/// Maintenance interval: every `km` kilometres or `months` months, whichever comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub km: u32,
    pub months: u32,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            km: 15_000,
            months: 12,
        }
    }
}

/// The last scheduled maintenance, from which the next one is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePoint {
    pub date: NaiveDate,
    pub km: u32,
}

/// Everything the forecaster may look at for one vehicle.
#[derive(Debug, Clone, Copy)]
pub struct ForecastInput<'a> {
    /// Readings in any order; implausible ones are flagged, not trusted.
    pub readings: &'a [Reading],
    pub first_registration: Option<NaiveDate>,
    /// The last maintenance; when absent the latest visit reading counts as one.
    pub last_service: Option<ServicePoint>,
    /// Readings after this date are ignored (the forecast "as of" a day).
    pub as_of: Option<NaiveDate>,
}

/// Which limit of the schedule makes the service due first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DueLimit {
    Time,
    Distance,
}

/// What the km/day estimate rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateBasis {
    /// The vehicle's own readings carry the estimate.
    History,
    /// Short history, shrunk toward the lifetime average since first registration.
    HistoryShrunkToLifetime,
    /// Short history, shrunk toward the fleet prior.
    HistoryShrunkToFleet,
    /// One reading: the lifetime average since first registration.
    Lifetime,
    /// Nothing to go on but the fleet prior.
    Fleet,
}

/// Why a reading was not trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ReadingFlag {
    /// Lower than an earlier trusted reading.
    Rollback { date: NaiveDate, km: u32 },
    /// Implies more kilometres per day than any car drives (extra digit, typo).
    ImpossibleJump { date: NaiveDate, km: u32 },
    /// A later run of readings restarts lower: the instrument cluster was replaced.
    ClusterReplaced { date: NaiveDate, km: u32 },
}

impl ReadingFlag {
    /// Whether the flag is about `reading` (its date and km).
    pub fn is_about(&self, reading: &Reading) -> bool {
        let (ReadingFlag::Rollback { date, km }
        | ReadingFlag::ImpossibleJump { date, km }
        | ReadingFlag::ClusterReplaced { date, km }) = *self;
        date == reading.date && km == reading.km
    }

    /// Whether the reading flagged was set aside (a rollback or an impossible jump), not moved
    /// onto a new cluster's scale.
    pub fn sets_aside(&self, reading: &Reading) -> bool {
        !matches!(self, ReadingFlag::ClusterReplaced { .. }) && self.is_about(reading)
    }
}

/// The forecast for one vehicle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceDue {
    pub km_per_day: f64,
    pub due_date: NaiveDate,
    /// Odometer at which the service is due, on the current instrument cluster.
    pub due_km: u32,
    /// 80 % interval of the due date.
    pub p10: NaiveDate,
    pub p90: NaiveDate,
    pub limit: DueLimit,
    pub basis: RateBasis,
    pub service: ServicePoint,
    pub time_due: NaiveDate,
    pub flags: Vec<ReadingFlag>,
    /// Short human explanation (English; rendered in Russian at the edge).
    pub reason: String,
}

impl ServiceDue {
    /// Width of the 80 % interval in days.
    pub fn interval_days(&self) -> i64 {
        (self.p90 - self.p10).num_days()
    }
}

/// Why there is no forecast.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForecastError {
    #[error("the vehicle has no odometer readings on or before the as-of date")]
    NoReadings,
}

#[cfg(test)]
mod tests;
