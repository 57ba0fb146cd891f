//! Server-side sessions. The browser's cookie holds a random token; rows are keyed by its
//! SHA-256 (hex), so the database alone never lets anyone sign in.

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::db::{Db, now_ms};
use crate::ids::UserId;
use crate::on_pool;
use crate::users::User;

/// The key a token is stored under.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Records a session for `user_id` under `token` until `expires_ms`.
pub async fn create(
    db: &Db,
    token: &str,
    user_id: &UserId,
    expires_ms: i64,
) -> Result<(), sqlx::Error> {
    insert(db, token, user_id, expires_ms, None).await
}

/// [`create`] for a session that carries an identity provider's tokens, `sealed` by the
/// caller under a key only the session's token gives.
pub async fn create_with_idp_tokens(
    db: &Db,
    token: &str,
    user_id: &UserId,
    expires_ms: i64,
    sealed: &str,
) -> Result<(), sqlx::Error> {
    insert(db, token, user_id, expires_ms, Some(sealed)).await
}

async fn insert(
    db: &Db,
    token: &str,
    user_id: &str,
    expires_ms: i64,
    idp_tokens: Option<&str>,
) -> Result<(), sqlx::Error> {
    on_pool!(db, p => sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_ms, expires_ms, idp_tokens) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash(token))
    .bind(user_id)
    .bind(now_ms())
    .bind(expires_ms)
    .bind(idp_tokens)
    .execute(p)
    .await
    .map(|_| ()))
}

/// The user a live session belongs to.
pub async fn user_for(db: &Db, token: &str, now: i64) -> Result<Option<User>, sqlx::Error> {
    let sql = "SELECT u.id, u.email, u.is_admin, u.anonymous, u.tz, u.min_play_ms, u.stats_version \
               FROM sessions s JOIN users u ON u.id = s.user_id \
               WHERE s.token_hash = $1 AND s.expires_ms > $2";
    on_pool!(db, p => Ok(sqlx::query(sql)
    .bind(token_hash(token))
    .bind(now)
    .fetch_optional(p)
    .await?
    .map(|r| User {
        id: r.get("id"),
        email: r.get("email"),
        is_admin: r.get("is_admin"),
        anonymous: r.get("anonymous"),
        tz: r.get("tz"),
        min_play_ms: r.get("min_play_ms"),
        stats_version: r.get("stats_version"),
    })))
}

/// Ends one session.
pub async fn delete(db: &Db, token: &str) -> Result<(), sqlx::Error> {
    on_pool!(db, p => sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash(token))
        .execute(p)
        .await
        .map(|_| ()))
}

/// Ends every session of a user except the one holding `keep` (a password change signs out
/// everywhere else). Returns how many ended.
pub async fn delete_others(db: &Db, user_id: &UserId, keep: &str) -> Result<u64, sqlx::Error> {
    on_pool!(db, p => sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
        .bind(user_id)
        .bind(token_hash(keep))
        .execute(p)
        .await
        .map(|r| r.rows_affected()))
}

/// Ends every session of a user (signing out everywhere, a password reset). Returns how
/// many ended.
pub async fn delete_for_user(db: &Db, user_id: &UserId) -> Result<u64, sqlx::Error> {
    on_pool!(db, p => sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))
}

/// Stores what a session keeps of an identity provider's tokens (`sealed`: encrypted by the
/// caller under a key only the session's token gives). Returns whether the session exists.
pub async fn set_idp_tokens(db: &Db, token: &str, sealed: &str) -> Result<bool, sqlx::Error> {
    on_pool!(db, p => sqlx::query("UPDATE sessions SET idp_tokens = $2 WHERE token_hash = $1")
        .bind(token_hash(token))
        .bind(sealed)
        .execute(p)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// The sealed identity provider tokens of a live session, if it has any.
pub async fn idp_tokens(db: &Db, token: &str, now: i64) -> Result<Option<String>, sqlx::Error> {
    on_pool!(db, p => Ok(sqlx::query_scalar::<_, Option<String>>(
        "SELECT idp_tokens FROM sessions WHERE token_hash = $1 AND expires_ms > $2",
    )
    .bind(token_hash(token))
    .bind(now)
    .fetch_optional(p)
    .await?
    .flatten()))
}

/// Removes sessions past their expiry. Returns how many.
pub async fn delete_expired(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    on_pool!(db, p => sqlx::query("DELETE FROM sessions WHERE expires_ms <= $1")
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))
}

/// Live sessions of a user.
pub async fn count_for_user(db: &Db, user_id: &UserId, now: i64) -> Result<i64, sqlx::Error> {
    on_pool!(db, p => sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND expires_ms > $2")
        .bind(user_id)
        .bind(now)
        .fetch_one(p)
        .await)
}
