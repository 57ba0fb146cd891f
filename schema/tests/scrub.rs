//! The scrubbed copy of an upload: loading it gives what loading the upload gives, and no
//! personal value of the upload is in it.

use std::collections::BTreeSet;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

mod common;

use proptest::prelude::*;
use schema::scrub::{rewrite, stand_in};
use schema::{Library, Limits, Platform, Play, ScrubError, ScrubReport, Status, Strings};
use serde_json::Value;

/// The keys that hold personal data (SPOTIFY_FORMATS.md), written out here rather than taken
/// from the module, so that a key missing there fails these tests.
const PERSONAL: [&str; 9] = [
    "username",
    "ip_addr",
    "ip_addr_decrypted",
    "user_agent_decrypted",
    "city",
    "region",
    "metro_code",
    "longitude",
    "latitude",
];

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/samples")
}

fn sample_files() -> Vec<PathBuf> {
    fn below(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                below(&p, out);
            } else if p.extension().is_some_and(|e| e == "json") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    below(&samples(), &mut out);
    assert!(out.len() >= 13, "the samples are there");
    out
}

fn load_bytes(name: &str, bytes: &[u8]) -> Library {
    schema::load(
        &[name.to_string()],
        |_| Ok(Cursor::new(bytes)),
        &Limits::default(),
    )
}

fn scrub_bytes(name: &str, bytes: &[u8]) -> (Vec<u8>, ScrubReport) {
    let mut out = Vec::new();
    let report = schema::scrub(
        name,
        || Ok(Cursor::new(bytes)),
        &mut out,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(report.zip_bytes, out.len() as u64);
    (out, report)
}

/// Every field of every play after dedupe, names resolved (symbol numbers differ by load).
fn plays(lib: &mut Library) -> Vec<String> {
    schema::dedupe(&mut lib.plays);
    let s: &Strings = &lib.strings;
    let mut out: Vec<String> = lib
        .plays
        .iter()
        .map(|p: &Play| {
            format!(
                "{} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {}",
                p.end_ms,
                p.ms_played,
                p.kind,
                p.source,
                s.get(p.title),
                s.get(p.creator),
                s.get(p.collection),
                s.get(p.uri),
                s.get(p.reason_start),
                s.get(p.reason_end),
                p.shuffle,
                p.skipped,
                p.offline,
                p.incognito,
                p.platform,
                p.country.as_str(),
            )
        })
        .collect();
    out.sort();
    out
}

fn used(lib: &Library) -> usize {
    lib.files
        .iter()
        .filter(|f| f.status == Status::Used)
        .count()
}

/// The entries of a zip: name and contents.
fn entries(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    (0..z.len())
        .map(|i| {
            let mut e = z.by_index(i).unwrap();
            let mut bytes = Vec::new();
            e.read_to_end(&mut bytes).unwrap();
            (e.name().unwrap().into_owned(), bytes)
        })
        .collect()
}

fn zip_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        z.start_file(name, options).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap().into_inner()
}

/// Scrubs an upload and checks that loading the copy gives what loading the upload gives;
/// returns the copy.
fn scrub_and_compare(name: &str, upload: &[u8]) -> Vec<u8> {
    let mut before = load_bytes(name, upload);
    let (copy, report) = scrub_bytes(name, upload);
    let mut after = load_bytes("scrubbed.zip", &copy);
    assert!(used(&before) > 0, "{name}: nothing to compare");
    assert_eq!(used(&after), used(&before), "{name}: used files");
    assert_eq!(report.files.len(), used(&before), "{name}: files kept");
    assert_eq!(after.files.len(), used(&after), "{name}: only used files");
    assert_eq!(after.records(), before.records(), "{name}: records");
    assert_eq!(report.records, before.records(), "{name}: records reported");
    let rejected = |l: &Library| l.files.iter().map(|f| f.rejected).sum::<usize>();
    assert_eq!(rejected(&after), rejected(&before), "{name}: rejected");
    assert_eq!(plays(&mut after), plays(&mut before), "{name}: plays");
    copy
}

