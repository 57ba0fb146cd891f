//! The byte-level pass over one history file: personal keys out of each record, each platform
//! replaced by its family's stand-in, every other byte copied.
//!
//! A lifetime export is a million records and hundreds of megabytes, so nothing is built
//! from it: the text is read in chunks and written as it is read, and only a record's current
//! key (and a platform value) is held. Values are checked only as far as finding their end
//! needs (strings closed, brackets matched); the structure around the records, which decides
//! what is kept, is checked fully. Files reach this pass only after the parser has accepted
//! them, so an error here means the file changed or this pass has a bug.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Read, Write};

use crate::model::Platform;

/// Keys removed from every record, with their values: who listened, from which address, with
/// which client, and where. None of them is read into a play.
pub const REMOVED_KEYS: [&str; 9] = [
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

/// The `platform` value written for a family. It names the family, not the device (a phone
/// is `"android"` whatever it was), and [`Platform::classify`] gives the family back.
pub fn stand_in(family: Platform) -> &'static str {
    match family {
        Platform::Phone => "android",
        Platform::Tablet => "tablet",
        Platform::Desktop => "windows",
        Platform::Web => "web_player",
        Platform::Speaker => "speaker",
        Platform::Cast => "cast",
        Platform::Tv => "smart_tv",
        Platform::Console => "playstation",
        Platform::Car => "automotive",
        Platform::Wearable => "watch",
        Platform::Other => "other",
    }
}

/// What [`rewrite`] read and wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rewritten {
    /// Bytes read.
    pub bytes_in: u64,
    /// Bytes written.
    pub bytes_out: u64,
    /// Elements of the top-level array (0 when the file is not an array).
    pub records: usize,
}

/// Why [`rewrite`] stopped.
#[derive(Debug)]
pub enum RewriteError {
    /// The source failed.
    Read(io::Error),
    /// The destination failed.
    Write(io::Error),
    /// The text is not valid JSON.
    Json {
        /// Byte offset where the problem was found.
        offset: u64,
        /// What was wrong.
        message: &'static str,
    },
}

impl fmt::Display for RewriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RewriteError::Read(e) => write!(f, "cannot be read: {e}"),
            RewriteError::Write(e) => write!(f, "cannot be written: {e}"),
            RewriteError::Json { offset, message } => {
                write!(f, "not valid JSON at byte {offset}: {message}")
            }
        }
    }
}

impl std::error::Error for RewriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RewriteError::Read(e) | RewriteError::Write(e) => Some(e),
            RewriteError::Json { .. } => None,
        }
    }
}

/// Copies one JSON file from `src` to `out`, leaving out of each object of its top-level
/// array the [`REMOVED_KEYS`] with their values (separators stay valid, and the whitespace
/// before the closing brace stays, so printing styles survive) and writing each `platform`
/// string as the [`stand_in`] of its family. Everything else, including any file that is not
/// an array, is copied byte for byte. Keys are compared as JSON reads them, escapes decoded.
pub fn rewrite(src: &mut dyn Read, out: &mut dyn Write) -> Result<Rewritten, RewriteError> {
    let mut r = Rewriter {
        inp: Input::new(src)?,
        out: Out {
            w: out,
            buf: Vec::with_capacity(CHUNK + 1024),
            written: 0,
        },
        head: Vec::new(),
        tail: Vec::new(),
        text: Vec::new(),
        stack: Vec::new(),
    };
    let records = r.document()?;
    r.out.flush()?;
    Ok(Rewritten {
        bytes_in: r.inp.offset(),
        bytes_out: r.out.written,
        records,
    })
}

const CHUNK: usize = 64 << 10;
const BOM: &[u8] = b"\xEF\xBB\xBF";

type Result<T, E = RewriteError> = std::result::Result<T, E>;

/// The source, a chunk at a time.
struct Input<'r> {
    src: &'r mut dyn Read,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    /// Bytes of the source before `buf[0]`.
    before: u64,
    eof: bool,
}

