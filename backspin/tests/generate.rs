//! Exports from `synth`, read back by the real ingestion (`schema::load`, `dedupe`,
//! `Stats::build`, `Summary::new`, as `backspin inspect` does), give the facts the generator
//! computed from its own streams: for every generation, as folders and as a zip, with
//! account data, duplicates, unsorted records and hostile names.

use std::collections::HashSet;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use schema::formats::Style;
use schema::{EntityKind, Limits, RankBy, Settings, Stats, Status, Summary};
use synth::{Export, Generation, Options};

/// What the ingestion made of some inputs.
struct Ingested {
    summary: Summary,
    top_artists_by_plays: Vec<(String, u64)>,
}

fn ingest(inputs: &[(String, Vec<u8>)]) -> Ingested {
    let names: Vec<String> = inputs.iter().map(|(n, _)| n.clone()).collect();
    let mut lib = schema::load(
        &names,
        |i| Ok(Cursor::new(inputs[i].1.as_slice())),
        &Limits::default(),
    );
    let report = schema::dedupe(&mut lib.plays);
    let stats = Stats::build(&lib.plays, Settings::default());
    let summary = Summary::new(&lib, &report, &stats);
    let top_artists_by_plays = stats
        .top(EntityKind::Artist, RankBy::Plays, None, &lib.strings, 10)
        .into_iter()
        .map(|(e, c)| (lib.strings.get(e.name).to_string(), c.plays))
        .collect();
    Ingested {
        summary,
        top_artists_by_plays,
    }
}

fn zipped(export: &Export) -> Vec<(String, Vec<u8>)> {
    let zip = synth::zip_to(export, Cursor::new(Vec::new()))
        .expect("zip in memory")
        .into_inner();
    vec![("my_spotify_data.zip".to_string(), zip)]
}

fn is_video(path: &str) -> bool {
    path.contains("Streaming_History_Video_") || path.ends_with("endvideo.json")
}

fn is_audio(path: &str) -> bool {
    path.contains("Streaming_History_Audio_") || path.contains("/endsong_")
}

/// Distinct (artist, title) pairs in the audio files, read with serde_json: how an export
/// without URIs tells tracks apart.
fn tracks_by_name(export: &Export) -> usize {
    let mut pairs = HashSet::new();
    for (path, bytes) in export.files.iter().filter(|(p, _)| is_audio(p)) {
        let rows: Vec<serde_json::Value> =
            serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
        for row in rows {
            if let (Some(artist), Some(title)) = (
                row["master_metadata_album_artist_name"].as_str(),
                row["master_metadata_track_name"].as_str(),
            ) {
                pairs.insert((artist.to_string(), title.to_string()));
            }
        }
    }
    pairs.len()
}

fn options(generation: Generation) -> Options {
    Options {
        plays: 4_000,
        seed: 11,
        generation,
        // Small files, so that every generation is split into several.
        max_file_bytes: 600_000,
        dupes: 0.01,
        unsorted: true,
        nasty: true,
        account_data: true,
        ..Options::default()
    }
}

