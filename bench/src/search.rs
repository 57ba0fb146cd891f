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

    // The insights of all time (each computed once per question, then kept with the prepared
    // selection), beside building the all-time stats from the same plays: the dashboard's own
    // first step.
    let (p, strings, settings) = (&prepared.plays, &prepared.strings, prepared.settings);
    // The ledger reads the artifact's regions: here the history is one upload's.
    let regions = vec!["u1".to_string()];
    let regions_of = vec![0u32; p.len()];
    let insights: [(&str, &dyn Fn()); 8] = [
        ("skip anatomy", &|| {
            engine::anatomy::skip_anatomy(p, p, strings, settings);
        }),
        ("two devices at once", &|| {
            engine::overlaps::overlaps(p, settings);
        }),
        ("eras", &|| {
            engine::chapters::eras(p, strings, settings);
        }),
        ("album sittings", &|| {
            engine::chapters::sittings(p, strings, settings);
        }),
        ("trips", &|| {
            engine::moments::trips(p, strings, settings, Content::All);
        }),
        ("this day in other years", &|| {
            engine::moments::on_this_day(p, strings, settings, Content::All, 3, 14);
        }),
        ("milestones", &|| {
            engine::moments::milestones(p, strings, settings, Content::All);
        }),
        ("the import ledger", &|| {
            engine::ledger::ledger(p, &regions, &regions_of, &["u1"], settings);
        }),
    ];
    let mut stats = Vec::new();
    let mut times: Vec<Vec<Sample>> = vec![Vec::new(); insights.len()];
    for _ in 0..runs.max(1) {
        for ((_, f), t) in insights.iter().zip(times.iter_mut()) {
            t.push(timed(f).1);
        }
        let (_, t) = timed(|| schema::Stats::build_parallel(p, settings));
        stats.push(t);
    }
    let st = median(&stats);
    println!(
        "all time: the all-time stats (the baseline) {:.1} ms",
        ms(st.wall)
    );
    for ((name, _), t) in insights.iter().zip(&times) {
        let m = median(t);
        println!(
            "all time: {name} {:.1} ms ({:.2}× the stats)",
            ms(m.wall),
            ms(m.wall) / ms(st.wall).max(1e-6)
        );
    }
    println!("load average after: {}", load_average());
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
