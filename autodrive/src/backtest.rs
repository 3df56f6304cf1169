//! The service-due backtest of `../shared/BACKTEST.md` (protocol v2): cases from real odometer
//! logs under a schedule or the sweep of schedules, the model against the baselines, warm, cold
//! and self-report, and a leave-one-log-out run with parameters measured on the other logs.

use std::path::Path;

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use domain::forecast::add_months;
use domain::{
    ForecastInput, ForecastParams, Forecaster, Reading, ReadingSource, Schedule, ServicePoint,
};

use crate::odometer_csv::{csv_files, read_all, VehicleLog};

mod report;

pub use report::{
    render_cases, render_sweep, render_table, CaseRow, Kind, Kinds, Metrics, Report, SweepReport,
};

/// The protocol's default schedule.
pub const DEFAULT_SCHEDULE: Schedule = Schedule {
    km: 15_000,
    months: 12,
};
/// The sweep: short intervals put cars in the distance regime, long ones in the time regime.
pub const SWEEP: [Schedule; 4] = [
    Schedule {
        km: 5_000,
        months: 6,
    },
    Schedule {
        km: 7_500,
        months: 12,
    },
    Schedule {
        km: 10_000,
        months: 12,
    },
    DEFAULT_SCHEDULE,
];
const REPORT_LEAD_DAYS: i64 = 45;

/// `KM/MONTHS`, as the protocol writes a schedule.
pub fn parse_schedule(text: &str) -> Result<Schedule> {
    let (km, months) = text
        .split_once('/')
        .with_context(|| format!("schedule {text:?} must be KM/MONTHS, e.g. 5000/6"))?;
    let km: u32 = km
        .trim()
        .parse()
        .with_context(|| format!("schedule {text:?}: {km:?} is not a whole number of km"))?;
    let months: u32 = months.trim().parse().with_context(|| {
        format!("schedule {text:?}: {months:?} is not a whole number of months")
    })?;
    if km == 0 || months == 0 {
        bail!("schedule {text:?}: km and months must be above zero");
    }
    Ok(Schedule { km, months })
}

pub fn schedule_name(s: Schedule) -> String {
    format!("{}/{}", s.km, s.months)
}

/// One case: a vehicle's visits 0..=k and the true due date after visit k.
#[derive(Debug, Clone)]
pub struct Case {
    /// Indices into the vehicle's truth series of visits 0..=k.
    pub visits: Vec<usize>,
    pub truth: NaiveDate,
}

impl Case {
    pub fn is_warm(&self) -> bool {
        self.visits.len() >= 2
    }
}

/// The cases of one truth series (readings sorted by date, one a day), by the protocol.
pub fn cases_of(series: &[Reading], schedule: Schedule) -> Vec<Case> {
    chain_from(series, 0, |s, k| true_due(s, k, schedule))
}

/// The protocol's chain of visits from the reading at `start`: after each visit the due by
/// `due`, the next visit the first reading on or after it.
pub fn chain_from(
    series: &[Reading],
    start: usize,
    due: impl Fn(&[Reading], usize) -> Option<NaiveDate>,
) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut visits = vec![start];
    while let Some(&k) = visits.last() {
        let Some(truth) = due(series, k) else {
            break;
        };
        cases.push(Case {
            visits: visits.clone(),
            truth,
        });
        match series
            .iter()
            .skip(k + 1)
            .position(|r| r.date >= truth && r.date > series[k].date)
        {
            Some(offset) => visits.push(k + 1 + offset),
            None => break,
        }
    }
    cases
}

/// The earlier of the schedule's months after visit k and the interpolated day the odometer
/// reaches `o_k + km`; `None` when neither is observable in the series.
fn true_due(series: &[Reading], k: usize, schedule: Schedule) -> Option<NaiveDate> {
    let time_due = add_months(series[k].date, schedule.months);
    let last = series.last()?;
    match distance_reached(series, k, schedule.km) {
        Some(d) => Some(d.min(time_due)),
        None if time_due <= last.date => Some(time_due),
        None => None,
    }
}

