//! One message, from receive to acknowledge.
//!
//! **Idempotency.** Processing an upload replaces everything earlier for it (its streams in its
//! owner's artifact, rebuilt from all of the owner's uploads) in one transaction, and the
//! message is deleted only after that commit. So an event delivered twice, or
//! redelivered after a worker died mid-ingest, leaves exactly one copy of each play and the
//! same artifact as a single clean run.

use std::fs::File;
use std::io::BufReader;
use std::time::Duration;

use schema::event::Message;
use schema::{Settings, Stats, Status, Summary};
use storage::plays;
use storage::queue::Received;
use storage::uploads::{self, State, Upload};
use storage::users::{self, User};
use tracing::{Instrument, info, info_span, warn};

use crate::Deps;
use crate::FirstStreams;
use crate::artifact::{assemble, drop_plays, stored_streams, write};
use crate::failure::Failure;

/// Bumped whenever parsing or aggregation changes what an upload yields; `backspin reingest
/// --parser-older-than` finds uploads made by older versions.
pub const PARSER_VERSION: i32 = 1;

/// What became of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Handled (ingested, failed permanently, or nothing to do); the message was deleted.
    Acknowledged(String),
    /// Left on the queue to be received again after its visibility timeout.
    Retry(String),
}

/// Handles one received message, keeping it invisible with a heartbeat while it works, and
/// deletes it only when every upload it names has been dealt with for good.
pub async fn handle(deps: &Deps, msg: &Received) -> Outcome {
    let span = info_span!("message", id = %msg.id, receive_count = msg.receive_count);
    async {
        let heartbeat = {
            let (queue, receipt, every, visibility) = (
                deps.queue.clone(),
                msg.receipt.clone(),
                deps.settings.heartbeat_every,
                deps.settings.visibility_timeout,
            );
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    if let Err(e) = queue.extend(&receipt, visibility).await {
                        warn!(error = %e, "could not extend the message's visibility");
                    }
                }
            })
        };
        let outcome = handle_body(deps, &msg.body).await;
        heartbeat.abort();
        match outcome {
            Ok(what) => match deps.queue.delete(&msg.receipt).await {
                Ok(()) => Outcome::Acknowledged(what),
                Err(e) => {
                    Outcome::Retry(format!("done, but the message could not be deleted: {e}"))
                }
            },
            Err(why) => {
                let after = retry_after(msg.receive_count, deps.settings.visibility_timeout);
                warn!(why, retry_in_s = after.as_secs(), "will retry");
                // Seen again after a backoff rather than the whole visibility timeout; a queue
                // that is away (the table queue in a database outage) takes it back when it
                // answers again.
                if let Err(e) = deps.queue.release(&msg.receipt, after).await {
                    warn!(error = %e, "could not give the message back yet");
                }
                Outcome::Retry(why)
            }
        }
    }
    .instrument(span)
    .await
}

/// How long a message whose work failed for a passing reason waits before it is seen again:
/// 15 s after the first receive, doubling with each receive, at most the visibility timeout.
/// With five receives that rides out about four minutes of an outage of the database or the
/// object store before the dead-letter queue takes the message.
pub fn retry_after(receive_count: u32, visibility: Duration) -> Duration {
    let doublings = receive_count.saturating_sub(1).min(16);
    (Duration::from_secs(15) * (1u32 << doublings)).min(visibility)
}

async fn handle_body(deps: &Deps, body: &str) -> Result<String, String> {
    match Message::parse(body) {
        Message::TestEvent => {
            info!("S3 test event: acknowledged");
            Ok("test event".into())
        }
        Message::Malformed(why) => {
            warn!(why, body = %body.chars().take(200).collect::<String>(), "malformed message: acknowledged");
            Ok(format!("malformed: {why}"))
        }
        Message::Created(keys) => {
            let mut done = Vec::new();
            for key in keys {
                match ingest_key(deps, &key).await {
                    Ok(what) => done.push(what),
                    Err(Failure::Permanent(why)) => done.push(format!("failed: {why}")),
                    Err(Failure::Transient(why) | Failure::Unexpected(why)) => return Err(why),
                }
            }
            Ok(done.join("; "))
        }
    }
}

