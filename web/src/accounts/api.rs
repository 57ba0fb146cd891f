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
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(examples(json!({"signed_in": false, "anonymous": false, "email": null, "admin": false, "csrf_token": "EkwUnmOBikYJNYKLz69R-5-BRKYTCKSGqhoYBgJVuBQ"})))]
pub struct SessionView {
    /// Whether an account is signed in.
    pub signed_in: bool,
    /// Whether this browser has an anonymous visitor's uploads.
    pub anonymous: bool,
    /// The account's e-mail.
    #[schema(required = true)]
    pub email: Option<String>,
    /// Whether the account is an administrator.
    pub admin: bool,
    /// Send as `X-CSRF-Token` with every state change.
    pub csrf_token: String,
}

#[utoipa::path(
    get,
    path = "/session",
    operation_id = "getSession",
    tag = "session",
    summary = "Who is signed in, and the CSRF token",
    description = "Call this first with a cookie jar: a client without the `bs_session` cookie gets one here (in `Set-Cookie`), and `csrf_token` is the token of that cookie. Changes are refused while the client sends no cookie.",
    responses(
        (status = 200, description = "The session.", body = SessionView, headers(("Set-Cookie" = String, description = "A new `bs_session` cookie, when none came in."))),
        (status = 503, response = crate::error::Unavailable),
    ),
    security((), ("session" = [])),
)]
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
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(examples(json!({"email": "you@example.com", "password": "correct horse battery staple"})))]
pub struct Credentials {
    /// E-mail address (trimmed and lower-cased by the server).
    #[schema(max_length = 254)]
    pub email: String,
    /// Password. A new one must have 8 to 128 characters, not be one of the most common passwords
    /// and not be the e-mail address.
    #[schema(value_type = String, write_only)]
    pub password: Password,
}

/// A session that just started.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(examples(json!({"email": "you@example.com", "csrf_token": "KMoF2jA62CC7J4jr47hFz5M4icE86AWmCdNxOxhz3k8"})))]
pub struct SignedIn {
    /// The account's e-mail.
    #[schema(required = true)]
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
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(examples(json!({"email": "you@example.com", "confirmation_sent_to": "y***@e***"})))]
pub struct SignUpPending {
    /// The account's e-mail address.
    pub email: String,
    /// Where the confirmation code went (masked); none when the account needs no
    /// confirmation and can sign in now.
    #[schema(required = true)]
    pub confirmation_sent_to: Option<String>,
}

#[utoipa::path(
    post,
    path = "/signup",
    operation_id = "signUp",
    tag = "session",
    summary = "Create an account (and sign in, for local accounts)",
    description = "An anonymous visitor's uploads become the new account's. Local accounts: 201, a new session starts: the response sets a new cookie and returns the new `csrf_token`; the previous token stops working. With an identity provider: 202, no session yet: the provider e-mails a code to confirm the address (`POST /api/v1/signup/confirm`), then sign in; the anonymous visitor's uploads become the account's at its first sign-in from the same cookie.",
    request_body = Credentials,
    responses(
        (status = 201, description = "Account created and signed in.", body = SignedIn, headers(("Set-Cookie" = String, description = "The new `bs_session` cookie (HttpOnly, SameSite=Lax, Path=/; Secure over HTTPS). Keep it: the old one no longer works."))),
        (status = 202, description = "With an identity provider: the account exists and is not signed in. `confirmation_sent_to` says where the code went; when it is null, the account needs no confirmation: sign in.", body = SignUpPending),
        crate::error::BodyErrors,
        (status = 429, response = crate::error::TooManyRequests),
    ),
)]
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
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(examples(json!({"email": "you@example.com", "code": "123456"})))]
pub struct ConfirmCode {
    /// The account's e-mail address.
    #[schema(max_length = 254)]
    pub email: String,
    /// The code from the e-mail.
    #[schema(max_length = 64)]
    pub code: String,
}

