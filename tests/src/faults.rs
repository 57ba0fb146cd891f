//! Faults on demand: object stores that fail or hold, a TCP proxy that cuts a worker off its
//! PostgreSQL server, and a SQLite write lock held from outside.

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection};
use storage::Db;
use storage::objects::{Fetched, LocalDir, ObjectError, ObjectStore, PostForm, Stored};
use tokio::io::AsyncRead;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A local store whose fetches and deletes fail with [`ObjectError::Unavailable`] while told
/// to, counting fetches.
#[derive(Debug)]
pub struct FlakyStore {
    inner: LocalDir,
    failing_fetches: AtomicU32,
    failing_deletes: AtomicBool,
    fetches: AtomicU32,
}

impl FlakyStore {
    /// Wraps `inner`; nothing fails until told.
    pub fn new(inner: LocalDir) -> FlakyStore {
        FlakyStore {
            inner,
            failing_fetches: AtomicU32::new(0),
            failing_deletes: AtomicBool::new(false),
            fetches: AtomicU32::new(0),
        }
    }

    /// The next `n` fetches fail (`u32::MAX`: every fetch).
    pub fn fail_fetches(&self, n: u32) {
        self.failing_fetches.store(n, Ordering::SeqCst);
    }

    /// Deletes fail while `on`.
    pub fn fail_deletes(&self, on: bool) {
        self.failing_deletes.store(on, Ordering::SeqCst);
    }

