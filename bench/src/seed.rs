//! `bench seed-users`: a library of many users for `bench/many-users.sh`, without N real
//! ingests. One generated export is parsed and deduplicated once and its artifact built once;
//! then each user gets what an ingest and the worker's after-change hook would have left: a
//! `users` row, one `ready` upload with the export's summary, the artifact (its one region
//! renamed to the user's upload id, encoded again), a session whose cookie token goes to the
//! out file, and the finished default views, computed by `web::dashboards::precompute::precompute` over the
//! same database. Every user has the same plays: what differs per request is whose artifact
//! and views are read, which is what the many-users benchmark is about.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result};
use ingest_worker::Deps;
use ingest_worker::notify::LogNotifier;
use schema::{Artifact, Limits, Settings, Stats, Summary};
use storage::Db;
use storage::objects::LocalDir;
use storage::queue::TableQueue;
use storage::uploads::{self, NewUpload};

/// Options of `bench seed-users`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The (empty or migrated) database to fill; migrations are applied first.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// Users to create.
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Plays in each user's history (the generated export's streams before duplicates).
    #[arg(long, default_value_t = 100_000)]
    plays: usize,
    /// Seed of the generated export.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Users seeded at once (default: the number of cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Where the users' session tokens go, one a line (the `bs_session` cookie's value).
    #[arg(long)]
    out: PathBuf,
}

/// What every user gets a copy of.
#[derive(Debug)]
struct Template {
    artifact: Artifact,
    summary: String,
    export_bytes: u64,
}

/// Time spent per step, summed over users (milliseconds).
#[derive(Debug, Default)]
struct Spent {
    rows: AtomicU64,
    encode: AtomicU64,
    artifact: AtomicU64,
    views: AtomicU64,
    artifact_bytes: AtomicU64,
}

