//! Every real sample export (testdata/samples, redacted) read end to end, checked against an
//! independent reading with serde_json and against what a user knows about the file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use schema::formats::AccountVariant;
use schema::{Format, Generation, Kind, Library, Limits, Settings, Stats, Status};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/samples")
}

fn load_paths(paths: &[PathBuf]) -> Library {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    schema::load(
        &names,
        |i| std::fs::File::open(&paths[i]),
        &Limits::default(),
    )
}

fn load_one(rel: &str) -> Library {
    load_paths(&[samples().join(rel)])
}

/// Record count and total ms_played as plain serde_json reads them.
fn independent_totals(rel: &str) -> (usize, u64) {
    let text = std::fs::read_to_string(samples().join(rel)).unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let ms = rows
        .iter()
        .map(|r| {
            r.get("ms_played")
                .or_else(|| r.get("msPlayed"))
                .and_then(|v| v.as_u64())
                .unwrap()
        })
        .sum();
    (rows.len(), ms)
}

#[test]
fn every_sample_is_detected_by_content_with_its_generation() {
    use AccountVariant::*;
    use Generation::*;
    let cases = [
        ("extended/endsong_2.json", Format::Extended(G1)),
        ("extended/endvideo.json", Format::Extended(G2)),
        ("extended/endsong_1.json", Format::Extended(G3)),
        (
            "extended/Streaming_History_Audio_2023_2.json",
            Format::Extended(G3),
        ),
        (
            "extended/Streaming_History_Audio_2024_4.json",
            Format::Extended(G4),
        ),
        (
            "extended/Streaming_History_Audio_2023.json",
            Format::Extended(G5),
        ),
        (
            "extended/Streaming_History_Video_2026.json",
            Format::Extended(G5),
        ),
        ("account/StreamingHistory0.json", Format::Account(Music)),
        (
            "account/StreamingHistory_music_0.json",
            Format::Account(Music),
        ),
        (
            "account/StreamingHistory_podcast_0.json",
            Format::Account(Podcast),
        ),
        (
            "account/StreamingHistory_audiobook_0.json",
            Format::Account(Audiobook),
        ),
    ];
    for (rel, format) in cases {
        let lib = load_one(rel);
        let f = &lib.files[0];
        assert_eq!(
            (f.status, f.format),
            (Status::Used, Some(format)),
            "{rel}: {:?}",
            f.message
        );
        let (records, ms) = independent_totals(rel);
        assert_eq!(f.records, records, "{rel}");
        assert_eq!(f.rejected, 0, "{rel}: {:?}", f.problems);
        assert_eq!(
            lib.plays.iter().map(|p| p.ms_played).sum::<u64>(),
            ms,
            "{rel}"
        );
    }
}

