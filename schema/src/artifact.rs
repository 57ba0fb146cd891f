//! A user's streams in one compact, versioned artifact: what the ingest worker writes after
//! every change to a user's uploads, and what the web tier prepares dashboards from, in one
//! read instead of one row per play.
//!
//! It holds every stream of the user once, sorted by end time, each with its *region*: the
//! uploads that contain it and those whose extended history shadows it (DESIGN.md's rule, as
//! `engine::regions` names it: `M` or `M|S`, sorted comma-joined upload ids). So the
//! streams of any selection of uploads are read off it without the database
//! ([`Artifact::select`]).
//!
//! The encoding (format 4) is cut by time, so that a view of a few months reads only its part
//! ([`Artifact::decode_window`]), and says where each part lies, so that a reader can fetch
//! only those bytes from where the artifact is stored ([`Layout`]):
//!
//! - a header, not deflated: the counts, the first and last stream counting for all uploads,
//!   and one line per *segment* (up to [`SEGMENT`] streams in a row): its streams, its first
//!   and last end time, the highest name and URI it uses, its length, and how much of the
//!   names section holds every name it and the segments before it use;
//! - the region names, then the names (titles, artists, albums, reasons), each once, deflated
//!   as one stream, numbered in order of first use, so that the streams up to any time use a
//!   prefix of them; the stream is flushed (a sync flush) after the region names and after
//!   each segment's last name, so the bytes up to there inflate alone;
//! - the URIs, each once, numbered apart in order of first use and deflated on their own: a
//!   track has one per release and they hardly compress, so they are most of the names'
//!   bytes, and no dashboard shows them (a window does not read them);
//! - each segment deflated on its own: one column per field (end times as deltas, lengths,
//!   flags packed in a few bits, country, the six names, regions, and whether the stream is
//!   the first ever of its artist and of its track among the streams of all uploads), each a
//!   run of LEB128 varints.
//!
//! Columns of like values compress well: a generated lifetime takes about 22 bytes a stream,
//! names included (BENCHMARKS.md). Formats 3 (URIs among the names), 2 (nor flushes, nor
//! where they lie) and 1 (one deflated body, no segments) are still read.

use std::fmt;
use std::io::{Read, Write};

use crate::model::{Country, Kind, Platform, Play, Source, Strings, Sym};

/// The first bytes of an artifact.
const MAGIC: &[u8; 4] = b"BSPA";

/// The encoding's version [`Artifact::encode`] writes; [`Artifact::decode`] reads it and the
/// formats before it (the worker rewrites those), and refuses any other.
pub const FORMAT: u8 = 4;

/// Streams in a segment (the last holds the rest): a range of a few months decodes a few of
/// them.
pub const SEGMENT: usize = 4096;

/// Bit of [`Window::firsts`]: the stream is the first ever of its artist.
pub const FIRST_ARTIST: u8 = 1;
/// Bit of [`Window::firsts`]: the stream is the first ever of its track.
pub const FIRST_TRACK: u8 = 2;

/// The streams of an artifact that ended within a time window, as
/// [`Artifact::decode_window`] reads them, with what a view of those days needs of all time.
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// The names the window's streams use, and only those.
    pub strings: Strings,
    /// Region names, as in the artifact.
    pub regions: Vec<String>,
    /// The streams that ended in the window, by end time; without their URI when the artifact
    /// is of format 4 (which keeps them apart, unread by a window).
    pub plays: Vec<Play>,
    /// The region of each play (same order).
    pub regions_of: Vec<u32>,
    /// For each play, [`FIRST_ARTIST`] and [`FIRST_TRACK`]: whether it is the earliest stream
    /// of its artist, of its track (DESIGN.md's identities), among the streams that count when
    /// every upload is chosen. Only that selection can use them.
    pub firsts: Vec<u8>,
    /// The first and last end of the streams that count when every upload is chosen.
    pub span: Option<(i64, i64)>,
}

/// Why bytes are not an artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactError(pub String);

impl fmt::Display for ArtifactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a readable play artifact: {}", self.0)
    }
}

impl std::error::Error for ArtifactError {}

/// The least body deflated in parts, and the least a part holds.
const PART: usize = 2 << 20;

/// The parts [`deflate_marked`] deflates `body` in: one per core for a large body.
fn parts_for(body: &[u8]) -> usize {
    rayon::current_num_threads().min(body.len() / PART)
}

/// `body` deflated (level 1) after `out`, as one deflate stream, with a sync flush at each
/// of the `marks` (offsets into `body`, in order): everything before a mark inflates from
/// the stream's bytes up to it alone, so a reader of the first names stops there. Returns the
/// stream's bytes and, for each mark, how many of them lie before it (from the end of `out`).
///
/// In `parts` parts (one when fewer than two, or fewer bytes than parts), each deflated on its
/// own on all cores (as `pigz` does), every part but the last ending with a sync flush (an empty stored block,
/// which ends on a byte), so the parts laid end to end are one valid stream any inflater reads
/// in one go. A part does not refer back into the one before; a flush within a part does (it
/// ends a block, not the history): a few bytes each.
fn deflate_marked(
    body: &[u8],
    marks: &[usize],
    out: Vec<u8>,
    parts: usize,
) -> (Vec<u8>, Vec<usize>) {
    use rayon::prelude::*;
    let parts = if parts < 2 || body.len() < parts {
        1
    } else {
        parts
    };
    let size = body.len().div_ceil(parts).max(1);
    let bounds: Vec<(usize, usize)> = (0..parts)
        .map(|i| ((i * size).min(body.len()), ((i + 1) * size).min(body.len())))
        .collect();
    // Each part: its bytes, and where each of its marks fell in them.
    let deflated: Vec<(Vec<u8>, Vec<usize>)> = bounds
        .par_iter()
        .enumerate()
        .map(|(i, &(a, b))| {
            let mut z = flate2::write::DeflateEncoder::new(
                Vec::with_capacity((b - a) / 3 + 64),
                flate2::Compression::fast(),
            );
            let mut at = a;
            let mut offsets = Vec::new();
            for &m in marks.iter().filter(|&&m| m > a && m <= b) {
                z.write_all(&body[at..m]).expect("writing to memory");
                z.flush().expect("writing to memory");
                offsets.push(z.get_ref().len());
                at = m;
            }
            z.write_all(&body[at..b]).expect("writing to memory");
            let bytes = if i == parts - 1 {
                z.finish().expect("writing to memory")
            } else {
                // A sync flush; what the encoder writes when dropped after it (the final
                // block) goes to the emptied buffer left behind.
                z.flush().expect("writing to memory");
                std::mem::take(z.get_mut())
            };
            (bytes, offsets)
        })
        .collect();
    let start = out.len();
    let mut out = out;
    let mut offsets = vec![0; marks.iter().take_while(|&&m| m == 0).count()];
    for (bytes, within) in deflated {
        let base = out.len() - start;
        offsets.extend(within.into_iter().map(|o| base + o));
        out.extend_from_slice(&bytes);
    }
    debug_assert_eq!(offsets.len(), marks.len(), "a mark past the body");
    (out, offsets)
}

/// Every stream of a user once, with the region it lies in.
#[derive(Debug, Clone, Default)]
pub struct Artifact {
    /// Names the plays refer to.
    pub strings: Strings,
    /// Region names (`M` or `M|S`), indexed by [`Artifact::regions_of`].
    pub regions: Vec<String>,
    /// Every stream, by end time.
    pub plays: Vec<Play>,
    /// The region of each play (same order).
    pub regions_of: Vec<u32>,
}

impl Artifact {
    /// Builds an artifact from region names and `(region index, play)` pairs in any order;
    /// names are copied from `strings` into a table holding only those the plays use.
    ///
    /// # Panics
    /// If a pair names a region not in `regions`.
    pub fn build(regions: Vec<String>, streams: Vec<(u32, Play)>, strings: &Strings) -> Artifact {
        let mut streams = streams;
        assert!(
            streams.iter().all(|(r, _)| (*r as usize) < regions.len()),
            "a stream in a region not named"
        );
        streams.sort_by_key(|(r, p)| (p.end_ms, *r));
        let mut own = Strings::with_room_for(strings.len(), strings);
        let mut remap: Vec<Sym> = vec![Sym::NONE; strings.len() + 2];
        let mut plays = Vec::with_capacity(streams.len());
        let mut regions_of = Vec::with_capacity(streams.len());
        for (region, mut play) in streams {
            remap_names(&mut play, &mut remap, |sym| own.add(strings.get(sym)));
            plays.push(play);
            regions_of.push(region);
        }
        Artifact {
            strings: own,
            regions,
            plays,
            regions_of,
        }
    }

