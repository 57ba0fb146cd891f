//! Bad input, as people upload it by mistake or on purpose (SPOTIFY_FORMATS.md, last section).
//!
//! Every test goes through `schema::load` with several in-memory inputs, as the app does, and
//! checks what a user would see: the report of the bad file (its name, status and message, with
//! the line and column for broken JSON), that nothing panics, and that the good file of the same
//! run still gives its plays.

use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use schema::{FileReport, Library, Limits, Status};
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

// ---------------------------------------------------------------------------------------------
// Inputs

/// One extended-history record with the G3 keys, as Spotify writes them.
fn record(ts: &str, ms: u64, track: &str) -> serde_json::Value {
    serde_json::json!({
        "ts": ts, "username": "someone", "platform": "android", "ms_played": ms,
        "conn_country": "SE", "ip_addr_decrypted": null, "user_agent_decrypted": null,
        "master_metadata_track_name": track, "master_metadata_album_artist_name": "An Artist",
        "master_metadata_album_album_name": "An Album",
        "spotify_track_uri": "spotify:track:4uLU6hMCjMI75M1A2tKUQC",
        "episode_name": null, "episode_show_name": null, "spotify_episode_uri": null,
        "reason_start": "clickrow", "reason_end": "trackdone", "shuffle": false,
        "skipped": null, "offline": false, "offline_timestamp": 1_683_000_000, "incognito_mode": false
    })
}

fn pretty(records: &[serde_json::Value]) -> Vec<u8> {
    serde_json::to_vec_pretty(records).unwrap()
}

const GOOD: &str = "Streaming_History_Audio_2023_0.json";

/// The file every run carries beside the bad ones: two streams that must always count.
fn good_history() -> Vec<u8> {
    pretty(&[
        record("2023-05-01T10:00:00Z", 200_000, "Good Song A"),
        record("2023-05-01T10:04:00Z", 180_000, "Good Song B"),
    ])
}

/// How to open an input, afresh each time `load` asks.
enum Input {
    Bytes(Vec<u8>),
    /// A file that says it is `len` bytes long and streams `[` then spaces for `actual` bytes,
    /// counting every byte handed out.
    Huge {
        len: u64,
        actual: u64,
        served: Arc<AtomicU64>,
    },
}

impl Input {
    fn open(&self) -> Source {
        match self {
            Input::Bytes(b) => Source::Bytes(Cursor::new(b.clone())),
            Input::Huge {
                len,
                actual,
                served,
            } => Source::Huge {
                len: *len,
                actual: *actual,
                pos: 0,
                served: served.clone(),
            },
        }
    }
}

enum Source {
    Bytes(Cursor<Vec<u8>>),
    Huge {
        len: u64,
        actual: u64,
        pos: u64,
        served: Arc<AtomicU64>,
    },
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Bytes(c) => c.read(buf),
            Source::Huge {
                actual,
                pos,
                served,
                ..
            } => {
                let n = (*actual - (*pos).min(*actual)).min(buf.len() as u64) as usize;
                buf[..n].fill(b' ');
                if *pos == 0 && n > 0 {
                    buf[0] = b'[';
                }
                *pos += n as u64;
                served.fetch_add(n as u64, Ordering::Relaxed);
                Ok(n)
            }
        }
    }
}

impl Seek for Source {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        match self {
            Source::Bytes(c) => c.seek(to),
            Source::Huge { len, pos, .. } => {
                *pos = match to {
                    SeekFrom::Start(n) => n,
                    SeekFrom::End(d) => len
                        .checked_add_signed(d)
                        .ok_or(io::ErrorKind::InvalidInput)?,
                    SeekFrom::Current(d) => pos
                        .checked_add_signed(d)
                        .ok_or(io::ErrorKind::InvalidInput)?,
                };
                Ok(*pos)
            }
        }
    }
}

fn run_with(inputs: &[(&str, Input)], limits: &Limits) -> Library {
    let names: Vec<String> = inputs.iter().map(|(n, _)| n.to_string()).collect();
    schema::load(&names, |i| Ok(inputs[i].1.open()), limits)
}

/// Loads the given files with the good history last, as one run with the default limits.
fn run(bad: Vec<(&str, Vec<u8>)>) -> Library {
    let mut inputs: Vec<(&str, Input)> =
        bad.into_iter().map(|(n, b)| (n, Input::Bytes(b))).collect();
    inputs.push((GOOD, Input::Bytes(good_history())));
    run_with(&inputs, &Limits::default())
}

/// A zip of the given entries, deflated.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    zip_with(CompressionMethod::Deflated, entries)
}

