//! Uploads: the landing page and the sample history, sending files (through the web tier or,
//! with S3, straight to the object store), the list, one upload, deleting one; as pages and as
//! the JSON API. Each upload is queued for the ingest worker (`ingest_worker::lifecycle`).

pub mod actions;
pub mod api;
pub mod pages;
pub mod views;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::state::AppState;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

/// The uploads' pages; the file form may carry [`pages::FORM_FILES`] uploads of the largest
/// size (`max_upload` bytes each).
pub fn pages(max_upload: usize) -> Router<AppState> {
    Router::new()
        .route("/", get(pages::landing))
        .route("/sample", post(pages::sample))
        .route(
            "/uploads",
            get(pages::uploads)
                .post(pages::upload)
                .layer(DefaultBodyLimit::max(max_upload)),
        )
        .route("/uploads/{id}", get(pages::upload_detail))
        .route(
            "/uploads/{id}/delete",
            get(pages::delete_confirm).post(pages::delete_upload),
        )
}

/// The uploads' part of the JSON API, relative to `/api/v1`.
pub fn api(max_upload: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::list, api::upload).layer(DefaultBodyLimit::max(max_upload)))
        .routes(routes!(api::direct))
        .routes(routes!(api::one, api::delete))
}
