//! Local accounts' passwords: the rules a new one must meet, argon2id hashing and checking.
//!
//! Passwords only ever exist in request bodies and in these functions' arguments: they are
//! never logged, never stored, and `Debug` of the types holding them prints nothing.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::AppError;
use crate::state::config::HashParams;

pub use accounts::Password;

/// The argon2id hasher of these parameters.
fn hasher(p: HashParams) -> Argon2<'static> {
    let params = Params::new(p.memory_kib, p.iterations, p.parallelism, None)
        .expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 8;
/// Longest password accepted (argon2 takes any length, but a megabyte "password" is an attack).
pub const MAX_PASSWORD: usize = 128;

fn common_passwords() -> &'static std::collections::HashSet<&'static str> {
    static SET: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        include_str!("../../assets/common-passwords.txt")
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
        hasher(params)
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
        let ok = hasher(params)
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
        hasher(params)
            .hash_password(b"not a password anyone has", &salt)
            .expect("hashing a constant")
            .to_string()
    })
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
}
