//! `bench`: throughput of Backspin's hot paths beside baselines, measured in one process.
//!
//! - `bench parse DIR`: JSON parsing of the history files below `DIR`, pre-read into memory,
//!   by our tape-walking parser and by the usual alternatives (see [`parse`]).
//! - `bench phases DIR`: where the time of `backspin inspect` goes, phase by phase.
//! - `bench pipeline`: event → ready through the ingestion pipeline, beside inspect.
//! - `bench artifact DIR`: writing a user's artifact and preparing the first view from it,
//!   step by step.
//! - `bench seed-users`: a library of many users (one generated export, its artifact and
//!   finished views stored for each), for `bench/many-users.sh`.
//!
//! Every mode prints the load average before and after, since the machine is shared: compare
//! ratios from the same run, not absolute numbers across runs. See BENCHMARKS.md.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

mod artifact;
mod parse;
mod phases;
mod pipeline;
mod search;
mod seed;

#[derive(Debug, Parser)]
#[command(name = "bench", about = "Backspin benchmarks (see BENCHMARKS.md)")]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Parse throughput (MB/s) of our parser against serde_json, simd-json's serde path,
    /// simd-json's borrowed Value and simd-json-derive, on the same in-memory files.
    Parse {
        /// Folder of an export (searched recursively for history JSON files).
        dir: PathBuf,
        /// Timed runs per method; the median is reported.
        #[arg(long, default_value_t = 7)]
        runs: usize,
        /// Only these methods (ids from the table, e.g. `--only a,c`), for profiling.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
    /// The ingestion pipeline end to end (event → ready on SQLite and PostgreSQL) beside
    /// inspect, and bulk re-ingestion with 1, 2 and 4 workers.
    Pipeline(pipeline::Args),
    /// Writing a user's play artifact and preparing the first dashboard from it, step by step.
    Artifact {
        /// Folder of an export.
        dir: PathBuf,
        /// Timed runs; the median of each step is reported.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Searching one history (`engine::search`), warm, beside scanning every play; and the
    /// skip anatomy and the overlaps (`engine::anatomy`, `engine::overlaps`) beside the
    /// all-time stats.
    Search {
        /// Streams of the generated lifetime searched.
        #[arg(long, default_value_t = 1_000_000)]
        plays: usize,
        /// Timed runs per query; the median is reported.
        #[arg(long, default_value_t = 9)]
        runs: usize,
    },
    /// Seeds a database with many users of the same generated history (artifact, ready
    /// upload, session, finished views each) and writes their session tokens; for
    /// `bench/many-users.sh`.
    SeedUsers(seed::Args),
    /// Time per phase of `backspin inspect` (read, load, dedupe, aggregate, summary, JSON).
    Phases {
        /// Folder of an export.
        dir: PathBuf,
        /// Timed runs; the median of each phase is reported.
        #[arg(long, default_value_t = 7)]
        runs: usize,
    },
}

/// The `backspin` binary's allocator, which counts what it holds: `bench artifact` reads the
/// peak of a preparation from it.
#[global_allocator]
static ALLOCATOR: heap::HugeWhenLarge = heap::HugeWhenLarge;

fn main() -> Result<()> {
    match Cli::parse().mode {
        Mode::Parse { dir, runs, only } => parse::run(&history_files(&dir)?, runs.max(1), &only),
        Mode::Phases { dir, runs } => phases::run(&history_files(&dir)?, runs.max(1)),
        Mode::Pipeline(args) => pipeline::run(&args),
        Mode::Artifact { dir, runs } => artifact::run(&history_files(&dir)?, runs.max(1)),
        Mode::SeedUsers(args) => seed::run(&args),
        Mode::Search { plays, runs } => search::run(plays, runs.max(1)),
    }
}

/// A generated export of `plays` streams (`synth`, `seed`) parsed and deduplicated, as the
/// worker holds an upload's plays; with its dedupe report and export size.
fn generated_library(plays: usize, seed: u64) -> (schema::Library, schema::DedupeReport, u64) {
    let export = synth::generate(&synth::Options {
        plays,
        seed,
        ..synth::Options::default()
    });
    let names: Vec<String> = export.files.iter().map(|(p, _)| p.clone()).collect();
    let mut lib = schema::load(
        &names,
        |i| Ok(std::io::Cursor::new(export.files[i].1.as_slice())),
        &schema::Limits::default(),
    );
    let report = schema::dedupe(&mut lib.plays);
    (lib, report, export.facts.bytes)
}

/// The listening-history files below `dir` in name order: every `*.json` except the
/// generator's `expected.json`.
fn history_files(dir: &Path) -> Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, out)?;
            } else if path.extension().is_some_and(|x| x == "json")
                && path.file_name().is_some_and(|n| n != "expected.json")
            {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, &mut out)?;
    out.sort();
    if out.is_empty() {
        bail!("no JSON files below {}", dir.display());
    }
    Ok(out)
}

/// The 1-minute load average, as `uptime` shows it.
/// Runs `work` to completion on a multi-threaded tokio runtime of its own.
fn block_on<T>(work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(work)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "?".into(),
        |s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    )
}

/// Wall-clock and CPU time of one measurement.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    wall: Duration,
    /// On-CPU time of all threads of this process, from the scheduler's per-thread counters:
    /// far less disturbed than wall time when other jobs share the cores.
    cpu: Duration,
}

/// On-CPU time of all threads of this process so far (`/proc/self/task/*/schedstat`).
fn process_cpu() -> Duration {
    let mut ns = 0u64;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(task.path().join("schedstat")) {
                ns += s
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    Duration::from_nanos(ns)
}

/// Times `f`.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Sample) {
    let cpu = process_cpu();
    let start = Instant::now();
    let out = f();
    let wall = start.elapsed();
    (
        out,
        Sample {
            wall,
            cpu: process_cpu().saturating_sub(cpu),
        },
    )
}

/// The medians of wall and CPU time, each taken separately (the lower middle for an even
/// count).
fn median(samples: &[Sample]) -> Sample {
    let mid = |mut d: Vec<Duration>| {
        d.sort();
        d[(d.len() - 1) / 2]
    };
    Sample {
        wall: mid(samples.iter().map(|s| s.wall).collect()),
        cpu: mid(samples.iter().map(|s| s.cpu).collect()),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
