//! The nightly re-forecast, sharded: a planner splits the fleet into scan segments, a worker
//! forecasts one segment page by page with a checkpoint per page, so a re-delivered or crashed
//! shard resumes where it stopped and a repeated run date does no work twice.

use chrono::{DateTime, Days, NaiveDate, Utc};
use domain::policy::Policy;
use domain::{ServiceDue, Vehicle};
use store::repo::{Checkpoint, Repos};
use store::{Cursor, Store, StoreError};

use crate::forecasting::compute_forecast;
use crate::messages::{EvaluateVehicle, NightlyShard};

/// The shards of one night.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NightPlan {
    pub run_date: NaiveDate,
    pub shards: Vec<NightlyShard>,
}

/// The run date of a schedule firing at `at`: the dealer's calendar day.
pub fn run_date_of(policy: &Policy, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&policy.time_zone()).date_naive()
}

/// Splits the night of `run_date` into `total_shards` scan segments (at least one).
pub fn plan_night(run_date: NaiveDate, total_shards: u32) -> NightPlan {
    let total = total_shards.max(1);
    NightPlan {
        run_date,
        shards: (0..total)
            .map(|shard| NightlyShard::V1 {
                run_date,
                shard,
                total_shards: total,
            })
            .collect(),
    }
}

/// Whether a vehicle needs a decision on `today`: its service falls due within the longest
/// trigger lead, or its last service is recent enough for a satisfaction request.
pub fn needs_evaluation(policy: &Policy, due: &ServiceDue, today: NaiveDate) -> bool {
    let t = policy.triggers();
    let lead = t
        .ask_odometer_days_before_due
        .max(t.soft_reminder_days_before_due)
        .max(t.personal_offer_days_before_due);
    let horizon = today + Days::new(u64::from(lead));
    let since_service = (today - due.service.date).num_days();
    let satisfaction = i64::from(t.satisfaction_after_days);
    let window = satisfaction + i64::from(t.satisfaction_window_days);
    due.due_date <= horizon || (satisfaction..=window).contains(&since_service)
}

/// A shard in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardRun {
    pub run_date: NaiveDate,
    pub checkpoint: Checkpoint,
}

impl ShardRun {
    pub fn done(&self) -> bool {
        self.checkpoint.done
    }
}

/// One forecast page, written but not yet checkpointed.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastedPage {
    from: Option<Cursor>,
    next: Option<Cursor>,
    pub forecast: u64,
    pub vehicles: u64,
    /// The vehicles to evaluate; pass them on before `commit_page`.
    pub evaluate: Vec<EvaluateVehicle>,
}

/// Starts the shard, or resumes it from its checkpoint if it was started before.
pub async fn start_shard<S: Store>(
    repos: &Repos<S>,
    message: &NightlyShard,
) -> Result<ShardRun, StoreError> {
    let NightlyShard::V1 {
        run_date,
        shard,
        total_shards,
    } = *message;
    let checkpoint = repos.runs.start(run_date, shard, total_shards).await?;
    Ok(ShardRun {
        run_date,
        checkpoint,
    })
}

/// Forecasts the next page of the shard (up to `page_size` vehicles) and stores the forecasts.
pub async fn forecast_page<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    run: &ShardRun,
    page_size: u32,
) -> Result<ForecastedPage, StoreError> {
    let cp = &run.checkpoint;
    let (vehicles, next) = repos
        .vehicles
        .scan::<Vehicle>(cp.shard, cp.total_shards, cp.cursor.clone(), page_size)
        .await?;
    let mut forecasts = Vec::with_capacity(vehicles.len());
    for stored in &vehicles {
        if let Some(due) = compute_forecast(repos, policy, &stored.vehicle, run.run_date).await? {
            forecasts.push((stored.vin.clone(), due));
        }
    }
    repos
        .forecasts
        .put_many(forecasts.iter().map(|(vin, due)| (vin.as_str(), due)))
        .await?;
    let evaluate = forecasts
        .iter()
        .filter(|(_, due)| needs_evaluation(policy, due, run.run_date))
        .map(|(vin, _)| EvaluateVehicle::V1 {
            run_date: run.run_date,
            vin: vin.clone(),
        })
        .collect();
    Ok(ForecastedPage {
        from: cp.cursor.clone(),
        next,
        forecast: forecasts.len() as u64,
        vehicles: vehicles.len() as u64,
        evaluate,
    })
}

/// Records the page in the shard's checkpoint. When another worker moved the checkpoint first,
/// the run continues from where that worker got to (the page is not counted twice).
pub async fn commit_page<S: Store>(
    repos: &Repos<S>,
    run: &mut ShardRun,
    page: &ForecastedPage,
) -> Result<(), StoreError> {
    let cp = &run.checkpoint;
    match repos
        .runs
        .advance(
            run.run_date,
            cp.shard,
            page.from.as_ref(),
            page.next.as_ref(),
            page.vehicles,
        )
        .await
    {
        Ok(checkpoint) => run.checkpoint = checkpoint,
        Err(StoreError::ConditionFailed) => {
            run.checkpoint = repos
                .runs
                .start(run.run_date, cp.shard, cp.total_shards)
                .await?;
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

/// What an in-process shard run did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShardReport {
    pub pages: u32,
    pub forecast: u64,
    pub evaluate: Vec<EvaluateVehicle>,
    pub done: bool,
}

/// How much of a shard one invocation may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardBudget {
    pub page_size: u32,
    /// Stop after this many pages (the shard resumes from its checkpoint next time).
    pub max_pages: u32,
}

/// Runs pages of the shard until it is done or the budget is spent, collecting the vehicles
/// to evaluate (in-process use; a worker that hands messages on per page uses the steps).
pub async fn run_shard<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    message: &NightlyShard,
    budget: ShardBudget,
) -> Result<ShardReport, StoreError> {
    let mut run = start_shard(repos, message).await?;
    let mut report = ShardReport::default();
    while !run.done() && report.pages < budget.max_pages {
        let page = forecast_page(repos, policy, &run, budget.page_size).await?;
        commit_page(repos, &mut run, &page).await?;
        report.pages += 1;
        report.forecast += page.forecast;
        report.evaluate.extend(page.evaluate);
    }
    report.done = run.done();
    Ok(report)
}
