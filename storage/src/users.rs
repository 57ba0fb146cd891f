//! Accounts. Anonymous visitors are users too (`anonymous = true`, no e-mail), so that their
//! uploads follow the same rules and signing up can simply claim them.

use sqlx::Row;

use crate::db::{Db, now_ms};
use crate::ids::UserId;
use crate::on_pool;

/// A user row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Lower-cased e-mail; none for anonymous visitors.
    pub email: Option<String>,
    /// Administrator.
    pub is_admin: bool,
    /// An anonymous visitor.
    pub anonymous: bool,
    /// IANA time zone for the dashboards.
    pub tz: String,
    /// Play threshold.
    pub min_play_ms: i64,
    /// Bumped by every rewrite of the user's stats (what the web tier caches is keyed by it).
    pub stats_version: i64,
}

const COLUMNS: &str = "id, email, is_admin, anonymous, tz, min_play_ms, stats_version";

macro_rules! user_row {
    ($r:expr) => {
        User {
            id: $r.get("id"),
            email: $r.get("email"),
            is_admin: $r.get("is_admin"),
            anonymous: $r.get("anonymous"),
            tz: $r.get("tz"),
            min_play_ms: $r.get("min_play_ms"),
            stats_version: $r.get("stats_version"),
        }
    };
}

/// Creates a user. `email` is stored lower-cased; `password_hash` is a PHC string (never a
/// password).
pub async fn create(
    db: &Db,
    email: Option<&str>,
    password_hash: Option<&str>,
    anonymous: bool,
) -> Result<User, sqlx::Error> {
    insert(db, email, password_hash, None, anonymous).await
}

async fn insert(
    db: &Db,
    email: Option<&str>,
    password_hash: Option<&str>,
    idp_subject: Option<&str>,
    anonymous: bool,
) -> Result<User, sqlx::Error> {
    let id = UserId::new();
    let email = email.map(|e| e.trim().to_lowercase());
    on_pool!(db, p => sqlx::query(
        "INSERT INTO users (id, email, password_hash, idp_subject, anonymous, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(&email)
    .bind(password_hash)
    .bind(idp_subject)
    .bind(anonymous)
    .bind(now_ms())
    .execute(p)
    .await.map(|r| r.rows_affected()))?;
    Ok(User {
        id,
        email,
        is_admin: false,
        anonymous,
        tz: "UTC".into(),
        min_play_ms: 30_000,
        stats_version: 0,
    })
}

/// A user by id.
pub async fn by_id(db: &Db, id: &UserId) -> Result<Option<User>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    on_pool!(db, p => Ok(sqlx::query(&sql).bind(id).fetch_optional(p).await?.map(|r| user_row!(r))))
}

/// A user by e-mail (case-insensitive).
pub async fn by_email(db: &Db, email: &str) -> Result<Option<User>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE email = $1");
    let email = email.trim().to_lowercase();
    on_pool!(db, p => Ok(sqlx::query(&sql).bind(&email).fetch_optional(p).await?.map(|r| user_row!(r))))
}

/// A user by e-mail, creating a registered (password-less) account when there is none: the
/// admin import's way to name a user.
pub async fn ensure_by_email(db: &Db, email: &str) -> Result<User, sqlx::Error> {
    if let Some(u) = by_email(db, email).await? {
        return Ok(u);
    }
    create(db, Some(email), None, false).await
}

/// Every user id (for bulk re-ingestion).
pub async fn all_ids(db: &Db) -> Result<Vec<UserId>, sqlx::Error> {
    on_pool!(db, p => sqlx::query_scalar("SELECT id FROM users ORDER BY id").fetch_all(p).await)
}

/// A user with their password hash, by e-mail, for signing in.
pub async fn credentials(
    db: &Db,
    email: &str,
) -> Result<Option<(User, Option<String>)>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS}, password_hash FROM users WHERE email = $1");
    let email = email.trim().to_lowercase();
    on_pool!(db, p => Ok(sqlx::query(&sql)
        .bind(&email)
        .fetch_optional(p)
        .await?
        .map(|r| (user_row!(r), r.get("password_hash")))))
}

