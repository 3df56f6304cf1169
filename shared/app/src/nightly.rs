//! The nightly re-forecast, sharded: a planner splits the fleet into scan segments, a worker
//! forecasts one segment page by page with a checkpoint per page, so a re-delivered or crashed
//! shard resumes where it stopped and a repeated run date does no work twice.

use chrono::{DateTime, NaiveDate, Utc};
use domain::policy::Policy;
use domain::triggers::window::{can_fire_on, WindowInput};
use domain::triggers::LastVisit;
use domain::{ServiceDue, Vehicle};
use store::repo::{Checkpoint, Repos};
use store::{Cursor, Store, StoreError};

use crate::forecasting::night_facts;
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

/// Whether a vehicle needs a decision on `today`: some stage of the cycle can fire for it that
/// day by the trigger rules themselves ([`domain::triggers::window`]), so the night drops
/// nothing the evaluator would act on.
pub fn needs_evaluation(
    policy: &Policy,
    vehicle: &Vehicle,
    due: &ServiceDue,
    last_visit: Option<LastVisit>,
    declined_work: Option<domain::Urgency>,
    today: NaiveDate,
) -> bool {
    let input = WindowInput {
        due,
        last_visit,
        first_registration: vehicle.first_registration(),
        warranty_until: vehicle.warranty_until(),
        declined_work,
    };
    can_fire_on(policy, &input, today)
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
    let mut evaluate = Vec::new();
    for stored in &vehicles {
        let facts = night_facts(repos, policy, &stored.vehicle, run.run_date).await?;
        let Some(due) = facts.due else {
            continue;
        };
        // A car its owner sold gets no message: nothing to decide. A snooze ends today: the
        // stage it held back may come.
        let sold = stored.contact.sold_at.is_some();
        let snooze_ends = stored
            .contact
            .snooze
            .as_ref()
            .is_some_and(|s| s.until == run.run_date);
        if !sold
            && (snooze_ends
                || needs_evaluation(
                    policy,
                    &stored.vehicle,
                    &due,
                    facts.last_visit,
                    facts.declined_work,
                    run.run_date,
                ))
        {
            evaluate.push(EvaluateVehicle::V1 {
                run_date: run.run_date,
                vin: stored.vin.clone(),
            });
        }
        forecasts.push((stored.vin.clone(), due));
    }
    repos
        .forecasts
        .put_many(forecasts.iter().map(|(vin, due)| (vin.as_str(), due)))
        .await?;
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
