//! The web tier's part in the worker's [`AfterChange`] hook: once a user's data changed, their
//! finished default views are computed (`board::precompute`) and stored for every instance.

use std::sync::OnceLock;

use ingest_worker::AfterChange;

use crate::AppState;

/// Computes a user's finished views when the worker says their data changed. Attached to the
/// web state it computes with once that exists ([`Precomputer::attach`]).
#[derive(Debug, Default)]
pub struct Precomputer {
    state: OnceLock<AppState>,
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
        if let Err(e) = crate::board::precompute(state, user_id).await {
            tracing::warn!(user = user_id, error = %e, "storing the finished views failed");
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
