//! Holds the API document the code generates (`web::api_document`, served at
//! `/api/v1/openapi.json`) to what the server does:
//!
//! - the document is OpenAPI 3.1, every `$ref` resolves, every operation has an operationId
//!   and a 2xx answer, every state change takes the `X-CSRF-Token` header and lists 403;
//! - it lists every route of the API: the documented routers register each operation with its
//!   description (`utoipa_axum::routes!`) and nothing else, and a documented path answers 405
//!   to every method it does not document;
//! - the real router, over a throwaway SQLite database, answers every documented operation,
//!   and a walk through the API (session, anonymous upload, sign-up, settings, stats, export,
//!   password, the dashboards empty and then over an upload the walk ingests itself, sign-out,
//!   sign-out everywhere, the identity provider's operations (absent here), account deletion)
//!   gets only statuses, content types and bodies the document describes;
//! - what schemathesis (`scripts/api-fuzz.sh`) found the server and the document disagreeing
//!   on stays agreed: empty typed parameters, bodiless uploads, dates, sizes, `range`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// The header that carries the CSRF token, as the document names it.
const CSRF_HEADER: &str = "X-CSRF-Token";

/// HTTP methods as axum's `MethodRouter` spells them.
const METHODS: &[&str] = &[
    "get", "post", "put", "delete", "patch", "head", "options", "trace", "connect",
];

/// The document as the code generates it.
fn document() -> Value {
    serde_json::to_value(web::api_document()).expect("the document is JSON")
}

fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (key, _) in item.as_object().expect("path item") {
            if METHODS.contains(&key.as_str()) {
                out.insert((key.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The document on its own.

/// Resolves a local `$ref` (`#/components/…`), following chains.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    let mut v = v;
    for _ in 0..16 {
        let Some(r) = v.get("$ref").and_then(Value::as_str) else {
            return v;
        };
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("non-local $ref {r}"));
        v = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("$ref {r} does not resolve"));
    }
    panic!("$ref loop");
}

/// Every string under the key `key`, anywhere in `v`.
fn texts(v: &Value, key: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match v {
                    Value::String(s) if k == key => out.push(s.clone()),
                    _ => texts(v, key, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| texts(v, key, out)),
        _ => {}
    }
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|v| refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_1_and_hangs_together() {
    let doc = document();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        "openapi: {}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "Backspin");
    assert_eq!(doc["info"]["version"], "1");
    let description = doc["info"]["description"]
        .as_str()
        .expect("info.description");
    for must in [
        "X-CSRF-Token",
        "csrf_token",
        "/api/v1/session",
        "bs_session",
    ] {
        assert!(
            description.contains(must),
            "info.description should explain {must}"
        );
    }

    let scheme = &doc["components"]["securitySchemes"]["session"];
    assert_eq!(scheme["type"], "apiKey");
    assert_eq!(scheme["in"], "cookie");
    assert_eq!(scheme["name"], web::session::COOKIE);
    // The header the walk below sends with every change (and the server reads).
    let csrf = json!({"name": CSRF_HEADER, "in": "header", "required": true});

    // Descriptions come from doc comments; what is written for Rust readers is made plain.
    let mut descriptions = Vec::new();
    texts(&doc, "description", &mut descriptions);
    assert!(
        descriptions.len() > 300,
        "{} descriptions",
        descriptions.len()
    );
    for d in &descriptions {
        let link = d.match_indices("[`").any(|(i, _)| {
            d[i..]
                .find("`]")
                .is_some_and(|e| !d[i + e + 2..].starts_with('('))
        });
        assert!(!link, "a description links to a Rust item: {d}");
    }

    // Every property and every parameter says what it is (a description the generator could
    // drop, as `schema_with` does, fails here).
    let described = |v: &Value| {
        let has = |v: &Value| {
            v["description"]
                .as_str()
                .is_some_and(|d| !d.trim().is_empty())
        };
        has(v)
            || ["oneOf", "anyOf", "allOf"]
                .iter()
                .any(|k| v[*k].as_array().is_some_and(|a| a.iter().any(has)))
    };
    for (name, schema) in doc["components"]["schemas"].as_object().expect("schemas") {
        assert!(described(schema), "schema {name} has no description");
        for (prop, s) in schema["properties"].as_object().into_iter().flatten() {
            assert!(described(s), "{name}.{prop} has no description");
        }
    }
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let p = resolve(&doc, p);
                assert!(
                    described(p),
                    "{method} {path}: parameter {} has no description",
                    p["name"]
                );
            }
        }
    }

    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in &all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("non-local $ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "$ref {r} does not resolve");
    }

    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let path_params: Vec<&Value> = item["parameters"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        for (method, op) in item.as_object().expect("path item") {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let what = format!("{} {path}", method.to_uppercase());
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{what}: no operationId"));
            assert!(ids.insert(id.to_string()), "operationId {id} used twice");
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{what}: no summary"
            );
            let responses = op["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{what}: no responses"));
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{what}: no 2xx response"
            );
            let params: Vec<&Value> = path_params
                .iter()
                .copied()
                .chain(op["parameters"].as_array().into_iter().flatten())
                .map(|p| resolve(&doc, p))
                .collect();
            for name in path
                .split('{')
                .skip(1)
                .filter_map(|s| s.split_once('}'))
                .map(|(n, _)| n)
            {
                assert!(
                    params
                        .iter()
                        .any(|p| p["in"] == "path" && p["name"] == name && p["required"] == true),
                    "{what}: path parameter {name} is not declared"
                );
            }
            if matches!(method.as_str(), "post" | "put" | "delete" | "patch") {
                assert!(
                    params.iter().any(|p| p["in"] == csrf["in"]
                        && p["name"] == csrf["name"]
                        && p["required"] == csrf["required"]),
                    "{what}: a state change must take the X-CSRF-Token header"
                );
                assert!(
                    responses.contains_key("403"),
                    "{what}: a state change can answer 403 (CSRF)"
                );
            }
        }
    }
}

