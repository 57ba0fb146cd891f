//! Reading a whole export: JSON files or Spotify's zip, from any seekable source, in parallel.
//!
//! The caller says how to open each input (a file, an object in a store, bytes in memory);
//! this module finds the history files in them, enforces [`Limits`] against oversized files
//! and zip bombs, parses files on all cores, and gathers everything into one [`Library`] with
//! a [`FileReport`] per file: used, ignored (and why) or failed (and why). A bad file never
//! stops the others.

use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::formats::{FileFacts, Format, ParseError, ParsedFile, Parser, Streamed, Style};
use crate::model::{Play, Strings, Sym};

/// Caps that keep hostile or mistaken input cheap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest single JSON file (Spotify's are 10–13 MB).
    pub max_file_bytes: u64,
    /// Most uncompressed data read from all zips of one load.
    pub max_total_bytes: u64,
    /// Highest uncompressed:compressed ratio accepted for a zip entry above 1 MiB. Spotify's
    /// JSON compresses about 10:1; bombs compress hundreds or thousands to one.
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 256 << 20,
            max_total_bytes: 4 << 30,
            max_ratio: 100,
        }
    }
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Read as a listening history.
    Used,
    /// Not a listening history (another file of the export, a PDF…): skipped on purpose.
    Ignored,
    /// Should have been readable but was not (broken JSON, too large, unsafe name…).
    Failed,
}

/// The outcome for one file, named as the user knows it (`my_spotify_data.zip/…/x.json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// Path as given, or zip path then entry name.
    pub name: String,
    /// Used, ignored or failed.
    pub status: Status,
    /// Detected format, for used files.
    pub format: Option<Format>,
    /// Serialisation, for used files.
    pub style: Option<Style>,
    /// Records in the file.
    pub records: usize,
    /// Records rejected (bad values); the first few are in `problems`.
    pub rejected: usize,
    /// Why it was ignored or failed.
    pub message: Option<String>,
    /// Problems with individual records.
    pub problems: Vec<String>,
    /// Size in bytes (uncompressed).
    pub bytes: u64,
}

impl FileReport {
    /// A file skipped on purpose, with the reason.
    pub fn ignored(name: String, why: &str) -> FileReport {
        FileReport::new(name, Status::Ignored, why)
    }

    /// A file read as a listening history.
    fn used(name: String, bytes: u64, f: FileFacts) -> FileReport {
        FileReport {
            name,
            status: Status::Used,
            format: Some(f.format),
            style: Some(f.style),
            records: f.records,
            rejected: f.rejected,
            message: None,
            problems: f.problems,
            bytes,
        }
    }

    fn new(name: String, status: Status, message: impl Into<String>) -> FileReport {
        FileReport {
            name,
            status,
            format: None,
            style: None,
            records: 0,
            rejected: 0,
            message: Some(message.into()),
            problems: Vec::new(),
            bytes: 0,
        }
    }
}

/// Plays from any number of files, on one string table, with a report per file. Plays are
/// not deduplicated yet: see [`crate::dedupe()`].
#[derive(Debug, Default)]
pub struct Library {
    /// Names.
    pub strings: Strings,
    /// Every play read, in file order.
    pub plays: Vec<Play>,
    /// One report per file seen.
    pub files: Vec<FileReport>,
    /// The newest date the zip records for a history file in it (`YYYY-MM-DD`): the day the
    /// export was made, for an export as Spotify sends it. `None` for plain files, and for
    /// zips that record no date (or the zip format's "no date", 1980-01-01).
    pub exported: Option<String>,
}

impl Library {
    /// Adds a parsed file, moving its plays onto this library's string table.
    pub fn absorb(&mut self, name: String, bytes: u64, parsed: ParsedFile) {
        let map = self.strings.absorb(&parsed.strings);
        self.plays.extend(parsed.plays.into_iter().map(|mut p| {
            p.remap(&map);
            p
        }));
        let facts = FileFacts {
            format: parsed.format,
            style: parsed.style,
            records: parsed.records,
            problems: parsed.problems,
            rejected: parsed.rejected,
        };
        self.files.push(FileReport::used(name, bytes, facts));
    }

