//! The accounts' pages: signing up (and confirming an address), signing in and out, forgotten
//! passwords, the account page with its settings, password, shared links, export and deletion.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::Markup;
use serde::Deserialize;

use crate::accounts::backend::SignedUp;
use crate::accounts::passwords::Password;
use crate::accounts::{actions, views};
use crate::error::{AppError, PageResult, form_error};
use crate::model::SettingsView;
use crate::session::{Visitor, nav, redirect_with};
use crate::settings::{SettingsForm, update_settings};
use crate::state::AppState;
use crate::ui::{Flash, FlashQuery, Nav, done_message, error, info};
use storage::users::User;

#[derive(Debug, Deserialize)]
pub(crate) struct CredentialsForm {
    email: String,
    password: Password,
}

/// A page's message after a redirect, and the address to fill in.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AccountQuery {
    #[serde(default)]
    email: String,
    done: Option<String>,
}

/// A page's address with the e-mail address and what just happened in its query.
fn with_email(path: &str, email: &str, done: &str) -> String {
    let query =
        serde_urlencoded::to_string([("email", email.trim()), ("done", done)]).unwrap_or_default();
    format!("{path}?{query}")
}

/// The pages that take an e-mailed code exist only where the backend sends codes (an
/// identity provider); elsewhere they are "not found".
fn codes_exist(state: &AppState) -> Result<(), AppError> {
    if actions::backend(state).sends_codes() {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

pub(crate) async fn sign_up_form(State(state): State<AppState>, v: Visitor) -> Markup {
    views::credentials_form(&nav(&state, &v), true, "", &Flash::default())
}

pub(crate) async fn sign_in_form(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<AccountQuery>,
) -> Markup {
    views::credentials_form(&nav(&state, &v), false, &q.email, &info(q.done.as_deref()))
}

/// An account action whose session could no longer act at the identity provider (and was
/// ended): back to the sign-in page, which says so.
fn or_sign_in_again(e: AppError) -> Result<Response, AppError> {
    match e {
        AppError::SignInRequired => Ok(Redirect::to("/signin?done=ended").into_response()),
        other => Err(other),
    }
}

pub(crate) async fn sign_up(
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
            views::credentials_form(&nav(&state, &v), true, &f.email, &error(m))
        }),
    }
}

pub(crate) async fn confirm_form(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<AccountQuery>,
) -> PageResult {
    codes_exist(&state)?;
    Ok(views::confirm_form(&nav(&state, &v), &q.email, &info(q.done.as_deref())).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct ConfirmForm {
    email: String,
    code: String,
}

pub(crate) async fn confirm(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<ConfirmForm>,
) -> PageResult {
    match actions::confirm_sign_up(&state, &f.email, &f.code).await {
        Ok(()) => Ok(Redirect::to(&with_email("/signin", &f.email, "confirmed")).into_response()),
        Err(e) => form_error(e, |m| {
            views::confirm_form(&nav(&state, &v), &f.email, &error(m))
        }),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct EmailForm {
    email: String,
}

pub(crate) async fn resend_code(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<EmailForm>,
) -> PageResult {
    match actions::resend_code(&state, &f.email).await {
        Ok(()) => Ok(Redirect::to(&with_email("/confirm", &f.email, "resent")).into_response()),
        Err(e) => form_error(e, |m| {
            views::confirm_form(&nav(&state, &v), &f.email, &error(m))
        }),
    }
}

pub(crate) async fn sign_in(
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
            views::credentials_form(&nav(&state, &v), false, &f.email, &error(m))
        }),
    }
}

pub(crate) async fn sign_out(State(state): State<AppState>, v: Visitor) -> PageResult {
    let cookie = actions::sign_out(&state, &v).await?;
    Ok(redirect_with("/", cookie))
}

pub(crate) async fn sign_out_everywhere(State(state): State<AppState>, v: Visitor) -> PageResult {
    v.require_account()?;
    match actions::sign_out_everywhere(&state, &v).await {
        Ok(cookie) => Ok(redirect_with("/signin?done=everywhere", cookie)),
        Err(e) => Ok(or_sign_in_again(e)?),
    }
}

pub(crate) async fn forgot_form(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<AccountQuery>,
) -> PageResult {
    codes_exist(&state)?;
    Ok(views::forgot_form(&nav(&state, &v), &q.email, None).into_response())
}

pub(crate) async fn forgot_password(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<EmailForm>,
) -> PageResult {
    match actions::forgot_password(&state, &f.email).await {
        Ok(()) => {
            Ok(Redirect::to(&with_email("/password/reset", &f.email, "code")).into_response())
        }
        Err(e) => form_error(e, |m| {
            views::forgot_form(&nav(&state, &v), &f.email, Some(m))
        }),
    }
}

pub(crate) async fn reset_form(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<AccountQuery>,
) -> PageResult {
    codes_exist(&state)?;
    Ok(views::reset_form(&nav(&state, &v), &q.email, &info(q.done.as_deref())).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct ResetForm {
    email: String,
    code: String,
    new_password: Password,
}

pub(crate) async fn reset_password(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<ResetForm>,
) -> PageResult {
    match actions::reset_password(&state, &f.email, &f.code, &f.new_password).await {
        Ok(()) => Ok(Redirect::to(&with_email("/signin", &f.email, "reset")).into_response()),
        Err(e) => form_error(e, |m| {
            views::reset_form(&nav(&state, &v), &f.email, &error(m))
        }),
    }
}

pub(crate) async fn account(
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
    Ok(views::account(&nav(&state, &v), &SettingsView::from(user), &flash, links).into_response())
}

pub(crate) async fn settings(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<SettingsForm>,
) -> PageResult {
    let user = v.require_account()?.clone();
    let r = match f.parse() {
        Ok(wanted) => update_settings(&state, &v, &wanted).await,
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
    views::account(&nav(state, v), &SettingsView::from(user), &flash, links)
}

#[derive(Debug, Deserialize)]
pub(crate) struct PasswordForm {
    current_password: Password,
    new_password: Password,
}

pub(crate) async fn password(
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
pub(crate) struct DeleteAccountForm {
    password: Password,
}

pub(crate) async fn delete_account(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<DeleteAccountForm>,
) -> PageResult {
    let user = v.require_account()?.clone();
    match actions::delete_account(&state, &v, &f.password).await {
        Ok(cookie) => {
            let mut r = (
                StatusCode::OK,
                crate::ui::layout(
                    "Account deleted",
                    &Nav::default(),
                    maud::html! {
                        h1 { "Your account is deleted" }
                        p { "Every upload, file, play and statistic of yours is gone." }
                        p { a href="/" { "Back to the start page" } }
                    },
                ),
            )
                .into_response();
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

pub(crate) async fn export_csv(State(state): State<AppState>, v: Visitor) -> PageResult {
    let user = v.require_account()?;
    Ok(crate::accounts::export::csv(&state, user).await?)
}

pub(crate) async fn export_json(State(state): State<AppState>, v: Visitor) -> PageResult {
    let user = v.require_account()?;
    Ok(crate::accounts::export::json(&state, user).await?)
}