/// Ingests the upload stored under `key`. A permanent failure has already been recorded on the
/// upload (and the admins told) when this returns it.
pub async fn ingest_key(deps: &Deps, key: &str) -> Result<String, Failure> {
    let Some(upload) = uploads::by_key(&deps.db, key).await? else {
        if crate::scrub::remove_replaced_original(deps, key).await? {
            return Ok("replaced by its scrubbed copy".into());
        }
        warn!(key, "event for an unknown key: acknowledged");
        return Ok("unknown key".into());
    };
    let span = info_span!("upload", upload = %upload.id, owner = %upload.owner_id);
    async {
        if upload.state == State::Deleting {
            return Ok("being deleted".into());
        }
        uploads::set_state(&deps.db, &upload.id, State::Processing, None).await?;
        match ingest(deps, &upload).await {
            Err(Failure::Permanent(why)) => {
                // No row changed: the upload was deleted (or is being deleted) meanwhile, which
                // is why its file is gone; nothing to record, nobody to alert.
                if !fail(deps, &upload, &why).await? {
                    info!(why, "upload deleted while it was being ingested");
                    return Ok("deleted meanwhile".into());
                }
                warn!(why, "upload failed");
                deps.notifier
                    .notify(
                        "Backspin: an upload could not be read",
                        &format!(
                            "Upload {} ({:?}) failed: {why}",
                            upload.id, upload.original_name
                        ),
                    )
                    .await;
                Err(Failure::Permanent(why))
            }
            other => other,
        }
    }
    .instrument(span)
    .await
}

/// An upload's plays, deduplicated. Its summary is built later, beside the rebuild of its
/// owner's artifact.
struct Parsed {
    lib: schema::Library,
    report: schema::DedupeReport,
}

async fn ingest(deps: &Deps, upload: &Upload) -> Result<String, Failure> {
    let Some(fetched) = deps.store.fetch(&upload.object_key).await? else {
        return Err(Failure::Permanent(
            "the uploaded file is gone (it was deleted before it could be read)".into(),
        ));
    };
    if upload.checksum.is_empty() {
        record_direct_upload(deps, upload, &fetched).await?;
    }
    let Some(user) = users::by_id(&deps.db, &upload.owner_id).await? else {
        return Ok("owner gone".into());
    };
    let (name, limits) = (upload.original_name.clone(), deps.limits);
    let started = std::time::Instant::now();
    let fetched = std::sync::Arc::new(fetched);
    let source = fetched.clone();
    let parsed = tokio::task::spawn_blocking(move || parse(&source, name, &limits))
        .await
        .map_err(|e| Failure::Unexpected(format!("the parser crashed: {e}")))??;
    let parse_ms = started.elapsed().as_millis();
    let plays = parsed.lib.plays.len();
    commit(deps, upload, parsed, user).await?;
    info!(
        plays,
        parse_ms,
        total_ms = started.elapsed().as_millis() as u64,
        "upload ready"
    );
    // Ready for its owner already, with the dashboard they open first: their other finished
    // views next, then the raw file scrubbed; the message stays until both are done.
    deps.after_change.run(&upload.owner_id).await;
    crate::scrub::replace_with_scrubbed(deps, upload, fetched).await?;
    Ok(format!("ready: {plays} plays"))
}

/// A file the browser posted straight to the store (S3's presigned POST) reaches the worker
/// before anyone measured it: record its size and checksum, and refuse it when it is larger
/// than the upload limit. The policy's `content-length-range` already asks S3 to refuse
/// those; this is the check that does not depend on the store honouring it.
async fn record_direct_upload(
    deps: &Deps,
    upload: &Upload,
    fetched: &storage::objects::Fetched,
) -> Result<(), Failure> {
    let path = fetched.path.clone();
    let (size, sha256) = tokio::task::spawn_blocking(move || storage::objects::sha256_file(&path))
        .await
        .map_err(|e| Failure::Unexpected(format!("hashing the upload crashed: {e}")))?
        .map_err(|e| Failure::Unexpected(format!("reading the fetched upload: {e}")))?;
    if size > deps.max_upload_bytes {
        if let Err(e) = deps.store.delete(&upload.object_key).await {
            warn!(error = %e, "removing an oversized upload's file");
        }
        return Err(Failure::Permanent(format!(
            "the file is larger than the upload limit of {} MiB; it was removed",
            deps.max_upload_bytes >> 20
        )));
    }
    uploads::set_object(&deps.db, &upload.id, size, &sha256).await?;
    if upload.expires_ms.is_some() {
        crate::lifecycle::mark_expiring(deps, &upload.object_key, true).await;
    }
    Ok(())
}

fn parse(
    fetched: &storage::objects::Fetched,
    name: String,
    limits: &schema::Limits,
) -> Result<Parsed, Failure> {
    let path = fetched.path.clone();
    let t0 = std::time::Instant::now();
    let mut lib = schema::load(&[name], |_| File::open(&path).map(BufReader::new), limits);
    let load_ms = t0.elapsed().as_millis() as u64;
    if !lib.files.iter().any(|f| f.status == Status::Used) {
        return Err(Failure::Permanent(no_history_reason(&lib)));
    }
    let report = schema::dedupe(&mut lib.plays);
    if lib.plays.is_empty() {
        return Err(Failure::Permanent(
            "the listening history in it holds no streams".into(),
        ));
    }
    let dedupe_ms = t0.elapsed().as_millis() as u64 - load_ms;
    tracing::debug!(load_ms, dedupe_ms, "parsed");
    Ok(Parsed { lib, report })
}

