//! The queue: SQS in the cloud; a durable table in the database embedded. Both give SQS's
//! semantics: long-poll receive, a visibility timeout that hides a received message until it
//! is deleted or the timeout lapses, extending visibility while work goes on, a receive count,
//! and a dead-letter queue that takes a message after too many receives.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row;
use tokio::sync::Notify;

use crate::db::{Db, now_ms};
use crate::on_pool;

/// A received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Message id.
    pub id: String,
    /// Handle for extend and delete; a new one per receive, so a stale holder cannot delete a
    /// redelivered message.
    pub receipt: String,
    /// Body (the S3 event JSON).
    pub body: String,
    /// How many times it has been received, this time included.
    pub receive_count: u32,
}

/// What one receive call returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// Messages now invisible to others until deleted or the timeout lapses.
    pub messages: Vec<Received>,
    /// Messages moved to the dead-letter queue during this call (the table queue reports them
    /// so that the worker can notify; on SQS the dead-letter alarm does).
    pub dead_lettered: Vec<Received>,
}

/// Messages by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Depth {
    /// Waiting to be received.
    pub visible: u64,
    /// Received and not yet deleted.
    pub in_flight: u64,
    /// In the dead-letter queue.
    pub dead: u64,
}

/// A queue failure: always transient (the queue or its database is unreachable).
#[derive(Debug)]
pub struct QueueError(pub String);

impl fmt::Display for QueueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "queue unavailable: {}", self.0)
    }
}

impl std::error::Error for QueueError {}

impl From<sqlx::Error> for QueueError {
    fn from(e: sqlx::Error) -> Self {
        QueueError(e.to_string())
    }
}

/// The queue's interface.
#[async_trait]
pub trait Queue: Send + Sync + fmt::Debug {
    /// Sends a message; returns its id.
    async fn send(&self, body: &str) -> Result<String, QueueError>;
    /// Receives up to `max` messages, waiting up to `wait` for the first.
    async fn receive(
        &self,
        max: u32,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Batch, QueueError>;
    /// Keeps a received message hidden for `visibility` from now.
    async fn extend(&self, receipt: &str, visibility: Duration) -> Result<(), QueueError>;
    /// Gives a received message back: visible again `after` from now (its work failed for a
    /// reason that may pass). The same as [`Queue::extend`] unless the queue keeps more.
    async fn release(&self, receipt: &str, after: Duration) -> Result<(), QueueError> {
        self.extend(receipt, after).await
    }
    /// Deletes a received message (after its work is committed).
    async fn delete(&self, receipt: &str) -> Result<(), QueueError>;
    /// Approximate numbers of messages.
    async fn depth(&self) -> Result<Depth, QueueError>;
}

/// A [`Received`] from a row with `id`, `body` and `receive_count` (any engine's row type).
macro_rules! received {
    ($r:expr, $receipt:expr) => {
        Received {
            id: $r.get::<i64, _>("id").to_string(),
            receipt: $receipt,
            body: $r.get("body"),
            receive_count: $r.get::<i32, _>("receive_count") as u32,
        }
    };
}

/// The durable table queue, on SQLite or PostgreSQL. Several workers, even in several
/// processes, never receive the same message at once: PostgreSQL skips rows another receive
/// has locked (`FOR UPDATE SKIP LOCKED`); SQLite has a single writer.
#[derive(Debug, Clone)]
pub struct TableQueue {
    db: Db,
    name: String,
    max_receives: u32,
    wake: Arc<Notify>,
}

impl TableQueue {
    /// The queue `name` in `db`, dead-lettering after `max_receives` receives.
    pub fn new(db: Db, name: &str, max_receives: u32) -> TableQueue {
        TableQueue {
            db,
            name: name.to_string(),
            max_receives,
            wake: Arc::new(Notify::new()),
        }
    }

    fn dead_name(&self) -> String {
        format!("{}-dead", self.name)
    }

    /// Dead-lettered messages, oldest first (for the admin page).
    pub async fn dead_letters(&self, limit: i64) -> Result<Vec<Received>, QueueError> {
        on_pool!(&self.db, p => {
            let rows = sqlx::query("SELECT id, body, receive_count FROM queue_messages WHERE queue = $1 ORDER BY id LIMIT $2")
                .bind(self.dead_name())
                .bind(limit)
                .fetch_all(p)
                .await?;
            Ok(rows.iter().map(|r| received!(r, String::new())).collect())
        })
    }

    /// Moves messages that were received `max_receives` times and came back to the dead-letter
    /// queue, returning them.
    async fn dead_letter(&self, now: i64) -> Result<Vec<Received>, QueueError> {
        let sql = "UPDATE queue_messages SET queue = $1 \
                   WHERE queue = $2 AND visible_at_ms <= $3 AND receive_count >= $4 \
                   RETURNING id, body, receive_count";
        on_pool!(&self.db, p => {
            let rows = sqlx::query(sql)
                .bind(self.dead_name())
                .bind(&self.name)
                .bind(now)
                .bind(self.max_receives as i32)
                .fetch_all(p)
                .await?;
            Ok(rows.iter().map(|r| received!(r, String::new())).collect())
        })
    }