/// Values the copy must not hold: the platform strings that are not their family's stand-in,
/// and those of the removed keys, in every record of every history file of the upload (at
/// most 40 of those, spread over them: one address per record makes thousands, and each is
/// looked for in every entry, which takes long in a debug build). Also returns the text of
/// the kept fields, which may hold some of them as well (`"unknown"` is a user agent and a
/// reason).
fn personal_values(files: &[(String, Vec<u8>)]) -> (BTreeSet<String>, String) {
    let (mut platforms, mut personal) = (BTreeSet::new(), BTreeSet::new());
    let mut kept_text = String::new();
    for (_, bytes) in files {
        let Ok(Value::Array(records)) = serde_json::from_slice::<Value>(bytes) else {
            continue;
        };
        for r in records {
            let Value::Object(m) = r else { continue };
            for (k, v) in m {
                let text = match &v {
                    Value::Null => continue,
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if PERSONAL.contains(&k.as_str()) {
                    personal.insert(text);
                } else if k == "platform" {
                    if text != stand_in(Platform::classify(&text)) {
                        platforms.insert(text);
                    }
                } else {
                    kept_text.push_str(&text);
                    kept_text.push('\n');
                    kept_text.push_str(&v.to_string());
                    kept_text.push('\n');
                }
            }
        }
    }
    let step = personal.len().div_ceil(40).max(1);
    let mut personal: BTreeSet<String> = personal.into_iter().step_by(step).collect();
    personal.extend(platforms);
    (personal, kept_text)
}

/// Asserts that no personal value and no removed key is in any entry of the copy; returns how
/// many values were looked for.
fn assert_nothing_personal(what: &str, upload: &[(String, Vec<u8>)], copy: &[u8]) -> usize {
    let (personal, kept_text) = personal_values(upload);
    for (name, bytes) in entries(copy) {
        let text = String::from_utf8(bytes).unwrap();
        for p in &personal {
            let escaped = serde_json::to_string(p).unwrap();
            let escaped = &escaped[1..escaped.len() - 1];
            let found = text.contains(p.as_str()) || (escaped != p && text.contains(escaped));
            assert!(
                !found || kept_text.contains(p.as_str()),
                "{what}: {name} still holds {p:?}"
            );
        }
        for key in PERSONAL {
            let quoted = format!("\"{key}\"");
            for (at, _) in text.match_indices(&quoted) {
                let after = text[at + quoted.len()..].trim_start();
                assert!(!after.starts_with(':'), "{what}: {name} still has {key:?}");
            }
        }
    }
    personal.len()
}

#[test]
fn every_sample_scrubbed_loads_to_the_same_plays_and_keeps_nothing_personal() {
    let mut all = Vec::new();
    for path in sample_files() {
        let bytes = std::fs::read(&path).unwrap();
        let rel = path.strip_prefix(samples()).unwrap().display().to_string();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let copy = scrub_and_compare(&name, &bytes);
        let kept = entries(&copy);
        assert_eq!(kept.len(), 1, "{rel}");
        assert_eq!(kept[0].0, name, "{rel}: a single file keeps its name");
        all.push((format!("my_spotify_data/{rel}"), bytes));
    }
    // All of them as one zip, in nested folders, beside the other files of an export.
    let mut upload = all.clone();
    upload.push((
        "my_spotify_data/Spotify Account Data/Userdata.json".into(),
        br#"{"username":"someone","email":"someone@example.com","country":"SE"}"#.to_vec(),
    ));
    upload.push((
        "my_spotify_data/ReadMeFirst.pdf".into(),
        b"%PDF-1.4 placeholder".to_vec(),
    ));
    let zip = zip_of(&upload);
    let copy = scrub_and_compare("my_spotify_data.zip", &zip);
    let names: Vec<String> = entries(&copy).into_iter().map(|(n, _)| n).collect();
    let expected: Vec<String> = all.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(names, expected);
    let checked = assert_nothing_personal("the samples' zip", &upload, &copy);
    // The redacted samples still hold documentation-range addresses and verbose platforms.
    assert!(checked > 30, "only {checked} personal values to look for");
}

#[test]
fn synthetic_exports_of_every_generation_scrubbed_load_to_the_same_plays() {
    for generation in synth::Generation::ALL {
        let export = synth::generate(&synth::Options {
            plays: 3000,
            first_year: 2016,
            last_year: 2020,
            seed: 11,
            generation,
            max_file_bytes: 400_000,
            unsorted: generation == synth::Generation::G1,
            nasty: true,
            account_data: true,
            ..synth::Options::default()
        });
        let zip = synth::zip_to(&export, Cursor::new(Vec::new()))
            .unwrap()
            .into_inner();
        let what = format!("synth {generation}");
        let copy = scrub_and_compare(&what, &zip);
        assert!(entries(&copy).len() > 2, "{what}: several files");
        let checked = assert_nothing_personal(&what, &export.files, &copy);
        if matches!(generation, synth::Generation::G1 | synth::Generation::G3) {
            // A username, addresses and verbose platforms with a device id.
            assert!(checked > 30, "{what}: only {checked} personal values");
            let all: Vec<u8> = export.files.iter().flat_map(|(_, b)| b.clone()).collect();
            let all = String::from_utf8_lossy(&all);
            assert!(all.contains("0f1e2d3c4b5a69788796a5b4c3d2e1f0"));
            for (_, bytes) in entries(&copy) {
                assert!(!String::from_utf8_lossy(&bytes).contains("0f1e2d3c4b5a6978"));
            }
        }
    }
}

#[test]
fn files_of_an_export_that_are_not_histories_are_left_out() {
    let history =
        br#"[{"endTime":"2024-01-01 10:00","artistName":"A","trackName":"T","msPlayed":1000}]"#;
    let upload = vec![
        (
            "Spotify Account Data/StreamingHistory_music_0.json".to_string(),
            history.to_vec(),
        ),
        (
            "Spotify Account Data/Userdata.json".into(),
            br#"{"username":"u1","email":"someone@example.com","birthdate":"1990-01-01"}"#.to_vec(),
        ),
        (
            "Spotify Account Data/Identifiers.json".into(),
            br#"{"identifierType":"email","identifierValue":"someone@example.com"}"#.to_vec(),
        ),
        (
            "Spotify Account Data/Inferences.json".into(),
            br#"{"inferences":["1P_Custom_Someone"]}"#.to_vec(),
        ),
        (
            "Spotify Account Data/Payments.json".into(),
            br#"[{"payment_method":"card ending 4242"}]"#.to_vec(),
        ),
        (
            // Broken: a load fails it, so it is not kept.
            "Spotify Account Data/StreamingHistory_music_1.json".into(),
            br#"[{"endTime":"2024-01-01 10:00","artistName":"secret"#.to_vec(),
        ),
        ("Spotify Account Data/ReadMe.pdf".into(), b"%PDF".to_vec()),
        (
            "inner.zip".into(),
            zip_of(&[("x.json".into(), b"[]".to_vec())]),
        ),
    ];
    let zip = zip_of(&upload);
    let copy = scrub_and_compare("my_spotify_data.zip", &zip);
    let kept = entries(&copy);
    assert_eq!(kept.len(), 1);
    assert_eq!(
        kept[0].0,
        "Spotify Account Data/StreamingHistory_music_0.json"
    );
    assert_eq!(kept[0].1, history, "account data has nothing to remove");
    let copy = String::from_utf8_lossy(&copy);
    for gone in ["example.com", "1990-01-01", "4242", "Someone", "secret"] {
        assert!(!copy.contains(gone), "{gone}");
    }
}

/// Escaped quotes and backslashes before closing quotes, removed keys first, last and alone,
/// Jackson spacing, pretty printing, non-ASCII text.
const TRICKY: &str = r#"[ {
  "username" : "a\"b\\",
  "ts" : "2021-03-04T05:06:07Z",
  "platform" : "Partner amazon_salmon Amazon;Echo_Dot;0123456789abcdef0123456789abcdef;;tpapi",
  "ms_played" : 1000,
  "master_metadata_track_name" : "Quote \" and \\ and \\\" and \u00e9 é 日本 🎵\\",
  "master_metadata_album_artist_name" : "\\",
  "master_metadata_album_album_name" : "ip_addr",
  "spotify_track_uri" : "spotify:track:0000000000000000000000",
  "ip_addr" : "2001:db8::1",
  "reason_start" : "a,\"b\":{}",
  "reason_end" : null,
  "shuffle" : true,
  "latitude" : 52.1
}, {
  "city" : "Göteborg"
}, {
  "ts" : "2021-03-04T05:06:08Z",
  "ms_played" : 0,
  "platform" : null,
  "user_agent_decrypted" : "Mozilla/5.0 (\"x\")\\",
  "conn_country" : "SE",
  "region" : {"nested": ["a", {"city": "x"}]}
},
{"ts":"2021-03-04T05:06:09Z","ms_played":5,"platform":"iOS 14.7.1 (iPhone10,3)","metro_code":0}
]"#;

