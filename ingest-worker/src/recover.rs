//! Disaster recovery: after the database was restored from a backup, the object store still
//! holds every upload that arrived since, and no longer holds those deleted since.
//! [`recover`] makes the database agree with the store again.
//!
//! - An upload object (`uploads/<owner>/<upload>/<file>`, or its scrubbed copy under
//!   `clean/…`) without a row, whose owner exists: the row is recreated under the object's id
//!   and key and queued; the worker measures the file, ingests it and rebuilds the owner's
//!   artifact, as for any upload.
//! - An object whose owner is not in the database (they signed up after the backup): nothing
//!   to attach it to. It is kept, never deleted, and reported.
//! - A row whose file had arrived but whose object is gone under both its names (deleted after
//!   the backup): deleted the way a user's delete goes ([`delete_upload`]), which also takes
//!   its streams out of the owner's artifact.
//! - A row whose object was scrubbed after the backup (only the `clean/…` copy is left): pointed
//!   at the copy.
//! - A row the backup caught `queued` or `processing`: queued again (its message may be in a
//!   queue that was lost with the database).
//!
//! Safe to run while the web tier and the workers serve the restored database, and safe to
//! run twice: a second run finds nothing to do. Rows created after the run started, and rows
//! still waiting for their file (a transfer in progress), are left alone.

use std::collections::BTreeMap;

use schema::event::Message;
use storage::uploads::{self, Selection, State, Upload};
use tracing::{info, warn};

use crate::Deps;
use crate::lifecycle::delete_upload;

/// What [`recover`] did, and what it could not do.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Uploads the store holds (an original and its scrubbed copy count once).
    pub objects: usize,
    /// Uploads whose row was recreated and queued for ingestion.
    pub recreated: Vec<storage::ids::UploadId>,
    /// Uploads left `queued` or `processing` in the backup, queued again.
    pub requeued: Vec<storage::ids::UploadId>,
    /// Uploads whose row now names their scrubbed copy (scrubbed after the backup).
    pub repointed: Vec<storage::ids::UploadId>,
    /// Uploads deleted because their object is gone (deleted after the backup).
    pub deleted: Vec<storage::ids::UploadId>,
    /// Keys of objects whose owner is not in the database (signed up after the backup):
    /// kept in the store, not recovered.
    pub owner_unknown: Vec<String>,
    /// Keys under `uploads/` or `clean/` that are not an upload's (left alone).
    pub unrecognised: Vec<String>,
}

/// One upload as the store holds it.
#[derive(Debug)]
struct Stored {
    owner: storage::ids::UserId,
    original: Option<String>,
    scrubbed: Option<String>,
}

impl Stored {
    /// The key a recreated row names: the original while it is there (its ingest scrubs it
    /// again), else the scrubbed copy.
    fn key(&self) -> &str {
        self.original
            .as_deref()
            .or(self.scrubbed.as_deref())
            .unwrap_or_default()
    }
}

/// `(owner, upload, file)` of an upload's key or its scrubbed copy's.
fn parse_key(key: &str) -> Option<(&str, &str, &str)> {
    let rest = key
        .strip_prefix("uploads/")
        .or_else(|| key.strip_prefix("clean/"))?;
    let mut parts = rest.splitn(3, '/');
    let (owner, upload, file) = (parts.next()?, parts.next()?, parts.next()?);
    let ok = [owner, upload, file]
        .iter()
        .all(|p| !p.is_empty() && !p.contains('/'));
    ok.then_some((owner, upload, file))
}

