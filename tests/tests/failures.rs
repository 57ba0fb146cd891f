//! Failures by kind: a bad file fails its upload at once; an error that might pass is retried
//! up to the dead-letter limit, and then the message is dead-lettered, the upload failed and
//! the administrators told.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use e2e::faults::FlakyStore;
use e2e::{Engine, Pipeline, both_engines, fixtures, test_settings};
use ingest_worker::process::{Outcome, consume};
use queue_config::QueueSettings;
use storage::objects::LocalDir;
use storage::uploads::State;
use tokio::sync::watch;

both_engines!(a_poison_file_fails_with_its_reason_after_exactly_one_attempt);

async fn a_poison_file_fails_with_its_reason_after_exactly_one_attempt(engine: Engine) {
    let p = Pipeline::new(engine).await;
    let user = p.user("poison@example.com").await;
    let store = Arc::new(FlakyStore::new(
        LocalDir::new(p.data.path().join("objects")).unwrap(),
    ));
    let deps = p.deps_with(p.db().clone(), store.clone());
    let not_a_zip = p
        .submit_bytes(
            &user,
            "my_spotify_data.zip",
            b"PK\x03\x04 this is not a zip",
        )
        .await;
    let not_history = p
        .submit_bytes(&user, "notes.json", br#"{"hello": "world"}"#)
        .await;

    let handled = p.work(&deps).await;
    assert_eq!(handled.len(), 2, "{handled:?}");
    for (m, outcome) in &handled {
        assert_eq!(m.receive_count, 1);
        assert!(
            matches!(outcome, Outcome::Acknowledged(what) if what.starts_with("failed:")),
            "{outcome:?}"
        );
    }
    assert_eq!(store.fetches(), 2, "each file was read once");
    assert!(
        p.queue_rows().await.is_empty(),
        "the messages were deleted, not kept for retries or dead-lettered"
    );

    for upload in [&not_a_zip, &not_history] {
        let u = p.upload(&upload.id).await.unwrap();
        assert_eq!(u.state, State::Failed);
        let reason = u.reason.unwrap_or_default();
        assert!(
            reason.starts_with("no Spotify listening history found"),
            "{reason}"
        );
        assert!(
            reason.contains(&upload.original_name),
            "the reason names the file: {reason}"
        );
        assert_eq!(p.play_count(&upload.id).await, 0);
    }
    let alerts = p.notifier.sent();
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert!(
        alerts
            .iter()
            .all(|(subject, _)| subject.contains("could not be read")),
        "{alerts:?}"
    );
}

/// Dead-letter after three receives; a received message comes back after one second.
fn three_strikes() -> QueueSettings {
    QueueSettings {
        max_receives: 3,
        visibility_timeout: Duration::from_secs(1),
        heartbeat_every: Duration::from_millis(400),
        ..test_settings()
    }
}

both_engines!(an_error_that_persists_is_retried_up_to_the_limit_then_dead_lettered_and_reported);

async fn an_error_that_persists_is_retried_up_to_the_limit_then_dead_lettered_and_reported(
    engine: Engine,
) {
    let p = Pipeline::with_settings(engine, three_strikes()).await;
    let user = p.user("unlucky@example.com").await;
    let sample = fixtures::samples().join("extended/Streaming_History_Audio_2023_2.json");
    let store = Arc::new(FlakyStore::new(
        LocalDir::new(p.data.path().join("objects")).unwrap(),
    ));
    store.fail_fetches(u32::MAX);
    let deps = p.deps_with(p.db().clone(), store.clone());
    let upload = p.submit(&user, &sample).await;

    // A worker as the pool runs one: receives that wait up to a second, back to back.
    let (stop_tx, stop) = watch::channel(false);
    let worker = tokio::spawn(async move {
        consume(&deps, &stop, Duration::from_secs(1), &AtomicU64::new(0)).await
    });
    let u = p
        .wait_for(&upload.id, Duration::from_secs(30), "failed", |u| {
            u.state == State::Failed
        })
        .await;
    let _ = stop_tx.send(true);
    worker.await.unwrap();

    assert_eq!(
        store.fetches(),
        3,
        "one attempt per receive, as many as max_receives"
    );
    let reason = u.reason.unwrap_or_default();
    assert!(reason.contains("after 3 attempts"), "{reason}");
    assert_eq!(
        p.queue_rows().await,
        [("ingest-dead".to_string(), 3)],
        "the message is in the dead-letter queue"
    );
    let dead = p.queue.dead_letters(10).await.unwrap();
    assert!(dead[0].body.contains(upload.id.as_str()), "{dead:?}");
    let alerts = p.notifier.sent();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].0.contains("dead-lettered"), "{alerts:?}");
    assert!(
        alerts[0].1.contains(&upload.object_key.replace(' ', "+"))
            || alerts[0].1.contains(&upload.object_key),
        "{alerts:?}"
    );
}

