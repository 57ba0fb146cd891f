//! The queue's settings: how long a received message stays hidden, how often it may be received
//! before it goes to the dead-letter queue, how long it is kept, how long a receive waits, how
//! many messages one receive takes, and how often a busy worker extends its hold.
//!
//! The same values serve SQS in the cloud and the durable queue table in the embedded mode,
//! which keeps SQS semantics; [`QueueSettings::validate`] holds them to SQS's limits so a value
//! that works embedded also deploys.

use std::time::Duration;

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// How long the dead-letter queue keeps a message: 14 days, the most SQS allows.
///
/// SQS counts a message's age from when it first entered the source queue, and keeps that age
/// when it moves the message to the dead-letter queue, so the dead-letter queue must keep
/// messages longer than the source queue does or a dead letter could expire as it arrives.
/// Fourteen days leave an administrator ten days after the source queue's four to look at a
/// failed upload and re-ingest it.
pub const DEAD_LETTER_RETENTION: Duration = Duration::from_secs(14 * DAY);

/// Settings of the ingest queue (SQS, or the queue table with the same semantics).
///
/// Durations that SQS takes as a number of seconds ([`visibility_timeout`], [`retention`],
/// [`wait_time`]) must be whole seconds.
///
/// [`visibility_timeout`]: QueueSettings::visibility_timeout
/// [`retention`]: QueueSettings::retention
/// [`wait_time`]: QueueSettings::wait_time
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QueueSettings {
    /// How long a received message stays invisible to other receivers before it is delivered
    /// again, unless the worker deletes it or extends the hold. SQS: `VisibilityTimeout`,
    /// 0 s to 12 h.
    pub visibility_timeout: Duration,
    /// Receives after which a message that was never deleted goes to the dead-letter queue.
    /// SQS: the redrive policy's `maxReceiveCount`, 1 to 1000.
    pub max_receives: u32,
    /// How long an unreceived message is kept. SQS: `MessageRetentionPeriod`, 60 s to 14 days.
    pub retention: Duration,
    /// Long-poll wait: how long a receive waits for a message when the queue is empty. SQS:
    /// `ReceiveMessageWaitTimeSeconds` / `WaitTimeSeconds`, 0 s to 20 s.
    pub wait_time: Duration,
    /// Messages one receive may return. SQS: `MaxNumberOfMessages`, 1 to 10.
    pub batch_size: u32,
    /// How often a worker still busy with a message extends its visibility (by another
    /// [`visibility_timeout`](QueueSettings::visibility_timeout)). Well under the visibility
    /// timeout, so a late or lost heartbeat does not let the message reappear mid-ingest:
    /// less than half of it.
    pub heartbeat_every: Duration,
}

impl QueueSettings {
    /// The settings Backspin runs with, sized for its heaviest message: a 250 MB
    /// `my_spotify_data.zip` whose ingest takes about 10 s.
    ///
    /// - `visibility_timeout` 120 s: twelve times the usual ingest, room for a slow disk or a
    ///   busy database, yet a worker that dies gives its upload back to another within two
    ///   minutes. A longer ingest keeps its message through the heartbeat.
    /// - `max_receives` 5: a transient failure (database or object store away) is retried
    ///   four times, each after a visibility timeout or the worker's backoff, which rides out
    ///   several minutes of outage; a file that crashes the worker every time reaches the
    ///   dead-letter queue within about ten minutes instead of looping. Bad files are
    ///   acknowledged and marked failed at once, so they never use up receives.
    /// - `retention` 4 days (SQS's default): uploads queued over a long weekend with every
    ///   worker down are still there on Tuesday.
    /// - `wait_time` 20 s, the longest long poll: an idle worker asks four times a minute
    ///   instead of spinning, and a receive still returns the moment a message arrives, so
    ///   waiting costs no latency.
    /// - `batch_size` 1: one upload per worker at a time. An ingest is heavy (the whole zip,
    ///   parsed, then one transaction), so a worker cannot usefully work on two; messages it
    ///   took but had not started would sit invisible, their visibility clocks running, while
    ///   idle workers could not take them. With one message per worker the in-flight count
    ///   is also the number of busy workers, which the scaling policy relies on.
    /// - `heartbeat_every` 30 s: four extensions per visibility timeout, so two missed in a
    ///   row (a stalled database call, a paused process) still do not lose the message.
    pub const DEFAULT: QueueSettings = QueueSettings {
        visibility_timeout: Duration::from_secs(120),
        max_receives: 5,
        retention: Duration::from_secs(4 * DAY),
        wait_time: Duration::from_secs(20),
        batch_size: 1,
        heartbeat_every: Duration::from_secs(30),
    };

