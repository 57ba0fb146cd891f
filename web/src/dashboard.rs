//! `/api/v1/stats`: the overview of a selection of uploads and a date range
//! ([`engine::overview::StatsView`]), read off the same prepared selection and range stats as
//! the dashboards (`crate::dash`), so the two never disagree.

use serde::Deserialize;
use storage::users::User;

use crate::AppState;
use crate::error::AppError;
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
    let chosen = crate::actions::selection(state, user, &query.uploads).await?;
    let range =
        engine::RangeChoice::parse(None, query.from.as_deref(), query.to.as_deref())?.days(None);
    let ids: Vec<String> = chosen.iter().map(|u| u.id.clone()).collect();
    let settings = engine::selection::settings(&user.tz, user.min_play_ms);
    // The same prepared selection and range stats the dashboards read: one code path.
    let prepared = match ids.is_empty() {
        true => None,
        false => Some(state.dash().get(state, user, &ids).await?),
    };
    Ok(StatsView::of(
        ids,
        &user.tz,
        settings,
        prepared.as_deref(),
        range,
    ))
}
