//! `bench search`: searching one person's history (`engine::search`), warm, on a generated
//! lifetime, beside a baseline in the same run: the same question answered by scanning every
//! play (what a search without an index does). The index's one-off build is timed too (the
//! first search of a prepared selection pays it).

use anyhow::Result;
use engine::search::SearchIndex;
use engine::{Content, Prepared};
use schema::{Settings, Sym};

use crate::{Sample, load_average, median, ms, timed};

/// Queries: short and long, hits and misses, one word and two.
const QUERIES: [&str; 8] = ["a", "the", "love", "night sky", "ar", "zzqx", "e o", "mix"];

/// Runs the queries `runs` times each on a generated lifetime of `plays` streams (seed 1).
pub fn run(plays: usize, runs: usize) -> Result<()> {
    let (lib, _, _) = crate::generated_library(plays, 1);
    anyhow::ensure!(!lib.plays.is_empty(), "the generated export has no plays");
    let plays = lib.plays.len();
    let prepared = Prepared::new(lib.plays, lib.strings, Settings::default());
    let all = prepared.stats(Content::All, (None, None));
    println!(
        "{plays} plays; load average before: {}; {runs} runs of {} queries",
        load_average(),
        QUERIES.len()
    );

    let mut builds = Vec::new();
    let mut index = None;
    for _ in 0..runs.max(1) {
        let (built, t) = timed(|| SearchIndex::new(&all, &prepared.strings));
        builds.push(t);
        index = Some(built);
    }
    let index = index.expect("built once at least");
    let b = median(&builds);
    println!(
        "index build (once per prepared selection): {:.1} ms",
        ms(b.wall)
    );

    println!(
        "{:<12} {:>8} {:>12} {:>14} {:>8}",
        "query", "matches", "index ms", "scan ms", "ratio"
    );
    let mut worst: f64 = 0.0;
    for q in QUERIES {
        let mut fast: Vec<Sample> = Vec::new();
        let mut slow: Vec<Sample> = Vec::new();
        let mut total = 0;
        for _ in 0..runs.max(1) {
            let (r, t) = timed(|| index.search(q, &prepared.strings));
            total = r.total;
            fast.push(t);
            let (_, t) = timed(|| scan(&prepared, q));
            slow.push(t);
        }
        let (f, s) = (median(&fast), median(&slow));
        worst = worst.max(ms(f.wall));
        println!(
            "{:<12} {:>8} {:>12.2} {:>14.2} {:>7.0}×",
            format!("“{q}”"),
            total,
            ms(f.wall),
            ms(s.wall),
            ms(s.wall) / ms(f.wall).max(1e-6)
        );
    }
    println!("slowest query (median of its runs): {worst:.2} ms");

    // The skip anatomy and the overlaps of all time (each computed once per question, then
    // kept with the prepared selection), beside building the all-time stats from the same
    // plays: the dashboard's own first step.
    let mut anatomy = Vec::new();
    let mut overlaps = Vec::new();
    let mut stats = Vec::new();
    for _ in 0..runs.max(1) {
        let (_, t) = timed(|| engine::overlaps::overlaps(&prepared.plays, prepared.settings));
        overlaps.push(t);
        let (_, t) = timed(|| {
            engine::anatomy::skip_anatomy(
                &prepared.plays,
                &prepared.plays,
                &prepared.strings,
                prepared.settings,
            )
        });
        anatomy.push(t);
        let (_, t) = timed(|| schema::Stats::build_parallel(&prepared.plays, prepared.settings));
        stats.push(t);
    }
    let (a, o, st) = (median(&anatomy), median(&overlaps), median(&stats));
    println!(
        "all time: skip anatomy {:.1} ms ({:.2}× the stats), two devices at once {:.1} ms ({:.2}×), the all-time stats {:.1} ms; load average after: {}",
        ms(a.wall),
        ms(a.wall) / ms(st.wall).max(1e-6),
        ms(o.wall),
        ms(o.wall) / ms(st.wall).max(1e-6),
        ms(st.wall),
        load_average()
    );
    Ok(())
}

/// The baseline: one pass over every play, each distinct name lower-cased and tested once,
/// the matching names counted.
fn scan(p: &Prepared, query: &str) -> usize {
    let words: Vec<String> = query
        .to_lowercase()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let mut checked: std::collections::HashMap<Sym, bool> = std::collections::HashMap::new();
    for play in &p.plays {
        for sym in [play.creator, play.title, play.collection] {
            if sym != Sym::NONE {
                checked.entry(sym).or_insert_with(|| {
                    let name = p.strings.get(sym).to_lowercase();
                    words.iter().all(|w| name.contains(w.as_str()))
                });
            }
        }
    }
    checked.values().filter(|&&m| m).count()
}
