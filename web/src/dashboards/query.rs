//! The question a dashboard address asks: which uploads, which range, which content, in
//! which order ([`BoardQuery`]), parsed from the query string and written back into links.

use schema::aggregate::Day;
use schema::{EntityKind, RankBy};

use crate::error::AppError;
use engine::{Content, DayRange, RangeChoice};

/// Entries per page of the ranking.
pub const PER_PAGE: usize = 25;

/// What a dashboard request asks for.
#[derive(Debug, Clone)]
pub struct BoardQuery {
    /// Upload ids (none: every ready upload).
    pub uploads: Vec<String>,
    /// The range.
    pub range: RangeChoice,
    /// The content kind.
    pub content: Content,
    /// Rank by time or by plays.
    pub by: RankBy,
    /// Ranking: which entities.
    pub kind: EntityKind,
    /// Ranking: which page (from 1).
    pub page: usize,
    /// Artist drill-down: the artist's name; a track, album or show page: its name.
    pub name: Option<String>,
    /// A track or album page: the artist's name.
    pub artist: Option<String>,
    /// A comparison: the period to compare with (`vs_range`, `vs_from`, `vs_to`); the one
    /// just before the range when absent.
    pub vs: Option<RangeChoice>,
    /// A search: the words (`q`).
    pub search: Option<String>,
    /// A pause of at least this many minutes ends a listening session.
    pub gap_minutes: u32,
}

/// The default pause that ends a session, in minutes.
pub const DEFAULT_GAP_MINUTES: u32 = 30;

pub(crate) fn kind_param(k: EntityKind) -> &'static str {
    match k {
        EntityKind::Artist => "artists",
        EntityKind::Track => "tracks",
        EntityKind::Album => "albums",
        EntityKind::Show => "shows",
        EntityKind::Episode => "episodes",
        EntityKind::Audiobook => "audiobooks",
    }
}

impl BoardQuery {
    /// From the query string: `u` (repeated) or `uploads` (comma-separated), `range`, `from`,
    /// `to`, `content`, `by`, `kind`, `page`, `name`.
    pub fn parse(raw: Option<&str>) -> Result<BoardQuery, AppError> {
        let pairs: Vec<(String, String)> = match raw {
            Some(q) => serde_urlencoded::from_str(q)
                .map_err(|_| AppError::BadRequest("The address's query is malformed.".into()))?,
            None => Vec::new(),
        };
        let get = |k: &str| {
            pairs
                .iter()
                .rev()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let mut uploads: Vec<String> = Vec::new();
        for (k, v) in &pairs {
            match k.as_str() {
                "u" => uploads.push(v.clone()),
                "uploads" => uploads.extend(
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                ),
                _ => {}
            }
        }
        uploads.sort();
        uploads.dedup();
        let content = Content::parse(get("content").unwrap_or("")).ok_or_else(|| {
            AppError::BadRequest("“content” must be all, music, podcasts or audiobooks.".into())
        })?;
        let by = match get("by").unwrap_or("time") {
            "" | "time" => RankBy::Time,
            "plays" => RankBy::Plays,
            _ => return Err(AppError::BadRequest("“by” must be time or plays.".into())),
        };
        let kind = match get("kind").unwrap_or("artists") {
            "" | "artists" => EntityKind::Artist,
            "tracks" => EntityKind::Track,
            "albums" => EntityKind::Album,
            "shows" => EntityKind::Show,
            "episodes" => EntityKind::Episode,
            "audiobooks" => EntityKind::Audiobook,
            _ => {
                return Err(AppError::BadRequest(
                    "“kind” must be artists, tracks, albums, shows, episodes or audiobooks.".into(),
                ));
            }
        };
        let page = match get("page") {
            None | Some("") => 1,
            Some(p) => match p.parse::<usize>() {
                Ok(n) => n.max(1),
                // A number past usize is a page past the end, which is the last one.
                Err(_) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => usize::MAX,
                Err(_) => return Err(AppError::BadRequest("“page” must be a number.".into())),
            },
        };
        let gap_minutes = match get("gap") {
            None | Some("") => DEFAULT_GAP_MINUTES,
            Some(g) => match g.parse::<u32>() {
                Ok(m) if (1..=24 * 60).contains(&m) => m,
                _ => {
                    return Err(AppError::BadRequest(
                        "“gap” must be a number of minutes from 1 to 1440.".into(),
                    ));
                }
            },
        };
        Ok(BoardQuery {
            gap_minutes,
            uploads,
            range: RangeChoice::parse(get("range"), get("from"), get("to"))?,
            content,
            by,
            kind,
            page,
            name: get("name").map(str::to_string).filter(|n| !n.is_empty()),
            artist: get("artist").map(str::to_string).filter(|n| !n.is_empty()),
            search: get("q").map(str::to_string),
            vs: match (get("vs_range"), get("vs_from"), get("vs_to")) {
                (r, f, t)
                    if [r, f, t]
                        .iter()
                        .all(|v| v.is_none_or(|v| v.trim().is_empty())) =>
                {
                    None
                }
                (r, f, t) => Some(RangeChoice::parse(r, f, t).map_err(|e| {
                    AppError::BadRequest(format!("The period to compare with: {}", e.0))
                })?),
            },
        })
    }

    /// The query string for these choices with some changed (links of the controls).
    pub fn link(&self, path: &str, change: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(String, String)> = self
            .uploads
            .iter()
            .map(|u| ("u".to_string(), u.clone()))
            .collect();
        let mut set = |k: &str, v: String| {
            if let Some((_, nv)) = change.iter().find(|(ck, _)| *ck == k) {
                if !nv.is_empty() {
                    pairs.push((k.to_string(), (*nv).to_string()));
                }
            } else if !v.is_empty() {
                pairs.push((k.to_string(), v));
            }
        };
        let (from, to) = match self.range {
            RangeChoice::Custom(f, t) => (
                f.map(Day::label).unwrap_or_default(),
                t.map(Day::label).unwrap_or_default(),
            ),
            _ => (String::new(), String::new()),
        };
        set(
            "range",
            if self.range == RangeChoice::All {
                String::new()
            } else {
                self.range.param()
            },
        );
        set("from", from);
        set("to", to);
        set(
            "content",
            if self.content == Content::All {
                String::new()
            } else {
                self.content.as_str().into()
            },
        );
        set(
            "by",
            if self.by == RankBy::Time {
                String::new()
            } else {
                "plays".into()
            },
        );
        // What the page is about stays too: the ranking's kind, the artist, the session pause.
        set(
            "kind",
            if self.kind == EntityKind::Artist {
                String::new()
            } else {
                kind_param(self.kind).into()
            },
        );
        set("name", self.name.clone().unwrap_or_default());
        set("artist", self.artist.clone().unwrap_or_default());
        set(
            "gap",
            if self.gap_minutes == DEFAULT_GAP_MINUTES {
                String::new()
            } else {
                self.gap_minutes.to_string()
            },
        );
        for (k, v) in change {
            if ![
                "range", "from", "to", "content", "by", "gap", "kind", "name", "artist",
            ]
            .contains(k)
                && !v.is_empty()
            {
                pairs.push(((*k).to_string(), (*v).to_string()));
            }
        }
        let q = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if q.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{q}")
        }
    }

