//! Streams into files: each generation's keys and printing, file names and splitting, the
//! video file, and the account-data package.

use std::collections::HashSet;
use std::io;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::ser::{CompactFormatter, Formatter};

use crate::Generation;
use crate::catalog::{Catalog, Uri};
use crate::history::{Ip, PLATFORMS, REASONS_END, REASONS_START, Rec, What};
use crate::time::{DAY, minute_text, text, ts_text, year_of};

/// Folder of the extended history in exports from December 2023 on.
pub(crate) const EXTENDED_DIR: &str = "Spotify Extended Streaming History";
/// Folder of both packages in older exports.
pub(crate) const OLD_DIR: &str = "MyData";
const ACCOUNT_DIR: &str = "Spotify Account Data";
/// Account-data files hold at most this many rows.
const ACCOUNT_ROWS_PER_FILE: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Ts,
    Username,
    Platform,
    MsPlayed,
    ConnCountry,
    IpAddrDecrypted,
    IpAddr,
    UserAgentDecrypted,
    TrackName,
    ArtistName,
    AlbumName,
    TrackUri,
    EpisodeName,
    ShowName,
    EpisodeUri,
    AudiobookTitle,
    AudiobookUri,
    AudiobookChapterUri,
    AudiobookChapterTitle,
    ReasonStart,
    ReasonEnd,
    Shuffle,
    Skipped,
    Offline,
    OfflineTimestamp,
    IncognitoMode,
    City,
    Region,
    MetroCode,
    Longitude,
    Latitude,
}

impl Key {
    fn name(self) -> &'static str {
        match self {
            Key::Ts => "ts",
            Key::Username => "username",
            Key::Platform => "platform",
            Key::MsPlayed => "ms_played",
            Key::ConnCountry => "conn_country",
            Key::IpAddrDecrypted => "ip_addr_decrypted",
            Key::IpAddr => "ip_addr",
            Key::UserAgentDecrypted => "user_agent_decrypted",
            Key::TrackName => "master_metadata_track_name",
            Key::ArtistName => "master_metadata_album_artist_name",
            Key::AlbumName => "master_metadata_album_album_name",
            Key::TrackUri => "spotify_track_uri",
            Key::EpisodeName => "episode_name",
            Key::ShowName => "episode_show_name",
            Key::EpisodeUri => "spotify_episode_uri",
            Key::AudiobookTitle => "audiobook_title",
            Key::AudiobookUri => "audiobook_uri",
            Key::AudiobookChapterUri => "audiobook_chapter_uri",
            Key::AudiobookChapterTitle => "audiobook_chapter_title",
            Key::ReasonStart => "reason_start",
            Key::ReasonEnd => "reason_end",
            Key::Shuffle => "shuffle",
            Key::Skipped => "skipped",
            Key::Offline => "offline",
            Key::OfflineTimestamp => "offline_timestamp",
            Key::IncognitoMode => "incognito_mode",
            Key::City => "city",
            Key::Region => "region",
            Key::MetroCode => "metro_code",
            Key::Longitude => "longitude",
            Key::Latitude => "latitude",
        }
    }
}

use Key::*;

