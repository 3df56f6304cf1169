//! `autodrive demo`: a sample dealership on a fresh embedded store, run through the real use
//! cases (visits, nightly forecast, evaluator, composer, bookings) for a few days, ending with
//! one full night and day, and the dealer's view of it.

mod arrivals;
mod day;
mod dealership;
mod files;
mod progress;
mod render;
mod render_kpi;
mod report;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{bail, ensure, Context, Result};
use app::booking::BookingSettings;
use app::messages::{ComposeOffer, EvaluateVehicle};
use app::ports::{Address, Channel, OutgoingMessage};
use app::{
    commit_evaluation, compose_and_send, evaluate_vehicle, plan_night, record_visit, run_date_of,
    run_shard, ComposeOutcome, ShardBudget, UpdateKind,
};
use chrono::{DateTime, Days, FixedOffset, NaiveDate, Utc};
use domain::policy::Policy;
use domain::pricing::Offer;
use domain::triggers::{Reason, Stage};
use store::repo::Repos;
use store::RedbStore;

pub use render::render_ru;
pub use report::DemoReport;

use dealership::Dealership;

/// Nightly shards (scan segments) of one night.
const SHARDS: u32 = 4;
/// Vehicles per forecast page.
const PAGE: u32 = 500;
/// The advisors' Telegram chat.
const ADVISOR_CHAT: i64 = -100_000_000_001;
/// Vehicles evaluated at once.
const EVALUATORS: usize = 4;
/// Visits recorded at once while back-filling the history.
const INGEST_CONCURRENCY: usize = 8;
/// Where the report files of a demo on a scratch store are kept (under the system's temp dir).
const KEPT_REPORTS: &str = "autodrive-demo-reports";

/// Options of `autodrive demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Customers of the sample dealership.
    #[arg(long, default_value_t = 3_000)]
    pub customers: u32,
    /// Seed of the sample dealership and of the customers' reactions.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Directory for the embedded store (must not hold one yet); when left out, a fresh
    /// temporary directory (in memory under /dev/shm where there is one), removed afterwards.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The night shown, RFC 3339 (dealer time 01:00 is when the nightly run fires).
    #[arg(long, default_value = "2026-11-12T01:00:00+03:00")]
    pub at: DateTime<FixedOffset>,
    /// Nights run before the night shown, so reminders, offers and bookings have a history.
    #[arg(long, default_value_t = 10)]
    pub warm_up_days: u32,
    /// Print one JSON object instead of the report.
    #[arg(long)]
    pub json: bool,
    /// The dealer's policy TOML: this file, else `POLICY_FILE`, else `policy.toml` in the
    /// current directory when there is one, else the built-in defaults.
    #[arg(long)]
    pub policy: Option<PathBuf>,
}

/// What one demo run is asked to do.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    pub customers: u32,
    pub seed: u64,
    pub at: DateTime<FixedOffset>,
    pub warm_up_days: u32,
    pub policy: Policy,
}

/// The policy file the demo runs on (see [`DemoArgs::policy`]), if any.
fn policy_path(given: Option<PathBuf>) -> Option<PathBuf> {
    given
        .or_else(|| {
            std::env::var_os("POLICY_FILE")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
        })
        .or_else(|| Some(PathBuf::from("policy.toml")).filter(|p| p.is_file()))
}

