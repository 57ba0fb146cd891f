//! A user's streams and the pre-aggregated stats built from them.
//!
//! Every stream of a user is kept once in the user's artifact ([`schema::artifact`]), with the
//! uploads that contain it, so deleting one upload never touches what another holds. Versions
//! before the artifact kept one row per play and upload in `plays` (keyed by a digest of the
//! stream's identity, [`schema::dedupe::stream_digest`]) and stats documents per region in
//! `stats`: a process starting on such a database reads each user's rows once, writes their
//! artifact and deletes the rows ([`users_with_rows`], [`load_for_user`],
//! [`delete_rows_for_user`]), then migration 10 drops both tables
//! ([`crate::db::CONTRACT_PLAYS`]).

use schema::{Country, Kind, Platform, Play, Source, Strings, Sym};
use sqlx::Row;

use crate::db::Tx;
use crate::ids::{UploadId, UserId};
use crate::on_tx;

fn kind_from(c: i16) -> Kind {
    match c {
        0 => Kind::Track,
        1 => Kind::Episode,
        2 => Kind::Audiobook,
        _ => Kind::Unknown,
    }
}

fn platform_from(c: i16) -> Platform {
    Platform::ALL
        .get(c as usize)
        .copied()
        .unwrap_or(Platform::Other)
}

/// Deletes a user's play rows and region stats: versions before the artifact kept them;
/// once the user's artifact holds every stream they are carried over and go.
pub async fn delete_rows_for_user(tx: &mut Tx, user_id: &UserId) -> Result<u64, sqlx::Error> {
    on_tx!(tx, c => {
        sqlx::query("DELETE FROM stats WHERE user_id = $1").bind(user_id).execute(&mut **c).await?;
        sqlx::query("DELETE FROM plays WHERE user_id = $1").bind(user_id).execute(&mut **c).await.map(|r| r.rows_affected())
    })
}

/// A stored play with the upload it belongs to.
#[derive(Debug, Clone)]
pub struct StoredPlay {
    /// The upload.
    pub upload_id: UploadId,
    /// Its stream digest.
    pub key: [u8; 16],
    /// The play, on the caller's string table.
    pub play: Play,
}

macro_rules! load_rows {
    ($c:expr, $user:expr, $except:expr, $strings:expr) => {{
        let rows = sqlx::query(
            "SELECT p.upload_id, p.stream_key, p.end_ms, p.ms_played, p.kind, p.source, p.title, p.creator, p.collection, p.uri, \
             p.reason_start, p.reason_end, p.shuffle, p.skipped, p.offline, p.incognito, p.platform, p.country \
             FROM uploads u JOIN plays p ON p.upload_id = u.id \
             WHERE u.owner_id = $1 AND u.state <> 'deleting' AND u.id <> $2",
        )
        .bind($user)
        .bind($except)
        .fetch_all(&mut **$c)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let mut sym = |col: &str| -> Sym {
                match r.get::<Option<&str>, _>(col) {
                    Some(s) if !s.is_empty() => $strings.intern(s),
                    _ => Sym::NONE,
                }
            };
            let play = Play {
                end_ms: r.get("end_ms"),
                ms_played: r.get::<i64, _>("ms_played").max(0) as u64,
                kind: kind_from(r.get("kind")),
                source: if r.get::<i16, _>("source") == 1 { Source::Account } else { Source::Extended },
                title: sym("title"),
                creator: sym("creator"),
                collection: sym("collection"),
                uri: sym("uri"),
                reason_start: sym("reason_start"),
                reason_end: sym("reason_end"),
                shuffle: r.get("shuffle"),
                skipped: r.get("skipped"),
                offline: r.get("offline"),
                incognito: r.get("incognito"),
                platform: platform_from(r.get("platform")),
                country: Country::parse(r.get("country")),
            };
            let key: Vec<u8> = r.get("stream_key");
            let mut k = [0u8; 16];
            if key.len() == 16 {
                k.copy_from_slice(&key);
            }
            out.push(StoredPlay { upload_id: r.get("upload_id"), key: k, play });
        }
        out
    }};
}