impl Spent {
    fn add(counter: &AtomicU64, since: Instant) {
        counter.fetch_add(since.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

/// Seeds the users and prints how long it took.
pub fn run(args: &Args) -> Result<()> {
    crate::block_on(run_async(args))
}

async fn run_async(args: &Args) -> Result<()> {
    let started = Instant::now();
    println!("load average before: {}", crate::load_average());
    let template = tokio::task::spawn_blocking({
        let (plays, seed) = (args.plays, args.seed);
        move || template(plays, seed)
    })
    .await??;
    let prepared_in = started.elapsed();
    println!(
        "one export of {} plays: {} streams after dedupe, artifact {:.2} MB, prepared in {:.1} s",
        args.plays,
        template.artifact.plays.len(),
        template.artifact.encode().len() as f64 / 1e6,
        prepared_in.as_secs_f64()
    );

    let db = Db::connect(&args.database_url)
        .await
        .context("--database-url: cannot connect")?;
    db.migrate().await.context("applying migrations")?;
    let objects = tempfile::tempdir()?;
    let state = web::AppState::new(
        deps(db.clone(), objects.path())?,
        // Serves no requests: its CSRF key is never used.
        web::Config::with_secret(vec![7; 32]),
        ingest_worker::pool::PoolStatus::default(),
    );

    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
    });
    let template = Arc::new(template);
    let next = Arc::new(AtomicUsize::new(0));
    let spent = Arc::new(Spent::default());
    let tokens = Arc::new(Mutex::new(vec![String::new(); args.users]));
    let seeding = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..jobs.max(1) {
        let (state, template, next, spent, tokens) = (
            state.clone(),
            template.clone(),
            next.clone(),
            spent.clone(),
            tokens.clone(),
        );
        let users = args.users;
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= users {
                    return Ok::<_, anyhow::Error>(());
                }
                let token = seed_user(&state, &template, i, &spent).await?;
                tokens.lock().expect("tokens lock")[i] = token;
                if (i + 1) % 100 == 0 {
                    eprintln!("  {} users seeded", i + 1);
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let seeded_in = seeding.elapsed();
    let tokens = std::mem::take(&mut *tokens.lock().expect("tokens lock"));
    write_tokens(&args.out, &tokens)?;

    let views_bytes: i64 = match &db {
        Db::Postgres(p) => {
            sqlx::query_scalar("SELECT COALESCE(SUM(length(body)), 0)::BIGINT FROM views")
                .fetch_one(p)
                .await?
        }
        Db::Sqlite(p) => {
            sqlx::query_scalar("SELECT COALESCE(SUM(length(body)), 0) FROM views")
                .fetch_one(p)
                .await?
        }
    };
    db.close().await;
    let per_user = |c: &AtomicU64| c.load(Ordering::Relaxed) as f64 / args.users.max(1) as f64;
    println!(
        "seeded {} users × {} plays in {:.1} s ({:.1} users/s with {jobs} at once; {:.1} s in all with the export)",
        args.users,
        args.plays,
        seeded_in.as_secs_f64(),
        args.users as f64 / seeded_in.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "per user (mean, ms, overlapping): rows and session {:.1}, artifact encode {:.1}, artifact write {:.1}, finished views {:.1}",
        per_user(&spent.rows),
        per_user(&spent.encode),
        per_user(&spent.artifact),
        per_user(&spent.views)
    );
    println!(
        "stored: artifacts {:.1} MB, views {:.1} MB ({:.0} kB a user)",
        spent.artifact_bytes.load(Ordering::Relaxed) as f64 / 1e6,
        views_bytes as f64 / 1e6,
        views_bytes as f64 / 1e3 / args.users.max(1) as f64
    );
    println!(
        "tokens in {}; load average after: {}",
        args.out.display(),
        crate::load_average()
    );
    Ok(())
}

/// Generates the export, parses and deduplicates it, and builds its artifact (one region,
/// renamed per user) and its ingest summary, as the worker does for an owner's only upload.
fn template(plays: usize, seed: u64) -> Result<Template> {
    let (lib, report, export_bytes) = crate::generated_library(plays, seed);
    let stats = Stats::build(&lib.plays, Settings::default());
    let summary = serde_json::to_string(&Summary::new(&lib, &report, &stats))?;
    let artifact = Artifact::build(
        vec![String::new()],
        lib.plays.iter().map(|p| (0, *p)).collect(),
        &lib.strings,
    );
    Ok(Template {
        artifact,
        summary,
        export_bytes,
    })
}

/// Creates user `i` with everything an ingest leaves; returns their session token.
async fn seed_user(
    state: &web::AppState,
    template: &Arc<Template>,
    i: usize,
    spent: &Spent,
) -> Result<String> {
    let db = state.db();
    let t = Instant::now();
    let user =
        storage::users::create(db, Some(&format!("user{i}@many-users.bench")), None, false).await?;
    let upload = uploads::insert(
        db,
        &NewUpload {
            owner_id: &user.id,
            original_name: "my_spotify_data.zip",
            expires_ms: None,
            sample: false,
        },
    )
    .await?;
    uploads::set_object(db, &upload.id, template.export_bytes, "").await?;
    let token = web::session::new_token();
    let expires = storage::db::now_ms() + 30 * 24 * 3600 * 1000;
    storage::sessions::create(db, &token, &user.id, expires).await?;
    Spent::add(&spent.rows, t);

    // The artifact's one region is named by the upload it came from.
    let t = Instant::now();
    let bytes = tokio::task::spawn_blocking({
        let (template, id) = (template.clone(), upload.id.to_string());
        move || {
            Artifact {
                regions: vec![id],
                ..template.artifact.clone()
            }
            .encode()
        }
    })
    .await?;
    Spent::add(&spent.encode, t);
    spent
        .artifact_bytes
        .fetch_add(bytes.len() as u64, Ordering::Relaxed);

    // As the worker commits an upload: the artifact (bumping stats_version) and the upload
    // ready, in one transaction.
    let t = Instant::now();
    let mut tx = db.begin().await?;
    storage::plays::lock_user(&mut tx, &user.id).await?;
    storage::plays::replace_artifact(
        &mut tx,
        &user.id,
        schema::artifact::FORMAT,
        template.artifact.plays.len(),
        &bytes,
    )
    .await?;
    uploads::mark_ready(
        &mut tx,
        &upload.id,
        &template.summary,
        ingest_worker::process::PARSER_VERSION,
    )
    .await?;
    tx.commit().await?;
    Spent::add(&spent.artifact, t);

    let t = Instant::now();
    let stored = web::dashboards::precompute::precompute(state, &user.id, None)
        .await
        .map_err(|e| anyhow::anyhow!("user {i}: the finished views: {e:?}"))?;
    anyhow::ensure!(stored > 0, "user {i}: no finished views stored");
    Spent::add(&spent.views, t);
    Ok(token)
}

fn write_tokens(path: &Path, tokens: &[String]) -> Result<()> {
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    for t in tokens {
        writeln!(f, "{t}")?;
    }
    f.flush()?;
    Ok(())
}

/// The worker's dependencies over `db`, as `backspin` wires them (objects in a scratch
/// folder), for the benchmarks that run the pipeline in process.
pub(crate) fn deps(db: Db, objects: &Path) -> Result<Deps> {
    let settings = queue_config::QueueSettings::DEFAULT;
    Ok(Deps {
        queue: Arc::new(TableQueue::new(db.clone(), "ingest", settings.max_receives)),
        store: Arc::new(LocalDir::new(objects)?),
        notifier: Arc::new(LogNotifier),
        db,
        settings,
        limits: Limits::default(),
        max_upload_bytes: 4 << 30,
        after_change: Default::default(),
    })
}