    /// Records in all used files.
    pub fn records(&self) -> usize {
        self.files.iter().map(|f| f.records).sum()
    }
}

/// Anything [`load`] can read from.
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

/// Where a file's bytes are: a whole input, or an entry of a zip input.
pub(crate) enum Unit {
    Whole {
        input: usize,
        bytes: u64,
    },
    Entry {
        input: usize,
        index: usize,
        declared: u64,
    },
}

impl Unit {
    /// Bytes to parse (as the zip header states them, for an entry).
    pub(crate) fn size(&self) -> u64 {
        match *self {
            Unit::Whole { bytes, .. } => bytes,
            Unit::Entry { declared, .. } => declared,
        }
    }
}

/// One file to read: how the user knows it, its name inside its input, and where it is.
pub(crate) struct Job {
    /// Path as given, or zip path then entry name (escaped), as reports show it.
    pub(crate) name: String,
    /// The zip entry's own name, or the input's name for a whole file.
    pub(crate) inner: String,
    pub(crate) unit: Unit,
    /// A zip entry's modification time, as the zip records it.
    pub(crate) modified: Option<zip::DateTime>,
}

const ZIP_MAGIC: [&[u8; 4]; 2] = [b"PK\x03\x04", b"PK\x05\x06"];
/// Zip entries smaller than this are not judged by their compression ratio.
pub(crate) const RATIO_FLOOR: u64 = 1 << 20;
/// Bytes of JSON per record, at least, in an extended history (about 800 in the pretty style
/// Spotify writes): a file's list of plays is sized by it. Account data's shorter records fill
/// that and grow the list.
const BYTES_PER_RECORD: u64 = 512;

/// Reads every input (JSON files or zips) into a library.
///
/// `open(i)` opens input `i` afresh (it may be called once per thread); `names[i]` is how the
/// user knows it. Zip entries are checked against the limits by their headers, in input order,
/// before anything is unpacked. Files are parsed on all cores with one [`Parser`] per thread;
/// results are gathered in input order, so the outcome does not depend on scheduling (only the
/// numbers of the symbols do, which nothing compares across loads).
pub fn load<O, R>(names: &[String], open: O, limits: &Limits) -> Library
where
    O: Fn(usize) -> io::Result<R> + Sync,
    R: Read + Seek + Send,
{
    let mut reports: Vec<(usize, FileReport)> = Vec::new();
    let mut jobs: Vec<Job> = Vec::new();
    let mut budget = limits.max_total_bytes;
    for (input, name) in names.iter().enumerate() {
        match plan(input, name, &open, limits, &mut budget) {
            Ok((j, r)) => {
                jobs.extend(j);
                reports.extend(r.into_iter().map(|r| (jobs.len(), r)));
            }
            Err(message) => reports.push((
                jobs.len(),
                FileReport::new(name.clone(), Status::Failed, message),
            )),
        }
    }

    let exported = jobs
        .iter()
        .filter_map(|j| j.modified)
        .filter(|d| d.year() > 1980)
        .map(|d| (d.year(), d.month(), d.day()))
        .max()
        .map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"));
    let workers: Vec<Worker> = on_all_cores(&jobs, &open, limits, |reader, w: &mut Worker, i| {
        let outcome = reader.parse(&jobs[i], &mut w.strings);
        w.done.push((i, outcome));
    });

    // Gather in input order, each worker's symbols mapped onto the library's table (the first
    // worker's, taken as it is).
    let mut lib = Library {
        exported,
        ..Library::default()
    };
    let mut maps: Vec<Option<Vec<Sym>>> = Vec::with_capacity(workers.len());
    let mut outcomes: Vec<(usize, usize, Outcome)> = Vec::with_capacity(jobs.len());
    for (w, worker) in workers.into_iter().enumerate() {
        let map = if w == 0 {
            lib.strings = worker.strings;
            None
        } else {
            Some(lib.strings.absorb(&worker.strings))
        };
        maps.push(map);
        outcomes.extend(worker.done.into_iter().map(|(i, o)| (i, w, o)));
    }
    outcomes.sort_unstable_by_key(|(i, ..)| *i);
    lib.plays.reserve_exact(
        outcomes
            .iter()
            .map(|(.., o)| match o {
                Outcome::Parsed(_, _, plays) => plays.len(),
                Outcome::Report(_) => 0,
            })
            .sum(),
    );
    let mut reports = reports.into_iter().peekable();
    for (i, (job, (_, w, outcome))) in jobs.into_iter().zip(outcomes).enumerate() {
        while let Some((_, r)) = reports.next_if(|(at, _)| *at <= i) {
            lib.files.push(r);
        }
        match outcome {
            Outcome::Parsed(f, bytes, plays) => {
                match &maps[w] {
                    None => lib.plays.extend_from_slice(&plays),
                    Some(map) => lib.plays.extend(plays.iter().map(|p| {
                        let mut p = *p;
                        p.remap(map);
                        p
                    })),
                }
                lib.files.push(FileReport::used(job.name, bytes, f));
            }
            Outcome::Report(mut r) => {
                r.name = job.name;
                lib.files.push(r);
            }
        }
    }
    lib.files.extend(reports.map(|(_, r)| r));
    lib
}

