//! The web application as its users meet it: accounts through the pages, anonymous uploads
//! and their claim, the sample data, selections of overlapping uploads, settings, the export,
//! the admin page, health and metrics, and one request over a real socket.
//!
//! Security properties (ownership, CSRF, cookies, headers, rate limits, escaping, size limits)
//! are covered by `web_security.rs`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use e2e::web::{Client, PASSWORD, Reply, WebApp, get_json, ready_upload};
use e2e::{Engine, both_engines, fixtures};
use serde_json::{Value, json};
use storage::on_pool;
use storage::uploads::State;

// ----------------------------------------------------------------------------------------
// Helpers
// ----------------------------------------------------------------------------------------

/// A sample file's bytes (real exports, `testdata/samples`).
fn sample(path: &str) -> Vec<u8> {
    let p = fixtures::samples().join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// 552 extended-history records.
const EXTENDED: &str = "extended/Streaming_History_Audio_2023_2.json";
/// 597 account-data podcast records.
const PODCASTS: &str = "account/StreamingHistory_podcast_0.json";

/// A generated export of 2,000 streams in audio files of about 400 kB, made once.
fn generated() -> &'static synth::Export {
    static EXPORT: OnceLock<synth::Export> = OnceLock::new();
    EXPORT.get_or_init(|| fixtures::export(2_000, 41, 400_000))
}

/// The generated export's audio files (what its facts cover).
fn audio_files() -> Vec<(String, Vec<u8>)> {
    let files: Vec<_> = generated()
        .files
        .iter()
        .filter(|(name, _)| name.contains("Audio"))
        .cloned()
        .collect();
    assert!(files.len() >= 3, "enough files to overlap: {}", files.len());
    files
}

/// `files` as the bytes of a zip.
fn zip_bytes(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("my_spotify_data.zip");
    fixtures::write_zip(files, &path);
    std::fs::read(&path).expect("read zip")
}

