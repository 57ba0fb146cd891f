//! Every Spotify listening-history format, detected by content and read into [`Play`]s.
//!
//! The parser walks simd-json's tape directly: no intermediate `Value` tree and no serde, each
//! record's keys are matched once and its strings interned. See `SPOTIFY_FORMATS.md` (copied
//! to `docs/` in this repository) for the formats and the quirks handled here.

use std::fmt;
use std::io::Read;

use foldhash::HashMap;
use simd_json::{Node, StaticNode};

use crate::model::{Country, Kind, Platform, Play, Source, Strings, Sym};
use crate::time::parse_spotify_ts;

/// Generations of the extended streaming history, told apart by their keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Generation {
    /// May 2020: no URI keys, geo keys.
    G1,
    /// Until mid-2021: URIs added, geo keys still there.
    G2,
    /// Late 2021 – Oct 2024: the classic 21 keys.
    G3,
    /// Nov 2024 →: `username` and `user_agent_decrypted` gone, `ip_addr`.
    G4,
    /// 2025 →: G4 plus the `audiobook_*` keys.
    G5,
}

/// The three kinds of account-data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountVariant {
    /// `artistName`/`trackName` (also the old single file, where podcasts hide in these keys).
    Music,
    /// `podcastName`/`episodeName`.
    Podcast,
    /// `audiobookName`/`chapterName`/`authorName`.
    Audiobook,
}

/// How the file was printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Style {
    /// `[{"ts":…`
    Minified,
    /// Two-space indentation.
    Pretty,
    /// Jackson's default pretty printer: `[ {` and `"key" : value`.
    Jackson,
    /// Any other valid JSON layout.
    Other,
}

/// A detected history format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Extended streaming history of a generation.
    Extended(Generation),
    /// Account data.
    Account(AccountVariant),
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Format::Extended(g) => write!(f, "extended history {g:?}"),
            Format::Account(AccountVariant::Music) => f.write_str("account data (music)"),
            Format::Account(AccountVariant::Podcast) => f.write_str("account data (podcasts)"),
            Format::Account(AccountVariant::Audiobook) => f.write_str("account data (audiobooks)"),
        }
    }
}

impl Format {
    /// `"extended"` or `"account"`.
    pub fn package(&self) -> &'static str {
        match self {
            Format::Extended(_) => "extended",
            Format::Account(_) => "account",
        }
    }
}

/// Why a file could not be read as a history. Each message names what was wrong; the caller
/// adds the file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Not valid JSON (includes truncation), with the position of the problem.
    Json {
        /// 1-based line (0 until [`ParseError::locate`] has run).
        line: usize,
        /// 1-based column, in bytes.
        column: usize,
        /// Byte offset into the file.
        offset: usize,
        /// What the JSON parser found.
        message: String,
    },
    /// Valid JSON, but not a listening history (another file of the export, or something else).
    NotAHistory(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Json {
                line: 0,
                offset,
                message,
                ..
            } => {
                write!(f, "not valid JSON at byte {offset}: {message}")
            }
            ParseError::Json {
                line,
                column,
                offset,
                message,
            } => {
                write!(
                    f,
                    "not valid JSON at line {line}, column {column} (byte {offset}): {message}"
                )
            }
            ParseError::NotAHistory(why) => write!(f, "not a listening history: {why}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// A history file read into plays with its own string table.
#[derive(Debug)]
pub struct ParsedFile {
    /// The detected format.
    pub format: Format,
    /// The serialisation.
    pub style: Style,
    /// Records (array elements) in the file.
    pub records: usize,
    /// The records that were read; `records - plays.len()` were rejected (see `problems`).
    pub plays: Vec<Play>,
    /// Names used by `plays`.
    pub strings: Strings,
    /// The first few problems with individual records, each naming the record.
    pub problems: Vec<String>,
    /// Records rejected in all (the problems list stops after [`MAX_PROBLEMS`]).
    pub rejected: usize,
}

/// How many record problems are described per file; the rest are only counted.
pub const MAX_PROBLEMS: usize = 20;

/// Reusable parser state: simd-json's buffers and a scratch copy of the input, so that a
/// worker parsing many files allocates once.
pub struct Parser {
    buffers: simd_json::Buffers,
    scratch: Vec<u8>,
    /// The last tape, emptied: its allocation (24 bytes per JSON value, some 17 MB for a whole
    /// 12 MB file, 0.4 MB for a piece) serves the next instead of being allocated afresh.
    tape: simd_json::Tape<'static>,
    /// Size of the pieces [`Parser::parse_stream`] reads a large file in.
    piece: usize,
}

/// Default size of [`Parser::parse_stream`]'s pieces: a piece and its tape (about 1.4 times
/// the JSON) stay in the processor's cache from reading to simd-json's tape to the walk over it.
const PIECE: usize = 256 << 10;

impl fmt::Debug for Parser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parser")
            .field("scratch_capacity", &self.scratch.capacity())
            .finish()
    }
}

impl Default for Parser {
    fn default() -> Self {
        Parser {
            buffers: simd_json::Buffers::with_max_depth(1 << 20, MAX_DEPTH),
            scratch: Vec::new(),
            tape: simd_json::Tape(Vec::new()),
            piece: PIECE,
        }
    }
}

/// Nesting deeper than this is not a history; stopping early keeps hostile input cheap.
const MAX_DEPTH: usize = 64;

/// What parsing a file into shared names and plays ([`Parser::parse_into`]) says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFacts {
    /// The detected format.
    pub format: Format,
    /// The serialisation.
    pub style: Style,
    /// Records (array elements) in the file.
    pub records: usize,
    /// The first few problems with individual records, each naming the record.
    pub problems: Vec<String>,
    /// Records rejected in all (the problems list stops after [`MAX_PROBLEMS`]).
    pub rejected: usize,
}

