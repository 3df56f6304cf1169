//! `autodrive`: the service-retention system on one machine.

mod backtest;
mod odometer_csv;

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
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Backtest { data, raw, json } => {
            let report = backtest::run(&data, raw)?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", backtest::render_table(&report));
            }
        }
    }
    Ok(())
}
