//! Server-rendered pages. Each handler loads a view model through [`crate::actions`], renders
//! it with [`crate::view`], and answers form posts with a redirect (post/redirect/get), so the
//! whole site works with JavaScript off.

use axum::Form;
use axum::Router;
use axum::extract::{Multipart, Path, Query, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use engine::panels::ItemKind;
use futures_util::TryStreamExt;
use maud::Markup;
use serde::Deserialize;

use crate::AppState;
use crate::actions::{self, SettingsView, SignedUp, Started, UploadView};
use crate::auth::Password;
use crate::error::{AppError, PageError};
use crate::session::Visitor;
use crate::view::{self, Flash, Nav};
use storage::users::User;

type PageResult = Result<Response, PageError>;

/// How many files of the largest size one file form may carry (each file is held to the upload
/// limit by the store; the form as a whole to this many times it).
pub const FORM_FILES: usize = 8;

/// The page routes; the file form may carry [`FORM_FILES`] uploads of the largest size.
pub fn routes(max_upload: usize) -> Router<AppState> {
    Router::new()
        .route("/", get(landing))
        .route("/sample", post(sample))
        .route("/signup", get(sign_up_form).post(sign_up))
        .route("/confirm", get(confirm_form).post(confirm))
        .route("/confirm/resend", post(resend_code))
        .route("/signin", get(sign_in_form).post(sign_in))
        .route("/signout", post(sign_out))
        .route("/signout/everywhere", post(sign_out_everywhere))
        .route("/password/forgot", get(forgot_form).post(forgot_password))
        .route("/password/reset", get(reset_form).post(reset_password))
        .route("/account", get(account))
        .route("/account/settings", post(settings))
        .route("/settings", get(settings_page).post(settings_anywhere))
        .route("/settings/hidden", post(crate::hiding::hide))
        .route("/settings/hidden/remove", post(crate::hiding::show_again))
        .route("/account/password", post(password))
        .route("/account/delete", post(delete_account))
        .route("/account/export.csv", get(export_csv))
        .route("/account/export.json", get(export_json))
        .route(
            "/uploads",
            get(uploads)
                .post(upload)
                .layer(axum::extract::DefaultBodyLimit::max(max_upload)),
        )
        .route("/uploads/{id}", get(upload_detail))
        .route(
            "/uploads/{id}/delete",
            get(delete_confirm).post(delete_upload),
        )
        .route("/dashboard", get(crate::board::page))
        .route("/dashboard/ranking", get(crate::board::ranking_page))
        .route("/dashboard/artist", get(crate::board::artist_page))
        .route(
            "/dashboard/track",
            get(|s: State<AppState>, v: Visitor, q: RawQuery| {
                crate::board::item_page(s, v, q, ItemKind::Track)
            }),
        )
        .route(
            "/dashboard/album",
            get(|s: State<AppState>, v: Visitor, q: RawQuery| {
                crate::board::item_page(s, v, q, ItemKind::Album)
            }),
        )
        .route(
            "/dashboard/show",
            get(|s: State<AppState>, v: Visitor, q: RawQuery| {
                crate::board::item_page(s, v, q, ItemKind::Show)
            }),
        )
        .route("/dashboard/compare", get(crate::board::compare_page))
        .route("/dashboard/search", get(crate::board::search_page))
        .route("/dashboard/skips", get(crate::board::anatomy_page))
        .route("/dashboard/overlaps", get(crate::board::overlaps_page))
        .route("/dashboard/chapters", get(crate::stories::chapters_page))
        .route("/dashboard/ledger", get(crate::ledger::page))
        .route("/dashboard/moments", get(crate::stories::moments_page))
        .route("/dashboard/recap/{year}", get(crate::board::recap_page))
        .route("/shares/new", get(crate::shares::new_form))
        .route("/shares", post(crate::shares::create))
        .route("/shares/{share}/revoke", post(crate::shares::revoke))
        .route("/s/{token}", get(crate::shares::page))
        .route("/s/{token}/card.png", get(crate::shares::card_png))
        .route("/admin", get(admin))
        .route("/admin/reingest", post(reingest))
}

/// What the layout needs about the visitor.
pub(crate) fn nav(state: &AppState, v: &Visitor) -> Nav {
    Nav {
        email: v
            .user
            .as_ref()
            .filter(|u| !u.anonymous)
            .and_then(|u| u.email.clone()),
        anonymous: v.user.as_ref().is_some_and(|u| u.anonymous),
        admin: v.user.as_ref().is_some_and(|u| state.is_admin(u)),
        csrf: v.csrf(state),
        direct_uploads: state.config().upload_origin.is_some(),
        idp: state.idp().is_some(),
    }
}

/// Middleware: an error page drawn again with the visitor's own navigation (signed in as
/// whom, their links), since the error that made it knew nothing of the visitor.
pub async fn errors_know_the_visitor(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let visitor = req.extensions().get::<Visitor>().cloned();
    let mut r = next.run(req).await;
    let (Some(v), Some(e)) = (
        visitor,
        r.extensions().get::<crate::error::ErrorPage>().cloned(),
    ) else {
        return r;
    };
    let page = view::error_page(e.status, &e.message, &nav(&state, &v)).into_string();
    r.headers_mut().remove(header::CONTENT_LENGTH);
    *r.body_mut() = axum::body::Body::from(page);
    r
}

fn max_size(state: &AppState) -> String {
    actions::size_limit(state.config().max_upload_bytes)
}

/// A redirect that also sets a new session cookie.
fn redirect_with(to: &str, cookie: HeaderValue) -> Response {
    let mut r = Redirect::to(to).into_response();
    r.headers_mut().append(header::SET_COOKIE, cookie);
    r
}

fn page(status: StatusCode, m: Markup) -> Response {
    (status, m).into_response()
}

/// The 404 page for unknown addresses.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    crate::security::error_for(uri.path(), AppError::NotFound)
}

