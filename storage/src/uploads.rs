//! Uploads: one file (a JSON file or Spotify's zip) a user gave us, its object, and where it is
//! on its way `queued → processing → ready | failed` (and `deleting` on its way out).

use sqlx::Row;

use crate::db::{Db, Tx, now_ms};
use crate::ids::{UploadId, UserId};
use crate::{on_pool, on_tx};

/// Where an upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Stored, waiting for a worker.
    Queued,
    /// A worker is on it.
    Processing,
    /// Its plays and stats are in.
    Ready,
    /// It could not be read; `reason` says why.
    Failed,
    /// Being deleted (its object and plays go first, then the row).
    Deleting,
}

impl State {
    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Processing => "processing",
            State::Ready => "ready",
            State::Failed => "failed",
            State::Deleting => "deleting",
        }
    }

    fn parse(s: &str) -> State {
        match s {
            "queued" => State::Queued,
            "processing" => State::Processing,
            "ready" => State::Ready,
            "deleting" => State::Deleting,
            _ => State::Failed,
        }
    }
}

/// An upload row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// Id.
    pub id: UploadId,
    /// Owner (user id).
    pub owner_id: UserId,
    /// `uploads/<owner>/<id>/<file name>`.
    pub object_key: String,
    /// The file name as the user had it.
    pub original_name: String,
    /// Bytes.
    pub size_bytes: i64,
    /// SHA-256, hex.
    pub checksum: String,
    /// Where it is.
    pub state: State,
    /// Why it failed.
    pub reason: Option<String>,
    /// Summary JSON when ready.
    pub summary: Option<String>,
    /// Parser version that produced its plays.
    pub parser_version: i32,
    /// Created.
    pub created_ms: i64,
    /// Last state change.
    pub updated_ms: i64,
    /// When an anonymous upload is deleted.
    pub expires_ms: Option<i64>,
    /// The built-in sample history, not the user's own.
    pub sample: bool,
}

const COLUMNS: &str = "id, owner_id, object_key, original_name, size_bytes, checksum, state, reason, summary, \
                       parser_version, created_ms, updated_ms, expires_ms, sample";

macro_rules! upload_row {
    ($r:expr) => {
        Upload {
            id: $r.get("id"),
            owner_id: $r.get("owner_id"),
            object_key: $r.get("object_key"),
            original_name: $r.get("original_name"),
            size_bytes: $r.get("size_bytes"),
            checksum: $r.get("checksum"),
            state: State::parse($r.get::<&str, _>("state")),
            reason: $r.get("reason"),
            summary: $r.get("summary"),
            parser_version: $r.get("parser_version"),
            created_ms: $r.get("created_ms"),
            updated_ms: $r.get("updated_ms"),
            expires_ms: $r.get("expires_ms"),
            sample: $r.get("sample"),
        }
    };
}

/// Makes a file name safe to be the last segment of an object key: no path separators, no
/// control characters, no leading dots, at most 200 bytes.
pub fn safe_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let mut out: String = base
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    while out.starts_with('.') {
        out.remove(0);
    }
    while out.len() > 200 {
        out.pop();
    }
    if out.trim().is_empty() {
        "upload".to_string()
    } else {
        out
    }
}

/// The object key of an upload.
pub fn object_key(owner_id: &UserId, upload_id: &UploadId, file_name: &str) -> String {
    format!(
        "uploads/{owner_id}/{upload_id}/{}",
        safe_file_name(file_name)
    )
}

/// Where an upload's scrubbed copy is stored (see `ingest_worker::scrub`): its key with
/// `clean/` for `uploads/`, a prefix whose objects start no ingest. `None` for a key that is
/// not an original upload's (a scrubbed copy's, say).
pub fn scrubbed_key(key: &str) -> Option<String> {
    key.strip_prefix("uploads/")
        .map(|rest| format!("clean/{rest}"))
}

/// The keys an upload's file may have: the original's and the scrubbed copy's.
pub fn stored_keys(key: &str) -> Vec<String> {
    match (scrubbed_key(key), key.strip_prefix("clean/")) {
        (Some(scrubbed), _) => vec![key.to_string(), scrubbed],
        (None, Some(rest)) => vec![format!("uploads/{rest}"), key.to_string()],
        (None, None) => vec![key.to_string()],
    }
}