    /// The streams that count for a selection of uploads, by end time: those whose region's
    /// uploads meet the selection and whose shadowing uploads miss it.
    pub fn select(&self, selection: &[&str]) -> Vec<Play> {
        let counts: Vec<bool> = self
            .regions
            .iter()
            .map(|r| region_counts_for(r, selection))
            .collect();
        self.plays
            .iter()
            .zip(&self.regions_of)
            .filter(|(_, r)| counts[**r as usize])
            .map(|(p, _)| *p)
            .collect()
    }

    /// Every stream once per upload that holds it, but for the uploads in `excluded`, as
    /// `(upload, stream digest, play)` with names on `strings`: what the worker rebuilds a
    /// user's regions from when one of their uploads changes.
    pub fn members(
        &self,
        excluded: &[String],
        strings: &mut Strings,
    ) -> Vec<(String, [u8; 16], Play)> {
        let holders: Vec<Vec<&str>> = self
            .regions
            .iter()
            .map(|r| {
                r.split('|')
                    .next()
                    .unwrap_or("")
                    .split(',')
                    .filter(|u| !u.is_empty() && !excluded.iter().any(|e| e == u))
                    .collect()
            })
            .collect();
        let mut remap: Vec<Sym> = vec![Sym::NONE; self.strings.len() + 1];
        let mut out = Vec::with_capacity(self.plays.len());
        for (play, &region) in self.plays.iter().zip(&self.regions_of) {
            let uploads = &holders[region as usize];
            if uploads.is_empty() {
                continue;
            }
            let mut p = *play;
            remap_names(&mut p, &mut remap, |sym| {
                strings.intern(self.strings.get(sym))
            });
            let digest = crate::dedupe::stream_digest(&p, strings);
            for u in uploads {
                out.push((u.to_string(), digest, p));
            }
        }
        out
    }

    /// The uploads the artifact's streams come from, sorted.
    pub fn uploads(&self) -> Vec<&str> {
        uploads_of(&self.regions)
    }

    /// The encoded bytes, in format [`FORMAT`]: the names and the segments deflated on all
    /// cores.
    pub fn encode(&self) -> Vec<u8> {
        use rayon::prelude::*;
        let counts = self.counting_for_all();
        let counting = |i: &usize| counts[self.regions_of[*i] as usize];
        let span = (0..self.plays.len())
            .find(counting)
            .zip((0..self.plays.len()).rev().find(counting))
            .map(|(a, b)| (self.plays[a].end_ms, self.plays[b].end_ms));
        let cuts: Vec<(usize, usize)> = (0..self.plays.len())
            .step_by(SEGMENT)
            .map(|a| (a, (a + SEGMENT).min(self.plays.len())))
            .collect();
        let (coded, name_order, uri_order) = self.numbered_apart();
        // The highest name and URI each segment uses.
        let most: Vec<(u32, u32)> = cuts
            .iter()
            .map(|&(a, b)| {
                coded[a..b].iter().fold((0, 0), |(n, u), p| {
                    let [title, creator, collection, uri, start, end] = p.names().map(|s| s.0);
                    let name = title.max(creator).max(collection).max(start).max(end);
                    (n.max(name), u.max(uri))
                })
            })
            .collect();
        // The names section is flushed after the region names and after the last name each
        // segment needs (names are numbered in order of first use: those up to the highest
        // any segment so far used).
        let (body, ends) = self.names_body(&self.regions, &name_order);
        let marks: Vec<usize> = std::iter::once(ends[0])
            .chain(most.iter().scan(0, |reached, &(m, _)| {
                *reached = m.max(*reached);
                Some(ends[*reached as usize])
            }))
            .collect();
        let (uris_body, _) = self.names_body(&[], &uri_order);
        // The names and the URIs on one core while the other finds the first streams, then
        // the segments on all.
        let (((names, names_ends), uris), segments) = rayon::join(
            || {
                (
                    deflate_marked(&body, &marks, Vec::new(), parts_for(&body)),
                    deflate_marked(&uris_body, &[], Vec::new(), parts_for(&uris_body)).0,
                )
            },
            || {
                let firsts = self.firsts();
                cuts.par_iter()
                    .map(|&(a, b)| {
                        let plays = &coded[a..b];
                        let mut body = Vec::with_capacity(plays.len() * 24);
                        for c in 0..COLUMNS_2 {
                            let col = column(plays, &self.regions_of[a..b], &firsts[a..b], c, true);
                            put(&mut body, col.len() as u64);
                            body.extend_from_slice(&col);
                        }
                        deflate_marked(&body, &[], Vec::new(), 1).0
                    })
                    .collect::<Vec<_>>()
            },
        );
        let mut head = Vec::with_capacity(64 + segments.len() * 24);
        put(&mut head, name_order.len() as u64);
        put(&mut head, self.regions.len() as u64);
        put(&mut head, self.plays.len() as u64);
        match span {
            Some((first, last)) => {
                put(&mut head, 1);
                put(&mut head, zigzag(first));
                put(&mut head, zigzag(last));
            }
            None => put(&mut head, 0),
        }
        put(&mut head, segments.len() as u64);
        for (i, (&(a, b), bytes)) in cuts.iter().zip(&segments).enumerate() {
            put(&mut head, (b - a) as u64);
            put(&mut head, zigzag(self.plays[a].end_ms));
            put(&mut head, zigzag(self.plays[b - 1].end_ms));
            put(&mut head, u64::from(most[i].0));
            put(&mut head, bytes.len() as u64);
            put(&mut head, names_ends[i + 1] as u64);
            put(&mut head, u64::from(most[i].1));
        }
        put(&mut head, names.len() as u64);
        put(&mut head, names_ends[0] as u64);
        put(&mut head, uri_order.len() as u64);
        put(&mut head, uris.len() as u64);
        let mut out = Vec::with_capacity(
            16 + head.len()
                + names.len()
                + uris.len()
                + segments.iter().map(Vec::len).sum::<usize>(),
        );
        out.extend_from_slice(MAGIC);
        out.push(FORMAT);
        put(&mut out, head.len() as u64);
        out.extend_from_slice(&head);
        out.extend_from_slice(&names);
        out.extend_from_slice(&uris);
        for bytes in segments {
            out.extend_from_slice(&bytes);
        }
        out
    }

    /// The streams with their names numbered apart from their URIs (what format 4 writes):
    /// the names (titles, artists, albums, reasons) from 1 in order of first use, the URIs
    /// likewise from 1; and the symbols of each, in that order. A window reads the names it
    /// needs and never the URIs, which no dashboard shows (and which are most of the names'
    /// bytes: one per release of a track, and hardly compressible).
    fn numbered_apart(&self) -> (Vec<Play>, Vec<Sym>, Vec<Sym>) {
        let mut number = [
            vec![0u32; self.strings.len() + 1],
            vec![0u32; self.strings.len() + 1],
        ];
        let mut order: [Vec<Sym>; 2] = [Vec::new(), Vec::new()];
        let mut numbered = |table: usize, sym: &mut Sym| {
            if sym.is_some() {
                let n = &mut number[table][sym.0 as usize];
                if *n == 0 {
                    order[table].push(*sym);
                    *n = order[table].len() as u32;
                }
                *sym = Sym(*n);
            }
        };
        let coded = self
            .plays
            .iter()
            .map(|p| {
                let mut p = *p;
                let mut uri = std::mem::replace(&mut p.uri, Sym::NONE);
                for sym in p.names_mut() {
                    numbered(0, sym);
                }
                numbered(1, &mut uri);
                p.uri = uri;
                p
            })
            .collect();
        let [names, uris] = order;
        (coded, names, uris)
    }

    /// `lead` (the region names, for the names section), then the names `order` lists, each
    /// its length then its bytes (a section before deflating), and where `lead` ends and each
    /// name ends in it (`[k]`: after the first `k` names).
    fn names_body(&self, lead: &[String], order: &[Sym]) -> (Vec<u8>, Vec<usize>) {
        let mut body = Vec::with_capacity(order.len() * 32 + lead.len() * 40);
        let mut ends = Vec::with_capacity(order.len() + 1);
        for r in lead {
            put(&mut body, r.len() as u64);
            body.extend_from_slice(r.as_bytes());
        }
        ends.push(body.len());
        for &sym in order {
            let s = self.strings.get(sym);
            put(&mut body, s.len() as u64);
            body.extend_from_slice(s.as_bytes());
            ends.push(body.len());
        }
        (body, ends)
    }

