#![doc = include_str!("../README.md")]

use std::fmt;
use std::fs;
use std::io::{self, Seek, Write};
use std::path::Path;
use std::str::FromStr;

mod catalog;
mod facts;
mod history;
mod render;
mod rng;
mod time;

pub use facts::{Facts, MIN_PLAY_MS};

use crate::catalog::{Catalog, Namer};
use crate::history::Listener;
use crate::render::{Context, EXTENDED_DIR, OLD_DIR};
use crate::rng::Rng;

/// The extended-history generations an export can be written as (see `SPOTIFY_FORMATS.md`).
/// G2 (2020 keys with URIs) is left out: it differs from G1 and G3 in nothing a reader of
/// the other two would not already handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Generation {
    /// May 2020: `endsong_<n>.json` in `MyData/`, 24 keys, no URIs, geo keys, minified,
    /// `offline_timestamp` in milliseconds, `skipped` mostly null.
    G1,
    /// Late 2021 – Oct 2024: `Streaming_History_Audio_*`, the classic 21 keys, minified,
    /// `offline_timestamp` in milliseconds, `skipped` mostly null.
    G3,
    /// Nov 2024 →: 19 keys (no `username`, `user_agent_decrypted`; `ip_addr`), 2-space
    /// pretty printing, `offline_timestamp` in seconds.
    G4,
    /// 2025 →: G4 plus the four `audiobook_*` keys.
    #[default]
    G5,
}

impl Generation {
    /// All generations, oldest first.
    pub const ALL: [Generation; 4] = [
        Generation::G1,
        Generation::G3,
        Generation::G4,
        Generation::G5,
    ];
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Generation::G1 => "g1",
            Generation::G3 => "g3",
            Generation::G4 => "g4",
            Generation::G5 => "g5",
        })
    }
}

impl FromStr for Generation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Generation::ALL
            .into_iter()
            .find(|g| g.to_string().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown generation {s:?}: expected g1, g3, g4 or g5"))
    }
}

/// What to generate. Equal options give byte-identical exports.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Streams to generate, before exact duplicates are added.
    pub plays: usize,
    /// First calendar year with listening.
    pub first_year: i32,
    /// Last calendar year with listening (inclusive).
    pub last_year: i32,
    /// Seed of every random choice.
    pub seed: u64,
    /// Keys, printing and file names of the extended history.
    pub generation: Generation,
    /// Audio files are split so that none is longer than this (Spotify's are 10–13 MB).
    pub max_file_bytes: usize,
    /// Share of exact duplicate records added (real files carry up to 20 in 5,000).
    pub dupes: f64,
    /// Swap 30 % of neighbouring pairs of records, as old exports are not sorted by `ts`.
    pub unsorted: bool,
    /// Give about 5 % of names hostile text: markup, SQL, bidi overrides, NUL, 600
    /// characters, emoji. The streams stay those of the same options without it.
    pub nasty: bool,
    /// Also write the account-data package (the last 12 months, minute resolution).
    pub account_data: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            plays: 20_000,
            first_year: 2014,
            last_year: 2026,
            seed: 1,
            generation: Generation::G5,
            max_file_bytes: 12_000_000,
            dupes: 0.0005,
            unsorted: false,
            nasty: false,
            account_data: false,
        }
    }
}

impl Options {
    /// Why these options cannot be generated, if they cannot.
    pub fn validate(&self) -> Result<(), String> {
        if !(1970..=9998).contains(&self.first_year) || !(1970..=9998).contains(&self.last_year) {
            return Err(format!(
                "years must lie in 1970–9998 (got {}–{})",
                self.first_year, self.last_year
            ));
        }
        if self.first_year > self.last_year {
            return Err(format!(
                "the first year ({}) is after the last ({})",
                self.first_year, self.last_year
            ));
        }
        if !(0.0..=1.0).contains(&self.dupes) {
            return Err(format!(
                "the share of duplicates must lie in 0–1 (got {})",
                self.dupes
            ));
        }
        if self.max_file_bytes < 1024 {
            return Err(format!(
                "files must be allowed at least 1024 bytes (got {})",
                self.max_file_bytes
            ));
        }
        Ok(())
    }
}

/// A generated export: its files, by path inside the export, and the facts an ingestion of
/// them must reproduce.
#[derive(Debug, Clone)]
pub struct Export {
    /// `(path inside the export, contents)`, e.g.
    /// `Spotify Extended Streaming History/Streaming_History_Audio_2014-2016_0.json`: the
    /// audio files in order, the video file, then the account-data files.
    pub files: Vec<(String, Vec<u8>)>,
    /// What a correct ingestion reproduces.
    pub facts: Facts,
}

