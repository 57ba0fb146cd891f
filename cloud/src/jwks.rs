//! Verifying the JWTs of a Cognito user pool against the pool's published keys (its JWKS).
//!
//! [`JwksVerifier`] fetches the key set over HTTP(S), caches it, and fetches it again when a
//! token names a key id it does not know (Cognito rotates keys by publishing a new one), but
//! at most once per [`MIN_REFETCH_INTERVAL`], so that a flood of tokens naming made-up keys
//! cannot hammer the endpoint. A token passes when it is signed with RS256 (nothing else is
//! accepted: not `none`, not HS256) by a published key, was issued by the pool (`iss`), has
//! not expired (with [`LEEWAY`] for clock skew), and is the right kind for this app client:
//! an ID token (`token_use` "id") whose `aud` is the client id, or an access token
//! (`token_use` "access") whose `client_id` is.
//!
//! The JWT framing (three base64url parts, a JSON header and payload) is read here; the RSA
//! signature check is ring's. (jsonwebtoken 9, the release line built on ring, is affected by
//! GHSA-h395-gr6q-cpjc, and its fixed releases need aws-lc-rs or the RustCrypto stack.)

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use accounts::idp::{Identity, IdpError};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::{BodyExt as _, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use serde::Deserialize;

/// The least time between two fetches of the key set.
pub const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// How long past its `exp` a token is still accepted, for clock skew.
pub const LEEWAY: Duration = Duration::from_secs(60);

/// How long a fetch of the key set may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest key set read (Cognito's is about 1 KiB).
const MAX_JWKS_BYTES: usize = 64 * 1024;

/// The longest token looked at (Cognito's ID tokens are 1 to 2 KiB).
const MAX_TOKEN_BYTES: usize = 16 * 1024;

type HttpClient = Client<HttpsConnector<HttpConnector>, String>;

/// Who a verified access token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessIdentity {
    /// The user's stable id (`sub`).
    pub subject: String,
    /// The pool's user name (`username`; with e-mail sign-in, Cognito's internal name).
    pub username: String,
    /// When the token expires (seconds since the epoch).
    pub expires_at: i64,
}

/// Verifies the ID and access tokens one user pool issues to one app client.
pub struct JwksVerifier {
    issuer: String,
    client_id: String,
    jwks_url: String,
    http: HttpClient,
    keys: RwLock<HashMap<String, Arc<RsaKey>>>,
    /// When the key set was last fetched (or tried); held across a fetch, so that the tokens
    /// waiting for a key share one fetch.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

impl std::fmt::Debug for JwksVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksVerifier")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("jwks_url", &self.jwks_url)
            .finish_non_exhaustive()
    }
}

/// A published RSA key: modulus and exponent, big-endian.
#[derive(Debug)]
struct RsaKey {
    n: Vec<u8>,
    e: Vec<u8>,
}

impl JwksVerifier {
    /// A verifier for the tokens `issuer` (e.g.
    /// `https://cognito-idp.<region>.amazonaws.com/<pool id>`) issues to the app client
    /// `client_id`, with the keys published at `jwks_url` (`http` or `https`). Nothing is
    /// fetched until the first token is verified.
    pub fn new(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        jwks_url: impl Into<String>,
    ) -> JwksVerifier {
        JwksVerifier {
            issuer: issuer.into(),
            client_id: client_id.into(),
            jwks_url: jwks_url.into(),
            http: http_client(),
            keys: RwLock::new(HashMap::new()),
            last_fetch: tokio::sync::Mutex::new(None),
        }
    }

