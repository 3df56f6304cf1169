//! The estimator: trusted readings, then a filter of the car's log pace over every stretch of its
//! history (a heavy-tailed fleet prior, drift and wholesale moves of the level), and the level's
//! uncertainty with the coming period's own turned into an 80 % interval of the due date.

mod dates;
mod reason;
mod trusted;

use chrono::NaiveDate;

use super::{
    DueLimit, ForecastError, ForecastInput, RateBasis, Reading, ReadingSource, Schedule,
    ServiceDue, ServicePoint,
};
use dates::{date_after, days_between};
use reason::describe;
use trusted::{crossing_day, km_at, reading_order, with_scratch, Point, Scratch, Work};

pub use dates::add_months;

/// The 90th percentile of the standard normal distribution.
const NORMAL_Q90: f64 = 1.281_551_565_5;
const DAYS_PER_YEAR: f64 = 365.25;

/// The spread of a dealer's fleet (log km/day): a taxi or a sales rep's car reaches 15,000 km
/// in four months, a city car in two years (the backtest protocol's description of the
/// fleet), taken as its 5–95 % range: ln(24 / 4) / (2 × 1.645).
pub const DEALER_FLEET_LOG_SD: f64 = 0.545;

/// The estimator's assumptions. Each is a physical constant or measured on odometer logs by
/// `autodrive calibrate`; none is tuned to a backtest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastParams {
    /// Where the fleet's km/day is centred (geometric mean of the cars' lifetime paces).
    pub fleet_km_per_day: f64,
    /// Spread of the cars' log km/day across the fleet: how little the fleet prior says
    /// (`DEALER_FLEET_LOG_SD`: a few private cars' logs are not a sample of a dealer's fleet).
    pub fleet_log_sd: f64,
    /// Variance of a stretch's log pace around the car's level that does not average out with
    /// its length (a month of holidays inside it, a trip).
    pub period_log_var: f64,
    /// Variance of a one-day log pace: days are lumpy (trips, weekends); over d days it is /d.
    /// It weighs short stretches in the history and widens the interval of a near due.
    pub daily_log_var: f64,
    /// How far a car's level wanders in a year (variance of the log pace's random walk):
    /// habits change, so old stretches count for less.
    pub drift_log_var: f64,
    /// How many cars the fleet figures were measured on: the fewer, the heavier the tails of
    /// the prior (Student-t with one degree of freedom fewer).
    pub fleet_vehicles: f64,
    /// How often a year a car's usage changes wholesale (a new job, a new owner): its level
    /// is then a new draw from the fleet. Measured as the rate that best predicts the logs'
    /// stretches.
    pub shift_rate: f64,
    /// Variance of the log ratio between the pace from first registration to the first
    /// reading and the car's pace in the year after it (first owner, time on the lot).
    pub lifetime_log_var: f64,
    /// A jump above this pace is not driving but a typo (km per day, at least one day counted).
    pub max_km_per_day: f64,
    /// A stopped car still gets a finite distance due; km/day never goes below this.
    pub min_km_per_day: f64,
}

impl Default for ForecastParams {
    /// Measured by `autodrive calibrate` on the public odometer logs (a test keeps them so).
    fn default() -> Self {
        ForecastParams {
            fleet_km_per_day: 32.8,
            fleet_log_sd: DEALER_FLEET_LOG_SD,
            period_log_var: 0.017,
            daily_log_var: 3.72,
            drift_log_var: 0.043,
            lifetime_log_var: 0.265,
            fleet_vehicles: 7.0,
            shift_rate: 0.2,
            max_km_per_day: 1_500.0,
            min_km_per_day: 0.1,
        }
    }
}

/// Forecasts the next maintenance of one vehicle under a schedule.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Forecaster {
    pub schedule: Schedule,
    pub params: ForecastParams,
}

/// Forecasts with the default schedule (15,000 km / 12 months) and assumptions.
pub fn forecast_due(input: &ForecastInput<'_>) -> Result<ServiceDue, ForecastError> {
    Forecaster::default().forecast(input)
}

impl Forecaster {
    pub fn new(schedule: Schedule) -> Self {
        Forecaster {
            schedule,
            params: ForecastParams::default(),
        }
    }