/// One thread's share of a [`load`]: its files, on its own string table.
#[derive(Default)]
struct Worker {
    strings: Strings,
    /// Per job taken (its index), what came of it.
    done: Vec<(usize, Outcome)>,
}

/// Runs `work` on every job on all cores, giving each thread's state back.
///
/// One worker per thread, each taking the next job until none is left, with its own
/// [`Reader`] (parser, open zips and read buffer) and state: their allocations serve every
/// file the worker reads (rayon's `map_init` would start afresh for each piece of work it
/// splits off). In [`load`] a worker keeps one string table for all its files, so that only
/// the workers' tables are merged at the end, not one per file.
///
/// Largest files first: the last file to finish then is a small one, and the other threads
/// are idle for less time at the end.
pub(crate) fn on_all_cores<S, O, R, F>(jobs: &[Job], open: &O, limits: &Limits, work: F) -> Vec<S>
where
    S: Default + Send,
    O: Fn(usize) -> io::Result<R> + Sync,
    R: Read + Seek + Send,
    F: Fn(&mut Reader<'_, O, R>, &mut S, usize) + Sync,
{
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(jobs[i].unit.size()));
    let next = AtomicUsize::new(0);
    (0..rayon::current_num_threads().min(jobs.len()))
        .into_par_iter()
        .map(|_| {
            let mut reader = Reader::new(open, limits);
            let mut state = S::default();
            while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                work(&mut reader, &mut state, i);
            }
            state
        })
        .collect()
}

