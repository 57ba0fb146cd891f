//! Exports from tools/gen_history.py (an independent Python generator) of every generation,
//! zipped and not, unsorted, with duplicates and hostile names: what we read must equal the
//! facts it writes to expected.json.

use std::path::{Path, PathBuf};
use std::process::Command;

use schema::{Library, Limits, Settings, Stats, Status, Summary};
use serde_json::Value;

struct Generated {
    dir: PathBuf,
    expected: Value,
}

impl Drop for Generated {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn generate(tag: &str, args: &[&str]) -> Generated {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::temp_dir().join(format!("backspin-gen-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let status = Command::new("python3")
        .arg(root.join("tools/gen_history.py"))
        .args(["--plays", "4000", "--seed", "7"])
        .args(args)
        .arg("--out")
        .arg(&dir)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 runs tools/gen_history.py");
    assert!(status.success(), "gen_history.py failed for {tag}");
    let expected =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    Generated { dir, expected }
}

fn files_below(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_below(&p, out);
        } else if p.file_name().is_some_and(|n| n != "expected.json") {
            out.push(p);
        }
    }
}

fn summarise(g: &Generated) -> (Library, Summary) {
    let mut paths = Vec::new();
    files_below(&g.dir, &mut paths);
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let mut lib = schema::load(
        &names,
        |i| std::fs::File::open(&paths[i]),
        &Limits::default(),
    );
    let report = schema::dedupe(&mut lib.plays);
    let stats = Stats::build(&lib.plays, Settings::default());
    let summary = Summary::new(&lib, &report, &stats);
    // What `backspin inspect` prints, computed without the dashboards' stats, says the same.
    assert_eq!(
        serde_json::to_value(Summary::tally(&lib, &report, Settings::default())).unwrap(),
        serde_json::to_value(&summary).unwrap(),
        "{}: Summary::tally and Summary::new differ",
        g.dir.display()
    );
    (lib, summary)
}

/// Compares everything expected.json states. `expected.json` counts the audio files only; the
/// video file adds a few episode rows with ms_played 0 (so totals are unchanged) and account
/// data is covered by the extended history.
fn check(tag: &str, args: &[&str]) {
    let g = generate(tag, args);
    let (_, s) = summarise(&g);
    let e = &g.expected;
    let n = |k: &str| e[k].as_u64().unwrap();
    for f in &s.files {
        assert_ne!(
            f.status,
            Status::Failed,
            "{tag}: {} failed: {:?}",
            f.name,
            f.error
        );
    }
    let video_rows: usize = s
        .files
        .iter()
        .filter(|f| f.name.contains("Video"))
        .map(|f| f.records)
        .sum();
    let account_rows: usize = s
        .files
        .iter()
        .filter(|f| f.format == Some("account"))
        .map(|f| f.records)
        .sum();
    assert_eq!(
        s.records,
        n("records") as usize + video_rows + account_rows,
        "{tag}: records"
    );
    // A video row can repeat an audio record exactly (an episode that played 0 ms): then it is
    // a duplicate too. Every row is either unique or a dropped duplicate.
    let extra_dupes = s.duplicates_dropped as u64 - n("exact_duplicates");
    assert!(
        extra_dupes <= video_rows as u64,
        "{tag}: duplicates {} vs {}",
        s.duplicates_dropped,
        n("exact_duplicates")
    );
    assert_eq!(
        s.unique_records as u64,
        n("unique_records") + video_rows as u64 - extra_dupes,
        "{tag}: unique"
    );
    assert_eq!(
        s.account_rows_covered_by_extended, account_rows,
        "{tag}: account rows"
    );
    assert_eq!(s.total_ms_played, n("total_ms_played"), "{tag}: total");
    assert_eq!(s.music_ms_played, n("music_ms_played"), "{tag}: music");
    assert_eq!(
        s.episode_ms_played,
        n("episode_ms_played"),
        "{tag}: episodes"
    );
    assert_eq!(s.plays, n("plays_at_least_30s"), "{tag}: plays");
    assert_eq!(
        s.distinct_artists as u64,
        n("distinct_artists"),
        "{tag}: artists"
    );
    if args.contains(&"g1") {
        // 2020 exports carry no URIs: tracks are told apart by artist and title, which merges
        // the generator's same-titled tracks of one artist.
        assert!(
            s.distinct_tracks as u64 <= n("distinct_tracks")
                && s.distinct_tracks as u64 * 10 > n("distinct_tracks") * 9
        );
    } else {
        // The generator counts tracks by URI; every view counts them by artist and title,
        // which merges its same-titled tracks of one artist.
        assert_eq!(
            s.distinct_track_uris as u64,
            n("distinct_tracks"),
            "{tag}: track URIs"
        );
        assert!(s.distinct_tracks <= s.distinct_track_uris, "{tag}: tracks");
    }
    if args.contains(&"--unsorted") {
        // expected.json takes the first and last record in file order, which --unsorted
        // swaps; the true first and last streams lie at or beyond them.
        assert!(
            s.first_ts.as_deref() <= e["first_ts"].as_str(),
            "{tag}: first"
        );
        assert!(s.last_ts.as_deref() >= e["last_ts"].as_str(), "{tag}: last");
    } else {
        assert_eq!(
            s.first_ts.as_deref(),
            e["first_ts"].as_str(),
            "{tag}: first"
        );
        assert_eq!(s.last_ts.as_deref(), e["last_ts"].as_str(), "{tag}: last");
    }
    let by_year: Value = serde_json::to_value(&s.ms_played_by_year).unwrap();
    assert_eq!(by_year, e["ms_played_by_year"], "{tag}: by year");
    let top_artists: Vec<Value> = s
        .top_artists
        .iter()
        .map(|a| serde_json::json!([a.name, a.ms_played]))
        .collect();
    assert_eq!(
        Value::from(top_artists),
        e["top_artists_by_ms"],
        "{tag}: top artists"
    );
    let top_tracks: Vec<Value> = s
        .top_tracks
        .iter()
        .map(|t| serde_json::json!([t.artist, t.name, t.ms_played]))
        .collect();
    assert_eq!(
        Value::from(top_tracks),
        e["top_tracks_by_ms"],
        "{tag}: top tracks"
    );
}

#[test]
fn g1_export_in_folders_matches_its_expected_facts() {
    check("g1", &["--generation", "g1"]);
}

#[test]
fn g3_zip_with_account_data_matches_its_expected_facts() {
    check("g3zip", &["--generation", "g3", "--zip", "--account-data"]);
}

#[test]
fn g4_export_with_account_data_matches_its_expected_facts() {
    check("g4", &["--generation", "g4", "--account-data"]);
}

#[test]
fn g5_zip_split_into_small_files_matches_its_expected_facts() {
    check(
        "g5zip",
        &["--generation", "g5", "--zip", "--max-file-mb", "0.3"],
    );
}

#[test]
fn unsorted_export_with_many_duplicates_matches_its_expected_facts() {
    check(
        "dupes",
        &["--generation", "g3", "--unsorted", "--dupes", "0.05"],
    );
}

#[test]
fn hostile_names_are_read_verbatim_and_match_the_expected_facts() {
    check(
        "nasty",
        &["--generation", "g5", "--nasty", "--zip", "--account-data"],
    );
    let g = generate("nasty-names", &["--generation", "g4", "--nasty"]);
    let (lib, _) = summarise(&g);
    let names: Vec<&str> = (1..=lib.strings.len())
        .map(|i| lib.strings.get(schema::Sym(i as u32)))
        .collect();
    for hostile in [
        "<script>alert(\"xss\")</script>",
        "'; DROP TABLE plays; --",
        "NUL\u{FFFD}byte",
        "\u{202e}evil\u{202c}",
    ] {
        assert!(
            names.iter().any(|n| n.contains(hostile)),
            "{hostile:?} should survive parsing (NUL as U+FFFD)"
        );
    }
}
