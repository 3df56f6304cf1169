//! Benchmarks that print one JSON line of figures each.

use std::time::Instant;

use anyhow::Result;
use chrono::{Datelike, Duration, NaiveDate};
use clap::Subcommand;
use domain::{ForecastInput, Forecaster, Reading, ReadingSource};
use serde::Serialize;

#[derive(Subcommand)]
pub enum Bench {
    /// Forecast synthetic vehicles (10 readings each) on one thread, streaming.
    Forecast {
        #[arg(long, default_value_t = 1_000_000)]
        vehicles: u64,
    },
    /// Triggers, contact policy and offer pricing for synthetic vehicles on one thread.
    Rules {
        #[arg(long, default_value_t = 1_000_000)]
        vehicles: u64,
    },
    /// Nightly re-forecast on a fresh embedded store: read readings, forecast, write forecasts.
    Nightly {
        #[arg(long, default_value_t = 1_000_000)]
        vehicles: u64,
    },
    /// `autodrive import` of a generated DMS export into a fresh embedded store.
    Import {
        /// Work-order lines of the generated export.
        #[arg(long, default_value_t = 1_000_000)]
        lines: u64,
    },
}

/// The line every benchmark prints.
#[derive(Debug, Serialize)]
pub struct BenchLine {
    pub bench: &'static str,
    pub vehicles: u64,
    pub seconds: f64,
    pub vehicles_per_sec: f64,
    pub peak_rss_mb: f64,
}

impl BenchLine {
    pub fn new(bench: &'static str, vehicles: u64, seconds: f64) -> Self {
        BenchLine {
            bench,
            vehicles,
            seconds: (seconds * 1000.0).round() / 1000.0,
            vehicles_per_sec: (vehicles as f64 / seconds.max(1e-9)).round(),
            peak_rss_mb: peak_rss_mb(),
        }
    }
}

/// Peak resident set size of this process (VmHWM), in MB.
pub fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    (kb / 1024.0 * 10.0).round() / 10.0
}

pub fn run(bench: Bench) -> Result<()> {
    let json = match bench {
        Bench::Forecast { vehicles } => serde_json::to_string(&forecast(vehicles))?,
        Bench::Rules { vehicles } => serde_json::to_string(&crate::bench_rules::run(vehicles))?,
        Bench::Nightly { vehicles } => {
            serde_json::to_string(&crate::bench_nightly::run(vehicles)?)?
        }
        Bench::Import { lines } => serde_json::to_string(&crate::bench_import::run(lines)?)?,
    };
    println!("{json}");
    Ok(())
}

/// A small deterministic generator (SplitMix64), so runs are comparable.
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Fills `out` with one synthetic vehicle's readings: `count` visits over the years at a
/// vehicle-specific pace, now and then a customer report.
pub fn synthetic_readings(rng: &mut SplitMix, count: usize, out: &mut Vec<Reading>) -> NaiveDate {
    out.clear();
    let registration = NaiveDate::from_ymd_opt(2012, 1, 1).unwrap_or_default()
        + Duration::days(rng.below(3650) as i64);
    let pace = 10.0 + rng.below(90) as f64;
    let first_gap = 30 + rng.below(400) as i64;
    // Days as integers, one date conversion per reading: the generator is inside the timed loop.
    let origin = i64::from(registration.num_days_from_ce());
    let mut day = origin + first_gap;
    let mut km = (pace * first_gap as f64) as u32;
    for i in 0..count {
        let source = if i % 4 == 3 {
            ReadingSource::CustomerReported
        } else {
            ReadingSource::Visit
        };
        let date = i32::try_from(day)
            .ok()
            .and_then(NaiveDate::from_num_days_from_ce_opt)
            .unwrap_or(registration);
        out.push(Reading { date, km, source });
        let gap = 90 + rng.below(300) as i64;
        day += gap;
        km += (pace * gap as f64 * (0.7 + rng.below(60) as f64 / 100.0)) as u32;
    }
    registration
}

fn forecast(vehicles: u64) -> BenchLine {
    let forecaster = Forecaster::default();
    let mut rng = SplitMix::new(42);
    let mut readings = Vec::with_capacity(10);
    let mut checksum = 0i64;
    let started = Instant::now();
    for _ in 0..vehicles {
        let registration = synthetic_readings(&mut rng, 10, &mut readings);
        let input = ForecastInput {
            readings: &readings,
            first_registration: Some(registration),
            last_service: None,
            as_of: None,
        };
        if let Ok(due) = forecaster.forecast(&input) {
            checksum = checksum.wrapping_add(due.due_date.num_days_from_ce() as i64);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    std::hint::black_box(checksum);
    BenchLine::new("forecast", vehicles, seconds)
}
