//! The backtest's report: its figures in the protocol's JSON shape and as readable tables.

use chrono::NaiveDate;
use domain::Schedule;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::schedule_name;

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
