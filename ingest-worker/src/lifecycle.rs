//! An upload's life outside the worker's hot path: submitting it, deleting it (crash-safe),
//! sweeping expired and half-deleted ones, and re-ingesting in bulk.

use schema::event::Message;
use storage::objects::ObjectError;
use storage::uploads::{self, NewUpload, Selection, State, Upload};
use tokio::io::AsyncRead;
use tracing::{info, warn};

use crate::Deps;
use crate::artifact::drop_plays;

/// Why an upload could not be accepted.
#[derive(Debug)]
pub enum SubmitError {
    /// Larger than the limit; nothing was kept.
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Storage or queue unavailable; nothing was kept.
    Unavailable(String),
}

impl std::fmt::Display for SubmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubmitError::TooLarge { limit } => write!(
                f,
                "the file is larger than the upload limit of {} MiB",
                limit >> 20
            ),
            SubmitError::Unavailable(e) => write!(
                f,
                "the upload could not be stored right now ({e}); please try again"
            ),
        }
    }
}

impl std::error::Error for SubmitError {}

impl From<storage::db::SqlxError> for SubmitError {
    fn from(e: storage::db::SqlxError) -> Self {
        SubmitError::Unavailable(format!("database: {e}"))
    }
}

/// Stores a file for `owner_id` the way every upload goes: the row first (`queued`), then the
/// object, then (where the store does not emit events itself) the "object created" event.
pub async fn submit(
    deps: &Deps,
    owner_id: &storage::ids::UserId,
    original_name: &str,
    body: &mut (dyn AsyncRead + Unpin + Send),
    max_bytes: u64,
    expires_ms: Option<i64>,
) -> Result<Upload, SubmitError> {
    let new = NewUpload {
        owner_id,
        original_name,
        expires_ms,
        sample: false,
    };
    submit_new(deps, &new, body, max_bytes).await
}

/// [`submit`] for a row described in full (the sample history is marked as such).
pub async fn submit_new(
    deps: &Deps,
    new: &NewUpload<'_>,
    body: &mut (dyn AsyncRead + Unpin + Send),
    max_bytes: u64,
) -> Result<Upload, SubmitError> {
    let mut upload = uploads::insert(&deps.db, new).await?;
    let stored = match deps.store.put(&upload.object_key, body, max_bytes).await {
        Ok(s) => s,
        Err(e) => {
            // Nothing was stored: remove the row so no trace of the attempt remains.
            remove_row(deps, &upload.id).await?;
            return Err(match e {
                ObjectError::TooLarge { limit } => SubmitError::TooLarge { limit },
                other => SubmitError::Unavailable(other.to_string()),
            });
        }
    };
    uploads::set_object(&deps.db, &upload.id, stored.size, &stored.sha256).await?;
    if new.expires_ms.is_some() {
        mark_expiring(deps, &upload.object_key, true).await;
    }
    upload.size_bytes = stored.size as i64;
    upload.checksum = stored.sha256.clone();
    if !deps.store.emits_events() {
        let event = Message::created(
            deps.store.bucket(),
            &upload.object_key,
            stored.size,
            Some(stored.sha256),
        );
        deps.queue
            .send(&event)
            .await
            .map_err(|e| SubmitError::Unavailable(e.to_string()))?;
    }
    Ok(upload)
}

/// Marks an upload's object as an anonymous visitor's (or not) in the store. A failure is only
/// logged: the sweeper deletes expired uploads whether the store expires them too or not.
pub async fn mark_expiring(deps: &Deps, key: &str, expiring: bool) {
    if let Err(e) = deps.store.set_expiring(key, expiring).await {
        tracing::warn!(key, expiring, error = %e, "marking an upload's expiry in the store");
    }
}

/// Once an anonymous visitor's uploads belong to an account (sign-up), the store must not
/// expire them any more.
pub async fn keep_uploads(
    deps: &Deps,
    owner_id: &storage::ids::UserId,
) -> Result<(), storage::db::SqlxError> {
    for u in uploads::list_for_owner(&deps.db, owner_id).await? {
        mark_expiring(deps, &u.object_key, false).await;
    }
    Ok(())
}

