//! The scaling policy: how many workers the queue's backlog calls for.
//!
//! [`desired_workers`] is a pure function of the policy and one [`Observation`] of the queue
//! and the pool. The embedded pool calls it on every tick and starts or retires workers to
//! match; in the cloud, EC2 Auto Scaling's target tracking does the same arithmetic on the
//! backlog per instance, with [`ScalingPolicy::CLOUD`]'s values written into `stack.yaml`
//! (see [`crate::stack`]).
//!
//! # The rule
//!
//! 1. **Need.** `ceil((visible + in_flight) / target_backlog_per_worker)` workers, and at least
//!    `in_flight`: with one message per worker ([`QueueSettings::batch_size`] 1) every
//!    in-flight message is a busy worker, and a worker holding a message must not be stopped.
//!    The need is clamped to `[min_workers, max_workers]`.
//! 2. **Bounds first.** A current count outside `[min_workers, max_workers]` is brought inside
//!    at once, whatever the cooldowns.
//! 3. **Scale out** to the need in one jump, once `scale_out_cooldown` has passed since the
//!    last scale-out. Target tracking adds capacity in proportion too; waiting for uploads
//!    costs users, and a worker that turns out to be spare is retired later.
//! 4. **Scale in** by one worker at a time, once `scale_in_cooldown` has passed since the last
//!    scaling activity of either kind. AWS target tracking also removes capacity gradually and
//!    conservatively; uploads come in waves (a link shared, a newsletter), so a pool that
//!    shrinks slowly is ready for the next wave, and one that just grew is not shrunk before
//!    its new workers drained the backlog that called for them.
//! 5. Otherwise hold: the decision keeps the current count.
//!
//! The rule is **monotone**: with the policy, the current count and the cooldown clocks fixed,
//! more visible or more in-flight messages never give fewer workers. It never asks for fewer
//! workers than `min(in_flight, current, max_workers)`, so scaling never takes away a worker
//! that holds a message (the pool retires idle workers only, in any case).
//!
//! [`QueueSettings::batch_size`]: crate::QueueSettings::batch_size

use std::cmp::Ordering;
use std::fmt;
use std::time::Duration;

use crate::settings::whole_seconds;

/// Bounds, target and cooldowns for scaling workers on queue backlog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScalingPolicy {
    /// Fewest workers, even with an empty queue.
    pub min_workers: u32,
    /// Most workers, however long the queue.
    pub max_workers: u32,
    /// Messages (visible plus in flight) one worker is expected to carry: the target value of
    /// the backlog-per-worker metric.
    pub target_backlog_per_worker: u32,
    /// Least time between two scale-outs, for new workers to start taking messages before the
    /// backlog is read again. Whole seconds.
    pub scale_out_cooldown: Duration,
    /// Least time from any scaling activity to a scale-in. Whole seconds.
    pub scale_in_cooldown: Duration,
}

impl ScalingPolicy {
    /// The embedded pool in `backspin serve`: one process, workers as tasks.
    ///
    /// - `min_workers` 1: one worker always long-polls, so an upload starts the moment it is
    ///   queued.
    /// - `max_workers` 4: an ingest of a large export holds the whole zip and its parsed plays
    ///   in memory and keeps a core busy; four at once use a small server fully without
    ///   running it out of memory or starving the web tier sharing the process.
    /// - `target_backlog_per_worker` 2: a worker's own upload plus one waiting, so a queued
    ///   upload waits at most about one ingest (~10 s) before a worker takes it.
    /// - `scale_out_cooldown` 5 s: starting a task is cheap, so react within half an ingest;
    ///   the pause keeps a run of lagging or noisy depth readings from growing the pool again
    ///   and again before the workers just started have made their first receive.
    /// - `scale_in_cooldown` 60 s: an idle worker costs only a long poll every 20 s; keeping it
    ///   a minute avoids stopping and starting workers between the files of a burst.
    pub const DEFAULT: ScalingPolicy = ScalingPolicy {
        min_workers: 1,
        max_workers: 4,
        target_backlog_per_worker: 2,
        scale_out_cooldown: Duration::from_secs(5),
        scale_in_cooldown: Duration::from_secs(60),
    };

    /// The worker Auto Scaling group in AWS: a worker is an instance.
    ///
    /// - `min_workers` 1: an upload starts without waiting for an instance to boot.
    /// - `max_workers` 10: caps the bill and the database connections the workers open.
    /// - `target_backlog_per_worker` 10: the acceptable backlog per instance is the latency we
    ///   accept (about 100 s) over the time one message takes (about 10 s).
    /// - `scale_out_cooldown` 60 s: an instance boots and starts polling in about a minute;
    ///   its messages are not counted as served until then (the policy's instance warm-up).
    /// - `scale_in_cooldown` 300 s: instances are billed and slow to bring back, so keep them
    ///   five minutes after a change before removing one.
    pub const CLOUD: ScalingPolicy = ScalingPolicy {
        min_workers: 1,
        max_workers: 10,
        target_backlog_per_worker: 10,
        scale_out_cooldown: Duration::from_secs(60),
        scale_in_cooldown: Duration::from_secs(300),
    };

