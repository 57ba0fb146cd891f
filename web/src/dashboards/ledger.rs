//! The import ledger (`/dashboard/ledger` and its JSON twin): for every upload of the
//! selection, every record accounted for. What its files held and what became of it (refused
//! for bad values, repeated within the upload, covered by its own extended history, kept as a
//! stream), how its streams count (music, podcast and audiobook plays, under the play
//! threshold, without metadata; skipped and private ones among them), which other uploads
//! hold the same streams or cover them with their extended history, what it added to the
//! uploads made before it, and the days Spotify's export leaves out between its last stream
//! and the day it was made.
//!
//! A ledger is of whole uploads: the range and content kind of the dashboard do not cut it,
//! and nothing is hidden from it (hiding is about what views show, the ledger about what the
//! files held). The time zone (days) and the play threshold apply.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Serialize;
use storage::uploads::Upload;

use crate::dashboards::query::{BoardQuery, refuse_blank};
use crate::error::{ApiError, AppError, PageError};
use crate::model::UploadSummary;
use crate::session::{Visitor, nav};
use crate::state::AppState;
use crate::ui::charts::{fmt_int, plural};
use engine::ledger::StreamLedger;

/// `GET /api/v1/dashboard/ledger`: every upload of the selection, accounted for.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Ledger {
    /// The uploads, oldest first.
    pub uploads: Vec<UploadLedger>,
    /// Shortest stream counted as a play, in seconds.
    pub min_play_seconds: u64,
}

/// One upload's records, accounted for.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UploadLedger {
    /// The upload's id.
    pub upload: String,
    /// Its file name.
    pub name: String,
    /// When it was uploaded (RFC 3339, UTC).
    pub uploaded: String,
    /// Records in its history files.
    pub records: u64,
    /// Records refused for bad values.
    pub unreadable: u64,
    /// Why (the first few of each file), with the file's name.
    pub unreadable_reasons: Vec<String>,
    /// Records repeated within the upload (kept once).
    pub repeated: u64,
    /// Account-data records its own extended history covers (the extended record is kept).
    pub covered_by_own_extended: u64,
    /// Streams kept: records less the three above.
    pub kept: u64,
    /// How the kept streams count, and how they meet the other uploads.
    pub streams: StreamLedger,
    /// The day the export was made, when its zip records it.
    #[schema(required = true)]
    pub exported: Option<String>,
    /// The local day of its last stream.
    #[schema(required = true)]
    pub last_stream_day: Option<String>,
    /// Days from the last stream to the export's day: what the export leaves out.
    #[schema(required = true)]
    pub gap_days: Option<i64>,
}

async fn compute(state: &AppState, v: &Visitor, raw: Option<&str>) -> Result<Ledger, AppError> {
    let user = v.require_user()?;
    let q = BoardQuery::parse(raw)?;
    let mut chosen: Vec<Upload> =
        crate::dashboards::context::selection(state, user, &q.uploads).await?;
    chosen.retain(|u| u.state == storage::uploads::State::Ready);
    chosen.sort_by(|a, b| {
        a.created_ms
            .cmp(&b.created_ms)
            .then_with(|| a.id.cmp(&b.id))
    });
    let settings = engine::selection::settings(&user.tz, user.min_play_ms);
    let artifact = crate::dashboards::prepare::user_artifact(state, user).await?;
    let ids: Vec<String> = chosen.iter().map(|u| u.id.to_string()).collect();
    let streams = tokio::task::spawn_blocking(move || {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        engine::ledger::ledger(
            &artifact.plays,
            &artifact.regions,
            &artifact.regions_of,
            &ids,
            settings,
        )
    })
    .await
    .map_err(|e| AppError::Internal(format!("the ledger: {e}")))?;
    let uploads = chosen
        .iter()
        .zip(streams)
        .map(|(u, streams)| {
            let s: Option<UploadSummary> = u
                .summary
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok());
            let s = s.as_ref();
            let n = |f: fn(&UploadSummary) -> u64| s.map_or(0, f);
            let last_day = streams
                .last_end_ms
                .map(|ms| schema::aggregate::local_day_hour(settings.tz, ms).0);
            let exported = s.and_then(|s| s.exported.clone());
            let gap_days = match (
                streams.last_end_ms,
                exported
                    .as_deref()
                    .and_then(|d| engine::selection::parse_day(d, "exported").ok()),
            ) {
                (Some(end), Some(day)) => Some(engine::ledger::days_between(end, day, settings)),
                _ => None,
            };
            UploadLedger {
                upload: u.id.to_string(),
                name: u.original_name.clone(),
                uploaded: crate::model::rfc3339(u.created_ms),
                records: n(|s| s.records),
                unreadable: n(|s| s.records_rejected),
                unreadable_reasons: s.map_or_else(Vec::new, |s| {
                    s.files
                        .iter()
                        .flat_map(|f| f.problems.iter().map(move |p| format!("{}: {p}", f.name)))
                        .collect()
                }),
                repeated: n(|s| s.duplicates_dropped),
                covered_by_own_extended: n(|s| s.account_rows_covered_by_extended),
                kept: n(|s| s.unique_records),
                streams,
                exported,
                last_stream_day: last_day.map(schema::aggregate::Day::label),
                gap_days,
            }
        })
        .collect();
    Ok(Ledger {
        uploads,
        min_play_seconds: u64::from(engine::selection::play_threshold_seconds(user.min_play_ms)),
    })
}