pub fn run(args: DemoArgs) -> Result<()> {
    let policy = match policy_path(args.policy) {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading the policy {}", path.display()))?;
            Policy::from_toml(&text).with_context(|| format!("policy {}", path.display()))?
        }
        None => Policy::default(),
    };
    let config = DemoConfig {
        customers: args.customers,
        seed: args.seed,
        at: args.at,
        warm_up_days: args.warm_up_days,
        policy,
    };
    let started = std::time::Instant::now();
    let report = match &args.data_dir {
        Some(dir) => run_in(&config, dir)?,
        None => {
            let dir = scratch_dir()?;
            let mut report = run_in(&config, dir.path())?;
            let kept = std::env::temp_dir().join(KEPT_REPORTS);
            files::copy_reports(&report.reports_dir, &kept, &report.reports)?;
            report.reports_dir = kept;
            report
        }
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", render_ru(&report));
        println!(
            "\nВремя работы демо: {:.1} с.",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// A fresh temporary directory; in memory when the system has /dev/shm, since the demo's
/// store is thrown away and durable commits would only cost time.
fn scratch_dir() -> Result<tempfile::TempDir> {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::Builder::new()
            .prefix("autodrive-demo-")
            .tempdir_in(shm)
        {
            return Ok(dir);
        }
    }
    tempfile::Builder::new()
        .prefix("autodrive-demo-")
        .tempdir()
        .context("creating a temporary directory")
}

/// Runs the demo on a store in `dir` (created if missing; it must not hold a store yet) and
/// writes every report as XLSX and CSV in `dir/reports`.
pub fn run_in(config: &DemoConfig, dir: &Path) -> Result<DemoReport> {
    let path = dir.join(store::redb_store::STORE_FILE);
    if path.exists() {
        bail!(
            "{} already holds a store; the demo needs an empty directory",
            dir.display()
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(4)
        .enable_time()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        let repos = Repos::new(RedbStore::open(&path)?);
        simulate(&repos, config, dir).await
    })
}

/// A message the recording channel took.
#[derive(Debug, Clone)]
struct Recorded {
    to: Address,
    text: String,
}

/// A console channel that records messages instead of printing thousands of them.
#[derive(Debug, Default)]
struct RecordingChannel {
    sent: Mutex<Vec<Recorded>>,
}

impl RecordingChannel {
    fn text_of(&self, message_id: &str) -> Option<String> {
        let index: usize = message_id.strip_prefix('m')?.parse().ok()?;
        let sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        sent.get(index).map(|r| r.text.clone())
    }

    fn count(&self) -> usize {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn recipients_since(&self, from: usize) -> Vec<Address> {
        let sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        sent[from.min(sent.len())..]
            .iter()
            .map(|r| r.to.clone())
            .collect()
    }
}

impl Channel for RecordingChannel {
    async fn send(&self, message: &OutgoingMessage) -> anyhow::Result<String> {
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        sent.push(Recorded {
            to: message.to.clone(),
            text: message.text.clone(),
        });
        Ok(format!("m{}", sent.len() - 1))
    }
}

/// A message the composer sent to a customer.
#[derive(Debug, Clone)]
pub struct SentMessage {
    pub run_date: NaiveDate,
    pub sent_at: DateTime<Utc>,
    pub offer_id: String,
    pub customer_id: String,
    pub vin: String,
    pub stage: Stage,
    pub reason: Reason,
    pub offer: Option<Offer>,
    pub text: String,
}

/// What one night and day did.
#[derive(Debug, Clone, Default)]
pub struct DayLog {
    pub run_date: NaiveDate,
    pub forecast: u64,
    pub evaluated: usize,
    pub decided: usize,
    pub deferred_quiet_hours: usize,
    /// Stages vetoed: vehicle, stage and the veto.
    pub vetoed: Vec<(String, Stage, String)>,
    pub sent: Vec<SentMessage>,
    pub no_channel: usize,
    pub opted_out_before_send: usize,
    pub booking_requests: usize,
    pub bookings_held: usize,
    pub bookings_confirmed: usize,
    pub stops: usize,
    /// Scores sent in reply to satisfaction requests.
    pub ratings: usize,
    /// Of them, at or below the policy's CSAT alarm.
    pub low_ratings: usize,
    /// Alerts the advisors' chat got about low scores.
    pub advisor_alerts: usize,
    /// «Уже обслужился» answered with where (another garage, sold, here).
    pub serviced_answers: usize,
}

/// Everything the run produced, for the report.
pub struct Outcome {
    pub visits_recorded: usize,
    pub days: Vec<DayLog>,
    pub replies_sent: usize,
}

struct Cycle {
    repos: Repos<RedbStore>,
    policy: Policy,
    channel: Arc<RecordingChannel>,
    settings: BookingSettings,
    seed: u64,
    next_update: u64,
    replies_sent: usize,
    /// Confirmed bookings expected at their slot.
    arrivals: Vec<arrivals::Arrival>,
    /// Cars that came to a booking, and when.
    arrived: std::collections::HashMap<String, DateTime<Utc>>,
    /// Sampled visits not recorded: their car came to a booking before.
    covered_visits: usize,
}

async fn simulate(repos: &Repos<RedbStore>, config: &DemoConfig, dir: &Path) -> Result<DemoReport> {
    let policy = config.policy.clone();
    let tz = policy.time_zone();
    let first_night = config
        .at
        .checked_sub_days(Days::new(u64::from(config.warm_up_days)))
        .context("--at is too early")?;
    let dealership = dealership::build(config.seed, config.customers, config.at, tz);
    let mut cycle = Cycle {
        repos: repos.clone(),
        policy: policy.clone(),
        channel: Arc::default(),
        settings: BookingSettings {
            advisor_chat_id: ADVISOR_CHAT,
            max_slots_shown: 8,
        },
        seed: config.seed,
        next_update: 1,
        replies_sent: 0,
        arrivals: Vec::new(),
        arrived: std::collections::HashMap::new(),
        covered_visits: 0,
    };

    let mut ingested = 0;
    let bar = progress::bar("Заказ-наряды", dealership.visits.len() as u64);
    ingested += cycle
        .ingest(&dealership, ingested, first_night.to_utc(), &bar)
        .await?;
    bar.finish_and_clear();
    cycle
        .earlier_opt_outs(&dealership, first_night.to_utc())
        .await?;

    let mut days = Vec::new();
    let mut arrived = 0;
    let mut pending: Vec<ComposeOffer> = Vec::new();
    let bar = progress::bar("Ночи", u64::from(config.warm_up_days) + 1);
    for n in 0..=config.warm_up_days {
        let night = first_night
            .checked_add_days(Days::new(u64::from(n)))
            .context("--at is too late")?
            .to_utc();
        arrived += cycle.arrive(&dealership, night).await?;
        ingested += cycle
            .ingest(
                &dealership,
                ingested,
                night,
                &indicatif::ProgressBar::hidden(),
            )
            .await?;
        let mut log = cycle.night(night, &mut pending).await?;
        cycle.day(night, &mut pending, &mut log).await?;
        days.push(log);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let outcome = Outcome {
        visits_recorded: ingested + arrived - cycle.covered_visits,
        days,
        replies_sent: cycle.replies_sent,
    };
    report::build(repos, &policy, config, &outcome, dir).await
}

impl Cycle {
    /// Records the visits closed before `until` that are not recorded yet, through the webhook
    /// use case (but those a booking's arrival covers); returns how many it went past.
    async fn ingest(
        &mut self,
        dealership: &Dealership,
        from: usize,
        until: DateTime<Utc>,
        bar: &indicatif::ProgressBar,
    ) -> Result<usize> {
        let todo: Vec<_> = dealership.visits[from..]
            .iter()
            .take_while(|v| v.closed_at.to_utc() < until)
            .collect();
        let recorded: Vec<_> = todo
            .iter()
            .copied()
            .filter(|v| {
                let vin = v.body["vehicle"]["vin"].as_str().unwrap_or_default();
                !self.covered(vin, v.closed_at.to_utc())
            })
            .collect();
        for chunk in recorded.chunks(INGEST_CONCURRENCY * 16) {
            let mut tasks = tokio::task::JoinSet::new();
            for group in chunk.chunks(16) {
                let repos = self.repos.clone();
                let policy = self.policy.clone();
                let bodies: Vec<(Vec<u8>, DateTime<Utc>)> = group
                    .iter()
                    .map(|v| {
                        let body = serde_json::to_vec(&v.body).unwrap_or_default();
                        (body, v.closed_at.to_utc() + chrono::Duration::minutes(5))
                    })
                    .collect();
                tasks.spawn(async move {
                    for (body, now) in bodies {
                        record_visit(&repos, &policy, &body, now).await?;
                    }
                    anyhow::Ok(())
                });
            }
            while let Some(done) = tasks.join_next().await {
                done.context("a visit task failed")??;
            }
            bar.inc(chunk.len() as u64);
        }
        self.covered_visits += todo.len() - recorded.len();
        Ok(todo.len())
    }

    /// A few customers said STOP before the demo period.
    async fn earlier_opt_outs(
        &mut self,
        dealership: &Dealership,
        before: DateTime<Utc>,
    ) -> Result<()> {
        let at = before - chrono::Duration::hours(13);
        for customer in &dealership.customers {
            let Some(chat) = customer.telegram_chat_id else {
                continue;
            };
            if self.roll(&customer.id, "stop-before") < 3 {
                self.customer_says(Address::Telegram(chat), UpdateKind::Text("СТОП".into()), at)
                    .await?;
            }
        }
        Ok(())
    }

    /// A number in 0..100 fixed by the seed and the key: the simulated customer's choice.
    fn roll(&self, key: &str, what: &str) -> u64 {
        let mut rng = crate::bench::SplitMix::new(
            self.seed ^ fnv(key.as_bytes()).rotate_left(17) ^ fnv(what.as_bytes()),
        );
        rng.below(100)
    }

    /// The nightly run at `night`, then the evaluator for every queued vehicle; the composer
    /// is called at once and hands back what must wait for the end of quiet hours.
    async fn night(
        &mut self,
        night: DateTime<Utc>,
        pending: &mut Vec<ComposeOffer>,
    ) -> Result<DayLog> {
        let run_date = run_date_of(&self.policy, night);
        let mut log = DayLog {
            run_date,
            ..DayLog::default()
        };
        let budget = ShardBudget {
            page_size: PAGE,
            max_pages: u32::MAX,
        };
        let mut shards = tokio::task::JoinSet::new();
        for shard in plan_night(run_date, SHARDS).shards {
            let (repos, policy) = (self.repos.clone(), self.policy.clone());
            shards.spawn(async move {
                let report = run_shard(&repos, &policy, &shard, budget).await?;
                ensure!(report.done, "shard {shard:?} did not finish");
                anyhow::Ok(report)
            });
        }
        let mut queued: Vec<EvaluateVehicle> = Vec::new();
        while let Some(done) = shards.join_next().await {
            let report = done.context("a shard task failed")??;
            log.forecast += report.forecast;
            queued.extend(report.evaluate);
        }
        queued.sort_by(|a, b| vin_of(a).cmp(vin_of(b)));
        queued.dedup();
        log.evaluated = queued.len();

        // One customer's vehicles go to one evaluator, in VIN order: the marketing cap is per
        // customer, so which of two cars gets tonight's offer must not depend on scheduling.
        let mut parts: Vec<Vec<EvaluateVehicle>> = vec![Vec::new(); EVALUATORS];
        for message in queued {
            let customer = self
                .repos
                .vehicles
                .get::<domain::Vehicle>(vin_of(&message))
                .await?
                .map(|v| v.customer_id)
                .unwrap_or_default();
            let worker = customer.bytes().fold(0usize, |h, b| {
                h.wrapping_mul(31).wrapping_add(usize::from(b))
            });
            parts[worker % EVALUATORS].push(message);
        }
        let mut evaluators = tokio::task::JoinSet::new();
        for part in parts {
            let (repos, policy) = (self.repos.clone(), self.policy.clone());
            let channel = Arc::clone(&self.channel);
            evaluators.spawn(async move {
                let mut out = Evaluated::default();
                for message in &part {
                    let evaluation = evaluate_vehicle(&repos, &policy, message, night).await?;
                    for (stage, veto) in &evaluation.vetoed {
                        out.vetoed
                            .push((vin_of(message).to_owned(), *stage, veto.clone()));
                    }
                    for compose in &evaluation.compose {
                        let outcome =
                            compose_and_send(&repos, &policy, &*channel, compose, "demo", night)
                                .await?;
                        out.outcomes.push((compose.clone(), outcome));
                    }
                    commit_evaluation(&repos, &evaluation).await?;
                }
                anyhow::Ok(out)
            });
        }
        let mut outcomes = Vec::new();
        while let Some(done) = evaluators.join_next().await {
            let part = done.context("an evaluator task failed")??;
            log.vetoed.extend(part.vetoed);
            outcomes.extend(part.outcomes);
        }
        log.vetoed.sort();
        outcomes.sort_by(|a, b| offer_id_of(&a.0).cmp(offer_id_of(&b.0)));
        for (compose, outcome) in outcomes {
            log.decided += 1;
            let ComposeOffer::V1 { send_at, .. } = &compose;
            if *send_at > night {
                log.deferred_quiet_hours += 1;
            }
            match outcome {
                ComposeOutcome::NotYet { .. } => pending.push(compose),
                other => note(&self.channel, &mut log, &compose, night, other),
            }
        }
        Ok(log)
    }
}

fn note(
    channel: &RecordingChannel,
    log: &mut DayLog,
    message: &ComposeOffer,
    now: DateTime<Utc>,
    outcome: ComposeOutcome,
) {
    let ComposeOffer::V1 {
        offer_id,
        vin,
        customer_id,
        stage,
        reason,
        ..
    } = message;
    match outcome {
        ComposeOutcome::Sent { message_id, .. } => log.sent.push(SentMessage {
            run_date: log.run_date,
            sent_at: now,
            offer_id: offer_id.clone(),
            customer_id: customer_id.clone(),
            vin: vin.clone(),
            stage: *stage,
            reason: reason.clone(),
            offer: None,
            text: channel.text_of(&message_id).unwrap_or_default(),
        }),
        ComposeOutcome::NoChannel => log.no_channel += 1,
        ComposeOutcome::OptedOut => log.opted_out_before_send += 1,
        ComposeOutcome::AlreadySent
        | ComposeOutcome::NotYet { .. }
        | ComposeOutcome::NoConsent
        | ComposeOutcome::Stale
        | ComposeOutcome::SwitchedOff => {}
    }
}

/// What one evaluator task decided.
#[derive(Default)]
struct Evaluated {
    vetoed: Vec<(String, Stage, String)>,
    outcomes: Vec<(ComposeOffer, ComposeOutcome)>,
}

fn offer_id_of(message: &ComposeOffer) -> &str {
    let ComposeOffer::V1 { offer_id, .. } = message;
    offer_id
}

fn vin_of(message: &EvaluateVehicle) -> &str {
    let EvaluateVehicle::V1 { vin, .. } = message;
    vin
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
