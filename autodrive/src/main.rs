//! `autodrive`: the service-retention system on one machine.

mod backtest;
mod bench;
mod bench_import;
mod bench_nightly;
mod bench_rules;
mod calibration;
mod campaign;
mod customer;
mod demo;
mod explain;
mod forecast;
mod import;
mod odometer_csv;
mod report;
mod serve;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "autodrive",
    version,
    about = "Dealership service retention on one machine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A sample dealership through a full night and day of the cycle on the embedded store.
    Demo(demo::DemoArgs),
    /// Back-fill the embedded store from a DMS export (one row per work-order line, `;`).
    Import(import::ImportArgs),
    /// A customer's data rights on the embedded store: `customer erase ID`.
    Customer(customer::CustomerArgs),
    /// The marketer's switches of stages and offer rules (`list`, `off`, `on`) and what the next
    /// nights would send (`preview --days 7`), on the embedded store.
    Campaign(campaign::CampaignArgs),
    /// The stack's HTTP routes on one machine: webhooks, the nightly run, the queues.
    Serve(serve::ServeArgs),
    /// A dealer's report from the embedded store (mileage, lost, abc, rfm, offers, kpi, funnel,
    /// uplift) as a terminal table, CSV for Excel or XLSX.
    Report(report::ReportArgs),
    /// Measure the forecaster against the baselines on real odometer logs (BACKTEST.md).
    Backtest {
        /// Directory of `*.csv` truth logs (and `*.raw.csv` for --raw).
        #[arg(long, default_value = "../shared/data/odometer")]
        data: PathBuf,
        /// Fit on the raw logs (typos and all); truth still comes from the clean logs.
        #[arg(long)]
        raw: bool,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Also list every case: the history's last visit, the truth, the model's due and interval.
        #[arg(long)]
        cases: bool,
        /// The schedule, KM/MONTHS (default 15000/12).
        #[arg(long, value_parser = backtest::parse_schedule, conflicts_with = "sweep")]
        schedule: Option<domain::Schedule>,
        /// Run 5000/6, 7500/12, 10000/12 and 15000/12, each and pooled.
        #[arg(long)]
        sweep: bool,
        /// Leave one log out: forecast each log with parameters measured on the others only.
        #[arg(long)]
        cross_validate: bool,
        /// Every odometer reading times F (0.1–10): the same habits in a fleet that drives
        /// farther or less (a robustness check, not the protocol).
        #[arg(long, value_parser = backtest::parse_scale, default_value = "1")]
        scale: f64,
    },
    /// How often the forecaster's 80 % interval holds on distance dues from rolling origins, and
    /// how a car's pace varies with the length of the stretch (the noise the forecaster assumes).
    Calibrate {
        /// Directory of `*.csv` truth logs (or one file).
        #[arg(long, default_value = "../shared/data/odometer")]
        data: PathBuf,
        /// Print one JSON object instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Forecast every vehicle of odometer CSVs (rows grouped by vehicle), one row per vehicle.
    Forecast {
        /// A CSV file or a directory of them (`vehicle_id,date,odometer_km[,first_registration][,source]`).
        #[arg(long)]
        data: PathBuf,
        /// Forecast as of this day (YYYY-MM-DD): later readings are ignored.
        #[arg(long)]
        at: Option<chrono::NaiveDate>,
        #[arg(long, value_enum, default_value_t = forecast::Format::Csv)]
        format: forecast::Format,
    },
    /// What the system would do for one customer at an instant, and why.
    Explain {
        /// Scenario JSON: `{"visits": [webhook bodies], "readings": [..], "contacts": [..]}`.
        #[arg(long)]
        input: PathBuf,
        /// Policy TOML; the built-in defaults (as in `policy.toml`) when left out.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// The instant, RFC 3339 (`2025-02-25T12:00:00+03:00`).
        #[arg(long)]
        at: chrono::DateTime<chrono::FixedOffset>,
        /// Print JSON instead of a short text.
        #[arg(long)]
        json: bool,
    },
    /// Benchmarks printing one JSON line of figures.
    #[command(subcommand)]
    Bench(bench::Bench),
}

fn main() -> anyhow::Result<()> {
    forecast::quiet_broken_pipe();
    let cli = Cli::parse();
    match cli.command {
        Command::Demo(args) => demo::run(args)?,
        Command::Import(args) => import::run(args)?,
        Command::Customer(args) => customer::run(args)?,
        Command::Campaign(args) => campaign::run(args)?,
        Command::Serve(args) => serve::run(args)?,
        Command::Report(args) => report::run(args)?,
        Command::Backtest {
            data,
            raw,
            json,
            cases,
            schedule,
            sweep,
            cross_validate,
            scale,
        } => {
            let options = backtest::Options {
                raw,
                schedule: schedule.unwrap_or(backtest::DEFAULT_SCHEDULE),
                cross_validate,
                scale,
            };
            let listed = if sweep {
                let report = backtest::run_sweep(&data, options)?;
                if json {
                    println!("{}", serde_json::to_string(&report)?);
                } else {
                    print!("{}", backtest::render_sweep(&report));
                }
                report.cases
            } else {
                let report = backtest::run(&data, options)?;
                if json {
                    println!("{}", serde_json::to_string(&report)?);
                } else {
                    print!("{}", backtest::render_table(&report));
                }
                report.cases
            };
            if cases {
                print!("{}", backtest::render_cases(&listed));
            }
        }
        Command::Calibrate { data, json } => {
            let calibration = calibration::run(&data)?;
            if json {
                println!("{}", serde_json::to_string(&calibration)?);
            } else {
                print!("{}", calibration::render(&calibration));
            }
        }
        Command::Forecast { data, at, format } => forecast::run(&data, at, format)?,
        Command::Explain {
            input,
            policy,
            at,
            json,
        } => explain::run(&input, policy.as_deref(), at, json)?,
        Command::Bench(b) => bench::run(b)?,
    }
    Ok(())
}