/// How long a presigned upload form stays valid.
pub const DIRECT_UPLOAD_VALID_FOR: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Prepares an upload that the browser sends straight to the store: the row first (`queued`,
/// size unknown), then the store's presigned form for exactly its key, at most `max_bytes`.
/// The store's own "object created" event starts the ingest; the worker records the size and
/// checksum, and [`sweep`] removes rows whose file never arrives. `Ok(None)` when the store
/// takes uploads only through [`submit`].
pub async fn prepare_direct(
    deps: &Deps,
    owner_id: &storage::ids::UserId,
    original_name: &str,
    max_bytes: u64,
    expires_ms: Option<i64>,
) -> Result<Option<(Upload, storage::objects::PostForm)>, SubmitError> {
    if !deps.store.emits_events() {
        return Ok(None);
    }
    let upload = uploads::insert(
        &deps.db,
        &NewUpload {
            owner_id,
            original_name,
            expires_ms,
            sample: false,
        },
    )
    .await?;
    let form = deps
        .store
        .presign_post(
            &upload.object_key,
            max_bytes,
            DIRECT_UPLOAD_CONTENT_TYPE,
            DIRECT_UPLOAD_VALID_FOR,
        )
        .await;
    match form {
        Ok(Some(form)) => Ok(Some((upload, form))),
        Ok(None) => {
            remove_row(deps, &upload.id).await?;
            Ok(None)
        }
        Err(e) => {
            remove_row(deps, &upload.id).await?;
            Err(SubmitError::Unavailable(e.to_string()))
        }
    }
}

/// The content type every directly posted file is stored with (the worker reads the bytes,
/// not the type).
pub const DIRECT_UPLOAD_CONTENT_TYPE: &str = "application/octet-stream";

async fn remove_row(
    deps: &Deps,
    id: &storage::ids::UploadId,
) -> Result<(), storage::db::SqlxError> {
    let mut tx = deps.db.begin().await?;
    uploads::delete_row(&mut tx, id).await?;
    tx.commit().await
}

/// Deletes an upload: its object and its streams in the owner's artifact (the same streams in
/// the user's other uploads stay). The upload is marked `deleting` first, so a crash at any
/// point leaves it for [`sweep`] to finish; every step can be repeated.
pub async fn delete_upload(deps: &Deps, upload: &Upload) -> Result<(), String> {
    uploads::set_deleting(&deps.db, &upload.id)
        .await
        .map_err(|e| e.to_string())?;
    finish_delete(deps, upload).await
}

/// A person's request to delete an upload. Once it is marked `deleting` the deletion is
/// decided: nobody sees the upload any more and [`sweep`] finishes what a failure here
/// leaves, so only a failure to mark it is an error (then nothing changed). Answering an
/// error after the mark would tell the person nothing changed while their upload is gone.
pub async fn request_delete(deps: &Deps, upload: &Upload) -> Result<(), String> {
    uploads::set_deleting(&deps.db, &upload.id)
        .await
        .map_err(|e| e.to_string())?;
    if let Err(e) = finish_delete(deps, upload).await {
        warn!(upload = %upload.id, error = %e, "upload marked deleting; the sweep finishes it");
    }
    Ok(())
}

/// The part of a deletion after the mark: the object, the streams, the row.
async fn finish_delete(deps: &Deps, upload: &Upload) -> Result<(), String> {
    // Both names: a scrub may have moved the file since this row was read.
    for key in uploads::stored_keys(&upload.object_key) {
        deps.store.delete(&key).await.map_err(|e| e.to_string())?;
    }
    let mut tx = deps.db.begin().await.map_err(|e| e.to_string())?;
    drop_plays(&mut tx, upload)
        .await
        .map_err(|e| e.to_string())?;
    uploads::delete_row(&mut tx, &upload.id)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    info!(upload = %upload.id, "upload deleted");
    deps.after_change.run(&upload.owner_id).await;
    Ok(())
}

/// Deletes an account: every upload (object, streams) one by one, then the user row, which
/// takes their sessions and artifact with it. A crash halfway leaves the account with
/// fewer uploads, and deleting again finishes the job.
pub async fn delete_user(deps: &Deps, user_id: &storage::ids::UserId) -> Result<(), String> {
    let owned = uploads::list_for_owner(&deps.db, user_id)
        .await
        .map_err(|e| e.to_string())?;
    for u in &owned {
        delete_upload(deps, u).await?;
    }
    storage::users::delete(&deps.db, user_id)
        .await
        .map_err(|e| e.to_string())?;
    info!(user = %user_id, uploads = owned.len(), "account deleted");
    Ok(())
}

/// Finishes deletes a crash interrupted, deletes anonymous uploads past their expiry, failed
/// uploads a week old, then anonymous visitors past their expiry (with anything they still
/// own) and expired sessions.
/// Returns how many uploads and visitors it deleted.
pub async fn sweep(deps: &Deps) -> Result<usize, String> {
    let now = storage::db::now_ms();
    let due = uploads::to_sweep(&deps.db, now)
        .await
        .map_err(|e| e.to_string())?;
    for u in &due {
        delete_upload(deps, u).await?;
    }
    // A presigned form lasts minutes; an upload row whose file has not arrived hours later
    // never will (the file is checked too, in case the worker is only far behind).
    let stale = uploads::never_arrived(&deps.db, now - NEVER_ARRIVED_AFTER_MS)
        .await
        .map_err(|e| e.to_string())?;
    let mut abandoned = 0;
    for u in &stale {
        if deps
            .store
            .size(&u.object_key)
            .await
            .map_err(|e| e.to_string())?
            .is_none()
        {
            delete_upload(deps, u).await?;
            abandoned += 1;
        }
    }
    // A file that could not be read holds no plays: its reason stays on show for a week,
    // then it goes, raw file and all.
    let failed = uploads::failed_before(&deps.db, now - FAILED_KEPT_MS)
        .await
        .map_err(|e| e.to_string())?;
    for u in &failed {
        delete_upload(deps, u).await?;
    }
    let visitors = storage::users::expired_anonymous(&deps.db, now)
        .await
        .map_err(|e| e.to_string())?;
    for id in &visitors {
        delete_user(deps, id).await?;
    }
    storage::sessions::delete_expired(&deps.db, now)
        .await
        .map_err(|e| e.to_string())?;
    backfill_scrubbing(deps).await?;
    let interrupted = if deps.store.emits_events() {
        0
    } else {
        clean_interrupted(deps, now - UPLOAD_DEADLINE_MS).await?
    };
    Ok(due.len() + failed.len() + visitors.len() + abandoned + interrupted)
}

/// How long a failed upload (and its raw file) is kept after it failed: seven days.
pub const FAILED_KEPT_MS: i64 = 7 * 24 * 3600 * 1000;

/// Longest an upload through the web tier can take (the web tier's upload deadline, an hour,
/// with a margin): a transfer started before that has ended one way or another.
pub const UPLOAD_DEADLINE_MS: i64 = 65 * 60 * 1000;

/// Removes what transfers through this machine's web tier left when they were cut off (a
/// crash mid-upload): upload rows still waiting for their file and half-written files, both
/// from before `before_ms`. The pool runs it at start-up with its own start time (in the
/// embedded default no transfer outlives its process) and the sweeper with an upload deadline
/// ago. Only for stores that do not emit events: uploads that go straight to S3 arrive later
/// than their row by design, and [`NEVER_ARRIVED_AFTER_MS`] covers them. Returns how many
/// rows and files it removed.
pub async fn clean_interrupted(deps: &Deps, before_ms: i64) -> Result<usize, String> {
    let waiting = uploads::never_arrived(&deps.db, before_ms)
        .await
        .map_err(|e| e.to_string())?;
    let mut removed = 0;
    for u in &waiting {
        let arrived = deps
            .store
            .size(&u.object_key)
            .await
            .map_err(|e| e.to_string())?
            .is_some();
        if !arrived {
            delete_upload(deps, u).await?;
            removed += 1;
        }
    }
    let before = std::time::UNIX_EPOCH + std::time::Duration::from_millis(before_ms.max(0) as u64);
    removed += deps
        .store
        .clean_partials(before)
        .await
        .map_err(|e| e.to_string())?;
    if removed > 0 {
        info!(removed, "cleaned up transfers a crash interrupted");
    }
    Ok(removed)
}

/// Uploads one sweep sends to be ingested again so that their raw file is scrubbed.
const SCRUBS_PER_SWEEP: i64 = 8;

/// How long the sweeper leaves an upload it sent to be scrubbed (or one just ingested) to
/// the worker before it sends it again: ten minutes.
pub const SCRUB_RETRY_AFTER_MS: i64 = 10 * 60 * 1000;

/// Sends again, a few per sweep, the event of each ready upload still stored as uploaded
/// (ingested before scrubbed copies existed): its ingest replaces it by its scrubbed copy.
/// The upload stays ready meanwhile; it is marked changed so that the next sweeps leave it
/// to the worker for [`SCRUB_RETRY_AFTER_MS`], and one that was ingested just now (and is
/// scrubbing its own file) is not taken.
async fn backfill_scrubbing(deps: &Deps) -> Result<(), String> {
    let before = storage::db::now_ms() - SCRUB_RETRY_AFTER_MS;
    let due = uploads::unscrubbed(&deps.db, before, SCRUBS_PER_SWEEP)
        .await
        .map_err(|e| e.to_string())?;
    for u in &due {
        uploads::touch(&deps.db, &u.id)
            .await
            .map_err(|e| e.to_string())?;
        send_created(deps, u).await?;
        info!(upload = %u.id, "queued to scrub its raw file");
    }
    Ok(())
}

/// Sends the "object created" event of an upload's stored file.
async fn send_created(deps: &Deps, u: &Upload) -> Result<(), String> {
    let event = Message::created(
        deps.store.bucket(),
        &u.object_key,
        u.size_bytes as u64,
        Some(u.checksum.clone()),
    );
    deps.queue.send(&event).await.map_err(|e| e.to_string())?;
    Ok(())
}

/// How long after its row was created an upload whose file never arrived is removed.
pub const NEVER_ARRIVED_AFTER_MS: i64 = 6 * 3600 * 1000;

/// Queues the selected uploads again (the same event an upload sends) and returns them.
/// Running it twice only processes them twice: each ingest replaces the last.
pub async fn reingest(deps: &Deps, selection: &Selection) -> Result<Vec<Upload>, String> {
    let chosen = uploads::select(&deps.db, selection)
        .await
        .map_err(|e| e.to_string())?;
    for u in &chosen {
        uploads::set_state(&deps.db, &u.id, State::Queued, None)
            .await
            .map_err(|e| e.to_string())?;
        send_created(deps, u).await?;
    }
    Ok(chosen)
}