async fn landing(State(state): State<AppState>, v: Visitor) -> Markup {
    view::landing(&nav(&state, &v), &max_size(&state))
}

async fn sample(State(state): State<AppState>, v: Visitor) -> PageResult {
    let (u, started) = actions::upload_sample(&state, &v).await?;
    Ok(after_upload(&u, started))
}

fn after_upload(u: &UploadView, started: Option<Started>) -> Response {
    let to = format!("/uploads#upload-{}", u.id);
    match started {
        Some(s) => redirect_with(&to, s.cookie),
        None => Redirect::to(&to).into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct CredentialsForm {
    email: String,
    password: Password,
}

/// A page's message after a redirect, and the address to fill in.
#[derive(Debug, Default, Deserialize)]
struct AccountQuery {
    #[serde(default)]
    email: String,
    done: Option<String>,
}

fn info(done: Option<&str>) -> Flash<'static> {
    Flash {
        error: None,
        info: done_message(done),
    }
}

fn error(message: &str) -> Flash<'_> {
    Flash {
        error: Some(message),
        info: None,
    }
}

/// A page's address with the e-mail address and what just happened in its query.
fn with_email(path: &str, email: &str, done: &str) -> String {
    let query =
        serde_urlencoded::to_string([("email", email.trim()), ("done", done)]).unwrap_or_default();
    format!("{path}?{query}")
}

async fn sign_up_form(State(state): State<AppState>, v: Visitor) -> Markup {
    view::credentials_form(&nav(&state, &v), true, "", &Flash::default())
}

async fn sign_in_form(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<AccountQuery>,
) -> Markup {
    view::credentials_form(&nav(&state, &v), false, &q.email, &info(q.done.as_deref()))
}