both_engines!(an_error_that_passes_before_the_limit_only_delays_the_upload);

async fn an_error_that_passes_before_the_limit_only_delays_the_upload(engine: Engine) {
    let p = Pipeline::with_settings(engine, three_strikes()).await;
    let user = p.user("patient@example.com").await;
    let sample = fixtures::samples().join("extended/Streaming_History_Audio_2023_2.json");
    let store = Arc::new(FlakyStore::new(
        LocalDir::new(p.data.path().join("objects")).unwrap(),
    ));
    store.fail_fetches(2);
    let deps = p.deps_with(p.db().clone(), store.clone());
    let upload = p.submit(&user, &sample).await;

    let (stop_tx, stop) = watch::channel(false);
    let worker = tokio::spawn(async move {
        consume(&deps, &stop, Duration::from_secs(1), &AtomicU64::new(0)).await
    });
    p.wait_ready_and_acknowledged(&upload.id, Duration::from_secs(30))
        .await;
    let _ = stop_tx.send(true);
    worker.await.unwrap();
    assert_eq!(
        store.fetches(),
        3,
        "two failed attempts, then the one that worked"
    );
    assert_eq!(p.play_count(&upload.id).await, 552);
    assert!(p.notifier.sent().is_empty(), "{:?}", p.notifier.sent());
}

both_engines!(a_transfer_cut_off_by_a_crash_leaves_no_row_and_no_file_once_the_pool_starts_again);
async fn a_transfer_cut_off_by_a_crash_leaves_no_row_and_no_file_once_the_pool_starts_again(
    engine: Engine,
) {
    let p = Pipeline::new(engine).await;
    let user = p.user("cut@example.com").await;
    let sample = fixtures::samples().join("extended/Streaming_History_Video_2026.json");
    let done = p.submit(&user, &sample).await;
    // What a crash mid-transfer leaves: the row (written first, still without its file) and
    // the half-written file in `.partial/`, both from before the restart.
    let cut = storage::uploads::insert(
        p.db(),
        &storage::uploads::NewUpload {
            owner_id: &user.id,
            original_name: "my_spotify_data.zip",
            expires_ms: None,
            sample: false,
        },
    )
    .await
    .unwrap();
    let partial = p.data.path().join("objects/.partial/left-by-a-crash");
    std::fs::write(&partial, b"PK\x03\x04 half a zip").unwrap();
    // Not yet: the sweeper leaves a transfer alone for the upload deadline.
    let deps = p.deps();
    ingest_worker::lifecycle::sweep(&deps).await.unwrap();
    assert!(p.upload(&cut.id).await.is_some() && partial.exists());

    // The restart, a minute and more later: a pool starting finds both and removes them.
    p.execute(&format!(
        "UPDATE uploads SET created_ms = created_ms - 120000 WHERE id = '{}'",
        cut.id
    ))
    .await;
    std::fs::File::options()
        .write(true)
        .open(&partial)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(120))
        .unwrap();
    let (stop_tx, stop) = watch::channel(false);
    let pool = tokio::spawn(ingest_worker::pool::run(
        p.deps(),
        queue_config::ScalingPolicy::DEFAULT,
        ingest_worker::pool::PoolTiming::default(),
        stop,
        ingest_worker::pool::PoolStatus::default(),
    ));
    // The row goes first, then the half-written file (`lifecycle::clean_interrupted`): wait
    // for both, not for the row alone (under load the file went a moment after).
    e2e::eventually(
        Duration::from_secs(30),
        "the cut-off upload and its half-written file removed",
        || {
            let (p, id, partial) = (&p, cut.id.clone(), partial.clone());
            async move { (p.upload(&id).await.is_none() && !partial.exists()).then_some(()) }
        },
    )
    .await;
    e2e::eventually(
        Duration::from_secs(30),
        "the finished upload ingested",
        || {
            let (p, id) = (&p, done.id.clone());
            async move { (p.upload(&id).await.unwrap().state == State::Ready).then_some(()) }
        },
    )
    .await;
    let _ = stop_tx.send(true);
    pool.await.unwrap();
}
