//! The database going away in the middle of an ingest: the message is retried later, nothing
//! is lost or half-written, and the upload ends ready once the database is back.
//!
//! On PostgreSQL the worker reaches its server through a TCP proxy that the test cuts while
//! the ingest's transaction is open (live connections dropped, new ones refused) and restores.
//! SQLite has no server to lose: an embedded database is unavailable when another process
//! (a backup, a `sqlite3` shell, a second instance migrating) holds its write lock longer
//! than the worker's busy timeout, and every write then fails with `SQLITE_BUSY`. The test
//! holds the lock from another connection through the ingest's commit, with the worker's busy
//! timeout at one second. (Making the file unreadable is no test here: the tests run as root,
//! which file permissions do not stop.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use e2e::faults::{GatedStore, SqliteWriteLock, TcpProxy, sqlite_db_with_busy_timeout};
use e2e::fixtures;
use e2e::{
    Engine, Pipeline, assert_same_ingest, both_engines, clean_run_in_background, eventually,
};
use storage::objects::LocalDir;
use storage::on_pool;
use storage::uploads::State;
use tokio::sync::watch;

both_engines!(the_database_going_away_mid_ingest_delays_the_upload_but_loses_nothing);

async fn the_database_going_away_mid_ingest_delays_the_upload_but_loses_nothing(engine: Engine) {
    // A visibility timeout of ten minutes: the ingest resumes when the database is back, not
    // when the message's hold lapses.
    let p = Pipeline::with_settings(
        engine,
        queue_config::QueueSettings {
            visibility_timeout: Duration::from_secs(600),
            ..e2e::test_settings()
        },
    )
    .await;
    let (zip, _) = fixtures::export_zip(p.data.path(), 10_000, 5);
    let clean = clean_run_in_background(engine, &zip);
    let user = p.user("outage@example.com").await;

    // The worker's own view of the database (through the proxy on PostgreSQL; with a one
    // second busy timeout on SQLite), and a store that holds fetches until told.
    let proxy = match engine {
        Engine::Postgres => Some(TcpProxy::to_postgres(&p.test_db.url).await),
        Engine::Sqlite => None,
    };
    let worker_db = match &proxy {
        Some(proxy) => storage::Db::connect(&proxy.url(&p.test_db.url))
            .await
            .unwrap(),
        None => sqlite_db_with_busy_timeout(&p.test_db.url, Duration::from_secs(1)).await,
    };
    let gate = Arc::new(GatedStore::new(
        LocalDir::new(p.data.path().join("objects")).unwrap(),
    ));
    let mut deps = p.deps_with(worker_db, gate.clone());
    // The queue as `backspin` opens it: journaled in the data folder.
    deps.queue = Arc::new(
        storage::held::Journaled::open(deps.queue.clone(), &p.data.path().join("queue-held"))
            .unwrap(),
    );

    let (stop_tx, stop) = watch::channel(false);
    let busy = Arc::new(AtomicU64::new(0));
    let worker = tokio::spawn({
        let (deps, busy) = (deps.clone(), busy.clone());
        async move {
            ingest_worker::process::consume(&deps, &stop, Duration::from_millis(200), &busy).await
        }
    });

    let upload = p.submit(&user, &zip).await;
    eventually(
        Duration::from_secs(30),
        "the worker fetching the upload",
        || async { (gate.waiting() == 1).then_some(()) },
    )
    .await;
    assert_eq!(p.upload(&upload.id).await.unwrap().state, State::Processing);

    // The database goes away while the upload is being ingested.
    let lock = match engine {
        Engine::Postgres => {
            // Cut while the ingest's transaction is open: the test holds the user's row, so
            // the worker's transaction waits on it (however fast the ingest), then the
            // connection goes, then the row is let go.
            let mut holder = p.db().begin().await.unwrap();
            storage::plays::lock_user(&mut holder, &user.id)
                .await
                .unwrap();
            gate.open();
            eventually(
                Duration::from_secs(60),
                "the ingest's transaction waiting on the user's row",
                || async {
                    let waiting: i64 = on_pool!(p.db(), c => sqlx::query_scalar(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                     AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'",
                )
                .fetch_one(c)
                .await)
                    .unwrap();
                    assert_ne!(
                        p.upload(&upload.id).await.unwrap().state,
                        State::Ready,
                        "the ingest finished before the cut"
                    );
                    (waiting > 0).then_some(())
                },
            )
            .await;
            proxy.as_ref().unwrap().cut().await;
            holder.rollback().await.unwrap();
            None
        }
        Engine::Sqlite => {
            let lock = SqliteWriteLock::take(&p.test_db.url).await;
            gate.open();
            Some(lock)
        }
    };

    // The worker gives the message back instead of failing the upload.
    eventually(
        Duration::from_secs(60),
        "the worker letting go of the message",
        || async { (busy.load(Ordering::SeqCst) == 0).then_some(()) },
    )
    .await;
    let u = p.upload(&upload.id).await.unwrap();
    assert_eq!(
        u.state,
        State::Processing,
        "a database outage is no reason to fail an upload: {:?}",
        u.reason
    );
    assert_eq!(p.play_count(&upload.id).await, 0, "nothing half-written");
    assert!(
        p.stats(&user.id, &[]).await.is_empty(),
        "no stats half-written"
    );
    assert_eq!(
        p.queue_rows().await,
        [("ingest".to_string(), 1)],
        "the event is kept for a retry"
    );
    assert!(
        p.notifier.sent().is_empty(),
        "an outage is not an admin alert: {:?}",
        p.notifier.sent()
    );

    // The database comes back.
    match lock {
        Some(lock) => lock.release().await,
        None => proxy.as_ref().unwrap().restore().await,
    }
    let back = std::time::Instant::now();
    p.wait_ready_and_acknowledged(&upload.id, Duration::from_secs(90))
        .await;
    eprintln!("ready {:?} after the database came back", back.elapsed());

    let _ = stop_tx.send(true);
    worker.await.unwrap();
    let got = p.ingested(&user, &upload.id).await;
    assert_same_ingest(&got, &clean.await.expect("the clean run"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_gone_the_web_tier_answers_503_within_its_deadline_and_recovers() {
    let p = Pipeline::new(Engine::Postgres).await;
    let proxy = TcpProxy::to_postgres(&p.test_db.url).await;
    let db = storage::Db::connect(&proxy.url(&p.test_db.url))
        .await
        .unwrap();
    let store = Arc::new(LocalDir::new(p.data.path().join("objects")).unwrap());
    let deps = p.deps_with(db, store);
    let app = e2e::web::WebApp::on(p, deps, |_| {});
    let mut c = app.client();
    c.sign_up("gone@example.com").await;
    let sample =
        std::fs::read(fixtures::samples().join("extended/Streaming_History_Video_2026.json"))
            .unwrap();
    let id =
        e2e::web::ready_upload(&app, &mut c, "Streaming_History_Video_2026.json", &sample).await;

    proxy.cut().await;
    // It hung for over 10 s: every request waited out the pool's 10 s (and /readyz more).
    for path in [
        "/readyz",
        &format!("/api/v1/uploads/{id}"),
        "/api/v1/uploads",
        "/dashboard",
    ] {
        let asked = std::time::Instant::now();
        let r = c.get(path).await;
        let took = asked.elapsed();
        assert_eq!(
            r.status,
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "{path}: {}",
            r.body
        );
        assert!(
            took < storage::Db::DEADLINE + Duration::from_secs(3),
            "{path} answered after {took:?}, past the deadline of {:?}",
            storage::Db::DEADLINE
        );
    }

    proxy.restore().await;
    eventually(Duration::from_secs(30), "ready again", || {
        let mut c = c.clone();
        async move { (c.get("/readyz").await.status == axum::http::StatusCode::OK).then_some(()) }
    })
    .await;
    assert_eq!(
        c.get(&format!("/api/v1/uploads/{id}")).await.status,
        axum::http::StatusCode::OK
    );
}