/// The day the odometer reaches `o_k + km`, interpolated between the two readings that
/// bracket it and rounded to the nearest day (a half day up); `None` when the series never
/// gets there.
pub fn distance_reached(series: &[Reading], k: usize, km: u32) -> Option<NaiveDate> {
    let target = u64::from(series[k].km) + u64::from(km);
    series.iter().enumerate().skip(k + 1).find_map(|(j, r)| {
        (u64::from(r.km) >= target).then(|| {
            let a = series[j - 1];
            let span = (r.date - a.date).num_days();
            // Exact integer arithmetic: round(span * (target - a) / (r - a)), half up.
            let num = i128::from(span) * i128::from(target - u64::from(a.km));
            let den = i128::from(r.km - a.km).max(1);
            let days = (2 * num + den).div_euclid(2 * den);
            a.date + chrono::Duration::days(days as i64)
        })
    })
}

/// A rate baseline: the earlier of the time due and `d + round(km / rate)` days.
fn rate_due(date: NaiveDate, rate: f64, schedule: Schedule) -> NaiveDate {
    let time_due = add_months(date, schedule.months);
    if rate.is_nan() || rate <= 0.0 || !rate.is_finite() {
        return time_due;
    }
    let days = (f64::from(schedule.km) / rate).round();
    if days > 36_500.0 {
        return time_due;
    }
    (date + chrono::Duration::days(days as i64)).min(time_due)
}

/// The cold baselines' prior, 15,000 km a year whatever the schedule (how far cars drive):
/// `round(km × 365.25 / 15,000)` days, computed exactly.
fn prior_due(date: NaiveDate, schedule: Schedule) -> NaiveDate {
    let days = (u64::from(schedule.km) * 36_525 * 2 + 1_500_000) / (2 * 1_500_000);
    (date + chrono::Duration::days(days as i64)).min(add_months(date, schedule.months))
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    cases: usize,
    abs_days: i64,
    within_14d: usize,
    covered: Option<usize>,
    distance_cases: usize,
    distance_covered: usize,
}

impl Tally {
    fn add(&mut self, predicted: NaiveDate, truth: NaiveDate) {
        let err = (predicted - truth).num_days().abs();
        self.cases += 1;
        self.abs_days += err;
        self.within_14d += usize::from(err <= 14);
    }

    /// The model's interval; `by_distance` when the truth is before the time due.
    fn add_interval(
        &mut self,
        p10: NaiveDate,
        p90: NaiveDate,
        truth: NaiveDate,
        by_distance: bool,
    ) {
        let inside = usize::from(p10 <= truth && truth <= p90);
        *self.covered.get_or_insert(0) += inside;
        if by_distance {
            self.distance_cases += 1;
            self.distance_covered += inside;
        }
    }

    fn merge(&mut self, other: &Tally) {
        self.cases += other.cases;
        self.abs_days += other.abs_days;
        self.within_14d += other.within_14d;
        if let Some(c) = other.covered {
            *self.covered.get_or_insert(0) += c;
        }
        self.distance_cases += other.distance_cases;
        self.distance_covered += other.distance_covered;
    }

