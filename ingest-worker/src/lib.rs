#![doc = include_str!("../README.md")]

use std::sync::Arc;

use storage::Db;
use storage::objects::ObjectStore;
use storage::queue::Queue;

pub mod artifact;
pub mod failure;
pub mod lifecycle;
pub mod notify;
pub mod pool;
pub mod process;
pub mod recover;
pub mod scrub;

/// What a worker works with. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Deps {
    /// The database.
    pub db: Db,
    /// Where uploads are stored.
    pub store: Arc<dyn ObjectStore>,
    /// Where events arrive.
    pub queue: Arc<dyn Queue>,
    /// Who hears about poison files and dead letters.
    pub notifier: Arc<dyn notify::Notifier>,
    /// Queue settings (visibility, heartbeat, batch, wait).
    pub settings: queue_config::QueueSettings,
    /// Parser limits.
    pub limits: schema::Limits,
    /// Largest upload accepted, in bytes. Uploads through the web tier are cut off there;
    /// files a browser posted straight to S3 are checked again by the worker.
    pub max_upload_bytes: u64,
    /// What runs once a user's data changed (the web tier's finished views).
    pub after_change: AfterChangeHook,
}

/// Work to do once a user's artifact was rewritten and committed: the web tier computes the
/// user's finished default views there, so that any instance serves them at once.
#[async_trait::async_trait]
pub trait AfterChange: Send + Sync + std::fmt::Debug {
    /// Called with the user whose data just changed. Failures are the implementation's to log:
    /// the views are an optimisation, the data is committed.
    async fn user_changed(&self, user_id: &storage::ids::UserId);

    /// The views the user opens first (name and stored text, as `storage::views` keeps
    /// them), computed from their artifact in memory while an ingest writes it: the worker
    /// stores them in the transaction that marks the upload ready, so they are there the
    /// moment it is. None by default; failures are the implementation's to log.
    async fn first_views(&self, first: FirstViews) -> FirstViewsDone {
        let _ = first;
        FirstViewsDone::default()
    }
}

/// What [`AfterChange::first_views`] computed.
#[derive(Debug, Default)]
pub struct FirstViewsDone {
    /// The views, as (name, stored text).
    pub views: Vec<(String, String)>,
}

/// What [`AfterChange::first_views`] computes from: the user and their uploads as they are once
/// the ingest commits, and their streams (the artifact being written, or the upload's plays).
#[derive(Debug)]
pub struct FirstViews {
    /// The owner, with the data version the artifact will have.
    pub user: storage::users::User,
    /// Their uploads, the one being ingested counted ready.
    pub uploads: Vec<storage::uploads::Upload>,
    /// The upload being ingested.
    pub upload: storage::ids::UploadId,
    /// The streams to compute them from.
    pub streams: FirstStreams,
    /// Where to send the selection as soon as it is prepared, when the worker asks (the
    /// artifact holds the ingested upload alone) and it is exactly the upload's streams
    /// (nothing hidden): its all-time stats are the upload's, and the worker reads the
    /// upload's summary off them while the views are drawn, instead of building them twice.
    /// Dropped unsent otherwise.
    pub upload_alone: Option<tokio::sync::oneshot::Sender<Arc<engine::Prepared>>>,
}

/// The streams [`FirstViews`] are computed from.
#[derive(Debug, Clone)]
pub enum FirstStreams {
    /// The owner's artifact as the ingest writes it.
    Artifact(Arc<schema::Artifact>),
    /// The ingested upload's deduplicated plays, when the owner has no other streams: the
    /// artifact being built holds exactly these, so the views need not wait for it.
    Upload(Arc<schema::Library>),
}

impl FirstStreams {
    /// How many streams there are.
    pub fn len(&self) -> usize {
        match self {
            FirstStreams::Artifact(a) => a.plays.len(),
            FirstStreams::Upload(lib) => lib.plays.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The streams counting for a selection of the owner's uploads, with their names; `None`
    /// when these streams cannot say (the upload's own plays, asked for another selection).
    pub fn select(
        &self,
        selection: &[&str],
        upload: &str,
    ) -> Option<(Vec<schema::Play>, schema::Strings)> {
        match self {
            FirstStreams::Artifact(a) => Some((a.select(selection), a.strings.clone())),
            FirstStreams::Upload(lib) => {
                (selection == [upload]).then(|| (lib.plays.clone(), lib.strings.clone()))
            }
        }
    }
}

/// Where [`AfterChange`] is plugged in, once the web tier exists (after the [`Deps`] it is
/// built from): every clone of the dependencies sees it.
#[derive(Debug, Clone, Default)]
pub struct AfterChangeHook(Arc<std::sync::OnceLock<Arc<dyn AfterChange>>>);

impl AfterChangeHook {
    /// Plugs `hook` in; a second call changes nothing.
    pub fn set(&self, hook: Arc<dyn AfterChange>) {
        let _ = self.0.set(hook);
    }

    /// Runs the hook for `user_id`, when one is plugged in.
    pub async fn run(&self, user_id: &storage::ids::UserId) {
        if let Some(hook) = self.0.get() {
            hook.user_changed(user_id).await;
        }
    }

    /// The hook's first views, when one is plugged in.
    pub async fn first_views(&self, first: FirstViews) -> FirstViewsDone {
        match self.0.get() {
            Some(hook) => hook.first_views(first).await,
            None => FirstViewsDone::default(),
        }
    }
}
