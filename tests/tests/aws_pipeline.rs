//! Backspin on AWS, end to end with the real AWS SDK against moto's server on loopback and a
//! real PostgreSQL: a browser gets a presigned POST form from the web tier, posts the file
//! straight to S3, S3's "object created" event lands on SQS, a worker ingests it into
//! PostgreSQL, the upload turns ready and its dashboard reads it; a poison file reaches the
//! admins through SNS; a file larger than the limit is refused by the worker even though moto
//! (unlike S3) does not enforce the form's `content-length-range`.
//!
//! What moto does not check, and what covers it instead: the form's signature and expiry
//! (`cloud::post_policy`'s unit tests sign AWS's published example exactly), and
//! `content-length-range` (the worker measures every directly posted file; the last test).

use std::time::Duration;

use axum::http::{Method, StatusCode};
use e2e::aws::{AwsStack, post_form};
use e2e::web::WebApp;
use e2e::{Engine, Pipeline, fixtures};
use serde_json::{Value, json};
use storage::uploads::State;

/// The app on PostgreSQL with S3, SQS and SNS on moto, uploads limited to `max` bytes.
async fn app_on_aws(stack: &AwsStack, max: u64) -> WebApp {
    let pipeline = Pipeline::new(Engine::Postgres).await;
    let deps = stack.deps(&pipeline, max);
    let origin = stack.moto.url().to_string();
    WebApp::on(pipeline, deps, move |c| {
        c.upload_origin = Some(origin);
        c.max_upload_bytes = max;
    })
}