impl<'r> Input<'r> {
    /// Reads the first chunk, at least the three bytes a byte-order mark takes where the
    /// source has them.
    fn new(src: &'r mut dyn Read) -> Result<Input<'r>> {
        let mut inp = Input {
            src,
            buf: vec![0; CHUNK].into_boxed_slice(),
            pos: 0,
            end: 0,
            before: 0,
            eof: false,
        };
        while inp.end < BOM.len() && !inp.eof {
            let n = inp.read(inp.end)?;
            inp.end += n;
        }
        Ok(inp)
    }

    fn read(&mut self, at: usize) -> Result<usize> {
        loop {
            match self.src.read(&mut self.buf[at..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(0);
                }
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(RewriteError::Read(e)),
            }
        }
    }

    /// Whether an unread byte is available, reading the next chunk if need be.
    #[inline]
    fn more(&mut self) -> Result<bool> {
        if self.pos < self.end {
            return Ok(true);
        }
        if self.eof {
            return Ok(false);
        }
        self.before += self.end as u64;
        self.pos = 0;
        self.end = self.read(0)?;
        Ok(self.end > 0)
    }

    #[inline]
    fn peek(&mut self) -> Result<Option<u8>> {
        Ok(if self.more()? {
            Some(self.buf[self.pos])
        } else {
            None
        })
    }

    /// The unread bytes of the current chunk.
    #[inline]
    fn rest(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    fn offset(&self) -> u64 {
        self.before + self.pos as u64
    }

    fn fault(&self, message: &'static str) -> RewriteError {
        RewriteError::Json {
            offset: self.offset(),
            message,
        }
    }
}

/// Where copied bytes go: the output, a small buffer, or nowhere.
trait Sink {
    fn put(&mut self, bytes: &[u8]) -> Result<()>;
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.extend_from_slice(bytes);
        Ok(())
    }
}

/// Drops what it is given: a removed value.
struct Skip;

impl Sink for Skip {
    fn put(&mut self, _: &[u8]) -> Result<()> {
        Ok(())
    }
}

/// The destination, written a chunk at a time (a deflating zip entry is slow with small
/// writes).
struct Out<'w> {
    w: &'w mut dyn Write,
    buf: Vec<u8>,
    written: u64,
}

impl Out<'_> {
    fn flush(&mut self) -> Result<()> {
        self.w.write_all(&self.buf).map_err(RewriteError::Write)?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }
}

impl Sink for Out<'_> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }
}

fn json_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Copies the whitespace that follows.
fn whitespace(inp: &mut Input<'_>, sink: &mut impl Sink) -> Result<()> {
    copy_until(inp, sink, |b| !json_space(b))
}

/// Copies bytes up to the first that `stop` takes, or to the end.
fn copy_until(inp: &mut Input<'_>, sink: &mut impl Sink, stop: impl Fn(u8) -> bool) -> Result<()> {
    while inp.more()? {
        let rest = inp.rest();
        let n = rest.iter().position(|&b| stop(b));
        let n_copied = n.unwrap_or(rest.len());
        sink.put(&rest[..n_copied])?;
        inp.pos += n_copied;
        if n.is_some() {
            break;
        }
    }
    Ok(())
}

/// Copies the string that starts here, quotes included, escapes as they are.
fn string(inp: &mut Input<'_>, sink: &mut impl Sink) -> Result<()> {
    const UNCLOSED: &str = "a string is not closed";
    sink.put(b"\"")?;
    inp.pos += 1;
    loop {
        if !inp.more()? {
            return Err(inp.fault(UNCLOSED));
        }
        let rest = inp.rest();
        match rest.iter().position(|&b| b == b'"' || b == b'\\') {
            None => {
                sink.put(rest)?;
                inp.pos = inp.end;
            }
            Some(n) => {
                let quote = rest[n] == b'"';
                sink.put(&rest[..=n])?;
                inp.pos += n + 1;
                if quote {
                    return Ok(());
                }
                // The escaped character, whatever it is; a \u escape's digits are plain bytes.
                if !inp.more()? {
                    return Err(inp.fault(UNCLOSED));
                }
                sink.put(&inp.buf[inp.pos..=inp.pos])?;
                inp.pos += 1;
            }
        }
    }
}

/// Copies the number, `true`, `false` or `null` that starts here: up to the next delimiter.
fn scalar(inp: &mut Input<'_>, sink: &mut impl Sink) -> Result<()> {
    copy_until(inp, sink, |b| json_space(b) || b"{}[],:\"".contains(&b))
}

