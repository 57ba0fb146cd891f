//! Accounts. Anonymous visitors are users too (`anonymous = true`, no e-mail), so that their
//! uploads follow the same rules and signing up can simply claim them.

use sqlx::Row;

use crate::db::{Db, now_ms};
use crate::{ids, on_pool};

/// A user row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: String,
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
}

const COLUMNS: &str = "id, email, is_admin, anonymous, tz, min_play_ms";

macro_rules! user_row {
    ($r:expr) => {
        User {
            id: $r.get("id"),
            email: $r.get("email"),
            is_admin: $r.get("is_admin"),
            anonymous: $r.get("anonymous"),
            tz: $r.get("tz"),
            min_play_ms: $r.get("min_play_ms"),
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
    let id = ids::new_id();
    let email = email.map(|e| e.trim().to_lowercase());
    on_pool!(db, p => sqlx::query(
        "INSERT INTO users (id, email, password_hash, anonymous, created_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(&email)
    .bind(password_hash)
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
    })
}

/// A user by id.
pub async fn by_id(db: &Db, id: &str) -> Result<Option<User>, sqlx::Error> {
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
pub async fn all_ids(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    on_pool!(db, p => sqlx::query_scalar("SELECT id FROM users ORDER BY id").fetch_all(p).await)
}
