//! The web application over a test [`Pipeline`], and a [`Client`] that behaves like one
//! browser (or one script): it keeps its session cookie, sends the CSRF token with state
//! changes, and calls the router directly (`oneshot`, no socket).

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use ingest_worker::pool::PoolStatus;
use serde_json::Value;
use storage::uploads::State;
use tower::ServiceExt;

use crate::{Engine, Pipeline};

/// Cheap argon2 parameters for tests that sign in many times (one test checks that the
/// server's default is the recommended cost).
pub const CHEAP_HASH: web::state::config::HashParams = web::state::config::HashParams {
    memory_kib: 256,
    iterations: 1,
    parallelism: 1,
};

/// A password that passes the rules.
pub const PASSWORD: &str = "correct horse battery";

/// The application, its pipeline and its state.
#[derive(Debug)]
pub struct WebApp {
    /// Database, store, queue.
    pub pipeline: Pipeline,
    /// What handlers see.
    pub state: web::AppState,
    router: Router,
}

impl WebApp {
    /// The app on `engine` with test settings (cheap hashing).
    pub async fn new(engine: Engine) -> WebApp {
        WebApp::with_config(engine, |_| {}).await
    }

    /// The app with settings adjusted by `adjust`.
    pub async fn with_config(engine: Engine, adjust: impl FnOnce(&mut web::Config)) -> WebApp {
        let pipeline = Pipeline::new(engine).await;
        let deps = pipeline.deps();
        WebApp::on(pipeline, deps, adjust)
    }

    /// The app over `deps` (another store, queue or notifier than the pipeline's own: S3, SQS
    /// and SNS on moto), with settings adjusted by `adjust`.
    pub fn on(
        pipeline: Pipeline,
        deps: ingest_worker::Deps,
        adjust: impl FnOnce(&mut web::Config),
    ) -> WebApp {
        let mut config = web::Config::with_secret(b"a test secret of thirty-two bytes!".to_vec());
        config.argon2 = CHEAP_HASH;
        // Tests sign up many accounts from one address; the limit has a test of its own.
        config.sign_in_limits.sign_ups_per_address = 10_000;
        // And upload from one address; the quotas have tests of their own.
        config.quotas.uploads_per_address = 10_000;
        config.quotas.uploads_per_visitor = 10_000;
        adjust(&mut config);
        let state = web::AppState::new(deps, config, PoolStatus::default());
        // As `backspin serve` does: its workers store the finished views.
        web::dashboards::precompute::precompute_after_changes(&state);
        let router = web::router(state.clone());
        WebApp {
            pipeline,
            state,
            router,
        }
    }

    /// Another web instance on the same database and store, as a second process would be:
    /// nothing prepared, nothing in memory, no workers. Its state and router.
    pub fn another_instance(&self) -> (web::AppState, Router) {
        let mut config = web::Config::with_secret(b"a test secret of thirty-two bytes!".to_vec());
        config.argon2 = CHEAP_HASH;
        let state = web::AppState::new(self.state.deps().clone(), config, PoolStatus::default());
        let router = web::router(state.clone());
        (state, router)
    }

    /// A new browser, from `127.0.0.1`.
    pub fn client(&self) -> Client {
        self.client_from("127.0.0.1:50000")
    }

    /// A new browser from another address.
    pub fn client_from(&self, address: &str) -> Client {
        Client {
            router: self.router.clone(),
            cookie: None,
            address: address.parse().expect("a socket address"),
        }
    }

    /// Runs the workers until the queue is empty.
    pub async fn work(&self) {
        self.pipeline.work(self.state.deps()).await;
    }

    /// Uploads `bytes` as `name` for `client` and ingests it; returns the upload's JSON once
    /// ready (or failed).
    pub async fn upload_and_ingest(&self, client: &mut Client, name: &str, bytes: &[u8]) -> Value {
        let r = client.upload(name, bytes).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "upload refused: {}", r.body);
        let id = r.json()["upload"]["id"]
            .as_str()
            .and_then(storage::ids::UploadId::parse)
            .expect("an upload id");
        self.work().await;
        let u = self
            .pipeline
            .wait_for(&id, Duration::from_secs(60), "ingested", |u| {
                matches!(u.state, State::Ready | State::Failed)
            })
            .await;
        let r = client.get(&format!("/api/v1/uploads/{}", u.id)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()
    }
}

/// `GET path` answering 200 with JSON; panics with the body otherwise.
pub async fn get_json(c: &mut Client, path: &str) -> Value {
    let r = c.get(path).await;
    assert_eq!(r.status, StatusCode::OK, "GET {path}: {}", r.body);
    r.json()
}

/// Uploads `bytes` through the API and ingests it; panics unless it ended ready. Returns the
/// upload's id.
pub async fn ready_upload(app: &WebApp, c: &mut Client, name: &str, bytes: &[u8]) -> String {
    let u = app.upload_and_ingest(c, name, bytes).await;
    assert_eq!(u["state"], "ready", "{name}: {u}");
    u["id"].as_str().expect("id").to_string()
}