    /// For each region, whether its streams count when every upload is chosen (the region
    /// rule with the whole artifact as the selection: no upload shadows them).
    fn counting_for_all(&self) -> Vec<bool> {
        let all = self.uploads();
        self.regions
            .iter()
            .map(|r| region_counts_for(r, &all))
            .collect()
    }

    /// [`Window::firsts`] for every stream: the earliest stream of each artist and of each
    /// track among those counting when every upload is chosen (ties to the first in order).
    fn firsts(&self) -> Vec<u8> {
        use crate::aggregate::{Entity, EntityKind};
        let counts = self.counting_for_all();
        let mut seen: std::collections::HashSet<Entity, foldhash::fast::RandomState> =
            Default::default();
        self.plays
            .iter()
            .zip(&self.regions_of)
            .map(|(p, &r)| {
                let mut bits = 0;
                if counts[r as usize] {
                    Entity::of(p, |e| match e.kind {
                        EntityKind::Artist if seen.insert(e) => bits |= FIRST_ARTIST,
                        EntityKind::Track if seen.insert(e) => bits |= FIRST_TRACK,
                        _ => {}
                    });
                }
                bits
            })
            .collect()
    }

    /// Reads bytes [`Artifact::encode`] wrote (this format or those before).
    pub fn decode(bytes: &[u8]) -> Result<Artifact, ArtifactError> {
        use rayon::prelude::*;
        let layout = match Layout::read(bytes, bytes.len())? {
            Header::Whole => return decode_1(bytes),
            Header::Longer(_) => unreachable!("the whole artifact holds its header"),
            Header::Layout(layout) => layout,
        };
        let (names, segments) = rayon::join(
            || -> Result<(Vec<String>, Strings, Vec<Sym>), ArtifactError> {
                let section = &bytes[layout.names.clone()];
                let body = inflate(section, section.len() * 3)?;
                let mut r = Reader { buf: &body, at: 0 };
                let regions = read_regions(&mut r, layout.n_regions)?;
                let mut strings = read_names(&body[r.at..], layout.n_strings)?;
                // The URIs, numbered apart (format 4): each a symbol of the one table.
                let mut uris = vec![Sym::NONE];
                if let Some(at) = &layout.uris {
                    let section = &bytes[at.clone()];
                    let body = inflate(section, section.len() * 2)?;
                    let mut r = Reader { buf: &body, at: 0 };
                    uris.reserve(layout.n_uris);
                    for _ in 0..layout.n_uris {
                        let len = r.len()?;
                        let text = std::str::from_utf8(r.take(len)?)
                            .map_err(|_| ArtifactError("a URI is not UTF-8".into()))?;
                        uris.push(strings.intern(text));
                    }
                }
                Ok((regions, strings, uris))
            },
            || {
                layout
                    .segments
                    .par_iter()
                    .map(|s| s.decode(&bytes[s.at.clone()], layout.n_regions))
                    .collect::<Result<Vec<_>, _>>()
            },
        );
        let (regions, strings, uris) = names?;
        let segments = segments?;
        let mut plays = Vec::with_capacity(layout.n_plays);
        let mut regions_of = Vec::with_capacity(layout.n_plays);
        for (p, r, _) in segments {
            plays.extend_from_slice(&p);
            regions_of.extend_from_slice(&r);
        }
        if layout.uris.is_some() {
            // Checked against the segment's highest URI, itself no higher than their count.
            for p in &mut plays {
                p.uri = uris[p.uri.0 as usize];
            }
        }
        Ok(Artifact {
            strings,
            regions,
            plays,
            regions_of,
        })
    }

    /// The streams that ended from `from_ms` to `to_ms` (inclusive), read without the rest:
    /// only the segments holding them, and the names up to the last those use
    /// ([`Layout::window`], [`Layout::decode_window`]). `None` for an artifact of format 1,
    /// which has no segments (read it whole).
    pub fn decode_window(
        bytes: &[u8],
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Option<Window>, ArtifactError> {
        let layout = match Layout::read(bytes, bytes.len())? {
            Header::Whole => return Ok(None),
            Header::Longer(_) => unreachable!("the whole artifact holds its header"),
            Header::Layout(layout) => layout,
        };
        let plan = layout.window(from_ms, to_ms);
        layout
            .decode_window(
                &plan,
                &bytes[plan.names.clone()],
                &bytes[plan.segments.clone()],
            )
            .map(Some)
    }
}

/// What the first bytes of an artifact say of where its sections lie ([`Layout::read`]).
#[derive(Debug, Clone)]
pub enum Header {
    /// Format 1: no sections; read it whole.
    Whole,
    /// The header is longer than the bytes given: read this many from the start.
    Longer(usize),
    /// Where everything lies.
    Layout(Layout),
}

/// Where the sections of an artifact of format 2, 3 or 4 lie, read off its header (offsets from
/// the artifact's first byte): what lets a reader fetch only the bytes of a window
/// ([`Layout::window`]) from where the artifact is stored, and decode them
/// ([`Layout::decode_window`]).
#[derive(Debug, Clone)]
pub struct Layout {
    n_strings: usize,
    n_regions: usize,
    n_plays: usize,
    span: Option<(i64, i64)>,
    /// The names section: the region names, then the names, deflated.
    names: std::ops::Range<usize>,
    /// How many bytes of the names section hold the region names (from format 3: a flush
    /// follows them; all of it in format 2).
    regions_end: usize,
    /// The URIs, numbered apart from the other names and deflated on their own (format 4;
    /// formats 2 and 3 number them among the names).
    uris: Option<std::ops::Range<usize>>,
    n_uris: usize,
    segments: Vec<Segment>,
}

/// One segment, as its header line describes it.
#[derive(Debug, Clone)]
struct Segment {
    n: usize,
    first: i64,
    last: i64,
    max_sym: u64,
    /// Its columns, deflated (offsets in the artifact).
    at: std::ops::Range<usize>,
    /// How many bytes of the names section hold every name this segment and those before it
    /// use (all of it in format 2).
    names_end: usize,
    /// The highest URI it uses (format 4, where URIs are numbered apart).
    max_uri: Option<u64>,
}

/// The bytes of an artifact a window needs, and which of its segments they hold
/// ([`Layout::window`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowPlan {
    /// The start of the names section, as far as the window's names reach.
    pub names: std::ops::Range<usize>,
    /// The window's segments, one after the other.
    pub segments: std::ops::Range<usize>,
    chosen: std::ops::Range<usize>,
    from_ms: i64,
    to_ms: i64,
}