/// Copies the array or object that starts here, to its matching bracket.
fn nested(inp: &mut Input<'_>, sink: &mut impl Sink, stack: &mut Vec<u8>) -> Result<()> {
    stack.clear();
    loop {
        if !inp.more()? {
            return Err(inp.fault("an array or object is not closed"));
        }
        let rest = inp.rest();
        let n = rest
            .iter()
            .position(|&b| matches!(b, b'"' | b'{' | b'[' | b'}' | b']'));
        let Some(n) = n else {
            sink.put(rest)?;
            inp.pos = inp.end;
            continue;
        };
        sink.put(&rest[..n])?;
        inp.pos += n;
        match inp.buf[inp.pos] {
            b'"' => string(inp, sink)?,
            open @ (b'{' | b'[') => {
                stack.push(open);
                sink.put(&[open])?;
                inp.pos += 1;
            }
            close => {
                let opened = if close == b'}' { b'{' } else { b'[' };
                if stack.pop() != Some(opened) {
                    return Err(inp.fault("brackets do not match"));
                }
                sink.put(&[close])?;
                inp.pos += 1;
                if stack.is_empty() {
                    return Ok(());
                }
            }
        }
    }
}

/// Copies the value that starts here.
fn value(inp: &mut Input<'_>, sink: &mut impl Sink, stack: &mut Vec<u8>) -> Result<()> {
    match inp.peek()? {
        Some(b'"') => string(inp, sink),
        Some(b'{' | b'[') => nested(inp, sink, stack),
        Some(b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => scalar(inp, sink),
        Some(_) => Err(inp.fault("a value was expected")),
        None => Err(inp.fault("the file ends where a value was expected")),
    }
}

/// The text of a JSON string's inside (no quotes), escapes decoded as a parser decodes them
/// (a lone surrogate, which a parser refuses, becomes U+FFFD).
fn decode(raw: &[u8]) -> Cow<'_, str> {
    if !raw.contains(&b'\\') {
        return String::from_utf8_lossy(raw);
    }
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    let mut i = 0;
    let hex = |at: usize| -> Option<u32> {
        let digits = std::str::from_utf8(raw.get(at..at + 4)?).ok()?;
        u32::from_str_radix(digits, 16).ok()
    };
    while i < raw.len() {
        if raw[i] != b'\\' {
            out.push(raw[i]);
            i += 1;
            continue;
        }
        let Some(&e) = raw.get(i + 1) else { break };
        i += 2;
        let c = match e {
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let Some(hi) = hex(i) else { break };
                i += 4;
                let low = (raw.get(i..i + 2) == Some(b"\\u"))
                    .then(|| hex(i + 2))
                    .flatten()
                    .filter(|lo| (0xDC00..0xE000).contains(lo));
                match low {
                    Some(lo) if (0xD800..0xDC00).contains(&hi) => {
                        i += 6;
                        char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                            .unwrap_or('\u{FFFD}')
                    }
                    _ => char::from_u32(hi).unwrap_or('\u{FFFD}'),
                }
            }
            other => char::from(other),
        };
        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// What becomes of a record's member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Keep,
    Remove,
    Platform,
}

impl Action {
    /// By its key, as written between the quotes.
    fn of(raw: &[u8]) -> Action {
        let key = if raw.contains(&b'\\') {
            decode(raw)
        } else {
            // Not UTF-8 is not one of ours: compare it as nothing.
            Cow::Borrowed(std::str::from_utf8(raw).unwrap_or(""))
        };
        if key == "platform" {
            Action::Platform
        } else if REMOVED_KEYS.contains(&key.as_ref()) {
            Action::Remove
        } else {
            Action::Keep
        }
    }
}

struct Rewriter<'r, 'w> {
    inp: Input<'r>,
    out: Out<'w>,
    /// A member's whitespace, key and colon, held until the key decides whether it is written.
    head: Vec<u8>,
    /// The whitespace after a member's value, held until a comma or a closing brace follows.
    tail: Vec<u8>,
    /// A platform value.
    text: Vec<u8>,
    /// Open brackets of a nested value.
    stack: Vec<u8>,
}

