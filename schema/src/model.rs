//! The normalised play model every format is read into.
//!
//! A [`Play`] is one stream: what was played, when it ended, for how long, and the few facts
//! about the circumstances the dashboards use. Names are interned in a [`Strings`] table and
//! referred to by [`Sym`], which keeps a lifetime of plays compact (a play is 56 bytes) and
//! makes grouping and deduplication integer work. IP addresses, user agents, usernames,
//! device identifiers and geo fields of the export are never read into this model.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::time::EpochMs;

/// An interned string; [`Sym::NONE`] stands for a missing value (JSON `null` or absent key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Sym(pub u32);

impl Sym {
    /// No value.
    pub const NONE: Sym = Sym(0);

    /// Whether this refers to a value.
    pub fn is_some(self) -> bool {
        self != Sym::NONE
    }
}

/// An append-only string interner. Index 0 is reserved for "no value".
///
/// The names lie back to back in one buffer, and the index holds only each name's symbol
/// (4 bytes): a lifetime's 100,000-odd names make an index of about a megabyte, and the names
/// themselves a few megabytes in the order they were first seen, with no allocation per name.
/// (An index of `Arc<str>` keys was six times the size and every name its own allocation;
/// interning was a fifth of `backspin inspect`'s time, mostly waiting on memory: see
/// BENCHMARKS.md.) The index hashes with foldhash, seeded per table like std's SipHash but
/// several times faster on short names.
#[derive(Clone)]
pub struct Strings {
    /// Every name, back to back.
    text: String,
    /// Symbol `i` is `text[bounds[i]..bounds[i + 1]]`; symbol 0 is empty.
    bounds: Vec<usize>,
    index: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
    /// Names found lately, for [`Strings::recall`]; empty until it is first called.
    recent: Vec<Recent>,
}

/// A name [`Strings::recall`] found, in a direct-mapped cache indexed by its hash.
#[derive(Debug, Clone, Copy, Default)]
struct Recent {
    hash: u64,
    start: usize,
    len: usize,
    /// 0 for an empty entry.
    sym: u32,
}

/// Entries of the cache of [`Strings::recall`]: 128 KiB, which stays in the processor's cache
/// beside the piece of JSON being read.
const RECENT: usize = 4096;

impl Default for Strings {
    fn default() -> Self {
        Strings {
            text: String::new(),
            bounds: vec![0, 0],
            index: HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
            recent: Vec::new(),
        }
    }
}

impl std::fmt::Debug for Strings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries((1..self.bounds.len() - 1).map(|i| self.get(Sym(i as u32))))
            .finish()
    }
}

impl Strings {
    /// An empty table with room for `names` names like those of `like` (its text's length
    /// for theirs): a table built from another grows no more.
    pub(crate) fn with_room_for(names: usize, like: &Strings) -> Strings {
        Strings::with_capacity(names, like.text.len())
    }

    /// An empty table with room for `names` names of `text` bytes in all.
    pub(crate) fn with_capacity(names: usize, text: usize) -> Strings {
        let mut bounds = Vec::with_capacity(names + 2);
        bounds.extend([0, 0]);
        Strings {
            text: String::with_capacity(text),
            bounds,
            index: HashTable::with_capacity(names),
            ..Strings::default()
        }
    }

    /// The symbol for `s`, adding it when new.
    pub fn intern(&mut self, s: &str) -> Sym {
        let hash = self.hasher.hash_one(s);
        match self.find(hash, s) {
            Some(sym) => sym,
            None => self.insert(hash, s),
        }
    }

    /// Adds a string that is not in the table yet (else it would get a second symbol).
    pub(crate) fn add(&mut self, s: &str) -> Sym {
        self.insert(self.hasher.hash_one(s), s)
    }

    /// The symbol for `s` if it was interned.
    pub fn lookup(&self, s: &str) -> Option<Sym> {
        self.find(self.hasher.hash_one(s), s)
    }