    /// Checks the policy: `max_workers` at least 1 and not below `min_workers`, a target of at
    /// least one message per worker, and cooldowns in whole seconds (CloudFormation takes
    /// seconds). The error names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_workers == 0 {
            return Err("max_workers must be at least 1, got 0".to_owned());
        }
        if self.min_workers > self.max_workers {
            return Err(format!(
                "min_workers ({}) must not exceed max_workers ({})",
                self.min_workers, self.max_workers
            ));
        }
        if self.target_backlog_per_worker == 0 {
            return Err("target_backlog_per_worker must be at least 1, got 0".to_owned());
        }
        whole_seconds("scale_out_cooldown", self.scale_out_cooldown)?;
        whole_seconds("scale_in_cooldown", self.scale_in_cooldown)?;
        Ok(())
    }
}

impl Default for ScalingPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// One reading of the queue and the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Observation {
    /// Messages waiting to be received (SQS `ApproximateNumberOfMessagesVisible`).
    pub visible: u64,
    /// Messages received and not yet deleted (SQS `ApproximateNumberOfMessagesNotVisible`);
    /// for the embedded pool, the messages its own workers hold.
    pub in_flight: u64,
    /// Workers running now.
    pub current: u32,
    /// Time since the last scale-out; `Duration::MAX` if there was none.
    pub since_last_scale_out: Duration,
    /// Time since the last scale-in; `Duration::MAX` if there was none.
    pub since_last_scale_in: Duration,
}

/// What to do: how many workers, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decision {
    /// The number of workers to run. Compare with [`Observation::current`] for the direction.
    pub desired: u32,
    /// What decided that number.
    pub reason: Reason,
}

/// What decided a [`Decision`]. Exactly one applies, checked in this order:
/// [`HeldByCooldown`](Reason::HeldByCooldown), [`ClampedToMax`](Reason::ClampedToMax),
/// [`ClampedToMin`](Reason::ClampedToMin), then by direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The current count is what the backlog needs.
    Steady,
    /// More workers, to the number the backlog needs.
    ScaleOut,
    /// One worker fewer, toward the number the backlog needs.
    ScaleIn,
    /// The backlog needs another count, but the cooldown for that direction has not passed;
    /// the decision keeps the current count.
    HeldByCooldown,
    /// The answer is `min_workers` because of that bound: the backlog needs fewer, or the
    /// current count was below it.
    ClampedToMin,
    /// The answer is `max_workers` because of that bound: the backlog needs more (the queue
    /// is growing faster than the pool may), or the current count was above it.
    ClampedToMax,
}

impl Reason {
    /// A short lower-case label for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Steady => "steady",
            Reason::ScaleOut => "scale out",
            Reason::ScaleIn => "scale in",
            Reason::HeldByCooldown => "held by cooldown",
            Reason::ClampedToMin => "clamped to min",
            Reason::ClampedToMax => "clamped to max",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The number of workers the policy wants for this observation; see the [module
/// documentation](self) for the rule.
///
/// Total for any input. An unvalidated policy is made safe rather than rejected: a target of
/// zero counts as one, and a `min_workers` above `max_workers` as `max_workers`.
pub fn desired_workers(policy: &ScalingPolicy, observation: &Observation) -> Decision {
    let max = policy.max_workers;
    let min = policy.min_workers.min(max);
    let per_worker = u64::from(policy.target_backlog_per_worker.max(1));
    let current = observation.current;

    // What the backlog needs, before and after the bounds.
    let backlog = observation.visible.saturating_add(observation.in_flight);
    let raw = backlog.div_ceil(per_worker).max(observation.in_flight);
    let need = u32::try_from(raw.clamp(u64::from(min), u64::from(max))).unwrap_or(max);

    // Bounds apply at once; cooldowns govern moves inside them.
    let base = current.clamp(min, max);
    let out_allowed = observation.since_last_scale_out >= policy.scale_out_cooldown;
    let in_allowed = observation.since_last_scale_in >= policy.scale_in_cooldown
        && observation.since_last_scale_out >= policy.scale_in_cooldown;
    let desired = match need.cmp(&base) {
        Ordering::Greater if out_allowed => need,
        Ordering::Less if in_allowed => base - 1,
        _ => base,
    };

    let reason = if desired == current && need != current {
        Reason::HeldByCooldown
    } else if desired == max && (raw > u64::from(max) || current > max) {
        Reason::ClampedToMax
    } else if desired == min && (raw < u64::from(min) || current < min) {
        Reason::ClampedToMin
    } else {
        match desired.cmp(&current) {
            Ordering::Greater => Reason::ScaleOut,
            Ordering::Less => Reason::ScaleIn,
            Ordering::Equal => Reason::Steady,
        }
    };
    Decision { desired, reason }
}