    pub(crate) fn key(&self, days: DayRange, what: &str) -> String {
        format!(
            "{what}|{}|{}|{:?}|{:?}|{:?}|{:?}|{}|{:?}|{:?}|{:?}",
            self.gap_minutes,
            self.content.as_str(),
            days.0.map(|d| d.0),
            days.1.map(|d| d.0),
            self.by,
            self.kind,
            self.page,
            self.name,
            self.artist,
            self.vs
        )
    }
}

/// The dashboards' parameters that have a type (a date, a choice, a number).
pub(crate) const TYPED: &[&str] = &[
    "range", "from", "to", "content", "by", "kind", "page", "gap", "vs_range", "vs_from", "vs_to",
    "on",
];

/// The last value of `key` in a query (as the pages' forms and links send it), if any.
pub fn query_value(raw: Option<&str>, key: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or("")).ok()?;
    pairs
        .into_iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// The API refuses a typed parameter given empty (`to=`), naming it, as it refuses any other
/// value that is not of its type. The pages take it as absent: their forms send empty fields
/// for what was not chosen.
pub fn refuse_blank(raw: Option<&str>, typed: &[&str]) -> Result<(), AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|_| AppError::BadRequest("The address's query is malformed.".into()))?;
    match pairs
        .iter()
        .find(|(k, v)| typed.contains(&k.as_str()) && v.trim().is_empty())
    {
        Some((k, _)) => Err(AppError::BadRequest(format!(
            "“{k}” is empty: give it a value or leave it out."
        ))),
        None => Ok(()),
    }
}

/// A year a recap can be of (1990 to 2200); any other is "not found".
pub(crate) fn check_year(year: i32) -> Result<i32, AppError> {
    if (1990..=2200).contains(&year) {
        Ok(year)
    } else {
        Err(AppError::NotFound)
    }
}

// The query parameters as the API document describes them. [`BoardQuery::parse`] reads them
// by hand (an empty value is the default, a page past `usize` is the last page), so these
// structs only describe; the router test checks the server against what they say.