impl Rewriter<'_, '_> {
    /// The whole file; returns the elements of its top-level array.
    fn document(&mut self) -> Result<usize> {
        if self.inp.rest().starts_with(BOM) {
            self.out.put(BOM)?;
            self.inp.pos += BOM.len();
        }
        whitespace(&mut self.inp, &mut self.out)?;
        let mut records = 0;
        match self.inp.peek()? {
            Some(b'[') => {
                self.out.put(b"[")?;
                self.inp.pos += 1;
                whitespace(&mut self.inp, &mut self.out)?;
                if self.inp.peek()? == Some(b']') {
                    self.out.put(b"]")?;
                    self.inp.pos += 1;
                } else {
                    loop {
                        if self.inp.peek()? == Some(b'{') {
                            self.record()?;
                        } else {
                            value(&mut self.inp, &mut self.out, &mut self.stack)?;
                        }
                        records += 1;
                        whitespace(&mut self.inp, &mut self.out)?;
                        match self.inp.peek()? {
                            Some(b',') => {
                                self.out.put(b",")?;
                                self.inp.pos += 1;
                                whitespace(&mut self.inp, &mut self.out)?;
                            }
                            Some(b']') => {
                                self.out.put(b"]")?;
                                self.inp.pos += 1;
                                break;
                            }
                            _ => {
                                return Err(self.inp.fault(
                                    "a comma or closing bracket was expected after a record",
                                ));
                            }
                        }
                    }
                }
            }
            None => return Err(self.inp.fault("the file holds no JSON value")),
            Some(_) => value(&mut self.inp, &mut self.out, &mut self.stack)?,
        }
        whitespace(&mut self.inp, &mut self.out)?;
        if self.inp.more()? {
            return Err(self.inp.fault("more text follows the JSON value"));
        }
        Ok(records)
    }

