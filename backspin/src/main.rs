//! `backspin`: one binary, one subcommand per role. `main` only parses arguments and calls
//! the role's function.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod config;
mod generate;
mod inspect;
mod paths;
mod pipeline;
mod serve;

#[global_allocator]
static ALLOCATOR: heap::HugeWhenLarge = heap::HugeWhenLarge;

/// Backspin: your whole Spotify listening history, as dashboards.
#[derive(Debug, Parser)]
#[command(name = "backspin", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run Backspin: the web app and the ingest workers in one process (open the address it prints).
    Serve(Box<serve::ServeArgs>),
    /// Read Spotify exports (JSON files, folders or my_spotify_data.zip) and summarise them.
    Inspect(inspect::Args),
    /// Write a synthetic export (folders or my_spotify_data.zip) and the facts it must give.
    Generate(generate::Args),
    /// Apply pending database migrations.
    Migrate(pipeline::MigrateArgs),
    /// Consume the ingestion queue with an autoscaled pool until stopped (SIGINT/SIGTERM).
    Worker(pipeline::WorkerArgs),
    /// Admin: store files for a user through the same path an upload takes.
    Import(pipeline::ImportArgs),
    /// Admin: queue existing uploads for ingestion again (safe to run twice).
    Reingest(pipeline::ReingestArgs),
    /// Admin, after restoring the database from a backup: bring back from the object store
    /// the uploads that arrived since, drop those deleted since, and report what it could not.
    Recover(pipeline::RecoverArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::serve(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Generate(args) => generate::run(&args),
        Command::Migrate(args) => pipeline::migrate(&args),
        Command::Worker(args) => pipeline::worker(&args),
        Command::Import(args) => pipeline::import(&args),
        Command::Reingest(args) => pipeline::reingest(&args),
        Command::Recover(args) => pipeline::recover(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("backspin: {e:#}");
            ExitCode::from(2)
        }
    }
}
