//! What a visitor can do with uploads, shared by the pages and the JSON API: send a file (or
//! prepare a direct upload to the object store), the sample history, list, find and delete.
//! Another user's upload is always [`AppError::NotFound`].

use std::sync::OnceLock;

use ingest_worker::lifecycle::{self, SubmitError};
use storage::uploads::{self, State, Upload};
use storage::users::{self, User};
use tokio::io::AsyncRead;

use crate::error::AppError;
use crate::model::UploadView;
use crate::session::{Started, Visitor, start};
use crate::state::AppState;
use crate::state::metrics::Metrics;

/// Stores a file for the visitor and queues it; an anonymous visitor is created (with their
/// session) on their first upload. Returns the upload and, when a session started, its
/// cookie and CSRF token. Refused, with nothing stored, beyond the visitor's quotas
/// ([`crate::state::meter`]).
pub async fn upload(
    state: &AppState,
    visitor: &Visitor,
    name: &str,
    body: &mut (dyn AsyncRead + Unpin + Send),
) -> Result<(UploadView, Option<Started>), AppError> {
    upload_marked(state, visitor, name, body, false).await
}

/// [`upload`], marked as the sample history when `sample`.
async fn upload_marked(
    state: &AppState,
    visitor: &Visitor,
    name: &str,
    body: &mut (dyn AsyncRead + Unpin + Send),
    sample: bool,
) -> Result<(UploadView, Option<Started>), AppError> {
    let name = upload_name(name);
    let Admitted {
        owner,
        started,
        expires,
        allowance,
    } = admit(state, visitor).await?;
    let new = storage::uploads::NewUpload {
        owner_id: &owner.id,
        original_name: name,
        expires_ms: expires,
        sample,
    };
    match lifecycle::submit_new(state.deps(), &new, body, allowance.bytes).await {
        Ok(u) => {
            Metrics::inc(&state.metrics().uploads_accepted);
            state
                .metrics()
                .upload_bytes
                .fetch_add(u.size_bytes as u64, std::sync::atomic::Ordering::Relaxed);
            state
                .meter()
                .record(&visitor.address, &owner.id, u.size_bytes as u64);
            tracing::info!(upload = %u.id, user = %owner.id, bytes = u.size_bytes, "upload accepted");
            Ok((UploadView::from(&u), started))
        }
        Err(e) => {
            Metrics::inc(&state.metrics().uploads_refused);
            if matches!(e, SubmitError::TooLarge { .. }) {
                // What was read before the cut counts against the address.
                state
                    .meter()
                    .record(&visitor.address, &owner.id, allowance.bytes);
            }
            forget_new_visitor(state, &owner, &started).await;
            Err(refused(name, e, &allowance))
        }
    }
}

/// An upload admitted: its owner (and the session an anonymous visitor's first upload
/// started), its expiry, and the most it may hold.
struct Admitted {
    owner: User,
    started: Option<Started>,
    expires: Option<i64>,
    allowance: crate::state::meter::Allowance,
}

/// Admits one more upload for the visitor: the address's hourly limits first (before a new
/// anonymous visitor is made), then what the owner keeps and the disk's free space.
async fn admit(state: &AppState, visitor: &Visitor) -> Result<Admitted, AppError> {
    let address_left = state.meter().admit(&visitor.address).inspect_err(|_| {
        Metrics::inc(&state.metrics().uploads_refused);
    })?;
    let uploader = uploader(state, visitor).await?;
    let allowance = async {
        // The same hourly limits for the account, from whatever address.
        let address_left = address_left.min(state.meter().admit_owner(&uploader.owner.id)?);
        let (uploads, bytes) = uploads::usage(state.db(), &uploader.owner.id).await?;
        let free = state
            .deps()
            .store
            .free_bytes()
            .await
            .map_err(|e| AppError::Unavailable(format!("object store: {e}")))?;
        state.meter().allowance(
            uploader.owner.anonymous,
            crate::state::meter::Usage { uploads, bytes },
            state.config().max_upload_bytes,
            address_left,
            free,
        )
    }
    .await;
    match allowance {
        Ok(allowance) => Ok(Admitted {
            owner: uploader.owner,
            started: uploader.started,
            expires: uploader.expires,
            allowance,
        }),
        Err(e) => {
            Metrics::inc(&state.metrics().uploads_refused);
            forget_new_visitor(state, &uploader.owner, &uploader.started).await;
            Err(e)
        }
    }
}

/// Who an upload belongs to: the visitor, or a new anonymous visitor (with their session)
/// on their first upload; and when it expires.
struct Uploader {
    owner: User,
    started: Option<Started>,
    expires: Option<i64>,
}

async fn uploader(state: &AppState, visitor: &Visitor) -> Result<Uploader, AppError> {
    let (owner, started) = match &visitor.user {
        Some(u) => (u.clone(), None),
        None => {
            let ttl = state.config().anonymous_ttl.as_millis() as i64;
            let user = users::create_anonymous(state.db(), storage::db::now_ms() + ttl).await?;
            let s = start(state, user.clone(), visitor.https).await?;
            (user, Some(s))
        }
    };
    let expires = if owner.anonymous {
        users::expires_ms(state.db(), &owner.id).await?
    } else {
        None
    };
    Ok(Uploader {
        owner,
        started,
        expires,
    })
}