const TRICKY_SCRUBBED: &str = r#"[ {
  "ts" : "2021-03-04T05:06:07Z",
  "platform" : "speaker",
  "ms_played" : 1000,
  "master_metadata_track_name" : "Quote \" and \\ and \\\" and \u00e9 é 日本 🎵\\",
  "master_metadata_album_artist_name" : "\\",
  "master_metadata_album_album_name" : "ip_addr",
  "spotify_track_uri" : "spotify:track:0000000000000000000000",
  "reason_start" : "a,\"b\":{}",
  "reason_end" : null,
  "shuffle" : true
}, {
}, {
  "ts" : "2021-03-04T05:06:08Z",
  "ms_played" : 0,
  "platform" : null,
  "conn_country" : "SE"
},
{"ts":"2021-03-04T05:06:09Z","ms_played":5,"platform":"android"}
]"#;

#[test]
fn a_tricky_file_is_rewritten_to_valid_json_with_what_it_should_hold() {
    let mut out = Vec::new();
    let counts = rewrite(&mut TRICKY.as_bytes(), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text, TRICKY_SCRUBBED);
    assert_eq!(counts.records, 4);
    assert_eq!(counts.bytes_in, TRICKY.len() as u64);
    assert_eq!(counts.bytes_out, TRICKY_SCRUBBED.len() as u64);
    // Valid JSON, and what an independent reader makes of it.
    let parsed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        parsed[0]["master_metadata_track_name"],
        "Quote \" and \\ and \\\" and é é 日本 🎵\\"
    );
    assert_eq!(parsed[1], serde_json::json!({}));
    // As an upload, through the whole scrub: the records the parser takes are the same.
    let (copy, report) = scrub_bytes("tricky.json", TRICKY.as_bytes());
    assert_eq!(report.files, ["tricky.json"]);
    assert_eq!(entries(&copy)[0].1, TRICKY_SCRUBBED.as_bytes());
    scrub_and_compare("tricky.json", TRICKY.as_bytes());
}

