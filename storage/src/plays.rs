//! Normalised plays and the pre-aggregated stats built from them.
//!
//! Plays are stored per upload, keyed by a digest of the stream's identity
//! ([`schema::dedupe::stream_digest`]), so two uploads that share a stream each keep their copy:
//! deleting one never touches the other's. Stats are stored per *region* (see
//! `ingest_worker::regions`): the uploads that contain a stream, and those whose extended
//! history shadows it. Each stream falls in exactly one region, so the stats of any selection
//! of uploads are the merge of the regions that count for it, and no stream is counted twice.

use schema::{Country, Kind, Platform, Play, Source, Strings, Sym};
use sqlx::{QueryBuilder, Row};

use crate::db::Tx;
use crate::on_tx;

fn kind_code(k: Kind) -> i16 {
    match k {
        Kind::Track => 0,
        Kind::Episode => 1,
        Kind::Audiobook => 2,
        Kind::Unknown => 3,
    }
}

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

fn platform_code(p: Platform) -> i16 {
    Platform::ALL
        .iter()
        .position(|x| *x == p)
        .unwrap_or(Platform::ALL.len() - 1) as i16
}

/// Rows per multi-row INSERT: 19 parameters each stays under SQLite's 32,766 and
/// PostgreSQL's 65,535 bind limits.
const BATCH: usize = 1000;

const INSERT: &str = "INSERT INTO plays (upload_id, user_id, stream_key, end_ms, ms_played, kind, source, title, creator, \
                      collection, uri, reason_start, reason_end, shuffle, skipped, offline, incognito, platform, country) ";

macro_rules! insert_batch {
    ($db:ty, $c:expr, $upload:expr, $user:expr, $rows:expr, $strings:expr) => {{
        let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(INSERT);
        qb.push_values($rows, |mut b, (p, key): (&Play, &[u8; 16])| {
            b.push_bind($upload)
                .push_bind($user)
                .push_bind(key.to_vec())
                .push_bind(p.end_ms)
                .push_bind(p.ms_played as i64)
                .push_bind(kind_code(p.kind))
                .push_bind(i16::from(p.source == Source::Account))
                .push_bind($strings.opt(p.title))
                .push_bind($strings.opt(p.creator))
                .push_bind($strings.opt(p.collection))
                .push_bind($strings.opt(p.uri))
                .push_bind($strings.opt(p.reason_start))
                .push_bind($strings.opt(p.reason_end))
                .push_bind(p.shuffle)
                .push_bind(p.skipped)
                .push_bind(p.offline)
                .push_bind(p.incognito)
                .push_bind(platform_code(p.platform))
                .push_bind(p.country.as_str().to_string());
        });
        qb.build().execute(&mut **$c).await?;
    }};
}

/// Replaces an upload's plays with `plays` (deduplicated, with their digests), in bulk.
pub async fn replace_for_upload(
    tx: &mut Tx,
    upload_id: &str,
    user_id: &str,
    plays: &[Play],
    digests: &[[u8; 16]],
    strings: &Strings,
) -> Result<(), sqlx::Error> {
    delete_for_upload(tx, upload_id).await?;
    // One row per stream digest: the table has no unique index to do this (see the migration).
    let mut seen = std::collections::HashSet::with_capacity(plays.len());
    let rows: Vec<(&Play, &[u8; 16])> = plays
        .iter()
        .zip(digests)
        .filter(|(_, k)| seen.insert(**k))
        .collect();
    match tx {
        Tx::Sqlite(c) => {
            for chunk in rows.chunks(BATCH) {
                insert_batch!(
                    sqlx::Sqlite,
                    c,
                    upload_id,
                    user_id,
                    chunk.iter().copied(),
                    strings
                );
            }
        }
        Tx::Postgres(c) => copy_in(c, upload_id, user_id, &rows, strings).await?,
    }
    Ok(())
}

