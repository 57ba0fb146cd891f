//! Where the accounts live, behind one interface ([`Backend`]): in Backspin's database with
//! argon2id password hashes ([`super::local::Local`]), or at an identity provider such as
//! Cognito, which keeps the e-mail addresses and passwords ([`super::hosted::Hosted`]). Which
//! one is fixed by the configuration at start-up ([`crate::Config::idp`]) and picked in one
//! place, [`super::actions::backend`], which does what both have in common around it.

use async_trait::async_trait;
use storage::users::User;

use crate::accounts::passwords::Password;
use crate::error::AppError;
use crate::session::{Started, Visitor};
use crate::state::AppState;

/// What a sign-up with a taken e-mail address says: a refusal like any other (422), in
/// words that do not assert that an account exists. Without an e-mail round trip a sign-up
/// cannot hide that entirely (a new address succeeds); the sign-up limit per address bounds
/// how many addresses one client can probe.
pub const EMAIL_TAKEN: &str =
    "We could not create an account with this e-mail address. If it is yours, sign in instead.";

/// What signing up led to.
#[derive(Debug, Clone)]
pub enum SignedUp {
    /// A local account, created and signed in.
    Started(Started),
    /// An account at the identity provider; no session yet: the visitor confirms their
    /// address with the code e-mailed to `confirmation_sent_to` (masked) and signs in, or,
    /// when that is none, signs in right away.
    Pending {
        /// The account's e-mail address.
        email: String,
        /// Where the confirmation code went, masked (`a***@e***`).
        confirmation_sent_to: Option<String>,
    },
}

/// The rate limiter's key for confirming a signed-in user's password: counted apart from
/// sign-ins, so that a stranger failing sign-ins with this e-mail can not lock its owner out
/// of changing the password or deleting the account.
pub fn confirm_key(user: &User) -> String {
    format!("confirm:{}", user.id)
}

/// What an account backend does. E-mail addresses and new passwords reach it checked
/// against Backspin's rules; what only an identity provider can do (codes by e-mail) is
/// "not found" for local accounts.
#[async_trait]
pub trait Backend: Send + Sync {
    /// Whether the backend e-mails codes (to confirm an address, to reset a password), so
    /// that the pages that take them exist.
    fn sends_codes(&self) -> bool {
        false
    }

    /// Creates the account for `email` (normalised) and `password` (checked).
    async fn sign_up(
        &self,
        state: &AppState,
        visitor: &Visitor,
        email: &str,
        password: &Password,
    ) -> Result<SignedUp, AppError>;

    /// Confirms an address with the code e-mailed to it.
    async fn confirm_sign_up(&self, _email: &str, _code: &str) -> Result<(), AppError> {
        Err(AppError::NotFound)
    }

    /// Sends the confirmation code again.
    async fn resend_code(&self, _email: &str) -> Result<(), AppError> {
        Err(AppError::NotFound)
    }

    /// Checks `email` and `password` (rate-limited per account and address) and starts a
    /// session for the account; the visitor's anonymous uploads become the account's.
    async fn sign_in(
        &self,
        state: &AppState,
        visitor: &Visitor,
        email: &str,
        password: &Password,
    ) -> Result<Started, AppError>;

    /// What ends besides Backspin's sessions when the account signs out everywhere.
    async fn sign_out_everywhere(
        &self,
        _state: &AppState,
        _visitor: &Visitor,
    ) -> Result<(), AppError> {
        Ok(())
    }

    /// Changes the password (`current` confirmed, `new` checked) and moves this client to a
    /// new session; every other session ends.
    async fn change_password(
        &self,
        state: &AppState,
        visitor: &Visitor,
        user: &User,
        current: &Password,
        new: &Password,
    ) -> Result<Started, AppError>;

    /// E-mails a password reset code; the same answer whether an account exists or not.
    async fn forgot_password(&self, _email: &str) -> Result<(), AppError> {
        Err(AppError::NotFound)
    }

    /// Sets a new password with the reset code and ends every session of the account.
    async fn reset_password(
        &self,
        _state: &AppState,
        _email: &str,
        _code: &str,
        _new: &Password,
    ) -> Result<(), AppError> {
        Err(AppError::NotFound)
    }

    /// Deletes the account (the password confirmed) with every upload, file, play and stat.
    async fn delete_account(
        &self,
        state: &AppState,
        visitor: &Visitor,
        user: &User,
        password: &Password,
    ) -> Result<(), AppError>;
}

/// Signing in from a browser that uploaded as an anonymous visitor: the visitor's uploads
/// become the account's (their streams join the account's, each counted once), and the
/// visitor goes.
pub async fn keep_visitor_uploads(
    state: &AppState,
    visitor: &Visitor,
    account: &User,
) -> Result<(), AppError> {
    let Some(anon) = visitor
        .user
        .as_ref()
        .filter(|u| u.anonymous && u.id != account.id)
    else {
        return Ok(());
    };
    let moved = ingest_worker::artifact::adopt(state.deps(), &anon.id, &account.id).await?;
    if moved > 0 {
        ingest_worker::lifecycle::keep_uploads(state.deps(), &account.id).await?;
        state.deps().after_change.run(&account.id).await;
        tracing::info!(user = %account.id, uploads = moved, "a visitor's uploads kept on signing in");
    }
    Ok(())
}
