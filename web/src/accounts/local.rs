//! Local accounts: e-mail addresses and argon2id password hashes in Backspin's own database
//! (`storage::users`), for the embedded mode and any deployment without an identity provider.
//! There is no e-mail delivery, so codes (confirming an address, resetting a password) do not
//! exist here.

use async_trait::async_trait;
use storage::users::{self, ClaimError, User};

use crate::accounts::backend::{Backend, EMAIL_TAKEN, SignedUp, confirm_key, keep_visitor_uploads};
use crate::accounts::passwords::{
    Password, check_email, check_new_password, hash_password, verify_password,
};
use crate::error::AppError;
use crate::session::{Started, Visitor, start};
use crate::state::AppState;
use crate::state::metrics::Metrics;

/// Accounts held in Backspin's database.
#[derive(Debug, Clone, Copy)]
pub struct Local;

/// Checks the signed-in user's password, rate-limited like a sign-in but counted apart from
/// sign-ins ([`confirm_key`]).
async fn confirm_password(
    state: &AppState,
    visitor: &Visitor,
    user: &User,
    password: &Password,
) -> Result<(), AppError> {
    let key = confirm_key(user);
    state.limiter().admit(&key, &visitor.address)?;
    let hash = users::password_hash(state.db(), &user.id).await?;
    if verify_password(password, hash, state.config().argon2).await? {
        state.limiter().succeeded(&key, &visitor.address);
        Ok(())
    } else {
        state.limiter().failed(&key, &visitor.address);
        Err(AppError::Invalid("The current password is wrong.".into()))
    }
}

#[async_trait]
impl Backend for Local {
    /// The account is created and signed in at once. An anonymous visitor's account is their
    /// own visitor row, so their uploads become the account's.
    async fn sign_up(
        &self,
        state: &AppState,
        visitor: &Visitor,
        email: &str,
        password: &Password,
    ) -> Result<SignedUp, AppError> {
        let hash = hash_password(password, state.config().argon2).await?;
        let taken = || AppError::Invalid(EMAIL_TAKEN.into());
        let user = match &visitor.user {
            Some(anon) => match users::claim(state.db(), &anon.id, email, &hash).await {
                Ok(u) => u,
                Err(ClaimError::EmailTaken) => return Err(taken()),
                Err(ClaimError::Gone) => {
                    return Err(AppError::Conflict(
                        "This browser's uploads were just claimed by another sign-up. Reload the page and try again."
                            .into(),
                    ));
                }
                Err(ClaimError::Db(e)) => return Err(e.into()),
            },
            None => match users::create(state.db(), Some(email), Some(&hash), false).await {
                Ok(u) => u,
                Err(e) if users::is_unique_violation(&e) => return Err(taken()),
                Err(e) => return Err(e.into()),
            },
        };
        if visitor.user.is_some() {
            storage::sessions::delete(state.db(), &visitor.token).await?;
            ingest_worker::lifecycle::keep_uploads(state.deps(), &user.id).await?;
        }
        Metrics::inc(&state.metrics().sign_ups);
        tracing::info!(user = %user.id, claimed = visitor.user.is_some(), "account created");
        Ok(SignedUp::Started(start(state, user, visitor.https).await?))
    }

    async fn sign_in(
        &self,
        state: &AppState,
        visitor: &Visitor,
        email: &str,
        password: &Password,
    ) -> Result<Started, AppError> {
        // Refused before the database: no account has an address that fails the check.
        let email = check_email(email)?;
        if let Err(e) = state.limiter().admit(&email, &visitor.address) {
            Metrics::inc(&state.metrics().sign_ins_limited);
            return Err(e);
        }
        let found = users::credentials(state.db(), &email).await?;
        let (user, hash) = match found {
            Some((u, h)) => (Some(u), h),
            None => (None, None),
        };
        let ok = verify_password(password, hash, state.config().argon2).await?;
        let Some(user) = user.filter(|_| ok) else {
            state.limiter().failed(&email, &visitor.address);
            Metrics::inc(&state.metrics().sign_ins_failed);
            return Err(AppError::Invalid("Wrong e-mail or password.".into()));
        };
        state.limiter().succeeded(&email, &visitor.address);
        if visitor.user.is_some() {
            storage::sessions::delete(state.db(), &visitor.token).await?;
        }
        keep_visitor_uploads(state, visitor, &user).await?;
        Metrics::inc(&state.metrics().sign_ins_ok);
        tracing::info!(user = %user.id, "signed in");
        start(state, user, visitor.https).await
    }

    async fn change_password(
        &self,
        state: &AppState,
        visitor: &Visitor,
        user: &User,
        current: &Password,
        new: &Password,
    ) -> Result<Started, AppError> {
        confirm_password(state, visitor, user, current).await?;
        check_new_password(new, user.email.as_deref().unwrap_or(""))?;
        let hash = hash_password(new, state.config().argon2).await?;
        users::set_password(state.db(), &user.id, &hash).await?;
        let started = start(state, user.clone(), visitor.https).await?;
        let ended =
            storage::sessions::delete_others(state.db(), &started.user.id, &started.token).await?;
        tracing::info!(user = %started.user.id, sessions_ended = ended, "password changed");
        Ok(started)
    }

    async fn delete_account(
        &self,
        state: &AppState,
        visitor: &Visitor,
        user: &User,
        password: &Password,
    ) -> Result<(), AppError> {
        confirm_password(state, visitor, user, password).await?;
        ingest_worker::lifecycle::delete_user(state.deps(), &user.id)
            .await
            .map_err(AppError::Unavailable)
    }
}
