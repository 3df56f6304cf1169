//! `autodrive`: the service-retention system on one machine.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "autodrive", about = "Dealership service retention on one machine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the version.
    Version,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => println!("autodrive {}", env!("CARGO_PKG_VERSION")),
    }
    Ok(())
}
