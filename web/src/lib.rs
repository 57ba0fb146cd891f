#![doc = include_str!("../README.md")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::get;
use ingest_worker::Deps;
use ingest_worker::pool::PoolStatus;
use tokio::net::TcpListener;

pub mod actions;
mod admin;
pub mod api;
pub mod assets;
pub mod auth;
pub mod board;
pub mod charts;
pub mod dash;
pub mod dashboard;
pub mod error;
mod export;
pub mod hiding;
pub mod ledger;
pub use accounts::idp;
mod idp_accounts;
pub mod idp_tokens;
pub mod metrics;
mod ops;
pub mod pages;
pub mod quota;
pub mod security;
pub mod session;
pub mod shares;
pub mod stories;
pub mod view;
pub mod views;
pub mod words;

/// The web tier's settings (the binary reads them from flags and environment).
#[derive(Clone)]
pub struct Config {
    /// Key for CSRF tokens (at least 32 random bytes; the same on every instance).
    pub secret: Vec<u8>,
    /// E-mail addresses of administrators.
    pub admin_emails: Vec<String>,
    /// How long an anonymous visitor's uploads live.
    pub anonymous_ttl: Duration,
    /// How long a signed-in session lives.
    pub session_ttl: Duration,
    /// Largest upload accepted, in bytes.
    pub max_upload_bytes: u64,
    /// Longest time a request other than an upload may take.
    pub request_timeout: Duration,
    /// Longest time an upload may take.
    pub upload_timeout: Duration,
    /// Cookies marked `Secure` (the site is served over HTTPS). Requests that arrive with
    /// `X-Forwarded-Proto: https` get them too.
    pub secure_cookies: bool,
    /// Take the client address from the last `X-Forwarded-For` hop (behind a load balancer).
    pub trust_forwarded_for: bool,
    /// Password hashing cost.
    pub argon2: auth::HashParams,
    /// Sign-in attempts allowed per account and per address.
    pub sign_in_limits: auth::Limits,
    /// A folder of extra files served under `/static/` (the built-in ones take precedence).
    pub static_dir: Option<std::path::PathBuf>,
    /// Where browsers post files straight to the object store (S3's origin), when the store
    /// issues presigned forms: the upload form then sends files there, and the CSP allows it.
    pub upload_origin: Option<String>,
    /// Accounts held by an external identity provider (Cognito) instead of local passwords.
    pub idp: Option<std::sync::Arc<dyn idp::IdentityProvider>>,
    /// Bytes of prepared dashboards kept in memory, shared by all users.
    pub dash_cache_bytes: usize,
    /// What one visitor may store and send.
    pub quotas: quota::Quotas,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("secret", &"<redacted>")
            .field("admin_emails", &self.admin_emails)
            .field("anonymous_ttl", &self.anonymous_ttl)
            .field("session_ttl", &self.session_ttl)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("request_timeout", &self.request_timeout)
            .field("upload_timeout", &self.upload_timeout)
            .field("secure_cookies", &self.secure_cookies)
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .field("argon2", &self.argon2)
            .field("sign_in_limits", &self.sign_in_limits)
            .field("static_dir", &self.static_dir)
            .field("upload_origin", &self.upload_origin)
            .field("idp", &self.idp)
            .field("dash_cache_bytes", &self.dash_cache_bytes)
            .field("quotas", &self.quotas)
            .finish()
    }
}

impl Config {
    /// The defaults with a given secret.
    pub fn with_secret(secret: Vec<u8>) -> Config {
        Config {
            secret,
            admin_emails: Vec::new(),
            anonymous_ttl: Duration::from_secs(24 * 3600),
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            max_upload_bytes: 1 << 30,
            request_timeout: Duration::from_secs(30),
            upload_timeout: Duration::from_secs(3600),
            secure_cookies: false,
            trust_forwarded_for: false,
            argon2: auth::HashParams::RECOMMENDED,
            sign_in_limits: auth::Limits::DEFAULT,
            quotas: quota::Quotas::DEFAULT,
            static_dir: None,
            upload_origin: None,
            idp: None,
            dash_cache_bytes: dash::DEFAULT_BUDGET,
        }
    }
}