/// Re-renders a form with the message for errors the visitor can fix; others become pages.
pub(crate) fn form_error(e: AppError, render: impl FnOnce(&str) -> Markup) -> PageResult {
    match e {
        AppError::Invalid(_)
        | AppError::Conflict(_)
        | AppError::TooManyRequests(_)
        | AppError::Throttled
        | AppError::BadRequest(_) => {
            let status = e.status();
            let mut r = page(status, render(&e.message()));
            if let AppError::TooManyRequests(secs) = e
                && let Ok(v) = HeaderValue::from_str(&secs.to_string())
            {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Ok(r)
        }
        other => Err(PageError(other)),
    }
}

/// An account action whose session could no longer act at the identity provider (and was
/// ended): back to the sign-in page, which says so.
fn or_sign_in_again(e: AppError) -> Result<Response, AppError> {
    match e {
        AppError::SignInRequired => Ok(Redirect::to("/signin?done=ended").into_response()),
        other => Err(other),
    }
}

async fn sign_up(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<CredentialsForm>,
) -> PageResult {
    match actions::sign_up(&state, &v, &f.email, &f.password).await {
        Ok(SignedUp::Started(s)) => Ok(redirect_with("/uploads?done=welcome", s.cookie)),
        Ok(SignedUp::Pending {
            email,
            confirmation_sent_to,
        }) => Ok(Redirect::to(&match confirmation_sent_to {
            Some(_) => with_email("/confirm", &email, "sent"),
            None => with_email("/signin", &email, "created"),
        })
        .into_response()),
        Err(e) => form_error(e, |m| {
            view::credentials_form(&nav(&state, &v), true, &f.email, &error(m))
        }),
    }
}

async fn confirm_form(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<AccountQuery>,
) -> PageResult {
    if state.idp().is_none() {
        return Err(AppError::NotFound.into());
    }
    Ok(view::confirm_form(&nav(&state, &v), &q.email, &info(q.done.as_deref())).into_response())
}

#[derive(Debug, Deserialize)]
struct ConfirmForm {
    email: String,
    code: String,
}

async fn confirm(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<ConfirmForm>,
) -> PageResult {
    match actions::confirm_sign_up(&state, &f.email, &f.code).await {
        Ok(()) => Ok(Redirect::to(&with_email("/signin", &f.email, "confirmed")).into_response()),
        Err(e) => form_error(e, |m| {
            view::confirm_form(&nav(&state, &v), &f.email, &error(m))
        }),
    }
}

#[derive(Debug, Deserialize)]
struct EmailForm {
    email: String,
}

async fn resend_code(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<EmailForm>,
) -> PageResult {
    match actions::resend_code(&state, &f.email).await {
        Ok(()) => Ok(Redirect::to(&with_email("/confirm", &f.email, "resent")).into_response()),
        Err(e) => form_error(e, |m| {
            view::confirm_form(&nav(&state, &v), &f.email, &error(m))
        }),
    }
}

async fn sign_in(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<CredentialsForm>,
) -> PageResult {
    match actions::sign_in(&state, &v, &f.email, &f.password).await {
        Ok(s) => Ok(redirect_with("/uploads", s.cookie)),
        Err(AppError::Unconfirmed) => {
            Ok(Redirect::to(&with_email("/confirm", &f.email, "unconfirmed")).into_response())
        }
        Err(e) => form_error(e, |m| {
            view::credentials_form(&nav(&state, &v), false, &f.email, &error(m))
        }),
    }
}

async fn sign_out(State(state): State<AppState>, v: Visitor) -> PageResult {
    let cookie = actions::sign_out(&state, &v).await?;
    Ok(redirect_with("/", cookie))
}

async fn sign_out_everywhere(State(state): State<AppState>, v: Visitor) -> PageResult {
    v.require_account()?;
    match actions::sign_out_everywhere(&state, &v).await {
        Ok(cookie) => Ok(redirect_with("/signin?done=everywhere", cookie)),
        Err(e) => Ok(or_sign_in_again(e)?),
    }
}

async fn forgot_form(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<AccountQuery>,
) -> PageResult {
    if state.idp().is_none() {
        return Err(AppError::NotFound.into());
    }
    Ok(view::forgot_form(&nav(&state, &v), &q.email, None).into_response())
}

async fn forgot_password(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<EmailForm>,
) -> PageResult {
    match actions::forgot_password(&state, &f.email).await {
        Ok(()) => {
            Ok(Redirect::to(&with_email("/password/reset", &f.email, "code")).into_response())
        }
        Err(e) => form_error(e, |m| {
            view::forgot_form(&nav(&state, &v), &f.email, Some(m))
        }),
    }
}

async fn reset_form(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<AccountQuery>,
) -> PageResult {
    if state.idp().is_none() {
        return Err(AppError::NotFound.into());
    }
    Ok(view::reset_form(&nav(&state, &v), &q.email, &info(q.done.as_deref())).into_response())
}

#[derive(Debug, Deserialize)]
struct ResetForm {
    email: String,
    code: String,
    new_password: Password,
}

async fn reset_password(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<ResetForm>,
) -> PageResult {
    match actions::reset_password(&state, &f.email, &f.code, &f.new_password).await {
        Ok(()) => Ok(Redirect::to(&with_email("/signin", &f.email, "reset")).into_response()),
        Err(e) => form_error(e, |m| {
            view::reset_form(&nav(&state, &v), &f.email, &error(m))
        }),
    }
}

#[derive(Debug, Deserialize)]
struct FlashQuery {
    done: Option<String>,
}

fn done_message(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "settings" => Some("Settings saved; every view now uses them."),
        "welcome" => Some(
            "Welcome to Backspin: your account is ready. Upload the my_spotify_data.zip Spotify sent you (on spotify.com: Account, Privacy settings, Download your data; ask for the extended streaming history for every year), or any of its JSON files.",
        ),
        "password" => Some("Password changed. Your other sessions were signed out."),
        "deleted" => Some("The upload was deleted."),
        "revoked" => Some("The link was revoked: it no longer opens anything."),
        "hidden" => Some("Hidden: every view now leaves it out."),
        "shown" => Some("Shown again in every view."),
        "reingest" => Some("Uploads queued for re-ingestion."),
        "sent" => Some("We e-mailed you a code. Enter it here to confirm your address."),
        "code" => Some(
            "If an account exists for this address, a code is on its way. Enter it here with your new password.",
        ),
        "resent" => Some("A new code is on its way. Enter it here."),
        "unconfirmed" => Some(
            "Your e-mail address is not confirmed yet: enter the code we e-mailed you, or ask for a new one.",
        ),
        "confirmed" => Some("Your e-mail address is confirmed. Sign in to start."),
        "created" => Some("Your account is ready. Sign in to start."),
        "reset" => Some(
            "Your password is changed and every session was signed out. Sign in with the new one.",
        ),
        "everywhere" => Some("You are signed out everywhere."),
        "ended" => Some("Your session has ended. Please sign in again."),
        _ => None,
    }
}

