//! The in-process worker pool: as many consumers as the scaling policy wants for the queue's
//! depth, between its minimum and maximum. A worker is only ever stopped between messages.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use queue_config::{Observation, ScalingPolicy, desired_workers};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::Deps;
use crate::process::consume;

/// What the pool is doing, for metrics and the admin page.
#[derive(Debug, Clone, Default)]
pub struct PoolStatus {
    /// Workers running.
    pub workers: Arc<AtomicU32>,
    /// Messages being handled right now.
    pub busy: Arc<AtomicU64>,
}

struct Worker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Pool timing: how often the depth is read, how long one receive waits (short, so that a
/// worker asked to stop does so promptly), how often expired uploads are swept.
#[derive(Debug, Clone, Copy)]
pub struct PoolTiming {
    /// Between depth readings.
    pub tick: Duration,
    /// Longest wait of one receive.
    pub receive_wait: Duration,
    /// Between sweeps of expired and half-deleted uploads.
    pub sweep_every: Duration,
}

impl Default for PoolTiming {
    fn default() -> Self {
        PoolTiming {
            tick: Duration::from_secs(1),
            receive_wait: Duration::from_secs(1),
            sweep_every: Duration::from_secs(60),
        }
    }
}

/// Runs the pool until `shutdown` turns true, then stops receiving and waits for every
/// worker to finish the message in hand.
pub async fn run(
    deps: Deps,
    policy: ScalingPolicy,
    timing: PoolTiming,
    mut shutdown: watch::Receiver<bool>,
    status: PoolStatus,
) {
    // What a crash mid-upload left: rows and files untouched for a minute when this pool
    // starts (no transfer through this process is running yet; one in another process on
    // the same data folder keeps writing its file, and its row is younger, unless it has
    // been at it for over a minute: that one fails and can be sent again).
    if !deps.store.emits_events()
        && let Err(e) =
            crate::lifecycle::clean_interrupted(&deps, storage::db::now_ms() - 60_000).await
    {
        warn!(error = %e, "cleaning up interrupted transfers failed");
    }
    let mut workers: Vec<Worker> = Vec::new();
    let (mut last_out, mut last_in): (Option<Instant>, Option<Instant>) = (None, None);
    let mut last_sweep = Instant::now() - timing.sweep_every;
    let since = |t: Option<Instant>| t.map_or(Duration::MAX, |t| t.elapsed());
    loop {
        workers.retain(|w| !w.task.is_finished());
        match deps.queue.depth().await {
            Ok(depth) => {
                let obs = Observation {
                    visible: depth.visible,
                    in_flight: depth.in_flight,
                    current: workers.len() as u32,
                    since_last_scale_out: since(last_out),
                    since_last_scale_in: since(last_in),
                };
                let decision = desired_workers(&policy, &obs);
                let desired = decision.desired as usize;
                if desired > workers.len() {
                    info!(from = workers.len(), to = desired, reason = %decision.reason, ?depth, "pool grows");
                    while workers.len() < desired {
                        workers.push(spawn(&deps, timing.receive_wait, &status));
                    }
                    last_out = Some(Instant::now());
                } else if desired < workers.len() {
                    info!(from = workers.len(), to = desired, reason = %decision.reason, ?depth, "pool shrinks");
                    for w in workers.drain(desired..) {
                        let _ = w.stop.send(true);
                        // It finishes its message on its own; no need to wait here.
                        drop(w.task);
                    }
                    last_in = Some(Instant::now());
                }
            }
            Err(e) => {
                warn!(error = %e, "cannot read the queue depth");
                if workers.is_empty() && policy.min_workers > 0 {
                    workers.push(spawn(&deps, timing.receive_wait, &status));
                }
            }
        }
        status.workers.store(workers.len() as u32, Ordering::SeqCst);
        if last_sweep.elapsed() >= timing.sweep_every {
            last_sweep = Instant::now();
            if let Err(e) = crate::lifecycle::sweep(&deps).await {
                warn!(error = %e, "sweep failed");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(timing.tick) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
    info!(
        workers = workers.len(),
        "pool stopping: finishing messages in hand"
    );
    for w in &workers {
        let _ = w.stop.send(true);
    }
    for w in workers {
        let _ = w.task.await;
    }
    status.workers.store(0, Ordering::SeqCst);
}

fn spawn(deps: &Deps, wait: Duration, status: &PoolStatus) -> Worker {
    let (stop, stop_rx) = watch::channel(false);
    let deps = deps.clone();
    let busy = status.busy.clone();
    let task = tokio::spawn(async move { consume(&deps, &stop_rx, wait, &busy).await });
    Worker { stop, task }
}
