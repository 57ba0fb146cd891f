//! The database: SQLite (embedded default) or PostgreSQL, chosen by the URL, with the same
//! tables and, wherever the dialects agree, the same SQL text (`$1` placeholders work on both).

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

/// A pool on one of the two engines.
#[derive(Debug, Clone)]
pub enum Db {
    /// A SQLite file (WAL mode, foreign keys on).
    Sqlite(SqlitePool),
    /// A PostgreSQL server.
    Postgres(PgPool),
}

/// Runs the same code on whichever pool `db` holds: `on_pool!(db, p => query.execute(p))`.
/// Each arm is type-checked for its own engine, so generic sqlx calls need no trait bounds.
#[macro_export]
macro_rules! on_pool {
    ($db:expr, $p:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($p) => $body,
            $crate::db::Db::Postgres($p) => $body,
        }
    };
}

/// A transaction on either engine.
#[derive(Debug)]
pub enum Tx {
    /// SQLite, begun `IMMEDIATE` so that the write lock is taken up front.
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    /// PostgreSQL.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs the same code on whichever connection a [`Tx`] holds: `on_tx!(tx, c => q.execute(&mut **c))`.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $c:ident => $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite($c) => $body,
            $crate::db::Tx::Postgres($c) => $body,
        }
    };
}

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sqlite: include_str!("../migrations/sqlite/0001_initial.sql"),
        postgres: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "sessions",
        sqlite: include_str!("../migrations/sqlite/0002_sessions.sql"),
        postgres: include_str!("../migrations/postgres/0002_sessions.sql"),
    },
    Migration {
        version: 3,
        name: "stats_version",
        sqlite: include_str!("../migrations/sqlite/0003_stats_version.sql"),
        postgres: include_str!("../migrations/postgres/0003_stats_version.sql"),
    },
    Migration {
        version: 4,
        name: "idp",
        sqlite: include_str!("../migrations/sqlite/0004_idp.sql"),
        postgres: include_str!("../migrations/postgres/0004_idp.sql"),
    },
    Migration {
        version: 5,
        name: "artifacts",
        sqlite: include_str!("../migrations/sqlite/0005_artifacts.sql"),
        postgres: include_str!("../migrations/postgres/0005_artifacts.sql"),
    },
    Migration {
        version: 6,
        name: "views",
        sqlite: include_str!("../migrations/sqlite/0006_views.sql"),
        postgres: include_str!("../migrations/postgres/0006_views.sql"),
    },
    Migration {
        version: 7,
        name: "sample_uploads",
        sqlite: include_str!("../migrations/sqlite/0007_sample_uploads.sql"),
        postgres: include_str!("../migrations/postgres/0007_sample_uploads.sql"),
    },
    Migration {
        version: 8,
        name: "shares",
        sqlite: include_str!("../migrations/sqlite/0008_shares.sql"),
        postgres: include_str!("../migrations/postgres/0008_shares.sql"),
    },
    Migration {
        version: 9,
        name: "hidden",
        sqlite: include_str!("../migrations/sqlite/0009_hidden.sql"),
        postgres: include_str!("../migrations/postgres/0009_hidden.sql"),
    },
    Migration {
        version: CONTRACT_PLAYS,
        name: "contract_plays",
        sqlite: include_str!("../migrations/sqlite/0010_contract_plays.sql"),
        postgres: include_str!("../migrations/postgres/0010_contract_plays.sql"),
    },
];

