//! A user's stats per region.
//!
//! A region is named by two sets of uploads: those that contain a stream (`M`), and those
//! whose extended history covers the minute of an account-data stream (`S`, the uploads that
//! *shadow* it: DESIGN.md's "extended history wins over account data" applied across uploads).
//! A stream counts for a selection of uploads when the selection meets `M` and misses `S`.
//! Every stream falls in exactly one region, so the stats of any selection are the merge of
//! the regions that count for it: overlapping uploads (two exports of one account, the account
//! package beside the extended one) never count a stream twice, and no selection needs its
//! plays read again. Region names are `M` or `M|S`, each a sorted, comma-joined id list.

use std::collections::HashMap;

use schema::time::floor_minute;
use schema::{Play, Settings, Source, Stats, Strings};
use storage::plays::RegionStats;

/// Every stream once, with the name of its region: `(upload id, stream digest, play)` triples
/// in, `(region, play)` out. A stream present in several uploads is kept once (the first copy),
/// in the region named by all of them.
pub fn streams_by_region<'a>(
    members: impl IntoIterator<Item = (&'a str, [u8; 16], Play)>,
) -> Vec<(String, Play)> {
    let mut streams: HashMap<[u8; 16], (Vec<&'a str>, Play)> = HashMap::new();
    let mut spans: HashMap<&'a str, (i64, i64)> = HashMap::new();
    for (upload, key, play) in members {
        if play.source == Source::Extended {
            let m = floor_minute(play.end_ms);
            let span = spans.entry(upload).or_insert((m, m));
            *span = (span.0.min(m), span.1.max(m));
        }
        let entry = streams.entry(key).or_insert_with(|| (Vec::new(), play));
        if !entry.0.contains(&upload) {
            entry.0.push(upload);
        }
    }
    streams
        .into_values()
        .map(|(mut uploads, play)| {
            uploads.sort_unstable();
            let mut name = uploads.join(",");
            if play.source == Source::Account {
                let minute = floor_minute(play.end_ms);
                let mut shadows: Vec<&str> = spans
                    .iter()
                    .filter(|(u, (lo, hi))| (*lo..=*hi).contains(&minute) && !uploads.contains(u))
                    .map(|(u, _)| *u)
                    .collect();
                if !shadows.is_empty() {
                    shadows.sort_unstable();
                    name = format!("{name}|{}", shadows.join(","));
                }
            }
            (name, play)
        })
        .collect()
}

/// Region stats over `(upload id, stream digest, play)` triples. A stream present in several
/// uploads is kept once (the first copy), in the region named by all of them.
pub fn region_stats<'a>(
    members: impl IntoIterator<Item = (&'a str, [u8; 16], Play)>,
    strings: &Strings,
    settings: Settings,
) -> Vec<RegionStats> {
    stats_of_regions(&streams_by_region(members), strings, settings)
}

/// Region stats of the `(region, play)` pairs [`streams_by_region`] gives.
pub fn stats_of_regions(
    streams: &[(String, Play)],
    strings: &Strings,
    settings: Settings,
) -> Vec<RegionStats> {
    let mut by_region: HashMap<&str, Vec<Play>> = HashMap::new();
    for (name, play) in streams {
        by_region.entry(name).or_default().push(*play);
    }
    let mut out: Vec<RegionStats> = by_region
        .into_iter()
        .map(|(name, plays)| region(name.to_string(), &Stats::build(&plays, settings), strings))
        .collect();
    out.sort_by(|a, b| a.region.cmp(&b.region));
    out
}

/// The plays that count for a selection of uploads, each stream once, by the same rule as
/// the stored regions (so that views built from them agree with the stored stats), sorted by
/// end time. `members` must hold every upload of the user, not only the selected ones: an
/// unselected extended upload does not shadow, a selected one does.
pub fn select_plays<'a>(
    members: impl IntoIterator<Item = (&'a str, [u8; 16], Play)>,
    selection: &[&str],
) -> Vec<Play> {
    let members: Vec<(&'a str, [u8; 16], Play)> = members.into_iter().collect();
    let mut uploads: Vec<&str> = members.iter().map(|m| m.0).collect();
    uploads.sort_unstable();
    uploads.dedup();
    let mut out = if uploads.len() <= 64 {
        select_by_mask(&members, &uploads, selection)
    } else {
        streams_by_region(members)
            .into_iter()
            .filter(|(region, _)| counts_for(region, selection))
            .map(|(_, play)| play)
            .collect()
    };
    out.sort_by_key(|p| p.end_ms);
    out
}

/// [`select_plays`] for at most 64 uploads: each stream's uploads and shadows as bit sets
/// instead of region names (the same rule, without building a string per stream).
fn select_by_mask(
    members: &[(&str, [u8; 16], Play)],
    uploads: &[&str],
    selection: &[&str],
) -> Vec<Play> {
    let bit = |u: &str| 1u64 << uploads.binary_search(&u).expect("a member's upload");
    let chosen: u64 = selection
        .iter()
        .filter_map(|s| uploads.binary_search(s).ok())
        .fold(0, |m, i| m | (1 << i));
    let mut spans: Vec<Option<(i64, i64)>> = vec![None; uploads.len()];
    let mut streams: HashMap<[u8; 16], (u64, Play)> = HashMap::with_capacity(members.len());
    for (upload, key, play) in members {
        let b = bit(upload);
        if play.source == Source::Extended {
            let m = floor_minute(play.end_ms);
            let span = &mut spans[b.trailing_zeros() as usize];
            *span = Some(span.map_or((m, m), |(lo, hi)| (lo.min(m), hi.max(m))));
        }
        streams.entry(*key).or_insert((0, *play)).0 |= b;
    }
    streams
        .into_values()
        .filter(|(holders, play)| {
            if holders & chosen == 0 {
                return false;
            }
            if play.source != Source::Account {
                return true;
            }
            let minute = floor_minute(play.end_ms);
            let shadows = spans
                .iter()
                .enumerate()
                .fold(0u64, |m, (i, span)| match span {
                    Some((lo, hi)) if (*lo..=*hi).contains(&minute) && holders & (1 << i) == 0 => {
                        m | (1 << i)
                    }
                    _ => m,
                });
            shadows & chosen == 0
        })
        .map(|(_, play)| play)
        .collect()
}

/// A region's stored form.
pub fn region(name: String, stats: &Stats, strings: &Strings) -> RegionStats {
    let doc = serde_json::to_string(&stats.to_doc(strings)).expect("stats serialise");
    RegionStats {
        region: name,
        streams: stats.total.streams as i64,
        ms_played: stats.total.ms as i64,
        doc,
    }
}

/// Whether a region's streams count for a selection of uploads.
pub use schema::artifact::region_counts_for as counts_for;

/// Merges the stored regions that meet a selection of uploads into one [`Stats`] on `strings`.
pub fn merge_selection(
    regions: &[RegionStats],
    selection: &[&str],
    strings: &mut Strings,
) -> Result<Option<Stats>, String> {
    let mut merged: Option<Stats> = None;
    for r in regions {
        if !counts_for(&r.region, selection) {
            continue;
        }
        let doc: schema::aggregate::StatsDoc =
            serde_json::from_str(&r.doc).map_err(|e| e.to_string())?;
        let stats = Stats::from_doc(&doc, strings)?;
        match &mut merged {
            Some(m) => m.merge(&stats),
            None => merged = Some(stats),
        }
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use schema::{Kind, Sym};

    fn play(strings: &mut Strings, end_ms: i64, ms: u64) -> Play {
        let names = [strings.intern("t"), strings.intern("a"), Sym::NONE];
        Play::bare(end_ms, ms, Kind::Track, Source::Extended, names)
    }

    #[test]
    fn overlapping_uploads_count_shared_streams_once_in_any_selection() {
        let mut s = Strings::default();
        let (p1, p2, p3) = (
            play(&mut s, 1_000_000, 40_000),
            play(&mut s, 2_000_000, 50_000),
            play(&mut s, 3_000_000, 60_000),
        );
        let members = vec![
            ("A", [1; 16], p1),
            ("A", [2; 16], p2),
            ("B", [2; 16], p2),
            ("B", [3; 16], p3),
        ];
        let regions = region_stats(members, &s, Settings::default());
        let names: Vec<&str> = regions.iter().map(|r| r.region.as_str()).collect();
        assert_eq!(names, ["A", "A,B", "B"]);
        let total = |sel: &[&str], s: &mut Strings| {
            merge_selection(&regions, sel, s)
                .unwrap()
                .map_or(0, |m| m.total.ms)
        };
        assert_eq!(total(&["A", "B"], &mut s), 150_000);
        assert_eq!(total(&["A"], &mut s), 90_000);
        assert_eq!(total(&["B"], &mut s), 110_000);
        assert_eq!(total(&["C"], &mut s), 0);
    }

    #[test]
    fn account_data_counts_alone_but_gives_way_to_an_extended_upload_covering_it() {
        let mut s = Strings::default();
        let minute = 60_000;
        let ext1 = play(&mut s, 10 * minute + 5_000, 40_000);
        let ext2 = play(&mut s, 20 * minute + 5_000, 40_000);
        let mut covered = play(&mut s, 15 * minute, 45_000);
        covered.source = Source::Account;
        let mut later = play(&mut s, 30 * minute, 50_000);
        later.source = Source::Account;
        let members = vec![
            ("E", [1; 16], ext1),
            ("E", [2; 16], ext2),
            ("A", [3; 16], covered),
            ("A", [4; 16], later),
        ];
        let regions = region_stats(members, &s, Settings::default());
        let names: Vec<&str> = regions.iter().map(|r| r.region.as_str()).collect();
        assert_eq!(names, ["A", "A|E", "E"]);
        let total = |sel: &[&str], s: &mut Strings| {
            merge_selection(&regions, sel, s)
                .unwrap()
                .map_or(0, |m| m.total.ms)
        };
        assert_eq!(
            total(&["A"], &mut s),
            95_000,
            "account data alone counts every row"
        );
        assert_eq!(total(&["E"], &mut s), 80_000);
        assert_eq!(
            total(&["A", "E"], &mut s),
            130_000,
            "the covered account row gives way"
        );
        let members = vec![
            ("E", [1; 16], ext1),
            ("E", [2; 16], ext2),
            ("A", [3; 16], covered),
            ("A", [4; 16], later),
        ];
        for (sel, ms) in [
            (&["A"][..], 95_000),
            (&["E"][..], 80_000),
            (&["A", "E"][..], 130_000),
        ] {
            let plays = select_plays(members.clone(), sel);
            assert_eq!(
                plays.iter().map(|p| p.ms_played).sum::<u64>(),
                ms,
                "{sel:?}"
            );
            assert!(
                plays.windows(2).all(|w| w[0].end_ms <= w[1].end_ms),
                "sorted by time"
            );
        }
    }
}
