//! A queue that remembers, on local disk, the messages its process holds, so that a process
//! killed mid-ingest gives them back as soon as it (or another process on the same data
//! folder) starts again, instead of after their whole visibility timeout; and so that a
//! message given back while the queue was unreachable (the table queue during a database
//! outage) is given back as soon as it answers again.
//!
//! Each process takes one *slot* of the journal folder, a file it keeps locked while it runs
//! (`slot-0`, `slot-1`, …: the first it can lock). The file lists the receipts of the messages
//! the process holds, rewritten on every receive and delete. Opening a slot that a dead process
//! left reads its receipts: they are made visible again by the first receive.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tracing::{info, warn};

use crate::queue::{Batch, Depth, Queue, QueueError};

/// Slots tried before giving up (more processes than that on one data folder is a mistake).
const SLOTS: usize = 64;

/// A queue whose held messages survive the process in a journal file.
#[derive(Debug)]
pub struct Journaled {
    inner: Arc<dyn Queue>,
    slot: Mutex<Slot>,
}

#[derive(Debug)]
struct Slot {
    /// Locked for the life of the process.
    file: File,
    path: PathBuf,
    /// Receipts of the messages received and not yet deleted or given back.
    held: BTreeSet<String>,
    /// Messages to give back once the queue answers, and when they may be seen again.
    give_back: Vec<(String, Instant)>,
}

impl Journaled {
    /// Wraps `inner`, journaling in the first free slot of `dir` (created owner-only). The
    /// messages a dead process left in that slot are given back by the first receive.
    pub fn open(inner: Arc<dyn Queue>, dir: &Path) -> std::io::Result<Journaled> {
        create_private_dir(dir)?;
        for n in 0..SLOTS {
            let path = dir.join(format!("slot-{n}"));
            let mut file = private_options().read(true).write(true).open(&path)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => continue,
                Err(std::fs::TryLockError::Error(e)) => return Err(e),
            }
            let mut text = String::new();
            file.read_to_string(&mut text)?;
            let now = Instant::now();
            let give_back: Vec<(String, Instant)> = text
                .lines()
                .filter(|l| !l.is_empty())
                .map(|l| (l.to_string(), now))
                .collect();
            if !give_back.is_empty() {
                info!(
                    messages = give_back.len(),
                    slot = %path.display(),
                    "taking back the messages a stopped process held"
                );
            }
            return Ok(Journaled {
                inner,
                slot: Mutex::new(Slot {
                    file,
                    path,
                    held: BTreeSet::new(),
                    give_back,
                }),
            });
        }
        Err(std::io::Error::other(format!(
            "all {SLOTS} queue journal slots in {} are locked by running processes",
            dir.display()
        )))
    }

    /// Messages held or waiting to be given back (for tests and the log).
    pub fn held(&self) -> usize {
        let s = self.slot.lock().expect("journal lock");
        s.held.len() + s.give_back.len()
    }

    /// Gives back what is due; what the queue refuses stays for the next call.
    async fn give_back_due(&self) {
        let due: Vec<(String, Instant)> = {
            let s = self.slot.lock().expect("journal lock");
            s.give_back.clone()
        };
        if due.is_empty() {
            return;
        }
        let now = Instant::now();
        let mut given = Vec::new();
        for (receipt, visible_at) in &due {
            let after = visible_at.saturating_duration_since(now);
            match self.inner.extend(receipt, after).await {
                Ok(()) => given.push(receipt.clone()),
                // The queue is away: try again on the next receive.
                Err(_) => break,
            }
        }
        let mut s = self.slot.lock().expect("journal lock");
        s.give_back.retain(|(r, _)| !given.contains(r));
        s.persist();
    }
}

impl Slot {
    /// Rewrites the slot file with every receipt still held or owed. A failure is logged:
    /// the journal only shortens waits, the queue's visibility timeout stays the backstop.
    fn persist(&mut self) {
        let mut text = String::new();
        for r in self
            .held
            .iter()
            .chain(self.give_back.iter().map(|(r, _)| r))
        {
            text.push_str(r);
            text.push('\n');
        }
        let write = (|| {
            self.file.set_len(0)?;
            std::io::Seek::rewind(&mut self.file)?;
            self.file.write_all(text.as_bytes())?;
            self.file.sync_data()
        })();
        if let Err(e) = write {
            warn!(slot = %self.path.display(), error = %e, "could not write the queue journal");
        }
    }
}

#[async_trait]
impl Queue for Journaled {
    async fn send(&self, body: &str) -> Result<String, QueueError> {
        self.inner.send(body).await
    }

