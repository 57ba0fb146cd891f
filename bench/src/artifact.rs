//! `bench artifact`: the steps between an upload's plays and a prepared dashboard, timed one
//! by one in one process: what the worker does to write a user's artifact (regions, build,
//! encode) and what a web instance does to prepare the first view from it (decode, select,
//! local days, the all-time stats, or for a view of a range only when each artist and track
//! was first heard), and a range's selection prepared the whole way beside the same read from
//! the range's days only (`Artifact::decode_window`, `Prepared::window`).

use std::io::Cursor;

use anyhow::{Context, Result};
use schema::aggregate::{LocalClock, local_day_hour};
use schema::{Artifact, Limits, Settings, Stats};

use crate::{Sample, load_average, median, ms, timed};

const STEPS: [&str; 14] = [
    "worker, 2nd upload on: stream digests (stream_digest per play)",
    "worker, 2nd upload on: regions (streams_by_region)",
    "worker: Artifact::build",
    "worker: Artifact::encode (columns, deflate)",
    "web: Artifact::decode (inflate, columns, names)",
    "web: Artifact::select (every upload)",
    "web: local days, a zone look-up per stream (before)",
    "web: local days through a LocalClock (Prepared::new)",
    "web: the all-time stats, play by play (Stats::build_per_play, before)",
    "web: the all-time stats (Stats::build, one thread)",
    "web: the all-time stats (Stats::build_parallel, all cores)",
    "web: when each artist and track was first heard (first_heard: what a range's view needs of all time)",
    "web: a range's selection (2019-01-01..2019-06-30), the whole way: decode, select, Prepared::new, first_heard",
    "web: the same from the range's days only: decode_window, Prepared::window",
];

/// The range `bench/many-users.sh` asks for (2019-01-01 to 2019-06-30), as local days.
fn range_days() -> (schema::aggregate::Day, schema::aggregate::Day) {
    let day = |s| engine::selection::parse_day(s, "day").expect("a date");
    (day("2019-01-01"), day("2019-06-30"))
}

