//! How honest the forecaster's 80 % interval is. The protocol's own cases are few and most fall
//! due by time, where the truth is the 12-month date itself and sits on the interval's end by
//! construction; so this measures the interval where it has to earn its coverage: the day a
//! distance alone is reached (5,000 to 20,000 km, no time limit), from a rolling origin every
//! 30 days of every log, and how much a car's pace varies between consecutive stretches of
//! h days, the figure the forecaster's noise assumptions come from.

use std::path::Path;

use anyhow::Result;
use chrono::{Duration, NaiveDate};
use domain::{ForecastInput, Forecaster, Reading, Schedule, ServicePoint};
use serde::Serialize;

use crate::backtest::{chain_from, distance_reached, truth_series};
use crate::odometer_csv::{csv_files, read_all, VehicleLog};

/// Distances measured, km.
pub const DISTANCES: [u32; 4] = [5_000, 10_000, 15_000, 20_000];
/// Stretch lengths of the pace-variance table, days.
pub const HORIZONS: [i64; 5] = [60, 120, 240, 365, 500];
/// A new rolling origin this many days after the previous one.
const ORIGIN_STEP_DAYS: i64 = 30;
/// The pace table slides its stretches by this many days.
const PACE_STEP_DAYS: i64 = 15;
/// No time limit: a schedule whose months never come within the logs.
const NO_TIME_LIMIT_MONTHS: u32 = 1_200;

#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    pub vehicles: usize,
    pub distance_due: Vec<DistanceCoverage>,
    pub pace_variance: Vec<HorizonVariance>,
    /// Least squares of the per-stretch variance on 1/h: `persistent + daily / h`.
    pub pace_variance_fit: VarianceFit,
}

/// Warm cases (two or more visits) of one distance, from every rolling origin.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DistanceCoverage {
    pub km: u32,
    pub cases: usize,
    pub coverage_80: f64,
    /// Reached earlier than the interval said (the car drove faster).
    pub before_p10: f64,
    /// Reached later than the interval said (the car drove slower).
    pub after_p90: f64,
}

/// Variance of ln(pace of the next h days / pace of the last h days) over all logs.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct HorizonVariance {
    pub days: i64,
    pub pairs: usize,
    pub log_ratio_var: f64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct VarianceFit {
    /// Variance of one stretch's log pace that does not average out with its length.
    pub persistent_log_var: f64,
    /// Variance of a one-day log pace: a stretch of h days has this / h on top.
    pub daily_log_var: f64,
}

pub fn run(dir: &Path) -> Result<Calibration> {
    let logs = read_all(&csv_files(dir, false)?)?;
    Ok(measure(&logs, Forecaster::default()))
}

pub fn measure(logs: &[VehicleLog], forecaster: Forecaster) -> Calibration {
    let series: Vec<Vec<Reading>> = logs.iter().map(truth_series).collect();
    let distance_due = DISTANCES
        .iter()
        .map(|&km| distance_coverage(logs, &series, forecaster, km))
        .collect();
    let pace_variance: Vec<HorizonVariance> = HORIZONS
        .iter()
        .map(|&days| pace_variance(&series, days))
        .collect();
    let pace_variance_fit = fit(&pace_variance);
    Calibration {
        vehicles: logs.len(),
        distance_due,
        pace_variance,
        pace_variance_fit,
    }
}

