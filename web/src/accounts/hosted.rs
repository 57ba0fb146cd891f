//! Accounts held by an identity provider (Cognito), the account backend when
//! [`crate::Config::idp`] is set ([`Hosted`]). The provider keeps e-mail
//! addresses and passwords; Backspin keeps a `users` row per provider subject (uploads,
//! settings, stats) and its own server-side sessions, each carrying the provider's tokens
//! sealed under the session's token ([`crate::session::idp_tokens`]).
//!
//! Passwords, codes and tokens are never logged: log lines name user ids and error kinds.

use ingest_worker::lifecycle;
use storage::db::now_ms;
use storage::sessions;
use storage::users::{self, ClaimError, User};

use async_trait::async_trait;

use crate::accounts::backend::{Backend, EMAIL_TAKEN, SignedUp, confirm_key, keep_visitor_uploads};
use crate::accounts::passwords::Password;
use crate::error::AppError;
use crate::idp::{Identity, IdentityProvider, IdpError, SignUpOutcome};
use crate::session::idp_tokens::SessionTokens;
use crate::session::{Started, Visitor};
use crate::state::AppState;
use crate::state::metrics::Metrics;

/// An access token closer than this to its expiry (seconds) is refreshed before use.
pub const REFRESH_MARGIN_SECS: i64 = 60;

/// The message for a wrong password where the account is already known.
const WRONG_CURRENT: &str = "The current password is wrong.";

fn now_secs() -> i64 {
    now_ms() / 1000
}

/// A provider refusal as the visitor reads it. [`IdpError::TokenInvalid`] means the session
/// can no longer act at the provider: callers holding one end it first ([`end_session`]).
pub(crate) fn refusal(e: IdpError) -> AppError {
    match e {
        IdpError::WrongCredentials => AppError::Invalid("Wrong e-mail or password.".into()),
        IdpError::NotConfirmed => AppError::Unconfirmed,
        IdpError::EmailTaken => AppError::Invalid(EMAIL_TAKEN.into()),
        IdpError::CodeMismatch => AppError::Invalid("The code is wrong.".into()),
        IdpError::CodeExpired => {
            AppError::Invalid("The code has expired; ask for a new one.".into())
        }
        IdpError::InvalidPassword(why) => {
            AppError::Invalid(format!("The password is not accepted: {why}"))
        }
        IdpError::LimitExceeded => AppError::Throttled,
        IdpError::TokenInvalid(_) => AppError::SignInRequired,
        IdpError::Unavailable(cause) => AppError::IdpUnavailable(cause),
    }
}

/// The kind of a provider error, for log lines (never its text, which may quote input).
fn kind(e: &IdpError) -> &'static str {
    match e {
        IdpError::WrongCredentials => "wrong credentials",
        IdpError::NotConfirmed => "not confirmed",
        IdpError::EmailTaken => "e-mail taken",
        IdpError::CodeMismatch => "code mismatch",
        IdpError::CodeExpired => "code expired",
        IdpError::InvalidPassword(_) => "invalid password",
        IdpError::LimitExceeded => "limit exceeded",
        IdpError::TokenInvalid(_) => "token invalid",
        IdpError::Unavailable(_) => "unavailable",
    }
}

/// A confirmation or reset code as typed: trimmed, and refused when empty or absurd.
fn check_code(code: &str) -> Result<&str, AppError> {
    let code = code.trim();
    if code.is_empty() || code.len() > 64 || code.chars().any(char::is_control) {
        return Err(AppError::Invalid(
            "Enter the code from the e-mail we sent you.".into(),
        ));
    }
    Ok(code)
}

/// Who an ID token the provider just issued names. One that does not verify is a
/// misconfiguration (issuer, audience, keys), not the visitor's doing.
async fn verify(idp: &dyn IdentityProvider, id_token: &str) -> Result<Identity, AppError> {
    idp.verify_id_token(id_token).await.map_err(|e| match e {
        IdpError::Unavailable(cause) => AppError::IdpUnavailable(cause),
        other => AppError::Internal(format!(
            "the identity provider's own ID token does not verify ({})",
            kind(&other)
        )),
    })
}