/// May 2020: 24 keys, no URIs, geo keys at the end.
const G1_KEYS: &[Key] = &[
    Ts,
    Username,
    Platform,
    MsPlayed,
    ConnCountry,
    IpAddrDecrypted,
    UserAgentDecrypted,
    TrackName,
    ArtistName,
    AlbumName,
    EpisodeName,
    ShowName,
    ReasonStart,
    ReasonEnd,
    Shuffle,
    Skipped,
    Offline,
    OfflineTimestamp,
    IncognitoMode,
    City,
    Region,
    MetroCode,
    Longitude,
    Latitude,
];
/// Late 2021 – Oct 2024: the classic 21 keys.
const G3_KEYS: &[Key] = &[
    Ts,
    Username,
    Platform,
    MsPlayed,
    ConnCountry,
    IpAddrDecrypted,
    UserAgentDecrypted,
    TrackName,
    ArtistName,
    AlbumName,
    TrackUri,
    EpisodeName,
    ShowName,
    EpisodeUri,
    ReasonStart,
    ReasonEnd,
    Shuffle,
    Skipped,
    Offline,
    OfflineTimestamp,
    IncognitoMode,
];
/// Nov 2024 →: no username or user agent, `ip_addr`.
const G4_KEYS: &[Key] = &[
    Ts,
    Platform,
    MsPlayed,
    ConnCountry,
    IpAddr,
    TrackName,
    ArtistName,
    AlbumName,
    TrackUri,
    EpisodeName,
    ShowName,
    EpisodeUri,
    ReasonStart,
    ReasonEnd,
    Shuffle,
    Skipped,
    Offline,
    OfflineTimestamp,
    IncognitoMode,
];
/// 2025 →: G4 with the audiobook keys before `reason_start`.
const G5_KEYS: &[Key] = &[
    Ts,
    Platform,
    MsPlayed,
    ConnCountry,
    IpAddr,
    TrackName,
    ArtistName,
    AlbumName,
    TrackUri,
    EpisodeName,
    ShowName,
    EpisodeUri,
    AudiobookTitle,
    AudiobookUri,
    AudiobookChapterUri,
    AudiobookChapterTitle,
    ReasonStart,
    ReasonEnd,
    Shuffle,
    Skipped,
    Offline,
    OfflineTimestamp,
    IncognitoMode,
];

impl Generation {
    fn keys(self) -> &'static [Key] {
        match self {
            Generation::G1 => G1_KEYS,
            Generation::G3 => G3_KEYS,
            Generation::G4 => G4_KEYS,
            Generation::G5 => G5_KEYS,
        }
    }

    /// Exports up to mid-2023: `offline_timestamp` in milliseconds, `skipped` mostly null,
    /// minified.
    fn old(self) -> bool {
        matches!(self, Generation::G1 | Generation::G3)
    }
}

/// How rows of one package are printed.
#[derive(Debug, Clone, Copy)]
enum Style {
    /// `[{"ts":"…",…},{…}]`
    Minified,
    /// Two-space indentation, as Python's `json.dumps(indent=2)`.
    Pretty,
    /// Jackson's default pretty printer: `[ {` and `"key" : value`.
    Jackson,
}

impl Style {
    /// Opening, separator between rows, closing.
    fn frame(self) -> (&'static [u8], &'static [u8], &'static [u8]) {
        match self {
            Style::Minified => (b"[", b",", b"]"),
            Style::Pretty => (b"[\n  ", b",\n  ", b"\n]"),
            Style::Jackson => (b"[ ", b", ", b" ]"),
        }
    }

    /// Appends one row (an object of scalars) to `out`.
    fn write(self, out: &mut Vec<u8>, row: &impl Serialize) -> Result<(), serde_json::Error> {
        match self {
            Style::Minified => row.serialize(&mut serde_json::Serializer::with_formatter(
                out,
                CompactFormatter,
            )),
            Style::Pretty => row.serialize(&mut serde_json::Serializer::with_formatter(
                out,
                RowFormatter::PRETTY,
            )),
            Style::Jackson => row.serialize(&mut serde_json::Serializer::with_formatter(
                out,
                RowFormatter::JACKSON,
            )),
        }
    }
}

/// Prints a flat object one member a line; [`Style::frame`] supplies the array around it.
struct RowFormatter {
    indent: &'static [u8],
    close: &'static [u8],
    colon: &'static [u8],
}

impl RowFormatter {
    const PRETTY: RowFormatter = RowFormatter {
        indent: b"    ",
        close: b"  ",
        colon: b": ",
    };
    const JACKSON: RowFormatter = RowFormatter {
        indent: b"  ",
        close: b"",
        colon: b" : ",
    };
}

impl Formatter for RowFormatter {
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b"\n")?;
        w.write_all(self.close)?;
        w.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        w.write_all(self.indent)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(self.colon)
    }
}

/// What every row of one export shares.
pub(crate) struct Context<'a> {
    pub(crate) cat: &'a Catalog,
    pub(crate) generation: Generation,
    pub(crate) username: &'a str,
}

/// `spotify:<kind>:<id>` in a stack buffer.
struct UriText {
    buf: [u8; 38],
    len: usize,
}

impl UriText {
    fn new(head: &str, id: &Uri) -> UriText {
        let mut buf = [0u8; 38];
        buf[..head.len()].copy_from_slice(head.as_bytes());
        buf[head.len()..head.len() + id.len()].copy_from_slice(id);
        UriText {
            buf,
            len: head.len() + id.len(),
        }
    }

