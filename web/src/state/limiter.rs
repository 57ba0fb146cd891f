//! Sign-in rate limits: attempts per account and per address, counted in memory by each
//! web instance.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::AppError;

/// How many sign-in attempts are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Failed attempts per account from one address per window.
    pub per_account: u32,
    /// Attempts (failed or not) per client address per window.
    pub per_address: u32,
    /// Accounts created per client address per window.
    pub sign_ups_per_address: u32,
    /// The window.
    pub window: Duration,
}

impl Limits {
    /// 5 failures per account from one address, 30 attempts and 5 new accounts per address,
    /// in 15 minutes.
    pub const DEFAULT: Limits = Limits {
        per_account: 5,
        per_address: 30,
        sign_ups_per_address: 5,
        window: Duration::from_secs(15 * 60),
    };
}

/// Fixed-window counters of sign-in attempts, per account and address and per address, in memory
/// (each web instance counts its own; behind a load balancer the limit is per instance).
#[derive(Debug)]
pub struct RateLimiter {
    limits: Limits,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    /// A limiter with these limits.
    pub fn new(limits: Limits) -> RateLimiter {
        RateLimiter {
            limits,
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn count(&self, key: &str) -> (u32, Duration) {
        let mut w = self.windows.lock().expect("limiter lock");
        let now = Instant::now();
        // Forget windows that ended, so the map does not grow without bound.
        if w.len() > 100_000 {
            w.retain(|_, (start, _)| now.duration_since(*start) < self.limits.window);
        }
        match w.get(key) {
            Some((start, n)) if now.duration_since(*start) < self.limits.window => {
                (*n, self.limits.window - now.duration_since(*start))
            }
            _ => (0, Duration::ZERO),
        }
    }

    fn bump(&self, key: String) {
        let mut w = self.windows.lock().expect("limiter lock");
        let now = Instant::now();
        let e = w.entry(key).or_insert((now, 0));
        if now.duration_since(e.0) >= self.limits.window {
            *e = (now, 0);
        }
        e.1 += 1;
    }

    /// Admits an attempt for `email` from `address`, counting it against the address; refuses
    /// with the seconds to wait when the address has failed too often for this account, or
    /// has made too many attempts in all. Failures are counted per account *and* address, so
    /// that guesses from one place never lock the owner out of another.
    pub fn admit(&self, email: &str, address: &str) -> Result<(), AppError> {
        let (failures, wait_a) = self.count(&failures_key(email, address));
        let (by_address, wait_b) = self.count(&format!("addr:{address}"));
        if failures >= self.limits.per_account {
            return Err(AppError::TooManyRequests(wait_a.as_secs().max(1)));
        }
        if by_address >= self.limits.per_address {
            return Err(AppError::TooManyRequests(wait_b.as_secs().max(1)));
        }
        self.bump(format!("addr:{address}"));
        Ok(())
    }

    /// Admits a new account from `address`, counting it; refuses with the seconds to wait when
    /// the address has made as many as the limit allows in the window.
    pub fn admit_sign_up(&self, address: &str) -> Result<(), AppError> {
        let key = format!("signup:{address}");
        let (made, wait) = self.count(&key);
        if made >= self.limits.sign_ups_per_address {
            let secs = wait.as_secs().max(1);
            return Err(AppError::Limited {
                message: format!(
                    "Too many new accounts from this address. Try again in {} minute(s).",
                    secs.div_ceil(60)
                ),
                retry_after: Some(secs),
            });
        }
        self.bump(key);
        Ok(())
    }

    /// Records a failed attempt against an account from an address.
    pub fn failed(&self, email: &str, address: &str) {
        self.bump(failures_key(email, address));
    }

    /// Clears the failures of an account from an address after a successful sign-in there.
    pub fn succeeded(&self, email: &str, address: &str) {
        self.windows
            .lock()
            .expect("limiter lock")
            .remove(&failures_key(email, address));
    }
}

/// The counter of an account's failures from one address.
fn failures_key(email: &str, address: &str) -> String {
    format!("acct:{email}|{address}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_stops_an_address_failing_for_an_account_and_an_address_after_its_attempts() {
        let l = RateLimiter::new(Limits {
            per_account: 3,
            per_address: 5,
            sign_ups_per_address: 2,
            window: Duration::from_secs(60),
        });
        for _ in 0..3 {
            l.admit("a@x.io", "1.2.3.4").unwrap();
            l.failed("a@x.io", "1.2.3.4");
        }
        // The guessing address is stopped for this account…
        assert!(matches!(
            l.admit("a@x.io", "1.2.3.4"),
            Err(AppError::TooManyRequests(s)) if s > 0 && s <= 60
        ));
        // …the owner elsewhere is not.
        l.admit("a@x.io", "5.6.7.8").unwrap();
        l.succeeded("a@x.io", "5.6.7.8");
        // The guessing address has made 3 attempts; 2 more for other accounts, then no more.
        l.admit("b@x.io", "1.2.3.4").unwrap();
        l.admit("c@x.io", "1.2.3.4").unwrap();
        assert!(matches!(
            l.admit("d@x.io", "1.2.3.4"),
            Err(AppError::TooManyRequests(_))
        ));
        // New accounts: two from an address, then it waits.
        l.admit_sign_up("1.2.3.4").unwrap();
        l.admit_sign_up("1.2.3.4").unwrap();
        assert!(matches!(
            l.admit_sign_up("1.2.3.4"),
            Err(AppError::Limited {
                retry_after: Some(_),
                ..
            })
        ));
        l.admit_sign_up("5.6.7.8").unwrap();
        // A success clears that address's failures for that account only.
        l.succeeded("a@x.io", "1.2.3.4");
        assert!(l.count(&failures_key("a@x.io", "1.2.3.4")).0 == 0);
    }
}
