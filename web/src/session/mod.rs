//! Server-side sessions and the visitor behind each request.
//!
//! Every browser holds one random token in the `bs_session` cookie (HttpOnly, SameSite=Lax,
//! Secure over HTTPS). A visitor who has not signed in or uploaded gets a token that no row
//! names yet: it only anchors their CSRF token. Signing in, signing up and an anonymous
//! visitor's first upload store a session row under a *new* token (so a token planted before
//! cannot be promoted), and the response sets it.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use storage::users::User;

pub mod idp_tokens;

use idp_tokens::SessionTokens;

use crate::error::{AppError, ErrorPage, PageError};
use crate::state::AppState;
use crate::ui::Nav;

/// The session cookie's name.
pub const COOKIE: &str = "bs_session";

/// A new random session token (256 bits, URL-safe base64).
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn csrf_secret(secret: &[u8], session_token: &str) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(b"csrf\0");
    mac.update(session_token.as_bytes());
    mac.finalize().into_bytes().into()
}

/// The CSRF token bound to a session token: an HMAC under the server's secret (so it cannot be
/// derived without the secret nor reused with another cookie), masked with a fresh random pad
/// each time it is shown (`pad ‖ pad ⊕ hmac`), so that compressed pages never repeat it (BREACH).
pub fn csrf_token(secret: &[u8], session_token: &str) -> String {
    let raw = csrf_secret(secret, session_token);
    let pad: [u8; 32] = rand::random();
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&pad);
    for i in 0..32 {
        out[32 + i] = pad[i] ^ raw[i];
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)
}

/// Checks a (masked) CSRF token in constant time.
pub fn csrf_matches(secret: &[u8], session_token: &str, given: &str) -> bool {
    use subtle::ConstantTimeEq;
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(given.trim()) else {
        return false;
    };
    if bytes.len() != 64 {
        return false;
    }
    let raw = csrf_secret(secret, session_token);
    let unmasked: Vec<u8> = (0..32).map(|i| bytes[i] ^ bytes[32 + i]).collect();
    unmasked.ct_eq(&raw).into()
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| {
            v.len() == 43
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Whether the request arrived over HTTPS (directly configured, or said by the proxy).
pub(crate) fn is_https(state: &AppState, headers: &HeaderMap) -> bool {
    state.config().secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// Who is asking: their cookie token, the user it names (if any), and their address.
#[derive(Debug, Clone)]
pub struct Visitor {
    /// The token in the cookie (or the one just issued with this response).
    pub token: String,
    /// Whether the token was issued with this response (no cookie came in).
    pub fresh: bool,
    /// The account or anonymous visitor the session belongs to.
    pub user: Option<User>,
    /// Client address, for rate limits.
    pub address: String,
    /// Set cookies with `Secure`.
    pub https: bool,
}

impl Visitor {
    /// The CSRF token for this visitor's forms and API calls.
    pub fn csrf(&self, state: &AppState) -> String {
        csrf_token(&state.config().secret, &self.token)
    }

    /// The user, or "please sign in".
    pub fn require_user(&self) -> Result<&User, AppError> {
        self.user.as_ref().ok_or(AppError::SignInRequired)
    }

    /// A registered (not anonymous) user, or "please sign in".
    pub fn require_account(&self) -> Result<&User, AppError> {
        match &self.user {
            Some(u) if !u.anonymous => Ok(u),
            _ => Err(AppError::SignInRequired),
        }
    }
}

/// A `Set-Cookie` value for a session token. `max_age` none: ends with the browser session.
pub fn set_cookie(token: &str, max_age: Option<std::time::Duration>, https: bool) -> HeaderValue {
    let mut v = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        v.push_str(&format!("; Max-Age={}", age.as_secs()));
    }
    if https {
        v.push_str("; Secure");
    }
    HeaderValue::from_str(&v).expect("cookie is ASCII")
}

/// The client's address: the socket peer, or with `trust_forwarded_for` the last
/// `X-Forwarded-For` hop (the one the load balancer added).
fn client_address(state: &AppState, req: &Request) -> String {
    if state.config().trust_forwarded_for
        && let Some(last) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
    {
        return last.trim().to_string();
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string())
}

/// Middleware: finds the visitor's session (one indexed lookup when a cookie came in), puts a
/// [`Visitor`] in the request, and gives a first-time visitor their token cookie.
pub async fn load_session(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    // Health checks, metrics and static files need no visitor (and get no cookie).
    let path = req.uri().path();
    if path.starts_with("/static/") || matches!(path, "/healthz" | "/readyz" | "/metrics") {
        return next.run(req).await;
    }
    let https = is_https(&state, req.headers());
    let address = client_address(&state, &req);
    let (token, fresh) = match cookie_value(req.headers(), COOKIE) {
        Some(t) => (t.to_string(), false),
        None => (new_token(), true),
    };
    let user = if fresh {
        None
    } else {
        match storage::sessions::user_for(state.db(), &token, storage::db::now_ms()).await {
            Ok(u) => u,
            // JSON under /api/, a page elsewhere, like every other error.
            Err(e) => return crate::error::error_for(req.uri().path(), AppError::from(e)),
        }
    };
    req.extensions_mut().insert(Visitor {
        token: token.clone(),
        fresh,
        user,
        address,
        https,
    });
    let mut response = next.run(req).await;
    let sets_own = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(COOKIE.as_bytes()));
    if fresh && !sets_own {
        response
            .headers_mut()
            .append(header::SET_COOKIE, set_cookie(&token, None, https));
    }
    response
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Visitor>()
            .cloned()
            .ok_or_else(|| AppError::Internal("session middleware missing".into()).into())
    }
}

