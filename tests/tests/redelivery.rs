//! The same event twice, and an event redelivered after its worker was killed mid-ingest,
//! leave exactly one copy of each play and the stats of a clean run.

use std::time::Duration;

use e2e::faults::SqliteWriterProbe;
use e2e::fixtures;
use e2e::process::{WorkerProcess, run};
use e2e::{
    Engine, Pipeline, assert_same_ingest, both_engines, clean_run, clean_run_in_background,
    eventually,
};
use ingest_worker::process::{Outcome, handle};
use storage::on_pool;
use storage::queue::Queue;
use storage::uploads::State;

both_engines!(the_same_event_delivered_twice_leaves_one_copy_of_each_play);

async fn the_same_event_delivered_twice_leaves_one_copy_of_each_play(engine: Engine) {
    let p = Pipeline::new(engine).await;
    let (zip, _) = fixtures::export_zip(p.data.path(), 3_000, 11);
    let user = p.user("twice@example.com").await;
    let upload = p.submit(&user, &zip).await;

    // S3 delivers at least once: the very same event body, twice.
    let body: String = on_pool!(p.db(), c => sqlx::query_scalar("SELECT body FROM queue_messages")
        .fetch_one(c)
        .await)
    .unwrap();
    p.queue.send(&body).await.unwrap();

    // Two workers take the two copies and ingest them at the same time.
    let deps = p.deps();
    let vis = deps.settings.visibility_timeout;
    let first = p
        .queue
        .receive(1, Duration::ZERO, vis)
        .await
        .unwrap()
        .messages;
    let second = p
        .queue
        .receive(1, Duration::ZERO, vis)
        .await
        .unwrap()
        .messages;
    assert_eq!(
        (first.len(), second.len()),
        (1, 1),
        "both copies are delivered"
    );
    let (a, b) = tokio::join!(handle(&deps, &first[0]), handle(&deps, &second[0]));
    assert!(matches!(a, Outcome::Acknowledged(_)), "{a:?}");
    assert!(matches!(b, Outcome::Acknowledged(_)), "{b:?}");

    let u = p.upload(&upload.id).await.unwrap();
    assert_eq!(u.state, State::Ready, "{:?}", u.reason);
    assert!(
        p.queue_rows().await.is_empty(),
        "both copies were acknowledged"
    );

    // And once more, long after it was ready.
    p.queue.send(&body).await.unwrap();
    let late = p.work(&deps).await;
    assert!(
        matches!(late[..], [(_, Outcome::Acknowledged(_))]),
        "{late:?}"
    );

    let got = p.ingested(&user, &upload.id).await;
    assert_same_ingest(&got, &clean_run(engine, &zip).await);
}

/// Streams in the export the kill test ingests: enough that a debug build's worker spends
/// seconds on it, so it can be killed in the middle of writing.
const KILL_TEST_PLAYS: usize = 20_000;

