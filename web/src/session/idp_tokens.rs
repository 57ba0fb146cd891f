//! An identity provider's tokens at rest. A session row keeps what account operations need
//! (the refresh token, the access token and its expiry, the user name a refresh needs, the
//! e-mail address) as JSON encrypted with ChaCha20-Poly1305 under a key derived from the
//! session's own token: HMAC-SHA256(token, "backspin idp tokens"). The browser holds that
//! token; the database only its SHA-256, so a copy of the database can use neither the
//! session nor the tokens. Pure functions, no I/O.

use std::fmt;

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::idp::{Identity, Tokens};

/// What the stored form starts with: the format can change without misreading old rows.
const VERSION: &str = "v1.";
/// ChaCha20-Poly1305's nonce length.
const NONCE_LEN: usize = 12;

/// The provider's tokens as a session keeps them. `Debug` prints only the expiry.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionTokens {
    /// The access token (for the provider's own API: change password, sign out, delete).
    pub access_token: String,
    /// When the access token expires (seconds since the epoch).
    pub access_expires_at: i64,
    /// The refresh token; none when the provider gave none.
    pub refresh_token: Option<String>,
    /// The provider's user name, which a refresh needs ([`Identity::username`]).
    pub username: String,
    /// The e-mail address the provider confirmed.
    pub email: String,
}

impl fmt::Debug for SessionTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionTokens")
            .field("access_expires_at", &self.access_expires_at)
            .finish_non_exhaustive()
    }
}

impl SessionTokens {
    /// What to keep of a sign-in's tokens, whose ID token named `identity`; `now` in seconds
    /// since the epoch.
    pub fn from_sign_in(tokens: &Tokens, identity: &Identity, now: i64) -> SessionTokens {
        SessionTokens {
            access_token: tokens.access_token.clone(),
            access_expires_at: expiry(tokens, now),
            refresh_token: tokens.refresh_token.clone(),
            username: identity.username.clone(),
            email: identity.email.clone(),
        }
    }

    /// These tokens after a refresh: the new access token, and the new refresh token when
    /// the provider rotated it (Cognito does not; the old one stays).
    pub fn refreshed(&self, tokens: &Tokens, now: i64) -> SessionTokens {
        SessionTokens {
            access_token: tokens.access_token.clone(),
            access_expires_at: expiry(tokens, now),
            refresh_token: tokens
                .refresh_token
                .clone()
                .or_else(|| self.refresh_token.clone()),
            username: self.username.clone(),
            email: self.email.clone(),
        }
    }

    /// Whether the access token is expired or expires within `margin` seconds of `now`.
    pub fn expires_within(&self, now: i64, margin: i64) -> bool {
        self.access_expires_at - now <= margin
    }

    /// The stored form, sealed under `session_token`: `v1.` then base64 (URL-safe, no
    /// padding) of a random nonce followed by the ciphertext and its tag.
    pub fn seal(&self, session_token: &str) -> String {
        let json = serde_json::to_vec(self).expect("tokens serialise");
        let nonce: [u8; NONCE_LEN] = rand::random();
        let sealed = cipher(session_token)
            .encrypt(&Nonce::from(nonce), json.as_slice())
            .expect("ChaCha20-Poly1305 encrypts any message of this size");
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        format!(
            "{VERSION}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)
        )
    }

    /// Opens what [`SessionTokens::seal`] made under the same session token; none when it
    /// was sealed under another token, altered, or is not in this format.
    pub fn open(session_token: &str, stored: &str) -> Option<SessionTokens> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(stored.strip_prefix(VERSION)?)
            .ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        let json = cipher(session_token)
            .decrypt(&Nonce::from(nonce), sealed)
            .ok()?;
        serde_json::from_slice(&json).ok()
    }
}

fn expiry(tokens: &Tokens, now: i64) -> i64 {
    now.saturating_add(i64::try_from(tokens.expires_in.as_secs()).unwrap_or(i64::MAX))
}

/// The cipher keyed by HMAC-SHA256(session token, "backspin idp tokens").
fn cipher(session_token: &str) -> ChaCha20Poly1305 {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(session_token.as_bytes()).expect("HMAC takes any key");
    mac.update(b"backspin idp tokens");
    let key: [u8; 32] = mac.finalize().into_bytes().into();
    ChaCha20Poly1305::new(&Key::from(key))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn tokens() -> SessionTokens {
        SessionTokens::from_sign_in(
            &Tokens {
                id_token: "id.token.jwt".into(),
                access_token: "access-token-4f1c9a".into(),
                refresh_token: Some("refresh-token-77d2e0".into()),
                expires_in: Duration::from_secs(3600),
            },
            &Identity {
                subject: "sub-1".into(),
                email: "ana@example.com".into(),
                username: "user-1".into(),
                expires_at: 1_003_600,
            },
            1_000_000,
        )
    }

    #[test]
    fn sealed_tokens_open_only_with_their_session_token() {
        let t = tokens();
        assert_eq!(t.access_expires_at, 1_003_600);
        let sealed = t.seal("session-token-a");
        assert!(sealed.starts_with("v1."), "{sealed}");
        for secret in [
            "access-token-4f1c9a",
            "refresh-token-77d2e0",
            "ana@example.com",
        ] {
            assert!(!sealed.contains(secret), "{secret} in clear");
        }
        assert_eq!(
            SessionTokens::open("session-token-a", &sealed),
            Some(t.clone())
        );
        assert_eq!(SessionTokens::open("session-token-b", &sealed), None);
        assert_ne!(sealed, t.seal("session-token-a"), "a fresh nonce each time");
    }

    #[test]
    fn altered_or_foreign_stored_forms_do_not_open() {
        let sealed = tokens().seal("k");
        let mut flipped = sealed.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).expect("ASCII");
        assert_eq!(SessionTokens::open("k", &flipped), None);
        assert_eq!(SessionTokens::open("k", &sealed[3..]), None, "no version");
        assert_eq!(SessionTokens::open("k", "v1."), None);
        assert_eq!(SessionTokens::open("k", "v1.!!"), None);
        assert_eq!(SessionTokens::open("k", "{\"access_token\":\"x\"}"), None);
    }

    #[test]
    fn a_refresh_keeps_the_refresh_token_unless_a_new_one_comes() {
        let t = tokens();
        let new = Tokens {
            id_token: "id2".into(),
            access_token: "access-2".into(),
            refresh_token: None,
            expires_in: Duration::from_secs(60),
        };
        let r = t.refreshed(&new, 2_000_000);
        assert_eq!(r.access_token, "access-2");
        assert_eq!(r.access_expires_at, 2_000_060);
        assert_eq!(r.refresh_token, t.refresh_token);
        assert_eq!(r.username, "user-1");
        let rotated = t.refreshed(
            &Tokens {
                refresh_token: Some("refresh-2".into()),
                ..new
            },
            2_000_000,
        );
        assert_eq!(rotated.refresh_token.as_deref(), Some("refresh-2"));
        assert!(r.expires_within(2_000_000, 60));
        assert!(!r.expires_within(2_000_000, 59));
    }

    #[test]
    fn debug_output_prints_no_token() {
        let shown = format!("{:?}", tokens());
        for secret in ["access-token", "refresh-token", "ana@example.com"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("1003600"), "{shown}");
    }
}