/// Finds the files of one input: itself, or the entries of a zip, refusing entries that break
/// the limits and charging the others to the budget of the whole load. `Err`: the input itself
/// cannot be read (the message says why, without its name).
pub(crate) fn plan<O, R>(
    input: usize,
    name: &str,
    open: &O,
    limits: &Limits,
    budget: &mut u64,
) -> Result<(Vec<Job>, Vec<FileReport>), String>
where
    O: Fn(usize) -> io::Result<R>,
    R: Read + Seek,
{
    let mut r = open(input).map_err(|e| format!("cannot be opened: {e}"))?;
    let bytes = r
        .seek(SeekFrom::End(0))
        .map_err(|e| format!("cannot be read: {e}"))?;
    r.seek(SeekFrom::Start(0))
        .map_err(|e| format!("cannot be read: {e}"))?;
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut r, &mut magic).map_err(|e| format!("cannot be read: {e}"))?;
    if !ZIP_MAGIC.iter().any(|m| &magic[..n] == m.as_slice()) {
        return Ok((
            vec![Job {
                name: name.to_string(),
                inner: name.to_string(),
                unit: Unit::Whole { input, bytes },
                modified: None,
            }],
            vec![],
        ));
    }
    r.seek(SeekFrom::Start(0))
        .map_err(|e| format!("cannot be read: {e}"))?;
    let mut zip = zip::ZipArchive::new(r).map_err(|e| format!("is not a readable zip: {e}"))?;
    let (mut jobs, mut reports) = (Vec::new(), Vec::new());
    for index in 0..zip.len() {
        let entry = match zip.by_index_raw(index) {
            Ok(e) => e,
            Err(e) => {
                reports.push(FileReport::new(
                    format!("{name}/#{index}"),
                    Status::Failed,
                    format!("unreadable zip entry: {e}"),
                ));
                continue;
            }
        };
        let raw_name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("#{index}"));
        let shown = format!("{name}/{}", raw_name.escape_debug());
        if entry.is_dir() {
            continue;
        }
        if entry.enclosed_name().is_none() {
            reports.push(FileReport::new(
                shown,
                Status::Failed,
                "unsafe path in the zip (absolute or leading outside it): not read",
            ));
            continue;
        }
        let lower = raw_name.to_ascii_lowercase();
        if !lower.ends_with(".json") {
            let what = if lower.ends_with(".zip") {
                "a zip inside the zip: not opened"
            } else {
                "not a JSON file"
            };
            reports.push(FileReport {
                bytes: entry.size(),
                ..FileReport::new(shown, Status::Ignored, what)
            });
            continue;
        }
        let (declared, compressed) = (entry.size(), entry.compressed_size());
        if let Some(why) = refuse(declared, compressed, limits, budget) {
            reports.push(FileReport::new(shown, Status::Failed, why));
            continue;
        }
        jobs.push(Job {
            name: shown,
            inner: raw_name,
            unit: Unit::Entry {
                input,
                index,
                declared,
            },
            modified: entry.last_modified(),
        });
    }
    if jobs.is_empty() && reports.is_empty() {
        // Else an empty zip (or one of folders only) would leave no trace in the reports.
        return Err("is a zip with no files in it".into());
    }
    Ok((jobs, reports))
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// What reading one file gave.
pub(crate) enum Outcome {
    /// Parsed: what the file says, its size, and its plays (on its worker's string table).
    Parsed(FileFacts, u64, Vec<Play>),
    Report(FileReport),
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / f64::from(1 << 20))
}

fn too_large(size: u64, limits: &Limits) -> String {
    format!(
        "too large for a listening-history file ({} > limit {}); Spotify's files are about 12 MB",
        mib(size),
        mib(limits.max_file_bytes)
    )
}

/// Why a zip entry is refused unread, judged by its header; otherwise charges it to `budget`.
fn refuse(declared: u64, compressed: u64, limits: &Limits, budget: &mut u64) -> Option<String> {
    if declared > limits.max_file_bytes {
        return Some(too_large(declared, limits));
    }
    if declared > RATIO_FLOOR && declared / compressed.max(1) > limits.max_ratio {
        return Some(format!(
            "compressed {}:1, far beyond any real export: refused as a likely zip bomb",
            declared / compressed.max(1)
        ));
    }
    match budget.checked_sub(declared) {
        Some(rest) => *budget = rest,
        None => {
            return Some(format!(
                "the zip holds more than {} of data in all: not read",
                mib(limits.max_total_bytes)
            ));
        }
    }
    None
}

/// One thread's means of reading files: a parser, the zips it has open and a read buffer, all
/// reused from file to file.
pub(crate) struct Reader<'a, O, R> {
    open: &'a O,
    limits: &'a Limits,
    parser: Parser,
    zips: HashMap<usize, zip::ZipArchive<R>>,
    buf: Vec<u8>,
}