    fn metrics(&self) -> Metrics {
        let share = |n: usize, of: usize| round3(n as f64 / of.max(1) as f64);
        Metrics {
            cases: self.cases,
            mae_days: round3(self.abs_days as f64 / self.cases.max(1) as f64),
            within_14d: share(self.within_14d, self.cases),
            coverage_80: self.covered.map(|c| share(c, self.cases)),
            coverage_80_distance: self
                .covered
                .map(|_| share(self.distance_covered, self.distance_cases)),
            distance_cases: self.covered.map(|_| self.distance_cases),
        }
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A vehicle's truth series and the history the model sees (clean or raw).
pub struct Vehicle {
    pub id: String,
    /// Which log file it came from (the unit left out by cross-validation).
    pub log: usize,
    pub truth: Vec<Reading>,
    pub first_registration: Option<NaiveDate>,
    /// Every history row by date: in the raw variant, all raw rows of that date.
    pub history: Vec<Reading>,
}

impl Vehicle {
    /// The rows the predictors see for the given visits (all rows dated on a visit day).
    fn seen(&self, case: &Case) -> Vec<Reading> {
        let days: Vec<NaiveDate> = case.visits.iter().map(|&i| self.truth[i].date).collect();
        let rows: Vec<Reading> = self
            .history
            .iter()
            .filter(|r| days.binary_search(&r.date).is_ok())
            .copied()
            .collect();
        if rows.is_empty() {
            case.visits.iter().map(|&i| self.truth[i]).collect()
        } else {
            rows
        }
    }
}

/// One visit per day for the baselines: the last row of each day.
fn one_per_day(rows: &[Reading]) -> Vec<Reading> {
    let mut out: Vec<Reading> = Vec::with_capacity(rows.len());
    for r in rows {
        match out.last_mut() {
            Some(last) if last.date == r.date => *last = *r,
            _ => out.push(*r),
        }
    }
    out
}

pub fn truth_series(log: &VehicleLog) -> Vec<Reading> {
    let mut series = log.readings.clone();
    series.sort_by_key(|r| r.date);
    series.dedup_by_key(|r| r.date);
    series
}

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub raw: bool,
    pub schedule: Schedule,
    /// Forecast each log with parameters measured on the other logs only.
    pub cross_validate: bool,
    /// Every odometer reading times this (1 = the logs as they are): the same driving habits
    /// in a fleet that drives farther or less, where a forecaster fitted to where the logs'
    /// paces lie is found out. Not part of the protocol; its figures are labelled.
    pub scale: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            raw: false,
            schedule: DEFAULT_SCHEDULE,
            cross_validate: false,
            scale: 1.0,
        }
    }
}

/// The range `--scale` takes.
pub const SCALES: std::ops::RangeInclusive<f64> = 0.1..=10.0;

/// Parses `--scale`: a factor in [`SCALES`].
pub fn parse_scale(text: &str) -> Result<f64, String> {
    let factor: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if SCALES.contains(&factor) {
        Ok(factor)
    } else {
        Err(format!(
            "{factor} is outside {}..={}",
            SCALES.start(),
            SCALES.end()
        ))
    }
}

/// The logs with every odometer reading times `factor`, rounded to the km.
fn scaled(mut logs: Vec<VehicleLog>, factor: f64) -> Vec<VehicleLog> {
    if factor != 1.0 {
        for reading in logs.iter_mut().flat_map(|log| log.readings.iter_mut()) {
            reading.km = (f64::from(reading.km) * factor).round() as u32;
        }
    }
    logs
}

/// The truth logs and the histories the model sees, and one parameter set per log.
pub struct Fleet {
    pub vehicles: Vec<Vehicle>,
    /// Parameters to forecast log i with: the defaults, or measured without log i.
    pub params: Vec<ForecastParams>,
}

