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

/// Every stream once, with its region: `(upload id, stream digest, play)` triples in; the
/// region names (`M` or `M|S`) and `(region index, play)` pairs out. A stream present in
/// several uploads is kept once (the first copy), in the region named by all of them.
pub fn streams_by_region<'a>(
    members: impl IntoIterator<Item = (&'a str, [u8; 16], Play)>,
) -> (Vec<String>, Vec<(u32, Play)>) {
    let mut uploads: Vec<&'a str> = Vec::new();
    let mut index: HashMap<&'a str, usize> = HashMap::new();
    let mut spans: Vec<Option<(i64, i64)>> = Vec::new();
    let mut streams: HashMap<[u8; 16], (Holders, Play), ByDigest> = HashMap::default();
    let mut last: Option<(&'a str, usize)> = None;
    for (upload, key, play) in members {
        // Members come grouped by upload: look the index up once per run.
        let i = match last {
            Some((u, i)) if u == upload => i,
            _ => {
                let i = *index.entry(upload).or_insert_with(|| {
                    uploads.push(upload);
                    spans.push(None);
                    uploads.len() - 1
                });
                last = Some((upload, i));
                i
            }
        };
        if play.source == Source::Extended {
            let m = floor_minute(play.end_ms);
            let span = &mut spans[i];
            *span = Some(span.map_or((m, m), |(lo, hi)| (lo.min(m), hi.max(m))));
        }
        streams
            .entry(key)
            .or_insert_with(|| (Holders::default(), play))
            .0
            .insert(i);
    }
    let mut regions: HashMap<(Holders, Holders), u32> = HashMap::new();
    let mut by_masks: HashMap<(u64, u64), u32> = HashMap::new();
    let mut names: Vec<String> = Vec::new();
    let out = streams
        .into_values()
        .map(|(holders, play)| {
            let mut shadows = Holders::default();
            if play.source == Source::Account {
                let minute = floor_minute(play.end_ms);
                for (i, span) in spans.iter().enumerate() {
                    if let Some((lo, hi)) = span
                        && (*lo..=*hi).contains(&minute)
                        && !holders.contains(i)
                    {
                        shadows.insert(i);
                    }
                }
            }
            // Users with up to 64 uploads (all but a few) are looked up by their two masks.
            if holders.more.is_empty() && shadows.more.is_empty() {
                let masks = (holders.mask, shadows.mask);
                if let Some(r) = by_masks.get(&masks) {
                    return (*r, play);
                }
            }
            let masks = (holders.mask, shadows.mask);
            let small = holders.more.is_empty() && shadows.more.is_empty();
            let key = (holders, shadows);
            let region = match regions.get(&key) {
                Some(r) => *r,
                None => {
                    let name = region_name(&key.0, &key.1, &uploads);
                    names.push(name);
                    let r = (names.len() - 1) as u32;
                    regions.insert(key, r);
                    if small {
                        by_masks.insert(masks, r);
                    }
                    r
                }
            };
            (region, play)
        })
        .collect();
    (names, out)
}

/// Hashes a stream digest by its first eight bytes: a digest is already uniformly spread, so
/// hashing it again (SipHash, as `HashMap` does by default) only costs time.
#[derive(Debug, Clone, Copy, Default)]
struct DigestHasher(u64);

impl std::hash::Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8).take(1) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(word);
        }
    }

    fn write_usize(&mut self, _length: usize) {}
}

type ByDigest = std::hash::BuildHasherDefault<DigestHasher>;

/// A set of upload indices: a bit mask for the first 64, a list beyond (a user with more than
/// 64 uploads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct Holders {
    mask: u64,
    more: Vec<usize>,
}

impl Holders {
    fn insert(&mut self, i: usize) {
        if i < 64 {
            self.mask |= 1 << i;
        } else if !self.more.contains(&i) {
            self.more.push(i);
            self.more.sort_unstable();
        }
    }

    fn contains(&self, i: usize) -> bool {
        if i < 64 {
            self.mask & (1 << i) != 0
        } else {
            self.more.contains(&i)
        }
    }

    fn ids<'a>(&self, uploads: &[&'a str]) -> Vec<&'a str> {
        let mut ids: Vec<&str> = (0..64.min(uploads.len()))
            .filter(|i| self.mask & (1 << i) != 0)
            .chain(self.more.iter().copied())
            .map(|i| uploads[i])
            .collect();
        ids.sort_unstable();
        ids
    }
}

/// `M` or `M|S`, each sorted and comma-joined.
fn region_name(holders: &Holders, shadows: &Holders, uploads: &[&str]) -> String {
    let mut name = holders.ids(uploads).join(",");
    let shadows = shadows.ids(uploads);
    if !shadows.is_empty() {
        name.push('|');
        name.push_str(&shadows.join(","));
    }
    name
}

/// Whether a region's streams count for a selection of uploads.
pub use schema::artifact::region_counts_for as counts_for;

#[cfg(test)]
mod tests {
    use super::*;
    use schema::{Artifact, Kind, Strings, Sym};

    /// Listening time of a selection, read off the artifact built from `members`.
    fn total(members: &[(&str, [u8; 16], Play)], strings: &Strings, selection: &[&str]) -> u64 {
        let (names, streams) = streams_by_region(members.to_vec());
        let artifact = Artifact::build(names, streams, strings);
        let plays = artifact.select(selection);
        assert!(
            plays.windows(2).all(|w| w[0].end_ms <= w[1].end_ms),
            "sorted by time"
        );
        plays.iter().map(|p| p.ms_played).sum()
    }

    /// The region names of `members`, sorted.
    fn names(members: &[(&str, [u8; 16], Play)]) -> Vec<String> {
        let (mut names, _) = streams_by_region(members.to_vec());
        names.sort();
        names
    }

    fn play(strings: &mut Strings, end_ms: i64, ms: u64) -> Play {
        let names = [strings.intern("t"), strings.intern("a"), Sym::NONE];
        Play::bare(end_ms, ms, Kind::Track, Source::Extended, names)
    }

    #[test]
    fn a_user_with_more_than_64_uploads_still_counts_each_stream_once() {
        let mut s = Strings::default();
        let ids: Vec<String> = (0..70).map(|i| format!("u{i:02}")).collect();
        let mut members: Vec<(&str, [u8; 16], Play)> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                (
                    id.as_str(),
                    [i as u8; 16],
                    play(&mut s, i as i64 * 60_000, 1_000),
                )
            })
            .collect();
        // One more stream, held by the first and the last upload.
        let shared = play(&mut s, 100 * 60_000, 5_000);
        members.push(("u00", [200; 16], shared));
        members.push(("u69", [200; 16], shared));
        assert!(names(&members).contains(&"u00,u69".to_string()));
        assert_eq!(total(&members, &s, &["u69"]), 6_000);
        assert_eq!(
            total(&members, &s, &["u00", "u69"]),
            7_000,
            "the shared stream once"
        );
        let all: Vec<&str> = ids.iter().map(String::as_str).collect();
        assert_eq!(total(&members, &s, &all), 75_000);
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
