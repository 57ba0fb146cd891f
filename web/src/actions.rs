//! What a visitor can do, shared by the pages and the JSON API: each function checks who is
//! asking, does the thing through `storage` and `ingest_worker`, and returns a view model.
//! Another user's upload is always [`AppError::NotFound`].

use std::collections::HashSet;
use std::sync::OnceLock;

use axum::http::HeaderValue;
use ingest_worker::lifecycle::{self, SubmitError};
use serde::{Deserialize, Serialize};
use storage::uploads::{self, State, Upload};
use storage::users::{self, ClaimError, User};
use tokio::io::AsyncRead;

use crate::AppState;
use crate::auth::{self, Password};
use crate::error::AppError;
use crate::idp::IdentityProvider;
use crate::idp_accounts;
use crate::metrics::Metrics;
use crate::quota;
use crate::session::{self, Visitor};

/// A session just started: the token, its cookie, and the CSRF token that goes with it.
#[derive(Debug, Clone)]
pub struct Started {
    /// The user it belongs to.
    pub user: User,
    /// `Set-Cookie` for the browser.
    pub cookie: HeaderValue,
    /// The new CSRF token (the old one ended with the old session).
    pub csrf_token: String,
    /// The session token (the cookie's value).
    pub(crate) token: String,
}

async fn start(state: &AppState, user: User, https: bool) -> Result<Started, AppError> {
    let (token, cookie) = session::start(state, &user, https).await?;
    Ok(started(state, user, token, cookie))
}

/// [`start`] for an account held by an identity provider: the session keeps its tokens.
pub(crate) async fn start_with_idp_tokens(
    state: &AppState,
    user: User,
    https: bool,
    tokens: &crate::idp_tokens::SessionTokens,
) -> Result<Started, AppError> {
    let (token, cookie) = session::start_with_idp_tokens(state, &user, https, tokens).await?;
    Ok(started(state, user, token, cookie))
}

fn started(state: &AppState, user: User, token: String, cookie: HeaderValue) -> Started {
    Started {
        csrf_token: session::csrf_token(&state.config().secret, &token),
        user,
        cookie,
        token,
    }
}

/// The identity provider, or "not found" for the routes that exist only with one.
fn require_idp(state: &AppState) -> Result<&dyn IdentityProvider, AppError> {
    state.idp().ok_or(AppError::NotFound)
}

/// What a sign-up with a taken e-mail address says: a refusal like any other (422), in
/// words that do not assert that an account exists. Without an e-mail round trip a sign-up
/// cannot hide that entirely (a new address succeeds); the sign-up limit per address bounds
/// how many addresses one client can probe.
pub(crate) const EMAIL_TAKEN: &str =
    "We could not create an account with this e-mail address. If it is yours, sign in instead.";

/// What signing up led to.
#[derive(Debug, Clone)]
pub enum SignedUp {
    /// A local account, created and signed in.
    Started(Started),
    /// An account at the identity provider; no session yet: the visitor confirms their
    /// address with the code e-mailed to `confirmation_sent_to` (masked) and signs in, or,
    /// when that is none, signs in right away.
    Pending {
        /// The account's e-mail address.
        email: String,
        /// Where the confirmation code went, masked (`a***@e***`).
        confirmation_sent_to: Option<String>,
    },
}