fn distance_coverage(
    logs: &[VehicleLog],
    series: &[Vec<Reading>],
    forecaster: Forecaster,
    km: u32,
) -> DistanceCoverage {
    let forecaster = Forecaster {
        schedule: Schedule {
            km,
            months: NO_TIME_LIMIT_MONTHS,
        },
        ..forecaster
    };
    let (mut cases, mut early, mut late) = (0usize, 0usize, 0usize);
    for (log, truth) in logs.iter().zip(series) {
        for start in rolling_origins(truth) {
            let chain = chain_from(truth, start, |s, k| distance_reached(s, k, km));
            for case in chain.iter().filter(|c| c.is_warm()) {
                let rows: Vec<Reading> = case.visits.iter().map(|&i| truth[i]).collect();
                let Some(&last) = rows.last() else { continue };
                let Ok(due) = forecaster.forecast(&ForecastInput {
                    readings: &rows,
                    first_registration: log.first_registration,
                    last_service: Some(ServicePoint {
                        date: last.date,
                        km: last.km,
                    }),
                    as_of: Some(last.date),
                }) else {
                    continue;
                };
                cases += 1;
                early += usize::from(case.truth < due.p10);
                late += usize::from(case.truth > due.p90);
            }
        }
    }
    let share = |n: usize| round3(n as f64 / cases.max(1) as f64);
    DistanceCoverage {
        km,
        cases,
        coverage_80: share(cases - early - late),
        before_p10: share(early),
        after_p90: share(late),
    }
}

/// Indices of the readings that start a chain: the first, then the first at least
/// `ORIGIN_STEP_DAYS` after the previous origin.
fn rolling_origins(series: &[Reading]) -> Vec<usize> {
    let mut origins = Vec::new();
    let mut next = series.first().map(|r| r.date);
    for (i, r) in series.iter().enumerate() {
        if next.is_some_and(|d| r.date >= d) {
            origins.push(i);
            next = Some(r.date + Duration::days(ORIGIN_STEP_DAYS));
        }
    }
    origins
}

fn pace_variance(series: &[Vec<Reading>], days: i64) -> HorizonVariance {
    let h = Duration::days(days);
    let mut ratios = Vec::new();
    for truth in series {
        let (Some(first), Some(last)) = (truth.first(), truth.last()) else {
            continue;
        };
        let mut t = first.date + h;
        while t + h <= last.date {
            if let (Some(a), Some(b), Some(c)) =
                (km_at(truth, t - h), km_at(truth, t), km_at(truth, t + h))
            {
                if b > a && c > b {
                    ratios.push(((c - b) / (b - a)).ln());
                }
            }
            t += Duration::days(PACE_STEP_DAYS);
        }
    }
    let n = ratios.len().max(1) as f64;
    let mean = ratios.iter().sum::<f64>() / n;
    let var = ratios.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    HorizonVariance {
        days,
        pairs: ratios.len(),
        log_ratio_var: round3(var),
    }
}

/// The odometer on a day, linear between the readings around it.
fn km_at(series: &[Reading], day: NaiveDate) -> Option<f64> {
    let after = series.partition_point(|r| r.date < day);
    let b = series.get(after)?;
    if b.date == day {
        return Some(f64::from(b.km));
    }
    let a = series.get(after.checked_sub(1)?)?;
    let t = (day - a.date).num_days() as f64 / (b.date - a.date).num_days() as f64;
    Some(f64::from(a.km) + t * (f64::from(b.km) - f64::from(a.km)))
}

