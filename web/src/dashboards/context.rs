//! A request's context: who asks, which of their uploads, the prepared selection and the days
//! of the range (`Ctx`), and what a view says it is about ([`Meta`]).

use std::sync::Arc;

use axum::Json;
use schema::RankBy;
use schema::aggregate::Day;
use serde::Serialize;
use storage::uploads::Upload;
use storage::users::User;

use crate::dashboards::query::{BoardQuery, TYPED, refuse_blank};
use crate::error::{ApiError, AppError};
use crate::session::Visitor;
use crate::state::AppState;
use engine::{DayRange, Prepared};
use std::collections::HashSet;

/// What the dashboard is about: the selection, the range, the settings.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Meta {
    /// Upload ids merged.
    pub uploads: Vec<String>,
    /// Their file names.
    pub upload_names: Vec<String>,
    /// `all`, `4w`, `6m`, `year`, a year, or `custom`.
    #[schema(examples(json!("all"), json!("4w"), json!("2021")))]
    pub range: String,
    /// First day shown (`YYYY-MM-DD`, inclusive); null when open. Presets are anchored on the last
    /// day of listening in the selection.
    #[schema(required = true, format = Date)]
    pub from: Option<String>,
    /// Last day shown, when limited.
    #[schema(required = true, format = Date)]
    pub to: Option<String>,
    /// Content kind.
    #[schema(value_type = engine::ContentKind)]
    pub content: &'static str,
    /// `time` or `plays`.
    #[schema(value_type = engine::panels::RankOrder)]
    pub by: &'static str,
    /// Time zone of days and hours.
    pub tz: String,
    /// Shortest stream counted as a play, in seconds.
    pub min_play_seconds: u64,
    /// First and last day of listening in the selection.
    #[schema(required = true, format = Date)]
    pub history_first_day: Option<String>,
    /// Last day of listening in the selection.
    #[schema(required = true, format = Date)]
    pub history_last_day: Option<String>,
    /// Calendar years with listening, for the recap links.
    pub years: Vec<i32>,
    /// A pause of at least this many minutes ends a listening session.
    #[schema(minimum = 1, maximum = 1440)]
    pub session_gap_minutes: u32,
    /// The selection holds the built-in sample history (the pages say so).
    #[serde(skip)]
    pub sample: bool,
}

/// A request's context: who, which uploads, which prepared selection, which days.
pub(crate) struct Ctx {
    pub(crate) user: User,
    pub(crate) q: BoardQuery,
    pub(crate) chosen: Vec<Upload>,
    pub(crate) prepared: Arc<Prepared>,
    pub(crate) days: DayRange,
}

pub(crate) async fn context(
    state: &AppState,
    v: &Visitor,
    raw: Option<&str>,
) -> Result<Ctx, AppError> {
    context_for(state, v.require_user()?.clone(), raw).await
}

pub(crate) async fn context_for(
    state: &AppState,
    user: User,
    raw: Option<&str>,
) -> Result<Ctx, AppError> {
    context_with(state, user, raw, false).await
}

/// [`context`] for a view that reads only the days of its range (the dashboard): a range whose
/// days do not depend on the history (a year, or dates from and to) is read from a selection
/// prepared for those days only when the process does not hold the whole selection
/// ([`super::prepare::prepared_for_days`]).
pub(crate) async fn days_context(
    state: &AppState,
    v: &Visitor,
    raw: Option<&str>,
) -> Result<Ctx, AppError> {
    context_with(state, v.require_user()?.clone(), raw, true).await
}

async fn context_with(
    state: &AppState,
    user: User,
    raw: Option<&str>,
    days_only: bool,
) -> Result<Ctx, AppError> {
    let q = BoardQuery::parse(raw)?;
    let chosen = selection(state, &user, &q.uploads).await?;
    let mut ids: Vec<String> = chosen.iter().map(|u| u.id.to_string()).collect();
    ids.sort();
    let prepared = match q.range.days(None) {
        (Some(from), Some(to)) if days_only && from <= to => {
            super::prepare::prepared_for_days(state, &user, &ids, (from, to)).await?
        }
        _ => super::prepare::prepared(state, &user, &ids).await?,
    };
    let days = q.range.days(prepared.span());
    Ok(Ctx {
        user,
        q,
        chosen,
        prepared,
        days,
    })
}