impl Layout {
    /// Reads the header from the first bytes of an artifact of `len` bytes in all (`prefix`
    /// may be all of them), checking that its sections add up to `len`.
    pub fn read(prefix: &[u8], len: usize) -> Result<Header, ArtifactError> {
        let bad = |why: &str| ArtifactError(why.to_string());
        let format = format_of(prefix)?;
        if format == 1 {
            return Ok(Header::Whole);
        }
        let mut outer = Reader { buf: prefix, at: 5 };
        let head_len = match outer.get() {
            Ok(n) => usize::try_from(n).map_err(|_| bad("a length is too large"))?,
            Err(_) if prefix.len() < len.min(16) => return Ok(Header::Longer(len.min(16))),
            Err(e) => return Err(e),
        };
        let head_end = outer
            .at
            .checked_add(head_len)
            .filter(|&e| e <= len)
            .ok_or_else(|| bad("it ends too early"))?;
        if head_end > prefix.len() {
            return Ok(Header::Longer(head_end));
        }
        let mut r = Reader {
            buf: outer.take(head_len)?,
            at: 0,
        };
        // Bounded below, by what the sections can hold.
        let (n_strings, n_regions, n_plays) = (r.get()?, r.get()?, r.get()?);
        let span = match r.get()? {
            0 => None,
            1 => Some((unzigzag(r.get()?), unzigzag(r.get()?))),
            _ => return Err(bad("its span is damaged")),
        };
        let size = |r: &mut Reader<'_>| -> Result<usize, ArtifactError> {
            usize::try_from(r.get()?).map_err(|_| bad("a length is too large"))
        };
        let n_segments = r.len()?;
        let mut lines = Vec::with_capacity(n_segments);
        for _ in 0..n_segments {
            let n = r.get()?;
            let (first, last) = (unzigzag(r.get()?), unzigzag(r.get()?));
            let max_sym = r.get()?;
            let bytes = size(&mut r)?;
            // Format 3 says where the names reach; format 4 also numbers URIs apart.
            let names_end = if format >= 3 {
                Some(size(&mut r)?)
            } else {
                None
            };
            let max_uri = if format >= 4 { Some(r.get()?) } else { None };
            if n == 0 || n > SEGMENT as u64 || first > last || max_sym > n_strings {
                return Err(bad("a segment's header is damaged"));
            }
            lines.push((n as usize, first, last, max_sym, bytes, names_end, max_uri));
        }
        if lines.iter().map(|l| l.0 as u64).sum::<u64>() != n_plays {
            return Err(bad("its segments do not add up to its streams"));
        }
        let names_len = size(&mut r)?;
        let regions_end = if format >= 3 {
            size(&mut r)?
        } else {
            names_len
        };
        let (n_uris, uris_len) = if format >= 4 {
            (r.get()?, Some(size(&mut r)?))
        } else {
            (0, None)
        };
        if r.at != r.buf.len() {
            return Err(bad("its header goes on past its end"));
        }
        // Each name and region takes a byte at least, and deflate shrinks at most 1,032 times.
        let most = |len: usize| len as u64 * 1032;
        if n_strings.saturating_add(n_regions) > most(names_len)
            || n_uris > most(uris_len.unwrap_or(0))
        {
            return Err(bad("a count is larger than the artifact"));
        }
        if lines.iter().any(|l| l.6.is_some_and(|u| u > n_uris)) {
            return Err(bad("a segment's header is damaged"));
        }
        let mut at = head_end;
        let mut span_of = |n: usize| -> Result<std::ops::Range<usize>, ArtifactError> {
            let end = at
                .checked_add(n)
                .filter(|&e| e <= len)
                .ok_or_else(|| bad("it ends too early"))?;
            let range = at..end;
            at = end;
            Ok(range)
        };
        let names = span_of(names_len)?;
        let uris = uris_len.map(&mut span_of).transpose()?;
        let mut segments = Vec::with_capacity(lines.len());
        let mut reached = regions_end;
        for (n, first, last, max_sym, bytes, names_end, max_uri) in lines {
            let names_end = names_end.unwrap_or(names_len);
            if names_end < reached || names_end > names_len {
                return Err(bad("a segment's names are out of order"));
            }
            reached = names_end;
            segments.push(Segment {
                n,
                first,
                last,
                max_sym,
                at: span_of(bytes)?,
                names_end,
                max_uri,
            });
        }
        if regions_end > names_len {
            return Err(bad("its region names are damaged"));
        }
        if at != len {
            return Err(bad("it goes on past its last segment"));
        }
        Ok(Header::Layout(Layout {
            n_strings: n_strings as usize,
            n_regions: n_regions as usize,
            n_plays: n_plays as usize,
            span,
            names,
            regions_end,
            uris,
            n_uris: n_uris as usize,
            segments,
        }))
    }

    /// The bytes of its names section (with the region names), of its URIs (none in formats
    /// before 4, where they are among the names) and of its segments together.
    pub fn sections(&self) -> (usize, usize, usize) {
        (
            self.names.len(),
            self.uris.as_ref().map_or(0, |u| u.len()),
            self.segments.iter().map(|s| s.at.len()).sum(),
        )
    }

    /// The bytes holding the streams that ended from `from_ms` to `to_ms` (inclusive): the
    /// segments they lie in, and the start of the names section as far as those segments'
    /// names reach.
    pub fn window(&self, from_ms: i64, to_ms: i64) -> WindowPlan {
        let a = self.segments.partition_point(|s| s.last < from_ms);
        let b = a + self.segments[a..].partition_point(|s| s.first <= to_ms);
        let (names_end, segments) = match self.segments.get(a..b) {
            Some([first, .., last]) => (last.names_end, first.at.start..last.at.end),
            Some([only]) => (only.names_end, only.at.clone()),
            _ => (self.regions_end, 0..0),
        };
        WindowPlan {
            names: self.names.start..self.names.start + names_end,
            segments,
            chosen: a..b,
            from_ms,
            to_ms,
        }
    }

    /// Decodes a window from the bytes [`Layout::window`] named: `names` and `segments`, as
    /// read from the artifact at `plan.names` and `plan.segments`.
    pub fn decode_window(
        &self,
        plan: &WindowPlan,
        names: &[u8],
        segments: &[u8],
    ) -> Result<Window, ArtifactError> {
        use rayon::prelude::*;
        if names.len() != plan.names.len() || segments.len() != plan.segments.len() {
            return Err(ArtifactError(
                "the bytes read are not those of the window".into(),
            ));
        }
        let chosen = &self.segments[plan.chosen.clone()];
        let needed = chosen.iter().map(|s| s.max_sym).max().unwrap_or(0) as usize;
        let (names, decoded) = rayon::join(
            || names_prefix(names, self.n_regions, needed),
            || {
                chosen
                    .par_iter()
                    .map(|s| {
                        let at = s.at.start - plan.segments.start..s.at.end - plan.segments.start;
                        s.decode(&segments[at], self.n_regions)
                    })
                    .collect::<Result<Vec<_>, _>>()
            },
        );
        let (regions, text, names) = names?;
        let mut window = Window {
            regions,
            span: self.span,
            ..Window::default()
        };
        let mut remap: Vec<Sym> = vec![Sym::NONE; needed + 1];
        let mut bad_name = false;
        for (plays, regions_of, firsts) in decoded? {
            for ((play, region), first) in plays.into_iter().zip(regions_of).zip(firsts) {
                if play.end_ms < plan.from_ms || play.end_ms > plan.to_ms {
                    continue;
                }
                let mut play = play;
                if self.uris.is_some() {
                    // Not read: no dashboard shows them.
                    play.uri = Sym::NONE;
                }
                remap_names(&mut play, &mut remap, |sym| {
                    let (a, b) = names[sym.0 as usize - 1];
                    match std::str::from_utf8(&text[a..b]) {
                        Ok(name) => window.strings.intern(name),
                        Err(_) => {
                            bad_name = true;
                            Sym::NONE
                        }
                    }
                });
                window.plays.push(play);
                window.regions_of.push(region);
                window.firsts.push(first);
            }
        }
        if bad_name {
            return Err(ArtifactError("a name is not UTF-8".into()));
        }
        Ok(window)
    }
}

/// Bytes of format 1 (one deflated body: names, regions, the eleven columns), as builds
/// before format 2 wrote them: for tests of what reads and rewrites them.
#[doc(hidden)]
pub fn encode_1(a: &Artifact) -> Vec<u8> {
    let mut body = Vec::new();
    put(&mut body, a.strings.len() as u64);
    for i in 1..=a.strings.len() {
        let s = a.strings.get(Sym(i as u32));
        put(&mut body, s.len() as u64);
        body.extend_from_slice(s.as_bytes());
    }
    put(&mut body, a.regions.len() as u64);
    for r in &a.regions {
        put(&mut body, r.len() as u64);
        body.extend_from_slice(r.as_bytes());
    }
    put(&mut body, a.plays.len() as u64);
    for c in 0..COLUMNS_1 {
        let col = column(&a.plays, &a.regions_of, &[], c, false);
        put(&mut body, col.len() as u64);
        body.extend_from_slice(&col);
    }
    deflate_marked(&body, &[], b"BSPA\x01".to_vec(), 2).0
}

impl Window {
    /// The uploads the artifact's streams come from (all of them, not only the window's),
    /// sorted.
    pub fn uploads(&self) -> Vec<&str> {
        uploads_of(&self.regions)
    }
}