    async fn try_receive(
        &self,
        max: u32,
        visibility: Duration,
    ) -> Result<Vec<Received>, QueueError> {
        let now = now_ms();
        let receipt = crate::ids::new_id();
        let lock = match self.db {
            Db::Postgres(_) => "FOR UPDATE SKIP LOCKED",
            Db::Sqlite(_) => "",
        };
        // Messages received `max_receives` times are left for `dead_letter`, never received
        // again.
        let sql = format!(
            "UPDATE queue_messages SET visible_at_ms = $1, receive_count = receive_count + 1, \
             receipt = $2 || '.' || CAST(id AS TEXT) \
             WHERE id IN (SELECT id FROM queue_messages WHERE queue = $3 AND visible_at_ms <= $4 \
                          AND receive_count < $6 ORDER BY visible_at_ms, id LIMIT $5 {lock}) \
             RETURNING id, body, receive_count, receipt"
        );
        on_pool!(&self.db, p => {
            let rows = sqlx::query(&sql)
                .bind(now + visibility.as_millis() as i64)
                .bind(&receipt)
                .bind(&self.name)
                .bind(now)
                .bind(i64::from(max))
                .bind(self.max_receives as i32)
                .fetch_all(p)
                .await?;
            let mut out: Vec<Received> = rows
                .iter()
                .map(|r| received!(r, r.get("receipt")))
                .collect();
            out.sort_by_key(|m| m.id.parse::<i64>().unwrap_or(0));
            Ok(out)
        })
    }
}

#[async_trait]
impl Queue for TableQueue {
    async fn send(&self, body: &str) -> Result<String, QueueError> {
        let now = now_ms();
        let id: i64 = on_pool!(&self.db, p => sqlx::query_scalar(
            "INSERT INTO queue_messages (queue, body, sent_ms, visible_at_ms) VALUES ($1, $2, $3, $3) RETURNING id",
        )
        .bind(&self.name)
        .bind(body)
        .bind(now)
        .fetch_one(p)
        .await)?;
        self.wake.notify_waiters();
        Ok(id.to_string())
    }

    async fn receive(
        &self,
        max: u32,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Batch, QueueError> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut dead_lettered = Vec::new();
        loop {
            // Register interest before looking, so a send between the look and the wait is
            // not missed.
            let woken = self.wake.notified();
            // On every look, not once per call: a message whose last receive lapses while
            // this call waits must go to the dead-letter queue, not be received again.
            dead_lettered.extend(self.dead_letter(now_ms()).await?);
            let messages = self.try_receive(max.max(1), visibility).await?;
            let now = tokio::time::Instant::now();
            if !messages.is_empty() || !dead_lettered.is_empty() || now >= deadline {
                return Ok(Batch {
                    messages,
                    dead_lettered,
                });
            }
            // Other processes can send too: look again at least every 250 ms.
            let nap = (deadline - now).min(Duration::from_millis(250));
            let _ = tokio::time::timeout(nap, woken).await;
        }
    }

    async fn extend(&self, receipt: &str, visibility: Duration) -> Result<(), QueueError> {
        on_pool!(&self.db, p => sqlx::query("UPDATE queue_messages SET visible_at_ms = $1 WHERE receipt = $2 AND queue = $3")
            .bind(now_ms() + visibility.as_millis() as i64)
            .bind(receipt)
            .bind(&self.name)
            .execute(p)
            .await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        on_pool!(&self.db, p => sqlx::query("DELETE FROM queue_messages WHERE receipt = $1 AND queue = $2")
            .bind(receipt)
            .bind(&self.name)
            .execute(p)
            .await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    async fn depth(&self) -> Result<Depth, QueueError> {
        let now = now_ms();
        on_pool!(&self.db, p => {
            let r = sqlx::query(
                "SELECT \
                   COALESCE(SUM(CASE WHEN queue = $1 AND visible_at_ms <= $3 THEN 1 ELSE 0 END), 0) AS visible, \
                   COALESCE(SUM(CASE WHEN queue = $1 AND visible_at_ms > $3 THEN 1 ELSE 0 END), 0) AS in_flight, \
                   COALESCE(SUM(CASE WHEN queue = $2 THEN 1 ELSE 0 END), 0) AS dead \
                 FROM queue_messages WHERE queue IN ($1, $2)",
            )
            .bind(&self.name)
            .bind(self.dead_name())
            .bind(now)
            .fetch_one(p)
            .await?;
            Ok(Depth {
                visible: r.get::<i64, _>("visible") as u64,
                in_flight: r.get::<i64, _>("in_flight") as u64,
                dead: r.get::<i64, _>("dead") as u64,
            })
        })
    }
}
