//! Two periods side by side: their totals, the artists, tracks and albums that climbed, fell,
//! arrived and left, the hours of the week listened more and less, and a sentence that never
//! divides by a near-empty period.
//!
//! Both periods are [`Stats`] of the same selection, content kind and settings (built from the
//! streams that ended in each). Ranks are by listening time, as [`Stats::top`] orders them.

use std::collections::HashMap;

use schema::{Cell, Entity, EntityKind, RankBy, Stats, Strings};
use serde::Serialize;

use crate::overview::Totals;
use crate::panels::{HOURS, WEEKDAYS};

/// Entries per list of movers (climbed, fell, arrived, left).
pub const MOVERS: usize = 10;

/// How deep the rankings of the two periods are compared: an artist below this rank in both
/// neither climbs nor falls.
pub const RANKED: usize = 200;

/// A period's totals.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PeriodTotals {
    /// What it is called (`2024`, `2024-01-01 to 2024-03-31`).
    pub label: String,
    /// Everything in it.
    pub total: Totals,
    /// Local days with listening.
    pub days_listened: usize,
    /// Distinct artists.
    pub artists: usize,
    /// Distinct tracks.
    pub tracks: usize,
}

/// An artist, track or album in both periods.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Mover {
    /// Its name.
    pub name: String,
    /// The artist it belongs to (tracks, albums).
    #[schema(required = true)]
    pub by: Option<String>,
    /// Its rank by time in the first period (within [`RANKED`]).
    #[schema(required = true, minimum = 1)]
    pub rank_a: Option<usize>,
    /// Its rank in the second period.
    #[schema(required = true, minimum = 1)]
    pub rank_b: Option<usize>,
    /// Milliseconds listened in the first period.
    pub ms_a: u64,
    /// Milliseconds listened in the second period.
    pub ms_b: u64,
}

/// How one kind of entity moved from the second period to the first.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Movers {
    /// Ranked in both, higher in the first: most places gained first.
    #[schema(max_items = 10)]
    pub climbed: Vec<Mover>,
    /// Ranked in both, lower in the first: most places lost first.
    #[schema(max_items = 10)]
    pub fell: Vec<Mover>,
    /// Ranked in the first period and not heard at all in the second: most time first.
    #[schema(max_items = 10)]
    pub arrived: Vec<Mover>,
    /// Ranked in the second period and not heard at all in the first: most time first.
    #[schema(max_items = 10)]
    pub left: Vec<Mover>,
}

/// One hour of the week in both periods.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct SlotChange {
    /// Weekday (`Mon`…).
    pub weekday: &'static str,
    /// Local hour (`00`…`23`).
    pub hour: &'static str,
    /// Milliseconds in that hour of the week in the first period.
    pub ms_a: u64,
    /// The same in the second period.
    pub ms_b: u64,
}

/// Two periods compared.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Comparison {
    /// The first period (the one asked about).
    pub a: PeriodTotals,
    /// The second (what it is compared with).
    pub b: PeriodTotals,
    /// The change in words: a percentage only between two periods of ten hours or more each and a
    /// change of at most tenfold, else both amounts.
    pub summary: String,
    /// Artists.
    pub artists: Movers,
    /// Tracks.
    pub tracks: Movers,
    /// Albums.
    pub albums: Movers,
    /// `[weekday][hour]` milliseconds of the first period minus the second's.
    #[schema(value_type = Vec<Vec<i64>>, min_items = 7, max_items = 7)]
    pub ms_difference: [[i64; 24]; 7],
    /// The hours of the week with the most more time in the first period (up to 5).
    #[schema(max_items = 5)]
    pub more_at: Vec<SlotChange>,
    /// The hours of the week with the most less time in the first period (up to 5).
    #[schema(max_items = 5)]
    pub less_at: Vec<SlotChange>,
}