/// A user's password hash, by id.
pub async fn password_hash(db: &Db, id: &UserId) -> Result<Option<String>, sqlx::Error> {
    on_pool!(db, p => Ok(sqlx::query_scalar::<_, Option<String>>("SELECT password_hash FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(p)
        .await?
        .flatten()))
}

/// Replaces a user's password hash (a PHC string).
pub async fn set_password(db: &Db, id: &UserId, password_hash: &str) -> Result<(), sqlx::Error> {
    on_pool!(db, p => sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
        .bind(id)
        .bind(password_hash)
        .execute(p)
        .await
        .map(|_| ()))
}

/// Creates an anonymous visitor, deleted with everything they uploaded after `expires_ms`.
pub async fn create_anonymous(db: &Db, expires_ms: i64) -> Result<User, sqlx::Error> {
    let user = create(db, None, None, true).await?;
    on_pool!(db, p => sqlx::query("UPDATE users SET expires_ms = $2 WHERE id = $1")
        .bind(&user.id)
        .bind(expires_ms)
        .execute(p)
        .await
        .map(|_| ()))?;
    Ok(user)
}

/// Why an anonymous visitor could not become an account.
#[derive(Debug)]
pub enum ClaimError {
    /// Another account has that e-mail (or, for [`claim_for_subject`], that subject).
    EmailTaken,
    /// The row is no longer an anonymous visitor's: claimed or deleted meanwhile.
    Gone,
    /// The database failed.
    Db(sqlx::Error),
}

/// Turns an anonymous visitor into a registered account in place: their uploads stop
/// expiring and keep their plays and stats (signing up claims them). One transaction.
pub async fn claim(
    db: &Db,
    id: &UserId,
    email: &str,
    password_hash: &str,
) -> Result<User, ClaimError> {
    claim_as(db, id, email, "password_hash", password_hash).await
}

/// [`claim`] for an account held by an identity provider: the row takes the provider's
/// `subject` instead of a password hash.
pub async fn claim_for_subject(
    db: &Db,
    id: &UserId,
    email: &str,
    subject: &str,
) -> Result<User, ClaimError> {
    claim_as(db, id, email, "idp_subject", subject).await
}

/// Claims the anonymous row `id` with `email` and `value` in `column` (a fixed name, never
/// input).
async fn claim_as(
    db: &Db,
    id: &UserId,
    email: &str,
    column: &'static str,
    value: &str,
) -> Result<User, ClaimError> {
    let email = email.trim().to_lowercase();
    let sql = format!(
        "UPDATE users SET email = $2, {column} = $3, anonymous = FALSE, expires_ms = NULL \
         WHERE id = $1 AND anonymous"
    );
    let mut tx = db.begin().await.map_err(ClaimError::Db)?;
    let r = crate::on_tx!(&mut tx, c => {
        let r = sqlx::query(&sql)
            .bind(id)
            .bind(&email)
            .bind(value)
            .execute(&mut **c)
            .await;
        match r {
            Ok(done) if done.rows_affected() == 0 => Ok(false),
            Ok(_) => sqlx::query("UPDATE uploads SET expires_ms = NULL WHERE owner_id = $1")
                .bind(id)
                .execute(&mut **c)
                .await
                .map(|_| true),
            Err(e) => Err(e),
        }
    });
    match r {
        Ok(true) => {}
        // Another request claimed the visitor first: their row is not this account's.
        Ok(false) => {
            tx.rollback().await.map_err(ClaimError::Db)?;
            return Err(ClaimError::Gone);
        }
        Err(e) if is_unique_violation(&e) => return Err(ClaimError::EmailTaken),
        Err(e) => return Err(ClaimError::Db(e)),
    }
    tx.commit().await.map_err(ClaimError::Db)?;
    by_id(db, id)
        .await
        .map_err(ClaimError::Db)?
        .ok_or(ClaimError::Db(sqlx::Error::RowNotFound))
}

/// The account an identity provider knows as `subject`.
pub async fn by_idp_subject(db: &Db, subject: &str) -> Result<Option<User>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE idp_subject = $1");
    on_pool!(db, p => Ok(sqlx::query(&sql).bind(subject).fetch_optional(p).await?.map(|r| user_row!(r))))
}

