//! After an ingest, the stored upload is replaced by its scrubbed copy ([`schema::scrub()`]):
//! the listening-history files only, without IP addresses, usernames, user agents, geo
//! fields or device ids, which is all a re-ingest needs. The copy is stored under the
//! upload's scrubbed key (`clean/…`, outside the prefix whose "object created" events start
//! ingests), the row is pointed at it, then the original and every stored version of it go.
//!
//! Each step can be repeated: a crash after the copy is stored leaves the row on the
//! original, and the redelivered event ingests and scrubs again; a crash after the row moved
//! leaves the original, and the redelivered event (naming it) finds the row by its scrubbed
//! key and removes the original.

use std::fs::File;
use std::io::BufWriter;
use std::sync::Arc;

use storage::objects::Fetched;
use storage::uploads::{self, Upload};
use tracing::info;

use crate::Deps;
use crate::failure::Failure;

/// Replaces `upload`'s stored object (`fetched`, already read by the ingest) by its scrubbed
/// copy. Nothing to do when the upload is stored scrubbed already.
pub async fn replace_with_scrubbed(
    deps: &Deps,
    upload: &Upload,
    fetched: Arc<Fetched>,
) -> Result<(), Failure> {
    let Some(key) = uploads::scrubbed_key(&upload.object_key) else {
        return Ok(());
    };
    let started = std::time::Instant::now();
    let copy = tempfile::NamedTempFile::new()
        .map_err(|e| Failure::Transient(format!("a temporary file for the scrubbed copy: {e}")))?;
    let (name, limits, to) = (
        upload.original_name.clone(),
        deps.limits,
        copy.path().to_path_buf(),
    );
    let report = tokio::task::spawn_blocking(move || {
        let out = File::create(&to).map(BufWriter::new)?;
        schema::scrub::scrub(&name, || File::open(&fetched.path), out, &limits)
            .map_err(std::io::Error::other)
    })
    .await
    .map_err(|e| Failure::Unexpected(format!("scrubbing the upload crashed: {e}")))?;
    let report = match report {
        Ok(report) => report,
        // Another worker with a copy of the same event scrubbed it first and removed the
        // original while this one read it: done already.
        Err(_) if replaced_meanwhile(deps, upload).await? => return Ok(()),
        Err(e) => return Err(Failure::Unexpected(format!("scrubbing the upload: {e}"))),
    };
    let mut body = tokio::fs::File::open(copy.path())
        .await
        .map_err(|e| Failure::Transient(format!("reading the scrubbed copy: {e}")))?;
    deps.store.put(&key, &mut body, u64::MAX).await?;
    if upload.expires_ms.is_some() {
        crate::lifecycle::mark_expiring(deps, &key, true).await;
    }
    if !uploads::replace_object(&deps.db, &upload.id, &upload.object_key, &key).await? {
        // Deleted (or re-pointed) meanwhile: the copy is nobody's.
        deps.store.purge(&key).await?;
        return Ok(());
    }
    deps.store.purge(&upload.object_key).await?;
    info!(
        files = report.files.len(),
        bytes = report.zip_bytes,
        ms = started.elapsed().as_millis() as u64,
        "raw upload replaced by its scrubbed copy"
    );
    Ok(())
}

/// Whether `upload`'s row no longer names the object it was read from (its scrubbed copy
/// replaced it, or it is gone).
async fn replaced_meanwhile(deps: &Deps, upload: &Upload) -> Result<bool, Failure> {
    let now = uploads::by_id(&deps.db, &upload.id).await?;
    Ok(now.is_none_or(|u| u.object_key != upload.object_key))
}

/// An event naming an object no upload row names: if it is an upload's original whose
/// scrubbed copy replaced it (a crash came between the two), it goes. Returns whether it was.
pub async fn remove_replaced_original(deps: &Deps, key: &str) -> Result<bool, Failure> {
    let Some(scrubbed) = uploads::scrubbed_key(key) else {
        return Ok(false);
    };
    if uploads::by_key(&deps.db, &scrubbed).await?.is_none() {
        return Ok(false);
    }
    deps.store.purge(key).await?;
    info!(
        key,
        "removed an original already replaced by its scrubbed copy"
    );
    Ok(true)
}
