//! Listening time without double counting across devices: streams whose intervals
//! (`ts − ms_played` to `ts`) overlap, how much time overlaps, when and on which devices, and
//! the listening time with every overlap counted once (so that no hour holds more than 60
//! minutes). A phone left playing while the laptop plays too counts twice in a plain sum.

use std::collections::BTreeMap;

use schema::aggregate::{Month, split_by_local_hour};
use schema::time::format_rfc3339;
use schema::{Platform, Play, Settings};
use serde::Serialize;

use crate::panels::{HOURS, WEEKDAYS};

/// Episodes of listening on two devices at once listed, longest first.
pub const EPISODES: usize = 10;

/// Time two device families played at once.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct DevicePair {
    /// One device family.
    pub a: &'static str,
    /// The other.
    pub b: &'static str,
    /// Milliseconds both played.
    pub ms: u64,
}

/// One month, summed and counted once.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct OverlapMonth {
    /// `YYYY-MM` (local).
    pub month: String,
    /// The sum of the streams' time in it.
    pub ms_played: u64,
    /// The time anything played in it.
    pub counted_once_ms: u64,
}

/// A stretch of time with streams on two or more device families at once.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct OverlapEpisode {
    /// Its start (RFC 3339 UTC).
    #[schema(format = DateTime)]
    pub start: String,
    /// Its end.
    #[schema(format = DateTime)]
    pub end: String,
    /// Milliseconds.
    pub ms: u64,
    /// The device families that played.
    #[schema(value_type = Vec<String>)]
    pub devices: Vec<&'static str>,
}