/// Points an upload at another object (its scrubbed copy) if it still has `from` and is not
/// being deleted; returns whether it did.
pub async fn replace_object(
    db: &Db,
    id: &UploadId,
    from: &str,
    to: &str,
) -> Result<bool, sqlx::Error> {
    let n = on_pool!(db, p => sqlx::query(
        "UPDATE uploads SET object_key = $3 WHERE id = $1 AND object_key = $2 AND state <> 'deleting'",
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// A new upload, before its object is stored.
#[derive(Debug, Clone)]
pub struct NewUpload<'a> {
    /// Owner.
    pub owner_id: &'a UserId,
    /// Name as given.
    pub original_name: &'a str,
    /// Expiry for anonymous uploads.
    pub expires_ms: Option<i64>,
    /// The built-in sample history.
    pub sample: bool,
}

/// Inserts an upload row (state `queued`, size and checksum unknown until stored) and returns
/// it with its id and object key.
pub async fn insert(db: &Db, new: &NewUpload<'_>) -> Result<Upload, sqlx::Error> {
    let id = UploadId::new();
    let key = object_key(new.owner_id, &id, new.original_name);
    // Shown back to the user; control characters (NUL above all) have no place in it.
    let original_name: String = new
        .original_name
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    let now = now_ms();
    on_pool!(db, p => sqlx::query(
        "INSERT INTO uploads (id, owner_id, object_key, original_name, size_bytes, checksum, state, created_ms, updated_ms, expires_ms, sample) \
         VALUES ($1, $2, $3, $4, 0, '', 'queued', $5, $5, $6, $7)",
    )
    .bind(&id)
    .bind(new.owner_id)
    .bind(&key)
    .bind(&original_name)
    .bind(now)
    .bind(new.expires_ms)
    .bind(new.sample)
    .execute(p)
    .await.map(|r| r.rows_affected()))?;
    Ok(Upload {
        id,
        owner_id: new.owner_id.clone(),
        object_key: key,
        original_name,
        size_bytes: 0,
        checksum: String::new(),
        state: State::Queued,
        reason: None,
        summary: None,
        parser_version: 0,
        created_ms: now,
        updated_ms: now,
        expires_ms: new.expires_ms,
        sample: new.sample,
    })
}

/// Recreates the row of an upload whose object outlived it (the database was restored from a
/// backup taken before the upload arrived): under the id and key its object has, `queued`,
/// size and checksum unknown (the worker measures the file, as it does a direct upload's).
/// Returns whether it inserted a row (false: the upload has one).
pub async fn insert_recovered(
    db: &Db,
    id: &UploadId,
    owner_id: &UserId,
    key: &str,
    original_name: &str,
) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let n = on_pool!(db, p => sqlx::query(
        "INSERT INTO uploads (id, owner_id, object_key, original_name, size_bytes, checksum, state, created_ms, updated_ms, expires_ms, sample) \
         VALUES ($1, $2, $3, $4, 0, '', 'queued', $5, $5, NULL, $6) ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(owner_id)
    .bind(key)
    .bind(original_name)
    .bind(now)
    .bind(false)
    .execute(p)
    .await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Records the stored object's size and checksum.
pub async fn set_object(
    db: &Db,
    id: &UploadId,
    size: u64,
    checksum: &str,
) -> Result<(), sqlx::Error> {
    on_pool!(db, p => sqlx::query("UPDATE uploads SET size_bytes = $2, checksum = $3, updated_ms = $4 WHERE id = $1")
        .bind(id)
        .bind(size as i64)
        .bind(checksum)
        .bind(now_ms())
        .execute(p)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The upload stored under an object key (the worker trusts this row, never the key alone).
pub async fn by_key(db: &Db, key: &str) -> Result<Option<Upload>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM uploads WHERE object_key = $1");
    on_pool!(db, p => Ok(sqlx::query(&sql).bind(key).fetch_optional(p).await?.map(|r| upload_row!(r))))
}

/// An upload by id, only if `owner_id` owns it (everyone else gets `None`: a 404, never a 403).
pub async fn by_id_for_owner(
    db: &Db,
    id: &UploadId,
    owner_id: &UserId,
) -> Result<Option<Upload>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM uploads WHERE id = $1 AND owner_id = $2");
    on_pool!(db, p => Ok(sqlx::query(&sql).bind(id).bind(owner_id).fetch_optional(p).await?.map(|r| upload_row!(r))))
}

/// An upload by id, whoever owns it (admin and worker use only).
pub async fn by_id(db: &Db, id: &UploadId) -> Result<Option<Upload>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM uploads WHERE id = $1");
    on_pool!(db, p => Ok(sqlx::query(&sql).bind(id).fetch_optional(p).await?.map(|r| upload_row!(r))))
}

/// A user's uploads, newest first.
pub async fn list_for_owner(db: &Db, owner_id: &UserId) -> Result<Vec<Upload>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM uploads WHERE owner_id = $1 ORDER BY created_ms DESC, id");
    on_pool!(db, p => Ok(sqlx::query(&sql).bind(owner_id).fetch_all(p).await?.iter().map(|r| upload_row!(r)).collect()))
}

/// How many uploads `owner_id` keeps (those being deleted aside) and their bytes.
pub async fn usage(db: &Db, owner_id: &UserId) -> Result<(u64, u64), sqlx::Error> {
    let sql = "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) AS bytes \
               FROM uploads WHERE owner_id = $1 AND state <> 'deleting'";
    on_pool!(db, p => {
        let r = sqlx::query(sql).bind(owner_id).fetch_one(p).await?;
        let (n, bytes): (i64, i64) = (r.get("n"), r.get("bytes"));
        Ok((n as u64, bytes.max(0) as u64))
    })
}

/// Which uploads bulk re-ingestion takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every upload that has an object.
    All,
    /// One user's.
    User(UserId),
    /// One upload.
    Upload(UploadId),
    /// Uploads whose plays came from a parser older than this version.
    ParserOlderThan(i32),
}

/// Uploads matching a selection (not those being deleted), oldest first.
pub async fn select(db: &Db, sel: &Selection) -> Result<Vec<Upload>, sqlx::Error> {
    let (cond, arg): (&str, Option<String>) = match sel {
        Selection::All => ("TRUE", None),
        Selection::User(u) => ("owner_id = $1", Some(u.to_string())),
        Selection::Upload(u) => ("id = $1", Some(u.to_string())),
        Selection::ParserOlderThan(v) => {
            ("parser_version < CAST($1 AS INTEGER)", Some(v.to_string()))
        }
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM uploads WHERE state <> 'deleting' AND size_bytes > 0 AND {cond} ORDER BY created_ms, id"
    );
    on_pool!(db, p => {
        let mut q = sqlx::query(&sql);
        if let Some(a) = &arg {
            q = q.bind(a);
        }
        Ok(q.fetch_all(p).await?.iter().map(|r| upload_row!(r)).collect())
    })
}

/// Moves an upload to `state` (with a reason for `failed`), unless it is being deleted.
/// Returns whether a row changed.
pub async fn set_state(
    db: &Db,
    id: &UploadId,
    state: State,
    reason: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let r = on_pool!(db, p => sqlx::query(
        "UPDATE uploads SET state = $2, reason = $3, updated_ms = $4 WHERE id = $1 AND state <> 'deleting'",
    )
    .bind(id)
    .bind(state.as_str())
    .bind(reason)
    .bind(now_ms())
    .execute(p)
    .await.map(|r| r.rows_affected()))?;
    Ok(r > 0)
}

/// Marks an upload ready with its summary, inside the ingest transaction.
pub async fn mark_ready(
    tx: &mut Tx,
    id: &UploadId,
    summary: &str,
    parser_version: i32,
) -> Result<bool, sqlx::Error> {
    let r = on_tx!(tx, c => sqlx::query(
        "UPDATE uploads SET state = 'ready', reason = NULL, summary = $2, parser_version = $3, updated_ms = $4 \
         WHERE id = $1 AND state <> 'deleting'",
    )
    .bind(id)
    .bind(summary)
    .bind(parser_version)
    .bind(now_ms())
    .execute(&mut **c)
    .await.map(|r| r.rows_affected()))?;
    Ok(r > 0)
}

/// Uploads stuck in `deleting` (a crash halfway through a delete), and anonymous uploads past
/// their expiry: what the sweeper finishes.
pub async fn to_sweep(db: &Db, now: i64) -> Result<Vec<Upload>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM uploads WHERE state = 'deleting' OR (expires_ms IS NOT NULL AND expires_ms <= $1) ORDER BY created_ms"
    );
    on_pool!(db, p => Ok(sqlx::query(&sql).bind(now).fetch_all(p).await?.iter().map(|r| upload_row!(r)).collect()))
}