/// The uploads holding the streams of `regions`, sorted.
fn uploads_of(regions: &[String]) -> Vec<&str> {
    let mut out: Vec<&str> = regions
        .iter()
        .flat_map(|r| r.split('|').next().unwrap_or("").split(','))
        .filter(|s| !s.is_empty())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The format byte of an artifact's bytes, refused unless this build reads it.
fn format_of(bytes: &[u8]) -> Result<u8, ArtifactError> {
    if bytes.len() < 5 || &bytes[..4] != MAGIC {
        return Err(ArtifactError(
            "it does not start with the artifact's mark".into(),
        ));
    }
    match bytes[4] {
        1..=FORMAT => Ok(bytes[4]),
        other => Err(ArtifactError(format!(
            "format {other} where this build reads 1 to {FORMAT}"
        ))),
    }
}

/// `bytes` inflated, with room for about `hint` bytes.
fn inflate(bytes: &[u8], hint: usize) -> Result<Vec<u8>, ArtifactError> {
    let mut body = Vec::with_capacity(hint);
    flate2::read::DeflateDecoder::new(bytes)
        .read_to_end(&mut body)
        .map_err(|e| ArtifactError(format!("its body does not inflate ({e})")))?;
    Ok(body)
}

impl Segment {
    /// Its streams, their regions and their [`Window::firsts`] from its deflated `bytes`,
    /// checked against its header line.
    fn decode(&self, bytes: &[u8], n_regions: usize) -> Result<Decoded, ArtifactError> {
        let body = inflate(bytes, self.n * 24)?;
        let mut r = Reader { buf: &body, at: 0 };
        let decoded = read_plays(
            &mut r,
            self.n,
            (self.max_sym as usize, self.max_uri.map(|u| u as usize)),
            n_regions,
            COLUMNS_2,
        )?;
        if decoded.0.first().map(|p| p.end_ms) != Some(self.first)
            || decoded.0.last().map(|p| p.end_ms) != Some(self.last)
        {
            return Err(ArtifactError(
                "a segment's times do not match its header".into(),
            ));
        }
        Ok(decoded)
    }
}

/// Streams, their regions and their first-ever bits (empty in format 1).
type Decoded = (Vec<Play>, Vec<u32>, Vec<u8>);

/// `n` region names.
fn read_regions(r: &mut Reader<'_>, n: usize) -> Result<Vec<String>, ArtifactError> {
    let mut regions = Vec::with_capacity(n);
    for _ in 0..n {
        let len = r.len()?;
        let text = std::str::from_utf8(r.take(len)?)
            .map_err(|_| ArtifactError("a region is not UTF-8".into()))?;
        regions.push(text.to_string());
    }
    Ok(regions)
}

/// Region names, then a buffer and where each name lies in it (symbol `i` at `[i - 1]`).
type NamesPrefix = (Vec<String>, Vec<u8>, Vec<(usize, usize)>);

/// What a names section is inflated by at a time while only its first names are wanted.
const NAMES_CHUNK: usize = 128 << 10;

/// The region names and the first `needed` names of a names section (format 2 on), inflating a
/// piece at a time and no further than they reach.
fn names_prefix(
    deflated: &[u8],
    n_regions: usize,
    needed: usize,
) -> Result<NamesPrefix, ArtifactError> {
    let mut z = Inflater::new(deflated);
    let mut buf: Vec<u8> = Vec::with_capacity(NAMES_CHUNK);
    let mut at = 0usize;
    // Where the next entry (its length, then its bytes) lies, inflating more until it is all
    // there.
    let mut next = |buf: &mut Vec<u8>| -> Result<(usize, usize), ArtifactError> {
        loop {
            let mut r = Reader { buf, at };
            if let Ok(len) = r.get()
                && let Some(end) = usize::try_from(len)
                    .ok()
                    .and_then(|len| r.at.checked_add(len))
                    .filter(|&end| end <= buf.len())
            {
                at = end;
                return Ok((r.at, end));
            }
            if z.more(buf, NAMES_CHUNK)? == 0 {
                return Err(ArtifactError("it ends too early".into()));
            }
        }
    };
    let mut regions = Vec::with_capacity(n_regions);
    for _ in 0..n_regions {
        let (a, b) = next(&mut buf)?;
        regions.push(
            std::str::from_utf8(&buf[a..b])
                .map_err(|_| ArtifactError("a region is not UTF-8".into()))?
                .to_string(),
        );
    }
    let mut names = Vec::with_capacity(needed);
    for _ in 0..needed {
        names.push(next(&mut buf)?);
    }
    Ok((regions, buf, names))
}

/// Inflates the deflate stream its bytes start with, a piece at a time, as far as they reach:
/// they may stop at a flush within it (the start of a names section, as a window reads it),
/// where a stream reader would call them cut short.
struct Inflater<'a> {
    z: flate2::Decompress,
    input: &'a [u8],
}

impl<'a> Inflater<'a> {
    fn new(input: &'a [u8]) -> Inflater<'a> {
        Inflater {
            z: flate2::Decompress::new(false),
            input,
        }
    }

    /// Appends up to about `n` more bytes to `out`; 0 once the bytes are used up or the
    /// stream has ended.
    fn more(&mut self, out: &mut Vec<u8>, n: usize) -> Result<usize, ArtifactError> {
        out.reserve(n);
        let before = out.len();
        loop {
            let (read, wrote) = (self.z.total_in(), out.len());
            let rest = self.input.get(read as usize..).unwrap_or_default();
            let status = self
                .z
                .decompress_vec(rest, out, flate2::FlushDecompress::None)
                .map_err(|e| ArtifactError(format!("its names do not inflate ({e})")))?;
            let moved = self.z.total_in() != read || out.len() != wrote;
            if out.len() > before || !moved || status == flate2::Status::StreamEnd {
                return Ok(out.len() - before);
            }
        }
    }
}

/// Reads bytes of format 1: one deflated body, the names, the regions, then the columns.
fn decode_1(bytes: &[u8]) -> Result<Artifact, ArtifactError> {
    let body = inflate(&bytes[5..], bytes.len() * 3)?;
    let mut r = Reader { buf: &body, at: 0 };
    let n_strings = r.len()?;
    let names_at = r.at;
    for _ in 0..n_strings {
        let len = r.len()?;
        r.take(len)?;
    }
    let names = &body[names_at..r.at];
    // The table of names on one core, the streams on another.
    let (strings, streams) = rayon::join(
        || read_names(names, n_strings),
        || -> Result<_, ArtifactError> {
            let n_regions = r.len()?;
            let regions = read_regions(&mut r, n_regions)?;
            let n = r.len()?;
            let (plays, regions_of, _) =
                read_plays(&mut r, n, (n_strings, None), n_regions, COLUMNS_1)?;
            Ok((regions, plays, regions_of))
        },
    );
    let strings = strings?;
    let (regions, plays, regions_of) = streams?;
    Ok(Artifact {
        strings,
        regions,
        plays,
        regions_of,
    })
}

/// The names of an artifact, `n` of them, each once.
fn read_names(names: &[u8], n: usize) -> Result<Strings, ArtifactError> {
    let bad = |why: &str| ArtifactError(why.to_string());
    let mut r = Reader { buf: names, at: 0 };
    let mut strings = Strings::with_capacity(n, names.len());
    for i in 1..=n {
        let len = r.len()?;
        let text = std::str::from_utf8(r.take(len)?).map_err(|_| bad("a name is not UTF-8"))?;
        if strings.intern(text) != Sym(i as u32) {
            return Err(bad("a name is listed twice"));
        }
    }
    Ok(strings)
}

/// `n` streams from `columns` columns ([`COLUMNS_1`] or [`COLUMNS_2`], the last holding the
/// first-ever bits), each column a length then its varints; a stream naming a symbol past
/// `max_sym` (a URI past `max_uri`, when URIs are numbered apart) or a region past
/// `n_regions` is refused.
fn read_plays(
    r: &mut Reader<'_>,
    n: usize,
    (max_sym, max_uri): (usize, Option<usize>),
    n_regions: usize,
    columns: usize,
) -> Result<Decoded, ArtifactError> {
    let bad = |why: &str| ArtifactError(why.to_string());
    let mut cols: Vec<Reader<'_>> = Vec::with_capacity(columns);
    for _ in 0..columns {
        let len = r.len()?;
        cols.push(Reader {
            buf: r.take(len)?,
            at: 0,
        });
    }
    let [ends, lengths, packed, countries, names @ .., regions_col] = &mut cols[..COLUMNS_1] else {
        unreachable!("eleven columns")
    };
    let mut plays = Vec::with_capacity(n);
    let mut regions_of = Vec::with_capacity(n);
    let mut end = 0i64;
    // Formats 2 and 3 write artist, album and URI from the title ([`column`]).
    let predicted = columns == COLUMNS_2;
    // Format 1 reads its URIs unpredicted, among the names.
    let uri_max = max_uri.unwrap_or(max_sym);
    let mut predictors: [Predictor; 3] = Default::default();
    let sym = |c: &mut Reader<'_>| -> Result<Sym, ArtifactError> {
        let v = c.get()?;
        if v > max_sym as u64 {
            return Err(ArtifactError("a play names a name not listed".into()));
        }
        Ok(Sym(v as u32))
    };
    for _ in 0..n {
        end = end.wrapping_add(unzigzag(ends.get()?));
        let ms_played = lengths.get()?;
        let bits = u16::try_from(packed.get()?).map_err(|_| bad("flags out of range"))?;
        let country = u16::try_from(countries.get()?)
            .map_err(|_| bad("a country out of range"))?
            .to_be_bytes();
        let region = regions_col.get()?;
        if region >= n_regions as u64 {
            return Err(bad("a play lies in a region not listed"));
        }
        let mut play = unpack(bits, end, ms_played, Country(country))
            .ok_or_else(|| bad("flags out of range"))?;
        play.title = sym(&mut names[0])?;
        if predicted {
            for (k, last) in predictors.iter_mut().enumerate() {
                let v = names[k + 1].get()?;
                let named = last
                    .decode(play.title, v)
                    .filter(|s| s.0 as usize <= if k == 2 { uri_max } else { max_sym })
                    .ok_or_else(|| bad("a play names a name not listed"))?;
                *[&mut play.creator, &mut play.collection, &mut play.uri][k] = named;
            }
        } else {
            play.creator = sym(&mut names[1])?;
            play.collection = sym(&mut names[2])?;
            play.uri = sym(&mut names[3])?;
        }
        play.reason_start = sym(&mut names[4])?;
        play.reason_end = sym(&mut names[5])?;
        plays.push(play);
        regions_of.push(region as u32);
    }
    let mut firsts = Vec::new();
    if let Some(col) = cols.get_mut(COLUMNS_1) {
        firsts.reserve(n);
        for _ in 0..n {
            let bits = col.get()?;
            if bits > u64::from(FIRST_ARTIST | FIRST_TRACK) {
                return Err(bad("first-ever bits out of range"));
            }
            firsts.push(bits as u8);
        }
    }
    Ok((plays, regions_of, firsts))
}

