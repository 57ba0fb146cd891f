//! `bench pipeline`: the ingestion pipeline end to end, beside `inspect` on the same input.
//!
//! 1. Event → ready: a generated lifetime export (zip) is submitted as an upload (not timed);
//!    the clock starts when its "object created" event is on the queue and stops when the
//!    upload is ready, with one worker consuming. Floor: the same parse, dedupe, aggregation
//!    and summary that `backspin inspect` does, in the same process. On SQLite and, when
//!    `--postgres` is given, on PostgreSQL (a fresh database per run).
//! 2. Bulk re-ingestion: many smaller uploads (one per user), all queued again at once and
//!    worked by pools of 1, 2 and 4 workers: uploads per minute for each pool size.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ingest_worker::Deps;
use storage::Db;
use storage::uploads::{self, Selection, State};
use tokio::sync::watch;

/// Options of `bench pipeline`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Plays in the big export.
    #[arg(long, default_value_t = 300_000)]
    plays: usize,
    /// Timed runs per engine; the median is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// PostgreSQL server URL to create scratch databases on (e.g. postgres://postgres@127.0.0.1:5432/postgres).
    #[arg(long, env = "TEST_DATABASE_URL")]
    postgres: Option<String>,
    /// Uploads in the bulk re-ingestion run (0 skips it).
    #[arg(long, default_value_t = 200)]
    bulk: usize,
    /// Plays per upload in the bulk run.
    #[arg(long, default_value_t = 3_000)]
    bulk_plays: usize,
    /// Cache for generated inputs.
    #[arg(long, default_value = "target/bench-data")]
    cache: PathBuf,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn export_zip(cache: &Path, plays: usize, seed: u64) -> Result<PathBuf> {
    let dir = cache.join(format!("zip-{plays}-seed-{seed}"));
    let zip = dir.join("my_spotify_data.zip");
    if !zip.exists() {
        let opts = synth::Options {
            plays,
            seed,
            ..synth::Options::default()
        };
        let export = synth::generate(&opts);
        std::fs::create_dir_all(&dir)?;
        synth::write_zip(&export, &dir)?;
    }
    Ok(zip)
}

/// A scratch database: a SQLite file or a fresh PostgreSQL database, and its URL.
async fn drop_scratch(engine: &str, server: Option<&str>, n: usize) -> Result<()> {
    if let (Some(server), "postgres") = (server, engine) {
        let admin = Db::connect(server).await?;
        if let Db::Postgres(p) = &admin {
            let name = format!("backspin_bench_{}_{n}", std::process::id());
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(p)
                .await?;
        }
        admin.close().await;
    }
    Ok(())
}

async fn scratch_db(
    engine: &str,
    server: Option<&str>,
    tmp: &Path,
    n: usize,
) -> Result<(Db, String)> {
    let url = match engine {
        "sqlite" => format!("sqlite://{}", tmp.join(format!("bench-{n}.db")).display()),
        _ => {
            let server = server.context("--postgres")?;
            let admin = Db::connect(server).await?;
            let name = format!("backspin_bench_{}_{n}", std::process::id());
            if let Db::Postgres(p) = &admin {
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                    .execute(p)
                    .await?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(p)
                    .await?;
            }
            admin.close().await;
            let base = server.rsplit_once('/').map_or(server, |(b, _)| b);
            format!("{base}/{name}")
        }
    };
    let db = Db::connect(&url).await?;
    db.migrate().await?;
    Ok((db, url))
}

async fn wait_all(deps: &Deps, ids: &[storage::ids::UploadId]) -> Result<()> {
    loop {
        let mut done = 0;
        for id in ids {
            match uploads::by_id(&deps.db, id).await?.map(|u| u.state) {
                Some(State::Ready) => done += 1,
                Some(State::Failed) => bail!("upload {id} failed"),
                _ => {}
            }
        }
        if done == ids.len() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `workers` consumers until `ids` are all ready; returns the time taken.
async fn work(deps: &Deps, workers: usize, ids: &[storage::ids::UploadId]) -> Result<Duration> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (deps, stop) = (deps.clone(), stop_rx.clone());
        tasks.push(tokio::spawn(async move {
            let busy = AtomicU64::new(0);
            ingest_worker::process::consume(&deps, &stop, Duration::from_millis(200), &busy).await;
        }));
    }
    let result = wait_all(deps, ids).await;
    let took = started.elapsed();
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    result.map(|()| took)
}

