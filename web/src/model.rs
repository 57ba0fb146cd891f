//! What the pages and the JSON API show: the view models every feature renders (an upload, its
//! summary and files, the settings, the admin page's figures), made from the stored rows. A
//! leaf: nothing here renders or handles a request.

use serde::{Deserialize, Serialize};
use storage::uploads::Upload;
use storage::users::User;

/// An upload as the visitor sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UploadView {
    /// Id.
    pub id: String,
    /// File name.
    pub name: String,
    /// Bytes.
    #[schema(minimum = 0)]
    pub size_bytes: i64,
    /// Poll until `ready` or `failed`; lists and look-ups leave out uploads being deleted.
    #[schema(value_type = UploadState)]
    pub state: &'static str,
    /// Why it failed.
    #[schema(required = true)]
    pub reason: Option<String>,
    /// What it held, when ready.
    #[schema(required = true)]
    pub summary: Option<UploadSummary>,
    /// When it was uploaded (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub created: String,
    /// When it is deleted automatically (anonymous uploads).
    #[schema(required = true, format = DateTime)]
    pub expires: Option<String>,
    /// The built-in sample history ("try it with sample data"): left out of "all ready uploads"
    /// once the owner has an upload of their own.
    pub sample: bool,
}

engine::names! {
    /// Where an upload is: `queued`, `processing`, then `ready` or `failed`; `deleting` while
    /// it goes.
    UploadState: ["queued", "processing", "ready", "failed", "deleting"]
}

/// The parts of an ingest summary the uploads list shows.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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
    #[schema(required = true)]
    pub account_rows_covered_by_extended: u64,
    /// Records that could not be read (bad values).
    #[serde(default)]
    #[schema(required = true)]
    pub records_rejected: u64,
    /// Streams of at least the play threshold.
    pub plays: u64,
    /// Listening time.
    pub total_ms_played: u64,
    /// First stream end (RFC 3339, UTC).
    #[schema(required = true, format = DateTime)]
    pub first_ts: Option<String>,
    /// Last stream end (RFC 3339, UTC).
    #[schema(required = true, format = DateTime)]
    pub last_ts: Option<String>,
    /// The day the export was made, as its zip records it (absent for plain files, zips
    /// without dates, and uploads read before Backspin kept it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, format = Date)]
    pub exported: Option<String>,
    /// Files found, with their formats.
    #[serde(default)]
    #[schema(required = true)]
    pub files: Vec<FileView>,
}

/// One file of an upload.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FileView {
    /// Name inside the upload.
    pub name: String,
    /// `used`, `ignored` or `failed`.
    #[serde(default)]
    #[schema(required = true)]
    pub status: String,
    /// Detected format (`extended`, `account`…), none for ignored files.
    #[serde(default)]
    #[schema(required = true)]
    pub format: Option<String>,
    /// Records.
    #[serde(default)]
    #[schema(required = true)]
    pub records: u64,
    /// Records refused for bad values.
    #[serde(default)]
    #[schema(required = true)]
    pub rejected: u64,
    /// What was wrong with the first few refused records.
    #[serde(default)]
    #[schema(required = true)]
    pub problems: Vec<String>,
    /// Why it could not be read.
    #[serde(default)]
    #[schema(required = true)]
    pub error: Option<String>,
}

/// Milliseconds since the epoch as RFC 3339 UTC.
pub fn rfc3339(ms: i64) -> String {
    schema::time::format_rfc3339(ms)
}

impl From<&Upload> for UploadView {
    fn from(u: &Upload) -> Self {
        UploadView {
            id: u.id.to_string(),
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

/// The dashboard settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[schema(examples(json!({"tz": "Europe/Berlin", "min_play_seconds": 30})))]
pub struct SettingsView {
    /// IANA time zone, e.g. `Europe/Berlin`.
    pub tz: String,
    /// Shortest stream that counts as a play, in seconds.
    #[schema(maximum = 600)]
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

/// What the admin page shows.
#[derive(Debug, Default)]
pub struct AdminView {
    /// Messages waiting.
    pub queue_visible: u64,
    /// Messages in flight.
    pub queue_in_flight: u64,
    /// Dead letters.
    pub queue_dead: u64,
    /// Workers in this process.
    pub workers: u32,
    /// Workers busy.
    pub busy: u64,
    /// Uploads per state.
    pub states: Vec<(String, i64)>,
    /// Registered accounts and anonymous visitors.
    pub users: (i64, i64),
    /// Recent failures: (upload id, name, owner, reason, when).
    pub failures: Vec<(String, String, String, String, String)>,
}
