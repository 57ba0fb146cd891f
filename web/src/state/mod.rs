//! What a web process holds between requests: its settings, the caches of prepared and
//! finished dashboards, the sign-in and upload limiters and the counters, behind one cheap
//! handle ([`AppState`]) every handler receives. Handlers keep nothing else.

pub mod cache;
pub mod config;
pub mod limiter;
pub mod meter;
pub mod metrics;

use std::sync::Arc;

use ingest_worker::Deps;
use ingest_worker::pool::PoolStatus;

use ::accounts::idp;
pub use config::Config;

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
    limiter: limiter::RateLimiter,
    meter: meter::UploadMeter,
    csp: axum::http::HeaderValue,
    metrics: metrics::Metrics,
    dash: cache::DashCache,
    finished: cache::FinishedCache,
    draining: std::sync::atomic::AtomicBool,
}

impl AppState {
    /// State over the pipeline's dependencies; `pool` is the status of the worker pool that
    /// runs beside the web tier (or a default one when workers run elsewhere).
    pub fn new(deps: Deps, config: Config, pool: PoolStatus) -> AppState {
        let limiter = limiter::RateLimiter::new(config.sign_in_limits);
        let meter = meter::UploadMeter::new(config.quotas);
        let csp = config::csp(config.upload_origin.as_deref());
        let dash = cache::DashCache::new(config.dash_cache_bytes);
        // Finished views are a few hundred KB a user: an eighth of the dashboards' memory.
        let finished = cache::FinishedCache::new(config.dash_cache_bytes / 8);
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
    pub fn limiter(&self) -> &limiter::RateLimiter {
        &self.inner.limiter
    }

    /// The upload counters per address.
    pub fn meter(&self) -> &meter::UploadMeter {
        &self.inner.meter
    }

    /// Finished views read from the database, in memory.
    pub fn finished(&self) -> &cache::FinishedCache {
        &self.inner.finished
    }

    /// Prepared dashboards in memory.
    pub fn dash(&self) -> &cache::DashCache {
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