    /// Verifies an ID token and says whom it names. Fails with [`IdpError::TokenInvalid`]
    /// for a token that does not verify, and with [`IdpError::Unavailable`] when the keys
    /// cannot be fetched.
    pub async fn verify_id_token(&self, token: &str) -> Result<Identity, IdpError> {
        let claims = self.verify(token).await?;
        if claims.token_use != "id" {
            return Err(invalid("it is not an ID token"));
        }
        if !claims
            .aud
            .as_ref()
            .is_some_and(|aud| aud.names(&self.client_id))
        {
            return Err(invalid("it was issued to another app client"));
        }
        let email = claims
            .email
            .ok_or_else(|| invalid("it names no e-mail address"))?;
        let username = claims
            .cognito_username
            .ok_or_else(|| invalid("it names no user name"))?;
        Ok(Identity {
            subject: claims.sub,
            email: email.to_lowercase(),
            username,
            expires_at: claims.exp,
        })
    }

    /// Verifies an access token and says whose it is. Fails as
    /// [`verify_id_token`](Self::verify_id_token) does.
    pub async fn verify_access_token(&self, token: &str) -> Result<AccessIdentity, IdpError> {
        let claims = self.verify(token).await?;
        if claims.token_use != "access" {
            return Err(invalid("it is not an access token"));
        }
        if claims.client_id.as_deref() != Some(self.client_id.as_str()) {
            return Err(invalid("it was issued to another app client"));
        }
        let username = claims
            .username
            .ok_or_else(|| invalid("it names no user name"))?;
        Ok(AccessIdentity {
            subject: claims.sub,
            username,
            expires_at: claims.exp,
        })
    }

    /// Checks what every token must pass: the framing, RS256, the signature, the issuer and
    /// the expiry.
    async fn verify(&self, token: &str) -> Result<Claims, IdpError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(invalid("it is too long"));
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid("it is not a JWT"));
        };
        let header: Header = decode_json(header_b64)?;
        // The algorithm is fixed, never taken from the token: this is what keeps `none` and
        // HS256-signed-with-the-public-key forgeries out.
        if header.alg != "RS256" {
            return Err(invalid("it is not signed with RS256"));
        }
        let kid = header
            .kid
            .ok_or_else(|| invalid("it names no signing key"))?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature_b64)
            .map_err(|_| invalid("it is malformed"))?;
        let key = self.key(&kid).await?;
        let signed = &token[..header_b64.len() + 1 + payload_b64.len()];
        RsaPublicKeyComponents {
            n: &key.n,
            e: &key.e,
        }
        .verify(&RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &signature)
        .map_err(|_| invalid("its signature does not match"))?;

        let claims: Claims = decode_json(payload_b64)?;
        if claims.iss != self.issuer {
            return Err(invalid("it was issued by another user pool"));
        }
        if claims.exp.saturating_add(LEEWAY.as_secs() as i64) <= unix_now() {
            return Err(invalid("it has expired"));
        }
        Ok(claims)
    }

    /// The key `kid`, from the cache or, when it is not there, from a new fetch if the last
    /// one is at least [`MIN_REFETCH_INTERVAL`] old.
    async fn key(&self, kid: &str) -> Result<Arc<RsaKey>, IdpError> {
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        let mut last_fetch = self.last_fetch.lock().await;
        // Another task may have fetched while this one waited for the lock.
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        if last_fetch.is_some_and(|at| at.elapsed() < MIN_REFETCH_INTERVAL) {
            return Err(invalid("it names an unknown signing key"));
        }
        // A failed fetch counts too, so that an unreachable endpoint is not retried per token.
        *last_fetch = Some(Instant::now());
        let keys = self.fetch().await?;
        let key = keys.get(kid).cloned();
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = keys;
        key.ok_or_else(|| invalid("it names an unknown signing key"))
    }

    fn cached(&self, kid: &str) -> Option<Arc<RsaKey>> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(kid)
            .cloned()
    }

    /// Fetches and parses the key set.
    async fn fetch(&self) -> Result<HashMap<String, Arc<RsaKey>>, IdpError> {
        let unavailable = |why: String| {
            IdpError::Unavailable(format!("fetching the keys from {}: {why}", self.jwks_url))
        };
        let uri: http::Uri = self
            .jwks_url
            .parse()
            .map_err(|_| unavailable("not a valid URL".into()))?;
        let request = http::Request::get(uri)
            .header(http::header::ACCEPT, "application/json")
            .body(String::new())
            .map_err(|e| unavailable(e.to_string()))?;
        let body = tokio::time::timeout(FETCH_TIMEOUT, async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| unavailable(error_chain(&e)))?;
            if !response.status().is_success() {
                return Err(unavailable(format!("it answered {}", response.status())));
            }
            Limited::new(response.into_body(), MAX_JWKS_BYTES)
                .collect()
                .await
                .map(|body| body.to_bytes())
                .map_err(|e| unavailable(format!("reading the answer: {e}")))
        })
        .await
        .map_err(|_| unavailable(format!("no answer within {FETCH_TIMEOUT:?}")))??;
        let jwks: Jwks = serde_json::from_slice(&body)
            .map_err(|e| unavailable(format!("not a JSON Web Key Set: {e}")))?;
        let keys: HashMap<_, _> = jwks.keys.into_iter().filter_map(Jwk::rsa_key).collect();
        tracing::debug!(url = %self.jwks_url, keys = keys.len(), "fetched the signing keys");
        Ok(keys)
    }

    /// Makes the last fetch look `ago` old, as if that much time had passed.
    #[cfg(test)]
    async fn pretend_last_fetch_was(&self, ago: Duration) {
        let mut last_fetch = self.last_fetch.lock().await;
        *last_fetch = Some(
            Instant::now()
                .checked_sub(ago)
                .expect("an instant that early"),
        );
    }
}

