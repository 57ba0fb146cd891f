//! The dashboards: every view of any selection of a user's uploads, range and content kind, as
//! pages (server-rendered SVG) and as their JSON twins under `/api/v1/dashboard`, and the
//! `/api/v1/stats` overview.
//!
//! A request reads the view the worker finished, when there is one ([`finished`]); otherwise it
//! finds the selection prepared in memory ([`prepare`], kept in
//! [`crate::state::cache::DashCache`]), takes the stats of its range, computes the panels
//! ([`engine::panels`]) and renders them ([`crate::ui::charts`]); the panels and the rendered
//! sections are kept per question, so asking again costs a lookup. Each view has one module:
//! the dashboard itself ([`overview`]), [`ranking`], an artist's or a track's page ([`items`]),
//! [`skips`], [`overlaps`], [`search`], [`compare`], [`recap`], [`stories`] (chapters and
//! moments) and [`ledger`].

pub mod compare;
pub mod context;
pub mod finished;
pub mod hidden;
pub mod items;
pub mod ledger;
pub mod overlaps;
pub mod overview;
pub mod precompute;
pub mod prepare;
pub mod query;
pub mod ranking;
pub mod recap;
pub mod search;
pub mod shareable;
pub mod skips;
pub mod stats;
pub mod stories;
pub mod widgets;

use axum::Router;
use axum::routing::get;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The dashboards' pages.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(overview::page))
        .route("/dashboard/ranking", get(ranking::ranking_page))
        .route("/dashboard/artist", get(items::artist_page))
        .route("/dashboard/track", get(items::track_page))
        .route("/dashboard/album", get(items::album_page))
        .route("/dashboard/show", get(items::show_page))
        .route("/dashboard/compare", get(compare::compare_page))
        .route("/dashboard/search", get(search::search_page))
        .route("/dashboard/skips", get(skips::anatomy_page))
        .route("/dashboard/overlaps", get(overlaps::overlaps_page))
        .route("/dashboard/chapters", get(stories::chapters_page))
        .route("/dashboard/ledger", get(ledger::page))
        .route("/dashboard/moments", get(stories::moments_page))
        .route("/dashboard/recap/{year}", get(recap::recap_page))
}

/// The dashboards' part of the JSON API, relative to `/api/v1`.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(stats::api_stats))
        .routes(routes!(overview::api_board))
        .routes(routes!(ranking::api_ranking))
        .routes(routes!(items::api_artist))
        .routes(routes!(compare::api_compare))
        .routes(routes!(search::api_search))
        .routes(routes!(skips::api_anatomy))
        .routes(routes!(overlaps::api_overlaps))
        .routes(routes!(stories::api_chapters))
        .routes(routes!(ledger::api_ledger))
        .routes(routes!(stories::api_moments))
        .routes(routes!(recap::api_recap))
}
