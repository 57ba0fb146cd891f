//! What a user, or an attacker, notices of the web tier's protections: another person's
//! upload does not exist for you, passwords never reach a log, sign-ins are limited, no state
//! changes without the session's CSRF token, cookies and headers are what browsers need,
//! hostile names stay text, oversized and foreign files are refused cleanly, and a session
//! that ended stays ended.
//!
//! The routes walked for ownership and CSRF are read from the router's source, so a route
//! added later cannot escape these tests.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use e2e::fake_idp::FakeIdp;
use e2e::web::{Client, PASSWORD, Reply, WebApp, api_message, get_json, page_alert};
use e2e::{CapturedLog, Engine, both_engines, fixtures};
use serde_json::{Value, json};
use web::accounts::passwords::Password;
use web::idp::IdentityProvider;

// ---------------------------------------------------------------------------------------------
// The router, as its source declares it.

/// Every feature's `mod.rs`, where its page routes (`pages()`, `routes()`) and its API routes
/// (`api()`) are.
const FEATURES: [(&str, &str); 7] = [
    ("accounts", include_str!("../../web/src/accounts/mod.rs")),
    ("admin", include_str!("../../web/src/admin/mod.rs")),
    (
        "dashboards",
        include_str!("../../web/src/dashboards/mod.rs"),
    ),
    ("ops", include_str!("../../web/src/ops/mod.rs")),
    ("settings", include_str!("../../web/src/settings/mod.rs")),
    ("shares", include_str!("../../web/src/shares/mod.rs")),
    ("uploads", include_str!("../../web/src/uploads/mod.rs")),
];
const ROUTER_RS: &str = include_str!("../../web/src/router.rs");

/// The text of `pub fn NAME(` in `src` up to the next `pub fn` (or the end).
fn function_of<'a>(src: &'a str, name: &str) -> &'a str {
    let Some(start) = src.find(&format!("pub fn {name}(")) else {
        return "";
    };
    let rest = &src[start + 1..];
    let end = rest.find("\npub fn ").map_or(src.len(), |e| start + 1 + e);
    &src[start..end]
}

/// `(METHOD, path)`, e.g. `("POST", "/uploads/{id}/delete")`.
type Route = (String, String);

/// Whether `code` calls `name(…)` (not `other_name(…)`).
fn calls(code: &str, name: &str) -> bool {
    code.match_indices(&format!("{name}("))
        .any(|(i, _)| !code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
}

/// The `.route("path", handlers)` calls of one source file, with the methods each declares.
fn routes_in(src: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(i) = rest.find(".route(") {
        rest = &rest[i + ".route(".len()..];
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map(|(j, _)| j)
            .expect("a closed .route( call");
        let args = &rest[..end];
        let open = args.find('"').expect("a route path literal");
        let close = open + 1 + args[open + 1..].find('"').expect("a closed path literal");
        let path = args[open + 1..close].to_string();
        let handlers = &args[close + 1..];
        let methods: Vec<String> = ["get", "post", "put", "delete", "patch", "any"]
            .into_iter()
            .filter(|m| calls(handlers, m))
            .map(str::to_uppercase)
            .collect();
        assert!(
            !methods.is_empty(),
            "cannot tell the methods of route {path:?} from {handlers:?}: teach this test"
        );
        out.push((path, methods));
        rest = &rest[end..];
    }
    out
}

/// Every route of the application: each feature's pages, read from the source, and every
/// operation of the API document (health, metrics and the JSON API), which lists each of
/// them by construction (web/tests/openapi.rs).
fn declared_routes() -> BTreeSet<Route> {
    assert!(
        ROUTER_RS.contains("crate::openapi::routes("),
        "router.rs no longer mounts the documented routes: update this test"
    );
    let mut all = BTreeSet::new();
    for (name, src) in FEATURES {
        assert!(
            ROUTER_RS.contains(&format!("{name}::")),
            "router.rs no longer mounts {name}: update this test"
        );
        for code in [function_of(src, "pages"), function_of(src, "routes")] {
            for (path, methods) in routes_in(code) {
                for m in methods {
                    all.insert((m, path.clone()));
                }
            }
        }
    }
    let doc = serde_json::to_value(web::api_document()).expect("the API document");
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                all.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    // The reader must find what is surely there, or every walk below would be vacuous.
    for known in [
        ("GET", "/uploads/{id}"),
        ("POST", "/uploads/{id}/delete"),
        ("DELETE", "/api/v1/uploads/{id}"),
        ("PUT", "/api/v1/settings"),
        ("DELETE", "/api/v1/account"),
        ("POST", "/uploads"),
        ("GET", "/static/{file}"),
    ] {
        assert!(
            all.contains(&(known.0.to_string(), known.1.to_string())),
            "the route reader missed {known:?}; it found {all:?}"
        );
    }
    all
}

fn route(m: &str, p: &str) -> Route {
    (m.to_string(), p.to_string())
}

/// Routes that exist only with an identity provider (404 with local accounts): the walks
/// visit them on an app with the in-memory one.
const IDP_ONLY: [&str; 8] = [
    "/confirm",
    "/confirm/resend",
    "/password/forgot",
    "/password/reset",
    "/api/v1/signup/confirm",
    "/api/v1/signup/resend",
    "/api/v1/password/forgot",
    "/api/v1/password/reset",
];

/// The route that exists only where the store presigns forms (S3): the walks visit it on an
/// app whose store does.
const DIRECT_UPLOAD: &str = "/api/v1/uploads/direct";

/// The app whose store issues presigned forms.
async fn presigning_app() -> WebApp {
    let pipeline = e2e::Pipeline::new(Engine::Sqlite).await;
    let store = e2e::faults::PresigningStore::new(
        storage::objects::LocalDir::new(pipeline.data.path().join("presigned")).expect("store"),
    );
    let deps = pipeline.deps_with(pipeline.db().clone(), Arc::new(store));
    WebApp::on(pipeline, deps, |c| {
        c.upload_origin = Some("http://s3.invalid".into())
    })
}

/// Whether `path` exists only with an identity provider.
fn idp_only(path: &str) -> bool {
    IDP_ONLY.contains(&path)
}

/// The app with the in-memory identity provider `fake`.
async fn idp_app(fake: &Arc<FakeIdp>) -> WebApp {
    let idp: Arc<dyn IdentityProvider> = fake.clone();
    WebApp::with_config(Engine::Sqlite, |c| c.idp = Some(idp)).await
}

// ---------------------------------------------------------------------------------------------
// Files to upload.

/// One stream of the extended history, as Spotify writes it.
fn stream(i: usize, ms: u64, track: &str, artist: &str, album: &str) -> Value {
    json!({
        "ts": format!("2024-03-{:02}T{:02}:{:02}:00Z", 1 + i / 24 % 28, i % 24, i % 60),
        "platform": "android",
        "ms_played": ms,
        "conn_country": "DE",
        "ip_addr": "198.51.100.7",
        "master_metadata_track_name": track,
        "master_metadata_album_artist_name": artist,
        "master_metadata_album_album_name": album,
        "spotify_track_uri": format!("spotify:track:{:0>22}", track.len() * 1000 + i % 7),
        "episode_name": null,
        "episode_show_name": null,
        "spotify_episode_uri": null,
        "audiobook_title": null,
        "audiobook_uri": null,
        "audiobook_chapter_uri": null,
        "audiobook_chapter_title": null,
        "reason_start": "trackdone",
        "reason_end": "trackdone",
        "shuffle": false,
        "skipped": false,
        "offline": false,
        "offline_timestamp": 0,
        "incognito_mode": false
    })
}

/// A small `Streaming_History_Audio_*.json`: `per_name` streams of `ms` for each
/// (track, artist, album).
fn history(names: &[(&str, &str, &str)], per_name: usize, ms: u64) -> Vec<u8> {
    let mut records = Vec::new();
    for (n, (track, artist, album)) in names.iter().enumerate() {
        for k in 0..per_name {
            records.push(stream(n * per_name + k, ms, track, artist, album));
        }
    }
    serde_json::to_vec(&records).expect("JSON")
}

/// An ordinary small history.
fn small_history() -> Vec<u8> {
    history(
        &[
            ("Blue Night", "The Echoes", "Gold"),
            ("River Light", "Summer Ghost", "Wild"),
        ],
        6,
        180_000,
    )
}

const HISTORY_NAME: &str = "Streaming_History_Audio_2024.json";

/// The multipart body of the page's file form.
const BOUNDARY: &str = "----backspin-security-boundary";

fn multipart(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

// ---------------------------------------------------------------------------------------------
// What is stored.

async fn texts(app: &WebApp, sql: &str) -> Vec<String> {
    storage::on_pool!(app.pipeline.db(), p => sqlx::query_scalar::<_, String>(sql).fetch_all(p).await)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn files_under(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            files_under(root, &path, out);
        } else {
            let size = e.metadata().map_or(0, |m| m.len());
            out.push(format!(
                "file {} ({size} bytes)",
                path.strip_prefix(root).unwrap_or(&path).display()
            ));
        }
    }
}

/// Everything the application stores, as lines of text: accounts (with their password hash
/// and settings), sessions, uploads, plays per upload, artifacts, stats, queued messages, and the files
/// of the object store (partial ones included).
async fn stored(app: &WebApp) -> Vec<String> {
    let mut out = Vec::new();
    for sql in [
        "SELECT 'user ' || id || ' ' || COALESCE(email, '-') || ' ' || COALESCE(password_hash, '-') \
         || ' ' || tz || ' ' || CAST(min_play_ms AS TEXT) || ' ' || CAST(anonymous AS TEXT) FROM users ORDER BY id",
        "SELECT 'session ' || token_hash || ' ' || user_id FROM sessions ORDER BY token_hash",
        "SELECT 'upload ' || id || ' ' || owner_id || ' ' || original_name || ' ' || state || ' ' \
         || CAST(size_bytes AS TEXT) || ' ' || COALESCE(reason, '-') || ' ' || COALESCE(summary, '-') FROM uploads ORDER BY id",
        "SELECT 'artifact ' || user_id || ' ' || CAST(streams AS TEXT) || ' ' || CAST(version AS TEXT) FROM artifacts ORDER BY user_id",
        "SELECT 'message ' || queue || ' ' || body FROM queue_messages ORDER BY id",
        "SELECT 'hidden ' || user_id || ' ' || kind || ' ' || name || ' ' || by_name FROM hidden \
         ORDER BY user_id, kind, name, by_name",
        "SELECT 'share ' || id || ' ' || user_id || ' ' || display_name || ' ' || view || ' ' || uploads \
         FROM shares ORDER BY id",
    ] {
        out.extend(texts(app, sql).await);
    }
    let objects = app.pipeline.data.path().join("objects");
    let mut files = Vec::new();
    files_under(&objects, &objects, &mut files);
    files.sort();
    out.extend(files);
    out
}

/// The lines of `after` that `before` lacks and the other way round, for failure messages.
fn difference(before: &[String], after: &[String]) -> String {
    let gone: Vec<&String> = before.iter().filter(|l| !after.contains(l)).collect();
    let new: Vec<&String> = after.iter().filter(|l| !before.contains(l)).collect();
    format!("gone: {gone:#?}\nnew: {new:#?}")
}

// ---------------------------------------------------------------------------------------------
// Reading answers.

/// The `bs_session` cookie an answer sets, whole (`bs_session=…; Path=/; …`).
fn session_cookie(r: &Reply) -> Option<String> {
    r.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{}=", web::session::COOKIE)))
        .map(str::to_string)
}

fn cookie_attributes(cookie: &str) -> Vec<String> {
    cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_string())
        .collect()
}