fn zip_with(method: CompressionMethod, entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(method);
    for (name, data) in entries {
        w.start_file(*name, options).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A field of a zip entry's local and central headers, by its offsets in each.
#[derive(Clone, Copy)]
enum Field {
    Method = 8,
    Crc = 14,
    UncompressedSize = 22,
}

/// Rewrites a field of an entry, in its local and its central header.
fn patch(zip: &mut [u8], entry: &str, field: Field, value: &[u8]) {
    let mut patched = 0;
    for at in 0..zip.len().saturating_sub(46) {
        // Fields sit 2 bytes later in a central header than in a local one.
        let (name_len_at, name_at, field_at) = match &zip[at..at + 4] {
            b"PK\x03\x04" => (26, 30, field as usize),
            b"PK\x01\x02" => (28, 46, field as usize + 2),
            _ => continue,
        };
        let name_len = usize::from(u16::from_le_bytes([
            zip[at + name_len_at],
            zip[at + name_len_at + 1],
        ]));
        if zip.get(at + name_at..at + name_at + name_len) == Some(entry.as_bytes()) {
            zip[at + field_at..at + field_at + value.len()].copy_from_slice(value);
            patched += 1;
        }
    }
    assert_eq!(patched, 2, "both headers of {entry} patched");
}

fn declare_size(zip: &mut [u8], entry: &str, size: u32) {
    patch(zip, entry, Field::UncompressedSize, &size.to_le_bytes());
}

// ---------------------------------------------------------------------------------------------
// What the user sees

fn report<'a>(lib: &'a Library, name: &str) -> &'a FileReport {
    lib.files
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| {
            let names: Vec<&str> = lib.files.iter().map(|f| f.name.as_str()).collect();
            panic!("no report named {name:?}; reports: {names:?}")
        })
}

/// Asserts the file's status and that its message says each of `says`; returns the message.
fn assert_report(lib: &Library, name: &str, status: Status, says: &[&str]) -> String {
    let r = report(lib, name);
    assert_eq!(r.status, status, "{name}: {r:?}");
    let message = r.message.clone().unwrap_or_default();
    for s in says {
        assert!(
            message.contains(s),
            "{name}: message {message:?} does not say {s:?}"
        );
    }
    message
}

fn titles(lib: &Library) -> Vec<&str> {
    lib.plays.iter().map(|p| lib.strings.get(p.title)).collect()
}

/// The good file of the run was read in full, whatever else happened.
fn assert_good_counted(lib: &Library, name: &str) {
    let r = report(lib, name);
    assert_eq!(
        (r.status, r.records, r.rejected),
        (Status::Used, 2, 0),
        "{r:?}"
    );
    let titles = titles(lib);
    for t in ["Good Song A", "Good Song B"] {
        assert_eq!(
            titles.iter().filter(|x| **x == t).count(),
            1,
            "{t} in {titles:?}"
        );
    }
}