    /// Fetches so far.
    pub fn fetches(&self) -> u32 {
        self.fetches.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl ObjectStore for FlakyStore {
    async fn put(
        &self,
        key: &str,
        body: &mut (dyn AsyncRead + Unpin + Send),
        max_bytes: u64,
    ) -> Result<Stored, ObjectError> {
        self.inner.put(key, body, max_bytes).await
    }

    async fn fetch(&self, key: &str) -> Result<Option<Fetched>, ObjectError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let failing = self
            .failing_fetches
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| match n {
                0 => None,
                u32::MAX => Some(u32::MAX),
                n => Some(n - 1),
            })
            .is_ok();
        if failing {
            return Err(ObjectError::Unavailable(
                "injected: the store timed out".into(),
            ));
        }
        self.inner.fetch(key).await
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectError> {
        if self.failing_deletes.load(Ordering::SeqCst) {
            return Err(ObjectError::Unavailable("injected: delete failed".into()));
        }
        self.inner.delete(key).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectError> {
        self.inner.list(prefix).await
    }

    fn emits_events(&self) -> bool {
        self.inner.emits_events()
    }

    fn bucket(&self) -> &str {
        self.inner.bucket()
    }

    async fn ping(&self) -> Result<(), ObjectError> {
        self.inner.ping().await
    }

    async fn size(&self, key: &str) -> Result<Option<u64>, ObjectError> {
        self.inner.size(key).await
    }
}

/// A local store whose fetches wait until the gate opens, so a test can hold workers busy.
#[derive(Debug)]
pub struct GatedStore {
    inner: LocalDir,
    gate: watch::Sender<bool>,
    waiting: AtomicUsize,
}

impl GatedStore {
    /// Wraps `inner` with the gate closed.
    pub fn new(inner: LocalDir) -> GatedStore {
        GatedStore {
            inner,
            gate: watch::channel(false).0,
            waiting: AtomicUsize::new(0),
        }
    }

    /// Lets every fetch through, waiting or to come.
    pub fn open(&self) {
        self.gate.send_replace(true);
    }

    /// Holds fetches from now on.
    pub fn close(&self) {
        self.gate.send_replace(false);
    }

    /// Fetches waiting at the gate.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl ObjectStore for GatedStore {
    async fn put(
        &self,
        key: &str,
        body: &mut (dyn AsyncRead + Unpin + Send),
        max_bytes: u64,
    ) -> Result<Stored, ObjectError> {
        self.inner.put(key, body, max_bytes).await
    }

    async fn fetch(&self, key: &str) -> Result<Option<Fetched>, ObjectError> {
        let mut gate = self.gate.subscribe();
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _ = gate.wait_for(|open| *open).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        self.inner.fetch(key).await
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectError> {
        self.inner.delete(key).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectError> {
        self.inner.list(prefix).await
    }

    fn emits_events(&self) -> bool {
        self.inner.emits_events()
    }

    fn bucket(&self) -> &str {
        self.inner.bucket()
    }

    async fn ping(&self) -> Result<(), ObjectError> {
        self.inner.ping().await
    }

    async fn size(&self, key: &str) -> Result<Option<u64>, ObjectError> {
        self.inner.size(key).await
    }
}

/// A local directory that behaves like S3 towards the web tier: it "sends its own events"
/// and issues presigned forms (to an address nobody posts to). For walks over every route
/// where S3 itself is not the point; the AWS tests use S3 on moto.
#[derive(Debug)]
pub struct PresigningStore {
    inner: LocalDir,
}

impl PresigningStore {
    /// Over `inner`.
    pub fn new(inner: LocalDir) -> PresigningStore {
        PresigningStore { inner }
    }
}

#[async_trait]
impl ObjectStore for PresigningStore {
    async fn put(
        &self,
        key: &str,
        body: &mut (dyn AsyncRead + Unpin + Send),
        max_bytes: u64,
    ) -> Result<Stored, ObjectError> {
        self.inner.put(key, body, max_bytes).await
    }

    async fn fetch(&self, key: &str) -> Result<Option<Fetched>, ObjectError> {
        self.inner.fetch(key).await
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectError> {
        self.inner.delete(key).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectError> {
        self.inner.list(prefix).await
    }

    fn emits_events(&self) -> bool {
        true
    }

    fn bucket(&self) -> &str {
        "presigning"
    }

    async fn ping(&self) -> Result<(), ObjectError> {
        self.inner.ping().await
    }

    async fn size(&self, key: &str) -> Result<Option<u64>, ObjectError> {
        self.inner.size(key).await
    }

    async fn presign_post(
        &self,
        key: &str,
        _max_bytes: u64,
        _content_type: &str,
        valid_for: Duration,
    ) -> Result<Option<PostForm>, ObjectError> {
        Ok(Some(PostForm {
            url: "http://s3.invalid/presigning".into(),
            fields: vec![("key".into(), key.into())],
            expires_ms: storage::db::now_ms() + valid_for.as_millis() as i64,
        }))
    }
}

/// A TCP proxy on loopback between a worker and its PostgreSQL server. [`cut`](TcpProxy::cut)
/// drops every live connection and refuses new ones (the port is closed), as a server that
/// went away; [`restore`](TcpProxy::restore) listens again on the same port.
#[derive(Debug)]
pub struct TcpProxy {
    addr: SocketAddr,
    target: SocketAddr,
    state: Arc<Mutex<ProxyState>>,
}

#[derive(Debug, Default)]
struct ProxyState {
    accept: Option<JoinHandle<()>>,
    conns: Vec<JoinHandle<()>>,
    accepted: usize,
}

impl TcpProxy {
    /// A proxy to `target`, listening on an ephemeral loopback port.
    pub async fn start(target: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy bind");
        let addr = listener.local_addr().expect("proxy address");
        let proxy = TcpProxy {
            addr,
            target,
            state: Arc::new(Mutex::new(ProxyState::default())),
        };
        proxy.serve(listener);
        proxy
    }

    /// A proxy to the server a `postgres://` URL names.
    pub async fn to_postgres(url: &str) -> TcpProxy {
        let opts = sqlx::postgres::PgConnectOptions::from_str(url).expect("a PostgreSQL URL");
        let host = opts.get_host().to_string();
        assert!(
            !host.starts_with('/'),
            "the proxy needs a TCP server, not the socket {host}"
        );
        let target = tokio::net::lookup_host((host.as_str(), opts.get_port()))
            .await
            .expect("resolve the PostgreSQL host")
            .next()
            .expect("an address for the PostgreSQL host");
        TcpProxy::start(target).await
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.state.lock().expect("proxy state").accepted
    }

    /// `url` with its host and port replaced by the proxy's.
    pub fn url(&self, url: &str) -> String {
        let after_scheme = url.find("://").map_or(0, |i| i + 3);
        let rest = &url[after_scheme..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        let userinfo = authority.rfind('@').map_or("", |at| &authority[..=at]);
        format!(
            "{}{userinfo}{}{}",
            &url[..after_scheme],
            self.addr,
            &rest[authority_end..]
        )
    }

    fn serve(&self, listener: TcpListener) {
        let (target, state) = (self.target, self.state.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let conn = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                let mut s = state.lock().expect("proxy state");
                s.accepted += 1;
                s.conns.retain(|c| !c.is_finished());
                s.conns.push(conn);
            }
        });
        self.state.lock().expect("proxy state").accept = Some(accept);
    }

    /// Drops every live connection and closes the port.
    pub async fn cut(&self) {
        let (accept, conns) = {
            let mut s = self.state.lock().expect("proxy state");
            (s.accept.take(), std::mem::take(&mut s.conns))
        };
        for task in accept.into_iter().chain(conns) {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens again on the same port.
    pub async fn restore(&self) {
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    tracing::debug!(error = %e, "proxy rebind retried");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("the proxy could not listen on {} again: {e}", self.addr),
            }
        };
        self.serve(listener);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        if let Ok(mut s) = self.state.lock() {
            for task in s.accept.take().into_iter().chain(s.conns.drain(..)) {
                task.abort();
            }
        }
    }
}

fn sqlite_options(url: &str, busy_timeout: Duration) -> SqliteConnectOptions {
    SqliteConnectOptions::from_str(url)
        .expect("a SQLite URL")
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(busy_timeout)
}

/// A pool on a SQLite file with the options [`Db::connect`] uses, but a shorter busy timeout:
/// how long a writer waits for the lock before the database counts as unavailable.
pub async fn sqlite_db_with_busy_timeout(url: &str, busy_timeout: Duration) -> Db {
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(sqlite_options(url, busy_timeout))
        .await
        .expect("SQLite pool");
    Db::Sqlite(pool)
}

/// The write lock of a SQLite database, held by a connection of its own (as another process
/// running a long write, a backup or a migration would hold it).
#[derive(Debug)]
pub struct SqliteWriteLock {
    conn: SqliteConnection,
}

impl SqliteWriteLock {
    /// Takes the lock, waiting up to 30 s for writers in progress.
    pub async fn take(url: &str) -> SqliteWriteLock {
        let mut conn = sqlite_options(url, Duration::from_secs(30))
            .connect()
            .await
            .expect("SQLite connection");
        sqlx::raw_sql("BEGIN IMMEDIATE")
            .execute(&mut conn)
            .await
            .expect("take the write lock");
        SqliteWriteLock { conn }
    }

    /// Lets go of it.
    pub async fn release(mut self) {
        sqlx::raw_sql("ROLLBACK")
            .execute(&mut self.conn)
            .await
            .expect("release the write lock");
        let _ = self.conn.close().await;
    }
}

/// Tells whether another connection holds a SQLite database's write lock, without waiting.
#[derive(Debug)]
pub struct SqliteWriterProbe {
    conn: SqliteConnection,
}

impl SqliteWriterProbe {
    /// A probe on the database at `url`.
    pub async fn new(url: &str) -> SqliteWriterProbe {
        let conn = sqlite_options(url, Duration::ZERO)
            .connect()
            .await
            .expect("SQLite connection");
        SqliteWriterProbe { conn }
    }

    /// Whether a writer holds the lock right now.
    pub async fn writer_active(&mut self) -> bool {
        match sqlx::raw_sql("BEGIN IMMEDIATE")
            .execute(&mut self.conn)
            .await
        {
            Ok(_) => {
                sqlx::raw_sql("ROLLBACK")
                    .execute(&mut self.conn)
                    .await
                    .expect("rollback of the probe");
                false
            }
            Err(e) if e.to_string().contains("locked") || e.to_string().contains("busy") => true,
            Err(e) => panic!("probing the SQLite write lock: {e}"),
        }
    }
}