/// Listening below this is too little to take a percentage of: ten hours.
pub const REAL_PERIOD_MS: u64 = 10 * 3_600_000;

/// How much `a_ms` (listened in `a`) is against `b_ms` (in `b`), in words that stay sane when
/// either is nearly empty: a percentage only between two periods of real listening
/// ([`REAL_PERIOD_MS`] or more each) and a change of at most tenfold; otherwise the two
/// amounts side by side. `None` when `b` has no listening at all.
pub fn change_words(
    a: &str,
    a_ms: u64,
    b: &str,
    b_ms: u64,
    hours: impl Fn(u64) -> String,
) -> Option<String> {
    if b_ms == 0 {
        return None;
    }
    if b_ms < REAL_PERIOD_MS || a_ms < REAL_PERIOD_MS {
        return Some(format!(
            "{} in {a}, against {} in {b}.",
            hours(a_ms),
            hours(b_ms)
        ));
    }
    let ratio = a_ms as f64 / b_ms as f64;
    let pct = |x: f64| format!("{} %", (x * 100.0).round() as u64);
    let (now, then) = (hours(a_ms), hours(b_ms));
    Some(if ratio > 10.0 {
        format!(
            "{now} in {a}: {} times your listening of {b} ({then}).",
            ratio.round() as u64
        )
    } else if ratio >= 1.0 {
        format!("{now} in {a}: up {} from {b} ({then}).", pct(ratio - 1.0))
    } else {
        format!("{now} in {a}: down {} from {b} ({then}).", pct(1.0 - ratio))
    })
}

/// `a` and `b` compared; `labels` name them, `hours` writes a duration for the summary.
pub fn compare(
    a: &Stats,
    b: &Stats,
    strings: &Strings,
    labels: (&str, &str),
    hours: impl Fn(u64) -> String,
) -> Comparison {
    let totals = |s: &Stats, label: &str| PeriodTotals {
        label: label.to_string(),
        total: s.total.into(),
        days_listened: s.days_listened(),
        artists: s.distinct(EntityKind::Artist),
        tracks: s.distinct(EntityKind::Track),
    };
    let (ta, tb) = (totals(a, labels.0), totals(b, labels.1));
    let mut summary = match change_words(
        labels.0,
        ta.total.ms_played,
        labels.1,
        tb.total.ms_played,
        &hours,
    ) {
        Some(s) => s,
        None => format!(
            "{} in {}; nothing in {}.",
            hours(ta.total.ms_played),
            labels.0,
            labels.1
        ),
    };
    let top = |s: &Stats| s.top(EntityKind::Artist, RankBy::Time, None, strings, 1);
    if let (Some((ea, _)), Some((eb, _))) = (top(a).first(), top(b).first()) {
        let (na, nb) = (strings.get(ea.name), strings.get(eb.name));
        summary.push_str(&if ea == eb {
            format!(" Your top artist in both: {na}.")
        } else {
            format!(" Your top artist: {na} (in {}: {nb}).", labels.1)
        });
    }
    let mut ms_difference = [[0i64; 24]; 7];
    let mut slots = Vec::with_capacity(7 * 24);
    for w in 0..7 {
        for h in 0..24 {
            let (ma, mb) = (a.hour_weekday[w][h].ms, b.hour_weekday[w][h].ms);
            ms_difference[w][h] = ma as i64 - mb as i64;
            slots.push(SlotChange {
                weekday: WEEKDAYS[w],
                hour: HOURS[h],
                ms_a: ma,
                ms_b: mb,
            });
        }
    }
    let change = |s: &SlotChange| s.ms_a as i64 - s.ms_b as i64;
    let mut more: Vec<SlotChange> = slots.iter().filter(|s| change(s) > 0).cloned().collect();
    more.sort_by_key(|s| std::cmp::Reverse(change(s)));
    more.truncate(5);
    let mut less: Vec<SlotChange> = slots.into_iter().filter(|s| change(s) < 0).collect();
    less.sort_by_key(change);
    less.truncate(5);
    Comparison {
        summary,
        artists: movers(a, b, strings, EntityKind::Artist),
        tracks: movers(a, b, strings, EntityKind::Track),
        albums: movers(a, b, strings, EntityKind::Album),
        a: ta,
        b: tb,
        ms_difference,
        more_at: more,
        less_at: less,
    }
}