#[test]
fn a_file_that_would_compress_like_a_zip_bomb_is_stored_so_that_its_copy_still_loads() {
    let record = r#"{"ts":"2021-03-04T05:06:07Z","ms_played":1000,"platform":"ios","conn_country":"SE","master_metadata_track_name":"T","spotify_track_uri":"spotify:track:0000000000000000000000"}"#;
    let text = format!("[{}]", vec![record; 20_000].join(",\n"));
    let mut z =
        zip::ZipArchive::new(Cursor::new(scrub_and_compare("same.json", text.as_bytes()))).unwrap();
    let entry = z.by_index_raw(0).unwrap();
    assert_eq!(entry.compression(), zip::CompressionMethod::Stored);
}

#[test]
fn failures_name_the_file() {
    let mut out = Vec::new();
    let err = schema::scrub(
        "my_spotify_data.zip",
        || std::fs::File::open("/nonexistent/upload"),
        &mut out,
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ScrubError::Read { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("my_spotify_data.zip: cannot be opened")
    );

    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let err = schema::scrub(
        "tricky.json",
        || Ok(Cursor::new(TRICKY.as_bytes())),
        Full,
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ScrubError::Write { .. }), "{err:?}");
    assert!(err.to_string().contains("tricky.json"), "{err}");
    assert!(err.to_string().contains("disk full"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Random records

/// The fixed seed of this file's properties.
const SEED: u64 = 0x5c2b_5bac_5a1d;

fn cases(default: u32) -> ProptestConfig {
    common::cases(default, SEED)
}

/// Keys of the random records: the removed ones, `platform`, and others (some that look alike).
fn keys() -> Vec<&'static str> {
    let others = [
        "platform",
        "ts",
        "ms_played",
        "master_metadata_track_name",
        "a\"b",
        "c\\",
        "é🎵",
        "platforms",
        "",
    ];
    PERSONAL.iter().copied().chain(others).collect()
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\"\\\\a-z,:{}\\[\\] é🎵]{0,12}",
        proptest::sample::select(vec![
            "Partner amazon_salmon Amazon;Echo_Dot;0f1e2d3c4b5a69788796a5b4c3d2e1f0;;tpapi",
            "Android OS 12 API 31 (samsung, SM-G781U)",
            "web_player windows 10;chrome 95.0.4638.69;desktop",
            "Partner google cast_tv;Chromecast;;",
            "ios",
        ])
        .prop_map(String::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            proptest::collection::btree_map("city|ts|[a-z]{1,3}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON string, every character written as a `\u` escape when `escaped`.
fn quoted(s: &str, escaped: bool) -> String {
    if !escaped {
        return serde_json::to_string(s).unwrap();
    }
    let mut out = String::from("\"");
    for unit in s.encode_utf16() {
        out.push_str(&format!("\\u{unit:04x}"));
    }
    out.push('"');
    out
}

type Member = (&'static str, bool, Value);

/// Writes records as minified (0), 2-space pretty (1) or Jackson (2) text.
fn render(records: &[Vec<Member>], style: u8) -> String {
    let (open, sep, colon, indent, close, end) = match style {
        0 => ("[", ",", ":", "", "", "]"),
        1 => ("[\n  ", ",\n  ", ": ", "\n    ", "\n  ", "\n]"),
        _ => ("[ ", ", ", " : ", "\n  ", "\n", " ]"),
    };
    let body: Vec<String> = records
        .iter()
        .map(|members| {
            let members: Vec<String> = members
                .iter()
                .map(|(k, escaped, v)| format!("{indent}{}{colon}{v}", quoted(k, *escaped)))
                .collect();
            if members.is_empty() {
                "{}".to_string()
            } else {
                format!("{{{}{close}}}", members.join(","))
            }
        })
        .collect();
    format!("{open}{}{end}", body.join(sep))
}

fn records() -> impl Strategy<Value = Vec<Vec<Member>>> {
    let record = (
        proptest::sample::subsequence(keys(), 0..=keys().len()).prop_shuffle(),
        proptest::collection::vec((any::<bool>(), json_value(), text()), keys().len()),
    )
        .prop_map(|(keys, values)| {
            keys.into_iter()
                .zip(values)
                .map(|(k, (escaped, v, platform))| {
                    // Platforms are mostly strings, as in exports.
                    let v = if k == "platform" && !matches!(v, Value::Null) {
                        Value::from(platform)
                    } else {
                        v
                    };
                    (k, escaped, v)
                })
                .collect::<Vec<Member>>()
        });
    proptest::collection::vec(record, 0..6)
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn random_records_come_out_as_they_went_in_less_personal_keys_with_platforms_mapped(
        records in records(),
        style in 0u8..3,
    ) {
        let text = render(&records, style);
        let mut out = Vec::new();
        let counts = rewrite(&mut text.as_bytes(), &mut out).unwrap();
        prop_assert_eq!(counts.records, records.len());
        let got: Value = serde_json::from_slice(&out)
            .map_err(|e| TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&out))))?;
        // The input as serde_json reads it (so that numbers are rounded alike on both sides),
        // less the personal keys, platforms mapped.
        let Value::Array(mut expected) = serde_json::from_str(&text).unwrap() else {
            unreachable!("an array was written")
        };
        for record in &mut expected {
            let record = record.as_object_mut().unwrap();
            record.retain(|k, _| !PERSONAL.contains(&k.as_str()));
            if let Some(Value::String(s)) = record.get("platform") {
                let family = Platform::classify(s);
                record.insert("platform".into(), Value::from(stand_in(family)));
            }
        }
        prop_assert_eq!(got, Value::Array(expected));
    }
}
