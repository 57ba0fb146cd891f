//! The dedupe rules of DESIGN.md: one copy of each stream, extended history over account data.

use std::hash::BuildHasher;

use hashbrown::hash_table::{Entry, HashTable};

use crate::model::{Kind, Play, Source, Sym};
use crate::time::floor_minute;

/// What [`dedupe`] dropped, and why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DedupeReport {
    /// Records that were exact copies of another (inside one file, across files or uploads).
    pub exact_duplicates: usize,
    /// Account-data rows dropped because extended history covers their minute.
    pub account_rows_covered_by_extended: usize,
}

impl DedupeReport {
    /// Everything dropped.
    pub fn total(&self) -> usize {
        self.exact_duplicates + self.account_rows_covered_by_extended
    }
}

/// The identity of a stream: the fields every export generation writes the same way.
///
/// Later exports back-fill `skipped`, rescale `offline_timestamp`, rename identifiers and
/// drop URIs in the oldest generation, so none of those take part; names, times, reasons,
/// shuffle and private-session flags do. Account rows have no reasons or flags and match on
/// their four or five fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    end_ms: i64,
    ms_played: u64,
    source: Source,
    kind: Kind,
    title: Sym,
    creator: Sym,
    collection: Sym,
    reason_start: Sym,
    reason_end: Sym,
    shuffle: Option<bool>,
    incognito: Option<bool>,
}

impl StreamKey {
    /// The key of a play. Plays must share one string table for keys to compare.
    pub fn of(p: &Play) -> StreamKey {
        StreamKey {
            end_ms: p.end_ms,
            ms_played: p.ms_played,
            source: p.source,
            kind: p.kind,
            title: p.title,
            creator: p.creator,
            // An album is carried identically by every generation, but DESIGN.md names only
            // track and artist for tracks; audiobooks are named by their book.
            collection: if p.kind == Kind::Audiobook {
                p.collection
            } else {
                Sym::NONE
            },
            reason_start: p.reason_start,
            reason_end: p.reason_end,
            shuffle: p.shuffle,
            incognito: p.incognito,
        }
    }
}

/// A stable 128-bit digest of a play's [`StreamKey`], computed from the names themselves, so it
/// is the same in every process and for every upload: the database uses it to recognise a
/// stream that two uploads share. (FNV-1a over a length-prefixed encoding of the fields.)
pub fn stream_digest(p: &Play, strings: &crate::model::Strings) -> [u8; 16] {
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013B;
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    let mut eat = |bytes: &[u8]| {
        for &b in (bytes.len() as u32).to_le_bytes().iter().chain(bytes) {
            h ^= u128::from(b);
            h = h.wrapping_mul(PRIME);
        }
    };
    let k = StreamKey::of(p);
    eat(&k.end_ms.to_le_bytes());
    eat(&k.ms_played.to_le_bytes());
    eat(&[
        k.source as u8,
        k.kind as u8,
        tri(k.shuffle),
        tri(k.incognito),
    ]);
    for sym in [
        k.title,
        k.creator,
        k.collection,
        k.reason_start,
        k.reason_end,
    ] {
        eat(strings.get(sym).as_bytes());
    }
    h.to_be_bytes()
}

fn tri(b: Option<bool>) -> u8 {
    match b {
        None => 0,
        Some(false) => 1,
        Some(true) => 2,
    }
}

/// Removes duplicate streams in place, keeping the first copy of each and the original order.
///
/// Exact duplicates go first; then account rows whose minute lies within the span of the
/// extended history (first to last extended record, to the minute) are dropped, since the
/// extended history has the same streams at second resolution.
pub fn dedupe(plays: &mut Vec<Play>) -> DedupeReport {
    let hasher = foldhash::fast::RandomState::default();
    dedupe_by(plays, |key| hasher.hash_one(key))
}