/// One number from the database: `sql` with `arg` bound as `$1`.
async fn count(app: &WebApp, sql: &str, arg: &str) -> i64 {
    on_pool!(app.pipeline.db(), p => sqlx::query_scalar::<_, i64>(sql).bind(arg).fetch_one(p).await)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every file below `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Stored objects (files under `objects/`) whose path names `id` (a user or an upload).
fn objects_of(app: &WebApp, id: &str) -> usize {
    files_under(&app.pipeline.data.path().join("objects"))
        .iter()
        .filter(|p| p.to_string_lossy().contains(id))
        .count()
}

/// The user id behind an e-mail.
async fn user_id(app: &WebApp, email: &str) -> storage::ids::UserId {
    storage::users::by_email(app.pipeline.db(), email)
        .await
        .expect("read user")
        .unwrap_or_else(|| panic!("no user {email}"))
        .id
}

/// The text of a dashboard card (`data-stat="name"`).
fn stat<'a>(body: &'a str, name: &str) -> &'a str {
    let marker = format!("data-stat=\"{name}\">");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {marker} in the page"))
        + marker.len();
    let end = body[start..].find('<').expect("closing tag") + start;
    &body[start..end]
}

/// Text as maud escapes it in a page.
fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Asserts a form answered with a redirect to `to`.
fn assert_redirect(r: &Reply, to: &str) {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), Some(to), "redirect target");
}

/// The ids of the visitor's uploads, sorted.
async fn listed_ids(c: &mut Client) -> Vec<String> {
    let r = c.get("/api/v1/uploads").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut ids: Vec<String> = r
        .json()
        .as_array()
        .expect("a list")
        .iter()
        .map(|u| u["id"].as_str().expect("id").to_string())
        .collect();
    ids.sort();
    ids
}

/// Signs up through the sign-up form; panics unless it redirected to the uploads.
async fn sign_up_form(c: &mut Client, email: &str, password: &str) {
    let r = c
        .post_form("/signup", &[("email", email), ("password", password)])
        .await;
    assert_redirect(&r, "/uploads?done=welcome");
    let welcome = c.get("/uploads?done=welcome").await;
    assert!(
        welcome.body.contains("Welcome to Backspin"),
        "{}",
        welcome.body
    );
}

// ----------------------------------------------------------------------------------------
// 1. Accounts through the pages
// ----------------------------------------------------------------------------------------

both_engines!(accounts_are_created_used_and_secured_through_the_pages);

async fn accounts_are_created_used_and_secured_through_the_pages(engine: Engine) {
    let app = WebApp::new(engine).await;
    let email = "ana@example.com";
    let mut c = app.client();

    // Sign up: the uploads page, signed in.
    sign_up_form(&mut c, email, PASSWORD).await;
    let page = c.get("/uploads").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Sign out"), "the nav offers signing out");
    assert!(
        !page.body.contains("href=\"/signin\""),
        "and not signing in"
    );
    assert_eq!(c.get("/account").await.status, StatusCode::OK);

    // Sign out: the account page asks to sign in.
    let r = c.post_form("/signout", &[]).await;
    assert_redirect(&r, "/");
    let r = c.get("/account").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert!(r.body.contains("Please sign in"), "{}", r.body);
    assert!(r.body.contains("<!DOCTYPE html>"), "a page, not JSON");

    // Sign in again.
    let r = c
        .post_form("/signin", &[("email", email), ("password", PASSWORD)])
        .await;
    assert_redirect(&r, "/uploads");
    let r = c.get("/account").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains(email), "signed in as ana");

    // A wrong password: the form again, with the message and the e-mail as typed.
    let mut other = app.client();
    let typed = "Ana@Example.com";
    let r = other
        .post_form(
            "/signin",
            &[("email", typed), ("password", "not my password")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Wrong e-mail or password"), "{}", r.body);
    assert!(
        r.body.contains(&format!("value=\"{typed}\"")),
        "the e-mail typed stays in the form"
    );
    assert!(
        !r.body.contains("not my password"),
        "the password is not echoed"
    );
    assert_eq!(other.get("/account").await.status, StatusCode::UNAUTHORIZED);

    // The e-mail is taken (in any case).
    let r = other
        .post_form(
            "/signup",
            &[
                ("email", "ANA@example.com"),
                ("password", "another good password"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("could not create an account"), "{}", r.body);
    assert!(
        !r.body.contains("exists"),
        "no claim that an account exists: {}",
        r.body
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM users WHERE email = $1", email).await,
        1
    );

    // A second browser signed in to the same account.
    let mut second = app.client();
    let r = second.sign_in(email, PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(second.get("/account").await.status, StatusCode::OK);

    // Changing the password needs the current one.
    let new_password = "a brand new passphrase";
    let r = c
        .post_form(
            "/account/password",
            &[
                ("current_password", "not my password"),
                ("new_password", new_password),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("current password is wrong"), "{}", r.body);
    assert_eq!(
        second.get("/account").await.status,
        StatusCode::OK,
        "nothing changed"
    );

    let r = c
        .post_form(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new_password),
            ],
        )
        .await;
    assert_redirect(&r, "/account?done=password");
    let r = c.get("/account?done=password").await;
    assert_eq!(r.status, StatusCode::OK, "this browser stays signed in");
    assert!(r.body.contains("Password changed"), "{}", r.body);
    assert_eq!(
        second.get("/account").await.status,
        StatusCode::UNAUTHORIZED,
        "the other browser is signed out"
    );

    // The old password no longer works; the new one does.
    let mut third = app.client();
    let r = third
        .post_form("/signin", &[("email", email), ("password", PASSWORD)])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = third
        .post_form("/signin", &[("email", email), ("password", new_password)])
        .await;
    assert_redirect(&r, "/uploads");
    assert_eq!(third.get("/account").await.status, StatusCode::OK);
}

// ----------------------------------------------------------------------------------------
// 2. Deleting an account
// ----------------------------------------------------------------------------------------

both_engines!(deleting_an_account_removes_everything_of_it_and_nothing_of_anyone_else);

async fn deleting_an_account_removes_everything_of_it_and_nothing_of_anyone_else(engine: Engine) {
    let app = WebApp::new(engine).await;
    let mut ana = app.client();
    sign_up_form(&mut ana, "ana@example.com", PASSWORD).await;
    let a1 = ready_upload(&app, &mut ana, "audio.json", &sample(EXTENDED)).await;
    let a2 = ready_upload(&app, &mut ana, "podcasts.json", &sample(PODCASTS)).await;
    let mut ana_elsewhere = app.client();
    assert_eq!(
        ana_elsewhere
            .sign_in("ana@example.com", PASSWORD)
            .await
            .status,
        StatusCode::OK
    );

    // Bo holds the very same streams as Ana's first upload.
    let mut bo = app.client();
    sign_up_form(&mut bo, "bo@example.com", PASSWORD).await;
    let b1 = ready_upload(&app, &mut bo, "audio.json", &sample(EXTENDED)).await;
    let bo_stats = get_json(&mut bo, "/api/v1/stats").await;
    let bo_plays = app.pipeline.play_count(&b1).await;

    let ana_id = user_id(&app, "ana@example.com").await;
    let bo_id = user_id(&app, "bo@example.com").await;
    assert!(app.pipeline.play_count(&a1).await > 0 && app.pipeline.play_count(&a2).await > 0);
    assert!(
        count(
            &app,
            "SELECT COUNT(*) FROM artifacts WHERE user_id = $1",
            &ana_id
        )
        .await
            > 0
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM sessions WHERE user_id = $1",
            &ana_id
        )
        .await,
        2
    );
    assert_eq!(objects_of(&app, &ana_id), 2);

    // The wrong password deletes nothing.
    let r = ana
        .post_form("/account/delete", &[("password", "not my password")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("current password is wrong"), "{}", r.body);
    assert_eq!(listed_ids(&mut ana).await.len(), 2);

    let r = ana
        .post_form("/account/delete", &[("password", PASSWORD)])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Your account is deleted"), "{}", r.body);

    for (what, sql) in [
        ("user row", "SELECT COUNT(*) FROM users WHERE id = $1"),
        (
            "uploads",
            "SELECT COUNT(*) FROM uploads WHERE owner_id = $1",
        ),
        (
            "artifact",
            "SELECT COUNT(*) FROM artifacts WHERE user_id = $1",
        ),
        (
            "finished views",
            "SELECT COUNT(*) FROM views WHERE user_id = $1",
        ),
        (
            "sessions",
            "SELECT COUNT(*) FROM sessions WHERE user_id = $1",
        ),
    ] {
        assert_eq!(count(&app, sql, &ana_id).await, 0, "Ana's {what} are gone");
    }
    for id in [&a1, &a2] {
        assert_eq!(app.pipeline.play_count(id).await, 0);
        assert!(app.pipeline.upload(id).await.is_none());
    }
    assert_eq!(objects_of(&app, &ana_id), 0, "Ana's files are gone");
    assert_eq!(ana.get("/account").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        ana_elsewhere.get("/account").await.status,
        StatusCode::UNAUTHORIZED,
        "every session of the account ended"
    );
    let r = app.client().sign_in("ana@example.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    // Bo keeps everything.
    assert_eq!(listed_ids(&mut bo).await, vec![b1.clone()]);
    assert_eq!(app.pipeline.play_count(&b1).await, bo_plays);
    assert_eq!(objects_of(&app, &bo_id), 1);
    let after = get_json(&mut bo, "/api/v1/stats").await;
    assert_eq!(
        after["total"], bo_stats["total"],
        "Bo's stats are untouched"
    );
    assert_eq!(bo.get("/account").await.status, StatusCode::OK);
}

// ----------------------------------------------------------------------------------------
// 3. Anonymous use, claim and expiry
// ----------------------------------------------------------------------------------------

const ANONYMOUS_NOTICE: &str = "These uploads live in this browser only";

both_engines!(an_anonymous_visitor_uploads_without_an_account_and_signing_up_keeps_the_uploads);

async fn an_anonymous_visitor_uploads_without_an_account_and_signing_up_keeps_the_uploads(
    engine: Engine,
) {
    let app = WebApp::new(engine).await;
    let day = Duration::from_secs(24 * 3600).as_millis() as i64;

    // A visitor with no account drops two files on the page's form.
    let mut visitor = app.client();
    let before = storage::db::now_ms();
    let (extended, podcasts) = (sample(EXTENDED), sample(PODCASTS));
    let r = visitor
        .upload_form(&[
            ("Streaming_History_Audio_2023_2.json", &extended),
            ("StreamingHistory_podcast_0.json", &podcasts),
        ])
        .await;
    let after = storage::db::now_ms();
    assert_redirect(&r, "/uploads");
    assert!(
        r.header("set-cookie")
            .is_some_and(|c| c.starts_with("bs_session=") && c.contains("Max-Age=86400")),
        "a session for 24 hours: {:?}",
        r.header("set-cookie")
    );
    let session = get_json(&mut visitor, "/api/v1/session").await;
    assert_eq!(
        (session["anonymous"].clone(), session["signed_in"].clone()),
        (json!(true), json!(false))
    );
    app.work().await;

    let ids = listed_ids(&mut visitor).await;
    assert_eq!(ids.len(), 2, "both files of the form are uploads");
    for id in &ids {
        let u = app.pipeline.upload(id).await.expect("stored");
        assert_eq!(u.state, State::Ready, "{:?}", u.reason);
        let expires = u.expires_ms.expect("an anonymous upload expires");
        assert!(
            (before + day..=after + day).contains(&expires),
            "expires 24 h after the upload: {expires} not in {}..={}",
            before + day,
            after + day
        );
        let view = get_json(&mut visitor, &format!("/api/v1/uploads/{id}")).await;
        assert!(view["expires"].is_string(), "{view}");
    }
    let page = visitor.get("/uploads").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(ANONYMOUS_NOTICE), "the anonymous notice");
    assert!(page.body.contains("Streaming_History_Audio_2023_2.json"));
    assert!(page.body.contains("StreamingHistory_podcast_0.json"));
    let stats_before = get_json(&mut visitor, "/api/v1/stats").await;
    assert!(
        stats_before["total"]["streams"].as_u64().unwrap() > 1_000,
        "{stats_before}"
    );

    // Another visitor sees none of it, and has uploads of their own.
    let mut stranger = app.client();
    assert_eq!(listed_ids(&mut stranger).await, Vec::<String>::new());
    let page = stranger.get("/uploads").await;
    assert!(!page.body.contains("Streaming_History_Audio_2023_2.json"));
    let r = stranger.upload("stranger.json", &extended).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let stranger_upload = r.json()["upload"]["id"].as_str().unwrap().to_string();
    app.work().await;
    assert_eq!(
        listed_ids(&mut stranger).await,
        vec![stranger_upload.clone()]
    );
    assert_eq!(
        listed_ids(&mut visitor).await,
        ids,
        "each sees only their own"
    );

    // Signing up with an e-mail another account has keeps the visitor as they were.
    let visitor_id = app.pipeline.upload(&ids[0]).await.unwrap().owner_id;
    app.client().sign_up("taken@example.com").await;
    let r = visitor
        .post_form(
            "/signup",
            &[("email", "taken@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("could not create an account"), "{}", r.body);
    assert!(
        !r.body.contains("exists"),
        "no claim that an account exists: {}",
        r.body
    );
    assert_eq!(
        get_json(&mut visitor, "/api/v1/session").await["anonymous"],
        true
    );
    assert_eq!(listed_ids(&mut visitor).await, ids);
    for id in &ids {
        assert!(
            app.pipeline.upload(id).await.unwrap().expires_ms.is_some(),
            "still expiring"
        );
    }

    // Signing up from the first browser claims both uploads.
    sign_up_form(&mut visitor, "claimer@example.com", PASSWORD).await;
    assert_eq!(
        user_id(&app, "claimer@example.com").await,
        visitor_id,
        "the same user, claimed"
    );
    assert_eq!(listed_ids(&mut visitor).await, ids, "the same uploads");
    for id in &ids {
        let view = get_json(&mut visitor, &format!("/api/v1/uploads/{id}")).await;
        assert_eq!(
            view["expires"],
            Value::Null,
            "claimed uploads do not expire: {view}"
        );
        assert_eq!(view["state"], "ready");
    }
    let page = visitor.get("/uploads").await;
    assert!(
        !page.body.contains(ANONYMOUS_NOTICE),
        "no anonymous notice once signed up"
    );
    assert!(page.body.contains("Sign out"));
    let stats_after = get_json(&mut visitor, "/api/v1/stats").await;
    assert_eq!(stats_after["total"], stats_before["total"], "stats intact");
    assert_eq!(stats_after["by_month"], stats_before["by_month"]);
    let claimed_plays: Vec<i64> = {
        let mut v = Vec::new();
        for id in &ids {
            v.push(app.pipeline.play_count(id).await);
        }
        v
    };

    // Time passes for everything that still expires: the sweeper deletes the stranger.
    let stranger_id = app
        .pipeline
        .upload(&stranger_upload)
        .await
        .unwrap()
        .owner_id;
    app.pipeline
        .execute("UPDATE users SET expires_ms = 1 WHERE expires_ms IS NOT NULL")
        .await;
    app.pipeline
        .execute("UPDATE uploads SET expires_ms = 1 WHERE expires_ms IS NOT NULL")
        .await;
    let swept = ingest_worker::lifecycle::sweep(&app.pipeline.deps())
        .await
        .expect("sweep");
    assert_eq!(swept, 2, "the stranger's upload and the stranger");
    assert!(app.pipeline.upload(&stranger_upload).await.is_none());
    assert_eq!(app.pipeline.play_count(&stranger_upload).await, 0);
    assert_eq!(objects_of(&app, &stranger_id), 0);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM users WHERE id = $1",
            &stranger_id
        )
        .await,
        0
    );
    assert_eq!(listed_ids(&mut stranger).await, Vec::<String>::new());

    // The claimed account keeps everything.
    assert_eq!(listed_ids(&mut visitor).await, ids);
    for (id, plays) in ids.iter().zip(&claimed_plays) {
        assert_eq!(app.pipeline.play_count(id).await, *plays);
    }
    assert_eq!(objects_of(&app, &visitor_id), 2);
    assert_eq!(
        get_json(&mut visitor, "/api/v1/stats").await["total"],
        stats_before["total"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unclaimed_visitor_is_swept_with_everything_once_the_anonymous_ttl_passes() {
    let ttl = Duration::from_millis(1_000);
    let app = WebApp::with_config(Engine::Sqlite, |c| c.anonymous_ttl = ttl).await;
    let mut visitor = app.client();
    let started = std::time::Instant::now();
    let u = app
        .upload_and_ingest(&mut visitor, "audio.json", &sample(EXTENDED))
        .await;
    assert_eq!(u["state"], "ready", "{u}");
    let id = u["id"].as_str().unwrap().to_string();
    let owner = app.pipeline.upload(&id).await.unwrap().owner_id;
    assert!(app.pipeline.play_count(&id).await > 0);
    assert_eq!(objects_of(&app, &owner), 1);

    // Before the TTL, the sweeper leaves it alone (when this machine got here in time).
    let swept = ingest_worker::lifecycle::sweep(&app.pipeline.deps())
        .await
        .expect("sweep");
    if started.elapsed() < ttl / 2 {
        assert_eq!(swept, 0, "nothing expired yet");
        assert_eq!(listed_ids(&mut visitor).await, vec![id.clone()]);
    }

    tokio::time::sleep(ttl.saturating_sub(started.elapsed()) + Duration::from_millis(200)).await;
    assert_eq!(
        listed_ids(&mut visitor).await,
        Vec::<String>::new(),
        "the session ended with the TTL"
    );
    let swept = ingest_worker::lifecycle::sweep(&app.pipeline.deps())
        .await
        .expect("sweep");
    assert_eq!(swept, 2, "the upload and the visitor");
    assert!(app.pipeline.upload(&id).await.is_none());
    assert_eq!(app.pipeline.play_count(&id).await, 0);
    assert_eq!(objects_of(&app, &owner), 0);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM users WHERE id = $1", &owner).await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM views WHERE user_id = $1",
            &owner
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM sessions WHERE user_id = $1",
            &owner
        )
        .await,
        0
    );
}

// ----------------------------------------------------------------------------------------
// 4. The sample data
// ----------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trying_the_sample_data_gives_a_new_visitor_a_ready_dashboard() {
    let app = WebApp::new(Engine::Sqlite).await;
    let mut c = app.client();
    let r = c.post_form("/sample", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let to = r.location().expect("a redirect").to_string();
    assert!(to.starts_with("/uploads#upload-"), "{to}");
    assert_eq!(c.get("/uploads").await.status, StatusCode::OK);
    app.work().await;

    let list = get_json(&mut c, "/api/v1/uploads").await;
    let list = list.as_array().expect("a list");
    assert_eq!(list.len(), 1, "{list:?}");
    let u = &list[0];
    assert_eq!(to, format!("/uploads#upload-{}", u["id"].as_str().unwrap()));
    assert_eq!(u["state"], "ready", "{u}");
    assert_eq!(u["name"], "sample_my_spotify_data.zip");
    let plays = u["summary"]["plays"].as_u64().expect("plays");
    assert!(plays >= 5_000, "thousands of plays: {u}");

    let page = c.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let shown: u64 = stat(&page.body, "plays")
        .replace(',', "")
        .parse()
        .expect("a number");
    assert_eq!(shown, plays, "the dashboard counts the sample's plays");
    assert!(stat(&page.body, "hours") != "0 h");
    assert!(page.body.contains("sample_my_spotify_data.zip"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_stays_apart_from_real_data_labelled_and_offered_for_deletion() {
    let app = WebApp::new(Engine::Sqlite).await;
    let mut c = app.client();
    c.post_form("/sample", &[]).await;
    app.work().await;
    c.sign_up("sample@example.com").await;
    let alone = get_json(&mut c, "/api/v1/stats").await;
    assert!(
        alone["total"]["plays"].as_u64().unwrap() >= 5_000,
        "with nothing else, everything is the sample: {alone}"
    );
    let page = c.get("/dashboard").await;
    assert!(page.body.contains("Sample data."), "the dashboard says so");

    let files = audio_files();
    let real = ready_upload(&app, &mut c, "my_spotify_data.zip", &zip_bytes(&files[..1])).await;
    let list = get_json(&mut c, "/api/v1/uploads").await;
    let list = list.as_array().unwrap();
    let sample = list
        .iter()
        .find(|u| u["sample"] == true)
        .expect("the sample, marked");
    let mine = list.iter().find(|u| u["id"] == real.as_str()).unwrap();
    assert_eq!(mine["sample"], false);
    let everything = get_json(&mut c, "/api/v1/stats").await;
    assert_eq!(
        everything["total"]["plays"], mine["summary"]["plays"],
        "everything is the real data alone"
    );
    assert_eq!(everything["uploads"], json!([real]));
    let page = c.get("/dashboard").await;
    assert!(!page.body.contains("Sample data."), "{}", page.body);
    let chosen = c
        .get(&format!("/dashboard?u={}", sample["id"].as_str().unwrap()))
        .await;
    assert!(
        chosen.body.contains("Sample data."),
        "chosen by itself it still shows"
    );
    let uploads = c.get("/uploads").await;
    assert!(
        uploads.body.contains(">Sample</span>"),
        "labelled in the list"
    );
    assert!(
        uploads.body.contains(&format!(
            "href=\"/uploads/{}/delete\">Delete the sample",
            sample["id"].as_str().unwrap()
        )),
        "offered for deletion: {}",
        uploads.body
    );
}

both_engines!(signing_in_keeps_what_the_browser_uploaded_before_as_a_visitor);

async fn signing_in_keeps_what_the_browser_uploaded_before_as_a_visitor(engine: Engine) {
    let app = WebApp::new(engine).await;
    let files = audio_files();
    let mut owner = app.client();
    owner.sign_up("keeper@example.com").await;
    let first = ready_upload(&app, &mut owner, "a.zip", &zip_bytes(&files[..1])).await;
    let both_files = zip_bytes(&files[..2]);

    // Another browser, not signed in: it uploads (as an anonymous visitor), then signs in.
    let mut c = app.client();
    let visitor_upload = ready_upload(&app, &mut c, "b.zip", &both_files).await;
    let r = c.sign_in("keeper@example.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let list = get_json(&mut c, "/api/v1/uploads").await;
    let mut ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut want = vec![first.as_str(), visitor_upload.as_str()];
    want.sort();
    assert_eq!(ids, want, "the visitor's upload is the account's now");
    for u in list.as_array().unwrap() {
        assert!(u["expires"].is_null(), "kept, not expiring: {u}");
    }
    // The first file is in both uploads: each of its streams counts once.
    let alone = get_json(&mut c, &format!("/api/v1/stats?uploads={visitor_upload}")).await;
    let together = get_json(&mut c, "/api/v1/stats").await;
    assert_eq!(
        together["total"], alone["total"],
        "b.zip holds a.zip's streams"
    );
    assert!(together["total"]["streams"].as_u64().unwrap() > 0);
    // The visitor is gone.
    assert_eq!(
        app.pipeline
            .execute("DELETE FROM users WHERE anonymous")
            .await,
        0
    );
}

// ----------------------------------------------------------------------------------------
// 5. Selections of overlapping uploads
// ----------------------------------------------------------------------------------------

both_engines!(overlapping_uploads_selected_together_count_each_stream_once);

async fn overlapping_uploads_selected_together_count_each_stream_once(engine: Engine) {
    let app = WebApp::new(engine).await;
    let mut c = app.client();
    c.sign_up("sel@example.com").await;
    let files = audio_files();
    // A is the whole export, B its last files: every stream of B is in A.
    let a = ready_upload(&app, &mut c, "a.zip", &zip_bytes(&files)).await;
    let b = ready_upload(&app, &mut c, "b.zip", &zip_bytes(&files[1..])).await;
    let facts = &generated().facts;
    // And the same export uploaded a second time.
    let again = ready_upload(&app, &mut c, "again.zip", &zip_bytes(&files)).await;
    let twice = get_json(&mut c, &format!("/api/v1/stats?uploads={a},{again}")).await;
    assert_eq!(
        twice["total"]["ms_played"],
        json!(facts.total_ms_played),
        "uploaded twice, counted once"
    );
    assert_eq!(twice["total"]["streams"], json!(facts.unique_records));
    let r = c
        .act(Method::DELETE, &format!("/api/v1/uploads/{again}"))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);

    let both = get_json(&mut c, &format!("/api/v1/stats?uploads={a},{b}")).await;
    let only_a = get_json(&mut c, &format!("/api/v1/stats?uploads={a}")).await;
    let only_b = get_json(&mut c, &format!("/api/v1/stats?uploads={b}")).await;
    let all = get_json(&mut c, "/api/v1/stats").await;
    assert_eq!(
        both["total"], only_a["total"],
        "B adds nothing to A: no double counting"
    );
    assert_eq!(
        all["total"], both["total"],
        "no selection: every ready upload"
    );
    assert_eq!(both["by_month"], only_a["by_month"]);
    let total = &both["total"];
    assert_eq!(
        total["ms_played"],
        json!(facts.total_ms_played),
        "listening time"
    );
    assert_eq!(total["streams"], json!(facts.unique_records), "streams");
    assert_eq!(total["plays"], json!(facts.plays_at_least_30s), "plays");
    assert_eq!(
        both["distinct_artists"],
        json!(facts.distinct_artists),
        "artists"
    );
    assert_eq!(
        both["first_day"].as_str(),
        facts.first_ts.as_deref().map(|t| &t[..10]),
        "first day (UTC)"
    );
    assert_eq!(
        both["last_day"].as_str(),
        facts.last_ts.as_deref().map(|t| &t[..10])
    );
    let mut selected: Vec<&str> = both["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    selected.sort();
    let mut expected = vec![a.as_str(), b.as_str()];
    expected.sort();
    assert_eq!(selected, expected);
    let b_ms = only_b["total"]["ms_played"].as_u64().unwrap();
    assert!(
        b_ms > 0 && b_ms < facts.total_ms_played,
        "B alone is a part of A: {b_ms}"
    );

    // An id the visitor does not have.
    let r = c
        .get(&format!("/api/v1/stats?uploads={a},no-such-upload"))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // A one-year range: its months add up to its total.
    let year = facts
        .ms_played_by_year
        .iter()
        .max_by_key(|(_, ms)| **ms)
        .map(|(y, _)| y.clone())
        .expect("a year");
    let ranged = get_json(
        &mut c,
        &format!("/api/v1/stats?uploads={a},{b}&from={year}-01-01&to={year}-12-31"),
    )
    .await;
    let months = ranged["by_month"].as_array().expect("months");
    assert!(!months.is_empty() && months.len() <= 12, "{months:?}");
    assert!(
        months.iter().all(|m| m["month"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{year}-"))),
        "{months:?}"
    );
    let sum: u64 = months
        .iter()
        .map(|m| m["ms_played"].as_u64().unwrap())
        .sum();
    let in_range = ranged["total"]["ms_played"].as_u64().unwrap();
    assert_eq!(sum, in_range, "the months add up to the range's total");
    let in_year = facts.ms_played_by_year[&year];
    // Time is split at midnight, the facts go by the stream's end: at most a stream's worth
    // on each side of the year differs.
    assert!(
        in_range.abs_diff(in_year) < 2 * 3_600_000,
        "{year}: {in_range} ms in range against {in_year} ms ending in the year"
    );
    assert_eq!(ranged["from"], json!(format!("{year}-01-01")));
    assert!(ranged["first_day"].as_str().unwrap() >= format!("{year}-01-01").as_str());
    assert!(ranged["last_day"].as_str().unwrap() <= format!("{year}-12-31").as_str());

    // Bad dates name the parameter.
    for (query, name) in [
        ("from=2024-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=2023-02-29", "from"),
    ] {
        let r = c.get(&format!("/api/v1/stats?{query}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.body);
        let message = r.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.contains(&format!("“{name}”")), "{query}: {message}");
    }
    let r = c
        .get(&format!("/api/v1/stats?from={year}-12-31&to={year}-01-01"))
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "from after to: {}",
        r.body
    );

    // The dashboard page of the same selection shows what the API says.
    let page = c.get(&format!("/dashboard?u={a}&u={b}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let hours = web::ui::charts::fmt_hours(total["ms_played"].as_u64().unwrap());
    assert_eq!(stat(&page.body, "hours"), hours);
    assert_eq!(
        stat(&page.body, "plays"),
        web::ui::charts::fmt_int(total["plays"].as_u64().unwrap())
    );
    assert!(page.body.contains("a.zip, b.zip") || page.body.contains("b.zip, a.zip"));
    let page = c.get(&format!("/dashboard?u={a}&u=no-such-upload")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

// ----------------------------------------------------------------------------------------
// 6. Settings
// ----------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_settings_rebuilds_the_stats_at_once_without_ingesting_again() {
    let app = WebApp::new(Engine::Sqlite).await;
    let mut c = app.client();
    c.sign_up("tz@example.com").await;
    ready_upload(&app, &mut c, "a.zip", &zip_bytes(&audio_files())).await;
    assert!(
        app.pipeline.queue_rows().await.is_empty(),
        "the queue is empty after the ingest"
    );
    let settings = get_json(&mut c, "/api/v1/settings").await;
    assert_eq!(settings, json!({"tz": "UTC", "min_play_seconds": 30}));
    let before = get_json(&mut c, "/api/v1/stats").await;
    assert_eq!(before["tz"], "UTC");
    assert_eq!(before["min_play_seconds"], 30);

    let wanted = json!({"tz": "America/New_York", "min_play_seconds": 60});
    let r = c.json(Method::PUT, "/api/v1/settings", &wanted).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json(), wanted);
    assert_eq!(get_json(&mut c, "/api/v1/settings").await, wanted);
    assert!(
        app.pipeline.queue_rows().await.is_empty(),
        "no file is ingested again"
    );
    let after = get_json(&mut c, "/api/v1/stats").await;
    assert_eq!(after["tz"], "America/New_York");
    assert_eq!(after["min_play_seconds"], 60);
    let plays = |s: &Value| s["total"]["plays"].as_u64().unwrap();
    assert!(
        plays(&after) < plays(&before),
        "a higher threshold counts fewer plays"
    );
    assert!(plays(&after) > 0);
    assert_eq!(
        after["total"]["ms_played"], before["total"]["ms_played"],
        "the same listening"
    );
    assert_eq!(after["total"]["streams"], before["total"]["streams"]);
    assert_ne!(
        after["by_month"], before["by_month"],
        "months in New York time"
    );

    // Settings the rules refuse change nothing.
    let r = c
        .json(
            Method::PUT,
            "/api/v1/settings",
            &json!({"tz": "Mars/Olympus_Mons", "min_play_seconds": 30}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Mars/Olympus_Mons"),
        "{}",
        r.body
    );
    let r = c
        .json(
            Method::PUT,
            "/api/v1/settings",
            &json!({"tz": "UTC", "min_play_seconds": 601}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(get_json(&mut c, "/api/v1/settings").await, wanted);
    assert_eq!(
        get_json(&mut c, "/api/v1/stats").await["total"],
        after["total"]
    );

    // The account page's form does the same.
    let r = c
        .post_form(
            "/account/settings",
            &[("tz", "UTC"), ("min_play_seconds", "30")],
        )
        .await;
    assert_redirect(&r, "/account?done=settings");
    assert!(app.pipeline.queue_rows().await.is_empty());
    assert_eq!(
        get_json(&mut c, "/api/v1/stats").await["total"],
        before["total"]
    );
    let r = c
        .post_form(
            "/account/settings",
            &[("tz", "UTC"), ("min_play_seconds", "601")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

// ----------------------------------------------------------------------------------------
// 7. Export
// ----------------------------------------------------------------------------------------

const CSV_HEADER: &str = "ts,ms_played,kind,title,creator,collection,uri,reason_start,reason_end,shuffle,skipped,offline,incognito,platform,country";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_holds_each_stored_stream_once_in_time_order() {
    let app = WebApp::new(Engine::Sqlite).await;
    let mut c = app.client();
    c.sign_up("export@example.com").await;
    let files = audio_files();
    let a = ready_upload(&app, &mut c, "a.zip", &zip_bytes(&files[..files.len() - 1])).await;
    let b = ready_upload(&app, &mut c, "b.zip", &zip_bytes(&files[1..])).await;
    let me = user_id(&app, "export@example.com").await;
    let unique = count(
        &app,
        "SELECT streams FROM artifacts WHERE user_id = $1",
        &me,
    )
    .await;
    let stored = app.pipeline.play_count(&a).await + app.pipeline.play_count(&b).await;
    assert!(
        stored > unique,
        "the uploads overlap: {stored} rows, {unique} streams"
    );
    assert_eq!(
        unique,
        generated().facts.unique_records as i64,
        "A and B cover the export"
    );

    let r = c.get("/api/v1/export?format=json").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert!(
        r.header("content-disposition")
            .unwrap()
            .starts_with("attachment")
    );
    let rows = r.json();
    let rows = rows.as_array().expect("an array");
    assert_eq!(rows.len() as i64, unique, "one object per stored stream");
    let ts: Vec<&str> = rows.iter().map(|p| p["ts"].as_str().expect("ts")).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "ordered by ts");
    let ms: u64 = rows.iter().map(|p| p["ms_played"].as_u64().unwrap()).sum();
    assert_eq!(ms, generated().facts.total_ms_played);
    assert_eq!(
        rows[0]["kind"]
            .as_str()
            .map(|k| ["track", "episode", "audiobook", "unknown"].contains(&k)),
        Some(true)
    );

    // The default format is JSON.
    assert_eq!(c.get("/api/v1/export").await.body, r.body);

    let csv = c.get("/api/v1/export?format=csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], CSV_HEADER);
    assert_eq!(lines.len() - 1, rows.len(), "one row per stream");
    assert!(lines[1].starts_with(ts[0]), "{}", lines[1]);
    let page_csv = c.get("/account/export.csv").await;
    assert_eq!(page_csv.status, StatusCode::OK);
    assert_eq!(
        page_csv.body, csv.body,
        "the account page's link gives the same file"
    );
    assert_eq!(c.get("/account/export.json").await.body, r.body);

    let r = c.get("/api/v1/export?format=xml").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    // An anonymous visitor exports through the API; the account page's links need an account.
    let mut visitor = app.client();
    let u = app
        .upload_and_ingest(&mut visitor, "audio.json", &sample(EXTENDED))
        .await;
    let plays = app.pipeline.play_count(u["id"].as_str().unwrap()).await;
    let r = visitor.get("/api/v1/export?format=json").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json().as_array().unwrap().len() as i64, plays);
    assert_eq!(
        visitor.get("/account/export.csv").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        visitor.get("/account/export.json").await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = app.client().get("/api/v1/export?format=json").await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "nobody: nothing to export"
    );
}

// ----------------------------------------------------------------------------------------
// 8. Admin
// ----------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_watch_the_pipeline_and_re_ingest_a_user_while_others_find_nothing() {
    let app = WebApp::with_config(Engine::Sqlite, |c| {
        c.admin_emails = vec!["root@example.com".into()];
    })
    .await;
    let mut root = app.client();
    root.sign_up("Root@Example.com").await;
    let mut ana = app.client();
    ana.sign_up("ana@example.com").await;
    let good = ready_upload(&app, &mut ana, "audio.json", &sample(EXTENDED)).await;
    let bad = app
        .upload_and_ingest(&mut ana, "broken.json", b"{\"this is\": \"not an export\"}")
        .await;
    assert_eq!(bad["state"], "failed", "{bad}");
    let reason = bad["reason"].as_str().expect("a reason").to_string();
    let bad = bad["id"].as_str().unwrap().to_string();
    let plays = app.pipeline.play_count(&good).await;

    // Non-admins: the admin pages do not exist.
    for c in [&mut ana, &mut app.client()] {
        assert_eq!(c.get("/admin").await.status, StatusCode::NOT_FOUND);
        let r = c
            .post_form("/admin/reingest", &[("email", "ana@example.com")])
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    }
    assert!(!ana.get("/uploads").await.body.contains("href=\"/admin\""));
    assert_eq!(
        app.pipeline.upload(&good).await.unwrap().state,
        State::Ready,
        "nothing queued"
    );

    // The admin sees the queue, the workers, the states and the failure.
    assert_eq!(get_json(&mut root, "/api/v1/session").await["admin"], true);
    assert!(root.get("/uploads").await.body.contains("href=\"/admin\""));
    let page = root.get("/admin").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(stat(&page.body, "queue"), "0");
    assert_eq!(stat(&page.body, "workers"), "0");
    assert!(
        page.body.contains("data-state-count=\"ready\">1<"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("data-state-count=\"failed\">1<"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(&escaped(&reason)),
        "the failure's reason: {reason}"
    );
    assert!(page.body.contains(&bad) && page.body.contains("broken.json"));

    // Re-ingesting Ana queues her uploads, and the workers make them ready again.
    let r = root
        .post_form("/admin/reingest", &[("email", "ana@example.com")])
        .await;
    assert_redirect(&r, "/admin?done=reingest");
    assert_eq!(
        app.pipeline.upload(&good).await.unwrap().state,
        State::Queued
    );
    let page = root.get("/admin?done=reingest").await;
    assert!(page.body.contains("Uploads queued for re-ingestion"));
    assert_eq!(stat(&page.body, "queue"), "2", "both of Ana's uploads wait");
    assert!(
        page.body.contains("data-state-count=\"queued\">2<"),
        "{}",
        page.body
    );
    app.work().await;
    let u = app.pipeline.upload(&good).await.unwrap();
    assert_eq!(u.state, State::Ready, "{:?}", u.reason);
    assert_eq!(
        app.pipeline.play_count(&good).await,
        plays,
        "the same plays"
    );
    assert_eq!(
        app.pipeline.upload(&bad).await.unwrap().state,
        State::Failed
    );
    assert_eq!(stat(&root.get("/admin").await.body, "queue"), "0");

    // An unknown e-mail: a message on the form.
    let r = root
        .post_form("/admin/reingest", &[("email", "nobody@example.com")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body
            .contains("No account has the e-mail “nobody@example.com”"),
        "{}",
        r.body
    );
    assert!(app.pipeline.queue_rows().await.is_empty(), "nothing queued");
}

// ----------------------------------------------------------------------------------------
// 9. Health, readiness, metrics
// ----------------------------------------------------------------------------------------

/// Checks Prometheus' text format: every sample line is `name{labels} value` or `name value`
/// and its family has a `# TYPE` line. Returns the samples.
fn check_labels(labels: &str, line: &str) {
    let mut rest = labels;
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once("=\"")
            .unwrap_or_else(|| panic!("label without a quoted value: {line}"));
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "label name {name:?}: {line}"
        );
        // The value runs to the first quote that is not escaped.
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => {
                    let escaped = chars.next().map(|(_, c)| c);
                    assert!(matches!(escaped, Some('\\' | '"' | 'n')), "escape: {line}");
                }
                Some((i, '"')) => break i,
                Some(_) => {}
                None => panic!("unterminated label value: {line}"),
            }
        };
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