/// `line L, column C` of a byte offset, counted by hand: 1-based, columns in bytes.
fn position(text: &[u8], offset: usize) -> String {
    let before = &text[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = offset
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    format!("line {line}, column {column} (byte {offset})")
}

// ---------------------------------------------------------------------------------------------
// Not JSON, broken JSON

#[test]
fn non_json_is_refused_naming_the_file_and_what_it_starts_with() {
    let lib = run(vec![
        ("notes.txt", b"my favourite songs:\n1. ...".to_vec()),
        (
            "Read_Me_First.json",
            b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj".to_vec(),
        ),
        (
            "page.json",
            b"\n\n  <html><body>Spotify</body></html>".to_vec(),
        ),
    ]);
    assert_report(
        &lib,
        "notes.txt",
        Status::Failed,
        &["not valid JSON at line 1, column 1", "my favourite"],
    );
    assert_report(
        &lib,
        "Read_Me_First.json",
        Status::Failed,
        &["line 1, column 1", "it starts with \"%PDF-1.7"],
    );
    assert_report(
        &lib,
        "page.json",
        Status::Failed,
        &["line 3, column 3 (byte 4)", "<html>"],
    );
    assert_good_counted(&lib, GOOD);
    assert_eq!(lib.plays.len(), 2);
}

#[test]
fn truncated_json_names_the_line_and_column_where_the_file_ends() {
    let full = good_history();
    let text = String::from_utf8(full.clone()).unwrap();
    // Cut inside a string, after a comma between records, inside a number, after a key.
    let in_string = text.find("Good Song B").unwrap() + 4;
    let after_comma = text.find("},").unwrap() + 2;
    let in_number = text.find("180000").unwrap() + 3;
    let after_key = text.rfind("\"skipped\"").unwrap() + 9;
    let cuts = [
        ("in_string.json", in_string),
        ("after_comma.json", after_comma),
        ("in_number.json", in_number),
        ("after_key.json", after_key),
    ];
    let lib = run(cuts
        .iter()
        .map(|&(name, at)| (name, full[..at].to_vec()))
        .collect());
    for (name, at) in cuts {
        let message = assert_report(
            &lib,
            name,
            Status::Failed,
            &["not valid JSON", "truncated download?"],
        );
        let at_end = position(&full[..at], at);
        assert!(
            message.contains(&at_end),
            "{name}: {message:?} should point at the end: {at_end}"
        );
        assert!(
            at_end.starts_with("line ") && !at_end.starts_with("line 1,"),
            "cut past the first line"
        );
    }
    assert_good_counted(&lib, GOOD);
}

#[test]
fn an_empty_file_says_it_is_empty() {
    let lib = run(vec![
        ("empty.json", Vec::new()),
        ("blank.json", b" \n\t\r\n".to_vec()),
    ]);
    assert_report(&lib, "empty.json", Status::Failed, &["the file is empty"]);
    assert_report(&lib, "blank.json", Status::Failed, &["the file is empty"]);
    assert_good_counted(&lib, GOOD);
}

#[test]
fn trailing_garbage_after_the_array_is_refused_with_its_position() {
    // A second closing bracket, as a botched hand edit leaves it.
    let mut extra = good_history();
    extra.extend_from_slice(b"\n]\n");
    let at = extra.len() - 2;
    let lib = run(vec![("Streaming_History_Audio_2023_1.json", extra.clone())]);
    let expected = position(&extra, at);
    assert_report(
        &lib,
        "Streaming_History_Audio_2023_1.json",
        Status::Failed,
        &["trailing characters", &expected],
    );
    assert_good_counted(&lib, GOOD);
    assert_eq!(lib.plays.len(), 2, "nothing of the broken file counts");
}

#[test]
fn an_empty_array_is_ignored_as_holding_no_streams() {
    let lib = run(vec![
        ("StreamingHistory_music_3.json", b"[]".to_vec()),
        ("spaced.json", b"[\n\n]\n".to_vec()),
    ]);
    assert_report(
        &lib,
        "StreamingHistory_music_3.json",
        Status::Ignored,
        &["not a listening history", "empty array"],
    );
    assert_report(&lib, "spaced.json", Status::Ignored, &["empty array"]);
    assert_good_counted(&lib, GOOD);
}

#[test]
fn an_object_instead_of_an_array_is_ignored_and_the_message_points_at_other_export_files() {
    let wrapped = format!(
        "{{\"streams\": {}}}",
        String::from_utf8(good_history()).unwrap()
    );
    let lib = run(vec![("wrapped.json", wrapped.into_bytes())]);
    assert_report(
        &lib,
        "wrapped.json",
        Status::Ignored,
        &[
            "expected a JSON array of streams, found an object",
            "Userdata.json",
        ],
    );
    assert_good_counted(&lib, GOOD);
    assert_eq!(
        lib.plays.len(),
        2,
        "streams inside an object are not dug out"
    );
}

#[test]
fn top_level_values_of_the_wrong_type_are_ignored_saying_what_was_found() {
    let lib = run(vec![
        ("numbers.json", b"[1, 2, 3]".to_vec()),
        (
            "nested.json",
            b"[[{\"ts\": \"2023-05-01T10:00:00Z\", \"ms_played\": 1}]]".to_vec(),
        ),
        ("null.json", b"null".to_vec()),
        (
            "string.json",
            b"\"Streaming_History_Audio_2023_0.json\"".to_vec(),
        ),
        ("number.json", b"42".to_vec()),
    ]);
    assert_report(
        &lib,
        "numbers.json",
        Status::Ignored,
        &["an array of a number, expected an array of stream objects"],
    );
    assert_report(
        &lib,
        "nested.json",
        Status::Ignored,
        &["an array of an array"],
    );
    assert_report(&lib, "null.json", Status::Ignored, &["found null"]);
    assert_report(&lib, "string.json", Status::Ignored, &["found a string"]);
    assert_report(&lib, "number.json", Status::Ignored, &["found a number"]);
    assert_good_counted(&lib, GOOD);
}

#[test]
fn unknown_keys_are_skipped_and_the_streams_still_count() {
    let mut a = record("2024-02-01T08:00:00Z", 61_000, "Future Song");
    a["future_key_2027"] = serde_json::json!({"nested": [1, 2, {"deep": null}]});
    a["another_new_one"] = serde_json::json!(12.5);
    let lib = run(vec![("Streaming_History_Audio_2027.json", pretty(&[a]))]);
    let r = report(&lib, "Streaming_History_Audio_2027.json");
    assert_eq!(
        (r.status, r.records, r.rejected),
        (Status::Used, 1, 0),
        "{r:?}"
    );
    assert!(titles(&lib).contains(&"Future Song"));
    assert_good_counted(&lib, GOOD);
}

#[test]
fn records_with_only_unknown_keys_are_ignored_and_their_keys_listed() {
    let searches = br#"[{"platform":"IPHONE","searchTime":"2023-05-01T10:00:00.000Z","searchQuery":"abba","searchInteractionURIs":[]}]"#;
    let lib = run(vec![("SearchQueries.json", searches.to_vec())]);
    assert_report(
        &lib,
        "SearchQueries.json",
        Status::Ignored,
        &[
            "not a listening history",
            "\"platform\", \"searchTime\", \"searchQuery\"",
            "needs \"ts\" and \"ms_played\"",
        ],
    );
    assert_good_counted(&lib, GOOD);
}

#[test]
fn json_files_from_the_zip_that_are_not_histories_are_ignored_and_the_history_beside_them_used() {
    let userdata = br#"{"username":"someone","email":"a@example.com","country":"SE","birthdate":"1990-01-01"}"#;
    let playlists =
        br#"{"playlists":[{"name":"Road trip","lastModifiedDate":"2023-01-01","items":[]}]}"#;
    let wrapped = br#"[{"date":"2023","topTracks":[]}]"#;
    let zip = zip_of(&[
        ("MyData/", b""),
        ("MyData/Userdata.json", userdata),
        ("MyData/Playlist1.json", playlists),
        ("MyData/Wrapped2023.json", wrapped),
        ("MyData/Read_Me_First.pdf", b"%PDF-1.4"),
        ("MyData/endsong_0.json", &good_history()),
    ]);
    let lib = run_with(
        &[("my_spotify_data.zip", Input::Bytes(zip))],
        &Limits::default(),
    );
    let z = "my_spotify_data.zip/MyData";
    assert_report(
        &lib,
        &format!("{z}/Userdata.json"),
        Status::Ignored,
        &["not a listening history", "found an object"],
    );
    assert_report(
        &lib,
        &format!("{z}/Playlist1.json"),
        Status::Ignored,
        &["found an object"],
    );
    assert_report(
        &lib,
        &format!("{z}/Wrapped2023.json"),
        Status::Ignored,
        &["keys \"date\", \"topTracks\""],
    );
    assert_report(
        &lib,
        &format!("{z}/Read_Me_First.pdf"),
        Status::Ignored,
        &["not a JSON file"],
    );
    assert_good_counted(&lib, &format!("{z}/endsong_0.json"));
    assert_eq!(
        lib.files.len(),
        5,
        "one report per file, none for the folder: {:?}",
        lib.files
    );
}

// ---------------------------------------------------------------------------------------------
// Records with bad values

#[test]
fn wrong_types_reject_only_the_bad_records_and_say_which_and_why() {
    let mut bad_ms = record("2023-06-01T10:00:00Z", 1, "Bad Ms");
    bad_ms["ms_played"] = serde_json::json!(true);
    let mut bad_ts = record("2023-06-01T10:01:00Z", 1, "Bad Ts");
    bad_ts["ts"] = serde_json::json!(1_685_613_660);
    let mut bad_name = record("2023-06-01T10:02:00Z", 1, "x");
    bad_name["master_metadata_track_name"] = serde_json::json!(["a", "list"]);
    let mut bad_flag = record("2023-06-01T10:03:00Z", 1, "Bad Flag");
    bad_flag["shuffle"] = serde_json::json!(1);
    let mut negative = record("2023-06-01T10:04:00Z", 1, "Negative");
    negative["ms_played"] = serde_json::json!(-5);
    let mut as_string = record("2023-06-01T10:05:00Z", 1, "Ms As String");
    as_string["ms_played"] = serde_json::json!("42000");
    let fine = record("2023-06-01T10:06:00Z", 42_000, "Fine");
    let records = [
        fine,
        bad_ms,
        bad_ts,
        bad_name,
        bad_flag,
        negative,
        as_string,
        serde_json::json!(7),
    ];
    let lib = run(vec![("endsong_3.json", pretty(&records))]);

    let r = report(&lib, "endsong_3.json");
    assert_eq!(
        (r.status, r.records, r.rejected),
        (Status::Used, 8, 6),
        "{r:?}"
    );
    assert_eq!(
        r.problems,
        [
            "record 2: \"ms_played\" is a boolean, expected a whole number of milliseconds",
            "record 3: \"ts\" is a number, expected a time string",
            "record 4: \"master_metadata_track_name\" is an array, expected a string",
            "record 5: \"shuffle\" is a number, expected true, false or null",
            "record 6: \"ms_played\" is negative (-5)",
            "record 8: is a number, expected an object",
        ]
    );
    let titles = titles(&lib);
    assert!(
        titles.contains(&"Fine") && titles.contains(&"Ms As String"),
        "{titles:?}"
    );
    assert_good_counted(&lib, GOOD);
    assert_eq!(lib.plays.len(), 4);
}

// ---------------------------------------------------------------------------------------------
// Strings

#[test]
fn a_raw_nul_inside_a_string_is_refused_at_its_line_and_column() {
    let text =
        String::from_utf8(good_history())
            .unwrap()
            .replacen("Good Song A", "Good\0Song A", 1);
    let at = text.find('\0').unwrap();
    let lib = run(vec![("nul.json", text.clone().into_bytes())]);
    let message = assert_report(
        &lib,
        "nul.json",
        Status::Failed,
        &["not valid JSON", "control character"],
    );
    let expected = position(text.as_bytes(), at);
    assert!(
        message.contains(&expected),
        "{message:?} should say {expected}"
    );
    assert!(
        !expected.starts_with("line 1,"),
        "the NUL is on the track name's line: {expected}"
    );
    assert_good_counted(&lib, GOOD);
}

#[test]
fn an_escaped_nul_is_valid_json_and_shows_as_a_replacement_character() {
    let text = String::from_utf8(pretty(&[record("2023-05-02T10:00:00Z", 1, "@")])).unwrap();
    let lib = run(vec![(
        "escaped_nul.json",
        text.replacen('@', "Nul\\u0000Name", 1).into_bytes(),
    )]);
    assert_eq!(report(&lib, "escaped_nul.json").status, Status::Used);
    assert!(
        titles(&lib).contains(&"Nul\u{FFFD}Name"),
        "{:?}",
        titles(&lib)
    );
    assert_good_counted(&lib, GOOD);
}

#[test]
fn lone_surrogates_are_refused_at_their_line_and_column() {
    let base = String::from_utf8(good_history()).unwrap();
    let high = base.replacen("Good Song A", "Lone \\ud83d high", 1);
    let low = base.replacen("Good Song B", "Lone \\uDC00 low", 1);
    let reversed = base.replacen("Good Song B", "\\udfb5\\ud83c reversed pair", 1);
    // Surrogates written raw (CESU-8) are not UTF-8.
    let mut raw = base
        .replacen("Good Song A", "Raw @@@ surrogate", 1)
        .into_bytes();
    let raw_at = raw.windows(3).position(|w| w == b"@@@").unwrap();
    raw[raw_at..raw_at + 3].copy_from_slice(b"\xED\xA0\xBD");
    let paired = String::from_utf8(pretty(&[record("2023-05-02T10:00:00Z", 1, "@")])).unwrap();
    let paired = paired.replacen('@', "Paired \\ud83c\\udfb5 ok", 1);

    let lib = run(vec![
        ("high.json", high.clone().into_bytes()),
        ("low.json", low.clone().into_bytes()),
        ("reversed.json", reversed.clone().into_bytes()),
        ("raw.json", raw.clone()),
        ("paired.json", paired.into_bytes()),
    ]);
    for (name, text, at) in [
        ("high.json", high.as_bytes(), high.find("\\ud83d").unwrap()),
        ("low.json", low.as_bytes(), low.find("\\uDC00").unwrap()),
        (
            "reversed.json",
            reversed.as_bytes(),
            reversed.find("\\udfb5").unwrap(),
        ),
    ] {
        let message = assert_report(&lib, name, Status::Failed, &["not valid JSON", "surrogate"]);
        let expected = position(text, at);
        assert!(
            message.contains(&expected),
            "{name}: {message:?} should say {expected}"
        );
    }
    let message = assert_report(&lib, "raw.json", Status::Failed, &["not UTF-8"]);
    assert!(message.contains(&position(&raw, raw_at)), "{message:?}");
    assert_eq!(report(&lib, "paired.json").status, Status::Used);
    assert!(titles(&lib).contains(&"Paired 🎵 ok"));
    assert_good_counted(&lib, GOOD);
}

// ---------------------------------------------------------------------------------------------
// Hostile shapes and sizes

#[test]
fn deeply_nested_junk_is_refused_quickly_without_overflowing_the_stack() {
    let depth = 100_000;
    let arrays = [vec![b'['; depth], vec![b']'; depth]].concat();
    let objects = ["{\"a\":".repeat(depth), "1".into(), "}".repeat(depth)]
        .concat()
        .into_bytes();
    let unclosed = vec![b'['; 10 * depth];
    // Deep junk inside one record of an otherwise fine file.
    let mut inner = record("2023-07-01T10:00:00Z", 1, "Deep");
    let mut junk = serde_json::json!(1);
    for _ in 0..100 {
        junk = serde_json::json!([junk]);
    }
    inner["junk"] = junk;
    let in_record = serde_json::to_vec(&[inner]).unwrap();

    let started = Instant::now();
    let lib = run(vec![
        ("arrays.json", arrays),
        ("objects.json", objects),
        ("unclosed.json", unclosed),
        ("in_record.json", in_record),
    ]);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert_report(
        &lib,
        "arrays.json",
        Status::Failed,
        &["nested too deeply", "line 1, column 65"],
    );
    assert_report(
        &lib,
        "objects.json",
        Status::Failed,
        &["nested too deeply", "line 1, column 321"],
    );
    assert_report(
        &lib,
        "unclosed.json",
        Status::Failed,
        &["nested too deeply", "line 1, column 65"],
    );
    assert_report(
        &lib,
        "in_record.json",
        Status::Failed,
        &["nested too deeply"],
    );
    assert_good_counted(&lib, GOOD);
}

#[test]
fn a_2_gb_file_is_refused_by_its_size_without_being_read() {
    let served = Arc::new(AtomicU64::new(0));
    let huge = Input::Huge {
        len: 2 << 30,
        actual: 2 << 30,
        served: served.clone(),
    };
    let inputs = [
        ("Streaming_History_Audio_2024.json", huge),
        (GOOD, Input::Bytes(good_history())),
    ];
    let started = Instant::now();
    let lib = run_with(&inputs, &Limits::default());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_report(
        &lib,
        "Streaming_History_Audio_2024.json",
        Status::Failed,
        &["too large for a listening-history file (2048.0 MiB > limit 256.0 MiB)"],
    );
    let read = served.load(Ordering::Relaxed);
    assert!(read <= 4096, "{read} bytes of the 2 GB file were read");
    assert_good_counted(&lib, GOOD);
}

#[test]
fn a_file_longer_than_it_said_is_cut_off_at_the_size_limit() {
    // A stream (a pipe, a lying store) that claims 100 bytes and never ends.
    let served = Arc::new(AtomicU64::new(0));
    let endless = Input::Huge {
        len: 100,
        actual: u64::MAX,
        served: served.clone(),
    };
    let limits = Limits {
        max_file_bytes: 1 << 20,
        ..Limits::default()
    };
    let lib = run_with(
        &[
            ("endless.json", endless),
            (GOOD, Input::Bytes(good_history())),
        ],
        &limits,
    );
    assert_report(
        &lib,
        "endless.json",
        Status::Failed,
        &["too large for a listening-history file"],
    );
    let read = served.load(Ordering::Relaxed);
    assert!(
        read <= (1 << 20) + (64 << 10),
        "{read} bytes read for a 1 MiB limit"
    );
    assert_good_counted(&lib, GOOD);
}

// ---------------------------------------------------------------------------------------------
// Hostile zips

/// 50 MiB of spaces (less 40 bytes) as zlib -9 deflates them, 50,999 bytes: zlib's stream for
/// 1 MiB of spaces is these 17 bytes, 1015 zero bytes (each four 2-bit codes for "copy 258
/// bytes from 1 back") and 2 closing bytes; each further zero byte adds 1032 spaces. Built
/// here because deflating 50 MiB takes a debug build some 15 seconds.
fn deflated_spaces() -> (Vec<u8>, u32, u32) {
    const HEAD: [u8; 17] = [
        0xed, 0xc1, 0x31, 0x01, 0, 0, 0, 0xc2, 0xa0, 0x2a, 0xeb, 0x9f, 0xd2, 0x10, 0xbe, 0x40, 0x01,
    ];
    let extra = 49_787;
    let stream = [&HEAD[..], &vec![0; 1015 + extra], &[0x7c, 0x06]].concat();
    let (size, crc) = ((1 << 20) + 1032 * extra as u32, 0xd07e_0c25);
    (stream, size, crc)
}

#[test]
fn a_zip_bomb_is_refused_by_its_compression_ratio() {
    // Store the deflate stream, then mark the entry as deflated with the size and CRC of what it
    // unpacks to: a real 50 MiB bomb of 51 kB.
    let (stream, size, crc) = deflated_spaces();
    let mut zip = zip_with(
        CompressionMethod::Stored,
        &[("MyData/endsong_1.json", &stream)],
    );
    patch(
        &mut zip,
        "MyData/endsong_1.json",
        Field::Method,
        &8u16.to_le_bytes(),
    );
    patch(
        &mut zip,
        "MyData/endsong_1.json",
        Field::Crc,
        &crc.to_le_bytes(),
    );
    declare_size(&mut zip, "MyData/endsong_1.json", size);
    let mut head = Vec::new();
    let mut archive = zip::ZipArchive::new(Cursor::new(&zip)).unwrap();
    archive
        .by_name("MyData/endsong_1.json")
        .unwrap()
        .take(1 << 20)
        .read_to_end(&mut head)
        .unwrap();
    assert!(
        head.len() == 1 << 20 && head.iter().all(|&b| b == b' '),
        "the entry unpacks to spaces"
    );

    let good = zip_of(&[("MyData/endsong_0.json", &good_history())]);
    let inputs = [
        ("my_spotify_data.zip", Input::Bytes(zip)),
        ("my_spotify_data (1).zip", Input::Bytes(good)),
    ];
    let lib = run_with(&inputs, &Limits::default());
    let message = assert_report(
        &lib,
        "my_spotify_data.zip/MyData/endsong_1.json",
        Status::Failed,
        &["refused as a likely zip bomb"],
    );
    let ratio: u64 = message
        .trim_start_matches("compressed ")
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(ratio, u64::from(size) / stream.len() as u64, "{message}");
    assert!(ratio > 1000, "{message}");
    assert_good_counted(&lib, "my_spotify_data (1).zip/MyData/endsong_0.json");
}

#[test]
fn a_zip_entry_declaring_2_gb_is_refused_by_its_size_without_being_unpacked() {
    let mut zip = zip_of(&[
        ("MyData/endsong_1.json", b"[{}]"),
        ("MyData/endsong_0.json", &good_history()),
    ]);
    declare_size(&mut zip, "MyData/endsong_1.json", 2 << 30);
    let lib = run_with(
        &[("my_spotify_data.zip", Input::Bytes(zip))],
        &Limits::default(),
    );
    assert_report(
        &lib,
        "my_spotify_data.zip/MyData/endsong_1.json",
        Status::Failed,
        &["too large for a listening-history file (2048.0 MiB > limit 256.0 MiB)"],
    );
    assert_good_counted(&lib, "my_spotify_data.zip/MyData/endsong_0.json");
}

#[test]
fn a_zip_entry_that_understates_its_size_is_refused_after_reading_only_what_it_declared() {
    // Stored, so that unpacking all 4 MiB would read 4 MiB of the zip.
    let data = [b"[".as_slice(), &vec![b' '; 4 << 20], b"]"].concat();
    let mut zip = zip_with(
        CompressionMethod::Stored,
        &[
            ("MyData/endsong_0.json", &good_history()),
            ("MyData/endsong_1.json", &data),
        ],
    );
    declare_size(&mut zip, "MyData/endsong_1.json", 1000);
    let served = Arc::new(AtomicU64::new(0));
    let counted = CountedZip {
        zip,
        served: served.clone(),
    };
    let lib = schema::load(
        &["my_spotify_data.zip".to_string()],
        |_| Ok(counted.open()),
        &Limits::default(),
    );
    // The zip reader notices first and says so.
    assert_report(
        &lib,
        "my_spotify_data.zip/MyData/endsong_1.json",
        Status::Failed,
        &[
            "cannot be unpacked",
            "larger than its declared uncompressed size",
        ],
    );
    let read = served.load(Ordering::Relaxed);
    assert!(
        read < 256 << 10,
        "read {read} bytes of the zip to refuse an entry that declared 1000 bytes"
    );
    assert_good_counted(&lib, "my_spotify_data.zip/MyData/endsong_0.json");
}

/// Opens a zip in memory, counting the bytes read from it.
struct CountedZip {
    zip: Vec<u8>,
    served: Arc<AtomicU64>,
}

impl CountedZip {
    fn open(&self) -> Counting<Cursor<Vec<u8>>> {
        Counting(Cursor::new(self.zip.clone()), self.served.clone())
    }
}

struct Counting<R>(R, Arc<AtomicU64>);

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        self.1.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.0.seek(to)
    }
}

