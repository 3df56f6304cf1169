//! `nightly-forecast`: on the 01:00 schedule, re-forecasts every vehicle and queues the ones
//! that need a decision, and queues the day-before reminders of tomorrow's confirmed bookings
//! for the composer (`app::booking::reminder`; sent once each, after the quiet hours). The fleet is split into scan segments run in parallel; each segment
//! checkpoints every page, so a retried schedule event (same run date) resumes where it stopped
//! and a finished segment is not run again.
//!
//! Sizing: 1,000,000 vehicles in 64 segments are 15,625 vehicles per segment; at two queries
//! and one batched write per vehicle (~10 ms) one segment takes ~160 s, well inside the 900 s
//! limit, with 64 concurrent scans against the on-demand table.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use chrono::NaiveDate;
use domain::policy::Policy;
use lambda_support::aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Serialize;
use store::repo::Repos;
use store::Store;

use app::messages::NightlyShard;
use app::nightly::{commit_page, forecast_page, plan_night, run_date_of, start_shard};
use app::ports::Outbound;

/// What the handler needs, built once per cold start.
pub struct Deps<S, Q> {
    pub repos: Repos<S>,
    pub policy: Policy,
    /// The evaluate queue.
    pub evaluate: Q,
    /// The compose queue (the day-before reminders of bookings).
    pub compose: Q,
    /// Scan segments run in parallel (the shards of a night).
    pub segments: u32,
    /// Vehicles per page (one checkpoint per page).
    pub page_size: u32,
}

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NightSummary {
    pub run_date: Option<NaiveDate>,
    pub segments_done: u32,
    pub forecast: u64,
    pub queued: u64,
    /// Booking reminders queued for the next day.
    pub reminders: u64,
}

/// Time to keep in hand when starting a page.
pub const PAGE_MARGIN: Duration = Duration::from_secs(60);

/// Handles a schedule event: the run date is the dealer's day of the event time. Fails (so the
/// scheduler retries and the run resumes from the checkpoints) when a segment fails or time
/// runs out before every segment is done.
pub async fn handle<S: Store, Q: Outbound>(
    deps: Arc<Deps<S, Q>>,
    event: EventBridgeEvent<serde_json::Value>,
    deadline: Instant,
) -> anyhow::Result<NightSummary> {
    let at = event
        .time
        .ok_or_else(|| anyhow!("the schedule event has no time"))?;
    let run_date = run_date_of(&deps.policy, at);
    run_night(deps, run_date, deadline).await
}

/// Runs every segment of the night of `run_date` until done or `deadline`.
pub async fn run_night<S: Store, Q: Outbound>(
    deps: Arc<Deps<S, Q>>,
    run_date: NaiveDate,
    deadline: Instant,
) -> anyhow::Result<NightSummary> {
    tracing::info!(%run_date, segments = deps.segments, "nightly run");
    // Boxed: the night's future is deep enough already for the compiler's layout limit.
    let reminders = Box::pin(queue_reminders(&deps, run_date)).await?;
    let mut tasks = tokio::task::JoinSet::new();
    for shard in plan_night(run_date, deps.segments).shards {
        let deps = deps.clone();
        tasks.spawn(async move { run_segment(&deps, &shard, deadline).await });
    }
    let mut summary = NightSummary {
        run_date: Some(run_date),
        reminders,
        ..NightSummary::default()
    };
    let mut failures = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.context("a segment task panicked") {
            Ok(Ok(segment)) => {
                summary.forecast += segment.forecast;
                summary.queued += segment.queued;
                summary.segments_done += u32::from(segment.done);
            }
            Ok(Err(e)) | Err(e) => failures.push(e),
        }
    }
    tracing::info!(
        %run_date,
        segments_done = summary.segments_done,
        forecast = summary.forecast,
        queued = summary.queued,
        reminders = summary.reminders,
        "nightly run progress"
    );
    if let Some(e) = failures.into_iter().next() {
        return Err(e.context(format!("nightly run {run_date}: a segment failed")));
    }
    if summary.segments_done < deps.segments.max(1) {
        return Err(anyhow!(
            "nightly run {run_date}: {} of {} segments done when time ran out; a retry resumes",
            summary.segments_done,
            deps.segments.max(1)
        ));
    }
    Ok(summary)
}

/// Queues the day-before reminders of the bookings confirmed for the day after `run_date`.
async fn queue_reminders<S: Store, Q: Outbound>(
    deps: &Deps<S, Q>,
    run_date: NaiveDate,
) -> anyhow::Result<u64> {
    let reminders = app::booking::reminder::reminders_due(&deps.repos, &deps.policy, run_date)
        .await
        .context("listing tomorrow's bookings")?;
    let bodies: Vec<String> = reminders.iter().map(|m| m.to_json()).collect();
    let queued = bodies.len() as u64;
    if !bodies.is_empty() {
        deps.compose
            .send(bodies)
            .await
            .context("queueing booking reminders")?;
    }
    Ok(queued)
}

#[derive(Debug, Default)]
struct SegmentOutcome {
    forecast: u64,
    queued: u64,
    done: bool,
}

async fn run_segment<S: Store, Q: Outbound>(
    deps: &Deps<S, Q>,
    shard: &NightlyShard,
    deadline: Instant,
) -> anyhow::Result<SegmentOutcome> {
    let mut run = start_shard(&deps.repos, shard).await?;
    let mut outcome = SegmentOutcome::default();
    while !run.done() && Instant::now() + PAGE_MARGIN < deadline {
        let page = forecast_page(&deps.repos, &deps.policy, &run, deps.page_size).await?;
        let bodies: Vec<String> = page.evaluate.iter().map(|m| m.to_json()).collect();
        outcome.queued += bodies.len() as u64;
        if !bodies.is_empty() {
            deps.evaluate.send(bodies).await?;
        }
        commit_page(&deps.repos, &mut run, &page).await?;
        outcome.forecast += page.forecast;
    }
    outcome.done = run.done();
    Ok(outcome)
}

/// The instant a Lambda invocation must finish by, from the context's epoch-millisecond deadline.
pub fn deadline_of(deadline_epoch_ms: u64) -> Instant {
    let now_ms = chrono::Utc::now().timestamp_millis().max(0) as u64;
    Instant::now() + Duration::from_millis(deadline_epoch_ms.saturating_sub(now_ms))
}