/// `GET /api/v1/dashboard/ledger`.
#[utoipa::path(
    get,
    path = "/dashboard/ledger",
    operation_id = "getDashboardLedger",
    tag = "dashboard",
    summary = "The import ledger: every record of every upload of the selection accounted for",
    description = "Whole uploads (the range and content kind do not apply; nothing is hidden from it); the time zone and the play threshold do. Per upload: records refused, repeated, covered by its own extended history and kept; how the kept streams count; other uploads holding the same streams or covering them; what it added to the uploads before it; the days between its last stream and the export's date.",
    params(
        crate::dashboards::query::Selecting,
    ),
    responses(
        (status = 200, description = "The ledger.", body = Ledger),
        crate::error::ReadErrors,
    ),
)]
pub async fn api_ledger(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Json<Ledger>, ApiError> {
    v.require_user()?;
    refuse_blank(raw.as_deref(), &[])?;
    Ok(Json(compute(&state, &v, raw.as_deref()).await?))
}

/// `GET /dashboard/ledger`.
pub async fn page(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let l = compute(&state, &v, raw.as_deref()).await?;
    let name_of = |id: &str| {
        l.uploads
            .iter()
            .find(|u| u.upload == id)
            .map_or_else(|| "another upload".to_string(), |u| u.name.clone())
    };
    let body = html! {
        p.go { a href="/dashboard" { "← Dashboard" } }
        h1 { "Where every record went" }
        p.lead { "For each upload, what its files held and what became of every record. A stream counts as a play from " (l.min_play_seconds) " s ("
            a href="/settings" { "change" } ")." }
        @if l.uploads.is_empty() { p { "No ready uploads yet. " a href="/uploads" { "Upload your data" } "." } }
        @for u in &l.uploads {
            section.card.ledger id={ "ledger-" (u.upload) } {
                h2 { a href={ "/uploads/" (u.upload) } { (u.name) } }
                table.ledger {
                    caption.visually-hidden { "The records of " (u.name) }
                    tbody {
                        tr.total { th scope="row" { "Records in its history files" } td data-ledger="records" { (fmt_int(u.records)) } }
                        tr { th scope="row" { "refused for bad values" } td data-ledger="unreadable" { (fmt_int(u.unreadable)) } }
                        tr { th scope="row" { "repeated within the upload (kept once)" } td data-ledger="repeated" { (fmt_int(u.repeated)) } }
                        tr { th scope="row" { "account data its own extended history covers" } td data-ledger="covered-own" { (fmt_int(u.covered_by_own_extended)) } }
                        tr.total { th scope="row" { "Streams kept" } td data-ledger="kept" { (fmt_int(u.kept)) } }
                        tr { th scope="row" { "music plays" } td data-ledger="music" { (fmt_int(u.streams.music_plays)) } }
                        tr { th scope="row" { "podcast plays" } td data-ledger="podcasts" { (fmt_int(u.streams.podcast_plays)) } }
                        tr { th scope="row" { "audiobook plays" } td data-ledger="audiobooks" { (fmt_int(u.streams.audiobook_plays)) } }
                        tr { th scope="row" { "shorter than " (l.min_play_seconds) " s" } td data-ledger="short" { (fmt_int(u.streams.short)) } }
                        tr { th scope="row" { "without a track, episode or chapter" } td data-ledger="no-metadata" { (fmt_int(u.streams.without_metadata)) } }
                        tr { th scope="row" { "of all of them, skipped" } td data-ledger="skipped" { (fmt_int(u.streams.skipped)) } }
                        tr { th scope="row" { "of all of them, in a private session" } td data-ledger="incognito" { (fmt_int(u.streams.incognito)) } }
                    }
                }
                @if !u.unreadable_reasons.is_empty() {
                    details { summary { "Why records were refused" } ul { @for r in &u.unreadable_reasons { li { (r) } } } }
                }
                p data-ledger="added" {
                    "Against the uploads before it: " strong { (plural(u.streams.new_streams, "new stream")) } ", "
                    (plural(u.streams.known_streams, "stream")) " already known, " (plural(u.streams.new_days, "new day")) " of listening."
                }
                @for o in &u.streams.also_in {
                    p { "Also in " a href={ "/uploads/" (o.upload) } { (name_of(&o.upload)) } ": " (plural(o.streams, "stream")) " (each counts once)." }
                }
                @for o in &u.streams.covered_by {
                    p { "Covered by the extended history of " a href={ "/uploads/" (o.upload) } { (name_of(&o.upload)) } ": " (plural(o.streams, "account-data stream")) " (the extended record counts when both are chosen)." }
                }
                @match (&u.exported, &u.last_stream_day, u.gap_days) {
                    (Some(e), Some(last), Some(gap)) if gap > 0 => {
                        p.info data-ledger="gap" { "The export was made on " (e) "; its last stream is from " (last) ": Spotify left out " (plural(gap as u64, "day")) " before the export." }
                    }
                    (Some(e), Some(last), _) => {
                        p data-ledger="gap" { "The export was made on " (e) "; its last stream is from " (last) "." }
                    }
                    _ => { p.hint { "The export's date is not recorded in these files." } }
                }
            }
        }
    };
    Ok(crate::ui::layout("Where every record went", &nav(&state, &v), body).into_response())
}