/// The play rows of a user's uploads other than `except_upload` and those being deleted,
/// onto `strings`: what versions before the artifact stored, read once to write the user's
/// artifact.
pub async fn load_for_user(
    tx: &mut Tx,
    user_id: &UserId,
    except_upload: Option<&UploadId>,
    strings: &mut Strings,
) -> Result<Vec<StoredPlay>, sqlx::Error> {
    let except_upload = except_upload.map_or("", UploadId::as_str);
    Ok(match tx {
        Tx::Sqlite(c) => load_rows!(c, user_id, except_upload, strings),
        Tx::Postgres(c) => load_rows!(c, user_id, except_upload, strings),
    })
}

/// Users who still have play rows (stored before artifacts), before migration 10 only.
pub async fn users_with_rows(db: &crate::db::Db) -> Result<Vec<UserId>, sqlx::Error> {
    crate::on_pool!(db, p => sqlx::query_scalar("SELECT DISTINCT user_id FROM plays ORDER BY user_id")
        .fetch_all(p)
        .await)
}

/// Locks a user's stats against concurrent rewrites until the transaction ends (SQLite's
/// `BEGIN IMMEDIATE` already holds the database's write lock).
pub async fn lock_user(tx: &mut Tx, user_id: &UserId) -> Result<(), sqlx::Error> {
    if let Tx::Postgres(c) = tx {
        sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
            .bind(user_id)
            .execute(&mut **c)
            .await?;
    }
    Ok(())
}

