//! The pipeline's commands: `migrate`, `worker`, `import`, `reingest`, `recover`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ingest_worker::Deps;
use ingest_worker::pool::{PoolStatus, PoolTiming};
use queue_config::ScalingPolicy;
use storage::uploads::{self, Selection, State, Upload};
use tokio::sync::watch;

use crate::config::Storage;

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// `backspin migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    storage: Storage,
}

/// Applies pending migrations.
pub fn migrate(args: &MigrateArgs) -> Result<ExitCode> {
    runtime()?.block_on(async {
        let url = args.storage.url();
        let db = storage::Db::connect(&url).await.with_context(|| {
            format!(
                "DATABASE_URL: cannot connect to {}",
                crate::config::redact(&url)
            )
        })?;
        let (applied, carried) = ingest_worker::artifact::migrate(&db)
            .await
            .context("applying migrations")?;
        if carried > 0 {
            println!("carried the play rows of {carried} users over into their artifacts");
        }
        if applied.is_empty() {
            println!("database is up to date");
        } else {
            println!("applied migrations {applied:?}");
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `backspin worker`.
#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    storage: Storage,
    /// Most workers this process runs at once (the scaling policy's maximum; 1 turns scaling off).
    #[arg(long, env = "BACKSPIN_MAX_WORKERS", default_value_t = ScalingPolicy::DEFAULT.max_workers)]
    max_workers: u32,
    /// Seconds from any scaling activity to the pool's next scale-in (the policy's cooldown).
    #[arg(
        long,
        env = "BACKSPIN_SCALE_IN_COOLDOWN_SECS",
        default_value_t = ScalingPolicy::DEFAULT.scale_in_cooldown.as_secs()
    )]
    scale_in_cooldown_secs: u64,
}

impl WorkerArgs {
    /// The embedded pool's policy with this process's bounds; errors name the setting.
    fn policy(&self) -> Result<ScalingPolicy> {
        let policy = ScalingPolicy {
            max_workers: self.max_workers,
            min_workers: ScalingPolicy::DEFAULT.min_workers.min(self.max_workers),
            scale_in_cooldown: Duration::from_secs(self.scale_in_cooldown_secs),
            ..ScalingPolicy::DEFAULT
        };
        policy
            .validate()
            .map_err(|e| anyhow::anyhow!("BACKSPIN_MAX_WORKERS: {e}"))?;
        Ok(policy)
    }
}

/// Consumes the queue with an autoscaled pool until SIGINT or SIGTERM; the messages in hand
/// are finished first.
pub fn worker(args: &WorkerArgs) -> Result<ExitCode> {
    init_logging();
    let policy = args.policy()?;
    runtime()?.block_on(async {
        let deps = args.storage.open().await?;
        // The worker stores each changed user's finished views, computed by the web tier's own
        // code (its state here serves no requests: a throwaway key for its unused CSRF).
        let views = web::AppState::new(
            deps.clone(),
            web::Config::with_secret(rand::random::<[u8; 32]>().to_vec()),
            PoolStatus::default(),
        );
        web::dashboards::precompute::precompute_after_changes(&views);
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("stopping: finishing the messages in hand");
            let _ = tx.send(true);
        });
        ingest_worker::pool::run(
            deps,
            policy,
            PoolTiming::default(),
            rx,
            PoolStatus::default(),
        )
        .await;
        Ok(ExitCode::SUCCESS)
    })
}

/// Resolves on SIGINT or SIGTERM.
pub async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// How a command that queues uploads waits for them.
#[derive(Debug, Clone, clap::Args)]
pub struct Wait {
    /// Process the queued uploads in this process (with the worker pool) while waiting.
    #[arg(long)]
    work: bool,
    /// Return as soon as the uploads are queued.
    #[arg(long, conflicts_with = "work")]
    no_wait: bool,
}

/// `backspin import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    storage: Storage,
    /// The account the files belong to (created when missing).
    #[arg(long)]
    user: String,
    #[command(flatten)]
    wait: Wait,
    /// Files to import (JSON files or my_spotify_data.zip).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// Stores files for a user through the same path an upload takes.
pub fn import(args: &ImportArgs) -> Result<ExitCode> {
    init_logging();
    runtime()?.block_on(async {
        let deps = args.storage.open().await?;
        let (mut files, mut skipped) = (Vec::new(), Vec::new());
        for p in &args.paths {
            crate::paths::collect(p, true, &mut files, &mut skipped)
                .with_context(|| format!("{}", p.display()))?;
        }
        for p in &skipped {
            eprintln!("skipping {} (neither JSON nor a zip)", p.display());
        }
        let user = storage::users::ensure_by_email(&deps.db, &args.user).await?;
        let mut queued = Vec::new();
        for path in &files {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "upload".into());
            let mut file = tokio::fs::File::open(path)
                .await
                .with_context(|| format!("{}", path.display()))?;
            let upload = ingest_worker::lifecycle::submit(
                &deps,
                &user.id,
                &name,
                &mut file,
                args.storage.max_upload_bytes(),
                None,
            )
            .await
            .with_context(|| format!("{}", path.display()))?;
            println!("queued {} as upload {}", path.display(), upload.id);
            queued.push(upload);
        }
        follow(&deps, &queued, &args.wait).await
    })
}