/// A reason a person can act on: what was in the file instead of a history.
fn no_history_reason(lib: &schema::Library) -> String {
    let mut parts: Vec<String> = lib
        .files
        .iter()
        .filter(|f| f.status == Status::Failed || f.name.to_ascii_lowercase().ends_with(".json"))
        .take(3)
        .map(|f| {
            format!(
                "{}: {}",
                f.name.rsplit('/').next().unwrap_or(&f.name),
                f.message.as_deref().unwrap_or("")
            )
        })
        .collect();
    if parts.is_empty() {
        parts.push("it holds no JSON files".into());
    }
    format!(
        "no Spotify listening history found ({}). Upload my_spotify_data.zip or its StreamingHistory / Streaming_History / endsong JSON files",
        parts.join("; ")
    )
}

async fn commit(deps: &Deps, upload: &Upload, parsed: Parsed, user: User) -> Result<(), Failure> {
    let Parsed { lib, report } = parsed;
    let settings = settings_of(&user);
    let started = std::time::Instant::now();
    let lib = std::sync::Arc::new(lib);
    // Read from a scrubbed copy (a re-ingest), the files are the copy's: the report of the
    // files the person uploaded (their generations, sizes, the files left out) stays.
    let uploaded_files = uploads::scrubbed_key(&upload.object_key)
        .is_none()
        .then_some(upload.summary.as_deref())
        .flatten()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
        .and_then(|mut s| s.get_mut("files").map(serde_json::Value::take));
    let mut strings = lib.strings.clone();
    let mut tx = deps.db.begin().await?;
    plays::lock_user(&mut tx, &upload.owner_id).await?;
    // The row is held: the artifact written below is stamped with exactly the next version.
    let version = plays::data_version(&mut tx, &upload.owner_id).await? + 1;
    let others = stored_streams(&mut tx, &upload.owner_id, Some(&upload.id), &mut strings).await?;
    // The owner's only upload (the usual first one): the artifact holds exactly its plays,
    // and its stats are those of the dashboard computed below, built once there. Otherwise
    // the upload's own, on another thread.
    let alone = others.is_empty();
    let own_stats = (!alone).then(|| {
        let lib = lib.clone();
        tokio::task::spawn_blocking(move || Stats::build(&lib.plays, settings))
    });
    // The dashboard its owner opens first, computed while the artifact is built and written,
    // and stored with the upload's readiness: any instance serves it the moment it is ready.
    // From the upload's own plays when they are all the owner has (no need to wait for the
    // artifact), else from the artifact.
    let owner = User {
        stats_version: version,
        ..user
    };
    let (alone_tx, alone_rx) = tokio::sync::oneshot::channel();
    let mut first = None;
    if alone {
        let streams = FirstStreams::Upload(lib.clone());
        first = Some(first_views(deps, upload, &owner, streams, Some(alone_tx)).await?);
    }
    let built = {
        let (lib, id) = (lib.clone(), upload.id.clone());
        tokio::task::spawn_blocking(move || {
            assemble(&others, Some((id.as_str(), lib.plays.as_slice())), &strings)
        })
        .await
        .map_err(|e| Failure::Unexpected(format!("building the artifact crashed: {e}")))?
    };
    let built = std::sync::Arc::new(built);
    let first = match first {
        Some(first) => first,
        None => {
            let streams = FirstStreams::Artifact(built.clone());
            first_views(deps, upload, &owner, streams, None).await?
        }
    };
    // The summary, while the artifact is written and the views drawn: off the upload's own
    // stats, or off the first dashboard's selection when that is the upload alone, or (no
    // such selection: something hidden, or no web tier plugged in) built here.
    let summary = tokio::spawn(async move {
        let own_stats =
            match own_stats {
                Some(task) => Some(task.await.map_err(|e| {
                    Failure::Unexpected(format!("building the upload's stats: {e}"))
                })?),
                None => None,
            };
        let prepared = match own_stats {
            None => alone_rx.await.ok(),
            Some(_) => None,
        };
        tokio::task::spawn_blocking(move || {
            let summary = match (own_stats, prepared) {
                (Some(stats), _) => Summary::new(&lib, &report, &stats),
                (None, Some(p)) => {
                    let stats = p.stats(engine::Content::All, (None, None));
                    Summary::with_names(&lib, &report, &stats, &p.strings)
                }
                (None, None) => Summary::new(&lib, &report, &Stats::build(&lib.plays, settings)),
            };
            let mut summary = serde_json::to_value(summary)?;
            if let (Some(files), Some(slot)) = (uploaded_files, summary.get_mut("files")) {
                *slot = files;
            }
            serde_json::to_string(&summary)
        })
        .await
        .map_err(|e| Failure::Unexpected(format!("building the summary: {e}")))?
        .map_err(|e| Failure::Unexpected(format!("summary: {e}")))
    });
    write(&mut tx, &upload.owner_id, built.clone()).await?;
    drop(built);
    let artifact_ms = started.elapsed().as_millis() as u64;
    let views = first
        .await
        .unwrap_or_else(|e| {
            warn!(error = %e, "computing the first views crashed");
            crate::FirstViewsDone::default()
        })
        .views;
    let views_ms = started.elapsed().as_millis() as u64;
    let summary = summary
        .await
        .map_err(|e| Failure::Unexpected(format!("building the summary: {e}")))??;
    let summary_ms = started.elapsed().as_millis() as u64;
    for (name, body) in &views {
        storage::views::put_in_tx(&mut tx, &owner, version, name, body).await?;
    }
    if uploads::mark_ready(&mut tx, &upload.id, &summary, PARSER_VERSION).await? {
        tx.commit().await?;
        info!(
            artifact_ms,
            views = views.len(),
            views_ms,
            summary_ms,
            commit_ms = started.elapsed().as_millis() as u64,
            "committed"
        );
    } else {
        // Deleted while we worked: leave nothing behind.
        tx.rollback().await?;
    }
    Ok(())
}