    /// [`Strings::lookup`] for a reader of many names, most of them seen shortly before.
    ///
    /// A lifetime of listening repeats the same few thousand artists, albums and tracks in any
    /// stretch of time: two thirds of a history's names were among the last 4,096 looked up.
    /// Those are found here in one entry of a small cache and their text, where the index
    /// takes three reads far apart in memory (its control bytes and slot, the name's bounds,
    /// the text).
    pub(crate) fn recall(&mut self, s: &str) -> Option<Sym> {
        let hash = self.hasher.hash_one(s);
        if self.recent.is_empty() {
            self.recent = vec![Recent::default(); RECENT];
        }
        let at = (hash >> 32) as usize % RECENT;
        let r = self.recent[at];
        if r.sym != 0
            && r.hash == hash
            && r.len == s.len()
            && &self.text.as_bytes()[r.start..r.start + r.len] == s.as_bytes()
        {
            return Some(Sym(r.sym));
        }
        let sym = self.find(hash, s)?;
        self.remember(hash, sym);
        Some(sym)
    }

    fn remember(&mut self, hash: u64, sym: Sym) {
        let i = sym.0 as usize;
        if let Some(r) = self.recent.get_mut((hash >> 32) as usize % RECENT) {
            *r = Recent {
                hash,
                start: self.bounds[i],
                len: self.bounds[i + 1] - self.bounds[i],
                sym: sym.0,
            };
        }
    }

    fn find(&self, hash: u64, s: &str) -> Option<Sym> {
        let (text, bounds) = (&self.text, &self.bounds);
        self.index
            .find(hash, |&sym| slice(text, bounds, sym) == s)
            .map(|&sym| Sym(sym))
    }

    fn insert(&mut self, hash: u64, s: &str) -> Sym {
        let sym =
            u32::try_from(self.bounds.len() - 1).expect("fewer than 4 billion distinct names");
        self.text.push_str(s);
        self.bounds.push(self.text.len());
        let (text, bounds, hasher) = (&self.text, &self.bounds, &self.hasher);
        self.index
            .insert_unique(hash, sym, |&sym| hasher.hash_one(slice(text, bounds, sym)));
        self.remember(hash, Sym(sym));
        Sym(sym)
    }

    /// The text of a symbol; `""` for [`Sym::NONE`].
    pub fn get(&self, sym: Sym) -> &str {
        slice(&self.text, &self.bounds, sym.0)
    }

    /// The text of a symbol, `None` for [`Sym::NONE`].
    pub fn opt(&self, sym: Sym) -> Option<&str> {
        sym.is_some().then(|| self.get(sym))
    }

    /// Number of distinct strings (without the reserved "no value").
    pub fn len(&self) -> usize {
        self.bounds.len() - 2
    }

    /// About how many bytes the table holds (names, bounds, index).
    pub fn bytes(&self) -> usize {
        self.text.capacity()
            + self.bounds.capacity() * std::mem::size_of::<usize>()
            + self.index.capacity() * 5
            + self.recent.capacity() * std::mem::size_of::<Recent>()
    }

    /// Whether nothing was interned.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Interns every string of `other` here and returns the map from `other`'s symbols to ours.
    pub fn absorb(&mut self, other: &Strings) -> Vec<Sym> {
        let mut map = Vec::with_capacity(other.bounds.len() - 1);
        map.push(Sym::NONE);
        for sym in 1..other.bounds.len() as u32 - 1 {
            map.push(self.intern(slice(&other.text, &other.bounds, sym)));
        }
        map
    }
}

fn slice<'t>(text: &'t str, bounds: &[usize], sym: u32) -> &'t str {
    let i = sym as usize;
    &text[bounds[i]..bounds[i + 1]]
}

/// What a stream was.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A music track (also music videos from the video files).
    Track,
    /// A podcast episode (audio or video).
    Episode,
    /// An audiobook chapter.
    Audiobook,
    /// A row Spotify exported without metadata: it counts towards listening time only.
    Unknown,
}

/// Which package a play came from. Extended history has second resolution and wins over
/// account data where both cover the same period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Extended streaming history (`endsong_*.json`, `Streaming_History_*.json`).
    Extended,
    /// Account data (`StreamingHistory*.json`), minute resolution.
    Account,
}