/// The provider subject a user row is linked to, if any.
pub async fn idp_subject(db: &Db, id: &UserId) -> Result<Option<String>, sqlx::Error> {
    on_pool!(db, p => Ok(sqlx::query_scalar::<_, Option<String>>("SELECT idp_subject FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(p)
        .await?
        .flatten()))
}

/// Creates a registered account (no password hash) for the person an identity provider
/// knows as `subject`. A taken e-mail or subject is a unique violation
/// ([`is_unique_violation`]).
pub async fn create_for_subject(db: &Db, email: &str, subject: &str) -> Result<User, sqlx::Error> {
    insert(db, Some(email), None, Some(subject), false).await
}

/// Links a registered account to the provider's `subject`, replacing any subject it had.
/// Returns whether it was linked (false: the row is gone or an anonymous visitor's).
pub async fn link_subject(db: &Db, id: &UserId, subject: &str) -> Result<bool, sqlx::Error> {
    on_pool!(db, p => sqlx::query(
        "UPDATE users SET idp_subject = $2 WHERE id = $1 AND NOT anonymous",
    )
    .bind(id)
    .bind(subject)
    .execute(p)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// Whether an error is a unique-constraint violation (an e-mail already taken).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// Stores a user's dashboard settings.
pub async fn set_settings(
    db: &Db,
    id: &UserId,
    tz: &str,
    min_play_ms: i64,
) -> Result<(), sqlx::Error> {
    on_pool!(db, p => sqlx::query("UPDATE users SET tz = $2, min_play_ms = $3 WHERE id = $1")
        .bind(id)
        .bind(tz)
        .bind(min_play_ms)
        .execute(p)
        .await
        .map(|_| ()))
}

/// Deletes a user row; their sessions and stats go with it (their uploads must be deleted
/// first, object by object).
pub async fn delete(db: &Db, id: &UserId) -> Result<(), sqlx::Error> {
    on_pool!(db, p => sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(p)
        .await
        .map(|_| ()))
}

/// Deletes a user row inside a transaction (their sessions, artifact and views go with it).
pub async fn delete_in_tx(tx: &mut crate::db::Tx, id: &UserId) -> Result<(), sqlx::Error> {
    crate::on_tx!(tx, c => sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(&mut **c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Whether a user row exists, inside a transaction.
pub async fn exists_in_tx(tx: &mut crate::db::Tx, id: &UserId) -> Result<bool, sqlx::Error> {
    let n: i64 = crate::on_tx!(tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&mut **c)
        .await)?;
    Ok(n > 0)
}

/// Anonymous visitors past their expiry.
pub async fn expired_anonymous(db: &Db, now: i64) -> Result<Vec<UserId>, sqlx::Error> {
    on_pool!(db, p => sqlx::query_scalar("SELECT id FROM users WHERE anonymous AND expires_ms IS NOT NULL AND expires_ms <= $1")
        .bind(now)
        .fetch_all(p)
        .await)
}

/// How many registered accounts and anonymous visitors there are.
pub async fn counts(db: &Db) -> Result<(i64, i64), sqlx::Error> {
    on_pool!(db, p => {
        let r = sqlx::query("SELECT COALESCE(SUM(CASE WHEN anonymous THEN 0 ELSE 1 END), 0) AS registered, \
                             COALESCE(SUM(CASE WHEN anonymous THEN 1 ELSE 0 END), 0) AS anon FROM users")
            .fetch_one(p)
            .await?;
        Ok((r.get::<i64, _>("registered"), r.get::<i64, _>("anon")))
    })
}

/// When an anonymous visitor (and everything they uploaded) is deleted.
pub async fn expires_ms(db: &Db, id: &UserId) -> Result<Option<i64>, sqlx::Error> {
    on_pool!(db, p => Ok(sqlx::query_scalar::<_, Option<i64>>("SELECT expires_ms FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(p)
        .await?
        .flatten()))
}