#[test]
fn the_total_uncompressed_size_of_all_zips_is_capped_and_the_same_files_are_refused_every_time() {
    let history = |title: &str| {
        pretty(&[
            record("2023-08-01T10:00:00Z", 90_000, title),
            record("2023-08-01T10:02:00Z", 90_000, title),
        ])
    };
    let (one, two, three) = (history("One"), history("Two"), history("Three"));
    let entry = one.len() as u64;
    // Room for the good file and two more entries, not three.
    let limits = Limits {
        max_total_bytes: good_history().len() as u64 + 2 * entry + entry / 2,
        ..Limits::default()
    };
    let first = zip_of(&[
        ("MyData/endsong_0.json", &good_history()),
        ("MyData/endsong_1.json", &one),
    ]);
    let second = zip_of(&[
        ("MyData/endsong_2.json", &two),
        ("MyData/endsong_3.json", &three),
    ]);
    for _ in 0..20 {
        let inputs = [
            ("first.zip", Input::Bytes(first.clone())),
            ("second.zip", Input::Bytes(second.clone())),
        ];
        let lib = run_with(&inputs, &limits);
        assert_good_counted(&lib, "first.zip/MyData/endsong_0.json");
        for used in [
            "first.zip/MyData/endsong_1.json",
            "second.zip/MyData/endsong_2.json",
        ] {
            assert_eq!(
                report(&lib, used).status,
                Status::Used,
                "{used}: {:?}",
                lib.files
            );
        }
        assert_report(
            &lib,
            "second.zip/MyData/endsong_3.json",
            Status::Failed,
            &["of data in all: not read"],
        );
        let mut titles = titles(&lib);
        titles.sort_unstable();
        assert_eq!(
            titles,
            ["Good Song A", "Good Song B", "One", "One", "Two", "Two"]
        );
    }
}

