//! `bench parse`: JSON parse throughput of the same in-memory files, method by method.
//!
//! Methods that parse in place (everything simd-json) first copy each file into a reused
//! scratch buffer, exactly as [`schema::Parser::parse`] does, so every method starts from the
//! same untouched bytes and the copy is part of each simd-json measurement. Runs are
//! interleaved (run 1 of every method, then run 2…) so that a change of machine load during
//! the benchmark hits every method alike.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use simd_json::prelude::ValueAsArray as _;
use simd_json_derive::Deserialize as _;
use std::borrow::Cow;

use crate::{Sample, load_average, median, ms, timed};

/// A string that borrows from the input when the parser allows it (no escapes for serde_json,
/// always for simd-json, which unescapes in place) and owns it otherwise.
#[derive(Debug)]
#[allow(dead_code, reason = "parsed to be measured, never read")]
pub struct Text<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> std::result::Result<Self::Value, E> {
                Ok(Cow::Borrowed(s))
            }
            fn visit_str<E>(self, s: &str) -> std::result::Result<Self::Value, E> {
                Ok(Cow::Owned(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> std::result::Result<Self::Value, E> {
                Ok(Cow::Owned(s))
            }
        }
        d.deserialize_str(Visitor).map(Text)
    }
}

/// One extended-history record with the keys production reads, for the serde paths. Other
/// keys (ip_addr, offline_timestamp…) are skipped by the deserializer, as production skips
/// them.
#[derive(Debug, Deserialize)]
#[allow(dead_code, reason = "parsed to be measured, never read")]
pub struct Stream<'a> {
    #[serde(borrow)]
    pub ts: Text<'a>,
    pub ms_played: u64,
    #[serde(borrow)]
    pub platform: Option<Text<'a>>,
    #[serde(borrow)]
    pub conn_country: Option<Text<'a>>,
    #[serde(borrow)]
    pub master_metadata_track_name: Option<Text<'a>>,
    #[serde(borrow)]
    pub master_metadata_album_artist_name: Option<Text<'a>>,
    #[serde(borrow)]
    pub master_metadata_album_album_name: Option<Text<'a>>,
    #[serde(borrow)]
    pub spotify_track_uri: Option<Text<'a>>,
    #[serde(borrow)]
    pub episode_name: Option<Text<'a>>,
    #[serde(borrow)]
    pub episode_show_name: Option<Text<'a>>,
    #[serde(borrow)]
    pub spotify_episode_uri: Option<Text<'a>>,
    #[serde(borrow)]
    pub audiobook_title: Option<Text<'a>>,
    #[serde(borrow)]
    pub audiobook_uri: Option<Text<'a>>,
    #[serde(borrow)]
    pub audiobook_chapter_uri: Option<Text<'a>>,
    #[serde(borrow)]
    pub audiobook_chapter_title: Option<Text<'a>>,
    #[serde(borrow)]
    pub reason_start: Option<Text<'a>>,
    #[serde(borrow)]
    pub reason_end: Option<Text<'a>>,
    pub shuffle: Option<bool>,
    pub skipped: Option<bool>,
    pub offline: Option<bool>,
    pub incognito_mode: Option<bool>,
}

/// The same record for simd-json-derive, which borrows `&str` straight from the unescaped
/// input.
#[derive(Debug, simd_json_derive::Deserialize)]
#[allow(dead_code, reason = "parsed to be measured, never read")]
pub struct DerivedStream<'a> {
    pub ts: &'a str,
    pub ms_played: u64,
    pub platform: Option<&'a str>,
    pub conn_country: Option<&'a str>,
    pub master_metadata_track_name: Option<&'a str>,
    pub master_metadata_album_artist_name: Option<&'a str>,
    pub master_metadata_album_album_name: Option<&'a str>,
    pub spotify_track_uri: Option<&'a str>,
    pub episode_name: Option<&'a str>,
    pub episode_show_name: Option<&'a str>,
    pub spotify_episode_uri: Option<&'a str>,
    pub audiobook_title: Option<&'a str>,
    pub audiobook_uri: Option<&'a str>,
    pub audiobook_chapter_uri: Option<&'a str>,
    pub audiobook_chapter_title: Option<&'a str>,
    pub reason_start: Option<&'a str>,
    pub reason_end: Option<&'a str>,
    pub shuffle: Option<bool>,
    pub skipped: Option<bool>,
    pub offline: Option<bool>,
    pub incognito_mode: Option<bool>,
}

/// Reused state: simd-json's buffers, a scratch copy of the input, our parser.
struct State {
    buffers: simd_json::Buffers,
    scratch: Vec<u8>,
    parser: schema::Parser,
    /// A recycled tape, as the production parser keeps one.
    tape: simd_json::Tape<'static>,
}

/// A parse method: records read from one file.
type Method = fn(&[u8], &mut State) -> Result<usize>;