    /// Longest visibility timeout SQS accepts: 12 hours.
    pub const MAX_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(12 * HOUR);
    /// Shortest retention SQS accepts: 60 seconds.
    pub const MIN_RETENTION: Duration = Duration::from_secs(MINUTE);
    /// Longest retention SQS accepts: 14 days.
    pub const MAX_RETENTION: Duration = Duration::from_secs(14 * DAY);
    /// Longest long poll SQS accepts: 20 seconds.
    pub const MAX_WAIT_TIME: Duration = Duration::from_secs(20);
    /// Most messages one SQS receive returns.
    pub const MAX_BATCH_SIZE: u32 = 10;
    /// Highest `maxReceiveCount` SQS accepts in a redrive policy.
    pub const MAX_MAX_RECEIVES: u32 = 1000;

    /// Checks every field against SQS's limits and the heartbeat against the visibility
    /// timeout. The error names the first offending field, its value and the allowed range.
    pub fn validate(&self) -> Result<(), String> {
        whole_seconds("visibility_timeout", self.visibility_timeout)?;
        if self.visibility_timeout > Self::MAX_VISIBILITY_TIMEOUT {
            return Err(format!(
                "visibility_timeout must be at most 12 h (43200 s), got {} s",
                self.visibility_timeout.as_secs()
            ));
        }
        if !(1..=Self::MAX_MAX_RECEIVES).contains(&self.max_receives) {
            return Err(format!(
                "max_receives must be between 1 and {}, got {}",
                Self::MAX_MAX_RECEIVES,
                self.max_receives
            ));
        }
        whole_seconds("retention", self.retention)?;
        if self.retention < Self::MIN_RETENTION || self.retention > Self::MAX_RETENTION {
            return Err(format!(
                "retention must be between 60 s and 14 days (1209600 s), got {} s",
                self.retention.as_secs()
            ));
        }
        whole_seconds("wait_time", self.wait_time)?;
        if self.wait_time > Self::MAX_WAIT_TIME {
            return Err(format!(
                "wait_time must be at most 20 s, got {} s",
                self.wait_time.as_secs()
            ));
        }
        if !(1..=Self::MAX_BATCH_SIZE).contains(&self.batch_size) {
            return Err(format!(
                "batch_size must be between 1 and {}, got {}",
                Self::MAX_BATCH_SIZE,
                self.batch_size
            ));
        }
        if self.heartbeat_every.is_zero() {
            return Err("heartbeat_every must be longer than zero".to_owned());
        }
        if self.heartbeat_every.saturating_mul(2) >= self.visibility_timeout {
            return Err(format!(
                "heartbeat_every must be less than half of visibility_timeout ({:?}), got {:?}",
                self.visibility_timeout, self.heartbeat_every
            ));
        }
        Ok(())
    }
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// SQS and CloudFormation take these durations as whole seconds.
pub(crate) fn whole_seconds(field: &str, value: Duration) -> Result<(), String> {
    if value.subsec_nanos() == 0 {
        Ok(())
    } else {
        Err(format!(
            "{field} must be a whole number of seconds, got {value:?}"
        ))
    }
}