#[test]
fn path_traversal_names_in_a_zip_are_refused_as_unsafe_and_not_read() {
    let evil = pretty(&[record("2023-09-01T10:00:00Z", 100_000, "EVIL")]);
    let zip = zip_of(&[
        ("../../evil.json", &evil),
        ("MyData/../../../evil.json", &evil),
        ("..\\..\\evil.json", &evil),
        ("MyData/endsong_0.json", &good_history()),
    ]);
    let lib = run_with(
        &[("my_spotify_data.zip", Input::Bytes(zip))],
        &Limits::default(),
    );
    for name in [
        "../../evil.json",
        "MyData/../../../evil.json",
        "..\\\\..\\\\evil.json",
    ] {
        let name = format!("my_spotify_data.zip/{name}");
        assert_report(
            &lib,
            &name,
            Status::Failed,
            &["unsafe path in the zip", "not read"],
        );
        assert_eq!(report(&lib, &name).records, 0);
    }
    assert!(
        !titles(&lib).contains(&"EVIL"),
        "an unsafe entry was read: {:?}",
        titles(&lib)
    );
    assert_good_counted(&lib, "my_spotify_data.zip/MyData/endsong_0.json");
}

#[test]
fn a_corrupt_or_truncated_zip_is_reported_and_the_other_inputs_still_count() {
    let whole = zip_of(&[("MyData/endsong_0.json", &good_history())]);
    let truncated = whole[..whole.len() / 2].to_vec();
    let mut junk = b"PK\x03\x04".to_vec();
    junk.extend(std::iter::repeat_n(0xA5, 300));
    let lib = run(vec![("truncated.zip", truncated), ("junk.zip", junk)]);
    assert_report(
        &lib,
        "truncated.zip",
        Status::Failed,
        &["is not a readable zip"],
    );
    assert_report(&lib, "junk.zip", Status::Failed, &["is not a readable zip"]);
    assert_good_counted(&lib, GOOD);
}

