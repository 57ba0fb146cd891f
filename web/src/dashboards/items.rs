//! The pages of one artist, track, album or show (`/dashboard/artist`, `/dashboard/track`, …)
//! and the artist's JSON twin.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use schema::{EntityKind, RankBy};

use crate::dashboards::context::{Ctx, api_view, context, meta};
use crate::dashboards::finished::finished;
use crate::dashboards::shareable::{Shareable, share_link};
pub(crate) use crate::dashboards::widgets::hours;
use crate::dashboards::widgets::{card, controls, entry_link, ranked_bars};
use crate::error::{ApiError, AppError, PageError};
use crate::session::{Visitor, nav};
use crate::state::AppState;
use crate::ui::charts::{self, Bar, Chart, fmt_hours, fmt_int, fmt_pct, plural};
use engine::{Content, panels};

pub(crate) fn artist(c: &Ctx) -> Result<Arc<panels::ArtistView>, AppError> {
    let name =
        c.q.name
            .clone()
            .ok_or_else(|| AppError::BadRequest("Which artist? Give “name”.".into()))?;
    if c.prepared.strings.lookup(&name).is_none() {
        return Err(AppError::NotFound);
    }
    let p = c.prepared.clone();
    let (q, days) = (c.q.clone(), c.days);
    Ok(c.prepared.memo(q.key(days, "artist"), move || {
        let all = p.stats(Content::Music, (None, None));
        panels::artist(
            &name,
            p.slice(days),
            &p.plays,
            &all,
            &p.strings,
            p.settings.tz,
        )
    }))
}

/// `GET /dashboard/artist?name=…`: one artist, the original app's drill-down.
pub async fn artist_page(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    if let Some(r) = finished(&state, &v, "/dashboard/artist", raw.as_deref()).await? {
        return Ok(r);
    }
    let c = context(&state, &v, raw.as_deref()).await?;
    let (title, body) = artist_body(&c)?;
    Ok(crate::ui::layout(&title, &nav(&state, &v), body).into_response())
}

