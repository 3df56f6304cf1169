//! `autodrive serve`: the stack's HTTP routes on one machine over the embedded store. Every
//! route is dispatched to the Lambda handlers' own code (`ingest-visit`, `booking-webhook`)
//! through `lambda_http` requests; the nightly run (01:00 dealer time, or `POST
//! /v1/admin/nightly`) and the evaluate and compose queues run in process with the Lambdas'
//! handlers (`nightly-forecast`, `trigger-evaluator`, `offer-composer`). The business events the
//! handlers publish go to `<data dir>/events.jsonl` and `AUTODRIVE_EVENTS_URL` (`events`).
//! SIGINT/SIGTERM stop accepting, finish the work in hand, save what waits for later, and exit 0.

pub(crate) mod config;
pub(crate) mod events;
mod outbound;
mod queues;
mod routes;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use store::repo::Repos;
use store::RedbStore;

pub use config::ServeConfig;
use outbound::{Outbound, Telegram, WhatsApp};
use queues::Queue;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (`AUTODRIVE_ADDR`, default 127.0.0.1:8080).
    #[arg(long)]
    pub addr: Option<SocketAddr>,
    /// Where the store lives (`AUTODRIVE_DATA_DIR`, default ./autodrive-data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// The server's clock: the wall clock, or (`AUTODRIVE_CLOCK=RFC 3339`, for rehearsals and
/// tests) a clock that starts at a given instant and runs at the wall clock's pace.
#[derive(Debug, Clone)]
pub struct Clock {
    origin: Option<(DateTime<Utc>, Instant)>,
}

impl Clock {
    pub fn system() -> Self {
        Clock { origin: None }
    }

    pub fn starting_at(at: DateTime<Utc>) -> Self {
        Clock {
            origin: Some((at, Instant::now())),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self.origin {
            None => Utc::now(),
            Some((at, started)) => {
                at + chrono::Duration::from_std(started.elapsed()).unwrap_or_default()
            }
        }
    }
}

/// The last nightly run, kept across restarts in the data directory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NightRecord {
    pub run_date: NaiveDate,
    pub finished_at: DateTime<Utc>,
    pub forecast: u64,
    pub queued: u64,
    pub ok: bool,
}

type Store = RedbStore;

/// Everything the routes and the workers share.
pub struct App {
    pub repos: Repos<Store>,
    pub policy: domain::policy::Policy,
    pub clock: Clock,
    pub ingest: ingest_visit::Deps<Store>,
    pub booking: booking_webhook::Deps<Store, Telegram, WhatsApp>,
    pub reports: reports::Deps<Store>,
    pub nightly: Arc<nightly_forecast::Deps<Store, Queue>>,
    pub evaluate: Queue,
    pub compose: Queue,
    pub admin_token: Option<String>,
    pub data_dir: PathBuf,
    last_night: std::sync::Mutex<Option<NightRecord>>,
    night: tokio::sync::Mutex<()>,
}

const STATE_FILE: &str = "serve-state.json";

impl App {
    pub fn last_night(&self) -> Option<NightRecord> {
        self.last_night.lock().ok().and_then(|n| n.clone())
    }

    /// Runs the night of `run_date` (one at a time) and records it.
    pub async fn run_night(&self, run_date: NaiveDate) -> Result<nightly_forecast::NightSummary> {
        let _one_at_a_time = self.night.lock().await;
        let deadline = Instant::now() + std::time::Duration::from_secs(3600);
        let result = nightly_forecast::run_night(self.nightly.clone(), run_date, deadline).await;
        let record = NightRecord {
            run_date,
            finished_at: self.clock.now(),
            forecast: result.as_ref().map_or(0, |s| s.forecast),
            queued: result.as_ref().map_or(0, |s| s.queued),
            ok: result.is_ok(),
        };
        if let Ok(mut last) = self.last_night.lock() {
            *last = Some(record.clone());
        }
        let path = self.data_dir.join(STATE_FILE);
        if let Err(e) = std::fs::write(&path, serde_json::to_vec(&record)?) {
            tracing::error!(error = %e, "saving the last nightly run");
        }
        result
    }

    /// Waits until neither queue has work in hand (evaluations feed the compose queue).
    pub async fn drain(&self) {
        loop {
            self.evaluate.drained().await;
            self.compose.drained().await;
            if self.evaluate.busy() == 0 && self.compose.busy() == 0 {
                return;
            }
        }
    }
}

/// Hands a composer record back to the in-process compose queue until its time.
struct LocalPostpone {
    queue: Queue,
    clock: Clock,
}

impl offer_composer::Postpone for LocalPostpone {
    async fn postpone(
        &self,
        record: &lambda_support::aws_lambda_events::sqs::SqsMessage,
        seconds: i32,
    ) -> Result<()> {
        let id = record.message_id.as_deref().unwrap_or_default();
        self.queue.postpone(
            id,
            self.clock.now() + chrono::Duration::seconds(i64::from(seconds)),
        );
        Ok(())
    }
}