impl FileFacts {
    /// The parsed file these facts describe, with its names and plays.
    fn with(self, strings: Strings, plays: Vec<Play>) -> ParsedFile {
        ParsedFile {
            format: self.format,
            style: self.style,
            records: self.records,
            plays,
            strings,
            problems: self.problems,
            rejected: self.rejected,
        }
    }
}

impl Parser {
    /// Parses one JSON file of any history format, leaving `input` untouched so that an error
    /// can name the line and column of the original text. Read as `load` reads a file: in
    /// pieces ([`Parser::parse_stream`]), or whole where a piece fails.
    pub fn parse(&mut self, input: &[u8]) -> Result<ParsedFile, ParseError> {
        let (mut strings, mut plays) = (Strings::default(), Vec::new());
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut src = input;
        let limit = u64::MAX - 1;
        let (streamed, _) =
            self.parse_stream(&mut src, &mut scratch, limit, &mut strings, &mut plays);
        let result = match streamed {
            Streamed::Parsed(result) => result,
            // A piece failed (a slice cannot fail to be read, nor exceed that limit): the
            // whole file, on a table without the failed pieces' names.
            _ => {
                strings = Strings::default();
                scratch.clear();
                scratch.extend_from_slice(input);
                self.parse_into(&mut scratch, &mut strings, &mut plays)
            }
        };
        self.scratch = scratch;
        result
            .map(|f| f.with(strings, plays))
            .map_err(|e| e.locate(input))
    }

    /// Parses a buffer the caller no longer needs, whole: simd-json unescapes strings in
    /// place, so afterwards the buffer holds garbage. Saves a copy of every file. A JSON error
    /// carries the byte offset only (the end of the input where simd-json cannot place the
    /// error); [`ParseError::locate`] against the original finds the place and adds line and
    /// column.
    pub fn parse_in_place(&mut self, input: &mut Vec<u8>) -> Result<ParsedFile, ParseError> {
        let (mut strings, mut plays) = (Strings::default(), Vec::new());
        let f = self.parse_into(input, &mut strings, &mut plays)?;
        Ok(f.with(strings, plays))
    }

    /// [`Parser::parse_in_place`] for many files on one string table: the file's plays are
    /// appended to `plays`, their names interned in `strings`. On an error, neither changes.
    ///
    /// simd-json reads `input` in place with padding after it: the buffer grows by
    /// [`simd_json::INPUT_PADDING`] bytes for the parse (reserve them to avoid a reallocation)
    /// and is cut back to its length afterwards.
    pub fn parse_into(
        &mut self,
        input: &mut Vec<u8>,
        strings: &mut Strings,
        plays: &mut Vec<Play>,
    ) -> Result<FileFacts, ParseError> {
        let bom = bom_len(input);
        let len = input.len() - bom;
        let style = sniff_style(&input[bom..]);
        let first = input[bom..].iter().position(|b| !b.is_ascii_whitespace());
        let empty = first.is_none();
        if let Some(at) = first.filter(|&at| !b"[{\"-0123456789tfn".contains(&input[bom + at])) {
            let shown: String =
                String::from_utf8_lossy(&input[bom + at..input.len().min(bom + at + 12)])
                    .escape_debug()
                    .collect();
            return Err(ParseError::Json {
                line: 0,
                column: 0,
                offset: bom + at,
                message: format!("this is not JSON (it starts with \"{shown}\")"),
            });
        }
        let original = input.len();
        input.resize(original + simd_json::INPUT_PADDING, 0);
        let mut tape = std::mem::replace(&mut self.tape, simd_json::Tape(Vec::new())).reset();
        let filled =
            simd_json::fill_tape_padded(&mut input[bom..], len, &mut self.buffers, &mut tape);
        let result = match filled {
            Ok(()) => read_tape(&tape.0, style, None, strings, plays),
            Err(e) => {
                // simd-json puts what it finds while indexing (open strings, control characters,
                // bad UTF-8: no character) at 0, escape errors relative to their string, a file
                // that ends early or has more after its value at its last token. Only nesting
                // and number errors are placed well; the rest are placed at the end here and
                // found by `locate` in the original text.
                use simd_json::ErrorType as E;
                let placed = e.character().is_some()
                    && matches!(
                        e.error(),
                        E::DepthLimitExceeded | E::InvalidNumber | E::InvalidExponent | E::Overflow
                    );
                let offset = if empty || placed {
                    bom + e.index()
                } else {
                    bom + len
                };
                Err(json_error(offset, empty, e.error()))
            }
        };
        self.tape = tape.reset();
        input.truncate(original);
        result
    }

    /// A parser whose [`Parser::parse_stream`] cuts files into pieces of about `bytes` bytes
    /// (tests use small pieces to cut small files).
    pub fn with_pieces(bytes: usize) -> Parser {
        Parser {
            piece: bytes.max(1),
            ..Parser::default()
        }
    }

