//! The web tier's main paths, on both engines: a script signs up, uploads, reads its stats.

use axum::http::{Method, StatusCode};
use e2e::web::WebApp;
use e2e::{Engine, both_engines, fixtures};

async fn a_script_signs_up_uploads_and_reads_its_stats(engine: Engine) {
    let app = WebApp::new(engine).await;
    let mut c = app.client();
    c.sign_up("ana@example.com").await;
    let zip = std::fs::read(fixtures::large_export_zip(3_000, 7)).expect("fixture zip");
    let u = app
        .upload_and_ingest(&mut c, "my_spotify_data.zip", &zip)
        .await;
    assert_eq!(u["state"], "ready", "{u}");
    let plays = u["summary"]["plays"].as_u64().expect("plays");
    assert!(plays > 1_000, "{u}");
    let s = c.get("/api/v1/stats").await.json();
    assert_eq!(
        s["total"]["plays"].as_u64(),
        Some(plays),
        "the overview counts what the summary said"
    );
    let page = c.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Top artists"));
    let r = c
        .act(
            Method::DELETE,
            &format!("/api/v1/uploads/{}", u["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(c.get("/api/v1/uploads").await.json(), serde_json::json!([]));
}

both_engines!(a_script_signs_up_uploads_and_reads_its_stats);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_folder_adds_files_but_never_reaches_outside_it() {
    let dir = tempfile::tempdir().expect("temporary folder");
    std::fs::write(
        dir.path().join("robots.txt"),
        "User-agent: *\nDisallow: /\n",
    )
    .unwrap();
    std::fs::write(dir.path().join(".secret"), "hidden").unwrap();
    std::fs::write(dir.path().join("app.css"), "not the real stylesheet").unwrap();
    let parent_secret = dir
        .path()
        .parent()
        .unwrap()
        .join("backspin-static-outside.txt");
    std::fs::write(&parent_secret, "outside").unwrap();
    let folder = dir.path().to_path_buf();
    let app = WebApp::with_config(Engine::Sqlite, |c| c.static_dir = Some(folder)).await;
    let mut c = app.client();
    let r = c.get("/static/robots.txt").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, "User-agent: *\nDisallow: /\n");
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    assert!(
        !c.get("/static/app.css").await.body.contains("not the real"),
        "built-in files win"
    );
    for path in [
        "/static/.secret",
        "/static/..%2Fbackspin-static-outside.txt",
        "/static/%2E%2E%2Fbackspin-static-outside.txt",
        "/static/missing.txt",
    ] {
        let r = c.get(path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
        assert!(
            !r.body.contains("outside") && !r.body.contains("hidden"),
            "{path}"
        );
    }
    std::fs::remove_file(parent_secret).unwrap();
}
