//! `GET /dashboard/ranking` and its JSON twin: a whole top list, a page at a time.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use schema::EntityKind;

use crate::dashboards::context::{Ctx, api_context, context, meta};
use crate::dashboards::finished::finished;
use crate::dashboards::query::{PER_PAGE, kind_param};
use crate::dashboards::widgets::{controls, entry_link};
use crate::error::{ApiError, PageError};
use crate::session::{Visitor, nav};
use crate::state::AppState;
use crate::ui::charts::{fmt_hours, fmt_int};
use engine::panels;

/// `GET /dashboard/ranking`: every artist (or track, album…) ranked, a page at a time; ↑ and ↓
/// move through the list and on to the next or previous page, Enter opens an artist.
pub async fn ranking_page(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    if let Some(r) = finished(&state, &v, "/dashboard/ranking", raw.as_deref()).await? {
        return Ok(r);
    }
    let c = context(&state, &v, raw.as_deref()).await?;
    Ok(crate::ui::layout("Ranking", &nav(&state, &v), ranking_body(&c)).into_response())
}

/// The ranking page's content.
pub(crate) fn ranking_body(c: &Ctx) -> Markup {
    let r = ranking(c);
    let m = meta(c);
    let q = &c.q;
    let page_link = |p: usize, focus: &str| {
        q.link(
            "/dashboard/ranking",
            &[
                ("kind", kind_param(q.kind)),
                ("page", &p.to_string()),
                ("focus", focus),
            ],
        )
    };
    html! {
        h1 { "Ranking: " (kind_param(q.kind)) }
        nav.controls aria-label="What to rank" {
            ul.presets {
                @for (kind, label) in [(EntityKind::Artist, "Artists"), (EntityKind::Track, "Tracks"), (EntityKind::Album, "Albums"), (EntityKind::Show, "Podcasts"), (EntityKind::Episode, "Episodes")] {
                    li { a href=(q.link("/dashboard/ranking", &[("kind", kind_param(kind)), ("page", "")]))
                        aria-current=[(q.kind == kind).then_some("true")] { (label) } }
                }
            }
        }
        (controls(q, &m, "/dashboard/ranking"))
        p.hint { "Use ↑ and ↓ to move through the list (past either end to the next or previous page); Enter opens an artist." }
        ol.ranking-list data-ranking start=(r.entries.first().map_or(1, |e| e.rank)) {
            @for e in &r.entries {
                li {
                    @match entry_link(q, q.kind, &e.name, e.by.as_deref()) {
                        Some(href) => { a.rank-link href=(href) { (e.name) } }
                        None => { span.rank-name { (e.name) } }
                    }
                    @if let Some(by) = &e.by {
                        " — "
                        @match entry_link(q, if q.kind == EntityKind::Episode { EntityKind::Show } else { EntityKind::Artist }, by, None) {
                            Some(href) => { a href=(href) { (by) } }
                            None => { (by) }
                        }
                    }
                    span.value { (fmt_hours(e.ms_played)) " · " (fmt_int(e.plays)) (if e.plays == 1 { " play" } else { " plays" }) }
                }
            }
        }
        nav.pager aria-label="Pages" {
            @if r.page > 1 { a rel="prev" data-pager="prev" href=(page_link(r.page - 1, "last")) { "↑ Previous page" } }
            " Page " (r.page) " of " (r.pages.max(1)) " (" (fmt_int(r.total as u64)) " in all) "
            @if r.page < r.pages { a rel="next" data-pager="next" href=(page_link(r.page + 1, "first")) { "Next page ↓" } }
        }
    }
}

fn ranking(c: &Ctx) -> Arc<panels::Ranking> {
    let p = c.prepared.clone();
    let (q, days) = (c.q.clone(), c.days);
    c.prepared.memo(q.key(days, "ranking"), move || {
        let range = p.stats(q.content, days);
        panels::ranking(&range, &p.strings, q.kind, q.by, q.page, PER_PAGE)
    })
}

/// `GET /api/v1/dashboard/ranking`.
#[utoipa::path(
    get,
    path = "/dashboard/ranking",
    operation_id = "getDashboardRanking",
    tag = "dashboard",
    summary = "A full ranking of artists, tracks, albums, shows, episodes or audiobooks, 25 a page",
    params(
        crate::dashboards::query::Selecting,
        crate::dashboards::query::Ranging,
        crate::dashboards::query::ContentParam,
        crate::dashboards::query::ByParam,
        crate::dashboards::query::RankingParams,
    ),
    responses(
        (status = 200, description = "The page.", body = engine::panels::Ranking),
        crate::error::ReadErrors,
    ),
)]
pub async fn api_ranking(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Json<panels::Ranking>, ApiError> {
    let c = api_context(&state, &v, raw.as_deref()).await?;
    Ok(Json(ranking(&c).as_ref().clone()))
}
