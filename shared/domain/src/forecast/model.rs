//! The estimator: trusted readings, a robust (weighted-median) km/day level shrunk toward a prior,
//! and a Laplace (heavy-tailed) log-rate uncertainty turned into an 80 % interval of the due date.

use chrono::{Datelike, Days, Months, NaiveDate};

use super::{
    DueLimit, ForecastError, ForecastInput, RateBasis, Reading, ReadingFlag, ReadingSource,
    Schedule, ServiceDue, ServicePoint,
};

/// The 90th percentile of a Laplace distribution of unit variance: ln 5 / sqrt 2.
const LAPLACE_Q90: f64 = 1.138_044_461_8;
const DAYS_PER_YEAR: f64 = 365.25;

/// The estimator's assumptions, each a physical or statistical quantity, not a tuned knob.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastParams {
    /// Fleet prior km/day when nothing better is known (the schedule's own pace, 15,000 km/year).
    pub fleet_km_per_day: f64,
    /// Spread of km/day across the fleet (log scale): how little the fleet prior says.
    pub fleet_log_sd: f64,
    /// Spread of one service period's km/day around the car's own level (log scale) that does
    /// not average out with the days (a year of a new job, a year mostly parked), before the
    /// car's own history says otherwise. Measured on public odometer logs: the log ratio of two
    /// consecutive h-day paces has variance ≈ 2 (0.012 + 4 / h) for h from 60 to 500 days.
    pub period_log_sd: f64,
    /// Pseudo-count of that prior spread when pooled with the car's own periods.
    pub period_prior_weight: f64,
    /// Variance of a one-day log pace: days are lumpy (trips, weekends); over d days it is /d.
    /// It weighs short periods in the history and widens the interval of a near due (the same
    /// measurement as `period_log_sd`).
    pub daily_log_var: f64,
    /// How far a car's level wanders per year (log scale): old periods count for less.
    pub drift_log_sd: f64,
    /// How long a period keeps counting toward the car's level: its weight (its days) decays
    /// by a factor e over this many days since it ended-to-middle, so habits two years ago
    /// count a third of this year's.
    pub memory_days: f64,
    /// How many days of the car's own driving the fleet prior is worth in the level.
    pub prior_days: f64,
    /// Readings closer together than this are folded into one period of the history.
    pub min_period_days: i64,
    /// A jump above this pace is not driving but a typo (km per day, at least one day counted).
    pub max_km_per_day: f64,
    /// A stopped car still gets a finite distance due; km/day never goes below this.
    pub min_km_per_day: f64,
}

