//! Counters for `/metrics` (Prometheus' text format, version 0.0.4). Gauges that live in the
//! database or the queue are read when `GET /metrics` is scraped.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Request and event counters of this process.
#[derive(Debug, Default)]
pub struct Metrics {
    pub(crate) requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    /// Uploads accepted.
    pub uploads_accepted: AtomicU64,
    /// Upload bytes stored.
    pub upload_bytes: AtomicU64,
    /// Uploads refused (too large, store down).
    pub uploads_refused: AtomicU64,
    /// Successful sign-ins.
    pub sign_ins_ok: AtomicU64,
    /// Failed sign-ins (wrong e-mail or password).
    pub sign_ins_failed: AtomicU64,
    /// Sign-ins refused by the rate limit.
    pub sign_ins_limited: AtomicU64,
    /// Accounts created.
    pub sign_ups: AtomicU64,
    /// Selections prepared from a user's whole artifact.
    pub prepared_whole: AtomicU64,
    /// Selections prepared for some days only, from the part of the artifact holding them.
    pub prepared_windows: AtomicU64,
    /// Bytes of artifacts read from the database to prepare selections.
    pub artifact_bytes_read: AtomicU64,
}

impl Metrics {
    /// Adds one to a counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Writes the counters.
    pub fn render(&self, out: &mut String) {
        out.push_str(
            "# HELP backspin_http_requests_total HTTP requests by route, method and status.\n",
        );
        out.push_str("# TYPE backspin_http_requests_total counter\n");
        for ((route, method, status), n) in self.requests.lock().expect("metrics lock").iter() {
            let _ = writeln!(
                out,
                "backspin_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        let counters: [(&str, &str, &AtomicU64); 10] = [
            (
                "backspin_uploads_accepted_total",
                "Uploads accepted.",
                &self.uploads_accepted,
            ),
            (
                "backspin_upload_bytes_total",
                "Bytes of accepted uploads.",
                &self.upload_bytes,
            ),
            (
                "backspin_uploads_refused_total",
                "Uploads refused (too large, storage unavailable).",
                &self.uploads_refused,
            ),
            (
                "backspin_sign_ins_total",
                "Successful sign-ins.",
                &self.sign_ins_ok,
            ),
            (
                "backspin_sign_ins_failed_total",
                "Sign-ins with a wrong e-mail or password.",
                &self.sign_ins_failed,
            ),
            (
                "backspin_sign_ins_limited_total",
                "Sign-ins refused by the rate limit.",
                &self.sign_ins_limited,
            ),
            (
                "backspin_sign_ups_total",
                "Accounts created.",
                &self.sign_ups,
            ),
            (
                "backspin_dashboards_prepared_whole_total",
                "Selections prepared from a user's whole artifact.",
                &self.prepared_whole,
            ),
            (
                "backspin_dashboards_prepared_windows_total",
                "Selections prepared for some days only, from the part of the artifact holding them.",
                &self.prepared_windows,
            ),
            (
                "backspin_artifact_bytes_read_total",
                "Bytes of artifacts read from the database to prepare dashboards.",
                &self.artifact_bytes_read,
            ),
        ];
        for (name, help, c) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                c.load(Ordering::Relaxed)
            );
        }
    }
}

/// A label value with `\`, `"` and newlines escaped.
pub fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