fn clock_from_env() -> Result<Clock> {
    match std::env::var("AUTODRIVE_CLOCK") {
        Ok(text) if !text.trim().is_empty() => {
            let at = DateTime::parse_from_rfc3339(text.trim())
                .with_context(|| format!("AUTODRIVE_CLOCK: {text:?} is not an RFC 3339 instant"))?;
            Ok(Clock::starting_at(at.with_timezone(&Utc)))
        }
        _ => Ok(Clock::system()),
    }
}

/// Opens the store and builds every handler's dependencies.
fn build(config: &ServeConfig, clock: Clock) -> Result<(Arc<App>, Workers)> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let store = RedbStore::open(config.data_dir.join("store.redb")).with_context(|| {
        format!(
            "opening the store in {} (is another autodrive using it?)",
            config.data_dir.display()
        )
    })?;
    let repos = Repos::new(store);
    let policy = config.policy.clone();
    let (evaluate, evaluate_rx) = Queue::new("evaluate", clock.clone());
    let (compose, compose_rx) = Queue::new("compose", clock.clone());
    let telegram = || match &config.telegram {
        Some(t) => Telegram::Api(channels::TelegramBot::new(
            t.api_base.clone(),
            t.token.clone(),
        )),
        None => Telegram::Console(channels::ConsoleChannel::default()),
    };
    let whatsapp = || match &config.whatsapp {
        Some(w) => WhatsApp::Api(channels::WhatsAppCloud::new(
            w.api_base.clone(),
            config.whatsapp_phone_number_id.clone(),
            w.access_token.clone(),
        )),
        None => WhatsApp::Console {
            phone_number_id: config.whatsapp_phone_number_id.clone(),
            console: channels::ConsoleChannel::default(),
        },
    };
    let sms = || {
        config
            .sms
            .as_ref()
            .map(|s| channels::SmsGateway::new(&s.api_base, &s.api_key, &s.sender))
    };
    let links = match &config.link_key {
        Some(key) => Some(
            app::booking_link::BookingLinks::new(key.as_bytes(), &config.public_url)
                .map_err(|e| anyhow::anyhow!("BOOKING_LINK_KEY: {e}"))?,
        ),
        None => None,
    };
    let events = app::Events::new(events::LocalEvents::new(
        &config.data_dir,
        config.events_url.clone(),
    ));
    let secret = ingest_visit::Secret::parse(&config.crm_secret)
        .map_err(|e| anyhow::anyhow!("AUTODRIVE_CRM_SECRET: {e}"))?;
    let app = Arc::new(App {
        repos: repos.clone(),
        policy: policy.clone(),
        clock: clock.clone(),
        ingest: ingest_visit::Deps {
            repos: repos.clone(),
            policy: policy.clone(),
            secret,
            events: events.clone(),
        },
        booking: booking_webhook::Deps {
            repos: repos.clone(),
            policy: policy.clone(),
            bot: telegram(),
            whatsapp: booking_webhook::WhatsApp {
                client: whatsapp(),
                app_secret: config.whatsapp_app_secret.clone(),
                verify_token: config.whatsapp_verify_token.clone(),
            },
            settings: config.booking.clone(),
            webhook_secret: config.telegram_secret.clone(),
            sms: sms(),
            links: links.clone(),
            events: events.clone(),
        },
        reports: reports::Deps {
            repos: repos.clone(),
            policy: policy.clone(),
            admin_token: config.admin_token.clone(),
            // `serve` answers plain HTTP on the dealer's network.
            secure_cookie: false,
        },
        nightly: Arc::new(nightly_forecast::Deps {
            repos: repos.clone(),
            policy: policy.clone(),
            evaluate: evaluate.clone(),
            compose: compose.clone(),
            segments: 2,
            page_size: 200,
        }),
        evaluate: evaluate.clone(),
        compose: compose.clone(),
        admin_token: config.admin_token.clone(),
        data_dir: config.data_dir.clone(),
        last_night: std::sync::Mutex::new(read_state(&config.data_dir)),
        night: tokio::sync::Mutex::new(()),
    });
    let workers = Workers {
        evaluator: trigger_evaluator::Deps {
            repos: repos.clone(),
            policy: policy.clone(),
            compose: compose.clone(),
            events: events.clone(),
        },
        composer: offer_composer::Deps {
            repos,
            policy,
            channel: Outbound {
                telegram: telegram(),
                whatsapp: whatsapp(),
                sms: sms(),
                console: channels::ConsoleChannel::default(),
            },
            compose: app::ComposeSettings {
                templates: config.templates.clone(),
                links,
            },
            postpone: LocalPostpone {
                queue: compose,
                clock,
            },
            events: events.clone(),
        },
        evaluate_rx,
        compose_rx,
    };
    Ok((app, workers))
}

