//! The whole application: every feature's pages and JSON API, health, static files, and the
//! layers around every route (sessions, CSRF checks, security headers, body limits, timeouts,
//! metrics).

use std::net::SocketAddr;

use axum::extract::DefaultBodyLimit;
use axum::response::Response;
use axum::{Router, middleware};
use tokio::net::TcpListener;

use crate::error::{AppError, error_for};
use crate::state::{AppState, SMALL_BODY};

/// The whole application: pages, API, health, static files, with sessions, CSRF checks,
/// security headers, body limits, timeouts and metrics around every route.
pub fn router(state: AppState) -> Router {
    let max_upload = usize::try_from(state.config().max_upload_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(SMALL_BODY);
    let (documented, _) = crate::openapi::routes(max_upload).split_for_parts();
    Router::new()
        .merge(crate::uploads::pages(max_upload))
        .merge(crate::accounts::pages())
        .merge(crate::settings::pages())
        .merge(crate::dashboards::pages())
        .merge(crate::shares::pages())
        .merge(crate::admin::pages())
        .merge(crate::ops::pages())
        .merge(documented)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(SMALL_BODY))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::security::csrf_guard,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::session::errors_know_the_visitor,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::session::load_session,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::security::timeout,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::ops::count_requests,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::security::headers,
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

/// The 404 page (or JSON, under `/api/`) for unknown addresses.
async fn not_found(uri: axum::http::Uri) -> Response {
    error_for(uri.path(), AppError::NotFound)
}
