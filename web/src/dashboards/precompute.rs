//! Rendering views in advance: the first views while an ingest commits, then the rest of the
//! default views, stored for every web instance ([`super::finished`]).

use std::sync::{Arc, Mutex, OnceLock};

use ingest_worker::{AfterChange, FirstViews, FirstViewsDone};

use maud::Markup;
use storage::uploads::Upload;
use storage::users::User;

use crate::dashboards::context::{Ctx, meta};
use crate::dashboards::finished::{key_of, view_key};
use crate::dashboards::items::artist_body;
use crate::dashboards::overview::{board, render_board};
use crate::dashboards::query::BoardQuery;
use crate::dashboards::ranking::ranking_body;
use crate::dashboards::recap::recap_body;
use crate::error::AppError;
use crate::state::AppState;
use engine::Prepared;

/// Artists whose pages are finished in advance: the first ten of the dashboard's top list.
const FINISHED_ARTISTS: usize = 10;

/// A user's default selection as [`first_views`] prepared it, for [`precompute`] to go on
/// from instead of preparing it again.
#[derive(Debug, Clone)]
pub struct Ready {
    user: User,
    ids: Vec<String>,
    prepared: Arc<Prepared>,
}

impl Ready {
    /// This one, if it is `user`'s selection `ids` in their current data and settings.
    fn fits(self, user: &User, ids: &[String]) -> Option<Arc<Prepared>> {
        let same = self.user.id == user.id
            && self.user.stats_version == user.stats_version
            && self.user.tz == user.tz
            && self.user.min_play_ms == user.min_play_ms
            && self.ids == ids;
        same.then_some(self.prepared)
    }
}

/// The views a user opens first, the default dashboard and its JSON twin, computed from their
/// artifact in memory while an ingest writes it (the worker stores them with the upload's
/// readiness; when the selection is the upload alone, it reads the upload's summary off it),
/// and the selection they were computed from, for [`precompute`].
pub async fn first_views(
    state: &AppState,
    first: ingest_worker::FirstViews,
) -> Result<(ingest_worker::FirstViewsDone, Option<Ready>), AppError> {
    let chosen = crate::dashboards::context::everything(first.uploads);
    if chosen.is_empty() {
        return Ok((Default::default(), None));
    }
    let streams = first.streams.len();
    let mut ids: Vec<String> = chosen.iter().map(|u| u.id.to_string()).collect();
    ids.sort();
    let user = first.user;
    let started = std::time::Instant::now();
    let Some(prepared) = crate::dashboards::prepare::build_from(
        state,
        &user,
        ids.clone(),
        first.streams,
        first.upload.to_string(),
    )
    .await?
    else {
        // The upload's plays, while the owner has other uploads after all: the views are
        // computed once the data is committed instead.
        return Ok((Default::default(), None));
    };
    let prepare_ms = started.elapsed().as_millis() as u64;
    // Exactly the ingested upload's streams (its owner's only upload, nothing hidden): the
    // worker reads the upload's summary off it while the views are drawn.
    if let Some(to) = first.upload_alone
        && ids == [first.upload.as_str()]
        && prepared.plays.len() == streams
    {
        let _ = to.send(prepared.clone());
    }
    let ready = Ready {
        user: user.clone(),
        ids,
        prepared: prepared.clone(),
    };
    let c = user_view_ctx(user, chosen, prepared)?;
    let views = tokio::task::spawn_blocking(move || dashboard_views(&c))
        .await
        .map_err(|e| AppError::Internal(format!("finishing the dashboard: {e}")))??;
    tracing::info!(
        user = %ready.user.id,
        prepare_ms,
        views_ms = started.elapsed().as_millis() as u64 - prepare_ms,
        "first views computed"
    );
    Ok((ingest_worker::FirstViewsDone { views }, Some(ready)))
}

/// Computes the views a user is likely to open first, by the pages' own code, and stores them
/// finished for their current data version and settings: the default dashboard and its JSON
/// twin, its range presets (last 4 weeks, 6 months, latest year), the rankings it links to,
/// the recap of every year, the pages of its top artists. `ready` is the selection
/// [`first_views`] prepared, used when it is still the user's.
/// Returns how many it stored (none for a user without a ready upload).
pub async fn precompute(
    state: &AppState,
    user_id: &storage::ids::UserId,
    ready: Option<Ready>,
) -> Result<usize, AppError> {
    let Some(user) = storage::users::by_id(state.db(), user_id).await? else {
        return Ok(0);
    };
    let chosen = crate::dashboards::context::selection(state, &user, &[]).await?;
    if chosen.is_empty() {
        return Ok(0);
    }
    let started = std::time::Instant::now();
    let mut ids: Vec<String> = chosen.iter().map(|u| u.id.to_string()).collect();
    ids.sort();
    let prepared = match ready.and_then(|r| r.fits(&user, &ids)) {
        Some(p) => p,
        None => crate::dashboards::prepare::build(state, &user, ids).await?,
    };
    let c = user_view_ctx(user, chosen, prepared)?;
    let views = tokio::task::spawn_blocking(move || finish_views(c))
        .await
        .map_err(|e| AppError::Internal(format!("finishing the views: {e}")))??;
    let user = &views.0;
    for (name, body) in &views.1 {
        storage::views::put(state.db(), user, user.stats_version, name, body).await?;
    }
    tracing::info!(
        user = %user.id,
        version = user.stats_version,
        views = views.1.len(),
        ms = started.elapsed().as_millis() as u64,
        "finished views stored"
    );
    Ok(views.1.len())
}

