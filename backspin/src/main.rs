//! `backspin`: one binary, one subcommand per role. `main` only parses arguments and calls
//! the role's function.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod inspect;

/// Backspin: your whole Spotify listening history, as dashboards.
#[derive(Debug, Parser)]
#[command(name = "backspin", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read Spotify exports (JSON files, folders or my_spotify_data.zip) and summarise them.
    Inspect(inspect::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect(args) => inspect::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("backspin: {e:#}");
            ExitCode::from(2)
        }
    }
}
