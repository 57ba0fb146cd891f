//! The web tier's part in the worker's [`AfterChange`] hook: while an ingest writes a user's
//! artifact, their default dashboard is computed from it (`board::first_views`) and stored
//! with the upload's readiness; once the data changed, their other finished views are
//! (`board::precompute`), from the same preparation when there is one.

use std::sync::{Mutex, OnceLock};

use ingest_worker::{AfterChange, FirstViews, FirstViewsDone};

use crate::board::Ready;

use crate::AppState;

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
    async fn user_changed(&self, user_id: &str) {
        let Some(state) = self.state.get() else {
            return;
        };
        let ready = self.ready.lock().expect("ready lock").take();
        if let Err(e) = crate::board::precompute(state, user_id, ready).await {
            tracing::warn!(user = user_id, error = %e, "storing the finished views failed");
        }
    }

    async fn first_views(&self, first: FirstViews) -> FirstViewsDone {
        let Some(state) = self.state.get() else {
            return FirstViewsDone::default();
        };
        let user = first.user.id.clone();
        match crate::board::first_views(state, first).await {
            Ok((done, ready)) => {
                *self.ready.lock().expect("ready lock") = ready;
                done
            }
            Err(e) => {
                tracing::warn!(user, error = %e, "computing the first views failed");
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
