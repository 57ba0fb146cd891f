#![doc = include_str!("../README.md")]

use std::sync::Arc;

use storage::Db;
use storage::objects::ObjectStore;
use storage::queue::Queue;

pub mod lifecycle;
pub mod notify;
pub mod pool;
pub mod process;
pub mod regions;
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
}
