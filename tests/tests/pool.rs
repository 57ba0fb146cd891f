//! The embedded pool follows the scaling policy: it grows to what the backlog needs (up to its
//! maximum) at once, never stops a worker that holds a message, and shrinks one worker at a
//! time, a cooldown apart, to its minimum when the queue is idle.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use e2e::faults::GatedStore;
use e2e::{Engine, Pipeline, both_engines, eventually, fixtures};
use ingest_worker::pool::{PoolStatus, PoolTiming, run};
use queue_config::ScalingPolicy;
use storage::objects::LocalDir;
use storage::queue::{Depth, Queue, TableQueue};
use storage::uploads::State;
use tokio::sync::watch;

const POLICY: ScalingPolicy = ScalingPolicy {
    min_workers: 1,
    max_workers: 4,
    target_backlog_per_worker: 2,
    scale_out_cooldown: Duration::ZERO,
    scale_in_cooldown: Duration::from_secs(1),
};

/// Pool sizes seen, each with when it was first seen.
#[derive(Debug, Default)]
struct Sizes(Vec<(u32, Instant)>);

impl Sizes {
    fn see(&mut self, n: u32) {
        if self.0.last().map(|(m, _)| *m) != Some(n) {
            self.0.push((n, Instant::now()));
        }
    }

    fn values(&self) -> Vec<u32> {
        self.0.iter().map(|(n, _)| *n).collect()
    }
}

both_engines!(the_pool_grows_under_a_backlog_and_shrinks_one_by_one_when_idle);

async fn the_pool_grows_under_a_backlog_and_shrinks_one_by_one_when_idle(engine: Engine) {
    let p = Pipeline::new(engine).await;
    let user = p.user("busy@example.com").await;
    let sample = fixtures::samples().join("extended/Streaming_History_Video_2026.json");
    let gate = Arc::new(GatedStore::new(
        LocalDir::new(p.data.path().join("objects")).unwrap(),
    ));
    let deps = p.deps_with(p.db().clone(), gate.clone());

    let status = PoolStatus::default();
    let (stop_tx, stop) = watch::channel(false);
    let timing = PoolTiming {
        tick: Duration::from_millis(50),
        receive_wait: Duration::from_millis(100),
        sweep_every: Duration::from_secs(3600),
    };
    let pool = tokio::spawn(run(deps, POLICY, timing, stop, status.clone()));
    let workers = || status.workers.load(Ordering::SeqCst);
    let mut sizes = Sizes::default();

    // Idle: the minimum.
    eventually(Duration::from_secs(10), "the pool at its minimum", || {
        sizes.see(workers());
        let at_min = workers() == 1;
        async move { at_min.then_some(()) }
    })
    .await;

    // A burst of eight uploads that workers cannot finish (their fetches are held): the
    // policy asks for ceil(8 / 2) = 4 workers, its maximum. (They are queued aside and
    // moved onto the queue in one statement, so the pool sees them all at once.)
    let mut staging = p.deps();
    staging.queue = Arc::new(TableQueue::new(p.db().clone(), "staging", 5));
    let body = std::fs::read(&sample).unwrap();
    let mut uploads = Vec::new();
    for _ in 0..8 {
        let mut reader = body.as_slice();
        uploads.push(
            ingest_worker::lifecycle::submit(
                &staging,
                &user.id,
                "Streaming_History_Video_2026.json",
                &mut reader,
                1 << 30,
                None,
            )
            .await
            .unwrap(),
        );
    }
    let moved = p
        .execute("UPDATE queue_messages SET queue = 'ingest' WHERE queue = 'staging'")
        .await;
    assert_eq!(moved, 8);
    eventually(
        Duration::from_secs(10),
        "four workers, each holding a message",
        || {
            sizes.see(workers());
            let busy = workers() == 4 && gate.waiting() == 4;
            async move { busy.then_some(()) }
        },
    )
    .await;
    assert_eq!(
        p.queue.depth().await.unwrap(),
        Depth {
            visible: 4,
            in_flight: 4,
            dead: 0
        }
    );

    // While they hold their messages, no worker is taken away, however long it takes.
    let held = Instant::now();
    while held.elapsed() < 2 * POLICY.scale_in_cooldown {
        sizes.see(workers());
        assert_eq!(workers(), 4, "a worker holding a message was stopped");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Let the work through: the backlog drains, then the pool shrinks to its minimum.
    gate.open();
    eventually(
        Duration::from_secs(30),
        "the pool back at its minimum",
        || {
            sizes.see(workers());
            let at_min = workers() == 1;
            async move { at_min.then_some(()) }
        },
    )
    .await;
    for u in &uploads {
        assert_eq!(p.upload(&u.id).await.unwrap().state, State::Ready);
    }
    assert_eq!(p.queue.depth().await.unwrap(), Depth::default());
    // The pool may already be at its minimum when first looked at (a busy machine delays
    // the first look): the 0 before it is optional.
    // On a loaded machine a message can come back while the pool shrinks (a worker told to
    // stop still finishes the message in hand, and a slow database makes an attempt retry),
    // and the pool grows again for it: what must hold is that it grew at once, never past its
    // maximum, and shrank one worker at a time back to its minimum.
    let seen = sizes.values();
    let seen = seen.strip_prefix(&[0]).unwrap_or(&seen);
    assert!(
        seen.starts_with(&[1, 4])
            && seen.ends_with(&[3, 2, 1])
            && seen.iter().all(|&n| (1..=4).contains(&n))
            && seen.windows(2).all(|w| w[1] > w[0] || w[0] - w[1] == 1),
        "started at the minimum, grew at once, shrank one at a time: {seen:?}"
    );
    // The times between the last scale-ins, 3 → 2 → 1.
    let steps: Vec<Duration> = sizes
        .0
        .windows(2)
        .rev()
        .take(2)
        .map(|w| w[1].1 - w[0].1)
        .collect();
    assert!(
        steps
            .iter()
            .all(|d| *d + Duration::from_millis(300) >= POLICY.scale_in_cooldown),
        "each scale-in waited for the cooldown: {steps:?}"
    );

    // It stays at the minimum, never below, while idle.
    let idle = Instant::now();
    while idle.elapsed() < 2 * POLICY.scale_in_cooldown {
        assert_eq!(workers(), 1, "an idle pool keeps its minimum");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let _ = stop_tx.send(true);
    pool.await.unwrap();
    assert_eq!(workers(), 0, "stopped");
}