/// Rewrites a play's names through `remap` (indexed by symbol), asking `add` for the new
/// symbol the first time a name is met.
fn remap_names(play: &mut Play, remap: &mut [Sym], mut add: impl FnMut(Sym) -> Sym) {
    for sym in play.names_mut() {
        if sym.is_some() {
            let mapped = &mut remap[sym.0 as usize];
            if !mapped.is_some() {
                *mapped = add(*sym);
            }
            *sym = *mapped;
        }
    }
}

/// Whether a region (`M` or `M|S`) counts for a selection: it meets `M` and misses `S`.
pub fn region_counts_for(region: &str, selection: &[&str]) -> bool {
    let (members, shadows) = region.split_once('|').unwrap_or((region, ""));
    members.split(',').any(|u| selection.contains(&u))
        && !shadows
            .split(',')
            .any(|u| !u.is_empty() && selection.contains(&u))
}

/// Kind (2 bits), source (1), four optional flags (2 each), platform (4): 15 bits.
fn pack(p: &Play) -> u16 {
    let kind = match p.kind {
        Kind::Track => 0,
        Kind::Episode => 1,
        Kind::Audiobook => 2,
        Kind::Unknown => 3,
    };
    let flag = |f: Option<bool>| match f {
        None => 0u16,
        Some(false) => 1,
        Some(true) => 2,
    };
    let platform = Platform::ALL
        .iter()
        .position(|x| *x == p.platform)
        .unwrap_or(Platform::ALL.len() - 1) as u16;
    kind | u16::from(p.source == Source::Account) << 2
        | flag(p.shuffle) << 3
        | flag(p.skipped) << 5
        | flag(p.offline) << 7
        | flag(p.incognito) << 9
        | platform << 11
}

fn unpack(bits: u16, end_ms: i64, ms_played: u64, country: Country) -> Option<Play> {
    let kind = [Kind::Track, Kind::Episode, Kind::Audiobook, Kind::Unknown][usize::from(bits & 3)];
    let source = if bits >> 2 & 1 == 1 {
        Source::Account
    } else {
        Source::Extended
    };
    let flag = |shift: u16| match bits >> shift & 3 {
        0 => Some(None),
        1 => Some(Some(false)),
        2 => Some(Some(true)),
        _ => None,
    };
    let mut play = Play::bare(end_ms, ms_played, kind, source, [Sym::NONE; 3]);
    play.shuffle = flag(3)?;
    play.skipped = flag(5)?;
    play.offline = flag(7)?;
    play.incognito = flag(9)?;
    play.platform = *Platform::ALL.get(usize::from(bits >> 11))?;
    play.country = country;
    Some(play)
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    (v >> 1) as i64 ^ -((v & 1) as i64)
}

/// Appends `v` as a LEB128 varint.
fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The symbol last seen with each title, for the columns [`column`] predicts from the title.
#[derive(Default)]
struct Predictor {
    last: Vec<u32>,
}

impl Predictor {
    /// The symbol last seen with `title` (`u32::MAX` for none yet).
    fn get(&mut self, title: Sym) -> &mut u32 {
        let i = title.0 as usize;
        if i >= self.last.len() {
            self.last.resize((i + 1).max(self.last.len() * 2), u32::MAX);
        }
        &mut self.last[i]
    }

    /// `sym` as written after `title`: 0 when it is the one last seen with it, else plus one.
    fn encode(&mut self, title: Sym, sym: Sym) -> u64 {
        let last = self.get(title);
        let same = *last == sym.0;
        *last = sym.0;
        if same { 0 } else { u64::from(sym.0) + 1 }
    }

    /// The symbol written as `v` after `title`, `None` when it names nothing.
    fn decode(&mut self, title: Sym, v: u64) -> Option<Sym> {
        let last = self.get(title);
        let sym = match v {
            0 if *last != u32::MAX => *last,
            0 => return None,
            v => u32::try_from(v - 1).ok()?,
        };
        *last = sym;
        Some(Sym(sym))
    }
}

/// Columns of a format-1 artifact: end times, lengths, flags, countries, six names, regions.
const COLUMNS_1: usize = 11;

/// Columns of a segment (format 2 on): those of format 1, then the first-ever bits.
const COLUMNS_2: usize = 12;

/// Column `c` of [`COLUMNS_2`] for `plays` as varints: end times as deltas (zigzag), lengths,
/// flags, countries, the six names, regions, first-ever bits.
///
/// With `predicted` (format 2 on), a stream's artist, album and URI are written as 0 when they
/// are those of the last stream of the same title in the column (else the symbol plus one):
/// a title mostly comes with one of each, so those three columns are mostly zeros.
fn column(plays: &[Play], regions_of: &[u32], firsts: &[u8], c: usize, predicted: bool) -> Vec<u8> {
    if predicted && (5..=7).contains(&c) {
        let mut last = Predictor::default();
        return varints(plays.iter().map(|p| {
            let names = p.names();
            last.encode(names[0], names[c - 4])
        }));
    }
    let plays = plays.iter();
    match c {
        0 => {
            let mut previous = 0i64;
            varints(plays.map(|p| {
                let delta = p.end_ms.wrapping_sub(previous);
                previous = p.end_ms;
                zigzag(delta)
            }))
        }
        1 => varints(plays.map(|p| p.ms_played)),
        2 => varints(plays.map(|p| u64::from(pack(p)))),
        3 => varints(plays.map(|p| u64::from(u16::from_be_bytes(p.country.0)))),
        4..=9 => varints(plays.map(|p| u64::from(p.names()[c - 4].0))),
        10 => varints(regions_of.iter().map(|&r| u64::from(r))),
        _ => varints(firsts.iter().map(|&f| u64::from(f))),
    }
}