/// The migration that drops the play rows and region stats the artifacts replaced: it applies
/// only once every user's rows were carried over into their artifact (the caller runs
/// [`Db::migrate_until`] it, carries them over, then [`Db::migrate`]).
pub const CONTRACT_PLAYS: i64 = 10;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Makes an existing file readable and writable by its owner only (Unix; elsewhere nothing).
fn owner_only(path: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl Db {
    /// Connects to `sqlite://PATH` (created when missing) or `postgres://…`, with at most
    /// [`Db::DEFAULT_MAX_CONNECTIONS`] connections to PostgreSQL.
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        Db::connect_with(url, Db::DEFAULT_MAX_CONNECTIONS).await
    }

    /// Longest wait for a PostgreSQL connection (from the pool, or a new one): with the server
    /// gone, a request answers 503 after this instead of hanging.
    pub const DEADLINE: Duration = Duration::from_secs(3);

    /// The PostgreSQL pool's default size per process.
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;

    /// [`Db::connect`] with at most `max_connections` connections to PostgreSQL (every
    /// process of a deployment holds its own pool, and the server's limit is shared).
    pub async fn connect_with(url: &str, max_connections: u32) -> Result<Db, sqlx::Error> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30));
            let file = opts.get_filename().to_path_buf();
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(opts)
                .await?;
            // The plays of every user: readable by this process's user only. SQLite gives its
            // journal files the database file's permissions.
            for suffix in ["", "-wal", "-shm"] {
                let mut path = file.clone().into_os_string();
                path.push(suffix);
                owner_only(std::path::Path::new(&path))?;
            }
            Ok(Db::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections.max(2))
                .acquire_timeout(Db::DEADLINE)
                .connect_with(opts)
                .await?;
            Ok(Db::Postgres(pool))
        } else {
            Err(sqlx::Error::Configuration(
                format!("unsupported database URL {url:?}: use sqlite://PATH or postgres://…")
                    .into(),
            ))
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn engine(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Begins a write transaction.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))
    }

    /// Applies the migrations not applied yet, in order, each in its own transaction; returns
    /// the versions applied. Safe to run from several processes at once, on an empty database
    /// too: on PostgreSQL an advisory lock serialises them, on SQLite the write lock does.
    pub async fn migrate(&self) -> Result<Vec<i64>, sqlx::Error> {
        self.migrate_until(i64::MAX).await
    }

    /// Whether migration `version` has been applied.
    pub async fn applied(&self, version: i64) -> Result<bool, sqlx::Error> {
        let sql = "SELECT COUNT(*) FROM backspin_migrations WHERE version = $1";
        let n: i64 = on_pool!(self, p => sqlx::query_scalar(sql).bind(version).fetch_one(p).await)?;
        Ok(n > 0)
    }

    /// [`Db::migrate`], but only the migrations numbered below `below`.
    pub async fn migrate_until(&self, below: i64) -> Result<Vec<i64>, sqlx::Error> {
        const TABLE: &str = "CREATE TABLE IF NOT EXISTS backspin_migrations \
             (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)";
        let mut applied = Vec::new();
        for m in MIGRATIONS.iter().take_while(|m| m.version < below) {
            let mut tx = self.begin().await?;
            // One process at a time from here on PostgreSQL, the table's creation included (two
            // processes creating it at once on an empty database collide in the catalog);
            // SQLite's write transaction already is.
            if let Tx::Postgres(c) = &mut tx {
                sqlx::query("SELECT pg_advisory_xact_lock(7271955)")
                    .execute(&mut **c)
                    .await?;
            }
            let done = on_tx!(&mut tx, c => {
                sqlx::query(TABLE).execute(&mut **c).await?;
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM backspin_migrations WHERE version = $1")
                    .bind(m.version)
                    .fetch_one(&mut **c)
                    .await?
            });
            if done > 0 {
                tx.rollback().await?;
                continue;
            }
            match &mut tx {
                Tx::Sqlite(c) => {
                    sqlx::raw_sql(m.sqlite).execute(&mut **c).await?;
                }
                Tx::Postgres(c) => {
                    sqlx::raw_sql(m.postgres).execute(&mut **c).await?;
                }
            }
            on_tx!(&mut tx, c => sqlx::query("INSERT INTO backspin_migrations (version, name, applied_ms) VALUES ($1, $2, $3)")
                .bind(m.version)
                .bind(m.name)
                .bind(now_ms())
                .execute(&mut **c)
                .await.map(|r| r.rows_affected()))?;
            tx.commit().await?;
            applied.push(m.version);
        }
        Ok(applied)
    }

    /// Closes the pool.
    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }
}

impl Tx {
    /// Commits.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        on_tx!(self, t => t.commit().await)
    }

    /// Rolls back.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        on_tx!(self, t => t.rollback().await)
    }
}
pub use sqlx::Error as SqlxError;