/// Reads the export as separate files and as a zip and compares both with its facts.
fn read_back_gives_the_facts(generation: Generation) {
    let o = options(generation);
    let export = synth::generate(&o);
    let facts = &export.facts;
    assert!(
        facts.exact_duplicates >= 30,
        "the export carries duplicates: {}",
        facts.exact_duplicates
    );
    assert!(
        export.files.iter().filter(|(p, _)| is_audio(p)).count() >= 3,
        "split into several audio files"
    );

    for (how, inputs, prefix) in [
        ("files", export.files.clone(), ""),
        ("zip", zipped(&export), "my_spotify_data.zip/"),
    ] {
        let Ingested {
            summary: s,
            top_artists_by_plays,
        } = ingest(&inputs);
        let ctx = format!("{generation} as {how}");

        // Every JSON file is read whole, with the format and printing it claims.
        let used: Vec<_> = s
            .files
            .iter()
            .filter(|f| f.status == Status::Used)
            .collect();
        let used_names: Vec<&str> = used.iter().map(|f| f.name.as_str()).collect();
        let expected_names: Vec<String> =
            facts.files.iter().map(|f| format!("{prefix}{f}")).collect();
        assert_eq!(used_names, expected_names, "{ctx}");
        let others: Vec<_> = s
            .files
            .iter()
            .filter(|f| f.status != Status::Used)
            .map(|f| (&f.name, f.status))
            .collect();
        if how == "zip" {
            assert_eq!(
                others.len(),
                1,
                "{ctx}: only the ReadMe is left out: {others:?}"
            );
            assert!(
                others[0]
                    .0
                    .ends_with("ReadMeFirst_ExtendedStreamingHistory.pdf")
                    && others[0].1 == Status::Ignored
            );
        } else {
            assert!(others.is_empty(), "{ctx}: {others:?}");
        }
        assert_eq!(s.records_rejected, 0, "{ctx}");
        assert_eq!(
            used.iter().map(|f| f.bytes).sum::<u64>(),
            facts.bytes,
            "{ctx}"
        );
        for f in &used {
            let (variant, style) = (f.variant.as_deref(), f.style);
            if f.format == Some("account") {
                let kind = if f.name.contains("podcast") {
                    "podcast"
                } else {
                    "music"
                };
                assert_eq!(
                    (variant, style),
                    (Some(kind), Some(Style::Jackson)),
                    "{ctx}: {}",
                    f.name
                );
            } else {
                let printing = if matches!(generation, Generation::G1 | Generation::G3) {
                    Style::Minified
                } else {
                    Style::Pretty
                };
                let g = generation.to_string().to_uppercase();
                assert_eq!(
                    (variant, style),
                    (Some(g.as_str()), Some(printing)),
                    "{ctx}: {}",
                    f.name
                );
            }
        }

        // Counts: video rows are streams of their own (0 ms); account rows are all covered by
        // the extended history and dropped; exact duplicates go.
        let rows = |pick: &dyn Fn(&str, Option<&str>) -> bool| -> usize {
            used.iter()
                .filter(|f| pick(&f.name, f.format))
                .map(|f| f.records)
                .sum()
        };
        let video_rows = rows(&|name, _| is_video(name));
        let account_rows = rows(&|_, format| format == Some("account"));
        assert!(
            video_rows > 0 && account_rows > 100,
            "{ctx}: {video_rows} video, {account_rows} account rows"
        );
        assert_eq!(
            s.records,
            facts.records + video_rows + account_rows,
            "{ctx}"
        );
        assert_eq!(s.duplicates_dropped, facts.exact_duplicates, "{ctx}");
        assert_eq!(s.account_rows_covered_by_extended, account_rows, "{ctx}");
        assert_eq!(s.unique_records, facts.unique_records + video_rows, "{ctx}");

        // Totals, plays, entities, span, years and rankings.
        assert_eq!(s.total_ms_played, facts.total_ms_played, "{ctx}");
        assert_eq!(s.music_ms_played, facts.music_ms_played, "{ctx}");
        assert_eq!(s.episode_ms_played, facts.episode_ms_played, "{ctx}");
        assert_eq!(s.audiobook_ms_played, 0, "{ctx}");
        assert_eq!(s.plays, facts.plays_at_least_30s, "{ctx}");
        assert_eq!(s.distinct_artists, facts.distinct_artists, "{ctx}");
        // Tracks are told apart by artist and title (namesakes merge); the generator counts
        // URIs, which 2020 exports do not carry.
        assert_eq!(s.distinct_tracks, tracks_by_name(&export), "{ctx}");
        assert!(s.distinct_tracks <= facts.distinct_tracks, "{ctx}");
        if generation == Generation::G1 {
            assert_eq!(s.distinct_track_uris, 0, "{ctx}");
        } else {
            assert_eq!(s.distinct_track_uris, facts.distinct_tracks, "{ctx}");
        }
        assert_eq!(s.first_ts, facts.first_ts, "{ctx}");
        assert_eq!(s.last_ts, facts.last_ts, "{ctx}");
        assert_eq!(s.ms_played_by_year, facts.ms_played_by_year, "{ctx}");
        let top_artists: Vec<(String, u64)> = s
            .top_artists
            .iter()
            .map(|a| (a.name.clone(), a.ms_played))
            .collect();
        assert_eq!(top_artists, facts.top_artists_by_ms, "{ctx}");
        assert_eq!(
            top_artists_by_plays, facts.top_artists_by_plays_30s,
            "{ctx}"
        );
        let top_tracks: Vec<(String, String, u64)> = s
            .top_tracks
            .iter()
            .map(|t| {
                (
                    t.artist.clone().unwrap_or_default(),
                    t.name.clone(),
                    t.ms_played,
                )
            })
            .collect();
        assert_eq!(top_tracks, facts.top_tracks_by_ms, "{ctx}");
    }
}