/// A page with its CSRF tokens (masked afresh on every page) replaced by `TOKEN`.
fn without_tokens(html: &str) -> String {
    let token_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out = String::with_capacity(html.len());
    let mut run = String::new();
    for c in html.chars().chain(std::iter::once(' ')) {
        if token_char(c) {
            run.push(c);
            continue;
        }
        out.push_str(if run.len() == 86 { "TOKEN" } else { &run });
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

/// A start tag of an HTML page.
#[derive(Debug)]
struct Tag {
    name: String,
    attrs: Vec<(String, String)>,
    /// Where the tag ends in the page.
    end: usize,
}

/// The start tags of a page, read as a browser would: anything unescaped that looks like a
/// tag is one.
fn tags(html: &str) -> Vec<Tag> {
    let b = html.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = html[i..].find('<') {
        i += off + 1;
        if i >= b.len() || !b[i].is_ascii_alphabetic() {
            continue;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-') {
            i += 1;
        }
        let name = html[start..i].to_ascii_lowercase();
        let mut attrs = Vec::new();
        loop {
            while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
                i += 1;
            }
            if i >= b.len() || b[i] == b'>' {
                i += 1;
                break;
            }
            let s = i;
            while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'>' | b'/')
            {
                i += 1;
            }
            let attr = html[s..i].to_ascii_lowercase();
            let mut value = String::new();
            if i < b.len() && b[i] == b'=' {
                i += 1;
                if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                    let q = b[i];
                    let v0 = i + 1;
                    let len = b[v0..].iter().position(|&c| c == q).unwrap_or(b.len() - v0);
                    value = html[v0..v0 + len].to_string();
                    i = (v0 + len + 1).min(b.len());
                } else {
                    let v0 = i;
                    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                        i += 1;
                    }
                    value = html[v0..i].to_string();
                }
            }
            attrs.push((attr, value));
        }
        out.push(Tag {
            name,
            attrs,
            end: i.min(b.len()),
        });
    }
    out
}