/// Every `.rs` file under `dir`, with its path.
fn rust_files(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("src/") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("source");
            out.push((path.display().to_string(), text));
        }
    }
}

/// The bodies of the functions in `code` that build a documented router (`-> OpenApiRouter`).
fn documented_router_bodies(code: &str) -> Vec<&str> {
    let mut bodies = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("-> OpenApiRouter<") {
        let after = &rest[at..];
        let open = after.find('{').expect("a function body");
        let mut depth = 0;
        let mut end = open;
        for (i, ch) in after[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        bodies.push(&after[open..=end]);
        rest = &after[end..];
    }
    bodies
}

/// The document lists every route of the API by construction: each operation is registered
/// with `utoipa_axum::routes!`, which routes a handler at the path and method its
/// `#[utoipa::path]` describes. What could still route without a description is a plain
/// `.route(…)` (or a nested service) in a documented router, or a route under `/api/` added
/// beside them; neither exists.
#[test]
fn every_api_route_is_registered_with_its_description() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut routers = 0;
    for (path, code) in &files {
        for body in documented_router_bodies(code) {
            routers += 1;
            for undocumented in [".route(", ".route_service(", ".nest_service(", ".fallback("] {
                assert!(
                    !body.contains(undocumented),
                    "{path}: a documented router adds a route without its description ({undocumented}…)"
                );
            }
        }
        if !path.ends_with("openapi.rs") {
            assert!(
                !code.contains("\"/api/v1\""),
                "{path}: routes under /api/v1 are added only by openapi::routes"
            );
        }
    }
    // openapi::routes, ops, accounts, settings, uploads, dashboards.
    assert!(routers >= 6, "found {routers} documented routers");
    assert_eq!(
        documented_router_bodies("fn a() -> OpenApiRouter<S> { if x { y } .route(1) } fn b() {}"),
        vec!["{ if x { y } .route(1) }"],
        "the body scan"
    );
}