/// The family of device a stream played on; the raw platform string can carry a device id
/// and is never kept.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// Phones (Android, iOS).
    Phone,
    /// Tablets (iPad, Android tablets where named).
    Tablet,
    /// Desktop apps on Windows, macOS, Linux.
    Desktop,
    /// The web player.
    Web,
    /// Smart speakers and hi-fi (Sonos, Amazon Echo, Bose…).
    Speaker,
    /// Google Cast targets.
    Cast,
    /// Televisions and TV boxes.
    Tv,
    /// Game consoles.
    Console,
    /// Cars (Android Auto, CarPlay, in-car systems).
    Car,
    /// Watches.
    Wearable,
    /// Anything else, or not recorded (account data).
    Other,
}

impl Platform {
    /// All families, in display order.
    pub const ALL: [Platform; 11] = [
        Platform::Phone,
        Platform::Tablet,
        Platform::Desktop,
        Platform::Web,
        Platform::Speaker,
        Platform::Cast,
        Platform::Tv,
        Platform::Console,
        Platform::Car,
        Platform::Wearable,
        Platform::Other,
    ];

    /// A short English label.
    pub fn label(self) -> &'static str {
        match self {
            Platform::Phone => "phone",
            Platform::Tablet => "tablet",
            Platform::Desktop => "desktop",
            Platform::Web => "web",
            Platform::Speaker => "speaker",
            Platform::Cast => "cast",
            Platform::Tv => "tv",
            Platform::Console => "console",
            Platform::Car => "car",
            Platform::Wearable => "wearable",
            Platform::Other => "other",
        }
    }

    /// Maps a raw `platform` string of either era (`"iOS 14.7.1 (iPhone10,3)"`, `"android"`,
    /// `"Partner sonos_imx6 Sonos;One;;"`…) to its family. Only the family is kept.
    pub fn classify(raw: &str) -> Platform {
        let lower = raw.to_ascii_lowercase();
        let s = lower.as_str();
        let has = |needles: &[&str]| needles.iter().any(|n| s.contains(n));
        if has(&["watch", "wear os", "wearos", "garmin", "fitbit"]) {
            Platform::Wearable
        } else if has(&[
            "carplay",
            "android auto",
            "android_auto",
            "car_",
            "car thing",
            "tesla",
            "automotive",
        ]) {
            Platform::Car
        } else if has(&["playstation", "ps4", "ps5", "xbox", "nintendo"]) {
            Platform::Console
        } else if has(&["ipad", "tablet"]) {
            Platform::Tablet
        } else if has(&["web_player", "web player", "webplayer"]) {
            Platform::Web
        } else if has(&[
            "_tv", " tv", "tv;", "tv_", "tvos", "apple tv", "roku", "tizen", "webos", "bravia",
            "fire tv", "firetv",
        ]) {
            Platform::Tv
        } else if has(&["cast"]) {
            Platform::Cast
        } else if has(&[
            "sonos",
            "echo",
            "alexa",
            "amazon",
            "bose",
            "speaker",
            "denon",
            "yamaha",
            "bang",
            "harman",
            "homepod",
            "google home",
        ]) {
            Platform::Speaker
        } else if s.starts_with("android") || s.starts_with("ios") || has(&["iphone", "ipod"]) {
            Platform::Phone
        } else if s.starts_with("windows")
            || s.starts_with("os x")
            || s.starts_with("osx")
            || s.starts_with("macos")
            || s.starts_with("linux")
        {
            Platform::Desktop
        } else {
            Platform::Other
        }
    }
}

/// An ISO 3166 alpha-2 country code; `ZZ` (Spotify's "unknown") for anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country(pub [u8; 2]);

impl Country {
    /// Unknown country.
    pub const UNKNOWN: Country = Country(*b"ZZ");

    /// Parses a code, upper-casing it; anything not two ASCII letters is unknown.
    pub fn parse(s: &str) -> Country {
        match s.as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Country([a.to_ascii_uppercase(), b.to_ascii_uppercase()])
            }
            _ => Country::UNKNOWN,
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("ZZ")
    }
}

