//! What a user hides from every view: artists, shows or tracks, by name (docs/DESIGN.md,
//! "Identity": an artist or show by its name, a track by its artist's name and its own).
//! Nothing of the user's data changes; every change bumps `users.stats_version`, so that every
//! prepared selection and finished view of the user is made again without (or with) them.

use sqlx::Row;

use crate::db::{Db, Tx, now_ms};
use crate::ids::UserId;
use crate::{on_pool, on_tx};

/// One hidden thing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hidden {
    /// `artist`, `show` or `track`.
    pub kind: String,
    /// Its name (a track's title).
    pub name: String,
    /// A track's artist; empty for artists and shows.
    pub by: String,
}

/// The user's hidden things, by kind, then name.
pub async fn list(db: &Db, user_id: &UserId) -> Result<Vec<Hidden>, sqlx::Error> {
    let sql =
        "SELECT kind, name, by_name FROM hidden WHERE user_id = $1 ORDER BY kind, name, by_name";
    on_pool!(db, p => Ok(sqlx::query(sql)
        .bind(user_id)
        .fetch_all(p)
        .await?
        .iter()
        .map(|r| Hidden {
            kind: r.get("kind"),
            name: r.get("name"),
            by: r.get("by_name"),
        })
        .collect()))
}

/// Replaces the user's hidden things with `all`, and bumps their data version.
pub async fn replace(db: &Db, user_id: &UserId, all: &[Hidden]) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => {
        sqlx::query("DELETE FROM hidden WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut **c)
            .await?;
        for h in all {
            sqlx::query(
                "INSERT INTO hidden (user_id, kind, name, by_name, created_ms) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(user_id)
            .bind(&h.kind)
            .bind(&h.name)
            .bind(&h.by)
            .bind(now_ms())
            .execute(&mut **c)
            .await?;
        }
        Ok::<(), sqlx::Error>(())
    })?;
    bump(&mut tx, user_id).await?;
    tx.commit().await
}

async fn bump(tx: &mut Tx, user_id: &str) -> Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("UPDATE users SET stats_version = stats_version + 1 WHERE id = $1")
        .bind(user_id)
        .execute(&mut **c)
        .await
        .map(|_| ()))
}
