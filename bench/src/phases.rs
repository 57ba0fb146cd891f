//! `bench phases`: the pipeline of `backspin inspect --json`, timed phase by phase in one
//! process, with the files served from memory after the first (timed) read.

use std::io::Cursor;
use std::time::Duration;

use anyhow::{Context, Result};
use schema::{Library, Limits, Parser, Settings, Stats, Summary};

use crate::{Sample, load_average, median, ms, timed};

/// The rows of `PHASES` that make up `backspin inspect`.
const INSPECT: [usize; 6] = [0, 1, 4, 7, 8, 9];

const PHASES: [&str; 10] = [
    "read files (page cache, one thread)",
    "load: schema::load from memory (parse + intern + merge, all cores)",
    "  of which parse alone, one thread (Parser::parse per file)",
    "  of which merge alone, one thread (Library::absorb)",
    "dedupe",
    "  aggregate for the dashboards (Stats::build, UTC; what an upload does, not inspect)",
    "  summary from those stats (Summary::new)",
    "summary straight from the plays (Summary::tally, four parts in parallel; what inspect does)",
    "JSON output (serde_json::to_vec_pretty)",
    "drop library, stats, summary",
];

pub fn run(files: &[std::path::PathBuf], runs: usize) -> Result<()> {
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let load_before = load_average();
    let mut times: Vec<Vec<Sample>> = vec![Vec::new(); PHASES.len()];
    let mut total = Vec::new();
    let mut bytes = 0;
    for run in 0..=runs {
        let mut t = Vec::with_capacity(PHASES.len());
        let (inputs, d) = timed(|| {
            files
                .iter()
                .map(std::fs::read)
                .collect::<std::io::Result<Vec<Vec<u8>>>>()
        });
        let inputs = inputs.context("reading the files")?;
        bytes = inputs.iter().map(Vec::len).sum::<usize>();
        t.push(d);

        let (mut lib, d) = timed(|| {
            schema::load(
                &names,
                |i| Ok(Cursor::new(inputs[i].as_slice())),
                &Limits::default(),
            )
        });
        t.push(d);

        let mut parser = Parser::default();
        let (parsed, d) = timed(|| inputs.iter().map(|i| parser.parse(i)).collect::<Vec<_>>());
        t.push(d);
        let mut merged = Library::default();
        let ((), d) = timed(|| {
            for (name, p) in names.iter().zip(parsed) {
                if let Ok(p) = p {
                    merged.absorb(name.clone(), 0, p);
                }
            }
        });
        t.push(d);
        assert_eq!(merged.plays.len(), lib.plays.len());
        drop(merged);

        let (report, d) = timed(|| schema::dedupe(&mut lib.plays));
        t.push(d);
        let (stats, d) = timed(|| Stats::build(&lib.plays, Settings::default()));
        t.push(d);
        let (summary, d) = timed(|| Summary::new(&lib, &report, &stats));
        t.push(d);
        let (tallied, d) = timed(|| Summary::tally(&lib, &report, Settings::default()));
        t.push(d);
        assert_eq!(
            serde_json::to_value(&tallied)?,
            serde_json::to_value(&summary)?,
            "Summary::tally differs from Summary::new"
        );
        drop(tallied);
        let (json, d) = timed(|| serde_json::to_vec_pretty(&summary));
        std::hint::black_box(json?);
        t.push(d);
        let ((), d) = timed(|| drop((lib, stats, summary)));
        t.push(d);

        if run > 0 {
            // Run 0 warms up.
            total.push(Sample {
                wall: INSPECT.iter().map(|&i| t[i].wall).sum::<Duration>(),
                cpu: INSPECT.iter().map(|&i| t[i].cpu).sum::<Duration>(),
            });
            for (all, d) in times.iter_mut().zip(t) {
                all.push(d);
            }
        }
    }
    let load_after = load_average();
    let total = median(&total);
    println!(
        "phases: {} files, {:.1} MB; median of {runs} runs; load average before {load_before}, after {load_after}",
        files.len(),
        bytes as f64 / 1e6
    );
    println!("| phase | wall ms | CPU ms (all threads) | share of inspect (CPU) |");
    println!("|---|---:|---:|---:|");
    for (i, (name, t)) in PHASES.iter().zip(&times).enumerate() {
        let d = median(t);
        let share = if !INSPECT.contains(&i) {
            String::new()
        } else {
            format!(
                "{:.0} %",
                100.0 * d.cpu.as_secs_f64() / total.cpu.as_secs_f64()
            )
        };
        println!(
            "| {name} | {:.1} | {:.1} | {share} |",
            ms(d.wall),
            ms(d.cpu)
        );
    }
    println!(
        "| inspect pipeline (the rows with a share, summed per run) | {:.1} | {:.1} | 100 % |",
        ms(total.wall),
        ms(total.cpu)
    );
    Ok(())
}