/// Waits until a worker is inside the upload's ingest transaction (open, not committed): on
/// PostgreSQL waiting on the user's row the test holds, on SQLite writing.
async fn wait_until_writing(p: &Pipeline, upload_id: &str) {
    let within = Duration::from_secs(90);
    match p.engine() {
        Engine::Postgres => {
            // The ingest's transaction waits on the user's row, which the test holds.
            eventually(
                within,
                "the worker's ingest waiting on the user's row",
                || async {
                    let writers: i64 = on_pool!(p.db(), c => sqlx::query_scalar(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                     AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'",
                )
                .fetch_one(c)
                .await)
                    .unwrap();
                    let u = p.upload(upload_id).await.unwrap();
                    assert_ne!(
                        u.state,
                        State::Ready,
                        "the ingest finished before it could be killed: use a larger export"
                    );
                    (writers > 0).then_some(())
                },
            )
            .await;
        }
        Engine::Sqlite => {
            // The commit holds SQLite's write lock for seconds; the worker's other writes
            // (state changes, heartbeats) hold it for milliseconds. Several polls in a row
            // that find it held mean the commit is under way.
            let mut probe = SqliteWriterProbe::new(&p.test_db.url).await;
            let deadline = std::time::Instant::now() + within;
            let mut held = 0;
            while held < 5 {
                held = if probe.writer_active().await {
                    held + 1
                } else {
                    0
                };
                if held == 0 {
                    let u = p.upload(upload_id).await.unwrap();
                    assert_ne!(
                        u.state,
                        State::Ready,
                        "the ingest finished before it could be killed: use a larger export"
                    );
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "the worker did not start writing within {within:?}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// `backspin import --no-wait` of `zip` for a new account `email`: the user and the queued
/// upload.
async fn import_queued(
    p: &Pipeline,
    email: &str,
    zip: &std::path::Path,
) -> (storage::users::User, storage::uploads::Upload) {
    let out = run(
        p,
        &[
            "import",
            "--user",
            email,
            "--no-wait",
            zip.to_str().unwrap(),
        ],
    )
    .await;
    assert!(out.contains("queued"), "{out}");
    let user = storage::users::by_email(p.db(), email)
        .await
        .unwrap()
        .unwrap();
    let upload = storage::uploads::list_for_owner(p.db(), &user.id)
        .await
        .unwrap()
        .remove(0);
    (user, upload)
}

both_engines!(a_worker_killed_mid_ingest_leaves_nothing_behind_and_the_next_worker_ingests_it_once);

async fn a_worker_killed_mid_ingest_leaves_nothing_behind_and_the_next_worker_ingests_it_once(
    engine: Engine,
) {
    e2e::process::backspin_binary();
    let zip = tokio::task::spawn_blocking(|| fixtures::large_export_zip(KILL_TEST_PLAYS, 7))
        .await
        .unwrap();
    // The reference: the same file ingested without incident, meanwhile.
    let clean = clean_run_in_background(engine, &zip);

    let p = Pipeline::new(engine).await;
    let (user, upload) = import_queued(&p, "killed@example.com", &zip).await;

    // On PostgreSQL the test holds the user's row, so the worker's ingest transaction, once
    // open, waits on it however fast the machine: the kill always lands inside it.
    let held = match engine {
        Engine::Postgres => {
            let mut tx = p.db().begin().await.unwrap();
            storage::plays::lock_user(&mut tx, &user.id).await.unwrap();
            Some(tx)
        }
        Engine::Sqlite => None,
    };
    let mut first = WorkerProcess::start(&p, "worker-1");
    p.wait_for_state(&upload.id, State::Processing, Duration::from_secs(60))
        .await;
    wait_until_writing(&p, &upload.id).await;
    first.assert_running();
    first.kill().await;
    if let Some(tx) = held {
        tx.rollback().await.unwrap();
    }

    // Killed mid-transaction: nothing of the upload is visible, and it is not lost.
    let u = p.upload(&upload.id).await.unwrap();
    assert_eq!(u.state, State::Processing);
    assert_eq!(
        p.play_count(&upload.id).await,
        0,
        "a killed ingest left plays behind"
    );
    assert!(
        p.stats(&user.id, &[]).await.is_empty(),
        "a killed ingest left stats behind"
    );
    assert_eq!(
        p.queue_rows().await,
        [("ingest".to_string(), 1)],
        "the event waits for redelivery"
    );

    let mut second = WorkerProcess::start(&p, "worker-2");
    let u = p
        .wait_for(
            &upload.id,
            Duration::from_secs(120),
            "ready or failed",
            |u| matches!(u.state, State::Ready | State::Failed),
        )
        .await;
    assert_eq!(u.state, State::Ready, "{:?}\n{}", u.reason, second.log());
    second.assert_running();
    // After the ingest the worker scrubs the raw file and stores the finished views (seconds
    // in a debug build) before it acknowledges.
    let log = eventually(
        Duration::from_secs(60),
        "the second worker logging the message",
        || async {
            let log = second.log();
            log.contains("message handled").then_some(log)
        },
    )
    .await;
    assert!(
        log.contains("receive_count=2") && log.contains("upload ready"),
        "the second worker ingested the redelivered event:\n{log}"
    );
    assert!(
        p.queue_rows().await.is_empty(),
        "the event was acknowledged"
    );

    let got = p.ingested(&user, &upload.id).await;
    assert_same_ingest(&got, &clean.await.expect("the clean run"));
    second.kill().await;
}

both_engines!(a_worker_restarted_after_a_kill_takes_back_its_message_at_once);

/// A worker killed mid-ingest and started again on the same data folder takes back the
/// message it held at once (its journal says which), instead of waiting out the message's
/// visibility timeout (ten minutes here). The data folder it writes is its user's only.
async fn a_worker_restarted_after_a_kill_takes_back_its_message_at_once(engine: Engine) {
    e2e::process::backspin_binary();
    let zip = tokio::task::spawn_blocking(|| fixtures::large_export_zip(KILL_TEST_PLAYS, 7))
        .await
        .unwrap();
    let visibility = Duration::from_secs(600);
    let p = Pipeline::with_settings(
        engine,
        queue_config::QueueSettings {
            visibility_timeout: visibility,
            ..e2e::test_settings()
        },
    )
    .await;
    let (_, upload) = import_queued(&p, "restart@example.com", &zip).await;

    let mut first = WorkerProcess::start(&p, "worker-1");
    p.wait_for_state(&upload.id, State::Processing, Duration::from_secs(60))
        .await;
    // It holds the message from here on (its journal was written at the receive).
    first.kill().await;
    assert_eq!(p.upload(&upload.id).await.unwrap().state, State::Processing);

    let restarted = std::time::Instant::now();
    let mut second = WorkerProcess::start(&p, "worker-2");
    let u = p
        .wait_for(
            &upload.id,
            visibility / 4,
            "ready well within the visibility timeout",
            |u| matches!(u.state, State::Ready | State::Failed),
        )
        .await;
    assert_eq!(u.state, State::Ready, "{:?}\n{}", u.reason, second.log());
    assert!(
        second
            .log()
            .contains("taking back the messages a stopped process held"),
        "{}",
        second.log()
    );
    eprintln!("ready {:?} after the restart", restarted.elapsed());
    second.kill().await;

    // Nobody else on the machine reads the uploads, the journal or the SQLite database.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &std::path::Path| {
            std::fs::metadata(path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .permissions()
                .mode()
                & 0o777
        };
        let data = p.data.path();
        assert_eq!(mode(data), 0o700, "the data folder");
        let mut files = vec![data.join("queue-held").join("slot-0")];
        let mut dirs = vec![data.join("objects")];
        while let Some(d) = dirs.pop() {
            assert_eq!(mode(&d), 0o700, "{}", d.display());
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                if e.path().is_dir() {
                    dirs.push(e.path());
                } else {
                    files.push(e.path());
                }
            }
        }
        if let Some(path) = p.test_db.url.strip_prefix("sqlite://") {
            files.push(path.into());
        }
        assert!(
            files.len() >= 2,
            "the journal and an upload at least: {files:?}"
        );
        for f in &files {
            assert_eq!(mode(f), 0o600, "{}", f.display());
        }
    }
}
