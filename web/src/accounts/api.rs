//! The accounts' part of the JSON API: `/api/v1/session`, sign-up, sign-in and out, passwords,
//! the account and its export.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::accounts::backend::SignedUp;
use crate::accounts::passwords::Password;
use crate::error::{ApiResult, AppError};
use crate::session::{Started, Visitor};
use crate::state::AppState;

/// Who is signed in, and the CSRF token for state changes.
#[derive(Debug, Serialize)]
pub struct SessionView {
    /// Whether an account is signed in.
    pub signed_in: bool,
    /// Whether this browser has an anonymous visitor's uploads.
    pub anonymous: bool,
    /// The account's e-mail.
    pub email: Option<String>,
    /// Whether the account is an administrator.
    pub admin: bool,
    /// Send as `X-CSRF-Token` with every state change.
    pub csrf_token: String,
}

pub(crate) async fn session(State(state): State<AppState>, v: Visitor) -> Json<SessionView> {
    Json(SessionView {
        signed_in: v.user.as_ref().is_some_and(|u| !u.anonymous),
        anonymous: v.user.as_ref().is_some_and(|u| u.anonymous),
        email: v.user.as_ref().and_then(|u| u.email.clone()),
        admin: v.user.as_ref().is_some_and(|u| state.is_admin(u)),
        csrf_token: v.csrf(&state),
    })
}

/// E-mail and password.
#[derive(Debug, Deserialize)]
pub struct Credentials {
    /// E-mail.
    pub email: String,
    /// Password.
    pub password: Password,
}

/// A session that just started.
#[derive(Debug, Serialize)]
pub struct SignedIn {
    /// The account's e-mail.
    pub email: Option<String>,
    /// The new CSRF token (the previous one ended with the previous session).
    pub csrf_token: String,
}

fn signed_in(status: StatusCode, s: Started) -> Response {
    let mut r = (
        status,
        Json(SignedIn {
            email: s.user.email.clone(),
            csrf_token: s.csrf_token.clone(),
        }),
    )
        .into_response();
    r.headers_mut().append(header::SET_COOKIE, s.cookie);
    r
}

/// An account created at the identity provider, not signed in yet.
#[derive(Debug, Serialize)]
pub struct SignUpPending {
    /// The account's e-mail address.
    pub email: String,
    /// Where the confirmation code went (masked); none when the account needs no
    /// confirmation and can sign in now.
    pub confirmation_sent_to: Option<String>,
}

pub(crate) async fn sign_up(
    State(state): State<AppState>,
    v: Visitor,
    Json(c): Json<Credentials>,
) -> ApiResult<Response> {
    Ok(
        match crate::accounts::actions::sign_up(&state, &v, &c.email, &c.password).await? {
            SignedUp::Started(s) => signed_in(StatusCode::CREATED, s),
            SignedUp::Pending {
                email,
                confirmation_sent_to,
            } => (
                StatusCode::ACCEPTED,
                Json(SignUpPending {
                    email,
                    confirmation_sent_to,
                }),
            )
                .into_response(),
        },
    )
}

/// An e-mail address and the code the identity provider sent to it.
#[derive(Debug, Deserialize)]
pub struct ConfirmCode {
    /// The account's e-mail address.
    pub email: String,
    /// The code from the e-mail.
    pub code: String,
}

pub(crate) async fn confirm_sign_up(
    State(state): State<AppState>,
    Json(c): Json<ConfirmCode>,
) -> ApiResult<StatusCode> {
    crate::accounts::actions::confirm_sign_up(&state, &c.email, &c.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An e-mail address.
#[derive(Debug, Deserialize)]
pub struct EmailAddress {
    /// The account's e-mail address.
    pub email: String,
}

pub(crate) async fn resend_code(
    State(state): State<AppState>,
    Json(e): Json<EmailAddress>,
) -> ApiResult<StatusCode> {
    crate::accounts::actions::resend_code(&state, &e.email).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn sign_in(
    State(state): State<AppState>,
    v: Visitor,
    Json(c): Json<Credentials>,
) -> ApiResult<Response> {
    let s = crate::accounts::actions::sign_in(&state, &v, &c.email, &c.password).await?;
    Ok(signed_in(StatusCode::OK, s))
}

fn no_content(cookie: HeaderValue) -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().append(header::SET_COOKIE, cookie);
    r
}

pub(crate) async fn sign_out(State(state): State<AppState>, v: Visitor) -> ApiResult<Response> {
    Ok(no_content(
        crate::accounts::actions::sign_out(&state, &v).await?,
    ))
}

pub(crate) async fn sign_out_everywhere(
    State(state): State<AppState>,
    v: Visitor,
) -> ApiResult<Response> {
    Ok(no_content(
        crate::accounts::actions::sign_out_everywhere(&state, &v).await?,
    ))
}

pub(crate) async fn forgot_password(
    State(state): State<AppState>,
    Json(e): Json<EmailAddress>,
) -> ApiResult<StatusCode> {
    crate::accounts::actions::forgot_password(&state, &e.email).await?;
    Ok(StatusCode::ACCEPTED)
}

/// A new password set with a reset code.
#[derive(Debug, Deserialize)]
pub struct PasswordReset {
    /// The account's e-mail address.
    pub email: String,
    /// The code from the e-mail.
    pub code: String,
    /// The new password.
    pub new_password: Password,
}

pub(crate) async fn reset_password(
    State(state): State<AppState>,
    Json(r): Json<PasswordReset>,
) -> ApiResult<StatusCode> {
    crate::accounts::actions::reset_password(&state, &r.email, &r.code, &r.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A password change.
#[derive(Debug, Deserialize)]
pub struct PasswordChange {
    /// The current password.
    pub current_password: Password,
    /// The new one.
    pub new_password: Password,
}

pub(crate) async fn password(
    State(state): State<AppState>,
    v: Visitor,
    Json(p): Json<PasswordChange>,
) -> ApiResult<Response> {
    let s =
        crate::accounts::actions::change_password(&state, &v, &p.current_password, &p.new_password)
            .await?;
    Ok(signed_in(StatusCode::OK, s))
}

/// The password, to confirm deleting the account.
#[derive(Debug, Deserialize)]
pub struct Confirm {
    /// The account's password.
    pub password: Password,
}

pub(crate) async fn delete_account(
    State(state): State<AppState>,
    v: Visitor,
    Json(c): Json<Confirm>,
) -> ApiResult<Response> {
    Ok(no_content(
        crate::accounts::actions::delete_account(&state, &v, &c.password).await?,
    ))
}

/// `GET /api/v1/export?format=csv|json`.
#[derive(Debug, Deserialize)]
pub struct ExportParams {
    /// `csv` or `json` (default).
    pub format: Option<String>,
}

pub(crate) async fn export(
    State(state): State<AppState>,
    v: Visitor,
    Query(p): Query<ExportParams>,
) -> ApiResult<Response> {
    let user = v.require_user()?;
    match p.format.as_deref().unwrap_or("json") {
        "json" => Ok(crate::accounts::export::json(&state, user).await?),
        "csv" => Ok(crate::accounts::export::csv(&state, user).await?),
        other => Err(AppError::BadRequest(format!(
            "Unknown export format “{other}”: use csv or json."
        ))
        .into()),
    }
}
