//! Static files, compiled into the binary: no CDN, nothing fetched from elsewhere.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sha2::Digest;

use crate::error::{AppError, PageError};

const FILES: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../assets/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/app.js"),
    ),
];

/// The address of a static file, with a digest of its content: a new release changes the
/// address, so browsers may cache each one for a year and never run a stale script.
pub fn url(file: &str) -> String {
    static VERSIONS: std::sync::OnceLock<Vec<(&'static str, String)>> = std::sync::OnceLock::new();
    let versions = VERSIONS.get_or_init(|| {
        FILES
            .iter()
            .map(|(name, _, body)| {
                let digest = sha2::Sha256::digest(body.as_bytes());
                let short: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
                (*name, short)
            })
            .collect()
    });
    match versions.iter().find(|(name, _)| *name == file) {
        Some((_, v)) => format!("/static/{file}?v={v}"),
        None => format!("/static/{file}"),
    }
}

/// `GET /static/{file}`.
pub async fn serve(Path(file): Path<String>) -> Response {
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