fn read_state(dir: &Path) -> Option<NightRecord> {
    let bytes = std::fs::read(dir.join(STATE_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

struct Workers {
    evaluator: trigger_evaluator::Deps<Store, Queue>,
    composer: offer_composer::Deps<Store, Outbound, LocalPostpone>,
    evaluate_rx: queues::Receiver,
    compose_rx: queues::Receiver,
}

impl Workers {
    fn spawn(self, app: &Arc<App>) -> tokio::task::JoinSet<()> {
        let mut set = tokio::task::JoinSet::new();
        let evaluator = Arc::new(self.evaluator);
        let clock = app.clock.clone();
        set.spawn(queues::run(app.evaluate.clone(), self.evaluate_rx, {
            let clock = clock.clone();
            move |event| {
                let deps = evaluator.clone();
                let now = clock.now();
                async move { trigger_evaluator::handle(&deps, event, now).await }
            }
        }));
        let composer = Arc::new(self.composer);
        set.spawn(queues::run(
            app.compose.clone(),
            self.compose_rx,
            move |event| {
                let deps = composer.clone();
                let now = clock.now();
                async move { offer_composer::handle(&deps, event, "serve", now).await }
            },
        ));
        set
    }
}

/// The next 01:00 in the dealer's time zone after `now`.
pub fn next_nightly(policy: &domain::policy::Policy, now: DateTime<Utc>) -> DateTime<Utc> {
    let tz = policy.time_zone();
    let local = now.with_timezone(&tz);
    let mut day = local.date_naive();
    loop {
        let at = day
            .and_hms_opt(1, 0, 0)
            .and_then(|t| t.and_local_timezone(tz).earliest())
            .map(|t| t.with_timezone(&Utc));
        if let Some(at) = at.filter(|at| *at > now) {
            return at;
        }
        day = day.succ_opt().unwrap_or(day);
    }
}

async fn scheduler(app: Arc<App>) {
    loop {
        let now = app.clock.now();
        let at = next_nightly(&app.policy, now);
        let wait = (at - now).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
        let run_date = app::run_date_of(&app.policy, app.clock.now());
        match app.run_night(run_date).await {
            Ok(summary) => {
                tracing::info!(%run_date, forecast = summary.forecast, queued = summary.queued, "scheduled night done")
            }
            Err(e) => {
                tracing::error!(%run_date, error = %format!("{e:#}"), "scheduled night failed")
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

pub fn run(args: ServeArgs) -> Result<()> {
    lambda_support::init_tracing();
    let config = ServeConfig::from_env(args.addr, args.data_dir)?;
    let clock = clock_from_env()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(serve(config, clock))
}

async fn serve(config: ServeConfig, clock: Clock) -> Result<()> {
    let (app, workers) = build(&config, clock)?;
    for queue in [&app.evaluate, &app.compose] {
        let restored = queue.restore(&app.data_dir)?;
        if restored > 0 {
            tracing::info!(
                queue = queue.name(),
                restored,
                "queued again from the last run"
            );
        }
    }
    let mut workers = workers.spawn(&app);
    let schedule = tokio::spawn(scheduler(app.clone()));
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("listening on {}", config.addr))?;
    let local = listener.local_addr()?;
    tracing::info!(addr = %local, data_dir = %config.data_dir.display(), "serving");
    // The address on stdout, for scripts that started us on port 0.
    println!("listening on http://{local}");
    axum::serve(listener, routes::router(app.clone()))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving")?;
    tracing::info!("stopping: finishing the work in hand");
    schedule.abort();
    let _night_done = app.night.lock().await;
    app.drain().await;
    for queue in [&app.evaluate, &app.compose] {
        let saved = queue.save(&app.data_dir)?;
        if saved > 0 {
            tracing::info!(queue = queue.name(), saved, "saved for the next start");
        }
    }
    workers.abort_all();
    while workers.join_next().await.is_some() {}
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_night_runs_at_one_in_the_morning_dealer_time() {
        let policy = domain::policy::Policy::default();
        let now: DateTime<Utc> = "2027-03-10T20:00:00Z".parse().unwrap(); // 23:00 Moscow
        assert_eq!(
            next_nightly(&policy, now),
            "2027-03-10T22:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        let just_after: DateTime<Utc> = "2027-03-10T22:00:01Z".parse().unwrap();
        assert_eq!(
            next_nightly(&policy, just_after),
            "2027-03-11T22:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn a_set_clock_starts_where_it_is_told_and_runs_on() {
        let at: DateTime<Utc> = "2027-11-01T07:00:00Z".parse().unwrap();
        let clock = Clock::starting_at(at);
        let now = clock.now();
        assert!(now >= at && now - at < chrono::Duration::seconds(5));
    }
}