/// Uploads that failed (the file could not be read) and have not changed since `before_ms`.
pub async fn failed_before(db: &Db, before_ms: i64) -> Result<Vec<Upload>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM uploads WHERE state = 'failed' AND updated_ms <= $1 ORDER BY created_ms"
    );
    on_pool!(db, p => Ok(sqlx::query(&sql).bind(before_ms).fetch_all(p).await?.iter().map(|r| upload_row!(r)).collect()))
}

/// Ready uploads still stored as uploaded (ingested before scrubbed copies existed) and
/// unchanged since `before_ms` (an ingest that just finished scrubs its own), oldest first,
/// at most `limit`.
pub async fn unscrubbed(db: &Db, before_ms: i64, limit: i64) -> Result<Vec<Upload>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM uploads WHERE state = 'ready' AND object_key LIKE 'uploads/%' \
         AND updated_ms <= $1 ORDER BY created_ms LIMIT $2"
    );
    on_pool!(db, p => Ok(sqlx::query(&sql).bind(before_ms).bind(limit).fetch_all(p).await?.iter().map(|r| upload_row!(r)).collect()))
}

/// Marks an upload as changed now (without changing anything else).
pub async fn touch(db: &Db, id: &UploadId) -> Result<(), sqlx::Error> {
    on_pool!(db, p => sqlx::query("UPDATE uploads SET updated_ms = $2 WHERE id = $1")
        .bind(id)
        .bind(now_ms())
        .execute(p)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Uploads whose file never arrived: still `queued` without a checksum, created before
/// `before_ms` (a browser that got a presigned POST form and never posted it).
pub async fn never_arrived(db: &Db, before_ms: i64) -> Result<Vec<Upload>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM uploads WHERE state = 'queued' AND checksum = '' AND created_ms <= $1 ORDER BY created_ms"
    );
    on_pool!(db, p => Ok(sqlx::query(&sql).bind(before_ms).fetch_all(p).await?.iter().map(|r| upload_row!(r)).collect()))
}