    /// Reads and parses a file from `src` in pieces of a few hundred kilobytes, appending its
    /// plays to `plays` and its names to `strings` as [`Parser::parse_into`] does. Each piece
    /// is read just before it is parsed, into `buf` (reused from file to file, holding a piece
    /// at a time), and its tape stays in the processor's cache: where a whole file and its
    /// tape (some 12 and 17 MB) would go out to memory and back. Returns how it ended and the
    /// bytes read; `src` is read to its end or to `limit + 1` bytes, no further.
    ///
    /// The pieces are cut between records, where a closing brace and a comma are followed by
    /// JSON whitespace and an opening brace (`},` then a space, tab or line break, then `{`), by
    /// overwriting the comma and the first whitespace byte with `]` and `[`, so that each
    /// piece is a JSON array of whole records. A cut that is not between two records (the
    /// bytes stand inside a string or a nested value) leaves a piece that is not valid JSON,
    /// and when every piece is a valid array the whole file is one too: so the pieces read
    /// exactly what the whole file says, or one of them fails. Then this returns
    /// [`Streamed::Again`] and the caller parses the whole file afresh with
    /// [`Parser::parse_into`], which also gives any error the same message and position as
    /// ever. Files smaller than two pieces, or not an array, are read whole and parsed so.
    ///
    /// On anything but `Streamed::Parsed(Ok(_))`, `plays` is as it was (`strings` may hold
    /// names of the pieces read before a failure).
    pub fn parse_stream(
        &mut self,
        src: &mut dyn Read,
        buf: &mut Vec<u8>,
        limit: u64,
        strings: &mut Strings,
        plays: &mut Vec<Play>,
    ) -> (Streamed, u64) {
        buf.clear();
        let before = plays.len();
        let mut source = Feed {
            src,
            total: 0,
            limit,
            eof: false,
        };
        let outcome = self.stream(&mut source, buf, strings, plays);
        let streamed = match outcome {
            Ok(streamed) => streamed,
            Err(Stop::Io(e)) => Streamed::Unreadable(e),
            Err(Stop::TooLarge) => Streamed::TooLarge,
        };
        if !matches!(streamed, Streamed::Parsed(Ok(_))) {
            plays.truncate(before);
        }
        (streamed, source.total)
    }

    fn stream(
        &mut self,
        source: &mut Feed<'_>,
        buf: &mut Vec<u8>,
        strings: &mut Strings,
        plays: &mut Vec<Play>,
    ) -> Result<Streamed, Stop> {
        let piece = self.piece;
        source.fill(buf, 2 * piece + SLACK)?;
        let bom = bom_len(buf);
        let open = buf[bom..]
            .iter()
            .position(|&b| !json_space(b))
            .map(|at| bom + at)
            .filter(|&at| buf[at] == b'[' && !source.eof);
        let Some(open) = open else {
            source.fill(buf, usize::MAX)?;
            return Ok(Streamed::Parsed(self.parse_into(buf, strings, plays)));
        };
        let style = sniff_style(&buf[bom..]);
        let mut facts: Option<FileFacts> = None;
        let mut start = open;
        loop {
            // A cut at least a piece on, reading further while none is in sight.
            let mut from = start + piece;
            source.fill(buf, from + SLACK)?;
            let cut = loop {
                match find_cut(buf, from) {
                    Ok(comma) => break Some(comma),
                    Err(_) if source.eof => break None,
                    Err(resume) => {
                        from = resume;
                        source.fill(buf, buf.len() + SLACK)?;
                    }
                }
            };
            let stop = match cut {
                Some(comma) => {
                    buf[comma] = b']';
                    buf[comma + 1] = b'[';
                    comma + 1
                }
                None => buf.len(),
            };
            let len = buf.len();
            buf.resize(len + simd_json::INPUT_PADDING, 0);
            let read = self.piece(
                &mut buf[start..],
                stop - start,
                style,
                &mut facts,
                strings,
                plays,
            );
            buf.truncate(len);
            if !read {
                return Ok(Streamed::Again);
            }
            if cut.is_none() {
                break;
            }
            // The bytes read past the cut (a few kilobytes) move to the front for the next piece.
            buf.drain(..stop);
            start = 0;
        }
        Ok(Streamed::Parsed(Ok(facts.expect("at least one piece"))))
    }

    /// Parses one piece (`input[..len]`, padding after it) into `plays`, adding its facts to
    /// `facts`; false if it is not a valid array of records of the file's format.
    fn piece(
        &mut self,
        input: &mut [u8],
        len: usize,
        style: Style,
        facts: &mut Option<FileFacts>,
        strings: &mut Strings,
        plays: &mut Vec<Play>,
    ) -> bool {
        let mut tape = std::mem::replace(&mut self.tape, simd_json::Tape(Vec::new())).reset();
        let filled = simd_json::fill_tape_padded(input, len, &mut self.buffers, &mut tape);
        let known = facts.as_ref().map(|f| (f.format, f.records));
        let piece = filled
            .ok()
            .and_then(|()| read_tape(&tape.0, style, known, strings, plays).ok());
        self.tape = tape.reset();
        let Some(piece) = piece else {
            return false;
        };
        *facts = Some(match facts.take() {
            None => piece,
            Some(mut f) => {
                f.records += piece.records;
                f.rejected += piece.rejected;
                let room = MAX_PROBLEMS - f.problems.len().min(MAX_PROBLEMS);
                f.problems.extend(piece.problems.into_iter().take(room));
                f
            }
        });
        true
    }
}

/// How [`Parser::parse_stream`] ended.
#[derive(Debug)]
pub enum Streamed {
    /// Read to the end: what parsing said.
    Parsed(Result<FileFacts, ParseError>),
    /// The source failed.
    Unreadable(std::io::Error),
    /// The source holds more than the limit.
    TooLarge,
    /// A piece was not a valid array of records (the cut fell inside a record, or the file is
    /// broken there): parse the whole file afresh with [`Parser::parse_into`].
    Again,
}

/// Bytes read beyond a piece to find where to cut it: several records.
const SLACK: usize = 4096;

/// A source read as far as [`Parser::parse_stream`] needs, never beyond `limit + 1` bytes.
struct Feed<'r> {
    src: &'r mut dyn Read,
    total: u64,
    limit: u64,
    eof: bool,
}

enum Stop {
    Io(std::io::Error),
    TooLarge,
}