pub fn run(files: &[std::path::PathBuf], runs: usize) -> Result<()> {
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let inputs = files
        .iter()
        .map(std::fs::read)
        .collect::<std::io::Result<Vec<Vec<u8>>>>()
        .context("reading the files")?;
    let mut lib = schema::load(
        &names,
        |i| Ok(Cursor::new(inputs[i].as_slice())),
        &Limits::default(),
    );
    schema::dedupe(&mut lib.plays);
    drop(inputs);
    let load_before = load_average();
    let mut times: Vec<Vec<Sample>> = vec![Vec::new(); STEPS.len()];
    let mut size = 0;
    for run in 0..=runs {
        let mut t = Vec::with_capacity(STEPS.len());
        let (digests, d) = timed(|| {
            lib.plays
                .iter()
                .map(|p| schema::dedupe::stream_digest(p, &lib.strings))
                .collect::<Vec<_>>()
        });
        t.push(d);
        let (streams, d) = timed(|| {
            engine::regions::streams_by_region(
                lib.plays
                    .iter()
                    .zip(&digests)
                    .map(|(p, k)| ("upload", *k, *p)),
            )
        });
        t.push(d);
        let (artifact, d) = timed(|| Artifact::build(streams.0, streams.1, &lib.strings));
        t.push(d);
        let (bytes, d) = timed(|| artifact.encode());
        t.push(d);
        size = bytes.len();
        if run == 0 {
            let text: usize = (1..=artifact.strings.len())
                .map(|i| artifact.strings.get(schema::Sym(i as u32)).len())
                .sum();
            let schema::artifact::Header::Layout(layout) =
                schema::artifact::Layout::read(&bytes, bytes.len())?
            else {
                anyhow::bail!("an artifact of this format has a layout");
            };
            let (names, uris, segments) = layout.sections();
            println!(
                "names: {} distinct, {:.2} MB of text, {:.2} MB of the artifact ({:.2} MB of them URIs); the streams' columns {:.2} MB",
                artifact.strings.len(),
                text as f64 / 1e6,
                (names + uris) as f64 / 1e6,
                uris as f64 / 1e6,
                segments as f64 / 1e6
            );
        }
        if run == 0 {
            memory(&bytes, &artifact)?;
        }
        let (decoded, d) = timed(|| Artifact::decode(&bytes));
        t.push(d);
        let decoded = decoded.context("decoding the artifact")?;
        assert_eq!(decoded.plays.len(), artifact.plays.len());
        let (plays, d) = timed(|| decoded.select(&["upload"]));
        t.push(d);
        let settings = settings();
        let (days, d) = timed(|| {
            plays
                .iter()
                .map(|p| local_day_hour(settings.tz, p.end_ms).0.0)
                .collect::<Vec<i32>>()
        });
        t.push(d);
        std::hint::black_box(days);
        let (days, d) = timed(|| {
            let mut clock = LocalClock::new(settings.tz);
            plays
                .iter()
                .map(|p| clock.day_hour(p.end_ms).0.0)
                .collect::<Vec<i32>>()
        });
        t.push(d);
        std::hint::black_box(days);
        let (stats, d) = timed(|| Stats::build_per_play(&plays, settings));
        t.push(d);
        std::hint::black_box(stats);
        let (stats, d) = timed(|| Stats::build(&plays, settings));
        t.push(d);
        std::hint::black_box(stats);
        let (stats, d) = timed(|| Stats::build_parallel(&plays, settings));
        t.push(d);
        std::hint::black_box(stats);
        let (first, d) = timed(|| schema::aggregate::first_heard(&plays));
        t.push(d);
        std::hint::black_box(first);
        let days = range_days();
        let range = (Some(days.0), Some(days.1));
        let (whole, d) = timed(|| -> Result<(usize, usize)> {
            let decoded = Artifact::decode(&bytes)?;
            let plays = decoded.select(&["upload"]);
            let p = engine::Prepared::new(plays, decoded.strings, settings);
            let first = p.first_heard(engine::Content::All);
            Ok((p.slice(range).len(), first.len()))
        });
        t.push(d);
        let (part, d) = timed(|| -> Result<usize> {
            let day_ms = 86_400_000;
            let w = Artifact::decode_window(
                &bytes,
                i64::from(days.0.0 - 1) * day_ms,
                i64::from(days.1.0 + 2) * day_ms - 1,
            )?
            .context("a window")?;
            let p = engine::Prepared::window(w, days, settings);
            p.first_heard(engine::Content::All);
            Ok(p.slice(range).len())
        });
        t.push(d);
        let (in_range, _) = whole?;
        assert_eq!(part?, in_range, "the window holds the range's streams");
        if run == 0 {
            let schema::artifact::Header::Layout(layout) =
                schema::artifact::Layout::read(&bytes, bytes.len())?
            else {
                anyhow::bail!("an artifact of this format has a layout");
            };
            let plan = layout.window(
                i64::from(days.0.0 - 1) * 86_400_000,
                i64::from(days.1.0 + 2) * 86_400_000 - 1,
            );
            println!(
                "the range 2019-01-01..2019-06-30 holds {in_range} streams; reading it takes {:.0} kB of the artifact's {:.0} kB ({:.0} kB of names, {:.0} kB of segments)",
                (plan.names.len() + plan.segments.len()) as f64 / 1e3,
                bytes.len() as f64 / 1e3,
                plan.names.len() as f64 / 1e3,
                plan.segments.len() as f64 / 1e3,
            );
        }
        if run > 0 {
            for (all, d) in times.iter_mut().zip(t) {
                all.push(d);
            }
        }
    }
    println!(
        "artifact: {} plays, {} streams, {:.2} MB encoded ({:.1} bytes a stream); median of {runs} runs; load average before {load_before}, after {}",
        lib.plays.len(),
        lib.plays.len(),
        size as f64 / 1e6,
        size as f64 / lib.plays.len().max(1) as f64,
        load_average()
    );
    println!("| step | wall ms | CPU ms (all threads) |");
    println!("|---|---:|---:|");
    for (name, t) in STEPS.iter().zip(&times) {
        let d = median(t);
        println!("| {name} | {:.1} | {:.1} |", ms(d.wall), ms(d.cpu));
    }
    Ok(())
}

/// A listener's settings in a zone with daylight saving time (the default's UTC needs no
/// look-up at all).
fn settings() -> Settings {
    Settings {
        tz: schema::Tz::Europe__Berlin,
        ..Settings::default()
    }
}

/// What preparing a user costs in memory, measured by the allocator: the most held at once
/// above what was held before, while a web instance decodes the stored artifact, selects its
/// streams, finds their local days and builds the all-time stats (as `web::dashboards::prepare::warm` does),
/// against the artifact decoded (its streams, regions and names: what the preparation starts
/// from) and encoded (what is stored).
fn memory(bytes: &[u8], artifact: &Artifact) -> Result<()> {
    let before = heap::live().context("the counting allocator is not in use")?;
    heap::reset_peak();
    let decoded = Artifact::decode(bytes).context("decoding the artifact")?;
    let decoded_bytes = heap::live().unwrap_or(0) - before;
    let plays = decoded.select(&["upload"]);
    let strings = decoded.strings.clone();
    drop(decoded);
    let prepared = engine::Prepared::new(plays, strings, settings());
    prepared.stats(engine::Content::All, (None, None));
    let peak = heap::peak().unwrap_or(0) - before;
    let kept = heap::live().unwrap_or(0) - before;
    let estimate = prepared.bytes();
    drop(prepared);
    println!(
        "memory of a preparation: peak {:.1} MB above before, kept {:.1} MB (Prepared::bytes estimates {:.1} MB); the artifact decoded {:.1} MB, encoded {:.1} MB: peak / decoded {:.2}x, peak / encoded {:.2}x ({} streams)",
        peak as f64 / 1e6,
        kept as f64 / 1e6,
        estimate as f64 / 1e6,
        decoded_bytes as f64 / 1e6,
        bytes.len() as f64 / 1e6,
        peak as f64 / decoded_bytes.max(1) as f64,
        peak as f64 / bytes.len().max(1) as f64,
        artifact.plays.len(),
    );
    Ok(())
}