/// Marks an upload as being deleted (from any state).
pub async fn set_deleting(db: &Db, id: &UploadId) -> Result<(), sqlx::Error> {
    on_pool!(db, p => sqlx::query("UPDATE uploads SET state = 'deleting', updated_ms = $2 WHERE id = $1")
        .bind(id)
        .bind(now_ms())
        .execute(p)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Gives every upload of `from` to `to`, without expiry (a visitor's uploads kept by the
/// account they signed in to); returns how many moved.
pub async fn reown(tx: &mut Tx, from: &UserId, to: &UserId) -> Result<u64, sqlx::Error> {
    on_tx!(tx, c => sqlx::query("UPDATE uploads SET owner_id = $2, expires_ms = NULL, updated_ms = $3 WHERE owner_id = $1")
        .bind(from)
        .bind(to)
        .bind(now_ms())
        .execute(&mut **c)
        .await
        .map(|r| r.rows_affected()))
}

/// Deletes an upload row (its plays go with it).
pub async fn delete_row(tx: &mut Tx, id: &UploadId) -> Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("DELETE FROM uploads WHERE id = $1").bind(id).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Marks an upload failed with its reason inside a transaction, unless it is being deleted.
/// Returns whether a row changed.
pub async fn set_failed(tx: &mut Tx, id: &UploadId, reason: &str) -> Result<bool, sqlx::Error> {
    let r = on_tx!(tx, c => sqlx::query(
        "UPDATE uploads SET state = 'failed', reason = $2, updated_ms = $3 WHERE id = $1 AND state <> 'deleting'",
    )
    .bind(id)
    .bind(reason)
    .bind(now_ms())
    .execute(&mut **c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(r > 0)
}

/// The most recent failed uploads, newest first (the admin page's "recent failures").
pub async fn recent_failures(db: &Db, limit: i64) -> Result<Vec<Upload>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM uploads WHERE state = 'failed' ORDER BY updated_ms DESC, id LIMIT $1"
    );
    on_pool!(db, p => Ok(sqlx::query(&sql).bind(limit).fetch_all(p).await?.iter().map(|r| upload_row!(r)).collect()))
}

/// How many uploads are in each state, for a selection (the admin page's progress).
pub async fn count_by_state(
    db: &Db,
    owner_id: Option<&str>,
) -> Result<Vec<(State, i64)>, sqlx::Error> {
    let sql = match owner_id {
        Some(_) => {
            "SELECT state, COUNT(*) AS n FROM uploads WHERE owner_id = $1 GROUP BY state ORDER BY state"
        }
        None => "SELECT state, COUNT(*) AS n FROM uploads GROUP BY state ORDER BY state",
    };
    on_pool!(db, p => {
        let mut q = sqlx::query(sql);
        if let Some(o) = owner_id {
            q = q.bind(o);
        }
        Ok(q.fetch_all(p)
            .await?
            .iter()
            .map(|r| (State::parse(r.get::<&str, _>("state")), r.get::<i64, _>("n")))
            .collect())
    })
}