    pub fn forecast(&self, input: &ForecastInput<'_>) -> Result<ServiceDue, ForecastError> {
        with_scratch(|scratch| self.forecast_in(input, scratch))
    }

    fn forecast_in(
        &self,
        input: &ForecastInput<'_>,
        scratch: &mut Scratch,
    ) -> Result<ServiceDue, ForecastError> {
        let seen = |r: &&Reading| input.as_of.is_none_or(|as_of| r.date <= as_of);
        // A log comes sorted, as of its last day, as a rule: it is read where it is.
        let readings: &[Reading] = if input.readings.is_sorted_by_key(reading_order)
            && input.readings.iter().all(|r| seen(&r))
        {
            input.readings
        } else {
            let own = &mut scratch.readings;
            own.clear();
            own.extend(input.readings.iter().filter(seen));
            own.sort_unstable_by_key(reading_order);
            own
        };
        if readings.is_empty() {
            return Err(ForecastError::NoReadings);
        }
        let origin = readings[0].date;
        let day = |d: NaiveDate| days_between(origin, d);
        let mut flags = Vec::new();
        let points: &[Point] = self.trusted_points(readings, origin, &mut flags, &mut scratch.work);

        let (service_day, service_km) = self.service_anchor(input.last_service, points, origin);
        let service_date = date_after(origin, service_day);
        let registration = input
            .first_registration
            .map(day)
            .filter(|&reg| points[0].day - reg >= 30 && points[0].km >= 0.0)
            .filter(|&reg| {
                points[0].km / (points[0].day - reg) as f64 <= self.params.max_km_per_day
            });

        let time_due = add_months(service_date, self.schedule.months);
        let time_due_day = day(time_due);
        let target_km = service_km + f64::from(self.schedule.km);
        let estimate = self.estimate_rate(points, registration);
        let last = *points.last().unwrap_or(&points[0]);

        let distance_due_day = |rate: f64| -> f64 {
            if last.km >= target_km {
                crossing_day(points, target_km).unwrap_or(last.day as f64)
            } else {
                last.day as f64 + (target_km - last.km) / rate
            }
        };
        let point_day = distance_due_day(estimate.km_per_day);
        // The pace still to be driven averages its day-to-day noise over the days left: a due
        // a month away is less certain in km/day than one a year away.
        let horizon = (point_day - last.day as f64).max(1.0);
        let log_sd = (estimate.log_sd.powi(2) + self.params.daily_log_var / horizon).sqrt();
        let spread = (NORMAL_Q90 * log_sd).exp();
        let early_day = distance_due_day(estimate.km_per_day * spread);
        let late_day = distance_due_day(estimate.km_per_day / spread);
        let clamp = |d: f64| (d.round() as i64).min(time_due_day);

        let due_day = clamp(point_day);
        let limit = if due_day >= time_due_day {
            DueLimit::Time
        } else {
            DueLimit::Distance
        };
        let offset = last.km - last.shown;
        let due_km = (target_km - offset).round().clamp(0.0, f64::from(u32::MAX)) as u32;
        // The time limit is the due date of most cars: its date is known.
        let to_date = |d: i64| {
            if d == time_due_day {
                time_due
            } else {
                date_after(origin, d)
            }
        };
        let due_date = to_date(due_day);
        let reason = describe(
            limit,
            service_date,
            self.schedule,
            &estimate,
            points.len(),
            (last.day - points[0].day).max(0),
            flags.len(),
        );
        Ok(ServiceDue {
            km_per_day: estimate.km_per_day,
            due_date,
            due_km,
            p10: to_date(clamp(early_day).min(due_day)),
            p90: to_date(clamp(late_day).max(due_day)),
            limit,
            basis: estimate.basis,
            service: ServicePoint {
                date: service_date,
                km: (service_km - offset).round().max(0.0) as u32,
            },
            time_due,
            flags,
            reason,
        })
    }