impl<'a, O, R> Reader<'a, O, R>
where
    O: Fn(usize) -> io::Result<R>,
    R: Read + Seek,
{
    fn new(open: &'a O, limits: &'a Limits) -> Self {
        Reader {
            open,
            limits,
            parser: Parser::default(),
            zips: HashMap::new(),
            buf: Vec::new(),
        }
    }

    /// Reads and parses one file, a piece at a time through the reader's buffer, its names
    /// into `strings`.
    pub(crate) fn parse(&mut self, job: &Job, strings: &mut Strings) -> Outcome {
        let limits = self.limits;
        let failed = |m: String| Outcome::Report(FileReport::new(String::new(), Status::Failed, m));
        let too_large = |size: u64| failed(too_large(size, limits));
        let limit = limits.max_file_bytes;
        // The file's plays go to a list of their own, sized from the file's size (one list for
        // all, grown as it filled, was copied to fresh memory at each growth: a third of a
        // load's page faults), but never beyond what a file within the limit could hold.
        let mut plays = Vec::with_capacity(
            usize::try_from(job.unit.size().min(limit) / BYTES_PER_RECORD).unwrap_or(0),
        );
        let plays = &mut plays;
        if let Unit::Whole { bytes, .. } = job.unit
            && bytes > limit
        {
            return too_large(bytes);
        }
        // Read and parsed piece by piece; what went wrong reading is said as "read" for a file
        // and "unpacked" for a zip entry.
        let reading = match job.unit {
            Unit::Whole { .. } => "cannot be read",
            Unit::Entry { .. } => "cannot be unpacked",
        };
        let (streamed, bytes) = {
            let mut src = match source(self.open, &mut self.zips, job) {
                Ok(src) => src,
                Err(e) => return failed(e),
            };
            self.parser
                .parse_stream(&mut src, &mut self.buf, limit, strings, plays)
        };
        if let Unit::Entry { declared, .. } = job.unit
            && bytes > declared
        {
            return failed(
                "its zip header understates its size: refused as a likely zip bomb".into(),
            );
        }
        let parsed = match streamed {
            Streamed::Parsed(parsed) => parsed,
            Streamed::Unreadable(e) => return failed(format!("{reading}: {e}")),
            Streamed::TooLarge => return too_large(bytes),
            // A piece failed and the buffer is garbled: the whole file again, from its source.
            Streamed::Again => match self.reread(job) {
                Some(mut again) => self.parser.parse_into(&mut again, strings, plays),
                None => return failed(format!("{reading} a second time")),
            },
        };
        match parsed {
            Ok(facts) => Outcome::Parsed(facts, bytes, std::mem::take(plays)),
            Err(e @ ParseError::NotAHistory(_)) => Outcome::Report(FileReport {
                bytes,
                ..FileReport::new(String::new(), Status::Ignored, e.to_string())
            }),
            Err(e) => {
                // The buffer was unescaped in place; read the original again to locate the error.
                let located = self
                    .reread(job)
                    .map_or(e.clone(), |orig| e.clone().locate(&orig));
                Outcome::Report(FileReport {
                    bytes,
                    ..FileReport::new(String::new(), Status::Failed, located.to_string())
                })
            }
        }
    }

    /// The file's bytes afresh from its source, for a second reading (a zip entry stops one
    /// byte past the size its header declares). `Err` says why, as a report would.
    pub(crate) fn source(&mut self, job: &Job) -> Result<Box<dyn Read + '_>, String> {
        source(self.open, &mut self.zips, job)
    }

    fn reread(&mut self, job: &Job) -> Option<Vec<u8>> {
        let mut buf = Vec::new();
        let limit = self.limits.max_file_bytes;
        self.source(job)
            .ok()?
            .take(limit)
            .read_to_end(&mut buf)
            .ok()?;
        Some(buf)
    }
}

/// The bytes of one file, from its input (opened afresh) or from the input's zip (opened once
/// per reader and kept in `zips`).
fn source<'z, O, R>(
    open: &O,
    zips: &'z mut HashMap<usize, zip::ZipArchive<R>>,
    job: &Job,
) -> Result<Box<dyn Read + 'z>, String>
where
    O: Fn(usize) -> io::Result<R>,
    R: Read + Seek + 'z,
{
    match job.unit {
        Unit::Whole { input, .. } => match open(input) {
            Ok(r) => Ok(Box::new(r)),
            Err(e) => Err(format!("cannot be read: {e}")),
        },
        Unit::Entry {
            input,
            index,
            declared,
        } => {
            let zip = match zips.entry(input) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => match open(input)
                    .and_then(|r| zip::ZipArchive::new(r).map_err(io::Error::other))
                {
                    Ok(z) => v.insert(z),
                    Err(e) => return Err(format!("cannot be read: {e}")),
                },
            };
            match zip.by_index(index) {
                // One byte more than the header declares is enough to know it lied.
                Ok(entry) => Ok(Box::new(entry.take(declared.saturating_add(1)))),
                Err(e) => Err(format!("cannot be unpacked: {e}")),
            }
        }
    }
}