/// One stream, normalised.
///
/// The naming fields mean, by kind:
///
/// | kind | `title` | `creator` | `collection` |
/// |---|---|---|---|
/// | track | track name | album artist | album |
/// | episode | episode name | show | – |
/// | audiobook | chapter title | author (account data only) | audiobook title |
/// | unknown | – | – | – |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Play {
    /// When the stream ended (UTC).
    pub end_ms: EpochMs,
    /// How long it played.
    pub ms_played: u64,
    /// What it was.
    pub kind: Kind,
    /// Which package it came from.
    pub source: Source,
    /// Track, episode or chapter name.
    pub title: Sym,
    /// Artist, show or author.
    pub creator: Sym,
    /// Album or audiobook.
    pub collection: Sym,
    /// `spotify:track:…`, `spotify:episode:…` or the chapter URI.
    pub uri: Sym,
    /// Why the stream started (open set: `trackdone`, `clickrow`, …).
    pub reason_start: Sym,
    /// Why it ended.
    pub reason_end: Sym,
    /// Shuffle on; `None` when not recorded.
    pub shuffle: Option<bool>,
    /// Skipped to the next; `None` when not recorded (most rows before mid-2023).
    pub skipped: Option<bool>,
    /// Played offline.
    pub offline: Option<bool>,
    /// In a private session.
    pub incognito: Option<bool>,
    /// Device family.
    pub platform: Platform,
    /// Country the stream was played from.
    pub country: Country,
}

impl Play {
    /// A stream known only by what account data records of it: when it ended, how long it
    /// played and what it was, with no URI, reasons, flags, device or country.
    pub fn bare(
        end_ms: EpochMs,
        ms_played: u64,
        kind: Kind,
        source: Source,
        [title, creator, collection]: [Sym; 3],
    ) -> Play {
        Play {
            end_ms,
            ms_played,
            kind,
            source,
            title,
            creator,
            collection,
            uri: Sym::NONE,
            reason_start: Sym::NONE,
            reason_end: Sym::NONE,
            shuffle: None,
            skipped: None,
            offline: None,
            incognito: None,
            platform: Platform::Other,
            country: Country::UNKNOWN,
        }
    }

    /// The play's names to rewrite (onto another string table): title, creator, collection,
    /// URI, start and end reasons.
    pub fn names_mut(&mut self) -> [&mut Sym; 6] {
        [
            &mut self.title,
            &mut self.creator,
            &mut self.collection,
            &mut self.uri,
            &mut self.reason_start,
            &mut self.reason_end,
        ]
    }

    /// Every name the play refers to: title, creator, collection, URI, start and end reasons.
    pub fn names(&self) -> [Sym; 6] {
        [
            self.title,
            self.creator,
            self.collection,
            self.uri,
            self.reason_start,
            self.reason_end,
        ]
    }

    /// When the stream started: its end minus the time played.
    pub fn start_ms(&self) -> EpochMs {
        self.end_ms - i64::try_from(self.ms_played).unwrap_or(i64::MAX / 2)
    }