/// An HTTP(S) client trusting the web's public roots (Mozilla's list), with ring for TLS.
fn http_client() -> HttpClient {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports rustls's default protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Client::builder(TokioExecutor::new()).build(https)
}

/// An error and its causes, `: `-separated (hyper's own message is only "client error").
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn invalid(why: &str) -> IdpError {
    IdpError::TokenInvalid(why.to_string())
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, IdpError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| invalid("it is malformed"))?;
    serde_json::from_slice(&bytes).map_err(|_| invalid("it is malformed"))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

/// The claims Backspin reads; the types are strict, so an `exp` that is not an integer makes
/// the token malformed rather than unexpiring.
#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    exp: i64,
    token_use: String,
    aud: Option<Audience>,
    client_id: Option<String>,
    email: Option<String>,
    #[serde(rename = "cognito:username")]
    cognito_username: Option<String>,
    username: Option<String>,
}

/// `aud`: one audience (Cognito's form) or several (JWT allows both).
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn names(&self, client_id: &str) -> bool {
        match self {
            Audience::One(aud) => aud == client_id,
            Audience::Many(auds) => auds.iter().any(|aud| aud == client_id),
        }
    }
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

impl Jwk {
    /// The key, if it is an RSA signing key for RS256 with an id.
    fn rsa_key(self) -> Option<(String, Arc<RsaKey>)> {
        if self.kty != "RSA"
            || self.alg.as_deref().is_some_and(|alg| alg != "RS256")
            || self.use_.as_deref().is_some_and(|use_| use_ != "sig")
        {
            return None;
        }
        let n = URL_SAFE_NO_PAD.decode(self.n?).ok()?;
        let e = URL_SAFE_NO_PAD.decode(self.e?).ok()?;
        Some((self.kid?, Arc::new(RsaKey { n, e })))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use ring::rand::SystemRandom;
    use ring::rsa::PublicKeyComponents;
    use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
    use serde_json::{Value, json};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;

    use super::*;

    const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool";
    const CLIENT_ID: &str = "backspin-web-client";

    /// A test key pair (`cloud/tests/data`) and the id it is published under.
    struct TestKey {
        pair: RsaKeyPair,
        kid: &'static str,
    }

    impl TestKey {
        fn a() -> TestKey {
            TestKey::from_pem(include_str!("../tests/data/test-rsa-a.pem"), "key-a")
        }

        fn b() -> TestKey {
            TestKey::from_pem(include_str!("../tests/data/test-rsa-b.pem"), "key-b")
        }

        fn from_pem(pem: &str, kid: &'static str) -> TestKey {
            let base64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(base64)
                .expect("PEM body");
            let pair = RsaKeyPair::from_pkcs8(&der).expect("a PKCS #8 RSA key");
            TestKey { pair, kid }
        }

        fn jwk(&self) -> Value {
            let public = PublicKeyComponents::<Vec<u8>>::from(self.pair.public());
            json!({
                "alg": "RS256", "e": URL_SAFE_NO_PAD.encode(&public.e), "kid": self.kid,
                "kty": "RSA", "n": URL_SAFE_NO_PAD.encode(&public.n), "use": "sig",
            })
        }

        /// A token with these claims, signed with RS256 under this key's id.
        fn sign(&self, claims: &Value) -> String {
            self.sign_with_header(&json!({"alg": "RS256", "kid": self.kid}), claims)
        }

        fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let mut signature = vec![0; self.pair.public().modulus_len()];
            self.pair
                .sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    input.as_bytes(),
                    &mut signature,
                )
                .expect("signing");
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
        }
    }

    fn id_claims() -> Value {
        json!({
            "iss": ISSUER,
            "sub": "5c3efbee-d18f-43a6-b32d-17587bc8d018",
            "cognito:username": "5c3efbee-d18f-43a6-b32d-17587bc8d018",
            "aud": CLIENT_ID,
            "token_use": "id",
            "email": "Listener@Example.COM",
            "iat": unix_now(),
            "exp": unix_now() + 3600,
        })
    }

    fn access_claims() -> Value {
        json!({
            "iss": ISSUER,
            "sub": "5c3efbee-d18f-43a6-b32d-17587bc8d018",
            "username": "5c3efbee-d18f-43a6-b32d-17587bc8d018",
            "client_id": CLIENT_ID,
            "token_use": "access",
            "exp": unix_now() + 3600,
        })
    }

    fn with(mut claims: Value, key: &str, value: Value) -> Value {
        claims[key] = value;
        claims
    }

    /// A JWKS endpoint on 127.0.0.1 that serves whatever key set it is given and counts the
    /// requests; it stops when dropped.
    struct JwksServer {
        url: String,
        jwks: Arc<Mutex<String>>,
        fetches: Arc<AtomicUsize>,
        task: tokio::task::JoinHandle<()>,
    }

    impl JwksServer {
        async fn start(keys: &[&TestKey]) -> JwksServer {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
            let url = format!(
                "http://{}/eu-west-1_TestPool/.well-known/jwks.json",
                listener.local_addr().expect("address")
            );
            let jwks = Arc::new(Mutex::new(String::new()));
            let fetches = Arc::new(AtomicUsize::new(0));
            let (served, counted) = (jwks.clone(), fetches.clone());
            let task = tokio::spawn(async move {
                while let Ok((mut socket, _)) = listener.accept().await {
                    // Read the request head, then answer and close.
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    counted.fetch_add(1, Ordering::SeqCst);
                    let body = served.lock().expect("jwks").clone();
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                         content-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                }
            });
            let server = JwksServer {
                url,
                jwks,
                fetches,
                task,
            };
            server.publish(keys);
            server
        }

        fn publish(&self, keys: &[&TestKey]) {
            let jwks = json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()});
            *self.jwks.lock().expect("jwks") = jwks.to_string();
        }

        fn fetches(&self) -> usize {
            self.fetches.load(Ordering::SeqCst)
        }

        fn verifier(&self) -> JwksVerifier {
            JwksVerifier::new(ISSUER, CLIENT_ID, &self.url)
        }
    }

    impl Drop for JwksServer {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    fn assert_invalid(result: Result<impl std::fmt::Debug, IdpError>, why: &str) {
        match result {
            Err(IdpError::TokenInvalid(reason)) => assert_eq!(reason, why),
            other => panic!("expected TokenInvalid({why:?}), got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_signed_id_token_names_the_user_and_the_keys_are_fetched_once() {
        let key = TestKey::a();
        let server = JwksServer::start(&[&key]).await;
        let verifier = server.verifier();
        let claims = id_claims();

        let identity = verifier
            .verify_id_token(&key.sign(&claims))
            .await
            .expect("a good token");
        assert_eq!(
            identity,
            Identity {
                subject: "5c3efbee-d18f-43a6-b32d-17587bc8d018".into(),
                email: "listener@example.com".into(),
                username: "5c3efbee-d18f-43a6-b32d-17587bc8d018".into(),
                expires_at: claims["exp"].as_i64().expect("exp"),
            }
        );
        verifier
            .verify_id_token(&key.sign(&id_claims()))
            .await
            .expect("a second good token");
        assert_eq!(server.fetches(), 1, "the keys are cached");
    }

    #[tokio::test]
    async fn a_tampered_payload_fails_the_signature_check() {
        let key = TestKey::a();
        let server = JwksServer::start(&[&key]).await;
        let token = key.sign(&id_claims());
        let forged_payload = URL_SAFE_NO_PAD
            .encode(with(id_claims(), "email", json!("someone.else@example.com")).to_string());
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!("{}.{forged_payload}.{}", parts[0], parts[2]);

        assert_invalid(
            server.verifier().verify_id_token(&forged).await,
            "its signature does not match",
        );
    }

    #[tokio::test]
    async fn tokens_from_another_pool_or_for_another_client_are_refused() {
        let key = TestKey::a();
        let server = JwksServer::start(&[&key]).await;
        let verifier = server.verifier();
        let other_pool = with(
            id_claims(),
            "iss",
            json!("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other"),
        );
        assert_invalid(
            verifier.verify_id_token(&key.sign(&other_pool)).await,
            "it was issued by another user pool",
        );
        let other_client = with(id_claims(), "aud", json!("another-client"));
        assert_invalid(
            verifier.verify_id_token(&key.sign(&other_client)).await,
            "it was issued to another app client",
        );
        let other_client = with(access_claims(), "client_id", json!("another-client"));
        assert_invalid(
            verifier.verify_access_token(&key.sign(&other_client)).await,
            "it was issued to another app client",
        );
    }

    #[tokio::test]
    async fn a_token_expired_longer_ago_than_the_leeway_is_refused() {
        let key = TestKey::a();
        let server = JwksServer::start(&[&key]).await;
        let verifier = server.verifier();
        let within_leeway = with(id_claims(), "exp", json!(unix_now() - 30));
        verifier
            .verify_id_token(&key.sign(&within_leeway))
            .await
            .expect("30 s past exp is within the leeway");
        let expired = with(id_claims(), "exp", json!(unix_now() - 120));
        assert_invalid(
            verifier.verify_id_token(&key.sign(&expired)).await,
            "it has expired",
        );
        // A string `exp` is malformed, never "no expiry".
        let stringly = with(id_claims(), "exp", json!("never"));
        assert_invalid(
            verifier.verify_id_token(&key.sign(&stringly)).await,
            "it is malformed",
        );
    }

    #[tokio::test]
    async fn an_access_token_is_not_an_id_token_and_the_other_way_round() {
        let key = TestKey::a();
        let server = JwksServer::start(&[&key]).await;
        let verifier = server.verifier();
        let access = key.sign(&access_claims());
        assert_invalid(
            verifier.verify_id_token(&access).await,
            "it is not an ID token",
        );
        assert_invalid(
            verifier.verify_access_token(&key.sign(&id_claims())).await,
            "it is not an access token",
        );
        let owner = verifier
            .verify_access_token(&access)
            .await
            .expect("an access token");
        assert_eq!(owner.username, "5c3efbee-d18f-43a6-b32d-17587bc8d018");
        assert_eq!(owner.subject, owner.username);
    }

    #[tokio::test]
    async fn unsigned_and_hmac_signed_tokens_are_refused_without_a_fetch() {
        let key = TestKey::a();
        let server = JwksServer::start(&[&key]).await;
        let verifier = server.verifier();
        let payload = URL_SAFE_NO_PAD.encode(id_claims().to_string());

        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"key-a"}"#);
        assert_invalid(
            verifier
                .verify_id_token(&format!("{none_header}.{payload}."))
                .await,
            "it is not signed with RS256",
        );

        // The classic confusion: HS256 "signed" with the public key as the HMAC secret.
        let hs_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","kid":"key-a"}"#);
        let input = format!("{hs_header}.{payload}");
        let secret = key.jwk()["n"].as_str().expect("n").to_string();
        let mac = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes()),
            input.as_bytes(),
        );
        let forged = format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref()));
        assert_invalid(
            verifier.verify_id_token(&forged).await,
            "it is not signed with RS256",
        );

        for garbage in ["", "abc", "a.b", "a.b.c.d"] {
            assert_invalid(verifier.verify_id_token(garbage).await, "it is not a JWT");
        }
        assert_invalid(
            verifier.verify_id_token("!!.??.**").await,
            "it is malformed",
        );
        assert_eq!(server.fetches(), 0, "nothing was worth fetching keys for");
    }

    #[tokio::test]
    async fn an_unknown_key_id_is_fetched_for_at_most_once_per_interval() {
        let key = TestKey::a();
        let server = JwksServer::start(&[&key]).await;
        let verifier = server.verifier();
        let stranger =
            key.sign_with_header(&json!({"alg": "RS256", "kid": "junk-1"}), &id_claims());

        assert_invalid(
            verifier.verify_id_token(&stranger).await,
            "it names an unknown signing key",
        );
        assert_eq!(server.fetches(), 1, "an unknown key id is looked up");
        for n in 2..10 {
            let junk = key.sign_with_header(
                &json!({"alg": "RS256", "kid": format!("junk-{n}")}),
                &id_claims(),
            );
            assert_invalid(
                verifier.verify_id_token(&junk).await,
                "it names an unknown signing key",
            );
        }
        assert_eq!(server.fetches(), 1, "no refetch within the interval");

        verifier.pretend_last_fetch_was(MIN_REFETCH_INTERVAL).await;
        assert_invalid(
            verifier.verify_id_token(&stranger).await,
            "it names an unknown signing key",
        );
        assert_eq!(
            server.fetches(),
            2,
            "a refetch once the interval has passed"
        );
    }

    #[tokio::test]
    async fn a_rotated_key_is_picked_up_by_a_refetch_and_the_retired_one_dropped() {
        let (old, new) = (TestKey::a(), TestKey::b());
        let server = JwksServer::start(&[&old]).await;
        let verifier = server.verifier();
        verifier
            .verify_id_token(&old.sign(&id_claims()))
            .await
            .expect("signed with the published key");

        server.publish(&[&new]);
        verifier.pretend_last_fetch_was(MIN_REFETCH_INTERVAL).await;
        verifier
            .verify_id_token(&new.sign(&id_claims()))
            .await
            .expect("signed with the new key");
        assert_eq!(server.fetches(), 2);
        assert_invalid(
            verifier.verify_id_token(&old.sign(&id_claims())).await,
            "it names an unknown signing key",
        );
        // A token under a known id whose signature is from another key fails the check.
        let mislabelled =
            old.sign_with_header(&json!({"alg": "RS256", "kid": "key-b"}), &id_claims());
        assert_invalid(
            verifier.verify_id_token(&mislabelled).await,
            "its signature does not match",
        );
        assert_eq!(server.fetches(), 2);
    }

    #[tokio::test]
    async fn an_unreachable_key_endpoint_makes_the_provider_unavailable() {
        let key = TestKey::a();
        let closed = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let url = format!("http://{}/jwks.json", closed.local_addr().expect("address"));
        drop(closed);
        let verifier = JwksVerifier::new(ISSUER, CLIENT_ID, url);
        match verifier.verify_id_token(&key.sign(&id_claims())).await {
            Err(IdpError::Unavailable(why)) => assert!(why.contains("fetching the keys"), "{why}"),
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }
}