const METHODS: [(&str, &str, Method); 6] = [
    (
        "a",
        "schema::Parser::parse (tape walk + intern; production)",
        |input, s| {
            let parsed = s.parser.parse(input)?;
            Ok(parsed.plays.len())
        },
    ),
    (
        "a0",
        "simd_json::fill_tape only, tape recycled (floor of a)",
        |input, s| {
            let State {
                buffers,
                scratch,
                tape,
                ..
            } = s;
            scratch.clear();
            scratch.extend_from_slice(input);
            let mut filled = std::mem::replace(tape, simd_json::Tape(Vec::new())).reset();
            simd_json::fill_tape(scratch, buffers, &mut filled)?;
            let n = match filled.0.first() {
                Some(simd_json::Node::Array { len, .. }) => *len,
                _ => 0,
            };
            *tape = filled.reset();
            Ok(n)
        },
    ),
    (
        "b",
        "simd_json::serde::from_slice_with_buffers -> Vec<Stream>",
        |input, s| {
            let State {
                buffers, scratch, ..
            } = s;
            scratch.clear();
            scratch.extend_from_slice(input);
            let v: Vec<Stream<'_>> = simd_json::serde::from_slice_with_buffers(scratch, buffers)?;
            Ok(v.len())
        },
    ),
    (
        "c",
        "serde_json::from_slice -> Vec<Stream> (reference)",
        |input, _| {
            let v: Vec<Stream<'_>> = serde_json::from_slice(input)?;
            Ok(v.len())
        },
    ),
    (
        "d",
        "simd_json::to_borrowed_value_with_buffers",
        |input, s| {
            let State {
                buffers, scratch, ..
            } = s;
            scratch.clear();
            scratch.extend_from_slice(input);
            let v = simd_json::to_borrowed_value_with_buffers(scratch, buffers)?;
            Ok(v.as_array().map_or(0, Vec::len))
        },
    ),
    ("e", "simd-json-derive -> Vec<DerivedStream>", |input, s| {
        let State {
            buffers, scratch, ..
        } = s;
        scratch.clear();
        scratch.extend_from_slice(input);
        let v = Vec::<DerivedStream<'_>>::from_slice_with_buffers(scratch, buffers)?;
        Ok(v.len())
    }),
];

pub fn run(files: &[std::path::PathBuf], runs: usize, only: &[String]) -> Result<()> {
    let methods: Vec<(&str, &str, Method)> = METHODS
        .into_iter()
        .filter(|(id, ..)| only.is_empty() || only.iter().any(|o| o == id))
        .collect();
    if methods.is_empty() {
        bail!(
            "--only names no method; the ids are {:?}",
            METHODS.map(|(id, ..)| id)
        );
    }
    let inputs: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f).with_context(|| format!("reading {}", f.display())))
        .collect::<Result<_>>()?;
    let bytes: usize = inputs.iter().map(Vec::len).sum();
    let largest = inputs.iter().map(Vec::len).max().unwrap_or(0);
    println!(
        "parse: {} files, {:.1} MB (largest {:.1} MB), in memory; one thread; median of {runs} runs; simd-json {:?}",
        inputs.len(),
        bytes as f64 / 1e6,
        largest as f64 / 1e6,
        simd_json::Deserializer::algorithm(),
    );
    let load_before = load_average();
    let mut state = State {
        buffers: simd_json::Buffers::default(),
        scratch: Vec::new(),
        parser: schema::Parser::default(),
        tape: simd_json::Tape(Vec::new()),
    };

    // One untimed pass per method: warms caches and checks that all methods agree.
    let mut records = Vec::new();
    for &(id, _, method) in &methods {
        let mut n = 0;
        for (file, input) in files.iter().zip(&inputs) {
            n += method(input, &mut state)
                .with_context(|| format!("method {id} on {}", file.display()))?;
        }
        records.push(n);
    }
    if records.iter().any(|&n| n != records[0]) {
        bail!("methods disagree on the number of records: {records:?}");
    }

    let mut times: Vec<Vec<Sample>> = vec![Vec::new(); methods.len()];
    for _ in 0..runs {
        for ((_, _, method), t) in methods.iter().zip(&mut times) {
            let (r, d) = timed(|| {
                inputs
                    .iter()
                    .try_fold(0, |n, input| method(input, &mut state).map(|k| n + k))
            });
            std::hint::black_box(r?);
            t.push(d);
        }
    }
    let load_after = load_average();

    let medians: Vec<Sample> = times.iter().map(|t| median(t)).collect();
    let reference = medians[methods.iter().position(|(id, ..)| *id == "c").unwrap_or(0)];
    let mb = bytes as f64 / 1e6;
    println!(
        "{} records; load average before {load_before}, after {load_after}",
        records[0]
    );
    println!("| id | method | wall ms | MB/s (wall) | CPU ms | MB/s (CPU) | speed vs c (CPU) |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for ((id, name, _), d) in methods.iter().zip(&medians) {
        println!(
            "| {id} | {name} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2}x |",
            ms(d.wall),
            mb / d.wall.as_secs_f64(),
            ms(d.cpu),
            mb / d.cpu.as_secs_f64(),
            reference.cpu.as_secs_f64() / d.cpu.as_secs_f64()
        );
    }
    Ok(())
}