pub fn load(dir: &Path, options: Options) -> Result<Fleet> {
    let files = csv_files(dir, false)?;
    let raw_logs = if options.raw {
        scaled(read_all(&csv_files(dir, true)?)?, options.scale)
    } else {
        Vec::new()
    };
    let mut vehicles = Vec::new();
    let mut per_file = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let logs = scaled(read_all(std::slice::from_ref(file))?, options.scale);
        for log in &logs {
            let truth = truth_series(log);
            let history = if options.raw {
                let Some(raw_log) = raw_logs.iter().find(|r| r.vehicle_id == log.vehicle_id) else {
                    bail!("no raw log for vehicle {}", log.vehicle_id);
                };
                let mut rows = raw_log.readings.clone();
                rows.sort_by_key(|r| r.date);
                rows
            } else {
                truth.clone()
            };
            vehicles.push(Vehicle {
                id: log.vehicle_id.clone(),
                log: index,
                truth,
                first_registration: log.first_registration,
                history,
            });
        }
        per_file.push(logs);
    }
    let params = if options.cross_validate {
        (0..files.len())
            .map(|left_out| {
                let others: Vec<VehicleLog> = per_file
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != left_out)
                    .flat_map(|(_, logs)| logs.iter().cloned())
                    .collect();
                crate::calibration::measure_params(&others)
            })
            .collect()
    } else {
        vec![ForecastParams::default(); files.len()]
    };
    Ok(Fleet { vehicles, params })
}

pub fn run(dir: &Path, options: Options) -> Result<Report> {
    let fleet = load(dir, options)?;
    let (tallies, cases) = evaluate(&fleet, options.schedule);
    Ok(Report {
        vehicles: fleet.vehicles.len(),
        scale: options.scale,
        kinds: tallies.kinds(options.schedule),
        cases,
    })
}

pub fn run_sweep(dir: &Path, options: Options) -> Result<SweepReport> {
    let fleet = load(dir, options)?;
    let mut pooled = Tallies::default();
    let mut sweep = Vec::new();
    let mut listed = Vec::new();
    for schedule in SWEEP {
        let (tallies, cases) = evaluate(&fleet, schedule);
        pooled.merge(&tallies);
        sweep.push((schedule_name(schedule), tallies.kinds(schedule)));
        listed.extend(cases);
    }
    Ok(SweepReport {
        vehicles: fleet.vehicles.len(),
        scale: options.scale,
        sweep,
        pooled: pooled.kinds_named("pooled"),
        cases: listed,
    })
}

/// Model and baselines of one run: warm (model, last_two, all_history_avg, calendar), cold (the
/// same and lifetime_avg), self-report (model, last_two).
#[derive(Debug, Default, Clone, Copy)]
struct Tallies {
    warm: [Tally; 4],
    cold: [Tally; 5],
    report: [Tally; 2],
}

impl Tallies {
    fn merge(&mut self, other: &Tallies) {
        for (a, b) in self.warm.iter_mut().zip(&other.warm) {
            a.merge(b);
        }
        for (a, b) in self.cold.iter_mut().zip(&other.cold) {
            a.merge(b);
        }
        for (a, b) in self.report.iter_mut().zip(&other.report) {
            a.merge(b);
        }
    }

    fn kinds(&self, schedule: Schedule) -> Kinds {
        self.kinds_named(&schedule_name(schedule))
    }

    fn kinds_named(&self, schedule: &str) -> Kinds {
        let (warm, cold, report) = (&self.warm, &self.cold, &self.report);
        Kinds {
            warm: Kind {
                schedule: schedule.to_owned(),
                model: warm[0].metrics(),
                last_two: warm[1].metrics(),
                all_history_avg: Some(warm[2].metrics()),
                calendar_12m: Some(warm[3].metrics()),
                lifetime_avg: None,
            },
            cold: Kind {
                schedule: schedule.to_owned(),
                model: cold[0].metrics(),
                last_two: cold[1].metrics(),
                all_history_avg: Some(cold[2].metrics()),
                calendar_12m: Some(cold[3].metrics()),
                lifetime_avg: Some(cold[4].metrics()),
            },
            self_report: Kind {
                schedule: schedule.to_owned(),
                model: report[0].metrics(),
                last_two: report[1].metrics(),
                all_history_avg: None,
                calendar_12m: None,
                lifetime_avg: None,
            },
        }
    }
}

