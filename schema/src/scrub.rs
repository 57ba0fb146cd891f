//! Scrubbed copies of uploads: what re-ingestion needs, and nothing personal.
//!
//! After an ingest the stored raw upload is replaced by the copy [`scrub`] makes: a zip of
//! the listening-history files that [`load`](crate::load()) uses, under their own names, each
//! rewritten by [`rewrite`] without usernames, addresses, user agents and geo fields, and with
//! platforms reduced to their family. The upload's other files (`Userdata.json`,
//! `Identifiers.json`, `Payments.json`, PDFs, files that failed…) are left out. Loading the
//! copy gives the same plays as loading the upload. Files are found, limited and parsed by
//! the same code as [`load`](crate::load()): a file is kept exactly when a load would use it.

mod json;

use std::fmt;
use std::io::{self, Cursor, Read, Seek, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

pub use json::{REMOVED_KEYS, RewriteError, Rewritten, rewrite, stand_in};

use crate::load::{self, Job, Limits, Outcome, RATIO_FLOOR, Reader, Unit};
use crate::model::Strings;

/// What [`scrub`] kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScrubReport {
    /// Names of the files kept, as written in the copy, in the upload's order.
    pub files: Vec<String>,
    /// Bytes of JSON read from them (uncompressed).
    pub bytes_in: u64,
    /// Bytes of JSON written for them (uncompressed).
    pub bytes_out: u64,
    /// Bytes of the zip written.
    pub zip_bytes: u64,
    /// Records in the files kept.
    pub records: usize,
}

/// Why [`scrub`] made no copy. Each names the file, as the user knows it.
#[derive(Debug)]
pub enum ScrubError {
    /// The upload, or a history file in it, could not be read (permanent for this upload,
    /// unless its source failed).
    Read {
        /// The upload, or the upload then the entry.
        file: String,
        /// Why.
        message: String,
    },
    /// A history file read differently the second time: it is not valid JSON, or has another
    /// number of records. Files reach the rewriting only once the parser has taken them, so
    /// this means the source changed under the scrub or a bug.
    Json {
        /// The upload then the entry.
        file: String,
        /// What was wrong.
        message: String,
    },
    /// The copy could not be written.
    Write {
        /// The entry being written, or the upload (for the zip's directory).
        file: String,
        /// What the destination (or the zip writer) said.
        source: io::Error,
    },
}

impl fmt::Display for ScrubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScrubError::Read { file, message } => write!(f, "{file}: {message}"),
            ScrubError::Json { file, message } => {
                write!(f, "{file}: changed between readings: {message}")
            }
            ScrubError::Write { file, source } => {
                write!(f, "{file}: cannot write the scrubbed copy: {source}")
            }
        }
    }
}

