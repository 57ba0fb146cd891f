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
//! The encoding is columnar: a header, the names (each once), the region names, then one column
//! per field (end times as deltas, lengths, flags packed in a few bits, symbols, regions), each
//! a run of LEB128 varints, the whole body deflated. Columns of like values compress well: a
//! lifetime of 300,000 streams takes about 10 bytes a stream (BENCHMARKS.md).

use std::fmt;
use std::io::{Read, Write};

use crate::model::{Country, Kind, Platform, Play, Source, Strings, Sym};

/// The first bytes of an artifact.
const MAGIC: &[u8; 4] = b"BSPA";

/// The encoding's version; [`Artifact::decode`] refuses any other (the worker rewrites them).
pub const FORMAT: u8 = 1;

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

/// Appends `body` deflated (level 1) to `out`: one deflate stream, written in parts on all
/// cores when the body is large, as `pigz` does. Each part is deflated on its own, every part
/// but the last ending with a sync flush (an empty stored block, which ends on a byte), so the
/// parts laid end to end are one valid stream any inflater reads in one go, and the format
/// does not change. A part does not refer back into the one before: a few bytes more than one
/// stream over the whole body.
fn deflate(body: &[u8], out: Vec<u8>) -> Vec<u8> {
    deflate_in(
        body,
        out,
        rayon::current_num_threads().min(body.len() / PART),
    )
}

/// [`deflate`] in `parts` parts (one when fewer than two, or fewer bytes than parts).
fn deflate_in(body: &[u8], out: Vec<u8>, parts: usize) -> Vec<u8> {
    use rayon::prelude::*;
    let encoder = |out| flate2::write::DeflateEncoder::new(out, flate2::Compression::fast());
    if parts < 2 || body.len() < parts {
        let mut z = encoder(out);
        z.write_all(body).expect("writing to memory");
        return z.finish().expect("writing to memory");
    }
    let size = body.len().div_ceil(parts);
    let last = (body.len() - 1) / size;
    let deflated: Vec<Vec<u8>> = body
        .par_chunks(size)
        .enumerate()
        .map(|(i, part)| {
            let mut z = encoder(Vec::with_capacity(part.len() / 3 + 64));
            z.write_all(part).expect("writing to memory");
            if i == last {
                z.finish().expect("writing to memory")
            } else {
                // A sync flush; what the encoder writes when dropped after it (the final
                // block) goes to the emptied buffer left behind.
                z.flush().expect("writing to memory");
                std::mem::take(z.get_mut())
            }
        })
        .collect();
    let mut out = out;
    for part in deflated {
        out.extend_from_slice(&part);
    }
    out
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
        let mut out: Vec<&str> = self
            .regions
            .iter()
            .flat_map(|r| r.split('|').next().unwrap_or("").split(','))
            .filter(|s| !s.is_empty())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The encoded bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.plays.len() * 24 + self.strings.len() * 24);
        put(&mut body, self.strings.len() as u64);
        for i in 1..=self.strings.len() {
            let s = self.strings.get(Sym(i as u32));
            put(&mut body, s.len() as u64);
            body.extend_from_slice(s.as_bytes());
        }
        put(&mut body, self.regions.len() as u64);
        for r in &self.regions {
            put(&mut body, r.len() as u64);
            body.extend_from_slice(r.as_bytes());
        }
        put(&mut body, self.plays.len() as u64);
        // The columns on all cores, laid end to end in order.
        let columns: Vec<Vec<u8>> = {
            use rayon::prelude::*;
            (0..COLUMNS)
                .into_par_iter()
                .map(|c| self.column(c))
                .collect()
        };
        for col in columns {
            put(&mut body, col.len() as u64);
            body.extend_from_slice(&col);
        }
        let mut out = Vec::with_capacity(body.len() / 3 + 16);
        out.extend_from_slice(MAGIC);
        out.push(FORMAT);
        deflate(&body, out)
    }

    /// Column `c` of [`COLUMNS`] as varints: end times as deltas (zigzag), lengths, flags,
    /// countries, the six names, regions.
    fn column(&self, c: usize) -> Vec<u8> {
        let plays = self.plays.iter();
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
            _ => varints(self.regions_of.iter().map(|&r| u64::from(r))),
        }
    }

    /// Reads bytes [`Artifact::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<Artifact, ArtifactError> {
        let bad = |why: &str| ArtifactError(why.to_string());
        if bytes.len() < 5 || &bytes[..4] != MAGIC {
            return Err(bad("it does not start with the artifact's mark"));
        }
        if bytes[4] != FORMAT {
            return Err(ArtifactError(format!(
                "format {} where this build reads {FORMAT}",
                bytes[4]
            )));
        }
        let mut body = Vec::with_capacity(bytes.len() * 3);
        flate2::read::DeflateDecoder::new(&bytes[5..])
            .read_to_end(&mut body)
            .map_err(|e| ArtifactError(format!("its body does not inflate ({e})")))?;
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
            || read_streams(r, n_strings),
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

