//! Migrations as several processes starting at once apply them: on an empty database, each
//! process migrating through its own connections (what `serve`, `worker` and `migrate` each do
//! at start, `ingest_worker::artifact::migrate`).

use e2e::{Engine, TestDb, both_engines};
use storage::Db;

both_engines!(processes_starting_at_once_on_an_empty_database_apply_each_migration_once);
async fn processes_starting_at_once_on_an_empty_database_apply_each_migration_once(engine: Engine) {
    let empty = TestDb::empty(engine).await;
    let mut starts = Vec::new();
    for _ in 0..4 {
        let url = empty.url.clone();
        // A thread and a runtime of its own each, as a process would have.
        starts.push(std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let db = Db::connect(&url).await.expect("connect");
                let done = ingest_worker::artifact::migrate(&db)
                    .await
                    .map_err(|e| e.to_string());
                db.close().await;
                done
            })
        }));
    }
    let mut applied = Vec::new();
    for start in starts {
        let (versions, carried) = start
            .join()
            .unwrap()
            .expect("every process starts: no collision on the empty database");
        assert_eq!(carried, 0);
        applied.extend(versions);
    }
    applied.sort_unstable();
    let all: Vec<i64> = (1..=storage::db::CONTRACT_PLAYS).collect();
    assert_eq!(
        applied, all,
        "each migration applied by exactly one process"
    );
    assert!(empty.db.applied(storage::db::CONTRACT_PLAYS).await.unwrap());
}