fn evaluate(fleet: &Fleet, schedule: Schedule) -> (Tallies, Vec<CaseRow>) {
    let mut t = Tallies::default();
    let mut listed = Vec::new();
    for vehicle in &fleet.vehicles {
        let forecaster = Forecaster {
            schedule,
            params: fleet.params[vehicle.log],
        };
        for case in cases_of(&vehicle.truth, schedule) {
            let rows = vehicle.seen(&case);
            let visits = one_per_day(&rows);
            let last = *visits.last().unwrap_or(&rows[0]);
            let first = visits[0];
            let model = |extra: Option<Reading>| {
                let mut readings = rows.clone();
                readings.extend(extra);
                let input = ForecastInput {
                    readings: &readings,
                    first_registration: vehicle.first_registration,
                    last_service: Some(ServicePoint {
                        date: last.date,
                        km: last.km,
                    }),
                    as_of: Some(extra.map_or(last.date, |r| r.date)),
                };
                forecaster
                    .forecast(&input)
                    .expect("a case always has readings")
            };
            let due = model(None);
            let calendar = add_months(last.date, schedule.months);
            let truth = case.truth;
            let by_distance = truth < calendar;
            let mut last_two = None;
            let mut reported_due = (None, None);
            if case.is_warm() {
                let prev = visits[visits.len() - 2];
                let last_two_due = rate_due(last.date, pace(prev, last), schedule);
                last_two = Some(last_two_due);
                t.warm[0].add(due.due_date, truth);
                t.warm[0].add_interval(due.p10, due.p90, truth, by_distance);
                t.warm[1].add(last_two_due, truth);
                t.warm[2].add(rate_due(last.date, pace(first, last), schedule), truth);
                t.warm[3].add(calendar, truth);

                if let Some(r) = reported(&vehicle.truth, last.date, due.due_date) {
                    let again = model(Some(r));
                    reported_due.0 = Some(again.due_date);
                    t.report[0].add(again.due_date, truth);
                    t.report[0].add_interval(again.p10, again.p90, truth, by_distance);
                }
                if let Some(r) = reported(&vehicle.truth, last.date, last_two_due) {
                    let again = rate_due(last.date, pace(last, r), schedule);
                    reported_due.1 = Some(again);
                    t.report[1].add(again, truth);
                }
            } else {
                t.cold[0].add(due.due_date, truth);
                t.cold[0].add_interval(due.p10, due.p90, truth, by_distance);
                t.cold[1].add(prior_due(last.date, schedule), truth);
                t.cold[2].add(prior_due(last.date, schedule), truth);
                t.cold[3].add(calendar, truth);
                if let Some(reg) = vehicle.first_registration {
                    let days = (first.date - reg).num_days();
                    if days >= 30 {
                        t.cold[4].add(
                            rate_due(last.date, f64::from(first.km) / days as f64, schedule),
                            truth,
                        );
                    }
                }
            }
            listed.push(CaseRow {
                schedule,
                vehicle: vehicle.id.clone(),
                visits: case.visits.len(),
                last_visit: last.date,
                truth,
                model: due.due_date,
                p10: due.p10,
                p90: due.p90,
                km_per_day: due.km_per_day,
                calendar,
                last_two,
                reported: reported_due,
            });
        }
    }
    (t, listed)
}

fn pace(from: Reading, to: Reading) -> f64 {
    let days = (to.date - from.date).num_days();
    if days <= 0 {
        return f64::NAN;
    }
    f64::from(to.km.saturating_sub(from.km)) / days as f64
}

/// The customer's answer: the last truth reading after the visit and at least 45 days before
/// the predicted due date.
fn reported(truth: &[Reading], visit: NaiveDate, predicted: NaiveDate) -> Option<Reading> {
    let latest = predicted - chrono::Duration::days(REPORT_LEAD_DAYS);
    truth
        .iter()
        .rev()
        .find(|r| r.date > visit && r.date <= latest)
        .map(|r| Reading {
            source: ReadingSource::CustomerReported,
            ..*r
        })
}

#[cfg(test)]
mod tests;