/// A ratio of two independent stretches carries the stretch variance twice: fit half of it.
fn fit(rows: &[HorizonVariance]) -> VarianceFit {
    let points: Vec<(f64, f64)> = rows
        .iter()
        .filter(|r| r.pairs > 0)
        .map(|r| (1.0 / r.days as f64, r.log_ratio_var / 2.0))
        .collect();
    let n = points.len().max(1) as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx = points.iter().map(|p| (p.0 - mx).powi(2)).sum::<f64>();
    let sxy = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    VarianceFit {
        persistent_log_var: round3(my - slope * mx),
        daily_log_var: round3(slope),
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub fn render(c: &Calibration) -> String {
    use std::fmt::Write;
    let mut out = format!(
        "vehicles: {}\ndistance due, no time limit, rolling origins every {ORIGIN_STEP_DAYS} days (warm cases)\n",
        c.vehicles
    );
    let _ = writeln!(
        out,
        "{:>8} {:>6} {:>12} {:>11} {:>10}",
        "km", "cases", "coverage_80", "before_p10", "after_p90"
    );
    for d in &c.distance_due {
        let _ = writeln!(
            out,
            "{:>8} {:>6} {:>12.3} {:>11.3} {:>10.3}",
            d.km, d.cases, d.coverage_80, d.before_p10, d.after_p90
        );
    }
    let _ = writeln!(
        out,
        "pace of the next h days against the last h days, var of the log ratio"
    );
    let _ = writeln!(out, "{:>8} {:>6} {:>14}", "days", "pairs", "log_ratio_var");
    for v in &c.pace_variance {
        let _ = writeln!(
            out,
            "{:>8} {:>6} {:>14.3}",
            v.days, v.pairs, v.log_ratio_var
        );
    }
    let _ = writeln!(
        out,
        "one stretch of h days: {:.3} + {:.3} / h",
        c.pace_variance_fit.persistent_log_var, c.pace_variance_fit.daily_log_var
    );
    out
}

#[cfg(test)]
mod tests {
    use domain::{ForecastParams, ReadingSource};

    use super::*;

    use crate::odometer_csv::test_support::{reading, shared_data};

    #[test]
    fn on_the_public_logs_the_80_percent_interval_holds_for_70_to_90_percent_of_distance_dues() {
        let c = run(&shared_data()).expect("the shared odometer logs beside the project");
        for d in c.distance_due.iter().filter(|d| d.km <= 15_000) {
            assert!(d.cases >= 300, "{d:?}");
            assert!(
                (0.70..=0.90).contains(&d.coverage_80),
                "{} km: coverage {} ({} cases)",
                d.km,
                d.coverage_80,
                d.cases
            );
        }
    }

    #[test]
    fn the_forecasters_noise_assumptions_are_the_ones_measured_on_the_public_logs() {
        let c = run(&shared_data()).unwrap();
        let by_days = |d: i64| c.pace_variance.iter().find(|v| v.days == d).unwrap();
        assert!(by_days(365).log_ratio_var < by_days(60).log_ratio_var / 2.0);
        let p = ForecastParams::default();
        let fit = c.pace_variance_fit;
        let daily = (p.daily_log_var - fit.daily_log_var).abs() / fit.daily_log_var;
        assert!(
            daily < 0.2,
            "daily {} vs measured {}",
            p.daily_log_var,
            fit.daily_log_var
        );
        let persistent = p.period_log_sd.powi(2);
        let ratio = persistent / fit.persistent_log_var;
        assert!(
            (0.67..1.5).contains(&ratio),
            "persistent {persistent} vs measured {}",
            fit.persistent_log_var
        );
    }

    #[test]
    fn the_odometer_between_readings_is_linear_and_unknown_outside_them() {
        let s = [reading("2024-01-01", 1_000), reading("2024-01-11", 2_000)];
        assert_eq!(km_at(&s, "2024-01-06".parse().unwrap()), Some(1_500.0));
        assert_eq!(km_at(&s, "2024-01-11".parse().unwrap()), Some(2_000.0));
        assert_eq!(km_at(&s, "2023-12-31".parse().unwrap()), None);
        assert_eq!(km_at(&s, "2024-01-12".parse().unwrap()), None);
    }

    #[test]
    fn rolling_origins_are_at_least_thirty_days_apart() {
        let s: Vec<Reading> = (0..100u32)
            .map(|i| Reading {
                date: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
                    + Duration::days(i64::from(i) * 7),
                km: 1_000 + i * 300,
                source: ReadingSource::Visit,
            })
            .collect();
        let origins = rolling_origins(&s);
        assert_eq!(origins[0], 0);
        for w in origins.windows(2) {
            let gap = (s[w[1]].date - s[w[0]].date).num_days();
            assert!((30..37).contains(&gap), "{gap}");
        }
    }
}
