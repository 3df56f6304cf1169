//! `autodrive import FILE.csv [--dry-run] [--data-dir DIR]`: back-fills the embedded store from
//! a DMS export through the visits use case (`app::import`); this module only reads the file,
//! opens the store, shows progress and prints the summary.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use app::import::{import_export, read_export, ImportSummary, CLOSING_HOUR};
use chrono::{DateTime, Utc};
use domain::policy::Policy;
use indicatif::{ProgressBar, ProgressStyle};
use store::repo::Repos;
use store::RedbStore;

/// Options of `autodrive import`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// The DMS export: `;`-separated, UTF-8 or Windows-1251, one row per work-order line.
    pub file: PathBuf,
    /// Validate the whole file and print the summary; store nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Directory of the embedded store (default: $AUTODRIVE_DATA_DIR, else ./autodrive-data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Policy TOML (time zone, schedules); the built-in defaults when left out.
    #[arg(long)]
    pub policy: Option<PathBuf>,
}

/// The store file: `DIR/store.redb`, else `$AUTODRIVE_DATA_DIR/store.redb`, else
/// `./autodrive-data/store.redb`.
fn store_path(data_dir: Option<&Path>) -> PathBuf {
    match data_dir {
        Some(dir) => dir.join(store::redb_store::STORE_FILE),
        None => store::redb_store::default_path(),
    }
}

fn load_policy(path: Option<&Path>) -> Result<Policy> {
    match path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the policy {}", path.display()))?;
            Policy::from_toml(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
        }
        None => Ok(Policy::default()),
    }
}

/// Opens the embedded store for a bulk load (one write transaction, committed at the end),
/// saying plainly when another process holds it.
pub fn open_store(path: &Path) -> Result<RedbStore> {
    match RedbStore::open(path) {
        Ok(store) => Ok(store.bulk_load()?),
        Err(e) => match store::redb_store::in_use(&e) {
            Some(in_use) => bail!("{in_use}"),
            None => Err(anyhow::Error::new(e).context(format!("opening {}", path.display()))),
        },
    }
}

/// A bar over the work orders on a terminal; hidden when stdout or stderr is not one.
fn progress_bar(work_orders: usize) -> ProgressBar {
    if !(std::io::stdout().is_terminal() && std::io::stderr().is_terminal()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(work_orders as u64);
    let style = ProgressStyle::with_template(
        "{bar:40} {pos}/{len} заказ-нарядов ({percent} %), осталось {eta}",
    );
    if let Ok(style) = style {
        bar.set_style(style);
    }
    bar
}

/// Validates `file` and, unless `dry_run`, records it into the store at `store_path` as of
/// `now`. A file with any problem prints every problem and fails, storing nothing.
pub fn import_file(
    file: &Path,
    store_path: &Path,
    policy: &Policy,
    dry_run: bool,
    now: DateTime<Utc>,
) -> Result<ImportSummary> {
    let reading = || format!("reading {}", file.display());
    let source = std::fs::File::open(file).with_context(reading)?;
    let export = match read_export(source, policy.time_zone()).with_context(reading)? {
        Ok(export) => export,
        Err(problems) => {
            eprint!("{problems}");
            bail!(
                "{}: {} problem(s); nothing was imported",
                file.display(),
                problems.total
            );
        }
    };
    if dry_run {
        return Ok(export.dry_summary());
    }
    let events_url = crate::serve::config::events_url(std::env::var("AUTODRIVE_EVENTS_URL").ok())?;
    let store = open_store(store_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .context("starting the runtime")?;
    let bar = progress_bar(export.work_orders());
    let summary = runtime.block_on(async {
        let repos = Repos::new(store.clone());
        let summary = import_export(&repos, policy, Arc::new(export), now, |done| {
            bar.set_position(done as u64)
        })
        .await?;
        store.commit().await?;
        // After the commit: the events say what the store now holds.
        let data_dir = store_path.parent().unwrap_or(Path::new("."));
        crate::serve::events::LocalEvents::new(data_dir, events_url)
            .publish_and_wait(&summary.events)
            .await?;
        anyhow::Ok(summary)
    })?;
    bar.finish_and_clear();
    Ok(summary)
}

/// The summary in Russian, for the dealer's staff.
pub fn render_summary(summary: &ImportSummary, file: &Path, policy: &Policy) -> String {
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    if summary.dry_run {
        line(format!(
            "Проверка {} (--dry-run): ошибок нет, в базу ничего не записано.",
            file.display()
        ));
    } else {
        line(format!("Импорт {} завершён.", file.display()));
    }
    line(format!("Кодировка файла: {}.", summary.encoding));
    line(format!("Заказ-нарядов: {}", summary.work_orders));
    if !summary.dry_run {
        line(format!("  записано: {}", summary.recorded));
        line(format!(
            "  пропущено (уже были в базе): {}",
            summary.duplicates
        ));
    }
    line(format!("Автомобилей: {}", summary.vehicles));
    line(format!("Клиентов: {}", summary.customers));
    line(format!("Строк заказ-нарядов: {}", summary.lines));
    if summary.declined_work > 0 {
        line(format!(
            "Рекомендованных работ, от которых клиент отказался: {} (напоминания о них — на 3-й, \
             10-й и 30-й день после визита)",
            summary.declined_work
        ));
    }
    if !summary.dry_run {
        line(format!(
            "Прогноз ТО пересчитан для автомобилей: {}",
            summary.forecast
        ));
        let stops = summary
            .events
            .iter()
            .filter(|e| e.name() == "OptedOut")
            .count();
        if stops > 0 {
            line(format!(
                "Клиентов, приславших СТОП до того, как стали известны: {stops} (рассылка им \
                 отключена)"
            ));
        }
        if summary.known_customers > 0 {
            line(format!(
                "Клиентов, уже известных по телефону: {} (их профиль и согласия не изменены)",
                summary.known_customers
            ));
        }
    }
    line(format!(
        "Время закрытия в выгрузке не указано: принято {CLOSING_HOUR}:00 ({}) дня закрытия.",
        policy.time_zone()
    ));
    line(
        "Согласия на рассылку в выгрузке нет: клиенты получат сообщения после того, как CRM \
         передаст согласие."
            .to_owned(),
    );
    out
}

pub fn run(args: ImportArgs) -> Result<()> {
    let policy = load_policy(args.policy.as_deref())?;
    let store_path = store_path(args.data_dir.as_deref());
    let summary = import_file(&args.file, &store_path, &policy, args.dry_run, Utc::now())?;
    print!("{}", render_summary(&summary, &args.file, &policy));
    Ok(())
}