/// Creates an account. An anonymous visitor's account is their own visitor row, so their
/// uploads become the account's (signing up claims them; with an identity provider, the
/// first sign-in from the same browser does).
pub async fn sign_up(
    state: &AppState,
    visitor: &Visitor,
    email: &str,
    password: &Password,
) -> Result<SignedUp, AppError> {
    if visitor.user.as_ref().is_some_and(|u| !u.anonymous) {
        return Err(AppError::BadRequest(
            "You are already signed in; sign out to create another account.".into(),
        ));
    }
    let email = auth::check_email(email)?;
    auth::check_new_password(password, &email)?;
    // Counted once the input is valid: a typo does not use up the address's allowance.
    state.limiter().admit_sign_up(&visitor.address)?;
    if let Some(idp) = state.idp() {
        return idp_accounts::sign_up(state, idp, &email, password).await;
    }
    let hash = auth::hash_password(password, state.config().argon2).await?;
    let taken = || AppError::Invalid(EMAIL_TAKEN.into());
    let user = match &visitor.user {
        Some(anon) => match users::claim(state.db(), &anon.id, &email, &hash).await {
            Ok(u) => u,
            Err(ClaimError::EmailTaken) => return Err(taken()),
            Err(ClaimError::Gone) => {
                return Err(AppError::Conflict(
                    "This browser's uploads were just claimed by another sign-up. Reload the page and try again."
                        .into(),
                ));
            }
            Err(ClaimError::Db(e)) => return Err(e.into()),
        },
        None => match users::create(state.db(), Some(&email), Some(&hash), false).await {
            Ok(u) => u,
            Err(e) if users::is_unique_violation(&e) => return Err(taken()),
            Err(e) => return Err(e.into()),
        },
    };
    if visitor.user.is_some() {
        storage::sessions::delete(state.db(), &visitor.token).await?;
        lifecycle::keep_uploads(state.deps(), &user.id).await?;
    }
    Metrics::inc(&state.metrics().sign_ups);
    tracing::info!(user = %user.id, claimed = visitor.user.is_some(), "account created");
    Ok(SignedUp::Started(start(state, user, visitor.https).await?))
}

/// Confirms an account at the identity provider with the code it e-mailed. The visitor
/// signs in afterwards (the password is not at hand here). "Not found" without a provider.
pub async fn confirm_sign_up(state: &AppState, email: &str, code: &str) -> Result<(), AppError> {
    idp_accounts::confirm_sign_up(require_idp(state)?, email, code).await
}

/// Has the identity provider send the confirmation code again. "Not found" without one.
pub async fn resend_code(state: &AppState, email: &str) -> Result<(), AppError> {
    idp_accounts::resend_code(require_idp(state)?, email).await
}

/// Signs in with e-mail and password; rate-limited per account and per address. Every
/// failure reads the same: "wrong e-mail or password". With an identity provider, an
/// account whose address is not confirmed yet is [`AppError::Unconfirmed`].
pub async fn sign_in(
    state: &AppState,
    visitor: &Visitor,
    email: &str,
    password: &Password,
) -> Result<Started, AppError> {
    if let Some(idp) = state.idp() {
        return idp_accounts::sign_in(state, idp, visitor, email, password).await;
    }
    // Refused before the database: no account has an address that fails the check.
    let email = auth::check_email(email)?;
    if let Err(e) = state.limiter().admit(&email, &visitor.address) {
        Metrics::inc(&state.metrics().sign_ins_limited);
        return Err(e);
    }
    let found = users::credentials(state.db(), &email).await?;
    let (user, hash) = match found {
        Some((u, h)) => (Some(u), h),
        None => (None, None),
    };
    let ok = auth::verify_password(password, hash, state.config().argon2).await?;
    let Some(user) = user.filter(|_| ok) else {
        state.limiter().failed(&email, &visitor.address);
        Metrics::inc(&state.metrics().sign_ins_failed);
        return Err(AppError::Invalid("Wrong e-mail or password.".into()));
    };
    state.limiter().succeeded(&email, &visitor.address);
    if visitor.user.is_some() {
        storage::sessions::delete(state.db(), &visitor.token).await?;
    }
    keep_visitor_uploads(state, visitor, &user).await?;
    Metrics::inc(&state.metrics().sign_ins_ok);
    tracing::info!(user = %user.id, "signed in");
    start(state, user, visitor.https).await
}

/// Signing in from a browser that uploaded as an anonymous visitor: the visitor's uploads
/// become the account's (their streams join the account's, each counted once), and the
/// visitor goes.
pub(crate) async fn keep_visitor_uploads(
    state: &AppState,
    visitor: &Visitor,
    account: &User,
) -> Result<(), AppError> {
    let Some(anon) = visitor
        .user
        .as_ref()
        .filter(|u| u.anonymous && u.id != account.id)
    else {
        return Ok(());
    };
    let moved = ingest_worker::artifact::adopt(state.deps(), &anon.id, &account.id).await?;
    if moved > 0 {
        lifecycle::keep_uploads(state.deps(), &account.id).await?;
        state.deps().after_change.run(&account.id).await;
        tracing::info!(user = %account.id, uploads = moved, "a visitor's uploads kept on signing in");
    }
    Ok(())
}

