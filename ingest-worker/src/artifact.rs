//! A user's artifact written again: without an upload (a delete, a failure), from two users'
//! (an anonymous visitor's uploads adopted by the account they signed in to), or with an
//! upload being committed; and written the first time from the play rows versions before the
//! artifact kept ([`migrate`]). Every rewrite runs in a transaction that holds the owner's
//! row.

use storage::plays;
use storage::uploads::Upload;
use storage::users;

use crate::Deps;

/// Takes an upload's streams out of its owner's artifact inside `tx` (the owner's row locked
/// for the transaction).
pub(crate) async fn drop_plays(
    tx: &mut storage::Tx,
    upload: &Upload,
) -> Result<(), storage::db::SqlxError> {
    plays::lock_user(tx, &upload.owner_id).await?;
    let mut strings = schema::Strings::default();
    rebuild(tx, &upload.owner_id, Some(&upload.id), None, &mut strings).await
}

/// Applies the database's migrations, carrying the play rows of versions before the artifact
/// over into their users' artifacts before the migration that drops them
/// ([`storage::db::CONTRACT_PLAYS`]): what every process runs at start, and `backspin
/// migrate`. Returns the migrations applied and the users carried over.
///
/// Safe with several processes starting at once: the migration that drops the rows refuses
/// while any is left, so a process that finds the table gone has nothing left to carry; one
/// that is refused because another is still carrying carries what is left (each user's rows
/// once: the other holds the user's row until their rows are gone) and tries again.
pub async fn migrate(db: &storage::Db) -> Result<(Vec<i64>, usize), storage::db::SqlxError> {
    use storage::db::CONTRACT_PLAYS;
    let mut applied = db.migrate_until(CONTRACT_PLAYS).await?;
    let mut carried = 0;
    let mut refused = 0;
    loop {
        if !db.applied(CONTRACT_PLAYS).await?
            && let Err(e) = carry_all(db, &mut carried).await
            // Unless another process dropped the table meanwhile: nothing was left.
            && !db.applied(CONTRACT_PLAYS).await?
        {
            return Err(e);
        }
        match db.migrate().await {
            Ok(more) => {
                applied.extend(more);
                let rewritten = reencode_all(db).await?;
                if rewritten > 0 {
                    tracing::info!(
                        users = rewritten,
                        format = schema::artifact::FORMAT,
                        "artifacts written again in the current format"
                    );
                }
                return Ok((applied, carried));
            }
            // Refused while another process was still carrying its users over.
            Err(_)
                if refused < 100
                    && !db.applied(CONTRACT_PLAYS).await?
                    && plays::users_with_rows(db)
                        .await
                        .is_ok_and(|users| !users.is_empty()) =>
            {
                refused += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Writes every artifact of an older format again in the current one (the same streams; the
/// user's `stats_version` stays, so every finished view stays valid), one transaction per
/// user with their row locked: what lets a view of a range read only its days
/// ([`schema::Artifact::decode_window`]). Returns how many this process wrote; several
/// processes starting at once each rewrite a user at most once between them.
pub async fn reencode_all(db: &storage::Db) -> Result<usize, storage::db::SqlxError> {
    let mut rewritten = 0;
    for id in plays::users_with_artifacts_before(db, schema::artifact::FORMAT).await? {
        let mut tx = db.begin().await?;
        plays::lock_user(&mut tx, &id).await?;
        let stored = plays::artifact_in_tx(&mut tx, &id).await?;
        let Some(stored) = stored.filter(|s| s.format < i16::from(schema::artifact::FORMAT)) else {
            tx.rollback().await?;
            continue;
        };
        let bytes = tokio::task::spawn_blocking(move || {
            schema::Artifact::decode(&stored.bytes).map(|a| a.encode())
        })
        .await
        .map_err(|e| storage::db::SqlxError::Io(std::io::Error::other(e)))?
        .map_err(|e| storage::db::SqlxError::Decode(Box::new(e)))?;
        plays::reencode_artifact(&mut tx, &id, schema::artifact::FORMAT, &bytes).await?;
        tx.commit().await?;
        rewritten += 1;
    }
    Ok(rewritten)
}

/// Carries every user with play rows over, counting in `carried` those this process did.
async fn carry_all(db: &storage::Db, carried: &mut usize) -> Result<(), storage::db::SqlxError> {
    for id in plays::users_with_rows(db).await? {
        if carry_over(db, &id).await? {
            *carried += 1;
        }
    }
    Ok(())
}

/// Writes a user's artifact from their play rows and deletes the rows, in one transaction
/// (rows of a user who is gone are only deleted). Returns whether there were rows: none left
/// (another process carried them since they were listed) leaves the artifact as it is.
async fn carry_over(
    db: &storage::Db,
    user_id: &storage::ids::UserId,
) -> Result<bool, storage::db::SqlxError> {
    let mut tx = db.begin().await?;
    plays::lock_user(&mut tx, user_id).await?;
    let mut strings = schema::Strings::default();
    let rows = plays::load_for_user(&mut tx, user_id, None, &mut strings).await?;
    if rows.is_empty() {
        tx.rollback().await?;
        return Ok(false);
    }
    if users::exists_in_tx(&mut tx, user_id).await? {
        let (regions, streams) = engine::regions::streams_by_region(
            rows.iter().map(|r| (r.upload_id.as_str(), r.key, r.play)),
        );
        let artifact = schema::Artifact::build(regions, streams, &strings);
        write(&mut tx, user_id, std::sync::Arc::new(artifact)).await?;
    }
    plays::delete_rows_for_user(&mut tx, user_id).await?;
    tx.commit().await?;
    tracing::info!(
        user = %user_id,
        streams = rows.len(),
        "play rows carried over into the artifact"
    );
    Ok(true)
}

/// Moves everything an anonymous visitor (`from`) stored to the account they signed in to
/// (`to`): in one transaction, both users locked, the visitor's uploads become the account's
/// (kept, no expiry), the account's artifact is written from both artifacts (a stream both
/// hold counts once, by the region rule), and the visitor's row goes. Returns how many uploads
/// moved.
pub async fn adopt(
    deps: &Deps,
    from: &storage::ids::UserId,
    to: &storage::ids::UserId,
) -> Result<u64, storage::db::SqlxError> {
    let mut tx = deps.db.begin().await?;
    // Both rows, in one order, so that two adoptions cannot wait on each other.
    let (first, second) = if from < to { (from, to) } else { (to, from) };
    plays::lock_user(&mut tx, first).await?;
    plays::lock_user(&mut tx, second).await?;
    let mut strings = schema::Strings::default();
    let mut members = stored_streams(&mut tx, to, None, &mut strings).await?;
    members.extend(stored_streams(&mut tx, from, None, &mut strings).await?);
    let moved = storage::uploads::reown(&mut tx, from, to).await?;
    if moved > 0 {
        let (regions, streams) = engine::regions::streams_by_region(
            members
                .iter()
                .map(|m| (m.upload_id.as_str(), m.key, m.play)),
        );
        let artifact = schema::Artifact::build(regions, streams, &strings);
        plays::replace_artifact(
            &mut tx,
            to,
            schema::artifact::FORMAT,
            artifact.plays.len(),
            &artifact.encode(),
        )
        .await?;
    }
    users::delete_in_tx(&mut tx, from).await?;
    tx.commit().await?;
    Ok(moved)
}

/// An upload's plays held in memory: its id and its deduplicated plays.
pub(crate) type Current<'a> = (&'a str, &'a [schema::Play]);

/// Rewrites a user's artifact from the streams of their uploads (all but those being deleted
/// or failed, and `except`), plus `current` (an upload being committed in this transaction,
/// given from memory), and bumps their `stats_version`: [`build`], then [`write`].
pub(crate) async fn rebuild(
    tx: &mut storage::Tx,
    owner_id: &storage::ids::UserId,
    except: Option<&storage::ids::UploadId>,
    current: Option<Current<'_>>,
    strings: &mut schema::Strings,
) -> Result<(), storage::db::SqlxError> {
    let artifact = build(tx, owner_id, except, current, strings).await?;
    write(tx, owner_id, std::sync::Arc::new(artifact)).await
}

/// A user's artifact as it is about to be: the streams of their uploads (all but those being
/// deleted or failed, and `except`) plus `current`, each once with its region. The other
/// uploads' streams come from the user's artifact.
pub(crate) async fn build(
    tx: &mut storage::Tx,
    owner_id: &storage::ids::UserId,
    except: Option<&storage::ids::UploadId>,
    current: Option<Current<'_>>,
    strings: &mut schema::Strings,
) -> Result<schema::Artifact, storage::db::SqlxError> {
    let started = std::time::Instant::now();
    let others = stored_streams(tx, owner_id, except, strings).await?;
    let load_ms = started.elapsed().as_millis() as u64;
    let artifact = assemble(&others, current, strings);
    tracing::debug!(
        others = others.len(),
        load_ms,
        build_ms = started.elapsed().as_millis() as u64 - load_ms,
        streams = artifact.plays.len(),
        "artifact built"
    );
    Ok(artifact)
}

/// The artifact of `others` (the streams the user's other uploads hold, from
/// [`stored_streams`]) and `current`, each stream once with its region.
pub(crate) fn assemble(
    others: &[plays::StoredPlay],
    current: Option<Current<'_>>,
    strings: &schema::Strings,
) -> schema::Artifact {
    let (regions, streams) = match current {
        // The owner's only upload (the usual first one): its plays are deduplicated already,
        // and all lie in one region.
        Some((id, plays)) if others.is_empty() => (
            vec![id.to_string()],
            plays.iter().map(|p| (0, *p)).collect(),
        ),
        _ => {
            let keys: Vec<[u8; 16]> = current.map_or_else(Vec::new, |(_, plays)| {
                plays
                    .iter()
                    .map(|p| schema::dedupe::stream_digest(p, strings))
                    .collect()
            });
            let mine = current
                .into_iter()
                .flat_map(|(id, ps)| ps.iter().zip(&keys).map(move |(p, k)| (id, *k, *p)));
            let members = mine.chain(others.iter().map(|o| (o.upload_id.as_str(), o.key, o.play)));
            engine::regions::streams_by_region(members)
        }
    };
    schema::Artifact::build(regions, streams, strings)
}

/// Stores `artifact` as the user's (encoded on a blocking thread, which leaves the runtime's
/// threads to the tasks beside it: an ingest's first views), bumping their `stats_version`.
pub(crate) async fn write(
    tx: &mut storage::Tx,
    owner_id: &storage::ids::UserId,
    artifact: std::sync::Arc<schema::Artifact>,
) -> Result<(), storage::db::SqlxError> {
    let streams = artifact.plays.len();
    let bytes = tokio::task::spawn_blocking(move || artifact.encode())
        .await
        .map_err(|e| storage::db::SqlxError::Io(std::io::Error::other(e)))?;
    tracing::debug!(bytes = bytes.len(), "artifact encoded");
    plays::replace_artifact(tx, owner_id, schema::artifact::FORMAT, streams, &bytes).await
}

/// The streams a user's uploads hold now, but for `except` and uploads being deleted or
/// failed, as `(upload, digest, play)` with names on `strings`: one per upload holding a
/// stream, read from the user's artifact (none without one). An artifact of a format this
/// build cannot read is an error, never taken for an empty one.
pub(crate) async fn stored_streams(
    tx: &mut storage::Tx,
    owner_id: &storage::ids::UserId,
    except: Option<&storage::ids::UploadId>,
    strings: &mut schema::Strings,
) -> Result<Vec<plays::StoredPlay>, storage::db::SqlxError> {
    let Some(stored) = plays::artifact_in_tx(tx, owner_id).await? else {
        return Ok(Vec::new());
    };
    let artifact = schema::Artifact::decode(&stored.bytes)
        .map_err(|e| storage::db::SqlxError::Decode(Box::new(e)))?;
    let mut gone: Vec<String> = plays::gone_uploads(tx, owner_id)
        .await?
        .into_iter()
        .map(String::from)
        .collect();
    gone.extend(except.map(|e| e.to_string()));
    Ok(artifact
        .members(&gone, strings)
        .into_iter()
        .map(|(upload_id, key, play)| plays::StoredPlay {
            upload_id: storage::ids::UploadId::stored(upload_id),
            key,
            play,
        })
        .collect())
}
