//! What one visitor may store: uploads kept and bytes stored per account and per anonymous
//! visitor, uploads and bytes per client address per hour (a visitor without a cookie is a new
//! anonymous visitor each time, so the address is what bounds them), and free disk kept for
//! the database and the uploads in progress. Each refusal names the limit it hit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::AppError;
use crate::ui::size_limit;

/// The limits. Counters per address are kept in memory, per web instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    /// Uploads an account keeps.
    pub uploads_per_account: u32,
    /// Bytes of uploads an account keeps.
    pub bytes_per_account: u64,
    /// Uploads an anonymous visitor keeps.
    pub uploads_per_visitor: u32,
    /// Bytes of uploads an anonymous visitor keeps.
    pub bytes_per_visitor: u64,
    /// Uploads started from one client address per window, and by one account from any.
    pub uploads_per_address: u32,
    /// Bytes uploaded from one client address per window, and by one account from any.
    pub bytes_per_address: u64,
    /// The window of the address limits.
    pub window: Duration,
    /// Free space the local object store's disk keeps: an upload that would leave less is
    /// refused (507), and one in progress is cut off there.
    pub min_free_disk_bytes: u64,
}

const GIB: u64 = 1 << 30;

impl Quotas {
    /// An account keeps 100 uploads and 10 GiB; an anonymous visitor 5 uploads and 2 GiB; an
    /// address starts 30 uploads and 4 GiB an hour; the disk keeps 1 GiB free.
    pub const DEFAULT: Quotas = Quotas {
        uploads_per_account: 100,
        bytes_per_account: 10 * GIB,
        uploads_per_visitor: 5,
        bytes_per_visitor: 2 * GIB,
        uploads_per_address: 30,
        bytes_per_address: 4 * GIB,
        window: Duration::from_secs(3600),
        min_free_disk_bytes: GIB,
    };
}

/// What a visitor has stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Uploads kept (any state but being deleted).
    pub uploads: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// The most an admitted upload may hold, and which limit sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowance {
    /// Bytes.
    pub bytes: u64,
    /// What to tell a visitor whose file goes over it (after the file's name).
    pub over: String,
}

/// Counts uploads and bytes per client address in fixed windows.
#[derive(Debug)]
pub struct UploadMeter {
    quotas: Quotas,
    windows: Mutex<HashMap<String, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    uploads: u32,
    bytes: u64,
}

impl UploadMeter {
    /// A meter with these limits.
    pub fn new(quotas: Quotas) -> UploadMeter {
        UploadMeter {
            quotas,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// The limits.
    pub fn quotas(&self) -> &Quotas {
        &self.quotas
    }

    /// The address's window, a fresh one when the last has lapsed.
    fn window<'a>(&self, w: &'a mut HashMap<String, Window>, address: &str) -> &'a mut Window {
        let now = Instant::now();
        if w.len() > 100_000 {
            w.retain(|_, v| now.duration_since(v.started) < self.quotas.window);
        }
        let e = w.entry(address.to_string()).or_insert(Window {
            started: now,
            uploads: 0,
            bytes: 0,
        });
        if now.duration_since(e.started) >= self.quotas.window {
            *e = Window {
                started: now,
                uploads: 0,
                bytes: 0,
            };
        }
        e
    }

    /// Admits one more upload from `address`, counting it; refuses (429 with the seconds to
    /// wait) when the address has started as many uploads, or sent as many bytes, as an hour
    /// allows. Returns the bytes the address may still send in this window.
    pub fn admit(&self, address: &str) -> Result<u64, AppError> {
        self.admit_as(&format!("address {address}"), "This address")
    }

    /// [`UploadMeter::admit`] for an account (or anonymous visitor), whatever addresses it
    /// uploads from: the same hourly limits.
    pub fn admit_owner(&self, user_id: &str) -> Result<u64, AppError> {
        self.admit_as(&format!("owner {user_id}"), "This account")
    }