impl Feed<'_> {
    /// Reads until `buf` holds `want` bytes or the source ends.
    fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> Result<(), Stop> {
        while buf.len() < want && !self.eof {
            let room = (want - buf.len()) as u64;
            let allowed = (self.limit + 1).saturating_sub(self.total);
            let asked = room.min(allowed);
            buf.reserve(usize::try_from(asked).map_or(0, |a| a.min(SLACK << 8)));
            let n = (&mut *self.src)
                .take(asked)
                .read_to_end(buf)
                .map_err(Stop::Io)? as u64;
            self.total += n;
            if self.total > self.limit {
                return Err(Stop::TooLarge);
            }
            self.eof = n < asked;
        }
        Ok(())
    }
}

/// Bytes of a UTF-8 byte order mark at the start of `text` (some editors write one; JSON
/// parsers refuse it), to skip.
fn bom_len(text: &[u8]) -> usize {
    if text.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    }
}

/// Whitespace as JSON has it. Not `u8::is_ascii_whitespace`, which also takes a form feed: a
/// piece must not skip, nor a cut overwrite, a byte the whole file's parse would refuse.
fn json_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The first cut at or after `from` in `buf`: the comma of `},` followed by whitespace and
/// `{`. `Err(at)`: none in what has been read; search again from `at` once more is read.
fn find_cut(buf: &[u8], mut from: usize) -> Result<usize, usize> {
    while let Some(k) = buf
        .get(from..)
        .unwrap_or_default()
        .windows(3)
        .position(|w| w[0] == b'}' && w[1] == b',' && json_space(w[2]))
    {
        let comma = from + k + 1;
        // The next element must open an object (`}, {`): a nested object followed by another
        // key (`}, "`) is passed over rather than cut and found to fail.
        match buf[comma + 1..].iter().find(|&&b| !json_space(b)) {
            Some(b'{') => return Ok(comma),
            Some(_) => from = comma + 1,
            None => return Err(comma - 1),
        }
    }
    Err(buf.len().saturating_sub(2).max(from))
}

impl ParseError {
    /// Fills in the line and column of a JSON error from the original text, first finding the
    /// errors simd-json could not place (see `first_fault`).
    pub fn locate(self, original: &[u8]) -> ParseError {
        match self {
            ParseError::Json {
                offset, message, ..
            } => {
                let unplaced = offset >= original.len();
                let (offset, message) = match unplaced.then(|| first_fault(original)).flatten() {
                    Some(found) => found,
                    None => (offset.min(original.len()), message),
                };
                let before = &original[..offset];
                let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
                let column = offset
                    - before
                        .iter()
                        .rposition(|&b| b == b'\n')
                        .map_or(0, |p| p + 1)
                    + 1;
                ParseError::Json {
                    line,
                    column,
                    offset,
                    message,
                }
            }
            other => other,
        }
    }
}

/// The first error in `text` and its byte offset, for the errors simd-json cannot place: what it
/// finds while indexing (open strings, control characters, bad UTF-8) it puts at 0, escape
/// errors relative to their string, a cut-off file at its last token. serde_json finds the
/// first syntax error; a scan of the strings places string errors to the byte.
fn first_fault(text: &[u8]) -> Option<(usize, String)> {
    let bom = bom_len(text);
    if text[bom..].iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let first = serde_json::from_slice::<serde::de::IgnoredAny>(&text[bom..])
        .err()
        .map(|e| {
            if e.is_eof() {
                return (
                    text.len(),
                    "the file ends too early (truncated download?)".to_string(),
                );
            }
            // Lines count from 1, columns in bytes from 1 (0: the line break ending the line before).
            let line_start: usize = text[bom..]
                .split(|&b| b == b'\n')
                .take(e.line().saturating_sub(1))
                .map(|l| l.len() + 1)
                .sum();
            let message = e.to_string();
            let message = &message[..message.rfind(" at line ").unwrap_or(message.len())];
            (
                (bom + line_start + e.column())
                    .saturating_sub(1)
                    .min(text.len()),
                message.to_string(),
            )
        });
    match (string_fault(text), first) {
        // A syntax error comes first (serde_json may place an error one byte early).
        (Some(fault), Some(first)) if fault.0 > first.0 + 1 => Some(first),
        (Some(fault), _) => Some(fault),
        (None, first) => first,
    }
}

/// The first fault in the strings of `text` (bytes that are not UTF-8, a control character, bad
/// escape or lone surrogate) or a string, array or object still open where it ends. Meaningful
/// only up to the first syntax error, which can turn strings inside out.
fn string_fault(text: &[u8]) -> Option<(usize, String)> {
    let valid = std::str::from_utf8(text).map_or_else(|e| e.valid_up_to(), |_| text.len());
    let (mut depth, mut in_string, mut i) = (0i64, false, 0);
    while i < valid {
        match (in_string, text[i]) {
            (_, b'"') => in_string = !in_string,
            (false, b'[' | b'{') => depth += 1,
            (false, b']' | b'}') => depth -= 1,
            (true, b'\\') => match escape(&text[i..valid]) {
                Ok(n) => i += n - 1,
                Err(why) => return Some((i, why)),
            },
            (true, b'\n' | b'\r') => {
                return Some((
                    i,
                    "a line break inside a string (a closing quote missing?)".into(),
                ));
            }
            (true, c @ 0..=0x1F) => {
                return Some((
                    i,
                    format!(
                        "a control character (U+{c:04X}) inside a string, where JSON needs it escaped"
                    ),
                ));
            }
            _ => {}
        }
        i += 1;
    }
    if valid < text.len() {
        Some((valid, "the text is not UTF-8".into()))
    } else if in_string {
        Some((
            text.len(),
            "the file ends inside a string (truncated download?)".into(),
        ))
    } else if depth > 0 {
        Some((
            text.len(),
            "the file ends too early (truncated download?)".into(),
        ))
    } else {
        None
    }
}

