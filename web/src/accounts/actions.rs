//! What a visitor can do with an account, shared by the pages and the JSON API: sign up, sign
//! in and out, change or reset the password, delete the account. The rules every backend
//! shares are here; the rest is the backend's ([`backend`]).

use axum::http::HeaderValue;

use crate::accounts::backend::{Backend, SignedUp};
use crate::accounts::hosted::Hosted;
use crate::accounts::local::Local;
use crate::accounts::passwords::{Password, check_email, check_new_password};
use crate::error::AppError;
use crate::session::{Started, Visitor, fresh_cookie};
use crate::state::AppState;

/// The backend the configuration chose: the identity provider's when one is configured,
/// else local accounts.
pub fn backend(state: &AppState) -> Box<dyn Backend + '_> {
    match state.idp() {
        Some(idp) => Box::new(Hosted(idp)),
        None => Box::new(Local),
    }
}

/// Creates an account. An anonymous visitor's account is their own visitor row, so their
/// uploads become the account's (signing up claims them; with an identity provider, the
/// first sign-in from the same browser does).
pub async fn sign_up(
    state: &AppState,
    visitor: &Visitor,
    email: &str,
    password: &Password,
) -> Result<SignedUp, AppError> {
    if visitor.user.as_ref().is_some_and(|u| !u.anonymous) {
        return Err(AppError::BadRequest(
            "You are already signed in; sign out to create another account.".into(),
        ));
    }
    let email = check_email(email)?;
    check_new_password(password, &email)?;
    // Counted once the input is valid: a typo does not use up the address's allowance.
    state.limiter().admit_sign_up(&visitor.address)?;
    backend(state)
        .sign_up(state, visitor, &email, password)
        .await
}

/// Confirms an account at the identity provider with the code it e-mailed. The visitor
/// signs in afterwards (the password is not at hand here). "Not found" without a provider.
pub async fn confirm_sign_up(state: &AppState, email: &str, code: &str) -> Result<(), AppError> {
    backend(state).confirm_sign_up(email, code).await
}

/// Has the identity provider send the confirmation code again. "Not found" without one.
pub async fn resend_code(state: &AppState, email: &str) -> Result<(), AppError> {
    backend(state).resend_code(email).await
}

/// Signs in with e-mail and password; rate-limited per account and per address. Every
/// failure reads the same: "wrong e-mail or password". With an identity provider, an
/// account whose address is not confirmed yet is [`AppError::Unconfirmed`].
pub async fn sign_in(
    state: &AppState,
    visitor: &Visitor,
    email: &str,
    password: &Password,
) -> Result<Started, AppError> {
    backend(state)
        .sign_in(state, visitor, email, password)
        .await
}

/// Ends the visitor's session; returns the cookie that replaces it.
pub async fn sign_out(state: &AppState, visitor: &Visitor) -> Result<HeaderValue, AppError> {
    storage::sessions::delete(state.db(), &visitor.token).await?;
    Ok(fresh_cookie(visitor))
}

/// Ends every session of the signed-in account, this one included; with an identity
/// provider, its refresh tokens are revoked first. Returns the cookie that replaces this
/// browser's.
pub async fn sign_out_everywhere(
    state: &AppState,
    visitor: &Visitor,
) -> Result<HeaderValue, AppError> {
    let user = visitor.require_account()?.clone();
    backend(state).sign_out_everywhere(state, visitor).await?;
    let ended = storage::sessions::delete_for_user(state.db(), &user.id).await?;
    tracing::info!(user = %user.id, sessions_ended = ended, "signed out everywhere");
    Ok(fresh_cookie(visitor))
}

/// Changes the password (the current one is needed) and ends every other session.
pub async fn change_password(
    state: &AppState,
    visitor: &Visitor,
    current: &Password,
    new: &Password,
) -> Result<Started, AppError> {
    let user = visitor.require_account()?.clone();
    backend(state)
        .change_password(state, visitor, &user, current, new)
        .await
}

/// Has the identity provider e-mail a password reset code. The answer is the same whether
/// an account exists or not. "Not found" without a provider (local accounts have no e-mail
/// delivery).
pub async fn forgot_password(state: &AppState, email: &str) -> Result<(), AppError> {
    backend(state).forgot_password(email).await
}

/// Sets a new password at the identity provider with the reset code, and ends every
/// session of the account. "Not found" without a provider.
pub async fn reset_password(
    state: &AppState,
    email: &str,
    code: &str,
    new: &Password,
) -> Result<(), AppError> {
    backend(state).reset_password(state, email, code, new).await
}

/// Deletes the account with every upload, file, play and stat (the password is needed);
/// with an identity provider, its user there too. Returns the cookie that replaces this
/// browser's.
pub async fn delete_account(
    state: &AppState,
    visitor: &Visitor,
    password: &Password,
) -> Result<HeaderValue, AppError> {
    let user = visitor.require_account()?.clone();
    backend(state)
        .delete_account(state, visitor, &user, password)
        .await?;
    Ok(fresh_cookie(visitor))
}