/// PostgreSQL's bulk path: `COPY … FROM STDIN` in text format, a few MB per message.
async fn copy_in(
    conn: &mut sqlx::PgConnection,
    upload_id: &str,
    user_id: &str,
    rows: &[(&Play, &[u8; 16])],
    strings: &Strings,
) -> Result<(), sqlx::Error> {
    use std::fmt::Write as _;
    let mut copy = conn
        .copy_in_raw(
            "COPY plays (upload_id, user_id, stream_key, end_ms, ms_played, kind, source, title, creator, collection, uri, \
             reason_start, reason_end, shuffle, skipped, offline, incognito, platform, country) FROM STDIN",
        )
        .await?;
    let mut buf = String::with_capacity(4 << 20);
    let (upload_id, user_id) = (copy_text(upload_id), copy_text(user_id));
    for &(p, key) in rows {
        let _ = write!(buf, "{upload_id}\t{user_id}\t\\\\x");
        for b in key {
            let _ = write!(buf, "{b:02x}");
        }
        let _ = write!(
            buf,
            "\t{}\t{}\t{}\t{}",
            p.end_ms,
            p.ms_played as i64,
            kind_code(p.kind),
            i16::from(p.source == Source::Account)
        );
        for sym in p.names() {
            buf.push('\t');
            match strings.opt(sym) {
                Some(s) => buf.push_str(&copy_text(s)),
                None => buf.push_str("\\N"),
            }
        }
        for flag in [p.shuffle, p.skipped, p.offline, p.incognito] {
            buf.push_str(match flag {
                Some(true) => "\tt",
                Some(false) => "\tf",
                None => "\t\\N",
            });
        }
        let _ = writeln!(
            buf,
            "\t{}\t{}",
            platform_code(p.platform),
            copy_text(p.country.as_str())
        );
        if buf.len() > (4 << 20) - 4096 {
            copy.send(buf.as_bytes()).await?;
            buf.clear();
        }
    }
    if !buf.is_empty() {
        copy.send(buf.as_bytes()).await?;
    }
    copy.finish().await?;
    Ok(())
}

