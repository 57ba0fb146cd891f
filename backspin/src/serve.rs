//! `backspin serve`: the web tier and the worker pool in one process, on the embedded default
//! unless configured otherwise.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ingest_worker::pool::{PoolStatus, PoolTiming};
use tokio::sync::watch;

use crate::config::{CognitoArgs, Storage};
use crate::pipeline::{init_logging, runtime, wait_for_signal};

/// `backspin serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    storage: Storage,
    /// Address to listen on.
    #[arg(long, env = "BACKSPIN_BIND", default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// E-mail addresses of administrators, comma-separated.
    #[arg(long, env = "BACKSPIN_ADMIN_EMAILS", value_delimiter = ',')]
    admin_emails: Vec<String>,
    /// Hours before an anonymous visitor's uploads are deleted.
    #[arg(long, env = "BACKSPIN_ANONYMOUS_TTL_HOURS", default_value_t = 24)]
    anonymous_ttl_hours: u64,
    /// Days a signed-in session lasts.
    #[arg(long, env = "BACKSPIN_SESSION_DAYS", default_value_t = 30)]
    session_days: u64,
    /// The site is served over HTTPS: mark cookies Secure.
    #[arg(long, env = "BACKSPIN_SECURE_COOKIES")]
    secure_cookies: bool,
    /// Behind a load balancer: take the client address from the last X-Forwarded-For hop.
    #[arg(long, env = "BACKSPIN_TRUST_FORWARDED_FOR")]
    trust_forwarded_for: bool,
    /// Key for CSRF tokens, at least 32 characters, the same on every instance (default: a
    /// random key kept in the data folder as `secret.key`).
    #[arg(long, env = "BACKSPIN_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// A folder of extra files served under /static/ (robots.txt, a favicon…).
    #[arg(long, env = "BACKSPIN_STATIC_DIR")]
    static_dir: Option<std::path::PathBuf>,
    /// MiB of prepared dashboards kept in memory, shared by all users (least recently used
    /// dropped first, one user at most a quarter); prepared dashboards are also dropped while
    /// the process's heap holds more than at start plus this.
    #[arg(long, env = "BACKSPIN_DASH_CACHE_MIB", default_value_t = 512)]
    dash_cache_mib: usize,
    /// Run no ingest workers in this process (they run elsewhere, e.g. `backspin worker`).
    #[arg(long, env = "BACKSPIN_NO_WORKERS")]
    no_workers: bool,
    /// On SIGTERM, answer `/readyz` with 503 for this many seconds while still serving, so
    /// that a load balancer checking it stops sending requests here before the process stops
    /// listening (a rolling restart without failed requests); 0 stops at once.
    #[arg(long, env = "BACKSPIN_DRAIN_SECS", default_value_t = 0)]
    drain_secs: u64,
    #[command(flatten)]
    quotas: QuotaArgs,
    #[command(flatten)]
    cognito: CognitoArgs,
}

/// What one visitor may store and send (README, "Limits").
#[derive(Debug, clap::Args)]
struct QuotaArgs {
    /// Uploads an account keeps.
    #[arg(long, env = "BACKSPIN_UPLOADS_PER_ACCOUNT", default_value_t = web::state::meter::Quotas::DEFAULT.uploads_per_account)]
    uploads_per_account: u32,
    /// MiB of uploads an account keeps.
    #[arg(long, env = "BACKSPIN_MIB_PER_ACCOUNT", default_value_t = web::state::meter::Quotas::DEFAULT.bytes_per_account >> 20)]
    mib_per_account: u64,
    /// Uploads a visitor without an account keeps.
    #[arg(long, env = "BACKSPIN_UPLOADS_PER_VISITOR", default_value_t = web::state::meter::Quotas::DEFAULT.uploads_per_visitor)]
    uploads_per_visitor: u32,
    /// MiB of uploads a visitor without an account keeps.
    #[arg(long, env = "BACKSPIN_MIB_PER_VISITOR", default_value_t = web::state::meter::Quotas::DEFAULT.bytes_per_visitor >> 20)]
    mib_per_visitor: u64,
    /// Uploads started from one client address, and by one account, per hour (each web
    /// instance counts its own).
    #[arg(long, env = "BACKSPIN_UPLOADS_PER_ADDRESS", default_value_t = web::state::meter::Quotas::DEFAULT.uploads_per_address)]
    uploads_per_address: u32,
    /// MiB uploaded from one client address, and by one account, per hour.
    #[arg(long, env = "BACKSPIN_MIB_PER_ADDRESS", default_value_t = web::state::meter::Quotas::DEFAULT.bytes_per_address >> 20)]
    mib_per_address: u64,
    /// MiB the data folder's disk keeps free: uploads that would leave less are refused.
    #[arg(long, env = "BACKSPIN_MIN_FREE_DISK_MIB", default_value_t = web::state::meter::Quotas::DEFAULT.min_free_disk_bytes >> 20)]
    min_free_disk_mib: u64,
}

