//! The service-due backtest of `../shared/BACKTEST.md`: cases from real odometer logs, the
//! model against the baselines, warm, cold and self-report.

use std::path::Path;

use anyhow::{bail, Result};
use chrono::NaiveDate;
use domain::forecast::add_months;
use domain::{ForecastInput, Forecaster, Reading, ReadingSource, Schedule, ServicePoint};
use serde::Serialize;

use crate::odometer_csv::{csv_files, read_all, VehicleLog};

const SCHEDULE: Schedule = Schedule {
    km: 15_000,
    months: 12,
};
const PRIOR_KM_PER_DAY: f64 = 15_000.0 / 365.25;
const REPORT_LEAD_DAYS: i64 = 45;

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
pub fn cases_of(series: &[Reading]) -> Vec<Case> {
    chain_from(series, 0, true_due)
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
        match series.iter().skip(k + 1).position(|r| r.date >= truth) {
            Some(offset) => visits.push(k + 1 + offset),
            None => break,
        }
    }
    cases
}

/// The earlier of 12 months after visit k and the interpolated day the odometer reaches
/// `o_k + 15,000`; `None` when neither is observable in the series.
fn true_due(series: &[Reading], k: usize) -> Option<NaiveDate> {
    let time_due = add_months(series[k].date, SCHEDULE.months);
    let last = series.last()?;
    match distance_reached(series, k, SCHEDULE.km) {
        Some(d) => Some(d.min(time_due)),
        None if time_due <= last.date => Some(time_due),
        None => None,
    }
}

/// The day the odometer reaches `o_k + km`, interpolated between the two readings that
/// bracket it and rounded to the nearest day; `None` when the series never gets there.
pub fn distance_reached(series: &[Reading], k: usize, km: u32) -> Option<NaiveDate> {
    let target = f64::from(series[k].km) + f64::from(km);
    series.iter().enumerate().skip(k + 1).find_map(|(j, r)| {
        (f64::from(r.km) >= target).then(|| {
            let a = series[j - 1];
            let span = (r.date - a.date).num_days() as f64;
            let t = (target - f64::from(a.km)) / f64::from(r.km - a.km).max(f64::EPSILON);
            a.date + chrono::Duration::days((t * span).round() as i64)
        })
    })
}

/// A rate baseline: the earlier of the time due and `d + round(15,000 / rate)` days.
fn rate_due(date: NaiveDate, rate: f64) -> NaiveDate {
    let time_due = add_months(date, SCHEDULE.months);
    if rate.is_nan() || rate <= 0.0 || !rate.is_finite() {
        return time_due;
    }
    let days = (f64::from(SCHEDULE.km) / rate).round();
    if days > 36_500.0 {
        return time_due;
    }
    (date + chrono::Duration::days(days as i64)).min(time_due)
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    cases: usize,
    abs_days: i64,
    within_14d: usize,
    covered: Option<usize>,
}

impl Tally {
    fn add(&mut self, predicted: NaiveDate, truth: NaiveDate) {
        let err = (predicted - truth).num_days().abs();
        self.cases += 1;
        self.abs_days += err;
        self.within_14d += usize::from(err <= 14);
    }

    fn add_interval(&mut self, p10: NaiveDate, p90: NaiveDate, truth: NaiveDate) {
        *self.covered.get_or_insert(0) += usize::from(p10 <= truth && truth <= p90);
    }