/// The default question over a prepared selection.
fn user_view_ctx(
    user: User,
    chosen: Vec<Upload>,
    prepared: Arc<Prepared>,
) -> Result<Ctx, AppError> {
    let q = BoardQuery::parse(None)?;
    let days = q.range.days(prepared.span());
    Ok(Ctx {
        user,
        q,
        chosen,
        prepared,
        days,
    })
}

/// A page's title and content as a finished view stores them.
fn finished_page(title: &str, body: Markup) -> Result<String, AppError> {
    serde_json::to_string(&(title, body.into_string()))
        .map_err(|e| AppError::Internal(format!("a finished view: {e}")))
}

/// The default dashboard, as its JSON twin and as the page, each as (name, stored text).
fn dashboard_views(c: &Ctx) -> Result<Vec<(String, String)>, AppError> {
    let b = board(c);
    Ok(vec![
        (
            view_key("/api/v1/dashboard", None),
            serde_json::to_string(b.as_ref())
                .map_err(|e| AppError::Internal(format!("the dashboard as JSON: {e}")))?,
        ),
        (
            view_key("/dashboard", None),
            finished_page("Dashboard", render_board(&c.q, &b))?,
        ),
    ])
}

/// The finished views of [`precompute`], each as (name, stored text): a page's title and
/// content as JSON, or the JSON twin itself.
#[allow(clippy::type_complexity)]
fn finish_views(c: Ctx) -> Result<(User, Vec<(String, String)>), AppError> {
    let page = finished_page;
    let mut out = dashboard_views(&c)?;
    let b = board(&c);
    // Every address below is the link the dashboard itself shows: first its range presets.
    let at = |link: String| -> Result<Ctx, AppError> {
        let raw = link.split_once('?').map_or("", |(_, q)| q);
        let q = BoardQuery::parse(Some(raw))?;
        let days = q.range.days(c.prepared.span());
        Ok(Ctx {
            user: c.user.clone(),
            q,
            chosen: c.chosen.clone(),
            prepared: c.prepared.clone(),
            days,
        })
    };
    for range in ["4w", "6m", "year"] {
        let link = c.q.link("/dashboard", &[("range", range)]);
        let ctx = at(link.clone())?;
        let preset = board(&ctx);
        out.push((
            key_of(&link),
            page("Dashboard", render_board(&ctx.q, &preset))?,
        ));
    }
    for kind in ["artists", "tracks"] {
        let link = c.q.link("/dashboard/ranking", &[("kind", kind)]);
        let ctx = at(link.clone())?;
        out.push((key_of(&link), page("Ranking", ranking_body(&ctx))?));
    }
    let plain = at("/dashboard/ranking".into())?;
    out.push((
        view_key("/dashboard/ranking", None),
        page("Ranking", ranking_body(&plain))?,
    ));
    for year in meta(&c).years {
        let link = c.q.link(
            &format!("/dashboard/recap/{year}"),
            &[("range", ""), ("from", ""), ("to", "")],
        );
        let ctx = at(link.clone())?;
        out.push((
            key_of(&link),
            page(&format!("{year} recap"), recap_body(&ctx, year))?,
        ));
    }
    for entry in b.tops.artists.iter().take(FINISHED_ARTISTS) {
        let link = c.q.link("/dashboard/artist", &[("name", &entry.name)]);
        let ctx = at(link.clone())?;
        let (title, body) = artist_body(&ctx)?;
        out.push((key_of(&link), page(&title, body)?));
    }
    Ok((c.user, out))
}

/// Computes a user's finished views when the worker says their data changed. Attached to the
/// web state it computes with once that exists ([`Precomputer::attach`]).
#[derive(Debug, Default)]
pub struct Precomputer {
    state: OnceLock<AppState>,
    /// The selection the last first views were computed from, until the views after them
    /// take it (one at a time: a worker ingests one upload at a time per task).
    ready: Mutex<Option<Ready>>,
}

impl Precomputer {
    /// Computes with `state` from now on.
    pub fn attach(&self, state: AppState) {
        let _ = self.state.set(state);
    }
}

#[async_trait::async_trait]
impl AfterChange for Precomputer {
    async fn user_changed(&self, user_id: &storage::ids::UserId) {
        let Some(state) = self.state.get() else {
            return;
        };
        let ready = self.ready.lock().expect("ready lock").take();
        if let Err(e) = precompute(state, user_id, ready).await {
            tracing::warn!(user = %user_id, error = %e, "storing the finished views failed");
        }
    }

    async fn first_views(&self, first: FirstViews) -> FirstViewsDone {
        let Some(state) = self.state.get() else {
            return FirstViewsDone::default();
        };
        let user = first.user.id.clone();
        match first_views(state, first).await {
            Ok((done, ready)) => {
                *self.ready.lock().expect("ready lock") = ready;
                done
            }
            Err(e) => {
                tracing::warn!(user = %user, error = %e, "computing the first views failed");
                FirstViewsDone::default()
            }
        }
    }
}

/// Plugs a [`Precomputer`] over `state` into its dependencies' hook: the workers of this
/// process (which share those dependencies) store each changed user's finished views.
pub fn precompute_after_changes(state: &AppState) {
    let p = std::sync::Arc::new(Precomputer::default());
    p.attach(state.clone());
    state.deps().after_change.set(p);
}
