//! The import ledger, the part the stored streams tell: for each upload, its streams sorted
//! into what they count as (music, podcast and audiobook plays, streams under the play
//! threshold, streams without metadata; skipped and incognito ones among them), which other
//! uploads hold the same streams, which other upload's extended history covers its account-data
//! streams, and what it added to the uploads made before it (new streams, streams already
//! known, new days). The web tier adds what the upload's own summary kept: records unreadable,
//! repeated within the upload, covered by its own extended history.
//!
//! A stream's uploads are its region's (`M|S`, [`crate::regions`]): `M` the uploads holding it,
//! `S` those whose extended history shadows it.

use std::collections::HashSet;

use schema::{Kind, Play, Settings};
use serde::Serialize;

/// Streams of an upload shared with another upload.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Overlap {
    /// The other upload's id.
    pub upload: String,
    /// Streams.
    pub streams: u64,
}

/// One upload's streams, accounted for.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct StreamLedger {
    /// The upload's id.
    pub upload: String,
    /// Streams it holds, each once.
    pub streams: u64,
    /// Music streams of at least the play threshold.
    pub music_plays: u64,
    /// Podcast episodes of at least the play threshold.
    pub podcast_plays: u64,
    /// Audiobook chapters of at least the play threshold.
    pub audiobook_plays: u64,
    /// Streams with a name, shorter than the play threshold.
    pub short: u64,
    /// Streams without a track, episode or chapter (time only).
    pub without_metadata: u64,
    /// Of all its streams, those marked skipped.
    pub skipped: u64,
    /// Of all its streams, those played in a private session.
    pub incognito: u64,
    /// Other uploads holding some of the same streams (its duplicates elsewhere), most first.
    pub also_in: Vec<Overlap>,
    /// Uploads whose extended history covers some of its account-data streams (those count
    /// there, not here, when both are selected), most first.
    pub covered_by: Vec<Overlap>,
    /// Streams no upload made before it holds.
    pub new_streams: u64,
    /// Streams an upload made before it holds already.
    pub known_streams: u64,
    /// Local days with a stream of it and none of the uploads made before it.
    pub new_days: u64,
    /// Local days with a stream of it.
    pub days: u64,
    /// End of its last stream, milliseconds since the epoch.
    #[schema(required = true)]
    pub last_end_ms: Option<i64>,
}

/// The region `M|S` as indices into `uploads` (unknown ids left out).
fn parse_region(region: &str, uploads: &[&str]) -> (Vec<usize>, Vec<usize>) {
    let (m, s) = region.split_once('|').unwrap_or((region, ""));
    let ids = |list: &str| -> Vec<usize> {
        list.split(',')
            .filter_map(|id| uploads.iter().position(|u| *u == id))
            .collect()
    };
    (ids(m), ids(s))
}

/// The ledger of each of `uploads` (in the order they were made, oldest first) over a user's
/// streams (`plays`, with `regions_of` indexing `regions`), under `settings` (days, threshold).
pub fn ledger(
    plays: &[Play],
    regions: &[String],
    regions_of: &[u32],
    uploads: &[&str],
    settings: Settings,
) -> Vec<StreamLedger> {
    let parsed: Vec<(Vec<usize>, Vec<usize>)> =
        regions.iter().map(|r| parse_region(r, uploads)).collect();
    let n = uploads.len();
    let mut out: Vec<StreamLedger> = uploads
        .iter()
        .map(|u| StreamLedger {
            upload: u.to_string(),
            streams: 0,
            music_plays: 0,
            podcast_plays: 0,
            audiobook_plays: 0,
            short: 0,
            without_metadata: 0,
            skipped: 0,
            incognito: 0,
            also_in: Vec::new(),
            covered_by: Vec::new(),
            new_streams: 0,
            known_streams: 0,
            new_days: 0,
            days: 0,
            last_end_ms: None,
        })
        .collect();
    let mut also = vec![vec![0u64; n]; n];
    let mut covered = vec![vec![0u64; n]; n];
    let mut days: Vec<HashSet<i32>> = vec![HashSet::new(); n];
    for (p, &r) in plays.iter().zip(regions_of) {
        let (members, shadows) = &parsed[r as usize];
        if members.is_empty() {
            continue;
        }
        let day = schema::aggregate::local_day_hour(settings.tz, p.end_ms).0.0;
        let first_holder = members.iter().copied().min().unwrap_or(0);
        for &u in members {
            let l = &mut out[u];
            l.streams += 1;
            let played = p.ms_played >= settings.min_play_ms;
            match (p.kind, played) {
                (Kind::Unknown, _) => l.without_metadata += 1,
                (_, false) => l.short += 1,
                (Kind::Track, true) => l.music_plays += 1,
                (Kind::Episode, true) => l.podcast_plays += 1,
                (Kind::Audiobook, true) => l.audiobook_plays += 1,
            }
            l.skipped += u64::from(p.skipped == Some(true));
            l.incognito += u64::from(p.incognito == Some(true));
            if first_holder < u {
                l.known_streams += 1;
            } else {
                l.new_streams += 1;
            }
            l.last_end_ms = Some(l.last_end_ms.map_or(p.end_ms, |e| e.max(p.end_ms)));
            days[u].insert(day);
            for &v in members.iter().filter(|&&v| v != u) {
                also[u][v] += 1;
            }
            for &v in shadows.iter().filter(|&&v| v != u) {
                covered[u][v] += 1;
            }
        }
    }
    let mut seen: HashSet<i32> = HashSet::new();
    for (u, l) in out.iter_mut().enumerate() {
        l.days = days[u].len() as u64;
        l.new_days = days[u].iter().filter(|d| !seen.contains(d)).count() as u64;
        seen.extend(days[u].iter().copied());
        let list = |counts: &[u64]| -> Vec<Overlap> {
            let mut v: Vec<Overlap> = counts
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(i, c)| Overlap {
                    upload: uploads[i].to_string(),
                    streams: *c,
                })
                .collect();
            v.sort_by(|a, b| {
                b.streams
                    .cmp(&a.streams)
                    .then_with(|| a.upload.cmp(&b.upload))
            });
            v
        };
        l.also_in = list(&also[u]);
        l.covered_by = list(&covered[u]);
    }
    out
}