/// The regions and the streams of an artifact (with each one's region), read from after its
/// names; a stream naming a symbol past `n_strings` is refused.
type Streams = (Vec<String>, Vec<Play>, Vec<u32>);

fn read_streams(mut r: Reader<'_>, n_strings: usize) -> Result<Streams, ArtifactError> {
    let bad = |why: &str| ArtifactError(why.to_string());
    let n_regions = r.len()?;
    let mut regions = Vec::with_capacity(n_regions);
    for _ in 0..n_regions {
        let len = r.len()?;
        let text = std::str::from_utf8(r.take(len)?).map_err(|_| bad("a region is not UTF-8"))?;
        regions.push(text.to_string());
    }
    let n = r.len()?;
    let mut columns: Vec<Reader<'_>> = Vec::with_capacity(11);
    for _ in 0..11 {
        let len = r.len()?;
        columns.push(Reader {
            buf: r.take(len)?,
            at: 0,
        });
    }
    let [ends, lengths, packed, countries, names @ .., regions_col] = columns.as_mut_slice() else {
        unreachable!("eleven columns")
    };
    let mut plays = Vec::with_capacity(n);
    let mut regions_of = Vec::with_capacity(n);
    let mut end = 0i64;
    let sym = |c: &mut Reader<'_>| -> Result<Sym, ArtifactError> {
        let v = c.get()?;
        if v > n_strings as u64 {
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
        if region >= regions.len() as u64 {
            return Err(bad("a play lies in a region not listed"));
        }
        let mut play = unpack(bits, end, ms_played, Country(country))
            .ok_or_else(|| bad("flags out of range"))?;
        play.title = sym(&mut names[0])?;
        play.creator = sym(&mut names[1])?;
        play.collection = sym(&mut names[2])?;
        play.uri = sym(&mut names[3])?;
        play.reason_start = sym(&mut names[4])?;
        play.reason_end = sym(&mut names[5])?;
        plays.push(play);
        regions_of.push(region as u32);
    }
    Ok((regions, plays, regions_of))
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

/// Columns of an encoded artifact: end times, lengths, flags, countries, six names, regions.
const COLUMNS: usize = 11;

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
    fn a_body_deflated_in_parts_inflates_as_one_stream() {
        // Empty, tiny and odd-sized bodies, in one part and in several (more parts than
        // bytes too).
        for len in [0usize, 1, 3, 100_000, 1_234_567] {
            let body: Vec<u8> = (0..len)
                .map(|i| (((i * 7919) % 251) ^ (i / 4096)) as u8)
                .collect();
            for parts in [1, 2, 3, 7] {
                let deflated = deflate_in(&body, b"head".to_vec(), parts);
                assert_eq!(&deflated[..4], b"head");
                let mut back = Vec::new();
                flate2::read::DeflateDecoder::new(&deflated[4..])
                    .read_to_end(&mut back)
                    .unwrap();
                assert!(
                    back == body,
                    "{len} bytes in {parts} parts did not come back"
                );
            }
        }
    }

    #[test]
    fn an_empty_history_is_an_empty_artifact() {
        let a = Artifact::build(vec![], vec![], &Strings::default());
        let back = Artifact::decode(&a.encode()).unwrap();
        assert!(back.plays.is_empty() && back.regions.is_empty());
    }
}