/// Ends the visitor's session; returns the cookie that replaces it.
pub async fn sign_out(state: &AppState, visitor: &Visitor) -> Result<HeaderValue, AppError> {
    storage::sessions::delete(state.db(), &visitor.token).await?;
    Ok(fresh_cookie(visitor))
}

/// A cookie with a new token and no session, replacing one that ended.
fn fresh_cookie(visitor: &Visitor) -> HeaderValue {
    session::set_cookie(&session::new_token(), None, visitor.https)
}

/// Ends every session of the signed-in account, this one included; with an identity
/// provider, its refresh tokens are revoked first. Returns the cookie that replaces this
/// browser's.
pub async fn sign_out_everywhere(
    state: &AppState,
    visitor: &Visitor,
) -> Result<HeaderValue, AppError> {
    let user = visitor.require_account()?.clone();
    if let Some(idp) = state.idp() {
        idp_accounts::sign_out_everywhere(state, idp, visitor).await?;
    }
    let ended = storage::sessions::delete_for_user(state.db(), &user.id).await?;
    tracing::info!(user = %user.id, sessions_ended = ended, "signed out everywhere");
    Ok(fresh_cookie(visitor))
}

/// The rate limiter's key for confirming a signed-in user's password: counted apart from
/// sign-ins, so that a stranger failing sign-ins with this e-mail can not lock its owner out
/// of changing the password or deleting the account.
pub(crate) fn confirm_key(user: &User) -> String {
    format!("confirm:{}", user.id)
}

/// Checks the signed-in user's password, rate-limited like a sign-in but counted apart from
/// sign-ins ([`confirm_key`]).
async fn confirm_password(
    state: &AppState,
    visitor: &Visitor,
    user: &User,
    password: &Password,
) -> Result<(), AppError> {
    let key = confirm_key(user);
    state.limiter().admit(&key, &visitor.address)?;
    let hash = users::password_hash(state.db(), &user.id).await?;
    if auth::verify_password(password, hash, state.config().argon2).await? {
        state.limiter().succeeded(&key, &visitor.address);
        Ok(())
    } else {
        state.limiter().failed(&key, &visitor.address);
        Err(AppError::Invalid("The current password is wrong.".into()))
    }
}

/// Changes the password (the current one is needed) and ends every other session.
pub async fn change_password(
    state: &AppState,
    visitor: &Visitor,
    current: &Password,
    new: &Password,
) -> Result<Started, AppError> {
    let user = visitor.require_account()?.clone();
    if let Some(idp) = state.idp() {
        return idp_accounts::change_password(state, idp, visitor, &user, current, new).await;
    }
    confirm_password(state, visitor, &user, current).await?;
    auth::check_new_password(new, user.email.as_deref().unwrap_or(""))?;
    let hash = auth::hash_password(new, state.config().argon2).await?;
    users::set_password(state.db(), &user.id, &hash).await?;
    let started = start(state, user, visitor.https).await?;
    let ended =
        storage::sessions::delete_others(state.db(), &started.user.id, &started.token).await?;
    tracing::info!(user = %started.user.id, sessions_ended = ended, "password changed");
    Ok(started)
}

/// Has the identity provider e-mail a password reset code. The answer is the same whether
/// an account exists or not. "Not found" without a provider (local accounts have no e-mail
/// delivery).
pub async fn forgot_password(state: &AppState, email: &str) -> Result<(), AppError> {
    idp_accounts::forgot_password(require_idp(state)?, email).await
}

/// Sets a new password at the identity provider with the reset code, and ends every
/// session of the account. "Not found" without a provider.
pub async fn reset_password(
    state: &AppState,
    email: &str,
    code: &str,
    new: &Password,
) -> Result<(), AppError> {
    idp_accounts::reset_password(state, require_idp(state)?, email, code, new).await
}

/// Deletes the account with every upload, file, play and stat (the password is needed);
/// with an identity provider, its user there too.
pub async fn delete_account(
    state: &AppState,
    visitor: &Visitor,
    password: &Password,
) -> Result<HeaderValue, AppError> {
    let user = visitor.require_account()?.clone();
    if let Some(idp) = state.idp() {
        idp_accounts::delete_account(state, idp, visitor, &user, password).await?;
    } else {
        confirm_password(state, visitor, &user, password).await?;
        lifecycle::delete_user(state.deps(), &user.id)
            .await
            .map_err(AppError::Unavailable)?;
    }
    Ok(fresh_cookie(visitor))
}