#[test]
fn a_damaged_entry_fails_alone_and_the_rest_of_its_zip_is_used() {
    let other = pretty(&[record("2023-10-01T10:00:00Z", 100_000, "Damaged")]);
    let mut zip = zip_of(&[
        ("MyData/endsong_1.json", &other),
        ("MyData/endsong_0.json", &good_history()),
    ]);
    // Flip bytes in the middle of the first entry's compressed data (it starts after its
    // 30-byte local header and 21-byte name).
    for b in &mut zip[60..80] {
        *b ^= 0x5A;
    }
    let lib = run_with(
        &[("my_spotify_data.zip", Input::Bytes(zip))],
        &Limits::default(),
    );
    assert_report(
        &lib,
        "my_spotify_data.zip/MyData/endsong_1.json",
        Status::Failed,
        &["cannot be unpacked"],
    );
    assert!(!titles(&lib).contains(&"Damaged"));
    assert_good_counted(&lib, "my_spotify_data.zip/MyData/endsong_0.json");
}

#[test]
fn a_zip_inside_the_zip_is_listed_but_not_opened() {
    let inner = zip_of(&[(
        "endsong_9.json",
        &pretty(&[record("2023-11-01T10:00:00Z", 100_000, "Inner")]),
    )]);
    let zip = zip_of(&[
        ("MyData/old_export.zip", &inner),
        ("MyData/endsong_0.json", &good_history()),
    ]);
    let lib = run_with(
        &[("my_spotify_data.zip", Input::Bytes(zip))],
        &Limits::default(),
    );
    assert_report(
        &lib,
        "my_spotify_data.zip/MyData/old_export.zip",
        Status::Ignored,
        &["a zip inside the zip: not opened"],
    );
    assert!(!titles(&lib).contains(&"Inner"));
    assert_good_counted(&lib, "my_spotify_data.zip/MyData/endsong_0.json");
}