async fn account(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<FlashQuery>,
) -> PageResult {
    let user = v.require_account()?;
    let flash = Flash {
        error: None,
        info: done_message(q.done.as_deref()),
    };
    let links = shares_section(&state, &v, user).await?;
    Ok(view::account(&nav(&state, &v), &SettingsView::from(user), &flash, links).into_response())
}

#[derive(Debug, Deserialize)]
struct SettingsForm {
    tz: String,
    min_play_seconds: String,
}

async fn settings(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<SettingsForm>,
) -> PageResult {
    let user = v.require_account()?.clone();
    let parsed = f.min_play_seconds.trim().parse::<u32>().map_err(|_| {
        AppError::Invalid(format!(
            "“{}” is not a number of seconds.",
            f.min_play_seconds.trim()
        ))
    });
    let wanted = SettingsView {
        tz: f.tz.clone(),
        min_play_seconds: 0,
    };
    let r = match parsed {
        Ok(n) => {
            actions::update_settings(
                &state,
                &v,
                &SettingsView {
                    min_play_seconds: n,
                    ..wanted
                },
            )
            .await
        }
        Err(e) => Err(e),
    };
    match r {
        Ok(_) => Ok(Redirect::to("/account?done=settings").into_response()),
        Err(e) => {
            let links = shares_section(&state, &v, &user).await?;
            form_error(e, |m| account_with_error(&state, &v, &user, m, links))
        }
    }
}

/// `GET /settings`: the dashboard settings for any visitor with uploads.
async fn settings_page(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<FlashQuery>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let user = v.require_user()?;
    let flash = Flash {
        error: None,
        info: done_message(q.done.as_deref()),
    };
    let nav = nav(&state, &v);
    let hidden =
        crate::hiding::section(&state, &nav, user, crate::hiding::prefill(raw.as_deref())).await?;
    Ok(view::settings_page(&nav, &SettingsView::from(user), &flash, hidden).into_response())
}

/// `POST /settings`: saves them and shows them again.
async fn settings_anywhere(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<SettingsForm>,
) -> PageResult {
    let user = v.require_user()?.clone();
    let r = match f.min_play_seconds.trim().parse::<u32>() {
        Ok(n) => {
            let wanted = SettingsView {
                tz: f.tz.clone(),
                min_play_seconds: n,
            };
            actions::update_settings(&state, &v, &wanted).await
        }
        Err(_) => Err(AppError::Invalid(format!(
            "“{}” is not a number of seconds.",
            f.min_play_seconds.trim()
        ))),
    };
    let nav = nav(&state, &v);
    match r {
        Ok(_) => Ok(Redirect::to("/settings?done=settings").into_response()),
        Err(e) => {
            let hidden = crate::hiding::section(&state, &nav, &user, None).await?;
            form_error(e, |m| {
                let flash = Flash {
                    error: Some(m),
                    info: None,
                };
                view::settings_page(&nav, &SettingsView::from(&user), &flash, hidden)
            })
        }
    }
}

