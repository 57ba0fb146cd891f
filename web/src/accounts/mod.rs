//! Accounts: signing up (and confirming an address with an identity provider), signing in and
//! out, passwords, the account page, the export of every stream and deleting the account, as
//! pages and as the JSON API. Where the accounts live, in the database with argon2id hashes
//! ([`local`]) or at an identity provider such as Cognito ([`hosted`]), is chosen once at
//! start-up ([`backend`]).

pub mod actions;
pub mod api;
pub mod backend;
pub mod export;
pub mod hosted;
pub mod local;
pub mod pages;
pub mod passwords;
pub mod views;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The accounts' pages.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/signup", get(pages::sign_up_form).post(pages::sign_up))
        .route("/confirm", get(pages::confirm_form).post(pages::confirm))
        .route("/confirm/resend", post(pages::resend_code))
        .route("/signin", get(pages::sign_in_form).post(pages::sign_in))
        .route("/signout", post(pages::sign_out))
        .route("/signout/everywhere", post(pages::sign_out_everywhere))
        .route(
            "/password/forgot",
            get(pages::forgot_form).post(pages::forgot_password),
        )
        .route(
            "/password/reset",
            get(pages::reset_form).post(pages::reset_password),
        )
        .route("/account", get(pages::account))
        .route("/account/settings", post(pages::settings))
        .route("/account/password", post(pages::password))
        .route("/account/delete", post(pages::delete_account))
        .route("/account/export.csv", get(pages::export_csv))
        .route("/account/export.json", get(pages::export_json))
}

/// The accounts' part of the JSON API, relative to `/api/v1`.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::session))
        .routes(routes!(api::sign_up))
        .routes(routes!(api::confirm_sign_up))
        .routes(routes!(api::resend_code))
        .routes(routes!(api::sign_in))
        .routes(routes!(api::sign_out))
        .routes(routes!(api::sign_out_everywhere))
        .routes(routes!(api::password))
        .routes(routes!(api::forgot_password))
        .routes(routes!(api::reset_password))
        .routes(routes!(api::delete_account))
        .routes(routes!(api::export))
}