/// A user's `stats_version` inside a transaction that holds their row ([`lock_user`]):
/// nobody else bumps it before the transaction ends, so the next [`replace_artifact`] in it
/// stamps exactly this plus one.
pub async fn data_version(tx: &mut Tx, user_id: &UserId) -> Result<i64, sqlx::Error> {
    on_tx!(tx, c => sqlx::query_scalar("SELECT stats_version FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&mut **c)
        .await)
}

/// A user's play artifact as stored (`schema::artifact`).
#[derive(Debug, Clone)]
pub struct StoredArtifact {
    /// The encoding's version.
    pub format: i16,
    /// The user's `stats_version` when it was written.
    pub version: i64,
    /// Streams in it.
    pub streams: i64,
    /// The encoded artifact.
    pub bytes: Vec<u8>,
}

/// Replaces a user's artifact, bumping their `stats_version` and stamping the artifact with
/// it.
pub async fn replace_artifact(
    tx: &mut Tx,
    user_id: &UserId,
    format: u8,
    streams: usize,
    bytes: &[u8],
) -> Result<(), sqlx::Error> {
    on_tx!(tx, c => {
        sqlx::query("UPDATE users SET stats_version = stats_version + 1 WHERE id = $1")
            .bind(user_id)
            .execute(&mut **c)
            .await?;
        sqlx::query(
            "INSERT INTO artifacts (user_id, format, version, streams, bytes) \
             SELECT id, $2, stats_version, $3, $4 FROM users WHERE id = $1 \
             ON CONFLICT (user_id) DO UPDATE SET format = excluded.format, version = excluded.version, \
             streams = excluded.streams, bytes = excluded.bytes",
        )
        .bind(user_id)
        .bind(i16::from(format))
        .bind(streams as i64)
        .bind(bytes)
        .execute(&mut **c)
        .await?;
        Ok(())
    })
}

/// Users whose artifact is of an encoding older than `format`.
pub async fn users_with_artifacts_before(
    db: &crate::db::Db,
    format: u8,
) -> Result<Vec<UserId>, sqlx::Error> {
    crate::on_pool!(db, p => sqlx::query_scalar(
        "SELECT user_id FROM artifacts WHERE format < $1 ORDER BY user_id",
    )
    .bind(i16::from(format))
    .fetch_all(p)
    .await)
}

/// Replaces a user's artifact with the same streams in another encoding: its version (and the
/// user's `stats_version`) stays, since every view of it is unchanged.
pub async fn reencode_artifact(
    tx: &mut Tx,
    user_id: &UserId,
    format: u8,
    bytes: &[u8],
) -> Result<(), sqlx::Error> {
    on_tx!(tx, c => {
        sqlx::query("UPDATE artifacts SET format = $2, bytes = $3 WHERE user_id = $1")
            .bind(user_id)
            .bind(i16::from(format))
            .bind(bytes)
            .execute(&mut **c)
            .await?;
        Ok(())
    })
}

/// A user's artifact inside a write transaction (the user's row locked).
pub async fn artifact_in_tx(
    tx: &mut Tx,
    user_id: &UserId,
) -> Result<Option<StoredArtifact>, sqlx::Error> {
    let row: Option<ArtifactRow> = on_tx!(tx, c => sqlx::query_as(ARTIFACT)
        .bind(user_id)
        .fetch_optional(&mut **c)
        .await)?;
    Ok(row.map(stored_artifact))
}

/// The columns of an artifact row.
type ArtifactRow = (i16, i64, i64, Vec<u8>);

const ARTIFACT: &str = "SELECT format, version, streams, bytes FROM artifacts WHERE user_id = $1";

fn stored_artifact((format, version, streams, bytes): ArtifactRow) -> StoredArtifact {
    StoredArtifact {
        format,
        version,
        streams,
        bytes,
    }
}

/// The uploads of a user whose streams no longer count (being deleted, or failed).
pub async fn gone_uploads(tx: &mut Tx, user_id: &UserId) -> Result<Vec<UploadId>, sqlx::Error> {
    on_tx!(tx, c => sqlx::query_scalar(
        "SELECT id FROM uploads WHERE owner_id = $1 AND state IN ('deleting', 'failed')",
    )
    .bind(user_id)
    .fetch_all(&mut **c)
    .await)
}

/// A user's artifact, when the worker has written one.
pub async fn artifact_for_user(
    db: &crate::db::Db,
    user_id: &UserId,
) -> Result<Option<StoredArtifact>, sqlx::Error> {
    let row: Option<ArtifactRow> = crate::on_pool!(db, p => sqlx::query_as(ARTIFACT)
        .bind(user_id)
        .fetch_optional(p)
        .await)?;
    Ok(row.map(stored_artifact))
}

/// Two pieces of a user's artifact ([`artifact_parts`]), and what says which artifact they
/// are of.
#[derive(Debug, Clone)]
pub struct ArtifactParts {
    /// The encoding's version.
    pub format: i16,
    /// The user's `stats_version` when it was written: two reads of the same version read the
    /// same bytes.
    pub version: i64,
    /// Its whole length in bytes.
    pub len: i64,
    /// The bytes asked for, each cut short where the artifact ends.
    pub parts: [Vec<u8>; 2],
}

/// Two pieces of a user's artifact, each `(offset, length)`, read without the rest, when the
/// worker has written one. PostgreSQL stores the column out of line and uncompressed
/// (`STORAGE EXTERNAL`), so it reads only the chunks holding the pieces; SQLite reads the
/// value's pages and copies out the pieces.
pub async fn artifact_parts(
    db: &crate::db::Db,
    user_id: &UserId,
    parts: [(usize, usize); 2],
) -> Result<Option<ArtifactParts>, sqlx::Error> {
    // substr counts from 1.
    let int = |n: usize| {
        i32::try_from(n).map_err(|_| sqlx::Error::Protocol(format!("{n} is past an artifact")))
    };
    let [(a, a_len), (b, b_len)] = parts;
    let (a, a_len, b, b_len) = (int(a + 1)?, int(a_len)?, int(b + 1)?, int(b_len)?);
    type Row = (i16, i64, i64, Vec<u8>, Vec<u8>);
    let row: Option<Row> = crate::on_pool!(db, p => sqlx::query_as(
        "SELECT format, version, CAST(length(bytes) AS BIGINT), substr(bytes, $2, $3), \
         substr(bytes, $4, $5) FROM artifacts WHERE user_id = $1",
    )
    .bind(user_id)
    .bind(a)
    .bind(a_len)
    .bind(b)
    .bind(b_len)
    .fetch_optional(p)
    .await)?;
    Ok(row.map(|(format, version, len, x, y)| ArtifactParts {
        format,
        version,
        len,
        parts: [x, y],
    }))
}