/// The artist page's title and content.
pub(crate) fn artist_body(c: &Ctx) -> Result<(String, Markup), AppError> {
    let a = artist(c)?;
    let m = meta(c);
    let grid = |g: &panels::BlockGrid| -> Vec<Vec<f64>> {
        g.share
            .iter()
            .map(|r| r.iter().map(|s| s.unwrap_or(0.0) * 100.0).collect())
            .collect()
    };
    let tips: Vec<Vec<String>> = a
        .range_block_tracks
        .iter()
        .enumerate()
        .map(|(w, row)| {
            row.iter()
                .enumerate()
                .map(|(b, t)| {
                    let share = a.range_blocks.share[w][b].map_or("–".into(), fmt_pct);
                    match t {
                        Some(t) => format!(
                            "{} {}: {share} of the range; most played: {} ({} plays)",
                            a.weekdays[w], a.blocks[b], t.name, t.plays
                        ),
                        None => format!("{} {}: {share}", a.weekdays[w], a.blocks[b]),
                    }
                })
                .collect()
        })
        .collect();
    let rows: Vec<String> = a.weekdays.iter().map(|s| s.to_string()).collect();
    let cols: Vec<String> = a.blocks.iter().map(|s| s.to_string()).collect();
    let body = html! {
        p.go { a href=(c.q.link("/dashboard/ranking", &[("kind", "artists"), ("name", "")])) { "← Ranking" } }
        h1 { (a.name) }
        (share_link(&c.q, Shareable::Artist))
        (crate::dashboards::hidden::hide_link(engine::selection::HiddenKind::Artist, &a.name, None))
        (controls(&c.q, &m, "/dashboard/artist"))
        section.cards {
            (card("In this range", "artist-hours", fmt_hours(a.range.ms_played)))
            (card("Plays in this range", "artist-plays", fmt_int(a.range.plays)))
            (card("All time", "artist-all-hours", fmt_hours(a.all_time.ms_played)))
            (card("First listen", "first", a.first_listen.as_deref().map_or("–".into(), |s| s.get(..10).unwrap_or(s).to_string())))
            (card("Last listen", "last", a.last_listen.as_deref().map_or("–".into(), |s| s.get(..10).unwrap_or(s).to_string())))
        }
        div.two {
            div {
                h2 { "This range" }
                p.hint { "Share of the artist's listening by weekday and time of day; hover or focus a block for its most played track." }
                (charts::heatmap(&Chart::new("artist-range", "This range: share of listening by weekday and time of day").with_label_name("Weekday"), &rows, &cols, &grid(&a.range_blocks), &tips, "%"))
            }
            div {
                h2 { "All time" }
                p.hint { "The same, over the artist's whole history, to compare." }
                (charts::heatmap(&Chart::new("artist-all", "All time: share of listening by weekday and time of day").with_label_name("Weekday"), &rows, &cols, &grid(&a.all_time_blocks), &[], "%"))
            }
        }
        section {
            h2 { "Rank among artists, year by year" }
            table.ranks {
                thead { tr { th scope="col" { "Year" } th scope="col" { "Rank" } th scope="col" { "Listening time" } th scope="col" { "Plays" } } }
                tbody { @for r in &a.year_ranks {
                    tr { th scope="row" { (r.year) } td { "#" (r.rank) " of " (fmt_int(r.of as u64)) } td { (fmt_hours(r.ms_played)) } td { (fmt_int(r.plays)) } }
                } }
            }
        }
        div.two {
            section { (ranked_bars(&c.q, EntityKind::Track, ("artist-tracks", "Top tracks in this range"), &a.top_tracks, RankBy::Time)) }
            section {
                h2 { "Top tracks, year by year" }
                @for y in a.top_tracks_by_year.iter().rev() {
                    h3 { (y.year) }
                    ol { @for t in &y.tracks { li { a href=(entry_link(&c.q, EntityKind::Track, &t.name, Some(&a.name)).unwrap_or_default()) { (t.name) } " " span.value { (fmt_hours(t.ms_played)) } } } }
                }
            }
        }
    };
    Ok((a.name.clone(), body))
}

fn item(c: &Ctx, kind: panels::ItemKind) -> Result<Arc<panels::ItemView>, AppError> {
    let name =
        c.q.name.clone().ok_or_else(|| {
            AppError::BadRequest(format!("Which {}? Give “name”.", kind.as_str()))
        })?;
    let artist = c.q.artist.clone();
    if kind != panels::ItemKind::Show && artist.is_none() {
        return Err(AppError::BadRequest(format!(
            "Whose {}? Give “artist”.",
            kind.as_str()
        )));
    }
    let p = c.prepared.clone();
    let (q, days) = (c.q.clone(), c.days);
    let view = c.prepared.memo(q.key(days, kind.as_str()), move || {
        panels::item(
            kind,
            artist.as_deref(),
            &name,
            p.slice(days),
            &p.plays,
            &p.strings,
            p.settings,
        )
    });
    view.as_ref()
        .clone()
        .map(Arc::new)
        .ok_or(AppError::NotFound)
}

/// One track, album or podcast, its parts and its history.
async fn item_page(
    state: &AppState,
    v: &Visitor,
    raw: Option<&str>,
    kind: panels::ItemKind,
) -> Result<Response, PageError> {
    let c = context(state, v, raw).await?;
    let (title, body) = item_body(&c, kind)?;
    Ok(crate::ui::layout(&title, &nav(state, v), body).into_response())
}

/// `GET /dashboard/track?artist=…&name=…`.
pub async fn track_page(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    item_page(&state, &v, raw.as_deref(), panels::ItemKind::Track).await
}

/// `GET /dashboard/album?artist=…&name=…`.
pub async fn album_page(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    item_page(&state, &v, raw.as_deref(), panels::ItemKind::Album).await
}

/// `GET /dashboard/show?name=…`.
pub async fn show_page(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    item_page(&state, &v, raw.as_deref(), panels::ItemKind::Show).await
}