/// Everything a request handler can reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    deps: Deps,
    config: Config,
    pool: PoolStatus,
    limiter: auth::RateLimiter,
    meter: quota::UploadMeter,
    csp: axum::http::HeaderValue,
    metrics: metrics::Metrics,
    dash: dash::DashCache,
    finished: dash::FinishedCache,
    draining: std::sync::atomic::AtomicBool,
}

impl AppState {
    /// State over the pipeline's dependencies; `pool` is the status of the worker pool that
    /// runs beside the web tier (or a default one when workers run elsewhere).
    pub fn new(deps: Deps, config: Config, pool: PoolStatus) -> AppState {
        let limiter = auth::RateLimiter::new(config.sign_in_limits);
        let meter = quota::UploadMeter::new(config.quotas);
        let csp = security::csp(config.upload_origin.as_deref());
        let dash = dash::DashCache::new(config.dash_cache_bytes);
        // Finished views are a few hundred KB a user: an eighth of the dashboards' memory.
        let finished = dash::FinishedCache::new(config.dash_cache_bytes / 8);
        AppState {
            inner: Arc::new(Inner {
                csp,
                deps,
                config,
                pool,
                limiter,
                meter,
                metrics: metrics::Metrics::default(),
                dash,
                finished,
                draining: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// From now on `/readyz` answers 503 (`draining`), so that a load balancer stops sending
    /// new requests here while the ones in flight, and any still arriving, are served; the
    /// process stops once the balancer has noticed (`backspin serve --drain-secs`).
    pub fn drain(&self) {
        self.inner
            .draining
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether [`AppState::drain`] was called.
    pub fn is_draining(&self) -> bool {
        self.inner
            .draining
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The Content-Security-Policy every response carries.
    pub fn csp(&self) -> &axum::http::HeaderValue {
        &self.inner.csp
    }

    /// The pipeline's dependencies.
    pub fn deps(&self) -> &Deps {
        &self.inner.deps
    }

    /// The database.
    pub fn db(&self) -> &storage::Db {
        &self.inner.deps.db
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The worker pool's status.
    pub fn pool(&self) -> &PoolStatus {
        &self.inner.pool
    }

    /// The identity provider that holds the accounts, when they are not local.
    pub fn idp(&self) -> Option<&dyn idp::IdentityProvider> {
        self.inner.config.idp.as_deref()
    }

    /// The sign-in rate limiter.
    pub fn limiter(&self) -> &auth::RateLimiter {
        &self.inner.limiter
    }

    /// The upload counters per address.
    pub fn meter(&self) -> &quota::UploadMeter {
        &self.inner.meter
    }

    /// Finished views read from the database, in memory.
    pub fn finished(&self) -> &dash::FinishedCache {
        &self.inner.finished
    }

    /// Prepared dashboards in memory.
    pub fn dash(&self) -> &dash::DashCache {
        &self.inner.dash
    }

    /// Request and event counters.
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    /// Whether a user is an administrator (marked in the database or named by configuration).
    pub fn is_admin(&self, user: &storage::users::User) -> bool {
        user.is_admin
            || user.email.as_deref().is_some_and(|e| {
                self.inner
                    .config
                    .admin_emails
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(e))
            })
    }
}

/// Largest request body other than an upload (forms and JSON).
pub const SMALL_BODY: usize = 64 * 1024;

/// The whole application: pages, API, health, static files, with sessions, CSRF checks,
/// security headers, body limits, timeouts and metrics around every route.
pub fn router(state: AppState) -> Router {
    let max_upload = usize::try_from(state.config().max_upload_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(SMALL_BODY);
    Router::new()
        .merge(pages::routes(max_upload))
        .nest("/api/v1", api::routes(max_upload))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/static/{file}", get(assets::serve))
        .fallback(pages::not_found)
        .layer(DefaultBodyLimit::max(SMALL_BODY))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::csrf_guard,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            pages::errors_know_the_visitor,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::load_session,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::timeout,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::count_requests,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::headers,
        ))
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(state)
}

/// Serves the application on `listener` until `shutdown` resolves, then finishes the requests
/// in flight.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
