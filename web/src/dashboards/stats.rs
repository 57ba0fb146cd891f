//! `/api/v1/stats`: the overview of a selection of uploads and a date range
//! ([`engine::overview::StatsView`]), read off the same prepared selection and range stats as
//! the dashboards (`crate::dashboards::prepare`), so the two never disagree.

use axum::Json;
use axum::extract::{Query, RawQuery, State};
use serde::Deserialize;
use storage::users::User;

use crate::error::{ApiResult, AppError};
use crate::session::Visitor;
use crate::state::AppState;
pub use engine::overview::StatsView;

/// What to show: which uploads (all ready ones when empty) and which local days.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StatsQuery {
    /// Upload ids.
    #[serde(default)]
    pub uploads: Vec<String>,
    /// First day, `YYYY-MM-DD` in the user's time zone (inclusive).
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (inclusive).
    pub to: Option<String>,
}

/// Builds the overview of `query` for `user`.
pub async fn stats(
    state: &AppState,
    user: &User,
    query: &StatsQuery,
) -> Result<StatsView, AppError> {
    let chosen = super::context::selection(state, user, &query.uploads).await?;
    let range =
        engine::RangeChoice::parse(None, query.from.as_deref(), query.to.as_deref())?.days(None);
    let ids: Vec<String> = chosen.iter().map(|u| u.id.to_string()).collect();
    let settings = engine::selection::settings(&user.tz, user.min_play_ms);
    // The same prepared selection and range stats the dashboards read: one code path.
    let prepared = match ids.is_empty() {
        true => None,
        false => Some(super::prepare::prepared(state, user, &ids).await?),
    };
    Ok(StatsView::of(
        ids,
        &user.tz,
        settings,
        prepared.as_deref(),
        range,
    ))
}

/// `GET /api/v1/stats?uploads=a,b&from=2024-01-01&to=2024-12-31`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// Comma-separated upload ids (all ready uploads when absent or empty). An id that is not
    /// the visitor's gives 404.
    #[param(example = "569236124802fa2437c097d0582dc4b6,0b1f5e8a6a1f4b1c9e4f2d7c3a5b6e70")]
    pub uploads: Option<String>,
    /// First day, `YYYY-MM-DD` (inclusive).
    #[param(format = Date, example = "2024-01-01")]
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (inclusive); not before `from`.
    #[param(format = Date, example = "2024-12-31")]
    pub to: Option<String>,
}

#[utoipa::path(
    get,
    path = "/stats",
    operation_id = "getStats",
    tag = "stats",
    summary = "The overview of a selection and a date range",
    description = "Days are local days in the settings' time zone. Streams present in several selected uploads count once.",
    params(StatsParams),
    responses(
        (status = 200, description = "The overview.", body = StatsView),
        crate::error::ReadErrors,
    ),
)]
pub(crate) async fn api_stats(
    State(state): State<AppState>,
    v: Visitor,
    Query(p): Query<StatsParams>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<StatsView>> {
    let user = v.require_user()?;
    super::query::refuse_blank(raw.as_deref(), &["from", "to"])?;
    let q = StatsQuery {
        uploads: p
            .uploads
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        from: p.from,
        to: p.to,
    };
    Ok(Json(stats(&state, user, &q).await?))
}