/// Days between two instants' local days (`later` − `earlier`), for the gap between an
/// export's last stream and the export's own date.
pub fn days_between(earlier_ms: i64, later_day: schema::aggregate::Day, settings: Settings) -> i64 {
    let d = schema::aggregate::local_day_hour(settings.tz, earlier_ms).0;
    i64::from(later_day.0) - i64::from(d.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use schema::{Source, Strings, Sym};

    #[test]
    fn every_stream_is_sorted_into_one_kind_and_known_streams_and_days_follow_upload_order() {
        let mut s = Strings::default();
        let mut at = |end_ms: i64, ms: u64, kind: Kind, title: &str| {
            Play::bare(
                end_ms,
                ms,
                kind,
                Source::Extended,
                [s.intern(title), s.intern("Ada"), Sym::NONE],
            )
        };
        const DAY: i64 = 86_400_000;
        let mut skipped = at(DAY + 1, 10_000, Kind::Track, "Skip");
        skipped.skipped = Some(true);
        let mut private = at(2 * DAY + 1, 60_000, Kind::Track, "Private");
        private.incognito = Some(true);
        let plays = vec![
            at(1, 60_000, Kind::Track, "Song"),             // a and b, day 0
            skipped,                                        // a only, day 1
            private,                                        // b only, day 2
            at(2 * DAY + 2, 60_000, Kind::Episode, "Ep"),   // b only, day 2
            at(3 * DAY, 60_000, Kind::Unknown, ""),         // b, covered by c, day 3
            at(3 * DAY + 5, 40_000, Kind::Audiobook, "Ch"), // c, day 3
        ];
        let regions = vec![
            "a,b".to_string(),
            "a".to_string(),
            "b".to_string(),
            "b|c".to_string(),
            "c".to_string(),
        ];
        let regions_of = vec![0, 1, 2, 2, 3, 4];
        let l = ledger(
            &plays,
            &regions,
            &regions_of,
            &["a", "b", "c"],
            Settings::default(),
        );
        let (a, b, c) = (&l[0], &l[1], &l[2]);
        assert_eq!(
            (
                a.streams,
                a.music_plays,
                a.short,
                a.skipped,
                a.new_streams,
                a.known_streams
            ),
            (2, 1, 1, 1, 2, 0)
        );
        assert_eq!((a.days, a.new_days), (2, 2));
        assert_eq!(
            a.also_in,
            vec![Overlap {
                upload: "b".into(),
                streams: 1
            }]
        );
        assert_eq!(
            (
                b.streams,
                b.music_plays,
                b.podcast_plays,
                b.without_metadata,
                b.incognito
            ),
            (4, 2, 1, 1, 1)
        );
        // Song was in a first; b's other streams are new, on two new days (2 and 3).
        assert_eq!(
            (b.new_streams, b.known_streams, b.days, b.new_days),
            (3, 1, 3, 2)
        );
        assert_eq!(
            b.covered_by,
            vec![Overlap {
                upload: "c".into(),
                streams: 1
            }]
        );
        assert_eq!(
            (c.streams, c.audiobook_plays, c.new_days, c.last_end_ms),
            (1, 1, 0, Some(3 * DAY + 5))
        );
        // Every stream in exactly one kind.
        for x in &l {
            assert_eq!(
                x.streams,
                x.music_plays + x.podcast_plays + x.audiobook_plays + x.short + x.without_metadata
            );
        }
    }
}