    async fn receive(
        &self,
        max: u32,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Batch, QueueError> {
        self.give_back_due().await;
        let batch = self.inner.receive(max, wait, visibility).await?;
        if !batch.messages.is_empty() {
            let mut s = self.slot.lock().expect("journal lock");
            s.held
                .extend(batch.messages.iter().map(|m| m.receipt.clone()));
            s.persist();
        }
        Ok(batch)
    }

    async fn extend(&self, receipt: &str, visibility: Duration) -> Result<(), QueueError> {
        self.inner.extend(receipt, visibility).await
    }

    async fn release(&self, receipt: &str, after: Duration) -> Result<(), QueueError> {
        let result = self.inner.extend(receipt, after).await;
        let mut s = self.slot.lock().expect("journal lock");
        s.held.remove(receipt);
        if result.is_err() {
            s.give_back
                .push((receipt.to_string(), Instant::now() + after));
        }
        s.persist();
        result
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        self.inner.delete(receipt).await?;
        let mut s = self.slot.lock().expect("journal lock");
        if s.held.remove(receipt) {
            s.persist();
        }
        Ok(())
    }

    async fn depth(&self) -> Result<Depth, QueueError> {
        self.inner.depth().await
    }
}

/// Options that create a file readable and writable by its owner only.
pub fn private_options() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o
}

/// Creates `dir` (and its parents) with access for its owner only.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::queue::Received;

    /// A queue of one message that records what was given back, and can be "away".
    #[derive(Debug, Default)]
    struct Fake {
        away: AtomicBool,
        given_back: Mutex<Vec<(String, Duration)>>,
    }

    #[async_trait]
    impl Queue for Fake {
        async fn send(&self, _: &str) -> Result<String, QueueError> {
            Ok("1".into())
        }
        async fn receive(&self, _: u32, _: Duration, _: Duration) -> Result<Batch, QueueError> {
            if self.away.load(Ordering::SeqCst) {
                return Err(QueueError("away".into()));
            }
            Ok(Batch {
                messages: vec![Received {
                    id: "1".into(),
                    receipt: "r-1".into(),
                    body: "{}".into(),
                    receive_count: 1,
                }],
                dead_lettered: vec![],
            })
        }
        async fn extend(&self, receipt: &str, after: Duration) -> Result<(), QueueError> {
            if self.away.load(Ordering::SeqCst) {
                return Err(QueueError("away".into()));
            }
            self.given_back
                .lock()
                .unwrap()
                .push((receipt.to_string(), after));
            Ok(())
        }
        async fn delete(&self, _: &str) -> Result<(), QueueError> {
            Ok(())
        }
        async fn depth(&self) -> Result<Depth, QueueError> {
            Ok(Depth::default())
        }
    }

    fn given_back(q: &Fake) -> Vec<(String, Duration)> {
        std::mem::take(&mut *q.given_back.lock().unwrap())
    }

    #[tokio::test]
    async fn a_process_that_died_holding_a_message_gives_it_back_when_the_next_one_starts() {
        let dir = tempfile::tempdir().unwrap();
        let fake = Arc::new(Fake::default());
        let first = Journaled::open(fake.clone(), dir.path()).unwrap();
        first
            .receive(1, Duration::ZERO, Duration::from_secs(120))
            .await
            .unwrap();
        assert_eq!(first.held(), 1);
        // While the first runs, a second process takes another slot and owes nothing.
        let second = Journaled::open(fake.clone(), dir.path()).unwrap();
        assert_eq!(second.held(), 0);
        drop(second);
        // The first dies (its lock goes with it); the next process in its slot gives the
        // message back, visible at once, on its first receive.
        drop(first);
        let next = Journaled::open(fake.clone(), dir.path()).unwrap();
        assert_eq!(next.held(), 1);
        next.receive(1, Duration::ZERO, Duration::from_secs(120))
            .await
            .unwrap();
        assert_eq!(given_back(&fake), [("r-1".to_string(), Duration::ZERO)]);
        // A message deleted after its work is no longer owed by anyone.
        next.delete("r-1").await.unwrap();
        assert_eq!(next.held(), 0);
        drop(next);
        assert_eq!(Journaled::open(fake, dir.path()).unwrap().held(), 0);
    }

    #[tokio::test]
    async fn a_message_given_back_while_the_queue_is_away_is_given_back_when_it_answers() {
        let dir = tempfile::tempdir().unwrap();
        let fake = Arc::new(Fake::default());
        let q = Journaled::open(fake.clone(), dir.path()).unwrap();
        q.receive(1, Duration::ZERO, Duration::from_secs(120))
            .await
            .unwrap();
        fake.away.store(true, Ordering::SeqCst);
        assert!(q.release("r-1", Duration::from_millis(50)).await.is_err());
        assert!(
            q.receive(1, Duration::ZERO, Duration::from_secs(120))
                .await
                .is_err()
        );
        assert!(given_back(&fake).is_empty());
        assert_eq!(q.held(), 1, "still owed");
        tokio::time::sleep(Duration::from_millis(60)).await;
        fake.away.store(false, Ordering::SeqCst);
        q.receive(1, Duration::ZERO, Duration::from_secs(120))
            .await
            .unwrap();
        // Its backoff has passed meanwhile: visible at once.
        assert_eq!(given_back(&fake), [("r-1".to_string(), Duration::ZERO)]);
    }
}