/// Checks the escape at the start of `s` (a backslash) and returns its length; an escape cut
/// off by the end of `s` runs to the end (the string is then reported as not closed).
fn escape(s: &[u8]) -> Result<usize, String> {
    // Four hex digits at `at`: `None` when cut off, `Some(None)` when not hex.
    let hex4 = |at: usize| -> Option<Option<u32>> {
        let digits = &s[at.min(s.len())..s.len().min(at + 4)];
        if !digits.iter().all(u8::is_ascii_hexdigit) {
            return Some(None);
        }
        (digits.len() == 4).then(|| {
            digits
                .iter()
                .try_fold(0, |n, &d| Some(n * 16 + char::from(d).to_digit(16)?))
        })
    };
    let lone = |u: u32| {
        Err(format!(
            "a lone UTF-16 surrogate (\\u{u:04x}) in a string: half of a character"
        ))
    };
    match s.get(1) {
        None => Ok(s.len()),
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(2),
        Some(b'u') => match hex4(2) {
            None => Ok(s.len()),
            Some(None) => Err("an invalid \\u escape (it needs four hex digits)".into()),
            Some(Some(high @ 0xD800..=0xDBFF)) => match &s[6..] {
                [] | [b'\\'] => Ok(s.len()),
                [b'\\', b'u', ..] => match hex4(8) {
                    None => Ok(s.len()),
                    Some(Some(0xDC00..=0xDFFF)) => Ok(12),
                    Some(_) => lone(high),
                },
                _ => lone(high),
            },
            Some(Some(low @ 0xDC00..=0xDFFF)) => lone(low),
            Some(Some(_)) => Ok(6),
        },
        Some(&c) => Err(format!(
            "an invalid backslash escape (\\{})",
            char::from(c).escape_debug()
        )),
    }
}

fn json_error(offset: usize, empty: bool, kind: &simd_json::ErrorType) -> ParseError {
    use simd_json::ErrorType as E;
    let message = if empty {
        "the file is empty".to_string()
    } else {
        match kind {
            E::Eof => "the file ends too early (truncated download?)".to_string(),
            E::UnterminatedString => "a string is not closed (truncated download?)".to_string(),
            E::DepthLimitExceeded => "nested too deeply to be a listening history".to_string(),
            E::InvalidUtf8 => "the text is not UTF-8".to_string(),
            E::InvalidUnicodeEscape | E::InvalidUnicodeCodepoint => {
                "an invalid \\u escape (a lone surrogate?)".to_string()
            }
            E::InvalidEscape => "an invalid backslash escape".to_string(),
            E::TrailingData => "more data after the end of the JSON value".to_string(),
            E::InvalidNumber | E::InvalidExponent | E::Overflow => "an invalid number".to_string(),
            other => format!("unexpected input ({other:?})")
                .chars()
                .take(200)
                .collect(),
        }
    };
    ParseError::Json {
        line: 0,
        column: 0,
        offset,
        message,
    }
}

fn sniff_style(input: &[u8]) -> Style {
    let head = &input[..input.len().min(64)];
    if head.starts_with(b"[ {") || head.windows(4).any(|w| w == b"\" : ") {
        Style::Jackson
    } else if head.starts_with(b"[{") || head == b"[]" {
        Style::Minified
    } else if head.starts_with(b"[\n  {") || head.starts_with(b"[\r\n  {") {
        Style::Pretty
    } else {
        Style::Other
    }
}

/// Nodes a value occupies on the tape, itself included.
fn span(node: &Node<'_>) -> usize {
    match node {
        Node::Object { count, .. } | Node::Array { count, .. } => count + 1,
        _ => 1,
    }
}