#[utoipa::path(
    post,
    path = "/signup/confirm",
    operation_id = "confirmSignUp",
    tag = "session",
    summary = "Confirm a new account's e-mail address",
    description = "Only when accounts live at an identity provider (Cognito); without one, 404. Confirms the address with the code the provider e-mailed after `POST /api/v1/signup`; then sign in. A wrong code answers 422 `The code is wrong.`, an old one 422 `The code has expired; ask for a new one.`.",
    request_body = ConfirmCode,
    responses(
        (status = 204, description = "Confirmed: sign in."),
        crate::error::BodyErrors,
        (status = 404, response = crate::error::NotFound),
        (status = 429, response = crate::error::TooManyRequests),
    ),
)]
pub(crate) async fn confirm_sign_up(
    State(state): State<AppState>,
    Json(c): Json<ConfirmCode>,
) -> ApiResult<StatusCode> {
    crate::accounts::actions::confirm_sign_up(&state, &c.email, &c.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An e-mail address.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(examples(json!({"email": "you@example.com"})))]
pub struct EmailAddress {
    /// The account's e-mail address.
    #[schema(max_length = 254)]
    pub email: String,
}

#[utoipa::path(
    post,
    path = "/signup/resend",
    operation_id = "resendSignUpCode",
    tag = "session",
    summary = "Send the confirmation code again",
    description = "Only when accounts live at an identity provider (Cognito); without one, 404. The answer is the same whether an account with this address waits for confirmation or not.",
    request_body = EmailAddress,
    responses(
        (status = 204, description = "If an account waits for confirmation, a new code is on its way."),
        crate::error::BodyErrors,
        (status = 404, response = crate::error::NotFound),
        (status = 429, response = crate::error::TooManyRequests),
    ),
)]
pub(crate) async fn resend_code(
    State(state): State<AppState>,
    Json(e): Json<EmailAddress>,
) -> ApiResult<StatusCode> {
    crate::accounts::actions::resend_code(&state, &e.email).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/signin",
    operation_id = "signIn",
    tag = "session",
    summary = "Sign in",
    description = "Every failure reads `Wrong e-mail or password.` (422). Rate-limited per account and per client address (429 with `Retry-After`). Starts a new session: the response sets a new cookie and returns the new `csrf_token`. With an identity provider, an account whose e-mail address is not confirmed yet answers 403 with `Your e-mail address is not confirmed yet: …`: confirm it with `POST /api/v1/signup/confirm`, or ask for a new code with `POST /api/v1/signup/resend`.",
    request_body = Credentials,
    responses(
        (status = 200, description = "Signed in.", body = SignedIn, headers(("Set-Cookie" = String, description = "The new `bs_session` cookie (HttpOnly, SameSite=Lax, Path=/; Secure over HTTPS). Keep it: the old one no longer works."))),
        crate::error::BodyErrors,
        (status = 403, description = "CSRF (see the rule above), or, with an identity provider, the account's e-mail address is not confirmed yet (the message says so).", body = crate::error::ErrorBody),
        (status = 429, response = crate::error::TooManyRequests),
    ),
)]
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

