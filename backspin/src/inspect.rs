//! `backspin inspect`: what is in an export, file by file, and the merged numbers.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use schema::{FileReport, Limits, Settings, Status, Summary, Tz};

/// Arguments of `backspin inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON object instead of text (keys in docs/inspect.md).
    #[arg(long)]
    json: bool,
    /// Time zone for days, hours and years (IANA name, e.g. Europe/Stockholm).
    #[arg(long, default_value = "UTC")]
    tz: String,
    /// A stream counts as a play from this many milliseconds.
    #[arg(long, default_value_t = 30_000)]
    min_play_ms: u64,
    /// Largest JSON file accepted, in MiB.
    #[arg(long, default_value_t = 256)]
    max_file_mib: u64,
    /// JSON files, folders (searched recursively) or zips.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// Runs the command; exits 1 when no history could be read at all.
pub fn run(args: &Args) -> Result<ExitCode> {
    let tz: Tz = args.tz.parse().map_err(|_| {
        anyhow::anyhow!(
            "--tz {:?} is not a known time zone (try Europe/Berlin or UTC)",
            args.tz
        )
    })?;
    let settings = Settings {
        tz,
        min_play_ms: args.min_play_ms,
        ..Settings::default()
    };
    let limits = Limits {
        max_file_bytes: args.max_file_mib << 20,
        ..Limits::default()
    };

    let (mut inputs, mut skipped) = (Vec::new(), Vec::new());
    for p in &args.paths {
        crate::paths::collect(p, true, &mut inputs, &mut skipped)
            .with_context(|| format!("reading {}", p.display()))?;
    }
    if inputs.is_empty() {
        bail!(
            "no files found in {}",
            args.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    let mut lib = schema::load(
        &names,
        |i| File::open(&inputs[i]).map(BufReader::new),
        &limits,
    );
    lib.files.extend(skipped.iter().map(|p| {
        FileReport::ignored(
            p.display().to_string(),
            "neither JSON nor a zip (by its name)",
        )
    }));
    let report = schema::dedupe(&mut lib.plays);
    // Only the summary's numbers, not the dashboards' (`Stats`): see `schema::facts`.
    let summary = Summary::tally(&lib, &report, settings);

    let mut out = io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &summary)?;
        writeln!(out)?;
    } else {
        out.write_all(render_text(&summary).as_bytes())?;
    }
    let used = summary.files.iter().any(|f| f.status == Status::Used);
    // The process ends here: the OS takes the library's memory back at once, far faster than
    // freeing its hundreds of thousands of names one by one.
    std::mem::forget(lib);
    Ok(if used {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn hours(ms: u64) -> String {
    format!("{:.1} h", ms as f64 / 3_600_000.0)
}

fn render_text(s: &Summary) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "Files");
    for f in &s.files {
        let what = match (f.status, &f.format, &f.variant) {
            (Status::Used, Some(fmt), Some(v)) => format!("{fmt} {v}, {} records", f.records),
            (Status::Used, ..) => format!("{} records", f.records),
            (Status::Ignored, ..) => format!("ignored: {}", f.error.as_deref().unwrap_or("")),
            (Status::Failed, ..) => format!("FAILED: {}", f.error.as_deref().unwrap_or("")),
        };
        let _ = writeln!(o, "  {}  {what}", f.name);
        if f.rejected > 0 {
            let _ = writeln!(o, "      {} records rejected:", f.rejected);
        }
        for p in &f.problems {
            let _ = writeln!(o, "      {p}");
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Summary ({}; a play is ≥ {} s)",
        s.time_zone,
        s.min_play_ms as f64 / 1000.0
    );
    let rows = [
        ("records", s.records.to_string()),
        ("unique streams", s.unique_records.to_string()),
        ("duplicates dropped", s.duplicates_dropped.to_string()),
        (
            "account rows covered by extended",
            s.account_rows_covered_by_extended.to_string(),
        ),
        ("rows without metadata", s.rows_without_metadata.to_string()),
        ("listening time", hours(s.total_ms_played)),
        ("  music", hours(s.music_ms_played)),
        ("  podcasts", hours(s.episode_ms_played)),
        ("  audiobooks", hours(s.audiobook_ms_played)),
        ("plays", s.plays.to_string()),
        (
            "artists / tracks / albums",
            format!(
                "{} / {} / {}",
                s.distinct_artists, s.distinct_tracks, s.distinct_albums
            ),
        ),
        (
            "shows / episodes",
            format!("{} / {}", s.distinct_shows, s.distinct_episodes),
        ),
        ("first stream ended", s.first_ts.clone().unwrap_or_default()),
        ("last stream ended", s.last_ts.clone().unwrap_or_default()),
        ("days listened", s.days_listened.to_string()),
        (
            "longest streak",
            s.longest_streak.as_ref().map_or(String::new(), |k| {
                format!("{} days ({} – {})", k.days, k.first, k.last)
            }),
        ),
        (
            "skip / shuffle rate",
            format!("{} / {}", pct(s.skip_rate), pct(s.shuffle_rate)),
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(o, "  {k:<34}{v}");
    }
    let _ = writeln!(o, "\nBy year");
    for y in &s.years {
        let _ = writeln!(
            o,
            "  {}  {:>9}  {:>7} plays  top: {}",
            y.year,
            hours(y.ms_played),
            y.plays,
            y.top_artist.as_deref().unwrap_or("–")
        );
    }
    let _ = writeln!(o, "\nTop artists");
    for (i, a) in s.top_artists.iter().enumerate() {
        let _ = writeln!(
            o,
            "  {:>2}. {}  {}  {} plays",
            i + 1,
            a.name,
            hours(a.ms_played),
            a.plays
        );
    }
    let _ = writeln!(o, "\nTop tracks");
    for (i, t) in s.top_tracks.iter().enumerate() {
        let _ = writeln!(
            o,
            "  {:>2}. {} — {}  {}  {} plays",
            i + 1,
            t.name,
            t.artist.as_deref().unwrap_or("?"),
            hours(t.ms_played),
            t.plays
        );
    }
    o
}

fn pct(r: Option<f64>) -> String {
    r.map_or("–".into(), |r| format!("{:.1} %", r * 100.0))
}