    /// One record: its members copied, removed or rewritten by key.
    ///
    /// A member owns the whitespace before its key and, when a comma follows, the whitespace
    /// after its value; the whitespace before the closing brace belongs to the record. A comma
    /// is written before each member written but the first.
    fn record(&mut self) -> Result<()> {
        let (inp, out) = (&mut self.inp, &mut self.out);
        out.put(b"{")?;
        inp.pos += 1;
        let mut written = false;
        let mut first = true;
        loop {
            self.head.clear();
            whitespace(inp, &mut self.head)?;
            match inp.peek()? {
                Some(b'}') if first => {
                    out.put(&self.head)?;
                    out.put(b"}")?;
                    inp.pos += 1;
                    return Ok(());
                }
                Some(b'"') => {}
                _ => return Err(inp.fault("a key was expected in a record")),
            }
            first = false;
            let at = self.head.len();
            string(inp, &mut self.head)?;
            let action = Action::of(&self.head[at + 1..self.head.len() - 1]);
            whitespace(inp, &mut self.head)?;
            if inp.peek()? != Some(b':') {
                return Err(inp.fault("a colon was expected after a key"));
            }
            self.head.push(b':');
            inp.pos += 1;
            whitespace(inp, &mut self.head)?;
            match action {
                Action::Remove => value(inp, &mut Skip, &mut self.stack)?,
                Action::Keep | Action::Platform => {
                    if written {
                        out.put(b",")?;
                    }
                    out.put(&self.head)?;
                    written = true;
                    if action == Action::Platform && inp.peek()? == Some(b'"') {
                        self.text.clear();
                        string(inp, &mut self.text)?;
                        let raw = &self.text[1..self.text.len() - 1];
                        let family = Platform::classify(&decode(raw));
                        out.put(b"\"")?;
                        out.put(stand_in(family).as_bytes())?;
                        out.put(b"\"")?;
                    } else {
                        // A null platform (or a value the parser will refuse) says nothing.
                        value(inp, out, &mut self.stack)?;
                    }
                }
            }
            self.tail.clear();
            whitespace(inp, &mut self.tail)?;
            match inp.peek()? {
                Some(b',') => {
                    inp.pos += 1;
                    if action != Action::Remove {
                        out.put(&self.tail)?;
                    }
                }
                Some(b'}') => {
                    inp.pos += 1;
                    out.put(&self.tail)?;
                    out.put(b"}")?;
                    return Ok(());
                }
                _ => return Err(inp.fault("a comma or closing brace was expected in a record")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> String {
        let mut out = Vec::new();
        rewrite(&mut text.as_bytes(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_family_has_a_stand_in_that_classifies_back_to_it() {
        for family in Platform::ALL {
            assert_eq!(Platform::classify(stand_in(family)), family, "{family:?}");
        }
    }

    #[test]
    fn a_removed_key_goes_wherever_it_stands_in_a_record() {
        assert_eq!(run(r#"[{"city":1,"a":2}]"#), r#"[{"a":2}]"#);
        assert_eq!(run(r#"[{"a":2,"city":1}]"#), r#"[{"a":2}]"#);
        assert_eq!(run(r#"[{"a":2,"city":1,"b":3}]"#), r#"[{"a":2,"b":3}]"#);
        assert_eq!(run(r#"[{"city":1}]"#), r#"[{}]"#);
        assert_eq!(run("[ {\n  \"city\" : 1\n} ]"), "[ {\n} ]");
        assert_eq!(
            run("[\n  {\n    \"a\": 1,\n    \"latitude\": null\n  }\n]"),
            "[\n  {\n    \"a\": 1\n  }\n]"
        );
    }

    #[test]
    fn a_key_written_with_escapes_is_recognised() {
        assert_eq!(run(r#"[{"user\u006eame":"x","a":1}]"#), r#"[{"a":1}]"#);
        assert_eq!(
            run(r#"[{"pl\u0061tform":"iOS 14 (iPhone10,3)"}]"#),
            r#"[{"pl\u0061tform":"android"}]"#
        );
    }

    #[test]
    fn nested_values_are_copied_and_their_keys_left_alone() {
        let text = r#"[{"a":{"city":[1,{"b":"]}"}]},"c":[]},"x",[{"city":2}]]"#;
        assert_eq!(run(text), text);
    }

    #[test]
    fn a_document_that_is_not_an_array_is_copied() {
        assert_eq!(run(r#" {"city": "x"} "#), r#" {"city": "x"} "#);
    }

    #[test]
    fn escapes_decode_as_a_parser_decodes_them() {
        assert_eq!(decode(br#"a\"b\\c\/d\n"#), "a\"b\\c/d\n");
        assert_eq!(decode(br"\u00e9\ud83c\udfb5"), "é🎵");
        assert_eq!(decode(br"\ud83c"), "\u{FFFD}");
    }

    #[test]
    fn broken_json_is_an_error_not_a_panic() {
        for text in [
            "",
            "[",
            "[{",
            r#"[{"a"#,
            r#"[{"a":"#,
            r#"[{"a":1"#,
            r#"[{"a":1,}"#,
            r#"[{"a" 1}]"#,
            r#"[{"a":[}]"#,
            r#"[{"a":"\"#,
            r#"[{1:2}]"#,
            "[1 2]",
            "[1] 2",
            "]",
        ] {
            let result = rewrite(&mut text.as_bytes(), &mut Vec::new());
            assert!(
                matches!(result, Err(RewriteError::Json { .. })),
                "{text:?}: {result:?}"
            );
        }
    }

    #[test]
    fn a_file_read_a_byte_at_a_time_gives_what_it_gives_whole() {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let Some((&b, rest)) = self.0.split_first() else {
                    return Ok(0);
                };
                buf[0] = b;
                self.0 = rest;
                Ok(1)
            }
        }
        let text = "\u{FEFF}[ {\n  \"ts\" : \"a\\\\\",\n  \"username\" : \"u\\\"\",\n  \"platform\" : \"Partner sonos_imx6 Sonos;One;;\"\n} ]";
        let mut out = Vec::new();
        let counts = rewrite(&mut Trickle(text.as_bytes()), &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), run(text));
        assert_eq!(counts.records, 1);
        assert_eq!(counts.bytes_in, text.len() as u64);
        assert_eq!(
            run(text),
            "\u{FEFF}[ {\n  \"ts\" : \"a\\\\\",\n  \"platform\" : \"speaker\"\n} ]"
        );
    }
}