#[utoipa::path(
    post,
    path = "/signout",
    operation_id = "signOut",
    tag = "session",
    summary = "Sign out",
    description = "Ends the session and replaces the cookie with a fresh one. No body. Get a new CSRF token from `GET /api/v1/session` before the next change.",
    responses(
        (status = 204, description = "Signed out.", headers(("Set-Cookie" = String, description = "The new `bs_session` cookie (HttpOnly, SameSite=Lax, Path=/; Secure over HTTPS). Keep it: the old one no longer works."))),
        (status = 503, response = crate::error::Unavailable),
    ),
)]
pub(crate) async fn sign_out(State(state): State<AppState>, v: Visitor) -> ApiResult<Response> {
    Ok(no_content(
        crate::accounts::actions::sign_out(&state, &v).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/signout/everywhere",
    operation_id = "signOutEverywhere",
    tag = "session",
    summary = "Sign out everywhere",
    description = "Ends every session of the account, this one included, and replaces the cookie with a fresh one. No body. With an identity provider, its refresh tokens are revoked there first. Get a new CSRF token from `GET /api/v1/session` before the next change.",
    responses(
        (status = 204, description = "Every session ended.", headers(("Set-Cookie" = String, description = "The new `bs_session` cookie (HttpOnly, SameSite=Lax, Path=/; Secure over HTTPS). Keep it: the old one no longer works."))),
        (status = 401, response = crate::error::SignInRequired),
        (status = 429, response = crate::error::TooManyRequests),
        (status = 503, response = crate::error::Unavailable),
    ),
)]
pub(crate) async fn sign_out_everywhere(
    State(state): State<AppState>,
    v: Visitor,
) -> ApiResult<Response> {
    Ok(no_content(
        crate::accounts::actions::sign_out_everywhere(&state, &v).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/password/forgot",
    operation_id = "forgotPassword",
    tag = "account",
    summary = "Ask for a password reset code",
    description = "Only when accounts live at an identity provider (Cognito); without one, 404. (local accounts have no e-mail delivery). The provider e-mails a code to use with `POST /api/v1/password/reset`. The answer is the same whether an account exists or not.",
    request_body = EmailAddress,
    responses(
        (status = 202, description = "If an account exists, a code is on its way."),
        crate::error::BodyErrors,
        (status = 404, response = crate::error::NotFound),
        (status = 429, response = crate::error::TooManyRequests),
    ),
)]
pub(crate) async fn forgot_password(
    State(state): State<AppState>,
    Json(e): Json<EmailAddress>,
) -> ApiResult<StatusCode> {
    crate::accounts::actions::forgot_password(&state, &e.email).await?;
    Ok(StatusCode::ACCEPTED)
}

/// A new password set with a reset code.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(examples(json!({"email": "you@example.com", "code": "123456", "new_password": "a brand new passphrase"})))]
pub struct PasswordReset {
    /// The account's e-mail address.
    #[schema(max_length = 254)]
    pub email: String,
    /// The code from the e-mail.
    #[schema(max_length = 64)]
    pub code: String,
    /// The new password: 8 to 128 characters, not one of the most common passwords, not the e-mail
    /// address (the provider may ask for more).
    #[schema(value_type = String, write_only)]
    pub new_password: Password,
}

#[utoipa::path(
    post,
    path = "/password/reset",
    operation_id = "resetPassword",
    tag = "account",
    summary = "Set a new password with a reset code",
    description = "Only when accounts live at an identity provider (Cognito); without one, 404. Sets the new password (the same rules as at sign-up, and the provider's own) and ends every session of the account. A wrong code answers 422 `The code is wrong.`, an old one 422 `The code has expired; ask for a new one.`.",
    request_body = PasswordReset,
    responses(
        (status = 204, description = "The password is changed; sign in with it."),
        crate::error::BodyErrors,
        (status = 404, response = crate::error::NotFound),
        (status = 429, response = crate::error::TooManyRequests),
    ),
)]
pub(crate) async fn reset_password(
    State(state): State<AppState>,
    Json(r): Json<PasswordReset>,
) -> ApiResult<StatusCode> {
    crate::accounts::actions::reset_password(&state, &r.email, &r.code, &r.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A password change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    /// The current password.
    #[schema(value_type = String, write_only)]
    pub current_password: Password,
    /// The new one.
    #[schema(value_type = String, write_only)]
    pub new_password: Password,
}

#[utoipa::path(
    post,
    path = "/password",
    operation_id = "changePassword",
    tag = "account",
    summary = "Change the password",
    description = "Needs the current password (rate-limited like a sign-in). Ends every other session of the account and starts a new one for this client: the response sets a new cookie and returns the new `csrf_token`. With an identity provider, the password is changed there; a session whose provider tokens were revoked meanwhile ends (401): sign in again.",
    request_body = PasswordChange,
    responses(
        (status = 200, description = "Password changed; this client is signed in under a new session.", body = SignedIn, headers(("Set-Cookie" = String, description = "The new `bs_session` cookie (HttpOnly, SameSite=Lax, Path=/; Secure over HTTPS). Keep it: the old one no longer works."))),
        crate::error::BodyErrors,
        (status = 401, response = crate::error::SignInRequired),
        (status = 429, response = crate::error::TooManyRequests),
    ),
)]
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
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Confirm {
    /// The account's password.
    #[schema(value_type = String, write_only)]
    pub password: Password,
}

#[utoipa::path(
    delete,
    path = "/account",
    operation_id = "deleteAccount",
    tag = "account",
    summary = "Delete the account and everything it holds",
    description = "Deletes the account with every upload, file, play and stat. Needs the password in a JSON body (rate-limited like a sign-in). The cookie is replaced with a fresh one. With an identity provider, the password is confirmed by signing in there, and the provider's user is deleted too.",
    request_body = Confirm,
    responses(
        (status = 204, description = "Deleted.", headers(("Set-Cookie" = String, description = "The new `bs_session` cookie (HttpOnly, SameSite=Lax, Path=/; Secure over HTTPS). Keep it: the old one no longer works."))),
        crate::error::BodyErrors,
        (status = 401, response = crate::error::SignInRequired),
        (status = 409, description = "With an identity provider: the provider's user for this e-mail address is not the one this account is linked to (sign out, sign in again and retry).", body = crate::error::ErrorBody),
        (status = 429, response = crate::error::TooManyRequests),
    ),
)]
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
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `json` (default) or `csv`.
    #[param(value_type = Option<ExportFormat>, inline)]
    pub format: Option<String>,
}

engine::names! {
    /// The export's formats.
    ExportFormat: ["json", "csv"], default "json"
}

#[utoipa::path(
    get,
    path = "/export",
    operation_id = "exportPlays",
    tag = "stats",
    summary = "Export every play, each stream once",
    params(ExportParams),
    responses(
        (status = 200, description = "The plays in time order, as a download.", content((Vec<crate::accounts::export::ExportedPlay> = "application/json"), (String = "text/csv")), headers(("Content-Disposition" = String, description = "`attachment; filename=\"backspin-plays.csv\"` (or `.json`)."))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::SignInRequired),
        (status = 503, response = crate::error::Unavailable),
    ),
)]
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