    /// Counts the bytes of an upload that was stored, for its address and its owner.
    pub fn record(&self, address: &str, user_id: &str, bytes: u64) {
        let mut w = self.windows.lock().expect("meter lock");
        for key in [format!("address {address}"), format!("owner {user_id}")] {
            let e = self.window(&mut w, &key);
            e.bytes = e.bytes.saturating_add(bytes);
        }
    }

    fn admit_as(&self, key: &str, who: &str) -> Result<u64, AppError> {
        let q = self.quotas;
        let mut w = self.windows.lock().expect("meter lock");
        let e = self.window(&mut w, key);
        let wait = q
            .window
            .saturating_sub(e.started.elapsed())
            .as_secs()
            .max(1);
        if e.uploads >= q.uploads_per_address {
            return Err(AppError::Limited {
                message: format!(
                    "{who} has started {} uploads in the last {}, the most allowed. Try again in {}.",
                    q.uploads_per_address,
                    span(q.window),
                    span(Duration::from_secs(wait))
                ),
                retry_after: Some(wait),
            });
        }
        if e.bytes >= q.bytes_per_address {
            return Err(AppError::Limited {
                message: format!(
                    "{who} has uploaded {} in the last {}, the most allowed. Try again in {}.",
                    size_limit(q.bytes_per_address),
                    span(q.window),
                    span(Duration::from_secs(wait))
                ),
                retry_after: Some(wait),
            });
        }
        e.uploads += 1;
        Ok(q.bytes_per_address - e.bytes)
    }

    /// The most one more upload may hold for a visitor who stores `usage`, given the upload
    /// size limit, what the address may still send and the disk's free space (`None` where
    /// the store has no disk of its own); or why none is admitted.
    pub fn allowance(
        &self,
        anonymous: bool,
        usage: Usage,
        max_upload: u64,
        address_left: u64,
        free_disk: Option<u64>,
    ) -> Result<Allowance, AppError> {
        let q = self.quotas;
        let (who, uploads_cap, bytes_cap) = if anonymous {
            (
                "A visitor without an account",
                q.uploads_per_visitor,
                q.bytes_per_visitor,
            )
        } else {
            ("An account", q.uploads_per_account, q.bytes_per_account)
        };
        if usage.uploads >= u64::from(uploads_cap) {
            return Err(AppError::Limited {
                message: format!(
                    "{who} keeps at most {}, and you have {}. Delete one to upload another.",
                    uploads(u64::from(uploads_cap)),
                    usage.uploads
                ),
                retry_after: None,
            });
        }
        let stored_left = bytes_cap.saturating_sub(usage.bytes);
        if stored_left == 0 {
            return Err(AppError::TooLarge(format!(
                "{who} keeps at most {} of uploads, and yours take {}. Delete one to upload another.",
                size_limit(bytes_cap),
                size_limit(usage.bytes)
            )));
        }
        let disk_left = free_disk.map(|free| free.saturating_sub(q.min_free_disk_bytes));
        if disk_left == Some(0) {
            return Err(AppError::InsufficientStorage(
                "Backspin's disk is nearly full, so it takes no new uploads for now; nothing was stored. Please try again later.".into(),
            ));
        }
        let mut a = Allowance {
            bytes: max_upload,
            over: format!(
                "is larger than the upload limit of {}",
                size_limit(max_upload)
            ),
        };
        let mut lower = |bytes: u64, over: String| {
            if bytes < a.bytes {
                a = Allowance { bytes, over };
            }
        };
        lower(
            stored_left,
            format!(
                "does not fit in what is left of your {} of uploads ({} left)",
                size_limit(bytes_cap),
                size_limit(stored_left)
            ),
        );
        lower(
            address_left,
            format!(
                "is more than this address may upload in the next {} ({} left)",
                span(q.window),
                size_limit(address_left)
            ),
        );
        if let Some(left) = disk_left {
            lower(
                left,
                "does not fit on Backspin's disk right now (it is nearly full)".into(),
            );
        }
        Ok(a)
    }
}

/// "1 upload", "5 uploads".
fn uploads(n: u64) -> String {
    if n == 1 {
        "1 upload".into()
    } else {
        format!("{n} uploads")
    }
}

