//! The administrator's page: the queue, the workers, upload states, accounts and recent
//! failures, and re-ingesting uploads (administrators are marked in the database or named by
//! configuration).

pub mod pages;
pub mod views;

use axum::Router;
use axum::routing::{get, post};

use std::sync::atomic::Ordering;

use storage::uploads::Selection;

use crate::error::AppError;
use crate::model::AdminView;
use crate::state::AppState;

/// The administrator's pages.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/admin", get(pages::admin))
        .route("/admin/reingest", post(pages::reingest))
}

/// Queue, workers, upload states, accounts and recent failures.
pub async fn overview(state: &AppState) -> Result<AdminView, AppError> {
    let depth = state
        .deps()
        .queue
        .depth()
        .await
        .map_err(|e| AppError::Unavailable(e.to_string()))?;
    let states = storage::uploads::count_by_state(state.db(), None).await?;
    let failures = storage::uploads::recent_failures(state.db(), 20).await?;
    Ok(AdminView {
        queue_visible: depth.visible,
        queue_in_flight: depth.in_flight,
        queue_dead: depth.dead,
        workers: state.pool().workers.load(Ordering::Relaxed),
        busy: state.pool().busy.load(Ordering::Relaxed),
        states: states
            .into_iter()
            .map(|(s, n)| (s.as_str().to_string(), n))
            .collect(),
        users: storage::users::counts(state.db()).await?,
        failures: failures
            .into_iter()
            .map(|u| {
                (
                    u.id.to_string(),
                    u.original_name,
                    u.owner_id.to_string(),
                    u.reason.unwrap_or_default(),
                    crate::model::rfc3339(u.updated_ms),
                )
            })
            .collect(),
    })
}

/// Queues every upload (empty `email`) or one user's again; returns how many.
pub async fn reingest(state: &AppState, email: &str) -> Result<usize, AppError> {
    let selection = if email.trim().is_empty() {
        Selection::All
    } else {
        let user = storage::users::by_email(state.db(), email)
            .await?
            .ok_or_else(|| {
                AppError::Invalid(format!("No account has the e-mail “{}”.", email.trim()))
            })?;
        Selection::User(user.id)
    };
    let queued = ingest_worker::lifecycle::reingest(state.deps(), &selection)
        .await
        .map_err(AppError::Unavailable)?;
    tracing::info!(uploads = queued.len(), "re-ingestion queued by an admin");
    Ok(queued.len())
}