/// An upload as the visitor sees it.
#[derive(Debug, Clone, Serialize)]
pub struct UploadView {
    /// Id.
    pub id: String,
    /// File name.
    pub name: String,
    /// Bytes.
    pub size_bytes: i64,
    /// `queued`, `processing`, `ready`, `failed` or `deleting`.
    pub state: &'static str,
    /// Why it failed.
    pub reason: Option<String>,
    /// What it held, when ready.
    pub summary: Option<UploadSummary>,
    /// When it was uploaded (RFC 3339, UTC).
    pub created: String,
    /// When it is deleted automatically (anonymous uploads).
    pub expires: Option<String>,
    /// The built-in sample history.
    pub sample: bool,
}

/// The parts of an ingest summary the uploads list shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadSummary {
    /// Records read.
    pub records: u64,
    /// Streams after removing duplicates.
    pub unique_records: u64,
    /// Exact duplicates removed.
    pub duplicates_dropped: u64,
    /// Streams without track, episode or audiobook.
    pub rows_without_metadata: u64,
    /// Account-data rows left out because the extended history covers their period.
    #[serde(default)]
    pub account_rows_covered_by_extended: u64,
    /// Records that could not be read (bad values).
    #[serde(default)]
    pub records_rejected: u64,
    /// Streams of at least the play threshold.
    pub plays: u64,
    /// Listening time.
    pub total_ms_played: u64,
    /// First stream end (RFC 3339, UTC).
    pub first_ts: Option<String>,
    /// Last stream end (RFC 3339, UTC).
    pub last_ts: Option<String>,
    /// The day the export was made, as its zip records it (absent for plain files, zips
    /// without dates, and uploads read before Backspin kept it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exported: Option<String>,
    /// Files found, with their formats.
    #[serde(default)]
    pub files: Vec<FileView>,
}

/// One file of an upload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileView {
    /// Name inside the upload.
    pub name: String,
    /// `used`, `ignored` or `failed`.
    #[serde(default)]
    pub status: String,
    /// Detected format (`extended`, `account`…), none for ignored files.
    #[serde(default)]
    pub format: Option<String>,
    /// Records.
    #[serde(default)]
    pub records: u64,
    /// Records refused for bad values.
    #[serde(default)]
    pub rejected: u64,
    /// What was wrong with the first few refused records.
    #[serde(default)]
    pub problems: Vec<String>,
    /// Why it could not be read.
    #[serde(default)]
    pub error: Option<String>,
}

/// Milliseconds since the epoch as RFC 3339 UTC.
pub fn rfc3339(ms: i64) -> String {
    schema::time::format_rfc3339(ms)
}

impl From<&Upload> for UploadView {
    fn from(u: &Upload) -> Self {
        UploadView {
            id: u.id.clone(),
            name: u.original_name.clone(),
            size_bytes: u.size_bytes,
            state: u.state.as_str(),
            reason: u.reason.clone(),
            summary: u
                .summary
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok()),
            created: rfc3339(u.created_ms),
            expires: u.expires_ms.map(rfc3339),
            sample: u.sample,
        }
    }
}

/// Stores a file for the visitor and queues it; an anonymous visitor is created (with their
/// session) on their first upload. Returns the upload and, when a session started, its
/// cookie and CSRF token. Refused, with nothing stored, beyond the visitor's quotas
/// ([`crate::quota`]).
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
    allowance: quota::Allowance,
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
            quota::Usage { uploads, bytes },
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

