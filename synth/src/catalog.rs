//! What there is to listen to: artists with albums and tracks, podcast shows with episodes,
//! and their names (plain, exotic, or hostile on request).

use std::collections::HashMap;
use std::ops::Range;

use crate::rng::Rng;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

const SYLLABLES: [&str; 25] = [
    "ka", "lo", "mi", "ra", "ven", "tor", "sa", "lu", "ne", "bri", "dor", "fa", "el", "an", "sky",
    "moon", "ta", "rio", "zen", "mar", "oli", "via", "nox", "ber", "gen",
];
const EXOTIC: [&str; 20] = [
    "Ólafur",
    "Sigur Rós",
    "Björk",
    "Beyoncé",
    "Motörhead",
    "坂本龍一",
    "宇多田ヒカル",
    "Кино",
    "Ляпис Трубецкой",
    "Rosalía",
    "Mø",
    "Zoë",
    "Dvořák",
    "Sóley",
    "BTS (방탄소년단)",
    "Céline",
    "Þungarokk",
    "Ñu",
    "Françoise Hardy",
    "Ärzte",
];
const WORDS: [&str; 20] = [
    "Love", "Night", "Blue", "Fire", "Dreams", "Home", "Gold", "Run", "Rain", "Light", "Heart",
    "Summer", "Ghost", "Wild", "Echo", "River", "Stars", "Alone", "Dance", "Days",
];

const NASTY_COUNT: usize = 13;