pub(crate) fn meta(c: &Ctx) -> Meta {
    let p = &c.prepared;
    let years = match p.span() {
        Some((a, b)) => (a.ymd().0..=b.ymd().0).collect(),
        None => Vec::new(),
    };
    Meta {
        uploads: c.chosen.iter().map(|u| u.id.to_string()).collect(),
        upload_names: c.chosen.iter().map(|u| u.original_name.clone()).collect(),
        sample: c.chosen.iter().any(|u| u.sample),
        range: c.q.range.param(),
        from: c.days.0.map(Day::label),
        to: c.days.1.map(Day::label),
        content: c.q.content.as_str(),
        by: if c.q.by == RankBy::Time {
            "time"
        } else {
            "plays"
        },
        tz: c.user.tz.clone(),
        min_play_seconds: u64::from(engine::selection::play_threshold_seconds(
            c.user.min_play_ms,
        )),
        history_first_day: p.span().map(|s| s.0.label()),
        history_last_day: p.span().map(|s| s.1.label()),
        years,
        session_gap_minutes: c.q.gap_minutes,
    }
}

pub(crate) async fn api_context(
    state: &AppState,
    v: &Visitor,
    raw: Option<&str>,
) -> Result<Ctx, AppError> {
    api_context_with(state, v, raw, false).await
}

/// [`api_context`] for the dashboard: [`days_context`].
pub(crate) async fn api_days_context(
    state: &AppState,
    v: &Visitor,
    raw: Option<&str>,
) -> Result<Ctx, AppError> {
    api_context_with(state, v, raw, true).await
}

async fn api_context_with(
    state: &AppState,
    v: &Visitor,
    raw: Option<&str>,
    days_only: bool,
) -> Result<Ctx, AppError> {
    // Like any other bad value, after the sign-in check.
    let user = v.require_user()?.clone();
    refuse_blank(raw, TYPED)?;
    context_with(state, user, raw, days_only).await
}

/// A JSON twin: the view `f` computes for the request's selection, range and choices.
pub(crate) async fn api_view<T: Serialize>(
    state: &AppState,
    v: &Visitor,
    raw: Option<&str>,
    f: impl FnOnce(&Ctx) -> Result<T, AppError>,
) -> Result<Json<T>, ApiError> {
    let c = api_context(state, v, raw).await?;
    Ok(Json(f(&c)?))
}

/// The ids of the visitor's uploads a selection names (all ready ones when empty); unknown or
/// foreign ids are "not found".
pub async fn selection(
    state: &AppState,
    user: &User,
    ids: &[String],
) -> Result<Vec<Upload>, AppError> {
    let mine: Vec<Upload> = storage::uploads::list_for_owner(state.db(), &user.id)
        .await?
        .into_iter()
        .filter(|u| u.state != storage::uploads::State::Deleting)
        .collect();
    if ids.is_empty() {
        return Ok(everything(mine));
    }
    let wanted: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let chosen: Vec<Upload> = mine
        .into_iter()
        .filter(|u| wanted.contains(u.id.as_str()))
        .collect();
    if chosen.len() != wanted.len() {
        return Err(AppError::NotFound);
    }
    Ok(chosen)
}

/// The uploads "all my uploads" means: the ready ones, without the sample history once there
/// is real data (a sample stays apart; choosing it by id still shows it).
pub fn everything(mine: Vec<Upload>) -> Vec<Upload> {
    let ready: Vec<Upload> = mine
        .into_iter()
        .filter(|u| u.state == storage::uploads::State::Ready)
        .collect();
    let real = ready.iter().any(|u| !u.sample);
    ready.into_iter().filter(|u| !(real && u.sample)).collect()
}