fn refused(name: &str, e: SubmitError, allowance: &quota::Allowance) -> AppError {
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

/// A size limit as people read it: whole MiB as before (“1024 MiB”), smaller limits in KiB
/// or bytes, so that a limit below 1 MiB never reads “0 MiB”.
pub(crate) fn size_limit(bytes: u64) -> String {
    for (unit, size) in [("MiB", 1u64 << 20), ("KiB", 1 << 10)] {
        if bytes >= size {
            return if bytes.is_multiple_of(size) {
                format!("{} {unit}", bytes / size)
            } else {
                format!("{:.1} {unit}", bytes as f64 / size as f64)
            };
        }
    }
    format!("{bytes} bytes")
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
    if !storage::ids::is_id(id) {
        return Err(AppError::NotFound);
    }
    match uploads::by_id_for_owner(state.db(), id, &user.id).await? {
        Some(u) if u.state != State::Deleting => Ok(u),
        _ => Err(AppError::NotFound),
    }
}

/// Deletes one of the visitor's uploads with its file and its streams.
pub async fn delete_upload(state: &AppState, visitor: &Visitor, id: &str) -> Result<(), AppError> {
    let u = find_upload(state, visitor, id).await?;
    lifecycle::delete_upload(state.deps(), &u)
        .await
        .map_err(AppError::Unavailable)
}

/// The dashboard settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SettingsView {
    /// IANA time zone, e.g. `Europe/Berlin`.
    pub tz: String,
    /// Shortest stream that counts as a play, in seconds.
    pub min_play_seconds: u32,
}

impl From<&User> for SettingsView {
    fn from(u: &User) -> Self {
        SettingsView {
            tz: u.tz.clone(),
            min_play_seconds: engine::selection::play_threshold_seconds(u.min_play_ms),
        }
    }
}

/// Longest play threshold accepted, in seconds.
pub const MAX_MIN_PLAY_SECONDS: u32 = 600;

/// Changes the settings; every view follows at once (the dashboards are computed from the
/// stored streams under the settings in force, nothing is parsed again).
pub async fn update_settings(
    state: &AppState,
    visitor: &Visitor,
    new: &SettingsView,
) -> Result<SettingsView, AppError> {
    let user = visitor.require_user()?;
    let tz: schema::Tz = new.tz.trim().parse().map_err(|_| {
        AppError::Invalid(format!(
            "Unknown time zone “{}”: use a name like Europe/Berlin or America/New_York.",
            new.tz.trim()
        ))
    })?;
    if new.min_play_seconds > MAX_MIN_PLAY_SECONDS {
        return Err(AppError::Invalid(format!(
            "What counts as a play must be between 0 and {MAX_MIN_PLAY_SECONDS} seconds."
        )));
    }
    let min_play_ms = i64::from(new.min_play_seconds) * 1000;
    users::set_settings(state.db(), &user.id, tz.name(), min_play_ms).await?;
    let updated = User {
        tz: tz.name().to_string(),
        min_play_ms,
        ..user.clone()
    };
    // Nothing to rebuild: the artifact does not depend on the settings, and the dashboards
    // prepared in memory are keyed by them. The finished default views are, too: they are
    // computed again under the new settings, in the background.
    if user.tz != updated.tz || user.min_play_ms != updated.min_play_ms {
        let (state, id) = (state.clone(), user.id.clone());
        tokio::spawn(async move {
            if let Err(e) = crate::board::precompute(&state, &id, None).await {
                tracing::warn!(user = %id, error = %e, "storing the finished views failed");
            }
        });
    }
    Ok(SettingsView::from(&updated))
}

/// The ids of the visitor's uploads a selection names (all ready ones when empty); unknown or
/// foreign ids are "not found".
pub async fn selection(
    state: &AppState,
    user: &User,
    ids: &[String],
) -> Result<Vec<Upload>, AppError> {
    let mine: Vec<Upload> = uploads::list_for_owner(state.db(), &user.id)
        .await?
        .into_iter()
        .filter(|u| u.state != State::Deleting)
        .collect();
    if ids.is_empty() {
        return Ok(everything(mine));
    }
    let wanted: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let chosen: Vec<Upload> = mine
        .into_iter()
        .filter(|u| wanted.contains(u.id.as_str()))
        .collect();
    if chosen.len() != wanted.len() {
        return Err(AppError::NotFound);
    }
    Ok(chosen)
}

/// The uploads "all my uploads" means: the ready ones, without the sample history once there
/// is real data (a sample stays apart; choosing it by id still shows it).
pub fn everything(mine: Vec<Upload>) -> Vec<Upload> {
    let ready: Vec<Upload> = mine
        .into_iter()
        .filter(|u| u.state == State::Ready)
        .collect();
    let real = ready.iter().any(|u| !u.sample);
    ready.into_iter().filter(|u| !(real && u.sample)).collect()
}

pub use crate::dashboard::{StatsQuery, StatsView, stats};