/// Prepares a direct upload through the API and posts the file to the form as a browser
/// does; returns the upload's id.
async fn post_straight_to_s3(c: &mut e2e::web::Client, name: &str, bytes: &[u8]) -> String {
    let r = c
        .json(
            Method::POST,
            "/api/v1/uploads/direct",
            &json!({"name": name, "size": bytes.len()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let p = r.json();
    let id = p["upload"]["id"].as_str().expect("upload id").to_string();
    assert_eq!(p["upload"]["state"], "queued", "{p}");
    let fields: Vec<(String, String)> = p["form"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| {
            (
                f["name"].as_str().expect("name").to_string(),
                f["value"].as_str().expect("value").to_string(),
            )
        })
        .collect();
    let key = &fields
        .iter()
        .find(|(k, _)| k == "key")
        .expect("a key field")
        .1;
    assert!(
        key.ends_with(&format!("/{id}/{name}")),
        "the form names exactly this upload's key: {key}"
    );
    let url = p["form"]["url"].as_str().expect("url");
    let a = post_form(url, &fields, name, bytes).await;
    assert!(
        (200..300).contains(&a.status),
        "S3 refused the post: {} {}",
        a.status,
        a.body
    );
    id
}

async fn ingest(app: &WebApp, id: &str) -> storage::uploads::Upload {
    app.work().await;
    app.pipeline
        .wait_for(id, Duration::from_secs(60), "ingested", |u| {
            matches!(u.state, State::Ready | State::Failed)
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_posted_straight_to_s3_is_ingested_into_postgres_and_its_dashboard_reads_it() {
    let stack = AwsStack::new().await;
    let app = app_on_aws(&stack, 1 << 30).await;
    let mut c = app.client();
    c.sign_up("ana@example.com").await;

    // The page sends files to S3 and its CSP lets it.
    let page = c.get("/uploads").await;
    assert!(page.body.contains("data-direct"), "{}", page.body);
    let csp = page.header("content-security-policy").unwrap_or("");
    assert!(
        csp.contains(&format!("connect-src 'self' {}", stack.moto.url())),
        "{csp}"
    );

    let zip = std::fs::read(fixtures::large_export_zip(3_000, 11)).expect("fixture zip");
    let id = post_straight_to_s3(&mut c, "my_spotify_data.zip", &zip).await;
    let u = ingest(&app, &id).await;
    assert_eq!(u.state, State::Ready, "{:?}", u.reason);
    // The worker measured the file the browser posted.
    assert_eq!(u.size_bytes as usize, zip.len());
    assert_eq!(u.checksum.len(), 64);
    // Then replaced it by its scrubbed copy, and no version of the original is left.
    assert!(u.object_key.starts_with("clean/"), "{}", u.object_key);
    let original = storage::uploads::stored_keys(&u.object_key).remove(0);
    assert!(original.starts_with("uploads/"), "{original}");
    assert_eq!(
        stack.versions(&original).await,
        0,
        "a version of the original upload is left"
    );
    assert_eq!(stack.versions(&u.object_key).await, 1);

    let view: Value = c.get(&format!("/api/v1/uploads/{id}")).await.json();
    let plays = view["summary"]["plays"].as_u64().expect("plays");
    assert!(plays > 1_000, "{view}");
    let stats: Value = c.get("/api/v1/stats").await.json();
    assert_eq!(stats["total"]["plays"].as_u64(), Some(plays), "{stats}");
    let board = c.get("/dashboard").await;
    assert_eq!(board.status, StatusCode::OK);
    assert!(board.body.contains("Top artists"));

    // Deleting the upload removes its file from S3.
    let r = c
        .act(Method::DELETE, &format!("/api/v1/uploads/{id}"))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(
        app.state
            .deps()
            .store
            .list("uploads/")
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        app.state
            .deps()
            .store
            .list("clean/")
            .await
            .expect("list")
            .is_empty()
    );
    assert!(stack.alerts().await.is_empty(), "nothing went wrong");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_file_fails_its_upload_and_reaches_the_admins_through_sns() {
    let stack = AwsStack::new().await;
    let app = app_on_aws(&stack, 1 << 30).await;
    let mut c = app.client();
    // An anonymous visitor: the first direct upload starts their session.
    let id = post_straight_to_s3(&mut c, "Streaming_History_Audio_2024.json", b"[{\"ts\": ").await;
    assert!(c.cookie.is_some(), "the upload started a session");
    let u = ingest(&app, &id).await;
    assert_eq!(u.state, State::Failed);
    let reason = u.reason.unwrap_or_default();
    assert!(
        reason.contains("Streaming_History_Audio_2024.json"),
        "{reason}"
    );
    let alerts = stack.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].0.contains("could not be read"), "{alerts:?}");
    assert!(alerts[0].1.contains(&id), "{alerts:?}");
    let view: Value = c.get(&format!("/api/v1/uploads/{id}")).await.json();
    assert_eq!(view["state"], "failed", "{view}");

    // An anonymous visitor's file carries the tag that the bucket's lifecycle rule expires;
    // signing up keeps it (the tag goes).
    assert_eq!(
        tags(&stack, &u.object_key).await,
        [("backspin-anonymous".to_string(), "true".to_string())]
    );
    c.sign_up("cy@example.com").await;
    assert_eq!(tags(&stack, &u.object_key).await, []);
}

/// The object's tags.
async fn tags(stack: &AwsStack, key: &str) -> Vec<(String, String)> {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&stack.sdk)
            .force_path_style(true)
            .build(),
    );
    s3.get_object_tagging()
        .bucket(&stack.bucket)
        .key(key)
        .send()
        .await
        .expect("tags")
        .tag_set
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_refuses_a_posted_file_larger_than_the_limit_and_removes_it() {
    let stack = AwsStack::new().await;
    let app = app_on_aws(&stack, 4096).await;
    let mut c = app.client();
    c.sign_up("bo@example.com").await;
    // Asking for more than the limit is refused before any form is issued.
    let r = c
        .json(
            Method::POST,
            "/api/v1/uploads/direct",
            &json!({"name": "big.zip", "size": 5000}),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(c.get("/api/v1/uploads").await.json(), json!([]));
    // A browser that lies about the size: S3 would refuse the body (content-length-range);
    // moto does not, so the worker's own check is what stops it.
    let zip = std::fs::read(fixtures::large_export_zip(500, 3)).expect("fixture zip");
    assert!(zip.len() > 4096);
    let r = c
        .json(
            Method::POST,
            "/api/v1/uploads/direct",
            &json!({"name": "small.zip", "size": 100}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let p = r.json();
    let id = p["upload"]["id"].as_str().expect("id").to_string();
    let fields: Vec<(String, String)> = p["form"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap_or("").to_string(),
                f["value"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let policy = &fields
        .iter()
        .find(|(k, _)| k == "Policy")
        .expect("policy")
        .1;
    use base64::Engine as _;
    let policy: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(policy)
            .expect("base64"),
    )
    .expect("policy JSON");
    let range = policy["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c[0] == "content-length-range")
        .cloned();
    assert_eq!(
        range,
        Some(json!(["content-length-range", 1, 4096])),
        "the form limits the size: {policy}"
    );
    let a = post_form(
        p["form"]["url"].as_str().unwrap(),
        &fields,
        "small.zip",
        &zip,
    )
    .await;
    assert!((200..300).contains(&a.status), "{} {}", a.status, a.body);
    let u = ingest(&app, &id).await;
    assert_eq!(u.state, State::Failed);
    assert!(
        u.reason
            .as_deref()
            .unwrap_or("")
            .contains("larger than the upload limit"),
        "{:?}",
        u.reason
    );
    let store = &app.state.deps().store;
    assert_eq!(
        store.size(&u.object_key).await.expect("head"),
        None,
        "the file was removed"
    );
}