/// The overlaps of a range.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Overlaps {
    /// The sum of the streams' time (what every other view shows).
    pub ms_played: u64,
    /// The time anything played: overlaps counted once.
    pub counted_once_ms: u64,
    /// Time two or more streams played at once, on any devices (`ms_played −
    /// counted_once_ms`).
    pub overlap_ms: u64,
    /// Time streams on two or more device families played at once.
    pub across_devices_ms: u64,
    /// Time per pair of device families, most first.
    pub pairs: Vec<DevicePair>,
    /// Every month of the range with listening.
    pub months: Vec<OverlapMonth>,
    /// `[weekday][hour]` milliseconds counted once (at most an hour a week of each cell).
    #[schema(value_type = Vec<Vec<i64>>, min_items = 7, max_items = 7)]
    pub counted_once_by_hour: [[u64; 24]; 7],
    /// Weekday labels (rows), Monday first.
    #[schema(value_type = Vec<String>, min_items = 7, max_items = 7)]
    pub weekdays: [&'static str; 7],
    /// Hour labels (columns).
    #[schema(value_type = Vec<String>, min_items = 24, max_items = 24)]
    pub hours: [&'static str; 24],
    /// The longest stretches on two or more devices at once.
    #[schema(max_items = 10)]
    pub episodes: Vec<OverlapEpisode>,
}

/// The overlaps of `range` (any order) in `settings`' time zone.
pub fn overlaps(range: &[Play], settings: Settings) -> Overlaps {
    const N: usize = Platform::ALL.len();
    let index = |p: Platform| Platform::ALL.iter().position(|x| *x == p).unwrap_or(N - 1);
    // +1 at a stream's start, −1 at its end, per device family; ends sort before starts at
    // the same instant, so streams back to back do not overlap.
    let mut events: Vec<(i64, i8, usize)> = Vec::with_capacity(range.len() * 2);
    let mut months: BTreeMap<Month, (u64, u64)> = BTreeMap::new();
    let mut ms_played = 0;
    for p in range.iter().filter(|p| p.ms_played > 0) {
        ms_played += p.ms_played;
        events.push((p.start_ms(), 1, index(p.platform)));
        events.push((p.end_ms, -1, index(p.platform)));
        split_by_local_hour(settings.tz, p.start_ms(), p.end_ms, |day, _, ms| {
            months.entry(day.month()).or_default().0 += ms;
        });
    }
    events.sort_unstable_by_key(|&(t, d, i)| (t, d, i));
    let mut active = [0u32; N];
    let mut pairs = [[0u64; N]; N];
    let mut by_hour = [[0u64; 24]; 7];
    let (mut counted_once, mut across) = (0u64, 0u64);
    let mut episodes: Vec<(i64, i64, [bool; N])> = Vec::new();
    let mut open: Option<(i64, i64, [bool; N])> = None;
    let mut last = None;
    for &(t, delta, device) in &events {
        if let Some(from) = last.filter(|&from| t > from) {
            let devices: Vec<usize> = (0..N).filter(|&i| active[i] > 0).collect();
            if !devices.is_empty() {
                counted_once += (t - from) as u64;
                split_by_local_hour(settings.tz, from, t, |day, hour, ms| {
                    by_hour[day.weekday()][hour] += ms;
                    months.entry(day.month()).or_default().1 += ms;
                });
            }
            if devices.len() >= 2 {
                across += (t - from) as u64;
                for (x, &i) in devices.iter().enumerate() {
                    for &j in &devices[x + 1..] {
                        pairs[i][j] += (t - from) as u64;
                    }
                }
                // One episode while two or more devices play without a break.
                match &mut open {
                    Some((_, end, seen)) if *end == from => {
                        *end = t;
                        devices.iter().for_each(|&i| seen[i] = true);
                    }
                    _ => {
                        episodes.extend(open.take());
                        let mut seen = [false; N];
                        devices.iter().for_each(|&i| seen[i] = true);
                        open = Some((from, t, seen));
                    }
                }
            }
        }
        active[device] = active[device].saturating_add_signed(i32::from(delta));
        last = Some(t);
    }
    episodes.extend(open);
    episodes.sort_by_key(|&(start, end, _)| (std::cmp::Reverse(end - start), start));
    episodes.truncate(EPISODES);
    let mut pair_list: Vec<DevicePair> = Vec::new();
    for (i, row) in pairs.iter().enumerate() {
        for (j, &ms) in row.iter().enumerate().skip(i + 1) {
            if ms > 0 {
                pair_list.push(DevicePair {
                    a: Platform::ALL[i].label(),
                    b: Platform::ALL[j].label(),
                    ms,
                });
            }
        }
    }
    pair_list.sort_by(|x, y| y.ms.cmp(&x.ms).then_with(|| (x.a, x.b).cmp(&(y.a, y.b))));
    Overlaps {
        ms_played,
        counted_once_ms: counted_once,
        overlap_ms: ms_played.saturating_sub(counted_once),
        across_devices_ms: across,
        pairs: pair_list,
        months: months
            .into_iter()
            .map(|(m, (sum, once))| OverlapMonth {
                month: m.label(),
                ms_played: sum,
                counted_once_ms: once,
            })
            .collect(),
        counted_once_by_hour: by_hour,
        weekdays: WEEKDAYS,
        hours: HOURS,
        episodes: episodes
            .into_iter()
            .map(|(start, end, seen)| OverlapEpisode {
                start: format_rfc3339(start),
                end: format_rfc3339(end),
                ms: (end - start) as u64,
                devices: (0..N)
                    .filter(|&i| seen[i])
                    .map(|i| Platform::ALL[i].label())
                    .collect(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schema::{Country, Kind, Source, Strings, Sym};

    fn play(s: &mut Strings, end_min: i64, minutes: u64, platform: Platform) -> Play {
        let mut p = Play::bare(
            end_min * 60_000,
            minutes * 60_000,
            Kind::Track,
            Source::Extended,
            [s.intern("t"), s.intern("a"), Sym::NONE],
        );
        p.platform = platform;
        p.country = Country::UNKNOWN;
        p
    }

    #[test]
    fn overlapping_streams_count_once_and_are_told_by_device() {
        let mut s = Strings::default();
        let min = 60_000;
        let plays = [
            // 00:00–01:00 on the phone and 00:30–01:30 on the computer: 30 minutes twice.
            play(&mut s, 60, 60, Platform::Phone),
            play(&mut s, 90, 60, Platform::Desktop),
            // 02:00–02:10 then 02:10–02:20 on the phone: back to back, no overlap.
            play(&mut s, 130, 10, Platform::Phone),
            play(&mut s, 140, 10, Platform::Phone),
        ];
        let o = overlaps(&plays, Settings::default());
        assert_eq!(o.ms_played, 140 * min);
        assert_eq!(o.counted_once_ms, 110 * min);
        assert_eq!(o.overlap_ms, 30 * min);
        assert_eq!(o.across_devices_ms, 30 * min);
        assert_eq!(o.pairs.len(), 1);
        assert_eq!(o.pairs[0].ms, 30 * min);
        assert_eq!(o.episodes.len(), 1);
        assert_eq!(o.episodes[0].start, "1970-01-01T00:30:00Z");
        assert_eq!(o.episodes[0].ms, 30 * min);
        assert_eq!(o.episodes[0].devices.len(), 2);
        // 1970-01-01 is a Thursday: its 00:00 hour holds 60 minutes, never 90.
        assert_eq!(o.counted_once_by_hour[3][0], 60 * min);
        assert_eq!(o.counted_once_by_hour[3][1], 30 * min);
        assert!(
            o.counted_once_by_hour
                .iter()
                .flatten()
                .all(|&ms| ms <= 60 * min)
        );
        assert_eq!(o.months.len(), 1);
        assert_eq!(
            (o.months[0].ms_played, o.months[0].counted_once_ms),
            (140 * min, 110 * min)
        );
    }
}
