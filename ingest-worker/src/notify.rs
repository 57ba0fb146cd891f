//! Telling administrators that something needs a look: a poison file, a dead-lettered message.

use std::sync::Mutex;

use async_trait::async_trait;

/// Where admin alerts go.
#[async_trait]
pub trait Notifier: Send + Sync + std::fmt::Debug {
    /// Sends an alert. Failing to notify is logged by the implementation, never fatal.
    async fn notify(&self, subject: &str, message: &str);
}

/// Alerts into the log (the embedded default; the admin page shows failures from the database).
#[derive(Debug, Default)]
pub struct LogNotifier;

#[async_trait]
impl Notifier for LogNotifier {
    async fn notify(&self, subject: &str, message: &str) {
        tracing::warn!(target: "backspin::alert", subject, message, "admin alert");
    }
}

/// Keeps alerts in memory (for tests and the admin page of a single process).
#[derive(Debug, Default)]
pub struct MemoryNotifier {
    sent: Mutex<Vec<(String, String)>>,
}

impl MemoryNotifier {
    /// Alerts sent so far.
    pub fn sent(&self) -> Vec<(String, String)> {
        self.sent.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Notifier for MemoryNotifier {
    async fn notify(&self, subject: &str, message: &str) {
        if let Ok(mut v) = self.sent.lock() {
            v.push((subject.to_string(), message.to_string()));
        }
    }
}
