//! Skip anatomy: where in a track you skip, when and on what you skip most, the tracks you
//! play and skip a lot, and how much of your listening you chose yourself. Peers that drop
//! skipped and short streams cannot tell any of this; the export keeps every stream.
//!
//! A skip is a stream the export marks `skipped` (as everywhere in Backspin). A track's
//! length is estimated from its own streams that played to their end (`reason_end` of
//! `trackdone`): the longest of them. Where a skip fell is its time played over that length.

use std::collections::HashMap;

use schema::{Kind, Platform, Play, Settings, Strings, Sym};
use serde::Serialize;

use crate::panels::HOURS;

/// Tracks listed as played and skipped a lot.
pub const LOVE_HATE: usize = 10;

/// A track needs this many plays and this many skips to be "played and skipped a lot".
pub const LOVE_HATE_MIN: u64 = 3;

/// Streams, skips and their rate for one group.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Rate {
    /// What the group is (`on`, `off`, an hour, a device family).
    pub label: String,
    /// Music streams.
    pub streams: u64,
    /// Of them skipped.
    pub skips: u64,
    /// `skips / streams`; `None` without streams.
    #[schema(required = true, minimum = 0, maximum = 1)]
    pub rate: Option<f64>,
}

/// A track played and skipped a lot.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct LoveHate {
    /// Title.
    pub name: String,
    /// Artist.
    #[schema(required = true)]
    pub by: Option<String>,
    /// Streams of at least the play threshold.
    pub plays: u64,
    /// Streams skipped.
    pub skips: u64,
}

/// Listening by how a stream began.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Origin {
    /// `chosen` (picked in a list, the play or back button, a link), `continued` (the queue
    /// went on after a track ended or was skipped), `resumed` (the app or another device
    /// resumed it) or `unknown` (not recorded, or a code not listed).
    #[schema(value_type = StreamOrigin)]
    pub label: &'static str,
    /// Streams.
    pub streams: u64,
    /// Milliseconds listened.
    pub ms_played: u64,
    /// Share of the time; `None` without listening.
    #[schema(required = true, minimum = 0, maximum = 1)]
    pub share: Option<f64>,
}

crate::names! {
    /// How a stream began.
    StreamOrigin: ["chosen", "continued", "resumed", "unknown"]
}

/// The anatomy of a range's skips (music only).
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct SkipAnatomy {
    /// Music streams in the range.
    pub streams: u64,
    /// Of them skipped.
    pub skips: u64,
    /// Skips whose track's length is known (a stream of it played to its end, any time).
    pub placed: u64,
    /// Skips by where in the track they fell: ten buckets, `0–10 %` … `90–100 %` of its
    /// length (a skip past the estimated end counts in the last).
    #[schema(min_items = 10, max_items = 10)]
    pub position: [u64; 10],
    /// Shuffle on, shuffle off (streams where it was recorded).
    pub shuffle: Vec<Rate>,
    /// Every local hour of the stream's end.
    pub by_hour: Vec<Rate>,
    /// Device families with streams, highest rate first.
    pub by_device: Vec<Rate>,
    /// Tracks with at least [`LOVE_HATE_MIN`] plays and as many skips, the most of both first.
    #[schema(max_items = 10)]
    pub love_hate: Vec<LoveHate>,
    /// Listening by how it began: chosen, continued, resumed, unknown.
    pub origins: Vec<Origin>,
}

fn rate(label: String, streams: u64, skips: u64) -> Rate {
    Rate {
        label,
        streams,
        skips,
        rate: (streams > 0).then(|| skips as f64 / streams as f64),
    }
}

/// How a `reason_start` code began a stream.
fn origin(code: &str) -> usize {
    match code {
        "clickrow" | "clickside" | "playbtn" | "uriopen" | "popup" | "backbtn" => 0,
        "trackdone" | "fwdbtn" => 1,
        "appload" | "remote" | "persisted" => 2,
        _ => 3,
    }
}