    /// Rewrites every symbol through `map` (from [`Strings::absorb`]).
    pub fn remap(&mut self, map: &[Sym]) {
        for sym in [
            &mut self.title,
            &mut self.creator,
            &mut self.collection,
            &mut self.uri,
            &mut self.reason_start,
            &mut self.reason_end,
        ] {
            *sym = map[sym.0 as usize];
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A track by "A", with only the fields streams are told apart by set (tests of other
    /// modules use it too).
    pub(crate) fn track(strings: &mut Strings, source: Source, end_ms: i64, title: &str) -> Play {
        let names = [strings.intern(title), strings.intern("A"), Sym::NONE];
        Play::bare(end_ms, 1000, Kind::Track, source, names)
    }

    #[test]
    fn platform_strings_of_both_eras_map_to_families() {
        let cases = [
            ("iOS 14.7.1 (iPhone10,3)", Platform::Phone),
            ("Android OS 12 API 31 (samsung, SM-G781U)", Platform::Phone),
            ("android", Platform::Phone),
            ("ios", Platform::Phone),
            ("OS X 10.15.1 [x86 8]", Platform::Desktop),
            ("Windows 10 (10.0.18363; x64; AppX)", Platform::Desktop),
            ("windows", Platform::Desktop),
            ("osx", Platform::Desktop),
            ("linux", Platform::Desktop),
            (
                "web_player windows 10;chrome 95.0.4638.69;desktop",
                Platform::Web,
            ),
            (
                "Partner amazon_salmon Amazon;Echo_Dot;0123456789abcdef0123456789abcdef;;tpapi",
                Platform::Speaker,
            ),
            ("Partner sonos_imx6 Sonos;One;;", Platform::Speaker),
            ("Partner google cast_tv;Chromecast;;", Platform::Tv),
            ("cast", Platform::Cast),
            ("playstation", Platform::Console),
            ("iOS 15.0 (iPad8,1)", Platform::Tablet),
            ("", Platform::Other),
        ];
        for (raw, family) in cases {
            assert_eq!(Platform::classify(raw), family, "{raw}");
        }
    }

    #[test]
    fn countries_are_normalised_or_unknown() {
        assert_eq!(Country::parse("se").as_str(), "SE");
        assert_eq!(Country::parse("ZZ"), Country::UNKNOWN);
        assert_eq!(Country::parse("SWE"), Country::UNKNOWN);
        assert_eq!(Country::parse("\u{0}x"), Country::UNKNOWN);
    }

    #[test]
    fn interning_is_stable_and_absorb_maps_symbols() {
        let mut a = Strings::default();
        let x = a.intern("Björk");
        assert_eq!(a.intern("Björk"), x);
        let mut b = Strings::default();
        let y = b.intern("Sigur Rós");
        let z = b.intern("Björk");
        let map = a.absorb(&b);
        assert_eq!(map[z.0 as usize], x);
        assert_eq!(a.get(map[y.0 as usize]), "Sigur Rós");
        assert_eq!(map[0], Sym::NONE);
    }

    #[test]
    fn recall_finds_what_lookup_finds_whatever_shares_its_cache_entry() {
        // 20,000 names in a cache of 4,096 entries: most entries are shared by several names.
        let name = |i: usize| format!("name {i}");
        let mut a = Strings::default();
        assert_eq!(a.recall("name 0"), None);
        let syms: Vec<Sym> = (0..20_000).map(|i| a.add(&name(i))).collect();
        for round in 0..2 {
            for (i, &sym) in syms.iter().enumerate().rev() {
                assert_eq!(a.recall(&name(i)), Some(sym), "round {round}");
            }
        }
        assert_eq!(a.recall("name 20000"), None);
        assert_eq!(a.recall("name 1 "), None);
        assert_eq!(a.len(), 20_000);
    }

    #[test]
    fn a_table_grown_to_many_names_finds_each_by_its_text() {
        let name = |i: usize| format!("{} {i}", "é".repeat(i % 40));
        let mut a = Strings::default();
        let syms: Vec<Sym> = (0..50_000).map(|i| a.intern(&name(i))).collect();
        assert_eq!(a.len(), 50_000);
        for (i, &sym) in syms.iter().enumerate() {
            assert_eq!(a.get(sym), name(i));
            assert_eq!(a.intern(&name(i)), sym);
        }
        assert_eq!(a.lookup("not interned"), None);
        assert_eq!(a.get(Sym::NONE), "");
        // Half of `b`'s names are `a`'s: those map onto `a`'s symbols, the rest are added.
        let mut b = Strings::default();
        let theirs: Vec<Sym> = (25_000..75_000).map(|i| b.intern(&name(i))).collect();
        let map = a.absorb(&b);
        assert_eq!(a.len(), 75_000);
        for (i, sym) in (25_000..75_000).zip(theirs) {
            let ours = map[sym.0 as usize];
            assert_eq!(a.get(ours), name(i));
            if i < 50_000 {
                assert_eq!(ours, syms[i]);
            }
        }
    }
}
