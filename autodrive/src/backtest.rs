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
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::odometer_csv::{csv_files, read_all, VehicleLog};

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

#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Metrics {
    pub cases: usize,
    pub mae_days: f64,
    pub within_14d: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage_80: Option<f64>,
    /// Coverage over the cases whose truth is the distance date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage_80_distance: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_cases: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Kind {
    pub schedule: String,
    pub model: Metrics,
    pub last_two: Metrics,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_history_avg: Option<Metrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calendar_12m: Option<Metrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime_avg: Option<Metrics>,
}

impl Kind {
    /// The lowest baseline MAE of this kind.
    #[cfg(test)]
    pub fn best_baseline(&self) -> f64 {
        // lifetime_avg has fewer cases (only cars with a known registration): not comparable.
        [Some(self.last_two), self.all_history_avg, self.calendar_12m]
            .into_iter()
            .flatten()
            .map(|m| m.mae_days)
            .fold(f64::INFINITY, f64::min)
    }
}

/// One schedule's (or the pooled) warm, cold and self-report figures.
#[derive(Debug, Clone, Serialize)]
pub struct Kinds {
    pub warm: Kind,
    pub cold: Kind,
    pub self_report: Kind,
}

/// The report of one schedule, in the protocol's JSON shape.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub vehicles: usize,
    /// `--scale` when it is not 1 (the figures are then not the protocol's).
    #[serde(skip_serializing_if = "is_one")]
    pub scale: f64,
    #[serde(flatten)]
    pub kinds: Kinds,
    /// Every case as the model saw it; not part of the protocol's JSON.
    #[serde(skip)]
    pub cases: Vec<CaseRow>,
}

/// The sweep: each schedule and all their cases pooled.
#[derive(Debug, Clone, Serialize)]
pub struct SweepReport {
    pub vehicles: usize,
    #[serde(skip_serializing_if = "is_one")]
    pub scale: f64,
    #[serde(serialize_with = "in_sweep_order")]
    pub sweep: Vec<(String, Kinds)>,
    pub pooled: Kinds,
    #[serde(skip)]
    pub cases: Vec<CaseRow>,
}

fn is_one(scale: &f64) -> bool {
    *scale == 1.0
}

fn in_sweep_order<S: Serializer>(rows: &[(String, Kinds)], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(rows.len()))?;
    for (name, kinds) in rows {
        map.serialize_entry(name, kinds)?;
    }
    map.end()
}