/// Independent random streams of one seed.
mod stream {
    pub(crate) const LISTENER: u64 = 1;
    pub(crate) const CATALOG: u64 = 2;
    pub(crate) const LISTENING: u64 = 3;
    pub(crate) const DISORDER: u64 = 4;
}

/// Generates an export.
///
/// # Panics
/// If the options are invalid (see [`Options::validate`]).
pub fn generate(o: &Options) -> Export {
    if let Err(e) = o.validate() {
        panic!("invalid synth::Options: {e}");
    }
    let listener = Listener::new(&mut Rng::new(o.seed, stream::LISTENER));
    let cat = Catalog::new(
        &mut Rng::new(o.seed, stream::CATALOG),
        (o.plays / 60).max(50),
        &Namer::new(o.nasty),
    );
    let mut recs = history::listen(
        o,
        &cat,
        listener.home,
        &mut Rng::new(o.seed, stream::LISTENING),
    );
    history::disorder(&mut recs, o, &mut Rng::new(o.seed, stream::DISORDER));

    let cx = Context {
        cat: &cat,
        generation: o.generation,
        username: &listener.username,
    };
    let mut files = render::audio_files(&recs, &cx, o.max_file_bytes);
    files.extend(render::video_file(&recs, &cx));
    if o.account_data {
        files.extend(render::account_files(&recs, &cat, o.generation));
    }
    let mut facts = facts::compute(&recs, &cat);
    facts.files = files.iter().map(|(p, _)| p.clone()).collect();
    facts.bytes = files.iter().map(|(_, b)| b.len() as u64).sum();
    Export { files, facts }
}

/// `expected.json`: the facts and a note on what they cover.
fn expected_json(facts: &Facts) -> io::Result<Vec<u8>> {
    #[derive(serde::Serialize)]
    struct Expected<'a> {
        #[serde(flatten)]
        facts: &'a Facts,
        note: &'static str,
    }
    let note = "Facts over the extended-history audio records only, exact duplicates removed; \
                the video file repeats a few episodes with ms_played 0, and the account data \
                package overlaps the last 12 months; neither changes these totals.";
    let mut out = serde_json::to_vec_pretty(&Expected { facts, note }).map_err(io::Error::other)?;
    out.push(b'\n');
    Ok(out)
}

/// Writes the export's files under `dir` (creating folders) and `expected.json` beside them.
pub fn write_dir(export: &Export, dir: &Path) -> io::Result<()> {
    for (path, bytes) in &export.files {
        let full = dir.join(path);
        if let Some(parent) = full.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(full, bytes)?;
    }
    fs::create_dir_all(dir)?;
    fs::write(dir.join("expected.json"), expected_json(&export.facts)?)
}

/// Writes `dir/my_spotify_data.zip` (as Spotify delivers it, with a placeholder ReadMe PDF)
/// and `dir/expected.json`.
pub fn write_zip(export: &Export, dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let file = io::BufWriter::new(fs::File::create(dir.join("my_spotify_data.zip"))?);
    zip_to(export, file)?
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?
        .sync_all()?;
    fs::write(dir.join("expected.json"), expected_json(&export.facts)?)
}

/// Writes the export as `my_spotify_data.zip` into `w` (a file, or a `Cursor<Vec<u8>>` to
/// keep it in memory) and returns `w`. Entries are deflated and dated 2026-01-01, so equal
/// exports give equal zips.
pub fn zip_to<W: Write + Seek>(export: &Export, w: W) -> io::Result<W> {
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(
            zip::DateTime::from_date_and_time(2026, 1, 1, 0, 0, 0).map_err(io::Error::other)?,
        );
    let mut z = zip::ZipWriter::new(w);
    for (path, bytes) in &export.files {
        z.start_file(path, options).map_err(io::Error::other)?;
        z.write_all(bytes)?;
    }
    // The ReadMe sits beside the extended history, whose folder the first file names.
    let folder = match export.files.first() {
        Some((p, _)) if p.starts_with(OLD_DIR) => OLD_DIR,
        _ => EXTENDED_DIR,
    };
    z.start_file(
        format!("{folder}/ReadMeFirst_ExtendedStreamingHistory.pdf"),
        options,
    )
    .map_err(io::Error::other)?;
    z.write_all(b"%PDF-1.4 placeholder\n")?;
    z.finish().map_err(io::Error::other)
}