    fn metrics(&self) -> Metrics {
        let share = |n: usize| round3(n as f64 / self.cases.max(1) as f64);
        Metrics {
            cases: self.cases,
            mae_days: round3(self.abs_days as f64 / self.cases.max(1) as f64),
            within_14d: share(self.within_14d),
            coverage_80: self.covered.map(share),
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
}

#[derive(Debug, Clone, Serialize)]
pub struct Kind {
    pub model: Metrics,
    pub last_two: Metrics,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_history_avg: Option<Metrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calendar_12m: Option<Metrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime_avg: Option<Metrics>,
}

/// The whole report, in the protocol's JSON shape.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub vehicles: usize,
    pub warm: Kind,
    pub cold: Kind,
    pub self_report: Kind,
    /// Every case as the model saw it; not part of the protocol's JSON.
    #[serde(skip)]
    pub cases: Vec<CaseRow>,
}

/// One case of the run: where the history ends, the truth and the model's answer.
#[derive(Debug, Clone)]
pub struct CaseRow {
    pub vehicle: String,
    pub visits: usize,
    pub last_visit: NaiveDate,
    pub truth: NaiveDate,
    pub model: NaiveDate,
    pub p10: NaiveDate,
    pub p90: NaiveDate,
    pub km_per_day: f64,
    pub calendar: NaiveDate,
}

/// A vehicle's truth series and the history the model sees (clean or raw).
struct Vehicle {
    id: String,
    truth: Vec<Reading>,
    first_registration: Option<NaiveDate>,
    /// Every history row by date: in the raw variant, all raw rows of that date.
    history: Vec<Reading>,
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

pub fn run(dir: &Path, raw: bool) -> Result<Report> {
    let truth_logs = read_all(&csv_files(dir, false)?)?;
    let raw_logs = if raw {
        read_all(&csv_files(dir, true)?)?
    } else {
        Vec::new()
    };
    let mut vehicles = Vec::new();
    for log in &truth_logs {
        let truth = truth_series(log);
        let history = if raw {
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
            truth,
            first_registration: log.first_registration,
            history,
        });
    }
    Ok(evaluate(&vehicles))
}

fn evaluate(vehicles: &[Vehicle]) -> Report {
    let forecaster = Forecaster::new(SCHEDULE);
    let mut warm = [Tally::default(); 4];
    let mut cold = [Tally::default(); 5];
    let mut report = [Tally::default(); 2];
    let mut listed = Vec::new();
    for vehicle in vehicles {
        for case in cases_of(&vehicle.truth) {
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
            let calendar = add_months(last.date, SCHEDULE.months);
            let truth = case.truth;
            listed.push(CaseRow {
                vehicle: vehicle.id.clone(),
                visits: case.visits.len(),
                last_visit: last.date,
                truth,
                model: due.due_date,
                p10: due.p10,
                p90: due.p90,
                km_per_day: due.km_per_day,
                calendar,
            });
            if case.is_warm() {
                let prev = visits[visits.len() - 2];
                let last_two_due = rate_due(last.date, pace(prev, last));
                let tallies = &mut warm;
                tallies[0].add(due.due_date, truth);
                tallies[0].add_interval(due.p10, due.p90, truth);
                tallies[1].add(last_two_due, truth);
                tallies[2].add(rate_due(last.date, pace(first, last)), truth);
                tallies[3].add(calendar, truth);

                if let Some(r) = reported(&vehicle.truth, last.date, due.due_date) {
                    let again = model(Some(r));
                    report[0].add(again.due_date, truth);
                    report[0].add_interval(again.p10, again.p90, truth);
                }
                if let Some(r) = reported(&vehicle.truth, last.date, last_two_due) {
                    report[1].add(rate_due(last.date, pace(last, r)), truth);
                }
            } else {
                cold[0].add(due.due_date, truth);
                cold[0].add_interval(due.p10, due.p90, truth);
                cold[1].add(rate_due(last.date, PRIOR_KM_PER_DAY), truth);
                cold[2].add(rate_due(last.date, PRIOR_KM_PER_DAY), truth);
                cold[3].add(calendar, truth);
                if let Some(reg) = vehicle.first_registration {
                    let days = (first.date - reg).num_days();
                    if days >= 30 {
                        cold[4].add(
                            rate_due(last.date, f64::from(first.km) / days as f64),
                            truth,
                        );
                    }
                }
            }
        }
    }
    Report {
        vehicles: vehicles.len(),
        warm: Kind {
            model: warm[0].metrics(),
            last_two: warm[1].metrics(),
            all_history_avg: Some(warm[2].metrics()),
            calendar_12m: Some(warm[3].metrics()),
            lifetime_avg: None,
        },
        cold: Kind {
            model: cold[0].metrics(),
            last_two: cold[1].metrics(),
            all_history_avg: Some(cold[2].metrics()),
            calendar_12m: Some(cold[3].metrics()),
            lifetime_avg: Some(cold[4].metrics()),
        },
        self_report: Kind {
            model: report[0].metrics(),
            last_two: report[1].metrics(),
            all_history_avg: None,
            calendar_12m: None,
            lifetime_avg: None,
        },
        cases: listed,
    }
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
pub fn render_cases(report: &Report) -> String {
    use std::fmt::Write;
    let mut out = String::from(
        "vehicle              visits  last visit  truth       model       error  p10..p90                 km/day  calendar error\n",
    );
    for c in &report.cases {
        let covered = if (c.p10..=c.p90).contains(&c.truth) {
            ' '
        } else {
            '!'
        };
        let _ = writeln!(
            out,
            "{:<20} {:>6}  {}  {}  {}  {:>5}  {}..{}{covered} {:>6.1}  {:>5}",
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
        );
    }
    out
}

/// The report as a readable table.
pub fn render_table(report: &Report) -> String {
    let mut out = format!("vehicles: {}\n", report.vehicles);
    out.push_str(&format!(
        "{:<12} {:<16} {:>6} {:>9} {:>11} {:>12}\n",
        "kind", "predictor", "cases", "mae_days", "within_14d", "coverage_80"
    ));
    for (name, kind) in [
        ("warm", &report.warm),
        ("cold", &report.cold),
        ("self_report", &report.self_report),
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
            out.push_str(&format!(
                "{name:<12} {predictor:<16} {:>6} {:>9.2} {:>11.3} {:>12}\n",
                m.cases, m.mae_days, m.within_14d, coverage
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::odometer_csv::test_support::{reading, shared_data};

    #[test]
    fn the_true_due_is_the_interpolated_day_the_distance_is_reached() {
        let series = [
            reading("2020-01-01", 0),
            reading("2020-05-01", 10_000),
            reading("2020-09-01", 20_000),
        ];
        let cases = cases_of(&series);
        assert_eq!(cases[0].truth, "2020-07-02".parse::<NaiveDate>().unwrap());
    }

    #[test]
    fn the_true_due_of_a_slow_car_is_twelve_months_clamped_to_the_month_end() {
        let series = [reading("2020-02-29", 0), reading("2021-06-01", 5_000)];
        let cases = cases_of(&series);
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].truth, "2021-02-28".parse::<NaiveDate>().unwrap());
    }

    #[test]
    fn cases_stop_when_no_due_is_observable() {
        let series = [reading("2020-01-01", 0), reading("2020-06-01", 3_000)];
        assert!(cases_of(&series).is_empty());
    }

    #[test]
    fn the_baselines_reproduce_the_protocols_published_figures() {
        let report = run(&shared_data(), false)
            .expect("../shared/data/odometer must be beside the repository");
        assert_eq!(report.vehicles, 5);
        assert_eq!(report.warm.model.cases, 19);
        assert_eq!(report.warm.calendar_12m.unwrap().mae_days, 9.0);
        assert!((report.warm.last_two.mae_days - 17.3).abs() < 0.05);
        assert!((report.warm.all_history_avg.unwrap().mae_days - 24.2).abs() < 0.05);
        assert_eq!(report.cold.model.cases, 4);
        assert!((report.cold.calendar_12m.unwrap().mae_days - 62.8).abs() < 0.05);
    }

    #[test]
    fn the_model_beats_last_two_after_a_self_report_and_matches_the_calendar_when_cold() {
        let report = run(&shared_data(), false).unwrap();
        let sr = &report.self_report;
        assert!(
            sr.model.mae_days <= 8.0 && sr.model.mae_days <= sr.last_two.mae_days,
            "{sr:?}"
        );
        assert!(report.cold.model.mae_days <= report.cold.calendar_12m.unwrap().mae_days);
        assert!(report.warm.model.mae_days < report.warm.last_two.mae_days);
    }

    #[test]
    fn warm_the_model_is_a_tenth_better_than_the_best_baseline_and_no_worse_than_any() {
        let report = run(&shared_data(), false).unwrap();
        let warm = &report.warm;
        let baselines = [
            warm.last_two.mae_days,
            warm.all_history_avg.unwrap().mae_days,
            warm.calendar_12m.unwrap().mae_days,
        ];
        let best = baselines.iter().copied().fold(f64::INFINITY, f64::min);
        assert!(warm.model.mae_days <= 0.9 * best, "{warm:?}");
    }

    #[test]
    fn raw_logs_cost_the_model_at_most_a_fifth_of_its_warm_accuracy() {
        let clean = run(&shared_data(), false).unwrap();
        let raw = run(&shared_data(), true).unwrap();
        assert_eq!(raw.warm.model.cases, clean.warm.model.cases);
        assert!(raw.warm.model.mae_days <= clean.warm.model.mae_days * 1.2);
    }

    #[test]
    fn the_json_report_has_the_protocols_shape() {
        let report = run(&shared_data(), false).unwrap();
        let json = serde_json::to_value(&report).unwrap();
        for kind in ["warm", "cold", "self_report"] {
            for key in ["cases", "mae_days", "within_14d", "coverage_80"] {
                assert!(json[kind]["model"].get(key).is_some(), "{kind}.model.{key}");
            }
        }
        assert!(json["cold"]["lifetime_avg"]["cases"].is_u64());
        assert!(json["warm"].get("lifetime_avg").is_none());
    }
}