fn describe(node: &Node<'_>) -> &'static str {
    match node {
        Node::String(_) => "a string",
        Node::Object { .. } => "an object",
        Node::Array { .. } => "an array",
        Node::Static(StaticNode::Null) => "null",
        Node::Static(StaticNode::Bool(_)) => "a boolean",
        Node::Static(_) => "a number",
    }
}

/// Reads the records on a tape. `known` is the format and the records before this tape, for
/// the pieces after the first of a file read in pieces ([`Parser::parse_stream`]).
fn read_tape<'i>(
    tape: &[Node<'i>],
    style: Style,
    known: Option<(Format, usize)>,
    strings: &mut Strings,
    plays: &mut Vec<Play>,
) -> Result<FileFacts, ParseError> {
    let Some(Node::Array { len, .. }) = tape.first() else {
        let what = tape.first().map_or("nothing", describe);
        return Err(ParseError::NotAHistory(format!(
            "expected a JSON array of streams, found {what}{}",
            if matches!(tape.first(), Some(Node::Object { .. })) {
                " (other files of the export, such as Userdata.json, look like this)"
            } else {
                ""
            }
        )));
    };
    let len = *len;
    if len == 0 {
        return Err(ParseError::NotAHistory(
            "an empty array: no streams in it".into(),
        ));
    }
    let (format, earlier) = match known {
        Some(known) => known,
        None => (detect(&tape[1..])?, 0),
    };
    let mut out = FileFacts {
        format,
        style,
        records: len,
        problems: Vec::new(),
        rejected: 0,
    };
    plays.reserve(len);
    // The device family of each platform string seen: classifying one takes dozens of substring
    // searches, and a file repeats a handful of platform strings over thousands of records.
    let mut platforms: HashMap<&'i str, Platform> = HashMap::default();
    let mut i = 1;
    for record in 0..len {
        let node = &tape[i];
        let next = i + span(node);
        let result = match node {
            Node::Object { len: keys, .. } => match format {
                Format::Extended(_) => {
                    extended_record(&tape[i + 1..next], *keys, strings, &mut platforms)
                }
                Format::Account(v) => account_record(&tape[i + 1..next], *keys, v, strings),
            },
            other => Err(format!("is {}, expected an object", describe(other))),
        };
        match result {
            Ok(play) => plays.push(play),
            Err(why) => {
                out.rejected += 1;
                if out.problems.len() < MAX_PROBLEMS {
                    out.problems
                        .push(format!("record {}: {why}", earlier + record + 1));
                }
            }
        }
        i = next;
    }
    Ok(out)
}

/// Detects the format from the keys of the first object in the array.
fn detect(elements: &[Node<'_>]) -> Result<Format, ParseError> {
    let Some(Node::Object { len, .. }) = elements.first() else {
        return Err(ParseError::NotAHistory(format!(
            "an array of {}, expected an array of stream objects",
            elements.first().map_or("nothing", describe)
        )));
    };
    let mut keys = Vec::with_capacity(*len);
    let mut i = 1;
    for _ in 0..*len {
        if let Node::String(k) = elements[i] {
            keys.push(k);
        }
        i += 1 + span(&elements[i + 1]);
    }
    let has = |k: &str| keys.contains(&k);
    if has("ts") && has("ms_played") {
        let generation = if has("audiobook_title") || has("audiobook_uri") {
            Generation::G5
        } else if has("city") || has("latitude") || has("metro_code") {
            if has("spotify_track_uri") {
                Generation::G2
            } else {
                Generation::G1
            }
        } else if has("username") || has("user_agent_decrypted") || has("ip_addr_decrypted") {
            Generation::G3
        } else {
            Generation::G4
        };
        return Ok(Format::Extended(generation));
    }
    if has("endTime") && has("msPlayed") {
        let variant = if has("audiobookName") || has("chapterName") {
            AccountVariant::Audiobook
        } else if has("podcastName") || has("episodeName") {
            AccountVariant::Podcast
        } else {
            AccountVariant::Music
        };
        return Ok(Format::Account(variant));
    }
    let mut shown: Vec<String> = keys.iter().take(6).map(|k| format!("{k:?}")).collect();
    if keys.len() > 6 {
        shown.push("…".into());
    }
    Err(ParseError::NotAHistory(format!(
        "its records have the keys {} but a history needs \"ts\" and \"ms_played\" (extended) or \"endTime\" and \"msPlayed\" (account data)",
        if shown.is_empty() {
            "(none)".to_string()
        } else {
            shown.join(", ")
        }
    )))
}

type Field<'t, 'i> = (&'i str, &'t Node<'i>);

/// Iterates the key/value pairs of an object whose members start at `members[0]`.
fn fields<'t, 'i>(members: &'t [Node<'i>], len: usize) -> impl Iterator<Item = Field<'t, 'i>> {
    let mut i = 0;
    (0..len).filter_map(move |_| {
        let key = &members[i];
        let value = &members[i + 1];
        i += 1 + span(value);
        match key {
            Node::String(k) => Some((*k, value)),
            _ => None,
        }
    })
}

fn opt_str<'i>(key: &str, v: &Node<'i>) -> Result<Option<&'i str>, String> {
    match v {
        Node::String(s) => Ok(Some(s)),
        Node::Static(StaticNode::Null) => Ok(None),
        other => Err(format!(
            "\"{key}\" is {}, expected a string",
            describe(other)
        )),
    }
}

fn opt_bool(key: &str, v: &Node<'_>) -> Result<Option<bool>, String> {
    match v {
        Node::Static(StaticNode::Bool(b)) => Ok(Some(*b)),
        Node::Static(StaticNode::Null) => Ok(None),
        Node::String("true") => Ok(Some(true)),
        Node::String("false") => Ok(Some(false)),
        Node::String("") => Ok(None),
        other => Err(format!(
            "\"{key}\" is {}, expected true, false or null",
            describe(other)
        )),
    }
}

/// The longest stream believed: a week (real ones stay within hours). A longer one is a corrupt
/// record, and its hour-by-hour split would walk up to 10^12 hours or overflow.
const MAX_MS_PLAYED: u64 = 7 * 24 * 3_600_000;

fn ms(key: &str, v: &Node<'_>) -> Result<u64, String> {
    let n = ms_value(key, v)?;
    if n > MAX_MS_PLAYED {
        return Err(format!(
            "\"{key}\" is {n}, more than a week in milliseconds: not a real stream"
        ));
    }
    Ok(n)
}

fn ms_value(key: &str, v: &Node<'_>) -> Result<u64, String> {
    match v {
        Node::Static(StaticNode::U64(n)) => Ok(*n),
        Node::Static(StaticNode::I64(n)) if *n >= 0 => Ok(*n as u64),
        Node::Static(StaticNode::F64(f)) if f.is_finite() && *f >= 0.0 => Ok(*f as u64),
        // The 2020 ReadMe shows ms_played as a string.
        Node::String(s) => s.trim().parse().map_err(|_| {
            let shown: String = s.chars().take(40).collect();
            format!("\"{key}\" is {shown:?}, expected a whole number of milliseconds")
        }),
        Node::Static(StaticNode::I64(n)) => Err(format!("\"{key}\" is negative ({n})")),
        other => Err(format!(
            "\"{key}\" is {}, expected a whole number of milliseconds",
            describe(other)
        )),
    }
}

fn timestamp(key: &str, v: &Node<'_>) -> Result<i64, String> {
    match v {
        Node::String(s) => parse_spotify_ts(s).ok_or_else(|| {
            let shown: String = s.chars().take(40).collect();
            format!("\"{key}\" is {shown:?}, expected a time like 2024-01-31T23:59:59Z")
        }),
        other => Err(format!(
            "\"{key}\" is {}, expected a time string",
            describe(other)
        )),
    }
}