// ---------------------------------------------------------------------------------------------
// Regressions found by fuzzing (fuzz/fuzz_targets/parse.rs)

#[test]
fn an_empty_zip_is_reported_instead_of_vanishing() {
    // The fuzzer's minimised input: a bare end-of-central-directory record, no entries.
    let mut empty = b"PK\x05\x06".to_vec();
    empty.extend([0; 18]);
    let folders = zip_of(&[("MyData/", b""), ("Spotify Account Data/", b"")]);
    let lib = run(vec![("empty.zip", empty), ("folders.zip", folders)]);
    assert_report(
        &lib,
        "empty.zip",
        Status::Failed,
        &["a zip with no files in it"],
    );
    assert_report(
        &lib,
        "folders.zip",
        Status::Failed,
        &["a zip with no files in it"],
    );
    assert_good_counted(&lib, GOOD);
    assert_eq!(lib.files.len(), 3, "{:?}", lib.files);
}

#[test]
fn an_absurd_ms_played_rejects_the_record_instead_of_hanging_or_overflowing_the_stats() {
    // Found by review and confirmed through the fuzz target: u64::MAX made `Stats::build` walk
    // 5·10^12 hours (a hang); i64::MAX with a year-1 timestamp overflowed `Play::start_ms`.
    let text = br#"[
  {"ts": "2023-01-01T00:00:00Z", "ms_played": 18446744073709551615},
  {"ts": "0001-01-01T00:00:00Z", "ms_played": 9223372036854775807},
  {"ts": "2023-01-01T00:00:00Z", "ms_played": 1e300},
  {"ts": "2023-01-01T00:00:00Z", "ms_played": "604800001"},
  {"ts": "2023-01-01T00:00:00Z", "ms_played": 604800000, "master_metadata_track_name": "A Week", "spotify_track_uri": "spotify:track:x"}
]"#;
    let lib = run(vec![("absurd.json", text.to_vec())]);
    let r = report(&lib, "absurd.json");
    assert_eq!(
        (r.status, r.records, r.rejected),
        (Status::Used, 5, 4),
        "{r:?}"
    );
    assert_eq!(
        r.problems[0],
        "record 1: \"ms_played\" is 18446744073709551615, more than a week in milliseconds: not a real stream"
    );
    assert!(
        r.problems.iter().all(|p| p.contains("more than a week")),
        "{:?}",
        r.problems
    );
    assert!(titles(&lib).contains(&"A Week"));
    assert_good_counted(&lib, GOOD);

    let started = Instant::now();
    let stats = schema::Stats::build(&lib.plays, schema::Settings::default());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(stats.total.ms, 604_800_000 + 200_000 + 180_000);
}

