//! "Export my data": every play Backspin holds for a user, each stream once, as CSV or JSON.

use std::fmt::Write;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use schema::{Kind, Play, Strings, Sym};
use serde::Serialize;
use storage::users::User;

use crate::error::AppError;
use crate::state::AppState;

/// One exported play.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportedPlay<'a> {
    /// When the stream ended (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub ts: String,
    /// Milliseconds played.
    pub ms_played: u64,
    /// `track`, `episode`, `audiobook` or `unknown`.
    #[schema(value_type = PlayKind)]
    pub kind: &'static str,
    /// Track, episode or chapter title.
    #[schema(required = true, value_type = Option<String>)]
    pub title: Option<&'a str>,
    /// Artist, show or author.
    #[schema(required = true, value_type = Option<String>)]
    pub creator: Option<&'a str>,
    /// Album or audiobook.
    #[schema(required = true, value_type = Option<String>)]
    pub collection: Option<&'a str>,
    /// Spotify URI.
    #[schema(required = true, value_type = Option<String>)]
    pub uri: Option<&'a str>,
    /// Why it started.
    #[schema(required = true, value_type = Option<String>)]
    pub reason_start: Option<&'a str>,
    /// Why it ended.
    #[schema(required = true, value_type = Option<String>)]
    pub reason_end: Option<&'a str>,
    /// Shuffle on.
    #[schema(required = true)]
    pub shuffle: Option<bool>,
    /// Skipped.
    #[schema(required = true)]
    pub skipped: Option<bool>,
    /// Played offline.
    #[schema(required = true)]
    pub offline: Option<bool>,
    /// Private session.
    #[schema(required = true)]
    pub incognito: Option<bool>,
    /// Device family.
    #[schema(value_type = PlatformName)]
    pub platform: &'static str,
    /// Two-letter country code (`ZZ`: unknown).
    pub country: String,
}

engine::names! {
    /// What an exported play is.
    PlayKind: ["track", "episode", "audiobook", "unknown"]
}

engine::names! {
    /// The kind of device a stream played on.
    PlatformName: schema::model::Platform::ALL.map(|p| p.label())
}

fn kind(k: Kind) -> &'static str {
    match k {
        Kind::Track => "track",
        Kind::Episode => "episode",
        Kind::Audiobook => "audiobook",
        Kind::Unknown => "unknown",
    }
}

fn exported<'a>(p: &Play, s: &'a Strings) -> ExportedPlay<'a> {
    let text = |sym: Sym| sym.is_some().then(|| s.get(sym));
    ExportedPlay {
        ts: schema::time::format_rfc3339(p.end_ms),
        ms_played: p.ms_played,
        kind: kind(p.kind),
        title: text(p.title),
        creator: text(p.creator),
        collection: text(p.collection),
        uri: text(p.uri),
        reason_start: text(p.reason_start),
        reason_end: text(p.reason_end),
        shuffle: p.shuffle,
        skipped: p.skipped,
        offline: p.offline,
        incognito: p.incognito,
        platform: p.platform.label(),
        country: p.country.as_str().to_string(),
    }
}

/// The user's plays, each stream once, in time order.
async fn plays(state: &AppState, user: &User) -> Result<(Vec<Play>, Strings), AppError> {
    let artifact = crate::dashboards::prepare::user_artifact(state, user).await?;
    Ok((artifact.plays, artifact.strings))
}

fn download(content_type: &'static str, name: &'static str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, name),
        ],
        body,
    )
        .into_response()
}

/// A CSV cell: quoted when needed, and a leading `=`, `+`, `-`, `@` neutralised so that a
/// spreadsheet never runs a name as a formula.
fn cell(out: &mut String, v: &str) {
    let guarded;
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        guarded = format!("'{v}");
        guarded.as_str()
    } else {
        v
    };
    if v.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&v.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(v);
    }
}

/// `plays.csv`.
pub async fn csv(state: &AppState, user: &User) -> Result<Response, AppError> {
    let (plays, strings) = plays(state, user).await?;
    let mut out = String::from(
        "ts,ms_played,kind,title,creator,collection,uri,reason_start,reason_end,shuffle,skipped,offline,incognito,platform,country\n",
    );
    let flag = |b: Option<bool>| b.map_or("", |b| if b { "true" } else { "false" });
    for p in &plays {
        let e = exported(p, &strings);
        let _ = write!(out, "{},{},{},", e.ts, e.ms_played, e.kind);
        for t in [
            e.title,
            e.creator,
            e.collection,
            e.uri,
            e.reason_start,
            e.reason_end,
        ] {
            cell(&mut out, t.unwrap_or(""));
            out.push(',');
        }
        let _ = writeln!(
            out,
            "{},{},{},{},{},{}",
            flag(e.shuffle),
            flag(e.skipped),
            flag(e.offline),
            flag(e.incognito),
            e.platform,
            e.country
        );
    }
    Ok(download(
        "text/csv; charset=utf-8",
        "attachment; filename=\"backspin-plays.csv\"",
        out,
    ))
}

/// `plays.json`: an array of [`ExportedPlay`].
pub async fn json(state: &AppState, user: &User) -> Result<Response, AppError> {
    let (plays, strings) = plays(state, user).await?;
    let rows: Vec<ExportedPlay<'_>> = plays.iter().map(|p| exported(p, &strings)).collect();
    let body = serde_json::to_string(&rows).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(download(
        "application/json",
        "attachment; filename=\"backspin-plays.json\"",
        body,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_neutralised() {
        let mut s = String::new();
        for v in [
            "plain",
            "a,b",
            "say \"hi\"",
            "=HYPERLINK(\"x\")",
            "-1",
            "line\nbreak",
        ] {
            cell(&mut s, v);
            s.push('|');
        }
        assert_eq!(
            s,
            "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"'=HYPERLINK(\"\"x\"\")\"|'-1|\"line\nbreak\"|"
        );
    }
}