#[test]
fn a_g1_export_read_back_as_files_or_as_a_zip_gives_the_generated_facts() {
    read_back_gives_the_facts(Generation::G1);
}

#[test]
fn a_g3_export_read_back_as_files_or_as_a_zip_gives_the_generated_facts() {
    read_back_gives_the_facts(Generation::G3);
}

#[test]
fn a_g4_export_read_back_as_files_or_as_a_zip_gives_the_generated_facts() {
    read_back_gives_the_facts(Generation::G4);
}

#[test]
fn a_g5_export_read_back_as_files_or_as_a_zip_gives_the_generated_facts() {
    read_back_gives_the_facts(Generation::G5);
}

#[test]
fn the_same_seed_gives_byte_identical_exports_and_another_seed_does_not() {
    let o = Options {
        plays: 2_000,
        account_data: true,
        nasty: true,
        unsorted: true,
        ..Options::default()
    };
    let (a, b) = (synth::generate(&o), synth::generate(&o));
    assert_eq!(a.files, b.files);
    assert_eq!(a.facts, b.facts);
    assert_eq!(zipped(&a), zipped(&b));

    let c = synth::generate(&Options {
        seed: o.seed + 1,
        ..o
    });
    assert_eq!(a.files[0].0, c.files[0].0, "the same first audio file");
    assert_ne!(a.files[0].1, c.files[0].1, "with other contents");
    assert_ne!(a.facts.top_artists_by_ms, c.facts.top_artists_by_ms);
}

/// A temporary folder removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("backspin-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn backspin(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_backspin"))
        .args(args)
        .output()
        .expect("backspin runs");
    assert!(
        out.status.success(),
        "backspin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("readable")).expect("JSON")
}

#[test]
fn backspin_generate_writes_a_zip_whose_inspection_matches_its_expected_json() {
    let tmp = TempDir::new("generate-zip");
    let dir = tmp.0.to_str().expect("UTF-8 temp path");
    backspin(&[
        "generate",
        "--plays",
        "3000",
        "--generation",
        "g3",
        "--zip",
        "--dupes",
        "0.01",
        "--out",
        dir,
    ]);
    let expected = json(&tmp.0.join("expected.json"));
    let summary: serde_json::Value = serde_json::from_slice(&backspin(&[
        "inspect",
        "--json",
        &format!("{dir}/my_spotify_data.zip"),
    ]))
    .expect("JSON");

    assert_eq!(
        summary["records"],
        expected["records"].as_u64().unwrap() + 5,
        "five video rows on top"
    );
    assert_eq!(summary["duplicates_dropped"], expected["exact_duplicates"]);
    for key in [
        "total_ms_played",
        "music_ms_played",
        "episode_ms_played",
        "distinct_artists",
        "first_ts",
        "last_ts",
        "ms_played_by_year",
    ] {
        assert_eq!(summary[key], expected[key], "{key}");
    }
    assert_eq!(summary["plays"], expected["plays_at_least_30s"]);
    assert_eq!(
        summary["top_artists"][0]["name"],
        expected["top_artists_by_ms"][0][0]
    );
}

#[test]
fn backspin_generate_writes_folders_as_spotify_names_them() {
    let tmp = TempDir::new("generate-dir");
    let dir = tmp.0.to_str().expect("UTF-8 temp path");
    let said = backspin(&[
        "generate",
        "--plays",
        "1500",
        "--generation",
        "g1",
        "--account-data",
        "--out",
        dir,
    ]);
    assert!(
        String::from_utf8_lossy(&said).starts_with("1500 records,"),
        "{}",
        String::from_utf8_lossy(&said)
    );
    for file in [
        "MyData/endsong_0.json",
        "MyData/endvideo.json",
        "MyData/StreamingHistory0.json",
        "expected.json",
    ] {
        assert!(tmp.0.join(file).is_file(), "{file} written");
    }
    let expected = json(&tmp.0.join("expected.json"));
    assert_eq!(expected["files"].as_array().map(Vec::len), Some(3));
}
