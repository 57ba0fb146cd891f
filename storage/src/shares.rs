//! Share links: a read-only link to one view of one user's data, under a name the user chose.
//! The link's token is stored only as its SHA-256 ([`crate::sessions::token_hash`]), so the
//! database alone opens no link. The uploads the view was made of are frozen when the link is
//! made; a link dies with its user (the foreign key), at its expiry, and when it is revoked
//! (its row is deleted).

use sqlx::Row;

use crate::db::{Db, now_ms};
use crate::ids::{ShareId, UploadId, UserId};
use crate::on_pool;
use crate::sessions::token_hash;

/// A share link as stored (never its token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    /// Its id (what the owner revokes it by).
    pub id: ShareId,
    /// Whose data it shows.
    pub user_id: UserId,
    /// The name the viewer sees instead of the owner's e-mail.
    pub display_name: String,
    /// Which view: `dashboard`, `recap`, `compare`, `artist`.
    pub view: String,
    /// The view's query (its range, content kind, year, artist…), without the uploads.
    pub query: String,
    /// The upload ids the view is made of.
    pub uploads: Vec<UploadId>,
    /// When it was made.
    pub created_ms: i64,
    /// When it stops working.
    pub expires_ms: i64,
}

/// What a new link is made of.
#[derive(Debug, Clone)]
pub struct NewShare<'a> {
    /// Whose data.
    pub user_id: &'a UserId,
    /// The link's token (stored hashed).
    pub token: &'a str,
    /// The name the viewer sees.
    pub display_name: &'a str,
    /// Which view.
    pub view: &'a str,
    /// The view's query.
    pub query: &'a str,
    /// The uploads it is made of.
    pub uploads: &'a [UploadId],
    /// When it stops working.
    pub expires_ms: i64,
}

const COLUMNS: &str = "id, user_id, display_name, view, query, uploads, created_ms, expires_ms";

macro_rules! share_row {
    ($r:expr) => {{
        let r = $r;
        let uploads: String = r.get("uploads");
        Share {
            id: r.get("id"),
            user_id: r.get("user_id"),
            display_name: r.get("display_name"),
            view: r.get("view"),
            query: r.get("query"),
            uploads: split_ids(&uploads),
            created_ms: r.get("created_ms"),
            expires_ms: r.get("expires_ms"),
        }
    }};
}

fn split_ids(list: &str) -> Vec<UploadId> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(UploadId::stored)
        .collect()
}

/// Stores a new link; returns it.
pub async fn create(db: &Db, new: &NewShare<'_>) -> Result<Share, sqlx::Error> {
    let share = Share {
        id: ShareId::new(),
        user_id: new.user_id.clone(),
        display_name: new.display_name.to_string(),
        view: new.view.to_string(),
        query: new.query.to_string(),
        uploads: new.uploads.to_vec(),
        created_ms: now_ms(),
        expires_ms: new.expires_ms,
    };
    let sql = "INSERT INTO shares (id, user_id, token_hash, display_name, view, query, uploads, \
               created_ms, expires_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    on_pool!(db, p => sqlx::query(sql)
        .bind(&share.id)
        .bind(&share.user_id)
        .bind(token_hash(new.token))
        .bind(&share.display_name)
        .bind(&share.view)
        .bind(&share.query)
        .bind(share.uploads.join(","))
        .bind(share.created_ms)
        .bind(share.expires_ms)
        .execute(p)
        .await
        .map(|_| ()))?;
    Ok(share)
}

/// The live link `token` opens (not expired at `now`), if any.
pub async fn by_token(db: &Db, token: &str, now: i64) -> Result<Option<Share>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM shares WHERE token_hash = $1 AND expires_ms > $2");
    on_pool!(db, p => Ok(sqlx::query(&sql)
        .bind(token_hash(token))
        .bind(now)
        .fetch_optional(p)
        .await?
        .map(|r| share_row!(r))))
}

/// The user's live links (not expired at `now`), newest first.
pub async fn list_for_user(db: &Db, user_id: &UserId, now: i64) -> Result<Vec<Share>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM shares WHERE user_id = $1 AND expires_ms > $2 \
         ORDER BY created_ms DESC, id"
    );
    on_pool!(db, p => Ok(sqlx::query(&sql)
        .bind(user_id)
        .bind(now)
        .fetch_all(p)
        .await?
        .iter()
        .map(|r| share_row!(r))
        .collect()))
}

/// Revokes the user's link `id` (deletes it); whether there was one.
pub async fn revoke(db: &Db, user_id: &UserId, id: &ShareId) -> Result<bool, sqlx::Error> {
    on_pool!(db, p => Ok(sqlx::query("DELETE FROM shares WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(p)
        .await?
        .rows_affected() > 0))
}