impl std::error::Error for ScrubError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ScrubError::Write { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Writes to `out` a zip of the upload's listening-history files, scrubbed (see the
/// [module](self)), and says what it kept.
///
/// `open()` opens the upload afresh (it is called once per thread, as [`load`](crate::load())
/// calls its `open`): `|| File::open(path)` for a file, `|| Ok(Cursor::new(&bytes[..]))` for
/// bytes in memory. `name` is the upload's original name. A zip upload keeps its entries'
/// names; a single JSON file becomes the one entry of the copy, under its file name (with
/// `.json` added if it lacks it, as a zip entry without it would not be read). The copy is
/// deflated, each entry dated 1980-01-01 so that equal uploads give equal copies; an entry
/// that would compress beyond `limits.max_ratio` (which a load refuses as a zip bomb) is
/// stored instead. Files are parsed and rewritten on all cores; each kept file's compressed
/// copy is held in memory until it is written (about a tenth of its size).
///
/// An upload with no history file gives an empty zip. Only a failure to read the upload or to
/// write `out` is an error: a file [`load`](crate::load()) would fail or ignore is left out.
pub fn scrub<O, R, W>(
    name: &str,
    open: O,
    out: W,
    limits: &Limits,
) -> Result<ScrubReport, ScrubError>
where
    O: Fn() -> io::Result<R> + Sync,
    R: Read + Seek + Send,
    W: Write,
{
    let open = |_: usize| open();
    let mut budget = limits.max_total_bytes;
    let (jobs, _refused) =
        load::plan(0, name, &open, limits, &mut budget).map_err(|message| ScrubError::Read {
            file: name.to_string(),
            message,
        })?;
    type Done = Vec<(usize, Result<Option<Kept>, ScrubError>)>;
    let done: Vec<Done> = load::on_all_cores(&jobs, &open, limits, |reader, done: &mut Done, i| {
        done.push((i, keep(reader, &jobs[i], limits)));
    });
    let mut done: Vec<_> = done.into_iter().flatten().collect();
    done.sort_unstable_by_key(|(i, _)| *i);

    let mut zip = ZipWriter::new_stream(Counted {
        inner: out,
        bytes: 0,
    });
    let mut report = ScrubReport::default();
    for (_, kept) in done {
        let Some(kept) = kept? else { continue };
        let written = ZipArchive::new(Cursor::new(kept.zip))
            .and_then(|mut one| zip.raw_copy_file(one.by_index_raw(0)?));
        written.map_err(|e| ScrubError::Write {
            file: kept.name.clone(),
            source: zip_io(e),
        })?;
        report.files.push(kept.name);
        report.bytes_in += kept.counts.bytes_in;
        report.bytes_out += kept.counts.bytes_out;
        report.records += kept.counts.records;
    }
    let finished = zip
        .finish()
        .map_err(zip_io)
        .and_then(|w| {
            let mut counted = w.into_inner();
            counted.flush()?;
            Ok(counted)
        })
        .map_err(|source| ScrubError::Write {
            file: name.to_string(),
            source,
        })?;
    report.zip_bytes = finished.bytes;
    Ok(report)
}

/// A kept file: its name in the copy, a zip of it alone, and what rewriting it counted.
struct Kept {
    name: String,
    zip: Vec<u8>,
    counts: Rewritten,
}

/// Parses one file as [`load`](crate::load()) does and, if a load would use it, rewrites it
/// into a zip of its own.
fn keep<O, R>(
    reader: &mut Reader<'_, O, R>,
    job: &Job,
    limits: &Limits,
) -> Result<Option<Kept>, ScrubError>
where
    O: Fn(usize) -> io::Result<R>,
    R: Read + Seek,
{
    // The names and plays are not needed, only whether a load would use the file.
    let Outcome::Parsed(facts, bytes, _) = reader.parse(job, &mut Strings::default()) else {
        return Ok(None);
    };
    let name = match job.unit {
        Unit::Entry { .. } => job.inner.clone(),
        Unit::Whole { .. } => entry_name(&job.inner),
    };
    let (mut zip, counts, compressed) = compress(reader, job, &name, bytes, true)?;
    if counts.bytes_out > RATIO_FLOOR && counts.bytes_out / compressed.max(1) > limits.max_ratio {
        (zip, _, _) = compress(reader, job, &name, bytes, false)?;
    }
    let json = |message: String| ScrubError::Json {
        file: job.name.clone(),
        message,
    };
    if counts.bytes_in != bytes {
        return Err(json(format!(
            "{} bytes the first time, {} the second",
            bytes, counts.bytes_in
        )));
    }
    if counts.records != facts.records {
        return Err(json(format!(
            "{} records the first time, {} the second",
            facts.records, counts.records
        )));
    }
    Ok(Some(Kept { name, zip, counts }))
}

/// Rewrites one file from its source into a zip of its own, deflated or stored; returns the
/// zip, the counts and the entry's compressed size.
fn compress<O, R>(
    reader: &mut Reader<'_, O, R>,
    job: &Job,
    name: &str,
    bytes: u64,
    deflate: bool,
) -> Result<(Vec<u8>, Rewritten, u64), ScrubError>
where
    O: Fn(usize) -> io::Result<R>,
    R: Read + Seek,
{
    let write = |e: zip::result::ZipError| ScrubError::Write {
        file: name.to_string(),
        source: zip_io(e),
    };
    let options = SimpleFileOptions::default()
        .compression_method(if deflate {
            CompressionMethod::Deflated
        } else {
            CompressionMethod::Stored
        })
        // The export's own date, kept (the import ledger reads it).
        .last_modified_time(job.modified.unwrap_or_default())
        .large_file(bytes >= u64::from(u32::MAX));
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file(name, options).map_err(write)?;
    let src = reader.source(job).map_err(|message| ScrubError::Read {
        file: job.name.clone(),
        message,
    })?;
    // One byte past what the parse read is enough to see the file grew.
    let counts =
        rewrite(&mut src.take(bytes.saturating_add(1)), &mut zip).map_err(|e| match e {
            RewriteError::Read(e) => ScrubError::Read {
                file: job.name.clone(),
                message: format!("cannot be read a second time: {e}"),
            },
            RewriteError::Write(source) => ScrubError::Write {
                file: name.to_string(),
                source,
            },
            e @ RewriteError::Json { .. } => ScrubError::Json {
                file: job.name.clone(),
                message: e.to_string(),
            },
        })?;
    let zip = zip.finish().map_err(write)?.into_inner();
    let compressed = ZipArchive::new(Cursor::new(&zip[..]))
        .and_then(|mut one| Ok(one.by_index_raw(0)?.compressed_size()))
        .map_err(write)?;
    Ok((zip, counts, compressed))
}

/// The entry name for a single uploaded file: its file name, ending in `.json`.
fn entry_name(upload: &str) -> String {
    let base = upload.rsplit(['/', '\\']).next().unwrap_or_default();
    if base.is_empty() {
        "history.json".to_string()
    } else if base.to_ascii_lowercase().ends_with(".json") {
        base.to_string()
    } else {
        format!("{base}.json")
    }
}

fn zip_io(e: zip::result::ZipError) -> io::Error {
    match e {
        zip::result::ZipError::Io(e) => e,
        other => io::Error::other(other),
    }
}

/// A writer that counts what passes.
struct Counted<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_file_is_named_by_its_file_name_ending_in_json() {
        assert_eq!(entry_name("endsong_0.json"), "endsong_0.json");
        assert_eq!(entry_name("C:\\Users\\me\\Endsong.JSON"), "Endsong.JSON");
        assert_eq!(entry_name("dir/history.txt"), "history.txt.json");
        assert_eq!(entry_name("dir/"), "history.json");
    }
}