    /// The last maintenance on the continuous scale: as given (its km checked against the
    /// trusted curve), else the latest visit reading, else the latest reading.
    fn service_anchor(
        &self,
        given: Option<ServicePoint>,
        points: &[Point],
        origin: NaiveDate,
    ) -> (i64, f64) {
        match given {
            Some(s) => {
                let d = days_between(origin, s.date);
                let km = match points.iter().find(|p| p.day == d) {
                    Some(p) => p.km,
                    None => km_at(points, d, self.average_pace(points)).unwrap_or(f64::from(s.km)),
                };
                (d, km)
            }
            None => {
                let p = points
                    .iter()
                    .rev()
                    .find(|p| p.source == ReadingSource::Visit)
                    .unwrap_or(&points[points.len() - 1]);
                (p.day, p.km)
            }
        }
    }

    /// The km/day for the rest of the current service period, from a local-level model of the
    /// car's log pace, filtered over its history in time order:
    ///
    /// - the level starts at the fleet prior on the car's first day: a Student-t (heavy
    ///   tails: the fleet has taxis and garage queens) centred where the measured cars drive;
    /// - every stretch between two trusted readings observes the level of its middle with the
    ///   noise of its length (`daily_log_var / days`): a short stretch is noisier, never
    ///   ignored, and splitting a stretch by an extra reading on the same line adds next to
    ///   nothing (each stretch weighs a possible change of habits, so not exactly nothing);
    /// - the stretch from first registration (0 km) to the first reading is evidence with its
    ///   own measured noise (`lifetime_log_var`: first owner, time on the lot);
    /// - between stretches the level drifts (`drift_log_var` a year: habits change, so recent
    ///   stretches count most) and may move wholesale (`shift_rate` a year: a new job, a new
    ///   owner), weighed by how far the next stretch lands.
    ///
    /// The level is carried to the last reading; the period still to drive deviates from it by
    /// its own measured figure (`period_log_var` and the day-to-day noise of the days left),
    /// which widens the interval, not the point.
    fn estimate_rate(&self, points: &[Point], registration: Option<i64>) -> RateEstimate {
        let p = &self.params;
        let now = points.last().map_or(0, |q| q.day);
        let first = points.first().copied();
        let (mixture, stretches) = self.filter(points, registration, now, |_| ());
        let lifetime = registration.is_some() && first.is_some();
        let level = mixture.level();
        // The level as of the last reading; the period still to drive deviates from it by
        // `period_log_var` plus its days' noise (added by the caller, which knows the days).
        let var = level.var
            + p.drift_log_var / DAYS_PER_YEAR * (now as f64 - level.day).max(0.0)
            + p.period_log_var;
        let observed_days = (now - first.map_or(now, |q| q.day)) as f64;
        let basis = match (stretches > 0, lifetime) {
            (false, false) => RateBasis::Fleet,
            (false, true) => RateBasis::Lifetime,
            (true, _) if observed_days >= DAYS_PER_YEAR => RateBasis::History,
            (true, true) => RateBasis::HistoryShrunkToLifetime,
            (true, false) => RateBasis::HistoryShrunkToFleet,
        };
        RateEstimate {
            km_per_day: level.mean.exp().max(p.min_km_per_day),
            log_sd: var.sqrt(),
            basis,
        }
    }

    /// Runs the level filter over the stretches of `points` (and the one since registration):
    /// the filtered mixture and how many stretches of the car's own history it saw. `density`
    /// is given the density with which the filter predicted each stretch, in time order.
    fn filter(
        &self,
        points: &[Point],
        registration: Option<i64>,
        now: i64,
        mut density: impl FnMut(f64),
    ) -> (Mixture, usize) {
        let p = &self.params;
        let first = points.first().copied();
        let log_pace = |km: f64, days: f64| (km / days).max(p.min_km_per_day).ln();
        let start = registration.or(first.map(|q| q.day)).unwrap_or(now);
        let drift = Drift {
            per_day: p.drift_log_var / DAYS_PER_YEAR,
            shift_per_day: p.shift_rate / DAYS_PER_YEAR,
            shift_var: 2.0 * p.fleet_log_sd.powi(2),
        };
        let n = p.fleet_vehicles.max(2.0);
        let mut mixture = Mixture::new(
            p.fleet_km_per_day.max(p.min_km_per_day).ln(),
            p.fleet_log_sd.powi(2) * (1.0 + 1.0 / n),
            n - 1.0,
            start as f64,
        );
        let mut stretches = 0usize;
        if let (Some(reg), Some(q)) = (registration, first) {
            let days = (q.day - reg) as f64;
            density(mixture.observe(
                log_pace(q.km, days),
                p.lifetime_log_var,
                (reg + q.day) as f64 / 2.0,
                drift,
            ));
        }
        for w in points.windows(2) {
            let days = (w[1].day - w[0].day).max(1) as f64;
            density(mixture.observe(
                log_pace(w[1].km - w[0].km, days),
                p.daily_log_var / days,
                (w[0].day + w[1].day) as f64 / 2.0,
                drift,
            ));
            stretches += 1;
        }
        (mixture, stretches)
    }