// ---------------------------------------------------------------------------------------------
// Large files, which `load` reads in pieces (`Parser::parse_stream`)

/// `n` records (about 700 bytes each), the track names numbered, every third holding `},` and
/// whitespace inside a string and inside a nested object (where a cut between pieces would land
/// inside a record), and record 2501 with a wrong type.
fn large_history(n: usize) -> Vec<u8> {
    let records: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let mut r = record(
                &format!("2022-01-01T{:02}:{:02}:00Z", i / 60 % 24, i % 60),
                100_000 + i as u64,
                &format!("Song {i}}}, {{"),
            );
            if i == 2500 {
                r["ms_played"] = serde_json::json!(true);
            }
            if i % 3 == 0 {
                r["extra"] = serde_json::json!({"nested": {"deeper": [1, {"x": null}]}, "y": {}});
            }
            r
        })
        .collect();
    pretty(&records)
}

#[test]
fn a_large_file_counts_every_record_even_where_names_and_nested_values_hold_braces() {
    let n = 3000;
    let bytes = large_history(n);
    assert!(bytes.len() > 2 << 20, "large enough to be read in pieces");
    let lib = run(vec![("large.json", bytes)]);
    let r = report(&lib, "large.json");
    assert_eq!(
        (r.status, r.records, r.rejected),
        (Status::Used, n, 1),
        "{r:?}"
    );
    assert_eq!(
        r.problems,
        ["record 2501: \"ms_played\" is a boolean, expected a whole number of milliseconds"]
    );
    let titles = titles(&lib);
    for i in [0, 1, 1499, 2998, 2999] {
        let name = format!("Song {i}}}, {{");
        assert_eq!(titles.iter().filter(|t| **t == name).count(), 1, "{name}");
    }
    let total: u64 = (lib.plays.iter())
        .filter(|p| lib.strings.get(p.title).starts_with("Song "))
        .map(|p| p.ms_played)
        .sum();
    assert_eq!(
        total,
        (0..n as u64)
            .filter(|&i| i != 2500)
            .map(|i| 100_000 + i)
            .sum::<u64>()
    );
    assert_good_counted(&lib, GOOD);
}

#[test]
fn damage_deep_inside_a_large_file_is_reported_where_the_whole_file_places_it() {
    let full = large_history(3000);
    let text = String::from_utf8(full.clone()).unwrap();
    // A broken literal two thirds in, then the file cut off near its end.
    let broken = text.match_indices("\"skipped\": null").nth(2000).unwrap().0 + 11;
    let mut damaged = full.clone();
    damaged[broken..broken + 4].copy_from_slice(b"nul ");
    let truncated = full[..full.len() - 1000].to_vec();
    let lib = run(vec![
        ("damaged.json", damaged.clone()),
        ("truncated.json", truncated.clone()),
    ]);
    for (name, bytes) in [("damaged.json", &damaged), ("truncated.json", &truncated)] {
        let message = assert_report(&lib, name, Status::Failed, &["not valid JSON"]);
        let whole = schema::Parser::default()
            .parse(bytes)
            .unwrap_err()
            .to_string();
        assert_eq!(message, whole, "{name}: in pieces and whole differ");
        assert!(!message.contains("line 1,"), "{name}: {message}");
    }
    assert_good_counted(&lib, GOOD);
}