/// Each documented path answers only its documented methods: another method gets 405 (a
/// change with its CSRF token, so that the refusal is the router's), and a documented one
/// reaches its route.
#[tokio::test]
async fn documented_paths_answer_only_their_documented_methods() {
    let mut c = visitor().await;
    let doc = c.doc.clone();
    let documented = documented_operations(&doc);
    let paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
    for path in paths {
        let uri = path
            .replace("{id}", "0123456789abcdef")
            .replace("{year}", "2024");
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            if documented.contains(&(method.to_string(), path.clone()))
                || !path.starts_with("/api/")
            {
                continue;
            }
            let a = c.exchange(method, &uri, true, None).await;
            assert_eq!(
                a.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is not documented but answered {}",
                a.status
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The real router against the document.

/// Checks `value` against `schema`, strictly: objects may hold only their listed properties.
fn validate(doc: &Value, value: &Value, schema: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = one
            .iter()
            .filter(|s| validate(doc, value, s, at).is_ok())
            .count();
        return if matching == 1 {
            Ok(())
        } else {
            Err(format!(
                "{at}: {value} matches {matching} oneOf branches, not one"
            ))
        };
    }
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array) {
        return if any.iter().any(|s| validate(doc, value, s, at).is_ok()) {
            Ok(())
        } else {
            Err(format!("{at}: {value} matches no anyOf branch"))
        };
    }
    if let Some(c) = schema.get("const")
        && c != value
    {
        return Err(format!("{at}: {value} is not {c}"));
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array)
        && !e.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {e:?}"));
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => return Err(format!("{at}: bad type {t}")),
        };
        let ok = types.iter().any(|t| match *t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        });
        if !ok {
            return Err(format!("{at}: {value} is not {types:?}"));
        }
    }
    if let (Some(min), Some(n)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) && n < min
    {
        return Err(format!("{at}: {n} is below {min}"));
    }
    if let (Some(max), Some(n)) = (
        schema.get("maximum").and_then(Value::as_f64),
        value.as_f64(),
    ) && n > max
    {
        return Err(format!("{at}: {n} is above {max}"));
    }
    if let Value::Object(map) = value
        && let Some(props) = schema.get("properties").and_then(Value::as_object)
    {
        for r in schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !map.contains_key(r) {
                return Err(format!("{at}: required {r} is missing"));
            }
        }
        for (k, v) in map {
            let s = props
                .get(k)
                .ok_or_else(|| format!("{at}: {k} is not described"))?;
            validate(doc, v, s, &format!("{at}.{k}"))?;
        }
    }
    if let Value::Array(items) = value {
        let n = items.len() as u64;
        if schema
            .get("minItems")
            .and_then(Value::as_u64)
            .is_some_and(|m| n < m)
            || schema
                .get("maxItems")
                .and_then(Value::as_u64)
                .is_some_and(|m| n > m)
        {
            return Err(format!("{at}: {n} items, outside minItems/maxItems"));
        }
    }
    if let (Value::Array(items), Some(s)) = (value, schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            validate(doc, v, s, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A script's view of the API: one router, a cookie jar of one cookie, the document.
struct Client {
    app: Router,
    doc: Value,
    cookie: Option<String>,
    csrf: Option<String>,
    /// What a worker works with (no worker runs: the walk ingests by hand).
    deps: ingest_worker::Deps,
    _data: tempfile::TempDir,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("cookie", &self.cookie)
            .finish()
    }
}

impl Client {
    async fn new() -> Client {
        let data = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite://{}", data.path().join("backspin.db").display());
        let db = storage::Db::connect(&url).await.expect("sqlite");
        db.migrate().await.expect("migrations");
        let settings = queue_config::QueueSettings::DEFAULT;
        let deps = ingest_worker::Deps {
            queue: Arc::new(storage::queue::TableQueue::new(
                db.clone(),
                "ingest",
                settings.max_receives,
            )),
            store: Arc::new(
                storage::objects::LocalDir::new(data.path().join("objects")).expect("object store"),
            ),
            notifier: Arc::new(ingest_worker::notify::LogNotifier),
            db,
            settings,
            limits: schema::Limits::default(),
            max_upload_bytes: 1 << 30,
            after_change: Default::default(),
        };
        let mut config = web::Config::with_secret(vec![42; 32]);
        config.argon2 = web::state::config::HashParams {
            memory_kib: 8,
            iterations: 1,
            parallelism: 1,
        };
        let state = web::AppState::new(
            deps.clone(),
            config,
            ingest_worker::pool::PoolStatus::default(),
        );
        Client {
            app: web::router(state),
            doc: document(),
            cookie: None,
            csrf: None,
            deps,
            _data: data,
        }
    }

    /// Sends a request (with the cookie, and the CSRF header when `csrf`), keeps a new cookie,
    /// and checks the answer against the document's description of `template`.
    async fn send(
        &mut self,
        method: &str,
        uri: &str,
        template: &str,
        csrf: bool,
        body: Option<(&str, Vec<u8>)>,
    ) -> Answer {
        let a = self.exchange(method, uri, csrf, body).await;
        self.check(method, template, &a);
        a
    }

    /// Sends a request and keeps the cookie it sets, without checking the answer.
    async fn exchange(
        &mut self,
        method: &str,
        uri: &str,
        csrf: bool,
        body: Option<(&str, Vec<u8>)>,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(c) = &self.cookie {
            req = req.header(header::COOKIE, format!("{}={c}", web::session::COOKIE));
        }
        if csrf {
            req = req.header("X-CSRF-Token", self.csrf.clone().expect("a CSRF token"));
        }
        let req = match body {
            Some((ctype, bytes)) => {
                if !ctype.is_empty() {
                    req = req.header(header::CONTENT_TYPE, ctype);
                }
                req.body(Body::from(bytes))
            }
            None => req.body(Body::empty()),
        }
        .expect("request");
        let r = self.app.clone().oneshot(req).await.expect("infallible");
        let (parts, body) = r.into_parts();
        let a = Answer {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.expect("body").to_bytes().to_vec(),
        };
        let prefix = format!("{}=", web::session::COOKIE);
        for v in a.headers.get_all(header::SET_COOKIE) {
            let v = v.to_str().expect("ASCII cookie");
            if let Some(rest) = v.strip_prefix(&prefix) {
                self.cookie = Some(rest.split(';').next().unwrap_or("").to_string());
            }
        }
        a
    }

    fn check(&self, method: &str, template: &str, a: &Answer) {
        let what = format!("{method} {template}");
        let op = &self.doc["paths"][template][method.to_lowercase()];
        assert!(op.is_object(), "{what} is not documented");
        let status = a.status.as_u16().to_string();
        let described = resolve(&self.doc, &op["responses"][&status]);
        assert!(
            described.is_object(),
            "{what} answered {status}, which the document does not list for it: {}",
            a.text()
        );
        let ctype = a
            .header(header::CONTENT_TYPE)
            .map(|c| c.split(';').next().unwrap_or("").trim().to_string());
        match (described.get("content").and_then(Value::as_object), ctype) {
            (None, None) => assert!(
                a.body.is_empty(),
                "{what} {status}: a body the document does not describe"
            ),
            (None, Some(c)) => panic!("{what} {status}: {c} body, the document describes none"),
            (Some(_), None) => panic!("{what} {status}: no Content-Type"),
            (Some(content), Some(c)) => {
                let media = content.get(&c).unwrap_or_else(|| {
                    panic!("{what} {status}: {c} is not among {:?}", content.keys())
                });
                if c == "application/json" {
                    validate(
                        &self.doc,
                        &a.json(),
                        &media["schema"],
                        &format!("{what} {status}"),
                    )
                    .unwrap_or_else(|e| panic!("{e}"));
                }
            }
        }
    }

    async fn get(&mut self, uri: &str, template: &str) -> Answer {
        self.send("GET", uri, template, false, None).await
    }

    async fn change(
        &mut self,
        method: &str,
        uri: &str,
        template: &str,
        body: Option<Value>,
    ) -> Answer {
        let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
        self.send(method, uri, template, true, body).await
    }

    /// Takes the `csrf_token` of an answer as the token to send.
    fn take_token(&mut self, a: &Answer) {
        self.csrf = Some(
            a.json()["csrf_token"]
                .as_str()
                .expect("csrf_token")
                .to_string(),
        );
    }
}

/// `s` for a query string.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn the_router_answers_as_documented() {
    let mut c = Client::new().await;

    // The document itself.
    let a = c.get("/api/v1/openapi.json", "/api/v1/openapi.json").await;
    assert_eq!(
        a.json(),
        document(),
        "the served document is the generated one"
    );

    // A first visit: a cookie and a token; a change without the token is refused.
    let a = c.get("/api/v1/session", "/api/v1/session").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        c.cookie.is_some(),
        "the first answer sets the session cookie"
    );
    c.take_token(&a);
    let a = c
        .send(
            "POST",
            "/api/v1/uploads?name=x.json",
            "/api/v1/uploads",
            false,
            Some(("application/octet-stream", b"[]".to_vec())),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = c
        .send(
            "POST",
            "/api/v1/uploads",
            "/api/v1/uploads",
            true,
            Some(("", b"[]".to_vec())),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "no name: {}", a.text());

    // An anonymous upload starts a session: new cookie, new token, the old one is dead.
    let before = (c.cookie.clone(), c.csrf.clone());
    let a = c
        .send(
            "POST",
            "/api/v1/uploads?name=Streaming_History_Audio_2023.json",
            "/api/v1/uploads",
            true,
            Some(("application/octet-stream", b"[]".to_vec())),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    let id = a.json()["upload"]["id"].as_str().expect("id").to_string();
    assert_eq!(
        a.header(header::LOCATION),
        Some(format!("/api/v1/uploads/{id}").as_str())
    );
    assert_ne!(c.cookie, before.0, "the anonymous session has a new cookie");
    c.take_token(&a);
    assert_ne!(c.csrf, before.1);
    let new = c.csrf.replace(before.1.expect("old token"));
    let tz = json!({"tz": "Europe/Berlin", "min_play_seconds": 30});
    let a = c
        .change(
            "PUT",
            "/api/v1/settings",
            "/api/v1/settings",
            Some(tz.clone()),
        )
        .await;
    assert_eq!(
        a.status,
        StatusCode::FORBIDDEN,
        "the token of the previous session"
    );
    c.csrf = new;

    let a = c.get("/api/v1/uploads", "/api/v1/uploads").await;
    assert_eq!(a.json().as_array().map(Vec::len), Some(1));
    let a = c
        .get(&format!("/api/v1/uploads/{id}"), "/api/v1/uploads/{id}")
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        c.get("/api/v1/uploads/nope", "/api/v1/uploads/{id}")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The local directory issues no presigned forms: direct uploads are 404 here (the AWS
    // tests walk the 201 answer against S3 on moto).
    let a = c
        .change(
            "POST",
            "/api/v1/uploads/direct",
            "/api/v1/uploads/direct",
            Some(serde_json::json!({"name": "a.zip", "size": 10})),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(
        c.get("/api/v1/settings", "/api/v1/settings").await.status,
        StatusCode::OK
    );
    let a = c
        .change("PUT", "/api/v1/settings", "/api/v1/settings", Some(tz))
        .await;
    assert_eq!(a.json()["tz"], "Europe/Berlin");
    let a = c
        .change(
            "PUT",
            "/api/v1/settings",
            "/api/v1/settings",
            Some(json!({"tz": "Mars/Olympus", "min_play_seconds": 30})),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = c
        .get(
            "/api/v1/stats?from=2024-01-01&to=2024-12-31",
            "/api/v1/stats",
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["from"], "2024-01-01");
    assert_eq!(
        c.get("/api/v1/stats?from=2024-02-30", "/api/v1/stats")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        c.get("/api/v1/stats?uploads=nope", "/api/v1/stats")
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Sign-up: malformed bodies are refused, then a new session and a new token.
    let creds = json!({"email": "Script@Example.com", "password": "a long enough passphrase"});
    let a = c
        .send(
            "POST",
            "/api/v1/signup",
            "/api/v1/signup",
            true,
            Some(("", creds.to_string().into_bytes())),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let a = c
        .change(
            "POST",
            "/api/v1/signup",
            "/api/v1/signup",
            Some(json!({"email": "x@example.com"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = c
        .change(
            "POST",
            "/api/v1/signup",
            "/api/v1/signup",
            Some(json!({"email": "x@example.com", "password": "password"})),
        )
        .await;
    assert_eq!(
        a.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a common password"
    );
    let old = c.csrf.clone();
    let a = c
        .change(
            "POST",
            "/api/v1/signup",
            "/api/v1/signup",
            Some(creds.clone()),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    assert_eq!(a.json()["email"], "script@example.com");
    c.take_token(&a);
    assert_ne!(c.csrf, old, "sign-up returns a new token");
    let a = c.get("/api/v1/session", "/api/v1/session").await;
    assert_eq!(a.json()["signed_in"], true);
    c.take_token(&a);
    let a = c
        .change(
            "POST",
            "/api/v1/signup",
            "/api/v1/signup",
            Some(creds.clone()),
        )
        .await;
    assert_eq!(
        a.status,
        StatusCode::BAD_REQUEST,
        "already signed in (and the session's token works)"
    );

    // Export, both formats; the CSV columns are the JSON fields.
    let a = c.get("/api/v1/export", "/api/v1/export").await;
    assert_eq!(a.json(), json!([]));
    let a = c.get("/api/v1/export?format=csv", "/api/v1/export").await;
    let described: BTreeSet<String> = c.doc["components"]["schemas"]["ExportedPlay"]["properties"]
        .as_object()
        .expect("ExportedPlay's properties")
        .keys()
        .cloned()
        .collect();
    let text = a.text();
    let columns: BTreeSet<String> = text
        .lines()
        .next()
        .expect("a header row")
        .split(',')
        .map(str::to_string)
        .collect();
    assert_eq!(columns, described, "CSV header vs ExportedPlay's fields");
    assert_eq!(
        c.get("/api/v1/export?format=xml", "/api/v1/export")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );

    // Password change: a new session and token again.
    let a = c
        .change(
            "POST",
            "/api/v1/password",
            "/api/v1/password",
            Some(json!({"current_password": "wrong", "new_password": "x"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = c
        .change(
            "POST",
            "/api/v1/password",
            "/api/v1/password",
            Some(json!({"current_password": "a long enough passphrase", "new_password": "another long passphrase"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    c.take_token(&a);

    // The dashboards. Without a ready upload: 200 and empty panels.
    let a = c.get("/api/v1/dashboard", "/api/v1/dashboard").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json()["overview"]["total"]["streams"], 0);
    assert_eq!(a.json()["meta"]["uploads"], json!([]));
    let a = c
        .get(
            "/api/v1/dashboard/ranking?kind=tracks",
            "/api/v1/dashboard/ranking",
        )
        .await;
    assert_eq!(
        (a.json()["pages"].clone(), a.json()["page"].clone()),
        (json!(0), json!(1))
    );
    let a = c
        .get(
            "/api/v1/dashboard/recap/2023",
            "/api/v1/dashboard/recap/{year}",
        )
        .await;
    assert_eq!(a.json()["total"]["streams"], 0);
    // An ingested export (every kind of content), ingested here as a worker would.
    let export = synth::generate(&synth::Options {
        plays: 1_500,
        seed: 5,
        first_year: 2022,
        last_year: 2024,
        ..synth::Options::default()
    });
    let (path, bytes) = export
        .files
        .iter()
        .find(|(n, _)| n.contains("Streaming_History_Audio"))
        .expect("an audio file");
    let name = path.rsplit('/').next().expect("a file name");
    let a = c
        .send(
            "POST",
            &format!("/api/v1/uploads?name={name}"),
            "/api/v1/uploads",
            true,
            Some(("application/octet-stream", bytes.clone())),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    let ready = storage::ids::UploadId::stored(a.json()["upload"]["id"].as_str().expect("id"));
    let stored = storage::uploads::by_id(&c.deps.db, &ready)
        .await
        .expect("read upload")
        .expect("the upload");
    ingest_worker::process::ingest_key(&c.deps, &stored.object_key)
        .await
        .unwrap_or_else(|e| panic!("ingest: {e:?}"));
    let a = c.get("/api/v1/dashboard", "/api/v1/dashboard").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let board = a.json();
    assert_eq!(board["meta"]["uploads"], json!([ready]));
    assert!(
        board["overview"]["total"]["streams"].as_u64() > Some(1_000),
        "{}",
        board["overview"]
    );
    for panel in ["artists", "tracks", "albums", "shows", "episodes"] {
        assert!(
            board["tops"][panel]
                .as_array()
                .is_some_and(|l| !l.is_empty()),
            "tops.{panel} is empty: the walk checks no entry against the document"
        );
    }
    let top = board["tops"]["artists"][0]["name"]
        .as_str()
        .expect("a top artist")
        .to_string();
    let year = board["meta"]["years"][1].as_i64().expect("a second year");
    for (uri, template) in [
        (
            format!("/api/v1/dashboard?u={ready}&u={id}&range=year&content=music&by=plays"),
            "/api/v1/dashboard",
        ),
        (
            format!(
                "/api/v1/dashboard?uploads={ready}&range=custom&from={year}-03-01&to={year}-05-31&gap=5"
            ),
            "/api/v1/dashboard",
        ),
        (
            "/api/v1/dashboard?range=4w&content=podcasts".to_string(),
            "/api/v1/dashboard",
        ),
        (
            "/api/v1/dashboard/ranking?kind=artists&by=plays&page=2".to_string(),
            "/api/v1/dashboard/ranking",
        ),
        (
            "/api/v1/dashboard/ranking?kind=episodes&page=999".to_string(),
            "/api/v1/dashboard/ranking",
        ),
        (
            "/api/v1/dashboard/ranking?kind=audiobooks&range=6m".to_string(),
            "/api/v1/dashboard/ranking",
        ),
        (
            format!(
                "/api/v1/dashboard/artist?name={}&range={year}",
                urlencode(&top)
            ),
            "/api/v1/dashboard/artist",
        ),
        (
            format!("/api/v1/dashboard/recap/{year}"),
            "/api/v1/dashboard/recap/{year}",
        ),
        (
            format!("/api/v1/dashboard/recap/{}?content=podcasts", year - 1),
            "/api/v1/dashboard/recap/{year}",
        ),
    ] {
        let a = c.get(&uri, template).await;
        assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.text());
    }
    for (uri, template, status) in [
        (
            "/api/v1/dashboard?range=fortnight",
            "/api/v1/dashboard",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/dashboard?gap=0",
            "/api/v1/dashboard",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/dashboard?uploads=nope",
            "/api/v1/dashboard",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/dashboard/ranking?page=two",
            "/api/v1/dashboard/ranking",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/dashboard/artist?name=Nobody%20At%20All",
            "/api/v1/dashboard/artist",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/dashboard/artist",
            "/api/v1/dashboard/artist",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/dashboard/recap/1800",
            "/api/v1/dashboard/recap/{year}",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/dashboard/recap/last",
            "/api/v1/dashboard/recap/{year}",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let a = c.get(uri, template).await;
        assert_eq!(a.status, status, "{uri}: {}", a.text());
    }

    // Delete the upload, sign out, sign in, delete the account.
    let uri = format!("/api/v1/uploads/{id}");
    assert_eq!(
        c.change("DELETE", &uri, "/api/v1/uploads/{id}", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.change("DELETE", &uri, "/api/v1/uploads/{id}", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.change("POST", "/api/v1/signout", "/api/v1/signout", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let a = c.get("/api/v1/session", "/api/v1/session").await;
    assert_eq!(a.json()["signed_in"], false);
    c.take_token(&a);
    let wrong = json!({"email": "script@example.com", "password": "not the passphrase"});
    let a = c
        .change("POST", "/api/v1/signin", "/api/v1/signin", Some(wrong))
        .await;
    assert_eq!(a.json()["error"]["message"], "Wrong e-mail or password.");
    let right = json!({"email": "script@example.com", "password": "another long passphrase"});
    let a = c
        .change(
            "POST",
            "/api/v1/signin",
            "/api/v1/signin",
            Some(right.clone()),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    c.take_token(&a);

    // Accounts are local here: the identity provider's operations do not exist.
    for (path, body) in [
        (
            "/api/v1/signup/confirm",
            json!({"email": "script@example.com", "code": "123456"}),
        ),
        (
            "/api/v1/signup/resend",
            json!({"email": "script@example.com"}),
        ),
        (
            "/api/v1/password/forgot",
            json!({"email": "script@example.com"}),
        ),
        (
            "/api/v1/password/reset",
            json!({"email": "script@example.com", "code": "123456", "new_password": "a third long passphrase"}),
        ),
    ] {
        let a = c.change("POST", path, path, Some(body)).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}: {}", a.text());
    }

    // Signing out everywhere ends this session too; then sign in again.
    let a = c
        .change(
            "POST",
            "/api/v1/signout/everywhere",
            "/api/v1/signout/everywhere",
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text());
    let a = c.get("/api/v1/session", "/api/v1/session").await;
    assert_eq!(a.json()["signed_in"], false);
    c.take_token(&a);
    let a = c
        .change(
            "POST",
            "/api/v1/signout/everywhere",
            "/api/v1/signout/everywhere",
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.text());
    let a = c
        .change("POST", "/api/v1/signin", "/api/v1/signin", Some(right))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    c.take_token(&a);
    let a = c
        .change(
            "DELETE",
            "/api/v1/account",
            "/api/v1/account",
            Some(json!({"password": "another long passphrase"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text());
    assert_eq!(
        c.get("/api/v1/settings", "/api/v1/settings").await.status,
        StatusCode::UNAUTHORIZED
    );

    // Operations.
    assert_eq!(c.get("/healthz", "/healthz").await.text(), "ok\n");
    assert_eq!(c.get("/readyz", "/readyz").await.json()["ready"], true);

    // Every documented operation, bare (no cookie): each reaches its route, and every answer
    // the router counted in this test is one the document lists for that operation.
    c.cookie = None;
    let doc = c.doc.clone();
    for (method, path) in documented_operations(&doc) {
        let uri = path
            .replace("{id}", "0123456789abcdef")
            .replace("{year}", "2024");
        let a = c.send(&method, &uri, &path, false, None).await;
        assert_ne!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        // Served without a session: the document must say the session is optional there
        // (schemathesis's `ignored_auth` check holds it to that).
        if !matches!(a.status.as_u16(), 401 | 403) {
            let op = &doc["paths"][&path][method.to_lowercase()];
            let security = op.get("security").unwrap_or(&doc["security"]);
            let optional = security.as_array().is_some_and(|s| {
                s.is_empty()
                    || s.iter()
                        .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
            });
            assert!(
                optional,
                "{method} {path} answers {} without a session, but its security requires one",
                a.status
            );
        }
        c.cookie = None;
    }
    let metrics = c.get("/metrics", "/metrics").await.text();
    let mut counted: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for line in metrics
        .lines()
        .filter(|l| l.starts_with("backspin_http_requests_total{"))
    {
        let labels: BTreeMap<&str, &str> = line
            ["backspin_http_requests_total{".len()..line.rfind('}').expect("}")]
            .split("\",")
            .filter_map(|kv| kv.split_once("=\""))
            .map(|(k, v)| (k, v.trim_end_matches('"')))
            .collect();
        counted
            .entry((labels["method"].to_string(), labels["route"].to_string()))
            .or_default()
            .insert(labels["status"].to_string());
    }
    for (method, path) in documented_operations(&doc) {
        let statuses = counted
            .get(&(method.clone(), path.clone()))
            .unwrap_or_else(|| panic!("{method} {path} never reached its route: {counted:?}"));
        let listed = doc["paths"][&path][method.to_lowercase()]["responses"]
            .as_object()
            .expect("responses");
        for s in statuses {
            assert!(
                listed.contains_key(s),
                "{method} {path} answered {s}, which the document does not list"
            );
        }
    }
    let unmatched: Vec<_> = counted
        .keys()
        .filter(|(_, route)| route == "unmatched")
        .collect();
    assert!(
        unmatched.is_empty(),
        "requests that reached no route: {unmatched:?}"
    );
}

/// A client with a session: its cookie and its CSRF token.
async fn visitor() -> Client {
    let mut c = Client::new().await;
    let a = c.get("/api/v1/session", "/api/v1/session").await;
    c.take_token(&a);
    c
}

/// A signed-in client.
async fn account() -> Client {
    let mut c = visitor().await;
    let creds = json!({"email": "fuzz@example.com", "password": "a long enough passphrase"});
    let a = c
        .change("POST", "/api/v1/signup", "/api/v1/signup", Some(creds))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    c.take_token(&a);
    c
}

#[tokio::test]
async fn a_direct_upload_with_a_malformed_body_gets_a_documented_error() {
    let mut c = visitor().await;
    // `send` fails on any answer the document does not list for the operation.
    let a = c
        .send(
            "POST",
            "/api/v1/uploads/direct",
            "/api/v1/uploads/direct",
            true,
            Some(("text/plain", br#"{"name": "a.zip", "size": 10}"#.to_vec())),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", a.text());
    let a = c
        .change(
            "POST",
            "/api/v1/uploads/direct",
            "/api/v1/uploads/direct",
            Some(json!({"name": "a.zip"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text());
    assert!(
        a.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("size"))
    );
    // JSON Schema's integers: `1e14` and `10.0` are sizes too, and one past u64 is over the
    // limit rather than malformed (the local store has no direct uploads: 404 once parsed).
    for size in ["100000000000000.0", "1e3", "1e30", "18446744073709551616"] {
        let body = format!(r#"{{"name": "a.zip", "size": {size}}}"#).into_bytes();
        let a = c
            .send(
                "POST",
                "/api/v1/uploads/direct",
                "/api/v1/uploads/direct",
                true,
                Some(("application/json", body)),
            )
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{size}: {}", a.text());
    }
    for size in ["-1", "1.5"] {
        let body = format!(r#"{{"name": "a.zip", "size": {size}}}"#).into_bytes();
        let a = c
            .send(
                "POST",
                "/api/v1/uploads/direct",
                "/api/v1/uploads/direct",
                true,
                Some(("application/json", body)),
            )
            .await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{size}: {}",
            a.text()
        );
    }
}

#[tokio::test]
async fn an_empty_typed_query_parameter_is_refused_naming_it() {
    let mut c = account().await;
    for (uri, template, name) in [
        ("/api/v1/dashboard?to=", "/api/v1/dashboard", "to"),
        ("/api/v1/dashboard?from=", "/api/v1/dashboard", "from"),
        ("/api/v1/dashboard?content=", "/api/v1/dashboard", "content"),
        ("/api/v1/dashboard?range=", "/api/v1/dashboard", "range"),
        ("/api/v1/dashboard?gap=", "/api/v1/dashboard", "gap"),
        (
            "/api/v1/dashboard/ranking?by=",
            "/api/v1/dashboard/ranking",
            "by",
        ),
        (
            "/api/v1/dashboard/ranking?kind=",
            "/api/v1/dashboard/ranking",
            "kind",
        ),
        (
            "/api/v1/dashboard/ranking?page=",
            "/api/v1/dashboard/ranking",
            "page",
        ),
        (
            "/api/v1/dashboard/recap/2024?content=",
            "/api/v1/dashboard/recap/{year}",
            "content",
        ),
        ("/api/v1/stats?to=", "/api/v1/stats", "to"),
        ("/api/v1/stats?from=&to=2024-01-01", "/api/v1/stats", "from"),
    ] {
        let a = c.get(uri, template).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{uri}: {}", a.text());
        let message = a.json()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(message.contains(&format!("“{name}”")), "{uri}: {message}");
    }
    // The artist's name is a string, but never an empty one: the document says so.
    let a = c
        .get("/api/v1/dashboard/artist?name=", "/api/v1/dashboard/artist")
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text());
    let name = c.doc["paths"]["/api/v1/dashboard/artist"]["get"]["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "name"))
        .expect("the name parameter");
    assert_eq!(name["schema"]["minLength"], 1, "{name}");
    // Still fine: the same parameters left out, and an empty `uploads` (documented as all).
    for (uri, template) in [
        ("/api/v1/dashboard", "/api/v1/dashboard"),
        ("/api/v1/stats?uploads=", "/api/v1/stats"),
    ] {
        assert_eq!(c.get(uri, template).await.status, StatusCode::OK, "{uri}");
    }
}

#[tokio::test]
async fn an_upload_without_a_body_is_refused_and_nothing_is_kept() {
    let mut c = visitor().await;
    let cookie = c.cookie.clone();
    for (ctype, body) in [("application/octet-stream", Vec::new()), ("", Vec::new())] {
        let a = c
            .send(
                "POST",
                "/api/v1/uploads?name=",
                "/api/v1/uploads",
                true,
                Some((ctype, body)),
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text());
        assert!(
            a.json()["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("no body") && m.contains("nothing was stored")),
            "{}",
            a.text()
        );
        assert!(
            a.header(header::SET_COOKIE).is_none(),
            "no anonymous visitor was created"
        );
    }
    assert_eq!(c.cookie, cookie);
    let a = c.get("/api/v1/uploads", "/api/v1/uploads").await;
    assert_eq!(a.json(), json!([]));
    fn files(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| match e.file_type() {
                Ok(t) if t.is_dir() => files(&e.path()),
                _ => 1,
            })
            .sum()
    }
    assert_eq!(
        files(&c._data.path().join("objects")),
        0,
        "no object was written"
    );
}

#[tokio::test]
async fn a_date_of_any_four_digit_year_is_a_date() {
    let mut c = account().await;
    for (uri, template) in [
        ("/api/v1/stats?from=5112-08-25", "/api/v1/stats"),
        (
            "/api/v1/stats?from=0001-01-01&to=9999-12-31",
            "/api/v1/stats",
        ),
        ("/api/v1/dashboard?from=5112-08-25", "/api/v1/dashboard"),
        (
            "/api/v1/dashboard?from=0001-01-01&to=9999-12-31",
            "/api/v1/dashboard",
        ),
    ] {
        let a = c.get(uri, template).await;
        assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.text());
    }
    // What `format: date` (RFC 3339's full-date) is not, is still refused.
    for bad in [
        "24-01-01",
        "12024-01-01",
        "2024-1-05",
        "2023-02-29",
        "+2024-01-01",
    ] {
        let a = c
            .get(
                &format!("/api/v1/stats?from={}", urlencode(bad)),
                "/api/v1/stats",
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}: {}", a.text());
    }
}

#[tokio::test]
async fn the_documented_range_pattern_is_what_the_server_accepts() {
    let doc = document();
    let range = doc["paths"]["/api/v1/dashboard"]["get"]["parameters"]
        .as_array()
        .expect("the dashboard's parameters")
        .iter()
        .find(|p| p["name"] == "range")
        .expect("`range`");
    let pattern = range["schema"]["pattern"]
        .as_str()
        .expect("`range` has a pattern (a free string would promise that any value works)")
        .to_string();
    let choices = pattern
        .strip_prefix("^(")
        .and_then(|p| p.strip_suffix(")$"))
        .unwrap_or_else(|| panic!("{pattern} is not ^(a|b|…)$"));
    let mut c = account().await;
    for choice in choices.split('|') {
        let value = choice.replace("[0-9]{4}", "2021");
        let uri = format!("/api/v1/dashboard?range={value}");
        let a = c.get(&uri, "/api/v1/dashboard").await;
        assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.text());
    }
    for value in ["", "fortnight", "20211", "21"] {
        let uri = format!("/api/v1/dashboard?range={value}");
        let a = c.get(&uri, "/api/v1/dashboard").await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{uri}: {}", a.text());
    }
}

#[tokio::test]
async fn a_page_past_any_number_is_the_last_page() {
    // The document's `page` is an integer from 0 with no maximum; one past usize is a page past
    // the end like any other, not "not a number".
    let mut c = account().await;
    for page in ["275197305290803237617664", "18446744073709551616"] {
        let uri = format!("/api/v1/dashboard/ranking?page={page}");
        let a = c.get(&uri, "/api/v1/dashboard/ranking").await;
        assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.text());
        assert_eq!(
            a.json()["page"],
            a.json()["pages"].as_u64().unwrap_or(0).max(1)
        );
    }
    let a = c
        .get(
            "/api/v1/dashboard/ranking?page=-1",
            "/api/v1/dashboard/ranking",
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text());
}