/// The visitor a refused upload created (with their session) would be left behind without a
/// cookie to reach it: nothing of a refused upload stays.
async fn forget_new_visitor(state: &AppState, owner: &User, started: &Option<Started>) {
    if started.is_some()
        && let Err(cleanup) = users::delete(state.db(), &owner.id).await
    {
        tracing::warn!(user = %owner.id, error = %cleanup, "removing the visitor of a refused upload");
    }
}

fn upload_name(name: &str) -> &str {
    if name.trim().is_empty() {
        "upload"
    } else {
        name
    }
}

fn refused(name: &str, e: SubmitError, allowance: &crate::state::meter::Allowance) -> AppError {
    match e {
        SubmitError::TooLarge { .. } => {
            AppError::TooLarge(format!("“{name}” {}; nothing was stored.", allowance.over))
        }
        SubmitError::Unavailable(cause) => AppError::Unavailable(cause),
    }
}

/// An upload the browser sends straight to the object store.
#[derive(Debug, Clone)]
pub struct DirectUpload {
    /// The upload, `queued` until its file arrives.
    pub upload: UploadView,
    /// The form to post the file with.
    pub form: storage::objects::PostForm,
    /// When this upload started an anonymous session.
    pub started: Option<Started>,
}

/// Prepares an upload of `size` bytes that the browser posts straight to the object store
/// (S3): the upload row, then a presigned form for exactly its key. [`AppError::NotFound`]
/// when the store takes files only through [`upload`].
pub async fn direct_upload(
    state: &AppState,
    visitor: &Visitor,
    name: &str,
    size: u64,
) -> Result<DirectUpload, AppError> {
    let name = upload_name(name);
    if !state.deps().store.emits_events() {
        return Err(AppError::NotFound);
    }
    let Admitted {
        owner,
        started,
        expires,
        allowance,
    } = admit(state, visitor).await?;
    let prepared = if size > allowance.bytes {
        Err(refused(
            name,
            SubmitError::TooLarge {
                limit: allowance.bytes,
            },
            &allowance,
        ))
    } else {
        match lifecycle::prepare_direct(state.deps(), &owner.id, name, allowance.bytes, expires)
            .await
        {
            Ok(Some(p)) => Ok(p),
            Ok(None) => Err(AppError::NotFound),
            Err(e) => Err(refused(name, e, &allowance)),
        }
    };
    match prepared {
        Ok((u, form)) => {
            Metrics::inc(&state.metrics().uploads_accepted);
            // The file goes to S3 without passing here: its declared size counts.
            state.meter().record(&visitor.address, &owner.id, size);
            tracing::info!(upload = %u.id, user = %owner.id, "direct upload prepared");
            Ok(DirectUpload {
                upload: UploadView::from(&u),
                form,
                started,
            })
        }
        Err(e) => {
            Metrics::inc(&state.metrics().uploads_refused);
            forget_new_visitor(state, &owner, &started).await;
            Err(e)
        }
    }
}

/// The built-in sample history ("try it with sample data"): a generated export of about
/// 15,000 streams over four years, zipped as Spotify sends it. Built once per process.
pub fn sample_zip() -> &'static [u8] {
    static ZIP: OnceLock<Vec<u8>> = OnceLock::new();
    ZIP.get_or_init(|| {
        let export = synth::generate(&synth::Options {
            plays: 15_000,
            first_year: 2022,
            last_year: 2025,
            seed: 2026,
            ..synth::Options::default()
        });
        synth::zip_to(&export, std::io::Cursor::new(Vec::new()))
            .expect("zipping in memory")
            .into_inner()
    })
}

/// Uploads the sample history for the visitor.
pub async fn upload_sample(
    state: &AppState,
    visitor: &Visitor,
) -> Result<(UploadView, Option<Started>), AppError> {
    let zip = tokio::task::spawn_blocking(sample_zip)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let mut body: &[u8] = zip;
    upload_marked(
        state,
        visitor,
        "sample_my_spotify_data.zip",
        &mut body,
        true,
    )
    .await
}

/// The visitor's uploads, newest first (none for a visitor without a session).
pub async fn list_uploads(
    state: &AppState,
    visitor: &Visitor,
) -> Result<Vec<UploadView>, AppError> {
    let Some(user) = &visitor.user else {
        return Ok(Vec::new());
    };
    Ok(uploads::list_for_owner(state.db(), &user.id)
        .await?
        .iter()
        .filter(|u| u.state != State::Deleting)
        .map(UploadView::from)
        .collect())
}

/// One of the visitor's uploads; anyone else's is "not found".
pub async fn find_upload(
    state: &AppState,
    visitor: &Visitor,
    id: &str,
) -> Result<Upload, AppError> {
    let Some(user) = &visitor.user else {
        return Err(AppError::NotFound);
    };
    // Only ids of the form we issue reach the database (a NUL byte is an error there).
    let Some(id) = storage::ids::UploadId::parse(id) else {
        return Err(AppError::NotFound);
    };
    match uploads::by_id_for_owner(state.db(), &id, &user.id).await? {
        Some(u) if u.state != State::Deleting => Ok(u),
        _ => Err(AppError::NotFound),
    }
}

/// Deletes one of the visitor's uploads with its file and its streams.
pub async fn delete_upload(state: &AppState, visitor: &Visitor, id: &str) -> Result<(), AppError> {
    let u = find_upload(state, visitor, id).await?;
    lifecycle::request_delete(state.deps(), &u)
        .await
        .map_err(AppError::Unavailable)
}
