//! A user's artifact written again: without an upload (a delete, a failure), from what they
//! have stored (the backfill of users stored before artifacts), from two users' (an anonymous
//! visitor's uploads adopted by the account they signed in to), or with an upload being
//! committed. Every rewrite runs in a transaction that holds the owner's row.

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
    rebuild(tx, &upload.owner_id, &upload.id, None, &mut strings).await
}

/// Writes a user's artifact again from what they have stored, without fetching or parsing any
/// file: what the sweeper runs for a user stored before artifacts (from their play rows).
pub async fn rebuild_artifact(
    deps: &Deps,
    user: &users::User,
) -> Result<(), storage::db::SqlxError> {
    let mut tx = deps.db.begin().await?;
    plays::lock_user(&mut tx, &user.id).await?;
    let mut strings = schema::Strings::default();
    rebuild(&mut tx, &user.id, "", None, &mut strings).await?;
    tx.commit().await
}

/// Moves everything an anonymous visitor (`from`) stored to the account they signed in to
/// (`to`): in one transaction, both users locked, the visitor's uploads become the account's
/// (kept, no expiry), the account's artifact is written from both artifacts (a stream both
/// hold counts once, by the region rule), and the visitor's row goes. Returns how many uploads
/// moved.
pub async fn adopt(deps: &Deps, from: &str, to: &str) -> Result<u64, storage::db::SqlxError> {
    let mut tx = deps.db.begin().await?;
    // Both rows, in one order, so that two adoptions cannot wait on each other.
    let (first, second) = if from < to { (from, to) } else { (to, from) };
    plays::lock_user(&mut tx, first).await?;
    plays::lock_user(&mut tx, second).await?;
    let mut strings = schema::Strings::default();
    let mut members = stored_streams(&mut tx, to, "", &mut strings).await?;
    members.extend(stored_streams(&mut tx, from, "", &mut strings).await?);
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
/// given from memory), and bumps their `stats_version`. The other uploads' streams come from
/// the user's artifact, or, for a user stored before artifacts, from their play rows, which
/// go (with their region stats) once the artifact holds them.
pub(crate) async fn rebuild(
    tx: &mut storage::Tx,
    owner_id: &str,
    except: &str,
    current: Option<Current<'_>>,
    strings: &mut schema::Strings,
) -> Result<(), storage::db::SqlxError> {
    let started = std::time::Instant::now();
    let others = stored_streams(tx, owner_id, except, strings).await?;
    let load_ms = started.elapsed().as_millis() as u64;
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
    let artifact = schema::Artifact::build(regions, streams, strings);
    let bytes = artifact.encode();
    tracing::debug!(
        others = others.len(),
        load_ms,
        build_ms = started.elapsed().as_millis() as u64 - load_ms,
        streams = artifact.plays.len(),
        bytes = bytes.len(),
        "artifact rebuilt"
    );
    plays::replace_artifact(
        tx,
        owner_id,
        schema::artifact::FORMAT,
        artifact.plays.len(),
        &bytes,
    )
    .await?;
    plays::delete_rows_for_user(tx, owner_id).await?;
    Ok(())
}

/// The streams a user's uploads hold now, but for `except` and uploads being deleted or
/// failed, as `(upload, digest, play)` with names on `strings`: one per upload holding a
/// stream. Read from the user's artifact; from their play rows when they have none yet.
async fn stored_streams(
    tx: &mut storage::Tx,
    owner_id: &str,
    except: &str,
    strings: &mut schema::Strings,
) -> Result<Vec<plays::StoredPlay>, storage::db::SqlxError> {
    let stored = plays::artifact_in_tx(tx, owner_id)
        .await?
        .filter(|a| a.format == i16::from(schema::artifact::FORMAT));
    let Some(stored) = stored else {
        return plays::load_for_user(tx, owner_id, except, strings).await;
    };
    let artifact = schema::Artifact::decode(&stored.bytes)
        .map_err(|e| storage::db::SqlxError::Decode(Box::new(e)))?;
    let mut gone = plays::gone_uploads(tx, owner_id).await?;
    gone.push(except.to_string());
    Ok(artifact
        .members(&gone, strings)
        .into_iter()
        .map(|(upload_id, key, play)| plays::StoredPlay {
            upload_id,
            key,
            play,
        })
        .collect())
}