/// The account page again, with what went wrong.
/// The account page's list of the links the user shared.
async fn shares_section(state: &AppState, v: &Visitor, user: &User) -> Result<Markup, AppError> {
    let links = crate::shares::live_links(state, user).await?;
    Ok(crate::shares::account_section(&nav(state, v), &links))
}

fn account_with_error(
    state: &AppState,
    v: &Visitor,
    user: &User,
    message: &str,
    links: Markup,
) -> Markup {
    let flash = Flash {
        error: Some(message),
        info: None,
    };
    view::account(&nav(state, v), &SettingsView::from(user), &flash, links)
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    current_password: Password,
    new_password: Password,
}

async fn password(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<PasswordForm>,
) -> PageResult {
    let user = v.require_account()?.clone();
    match actions::change_password(&state, &v, &f.current_password, &f.new_password).await {
        Ok(s) => Ok(redirect_with("/account?done=password", s.cookie)),
        Err(e) => match or_sign_in_again(e) {
            Ok(r) => Ok(r),
            Err(e) => {
                let links = shares_section(&state, &v, &user).await?;
                form_error(e, |m| account_with_error(&state, &v, &user, m, links))
            }
        },
    }
}

#[derive(Debug, Deserialize)]
struct DeleteAccountForm {
    password: Password,
}

async fn delete_account(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<DeleteAccountForm>,
) -> PageResult {
    let user = v.require_account()?.clone();
    match actions::delete_account(&state, &v, &f.password).await {
        Ok(cookie) => {
            let mut r = page(
                StatusCode::OK,
                view::layout(
                    "Account deleted",
                    &Nav::default(),
                    maud::html! {
                        h1 { "Your account is deleted" }
                        p { "Every upload, file, play and statistic of yours is gone." }
                        p { a href="/" { "Back to the start page" } }
                    },
                ),
            );
            r.headers_mut().append(header::SET_COOKIE, cookie);
            Ok(r)
        }
        Err(e) => match or_sign_in_again(e) {
            Ok(r) => Ok(r),
            Err(e) => {
                let links = shares_section(&state, &v, &user).await?;
                form_error(e, |m| account_with_error(&state, &v, &user, m, links))
            }
        },
    }
}

async fn export_csv(State(state): State<AppState>, v: Visitor) -> PageResult {
    let user = v.require_account()?;
    Ok(crate::export::csv(&state, user).await?)
}

async fn export_json(State(state): State<AppState>, v: Visitor) -> PageResult {
    let user = v.require_account()?;
    Ok(crate::export::json(&state, user).await?)
}

async fn uploads(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<FlashQuery>,
) -> PageResult {
    let list = actions::list_uploads(&state, &v).await?;
    let flash = Flash {
        error: None,
        info: done_message(q.done.as_deref()),
    };
    Ok(view::uploads(&nav(&state, &v), &list, &max_size(&state), &flash).into_response())
}