/// Names a parser must carry through untouched: markup, SQL, bidi overrides, zero-width
/// joiners, emoji, a NUL byte, control characters, 600 characters, escapes.
pub(crate) fn nasty_names() -> Vec<String> {
    let mut v: Vec<String> = [
        "<script>alert(\"xss\")</script>",
        "'; DROP TABLE plays; --",
        "Robert\"); --",
        "\u{202e}evil\u{202c}",
        "a\u{200d}b\u{200d}c",
        "{{7*7}}",
        "${jndi:x}",
        "NUL\u{0}byte",
        "tab\tand\nnewline",
        "&amp;&lt;&gt;",
        "\\backslash\\",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    v.push("😀🎵🔥".repeat(3));
    v.push("x".repeat(600));
    v
}

/// Draws names. Every draw consumes the same random numbers whether or not `nasty` is set,
/// so a nasty export is the plain one with some names replaced.
pub(crate) struct Namer {
    nasty: Option<Vec<String>>,
}

impl Namer {
    pub(crate) fn new(nasty: bool) -> Namer {
        Namer {
            nasty: nasty.then(nasty_names),
        }
    }

    fn hostile(&self, rng: &mut Rng) -> Option<String> {
        let (roll, which) = (rng.f64(), rng.index(NASTY_COUNT));
        let list = self.nasty.as_ref()?;
        (roll < 0.05).then(|| list[which].clone())
    }

    /// An artist or show name: one to three made-up words, sometimes a real-world exotic one.
    pub(crate) fn name(&self, rng: &mut Rng) -> String {
        let hostile = self.hostile(rng);
        let plain = plain_name(rng);
        hostile.unwrap_or(plain)
    }

    /// An album or track title, sometimes featuring someone, remastered or quoted.
    pub(crate) fn title(&self, rng: &mut Rng) -> String {
        let hostile = self.hostile(rng);
        let words = rng.range(1, 4);
        let mut t = String::new();
        for i in 0..words {
            if i > 0 {
                t.push(' ');
            }
            t.push_str(WORDS[rng.index(WORDS.len())]);
        }
        let r = rng.f64();
        if r < 0.05 {
            t = format!("{t} (feat. {})", plain_name(rng));
        } else if r < 0.08 {
            t.push_str(" - Remastered 2011");
        } else if r < 0.10 {
            t = format!("\"{t}\"");
        }
        hostile.unwrap_or(t)
    }
}

fn plain_name(rng: &mut Rng) -> String {
    if rng.chance(0.08) {
        return rng.pick(&EXOTIC).to_string();
    }
    let mut s = String::new();
    for w in 0..rng.range(1, 3) {
        if w > 0 {
            s.push(' ');
        }
        let start = s.len();
        for _ in 0..rng.range(1, 3) {
            s.push_str(SYLLABLES[rng.index(SYLLABLES.len())]);
        }
        s[start..=start].make_ascii_uppercase();
    }
    s
}

/// `spotify:<kind>:` and 22 base62 characters.
pub(crate) type Uri = [u8; 22];

fn uri(rng: &mut Rng) -> Uri {
    let mut u = [0u8; 22];
    for c in &mut u {
        *c = BASE62[rng.index(62)];
    }
    u
}

/// A track on an album.
#[derive(Debug)]
pub(crate) struct Track {
    pub(crate) artist: u32,
    pub(crate) album: u32,
    pub(crate) title: String,
    pub(crate) uri: Uri,
    pub(crate) duration_ms: u32,
    /// Tracks sharing artist name and title share this (that is how listeners and
    /// `expected.json` name a track).
    pub(crate) named: u32,
}

/// An artist; several artists can share a name, as real ones do.
#[derive(Debug)]
pub(crate) struct Artist {
    /// Index into [`Catalog::artist_names`].
    pub(crate) name: u32,
    pub(crate) tracks: Range<u32>,
}

/// A podcast episode.
#[derive(Debug)]
pub(crate) struct Episode {
    pub(crate) show: u32,
    pub(crate) title: String,
    pub(crate) uri: Uri,
    pub(crate) duration_ms: u32,
}

/// A podcast show.
#[derive(Debug)]
pub(crate) struct Show {
    pub(crate) name: String,
    pub(crate) episodes: Range<u32>,
}

/// Everything that can be played.
#[derive(Debug)]
pub(crate) struct Catalog {
    pub(crate) artists: Vec<Artist>,
    /// Distinct artist names.
    pub(crate) artist_names: Vec<String>,
    pub(crate) albums: Vec<String>,
    pub(crate) tracks: Vec<Track>,
    /// Distinct (artist name, track title) pairs, by [`Track::named`].
    pub(crate) named_tracks: Vec<(u32, u32)>,
    pub(crate) shows: Vec<Show>,
    pub(crate) episodes: Vec<Episode>,
}

impl Catalog {
    /// `n_artists` artists with one to five albums of 4–14 tracks each, and a podcast show per
    /// 150 artists (at least three) with 19–119 episodes each.
    pub(crate) fn new(rng: &mut Rng, n_artists: usize, namer: &Namer) -> Catalog {
        let mut c = Catalog {
            artists: Vec::with_capacity(n_artists),
            artist_names: Vec::new(),
            albums: Vec::new(),
            tracks: Vec::with_capacity(n_artists * 24),
            named_tracks: Vec::new(),
            shows: Vec::new(),
            episodes: Vec::new(),
        };
        let mut name_ids: HashMap<String, u32> = HashMap::new();
        let mut named_ids: HashMap<(u32, String), u32> = HashMap::new();
        for a in 0..n_artists {
            let name = namer.name(rng);
            let next = name_ids.len() as u32;
            let name_id = *name_ids.entry(name).or_insert_with_key(|k| {
                c.artist_names.push(k.clone());
                next
            });
            let first = c.tracks.len() as u32;
            for _ in 0..*rng.pick(&[1, 1, 2, 3, 5]) {
                let album = c.albums.len() as u32;
                c.albums.push(namer.title(rng));
                for _ in 0..rng.range(4, 14) {
                    let duration_ms =
                        rng.gauss(215_000.0, 55_000.0).clamp(60_000.0, 600_000.0) as u32;
                    let title = namer.title(rng);
                    let next = named_ids.len() as u32;
                    let named = *named_ids
                        .entry((name_id, title.clone()))
                        .or_insert_with(|| {
                            c.named_tracks.push((name_id, c.tracks.len() as u32));
                            next
                        });
                    let uri = uri(rng);
                    c.tracks.push(Track {
                        artist: a as u32,
                        album,
                        title,
                        uri,
                        duration_ms,
                        named,
                    });
                }
            }
            c.artists.push(Artist {
                name: name_id,
                tracks: first..c.tracks.len() as u32,
            });
        }
        for s in 0..(n_artists / 150).max(3) {
            let name = namer.name(rng) + " Podcast";
            let first = c.episodes.len() as u32;
            for i in 1..rng.range(20, 120) {
                let title = format!("Episode {i}: {}", namer.title(rng));
                let uri = uri(rng);
                let duration_ms = rng.range(900_000, 5_400_000) as u32;
                c.episodes.push(Episode {
                    show: s as u32,
                    title,
                    uri,
                    duration_ms,
                });
            }
            c.shows.push(Show {
                name,
                episodes: first..c.episodes.len() as u32,
            });
        }
        c
    }

    pub(crate) fn artist_name_of(&self, track: u32) -> &str {
        &self.artist_names[self.artists[self.tracks[track as usize].artist as usize].name as usize]
    }

    /// The artist-name id of a track.
    pub(crate) fn artist_name_id(&self, track: u32) -> u32 {
        self.artists[self.tracks[track as usize].artist as usize].name
    }
}
