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
