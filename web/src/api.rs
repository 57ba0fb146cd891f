//! The JSON API under `/api/v1`: every action of the site for scripts, described by
//! `/api/v1/openapi.json`. Same session cookie as the pages; state changes need the
//! `X-CSRF-Token` header (from `GET /api/v1/session`, or the `csrf_token` a sign-in returns).

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncBufReadExt;

use crate::AppState;
use crate::actions::{self, SettingsView, SignedUp, Started, UploadView};
use crate::auth::Password;
use crate::dashboard::{StatsQuery, StatsView};
use crate::error::{ApiError, AppError};
use crate::session::Visitor;

type ApiResult<T> = Result<T, ApiError>;

/// The API routes, relative to `/api/v1`.
pub fn routes(max_upload: usize) -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/session", get(session))
        .route("/signup", post(sign_up))
        .route("/signup/confirm", post(confirm_sign_up))
        .route("/signup/resend", post(resend_code))
        .route("/signin", post(sign_in))
        .route("/signout", post(sign_out))
        .route("/signout/everywhere", post(sign_out_everywhere))
        .route("/password", post(password))
        .route("/password/forgot", post(forgot_password))
        .route("/password/reset", post(reset_password))
        .route("/account", axum::routing::delete(delete_account))
        .route("/settings", get(settings).put(put_settings))
        .route(
            "/uploads",
            get(list)
                .post(upload)
                .layer(axum::extract::DefaultBodyLimit::max(max_upload)),
        )
        .route("/uploads/direct", post(direct))
        .route("/uploads/{id}", get(one).delete(delete))
        .route("/stats", get(stats))
        .route("/dashboard", get(crate::board::api_board))
        .route("/dashboard/ranking", get(crate::board::api_ranking))
        .route("/dashboard/artist", get(crate::board::api_artist))
        .route("/dashboard/compare", get(crate::board::api_compare))
        .route("/dashboard/search", get(crate::board::api_search))
        .route("/dashboard/skips", get(crate::board::api_anatomy))
        .route("/dashboard/overlaps", get(crate::board::api_overlaps))
        .route("/dashboard/chapters", get(crate::stories::api_chapters))
        .route("/dashboard/ledger", get(crate::ledger::api_ledger))
        .route(
            "/settings/hidden",
            get(crate::hiding::api_list).put(crate::hiding::api_replace),
        )
        .route("/dashboard/moments", get(crate::stories::api_moments))
        .route("/dashboard/recap/{year}", get(crate::board::api_recap))
        .route("/export", get(export))
        .layer(axum::middleware::from_fn(crate::security::json_errors))
}

/// `GET /api/v1/openapi.json`.
async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("../assets/openapi.json"),
    )
}

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

