//! An external identity provider for accounts (Amazon Cognito in the cloud). When one is
//! configured, it holds the e-mail addresses and passwords; Backspin keeps a `users` row per
//! provider subject (for uploads, settings and stats) and its own server-side sessions, which
//! carry the provider's tokens encrypted under the session's own token.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::Password;

/// Tokens from a sign-in or a refresh.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    /// The ID token (a JWT naming the user: `sub`, `email`).
    pub id_token: String,
    /// The access token (a JWT for the provider's own API: change password, sign out).
    pub access_token: String,
    /// The refresh token; a refresh does not return a new one.
    pub refresh_token: Option<String>,
    /// How long the ID and access tokens last from now.
    pub expires_in: Duration,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// Who a verified ID token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The provider's stable id for the user (`sub`).
    pub subject: String,
    /// The e-mail address, lower-case.
    pub email: String,
    /// The provider's user name (Cognito's `cognito:username`: with e-mail sign-in, an
    /// internal name, the same as `sub`, not the e-mail address); [`IdentityProvider::refresh`]
    /// needs it.
    pub username: String,
    /// When the token expires (seconds since the epoch).
    pub expires_at: i64,
}

/// What signing up led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignUpOutcome {
    /// The account exists and must be confirmed with the code sent to `destination`
    /// (a masked e-mail address, as the provider gives it).
    ConfirmationSent {
        /// Where the code went, masked (`a***@e***`).
        destination: String,
    },
    /// The account exists and can sign in now.
    Confirmed,
}

/// Why the provider said no. Messages are for people and never repeat a password or token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdpError {
    /// Wrong e-mail or password, or an unknown user (never told apart).
    WrongCredentials,
    /// The account exists but its e-mail address is not confirmed yet.
    NotConfirmed,
    /// An account with this e-mail address exists.
    EmailTaken,
    /// The confirmation or reset code is wrong.
    CodeMismatch,
    /// The code has expired; ask for a new one.
    CodeExpired,
    /// The new password breaks the pool's policy (the provider's reason).
    InvalidPassword(String),
    /// Too many attempts; try again later.
    LimitExceeded,
    /// A token that does not verify: bad signature, wrong issuer or audience, expired, revoked.
    TokenInvalid(String),
    /// The provider could not be reached or failed (transient).
    Unavailable(String),
}

impl fmt::Display for IdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdpError::WrongCredentials => write!(f, "wrong e-mail or password"),
            IdpError::NotConfirmed => write!(f, "the e-mail address is not confirmed yet"),
            IdpError::EmailTaken => write!(f, "an account with this e-mail address exists"),
            IdpError::CodeMismatch => write!(f, "the code is wrong"),
            IdpError::CodeExpired => write!(f, "the code has expired"),
            IdpError::InvalidPassword(why) => write!(f, "the password is not accepted: {why}"),
            IdpError::LimitExceeded => write!(f, "too many attempts; try again later"),
            IdpError::TokenInvalid(why) => write!(f, "invalid token: {why}"),
            IdpError::Unavailable(why) => write!(f, "the account service is unavailable: {why}"),
        }
    }
}

impl std::error::Error for IdpError {}

/// The accounts interface the web tier uses when accounts live outside Backspin.
#[async_trait]
pub trait IdentityProvider: Send + Sync + fmt::Debug {
    /// Creates an account for `email` (lower-case) with `password`.
    async fn sign_up(&self, email: &str, password: &Password) -> Result<SignUpOutcome, IdpError>;
    /// Confirms the account with the code the provider e-mailed.
    async fn confirm_sign_up(&self, email: &str, code: &str) -> Result<(), IdpError>;
    /// Sends the confirmation code again.
    async fn resend_code(&self, email: &str) -> Result<(), IdpError>;
    /// Signs in with e-mail and password.
    async fn sign_in(&self, email: &str, password: &Password) -> Result<Tokens, IdpError>;
    /// New ID and access tokens from a refresh token. `username` is [`Identity::username`]
    /// from the user's ID token (Cognito computes a refresh's secret hash over that internal
    /// name, not over the e-mail address signed in with). Fails with
    /// [`IdpError::TokenInvalid`] once the refresh token is revoked.
    async fn refresh(&self, username: &str, refresh_token: &str) -> Result<Tokens, IdpError>;
    /// Verifies an ID token against the provider's keys (signature, issuer, audience,
    /// `token_use`, expiry) and says whom it names.
    async fn verify_id_token(&self, id_token: &str) -> Result<Identity, IdpError>;
    /// Changes the password of the user the access token belongs to.
    async fn change_password(
        &self,
        access_token: &str,
        current: &Password,
        new: &Password,
    ) -> Result<(), IdpError>;
    /// Revokes every refresh token of the user the access token belongs to.
    async fn sign_out_everywhere(&self, access_token: &str) -> Result<(), IdpError>;
    /// Sends a password reset code to `email` (succeeds for unknown addresses too, so that
    /// the answer does not reveal accounts).
    async fn forgot_password(&self, email: &str) -> Result<(), IdpError>;
    /// Sets a new password with the reset code.
    async fn confirm_forgot_password(
        &self,
        email: &str,
        code: &str,
        new: &Password,
    ) -> Result<(), IdpError>;
    /// Deletes the user the access token belongs to.
    async fn delete_user(&self, access_token: &str) -> Result<(), IdpError>;
}