/// Makes the database agree with the object store; see the [module documentation](self).
/// Errors are the database's or the store's; what was done before one stays done, and
/// running again finishes the job.
pub async fn recover(deps: &Deps) -> Result<Report, String> {
    let started_ms = storage::db::now_ms();
    let mut report = Report::default();
    let mut stored: BTreeMap<storage::ids::UploadId, Stored> = BTreeMap::new();
    for prefix in ["uploads/", "clean/"] {
        let keys = deps.store.list(prefix).await.map_err(|e| e.to_string())?;
        for key in keys {
            let Some((owner, upload, _)) = parse_key(&key) else {
                report.unrecognised.push(key);
                continue;
            };
            let entry = stored
                .entry(storage::ids::UploadId::stored(upload))
                .or_insert_with(|| Stored {
                    owner: storage::ids::UserId::stored(owner),
                    original: None,
                    scrubbed: None,
                });
            if prefix == "uploads/" {
                entry.original = Some(key);
            } else {
                entry.scrubbed = Some(key);
            }
        }
    }
    report.objects = stored.len();

    // Rows whose file had arrived, as the backup left them.
    let rows = uploads::select(&deps.db, &Selection::All)
        .await
        .map_err(|e| e.to_string())?;
    for row in rows.iter().filter(|r| r.created_ms < started_ms) {
        match stored.get(&row.id) {
            None => {
                if still_gone(deps, row).await? {
                    delete_upload(deps, row).await?;
                    info!(upload = %row.id, "recovery: deleted, its object is gone");
                    report.deleted.push(row.id.clone());
                }
            }
            Some(s) => {
                let has_own = s.original.as_deref() == Some(row.object_key.as_str())
                    || s.scrubbed.as_deref() == Some(row.object_key.as_str());
                if !has_own
                    && let Some(copy) = &s.scrubbed
                    && uploads::replace_object(&deps.db, &row.id, &row.object_key, copy)
                        .await
                        .map_err(|e| e.to_string())?
                {
                    report.repointed.push(row.id.clone());
                }
                if matches!(row.state, State::Queued | State::Processing) {
                    let key = if has_own { &row.object_key } else { s.key() };
                    uploads::set_state(&deps.db, &row.id, State::Queued, None)
                        .await
                        .map_err(|e| e.to_string())?;
                    queue(deps, key).await?;
                    report.requeued.push(row.id.clone());
                }
            }
        }
    }

    // Objects without a row.
    for (id, s) in &stored {
        if uploads::by_id(&deps.db, id)
            .await
            .map_err(|e| e.to_string())?
            .is_some()
        {
            continue;
        }
        let key = s.key();
        if storage::users::by_id(&deps.db, &s.owner)
            .await
            .map_err(|e| e.to_string())?
            .is_none()
        {
            warn!(
                key,
                "recovery: the owner is not in the database; object kept"
            );
            report
                .owner_unknown
                .extend(s.original.iter().chain(&s.scrubbed).cloned());
            continue;
        }
        // Deleted since it was listed (a user's delete removes the object, then the row).
        if deps
            .store
            .size(key)
            .await
            .map_err(|e| e.to_string())?
            .is_none()
        {
            continue;
        }
        let name = key.rsplit('/').next().unwrap_or_default();
        if uploads::insert_recovered(&deps.db, id, &s.owner, key, name)
            .await
            .map_err(|e| e.to_string())?
        {
            queue(deps, key).await?;
            info!(upload = %id, key, "recovery: row recreated and queued");
            report.recreated.push(id.clone());
        }
    }
    Ok(report)
}

/// Whether neither of the row's object names exists, read again now (the listing is older).
async fn still_gone(deps: &Deps, row: &Upload) -> Result<bool, String> {
    for key in uploads::stored_keys(&row.object_key) {
        if deps
            .store
            .size(&key)
            .await
            .map_err(|e| e.to_string())?
            .is_some()
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Sends the "object created" event of `key`: the worker ingests its upload.
async fn queue(deps: &Deps, key: &str) -> Result<(), String> {
    let event = Message::created(deps.store.bucket(), key, 0, None);
    deps.queue.send(&event).await.map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_key;

    #[test]
    fn upload_keys_and_their_scrubbed_copies_name_owner_upload_and_file() {
        assert_eq!(
            parse_key("uploads/u1/a1/my_spotify_data.zip"),
            Some(("u1", "a1", "my_spotify_data.zip"))
        );
        assert_eq!(
            parse_key("clean/u1/a1/my_spotify_data.zip"),
            Some(("u1", "a1", "my_spotify_data.zip"))
        );
        for other in [
            "uploads/u1/a1",
            "uploads/u1/a1/x/y.json",
            "samples/x",
            "clean//a/b",
        ] {
            assert_eq!(parse_key(other), None, "{other}");
        }
    }
}