/// Values as varints, one after the other.
fn varints(values: impl ExactSizeIterator<Item = u64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 2);
    for v in values {
        put(&mut out, v);
    }
    out
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn get(&mut self) -> Result<u64, ArtifactError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self
                .buf
                .get(self.at)
                .ok_or_else(|| ArtifactError("it ends too early".into()))?;
            self.at += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(ArtifactError("a number is too long".into()))
    }

    /// A count or length, which cannot exceed what is left to read.
    fn len(&mut self) -> Result<usize, ArtifactError> {
        let v = self.get()?;
        usize::try_from(v)
            .ok()
            .filter(|&v| v <= self.buf.len().saturating_mul(8))
            .ok_or_else(|| ArtifactError("a count is larger than the artifact".into()))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ArtifactError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| ArtifactError("it ends too early".into()))?;
        let out = &self.buf[self.at..end];
        self.at = end;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Region names and indexed streams from `(region name, play)` pairs.
    fn indexed(pairs: Vec<(String, Play)>) -> (Vec<String>, Vec<(u32, Play)>) {
        let mut names: Vec<String> = Vec::new();
        let streams = pairs
            .into_iter()
            .map(|(name, p)| {
                let i = names.iter().position(|n| *n == name).unwrap_or_else(|| {
                    names.push(name);
                    names.len() - 1
                });
                (i as u32, p)
            })
            .collect();
        (names, streams)
    }

    fn built() -> Artifact {
        let (pairs, strings) = sample();
        let (names, streams) = indexed(pairs);
        Artifact::build(names, streams, &strings)
    }

    fn sample() -> (Vec<(String, Play)>, Strings) {
        let mut s = Strings::default();
        let names = [
            s.intern("Song"),
            s.intern("Artist"),
            s.intern("Album"),
            s.intern("spotify:track:x"),
            s.intern("clickrow"),
            s.intern("trackdone"),
        ];
        let unused = s.intern("not used by any play");
        assert!(unused.is_some());
        let mut a = Play::bare(
            1_700_000_000_000,
            200_000,
            Kind::Track,
            Source::Extended,
            [names[0], names[1], names[2]],
        );
        a.uri = names[3];
        a.reason_start = names[4];
        a.reason_end = names[5];
        a.shuffle = Some(true);
        a.skipped = Some(false);
        a.incognito = Some(false);
        a.platform = Platform::Speaker;
        a.country = Country::parse("se");
        let b = Play::bare(
            1_600_000_000_000,
            1_000,
            Kind::Episode,
            Source::Account,
            [names[1], Sym::NONE, Sym::NONE],
        );
        let c = Play::bare(-5, 0, Kind::Unknown, Source::Extended, [Sym::NONE; 3]);
        (
            vec![
                ("u1".to_string(), a),
                ("u1,u2|u3".to_string(), b),
                ("u2".to_string(), c),
            ],
            s,
        )
    }

    fn spelled(a: &Artifact) -> Vec<(String, i64, [Option<String>; 6], Play)> {
        a.plays
            .iter()
            .zip(&a.regions_of)
            .map(|(p, r)| {
                let mut bare = *p;
                for s in bare.names_mut() {
                    *s = Sym::NONE;
                }
                (
                    a.regions[*r as usize].clone(),
                    p.end_ms,
                    p.names().map(|s| a.strings.opt(s).map(String::from)),
                    bare,
                )
            })
            .collect()
    }

    #[test]
    fn an_artifact_reads_back_every_field_of_every_stream_in_time_order() {
        let built = built();
        assert_eq!(
            built.plays.iter().map(|p| p.end_ms).collect::<Vec<_>>(),
            vec![-5, 1_600_000_000_000, 1_700_000_000_000]
        );
        assert_eq!(built.strings.len(), 6, "only the names plays use are kept");
        let bytes = built.encode();
        let back = Artifact::decode(&bytes).unwrap();
        assert_eq!(spelled(&back), spelled(&built));
        let last = &spelled(&back)[2];
        assert_eq!(last.2[0].as_deref(), Some("Song"));
        assert_eq!(last.2[5].as_deref(), Some("trackdone"));
        assert_eq!(last.3.country.as_str(), "SE");
        assert_eq!(last.3.platform, Platform::Speaker);
        assert_eq!(
            (last.3.shuffle, last.3.skipped, last.3.offline),
            (Some(true), Some(false), None)
        );
    }

    #[test]
    fn a_selection_takes_the_streams_of_its_uploads_unless_a_chosen_upload_shadows_them() {
        let a = built();
        let ends = |sel: &[&str]| a.select(sel).iter().map(|p| p.end_ms).collect::<Vec<_>>();
        assert_eq!(ends(&["u1"]), vec![1_600_000_000_000, 1_700_000_000_000]);
        assert_eq!(ends(&["u2"]), vec![-5, 1_600_000_000_000]);
        assert_eq!(
            ends(&["u2", "u3"]),
            vec![-5],
            "u3's extended history shadows"
        );
        assert_eq!(ends(&["u3"]), Vec::<i64>::new());
        assert_eq!(a.uploads(), vec!["u1", "u2"]);
    }

    #[test]
    fn members_list_each_stream_under_every_upload_that_holds_it_but_the_excluded() {
        let a = built();
        let mut other = Strings::default();
        other.intern("a name the worker had already");
        let all = a.members(&[], &mut other);
        let uploads: Vec<(&str, i64)> =
            all.iter().map(|(u, _, p)| (u.as_str(), p.end_ms)).collect();
        assert_eq!(
            uploads,
            vec![
                ("u2", -5),
                ("u1", 1_600_000_000_000),
                ("u2", 1_600_000_000_000),
                ("u1", 1_700_000_000_000)
            ]
        );
        let (_, digest, song) = &all[3];
        assert_eq!(other.get(song.title), "Song");
        assert_eq!(other.get(song.reason_end), "trackdone");
        assert_eq!(*digest, crate::dedupe::stream_digest(song, &other));
        let without_u1 = a.members(&["u1".to_string()], &mut other);
        assert_eq!(
            without_u1
                .iter()
                .map(|(u, _, p)| (u.as_str(), p.end_ms))
                .collect::<Vec<_>>(),
            vec![("u2", -5), ("u2", 1_600_000_000_000)]
        );
    }

    #[test]
    fn damaged_or_foreign_bytes_are_refused_with_the_reason() {
        let bytes = built().encode();
        let why = |b: &[u8]| Artifact::decode(b).unwrap_err().to_string();
        assert!(why(b"PK\x03\x04").contains("mark"));
        let mut newer = bytes.clone();
        newer[4] = FORMAT + 1;
        assert!(why(&newer).contains(&format!("format {}", FORMAT + 1)));
        for cut in 5..bytes.len() {
            assert!(Artifact::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        // Any flipped byte is refused or read as some artifact, never a panic.
        for at in 5..bytes.len() {
            let mut b = bytes.clone();
            b[at] ^= 0x5a;
            let _ = Artifact::decode(&b);
        }
    }

    #[test]
    fn a_body_deflated_in_parts_inflates_as_one_stream_and_up_to_each_mark_alone() {
        // Empty, tiny and odd-sized bodies, in one part and in several (more parts than
        // bytes too), with marks at the start, inside parts, on a part's end and at the end.
        for len in [0usize, 1, 3, 100_000, 1_234_567] {
            let body: Vec<u8> = (0..len)
                .map(|i| (((i * 7919) % 251) ^ (i / 4096)) as u8)
                .collect();
            let mut marks = vec![0, len / 3, len / 3, len / 2, len * 2 / 3 + 1, len];
            marks.retain(|&m| m <= len);
            for parts in [1, 2, 3, 7] {
                let (deflated, offsets) = deflate_marked(&body, &marks, b"head".to_vec(), parts);
                assert_eq!(&deflated[..4], b"head");
                let mut back = Vec::new();
                flate2::read::DeflateDecoder::new(&deflated[4..])
                    .read_to_end(&mut back)
                    .unwrap();
                assert!(
                    back == body,
                    "{len} bytes in {parts} parts did not come back"
                );
                assert_eq!(offsets.len(), marks.len());
                for (&mark, &offset) in marks.iter().zip(&offsets) {
                    let mut z = Inflater::new(&deflated[4..4 + offset]);
                    let mut before = Vec::new();
                    while z.more(&mut before, 1 << 16).unwrap() > 0 {}
                    assert!(
                        before == body[..mark],
                        "{len} bytes in {parts} parts: the stream up to the mark at {mark} \
                         gave {} bytes",
                        before.len()
                    );
                }
            }
        }
    }

    /// `n` streams a minute apart over artists and titles that repeat, in three regions, the
    /// last shadowed by an upload holding streams of its own: several segments' worth.
    fn many(n: usize) -> Artifact {
        let mut s = Strings::default();
        let regions = vec!["a,c".to_string(), "a,b".to_string(), "b|c".to_string()];
        let streams = (0..n)
            .map(|i| {
                let artist = s.intern(&format!("Artist {}", i % 97));
                let title = s.intern(&format!("Title {}", (i * 7) % 1_013));
                let album = s.intern(&format!("Album {}", i % 31));
                let kind = if i % 11 == 0 {
                    Kind::Episode
                } else {
                    Kind::Track
                };
                let mut p = Play::bare(
                    1_500_000_000_000 + i as i64 * 60_000,
                    (i as u64 * 997) % 300_000,
                    kind,
                    Source::Extended,
                    [title, artist, album],
                );
                p.skipped = Some(i % 3 == 0);
                ((i % 7 % 3) as u32, p)
            })
            .collect();
        Artifact::build(regions, streams, &s)
    }

    /// The window `plan` names, decoded from only its bytes of `bytes`.
    fn planned(layout: &Layout, plan: &WindowPlan, bytes: &[u8]) -> Window {
        layout
            .decode_window(
                plan,
                &bytes[plan.names.clone()],
                &bytes[plan.segments.clone()],
            )
            .unwrap()
    }

    #[test]
    fn an_artifact_of_many_segments_reads_back_whole_and_the_formats_before_still_read() {
        let a = many(3 * SEGMENT + 17);
        let bytes = a.encode();
        assert_eq!(bytes[4], 4);
        let back = Artifact::decode(&bytes).unwrap();
        assert_eq!(spelled(&back), spelled(&a));
        assert_eq!(back.regions, a.regions);
        let old = Artifact::decode(&encode_1(&a)).unwrap();
        assert_eq!(spelled(&old), spelled(&a));
        assert_eq!(
            Artifact::decode_window(&encode_1(&a), 0, i64::MAX)
                .unwrap()
                .map(|w| w.plays.len()),
            None
        );
        // Format 2, as the build before this one wrote `many(SEGMENT + 100)` (URIs among the
        // names, no flushes): read whole, and by window with its URIs.
        let two: &[u8] = include_bytes!("../testdata/artifact-format-2.bin");
        assert_eq!(two[4], 2);
        let old = many(SEGMENT + 100);
        assert_eq!(spelled(&Artifact::decode(two).unwrap()), spelled(&old));
        let start = old.plays[0].end_ms;
        let (from, to) = (start + 4_000 * 60_000, start + 4_050 * 60_000);
        let w = Artifact::decode_window(two, from, to).unwrap().unwrap();
        assert_eq!(w.plays.len(), 51);
        assert_eq!(
            w.strings.get(w.plays[0].title),
            old.strings.get(old.plays[4_000].title)
        );
        // Format 3 as the build before this one wrote the same (flushed names, URIs among
        // them): read whole, and by window from only the bytes it names.
        let three: &[u8] = include_bytes!("../testdata/artifact-format-3.bin");
        assert_eq!(three[4], 3);
        assert_eq!(spelled(&Artifact::decode(three).unwrap()), spelled(&old));
        let Header::Layout(layout) = Layout::read(three, three.len()).unwrap() else {
            panic!("this format has a layout")
        };
        assert!(layout.uris.is_none());
        let plan = layout.window(from, to);
        let w3 = planned(&layout, &plan, three);
        assert_eq!(
            (w3.plays.len(), &w3.firsts, &w3.regions_of),
            (w.plays.len(), &w.firsts, &w.regions_of)
        );
    }

    #[test]
    fn a_window_needs_only_its_segments_and_the_names_up_to_theirs() {
        // A history that meets new tracks all along.
        let mut s = Strings::default();
        let streams = (0..6 * SEGMENT)
            .map(|i| {
                let names = [
                    s.intern(&format!("Title {}", i / 3)),
                    s.intern(&format!("Artist {}", i / 40)),
                    s.intern(&format!("Album {}", i / 12)),
                ];
                let mut p = Play::bare(
                    1_500_000_000_000 + i as i64 * 60_000,
                    120_000,
                    Kind::Track,
                    Source::Extended,
                    names,
                );
                // More URIs than names: one a stream.
                p.uri = s.intern(&format!("spotify:track:{:022}", i * 7_919));
                (0, p)
            })
            .collect();
        let a = Artifact::build(vec!["a".to_string()], streams, &s);
        let bytes = a.encode();
        let Header::Layout(layout) = Layout::read(&bytes, bytes.len()).unwrap() else {
            panic!("this format has a layout")
        };
        // The header alone says how long it is, from its first sixteen bytes.
        let Header::Longer(head_end) = Layout::read(&bytes[..16], bytes.len()).unwrap() else {
            panic!("sixteen bytes do not hold the header")
        };
        assert_eq!(head_end, layout.names.start);
        assert!(matches!(
            Layout::read(&bytes[..6], bytes.len()).unwrap(),
            Header::Longer(16)
        ));
        assert!(matches!(
            Layout::read(&bytes[..head_end], bytes.len()).unwrap(),
            Header::Layout(_)
        ));
        // Early days: the first segment and the names up to its last, a part of the whole.
        let start = a.plays[0].end_ms;
        let plan = layout.window(start, start + 60_000);
        assert_eq!(plan.segments, layout.segments[0].at);
        assert!(plan.names.len() < layout.names.len() / 2, "{plan:?}");
        // A window reads its streams from only the bytes it names, without their URIs
        // (which the whole artifact keeps, in a section of their own no window reads).
        let w = planned(&layout, &plan, &bytes);
        assert_eq!(w.plays.len(), 2);
        assert_eq!(w.strings.get(w.plays[1].title), "Title 0");
        assert!(w.plays.iter().all(|p| p.uri == Sym::NONE));
        let uris = layout.uris.clone().unwrap();
        assert!(plan.names.end <= uris.start && uris.end <= plan.segments.start);
        assert_eq!(spelled(&Artifact::decode(&bytes).unwrap()), spelled(&a));
        // Days with no stream: no segment, the region names only.
        let none = layout.window(start - 10, start - 1);
        assert!(none.segments.is_empty());
        let w = layout
            .decode_window(&none, &bytes[none.names.clone()], &[])
            .unwrap();
        assert!(w.plays.is_empty());
        assert_eq!(w.regions, a.regions);
        // Bytes of another length are refused.
        assert!(
            layout
                .decode_window(&plan, &bytes[plan.names.start..plan.names.end - 1], &[])
                .is_err()
        );
    }

    #[test]
    fn a_window_reads_exactly_its_streams_with_their_names_and_who_was_first_heard() {
        let a = many(3 * SEGMENT + 17);
        let bytes = a.encode();
        // What a window must hold, from the whole artifact: the streams that ended in it, and
        // which of them is the first of its artist or track among the streams counting for
        // every upload (region "b|c" is shadowed by c).
        let mut seen = std::collections::HashSet::new();
        let expected_firsts: Vec<u8> = a
            .plays
            .iter()
            .zip(&a.regions_of)
            .map(|(p, &r)| {
                if r == 2 || p.kind != Kind::Track {
                    return 0;
                }
                let artist = u8::from(seen.insert((0, p.creator, Sym::NONE))) * FIRST_ARTIST;
                artist | (u8::from(seen.insert((1, p.creator, p.title))) * FIRST_TRACK)
            })
            .collect();
        assert!(
            expected_firsts
                .iter()
                .filter(|&&f| f & FIRST_TRACK != 0)
                .count()
                > 900
        );
        let start = a.plays[0].end_ms;
        for (from, to) in [
            (start, start),
            (start + 100 * 60_000, start + 5_000 * 60_000),
            (
                start + (SEGMENT as i64 - 1) * 60_000,
                start + SEGMENT as i64 * 60_000,
            ),
            (start + 10_000 * 60_000 + 1, i64::MAX),
            (i64::MIN, start - 1),
        ] {
            let w = Artifact::decode_window(&bytes, from, to).unwrap().unwrap();
            let inside: Vec<usize> = (0..a.plays.len())
                .filter(|&i| (from..=to).contains(&a.plays[i].end_ms))
                .collect();
            let spell = |strings: &Strings, p: &Play| p.names().map(|s| strings.get(s).to_string());
            assert_eq!(w.plays.len(), inside.len(), "{from}..{to}");
            for (k, &i) in inside.iter().enumerate() {
                assert_eq!(w.plays[k].end_ms, a.plays[i].end_ms);
                assert_eq!(w.plays[k].ms_played, a.plays[i].ms_played);
                assert_eq!(
                    spell(&w.strings, &w.plays[k]),
                    spell(&a.strings, &a.plays[i])
                );
                assert_eq!(
                    w.regions[w.regions_of[k] as usize],
                    a.regions[a.regions_of[i] as usize]
                );
                assert_eq!(w.firsts[k], expected_firsts[i], "stream {i}");
            }
            let used: std::collections::HashSet<Sym> = w
                .plays
                .iter()
                .flat_map(|p| p.names())
                .filter(|s| s.is_some())
                .collect();
            assert_eq!(
                w.strings.len(),
                used.len(),
                "only the names the window uses"
            );
            let counting: Vec<i64> = a
                .plays
                .iter()
                .zip(&a.regions_of)
                .filter(|(_, r)| **r != 2)
                .map(|(p, _)| p.end_ms)
                .collect();
            assert_eq!(w.span, Some((counting[0], *counting.last().unwrap())));
        }
    }

    #[test]
    fn a_window_of_a_damaged_artifact_is_refused_never_a_panic() {
        let bytes = many(SEGMENT + 5).encode();
        let whole = |b: &[u8]| Artifact::decode_window(b, i64::MIN, i64::MAX);
        assert!(whole(&bytes).unwrap().is_some());
        for cut in 5..bytes.len() {
            assert!(whole(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        for at in (5..bytes.len()).step_by(bytes.len() / 400 + 1) {
            let mut b = bytes.clone();
            b[at] ^= 0x5a;
            let _ = whole(&b);
            let _ = Artifact::decode(&b);
        }
    }

    #[test]
    fn an_empty_history_is_an_empty_artifact() {
        let a = Artifact::build(vec![], vec![], &Strings::default());
        let back = Artifact::decode(&a.encode()).unwrap();
        assert!(back.plays.is_empty() && back.regions.is_empty());
    }
}