/// A track, album or show page's title and content.
fn item_body(c: &Ctx, kind: panels::ItemKind) -> Result<(String, Markup), AppError> {
    let it = item(c, kind)?;
    let m = meta(c);
    let path = format!("/dashboard/{}", kind.as_str());
    let day = |s: &Option<String>| {
        s.as_deref()
            .map_or("–".into(), |s| s.get(..10).unwrap_or(s).to_string())
    };
    let part_kind = match kind {
        panels::ItemKind::Track => EntityKind::Album,
        panels::ItemKind::Album => EntityKind::Track,
        panels::ItemKind::Show => EntityKind::Episode,
    };
    let (noun, parts_title) = match kind {
        panels::ItemKind::Track => ("Track", "Played from these albums"),
        panels::ItemKind::Album => ("Album", "Its tracks in this range"),
        panels::ItemKind::Show => ("Podcast", "Its episodes in this range"),
    };
    let body = html! {
        p.go { a href=(c.q.link("/dashboard", &[("name", ""), ("artist", "")])) { "← Dashboard" } }
        p.kicker { (noun) }
        h1 { (it.name) }
        @if let Some(by) = &it.by {
            p.lead { "by " a href=(entry_link(&c.q, EntityKind::Artist, by, None).unwrap_or_default()) { (by) } }
        }
        @match kind {
            panels::ItemKind::Track => (crate::dashboards::hidden::hide_link(engine::selection::HiddenKind::Track, &it.name, it.by.as_deref())),
            panels::ItemKind::Show => (crate::dashboards::hidden::hide_link(engine::selection::HiddenKind::Show, &it.name, None)),
            panels::ItemKind::Album => {},
        }
        (controls(&c.q, &m, &path))
        section.cards aria-label="In numbers" {
            (card("In this range", "item-hours", fmt_hours(it.range.ms_played)))
            (card("Plays in this range", "item-plays", fmt_int(it.range.plays)))
            (card("Days heard in this range", "item-days", fmt_int(it.days_listened as u64)))
            (card("All time", "item-all-hours", fmt_hours(it.all_time.ms_played)))
            (card("First heard", "first", day(&it.first_listen)))
            (card("Last heard", "last", day(&it.last_listen)))
        }
        div.two {
            section {
                (charts::bars(&Chart::new("item-months", "Hours per month in this range").with_label_name("Month"),
                    &it.months.iter().map(|p| Bar::new(p.label.clone(), hours(p.ms_played)).with_tooltip(format!("{}: {} · {}", p.label, fmt_hours(p.ms_played), plural(p.plays, "play")))).collect::<Vec<_>>(), "h"))
            }
            section {
                (ranked_bars(&c.q, part_kind, ("item-parts", parts_title), &it.parts, RankBy::Time))
            }
        }
    };
    let title = match &it.by {
        Some(by) => format!("{} — {by}", it.name),
        None => it.name.clone(),
    };
    Ok((title, body))
}

/// `GET /api/v1/dashboard/artist?name=…`.
#[utoipa::path(
    get,
    path = "/dashboard/artist",
    operation_id = "getDashboardArtist",
    tag = "dashboard",
    summary = "One artist in depth: time, weekday × time-of-day grids, top tracks, rank year by year",
    description = "The range limits the `range` numbers, grids and top tracks; `all_time`, the all-time grid, first and last listen and the yearly ranks cover the whole selection. Music only. An artist never heard in the selection gives 404; no `name` gives 400.",
    params(
        crate::dashboards::query::Selecting,
        crate::dashboards::query::Ranging,
        ("name" = String, Query, description = "The artist's name, exactly as listed (e.g. by the ranking); empty or absent gives 400.", example = "Nox", min_length = 1),
    ),
    responses(
        (status = 200, description = "The artist.", body = engine::panels::ArtistView),
        crate::error::ReadErrors,
    ),
)]
pub async fn api_artist(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Json<panels::ArtistView>, ApiError> {
    api_view(&state, &v, raw.as_deref(), |c| {
        Ok(artist(c)?.as_ref().clone())
    })
    .await
}