fn prometheus_samples(text: &str) -> Vec<(String, String, f64)> {
    let mut typed = std::collections::HashSet::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let name = parts.next().unwrap().to_string();
            let kind = parts.next().unwrap_or("");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(typed.insert(name), "one TYPE line per family: {line}");
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            assert!(line.is_empty() || line.starts_with("# HELP "), "{line}");
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => {
                let l = l
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("unclosed labels: {line}"));
                check_labels(l, line);
                (n, l)
            }
            None => (series, ""),
        };
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.starts_with(|c: char| c.is_ascii_digit()),
            "metric name: {line}"
        );
        assert!(typed.contains(name), "no TYPE line before {line}");
        samples.push((name.to_string(), labels.to_string(), value));
    }
    samples
}

fn sample_value(samples: &[(String, String, f64)], name: &str) -> f64 {
    samples
        .iter()
        .find(|(n, l, _)| n == name && l.is_empty())
        .unwrap_or_else(|| panic!("no {name}"))
        .2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics_report_what_the_process_does() {
    let app = WebApp::new(Engine::Sqlite).await;
    let mut c = app.client();
    let r = c.get("/healthz").await;
    assert_eq!((r.status, r.body.trim()), (StatusCode::OK, "ok"));
    let r = c.get("/readyz").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.json(),
        json!({"ready": true, "database": "ok", "store": "ok", "queue": "ok", "draining": false})
    );

    let r = c.get("/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let before = prometheus_samples(&r.body);
    let accepted_before = sample_value(&before, "backspin_uploads_accepted_total");

    c.sign_up("metrics@example.com").await;
    let id = ready_upload(&app, &mut c, "audio.json", &sample(EXTENDED)).await;
    assert_eq!(
        c.get(&format!("/uploads/{id}")).await.status,
        StatusCode::OK
    );
    assert_eq!(c.get("/no/such/page").await.status, StatusCode::NOT_FOUND);

    let r = c.get("/metrics").await;
    let after = prometheus_samples(&r.body);
    assert_eq!(
        sample_value(&after, "backspin_uploads_accepted_total"),
        accepted_before + 1.0
    );
    assert!(sample_value(&after, "backspin_upload_bytes_total") >= sample(EXTENDED).len() as f64);
    assert_eq!(sample_value(&after, "backspin_sign_ups_total"), 1.0);
    assert_eq!(sample_value(&after, "backspin_database_up"), 1.0);
    assert_eq!(sample_value(&after, "backspin_queue_up"), 1.0);
    assert_eq!(sample_value(&after, "backspin_queue_visible"), 0.0);
    assert!(
        after
            .iter()
            .any(|(n, l, v)| n == "backspin_uploads" && l == "state=\"ready\"" && *v == 1.0),
        "{}",
        r.body
    );
    let requests: Vec<&(String, String, f64)> = after
        .iter()
        .filter(|(n, _, _)| n == "backspin_http_requests_total")
        .collect();
    let has = |route: &str, method: &str, status: u16| {
        requests.iter().any(|(_, l, v)| {
            l == &format!("route=\"{route}\",method=\"{method}\",status=\"{status}\"") && *v >= 1.0
        })
    };
    assert!(has("/api/v1/uploads/{id}", "GET", 200), "{}", r.body);
    assert!(has("/uploads/{id}", "GET", 200), "{}", r.body);
    assert!(has("/api/v1/uploads", "POST", 202), "{}", r.body);
    assert!(has("/healthz", "GET", 200), "{}", r.body);
    assert!(!r.body.contains(&id), "no upload id in any label");
    assert!(
        !r.body.contains("/no/such/page"),
        "unknown paths are not labels"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_database_the_site_says_not_ready_and_answers_503_without_internals() {
    let app = WebApp::new(Engine::Sqlite).await;
    let mut c = app.client();
    c.sign_up("down@example.com").await;
    assert_eq!(c.get("/uploads").await.status, StatusCode::OK);

    app.pipeline.db().close().await;

    let r = c.get("/healthz").await;
    assert_eq!(r.status, StatusCode::OK, "the process still answers");
    let r = c.get("/readyz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    let v = r.json();
    assert_eq!(v["ready"], false);
    assert_ne!(v["database"], "ok", "the database is named: {v}");
    assert!(!v["database"].as_str().unwrap().is_empty());
    assert_eq!(v["store"], "ok");

    for path in ["/uploads", "/dashboard", "/account"] {
        let r = c.get(path).await;
        assert_eq!(
            r.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{path}: {}",
            r.body
        );
        assert!(r.body.contains("<!DOCTYPE html>"), "{path}: a page");
        assert!(
            r.body.contains("cannot reach its storage"),
            "{path}: {}",
            r.body
        );
        let lower = r.body.to_lowercase();
        for internal in ["pool", "sqlx", "sqlite", "database:"] {
            assert!(
                !lower.contains(internal),
                "{path} shows {internal:?}: {}",
                r.body
            );
        }
    }
    let r = c.get("/api/v1/uploads").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_eq!(r.json()["error"]["status"], 503);
    assert!(!r.body.to_lowercase().contains("pool"), "{}", r.body);

    let r = c.get("/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    let samples = prometheus_samples(&r.body);
    assert_eq!(sample_value(&samples, "backspin_database_up"), 0.0);
}

// ----------------------------------------------------------------------------------------
// 10. A real socket
// ----------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_answers_on_a_real_socket_and_stops_on_shutdown() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = WebApp::new(Engine::Sqlite).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve(app.state.clone(), listener, async {
        let _ = stopped.await;
    }));

    let mut s = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    s.write_all(b"GET / HTTP/1.1\r\nHost: backspin.test\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer))
        .await
        .expect("an answer within 10 s")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    let lower = answer.to_lowercase();
    assert!(lower.contains("\r\ncontent-type: text/html"), "{answer}");
    assert!(lower.contains("\r\nset-cookie: bs_session="), "{answer}");
    assert!(answer.contains("<!DOCTYPE html>") && answer.contains("Try it with sample data"));

    stop.send(()).expect("the server listens for shutdown");
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops within 10 s")
        .expect("the server task")
        .expect("serve ended cleanly");
    assert!(
        tokio::net::TcpStream::connect(address).await.is_err(),
        "nothing listens any more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_process_says_so_to_the_load_balancer_and_still_serves() {
    let app = WebApp::new(Engine::Sqlite).await;
    let mut c = app.client();
    c.sign_up("drain@example.com").await;
    app.state.drain();
    let r = c.get("/readyz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_eq!(
        r.json(),
        json!({"ready": false, "database": "ok", "store": "ok", "queue": "ok", "draining": true})
    );
    // Requests still arriving are served, sessions included.
    assert_eq!(c.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(c.get("/uploads").await.status, StatusCode::OK);
    assert_eq!(c.get("/api/v1/session").await.json()["anonymous"], false);
}
