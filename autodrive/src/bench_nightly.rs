//! `autodrive bench nightly`: the nightly re-forecast on the embedded store. Generates vehicles
//! with readings into a fresh store (not timed), then times reading every vehicle's readings,
//! forecasting it, deciding from the trigger rules' window whether the night queues it (its last
//! reading stands for its last visit) and writing every forecast, through the same repositories
//! the stack uses.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use chrono::NaiveDate;
use domain::policy::Policy;
use domain::triggers::window::{can_fire_on, WindowInput};
use domain::triggers::LastVisit;
use domain::{ForecastInput, Forecaster, Reading, ServiceDue, VisitKind};
use serde::{Deserialize, Serialize};
use store::repo::{Repos, VehicleRecord};
use store::RedbStore;

use crate::bench::{synthetic_readings, BenchLine, SplitMix};

/// Readings per synthetic vehicle.
const READINGS: usize = 8;
/// Vehicles per write batch while generating.
const GENERATE_BATCH: u64 = 500;
/// Scan segments processed at once (the nightly shards).
const SEGMENTS: u32 = 4;
/// Vehicles per scan page, and forecasts per write batch.
const PAGE: u32 = 1_000;

#[derive(Debug, Serialize, Deserialize)]
struct BenchVehicle {
    make: String,
    model: String,
    first_registration: NaiveDate,
}

fn vin(i: u64) -> String {
    format!("BENCH{i:012}")
}

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 12).unwrap_or_default()
}

/// A store directory that is removed when dropped.
struct FreshDir(PathBuf);

impl FreshDir {
    fn new() -> Result<Self> {
        let dir =
            std::env::temp_dir().join(format!("autodrive-bench-nightly-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(FreshDir(dir))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for FreshDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn run(vehicles: u64) -> Result<BenchLine> {
    let dir = FreshDir::new()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(SEGMENTS as usize)
        .enable_time()
        .build()
        .context("starting the runtime")?;
    let seconds = runtime.block_on(bench(
        vehicles,
        &dir.path().join(store::redb_store::STORE_FILE),
    ))?;
    Ok(BenchLine::new("nightly", vehicles, seconds))
}

async fn bench(vehicles: u64, path: &Path) -> Result<f64> {
    let repos = Repos::new(RedbStore::open(path)?);
    generate(&repos, vehicles).await?;

    let started = Instant::now();
    let mut shards = Vec::new();
    for segment in 0..SEGMENTS {
        let repos = repos.clone();
        shards.push(tokio::spawn(async move {
            forecast_segment(&repos, segment).await
        }));
    }
    let (mut forecast, mut queued) = (0, 0);
    for shard in shards {
        let (f, q) = shard.await.context("a shard task failed")??;
        forecast += f;
        queued += q;
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!("queued for evaluation: {queued} of {forecast}");
    ensure!(
        forecast == vehicles,
        "forecast {forecast} of {vehicles} vehicles"
    );
    Ok(seconds)
}

/// Writes `count` vehicles with their readings in batches.
async fn generate(repos: &Repos<RedbStore>, count: u64) -> Result<()> {
    let mut rng = SplitMix::new(7);
    let mut readings = Vec::with_capacity(READINGS);
    let references: Vec<String> = (0..READINGS).map(|i| format!("WO#{i}")).collect();
    let mut start = 0;
    while start < count {
        let end = (start + GENERATE_BATCH).min(count);
        let vins: Vec<String> = (start..end).map(vin).collect();
        let mut cars = Vec::with_capacity(vins.len());
        let mut batch: Vec<(&str, Reading, &str)> = Vec::with_capacity(vins.len() * READINGS);
        for v in &vins {
            let first_registration = synthetic_readings(&mut rng, READINGS, &mut readings);
            cars.push(BenchVehicle {
                make: "Toyota".into(),
                model: "Camry".into(),
                first_registration,
            });
            for (r, reference) in readings.iter().zip(&references) {
                batch.push((v.as_str(), *r, reference.as_str()));
            }
        }
        repos
            .vehicles
            .put_many(vins.iter().zip(&cars).map(|(vin, vehicle)| VehicleRecord {
                vin,
                customer_id: vin,
                vehicle,
            }))
            .await?;
        repos.readings.append_many(batch).await?;
        start = end;
    }
    Ok(())
}

/// Re-forecasts every vehicle of one scan segment; returns how many were forecast and how many
/// of them the night queues for evaluation.
async fn forecast_segment(repos: &Repos<RedbStore>, segment: u32) -> Result<(u64, u64)> {
    let forecaster = Forecaster::default();
    let policy = Policy::default();
    let mut cursor = None;
    let (mut done, mut queued) = (0, 0);
    loop {
        let (page, next) = repos
            .vehicles
            .scan::<BenchVehicle>(segment, SEGMENTS, cursor.take(), PAGE)
            .await?;
        let mut dues: Vec<(String, ServiceDue)> = Vec::with_capacity(page.len());
        for v in page {
            let readings = repos.readings.for_vehicle(&v.vin).await?;
            let input = ForecastInput {
                readings: &readings,
                first_registration: Some(v.vehicle.first_registration),
                last_service: None,
                as_of: Some(as_of()),
            };
            let due = forecaster
                .forecast(&input)
                .with_context(|| format!("forecasting {}", v.vin))?;
            let window = WindowInput {
                due: &due,
                last_visit: readings.last().map(|r| LastVisit {
                    closed_at: r.date.and_hms_opt(9, 0, 0).unwrap_or_default().and_utc(),
                    kind: VisitKind::Maintenance,
                }),
                first_registration: v.vehicle.first_registration,
                warranty_until: None,
                declined_work: None,
            };
            queued += u64::from(can_fire_on(&policy, &window, as_of()));
            dues.push((v.vin, due));
        }
        done += dues.len() as u64;
        repos
            .forecasts
            .put_many(dues.iter().map(|(vin, due)| (vin.as_str(), due)))
            .await?;
        match next {
            Some(c) => cursor = Some(c),
            None => return Ok((done, queued)),
        }
    }
}