/// The selection: which uploads a view merges.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Selecting {
    /// Comma-separated upload ids to merge (a stream in several counts once). With neither
    /// `uploads` nor `u`: every ready upload. An id that is not the visitor's gives 404.
    #[param(example = "569236124802fa2437c097d0582dc4b6,0b1f5e8a6a1f4b1c9e4f2d7c3a5b6e70")]
    pub uploads: Option<String>,
    /// An upload id to merge, repeated for several (`u=a&u=b`, as the pages' links have it);
    /// the same as `uploads`, and both may be given.
    #[param(style = Form, explode)]
    pub u: Option<Vec<String>>,
}

/// The range of days a view covers.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Ranging {
    /// `all` (default), `4w` (the 28 days ending on the last day of listening in the
    /// selection), `6m` (the 6 months ending on it), `year` (its calendar year), a year like
    /// `2021`, or `custom` (from `from` to `to`; `from` or `to` alone also means custom).
    /// Anything else gives 400.
    #[param(
        pattern = "^(all|4w|6m|year|custom|[0-9]{4})$",
        default = "all",
        example = "4w"
    )]
    pub range: Option<String>,
    /// First day of a custom range, `YYYY-MM-DD` (inclusive, local days); a malformed date
    /// gives 400.
    #[param(format = Date, example = "2024-01-01")]
    pub from: Option<String>,
    /// Last day of a custom range (inclusive: streams that ended on it count); not before
    /// `from` (400).
    #[param(format = Date, example = "2024-12-31")]
    pub to: Option<String>,
}

/// Which content counts.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContentParam {
    /// Which content counts: `all` (default), `music`, `podcasts` or `audiobooks`; anything
    /// else gives 400.
    #[param(value_type = Option<ContentChoice>, inline)]
    pub content: Option<String>,
}

engine::names! {
    /// Which content counts, as `content` names it.
    ContentChoice: ["all", "music", "podcasts", "audiobooks"], default "all"
}

/// What rankings rank by.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ByParam {
    /// Rank by listening `time` (default) or by `plays`; anything else gives 400.
    #[param(value_type = Option<RankChoice>, inline)]
    pub by: Option<String>,
}

engine::names! {
    /// What rankings rank by, as `by` names it.
    RankChoice: ["time", "plays"], default "time"
}

/// The pause that ends a listening session.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GapParam {
    /// A pause of at least this many minutes between streams ends a listening session
    /// (sessions and loops); 1–1440, default 30. Anything else gives 400.
    #[param(minimum = 1, maximum = 1440, default = 30, example = 45)]
    pub gap: Option<u32>,
}

/// The period a comparison compares with.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersusParams {
    /// The period to compare with, as `range` names one (`all` is refused); absent with
    /// `vs_from` and `vs_to` too: the period just before the range, as long as it (the year
    /// before a year).
    #[param(pattern = "^(all|4w|6m|year|custom|[0-9]{4})$", example = "2023")]
    pub vs_range: Option<String>,
    /// First day of a custom period to compare with, `YYYY-MM-DD`.
    #[param(format = Date, example = "2023-01-01")]
    pub vs_from: Option<String>,
    /// Last day of a custom period to compare with, `YYYY-MM-DD`.
    #[param(format = Date, example = "2023-12-31")]
    pub vs_to: Option<String>,
}

/// The day "on this day" shows.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OnParam {
    /// The date "on this day" shows in every year: `MM-DD` or `YYYY-MM-DD` (the year is
    /// ignored); today in the user's time zone when absent. A month outside 1–12 or a day
    /// outside 1–31 gives 400; a date no year has (02-30) shows no year.
    #[param(
        pattern = "^([0-9]{4}-)?(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
        example = "03-14"
    )]
    pub on: Option<String>,
}

/// The year of a recap, in its path.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct YearParam {
    /// The calendar year (local); 1990–2200, others give 404.
    #[param(example = 2024)]
    pub year: i32,
}

/// Which ranking, and which page of it.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RankingParams {
    /// `artists` (default), `tracks`, `albums`, `shows`, `episodes` or `audiobooks`; anything
    /// else gives 400.
    #[param(value_type = Option<RankingKind>, inline)]
    pub kind: Option<String>,
    /// Page, from 1 (0 means 1, a page past the end is the last page); not a number gives
    /// 400.
    #[param(value_type = Option<PageNumber>, inline, example = 2)]
    pub page: Option<u64>,
}

/// A page number as `page` takes it: any whole number, without a format's bound (a number
/// past any integer type is still a page past the end, which is the last page).
#[derive(Debug)]
pub struct PageNumber;

impl utoipa::PartialSchema for PageNumber {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::Integer)
            .description(Some("A page, from 1."))
            .minimum(Some(0))
            .default(Some(1.into()))
            .into()
    }
}

impl utoipa::ToSchema for PageNumber {}

engine::names! {
    /// Which ranking, as `kind` names it.
    RankingKind: ["artists", "tracks", "albums", "shows", "episodes", "audiobooks"], default "artists"
}