/// [`dedupe`] with the 64-bit hash of keys given (tests give a poor one, to collide).
fn dedupe_by(plays: &mut Vec<Play>, hash: impl Fn(&StreamKey) -> u64 + Sync) -> DedupeReport {
    // One bit of the hash splits the keys in two halves, each deduplicated on a thread of its
    // own: all copies of a key fall in the same half. The bit is one that the tables use
    // neither for a key's place nor for its tag.
    const HALF: u32 = 40;
    let later_copies = |half: u64| {
        // The table holds the index of the first play of each key (4 bytes, where the 56-byte
        // `StreamKey` and its hash took 16 and more), and keys are compared exactly, on the
        // plays themselves: only a play whose hash matches an earlier one's reads that play.
        let plays = &plays[..];
        let mut first: HashTable<u32> = HashTable::with_capacity(plays.len() / 2);
        let rehash = |&i: &u32| hash(&StreamKey::of(&plays[i as usize]));
        let mut copies = Vec::new();
        for (i, p) in plays.iter().enumerate() {
            let key = StreamKey::of(p);
            let h = hash(&key);
            if (h >> HALF) & 1 != half {
                continue;
            }
            let same = |&j: &u32| StreamKey::of(&plays[j as usize]) == key;
            match first.entry(h, same, rehash) {
                Entry::Occupied(_) => copies.push(i),
                Entry::Vacant(v) => {
                    v.insert(i as u32);
                }
            }
        }
        copies
    };
    let (mut copies, theirs) = rayon::join(|| later_copies(0), || later_copies(1));
    copies.extend(theirs);
    copies.sort_unstable();
    let mut copies = copies.into_iter().peekable();
    let mut at = 0;
    let before = plays.len();
    plays.retain(|_| {
        let copy = copies.next_if_eq(&at).is_some();
        at += 1;
        !copy
    });
    let exact_duplicates = before - plays.len();

    let span = plays
        .iter()
        .filter(|p| p.source == Source::Extended)
        .map(|p| p.end_ms)
        .fold(None, |acc: Option<(i64, i64)>, t| {
            Some(acc.map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))))
        });
    let mut covered = 0;
    if let Some((first, last)) = span {
        let (first, last) = (floor_minute(first), floor_minute(last));
        plays.retain(|p| {
            let drop =
                p.source == Source::Account && (first..=last).contains(&floor_minute(p.end_ms));
            covered += usize::from(drop);
            !drop
        });
    }
    DedupeReport {
        exact_duplicates,
        account_rows_covered_by_extended: covered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Strings, tests::track as play};

    #[test]
    fn exact_copies_count_once_and_later_backfilled_fields_do_not_matter() {
        let mut s = Strings::default();
        let a = play(&mut s, Source::Extended, 60_000, "x");
        let mut backfilled = a;
        backfilled.skipped = Some(false);
        backfilled.uri = s.intern("spotify:track:0000000000000000000000");
        let mut plays = vec![
            a,
            a,
            backfilled,
            play(&mut s, Source::Extended, 60_000, "y"),
        ];
        let report = dedupe(&mut plays);
        assert_eq!(report.exact_duplicates, 2);
        assert_eq!(plays.len(), 2);
    }

    #[test]
    fn keys_whose_hashes_collide_are_still_told_apart() {
        let mut s = Strings::default();
        let [x, y, z] = ["x", "y", "z"].map(|t| play(&mut s, Source::Extended, 60_000, t));
        let plays = vec![x, y, x, z, y, y, x, z];
        // All in one half of the keys, then split across both, colliding inside each.
        for hash in [
            |_: &StreamKey| 0,
            |k: &StreamKey| k.title.0 as u64 % 2,
            |k: &StreamKey| (k.title.0 as u64 % 2) << 40,
        ] {
            let mut deduped = plays.clone();
            let report = dedupe_by(&mut deduped, hash);
            assert_eq!(deduped, [x, y, z]);
            assert_eq!(report.exact_duplicates, 5);
        }
    }

    #[test]
    fn account_rows_inside_the_extended_span_give_way_to_extended_ones() {
        let mut s = Strings::default();
        let minute = 60_000;
        let mut plays = vec![
            play(&mut s, Source::Account, 5 * minute, "before"),
            play(&mut s, Source::Extended, 10 * minute + 30_000, "e1"),
            play(
                &mut s,
                Source::Account,
                10 * minute,
                "same minute as first extended",
            ),
            play(&mut s, Source::Account, 15 * minute, "inside"),
            play(&mut s, Source::Extended, 20 * minute + 59_000, "e2"),
            play(
                &mut s,
                Source::Account,
                20 * minute,
                "same minute as last extended",
            ),
            play(&mut s, Source::Account, 21 * minute, "after"),
        ];
        let report = dedupe(&mut plays);
        assert_eq!(report.account_rows_covered_by_extended, 3);
        let kept: Vec<&str> = plays.iter().map(|p| s.get(p.title)).collect();
        assert_eq!(kept, ["before", "e1", "e2", "after"]);
    }
}
