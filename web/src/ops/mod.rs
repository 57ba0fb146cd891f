//! What runs the site rather than what it offers: health, readiness and metrics for load
//! balancers, orchestrators and Prometheus (with the middleware that counts requests), and
//! the static files.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;

use axum::middleware::Next;
use axum::routing::get;

use crate::error::{AppError, PageError};
use crate::state::AppState;
use crate::ui::assets::{FILES, content_type};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Health, readiness and metrics, described in the API document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// The static files (not part of the API).
pub fn pages() -> Router<AppState> {
    Router::new().route("/static/{file}", get(static_file))
}

/// `GET /healthz`: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "getHealth",
    tag = "ops",
    summary = "Liveness: the process answers",
    responses(
        (status = 200, description = "Alive.", body = String, content_type = "text/plain"),
    ),
    security(),
)]
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// What `/readyz` found.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// Every dependency answered.
    pub ready: bool,
    /// `"ok"` or what failed.
    pub database: String,
    /// `"ok"` or what failed.
    pub store: String,
    /// `"ok"` or what failed.
    pub queue: String,
    /// The process is about to stop (a rolling restart): it still serves, but takes no new
    /// traffic from a load balancer that checks this.
    pub draining: bool,
}

fn status<E: std::fmt::Display>(r: Result<(), E>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => e.to_string(),
    }
}

/// `"ok"`, what failed, or that it did not answer within the deadline.
async fn within<E: std::fmt::Display>(
    check: impl std::future::Future<Output = Result<(), E>>,
) -> String {
    match tokio::time::timeout(storage::Db::DEADLINE, check).await {
        Ok(r) => status(r),
        Err(_) => format!("no answer within {} s", storage::Db::DEADLINE.as_secs()),
    }
}

/// `GET /readyz`: the database, the object store and the queue are reachable (503 if not).
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "getReadiness",
    tag = "ops",
    summary = "Readiness: database, object store and queue reachable",
    responses(
        (status = 200, description = "Ready.", body = Readiness),
        (status = 503, description = "Not ready: the fields say what failed.", body = Readiness),
    ),
    security(),
)]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let deps = state.deps();
    // Each check within the database's deadline: a dependency that does not answer is not
    // ready, and the probe gets its answer at once.
    let (database, store, queue) = tokio::join!(
        within(deps.db.ping()),
        within(deps.store.ping()),
        within(async { deps.queue.depth().await.map(|_| ()) }),
    );
    let r = Readiness {
        database,
        store,
        queue,
        ready: false,
        draining: state.is_draining(),
    };
    let ready = r.database == "ok" && r.store == "ok" && r.queue == "ok" && !r.draining;
    let code = if ready {
        StatusCode::OK
    } else {
        tracing::warn!(database = %r.database, store = %r.store, queue = %r.queue, "not ready");
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(Readiness { ready, ..r }))
}

/// `GET /metrics`: counters of this process, the worker pool, the queue and upload states.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "getMetrics",
    tag = "ops",
    summary = "Prometheus metrics",
    responses(
        (status = 200, description = "Counters and gauges in Prometheus' text format 0.0.4.", body = String, content_type = "text/plain"),
    ),
    security(),
)]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    state.metrics().render(&mut out);
    let gauge = |out: &mut String, name: &str, help: &str, v: u64| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
    };
    let pool = state.pool();
    gauge(
        &mut out,
        "backspin_workers",
        "Ingest workers running in this process.",
        u64::from(pool.workers.load(Ordering::Relaxed)),
    );
    gauge(
        &mut out,
        "backspin_workers_busy",
        "Messages being ingested in this process.",
        pool.busy.load(Ordering::Relaxed),
    );
    let up = |ok: bool| u64::from(ok);
    match state.deps().queue.depth().await {
        Ok(d) => {
            gauge(
                &mut out,
                "backspin_queue_visible",
                "Messages waiting in the ingest queue.",
                d.visible,
            );
            gauge(
                &mut out,
                "backspin_queue_in_flight",
                "Messages received and not yet acknowledged.",
                d.in_flight,
            );
            gauge(
                &mut out,
                "backspin_queue_dead",
                "Messages in the dead-letter queue.",
                d.dead,
            );
            gauge(
                &mut out,
                "backspin_queue_up",
                "Whether the queue answered.",
                up(true),
            );
        }
        Err(_) => gauge(
            &mut out,
            "backspin_queue_up",
            "Whether the queue answered.",
            up(false),
        ),
    }
    match storage::uploads::count_by_state(state.db(), None).await {
        Ok(counts) => {
            out.push_str(
                "# HELP backspin_uploads Uploads by state.\n# TYPE backspin_uploads gauge\n",
            );
            for (s, n) in counts {
                let _ = writeln!(out, "backspin_uploads{{state=\"{}\"}} {n}", s.as_str());
            }
            gauge(
                &mut out,
                "backspin_database_up",
                "Whether the database answered.",
                up(true),
            );
        }
        Err(_) => gauge(
            &mut out,
            "backspin_database_up",
            "Whether the database answered.",
            up(false),
        ),
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}

/// `GET /static/{file}`: a built-in file, else one from the configured folder.
pub async fn static_file(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let extra = state
        .config()
        .static_dir
        .as_ref()
        .filter(|_| !file.starts_with('.') && !file.contains(['/', '\\']) && !file.is_empty());
    if let (None, Some(dir)) = (FILES.iter().find(|(name, _, _)| *name == file), extra)
        && let Ok(bytes) = tokio::fs::read(dir.join(&file)).await
    {
        return (
            [
                (header::CONTENT_TYPE, content_type(&file)),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            bytes,
        )
            .into_response();
    }
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            *body,
        )
            .into_response(),
        None => PageError(AppError::NotFound).into_response(),
    }
}

/// Middleware: counts each request by its route pattern (never the raw path, which holds ids).
pub async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let method = req.method().as_str().to_string();
    let r = next.run(req).await;
    *state
        .metrics()
        .requests
        .lock()
        .expect("metrics lock")
        .entry((route, method, r.status().as_u16()))
        .or_default() += 1;
    r
}
