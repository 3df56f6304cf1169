//! `autodrive report NAME`: parses the options, builds the report through the use case on the
//! embedded store and writes it as a terminal table, CSV or XLSX.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use app::reports::{build_table, export, Format, ReportName, ReportOptions, ReportRequest};
use chrono::{NaiveDate, Utc};
use domain::policy::{AbcBasis, Policy};
use store::repo::Repos;
use store::RedbStore;

/// Options of `autodrive report`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// mileage (анализ пробега), lost (потерянные клиенты), abc, rfm, offers (сообщения клиенту),
    /// kpi (показатели удержания), funnel (воронка сообщений), uplift (прирост к контрольной
    /// группе).
    #[arg(value_parser = parse_name)]
    pub name: ReportName,
    /// The report day (YYYY-MM-DD): due dates and statuses count from it; today (dealer time)
    /// when left out.
    #[arg(long)]
    pub at: Option<NaiveDate>,
    /// First day of the period revenue, visits and messages are counted over (whole history
    /// when left out; for kpi, funnel and uplift the 30 days up to the period's end).
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last day of the period (the report day when left out).
    #[arg(long)]
    pub to: Option<NaiveDate>,
    /// What ABC ranks by: revenue or margin (the policy's basis when left out).
    #[arg(long, value_parser = parse_basis)]
    pub by: Option<AbcBasis>,
    /// offers: only this customer's messages.
    #[arg(long, conflicts_with = "vin")]
    pub customer: Option<String>,
    /// offers: only the messages about this vehicle.
    #[arg(long)]
    pub vin: Option<String>,
    /// kpi, uplift: days after the period a visit still counts (30 when left out).
    #[arg(long)]
    pub grace_days: Option<u32>,
    /// table, csv or xlsx; from the extension of --out when left out, else table.
    #[arg(long, value_parser = parse_format)]
    pub format: Option<Format>,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Directory of the embedded store ($AUTODRIVE_DATA_DIR, else ./autodrive-data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Policy TOML; the built-in defaults (as in `policy.toml`) when left out.
    #[arg(long)]
    pub policy: Option<PathBuf>,
}

fn parse_name(text: &str) -> Result<ReportName, String> {
    ReportName::parse(text).ok_or_else(|| {
        let names: Vec<&str> = ReportName::ALL.iter().map(|n| n.as_str()).collect();
        format!("one of {}", names.join(", "))
    })
}

fn parse_basis(text: &str) -> Result<AbcBasis, String> {
    app::reports::parse_basis(text).ok_or_else(|| "revenue or margin".into())
}

fn parse_format(text: &str) -> Result<Format, String> {
    Format::parse(text).ok_or_else(|| "table, csv or xlsx".into())
}

/// The request the options make, with today (dealer time) as the default report day.
pub fn request(args: &ReportArgs, policy: &Policy) -> Result<ReportRequest> {
    let today = Utc::now().with_timezone(&policy.time_zone()).date_naive();
    let options = ReportOptions {
        at: args.at,
        from: args.from,
        to: args.to,
        by: args.by,
        customer: args.customer.clone(),
        vin: args.vin.clone(),
        grace_days: args.grace_days,
    };
    ReportRequest::from_options(args.name, &options, today).map_err(|e| anyhow!("--{e}"))
}

/// The format asked for, or the one the output file's extension names, or the terminal table.
fn format_of(args: &ReportArgs) -> Format {
    args.format.unwrap_or_else(|| {
        args.out
            .as_deref()
            .and_then(|p| p.extension())
            .and_then(|e| e.to_str())
            .and_then(|e| Format::ALL.into_iter().find(|f| f.extension() == e))
            .unwrap_or(Format::Table)
    })
}