/// Starts computing the owner's first views ([`crate::AfterChange::first_views`]) from
/// `streams`, with their uploads as they are once `upload` is ready.
async fn first_views(
    deps: &Deps,
    upload: &Upload,
    owner: &User,
    streams: FirstStreams,
    upload_alone: Option<tokio::sync::oneshot::Sender<std::sync::Arc<engine::Prepared>>>,
) -> Result<tokio::task::JoinHandle<crate::FirstViewsDone>, Failure> {
    let mut mine = uploads::list_for_owner(&deps.db, &owner.id).await?;
    for u in mine.iter_mut().filter(|u| u.id == upload.id) {
        u.state = State::Ready;
    }
    let first = crate::FirstViews {
        user: owner.clone(),
        uploads: mine,
        upload: upload.id.clone(),
        streams,
        upload_alone,
    };
    let hook = deps.after_change.clone();
    Ok(tokio::spawn(async move { hook.first_views(first).await }))
}

/// Marks an upload failed. Streams an earlier ingest left (a re-ingest the current parser
/// refuses) leave the owner's artifact in the same transaction, so a failed upload never
/// counts. Returns false when the upload is being deleted.
async fn fail(deps: &Deps, upload: &Upload, why: &str) -> Result<bool, Failure> {
    let mut tx = deps.db.begin().await?;
    drop_plays(&mut tx, upload).await?;
    let changed = uploads::set_failed(&mut tx, &upload.id, why).await?;
    tx.commit().await?;
    Ok(changed)
}

/// The dashboard settings of a user.
pub(crate) fn settings_of(user: &users::User) -> Settings {
    engine::selection::settings(&user.tz, user.min_play_ms)
}

/// Marks the uploads named by dead-lettered messages failed and tells the admins.
pub async fn dead_lettered(deps: &Deps, dead: &[Received]) {
    for msg in dead {
        let keys = match Message::parse(&msg.body) {
            Message::Created(keys) => keys,
            _ => vec![],
        };
        for key in &keys {
            if let Ok(Some(u)) = uploads::by_key(&deps.db, key).await {
                let why = format!(
                    "could not be processed after {} attempts; the administrators have been told",
                    msg.receive_count
                );
                let _ = uploads::set_state(&deps.db, &u.id, State::Failed, Some(&why)).await;
            }
        }
        deps.notifier
            .notify(
                "Backspin: a message was dead-lettered",
                &format!(
                    "Message {} for {:?} failed {} times and was moved to the dead-letter queue.",
                    msg.id, keys, msg.receive_count
                ),
            )
            .await;
    }
}

/// Receives and handles messages until `stop` says so; the message in hand is always finished.
pub async fn consume(
    deps: &Deps,
    stop: &tokio::sync::watch::Receiver<bool>,
    wait: Duration,
    busy: &std::sync::atomic::AtomicU64,
) {
    let mut backoff = Duration::from_millis(200);
    while !*stop.borrow() {
        match deps
            .queue
            .receive(
                deps.settings.batch_size,
                wait,
                deps.settings.visibility_timeout,
            )
            .await
        {
            Ok(batch) => {
                backoff = Duration::from_millis(200);
                dead_lettered(deps, &batch.dead_lettered).await;
                for msg in &batch.messages {
                    busy.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let outcome = handle(deps, msg).await;
                    busy.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    info!(?outcome, "message handled");
                }
            }
            Err(e) => {
                warn!(error = %e, "receive failed; backing off");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}