/// `POST /uploads`: the file form (multipart), streamed file by file into the store.
pub async fn upload(
    State(state): State<AppState>,
    v: Visitor,
    token_in_body: Option<axum::Extension<crate::security::TokenInBody>>,
    mut form: Multipart,
) -> PageResult {
    let mut v = v;
    let mut cookie = None;
    let mut stored = 0;
    // The form's body limit (the upload limit plus a margin) can be reached before the store's
    // own limit when the body arrives in large pieces: that is still "too large", not a
    // malformed form nor a storage outage.
    let too_large = |stored: usize| {
        let limit = actions::size_limit(state.config().max_upload_bytes);
        AppError::TooLarge(if stored == 0 {
            format!("The upload is larger than the upload limit of {limit}; nothing was stored.")
        } else {
            format!(
                "The form is larger than the upload limit of {limit}; its first {stored} file(s) were stored, the rest were not."
            )
        })
    };
    let refused = |e: &axum::extract::multipart::MultipartError, stored: usize| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(stored)
        } else {
            AppError::BadRequest(format!("The upload was cut off or malformed: {e}"))
        }
    };
    if token_in_body.is_some() {
        // The token comes first, before any file is read or stored.
        let given = match form.next_field().await.map_err(|e| refused(&e, 0))? {
            Some(f) if f.name() == Some("_csrf") => f.text().await.map_err(|e| refused(&e, 0))?,
            _ => String::new(),
        };
        if !crate::security::body_token_matches(&state, &v, &given) {
            return Err(AppError::Forbidden(crate::security::TOKEN_MISSING.into()).into());
        }
    }
    while let Some(field) = form.next_field().await.map_err(|e| refused(&e, stored))? {
        let Some(name) = field.file_name().map(str::to_string) else {
            continue;
        };
        if name.is_empty() {
            continue;
        }
        let cut = std::sync::Arc::new(std::sync::Mutex::new(None));
        let seen = cut.clone();
        let stream = field.map_err(move |e| {
            let error = std::io::Error::other(e.to_string());
            *seen.lock().expect("cut lock") = Some(e);
            error
        });
        let mut reader = tokio_util::io::StreamReader::new(stream);
        // An empty file can only fail: refused before anything is made for it, as the API does.
        if let Ok([]) = tokio::io::AsyncBufReadExt::fill_buf(&mut reader).await {
            return Err(AppError::BadRequest(format!(
                "“{name}” is empty, so it was not stored. Pick my_spotify_data.zip or its JSON files."
            ))
            .into());
        }
        let result = actions::upload(&state, &v, &name, &mut reader).await;
        let (_, started) = match (result, cut.lock().expect("cut lock").take()) {
            // The store failed because the form did: say what happened to the form.
            (Err(AppError::Unavailable(_)), Some(e)) => return Err(refused(&e, stored).into()),
            (result, _) => result?,
        };
        if let Some(s) = started {
            // Later files of the same form belong to the visitor just created.
            v.user = Some(s.user.clone());
            v.token = s.token.clone();
            cookie = Some(s.cookie);
        }
        stored += 1;
    }
    if stored == 0 {
        return Err(AppError::BadRequest(
            "No file was chosen. Pick my_spotify_data.zip or its JSON files.".into(),
        )
        .into());
    }
    Ok(match cookie {
        Some(c) => redirect_with("/uploads", c),
        None => Redirect::to("/uploads").into_response(),
    })
}

async fn upload_detail(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
) -> PageResult {
    let u = actions::find_upload(&state, &v, &id).await?;
    Ok(view::upload_detail(&nav(&state, &v), &UploadView::from(&u)).into_response())
}

async fn delete_confirm(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
) -> PageResult {
    let u = actions::find_upload(&state, &v, &id).await?;
    Ok(view::delete_confirm(&nav(&state, &v), &UploadView::from(&u)).into_response())
}

async fn delete_upload(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
) -> PageResult {
    actions::delete_upload(&state, &v, &id).await?;
    Ok(Redirect::to("/uploads?done=deleted").into_response())
}

fn require_admin(state: &AppState, v: &Visitor) -> Result<(), AppError> {
    match &v.user {
        Some(u) if state.is_admin(u) => Ok(()),
        // Not an admin: the page does not exist for them.
        _ => Err(AppError::NotFound),
    }
}

async fn admin(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<FlashQuery>,
) -> PageResult {
    require_admin(&state, &v)?;
    let a = crate::admin::overview(&state).await?;
    let flash = Flash {
        error: None,
        info: done_message(q.done.as_deref()),
    };
    Ok(view::admin(&nav(&state, &v), &a, &flash).into_response())
}

#[derive(Debug, Deserialize)]
struct ReingestForm {
    #[serde(default)]
    email: String,
}

async fn reingest(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<ReingestForm>,
) -> PageResult {
    require_admin(&state, &v)?;
    match crate::admin::reingest(&state, &f.email).await {
        Ok(_) => Ok(Redirect::to("/admin?done=reingest").into_response()),
        Err(e) => form_error(e, |m| {
            let a = crate::view::AdminView::default();
            view::admin(
                &nav(&state, &v),
                &a,
                &Flash {
                    error: Some(m),
                    info: None,
                },
            )
        }),
    }
}
