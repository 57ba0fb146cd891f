//! Bytes → `Parser::parse` (which reads in pieces as `load` does; also with pieces of 64 bytes,
//! and whole with `parse_in_place`), and, for bytes that look like a zip,
//! `schema::load`. Whatever the input, nothing may panic, hang or read out of bounds, and what
//! comes back must be consistent: every record is either a play or a rejection, every name a
//! play refers to exists, every JSON error points inside the file.
#![no_main]

use std::cell::RefCell;
use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use schema::formats::MAX_PROBLEMS;
use schema::{Limits, ParseError, ParsedFile, Parser, Settings, Stats, Status, Tz};

thread_local! {
    static PARSER: RefCell<Parser> = RefCell::new(Parser::default());
    static PIECES: RefCell<Parser> = RefCell::new(Parser::with_pieces(64));
}

/// A file's plays with their names spelled out, to compare across string tables.
fn spelled(f: &ParsedFile) -> Vec<(i64, u64, [String; 6])> {
    let spell = |p: &schema::Play| p.names().map(|s| f.strings.get(s).to_owned());
    f.plays
        .iter()
        .map(|p| (p.end_ms, p.ms_played, spell(p)))
        .collect()
}

fn check_parsed(f: &ParsedFile) {
    assert_eq!(
        f.plays.len() + f.rejected,
        f.records,
        "every record is a play or a rejection"
    );
    assert!(f.problems.len() <= MAX_PROBLEMS.min(f.rejected));
    for p in &f.plays {
        for sym in p.names() {
            assert!(
                (sym.0 as usize) <= f.strings.len(),
                "symbol {sym:?} outside the string table"
            );
            let _ = f.strings.get(sym);
        }
    }
    // What happens to every parsed file next: dedupe and aggregation must survive it too.
    let mut plays = f.plays.clone();
    schema::dedupe(&mut plays);
    let tz: Tz = "Europe/Berlin".parse().unwrap();
    let stats = Stats::build(
        &plays,
        Settings {
            tz,
            ..Settings::default()
        },
    );
    assert_eq!(stats.total.streams, plays.len() as u64);
}

fn check_error(e: &ParseError, data: &[u8]) {
    let message = e.to_string();
    assert!(!message.is_empty());
    if let ParseError::Json {
        line,
        column,
        offset,
        ..
    } = e
    {
        assert!(
            *offset <= data.len(),
            "error offset {offset} beyond the end ({})",
            data.len()
        );
        assert!(*line >= 1 && *column >= 1, "unlocated error: {message}");
    }
}

fuzz_target!(|data: &[u8]| {
    PARSER.with_borrow_mut(|parser| {
        let parsed = parser.parse(data);
        match &parsed {
            Ok(f) => check_parsed(f),
            Err(e) => check_error(e, data),
        }
        // Parsing in place must agree with parsing a copy.
        let mut copy = data.to_vec();
        let in_place = parser.parse_in_place(&mut copy).map_err(|e| e.locate(data));
        match (&parsed, &in_place) {
            (Ok(a), Ok(b)) => assert_eq!(
                (a.records, &a.plays, a.rejected),
                (b.records, &b.plays, b.rejected)
            ),
            (Err(a), Err(b)) => assert_eq!(a, b),
            _ => panic!(
                "parse and parse_in_place disagree: {:?} vs {:?}",
                parsed.as_ref().err(),
                in_place.as_ref().err()
            ),
        }
        // So must reading it in pieces of 64 bytes, cut between most records.
        let pieces = PIECES.with_borrow_mut(|p| p.parse(data));
        match (&parsed, &pieces) {
            (Ok(a), Ok(b)) => assert_eq!(
                (a.records, a.rejected, &a.problems, spelled(a)),
                (b.records, b.rejected, &b.problems, spelled(b))
            ),
            (Err(a), Err(b)) => assert_eq!(a, b),
            _ => panic!(
                "parse and parse_stream disagree: {:?} vs {:?}",
                parsed.as_ref().err(),
                pieces.as_ref().err()
            ),
        }
    });

    if data.starts_with(b"PK") {
        // Small limits keep each run cheap; zip-bomb and size refusals are exercised all the same.
        let limits = Limits {
            max_file_bytes: 1 << 20,
            max_total_bytes: 4 << 20,
            max_ratio: 100,
        };
        let names = ["fuzz.zip".to_string()];
        let lib = schema::load(&names, |_| Ok(Cursor::new(data)), &limits);
        assert!(!lib.files.is_empty(), "a zip gives at least one report");
        for f in &lib.files {
            assert!(f.name.starts_with("fuzz.zip"), "report for {:?}", f.name);
            assert_eq!(f.status == Status::Used, f.message.is_none(), "{f:?}");
        }
        assert!(lib.plays.len() <= lib.records());
    }
});