/// Every entity of `kind` in `s` with its time.
fn times(s: &Stats, kind: EntityKind) -> HashMap<Entity, u64> {
    let mut out: HashMap<Entity, u64> = HashMap::new();
    for ((_, e), c) in &s.monthly {
        if e.kind == kind {
            *out.entry(*e).or_default() += c.ms;
        }
    }
    out
}

/// Ranks (from 1) of the first [`RANKED`] entities of `kind` by time.
fn ranks(s: &Stats, strings: &Strings, kind: EntityKind) -> HashMap<Entity, usize> {
    s.top(kind, RankBy::Time, None, strings, RANKED)
        .into_iter()
        .enumerate()
        .map(|(i, (e, _)): (usize, (Entity, Cell))| (e, i + 1))
        .collect()
}

fn movers(a: &Stats, b: &Stats, strings: &Strings, kind: EntityKind) -> Movers {
    let (ta, tb) = (times(a, kind), times(b, kind));
    let (ra, rb) = (ranks(a, strings, kind), ranks(b, strings, kind));
    let mover = |e: &Entity| Mover {
        name: strings.get(e.name).to_string(),
        by: strings.opt(e.owner).map(str::to_string),
        rank_a: ra.get(e).copied(),
        rank_b: rb.get(e).copied(),
        ms_a: ta.get(e).copied().unwrap_or(0),
        ms_b: tb.get(e).copied().unwrap_or(0),
    };
    let by_name = |x: &Mover, y: &Mover| x.name.cmp(&y.name).then_with(|| x.by.cmp(&y.by));
    let mut climbed = Vec::new();
    let mut fell = Vec::new();
    for (e, &rank_a) in &ra {
        if let Some(&rank_b) = rb.get(e) {
            match rank_a.cmp(&rank_b) {
                std::cmp::Ordering::Less => climbed.push(mover(e)),
                std::cmp::Ordering::Greater => fell.push(mover(e)),
                std::cmp::Ordering::Equal => {}
            }
        }
    }
    let gained = |m: &Mover| m.rank_b.unwrap_or(0) as i64 - m.rank_a.unwrap_or(0) as i64;
    climbed.sort_by(|x, y| gained(y).cmp(&gained(x)).then_with(|| by_name(x, y)));
    fell.sort_by(|x, y| gained(x).cmp(&gained(y)).then_with(|| by_name(x, y)));
    let mut arrived: Vec<Mover> = ra
        .keys()
        .filter(|e| !tb.contains_key(e))
        .map(&mover)
        .collect();
    arrived.sort_by(|x, y| y.ms_a.cmp(&x.ms_a).then_with(|| by_name(x, y)));
    let mut left: Vec<Mover> = rb
        .keys()
        .filter(|e| !ta.contains_key(e))
        .map(&mover)
        .collect();
    left.sort_by(|x, y| y.ms_b.cmp(&x.ms_b).then_with(|| by_name(x, y)));
    for list in [&mut climbed, &mut fell, &mut arrived, &mut left] {
        list.truncate(MOVERS);
    }
    Movers {
        climbed,
        fell,
        arrived,
        left,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schema::{Country, Kind, Platform, Play, Settings, Source, Sym};

    fn play(s: &mut Strings, day: i64, hour: i64, minutes: u64, artist: &str, track: &str) -> Play {
        let mut p = Play::bare(
            day * 86_400_000 + hour * 3_600_000,
            minutes * 60_000,
            Kind::Track,
            Source::Extended,
            [s.intern(track), s.intern(artist), Sym::NONE],
        );
        p.platform = Platform::Phone;
        p.country = Country::UNKNOWN;
        p
    }

    fn hours(ms: u64) -> String {
        format!("{} h", ms / 3_600_000)
    }

    #[test]
    fn movers_climb_fall_arrive_and_leave_and_the_summary_stays_sane() {
        let mut s = Strings::default();
        // Day 0 is a Thursday (1970-01-01); the periods are days 0–6 and 7–13.
        let before = [
            play(&mut s, 0, 10, 60, "Ada", "a1"),
            play(&mut s, 1, 10, 50, "Bo", "b1"),
            play(&mut s, 2, 10, 40, "Cy", "c1"),
            play(&mut s, 3, 10, 30, "Gone", "g1"),
        ];
        let after = [
            play(&mut s, 7, 20, 90, "Cy", "c1"),
            play(&mut s, 8, 20, 50, "Bo", "b1"),
            play(&mut s, 9, 20, 10, "Ada", "a1"),
            play(&mut s, 10, 20, 70, "New", "n1"),
        ];
        let b = Stats::build(&before, Settings::default());
        let a = Stats::build(&after, Settings::default());
        let c = compare(&a, &b, &s, ("week 2", "week 1"), hours);
        let names = |l: &[Mover]| l.iter().map(|m| m.name.clone()).collect::<Vec<_>>();
        // Week 2 by time: Cy 1, New 2, Bo 3, Ada 4; week 1: Ada 1, Bo 2, Cy 3, Gone 4.
        assert_eq!(names(&c.artists.climbed), ["Cy"]);
        assert_eq!(c.artists.climbed[0].rank_a, Some(1));
        assert_eq!(c.artists.climbed[0].rank_b, Some(3));
        assert_eq!(
            names(&c.artists.fell),
            ["Ada", "Bo"],
            "three places lost, then one"
        );
        assert_eq!(names(&c.artists.arrived), ["New"]);
        assert_eq!(names(&c.artists.left), ["Gone"]);
        assert_eq!(c.a.total.ms_played, 220 * 60_000);
        assert_eq!(c.b.total.ms_played, 180 * 60_000);
        // Three hours against four: no percentage of a near-empty period.
        assert_eq!(
            c.summary,
            "3 h in week 2, against 3 h in week 1. Your top artist: Cy (in week 1: Ada)."
        );
        // A stream's time lies before its end: Thursday 09:00–10:00 lost its hour (day 0),
        // Thursday 18:30–20:00 (day 7) gained 90 minutes, 60 of them in the 19:00 hour.
        assert_eq!(c.ms_difference[3][9], -60 * 60_000);
        assert_eq!(c.ms_difference[3][18], 30 * 60_000);
        assert_eq!(c.ms_difference[3][19], 60 * 60_000);
        assert_eq!((c.more_at[0].weekday, c.more_at[0].hour), ("Thu", "19"));
        assert_eq!((c.less_at[0].weekday, c.less_at[0].hour), ("Thu", "09"));
    }

    #[test]
    fn percentages_only_between_real_periods() {
        let h = |n: u64| n * 3_600_000;
        let words = |a, b| change_words("2024", h(a), "2023", h(b), hours);
        assert_eq!(
            words(150, 100).as_deref(),
            Some("150 h in 2024: up 50 % from 2023 (100 h).")
        );
        assert_eq!(
            words(75, 100).as_deref(),
            Some("75 h in 2024: down 25 % from 2023 (100 h).")
        );
        assert_eq!(
            words(500, 20).as_deref(),
            Some("500 h in 2024: 25 times your listening of 2023 (20 h).")
        );
        assert_eq!(words(975, 0), None);
        assert_eq!(
            change_words("2024", h(975), "2023", 60_000, hours).as_deref(),
            Some("975 h in 2024, against 0 h in 2023.")
        );
    }
}