/// Submits `zip` as an upload of a new user, the way every upload goes; returns its id.
async fn submit_for_new_user(
    deps: &Deps,
    email: &str,
    zip: &Path,
) -> Result<storage::ids::UploadId> {
    let user = storage::users::create(&deps.db, Some(email), None, false).await?;
    let mut file = tokio::fs::File::open(zip).await?;
    let upload = ingest_worker::lifecycle::submit(
        deps,
        &user.id,
        "my_spotify_data.zip",
        &mut file,
        u64::MAX,
        None,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(upload.id)
}

/// Reads, deduplicates and summarises the zip as `backspin inspect` does; with `stats`, also
/// builds the dashboards' [`schema::Stats`] and the summary from them, as an ingest must.
fn inspect_floor(zip: &Path, stats: bool) -> Duration {
    let started = Instant::now();
    let names = vec![zip.display().to_string()];
    let mut lib = schema::load(
        &names,
        |_| std::fs::File::open(zip).map(std::io::BufReader::new),
        &schema::Limits::default(),
    );
    let report = schema::dedupe(&mut lib.plays);
    let settings = schema::Settings::default();
    let summary = if stats {
        schema::Summary::new(&lib, &report, &schema::Stats::build(&lib.plays, settings))
    } else {
        schema::Summary::tally(&lib, &report, settings)
    };
    std::hint::black_box(
        serde_json::to_string(&summary)
            .map(|s| s.len())
            .unwrap_or(0),
    );
    started.elapsed()
}

/// Runs the pipeline benchmark and prints its tables.
pub fn run(args: &Args) -> Result<()> {
    crate::block_on(run_async(args))
}

async fn run_async(args: &Args) -> Result<()> {
    println!("load average before: {}", crate::load_average());
    let zip = export_zip(&args.cache, args.plays, 1)?;
    let size = std::fs::metadata(&zip)?.len();
    let tmp = tempfile::tempdir()?;
    println!(
        "input: {} ({:.1} MB zipped, {} plays)",
        zip.display(),
        size as f64 / 1e6,
        args.plays
    );

    let floor = median((0..args.runs).map(|_| inspect_floor(&zip, false)).collect());
    let with_stats = median((0..args.runs).map(|_| inspect_floor(&zip, true)).collect());
    println!(
        "\n| what | median of {} | × inspect |\n|---|---|---|",
        args.runs
    );
    println!(
        "| inspect (parse + dedupe + summary), the floor | {:.2} s | 1.00 |",
        floor.as_secs_f64()
    );
    println!(
        "| the same plus the dashboards' stats, as an ingest builds them | {:.2} s | {:.2} |",
        with_stats.as_secs_f64(),
        with_stats.as_secs_f64() / floor.as_secs_f64()
    );
    let mut engines = vec!["sqlite"];
    if args.postgres.is_some() {
        engines.push("postgres");
    }
    let mut n = 0;
    for engine in &engines {
        let mut times = Vec::new();
        for _ in 0..args.runs {
            n += 1;
            let (db, _) = scratch_db(engine, args.postgres.as_deref(), tmp.path(), n).await?;
            let deps = crate::seed::deps(db, &tmp.path().join(format!("objects-{n}")))?;
            let upload = submit_for_new_user(&deps, &format!("bench{n}@example.com"), &zip).await?;
            times.push(work(&deps, 1, &[upload]).await?);
            deps.db.close().await;
            drop_scratch(engine, args.postgres.as_deref(), n).await?;
        }
        let t = median(times);
        println!(
            "| event → ready on {engine} | {:.2} s | {:.2} |",
            t.as_secs_f64(),
            t.as_secs_f64() / floor.as_secs_f64()
        );
    }

    if args.bulk > 0 {
        let small = export_zip(&args.cache, args.bulk_plays, 2)?;
        println!(
            "\nBulk re-ingestion: {} uploads of {} plays (one user each), all queued at once",
            args.bulk, args.bulk_plays
        );
        println!("\n| engine | workers | time | uploads/min | speed-up |\n|---|---|---|---|---|");
        for engine in &engines {
            n += 1;
            let (db, _) = scratch_db(engine, args.postgres.as_deref(), tmp.path(), n).await?;
            let deps = crate::seed::deps(db, &tmp.path().join(format!("objects-{n}")))?;
            let mut ids = Vec::new();
            for i in 0..args.bulk {
                ids.push(
                    submit_for_new_user(&deps, &format!("bulk{i}@example.com"), &small).await?,
                );
            }
            work(&deps, 2, &ids).await?; // first ingest, not timed
            let mut one = None;
            for workers in [1, 2, 4] {
                ingest_worker::lifecycle::reingest(&deps, &Selection::All)
                    .await
                    .map_err(anyhow::Error::msg)?;
                let t = work(&deps, workers, &ids).await?;
                let base = *one.get_or_insert(t);
                println!(
                    "| {engine} | {workers} | {:.1} s | {:.0} | {:.2} |",
                    t.as_secs_f64(),
                    ids.len() as f64 / t.as_secs_f64() * 60.0,
                    base.as_secs_f64() / t.as_secs_f64()
                );
            }
            deps.db.close().await;
            drop_scratch(engine, args.postgres.as_deref(), n).await?;
        }
    }
    println!("\nload average after: {}", crate::load_average());
    Ok(())
}