/// The anatomy of the music streams of `range`, track lengths estimated from `all` (the same
/// selection over all time).
pub fn skip_anatomy(
    range: &[Play],
    all: &[Play],
    strings: &Strings,
    settings: Settings,
) -> SkipAnatomy {
    let done = strings.lookup("trackdone");
    let mut length: HashMap<(Sym, Sym), u64> = HashMap::new();
    for p in all.iter().filter(|p| p.kind == Kind::Track) {
        if done.is_some_and(|d| p.reason_end == d) {
            let l = length.entry((p.creator, p.title)).or_default();
            *l = (*l).max(p.ms_played);
        }
    }
    let mut a = SkipAnatomy {
        streams: 0,
        skips: 0,
        placed: 0,
        position: [0; 10],
        shuffle: Vec::new(),
        by_hour: Vec::new(),
        by_device: Vec::new(),
        love_hate: Vec::new(),
        origins: Vec::new(),
    };
    let mut shuffle = [(0u64, 0u64); 2];
    let mut hours = [(0u64, 0u64); 24];
    let mut devices: HashMap<Platform, (u64, u64)> = HashMap::new();
    let mut tracks: HashMap<(Sym, Sym), (u64, u64)> = HashMap::new();
    let mut origins = [(0u64, 0u64); 4];
    for p in range.iter().filter(|p| p.kind == Kind::Track) {
        let skipped = p.skipped == Some(true);
        let s = u64::from(skipped);
        a.streams += 1;
        a.skips += s;
        if skipped && let Some(&len) = length.get(&(p.creator, p.title)).filter(|l| **l > 0) {
            a.placed += 1;
            let bucket = (p.ms_played.saturating_mul(10) / len).min(9) as usize;
            a.position[bucket] += 1;
        }
        if let Some(on) = p.shuffle {
            let g = &mut shuffle[usize::from(!on)];
            g.0 += 1;
            g.1 += s;
        }
        let (_, hour) = schema::aggregate::local_day_hour(settings.tz, p.end_ms);
        hours[hour].0 += 1;
        hours[hour].1 += s;
        let d = devices.entry(p.platform).or_default();
        d.0 += 1;
        d.1 += s;
        let t = tracks.entry((p.creator, p.title)).or_default();
        t.0 += u64::from(p.ms_played >= settings.min_play_ms);
        t.1 += s;
        let o = &mut origins[origin(strings.opt(p.reason_start).unwrap_or(""))];
        o.0 += 1;
        o.1 += p.ms_played;
    }
    a.shuffle = vec![
        rate("on".into(), shuffle[0].0, shuffle[0].1),
        rate("off".into(), shuffle[1].0, shuffle[1].1),
    ];
    a.by_hour = (0..24)
        .map(|h| rate(HOURS[h].to_string(), hours[h].0, hours[h].1))
        .collect();
    let mut by_device: Vec<Rate> = Platform::ALL
        .iter()
        .filter_map(|p| {
            devices
                .get(p)
                .map(|&(n, s)| rate(p.label().to_string(), n, s))
        })
        .collect();
    by_device.sort_by(|x, y| {
        y.rate
            .unwrap_or(0.0)
            .total_cmp(&x.rate.unwrap_or(0.0))
            .then_with(|| x.label.cmp(&y.label))
    });
    a.by_device = by_device;
    let mut love_hate: Vec<LoveHate> = tracks
        .into_iter()
        .filter(|(_, (plays, skips))| *plays >= LOVE_HATE_MIN && *skips >= LOVE_HATE_MIN)
        .map(|((creator, title), (plays, skips))| LoveHate {
            name: strings.get(title).to_string(),
            by: strings.opt(creator).map(str::to_string),
            plays,
            skips,
        })
        .collect();
    love_hate.sort_by(|x, y| {
        (y.plays.min(y.skips), y.plays + y.skips)
            .cmp(&(x.plays.min(x.skips), x.plays + x.skips))
            .then_with(|| x.name.cmp(&y.name))
            .then_with(|| x.by.cmp(&y.by))
    });
    love_hate.truncate(LOVE_HATE);
    a.love_hate = love_hate;
    let total_ms: u64 = origins.iter().map(|o| o.1).sum();
    a.origins = ["chosen", "continued", "resumed", "unknown"]
        .iter()
        .zip(origins)
        .map(|(label, (streams, ms))| Origin {
            label,
            streams,
            ms_played: ms,
            share: (total_ms > 0).then(|| ms as f64 / total_ms as f64),
        })
        .collect();
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use schema::{Country, Source};

    #[allow(clippy::too_many_arguments)]
    fn play(
        s: &mut Strings,
        minute: i64,
        ms: u64,
        title: &str,
        start: &str,
        end: &str,
        skipped: bool,
        shuffle: bool,
    ) -> Play {
        let mut p = Play::bare(
            minute * 60_000,
            ms,
            Kind::Track,
            Source::Extended,
            [s.intern(title), s.intern("Ada"), Sym::NONE],
        );
        p.reason_start = s.intern(start);
        p.reason_end = s.intern(end);
        p.skipped = Some(skipped);
        p.shuffle = Some(shuffle);
        p.platform = Platform::Phone;
        p.country = Country::UNKNOWN;
        p
    }

    #[test]
    fn skips_are_placed_in_the_track_and_counted_by_group() {
        let mut s = Strings::default();
        let plays = vec![
            // "Song" is 200 s long (played to its end once).
            play(
                &mut s,
                10,
                200_000,
                "Song",
                "clickrow",
                "trackdone",
                false,
                false,
            ),
            // Skipped at 30 s (15 %) and at 190 s (95 %).
            play(
                &mut s,
                20,
                30_000,
                "Song",
                "trackdone",
                "fwdbtn",
                true,
                true,
            ),
            play(&mut s, 30, 190_000, "Song", "fwdbtn", "fwdbtn", true, true),
            // "Other" never played to its end: its skip cannot be placed.
            play(
                &mut s, 40, 10_000, "Other", "appload", "fwdbtn", true, false,
            ),
        ];
        let a = skip_anatomy(&plays, &plays, &s, Settings::default());
        assert_eq!((a.streams, a.skips, a.placed), (4, 3, 2));
        assert_eq!(a.position[1], 1, "15 % of the track");
        assert_eq!(a.position[9], 1, "95 %");
        assert_eq!(a.shuffle[0].rate, Some(1.0), "shuffle on: 2 of 2 skipped");
        assert_eq!(a.shuffle[1].rate, Some(0.5), "shuffle off: 1 of 2");
        assert_eq!(a.by_hour[0].streams, 4);
        let origins: Vec<(&str, u64)> = a.origins.iter().map(|o| (o.label, o.streams)).collect();
        assert_eq!(
            origins,
            [
                ("chosen", 1),
                ("continued", 2),
                ("resumed", 1),
                ("unknown", 0)
            ]
        );
        assert_eq!(a.origins[0].ms_played, 200_000);
        assert!(a.love_hate.is_empty(), "not enough of either");

        // Played and skipped a lot: three more full plays, three more skips (of 20 s: not
        // plays). "Song": 6 plays (30 s counts), 5 skips.
        let mut many = plays.clone();
        for i in 0..3 {
            many.push(play(
                &mut s,
                100 + i,
                200_000,
                "Song",
                "clickrow",
                "trackdone",
                false,
                false,
            ));
            many.push(play(
                &mut s,
                200 + i,
                20_000,
                "Song",
                "trackdone",
                "fwdbtn",
                true,
                false,
            ));
        }
        let a = skip_anatomy(&many, &many, &s, Settings::default());
        assert_eq!(a.love_hate.len(), 1);
        assert_eq!((a.love_hate[0].plays, a.love_hate[0].skips), (6, 5));
    }
}