    /// How well the filter predicts each stretch between consecutive trusted readings from
    /// the ones before it (log density summed): what `autodrive calibrate` maximises to
    /// measure `shift_rate`.
    pub fn stretch_log_likelihood(
        &self,
        readings: &[Reading],
        first_registration: Option<NaiveDate>,
    ) -> f64 {
        let mut readings = readings.to_vec();
        if readings.is_empty() {
            return 0.0;
        }
        readings.sort_unstable_by_key(reading_order);
        let origin = readings[0].date;
        let mut flags = Vec::new();
        let mut work = Work::default();
        let points = self.trusted_points(&readings, origin, &mut flags, &mut work);
        let registration = first_registration
            .map(|d| days_between(origin, d))
            .filter(|&reg| points[0].day - reg >= 30 && points[0].km > 0.0);
        let now = points.last().map_or(0, |q| q.day);
        let mut log_likelihood = 0.0;
        self.filter(points, registration, now, |d| log_likelihood += d.ln());
        log_likelihood
    }
}

/// The t prior's mixing distribution in four bins, tails included: the bins hold 5, 45, 45
/// and 5 % of its probability and are represented by the standard normal quantile of their
/// middle (2.5, 27.5, 72.5 and 97.5 %).
const MIXING_BINS: [(f64, f64); 4] = [
    (-1.959_963_985_0, 0.05),
    (-0.597_760_126_6, 0.45),
    (0.597_760_126_6, 0.45),
    (1.959_963_985_0, 0.05),
];

/// 1 / sqrt(2 pi).
const FRAC_1_SQRT_TAU: f64 = 0.398_942_280_401_432_7;

/// A mixture weight below this is a scale the car's history has ruled out.
const NEGLIGIBLE_WEIGHT: f64 = 1e-9;

/// The filtered log level of a car's pace and its variance, as of `day`.
#[derive(Debug, Clone, Copy)]
struct Level {
    mean: f64,
    var: f64,
    day: f64,
}

/// How a car's level changes between stretches.
#[derive(Debug, Clone, Copy)]
struct Drift {
    per_day: f64,
    shift_per_day: f64,
    shift_var: f64,
}

/// The fleet prior as a Student-t (the predictive of a new car's level from `n` measured
/// cars: heavy tails, so a car far from the fleet is believed once its own stretches say so),
/// carried as four Gaussian filters whose scales and prior weights follow the t's mixing
/// distribution; each stretch reweighs them by how well they predicted it.
struct Mixture {
    means: [f64; BINS],
    vars: [f64; BINS],
    weights: [f64; BINS],
    /// The latest day observed (every filter has seen the same days).
    day: f64,
}

/// The number of scale bins of the fleet prior.
const BINS: usize = MIXING_BINS.len();

impl Mixture {
    fn new(mean: f64, scale_var: f64, dof: f64, day: f64) -> Self {
        // Wilson–Hilferty: the chi-square quantile of `dof`, divided by `dof`, is the
        // precision multiplier of a bin.
        let c = 2.0 / (9.0 * dof);
        let sqrt_c = c.sqrt();
        Mixture {
            means: [mean; BINS],
            vars: MIXING_BINS.map(|(z, _)| scale_var / (1.0 - c + z * sqrt_c).max(0.05).powi(3)),
            weights: MIXING_BINS.map(|(_, share)| share),
            day,
        }
    }

