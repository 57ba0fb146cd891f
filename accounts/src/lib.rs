//! Backspin's account interface, shared by the web tier and the cloud adapters without either
//! depending on the other: the identity provider trait ([`idp::IdentityProvider`], which
//! `cloud::cognito` implements), what it returns and its errors, and [`Password`], a typed
//! password kept out of logs.

pub mod idp;

/// A password as typed, kept out of logs and debug output.
#[derive(Clone, serde::Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    /// Wraps a typed password.
    pub fn new(s: impl Into<String>) -> Password {
        Password(s.into())
    }

    /// The text, for hashing and checking only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}
