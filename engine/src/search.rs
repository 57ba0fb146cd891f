//! Searching a person's own history: the artists, tracks, albums, podcasts and episodes whose
//! name holds the words asked for, each with its listening time, most listened first.
//!
//! A [`SearchIndex`] is built once per prepared selection (every entity of all time with its
//! totals, and each name once in lower case); a query is then one pass over the entities'
//! lower-cased names, with no allocation per entity.

use std::collections::HashMap;

use schema::{Entity, EntityKind, Stats, Strings, Sym};
use serde::Serialize;

/// Hits listed per kind.
pub const HITS_PER_KIND: usize = 10;

/// The longest query taken, in characters (longer ones are cut).
pub const MAX_QUERY_CHARS: usize = 100;

/// One thing found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct SearchHit {
    /// `artist`, `track`, `album`, `show` or `episode`.
    #[schema(value_type = HitKind)]
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// The artist or show it belongs to (tracks, albums, episodes).
    #[schema(required = true)]
    pub by: Option<String>,
    /// Milliseconds listened, all time.
    pub ms_played: u64,
    /// Plays, all time.
    pub plays: u64,
}

crate::names! {
    /// What a search hit is.
    HitKind: ["artist", "track", "album", "show", "episode"]
}

/// What a query found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct SearchResults {
    /// The query as searched (trimmed, cut to [`MAX_QUERY_CHARS`]).
    #[schema(max_length = 100)]
    pub query: String,
    /// Up to [`HITS_PER_KIND`] hits of each kind, artists first, then tracks, albums,
    /// podcasts and episodes; most listened first within a kind.
    #[schema(max_items = 50)]
    pub hits: Vec<SearchHit>,
    /// How many matched in all (before the cut per kind).
    pub total: usize,
}

/// Every searchable entity of a selection with its all-time totals, and every name once in
/// lower case.
#[derive(Debug)]
pub struct SearchIndex {
    /// Entity, time, plays, index of its name in `names`; most listened first.
    entries: Vec<(Entity, u64, u64, u32)>,
    /// Each name once, lower-cased: a query tests each name once, however many entities
    /// share it (an artist and their self-titled album).
    names: Vec<String>,
}

const KINDS: [(EntityKind, &str); 5] = [
    (EntityKind::Artist, "artist"),
    (EntityKind::Track, "track"),
    (EntityKind::Album, "album"),
    (EntityKind::Show, "show"),
    (EntityKind::Episode, "episode"),
];

impl SearchIndex {
    /// The index of `all` (the selection's stats of all time) on `strings`.
    pub fn new(all: &Stats, strings: &Strings) -> SearchIndex {
        let mut totals: HashMap<Entity, (u64, u64)> = HashMap::new();
        for ((_, e), c) in &all.monthly {
            if KINDS.iter().any(|(k, _)| *k == e.kind) {
                let t = totals.entry(*e).or_default();
                t.0 += c.ms;
                t.1 += c.plays;
            }
        }
        let mut slot: HashMap<Sym, u32> = HashMap::new();
        let mut names: Vec<String> = Vec::new();
        let mut entries: Vec<(Entity, u64, u64, u32)> = totals
            .into_iter()
            .map(|(e, (ms, n))| {
                let i = *slot.entry(e.name).or_insert_with(|| {
                    names.push(strings.get(e.name).to_lowercase());
                    (names.len() - 1) as u32
                });
                (e, ms, n, i)
            })
            .collect();
        // Most listened first, so that a query keeps the first hits of each kind it meets.
        entries.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then_with(|| strings.get(a.0.name).cmp(strings.get(b.0.name)))
                .then_with(|| strings.get(a.0.owner).cmp(strings.get(b.0.owner)))
        });
        SearchIndex { entries, names }
    }

    /// What `query` finds: names holding every word of it (case-insensitive), in any order.
    pub fn search(&self, query: &str, strings: &Strings) -> SearchResults {
        let query: String = query.trim().chars().take(MAX_QUERY_CHARS).collect();
        let words: Vec<String> = query
            .to_lowercase()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let mut hits: Vec<SearchHit> = Vec::new();
        let mut per_kind = [0usize; KINDS.len()];
        let mut total = 0;
        if !words.is_empty() {
            let matched: Vec<bool> = self
                .names
                .iter()
                .map(|name| words.iter().all(|w| name.contains(w.as_str())))
                .collect();
            for (e, ms, plays, name) in &self.entries {
                if !matched[*name as usize] {
                    continue;
                }
                total += 1;
                let k = KINDS.iter().position(|(k, _)| *k == e.kind).unwrap_or(0);
                if per_kind[k] < HITS_PER_KIND {
                    per_kind[k] += 1;
                    hits.push(SearchHit {
                        kind: KINDS[k].1,
                        name: strings.get(e.name).to_string(),
                        by: strings.opt(e.owner).map(str::to_string),
                        ms_played: *ms,
                        plays: *plays,
                    });
                }
            }
        }
        let order = |h: &SearchHit| KINDS.iter().position(|(_, n)| *n == h.kind);
        hits.sort_by_key(order);
        SearchResults { query, hits, total }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schema::{Country, Kind, Platform, Play, Settings, Source};

    fn track(
        s: &mut Strings,
        at: i64,
        minutes: u64,
        artist: &str,
        title: &str,
        album: &str,
    ) -> Play {
        let mut p = Play::bare(
            at * 3_600_000,
            minutes * 60_000,
            Kind::Track,
            Source::Extended,
            [s.intern(title), s.intern(artist), s.intern(album)],
        );
        p.platform = Platform::Phone;
        p.country = Country::UNKNOWN;
        p
    }

    #[test]
    fn every_word_matches_any_case_most_listened_first_by_kind() {
        let mut s = Strings::default();
        let plays = vec![
            track(&mut s, 1, 10, "Daft Punk", "One More Time", "Discovery"),
            track(&mut s, 2, 30, "Daft Punk", "Digital Love", "Discovery"),
            track(&mut s, 3, 5, "Punkish", "Time Again", "Punk Times"),
            track(&mut s, 4, 50, "Other", "Love Song", "Songs"),
        ];
        let all = Stats::build(&plays, Settings::default());
        let index = SearchIndex::new(&all, &s);
        let r = index.search("  PUNK ", &s);
        let found: Vec<(&str, &str)> = r.hits.iter().map(|h| (h.kind, h.name.as_str())).collect();
        assert_eq!(
            found,
            [
                ("artist", "Daft Punk"),
                ("artist", "Punkish"),
                ("album", "Punk Times")
            ]
        );
        assert_eq!(r.query, "PUNK");
        assert_eq!(r.hits[0].ms_played, 40 * 60_000, "all of the artist's time");
        let r = index.search("time one", &s);
        assert_eq!(r.hits.len(), 1, "every word, in any order");
        assert_eq!(r.hits[0].by.as_deref(), Some("Daft Punk"));
        let love = index.search("love", &s);
        let names: Vec<&str> = love.hits.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["Love Song", "Digital Love"], "most listened first");
        assert_eq!(index.search("   ", &s).hits, []);
        assert_eq!(index.search("zzz", &s).total, 0);
    }
}