/// `backspin reingest`.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("which").required(true))]
pub struct ReingestArgs {
    #[command(flatten)]
    storage: Storage,
    /// Every upload.
    #[arg(long, group = "which")]
    all: bool,
    /// One user's uploads (by e-mail).
    #[arg(long, group = "which")]
    user: Option<String>,
    /// One upload (by id).
    #[arg(long, group = "which")]
    upload: Option<String>,
    /// Uploads produced by a parser older than this version.
    #[arg(long, group = "which")]
    parser_older_than: Option<i32>,
    #[command(flatten)]
    wait: Wait,
}

/// Queues existing uploads again and shows their progress.
pub fn reingest(args: &ReingestArgs) -> Result<ExitCode> {
    init_logging();
    runtime()?.block_on(async {
        let deps = args.storage.open().await?;
        let selection = if args.all {
            Selection::All
        } else if let Some(email) = &args.user {
            let Some(u) = storage::users::by_email(&deps.db, email).await? else {
                bail!("--user {email}: no such user")
            };
            Selection::User(u.id)
        } else if let Some(id) = &args.upload {
            let Some(id) = storage::ids::UploadId::parse(id) else {
                bail!("--upload {id}: not an upload id (32 hex digits)")
            };
            Selection::Upload(id)
        } else {
            Selection::ParserOlderThan(
                args.parser_older_than
                    .unwrap_or(ingest_worker::process::PARSER_VERSION),
            )
        };
        let queued = ingest_worker::lifecycle::reingest(&deps, &selection)
            .await
            .map_err(anyhow::Error::msg)?;
        println!("queued {} uploads for re-ingestion", queued.len());
        follow(&deps, &queued, &args.wait).await
    })
}

/// `backspin recover`.
#[derive(Debug, clap::Args)]
pub struct RecoverArgs {
    #[command(flatten)]
    storage: Storage,
    /// Print what was done as one JSON object (on stdout) instead of in words.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    wait: Wait,
}

/// After a restore from a backup: makes the database agree with the object store (rows
/// recreated for the uploads that arrived since, deleted for those deleted since, queued
/// again for those the backup caught in flight), prints what it did and what it could not
/// recover, and follows the queued uploads.
pub fn recover(args: &RecoverArgs) -> Result<ExitCode> {
    init_logging();
    runtime()?.block_on(async {
        let deps = args.storage.open().await?;
        let report = ingest_worker::recover::recover(&deps)
            .await
            .map_err(anyhow::Error::msg)?;
        if args.json {
            let value = serde_json::json!({
                "objects": report.objects,
                "recreated": report.recreated,
                "requeued": report.requeued,
                "repointed": report.repointed,
                "deleted": report.deleted,
                "owner_unknown": report.owner_unknown,
                "unrecognised": report.unrecognised,
            });
            println!("{value}");
        } else {
            println!("uploads in the object store: {}", report.objects);
            println!(
                "recreated and queued (arrived after the backup): {}",
                report.recreated.len()
            );
            println!(
                "queued again (queued or ingesting in the backup): {}",
                report.requeued.len()
            );
            println!(
                "pointed at their scrubbed copy (scrubbed after the backup): {}",
                report.repointed.len()
            );
            println!(
                "deleted (their object is gone: deleted after the backup): {}",
                report.deleted.len()
            );
            println!(
                "not recovered, kept in the store: {} objects whose owner is not in the database \
                 (signed up after the backup: they must sign up again)",
                report.owner_unknown.len()
            );
            for key in &report.owner_unknown {
                println!("  {key}");
            }
            if !report.unrecognised.is_empty() {
                println!(
                    "left alone: {} objects that are not an upload's",
                    report.unrecognised.len()
                );
            }
        }
        let mut queued = Vec::new();
        for id in report.recreated.iter().chain(&report.requeued) {
            if let Some(u) = uploads::by_id(&deps.db, id).await? {
                queued.push(u);
            }
        }
        follow(&deps, &queued, &args.wait).await
    })
}

/// Shows progress until every upload is ready or failed (optionally working the queue here).
async fn follow(deps: &Deps, queued: &[Upload], wait: &Wait) -> Result<ExitCode> {
    if wait.no_wait || queued.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let pool = wait.work.then(|| {
        let deps = deps.clone();
        tokio::spawn(ingest_worker::pool::run(
            deps,
            queue_config::ScalingPolicy::DEFAULT,
            PoolTiming::default(),
            stop_rx,
            PoolStatus::default(),
        ))
    });
    if !wait.work {
        eprintln!(
            "waiting for workers (`backspin worker` or `backspin serve`; or rerun with --work)"
        );
    }
    let mut last = String::new();
    let (ready, failed) = loop {
        let (mut ready, mut failed) = (0, 0);
        for u in queued {
            match uploads::by_id(&deps.db, &u.id).await?.map(|u| u.state) {
                Some(State::Ready) => ready += 1,
                Some(State::Failed) | None => failed += 1,
                _ => {}
            }
        }
        let line = format!(
            "{ready} ready, {failed} failed, {} to go (of {})",
            queued.len() - ready - failed,
            queued.len()
        );
        if line != last {
            eprintln!("{line}");
            last = line;
        }
        if ready + failed == queued.len() {
            break (ready, failed);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let _ = stop_tx.send(true);
    if let Some(p) = pool {
        let _ = p.await;
    }
    for u in queued {
        if let Some(u) = uploads::by_id(&deps.db, &u.id).await?
            && u.state == State::Failed
        {
            eprintln!(
                "{} ({}): {}",
                u.id,
                u.original_name,
                u.reason.unwrap_or_default()
            );
        }
    }
    eprintln!("done: {ready} ready, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
