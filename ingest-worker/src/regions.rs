//! Regions: which uploads hold a stream, and which shadow it.
//!
//! A region is named by two sets of uploads: those that contain a stream (`M`), and those
//! whose extended history covers the minute of an account-data stream (`S`, the uploads that
//! *shadow* it: DESIGN.md's "extended history wins over account data" applied across uploads).
//! A stream counts for a selection of uploads when the selection meets `M` and misses `S`.
//! Every stream falls in exactly one region, and the user's artifact (`schema::artifact`)
//! keeps each stream once with its region: overlapping uploads (two exports of one account,
//! the account package beside the extended one) never count a stream twice, and any
//! selection is read off the artifact. Region names are `M` or `M|S`, each a sorted,
//! comma-joined id list.

use std::collections::HashMap;

use schema::time::floor_minute;
use schema::{Play, Source};

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

/// Whether a region's streams count for a selection of uploads.
pub use schema::artifact::region_counts_for as counts_for;

#[cfg(test)]
mod tests {
    use super::*;
    use schema::{Artifact, Kind, Strings, Sym};

    /// Listening time of a selection, read off the artifact built from `members`.
    fn total(members: &[(&str, [u8; 16], Play)], strings: &Strings, selection: &[&str]) -> u64 {
        let artifact = Artifact::build(streams_by_region(members.to_vec()), strings);
        let plays = artifact.select(selection);
        assert!(
            plays.windows(2).all(|w| w[0].end_ms <= w[1].end_ms),
            "sorted by time"
        );
        plays.iter().map(|p| p.ms_played).sum()
    }

    /// The region names of `members`, sorted.
    fn names(members: &[(&str, [u8; 16], Play)]) -> Vec<String> {
        let mut names: Vec<String> = streams_by_region(members.to_vec())
            .into_iter()
            .map(|(r, _)| r)
            .collect();
        names.sort();
        names.dedup();
        names
    }

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
        assert_eq!(names(&members), ["A", "A,B", "B"]);
        assert_eq!(total(&members, &s, &["A", "B"]), 150_000);
        assert_eq!(total(&members, &s, &["A"]), 90_000);
        assert_eq!(total(&members, &s, &["B"]), 110_000);
        assert_eq!(total(&members, &s, &["C"]), 0);
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
        assert_eq!(names(&members), ["A", "A|E", "E"]);
        assert_eq!(
            total(&members, &s, &["A"]),
            95_000,
            "account data alone counts every row"
        );
        assert_eq!(total(&members, &s, &["E"]), 80_000);
        assert_eq!(
            total(&members, &s, &["A", "E"]),
            130_000,
            "the covered account row gives way"
        );
    }
}