/// A duration as people say it: "1 hour", "15 minutes", "40 seconds".
fn span(d: Duration) -> String {
    let s = d.as_secs();
    let (n, unit) = if s >= 3600 && s.is_multiple_of(3600) {
        (s / 3600, "hour")
    } else if s >= 120 {
        (s.div_ceil(60), "minute")
    } else {
        (s, "second")
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quotas() -> Quotas {
        Quotas {
            uploads_per_account: 3,
            bytes_per_account: 1000,
            uploads_per_visitor: 1,
            bytes_per_visitor: 100,
            uploads_per_address: 2,
            bytes_per_address: 500,
            window: Duration::from_secs(3600),
            min_free_disk_bytes: 50,
        }
    }

    #[test]
    fn an_address_is_limited_by_count_and_bytes() {
        let m = UploadMeter::new(quotas());
        assert_eq!(m.admit("a").unwrap(), 500);
        m.record("a", "u1", 400);
        assert_eq!(m.admit("a").unwrap(), 100);
        let e = m.admit("a").unwrap_err();
        assert!(matches!(e, AppError::Limited { retry_after: Some(s), .. } if s > 3500));
        assert!(
            e.message().contains("started 2 uploads in the last 1 hour"),
            "{e}"
        );
        // Another address is not affected; bytes alone also stop an address.
        m.record("b", "u2", 500);
        let e = m.admit("b").unwrap_err();
        assert!(e.message().contains("uploaded 500 bytes"), "{e}");
        // An account is limited the same way, from any address.
        assert_eq!(m.admit_owner("u3").unwrap(), 500);
        assert_eq!(m.admit_owner("u3").unwrap(), 500);
        let e = m.admit_owner("u3").unwrap_err();
        assert!(
            e.message()
                .starts_with("This account has started 2 uploads"),
            "{e}"
        );
        // The bytes an address sent count for its owner too.
        let e = m.admit_owner("u2").unwrap_err();
        assert!(
            e.message()
                .starts_with("This account has uploaded 500 bytes"),
            "{e}"
        );
    }

    #[test]
    fn the_smallest_limit_sets_the_allowance_and_is_named() {
        let m = UploadMeter::new(quotas());
        let used = Usage {
            uploads: 1,
            bytes: 900,
        };
        let a = m.allowance(false, used, 10_000, 500, None).unwrap();
        assert_eq!(a.bytes, 100);
        assert!(a.over.contains("100 bytes left"), "{}", a.over);
        let a = m.allowance(false, used, 10_000, 30, Some(1000)).unwrap();
        assert_eq!(a.bytes, 30);
        assert!(a.over.contains("this address"), "{}", a.over);
        let a = m.allowance(false, used, 10_000, 500, Some(70)).unwrap();
        assert_eq!(a.bytes, 20);
        assert!(a.over.contains("disk"), "{}", a.over);
        let e = m.allowance(false, used, 10_000, 500, Some(50)).unwrap_err();
        assert_eq!(e.status().as_u16(), 507);
    }

    #[test]
    fn kept_uploads_and_bytes_are_limited_per_kind_of_visitor() {
        let m = UploadMeter::new(quotas());
        let one = Usage {
            uploads: 1,
            bytes: 10,
        };
        let e = m.allowance(true, one, 10_000, 500, None).unwrap_err();
        assert_eq!(e.status().as_u16(), 429);
        assert!(e.message().contains("keeps at most 1 upload,"), "{e}");
        assert!(m.allowance(false, one, 10_000, 500, None).is_ok());
        let full = Usage {
            uploads: 2,
            bytes: 1000,
        };
        let e = m.allowance(false, full, 10_000, 500, None).unwrap_err();
        assert_eq!(e.status().as_u16(), 413);
        assert!(e.message().contains("1000 bytes of uploads"), "{e}");
    }

    #[test]
    fn spans_read_naturally() {
        assert_eq!(span(Duration::from_secs(3600)), "1 hour");
        assert_eq!(span(Duration::from_secs(900)), "15 minutes");
        assert_eq!(span(Duration::from_secs(45)), "45 seconds");
        assert_eq!(span(Duration::from_secs(1)), "1 second");
    }
}
