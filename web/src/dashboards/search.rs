//! `GET /dashboard/search` and its JSON twin: find an artist, track, album or show.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use schema::EntityKind;

use crate::dashboards::context::{Ctx, api_view, context};
use crate::dashboards::query::BoardQuery;
use crate::dashboards::widgets::entry_link;
use crate::error::{ApiError, PageError};
use crate::session::{Visitor, nav};
use crate::state::AppState;
use crate::ui::charts::{fmt_hours, fmt_int, plural};
use engine::Content;

/// What the search words find in the selection (all time, all content).
fn search(c: &Ctx) -> engine::search::SearchResults {
    let p = c.prepared.clone();
    let index = c.prepared.memo("search-index".into(), move || {
        engine::search::SearchIndex::new(&p.stats(Content::All, (None, None)), &p.strings)
    });
    index.search(c.q.search.as_deref().unwrap_or(""), &c.prepared.strings)
}

/// The search form: GET, so that it works in a finished view and without JavaScript.
pub(crate) fn search_form(q: &BoardQuery, value: &str) -> Markup {
    html! {
        form.search method="get" action="/dashboard/search" role="search" {
            @for id in &q.uploads { input type="hidden" name="u" value=(id); }
            label for="search-q" { "Search your history" }
            input id="search-q" name="q" type="search" value=(value) maxlength="100"
                placeholder="An artist, a track, an album, a podcast";
            button type="submit" { "Search" }
        }
    }
}

/// `GET /dashboard/search?q=…`: the artists, tracks, albums, podcasts and episodes of the
/// visitor's history whose names hold the words, each a link to its page.
pub async fn search_page(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let c = context(&state, &v, raw.as_deref()).await?;
    let r = search(&c);
    let q = &c.q;
    let kind_of = |k: &str| match k {
        "artist" => EntityKind::Artist,
        "track" => EntityKind::Track,
        "album" => EntityKind::Album,
        "show" => EntityKind::Show,
        _ => EntityKind::Episode,
    };
    let heading = |k: &str| match k {
        "artist" => "Artists",
        "track" => "Tracks",
        "album" => "Albums",
        "show" => "Podcasts",
        _ => "Episodes",
    };
    let body = html! {
        p.go { a href=(q.link("/dashboard", &[])) { "← Dashboard" } }
        h1 { "Search" }
        (search_form(q, &r.query))
        @if r.query.is_empty() {
            p.hint { "Type a few letters of a name: every word must appear, in any order, in any case." }
        } @else if r.hits.is_empty() {
            p role="status" { "Nothing in your history matches “" (r.query) "”." }
        } @else {
            p role="status" { (fmt_int(r.total as u64)) (if r.total == 1 { " match" } else { " matches" }) " for “" (r.query) "”, most listened first." }
            @for kind in ["artist", "track", "album", "show", "episode"] {
                @let hits: Vec<&engine::search::SearchHit> = r.hits.iter().filter(|h| h.kind == kind).collect();
                @if !hits.is_empty() {
                    section.results {
                        h2 { (heading(kind)) }
                        ol { @for h in hits {
                            li {
                                @match entry_link(q, kind_of(kind), &h.name, h.by.as_deref()) {
                                    Some(href) => { a href=(href) { (h.name) } }
                                    None => { (h.name) }
                                }
                                @if let Some(by) = &h.by { " — " (by) }
                                " " span.value { (fmt_hours(h.ms_played)) " · " (plural(h.plays, "play")) }
                            }
                        } }
                    }
                }
            }
        }
    };
    Ok(crate::ui::layout("Search", &nav(&state, &v), body).into_response())
}

/// `GET /api/v1/dashboard/search?q=…`.
#[utoipa::path(
    get,
    path = "/dashboard/search",
    operation_id = "getDashboardSearch",
    tag = "dashboard",
    summary = "Search your own history: artists, tracks, albums, podcasts and episodes by name",
    description = "Names holding every word of `q` (any case, any order), over all time and all content of the selection; an empty or absent `q` finds nothing.",
    params(
        crate::dashboards::query::Selecting,
        ("q" = Option<String>, Query, description = "The words to find.", example = "daft punk"),
    ),
    responses(
        (status = 200, description = "What was found.", body = engine::search::SearchResults),
        crate::error::ReadErrors,
    ),
)]
pub async fn api_search(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Json<engine::search::SearchResults>, ApiError> {
    api_view(&state, &v, raw.as_deref(), |c| Ok(search(c))).await
}