/// Escapes a value for COPY's text format (backslash, tab, newline, carriage return).
fn copy_text(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(['\\', '\t', '\n', '\r']) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Deletes an upload's plays.
pub async fn delete_for_upload(tx: &mut Tx, upload_id: &str) -> Result<u64, sqlx::Error> {
    let r = on_tx!(tx, c => sqlx::query("DELETE FROM plays WHERE upload_id = $1").bind(upload_id).execute(&mut **c).await.map(|r| r.rows_affected()))?;
    Ok(r)
}

/// A stored play with the upload it belongs to.
#[derive(Debug, Clone)]
pub struct StoredPlay {
    /// The upload.
    pub upload_id: String,
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

/// The plays of a user's uploads other than `except_upload` and those being deleted, onto
/// `strings`. Uploads queued for re-ingestion keep counting with their last plays meanwhile.
pub async fn load_for_user(
    tx: &mut Tx,
    user_id: &str,
    except_upload: &str,
    strings: &mut Strings,
) -> Result<Vec<StoredPlay>, sqlx::Error> {
    Ok(match tx {
        Tx::Sqlite(c) => load_rows!(c, user_id, except_upload, strings),
        Tx::Postgres(c) => load_rows!(c, user_id, except_upload, strings),
    })
}

/// [`load_for_user`] outside a write transaction (an export, a read-only view): every upload
/// of the user except those being deleted. On SQLite it does not take the write lock.
pub async fn load_all_for_user(
    db: &crate::db::Db,
    user_id: &str,
    strings: &mut Strings,
) -> Result<Vec<StoredPlay>, sqlx::Error> {
    Ok(match db {
        crate::db::Db::Sqlite(p) => {
            let mut conn = p.acquire().await?;
            let c = &mut conn;
            load_rows!(c, user_id, "", strings)
        }
        crate::db::Db::Postgres(p) => {
            let mut conn = p.acquire().await?;
            let c = &mut conn;
            load_rows!(c, user_id, "", strings)
        }
    })
}

/// Locks a user's stats against concurrent rewrites until the transaction ends (SQLite's
/// `BEGIN IMMEDIATE` already holds the database's write lock).
pub async fn lock_user(tx: &mut Tx, user_id: &str) -> Result<(), sqlx::Error> {
    if let Tx::Postgres(c) = tx {
        sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
            .bind(user_id)
            .execute(&mut **c)
            .await?;
    }
    Ok(())
}

/// Stats of one region, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionStats {
    /// Sorted upload ids joined by `,`.
    pub region: String,
    /// Streams in it.
    pub streams: i64,
    /// Listening time in it.
    pub ms_played: i64,
    /// The [`schema::aggregate::StatsDoc`] as JSON.
    pub doc: String,
}

/// Replaces all of a user's region stats.
pub async fn replace_stats(
    tx: &mut Tx,
    user_id: &str,
    regions: &[RegionStats],
) -> Result<(), sqlx::Error> {
    on_tx!(tx, c => {
        sqlx::query("UPDATE users SET stats_version = stats_version + 1 WHERE id = $1").bind(user_id).execute(&mut **c).await?;
        sqlx::query("DELETE FROM stats WHERE user_id = $1").bind(user_id).execute(&mut **c).await?;
        for r in regions {
            sqlx::query("INSERT INTO stats (user_id, region, streams, ms_played, doc) VALUES ($1, $2, $3, $4, $5)")
                .bind(user_id)
                .bind(&r.region)
                .bind(r.streams)
                .bind(r.ms_played)
                .bind(&r.doc)
                .execute(&mut **c)
                .await?;
        }
        Ok(())
    })
}

/// A user's region stats.
pub async fn stats_for_user(
    db: &crate::db::Db,
    user_id: &str,
) -> Result<Vec<RegionStats>, sqlx::Error> {
    crate::on_pool!(db, p => {
        let rows = sqlx::query("SELECT region, streams, ms_played, doc FROM stats WHERE user_id = $1 ORDER BY region")
            .bind(user_id)
            .fetch_all(p)
            .await?;
        Ok(rows
            .iter()
            .map(|r| RegionStats { region: r.get("region"), streams: r.get("streams"), ms_played: r.get("ms_played"), doc: r.get("doc") })
            .collect())
    })
}

/// Number of plays stored for an upload.
pub async fn count_for_upload(db: &crate::db::Db, upload_id: &str) -> Result<i64, sqlx::Error> {
    crate::on_pool!(db, p => sqlx::query_scalar("SELECT COUNT(*) FROM plays WHERE upload_id = $1").bind(upload_id).fetch_one(p).await)
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

/// Replaces a user's artifact, stamped with the `stats_version` the transaction has reached
/// (call it after [`replace_stats`], which bumps it).
pub async fn replace_artifact(
    tx: &mut Tx,
    user_id: &str,
    format: u8,
    streams: usize,
    bytes: &[u8],
) -> Result<(), sqlx::Error> {
    on_tx!(tx, c => {
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

/// A user's artifact, when the worker has written one.
pub async fn artifact_for_user(
    db: &crate::db::Db,
    user_id: &str,
) -> Result<Option<StoredArtifact>, sqlx::Error> {
    crate::on_pool!(db, p => {
        let row = sqlx::query("SELECT format, version, streams, bytes FROM artifacts WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(p)
            .await?;
        Ok(row.map(|r| StoredArtifact {
            format: r.get("format"),
            version: r.get("version"),
            streams: r.get("streams"),
            bytes: r.get("bytes"),
        }))
    })
}

/// Users with ready uploads but no artifact of the current format (written before artifacts
/// existed, or in an older format): the worker writes theirs.
pub async fn users_without_artifact(
    db: &crate::db::Db,
    format: u8,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    crate::on_pool!(db, p => sqlx::query_scalar(
        "SELECT DISTINCT u.owner_id FROM uploads u \
         WHERE u.state = 'ready' AND NOT EXISTS \
         (SELECT 1 FROM artifacts a WHERE a.user_id = u.owner_id AND a.format = $1) \
         ORDER BY u.owner_id LIMIT $2",
    )
    .bind(i16::from(format))
    .bind(limit)
    .fetch_all(p)
    .await)
}
