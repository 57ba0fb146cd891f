//! The web tier's settings ([`Config`]), read once at start-up, and what is derived from them.

use std::time::Duration;

use axum::http::HeaderValue;

use ::accounts::idp;

/// The web tier's settings (the binary reads them from flags and environment).
#[derive(Clone)]
pub struct Config {
    /// Key for CSRF tokens (at least 32 random bytes; the same on every instance).
    pub secret: Vec<u8>,
    /// E-mail addresses of administrators.
    pub admin_emails: Vec<String>,
    /// How long an anonymous visitor's uploads live.
    pub anonymous_ttl: Duration,
    /// How long a signed-in session lives.
    pub session_ttl: Duration,
    /// Largest upload accepted, in bytes.
    pub max_upload_bytes: u64,
    /// Longest time a request other than an upload may take.
    pub request_timeout: Duration,
    /// Longest time an upload may take.
    pub upload_timeout: Duration,
    /// Cookies marked `Secure` (the site is served over HTTPS). Requests that arrive with
    /// `X-Forwarded-Proto: https` get them too.
    pub secure_cookies: bool,
    /// Take the client address from the last `X-Forwarded-For` hop (behind a load balancer).
    pub trust_forwarded_for: bool,
    /// Password hashing cost.
    pub argon2: HashParams,
    /// Sign-in attempts allowed per account and per address.
    pub sign_in_limits: crate::state::limiter::Limits,
    /// A folder of extra files served under `/static/` (the built-in ones take precedence).
    pub static_dir: Option<std::path::PathBuf>,
    /// Where browsers post files straight to the object store (S3's origin), when the store
    /// issues presigned forms: the upload form then sends files there, and the CSP allows it.
    pub upload_origin: Option<String>,
    /// Accounts held by an external identity provider (Cognito) instead of local passwords.
    pub idp: Option<std::sync::Arc<dyn idp::IdentityProvider>>,
    /// Bytes of prepared dashboards kept in memory, shared by all users.
    pub dash_cache_bytes: usize,
    /// What one visitor may store and send.
    pub quotas: crate::state::meter::Quotas,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("secret", &"<redacted>")
            .field("admin_emails", &self.admin_emails)
            .field("anonymous_ttl", &self.anonymous_ttl)
            .field("session_ttl", &self.session_ttl)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("request_timeout", &self.request_timeout)
            .field("upload_timeout", &self.upload_timeout)
            .field("secure_cookies", &self.secure_cookies)
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .field("argon2", &self.argon2)
            .field("sign_in_limits", &self.sign_in_limits)
            .field("static_dir", &self.static_dir)
            .field("upload_origin", &self.upload_origin)
            .field("idp", &self.idp)
            .field("dash_cache_bytes", &self.dash_cache_bytes)
            .field("quotas", &self.quotas)
            .finish()
    }
}

impl Config {
    /// The defaults with a given secret.
    pub fn with_secret(secret: Vec<u8>) -> Config {
        Config {
            secret,
            admin_emails: Vec::new(),
            anonymous_ttl: Duration::from_secs(24 * 3600),
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            max_upload_bytes: 1 << 30,
            request_timeout: Duration::from_secs(30),
            upload_timeout: Duration::from_secs(3600),
            secure_cookies: false,
            trust_forwarded_for: false,
            argon2: HashParams::RECOMMENDED,
            sign_in_limits: crate::state::limiter::Limits::DEFAULT,
            quotas: crate::state::meter::Quotas::DEFAULT,
            static_dir: None,
            upload_origin: None,
            idp: None,
            dash_cache_bytes: crate::state::cache::DEFAULT_BUDGET,
        }
    }
}

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
}

/// The Content-Security-Policy: only our own scripts and styles, nothing inline, no frames;
/// scripts may talk to, and forms post to, this site only, and to `upload_origin` (the object
/// store's, where browsers post files directly) when there is one.
pub fn csp(upload_origin: Option<&str>) -> HeaderValue {
    let extra = upload_origin
        .filter(|o| {
            !o.is_empty()
                && o.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ":/.-_[]".contains(c))
        })
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    let policy = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'{extra}; form-action 'self'{extra}; frame-ancestors 'none'; base-uri 'none'"
    );
    HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
}