/// The message of an API error answer.
pub fn api_message(r: &Reply) -> String {
    r.json()["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("an API error: {}", r.body))
        .to_string()
}

/// The message in an HTML page's alert.
pub fn page_alert(r: &Reply) -> String {
    let start = r
        .body
        .find("role=\"alert\">")
        .unwrap_or_else(|| panic!("the page shows no alert: {}", r.body))
        + "role=\"alert\">".len();
    r.body[start..start + r.body[start..].find('<').expect("the alert ends")].to_string()
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body as text.
    pub body: String,
}

impl Reply {
    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Where a redirect goes.
    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }
}

/// One browser: a cookie jar of one cookie.
#[derive(Debug, Clone)]
pub struct Client {
    router: Router,
    /// The session cookie's value.
    pub cookie: Option<String>,
    address: SocketAddr,
}

impl Client {
    /// The same browser (its cookie) talking to another instance.
    pub fn to(&self, router: Router) -> Client {
        Client {
            router,
            cookie: self.cookie.clone(),
            address: self.address,
        }
    }

    /// Sends a request as this browser (cookie, Host, peer address) and keeps the cookie the
    /// answer sets.
    pub async fn send(&mut self, mut req: Request<Body>) -> Reply {
        let h = req.headers_mut();
        h.insert(header::HOST, "backspin.test".parse().expect("host"));
        if let Some(c) = &self.cookie {
            h.insert(
                header::COOKIE,
                format!("{}={c}", web::session::COOKIE)
                    .parse()
                    .expect("cookie"),
            );
        }
        req.extensions_mut().insert(ConnectInfo(self.address));
        let r = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("infallible router");
        let (parts, body) = r.into_parts();
        for v in parts.headers.get_all(header::SET_COOKIE) {
            let v = v.to_str().expect("ASCII cookie");
            if let Some(rest) = v.strip_prefix(&format!("{}=", web::session::COOKIE)) {
                self.cookie = Some(rest.split(';').next().unwrap_or("").to_string());
            }
        }
        let bytes = body.collect().await.expect("body").to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Reply {
        self.send(Request::get(path).body(Body::empty()).expect("request"))
            .await
    }

    /// This browser's current CSRF token (as a page or `GET /api/v1/session` gives it).
    pub async fn csrf(&mut self) -> String {
        let r = self.get("/api/v1/session").await;
        r.json()["csrf_token"]
            .as_str()
            .expect("csrf_token")
            .to_string()
    }

    /// A form post with the CSRF field added.
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("_csrf", &token));
        let body = serde_urlencoded::to_string(&all).expect("form");
        self.send(
            Request::post(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .expect("request"),
        )
        .await
    }

    /// A JSON request with the CSRF header.
    pub async fn json(&mut self, method: Method, path: &str, body: &Value) -> Reply {
        let token = self.csrf().await;
        self.send(
            Request::builder()
                .method(method)
                .uri(path)
                .header(header::CONTENT_TYPE, "application/json")
                .header("x-csrf-token", token)
                .body(Body::from(body.to_string()))
                .expect("request"),
        )
        .await
    }

    /// A bodiless state change (`DELETE`, `POST`) with the CSRF header.
    pub async fn act(&mut self, method: Method, path: &str) -> Reply {
        let token = self.csrf().await;
        self.send(
            Request::builder()
                .method(method)
                .uri(path)
                .header("x-csrf-token", token)
                .body(Body::empty())
                .expect("request"),
        )
        .await
    }

    /// `POST /api/v1/uploads?name=…` with the file as the body.
    pub async fn upload(&mut self, name: &str, bytes: &[u8]) -> Reply {
        let token = self.csrf().await;
        let q = serde_urlencoded::to_string([("name", name)]).expect("query");
        self.send(
            Request::post(format!("/api/v1/uploads?{q}"))
                .header("x-csrf-token", token)
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .body(Body::from(bytes.to_vec()))
                .expect("request"),
        )
        .await
    }

    /// The page's file form: `POST /uploads` as multipart, the session's CSRF token as the
    /// first field (as the page's hidden input sends it), then these files.
    pub async fn upload_form(&mut self, files: &[(&str, &[u8])]) -> Reply {
        let token = self.csrf().await;
        self.upload_form_with_token(Some(&token), files).await
    }

    /// [`Client::upload_form`] with `token` (or none) as the first field.
    pub async fn upload_form_with_token(
        &mut self,
        token: Option<&str>,
        files: &[(&str, &[u8])],
    ) -> Reply {
        let boundary = "----backspin-test-boundary-7d3f";
        let mut body: Vec<u8> = Vec::new();
        if let Some(token) = token {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{token}\r\n"
                )
                .as_bytes(),
            );
        }
        for (name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.send(
            Request::post("/uploads")
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(Body::from(body))
                .expect("request"),
        )
        .await
    }

    /// Signs up through the API; panics unless it worked.
    pub async fn sign_up(&mut self, email: &str) -> Reply {
        let r = self
            .json(
                Method::POST,
                "/api/v1/signup",
                &serde_json::json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "sign-up failed: {}", r.body);
        r
    }

    /// Signs in through the API with `password`.
    pub async fn sign_in(&mut self, email: &str, password: &str) -> Reply {
        self.json(
            Method::POST,
            "/api/v1/signin",
            &serde_json::json!({"email": email, "password": password}),
        )
        .await
    }
}
