//! Local accounts: password rules, argon2id hashing and sign-in rate limits.
//!
//! Passwords only ever exist in request bodies and in these functions' arguments: they are
//! never logged, never stored, and `Debug` of the types holding them prints nothing.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::AppError;

pub use accounts::Password;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl HashParams {
    /// OWASP's recommended argon2id configuration (Password Storage Cheat Sheet): 19 MiB of
    /// memory, 2 passes, 1 lane.
    pub const RECOMMENDED: HashParams = HashParams {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    fn hasher(self) -> Argon2<'static> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .expect("valid argon2 parameters");
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }
}

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 8;
/// Longest password accepted (argon2 takes any length, but a megabyte "password" is an attack).
pub const MAX_PASSWORD: usize = 128;

fn common_passwords() -> &'static std::collections::HashSet<&'static str> {
    static SET: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        include_str!("../assets/common-passwords.txt")
            .lines()
            .filter(|l| !l.is_empty())
            .collect()
    })
}

/// Checks a new password against the rules: 8–128 characters, not one of the 20,000 most
/// common passwords, not the e-mail address.
pub fn check_new_password(password: &Password, email: &str) -> Result<(), AppError> {
    let p = password.expose();
    let n = p.chars().count();
    if n < MIN_PASSWORD {
        return Err(AppError::Invalid(format!(
            "The password is too short: use at least {MIN_PASSWORD} characters."
        )));
    }
    if n > MAX_PASSWORD {
        return Err(AppError::Invalid(format!(
            "The password is too long: use at most {MAX_PASSWORD} characters."
        )));
    }
    if common_passwords().contains(p.to_lowercase().as_str()) {
        return Err(AppError::Invalid(
            "That password is one of the most common passwords, which attackers try first. Please choose another."
                .into(),
        ));
    }
    if p.trim().eq_ignore_ascii_case(email.trim()) {
        return Err(AppError::Invalid(
            "The password must not be your e-mail address.".into(),
        ));
    }
    Ok(())
}

/// Checks an e-mail address's shape and returns it trimmed and lower-cased.
pub fn check_email(email: &str) -> Result<String, AppError> {
    let e = email.trim().to_lowercase();
    let valid = e.len() <= 254
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(e.split_once('@'), Some((local, domain))
            if !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
               && !domain.ends_with('.') && !domain.contains('@'));
    if valid {
        Ok(e)
    } else {
        Err(AppError::Invalid(
            "Please enter a valid e-mail address, like name@example.com.".into(),
        ))
    }
}

/// Hashes a password (PHC string). Runs on a blocking thread: argon2 takes tens of ms.
pub async fn hash_password(password: &Password, params: HashParams) -> Result<String, AppError> {
    let password = password.clone();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::from_b64(&random_salt()).expect("a valid salt");
        params
            .hasher()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(format!("hashing a password: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(format!("hashing task: {e}")))?
}

fn random_salt() -> String {
    use base64::Engine;
    let bytes: [u8; 16] = rand::random();
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

/// Whether `password` matches a stored PHC string. With no stored hash (an unknown e-mail),
/// a dummy hash is checked so that the answer takes as long either way.
pub async fn verify_password(
    password: &Password,
    stored: Option<String>,
    params: HashParams,
) -> Result<bool, AppError> {
    let password = password.clone();
    tokio::task::spawn_blocking(move || {
        let (hash, real) = match stored {
            Some(h) => (h, true),
            None => (dummy_hash(params).to_string(), false),
        };
        let parsed = PasswordHash::new(&hash)
            .map_err(|e| AppError::Internal(format!("stored password hash unreadable: {e}")))?;
        // The stored hash carries its own parameters; the hasher's are only defaults.
        let ok = params
            .hasher()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok();
        Ok(ok && real)
    })
    .await
    .map_err(|e| AppError::Internal(format!("verifying task: {e}")))?
}

fn dummy_hash(params: HashParams) -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::from_b64(&random_salt()).expect("a valid salt");
        params
            .hasher()
            .hash_password(b"not a password anyone has", &salt)
            .expect("hashing a constant")
            .to_string()
    })
}

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
    fn passwords_outside_the_rules_are_refused_with_the_reason() {
        let e = "ana@example.com";
        let msg = |p: &str| {
            check_new_password(&Password::new(p), e)
                .unwrap_err()
                .message()
        };
        assert!(msg("short").contains("too short"));
        assert!(msg(&"x".repeat(129)).contains("too long"));
        assert!(msg("password1").contains("most common"));
        assert!(
            msg("Qwertyuiop").contains("most common"),
            "case does not help"
        );
        assert!(msg("ANA@example.com").contains("e-mail"));
        assert!(check_new_password(&Password::new("correct horse battery"), e).is_ok());
        assert!(check_new_password(&Password::new("é".repeat(128)), e).is_ok());
    }

    #[test]
    fn the_common_password_list_is_loaded() {
        assert!(common_passwords().len() > 5_000);
        assert!(common_passwords().contains("12345678"));
    }

    #[test]
    fn email_addresses_are_normalised_and_checked() {
        assert_eq!(
            check_email("  Ana@Example.COM ").unwrap(),
            "ana@example.com"
        );
        for bad in [
            "",
            "ana",
            "@example.com",
            "ana@",
            "ana@example",
            "a b@c.de",
            "a@b@c.de",
        ] {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only_and_an_unknown_account_never_verifies() {
        let cheap = HashParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        let p = Password::new("correct horse battery");
        let h = hash_password(&p, cheap).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{h}");
        assert!(!h.contains("correct"));
        assert!(verify_password(&p, Some(h.clone()), cheap).await.unwrap());
        let wrong = Password::new("correct horse battery!");
        assert!(!verify_password(&wrong, Some(h), cheap).await.unwrap());
        assert!(!verify_password(&p, None, cheap).await.unwrap());
    }

    #[test]
    fn recommended_parameters_are_owasps() {
        let h = HashParams::RECOMMENDED;
        assert_eq!((h.memory_kib, h.iterations, h.parallelism), (19_456, 2, 1));
    }

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