/// Fails unless the page's markup is only the site's own: the one script is
/// `/static/app.js` (external, empty), no element has an event-handler attribute, a style
/// attribute or a `javascript:` address, and no `img`, `iframe`, `object`, `embed`, `base`
/// or `style` element exists. (The CSP forbids inline script and style, so any of these
/// would also be a page that breaks.)
fn assert_only_own_markup(what: &str, html: &str) {
    for t in tags(html) {
        assert!(
            !["img", "iframe", "object", "embed", "base", "style", "frame"]
                .contains(&t.name.as_str()),
            "{what}: a <{}> element {:?} is in the page",
            t.name,
            t.attrs
        );
        if t.name == "script" {
            // `/static/app.js`, perhaps with a version to bust caches (`?v=…`).
            let src = t
                .attrs
                .iter()
                .find(|(a, _)| a == "src")
                .map(|(_, v)| v.split('?').next().unwrap_or(v));
            assert_eq!(
                src,
                Some("/static/app.js"),
                "{what}: a script other than app.js: {t:?}"
            );
            assert!(
                html[t.end..].starts_with("</script>"),
                "{what}: inline script content after {t:?}"
            );
        }
        for (a, v) in &t.attrs {
            assert!(
                !a.starts_with("on"),
                "{what}: <{}> has the handler {a}={v:?}",
                t.name
            );
            assert_ne!(a, "style", "{what}: <{}> has an inline style {v:?}", t.name);
            assert!(
                !v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("javascript:"),
                "{what}: <{}> {a}={v:?}",
                t.name
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Another person's upload does not exist for you.

/// One request of the ownership walk, as the visitor's browser or script sends it.
async fn request(c: &mut Client, method: &Method, path: &str) -> Reply {
    if *method == Method::GET {
        c.get(path).await
    } else if *method == Method::POST && !path.starts_with("/api/") {
        c.post_form(path, &[]).await
    } else {
        c.act(method.clone(), path).await
    }
}

async fn another_persons_upload_is_not_found_on_any_route_that_names_it(engine: Engine) {
    let app = WebApp::new(engine).await;
    let mut ana = app.client();
    ana.sign_up("ana@example.com").await;
    let zip = std::fs::read(fixtures::large_export_zip(3_000, 7)).expect("fixture zip");
    let hers = app
        .upload_and_ingest(&mut ana, "my_spotify_data.zip", &zip)
        .await;
    assert_eq!(hers["state"], "ready", "{hers}");
    let id = hers["id"].as_str().expect("id").to_string();
    let her_stats = ana.get("/api/v1/stats").await.json();

    // Bob has an account and an upload of his own; Cleo has only uploaded (an anonymous
    // session); Dan has a cookie but no session.
    let mut bob = app.client_from("10.0.0.2:1234");
    bob.sign_up("bob@example.com").await;
    let bobs = app
        .upload_and_ingest(&mut bob, HISTORY_NAME, &small_history())
        .await;
    let mut cleo = app.client_from("10.0.0.3:1234");
    let cleos = app
        .upload_and_ingest(&mut cleo, HISTORY_NAME, &small_history())
        .await;
    assert_eq!(cleo.get("/api/v1/session").await.json()["anonymous"], true);
    let mut dan = app.client_from("10.0.0.4:1234");
    dan.get("/").await;
    assert!(dan.cookie.is_some());

    // `{id}`: Ana's upload; `{own}`: the visitor's own.
    let walk: Vec<(Method, &str)> = vec![
        (Method::GET, "/uploads/{id}"),
        (Method::GET, "/uploads/{id}/delete"),
        (Method::POST, "/uploads/{id}/delete"),
        (Method::GET, "/api/v1/uploads/{id}"),
        (Method::DELETE, "/api/v1/uploads/{id}"),
        (Method::GET, "/dashboard?u={id}"),
        (Method::GET, "/dashboard?u={own}&u={id}"),
        (Method::GET, "/api/v1/stats?uploads={id}"),
        (Method::GET, "/api/v1/stats?uploads={own},{id}"),
    ];
    let walked: BTreeSet<Route> = walk
        .iter()
        .map(|(m, p)| route(m.as_str(), p.split('?').next().unwrap_or(p)))
        .collect();
    for r in declared_routes()
        .into_iter()
        .filter(|(_, p)| p.contains("{id}"))
    {
        assert!(
            walked.contains(&r),
            "the route {} {} takes an upload id but the ownership walk does not visit it",
            r.0,
            r.1
        );
    }

    let before = stored(&app).await;
    let nobodys = storage::ids::new_id();
    let visitors: [(&str, &mut Client, Option<&Value>); 3] = [
        ("signed-in Bob", &mut bob, Some(&bobs)),
        ("anonymous Cleo", &mut cleo, Some(&cleos)),
        ("Dan without a session", &mut dan, None),
    ];
    for (who, client, own) in visitors {
        for (method, template) in &walk {
            let own_id = match own {
                Some(u) => u["id"].as_str().expect("id"),
                None if template.contains("{own}") => continue,
                None => "",
            };
            let path = template.replace("{own}", own_id);
            let at_hers = request(client, method, &path.replace("{id}", &id)).await;
            let at_nobodys = request(client, method, &path.replace("{id}", &nobodys)).await;
            // A route that needs a visitor with a session asks for one before it looks at
            // the id: the same for every id, so it tells nothing either.
            let needs_session = own.is_none()
                && (template.starts_with("/dashboard") || template.starts_with("/api/v1/stats"));
            let expected = if needs_session {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(
                at_hers.status, expected,
                "{who}: {method} {template} with Ana's upload: {}",
                at_hers.body
            );
            assert_eq!(
                (at_hers.status, without_tokens(&at_hers.body)),
                (at_nobodys.status, without_tokens(&at_nobodys.body)),
                "{who}: {method} {template} answers Ana's upload unlike an id nobody has"
            );
            assert!(
                !at_hers.body.contains(&id) && !at_hers.body.contains("my_spotify_data.zip"),
                "{who}: {method} {template} shows something of Ana's upload: {}",
                at_hers.body
            );
        }
    }
    let after = stored(&app).await;
    assert!(
        before == after,
        "the walk changed what is stored:\n{}",
        difference(&before, &after)
    );

    assert_eq!(ana.get(&format!("/api/v1/uploads/{id}")).await.json(), hers);
    assert_eq!(ana.get("/api/v1/stats").await.json(), her_stats);
    for page in [format!("/uploads/{id}"), format!("/dashboard?u={id}")] {
        assert_eq!(
            ana.get(&page).await.status,
            StatusCode::OK,
            "Ana's own {page}"
        );
    }
}

both_engines!(another_persons_upload_is_not_found_on_any_route_that_names_it);

// ---------------------------------------------------------------------------------------------
// 2. Passwords are never logged, echoed or stored in clear.

async fn hash_of(app: &WebApp, email: &str) -> String {
    let (_, hash) = storage::users::credentials(app.pipeline.db(), email)
        .await
        .expect("read credentials")
        .expect("the account exists");
    hash.expect("a password hash")
}

#[tokio::test]
async fn passwords_never_reach_a_log_an_answer_or_the_database_in_clear() {
    // Thread-local, at the most verbose level: this test runs on one thread.
    let log = CapturedLog::default();
    let _capture = tracing::subscriber::set_default(log.subscriber_at(tracing::Level::TRACE));
    let app = WebApp::new(Engine::Sqlite).await;
    let mut answers: Vec<Reply> = Vec::new();

    // Through the API.
    let (first, wrong, second, wrong_current, never_set, wrong_delete, too_short) = (
        "Api-Marmot-Lantern-4821",
        "Api-Guess-Walrus-7734",
        "Api-Orchid-Violin-1509",
        "Api-Nope-Otter-3312",
        "Api-Heron-Unused-2290",
        "Api-Badger-Delete-6618",
        "Ap-7x!q",
    );
    let mut script = app.client();
    let email = "script@example.com";
    let signup = |p: &str| json!({"email": email, "password": p});
    let steps: Vec<(Method, &str, Value, StatusCode)> = vec![
        (
            Method::POST,
            "/api/v1/signup",
            signup(too_short),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/api/v1/signup",
            signup(first),
            StatusCode::CREATED,
        ),
        (
            Method::POST,
            "/api/v1/signout",
            json!({}),
            StatusCode::NO_CONTENT,
        ),
        (
            Method::POST,
            "/api/v1/signin",
            signup(wrong),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/api/v1/signin",
            signup(first),
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/api/v1/password",
            json!({"current_password": first, "new_password": second}),
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/api/v1/password",
            json!({"current_password": wrong_current, "new_password": never_set}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (method, path, body, status) in steps {
        let r = script.json(method.clone(), path, &body).await;
        assert_eq!(r.status, status, "{method} {path}: {}", r.body);
        answers.push(r);
    }
    let api_hash = hash_of(&app, email).await;
    let r = script
        .json(
            Method::DELETE,
            "/api/v1/account",
            &json!({"password": wrong_delete}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    answers.push(r);
    let r = script
        .json(
            Method::DELETE,
            "/api/v1/account",
            &json!({"password": second}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    answers.push(r);
    let api_passwords = [
        first,
        wrong,
        second,
        wrong_current,
        never_set,
        wrong_delete,
        too_short,
    ];

    // Through the forms.
    let (f_first, f_wrong, f_second, f_wrong_current, f_never_set, f_wrong_delete) = (
        "Form-Pelican-Meadow-5177",
        "Form-Guess-Lynx-0263",
        "Form-Quartz-Saffron-8840",
        "Form-Nope-Beaver-4409",
        "Form-Egret-Unused-9931",
        "Form-Mole-Delete-1376",
    );
    let mut browser = app.client_from("10.0.0.9:5555");
    let f_email = "browser@example.com";
    type FormStep<'a> = (&'a str, Vec<(&'a str, &'a str)>, StatusCode);
    let steps: Vec<FormStep<'_>> = vec![
        (
            "/signup",
            vec![("email", f_email), ("password", f_first)],
            StatusCode::SEE_OTHER,
        ),
        ("/signout", vec![], StatusCode::SEE_OTHER),
        (
            "/signin",
            vec![("email", f_email), ("password", f_wrong)],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/signin",
            vec![("email", f_email), ("password", f_first)],
            StatusCode::SEE_OTHER,
        ),
        (
            "/account/password",
            vec![("current_password", f_first), ("new_password", f_second)],
            StatusCode::SEE_OTHER,
        ),
        (
            "/account/password",
            vec![
                ("current_password", f_wrong_current),
                ("new_password", f_never_set),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (path, fields, status) in steps {
        let r = browser.post_form(path, &fields).await;
        assert_eq!(r.status, status, "POST {path}: {}", r.body);
        answers.push(r);
    }
    answers.push(browser.get("/account").await);
    let form_hash = hash_of(&app, f_email).await;
    let r = browser
        .post_form("/account/delete", &[("password", f_wrong_delete)])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    answers.push(r);
    let r = browser
        .post_form("/account/delete", &[("password", f_second)])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    answers.push(r);
    let form_passwords = [
        f_first,
        f_wrong,
        f_second,
        f_wrong_current,
        f_never_set,
        f_wrong_delete,
    ];

    let text = log.text();
    for event in ["account created", "signed in", "password changed"] {
        assert!(
            text.contains(event),
            "the capture missed “{event}”, so it would miss a password too:\n{text}"
        );
    }
    for p in api_passwords.iter().chain(&form_passwords) {
        let encoded = serde_urlencoded::to_string([("p", p)]).expect("form");
        let encoded = encoded.trim_start_matches("p=");
        assert!(
            !text.contains(p) && !text.contains(encoded),
            "the password {p:?} is in the log:\n{text}"
        );
        for r in &answers {
            assert!(
                !r.body.contains(p),
                "the password {p:?} is in an answer: {}",
                r.body
            );
        }
    }

    // Stored: argon2id PHC strings, never the password.
    for (hash, passwords) in [
        (&api_hash, &api_passwords[..]),
        (&form_hash, &form_passwords[..]),
    ] {
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        for p in passwords {
            assert!(!hash.contains(p), "{hash} holds {p}");
        }
    }
    assert_ne!(api_hash, form_hash);

    // What `Debug` of a request's credentials prints.
    let c = web::accounts::api::Credentials {
        email: email.into(),
        password: web::accounts::passwords::Password::new(first),
    };
    assert!(!format!("{c:?}").contains(first), "{c:?}");

    // The server's default cost is OWASP's (the tests use a cheaper one).
    let defaults = web::Config::with_secret(b"a production secret of 32 bytes!".to_vec());
    assert_eq!(defaults.argon2, web::state::config::HashParams::RECOMMENDED);
    let h = web::state::config::HashParams::RECOMMENDED;
    assert_eq!((h.memory_kib, h.iterations, h.parallelism), (19_456, 2, 1));
    assert!(!format!("{defaults:?}").contains("production secret"));
}

// ---------------------------------------------------------------------------------------------
// 3. Password rules, and sign-in errors that tell nothing.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weak_passwords_are_refused_with_the_reason_and_failed_sign_ins_all_read_the_same() {
    let app = WebApp::new(Engine::Sqlite).await;
    let common = "password123";
    assert!(
        include_str!("../../web/assets/common-passwords.txt")
            .lines()
            .any(|l| l == common),
        "{common} is no longer on the common list: pick another"
    );
    let too_long = "x".repeat(129);
    let cases = [
        ("Abc-de7", "too short"),
        (too_long.as_str(), "too long"),
        (common, "most common"),
        ("PassWord123", "most common"),
    ];
    let mut c = app.client();
    for (i, (password, problem)) in cases.iter().enumerate() {
        let email = format!("weak{i}@example.com");
        let r = c
            .json(
                Method::POST,
                "/api/v1/signup",
                &json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{password:?}: {}",
            r.body
        );
        assert!(
            api_message(&r).contains(problem),
            "{password:?}: {}",
            r.body
        );
        let r = c
            .post_form("/signup", &[("email", &email), ("password", password)])
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "form, {password:?}"
        );
        assert!(
            page_alert(&r).contains(problem),
            "form, {password:?}: {}",
            page_alert(&r)
        );
    }
    assert!(
        texts(&app, "SELECT id FROM users").await.is_empty(),
        "no account was created"
    );

    // 8 and 128 characters are fine.
    let mut edge = app.client();
    let r = edge
        .json(
            Method::POST,
            "/api/v1/signup",
            &json!({"email": "eight@example.com", "password": "Zq-8char"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let mut edge = app.client();
    let r = edge
        .json(
            Method::POST,
            "/api/v1/signup",
            &json!({"email": "long@example.com", "password": "y".repeat(128)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    // An unknown e-mail and a wrong password read the same, on the API and on the page.
    app.client().sign_up("ana@example.com").await;
    let mut eve = app.client_from("10.6.6.6:6666");
    let unknown = eve.sign_in("nobody@example.com", PASSWORD).await;
    let wrong = eve
        .sign_in("ana@example.com", "not her password at all")
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.body
    );
    assert_eq!((unknown.status, &unknown.body), (wrong.status, &wrong.body));
    let unknown = eve
        .post_form(
            "/signin",
            &[("email", "nobody@example.com"), ("password", PASSWORD)],
        )
        .await;
    let wrong = eve
        .post_form(
            "/signin",
            &[
                ("email", "ana@example.com"),
                ("password", "not her password at all"),
            ],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (
            unknown.status,
            without_tokens(&unknown.body).replace("nobody@example.com", "EMAIL")
        ),
        (
            wrong.status,
            without_tokens(&wrong.body).replace("ana@example.com", "EMAIL")
        ),
        "the sign-in page tells an unknown e-mail from a wrong password"
    );
    assert_eq!(page_alert(&wrong), "Wrong e-mail or password.");
}

// ---------------------------------------------------------------------------------------------
// 4. Sign-in attempts are limited per account and per address.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failed_sign_ins_lock_the_guessing_address_out_of_the_account_and_a_busy_address_is_slowed()
 {
    let app = WebApp::with_config(Engine::Sqlite, |c| {
        c.sign_in_limits = web::state::limiter::Limits {
            per_account: 3,
            per_address: 10,
            sign_ups_per_address: 5,
            window: Duration::from_secs(60),
        }
    })
    .await;
    app.client_from("10.9.0.1:1")
        .sign_up("ana@example.com")
        .await;
    app.client_from("10.9.0.2:1")
        .sign_up("bob@example.com")
        .await;

    let mut first = app.client_from("10.0.0.1:4000");
    for attempt in 1..=3 {
        let r = first.sign_in("ana@example.com", "a wrong guess here").await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "attempt {attempt}: {}",
            r.body
        );
    }
    let retry_after = |r: &Reply| -> u64 {
        r.header("retry-after")
            .unwrap_or_else(|| panic!("429 without Retry-After: {:?}", r.headers))
            .parse()
            .expect("Retry-After in seconds")
    };
    // The address that guessed is locked out of this account, even with the right password.
    let r = first.sign_in("ana@example.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!((1..=60).contains(&retry_after(&r)), "{:?}", r.headers);
    assert!(api_message(&r).contains("Too many"), "{}", r.body);
    assert_eq!(
        first.get("/api/v1/session").await.json()["signed_in"],
        false
    );
    let r = first
        .post_form(
            "/signin",
            &[("email", "ana@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "the form too");
    assert!((1..=60).contains(&retry_after(&r)));
    assert!(page_alert(&r).contains("Too many"), "{}", page_alert(&r));
    // The owner, from her own address, still gets in: guesses elsewhere never lock her out
    // (anyone who knows an e-mail could otherwise keep its owner out).
    let mut second = app.client_from("10.0.0.2:4000");
    let r = second.sign_in("ana@example.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        second.get("/api/v1/session").await.json()["signed_in"],
        true
    );

    // Another account from the first address works until the address has made 10 attempts.
    for attempt in 4..=10 {
        let r = first.sign_in("bob@example.com", PASSWORD).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "attempt {attempt} from the address: {}",
            r.body
        );
    }
    let r = first.sign_in("bob@example.com", PASSWORD).await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "attempt 11: {}",
        r.body
    );
    assert!((1..=60).contains(&retry_after(&r)));
    // Bob himself is not locked out elsewhere.
    let r = app
        .client_from("10.0.0.3:4000")
        .sign_in("bob@example.com", PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

// ---------------------------------------------------------------------------------------------
// 5. No state changes without the session's CSRF token, nor from another site.

#[derive(Debug, Clone)]
enum Shape {
    /// A urlencoded form (`_csrf` field).
    Form(Vec<(&'static str, String)>),
    /// JSON (`X-CSRF-Token` header).
    Json(Value),
    /// No body (`X-CSRF-Token` header).
    Empty,
    /// The page's file form (`?_csrf=` query).
    Multipart,
    /// The API's file upload (`X-CSRF-Token` header).
    File,
}

#[derive(Debug, Clone)]
struct Probe {
    method: Method,
    path: String,
    shape: Shape,
}

impl Probe {
    fn request(&self, token: Option<&str>, origin: Option<&str>) -> Request<Body> {
        let mut uri = self.path.clone();
        let mut b = Request::builder().method(self.method.clone());
        let header_token = |b: axum::http::request::Builder| match token {
            Some(t) => b.header("x-csrf-token", t),
            None => b,
        };
        let body = match &self.shape {
            Shape::Form(fields) => {
                let mut all = fields.clone();
                if let Some(t) = token {
                    all.push(("_csrf", t.to_string()));
                }
                b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::from(serde_urlencoded::to_string(&all).expect("form"))
            }
            Shape::Json(v) => {
                b = header_token(b.header(header::CONTENT_TYPE, "application/json"));
                Body::from(v.to_string())
            }
            Shape::Empty => {
                b = header_token(b);
                Body::empty()
            }
            Shape::Multipart => {
                if let Some(t) = token {
                    uri = format!("{uri}?_csrf={t}");
                }
                b = b.header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                );
                Body::from(multipart(&[(HISTORY_NAME, &small_history())]))
            }
            Shape::File => {
                uri = format!("{uri}?name={HISTORY_NAME}");
                b = header_token(b.header(header::CONTENT_TYPE, "application/octet-stream"));
                Body::from(small_history())
            }
        };
        if let Some(o) = origin {
            b = b.header(header::ORIGIN, o);
        }
        b.uri(uri).body(body).expect("request")
    }
}

const ADMIN: &str = "admin@example.com";
const NEW_PASSWORD: &str = "a brand new passphrase";

/// A browser in the state where `route` does something, and the request it would send.
async fn victim_for(app: &WebApp, (method, path): &Route, n: usize) -> (Client, Probe) {
    let mut c = app.client_from(&format!("10.1.0.{n}:4000"));
    let email = if path == "/admin/reingest" {
        ADMIN.to_string()
    } else {
        format!("victim{n}@example.com")
    };
    let credentials = || vec![("email", email.clone()), ("password", PASSWORD.to_string())];
    let credentials_json = json!({"email": email, "password": PASSWORD});
    let mut concrete = path.clone();
    let shape = match (method.as_str(), path.as_str()) {
        ("POST", "/signup") | ("POST", "/api/v1/signup") => {
            c.get("/").await;
            if path.starts_with("/api/") {
                Shape::Json(credentials_json)
            } else {
                Shape::Form(credentials())
            }
        }
        ("POST", "/signin") | ("POST", "/api/v1/signin") => {
            c.sign_up(&email).await;
            let r = c.act(Method::POST, "/api/v1/signout").await;
            assert_eq!(r.status, StatusCode::NO_CONTENT);
            if path.starts_with("/api/") {
                Shape::Json(credentials_json)
            } else {
                Shape::Form(credentials())
            }
        }
        _ => {
            c.sign_up(&email).await;
            match (method.as_str(), path.as_str()) {
                ("POST", "/sample") | ("POST", "/signout") | ("POST", "/signout/everywhere") => {
                    Shape::Form(vec![])
                }
                ("POST", "/api/v1/signout") | ("POST", "/api/v1/signout/everywhere") => {
                    Shape::Empty
                }
                ("POST", "/account/settings") | ("POST", "/settings") => Shape::Form(vec![
                    ("tz", "Europe/Berlin".into()),
                    ("min_play_seconds", "45".into()),
                ]),
                ("PUT", "/api/v1/settings") => {
                    Shape::Json(json!({"tz": "Europe/Berlin", "min_play_seconds": 45}))
                }
                ("POST", "/account/password") => Shape::Form(vec![
                    ("current_password", PASSWORD.into()),
                    ("new_password", NEW_PASSWORD.into()),
                ]),
                ("POST", "/api/v1/password") => {
                    Shape::Json(json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}))
                }
                ("POST", "/account/delete") => Shape::Form(vec![("password", PASSWORD.into())]),
                ("DELETE", "/api/v1/account") => Shape::Json(json!({"password": PASSWORD})),
                ("POST", "/uploads") => Shape::Multipart,
                ("POST", "/api/v1/uploads") => Shape::File,
                ("POST", DIRECT_UPLOAD) => Shape::Json(json!({"name": HISTORY_NAME, "size": 10})),
                ("POST", "/uploads/{id}/delete") | ("DELETE", "/api/v1/uploads/{id}") => {
                    let r = c.upload(HISTORY_NAME, &small_history()).await;
                    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
                    concrete = path.replace("{id}", r.json()["upload"]["id"].as_str().expect("id"));
                    if method == "POST" {
                        Shape::Form(vec![])
                    } else {
                        Shape::Empty
                    }
                }
                ("POST", "/settings/hidden") => Shape::Form(vec![
                    ("kind", "artist".into()),
                    ("name", "The Echoes".into()),
                ]),
                ("POST", "/settings/hidden/remove") => {
                    let r = c
                        .post_form(
                            "/settings/hidden",
                            &[("kind", "artist"), ("name", "The Echoes")],
                        )
                        .await;
                    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
                    Shape::Form(vec![
                        ("kind", "artist".into()),
                        ("name", "The Echoes".into()),
                    ])
                }
                ("PUT", "/api/v1/settings/hidden") => Shape::Json(
                    json!({"hidden": [{"kind": "track", "name": "Blue Night", "by": "The Echoes"}]}),
                ),
                ("POST", "/shares") => {
                    let u = app
                        .upload_and_ingest(&mut c, HISTORY_NAME, &small_history())
                        .await;
                    Shape::Form(share_fields("dashboard", "", u["id"].as_str().expect("id")))
                }
                ("POST", "/shares/{share}/revoke") => {
                    let u = app
                        .upload_and_ingest(&mut c, HISTORY_NAME, &small_history())
                        .await;
                    make_share(&mut c, "dashboard", "", u["id"].as_str().expect("id")).await;
                    let ids = texts(
                        app,
                        &format!(
                            "SELECT s.id FROM shares s JOIN users u ON u.id = s.user_id \
                             WHERE u.email = '{email}'"
                        ),
                    )
                    .await;
                    concrete = path.replace("{share}", &ids[0]);
                    Shape::Form(vec![])
                }
                ("POST", "/admin/reingest") => {
                    // Something to re-ingest, so that doing it shows.
                    let u = app
                        .upload_and_ingest(&mut c, HISTORY_NAME, &small_history())
                        .await;
                    assert_eq!(u["state"], "ready", "{u}");
                    Shape::Form(vec![("email", String::new())])
                }
                _ => panic!(
                    "{method} {path} changes state but this test has no CSRF probe for it: add one to victim_for"
                ),
            }
        }
    };
    let probe = Probe {
        method: Method::from_bytes(method.as_bytes()).expect("a method"),
        path: concrete,
        shape,
    };
    (c, probe)
}

/// A browser in the state where a route that exists only with an identity provider does
/// something (on an app with `fake`), and the request it would send.
async fn victim_for_idp(
    app: &WebApp,
    fake: &FakeIdp,
    (method, path): &Route,
    n: usize,
) -> (Client, Probe) {
    let mut c = app.client_from(&format!("10.2.0.{n}:4000"));
    c.get("/").await;
    let email = format!("victim{n}@example.com");
    let password = Password::new(PASSWORD);
    let fields: Vec<(&'static str, String)> = match path.trim_start_matches("/api/v1") {
        "/confirm" | "/signup/confirm" => {
            fake.sign_up(&email, &password).await.expect("signed up");
            let code = fake.code_for(&email).expect("a code");
            vec![("email", email), ("code", code)]
        }
        "/confirm/resend" | "/signup/resend" => {
            fake.sign_up(&email, &password).await.expect("signed up");
            vec![("email", email)]
        }
        "/password/forgot" => {
            fake.add_confirmed(&email, PASSWORD);
            vec![("email", email)]
        }
        "/password/reset" => {
            fake.add_confirmed(&email, PASSWORD);
            fake.forgot_password(&email).await.expect("a reset code");
            let code = fake.reset_code_for(&email).expect("a reset code");
            vec![
                ("email", email),
                ("code", code),
                ("new_password", NEW_PASSWORD.to_string()),
            ]
        }
        _ => panic!(
            "{method} {path} exists only with an identity provider but this test has no CSRF probe for it: add one to victim_for_idp"
        ),
    };
    let shape = if path.starts_with("/api/") {
        Shape::Json(Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), Value::String(v)))
                .collect(),
        ))
    } else {
        Shape::Form(fields)
    };
    let probe = Probe {
        method: Method::from_bytes(method.as_bytes()).expect("a method"),
        path: path.clone(),
        shape,
    };
    (c, probe)
}

/// Everything stored, with what the identity provider holds when there is one.
async fn everything(app: &WebApp, fake: Option<&FakeIdp>) -> Vec<String> {
    let mut all = stored(app).await;
    all.extend(fake.map(FakeIdp::snapshot).unwrap_or_default());
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_state_changes_without_the_sessions_token_or_from_another_site() {
    let local = WebApp::with_config(Engine::Sqlite, |c| c.admin_emails = vec![ADMIN.into()]).await;
    let fake = Arc::new(FakeIdp::new());
    let with_idp = idp_app(&fake).await;
    let presigning = presigning_app().await;
    let changing: Vec<Route> = declared_routes()
        .into_iter()
        .filter(|(m, _)| m != "GET")
        .collect();
    assert!(changing.len() >= 15, "{changing:?}");
    assert!(
        changing.iter().filter(|(_, p)| idp_only(p)).count() == IDP_ONLY.len(),
        "every route of IDP_ONLY is routed: {changing:?}"
    );

    // Eve has a session of her own in each app, so her token is a real one.
    let mut eve = local.client_from("10.6.6.6:6666");
    eve.sign_up("eve@example.com").await;
    let eves_local_token = eve.csrf().await;
    fake.add_confirmed("eve@example.com", PASSWORD);
    let mut eve = with_idp.client_from("10.6.6.6:6666");
    let r = eve.sign_in("eve@example.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let eves_idp_token = eve.csrf().await;
    let mut eve = presigning.client_from("10.6.6.6:6666");
    eve.sign_up("eve@example.com").await;
    let eves_presigning_token = eve.csrf().await;

    for (n, r) in changing.iter().enumerate() {
        // The identity provider's own routes are walked where they exist.
        let (app, provider, eves_token) = if idp_only(&r.1) {
            (&with_idp, Some(&*fake), &eves_idp_token)
        } else if r.1 == DIRECT_UPLOAD {
            (&presigning, None, &eves_presigning_token)
        } else {
            (&local, None, &eves_local_token)
        };
        let (mut victim, probe) = match provider {
            Some(f) => victim_for_idp(app, f, r, n + 1).await,
            None => victim_for(app, r, n + 1).await,
        };
        let token = victim.csrf().await;
        assert_ne!(&token, eves_token);
        let before = everything(app, provider).await;
        let attacks = [
            ("without a token", None, None),
            (
                "with another session's token",
                Some(eves_token.as_str()),
                None,
            ),
            (
                "from another site",
                Some(token.as_str()),
                Some("https://evil.example"),
            ),
            ("from a null origin", Some(token.as_str()), Some("null")),
        ];
        for (how, t, origin) in attacks {
            let reply = victim.send(probe.request(t, origin)).await;
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{} {} {how}: {}",
                r.0,
                r.1,
                reply.body
            );
            let message = if r.1.starts_with("/api/") {
                api_message(&reply)
            } else {
                page_alert(&reply)
            };
            let expected = if origin.is_some() {
                "another site"
            } else {
                "security token"
            };
            assert!(
                message.contains(expected),
                "{} {} {how}: {message}",
                r.0,
                r.1
            );
            let after = everything(app, provider).await;
            assert!(
                before == after,
                "{} {} {how} changed what is stored:\n{}",
                r.0,
                r.1,
                difference(&before, &after)
            );
        }
        // The same request with the token, from the site itself, does what it says.
        let reply = victim
            .send(probe.request(Some(&token), Some("http://backspin.test")))
            .await;
        assert!(
            reply.status.is_success() || reply.status.is_redirection(),
            "{} {} with its token: {} {}",
            r.0,
            r.1,
            reply.status,
            reply.body
        );
        assert_ne!(
            before,
            everything(app, provider).await,
            "{} {} with its token changed nothing",
            r.0,
            r.1
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Cookies and headers.

fn assert_security_headers(what: &str, r: &Reply, is_static: bool) {
    let csp = r
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"));
    assert!(csp.contains("script-src 'self'"), "{what}: {csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{what}: {csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
    let cache = r.header("cache-control");
    if is_static {
        assert!(
            cache.is_some_and(|c| !c.contains("no-store")),
            "{what}: {cache:?}"
        );
    } else {
        assert_eq!(cache, Some("no-store"), "{what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_http_only_same_site_and_secure_over_https_and_rotate_on_sign_in() {
    let app = WebApp::new(Engine::Sqlite).await;

    // Over plain HTTP: HttpOnly, SameSite=Lax, Path=/, not Secure.
    let mut c = app.client();
    let first = session_cookie(&c.get("/").await).expect("a first visit gets a cookie");
    let signed_up = session_cookie(&c.sign_up("ana@example.com").await).expect("sign-up sets one");
    for cookie in [&first, &signed_up] {
        let attrs = cookie_attributes(cookie);
        for a in ["HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(attrs.iter().any(|x| x == a), "{cookie} lacks {a}");
        }
        assert!(
            !attrs.iter().any(|x| x == "Secure"),
            "{cookie} is Secure over http"
        );
    }
    assert!(
        cookie_attributes(&signed_up)
            .iter()
            .any(|a| a.starts_with("Max-Age="))
    );

    // Behind a proxy that says HTTPS, and with `secure_cookies`.
    let via_proxy = |path: &str| {
        Request::get(path)
            .header("x-forwarded-proto", "https")
            .body(Body::empty())
            .expect("request")
    };
    let mut p = app.client();
    let r = p.send(via_proxy("/")).await;
    let cookie = session_cookie(&r).expect("cookie");
    assert!(
        cookie_attributes(&cookie).iter().any(|a| a == "Secure"),
        "{cookie}"
    );
    let token = p.csrf().await;
    let r = p
        .send(
            Request::post("/api/v1/signin")
                .header("x-forwarded-proto", "https")
                .header("x-csrf-token", token)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({"email": "ana@example.com", "password": PASSWORD}).to_string(),
                ))
                .expect("request"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let cookie = session_cookie(&r).expect("cookie");
    assert!(
        cookie_attributes(&cookie).iter().any(|a| a == "Secure"),
        "{cookie}"
    );
    let secure = WebApp::with_config(Engine::Sqlite, |c| c.secure_cookies = true).await;
    let mut s = secure.client();
    for cookie in [
        session_cookie(&s.get("/").await).expect("cookie"),
        session_cookie(&s.sign_up("ana@example.com").await).expect("cookie"),
    ] {
        let attrs = cookie_attributes(&cookie);
        assert!(attrs.iter().any(|a| a == "Secure"), "{cookie}");
        assert!(attrs.iter().any(|a| a == "HttpOnly"), "{cookie}");
    }

    // Signing in gives a new token; the one from before names no session.
    let mut fresh = app.client();
    fresh.get("/").await;
    let planted = fresh.cookie.clone().expect("cookie");
    assert_eq!(
        fresh.sign_in("ana@example.com", PASSWORD).await.status,
        StatusCode::OK
    );
    let now = fresh.cookie.clone().expect("cookie");
    assert_ne!(planted, now, "signing in kept the token");
    assert_eq!(fresh.get("/api/v1/settings").await.status, StatusCode::OK);
    let mut replay = app.client();
    replay.cookie = Some(planted);
    assert_eq!(
        replay.get("/api/v1/session").await.json()["signed_in"],
        false
    );
    assert_eq!(
        replay.get("/api/v1/settings").await.status,
        StatusCode::UNAUTHORIZED
    );

    // The same for an anonymous visitor's session, on signing up and on signing in.
    for sign_up in [true, false] {
        let mut anon = app.client();
        let r = anon.upload(HISTORY_NAME, &small_history()).await;
        assert_eq!(r.status, StatusCode::ACCEPTED);
        let before = anon.cookie.clone().expect("cookie");
        assert_eq!(anon.get("/api/v1/session").await.json()["anonymous"], true);
        if sign_up {
            anon.sign_up("cleo@example.com").await;
        } else {
            assert_eq!(
                anon.sign_in("ana@example.com", PASSWORD).await.status,
                StatusCode::OK
            );
        }
        assert_ne!(Some(&before), anon.cookie.as_ref());
        let mut replay = app.client();
        replay.cookie = Some(before);
        let s = replay.get("/api/v1/session").await.json();
        assert_eq!(
            (&s["signed_in"], &s["anonymous"]),
            (&json!(false), &json!(false)),
            "{s}"
        );
        assert_eq!(replay.get("/api/v1/uploads").await.json(), json!([]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_form_carries_its_token_first_in_its_body_never_in_an_address() {
    let app = WebApp::new(Engine::Sqlite).await;
    let mut c = app.client();
    c.sign_up("form-token@example.com").await;
    let page = c.get("/uploads").await;
    assert!(page.body.contains("action=\"/uploads\""), "{}", page.body);
    assert!(!page.body.contains("_csrf="), "no token in any address");
    let history = small_history();
    // Without the token, or with another, nothing is read or stored.
    for token in [None, Some("not-the-token")] {
        let r = c
            .upload_form_with_token(token, &[(HISTORY_NAME, &history)])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{token:?}: {}", r.body);
        assert!(page_alert(&r).contains("security token"), "{}", r.body);
    }
    assert_eq!(get_json(&mut c, "/api/v1/uploads").await, json!([]));
    // Another browser's token is not this one's.
    let mut other = app.client();
    other.sign_up("form-other@example.com").await;
    let theirs = other.csrf().await;
    let r = c
        .upload_form_with_token(Some(&theirs), &[(HISTORY_NAME, &history)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // With it, the form works; a refusal's page stays at /uploads, token-free.
    let r = c.upload_form(&[(HISTORY_NAME, &history)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = c.upload_form(&[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(page_alert(&r).contains("No file was chosen"));
    // The error page knows who is signed in.
    assert!(r.body.contains("form-token@example.com"), "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_and_api_answer_carries_the_security_headers() {
    let app = WebApp::with_config(Engine::Sqlite, |c| c.admin_emails = vec![ADMIN.into()]).await;
    let mut admin = app.client();
    admin.sign_up(ADMIN).await;
    let u = app
        .upload_and_ingest(&mut admin, HISTORY_NAME, &small_history())
        .await;
    let id = u["id"].as_str().expect("id");
    let token = make_share(&mut admin, "dashboard", "", id).await;

    let gets: Vec<String> = declared_routes()
        .into_iter()
        .filter(|(m, p)| m == "GET" && !idp_only(p))
        .flat_map(|(_, p)| {
            if p.contains("{file}") {
                vec![
                    p.replace("{file}", "app.css"),
                    p.replace("{file}", "app.js"),
                ]
            } else if p.ends_with("/dashboard/artist") {
                // The drill-down needs an artist: the history's first one.
                vec![format!("{p}?name=The%20Echoes")]
            } else if p.ends_with("/dashboard/track") {
                vec![format!("{p}?artist=The%20Echoes&name=Blue%20Night")]
            } else if p.ends_with("/dashboard/album") {
                vec![format!("{p}?artist=The%20Echoes&name=Gold")]
            } else if p.ends_with("/dashboard/compare") {
                // A comparison needs a period with one before it.
                vec![format!("{p}?range=4w")]
            } else if p.ends_with("/dashboard/show") {
                // No podcast in this history: its page is "not found", with the headers too.
                vec![format!("{p}?name=No%20Such%20Show")]
            } else if p == "/shares/new" {
                vec![format!("{p}?view=dashboard")]
            } else if p.contains("{token}") {
                vec![p.replace("{token}", &token)]
            } else {
                vec![p.replace("{id}", id).replace("{year}", "2024")]
            }
        })
        .collect();
    assert!(gets.len() >= 20, "{gets:?}");
    for path in &gets {
        let r = admin.get(path).await;
        let want = if path.contains("/dashboard/show?") {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::OK
        };
        assert_eq!(r.status, want, "GET {path}: {}", r.body);
        assert_security_headers(&format!("GET {path}"), &r, path.starts_with("/static/"));
        if r.header("content-type")
            .is_some_and(|t| t.starts_with("text/html"))
        {
            assert_only_own_markup(&format!("GET {path}"), &r.body);
        }
    }

    // The identity provider's own pages, where they exist.
    let fake = Arc::new(FakeIdp::new());
    let with_idp = idp_app(&fake).await;
    let mut visitor = with_idp.client();
    let idp_gets: Vec<Route> = declared_routes()
        .into_iter()
        .filter(|(m, p)| m == "GET" && idp_only(p))
        .collect();
    assert!(idp_gets.len() >= 3, "{idp_gets:?}");
    for (_, path) in &idp_gets {
        let r = visitor.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "GET {path}: {}", r.body);
        assert_security_headers(&format!("GET {path}"), &r, false);
        assert_only_own_markup(&format!("GET {path}"), &r.body);
    }

    // Refusals and errors carry them too.
    let mut stranger = app.client();
    let errors = [
        ("GET", "/no-such-page", stranger.get("/no-such-page").await),
        (
            "GET",
            "/api/v1/no-such-thing",
            stranger.get("/api/v1/no-such-thing").await,
        ),
        ("GET", "/account", stranger.get("/account").await),
        (
            "GET",
            "/api/v1/settings",
            stranger.get("/api/v1/settings").await,
        ),
        (
            "POST",
            "/api/v1/uploads",
            stranger
                .send(
                    Request::post("/api/v1/uploads?name=x.json")
                        .body(Body::from("[]"))
                        .expect("request"),
                )
                .await,
        ),
        ("GET", "/admin", stranger.get("/admin").await),
    ];
    for (m, path, r) in &errors {
        assert!(r.status.is_client_error(), "{m} {path}: {}", r.status);
        assert_security_headers(&format!("{m} {path} ({})", r.status), r, false);
        if r.header("content-type")
            .is_some_and(|t| t.starts_with("text/html"))
        {
            assert_only_own_markup(&format!("{m} {path}"), &r.body);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 7. Hostile names are shown as text.

/// Names of the hand-made history: markup in text and in attributes, and spreadsheet formulas.
const HOSTILE: [(&str, &str, &str); 4] = [
    (
        "<img src=x onerror=alert(1)>",
        "<script>alert('owned')</script>",
        "\" onmouseover=\"alert(3)",
    ),
    (
        "=HYPERLINK(\"http://evil.example\",\"win\")",
        "+SUM(A1:A9)",
        "-2+3",
    ),
    ("@cmd|' /C calc'!A0", "=1+1", "+49 30 1234"),
    ("-lookup", "@SUM(1,2)", "=cmd|'/C calc'!A0"),
];

/// A small RFC 4180 reader (quoted cells may hold commas, quotes and line breaks).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        match (quoted, ch) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows
}

async fn hostile_names_are_shown_as_text_and_exported_without_formulas(engine: Engine) {
    let app = WebApp::new(engine).await;
    let mut c = app.client();
    c.sign_up("ana@example.com").await;

    let mut export = synth::generate(&synth::Options {
        plays: 3_000,
        first_year: 2023,
        last_year: 2024,
        seed: 13,
        nasty: true,
        ..synth::Options::default()
    });
    // A file whose own name is markup: listed on the upload's page.
    export.files.push((
        "Spotify Extended Streaming History/\"><img src=x onerror=alert(2)>.json".into(),
        b"[]".to_vec(),
    ));
    let zip = synth::zip_to(&export, std::io::Cursor::new(Vec::new()))
        .expect("zip")
        .into_inner();
    let upload_name = "\"><img src=x onerror=alert(1)>my_spotify_data.zip";
    let nasty = app.upload_and_ingest(&mut c, upload_name, &zip).await;
    assert_eq!(nasty["state"], "ready", "{nasty}");
    assert_eq!(nasty["name"], upload_name, "the name is kept as given");
    // Hand-made streams, long enough to lead the top lists.
    let crafted = app
        .upload_and_ingest(&mut c, HISTORY_NAME, &history(&HOSTILE, 25, 3_000_000))
        .await;
    assert_eq!(crafted["state"], "ready", "{crafted}");

    let nasty_id = nasty["id"].as_str().expect("id");
    let crafted_id = crafted["id"].as_str().expect("id");
    let pages = [
        "/dashboard".to_string(),
        "/uploads".to_string(),
        format!("/uploads/{nasty_id}"),
        format!("/uploads/{nasty_id}/delete"),
        format!("/uploads/{crafted_id}"),
        format!("/dashboard?u={nasty_id}"),
    ];
    for path in &pages {
        let r = c.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_only_own_markup(path, &r.body);
        for raw in ["<img", "onerror=alert(1)>", "<script>alert"] {
            assert!(!r.body.contains(raw), "{path} holds {raw:?} unescaped");
        }
    }
    // The names are there, as text.
    let shows = |body: &str, text: &str, path: &str| {
        assert!(
            body.contains(text),
            "{path} does not show {text:?}:\n{body}"
        );
    };
    let uploads = c.get("/uploads").await.body;
    shows(
        &uploads,
        "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;my_spotify_data.zip",
        "/uploads",
    );
    let detail = c.get(&format!("/uploads/{nasty_id}")).await.body;
    shows(
        &detail,
        "&lt;img src=x onerror=alert(2)&gt;.json",
        "/uploads/{id}",
    );
    let dashboard = c.get("/dashboard").await.body;
    shows(
        &dashboard,
        "&lt;script&gt;alert('owned')&lt;/script&gt;",
        "/dashboard",
    );
    shows(
        &dashboard,
        "&lt;img src=x onerror=alert(1)&gt;",
        "/dashboard",
    );
    shows(
        &dashboard,
        "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;my_spotify_data.zip",
        "/dashboard",
    );
    // The generated hostile names made it through the ingest and into the export.
    let json_export = c.get("/account/export.json").await;
    assert_eq!(json_export.status, StatusCode::OK);
    let plays: Value = json_export.json();
    let titles: BTreeSet<&str> = plays
        .as_array()
        .expect("an array")
        .iter()
        .flat_map(|p| {
            [
                p["title"].as_str(),
                p["creator"].as_str(),
                p["collection"].as_str(),
            ]
        })
        .flatten()
        .collect();
    for generated in [
        "<script>alert(\"xss\")</script>",
        "'; DROP TABLE plays; --",
        "{{7*7}}",
    ] {
        assert!(
            titles.contains(generated),
            "the export lacks the generated name {generated:?}"
        );
    }

    // The CSV export never starts a cell with a formula character.
    let csv = c.get("/account/export.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.header("content-type")
            .is_some_and(|t| t.starts_with("text/csv"))
    );
    let rows = csv_rows(&csv.body);
    let width = rows[0].len();
    assert_eq!(rows[0][3], "title");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.len(), width, "row {i} of the CSV: {row:?}");
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "row {i} of the CSV starts a cell with a formula: {cell:?}"
            );
        }
    }
    for (track, artist, album) in HOSTILE.iter().skip(1) {
        for name in [track, artist, album] {
            let guarded = format!("'{name}");
            assert!(
                rows.iter().any(|r| r.contains(&guarded)),
                "the CSV lacks {guarded:?}"
            );
        }
    }
}

both_engines!(hostile_names_are_shown_as_text_and_exported_without_formulas);

// ---------------------------------------------------------------------------------------------
// 8. Too large, and not Spotify's.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_refused_and_foreign_files_fail_with_a_reason_leaving_the_rest() {
    let app = WebApp::with_config(Engine::Sqlite, |c| c.max_upload_bytes = 64 * 1024).await;
    let mut c = app.client();
    c.sign_up("ana@example.com").await;
    let good = app
        .upload_and_ingest(&mut c, HISTORY_NAME, &small_history())
        .await;
    assert_eq!(good["state"], "ready", "{good}");
    let stats = c.get("/api/v1/stats").await.json();
    let listed = c.get("/api/v1/uploads").await.json();
    let before = stored(&app).await;

    // 200 KiB against a limit of 64 KiB, through the API and through the page's form.
    let big: Vec<u8> = (0..200 * 1024u32).map(|i| (i % 251) as u8).collect();
    let r = c.upload("big.zip", &big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    let m = api_message(&r);
    assert!(
        m.contains("64 KiB") && m.contains("big.zip"),
        "the message names the limit: {m}"
    );
    let r = c.upload_form(&[("big.zip", &big)]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert!(page_alert(&r).contains("64 KiB"), "{}", page_alert(&r));
    // An anonymous visitor's too-large upload is refused the same way.
    let mut anon = app.client_from("10.0.0.7:7777");
    let r = anon.upload("big.zip", &big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    let r = anon.upload_form(&[("big.zip", &big)]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);

    // Forms and JSON larger than 64 KiB.
    let long = "x".repeat(70 * 1024);
    let r = c
        .json(
            Method::PUT,
            "/api/v1/settings",
            &json!({"tz": long, "min_play_seconds": 30}),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    let r = c
        .post_form(
            "/account/settings",
            &[("tz", &long), ("min_play_seconds", "30")],
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);

    let after = stored(&app).await;
    assert!(
        before == after,
        "a refused upload left something (an upload, a file, a visitor, a session):\n{}",
        difference(&before, &after)
    );
    assert_eq!(c.get("/api/v1/uploads").await.json(), listed);
    assert_eq!(anon.get("/api/v1/uploads").await.json(), json!([]));

    // Files that are not Spotify's are taken, then fail with a reason a person can read.
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82";
    for (name, bytes) in [("holiday.png", png), ("hello.json", &br#"{"hello":1}"#[..])] {
        let u = app.upload_and_ingest(&mut c, name, bytes).await;
        assert_eq!(u["state"], "failed", "{name}: {u}");
        let reason = u["reason"].as_str().unwrap_or_default();
        assert!(
            reason.len() > 20 && reason.len() < 600,
            "{name}: {reason:?}"
        );
        for jargon in ["Error {", "Os {", "panicked", "kind:", "backtrace"] {
            assert!(
                !reason.contains(jargon),
                "{name}: the reason reads like a debug dump: {reason}"
            );
        }
        // It names the file and says what to upload instead.
        assert!(
            reason.contains(name) && reason.contains("my_spotify_data.zip"),
            "{name}: {reason}"
        );
        let page = c
            .get(&format!("/uploads/{}", u["id"].as_str().expect("id")))
            .await;
        assert!(
            page.body.contains("Failed"),
            "the upload's page says it failed"
        );
    }
    assert_eq!(
        c.get("/api/v1/stats").await.json(),
        stats,
        "the stats are unchanged"
    );
    assert_eq!(
        c.get(&format!(
            "/api/v1/uploads/{}",
            good["id"].as_str().expect("id")
        ))
        .await
        .json(),
        good
    );
}

// ---------------------------------------------------------------------------------------------
// 8b. Quotas: what one visitor may store and send.

/// The object files under the store's folder.
fn object_files(app: &WebApp) -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(&app.pipeline.data.path().join("objects"), &mut out);
    out.sort();
    out
}

/// With the default limits, one address starts 30 uploads an hour, whether or not it keeps a
/// cookie (a visitor without one is a new anonymous visitor each time); the 31st is refused
/// with 429, `Retry-After` and the limit named, and leaves nothing. Another address goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_starts_thirty_uploads_an_hour_by_default() {
    let app = WebApp::with_config(Engine::Sqlite, |c| {
        c.quotas = web::state::meter::Quotas::DEFAULT;
    })
    .await;
    let history = small_history();
    for i in 0..30 {
        let mut c = app.client_from("10.1.1.1:4000");
        let r = c.upload(HISTORY_NAME, &history).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "upload {i}: {}", r.body);
    }
    let (before, files) = (stored(&app).await, object_files(&app));
    let mut c = app.client_from("10.1.1.1:4001");
    let r = c.upload(HISTORY_NAME, &history).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    let wait: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((3000..=3600).contains(&wait), "Retry-After: {wait}");
    let m = api_message(&r);
    assert!(
        m.contains("30 uploads in the last 1 hour") && m.contains("Try again in"),
        "{m}"
    );
    // The page's form says the same.
    let r = c.upload_form(&[(HISTORY_NAME, &history)]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(page_alert(&r).contains("30 uploads"), "{}", page_alert(&r));
    let after = stored(&app).await;
    assert!(before == after, "{}", difference(&before, &after));
    assert_eq!(object_files(&app), files, "no file was kept");
    let r = app
        .client_from("10.2.2.2:4000")
        .upload(HISTORY_NAME, &history)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
}

/// An account is held to the same hourly limits from whatever address it uploads: moving to
/// another address does not start a new hour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_starts_as_many_uploads_an_hour_from_any_address() {
    let app = WebApp::with_config(Engine::Sqlite, |c| {
        c.quotas.uploads_per_address = 2;
    })
    .await;
    let history = small_history();
    let mut home = app.client_from("10.8.8.8:4000");
    home.sign_up("travels@example.com").await;
    for _ in 0..2 {
        let r = home.upload(HISTORY_NAME, &history).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    }
    let mut away = app.client_from("10.9.9.9:4000");
    away.cookie = home.cookie.clone();
    let before = stored(&app).await;
    let r = away.upload(HISTORY_NAME, &history).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(
        api_message(&r).starts_with("This account has started 2 uploads"),
        "{}",
        api_message(&r)
    );
    assert!(r.header("retry-after").is_some());
    let after = stored(&app).await;
    assert!(before == after, "{}", difference(&before, &after));
}

/// Bytes sent from one address in the hour are limited too: the upload that would go over is
/// cut off there (413, the limit named) and nothing of it stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_sends_a_limited_number_of_bytes_an_hour() {
    let history = small_history();
    let limit = history.len() as u64 * 3 / 2;
    let app = WebApp::with_config(Engine::Sqlite, |c| {
        c.quotas.bytes_per_address = limit;
    })
    .await;
    let mut c = app.client_from("10.3.3.3:4000");
    let r = c.upload(HISTORY_NAME, &history).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let (before, files) = (stored(&app).await, object_files(&app));
    let r = c.upload(HISTORY_NAME, &history).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    let m = api_message(&r);
    assert!(
        m.contains("more than this address may upload in the next 1 hour") && m.contains("left"),
        "{m}"
    );
    let after = stored(&app).await;
    assert!(before == after, "{}", difference(&before, &after));
    assert_eq!(object_files(&app), files, "the cut-off file was not kept");
    // The bytes read before the cut count: the address has used up its hour.
    let r = c.upload(HISTORY_NAME, &history).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(api_message(&r).contains("uploaded"), "{}", api_message(&r));
}

both_engines!(a_visitor_keeps_a_limited_number_of_uploads_and_bytes);

/// An anonymous visitor keeps at most `uploads_per_visitor` uploads and an account at most
/// `bytes_per_account`: beyond, 429 or 413 naming the limit, nothing stored; deleting an
/// upload makes room again.
async fn a_visitor_keeps_a_limited_number_of_uploads_and_bytes(engine: Engine) {
    let history = small_history();
    let per_account = history.len() as u64 * 5 / 2;
    let app = WebApp::with_config(engine, |c| {
        c.quotas.uploads_per_visitor = 2;
        c.quotas.bytes_per_account = per_account;
    })
    .await;
    let mut anon = app.client_from("10.4.4.4:4000");
    let first = anon.upload(HISTORY_NAME, &history).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
    let r = anon.upload(HISTORY_NAME, &history).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let before = stored(&app).await;
    let r = anon.upload(HISTORY_NAME, &history).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(r.header("retry-after").is_none(), "waiting does not help");
    let m = api_message(&r);
    assert!(
        m.contains("A visitor without an account keeps at most 2 uploads")
            && m.contains("Delete one"),
        "{m}"
    );
    let after = stored(&app).await;
    assert!(before == after, "{}", difference(&before, &after));
    let id = first.json()["upload"]["id"].as_str().unwrap().to_string();
    let r = anon
        .act(Method::DELETE, &format!("/api/v1/uploads/{id}"))
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let r = anon.upload(HISTORY_NAME, &history).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "after a delete: {}", r.body);

    // An account: two uploads fit in 2.5 files' worth, the third does not.
    let mut c = app.client_from("10.5.5.5:4000");
    c.sign_up("quota@example.com").await;
    for _ in 0..2 {
        let r = c.upload(HISTORY_NAME, &history).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    }
    let (before, files) = (stored(&app).await, object_files(&app));
    let r = c.upload(HISTORY_NAME, &history).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    let m = api_message(&r);
    assert!(
        m.contains("does not fit in what is left of your") && m.contains(HISTORY_NAME),
        "{m}"
    );
    let after = stored(&app).await;
    assert!(before == after, "{}", difference(&before, &after));
    assert_eq!(object_files(&app), files, "the cut-off file was not kept");
}

/// An empty file chosen in the page's form is refused, and nothing is made for it (no
/// anonymous visitor, no upload, no file), as the API refuses an empty body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_file_in_the_form_is_refused_and_nothing_is_kept() {
    let app = WebApp::new(Engine::Sqlite).await;
    let before = stored(&app).await;
    let mut anon = app.client_from("10.7.7.7:4000");
    let r = anon.upload_form(&[("empty.json", b"")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(
        page_alert(&r).contains("“empty.json” is empty"),
        "{}",
        page_alert(&r)
    );
    let after = stored(&app).await;
    assert!(before == after, "{}", difference(&before, &after));
    assert!(object_files(&app).is_empty());
}

/// A disk with less free space than the reserve takes no uploads: 507, nothing stored, no
/// anonymous visitor made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nearly_full_disk_refuses_uploads_before_it_fills() {
    let app = WebApp::with_config(Engine::Sqlite, |c| {
        // More than any disk has free.
        c.quotas.min_free_disk_bytes = 1 << 60;
    })
    .await;
    let before = stored(&app).await;
    let mut anon = app.client_from("10.6.6.6:4000");
    let r = anon.upload(HISTORY_NAME, &small_history()).await;
    assert_eq!(r.status, StatusCode::INSUFFICIENT_STORAGE, "{}", r.body);
    assert!(
        api_message(&r).contains("disk is nearly full"),
        "{}",
        r.body
    );
    let r = anon.upload_form(&[(HISTORY_NAME, &small_history())]).await;
    assert_eq!(r.status, StatusCode::INSUFFICIENT_STORAGE, "{}", r.body);
    let after = stored(&app).await;
    assert!(before == after, "{}", difference(&before, &after));
    assert!(object_files(&app).is_empty());
}

/// A failed upload's raw file is kept a week (its reason stays on show), then the sweeper
/// removes it, row and file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_upload_and_its_raw_file_expire_after_a_week() {
    let app = WebApp::new(Engine::Sqlite).await;
    let mut c = app.client();
    c.sign_up("failed@example.com").await;
    let u = app
        .upload_and_ingest(&mut c, "hello.json", br#"{"hello":1}"#)
        .await;
    assert_eq!(u["state"], "failed", "{u}");
    let id = u["id"].as_str().unwrap().to_string();
    assert_eq!(object_files(&app).len(), 1);
    let deps = app.pipeline.deps();
    ingest_worker::lifecycle::sweep(&deps).await.unwrap();
    assert_eq!(object_files(&app).len(), 1, "kept within the week");
    let eight_days_ago = storage::db::now_ms() - 8 * 24 * 3600 * 1000;
    storage::on_pool!(app.pipeline.db(), p => sqlx::query("UPDATE uploads SET updated_ms = $1 WHERE id = $2")
        .bind(eight_days_ago)
        .bind(&id)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))
    .unwrap();
    ingest_worker::lifecycle::sweep(&deps).await.unwrap();
    assert!(object_files(&app).is_empty(), "the raw file is gone");
    assert!(app.pipeline.upload(&id).await.is_none(), "the row is gone");
    let r = c.get(&format!("/api/v1/uploads/{id}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------------------------------------
// 9. A session that ended stays ended.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_password_ends_other_sessions_and_a_signed_out_cookie_is_dead() {
    let app = WebApp::new(Engine::Sqlite).await;
    let mut laptop = app.client();
    laptop.sign_up("ana@example.com").await;
    let mut phone = app.client_from("10.0.0.2:2222");
    assert_eq!(
        phone.sign_in("ana@example.com", PASSWORD).await.status,
        StatusCode::OK
    );
    assert_eq!(phone.get("/api/v1/settings").await.status, StatusCode::OK);
    let phones_old = phone.cookie.clone().expect("cookie");

    let r = laptop
        .json(
            Method::POST,
            "/api/v1/password",
            &json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        laptop.get("/api/v1/settings").await.status,
        StatusCode::OK,
        "the changer stays in"
    );
    assert_eq!(laptop.get("/account").await.status, StatusCode::OK);
    let r = phone.get("/api/v1/settings").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    let r = phone.get("/account").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(page_alert(&r).contains("sign in"), "{}", page_alert(&r));
    assert_eq!(
        phone.get("/api/v1/session").await.json()["signed_in"],
        false
    );
    assert_eq!(phone.cookie.as_deref(), Some(phones_old.as_str()));
    // The old password is gone, the new one works.
    assert_eq!(
        phone.sign_in("ana@example.com", PASSWORD).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        phone.sign_in("ana@example.com", NEW_PASSWORD).await.status,
        StatusCode::OK
    );

    // Signing out: the cookie the browser had is dead for whoever replays it.
    let signed_in = laptop.cookie.clone().expect("cookie");
    let r = laptop.post_form("/signout", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_ne!(
        laptop.cookie.as_deref(),
        Some(signed_in.as_str()),
        "sign-out replaces the cookie"
    );
    assert_eq!(
        laptop.get("/api/v1/settings").await.status,
        StatusCode::UNAUTHORIZED
    );
    let mut thief = app.client_from("10.6.6.6:6666");
    thief.cookie = Some(signed_in.clone());
    assert_eq!(
        thief.get("/api/v1/settings").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(thief.get("/account").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        thief.get("/api/v1/session").await.json()["signed_in"],
        false
    );
    let r = thief
        .json(
            Method::PUT,
            "/api/v1/settings",
            &json!({"tz": "Europe/Berlin", "min_play_seconds": 0}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_eq!(thief.cookie.as_deref(), Some(signed_in.as_str()));

    // The API's sign-out too, and the phone's session still works throughout.
    let phones = phone.cookie.clone().expect("cookie");
    assert_eq!(
        phone.act(Method::POST, "/api/v1/signout").await.status,
        StatusCode::NO_CONTENT
    );
    let mut thief = app.client();
    thief.cookie = Some(phones);
    assert_eq!(
        thief.get("/api/v1/settings").await.status,
        StatusCode::UNAUTHORIZED
    );
}

// ----------------------------------------------------------------------------------------
// Junk refused at the edge, and HSTS over HTTPS
// ----------------------------------------------------------------------------------------

both_engines!(ids_and_addresses_with_a_nul_byte_are_refused_before_the_database);
async fn ids_and_addresses_with_a_nul_byte_are_refused_before_the_database(engine: Engine) {
    let app = WebApp::new(engine).await;
    let mut c = app.client();
    c.sign_up("nul@example.com").await;
    // PostgreSQL cannot hold a NUL byte in text: these reached it and answered 500.
    for path in [
        "/api/v1/uploads/abc%00def",
        "/uploads/abc%00def",
        "/api/v1/uploads/ABC",
    ] {
        let r = c.get(path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "GET {path}: {}", r.body);
    }
    let r = c.act(Method::DELETE, "/api/v1/uploads/abc%00def").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let mut stranger = app.client();
    let token = stranger.csrf().await;
    let r = stranger
        .send(
            Request::post("/api/v1/signin")
                .header("x-csrf-token", token)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({"email": "nul\u{0}@example.com", "password": PASSWORD}).to_string(),
                ))
                .expect("request"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(api_message(&r).contains("valid e-mail"), "{}", r.body);
    // The account itself is untouched and still signs in.
    assert_eq!(
        stranger.sign_in("nul@example.com", PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_every_answer_asks_the_browser_to_keep_to_https() {
    const HSTS: &str = "max-age=31536000; includeSubDomains";
    let app = WebApp::new(Engine::Sqlite).await;
    let mut c = app.client();
    for path in ["/", "/api/v1/session", "/healthz", "/static/app.css"] {
        let plain = c.get(path).await;
        assert_eq!(
            plain.header("strict-transport-security"),
            None,
            "plain HTTP {path}: HSTS would be ignored there, and wrong behind no proxy"
        );
        let proxied = c
            .send(
                Request::get(path)
                    .header("x-forwarded-proto", "https")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await;
        assert_eq!(
            proxied.header("strict-transport-security"),
            Some(HSTS),
            "{path}"
        );
    }
    let secure = WebApp::with_config(Engine::Sqlite, |c| c.secure_cookies = true).await;
    let r = secure.client().get("/").await;
    assert_eq!(r.header("strict-transport-security"), Some(HSTS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_method_a_route_does_not_have_is_405_with_the_methods_it_has() {
    let app = WebApp::new(Engine::Sqlite).await;
    let mut c = app.client();
    for path in ["/healthz", "/readyz", "/metrics"] {
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::TRACE] {
            let r = c
                .send(
                    Request::builder()
                        .method(method.clone())
                        .uri(path)
                        .body(Body::empty())
                        .expect("request"),
                )
                .await;
            assert_eq!(
                r.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}: {}",
                r.body
            );
            let allow = r.header("allow").unwrap_or_default().to_ascii_uppercase();
            assert!(allow.contains("GET"), "{method} {path}: Allow {allow:?}");
        }
        assert_eq!(c.get(path).await.status, StatusCode::OK, "GET {path}");
    }
    // A real state change still needs its token.
    let r = c
        .send(
            Request::delete("/api/v1/uploads/0123456789abcdef0123456789abcdef")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_creates_a_few_accounts_then_is_told_to_wait() {
    // 60 accounts in 1.8 s came from one address. Now the default allows 5 per 15 minutes.
    let app = WebApp::with_config(Engine::Sqlite, |c| {
        c.sign_in_limits = web::state::limiter::Limits::DEFAULT;
    })
    .await;
    for i in 0..5 {
        app.client_from("10.7.0.1:1")
            .sign_up(&format!("bulk{i}@example.com"))
            .await;
    }
    let mut sixth = app.client_from("10.7.0.1:2");
    let r = sixth
        .json(
            Method::POST,
            "/api/v1/signup",
            &json!({"email": "bulk5@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    let wait: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=900).contains(&wait), "{wait}");
    assert!(api_message(&r).contains("Too many"), "{}", r.body);
    // Nothing was created, and another address is not affected.
    let r = app
        .client_from("10.7.0.1:3")
        .sign_in("bulk5@example.com", PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    app.client_from("10.7.0.2:1")
        .sign_up("elsewhere@example.com")
        .await;
}

// ---------------------------------------------------------------------------------------------
// 7. Share links: exactly the view chosen, to anyone with the link, until it is revoked.

/// The form fields that make a link to `view` (with its `query`) of `uploads`.
fn share_fields(view: &str, query: &str, uploads: &str) -> Vec<(&'static str, String)> {
    vec![
        ("view", view.to_string()),
        ("query", query.to_string()),
        ("uploads", uploads.to_string()),
        ("display_name", "Victim V.".to_string()),
        ("days", "30".to_string()),
    ]
}

/// The link's token in the page that made it (`…/s/<token>`).
fn token_in(body: &str) -> String {
    let at = body
        .find("/s/")
        .unwrap_or_else(|| panic!("no link in {body}"))
        + 3;
    body[at..at + 43].to_string()
}

/// Makes a link as `c` (through the form) and returns its token.
async fn make_share(c: &mut Client, view: &str, query: &str, uploads: &str) -> String {
    let fields = share_fields(view, query, uploads);
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = c.post_form("/shares", &borrowed).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    token_in(&r.body)
}

/// The value of every `href="…"` in a page.
fn hrefs(body: &str) -> Vec<String> {
    body.match_indices("href=\"")
        .map(|(i, m)| {
            let from = i + m.len();
            body[from..from + body[from..].find('"').expect("closed")].replace("&amp;", "&")
        })
        .collect()
}

/// Ana's history: her artist (30 minutes) and a second one (12 minutes), all in March 2024.
fn anas_history() -> Vec<u8> {
    let mut records = Vec::new();
    for i in 0..10 {
        records.push(stream(
            i,
            180_000,
            "Lantern Song",
            "Ada Quartz",
            "Quartz Album",
        ));
    }
    for i in 10..14 {
        records.push(stream(i, 180_000, "Flint Tune", "Bea Flint", "Flint Album"));
    }
    serde_json::to_vec(&records).expect("JSON")
}

/// `/s/<token>` and its card answer 404 (a page that says so), as for a token never made.
async fn assert_link_gone(c: &mut Client, token: &str, why: &str) {
    for path in [format!("/s/{token}"), format!("/s/{token}/card.png")] {
        let r = c.get(&path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{why}: {path}: {}", r.body);
        assert!(!r.body.contains("Ada Quartz"), "{why}: {path}");
    }
}

both_engines!(a_share_link_shows_exactly_its_view_to_anyone_and_nothing_else);
async fn a_share_link_shows_exactly_its_view_to_anyone_and_nothing_else(engine: Engine) {
    let app = WebApp::new(engine).await;
    let mut ana = app.client();
    ana.sign_up("ana@example.com").await;
    let upload = app
        .upload_and_ingest(&mut ana, HISTORY_NAME, &anas_history())
        .await;
    assert_eq!(upload["state"], "ready", "{upload}");
    let upload_id = upload["id"].as_str().expect("id").to_string();

    // From her recap, "Share this view" opens the form for exactly that view.
    let recap = ana.get("/dashboard/recap/2024").await;
    let share_href = hrefs(&recap.body)
        .into_iter()
        .find(|h| h.starts_with("/shares/new"))
        .expect("a Share this view link on the recap");
    let form = ana.get(&share_href).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("action=\"/shares\""), "{}", form.body);
    assert!(form.body.contains("value=\"recap/2024\""), "{}", form.body);
    assert!(form.body.contains("2024 recap"), "{}", form.body);

    let r = ana
        .post_form(
            "/shares",
            &[
                ("view", "recap/2024"),
                ("query", ""),
                ("uploads", &upload_id),
                ("display_name", "Ana L."),
                ("days", "30"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let token = token_in(&r.body);
    assert!(
        r.body
            .contains(&format!("value=\"http://backspin.test/s/{token}\"")),
        "the page shows the whole link: {}",
        r.body
    );
    // Only the token's hash is stored.
    let hashes = texts(&app, "SELECT token_hash FROM shares").await;
    assert_eq!(hashes.len(), 1);
    assert!(!hashes[0].contains(&token) && hashes[0].len() == 64);
    assert!(stored(&app).await.iter().all(|l| !l.contains(&token)));

    // A browser that never signed in opens it.
    let mut stranger = app.client_from("10.9.9.9:999");
    let page = stranger.get(&format!("/s/{token}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for shown in [
        "Ana L.’s 2024 in music",
        "Ada Quartz",
        "Lantern Song",
        "42 min",
    ] {
        assert!(page.body.contains(shown), "{shown} in {}", page.body);
    }
    assert!(
        page.body
            .contains("<meta name=\"robots\" content=\"noindex, nofollow\">")
    );
    assert!(page.body.contains(&format!(
        "<meta property=\"og:image\" content=\"http://backspin.test/s/{token}/card.png\">"
    )));
    assert_eq!(page.header("x-robots-tag"), Some("noindex, nofollow"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    for secret in [
        "ana@example.com",
        upload_id.as_str(),
        HISTORY_NAME,
        "<form",
        "csrf",
    ] {
        assert!(
            !page.body.contains(secret),
            "the shared page shows {secret}"
        );
    }
    let card = format!("/s/{token}/card.png");
    for href in hrefs(&page.body) {
        assert!(
            href == "/" || href == card || href.starts_with("/static/") || href == "data:,",
            "the shared page leads to {href}"
        );
    }
    // The address's query changes nothing: no other range, content or upload.
    for other in [
        "?range=2023",
        "?content=podcasts",
        "?u=0123456789abcdef0123456789abcdef",
    ] {
        let again = stranger.get(&format!("/s/{token}{other}")).await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(again.body, page.body, "{other}");
    }

    // Its card: a PNG of Open Graph's size.
    let png = stranger.get(&card).await;
    assert_eq!(png.status, StatusCode::OK);
    assert_eq!(png.header("content-type"), Some("image/png"));
    assert_eq!(png.header("x-robots-tag"), Some("noindex, nofollow"));

    // The token opens nothing else: every other route, with the token in each of its
    // parameters or its query, from the stranger and from another account.
    let mut bob = app.client_from("10.9.9.8:999");
    bob.sign_up("bob@example.com").await;
    let share_routes = [
        route("GET", "/s/{token}"),
        route("GET", "/s/{token}/card.png"),
    ];
    let mut walked = 0;
    for (method, path) in declared_routes() {
        if share_routes.contains(&(method.clone(), path.clone())) {
            continue;
        }
        let with_token = if path.contains('{') {
            let mut p = path.clone();
            while let (Some(a), Some(b)) = (p.find('{'), p.find('}')) {
                p.replace_range(a..=b, &token);
            }
            p
        } else {
            format!("{path}?token={token}&share={token}&s={token}")
        };
        for (who, c) in [("a stranger", &mut stranger), ("Bob", &mut bob)] {
            // Without a CSRF token: a state change the token might smuggle is refused anyway,
            // and the walk itself changes nothing (Bob stays signed in).
            let r = c
                .send(
                    Request::builder()
                        .method(method.as_str())
                        .uri(&with_token)
                        .body(Body::empty())
                        .expect("request"),
                )
                .await;
            assert!(
                !r.body.contains("Ada Quartz") && !r.body.contains("Lantern Song"),
                "{who}: {method} {with_token} shows the shared view"
            );
            if path.contains('{') {
                assert!(
                    r.status.is_client_error(),
                    "{who}: {method} {with_token}: {}",
                    r.status
                );
            }
            walked += 1;
        }
    }
    assert!(walked > 80, "{walked} requests");
    let cut = &token[..42];
    let upper = token.to_ascii_uppercase();
    for near in [
        format!("/s/{token}/"),
        format!("/s/{token}x"),
        format!("/s/{cut}"),
        format!("/s/{upper}"),
        format!("/s/{token}/card.svg"),
        format!("/s/{token}/card.png/x"),
        format!("/s/{token}/dashboard"),
        "/s/".to_string(),
    ] {
        let r = stranger.get(&near).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{near}");
        assert!(!r.body.contains("Ada Quartz"), "{near}");
    }

    // Bob can neither revoke Ana's link nor share her upload.
    let account = ana.get("/account").await;
    assert!(account.body.contains("Ana L."), "{}", account.body);
    assert!(account.body.contains("2024 recap"), "{}", account.body);
    let revoke = hrefs(&account.body); // forms carry actions, not hrefs
    assert!(revoke.iter().all(|h| !h.contains("/revoke")));
    let at = account.body.find("/revoke\"").expect("a revoke form");
    let from = account.body[..at].rfind("/shares/").expect("its action");
    let revoke_path = format!("{}/revoke", &account.body[from..at]);
    let r = bob.post_form(&revoke_path, &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = bob
        .post_form(
            "/shares",
            &[
                ("view", "dashboard"),
                ("query", ""),
                ("uploads", &upload_id),
                ("display_name", "Bob"),
                ("days", "30"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(
        stranger.get(&format!("/s/{token}")).await.status,
        StatusCode::OK
    );

    // Ana revokes it: it stops at once, and leaves her list.
    let r = ana.post_form(&revoke_path, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_link_gone(&mut stranger, &token, "revoked").await;
    let account = ana
        .get(r.location().expect("back to the account page"))
        .await;
    assert!(!account.body.contains("Ana L."), "{}", account.body);
    assert!(account.body.contains("The link was revoked"));
}

#[tokio::test]
async fn share_links_die_with_their_expiry_uploads_and_account_and_never_reach_a_log() {
    // Thread-local capture: this test runs on one thread.
    let log = CapturedLog::default();
    let _capture = tracing::subscriber::set_default(log.subscriber_at(tracing::Level::TRACE));
    let app = WebApp::new(Engine::Sqlite).await;

    // An anonymous visitor cannot make a link; the form says how to.
    let mut cleo = app.client_from("10.9.9.7:999");
    let hers = app
        .upload_and_ingest(&mut cleo, HISTORY_NAME, &small_history())
        .await;
    let asked = cleo.get("/shares/new?view=dashboard").await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(asked.body.contains("sign up"), "{}", asked.body);
    let fields = share_fields("dashboard", "", hers["id"].as_str().expect("id"));
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = cleo.post_form("/shares", &borrowed).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert!(texts(&app, "SELECT id FROM shares").await.is_empty());

    let mut ana = app.client();
    ana.sign_up("ana@example.com").await;
    let first = app
        .upload_and_ingest(&mut ana, HISTORY_NAME, &anas_history())
        .await;
    let first = first["id"].as_str().expect("id").to_string();

    // A name that is an e-mail address, no name, or a lifetime not offered: refused, nothing kept.
    for (name, days, status, says) in [
        (
            "ana@example.com",
            "30",
            StatusCode::UNPROCESSABLE_ENTITY,
            "not an e-mail address",
        ),
        (
            "  ",
            "30",
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose the name",
        ),
        ("Ana", "2", StatusCode::BAD_REQUEST, "“days” must be"),
    ] {
        let r = ana
            .post_form(
                "/shares",
                &[
                    ("view", "dashboard"),
                    ("query", ""),
                    ("uploads", &first),
                    ("display_name", name),
                    ("days", days),
                ],
            )
            .await;
        assert_eq!(r.status, status, "{name:?} {days}: {}", r.body);
        assert!(page_alert(&r).contains(says), "{}", page_alert(&r));
    }
    assert!(texts(&app, "SELECT id FROM shares").await.is_empty());

    let dashboard = make_share(&mut ana, "dashboard", "content=music", &first).await;
    let artist = make_share(&mut ana, "artist", "name=Ada+Quartz", &first).await;
    let expiring = make_share(&mut ana, "compare", "range=2024", &first).await;
    let mut stranger = app.client_from("10.9.9.6:999");
    for t in [&dashboard, &artist, &expiring] {
        assert_eq!(
            stranger.get(&format!("/s/{t}")).await.status,
            StatusCode::OK
        );
    }

    // Expired: 404 at once, and gone from the list.
    let expired = app
        .pipeline
        .execute(&format!(
            "UPDATE shares SET expires_ms = {} WHERE view = 'compare'",
            storage::db::now_ms() - 1
        ))
        .await;
    assert_eq!(expired, 1);
    assert_link_gone(&mut stranger, &expiring, "expired").await;

    // A later upload never shows through a link made before it.
    let second = app
        .upload_and_ingest(
            &mut ana,
            "Streaming_History_Audio_2024_1.json",
            &history(&[("New Dawn", "Zed Newcomer", "Fresh")], 5, 200_000),
        )
        .await;
    assert!(ana.get("/dashboard").await.body.contains("Zed Newcomer"));
    let shared = stranger.get(&format!("/s/{dashboard}")).await;
    assert_eq!(shared.status, StatusCode::OK);
    assert!(shared.body.contains("Ada Quartz") && !shared.body.contains("Zed Newcomer"));

    // Deleting an upload behind links ends them.
    let r = ana
        .act(Method::DELETE, &format!("/api/v1/uploads/{first}"))
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    app.work().await;
    assert_link_gone(&mut stranger, &dashboard, "upload deleted").await;
    assert_link_gone(&mut stranger, &artist, "upload deleted").await;
    let account = ana.get("/account").await;
    assert!(account.body.contains("Links you shared") && !account.body.contains("Victim V."));

    // Deleting the account ends the rest.
    let last = make_share(
        &mut ana,
        "dashboard",
        "",
        second["id"].as_str().expect("id"),
    )
    .await;
    assert_eq!(
        stranger.get(&format!("/s/{last}")).await.status,
        StatusCode::OK
    );
    let r = ana
        .json(
            Method::DELETE,
            "/api/v1/account",
            &json!({"password": PASSWORD}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let last_gone = last.clone();
    assert_link_gone(&mut stranger, &last_gone, "account deleted").await;
    assert!(texts(&app, "SELECT id FROM shares").await.is_empty());

    // No token ever reached the log.
    let text = log.text();
    assert!(text.contains("share link created"), "the capture works");
    for t in [&dashboard, &artist, &expiring, &last] {
        assert!(!text.contains(t.as_str()), "a token in the log");
    }
}