    fn as_str(&self) -> &str {
        text(&self.buf[..self.len])
    }
}

/// One extended-history row. `video` rows come from the video file, where `offline` is
/// mostly null.
struct Row<'a> {
    rec: &'a Rec,
    cx: &'a Context<'a>,
    video: bool,
}

impl Serialize for Row<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (r, cat, generation) = (self.rec, self.cx.cat, self.cx.generation);
        let none: Option<&str> = None;
        let (mut track, mut artist, mut album, mut track_uri) = (none, none, none, None);
        let (mut episode, mut show, mut episode_uri) = (none, none, None);
        match r.what {
            What::Track(t) => {
                let tr = &cat.tracks[t as usize];
                track = Some(tr.title.as_str());
                artist = Some(cat.artist_name_of(t));
                album = Some(cat.albums[tr.album as usize].as_str());
                track_uri = Some(UriText::new("spotify:track:", &tr.uri));
            }
            What::Episode(e) => {
                let ep = &cat.episodes[e as usize];
                episode = Some(ep.title.as_str());
                show = Some(cat.shows[ep.show as usize].name.as_str());
                episode_uri = Some(UriText::new("spotify:episode:", &ep.uri));
            }
            What::Nothing { .. } => {}
        }
        let keys = generation.keys();
        let mut m = s.serialize_map(Some(keys.len()))?;
        for &k in keys {
            let name = k.name();
            match k {
                Ts => m.serialize_entry(name, text(&ts_text(r.end_ms)))?,
                Username => m.serialize_entry(name, self.cx.username)?,
                Platform => m.serialize_entry(name, PLATFORMS[usize::from(r.platform)])?,
                MsPlayed => m.serialize_entry(name, &r.ms_played)?,
                ConnCountry => m.serialize_entry(name, text(&r.country))?,
                IpAddrDecrypted | IpAddr => m.serialize_entry(name, &Ip::text(r.ip))?,
                UserAgentDecrypted => m.serialize_entry(name, "unknown")?,
                TrackName => m.serialize_entry(name, &track)?,
                ArtistName => m.serialize_entry(name, &artist)?,
                AlbumName => m.serialize_entry(name, &album)?,
                TrackUri => m.serialize_entry(name, &track_uri.as_ref().map(UriText::as_str))?,
                EpisodeName => m.serialize_entry(name, &episode)?,
                ShowName => m.serialize_entry(name, &show)?,
                EpisodeUri => {
                    m.serialize_entry(name, &episode_uri.as_ref().map(UriText::as_str))?
                }
                ReasonStart => {
                    m.serialize_entry(name, REASONS_START[usize::from(r.reason_start)])?
                }
                ReasonEnd => m.serialize_entry(name, REASONS_END[usize::from(r.reason_end)])?,
                Shuffle => m.serialize_entry(name, &r.shuffle)?,
                Skipped => {
                    let unrecorded = generation.old() && r.skipped_unrecorded;
                    m.serialize_entry(name, &(!unrecorded).then_some(r.skipped))?;
                }
                Offline => m.serialize_entry(name, &(!self.video).then_some(r.offline))?,
                OfflineTimestamp => {
                    let t = if generation.old() {
                        r.start_ms
                    } else {
                        r.start_ms.div_euclid(1000)
                    };
                    m.serialize_entry(name, &t)?;
                }
                IncognitoMode => m.serialize_entry(name, &r.incognito)?,
                AudiobookTitle
                | AudiobookUri
                | AudiobookChapterUri
                | AudiobookChapterTitle
                | City
                | Region
                | MetroCode
                | Longitude
                | Latitude => m.serialize_entry(name, &none)?,
            }
        }
        m.end()
    }
}

/// A file being filled row by row, closed when the next row would pass a size or row limit.
struct Chunker {
    style: Style,
    max_bytes: usize,
    max_rows: usize,
    cur: Vec<u8>,
    rows: usize,
    first_end: i64,
    last_end: i64,
    done: Vec<Chunk>,
}

struct Chunk {
    bytes: Vec<u8>,
    first_end: i64,
    last_end: i64,
}