pub fn run(args: ReportArgs) -> Result<()> {
    let policy = load_policy(args.policy.as_deref())?;
    let request = request(&args, &policy)?;
    let format = format_of(&args);
    if format == Format::Xlsx && args.out.is_none() && std::io::stdout().is_terminal() {
        bail!("an xlsx report goes to a file: add --out FILE.xlsx");
    }
    let path = match &args.data_dir {
        Some(dir) => dir.join(store::redb_store::STORE_FILE),
        None => store::redb_store::default_path(),
    };
    if !path.exists() {
        bail!(
            "no store at {} (run `autodrive demo --data-dir DIR` or import a DMS export first)",
            path.display()
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .context("starting the runtime")?;
    let table = runtime.block_on(async {
        let repos = Repos::new(RedbStore::open(&path)?);
        anyhow::Ok(build_table(&repos, &policy, &request).await?)
    })?;
    let bytes = export(&table, format)?;
    match &args.out {
        Some(out) => {
            std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?
        }
        None => match std::io::stdout().lock().write_all(&bytes) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other?,
        },
    }
    Ok(())
}

pub(crate) fn load_policy(path: Option<&Path>) -> Result<Policy> {
    match path {
        None => Ok(Policy::default()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Policy::from_toml(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use app::reports::{OffersFilter, Period};
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ReportArgs,
    }

    fn args(line: &[&str]) -> ReportArgs {
        Cli::try_parse_from([&["report"], line].concat())
            .unwrap()
            .args
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn the_period_ends_on_the_report_day_and_starts_with_the_history_unless_given() {
        let policy = Policy::default();
        let r = request(&args(&["lost", "--at", "2026-11-12"]), &policy).unwrap();
        assert_eq!(r.at, day("2026-11-12"));
        assert_eq!(r.period, Period::until(day("2026-11-12")));
        let r = request(
            &args(&[
                "abc",
                "--at",
                "2026-11-12",
                "--from",
                "2026-01-01",
                "--by",
                "margin",
            ]),
            &policy,
        )
        .unwrap();
        assert_eq!(r.period.from, Some(day("2026-01-01")));
        assert_eq!(r.abc_by, Some(AbcBasis::Margin));
        let r = request(&args(&["offers", "--vin", "xw7be40k70s025476"]), &policy).unwrap();
        assert_eq!(r.offers, OffersFilter::Vin("XW7BE40K70S025476".into()));
    }

    #[test]
    fn options_of_another_report_and_unknown_names_are_refused() {
        let policy = Policy::default();
        let err = request(&args(&["rfm", "--by", "revenue"]), &policy).unwrap_err();
        assert!(err.to_string().contains("abc"), "{err}");
        let err = request(&args(&["lost", "--customer", "C-1"]), &policy).unwrap_err();
        assert!(err.to_string().contains("offers"), "{err}");
        assert!(Cli::try_parse_from(["report", "sales"]).is_err());
        assert!(Cli::try_parse_from(["report", "abc", "--by", "profit"]).is_err());
    }

    #[test]
    fn kpi_reports_take_the_grace_days_and_default_to_the_last_30_days() {
        let policy = Policy::default();
        let r = request(
            &args(&["uplift", "--at", "2026-11-30", "--grace-days", "14"]),
            &policy,
        )
        .unwrap();
        assert_eq!(r.grace_days, Some(14));
        let query = app::reports::kpi_query(&r);
        assert_eq!(
            (query.from, query.to),
            (day("2026-11-01"), day("2026-11-30"))
        );
        assert_eq!(query.grace_days, 14);
        let r = request(
            &args(&["kpi", "--at", "2026-11-30", "--from", "2026-01-01"]),
            &policy,
        )
        .unwrap();
        let query = app::reports::kpi_query(&r);
        assert_eq!(query.from, day("2026-01-01"));
        assert_eq!(query.grace_days, app::kpi::DEFAULT_GRACE_DAYS);
        let err = request(&args(&["lost", "--grace-days", "7"]), &policy).unwrap_err();
        assert!(err.to_string().contains("kpi and uplift"), "{err}");
        assert!(Cli::try_parse_from(["report", "funnel"]).is_ok());
    }

    #[test]
    fn the_format_follows_the_output_file_unless_given() {
        assert_eq!(format_of(&args(&["abc", "--out", "a.xlsx"])), Format::Xlsx);
        assert_eq!(format_of(&args(&["abc", "--out", "a.csv"])), Format::Csv);
        assert_eq!(format_of(&args(&["abc"])), Format::Table);
        let given = args(&["abc", "--out", "a.txt", "--format", "csv"]);
        assert_eq!(format_of(&given), Format::Csv);
    }
}
