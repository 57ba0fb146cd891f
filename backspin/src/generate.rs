//! `backspin generate`: a synthetic Spotify export, and the facts a correct ingestion of it
//! reproduces (`expected.json`), for demos, tests and benchmarks.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use synth::{Generation, Options};

/// Export generations, as `--generation` spells them.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Gen {
    /// 2020: endsong_N.json, no URIs, minified.
    G1,
    /// 2021–2024: the classic 21 keys, minified.
    G3,
    /// Late 2024: 19 keys, pretty printed.
    G4,
    /// 2025 on: G4 and the audiobook keys.
    G5,
}

impl From<Gen> for Generation {
    fn from(g: Gen) -> Generation {
        match g {
            Gen::G1 => Generation::G1,
            Gen::G3 => Generation::G3,
            Gen::G4 => Generation::G4,
            Gen::G5 => Generation::G5,
        }
    }
}

/// Arguments of `backspin generate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Streams to generate (exact duplicates come on top).
    #[arg(long, default_value_t = Options::default().plays)]
    plays: usize,
    /// Seed: equal arguments give byte-identical files.
    #[arg(long, default_value_t = Options::default().seed)]
    seed: u64,
    /// Keys, printing and file names of the extended history.
    #[arg(long, value_enum, default_value = "g5")]
    generation: Gen,
    /// First year with listening.
    #[arg(long, default_value_t = Options::default().first_year)]
    first_year: i32,
    /// Last year with listening.
    #[arg(long, default_value_t = Options::default().last_year)]
    last_year: i32,
    /// Split audio files at this size, in MB (Spotify's are 10–13).
    #[arg(long, default_value_t = Options::default().max_file_bytes as f64 / 1e6)]
    max_file_mb: f64,
    /// Share of exact duplicate records.
    #[arg(long, default_value_t = Options::default().dupes)]
    dupes: f64,
    /// Swap neighbouring records, as old exports are not sorted.
    #[arg(long)]
    unsorted: bool,
    /// Hostile names: markup, SQL, bidi overrides, NUL, 600 characters, emoji.
    #[arg(long)]
    nasty: bool,
    /// Also write the account-data package (the last 12 months).
    #[arg(long)]
    account_data: bool,
    /// Write my_spotify_data.zip instead of folders.
    #[arg(long)]
    zip: bool,
    /// Folder to write into (created if missing); expected.json goes there too.
    #[arg(long)]
    out: PathBuf,
}

/// Generates the export and writes it, with `expected.json`, under `--out`.
pub fn run(args: &Args) -> Result<ExitCode> {
    if !(args.max_file_mb.is_finite() && args.max_file_mb > 0.0) {
        bail!("--max-file-mb must be a positive number of megabytes");
    }
    let options = Options {
        plays: args.plays,
        first_year: args.first_year,
        last_year: args.last_year,
        seed: args.seed,
        generation: args.generation.into(),
        max_file_bytes: (args.max_file_mb * 1e6) as usize,
        dupes: args.dupes,
        unsorted: args.unsorted,
        nasty: args.nasty,
        account_data: args.account_data,
    };
    if let Err(e) = options.validate() {
        bail!("{e}");
    }
    let export = synth::generate(&options);
    let out = &args.out;
    if args.zip {
        synth::write_zip(&export, out)
    } else {
        synth::write_dir(&export, out)
    }
    .with_context(|| format!("writing to {}", out.display()))?;
    println!(
        "{} records, {} files, {:.1} MB -> {}",
        export.facts.records,
        export.files.len(),
        export.facts.bytes as f64 / 1e6,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