impl QuotaArgs {
    fn quotas(&self) -> web::state::meter::Quotas {
        web::state::meter::Quotas {
            uploads_per_account: self.uploads_per_account,
            bytes_per_account: self.mib_per_account << 20,
            uploads_per_visitor: self.uploads_per_visitor,
            bytes_per_visitor: self.mib_per_visitor << 20,
            uploads_per_address: self.uploads_per_address,
            bytes_per_address: self.mib_per_address << 20,
            window: web::state::meter::Quotas::DEFAULT.window,
            min_free_disk_bytes: self.min_free_disk_mib << 20,
        }
    }
}

/// The CSRF key: given, or kept in the data folder (created once, readable by the owner only).
fn secret(given: Option<&str>, data_dir: &Path) -> Result<Vec<u8>> {
    if let Some(s) = given {
        if s.len() < 32 {
            bail!(
                "BACKSPIN_SECRET must be at least 32 characters, got {}",
                s.len()
            );
        }
        return Ok(s.as_bytes().to_vec());
    }
    let path = data_dir.join("secret.key");
    match std::fs::read(&path) {
        Ok(k) if k.len() >= 32 => return Ok(k),
        Ok(_) => bail!(
            "{}: the key is shorter than 32 bytes; delete it to make a new one",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    let key: [u8; 32] = rand::random();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    use std::io::Write;
    options
        .open(&path)
        .and_then(|mut f| f.write_all(&key))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(key.to_vec())
}

/// Runs the web tier (and, unless `--no-workers`, the worker pool) until SIGINT or SIGTERM.
pub fn serve(args: &ServeArgs) -> Result<ExitCode> {
    init_logging();
    runtime()?.block_on(async {
        let (deps, sdk) = args.storage.open_with_sdk().await?;
        let mut config =
            web::Config::with_secret(secret(args.secret.as_deref(), &args.storage.data_dir)?);
        config.admin_emails = args
            .admin_emails
            .iter()
            .map(|e| e.trim().to_lowercase())
            .filter(|e| !e.is_empty())
            .collect();
        config.anonymous_ttl = Duration::from_secs(args.anonymous_ttl_hours.max(1) * 3600);
        config.session_ttl = Duration::from_secs(args.session_days.max(1) * 24 * 3600);
        config.max_upload_bytes = args.storage.max_upload_bytes();
        config.secure_cookies = args.secure_cookies;
        config.trust_forwarded_for = args.trust_forwarded_for;
        config.static_dir = args.static_dir.clone();
        config.dash_cache_bytes = args.dash_cache_mib.max(1) << 20;
        config.quotas = args.quotas.quotas();
        config.upload_origin = args.storage.upload_origin(sdk.as_ref());
        config.idp = args.cognito.provider(&args.storage.aws, sdk).await?;
        let listener = tokio::net::TcpListener::bind(args.bind)
            .await
            .with_context(|| format!("BACKSPIN_BIND: cannot listen on {}", args.bind))?;
        let addr = listener.local_addr()?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let status = PoolStatus::default();
        let pool = (!args.no_workers).then(|| {
            tokio::spawn(ingest_worker::pool::run(
                deps.clone(),
                queue_config::ScalingPolicy::DEFAULT,
                PoolTiming::default(),
                stop_rx.clone(),
                status.clone(),
            ))
        });
        let state = web::AppState::new(deps, config, status);
        // This process's workers store each changed user's finished views.
        web::dashboards::precompute::precompute_after_changes(&state);
        println!(
            "Backspin is running at http://{addr}/  (data in {}; Ctrl-C stops it)",
            args.storage.data_dir.display()
        );
        let mut web_stop = stop_rx.clone();
        let (draining, drain) = (state.clone(), Duration::from_secs(args.drain_secs));
        tokio::spawn(async move {
            wait_for_signal().await;
            if !drain.is_zero() {
                tracing::info!(
                    seconds = drain.as_secs(),
                    "draining: /readyz says 503, requests still served"
                );
                draining.drain();
                tokio::time::sleep(drain).await;
            }
            tracing::info!("stopping: finishing requests and the uploads in hand");
            let _ = stop_tx.send(true);
        });
        web::serve(state, listener, async move {
            let _ = web_stop.wait_for(|s| *s).await;
        })
        .await
        .context("serving HTTP")?;
        if let Some(p) = pool {
            let _ = p.await;
        }
        Ok(ExitCode::SUCCESS)
    })
}