/// The account the provider's `identity` is: the row linked to its subject; else the
/// registered row with its (provider-confirmed) e-mail address, linked now (a local account,
/// one the admin import created, or one whose provider user was replaced); else the
/// visitor's anonymous row, claimed (their uploads become the account's, as signing up
/// promises); else a new row.
async fn account_for(
    state: &AppState,
    visitor: &Visitor,
    identity: &Identity,
) -> Result<User, AppError> {
    let db = state.db();
    // Twice at most: a concurrent first sign-in may create the row between our look-up and
    // our insert; the second look-up finds it.
    for _ in 0..2 {
        if let Some(u) = users::by_idp_subject(db, &identity.subject).await? {
            return Ok(u);
        }
        if let Some(u) = users::by_email(db, &identity.email).await? {
            let previous = users::idp_subject(db, &u.id).await?;
            if users::link_subject(db, &u.id, &identity.subject).await? {
                tracing::info!(
                    user = %u.id,
                    replaced = previous.is_some(),
                    "account linked to its identity at the provider"
                );
                return Ok(u);
            }
            continue;
        }
        let anonymous = visitor.user.as_ref().filter(|u| u.anonymous);
        let made = match anonymous {
            Some(anon) => {
                match users::claim_for_subject(db, &anon.id, &identity.email, &identity.subject)
                    .await
                {
                    Ok(u) => Ok(u),
                    Err(ClaimError::EmailTaken | ClaimError::Gone) => continue,
                    Err(ClaimError::Db(e)) => Err(e),
                }
            }
            None => users::create_for_subject(db, &identity.email, &identity.subject).await,
        };
        match made {
            Ok(u) => {
                tracing::info!(user = %u.id, claimed = anonymous.is_some(), "account created");
                if anonymous.is_some() {
                    ingest_worker::lifecycle::keep_uploads(state.deps(), &u.id).await?;
                }
                return Ok(u);
            }
            Err(e) if users::is_unique_violation(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Conflict(
        "Your account is being set up by another sign-in right now. Please try again.".into(),
    ))
}

/// Ends the visitor's session (its provider tokens are unusable) and asks them to sign in.
async fn end_session<T>(
    state: &AppState,
    visitor: &Visitor,
    why: &'static str,
) -> Result<T, AppError> {
    sessions::delete(state.db(), &visitor.token).await?;
    tracing::info!(
        user = visitor.user.as_ref().map_or("-", |u| u.id.as_str()),
        why,
        "session ended"
    );
    Err(AppError::SignInRequired)
}

/// The session's provider tokens, with an access token good for at least
/// [`REFRESH_MARGIN_SECS`] more: refreshed and stored again when it is not. A session
/// without usable tokens, or whose refresh token the provider revoked, ends
/// ([`AppError::SignInRequired`]).
pub(crate) async fn session_tokens(
    state: &AppState,
    idp: &dyn IdentityProvider,
    visitor: &Visitor,
) -> Result<SessionTokens, AppError> {
    let stored = sessions::idp_tokens(state.db(), &visitor.token, now_ms()).await?;
    let Some(tokens) = stored
        .as_deref()
        .and_then(|s| SessionTokens::open(&visitor.token, s))
    else {
        return end_session(state, visitor, "no provider tokens").await;
    };
    if !tokens.expires_within(now_secs(), REFRESH_MARGIN_SECS) {
        return Ok(tokens);
    }
    let Some(refresh_token) = tokens.refresh_token.as_deref() else {
        return end_session(state, visitor, "access token expired, no refresh token").await;
    };
    match idp.refresh(&tokens.username, refresh_token).await {
        Ok(new) => {
            let fresh = tokens.refreshed(&new, now_secs());
            sessions::set_idp_tokens(state.db(), &visitor.token, &fresh.seal(&visitor.token))
                .await?;
            Ok(fresh)
        }
        Err(IdpError::TokenInvalid(_)) => {
            end_session(state, visitor, "refresh token revoked").await
        }
        Err(e) => Err(refusal(e)),
    }
}

/// The identity provider as the account backend.
#[derive(Debug, Clone, Copy)]
pub struct Hosted<'a>(pub &'a dyn IdentityProvider);

#[async_trait]
impl Backend for Hosted<'_> {
    fn sends_codes(&self) -> bool {
        true
    }

    /// Creates the account at the provider (`email` and `password` already checked against
    /// Backspin's rules). No session starts: the visitor confirms the address, then signs in.
    async fn sign_up(
        &self,
        state: &AppState,
        _visitor: &Visitor,
        email: &str,
        password: &Password,
    ) -> Result<SignedUp, AppError> {
        let idp = self.0;
        let outcome = idp.sign_up(email, password).await.map_err(refusal)?;
        Metrics::inc(&state.metrics().sign_ups);
        let confirmation_sent_to = match outcome {
            SignUpOutcome::ConfirmationSent { destination } => Some(destination),
            SignUpOutcome::Confirmed => None,
        };
        tracing::info!(
            confirm = confirmation_sent_to.is_some(),
            "account created at the identity provider"
        );
        Ok(SignedUp::Pending {
            email: email.to_string(),
            confirmation_sent_to,
        })
    }

    /// Confirms an account with the code the provider e-mailed.
    async fn confirm_sign_up(&self, email: &str, code: &str) -> Result<(), AppError> {
        let idp = self.0;
        let email = crate::accounts::passwords::check_email(email)?;
        let code = check_code(code)?;
        idp.confirm_sign_up(&email, code)
            .await
            .map_err(|e| match e {
                // An unknown address reads like a wrong code: the answer reveals no account.
                IdpError::WrongCredentials => refusal(IdpError::CodeMismatch),
                other => refusal(other),
            })
    }

    /// Sends the confirmation code again (the same answer for unknown addresses).
    async fn resend_code(&self, email: &str) -> Result<(), AppError> {
        let idp = self.0;
        let email = crate::accounts::passwords::check_email(email)?;
        match idp.resend_code(&email).await {
            Ok(()) => Ok(()),
            Err(e @ (IdpError::LimitExceeded | IdpError::Unavailable(_))) => Err(refusal(e)),
            Err(e) => {
                tracing::debug!(kind = kind(&e), "no code resent");
                Ok(())
            }
        }
    }

    /// Signs in at the provider, finds (or makes) the account its ID token names, and starts a
    /// session that keeps the tokens. Rate-limited as local sign-ins are.
    async fn sign_in(
        &self,
        state: &AppState,
        visitor: &Visitor,
        email: &str,
        password: &Password,
    ) -> Result<Started, AppError> {
        let idp = self.0;
        let email = email.trim().to_lowercase();
        if let Err(e) = state.limiter().admit(&email, &visitor.address) {
            Metrics::inc(&state.metrics().sign_ins_limited);
            return Err(e);
        }
        let tokens = match idp.sign_in(&email, password).await {
            Ok(t) => t,
            Err(IdpError::WrongCredentials) => {
                state.limiter().failed(&email, &visitor.address);
                Metrics::inc(&state.metrics().sign_ins_failed);
                return Err(refusal(IdpError::WrongCredentials));
            }
            Err(e) => return Err(refusal(e)),
        };
        let identity = verify(idp, &tokens.id_token).await?;
        let user = account_for(state, visitor, &identity).await?;
        state.limiter().succeeded(&email, &visitor.address);
        if visitor.user.is_some() {
            sessions::delete(state.db(), &visitor.token).await?;
        }
        keep_visitor_uploads(state, visitor, &user).await?;
        Metrics::inc(&state.metrics().sign_ins_ok);
        tracing::info!(user = %user.id, "signed in at the identity provider");
        let kept = SessionTokens::from_sign_in(&tokens, &identity, now_secs());
        crate::session::start_with_idp_tokens(state, user, visitor.https, &kept).await
    }

    /// Revokes every refresh token of the visitor's provider user. Tokens already revoked (or
    /// a session that holds none) leave nothing to revoke.
    async fn sign_out_everywhere(
        &self,
        state: &AppState,
        visitor: &Visitor,
    ) -> Result<(), AppError> {
        let idp = self.0;
        let tokens = match session_tokens(state, idp, visitor).await {
            Ok(t) => t,
            Err(AppError::SignInRequired) => return Ok(()),
            Err(e) => return Err(e),
        };
        match idp.sign_out_everywhere(&tokens.access_token).await {
            Ok(()) | Err(IdpError::TokenInvalid(_)) => Ok(()),
            Err(e) => Err(refusal(e)),
        }
    }

    /// Changes the password at the provider (the new one checked against Backspin's rules
    /// first; the current one rate-limited like a local confirmation), then moves this client
    /// to a new session and ends every other one.
    async fn change_password(
        &self,
        state: &AppState,
        visitor: &Visitor,
        user: &User,
        current: &Password,
        new: &Password,
    ) -> Result<Started, AppError> {
        let idp = self.0;
        crate::accounts::passwords::check_new_password(new, user.email.as_deref().unwrap_or(""))?;
        let key = confirm_key(user);
        state.limiter().admit(&key, &visitor.address)?;
        let tokens = session_tokens(state, idp, visitor).await?;
        match idp
            .change_password(&tokens.access_token, current, new)
            .await
        {
            Ok(()) => state.limiter().succeeded(&key, &visitor.address),
            Err(IdpError::WrongCredentials) => {
                state.limiter().failed(&key, &visitor.address);
                return Err(AppError::Invalid(WRONG_CURRENT.into()));
            }
            Err(IdpError::TokenInvalid(_)) => {
                return end_session(state, visitor, "access token revoked").await;
            }
            Err(e) => return Err(refusal(e)),
        }
        // The provider's tokens stay valid after a password change: the new session keeps them.
        let started =
            crate::session::start_with_idp_tokens(state, user.clone(), visitor.https, &tokens)
                .await?;
        let ended = sessions::delete_others(state.db(), &user.id, &started.token).await?;
        tracing::info!(user = %user.id, sessions_ended = ended, "password changed at the identity provider");
        Ok(started)
    }

    /// Asks the provider to e-mail a reset code. Every outcome but "slow down" and "unavailable"
    /// reads the same, so that the answer does not tell whether an account exists.
    async fn forgot_password(&self, email: &str) -> Result<(), AppError> {
        let idp = self.0;
        let email = crate::accounts::passwords::check_email(email)?;
        match idp.forgot_password(&email).await {
            Ok(()) => Ok(()),
            Err(e @ (IdpError::LimitExceeded | IdpError::Unavailable(_))) => Err(refusal(e)),
            Err(e) => {
                tracing::debug!(kind = kind(&e), "no reset code sent");
                Ok(())
            }
        }
    }

    /// Sets a new password with the reset code, then ends every session of that account (when
    /// Backspin knows it by that address).
    async fn reset_password(
        &self,
        state: &AppState,
        email: &str,
        code: &str,
        new: &Password,
    ) -> Result<(), AppError> {
        let idp = self.0;
        let email = crate::accounts::passwords::check_email(email)?;
        let code = check_code(code)?;
        crate::accounts::passwords::check_new_password(new, &email)?;
        idp.confirm_forgot_password(&email, code, new)
            .await
            .map_err(|e| match e {
                IdpError::WrongCredentials => refusal(IdpError::CodeMismatch),
                other => refusal(other),
            })?;
        if let Some(user) = users::by_email(state.db(), &email).await? {
            let ended = sessions::delete_for_user(state.db(), &user.id).await?;
            tracing::info!(user = %user.id, sessions_ended = ended, "password reset at the identity provider");
        }
        Ok(())
    }

    /// Deletes the account: the password confirmed by signing in at the provider (rate-limited
    /// like a local confirmation), the provider's user deleted with the access token of that
    /// sign-in, then every upload, file, play and stat.
    async fn delete_account(
        &self,
        state: &AppState,
        visitor: &Visitor,
        user: &User,
        password: &Password,
    ) -> Result<(), AppError> {
        let idp = self.0;
        let key = confirm_key(user);
        state.limiter().admit(&key, &visitor.address)?;
        let email = user.email.as_deref().unwrap_or("");
        let tokens = match idp.sign_in(email, password).await {
            Ok(t) => {
                state.limiter().succeeded(&key, &visitor.address);
                t
            }
            Err(IdpError::WrongCredentials) => {
                state.limiter().failed(&key, &visitor.address);
                return Err(AppError::Invalid(WRONG_CURRENT.into()));
            }
            Err(e) => return Err(refusal(e)),
        };
        // The provider's user for this address must be the one this account is linked to.
        let identity = verify(idp, &tokens.id_token).await?;
        if users::idp_subject(state.db(), &user.id).await?.as_deref() != Some(&identity.subject) {
            tracing::warn!(user = %user.id, "account deletion refused: linked to another provider user");
            return Err(AppError::Conflict(
                "This account is linked to another sign-in at the account service. Sign out, sign in again and retry."
                    .into(),
            ));
        }
        idp.delete_user(&tokens.access_token)
            .await
            .map_err(refusal)?;
        tracing::info!(user = %user.id, "user deleted at the identity provider");
        if let Err(cause) = lifecycle::delete_user(state.deps(), &user.id).await {
            // The provider's user is gone but the data is not. Signing up again with the same
            // address links the new provider user to this row, so its owner can delete it again.
            tracing::error!(user = %user.id, "account data not deleted after its provider user was");
            return Err(AppError::Unavailable(cause));
        }
        Ok(())
    }
}