/// Interns a name. NUL characters become U+FFFD: no database text type can hold them, and a
/// name must read the same wherever it is stored (the stream digest is computed from it).
fn sym(strings: &mut Strings, s: Option<&str>) -> Sym {
    match s {
        None | Some("") => Sym::NONE,
        // The table holds no NUL, so a name found there has none: only new names are searched.
        Some(s) => strings.recall(s).unwrap_or_else(|| {
            if s.contains('\0') {
                strings.intern(&s.replace('\0', "\u{FFFD}"))
            } else {
                strings.add(s)
            }
        }),
    }
}

fn extended_record<'i>(
    members: &[Node<'i>],
    len: usize,
    strings: &mut Strings,
    platforms: &mut HashMap<&'i str, Platform>,
) -> Result<Play, String> {
    let (mut end, mut played) = (None, None);
    let (mut track, mut artist, mut album, mut track_uri) = (None, None, None, None);
    let (mut episode, mut show, mut episode_uri) = (None, None, None);
    let (mut book, mut book_uri, mut chapter, mut chapter_uri) = (None, None, None, None);
    let (mut reason_start, mut reason_end) = (None, None);
    let (mut shuffle, mut skipped, mut offline, mut incognito) = (None, None, None, None);
    let mut platform = Platform::Other;
    let mut country = Country::UNKNOWN;
    for (key, v) in fields(members, len) {
        match key {
            "ts" => end = Some(timestamp(key, v)?),
            "ms_played" => played = Some(ms(key, v)?),
            "platform" => {
                platform = opt_str(key, v)?.map_or(Platform::Other, |raw| {
                    *platforms
                        .entry(raw)
                        .or_insert_with(|| Platform::classify(raw))
                });
            }
            "conn_country" => country = opt_str(key, v)?.map_or(Country::UNKNOWN, Country::parse),
            "master_metadata_track_name" => track = opt_str(key, v)?,
            "master_metadata_album_artist_name" => artist = opt_str(key, v)?,
            "master_metadata_album_album_name" => album = opt_str(key, v)?,
            "spotify_track_uri" => track_uri = opt_str(key, v)?,
            "episode_name" => episode = opt_str(key, v)?,
            "episode_show_name" => show = opt_str(key, v)?,
            "spotify_episode_uri" => episode_uri = opt_str(key, v)?,
            "audiobook_title" => book = opt_str(key, v)?,
            "audiobook_uri" => book_uri = opt_str(key, v)?,
            "audiobook_chapter_title" => chapter = opt_str(key, v)?,
            "audiobook_chapter_uri" => chapter_uri = opt_str(key, v)?,
            "reason_start" => reason_start = opt_str(key, v)?,
            "reason_end" => reason_end = opt_str(key, v)?,
            "shuffle" => shuffle = opt_bool(key, v)?,
            "skipped" => skipped = opt_bool(key, v)?,
            "offline" => offline = opt_bool(key, v)?,
            "incognito_mode" => incognito = opt_bool(key, v)?,
            // Personal identifiers (username, ip_addr*, user_agent_decrypted, geo fields),
            // offline_timestamp (ts − ms_played is the start) and unknown keys are not read.
            _ => {}
        }
    }
    let end_ms = end.ok_or("no \"ts\"")?;
    let ms_played = played.ok_or("no \"ms_played\"")?;
    let nonempty = |s: Option<&str>| s.is_some_and(|s| !s.is_empty());
    let (kind, title, creator, collection, uri) = if nonempty(episode_uri) || nonempty(episode) {
        (Kind::Episode, episode, show, None, episode_uri)
    } else if nonempty(book_uri) || nonempty(book) {
        (
            Kind::Audiobook,
            chapter,
            None,
            book,
            chapter_uri.or(book_uri),
        )
    } else if nonempty(track_uri) || nonempty(track) {
        (Kind::Track, track, artist, album, track_uri)
    } else {
        (Kind::Unknown, None, None, None, None)
    };
    Ok(Play {
        end_ms,
        ms_played,
        kind,
        source: Source::Extended,
        title: sym(strings, title),
        creator: sym(strings, creator),
        collection: sym(strings, collection),
        uri: sym(strings, uri),
        reason_start: sym(strings, reason_start),
        reason_end: sym(strings, reason_end),
        shuffle,
        skipped,
        offline,
        incognito,
        platform,
        country,
    })
}

/// Account data writes these instead of null.
fn placeholder(s: Option<&str>) -> Option<&str> {
    s.filter(|s| {
        !matches!(
            *s,
            "" | "Unknown Artist"
                | "Unknown Track"
                | "Unknown Book"
                | "Unknown Chapter"
                | "Unknown Author"
        )
    })
}