/// A session just started: the token, its cookie, and the CSRF token that goes with it.
#[derive(Debug, Clone)]
pub struct Started {
    /// The user it belongs to.
    pub user: User,
    /// `Set-Cookie` for the browser.
    pub cookie: HeaderValue,
    /// The new CSRF token (the old one ended with the old session).
    pub csrf_token: String,
    /// The session token (the cookie's value).
    pub(crate) token: String,
}

/// Starts a stored session for `user` under a new token.
pub async fn start(state: &AppState, user: User, https: bool) -> Result<Started, AppError> {
    start_with(state, user, https, None).await
}

/// [`start`] for an account held by an identity provider: the session row keeps the
/// provider's `tokens`, sealed under the new session token.
pub async fn start_with_idp_tokens(
    state: &AppState,
    user: User,
    https: bool,
    tokens: &SessionTokens,
) -> Result<Started, AppError> {
    start_with(state, user, https, Some(tokens)).await
}

async fn start_with(
    state: &AppState,
    user: User,
    https: bool,
    tokens: Option<&SessionTokens>,
) -> Result<Started, AppError> {
    let token = new_token();
    let ttl = if user.anonymous {
        state.config().anonymous_ttl
    } else {
        state.config().session_ttl
    };
    let expires = storage::db::now_ms() + ttl.as_millis() as i64;
    match tokens {
        Some(t) => {
            let sealed = t.seal(&token);
            storage::sessions::create_with_idp_tokens(
                state.db(),
                &token,
                &user.id,
                expires,
                &sealed,
            )
            .await?;
        }
        None => storage::sessions::create(state.db(), &token, &user.id, expires).await?,
    }
    Ok(Started {
        csrf_token: csrf_token(&state.config().secret, &token),
        cookie: set_cookie(&token, Some(ttl), https),
        user,
        token,
    })
}

/// A cookie with a new token and no session, replacing one that ended.
pub fn fresh_cookie(visitor: &Visitor) -> HeaderValue {
    set_cookie(&new_token(), None, visitor.https)
}

/// A redirect that also sets a new session cookie.
pub fn redirect_with(to: &str, cookie: HeaderValue) -> Response {
    let mut r = Redirect::to(to).into_response();
    r.headers_mut().append(header::SET_COOKIE, cookie);
    r
}

/// What the layout needs about the visitor.
pub fn nav(state: &AppState, v: &Visitor) -> Nav {
    Nav {
        email: v
            .user
            .as_ref()
            .filter(|u| !u.anonymous)
            .and_then(|u| u.email.clone()),
        anonymous: v.user.as_ref().is_some_and(|u| u.anonymous),
        admin: v.user.as_ref().is_some_and(|u| state.is_admin(u)),
        csrf: v.csrf(state),
        direct_uploads: state.config().upload_origin.is_some(),
        idp: state.idp().is_some(),
    }
}

/// Middleware: an error page drawn again with the visitor's own navigation (signed in as
/// whom, their links), since the error that made it knew nothing of the visitor.
pub async fn errors_know_the_visitor(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let visitor = req.extensions().get::<Visitor>().cloned();
    let mut r = next.run(req).await;
    let (Some(v), Some(e)) = (visitor, r.extensions().get::<ErrorPage>().cloned()) else {
        return r;
    };
    let page = crate::ui::error_page(e.status, &e.message, &nav(&state, &v)).into_string();
    r.headers_mut().remove(header::CONTENT_LENGTH);
    *r.body_mut() = axum::body::Body::from(page);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_are_bound_to_the_session_and_the_secret() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        let t = csrf_token(b"secret one", &a);
        assert_ne!(t, csrf_token(b"secret one", &a), "masked afresh each time");
        assert!(csrf_matches(b"secret one", &a, &t));
        assert!(csrf_matches(
            b"secret one",
            &a,
            &csrf_token(b"secret one", &a)
        ));
        assert!(!csrf_matches(b"secret one", &b, &t), "another session");
        assert!(!csrf_matches(b"secret two", &a, &t), "another secret");
        assert!(!csrf_matches(b"secret one", &a, ""));
        assert!(!csrf_matches(b"secret one", &a, "not base64 at all!"));
    }

    #[test]
    fn only_well_formed_session_cookies_are_read() {
        let t = new_token();
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("theme=dark; {COOKIE}={t}; x=1")).unwrap(),
        );
        assert_eq!(cookie_value(&h, COOKIE), Some(t.as_str()));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("bs_session=../../etc"),
        );
        assert_eq!(cookie_value(&h, COOKIE), None);
    }

    #[test]
    fn cookies_are_http_only_same_site_lax_and_secure_over_https() {
        let c = set_cookie("t", Some(std::time::Duration::from_secs(60)), true);
        let c = c.to_str().unwrap();
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Secure"));
        assert!(c.contains("Max-Age=60"));
        let plain = set_cookie("t", None, false);
        assert!(!plain.to_str().unwrap().contains("Secure"));
    }
}