impl Default for ForecastParams {
    fn default() -> Self {
        ForecastParams {
            fleet_km_per_day: 15_000.0 / DAYS_PER_YEAR,
            fleet_log_sd: 0.6,
            period_log_sd: 0.12,
            period_prior_weight: 3.0,
            daily_log_var: 4.0,
            drift_log_sd: 0.2,
            memory_days: 730.0,
            prior_days: 120.0,
            min_period_days: 180,
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

/// A trusted point on the vehicle's odometer curve, km on one continuous scale.
#[derive(Debug, Clone, Copy)]
struct Point {
    day: i64,
    km: f64,
    /// The km shown on the cluster that produced this point.
    shown: f64,
    source: ReadingSource,
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
        let mut readings: Vec<Reading> = match input.as_of {
            Some(as_of) => input
                .readings
                .iter()
                .filter(|r| r.date <= as_of)
                .copied()
                .collect(),
            None => input.readings.to_vec(),
        };
        let mut flags = Vec::new();
        if readings.is_empty() {
            return Err(ForecastError::NoReadings);
        }
        readings.sort_unstable_by_key(|r| (r.date, r.km));
        let origin = readings[0].date;
        let day = |d: NaiveDate| days_between(origin, d);

        let trusted = self.trusted_chain(&readings, origin, &mut flags);
        let points = self.continuous_points(&readings, &trusted, origin, &mut flags);

        let (service_day, service_km) = self.service_anchor(input.last_service, &points, origin);
        let service_date = date_after(origin, service_day);
        let registration = input
            .first_registration
            .map(day)
            .filter(|&reg| points[0].day - reg >= 30 && points[0].km >= 0.0)
            .filter(|&reg| {
                points[0].km / (points[0].day - reg) as f64 <= self.params.max_km_per_day
            });

        let estimate = self.estimate_rate(&points, registration, service_day, service_km);
        let last = *points.last().unwrap_or(&points[0]);
        let time_due = add_months(service_date, self.schedule.months);
        let time_due_day = day(time_due);

        let target_km = service_km + f64::from(self.schedule.km);
        let distance_due_day = |rate: f64| -> f64 {
            if last.km >= target_km {
                crossing_day(&points, target_km).unwrap_or(last.day as f64)
            } else {
                last.day as f64 + (target_km - last.km) / rate
            }
        };
        let point_day = distance_due_day(estimate.km_per_day);
        // The pace still to be driven averages its day-to-day noise over the days left: a due
        // a month away is less certain in km/day than one a year away.
        let horizon = (point_day - last.day as f64).max(1.0);
        let log_sd = (estimate.log_sd.powi(2) + self.params.daily_log_var / horizon).sqrt();
        let spread = (LAPLACE_Q90 * log_sd).exp();
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
        let to_date = |d: i64| date_after(origin, d);
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

    /// Indices of the longest run of readings that a car can actually have produced:
    /// never decreasing, never faster than `max_km_per_day`. Everything else is flagged.
    fn trusted_chain(
        &self,
        readings: &[Reading],
        origin: NaiveDate,
        flags: &mut Vec<ReadingFlag>,
    ) -> Vec<usize> {
        let n = readings.len();
        // (length of the best run ending here, the reading before it in that run)
        let mut best: Vec<(u32, u32)> = vec![(1, u32::MAX); n];
        let days: Vec<(i32, u32)> = readings
            .iter()
            .map(|r| (r.date.num_days_from_ce(), r.km))
            .collect();
        for i in 0..n {
            for j in 0..i {
                if self.plausible_pace(days[j], days[i]) && best[j].0 + 1 >= best[i].0 {
                    best[i] = (best[j].0 + 1, j as u32);
                }
            }
        }
        let mut end = 0;
        for i in 0..n {
            let longer = best[i].0 > best[end].0;
            let as_long_but_lower = best[i].0 == best[end].0 && readings[i].km <= readings[end].km;
            if longer || as_long_but_lower {
                end = i;
            }
        }
        let mut chain = Vec::with_capacity(best[end].0 as usize);
        let mut i = end;
        loop {
            chain.push(i);
            if best[i].1 == u32::MAX {
                break;
            }
            i = best[i].1 as usize;
        }
        chain.reverse();
        self.drop_spikes(readings, &mut chain, origin, flags);
        if chain.len() == n {
            return chain;
        }
        let mut next = chain.iter().peekable();
        for (i, r) in readings.iter().enumerate() {
            if next.next_if(|&&c| c == i).is_some() || flags.iter().any(|f| flag_is(f, r)) {
                continue;
            }
            let below = chain
                .iter()
                .any(|&c| readings[c].date <= r.date && readings[c].km > r.km);
            flags.push(if below {
                ReadingFlag::Rollback {
                    date: r.date,
                    km: r.km,
                }
            } else {
                ReadingFlag::ImpossibleJump {
                    date: r.date,
                    km: r.km,
                }
            });
        }
        chain
    }

    fn plausible_step(&self, from: &Reading, to: &Reading) -> bool {
        self.plausible_pace(
            (from.date.num_days_from_ce(), from.km),
            (to.date.num_days_from_ce(), to.km),
        )
    }

    /// Whether a car can go from `(day, km)` to `(day, km)`: never back, never too fast.
    fn plausible_pace(&self, from: (i32, u32), to: (i32, u32)) -> bool {
        let days = (to.0 - from.0).max(1) as f64;
        to.1 >= from.1 && f64::from(to.1 - from.1) <= self.params.max_km_per_day * days
    }

    /// Drops an interior reading that makes a spike or a dip: the pace into it and out of it
    /// differ more than tenfold while skipping it gives a pace close to the car's usual one.
    fn drop_spikes(
        &self,
        readings: &[Reading],
        chain: &mut Vec<usize>,
        _origin: NaiveDate,
        flags: &mut Vec<ReadingFlag>,
    ) {
        if chain.len() < 4 {
            return;
        }
        let pace = |a: &Reading, b: &Reading| {
            f64::from(b.km - a.km) / days_between(a.date, b.date).max(1) as f64
        };
        let first = &readings[chain[0]];
        let last = &readings[chain[chain.len() - 1]];
        let usual = pace(first, last).max(self.params.min_km_per_day);
        let mut k = 1;
        while k + 1 < chain.len() {
            let (a, b, c) = (
                &readings[chain[k - 1]],
                &readings[chain[k]],
                &readings[chain[k + 1]],
            );
            let (into, out) = (pace(a, b).max(0.1), pace(b, c).max(0.1));
            let skip = pace(a, c);
            let lopsided = into / out > 10.0 || out / into > 10.0;
            let skip_is_usual = skip > usual / 3.0 && skip < usual * 3.0;
            let strays = (into.max(out) > usual * 5.0) || (into.min(out) < usual / 5.0);
            let long_enough =
                days_between(a.date, b.date) >= 7 && days_between(b.date, c.date) >= 7;
            if lopsided && skip_is_usual && strays && long_enough {
                flags.push(ReadingFlag::ImpossibleJump {
                    date: b.date,
                    km: b.km,
                });
                chain.remove(k);
            } else {
                k += 1;
            }
        }
    }

    /// Trusted points on one continuous km scale, one per day. A later run of two or more
    /// consistent readings that restarts below the trusted run is a replaced instrument
    /// cluster: it is shifted up to continue the curve.
    fn continuous_points(
        &self,
        readings: &[Reading],
        chain: &[usize],
        origin: NaiveDate,
        flags: &mut Vec<ReadingFlag>,
    ) -> Vec<Point> {
        let day = |d: NaiveDate| days_between(origin, d);
        let mut points: Vec<Point> = Vec::with_capacity(chain.len());
        for &i in chain {
            let r = readings[i];
            let km = f64::from(r.km);
            push_daily(
                &mut points,
                Point {
                    day: day(r.date),
                    km,
                    shown: km,
                    source: r.source,
                },
            );
        }
        let last_day = points.last().map_or(0, |p| p.day);
        let later: Vec<Reading> = readings
            .iter()
            .filter(|r| day(r.date) > last_day && flags.iter().any(|f| flag_is(f, r)))
            .copied()
            .collect();
        if later.len() >= 2 && later.windows(2).all(|w| self.plausible_step(&w[0], &w[1])) {
            let rate = self.average_pace(&points);
            let end = *points.last().unwrap_or(&points[0]);
            let first = later[0];
            let shift = end.km + rate * (day(first.date) - end.day) as f64 - f64::from(first.km);
            flags.retain(|f| !later.iter().any(|r| flag_is(f, r)));
            flags.push(ReadingFlag::ClusterReplaced {
                date: first.date,
                km: first.km,
            });
            for r in later {
                let shown = f64::from(r.km);
                push_daily(
                    &mut points,
                    Point {
                        day: day(r.date),
                        km: shown + shift,
                        shown,
                        source: r.source,
                    },
                );
            }
        }
        points
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

    /// Average km/day of the trusted curve, for bridging gaps (cluster swaps, off-curve dates).
    fn average_pace(&self, points: &[Point]) -> f64 {
        match (points.first(), points.last()) {
            (Some(a), Some(b)) if b.day > a.day => (b.km - a.km) / (b.day - a.day) as f64,
            _ => self.params.fleet_km_per_day,
        }
        .max(self.params.min_km_per_day)
    }

    /// The km/day for the rest of the current service period, on a period-effect model: each
    /// service period drives at the car's own level times a period effect (log-normal, spread
    /// `period_log_sd`); within a period, days vary around it.
    ///
    /// The car's level is the weighted median of the log pace of its completed periods (and of
    /// the stretch from first registration at 0 km) and of the fleet prior: the most likely
    /// level when period effects are heavy-tailed (a road-trip year, a year in the garage), so
    /// one unusual period cannot drag the forecast. Each period weighs its days, fading with
    /// age (`memory_days`); the prior weighs `prior_days`. The level's uncertainty comes from
    /// the period effect, within-period noise and the drift since each period. Readings
    /// since the last service reveal the current period's own effect and are trusted in
    /// proportion to how many days they cover.
    fn estimate_rate(
        &self,
        points: &[Point],
        registration: Option<i64>,
        service_day: i64,
        service_km: f64,
    ) -> RateEstimate {
        let p = &self.params;
        let now = points.last().map_or(service_day, |q| q.day);
        let mut blocks = Blocks::default();
        if let (Some(reg), Some(first)) = (registration, points.first()) {
            blocks.push(first.km, first.day - reg, (reg + first.day) / 2);
        }
        let lifetime_blocks = blocks.len;
        let mut open: Option<Point> = points.first().copied();
        for q in points.iter().skip(1).filter(|q| q.day <= service_day) {
            if let Some(a) = open {
                if q.day - a.day >= p.min_period_days {
                    blocks.push(q.km - a.km, q.day - a.day, (a.day + q.day) / 2);
                    open = Some(*q);
                }
            }
        }
        let n = blocks.len;
        let blocks = &blocks.items;
        let history_blocks = n - lifetime_blocks;

        let log_pace = |b: &(f64, f64, i64)| (b.0 / b.1).max(p.min_km_per_day).ln();
        let mut evidence = [(0.0, 0.0); 25];
        evidence[0] = (p.fleet_km_per_day.ln(), p.prior_days);
        for (slot, block) in evidence[1..].iter_mut().zip(&blocks[..n]) {
            let age = (now - block.2).max(0) as f64;
            *slot = (log_pace(block), block.1 * (-age / p.memory_days).exp());
        }
        let level = weighted_median(&mut evidence[..=n]);

        // Laplace period effects: their scale is the mean absolute deviation of the car's own
        // periods from its level, pooled with the prior scale; the variance is twice its square.
        let period_var = {
            let (count, deviation) = blocks[lifetime_blocks..n]
                .iter()
                .fold((0.0, 0.0), |(c, d), b| {
                    (c + 1.0, d + (log_pace(b) - level).abs())
                });
            let prior_scale = p.period_log_sd / std::f64::consts::SQRT_2;
            let scale =
                (p.period_prior_weight * prior_scale + deviation) / (p.period_prior_weight + count);
            2.0 * scale * scale
        };
        let span_years = (now - points.first().map_or(now, |q| q.day)) as f64 / DAYS_PER_YEAR;
        let fleet_var = p.fleet_log_sd.powi(2) + p.drift_log_sd.powi(2) * span_years;
        let mut precision = 1.0 / fleet_var;
        for &(_, days, mid) in &blocks[..n] {
            let drift = p.drift_log_sd.powi(2) * (now - mid).max(0) as f64 / DAYS_PER_YEAR;
            precision += 1.0 / (period_var + p.daily_log_var / days + drift);
        }
        let level_var = 1.0 / precision;

        let (mean, var) = match points.iter().rev().find(|q| q.day > service_day) {
            Some(last) => {
                let days = (last.day - service_day) as f64;
                let y = ((last.km - service_km) / days).max(p.min_km_per_day).ln();
                let noise = p.daily_log_var / days;
                let w = (period_var + level_var) / (period_var + level_var + noise);
                (
                    level + w * (y - level),
                    (1.0 - w) * (period_var + level_var),
                )
            }
            None => (level, period_var + level_var),
        };
        let observed_days = (now - points.first().map_or(now, |q| q.day)) as f64;
        let basis = match (points.len() > 1, lifetime_blocks > 0) {
            (false, false) => RateBasis::Fleet,
            (false, true) => RateBasis::Lifetime,
            (true, _) if observed_days >= DAYS_PER_YEAR && history_blocks > 0 => RateBasis::History,
            (true, true) => RateBasis::HistoryShrunkToLifetime,
            (true, false) => RateBasis::HistoryShrunkToFleet,
        };
        RateEstimate {
            km_per_day: mean.exp().max(p.min_km_per_day),
            log_sd: var.sqrt(),
            basis,
        }
    }
}

/// The location that minimises the weighted absolute deviation: the most likely level under
/// Laplace (heavy-tailed) period effects.
fn weighted_median(values: &mut [(f64, f64)]) -> f64 {
    values.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let half = values.iter().map(|v| v.1).sum::<f64>() / 2.0;
    let mut acc = 0.0;
    for &(y, w) in values.iter() {
        acc += w;
        if acc >= half {
            return y;
        }
    }
    values.last().map_or(0.0, |v| v.0)
}

/// The most recent periods of a history: (km, days, middle day), oldest first.
#[derive(Default)]
struct Blocks {
    items: [(f64, f64, i64); 24],
    len: usize,
}

impl Blocks {
    fn push(&mut self, km: f64, days: i64, mid: i64) {
        if days <= 0 {
            return;
        }
        if self.len == self.items.len() {
            self.items.copy_within(1.., 0);
            self.len -= 1;
        }
        self.items[self.len] = (km.max(0.0), days as f64, mid);
        self.len += 1;
    }
}

struct RateEstimate {
    km_per_day: f64,
    log_sd: f64,
    basis: RateBasis,
}

fn flag_is(flag: &ReadingFlag, r: &Reading) -> bool {
    let (date, km) = match *flag {
        ReadingFlag::Rollback { date, km }
        | ReadingFlag::ImpossibleJump { date, km }
        | ReadingFlag::ClusterReplaced { date, km } => (date, km),
    };
    date == r.date && km == r.km
}

/// Keeps one point per day (the highest; same-day readings are already plausible steps).
fn push_daily(points: &mut Vec<Point>, p: Point) {
    match points.last_mut() {
        Some(last) if last.day == p.day => {
            if p.km >= last.km {
                last.km = p.km;
                last.shown = p.shown;
                if p.source == ReadingSource::Visit {
                    last.source = p.source;
                }
            }
        }
        _ => points.push(p),
    }
}

/// Odometer on `day` by interpolation, or extrapolation at `rate` outside the points.
fn km_at(points: &[Point], day: i64, rate: f64) -> Option<f64> {
    let first = points.first()?;
    let last = points.last()?;
    if day <= first.day {
        return Some((first.km - rate * (first.day - day) as f64).max(0.0));
    }
    if day >= last.day {
        return Some(last.km + rate * (day - last.day) as f64);
    }
    let w = points
        .windows(2)
        .find(|w| w[0].day <= day && day <= w[1].day)?;
    let t = (day - w[0].day) as f64 / (w[1].day - w[0].day).max(1) as f64;
    Some(w[0].km + t * (w[1].km - w[0].km))
}

/// Fractional day on which the trusted curve reached `km`, if it did.
fn crossing_day(points: &[Point], km: f64) -> Option<f64> {
    let i = points.iter().position(|p| p.km >= km)?;
    if i == 0 {
        return Some(points[0].day as f64);
    }
    let (a, b) = (points[i - 1], points[i]);
    let t = (km - a.km) / (b.km - a.km).max(f64::EPSILON);
    Some(a.day as f64 + t * (b.day - a.day) as f64)
}

/// Days from `a` to `b` (cheaper than a chrono duration on the hot path).
fn days_between(a: NaiveDate, b: NaiveDate) -> i64 {
    i64::from(b.num_days_from_ce()) - i64::from(a.num_days_from_ce())
}

/// The day `days` after `origin`.
fn date_after(origin: NaiveDate, days: i64) -> NaiveDate {
    i32::try_from(i64::from(origin.num_days_from_ce()) + days)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .unwrap_or(origin)
}

/// `date` + `months` calendar months, the day clamped to the month's end.
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months))
        .unwrap_or_else(|| {
            date.checked_add_days(Days::new(u64::from(months) * 30))
                .unwrap_or(date)
        })
}

fn describe(
    limit: DueLimit,
    service: NaiveDate,
    schedule: Schedule,
    estimate: &RateEstimate,
    readings: usize,
    span_days: i64,
    flagged: usize,
) -> String {
    use std::fmt::Write;
    let basis = match estimate.basis {
        RateBasis::History => "own history",
        RateBasis::HistoryShrunkToLifetime => "short history shrunk toward the lifetime average",
        RateBasis::HistoryShrunkToFleet => "short history shrunk toward the fleet average",
        RateBasis::Lifetime => "lifetime average since first registration",
        RateBasis::Fleet => "fleet average",
    };
    let mut text = String::with_capacity(160);
    let _ = match limit {
        DueLimit::Time => write!(text, "{} months", schedule.months),
        DueLimit::Distance => write!(text, "{} km", schedule.km),
    };
    // Written by hand: this runs once per vehicle a night, and float and date formatting
    // through `fmt` cost as much as the forecast itself.
    let tenths = (estimate.km_per_day * 10.0).round().clamp(0.0, 1e12) as u64;
    let _ = write!(
        text,
        " after the service of {:04}-{:02}-{:02}; {}.{} km/day from {basis} ({readings} readings \
         over {span_days} days)",
        service.year(),
        service.month(),
        service.day(),
        tenths / 10,
        tenths % 10,
    );
    if flagged > 0 {
        let _ = write!(text, "; {flagged} reading(s) not trusted");
    }
    text
}