async fn session(State(state): State<AppState>, v: Visitor) -> Json<SessionView> {
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

async fn sign_up(
    State(state): State<AppState>,
    v: Visitor,
    Json(c): Json<Credentials>,
) -> ApiResult<Response> {
    Ok(
        match actions::sign_up(&state, &v, &c.email, &c.password).await? {
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

async fn confirm_sign_up(
    State(state): State<AppState>,
    Json(c): Json<ConfirmCode>,
) -> ApiResult<StatusCode> {
    actions::confirm_sign_up(&state, &c.email, &c.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An e-mail address.
#[derive(Debug, Deserialize)]
pub struct EmailAddress {
    /// The account's e-mail address.
    pub email: String,
}

async fn resend_code(
    State(state): State<AppState>,
    Json(e): Json<EmailAddress>,
) -> ApiResult<StatusCode> {
    actions::resend_code(&state, &e.email).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn sign_in(
    State(state): State<AppState>,
    v: Visitor,
    Json(c): Json<Credentials>,
) -> ApiResult<Response> {
    let s = actions::sign_in(&state, &v, &c.email, &c.password).await?;
    Ok(signed_in(StatusCode::OK, s))
}

fn no_content(cookie: HeaderValue) -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().append(header::SET_COOKIE, cookie);
    r
}

async fn sign_out(State(state): State<AppState>, v: Visitor) -> ApiResult<Response> {
    Ok(no_content(actions::sign_out(&state, &v).await?))
}

async fn sign_out_everywhere(State(state): State<AppState>, v: Visitor) -> ApiResult<Response> {
    Ok(no_content(actions::sign_out_everywhere(&state, &v).await?))
}

async fn forgot_password(
    State(state): State<AppState>,
    Json(e): Json<EmailAddress>,
) -> ApiResult<StatusCode> {
    actions::forgot_password(&state, &e.email).await?;
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

async fn reset_password(
    State(state): State<AppState>,
    Json(r): Json<PasswordReset>,
) -> ApiResult<StatusCode> {
    actions::reset_password(&state, &r.email, &r.code, &r.new_password).await?;
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

async fn password(
    State(state): State<AppState>,
    v: Visitor,
    Json(p): Json<PasswordChange>,
) -> ApiResult<Response> {
    let s = actions::change_password(&state, &v, &p.current_password, &p.new_password).await?;
    Ok(signed_in(StatusCode::OK, s))
}

/// The password, to confirm deleting the account.
#[derive(Debug, Deserialize)]
pub struct Confirm {
    /// The account's password.
    pub password: Password,
}

async fn delete_account(
    State(state): State<AppState>,
    v: Visitor,
    Json(c): Json<Confirm>,
) -> ApiResult<Response> {
    Ok(no_content(
        actions::delete_account(&state, &v, &c.password).await?,
    ))
}

async fn settings(v: Visitor) -> ApiResult<Json<SettingsView>> {
    Ok(Json(SettingsView::from(v.require_user()?)))
}

async fn put_settings(
    State(state): State<AppState>,
    v: Visitor,
    Json(s): Json<SettingsView>,
) -> ApiResult<Json<SettingsView>> {
    Ok(Json(actions::update_settings(&state, &v, &s).await?))
}

/// Where an upload's name comes from.
#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    /// The file's name (`my_spotify_data.zip`, `Streaming_History_Audio_2023.json`…).
    pub name: String,
}

/// An upload just accepted.
#[derive(Debug, Serialize)]
pub struct Accepted {
    /// The upload.
    pub upload: UploadView,
    /// When this upload started an anonymous session: its CSRF token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

/// `POST /api/v1/uploads?name=F`: the body is the file itself, streamed into the store.
pub async fn upload(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<UploadQuery>,
    body: Body,
) -> ApiResult<Response> {
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let mut reader = tokio_util::io::StreamReader::new(stream);
    // The body is required: without one, nothing is created (an anonymous visitor, an upload
    // row, an object) rather than an empty upload that can only fail.
    match reader.fill_buf().await {
        Ok([]) => {
            return Err(AppError::BadRequest(
                "The file is empty: the request has no body, so nothing was stored.".into(),
            )
            .into());
        }
        Ok(_) => {}
        Err(e) => {
            return Err(AppError::BadRequest(format!(
                "The upload was cut off ({e}); nothing was stored."
            ))
            .into());
        }
    }
    let (upload, started) = actions::upload(&state, &v, &q.name, &mut reader).await?;
    let location = format!("/api/v1/uploads/{}", upload.id);
    let (csrf_token, cookie) = match started {
        Some(s) => (Some(s.csrf_token), Some(s.cookie)),
        None => (None, None),
    };
    let mut r = (StatusCode::ACCEPTED, Json(Accepted { upload, csrf_token })).into_response();
    if let Ok(l) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, l);
    }
    if let Some(c) = cookie {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(r)
}

/// An upload the browser will post straight to the object store.
#[derive(Debug, Deserialize)]
pub struct DirectRequest {
    /// The file's name.
    pub name: String,
    /// The file's size in bytes.
    #[serde(deserialize_with = "byte_count")]
    pub size: u64,
}

/// A size in bytes: any JSON integer, as JSON Schema counts them (`1e3` and `10.0` too; serde
/// alone takes only plain digits), and one past `u64` as `u64::MAX`, which is over any limit
/// (413) rather than malformed. Negative or fractional numbers are refused (422).
fn byte_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    if let Some(u) = n.as_u64() {
        return Ok(u);
    }
    match n.as_f64() {
        // `as` saturates: 1e20 becomes u64::MAX.
        Some(f) if f >= 0.0 && f.fract() == 0.0 => Ok(f as u64),
        _ => Err(serde::de::Error::custom(format!(
            "invalid value: {n}, expected a whole number of bytes"
        ))),
    }
}

/// One field of a presigned form.
#[derive(Debug, Serialize)]
pub struct FormField {
    /// The field's name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// A form to post one file to, with its fields in order (the file goes last, as `file`).
#[derive(Debug, Serialize)]
pub struct DirectForm {
    /// Where to POST (`multipart/form-data`).
    pub url: String,
    /// The fields to send before the file, in this order.
    pub fields: Vec<FormField>,
    /// When the form stops working (RFC 3339, UTC).
    pub expires: String,
}

/// An upload prepared for a direct post.
#[derive(Debug, Serialize)]
pub struct Presigned {
    /// The upload, `queued` until its file arrives.
    pub upload: UploadView,
    /// The form that sends the file.
    pub form: DirectForm,
    /// When this upload started an anonymous session: its CSRF token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

/// `POST /api/v1/uploads/direct`: an upload row and a presigned form for its file.
async fn direct(
    State(state): State<AppState>,
    v: Visitor,
    Json(q): Json<DirectRequest>,
) -> ApiResult<Response> {
    let d = actions::direct_upload(&state, &v, &q.name, q.size).await?;
    let form = DirectForm {
        url: d.form.url,
        fields: d
            .form
            .fields
            .into_iter()
            .map(|(name, value)| FormField { name, value })
            .collect(),
        expires: actions::rfc3339(d.form.expires_ms),
    };
    let (csrf_token, cookie) = match d.started {
        Some(s) => (Some(s.csrf_token), Some(s.cookie)),
        None => (None, None),
    };
    let location = format!("/api/v1/uploads/{}", d.upload.id);
    let mut r = (
        StatusCode::CREATED,
        Json(Presigned {
            upload: d.upload,
            form,
            csrf_token,
        }),
    )
        .into_response();
    if let Ok(l) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, l);
    }
    if let Some(c) = cookie {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(r)
}

async fn list(State(state): State<AppState>, v: Visitor) -> ApiResult<Json<Vec<UploadView>>> {
    Ok(Json(actions::list_uploads(&state, &v).await?))
}

async fn one(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
) -> ApiResult<Json<UploadView>> {
    let upload = actions::find_upload(&state, &v, &id).await?;
    if upload.state == storage::uploads::State::Ready
        && let Some(user) = &v.user
    {
        // The page that polls this opens the dashboard next: prepare it now.
        let ready = actions::selection(&state, user, &[]).await?;
        state
            .dash()
            .warm(&state, user, ready.into_iter().map(|u| u.id).collect());
    }
    Ok(Json(UploadView::from(&upload)))
}
async fn delete(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    actions::delete_upload(&state, &v, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/stats?uploads=a,b&from=2024-01-01&to=2024-12-31`.
#[derive(Debug, Deserialize)]
pub struct StatsParams {
    /// Comma-separated upload ids (all ready uploads when absent).
    pub uploads: Option<String>,
    /// First day (inclusive).
    pub from: Option<String>,
    /// Last day (inclusive).
    pub to: Option<String>,
}

async fn stats(
    State(state): State<AppState>,
    v: Visitor,
    Query(p): Query<StatsParams>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<StatsView>> {
    let user = v.require_user()?;
    crate::board::refuse_blank(raw.as_deref(), &["from", "to"])?;
    let q = StatsQuery {
        uploads: p
            .uploads
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        from: p.from,
        to: p.to,
    };
    Ok(Json(actions::stats(&state, user, &q).await?))
}

/// `GET /api/v1/export?format=csv|json`.
#[derive(Debug, Deserialize)]
pub struct ExportParams {
    /// `csv` or `json` (default).
    pub format: Option<String>,
}

async fn export(
    State(state): State<AppState>,
    v: Visitor,
    Query(p): Query<ExportParams>,
) -> ApiResult<Response> {
    let user = v.require_user()?;
    match p.format.as_deref().unwrap_or("json") {
        "json" => Ok(crate::export::json(&state, user).await?),
        "csv" => Ok(crate::export::csv(&state, user).await?),
        other => Err(AppError::BadRequest(format!(
            "Unknown export format “{other}”: use csv or json."
        ))
        .into()),
    }
}
