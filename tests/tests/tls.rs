//! Managed PostgreSQL (RDS) refuses connections without TLS: the binary must speak it. The test
//! server speaks TLS (the test script gives its own throwaway server a certificate), so a
//! connection asking for it must get an encrypted session, and one refusing it must not.

use storage::{Db, on_pool};

fn with_sslmode(url: &str, mode: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}sslmode={mode}")
}

async fn encrypted(url: &str) -> bool {
    let db = Db::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
    let ssl: bool = on_pool!(&db, p => sqlx::query_scalar(
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )
    .fetch_one(p)
    .await)
    .expect("pg_stat_ssl");
    db.close().await;
    ssl
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_url_asking_for_tls_gets_an_encrypted_connection() {
    let url = e2e::db::admin_url();
    assert!(
        encrypted(&with_sslmode(&url, "require")).await,
        "sslmode=require must give an encrypted session"
    );
    assert!(
        !encrypted(&with_sslmode(&url, "disable")).await,
        "sslmode=disable must not (so that the check above can fail)"
    );
}
