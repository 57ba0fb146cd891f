//! Protections every route gets: security headers on each response, and a CSRF check on every
//! state change, so that no handler can forget one.
//!
//! A state-changing request (any method but GET, HEAD and OPTIONS) must carry the CSRF token
//! of its session: scripts send it in the `X-CSRF-Token` header (`GET /api/v1/session` gives
//! it), forms as the `_csrf` field, and the file form, whose body is streamed, as the first
//! field of its body (checked by its handler before it reads a file) or the `_csrf` query
//! parameter. Requests whose `Origin` is another site are refused before that.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{AppError, error_for};
use crate::session::{Visitor, csrf_matches};
use crate::state::{AppState, SMALL_BODY};

/// Middleware: security headers on every response; `no-store` on everything but static files
/// (pages and API answers hold personal data); over HTTPS, HSTS (a year, subdomains too), so
/// that a browser never again asks for the site over plain HTTP.
pub async fn headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let is_static = req.uri().path().starts_with("/static/");
    let https = crate::session::is_https(&state, req.headers());
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    h.insert(header::CONTENT_SECURITY_POLICY, state.csp().clone());
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // A page may ask for less (a shared view sends none).
    if !h.contains_key(header::REFERRER_POLICY) {
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    }
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !is_static && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

fn same_origin(req: &Request) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let origin = origin.to_str().unwrap_or("");
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .unwrap_or("\0");
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

fn query_token(req: &Request) -> Option<String> {
    req.uri().query().and_then(|q| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == "_csrf")
            .map(|(_, v)| v)
    })
}

/// Paths that answer GET alone (health, metrics, static files): nothing there changes state, so
/// any other method goes on to the router, which answers 405 with `Allow`.
fn read_only_path(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics") || path.starts_with("/static/")
}

/// Middleware: refuses state changes without their session's CSRF token or from another site.
pub async fn csrf_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || read_only_path(req.uri().path())
    {
        return next.run(req).await;
    }
    let path = req.uri().path().to_string();
    let refuse = |why: &str| error_for(&path, AppError::Forbidden(why.to_string()));
    if !same_origin(&req) {
        return refuse("This request came from another site and was refused.");
    }
    let Some(visitor) = req.extensions().get::<Visitor>().cloned() else {
        return refuse("No session.");
    };
    let secret = state.config().secret.clone();
    let ok = |t: &str| !visitor.fresh && csrf_matches(&secret, &visitor.token, t);
    let missing = TOKEN_MISSING;
    if let Some(t) = req.headers().get("x-csrf-token") {
        return if ok(t.to_str().unwrap_or("")) {
            next.run(req).await
        } else {
            refuse(missing)
        };
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let (parts, body) = req.into_parts();
        let bytes = match axum::body::to_bytes(body, SMALL_BODY).await {
            Ok(b) => b,
            Err(_) => {
                return error_for(
                    &path,
                    AppError::TooLarge("The form is larger than 64 KiB.".into()),
                );
            }
        };
        let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|f| f.into_iter().find(|(k, _)| k == "_csrf").map(|(_, v)| v));
        return match token {
            Some(t) if ok(&t) => {
                next.run(Request::from_parts(parts, Body::from(bytes)))
                    .await
            }
            _ => refuse(missing),
        };
    }
    match query_token(&req) {
        Some(t) if ok(&t) => next.run(req).await,
        // The page's file form carries its token as the body's first field (so that no
        // address, and no error page's, holds it): its handler reads that field before
        // anything else and refuses the form without it ([`TokenInBody`]).
        None if path == "/uploads" && content_type.starts_with("multipart/form-data") => {
            let mut req = req;
            req.extensions_mut().insert(TokenInBody);
            next.run(req).await
        }
        _ => refuse(missing),
    }
}

/// Marks a request whose CSRF token is still to be checked: the first field of the file
/// form's multipart body must be `_csrf` with the session's token ([`body_token_matches`]).
#[derive(Debug, Clone, Copy)]
pub struct TokenInBody;

/// Whether `given` (the file form's first field) is the visitor's CSRF token.
pub fn body_token_matches(state: &AppState, visitor: &Visitor, given: &str) -> bool {
    !visitor.fresh && csrf_matches(&state.config().secret, &visitor.token, given)
}

/// The refusal of a form without its token.
pub const TOKEN_MISSING: &str = "The form's security token is missing or out of date. Reload the page and try again (scripts: send the X-CSRF-Token header from GET /api/v1/session).";

/// Middleware: a deadline for each request, long for uploads and short for everything else,
/// so that a stalled client cannot hold a connection and a slow query cannot pile up.
pub async fn timeout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let is_upload = req.method() == Method::POST
        && matches!(req.uri().path(), "/uploads" | "/api/v1/uploads" | "/sample");
    let limit = if is_upload {
        state.config().upload_timeout
    } else {
        state.config().request_timeout
    };
    let path = req.uri().path().to_string();
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            tracing::warn!(%path, seconds = limit.as_secs(), "request timed out");
            error_for(&path, AppError::Timeout(limit.as_secs()))
        }
    }
}

/// Middleware for the API: answers that a framework extractor wrote as plain text (malformed
/// JSON, a missing query parameter, a wrong method) become the API's JSON error body.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let r = next.run(req).await;
    let status = r.status();
    let is_json = r
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return r;
    }
    let (parts, body) = r.into_parts();
    let text = axum::body::to_bytes(body, SMALL_BODY)
        .await
        .unwrap_or_default();
    let mut message = String::from_utf8_lossy(&text).trim().to_string();
    if message.is_empty() {
        message = status.canonical_reason().unwrap_or("Error").to_string();
    }
    let body = crate::error::ErrorBody {
        error: crate::error::ErrorDetail {
            status: status.as_u16(),
            message,
        },
    };
    let mut out = (status, axum::Json(body)).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}