/// One case of the run: where the history ends, the truth and the model's answer.
#[derive(Debug, Clone)]
pub struct CaseRow {
    pub schedule: Schedule,
    pub vehicle: String,
    pub visits: usize,
    pub last_visit: NaiveDate,
    pub truth: NaiveDate,
    pub model: NaiveDate,
    pub p10: NaiveDate,
    pub p90: NaiveDate,
    pub km_per_day: f64,
    pub calendar: NaiveDate,
    pub last_two: Option<NaiveDate>,
    /// After the customer's reading: the model's due and last_two's.
    pub reported: (Option<NaiveDate>, Option<NaiveDate>),
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

/// Every case, one line each, errors in days (positive: predicted after the truth).
pub fn render_cases(cases: &[CaseRow]) -> String {
    use std::fmt::Write;
    let mut out = String::from(
        "schedule  vehicle              visits  last visit  truth       model       error  p10..p90                 km/day  calendar  last_two  reported: model last_two\n",
    );
    for c in cases {
        let covered = if (c.p10..=c.p90).contains(&c.truth) {
            ' '
        } else {
            '!'
        };
        let error = |d: Option<NaiveDate>| {
            d.map_or(String::from("-"), |d| (d - c.truth).num_days().to_string())
        };
        let _ = writeln!(
            out,
            "{:<9} {:<20} {:>6}  {}  {}  {}  {:>5}  {}..{}{covered} {:>6.1}  {:>8}  {:>8}  {:>15} {:>8}",
            schedule_name(c.schedule),
            c.vehicle,
            c.visits,
            c.last_visit,
            c.truth,
            c.model,
            (c.model - c.truth).num_days(),
            c.p10,
            c.p90,
            c.km_per_day,
            (c.calendar - c.truth).num_days(),
            error(c.last_two),
            error(c.reported.0),
            error(c.reported.1),
        );
    }
    out
}

/// One schedule's (or the pool's) figures as a readable table.
pub fn render_kinds(kinds: &Kinds) -> String {
    let mut out = format!(
        "{:<12} {:<16} {:>6} {:>9} {:>11} {:>12} {:>12}\n",
        "kind", "predictor", "cases", "mae_days", "within_14d", "coverage_80", "cov_distance"
    );
    for (name, kind) in [
        ("warm", &kinds.warm),
        ("cold", &kinds.cold),
        ("self_report", &kinds.self_report),
    ] {
        let rows = [
            ("model", Some(kind.model)),
            ("last_two", Some(kind.last_two)),
            ("all_history_avg", kind.all_history_avg),
            ("calendar_12m", kind.calendar_12m),
            ("lifetime_avg", kind.lifetime_avg),
        ];
        for (predictor, m) in rows {
            let Some(m) = m else { continue };
            let coverage = m
                .coverage_80
                .map_or(String::from("-"), |c| format!("{c:.3}"));
            let distance = match (m.coverage_80_distance, m.distance_cases) {
                (Some(c), Some(n)) => format!("{c:.3} ({n})"),
                _ => String::from("-"),
            };
            out.push_str(&format!(
                "{name:<12} {predictor:<16} {:>6} {:>9.2} {:>11.3} {:>12} {:>12}\n",
                m.cases, m.mae_days, m.within_14d, coverage, distance
            ));
        }
    }
    out
}

/// The report as a readable table.
pub fn render_table(report: &Report) -> String {
    format!(
        "vehicles: {}  schedule: {}{}\n{}",
        report.vehicles,
        report.kinds.warm.schedule,
        scale_note(report.scale),
        render_kinds(&report.kinds)
    )
}

/// How a table says its odometers were scaled.
fn scale_note(scale: f64) -> String {
    if is_one(&scale) {
        String::new()
    } else {
        format!("  odometers ×{scale} (not the protocol's figures)")
    }
}

/// The sweep as readable tables, each schedule then the pool.
pub fn render_sweep(report: &SweepReport) -> String {
    let mut out = format!(
        "vehicles: {}{}\n",
        report.vehicles,
        scale_note(report.scale)
    );
    for (name, kinds) in &report.sweep {
        out.push_str(&format!("\nschedule {name}\n{}", render_kinds(kinds)));
    }
    out.push_str(&format!("\npooled\n{}", render_kinds(&report.pooled)));
    out
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    use crate::odometer_csv::test_support::{reading, shared_data};

    fn cases(series: &[Reading]) -> Vec<Case> {
        cases_of(series, DEFAULT_SCHEDULE)
    }

    #[test]
    fn the_true_due_is_the_interpolated_day_the_distance_is_reached() {
        let series = [
            reading("2020-01-01", 0),
            reading("2020-05-01", 10_000),
            reading("2020-09-01", 20_000),
        ];
        assert_eq!(
            cases(&series)[0].truth,
            "2020-07-02".parse::<NaiveDate>().unwrap()
        );
    }

    #[test]
    fn a_half_day_rounds_up() {
        // 15,000 km is reached 10.5 days after the second reading
        let series = [
            reading("2020-01-01", 0),
            reading("2020-01-11", 14_000),
            reading("2020-02-01", 16_000),
        ];
        assert_eq!(
            cases(&series)[0].truth,
            "2020-01-22".parse::<NaiveDate>().unwrap()
        );
    }

    #[test]
    fn the_true_due_of_a_slow_car_is_twelve_months_clamped_to_the_month_end() {
        let series = [reading("2020-02-29", 0), reading("2021-06-01", 5_000)];
        let cases = cases(&series);
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].truth, "2021-02-28".parse::<NaiveDate>().unwrap());
    }

    #[test]
    fn another_schedule_changes_both_limits() {
        let series = [
            reading("2020-01-31", 0),
            reading("2020-03-01", 1_000),
            reading("2020-12-01", 20_000),
        ];
        let six = cases_of(&series, parse_schedule("5000/6").unwrap());
        // 5,000 km between March and December at 19,000 km in 275 days: day 58 after March 1
        assert_eq!(six[0].truth, "2020-04-28".parse::<NaiveDate>().unwrap());
        let slow = cases_of(&series, parse_schedule("50000/1").unwrap());
        assert_eq!(slow[0].truth, "2020-02-29".parse::<NaiveDate>().unwrap());
    }

    #[test]
    fn cases_stop_when_no_due_is_observable() {
        let series = [reading("2020-01-01", 0), reading("2020-06-01", 3_000)];
        assert!(cases(&series).is_empty());
    }

    #[test]
    fn a_schedule_is_km_slash_months_and_anything_else_is_refused_with_the_reason() {
        assert_eq!(
            parse_schedule("7500/12").unwrap(),
            Schedule {
                km: 7_500,
                months: 12
            }
        );
        for bad in ["7500", "7500/0", "x/12", "0/6", "7500/12/1"] {
            let err = parse_schedule(bad).unwrap_err();
            assert!(format!("{err:#}").contains(bad), "{bad}: {err:#}");
        }
    }

    /// The baselines of an independent implementation of the protocol
    /// (`scripts/backtest_reference.py`, written from BACKTEST.md alone).
    fn reference_sweep() -> serde_json::Value {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/backtest_reference.py");
        let out = Command::new("python3")
            .arg(&script)
            .arg("--data")
            .arg(shared_data())
            .arg("--sweep")
            .output()
            .expect("python3 must be installed to run the reference backtest");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    #[test]
    fn the_baselines_agree_with_an_independent_implementation_on_every_schedule() {
        let ours =
            serde_json::to_value(run_sweep(&shared_data(), Options::default()).unwrap()).unwrap();
        let theirs = reference_sweep();
        assert_eq!(ours["vehicles"], theirs["vehicles"]);
        let mut compared = 0;
        let schedules = SWEEP.map(schedule_name);
        for (path, of_ours, of_theirs) in schedules
            .iter()
            .map(|s| (s.as_str(), &ours["sweep"][s], &theirs["sweep"][s]))
            .chain([("pooled", &ours["pooled"], &theirs["pooled"])])
        {
            for (kind, predictors) in theirs_kinds(of_theirs) {
                for predictor in predictors {
                    let a = &of_ours[kind][predictor];
                    let b = &of_theirs[kind][predictor];
                    assert_eq!(a["cases"], b["cases"], "{path} {kind} {predictor}");
                    let gap =
                        (a["mae_days"].as_f64().unwrap() - b["mae_days"].as_f64().unwrap()).abs();
                    assert!(gap <= 0.6, "{path} {kind} {predictor}: {a} vs {b}");
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 5 * 8);
    }

    fn theirs_kinds(kinds: &serde_json::Value) -> Vec<(&str, Vec<&str>)> {
        ["warm", "cold", "self_report"]
            .into_iter()
            .map(|kind| {
                let names = kinds[kind]
                    .as_object()
                    .map(|o| o.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                (kind, names)
            })
            .collect()
    }

    #[test]
    fn the_json_report_has_the_protocols_shape_with_the_schedule_in_each_kind() {
        let report = run(&shared_data(), Options::default()).unwrap();
        let json = serde_json::to_value(&report).unwrap();
        for kind in ["warm", "cold", "self_report"] {
            assert_eq!(json[kind]["schedule"], "15000/12");
            for key in [
                "cases",
                "mae_days",
                "within_14d",
                "coverage_80",
                "coverage_80_distance",
                "distance_cases",
            ] {
                assert!(json[kind]["model"].get(key).is_some(), "{kind}.model.{key}");
            }
        }
        assert!(json["cold"]["lifetime_avg"]["cases"].is_u64());
        assert!(json["warm"].get("lifetime_avg").is_none());
        let text =
            serde_json::to_string(&run_sweep(&shared_data(), Options::default()).unwrap()).unwrap();
        let at = |name: &str| text.find(&format!("\"{name}\":{{")).unwrap();
        assert!(at("5000/6") < at("7500/12") && at("7500/12") < at("10000/12"));
        assert!(at("10000/12") < at("15000/12") && at("15000/12") < at("pooled"));
        let sweep: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(sweep["pooled"]["warm"]["schedule"], "pooled");
    }

    /// Targets of the forecaster on the public logs that hold (README: what does not, and why).
    fn check_targets(report: &SweepReport, label: &str) {
        let pooled = &report.pooled;
        let warm = &pooled.warm;
        assert!(
            warm.model.mae_days <= 0.95 * warm.best_baseline(),
            "{label}: warm pooled {} vs best baseline {}",
            warm.model.mae_days,
            warm.best_baseline()
        );
        for (name, kinds) in &report.sweep {
            let w = &kinds.warm;
            let bound = if name == "15000/12" {
                // the calendar is nearly exact for slow cars; the model must beat the rates
                w.last_two.mae_days.min(w.all_history_avg.unwrap().mae_days)
            } else {
                1.25 * w.best_baseline()
            };
            assert!(w.model.mae_days <= bound, "{label} {name}: {w:?}");
        }
        let sr = &pooled.self_report;
        assert!(
            sr.model.mae_days <= 0.95 * sr.last_two.mae_days,
            "{label}: self-report {sr:?}"
        );
        let cold = &pooled.cold;
        assert!(
            cold.model.mae_days <= 0.9 * cold.calendar_12m.unwrap().mae_days,
            "{label}: cold {cold:?}"
        );
        for kind in [&pooled.warm, &pooled.self_report] {
            let coverage = kind.model.coverage_80_distance.unwrap();
            assert!(
                kind.model.distance_cases.unwrap() >= 100,
                "{label}: {kind:?}"
            );
            assert!((0.70..=0.90).contains(&coverage), "{label}: {kind:?}");
        }
    }

    #[test]
    fn on_the_sweep_the_model_beats_the_baselines_clean_and_raw() {
        let clean = run_sweep(&shared_data(), Options::default()).unwrap();
        check_targets(&clean, "clean");
        let raw = run_sweep(
            &shared_data(),
            Options {
                raw: true,
                ..Options::default()
            },
        )
        .unwrap();
        check_targets(&raw, "raw");
        assert_eq!(raw.pooled.warm.model.cases, clean.pooled.warm.model.cases);
        assert!(raw.pooled.warm.model.mae_days <= 1.15 * clean.pooled.warm.model.mae_days);
    }

    /// The held-out fleets drive farther than the public logs: the same logs driven 2 and 2.5
    /// times as far must still find the model ahead of every baseline at 15000/12 and over
    /// the sweep. A model fitted to where the public logs' paces lie loses here (a fleet-pace
    /// shrinkage tuned on them, 0.84 of the best baseline pooled as they are, is 1.07 and 1.22
    /// of `last_two` at 15000/12 on these).
    #[test]
    fn on_the_logs_driven_farther_the_model_still_beats_the_baselines() {
        for scale in [2.0, 2.5] {
            let options = Options {
                scale,
                ..Options::default()
            };
            let report = run_sweep(&shared_data(), options).unwrap();
            assert_eq!(report.scale, scale);
            for (name, kinds) in report
                .sweep
                .iter()
                .filter(|(name, _)| name == "15000/12")
                .chain([&("pooled".to_owned(), report.pooled.clone())])
            {
                let warm = &kinds.warm;
                assert!(
                    warm.model.mae_days <= 0.97 * warm.best_baseline(),
                    "×{scale} {name}: {warm:?}"
                );
            }
        }
        assert!(parse_scale("0.05").is_err() && parse_scale("x").is_err());
        assert_eq!(parse_scale("2.5"), Ok(2.5));
    }

    #[test]
    fn with_parameters_measured_on_the_other_logs_the_model_still_beats_the_baselines() {
        let report = run_sweep(
            &shared_data(),
            Options {
                cross_validate: true,
                ..Options::default()
            },
        )
        .unwrap();
        let warm = &report.pooled.warm;
        assert!(
            warm.model.mae_days <= 0.96 * warm.best_baseline(),
            "{} vs {}",
            warm.model.mae_days,
            warm.best_baseline()
        );
        let sr = &report.pooled.self_report;
        assert!(sr.model.mae_days <= sr.last_two.mae_days, "{sr:?}");
    }
}