impl Chunker {
    fn new(style: Style, max_bytes: usize, max_rows: usize) -> Chunker {
        Chunker {
            style,
            max_bytes,
            max_rows,
            cur: Vec::new(),
            rows: 0,
            first_end: 0,
            last_end: 0,
            done: Vec::new(),
        }
    }

    fn push(&mut self, row: &[u8], end_ms: i64) {
        let (open, sep, close) = self.style.frame();
        if self.rows > 0
            && (self.rows >= self.max_rows
                || self.cur.len() + sep.len() + row.len() + close.len() > self.max_bytes)
        {
            self.flush();
        }
        if self.rows == 0 {
            self.cur.reserve(self.max_bytes.min(16 << 20));
            self.cur.extend_from_slice(open);
            self.first_end = end_ms;
        } else {
            self.cur.extend_from_slice(sep);
        }
        self.cur.extend_from_slice(row);
        self.rows += 1;
        self.last_end = end_ms;
    }

    fn flush(&mut self) {
        if self.rows > 0 {
            self.cur.extend_from_slice(self.style.frame().2);
            let bytes = std::mem::take(&mut self.cur);
            self.done.push(Chunk {
                bytes,
                first_end: self.first_end,
                last_end: self.last_end,
            });
            self.rows = 0;
        }
    }

    fn finish(mut self) -> Vec<Chunk> {
        self.flush();
        self.done
    }
}

fn extended_style(g: Generation) -> Style {
    if g.old() {
        Style::Minified
    } else {
        Style::Pretty
    }
}

/// `2019` or `2019-2021`.
fn years(first_end: i64, last_end: i64) -> String {
    let (a, b) = (year_of(first_end), year_of(last_end));
    if a == b {
        a.to_string()
    } else {
        format!("{a}-{b}")
    }
}

/// The extended-history audio files: `endsong_<n>.json` in `MyData/` for G1, else
/// `Streaming_History_Audio_<years>_<n>.json`, each at most `max_bytes` long (unless a
/// single row is longer).
pub(crate) fn audio_files(
    recs: &[Rec],
    cx: &Context<'_>,
    max_bytes: usize,
) -> Vec<(String, Vec<u8>)> {
    let style = extended_style(cx.generation);
    let mut chunker = Chunker::new(style, max_bytes, usize::MAX);
    let mut row = Vec::with_capacity(1024);
    for rec in recs {
        row.clear();
        style
            .write(
                &mut row,
                &Row {
                    rec,
                    cx,
                    video: false,
                },
            )
            .expect("rows of scalars serialise");
        chunker.push(&row, rec.end_ms);
    }
    chunker
        .finish()
        .into_iter()
        .enumerate()
        .map(|(n, c)| {
            let path = match cx.generation {
                Generation::G1 => format!("{OLD_DIR}/endsong_{n}.json"),
                _ => format!(
                    "{EXTENDED_DIR}/Streaming_History_Audio_{}_{n}.json",
                    years(c.first_end, c.last_end)
                ),
            };
            (path, c.bytes)
        })
        .collect()
}

/// Streams the video file repeats: the first distinct podcast episodes with metadata (played
/// for a while, so that their ms_played 0 copy is a stream of its own).
pub(crate) const VIDEO_ROWS: usize = 5;

/// The video file (`endvideo.json` for G1, else `Streaming_History_Video_<years>.json`): a few
/// episodes again, with ms_played 0 as video rows often have and `offline` null.
pub(crate) fn video_file(recs: &[Rec], cx: &Context<'_>) -> Option<(String, Vec<u8>)> {
    let mut picked: Vec<Rec> = Vec::with_capacity(VIDEO_ROWS);
    for r in recs
        .iter()
        .filter(|r| matches!(r.what, What::Episode(_)) && r.ms_played > 0)
    {
        let row = Rec { ms_played: 0, ..*r };
        // An exact duplicate of a picked stream would make an exact duplicate video row.
        if !picked.contains(&row) {
            picked.push(row);
        }
        if picked.len() == VIDEO_ROWS {
            break;
        }
    }
    let (first, last) = (picked.first()?.end_ms, picked.last()?.end_ms);
    let style = extended_style(cx.generation);
    let mut chunker = Chunker::new(style, usize::MAX, usize::MAX);
    let mut row = Vec::new();
    for rec in &picked {
        row.clear();
        style
            .write(
                &mut row,
                &Row {
                    rec,
                    cx,
                    video: true,
                },
            )
            .expect("rows of scalars serialise");
        chunker.push(&row, rec.end_ms);
    }
    let path = match cx.generation {
        Generation::G1 => format!("{OLD_DIR}/endvideo.json"),
        _ => format!(
            "{EXTENDED_DIR}/Streaming_History_Video_{}.json",
            years(first, last)
        ),
    };
    Some((path, chunker.finish().pop()?.bytes))
}