    /// Takes in one stretch's log pace `y` with its noise, observed at `day` (its middle);
    /// returns the density with which the mixture predicted it.
    ///
    /// Between two stretches each filter's level drifts (`drift.per_day`) and, at
    /// `drift.shift_per_day`, may have moved wholesale (a new job, a new owner: a new draw from
    /// the fleet, variance `shift_var`). Both hypotheses are updated and merged by their
    /// likelihoods, so a stretch far from the level moves it almost all the way, a close one is
    /// averaged in.
    fn observe(&mut self, y: f64, noise: f64, day: f64, drift: Drift) -> f64 {
        let dt = (day - self.day).max(0.0);
        self.day = self.day.max(day);
        // One chance of a move for all the filters.
        let shift = -(-drift.shift_per_day * dt).exp_m1();
        let stay_share = 1.0 - shift;
        let drifted = drift.per_day * dt;
        // Each filter in lockstep, so the arithmetic of the four runs side by side; a filter
        // whose weight is negligible is computed and then left as it was.
        let stay = self.vars.map(|v| v + drifted);
        let moved = stay.map(|s| s + drift.shift_var);
        let gap = self.means.map(|m| y - m);
        // Precisions of the two predictions; the normal density is sqrt(p) e^(-gap² p / 2),
        // its 1 / sqrt(2 pi) applied once to the total.
        let p0 = stay.map(|s| 1.0 / (s + noise));
        let p1 = moved.map(|m| 1.0 / (m + noise));
        let half_square = gap.map(|g| -0.5 * g * g);
        let e0: [f64; BINS] = std::array::from_fn(|i| (half_square[i] * p0[i]).exp());
        let e1: [f64; BINS] = std::array::from_fn(|i| (half_square[i] * p1[i]).exp());
        let l0: [f64; BINS] = std::array::from_fn(|i| stay_share * e0[i] * p0[i].sqrt());
        let l1: [f64; BINS] = std::array::from_fn(|i| shift * e1[i] * p1[i].sqrt());
        let both: [f64; BINS] = std::array::from_fn(|i| l0[i] + l1[i]);
        let w: [f64; BINS] =
            std::array::from_fn(|i| if both[i] > 0.0 { l1[i] / both[i] } else { 1.0 });
        let m0: [f64; BINS] = std::array::from_fn(|i| self.means[i] + stay[i] * p0[i] * gap[i]);
        let m1: [f64; BINS] = std::array::from_fn(|i| self.means[i] + moved[i] * p1[i] * gap[i]);
        let v0: [f64; BINS] = std::array::from_fn(|i| stay[i] * noise * p0[i]);
        let v1: [f64; BINS] = std::array::from_fn(|i| moved[i] * noise * p1[i]);
        let merged: [f64; BINS] = std::array::from_fn(|i| (1.0 - w[i]) * m0[i] + w[i] * m1[i]);
        let var: [f64; BINS] = std::array::from_fn(|i| {
            (1.0 - w[i]) * (v0[i] + (m0[i] - merged[i]).powi(2))
                + w[i] * (v1[i] + (m1[i] - merged[i]).powi(2))
        });
        let mut total = 0.0;
        for i in 0..BINS {
            if self.weights[i] < NEGLIGIBLE_WEIGHT {
                // A scale the history has ruled out no longer moves the mixture.
                self.weights[i] = 0.0;
            } else {
                self.means[i] = merged[i];
                self.vars[i] = var[i];
                self.weights[i] *= both[i] * FRAC_1_SQRT_TAU;
            }
            total += self.weights[i];
        }
        if total > 0.0 && total.is_finite() {
            self.weights.iter_mut().for_each(|w| *w /= total);
            total
        } else {
            self.weights = MIXING_BINS.map(|(_, share)| share);
            f64::MIN_POSITIVE
        }
    }

    /// The merged level: mean, variance and the latest day observed.
    fn level(&self) -> Level {
        let mean: f64 = self
            .means
            .iter()
            .zip(self.weights)
            .map(|(m, w)| w * m)
            .sum();
        let var = self
            .means
            .iter()
            .zip(&self.vars)
            .zip(self.weights)
            .map(|((m, v), w)| w * (v + (m - mean).powi(2)))
            .sum();
        Level {
            mean,
            var,
            day: self.day,
        }
    }
}

struct RateEstimate {
    km_per_day: f64,
    log_sd: f64,
    basis: RateBasis,
}