#[test]
fn a_renamed_file_is_still_recognised_by_its_content() {
    let dir = std::env::temp_dir().join(format!("backspin-rename-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let renamed = dir.join("my history (1).json");
    std::fs::copy(
        samples().join("extended/Streaming_History_Audio_2024_4.json"),
        &renamed,
    )
    .unwrap();
    let lib = load_paths(&[renamed]);
    assert_eq!(lib.files[0].format, Some(Format::Extended(Generation::G4)));
    assert_eq!(lib.plays.len(), 3328);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn personal_identifiers_never_enter_the_model() {
    let all: Vec<PathBuf> = walk(&samples());
    let lib = load_paths(&all);
    assert!(lib.plays.len() > 30_000);
    for i in 1..=lib.strings.len() {
        let s = lib.strings.get(schema::Sym(i as u32));
        for needle in [
            "198.51.100.",
            "2001:db8",
            "redacted-user",
            "iPhone10",
            "SM-G781U",
            "00000000000000000000000000000000",
        ] {
            assert!(!s.contains(needle), "{s:?} leaked into the string table");
        }
    }
}

#[test]
fn episodes_audiobooks_and_rows_without_metadata_are_classified() {
    let lib = load_one("extended/Streaming_History_Audio_2024_4.json");
    let episodes = lib.plays.iter().filter(|p| p.kind == Kind::Episode).count();
    assert_eq!(episodes, 315, "the sample README counts 315 episodes");

    let lib = load_one("account/StreamingHistory_audiobook_0.json");
    assert!(
        lib.plays
            .iter()
            .all(|p| p.kind == Kind::Audiobook && p.collection.is_some())
    );
    assert_eq!(
        lib.strings.get(lib.plays[0].collection),
        "How to Keep House While Drowning"
    );
    assert_eq!(lib.strings.get(lib.plays[0].creator), "KC Davis LPC");

    let lib = load_one("account/StreamingHistory_podcast_0.json");
    assert!(
        lib.plays
            .iter()
            .all(|p| matches!(p.kind, Kind::Episode | Kind::Unknown))
    );
}

#[test]
fn one_users_account_rows_are_dropped_where_their_extended_history_covers_them() {
    let pair = samples().join("pair-same-user");
    let lib_ext =
        load_paths(&[pair
            .join("Spotify Extended Streaming History/Streaming_History_Audio_2022-2024_1.json")]);
    let mut lib = load_paths(&[
        pair.join("Spotify Extended Streaming History/Streaming_History_Audio_2022-2024_1.json"),
        pair.join("Spotify Account Data/StreamingHistory_music_0.json"),
    ]);
    let report = schema::dedupe(&mut lib.plays);
    assert_eq!(report.account_rows_covered_by_extended, 6);
    let total: u64 = lib.plays.iter().map(|p| p.ms_played).sum();
    let ext_total: u64 = lib_ext.plays.iter().map(|p| p.ms_played).sum();
    assert_eq!(total, ext_total, "listening time must not be counted twice");
}

#[test]
fn reading_the_same_export_twice_counts_each_stream_once() {
    let rel = samples().join("extended/endsong_1.json");
    let once = {
        let mut l = load_paths(std::slice::from_ref(&rel));
        schema::dedupe(&mut l.plays);
        l
    };
    let mut twice = load_paths(&[rel.clone(), rel]);
    let report = schema::dedupe(&mut twice.plays);
    assert_eq!(twice.plays.len(), once.plays.len());
    assert_eq!(report.exact_duplicates, 2 * 2080 - once.plays.len());
    let a = Stats::build(&once.plays, Settings::default());
    let b = Stats::build(&twice.plays, Settings::default());
    assert_eq!(a.total, b.total);
}

#[test]
fn old_extended_files_without_uris_still_name_their_tracks() {
    let lib = load_one("extended/endsong_2.json");
    let tracks: Vec<_> = lib.plays.iter().filter(|p| p.kind == Kind::Track).collect();
    assert!(tracks.len() > 4000);
    assert!(tracks.iter().all(|p| p.title.is_some() && !p.uri.is_some()));
    let first = lib
        .plays
        .iter()
        .find(|p| lib.strings.get(p.title) == "Blackout Control")
        .unwrap();
    assert_eq!(lib.strings.get(first.creator), "Spendtime Palace");
    assert_eq!(
        schema::time::format_rfc3339(first.end_ms),
        "2020-03-12T01:20:18Z"
    );
    assert_eq!(first.ms_played, 181_121);
}

#[test]
fn distinct_names_match_an_independent_count() {
    let rel = "extended/Streaming_History_Audio_2023.json";
    let text = std::fs::read_to_string(samples().join(rel)).unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let artists: HashSet<&str> = rows
        .iter()
        .filter_map(|r| r["master_metadata_album_artist_name"].as_str())
        .collect();
    let lib = load_one(rel);
    let stats = Stats::build(&lib.plays, Settings::default());
    assert_eq!(stats.distinct(schema::EntityKind::Artist), artists.len());
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
    out
}

/// `backspin inspect` prints `Summary::tally`; an upload keeps `Summary::new` over its
/// `Stats`. On every real sample (old and new formats, account data with podcasts and
/// audiobooks, rows without metadata) they must say the same, in any zone and threshold.
#[test]
fn the_summary_inspect_prints_equals_the_one_an_upload_keeps() {
    let dirs = ["account", "extended", "pair-same-user", ""];
    for dir in dirs {
        let mut lib = load_paths(&walk(&samples().join(dir)));
        assert!(!lib.plays.is_empty(), "{dir}: no plays");
        let report = schema::dedupe(&mut lib.plays);
        for (tz, min_play_ms) in [
            ("UTC", 30_000),
            ("Europe/Stockholm", 0),
            ("Asia/Kolkata", 30_000),
        ] {
            let settings = Settings {
                tz: tz.parse().unwrap(),
                min_play_ms,
                ..Settings::default()
            };
            let stats = Stats::build(&lib.plays, settings);
            assert_eq!(
                serde_json::to_value(schema::Summary::tally(&lib, &report, settings)).unwrap(),
                serde_json::to_value(schema::Summary::new(&lib, &report, &stats)).unwrap(),
                "samples/{dir} in {tz} from {min_play_ms} ms"
            );
        }
    }
}