/// One account-data row: `endTime`, two names, `msPlayed`.
struct AccountRow<'a> {
    end: [u8; 16],
    keys: [&'static str; 2],
    names: [&'a str; 2],
    ms_played: u32,
}

impl Serialize for AccountRow<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("endTime", text(&self.end))?;
        m.serialize_entry(self.keys[0], self.names[0])?;
        m.serialize_entry(self.keys[1], self.names[1])?;
        m.serialize_entry("msPlayed", &self.ms_played)?;
        m.end()
    }
}

const MUSIC_KEYS: [&str; 2] = ["artistName", "trackName"];
const PODCAST_KEYS: [&str; 2] = ["podcastName", "episodeName"];

/// The account-data package: the last 365 days before the latest stream, minute resolution,
/// sorted by `endTime`, identical rows of one minute written once, printed Jackson style.
/// G1 exports (2020) have the old mixed file (`MyData/StreamingHistory<n>.json`, podcasts
/// under the music keys); later ones split music and podcasts into
/// `Spotify Account Data/StreamingHistory_<kind>_<n>.json`.
pub(crate) fn account_files(
    recs: &[Rec],
    cat: &Catalog,
    generation: Generation,
) -> Vec<(String, Vec<u8>)> {
    let Some(last) = recs.iter().map(|r| r.end_ms).max() else {
        return Vec::new();
    };
    let since = last - 365 * DAY;
    let mut recent: Vec<&Rec> = recs.iter().filter(|r| r.end_ms >= since).collect();
    recent.sort_by_key(|r| r.end_ms);

    let mixed = generation == Generation::G1;
    let mut music = Chunker::new(Style::Jackson, usize::MAX, ACCOUNT_ROWS_PER_FILE);
    let mut podcasts = Chunker::new(Style::Jackson, usize::MAX, ACCOUNT_ROWS_PER_FILE);
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut row = Vec::new();
    for r in recent {
        let (podcast, names) = match r.what {
            What::Track(t) => (
                false,
                [cat.artist_name_of(t), cat.tracks[t as usize].title.as_str()],
            ),
            What::Episode(e) => {
                let ep = &cat.episodes[e as usize];
                (
                    true,
                    [cat.shows[ep.show as usize].name.as_str(), ep.title.as_str()],
                )
            }
            What::Nothing { podcast: false } => (false, ["Unknown Artist", "Unknown Track"]),
            // A podcast row without its show cannot be written in this package.
            What::Nothing { podcast: true } => continue,
        };
        let keys = if podcast && !mixed {
            PODCAST_KEYS
        } else {
            MUSIC_KEYS
        };
        row.clear();
        let account_row = AccountRow {
            end: minute_text(r.end_ms),
            keys,
            names,
            ms_played: r.ms_played,
        };
        Style::Jackson
            .write(&mut row, &account_row)
            .expect("rows of scalars serialise");
        // Spotify collapses identical rows within a minute.
        if !seen.insert(row.clone()) {
            continue;
        }
        let target = if podcast && !mixed {
            &mut podcasts
        } else {
            &mut music
        };
        target.push(&row, r.end_ms);
    }
    let mut out = Vec::new();
    for (n, c) in music.finish().into_iter().enumerate() {
        let path = if mixed {
            format!("{OLD_DIR}/StreamingHistory{n}.json")
        } else {
            format!("{ACCOUNT_DIR}/StreamingHistory_music_{n}.json")
        };
        out.push((path, c.bytes));
    }
    for (n, c) in podcasts.finish().into_iter().enumerate() {
        out.push((
            format!("{ACCOUNT_DIR}/StreamingHistory_podcast_{n}.json"),
            c.bytes,
        ));
    }
    out
}
