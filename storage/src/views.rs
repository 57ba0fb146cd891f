//! Finished views of a user's data, stored by whoever computed them (the worker, after the
//! user's artifact changed) for every web instance to read: one small row instead of
//! preparing the user's plays. A view counts only for the data version and the settings it was
//! computed under; [`get`] finds nothing otherwise.

use std::io::{Read, Write};

use sqlx::Row;

use crate::db::{Db, Tx};
use crate::users::User;
use crate::{on_pool, on_tx};

const PUT: &str = "INSERT INTO views (user_id, name, version, tz, min_play_ms, body) \
                   VALUES ($1, $2, $3, $4, $5, $6) \
                   ON CONFLICT (user_id, name) DO UPDATE SET version = excluded.version, \
                   tz = excluded.tz, min_play_ms = excluded.min_play_ms, body = excluded.body \
                   WHERE views.version <= excluded.version";

/// The query of [`PUT`] with its values bound, typed for whichever engine runs it.
macro_rules! put_query {
    ($user:expr, $version:expr, $name:expr, $bytes:expr) => {
        sqlx::query(PUT)
            .bind(&$user.id)
            .bind($name)
            .bind($version)
            .bind(&$user.tz)
            .bind($user.min_play_ms)
            .bind($bytes)
    };
}

/// Stores (or replaces, deflated) the view `name` of `user`, computed from data version
/// `version` under `user`'s settings. A row for an older version never replaces a newer one.
pub async fn put(
    db: &Db,
    user: &User,
    version: i64,
    name: &str,
    body: &str,
) -> Result<(), sqlx::Error> {
    let bytes = deflate(body)?;
    on_pool!(db, p => put_query!(user, version, name, &bytes).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// [`put`] inside a transaction: the worker stores the views a user opens first in the
/// transaction that marks their upload ready.
pub async fn put_in_tx(
    tx: &mut Tx,
    user: &User,
    version: i64,
    name: &str,
    body: &str,
) -> Result<(), sqlx::Error> {
    let bytes = deflate(body)?;
    on_tx!(tx, c => put_query!(user, version, name, &bytes).execute(&mut **c).await.map(|_| ()))?;
    Ok(())
}

fn deflate(body: &str) -> Result<Vec<u8>, sqlx::Error> {
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
    z.write_all(body.as_bytes()).map_err(sqlx::Error::Io)?;
    z.finish().map_err(sqlx::Error::Io)
}

/// The view `name` of `user` if one was stored for their current data version and settings.
pub async fn get(db: &Db, user: &User, name: &str) -> Result<Option<String>, sqlx::Error> {
    let sql = "SELECT body FROM views WHERE user_id = $1 AND name = $2 AND version = $3 \
               AND tz = $4 AND min_play_ms = $5";
    on_pool!(db, p => {
        let row = sqlx::query(sql)
            .bind(&user.id)
            .bind(name)
            .bind(user.stats_version)
            .bind(&user.tz)
            .bind(user.min_play_ms)
            .fetch_optional(p)
            .await?;
        row.map(|r| {
            let mut text = String::new();
            flate2::read::DeflateDecoder::new(&r.get::<Vec<u8>, _>("body")[..])
                .read_to_string(&mut text)
                .map(|_| text)
                .map_err(sqlx::Error::Io)
        })
        .transpose()
    })
}
