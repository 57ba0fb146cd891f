//! The one typed configuration, read once at start-up from flags and environment variables
//! (`--help` lists every setting with its variable). Errors name the setting.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use ingest_worker::Deps;
use ingest_worker::notify::LogNotifier;
use storage::Db;
use storage::objects::LocalDir;
use storage::queue::TableQueue;

/// Where Backspin keeps its data.
#[derive(Debug, Clone, clap::Args)]
pub struct Storage {
    /// Folder for the embedded database and uploaded files.
    #[arg(long, env = "BACKSPIN_DATA_DIR", default_value = "./backspin-data")]
    pub data_dir: PathBuf,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB (default: SQLite in the data folder).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Largest upload accepted, in MiB (a lifetime export zip is a few hundred MiB).
    #[arg(long, env = "BACKSPIN_MAX_UPLOAD_MIB", default_value_t = 1024)]
    pub max_upload_mib: u64,
    /// Seconds a received queue message stays hidden from other workers; a worker that dies
    /// mid-ingest gives its upload back after this long. Busy workers extend it well before
    /// it lapses.
    #[arg(
        long,
        env = "BACKSPIN_VISIBILITY_TIMEOUT_SECS",
        default_value_t = queue_config::QueueSettings::DEFAULT.visibility_timeout.as_secs()
    )]
    pub visibility_timeout_secs: u64,
}

/// The queue's name in the table queue.
pub const QUEUE: &str = "ingest";

impl Storage {
    /// The database URL in force.
    pub fn url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("backspin.db").display()))
    }

    /// Upload size limit in bytes.
    pub fn max_upload_bytes(&self) -> u64 {
        self.max_upload_mib << 20
    }

    /// The queue settings in force: the defaults with the visibility timeout given, and the
    /// heartbeat kept under half of it.
    pub fn queue_settings(&self) -> Result<queue_config::QueueSettings> {
        let default = queue_config::QueueSettings::DEFAULT;
        let visibility_timeout = Duration::from_secs(self.visibility_timeout_secs);
        if visibility_timeout.is_zero() {
            bail!("BACKSPIN_VISIBILITY_TIMEOUT_SECS must be at least 1 second, got 0");
        }
        let settings = queue_config::QueueSettings {
            visibility_timeout,
            // Four extensions per timeout, as the defaults have (30 s of 120 s).
            heartbeat_every: default.heartbeat_every.min(visibility_timeout / 4),
            ..default
        };
        settings
            .validate()
            .map_err(|e| anyhow!("BACKSPIN_VISIBILITY_TIMEOUT_SECS: {e}"))?;
        Ok(settings)
    }

    /// Opens the database (applying migrations) and builds the worker's dependencies.
    pub async fn open(&self) -> Result<Deps> {
        let settings = self.queue_settings()?;
        std::fs::create_dir_all(&self.data_dir).with_context(|| {
            format!(
                "BACKSPIN_DATA_DIR {}: cannot create the folder",
                self.data_dir.display()
            )
        })?;
        let url = self.url();
        let db = Db::connect(&url)
            .await
            .with_context(|| format!("DATABASE_URL: cannot connect to {}", redact(&url)))?;
        db.migrate().await.context("applying database migrations")?;
        let store = LocalDir::new(self.data_dir.join("objects")).with_context(|| {
            format!(
                "BACKSPIN_DATA_DIR {}: cannot create the objects folder",
                self.data_dir.display()
            )
        })?;
        Ok(Deps {
            queue: Arc::new(TableQueue::new(db.clone(), QUEUE, settings.max_receives)),
            store: Arc::new(store),
            notifier: Arc::new(LogNotifier),
            db,
            settings,
            limits: schema::Limits::default(),
        })
    }
}

/// A URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
