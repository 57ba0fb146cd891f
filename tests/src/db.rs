//! A fresh database per test: a SQLite file in a temporary folder, or a uniquely named
//! database on the PostgreSQL server at `TEST_DATABASE_URL`, migrated, and dropped when the
//! test ends (passed or failed).

use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use storage::Db;
use tempfile::TempDir;

use crate::Engine;

/// Where the PostgreSQL tests find their server when `TEST_DATABASE_URL` is unset.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Prefix of every database the tests create (followed by the test process's id).
const PREFIX: &str = "backspin_e2e_";

/// The PostgreSQL server the tests use: `TEST_DATABASE_URL`, or the default.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_TEST_DATABASE_URL.to_string())
}

/// `url` with its database name replaced by `name` (user, host, port and query kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let authority = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    match query {
        Some(q) => format!("{authority}/{name}?{q}"),
        None => format!("{authority}/{name}"),
    }
}

async fn admin_connection(url: &str) -> PgConnection {
    let fail = |why: String| -> ! {
        panic!(
            "PostgreSQL is unreachable at TEST_DATABASE_URL={url} ({why}). The PostgreSQL tests \
             need a real server: start one, or point TEST_DATABASE_URL at one \
             (scripts/test.sh starts a throwaway cluster when none answers on 127.0.0.1:5432)"
        )
    };
    let opts = PgConnectOptions::from_str(url)
        .unwrap_or_else(|e| fail(format!("not a PostgreSQL URL: {e}")));
    match tokio::time::timeout(Duration::from_secs(15), PgConnection::connect_with(&opts)).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => fail(e.to_string()),
        Err(_) => fail("no answer within 15 s".into()),
    }
}

/// Drops databases left behind by test processes that no longer run (a test run killed
/// before its `Drop`s ran). Once per process.
async fn drop_orphans(admin: &mut PgConnection) {
    static DONE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    DONE.get_or_init(|| async {
        let names: Vec<String> =
            sqlx::query_scalar("SELECT datname FROM pg_database WHERE starts_with(datname, $1)")
                .bind(PREFIX)
                .fetch_all(&mut *admin)
                .await
                .unwrap_or_default();
        for name in names {
            let pid = name[PREFIX.len()..].split('_').next().unwrap_or("");
            let alive = !pid.is_empty() && std::path::Path::new("/proc").join(pid).exists();
            if !alive {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut *admin)
                    .await;
            }
        }
    })
    .await;
}

/// A fresh, migrated database for one test.
#[derive(Debug)]
pub struct TestDb {
    /// Which engine.
    pub engine: Engine,
    /// A pool on it.
    pub db: Db,
    /// Its URL, for child processes (`DATABASE_URL`).
    pub url: String,
    /// The PostgreSQL database's name (dropped on drop).
    pg_name: Option<String>,
    /// Holds the SQLite file.
    _dir: TempDir,
}

impl TestDb {
    /// A new database on `engine`. Panics, naming `TEST_DATABASE_URL`, when PostgreSQL is
    /// unreachable: the PostgreSQL tests fail rather than skip.
    pub async fn new(engine: Engine) -> TestDb {
        let t = TestDb::empty(engine).await;
        t.db.migrate()
            .await
            .expect("migrations apply to a fresh database");
        t
    }

    /// [`TestDb::new`] without the migrations applied: an empty database.
    pub async fn empty(engine: Engine) -> TestDb {
        let dir = tempfile::tempdir().expect("temporary folder");
        let (url, pg_name) = match engine {
            Engine::Sqlite => (
                format!("sqlite://{}", dir.path().join("backspin.db").display()),
                None,
            ),
            Engine::Postgres => {
                static SEQ: AtomicU32 = AtomicU32::new(0);
                let admin = admin_url();
                let mut conn = admin_connection(&admin).await;
                drop_orphans(&mut conn).await;
                let name = format!(
                    "{PREFIX}{}_{}_{}",
                    std::process::id(),
                    SEQ.fetch_add(1, Ordering::SeqCst),
                    &storage::ids::new_id()[..8]
                );
                let mut attempt = 0;
                loop {
                    match sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                        .execute(&mut conn)
                        .await
                    {
                        Ok(_) => break,
                        // "source database is being accessed by other users": another
                        // CREATE DATABASE is copying the template right now.
                        Err(e) if attempt < 20 => {
                            attempt += 1;
                            tracing::debug!(error = %e, "CREATE DATABASE retried");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        Err(e) => {
                            panic!("CREATE DATABASE {name} on TEST_DATABASE_URL={admin}: {e}")
                        }
                    }
                }
                let _ = conn.close().await;
                (with_database(&admin, &name), Some(name))
            }
        };
        let db = Db::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("connecting to the test database {url}: {e}"));
        TestDb {
            engine,
            db,
            url,
            pg_name,
            _dir: dir,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot block on a future: use a thread
        // with a runtime of its own. `WITH (FORCE)` ends connections still open to it.
        let admin = admin_url();
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let opts = PgConnectOptions::from_str(&admin).map_err(|e| e.to_string())?;
                let mut conn = PgConnection::connect_with(&opts)
                    .await
                    .map_err(|e| e.to_string())?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = conn.close().await;
                Ok::<(), String>(())
            })
        })
        .join();
        if let Ok(Err(e)) | Err(e) = dropped.map_err(|_| "panicked".to_string()) {
            eprintln!("could not drop a test database: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_is_replaced_and_the_rest_kept() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:1", "x"), "postgres://h:1/x");
    }
}