fn account_record(
    members: &[Node<'_>],
    len: usize,
    variant: AccountVariant,
    strings: &mut Strings,
) -> Result<Play, String> {
    let (mut end, mut played) = (None, None);
    let (mut title, mut creator, mut collection) = (None, None, None);
    for (key, v) in fields(members, len) {
        match key {
            "endTime" => end = Some(timestamp(key, v)?),
            "msPlayed" => played = Some(ms(key, v)?),
            "trackName" | "episodeName" | "chapterName" => title = placeholder(opt_str(key, v)?),
            "artistName" | "podcastName" | "authorName" => creator = placeholder(opt_str(key, v)?),
            "audiobookName" => collection = placeholder(opt_str(key, v)?),
            _ => {}
        }
    }
    let end_ms = end.ok_or("no \"endTime\"")?;
    let ms_played = played.ok_or("no \"msPlayed\"")?;
    let kind = match variant {
        _ if title.is_none() && creator.is_none() && collection.is_none() => Kind::Unknown,
        AccountVariant::Music => Kind::Track,
        AccountVariant::Podcast => Kind::Episode,
        AccountVariant::Audiobook => Kind::Audiobook,
    };
    let names = [
        sym(strings, title),
        sym(strings, creator),
        sym(strings, collection),
    ];
    Ok(Play::bare(end_ms, ms_played, kind, Source::Account, names))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` pretty-printed extended records, track `i` named by `name(i)`, record 251 with a
    /// wrong type.
    fn history(n: usize, name: impl Fn(usize) -> String) -> Vec<u8> {
        let records: Vec<serde_json::Value> = (0..n)
            .map(|i| {
                serde_json::json!({
                    "ts": format!("2022-01-01T{:02}:{:02}:00Z", i / 60 % 24, i % 60),
                    "ms_played": if i == 250 { serde_json::json!(true) } else { (1000 + i).into() },
                    "master_metadata_track_name": name(i),
                    "master_metadata_album_artist_name": "An Artist",
                    "spotify_track_uri": format!("spotify:track:{i:022}"),
                })
            })
            .collect();
        serde_json::to_vec_pretty(&records).unwrap()
    }

    fn titles(plays: &[Play], strings: &Strings) -> Vec<String> {
        plays
            .iter()
            .map(|p| strings.get(p.title).to_owned())
            .collect()
    }

    /// Reads `bytes` as `load` does, with pieces of `piece` bytes: `None` where a piece
    /// failed (the plays then left as they were), else the facts, plays and buffer size.
    fn streamed(bytes: &[u8], piece: usize) -> Option<(FileFacts, Vec<String>, usize)> {
        let (mut strings, mut plays, mut buf) = (Strings::default(), Vec::new(), Vec::new());
        let mut src = bytes;
        let (outcome, read) = Parser::with_pieces(piece).parse_stream(
            &mut src,
            &mut buf,
            u64::MAX - 1,
            &mut strings,
            &mut plays,
        );
        match outcome {
            Streamed::Parsed(facts) => {
                assert_eq!(read, bytes.len() as u64, "read to the end");
                Some((facts.unwrap(), titles(&plays, &strings), buf.capacity()))
            }
            Streamed::Again => {
                assert!(plays.is_empty(), "a failed piece takes its plays back");
                None
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_large_file_read_in_pieces_gives_what_the_whole_file_gives() {
        let bytes = history(300, |i| format!("Song {i}"));
        let whole = Parser::default().parse(&bytes).unwrap();
        let (facts, titles_read, buffer) = streamed(&bytes, 4096).expect("no piece fails");
        // A piece at a time: the buffer never held the whole file.
        assert!(
            buffer < bytes.len() / 2,
            "{buffer} of {} bytes",
            bytes.len()
        );
        assert_eq!((facts.records, facts.rejected), (300, 1));
        assert_eq!(facts.problems, whole.problems);
        assert!(
            facts.problems[0].starts_with("record 251: "),
            "{:?}",
            facts.problems
        );
        assert_eq!(facts.format, whole.format);
        assert_eq!(facts.style, whole.style);
        assert_eq!(titles_read, titles(&whole.plays, &whole.strings));
    }

    #[test]
    fn a_cut_inside_a_string_or_a_nested_value_gives_way_to_the_whole_file() {
        let in_string = history(300, |i| format!("Song {i}}}, {{ and more"));
        let mut nested: Vec<serde_json::Value> = serde_json::from_slice(&in_string).unwrap();
        for (i, r) in nested.iter_mut().enumerate() {
            r["master_metadata_track_name"] = format!("Song {i}").into();
            r["extra"] = serde_json::json!([{"a": 1}, {"b": 2}]);
        }
        let nested = serde_json::to_vec_pretty(&nested).unwrap();
        for bytes in [in_string, nested] {
            let whole = Parser::default().parse(&bytes).unwrap();
            // Records are of nearly equal length, so the piece size decides where in a record
            // the cuts land: over a record's length of sizes, some land inside one.
            let (mut cut_well, mut gave_way) = (0, 0);
            for piece in 4000..4300 {
                match streamed(&bytes, piece) {
                    None => gave_way += 1,
                    Some((facts, titles_read, _)) => {
                        cut_well += 1;
                        assert_eq!(facts.records, 300);
                        assert_eq!(titles_read, titles(&whole.plays, &whole.strings));
                    }
                }
            }
            assert!(
                cut_well > 0 && gave_way > 0,
                "{cut_well} read in pieces, {gave_way} whole"
            );
        }
    }

    #[test]
    fn a_byte_json_does_not_take_for_whitespace_fails_in_pieces_as_it_fails_whole() {
        // Found by the fuzzer: a form feed before the array was skipped like a space, so the
        // pieces read a file the whole parse refuses. Likewise a form feed after a comma,
        // where a cut would overwrite it.
        let clean = history(300, |i| format!("Song {i}"));
        let mut before = vec![0x0C];
        before.extend_from_slice(&clean);
        let text = String::from_utf8(clean.clone()).unwrap();
        let mut between = clean.clone();
        between[text.match_indices("},\n").nth(150).unwrap().0 + 2] = 0x0C;
        for bytes in [before, between] {
            let whole = Parser::default()
                .parse_in_place(&mut bytes.clone())
                .map_err(|e| e.locate(&bytes))
                .unwrap_err();
            for piece in [64, 1000, 4096] {
                let pieces = Parser::with_pieces(piece).parse(&bytes).unwrap_err();
                assert_eq!(pieces, whole, "pieces of {piece} bytes");
            }
        }
    }
}
