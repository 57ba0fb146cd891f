//! What stays of a raw upload once it is ingested: its listening-history files only, without
//! the export's personal fields (IP addresses, username, user agents, geo fields, device ids
//! in platform strings), and nothing else of the export (`Userdata.json`…). The original is
//! gone from the store, and a re-ingest from what stays gives the same streams.

use std::io::Read;

use e2e::{Engine, Pipeline, assert_same_ingest, both_engines, fixtures};
use ingest_worker::lifecycle::reingest;
use serde_json::Value;
use storage::uploads::{Selection, State};

/// Keys whose values are personal data.
const PERSONAL: &[&str] = &[
    "username",
    "ip_addr",
    "ip_addr_decrypted",
    "user_agent_decrypted",
    "city",
    "region",
    "metro_code",
    "longitude",
    "latitude",
];

/// Every personal value of an export's history files, and the platform strings that carry a
/// device's model or id; values that other fields hold too (a user agent of "unknown", as a
/// `reason_start` says) aside.
fn personal_values(files: &[(String, Vec<u8>)]) -> Vec<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut kept = std::collections::BTreeSet::new();
    for (name, bytes) in files {
        if !name.ends_with(".json") {
            continue;
        }
        let Ok(Value::Array(records)) = serde_json::from_slice::<Value>(bytes) else {
            continue;
        };
        for r in records {
            let Value::Object(r) = r else { continue };
            for (key, v) in &r {
                if let Value::String(v) = v
                    && !PERSONAL.contains(&key.as_str())
                    && key != "platform"
                {
                    kept.insert(v.clone());
                }
            }
            for key in PERSONAL {
                match r.get(*key) {
                    Some(Value::String(s)) if s.len() >= 4 => {
                        out.insert(s.clone());
                    }
                    Some(Value::Number(n)) if n.to_string().len() >= 4 => {
                        out.insert(n.to_string());
                    }
                    _ => {}
                }
            }
            if let Some(Value::String(p)) = r.get("platform")
                && (p.contains(';') || p.contains('('))
            {
                out.insert(p.clone());
            }
        }
    }
    out.into_iter().filter(|v| !kept.contains(v)).collect()
}

/// The text of every entry of every stored object (zips unpacked).
fn stored_texts(p: &Pipeline) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![p.data.path().join("objects")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            match zip::ZipArchive::new(std::io::Cursor::new(&bytes)) {
                Ok(mut z) => {
                    for i in 0..z.len() {
                        let mut f = z.by_index(i).unwrap();
                        let mut text = String::new();
                        f.read_to_string(&mut text).unwrap();
                        out.push((format!("{}:{}", path.display(), f.name().unwrap()), text));
                    }
                }
                Err(_) => out.push((
                    path.display().to_string(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                )),
            }
        }
    }
    out
}

both_engines!(an_ingested_upload_keeps_nothing_personal_and_reingests_the_same);

async fn an_ingested_upload_keeps_nothing_personal_and_reingests_the_same(engine: Engine) {
    let p = Pipeline::new(engine).await;
    // May 2020's generation has every personal key (geo included) and verbose platforms.
    let export = synth::generate(&synth::Options {
        plays: 3_000,
        seed: 11,
        generation: synth::Generation::G1,
        max_file_bytes: 400_000,
        account_data: true,
        ..synth::Options::default()
    });
    let mut files = export.files.clone();
    files.push((
        "MyData/Userdata.json".into(),
        br#"{"username":"x7k2q9","email":"listener@example.com","country":"SE","birthdate":"1990-01-01"}"#.to_vec(),
    ));
    let mut personal = personal_values(&files);
    personal.push("listener@example.com".into());
    assert!(
        personal
            .iter()
            .any(|v| v.contains('.') && v.split('.').count() == 4),
        "the export has IP addresses to remove: {:?}",
        &personal[..personal.len().min(10)]
    );
    assert!(personal.len() > 20, "{personal:?}");
    let zip = p.data.path().join("my_spotify_data.zip");
    fixtures::write_zip(&files, &zip);
    let user = p.user("private@example.com").await;
    let upload = p.submit(&user, &zip).await;
    std::fs::remove_file(&zip).unwrap();
    let original = p.store_path(&upload.object_key);
    assert!(original.is_file());
    p.work(&p.deps()).await;

    let u = p.upload(&upload.id).await.unwrap();
    assert_eq!(u.state, State::Ready, "{:?}", u.reason);
    assert!(u.object_key.starts_with("clean/"), "{}", u.object_key);
    assert!(!original.exists(), "the original is gone");
    let texts = stored_texts(&p);
    assert!(!texts.is_empty());
    for (where_, text) in &texts {
        for v in &personal {
            assert!(!text.contains(v.as_str()), "{where_} still holds {v:?}");
        }
        for key in PERSONAL {
            assert!(
                !text.contains(&format!("\"{key}\"")),
                "{where_} still has the key {key}"
            );
        }
        assert!(!where_.contains("Userdata"), "{where_} was kept");
    }
    let first = p.ingested(&user, &upload.id).await;

    // A re-ingest reads the scrubbed copy and gives the same streams.
    let queued = reingest(&p.deps(), &Selection::Upload(upload.id.clone()))
        .await
        .unwrap();
    assert_eq!(queued.len(), 1);
    p.work(&p.deps()).await;
    let u = p.upload(&upload.id).await.unwrap();
    assert_eq!(u.state, State::Ready, "{:?}", u.reason);
    assert_same_ingest(&p.ingested(&user, &upload.id).await, &first);
    assert_eq!(stored_texts(&p).len(), texts.len(), "no second copy");

    // An upload ingested before scrubbed copies existed: the raw file under its original key.
    // The sweeper queues it again, and its ingest scrubs it.
    let scrubbed = p.store_path(&u.object_key);
    std::fs::remove_file(&scrubbed).unwrap();
    std::fs::create_dir_all(original.parent().unwrap()).unwrap();
    fixtures::write_zip(&files, &original);
    let an_hour_ago = storage::db::now_ms() - 3_600_000;
    storage::on_pool!(p.db(), c => sqlx::query("UPDATE uploads SET object_key = $1, updated_ms = $2 WHERE id = $3")
        .bind(&upload.object_key)
        .bind(an_hour_ago)
        .bind(&upload.id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .unwrap();
    ingest_worker::lifecycle::sweep(&p.deps()).await.unwrap();
    assert_eq!(
        p.queue_rows().await,
        [("ingest".to_string(), 0)],
        "queued, not yet received"
    );
    // The next sweep leaves it to the worker.
    ingest_worker::lifecycle::sweep(&p.deps()).await.unwrap();
    assert_eq!(
        p.queue_rows().await,
        [("ingest".to_string(), 0)],
        "queued once"
    );
    p.work(&p.deps()).await;
    let u = p.upload(&upload.id).await.unwrap();
    assert_eq!(u.state, State::Ready, "{:?}", u.reason);
    assert!(u.object_key.starts_with("clean/"), "{}", u.object_key);
    assert!(!original.exists(), "the original is gone");
    for (where_, text) in &stored_texts(&p) {
        for v in &personal {
            assert!(!text.contains(v.as_str()), "{where_} still holds {v:?}");
        }
    }
    assert_same_ingest(&p.ingested(&user, &upload.id).await, &first);
    // Nothing left to do: a sweep an hour later queues nothing.
    p.execute(&format!(
        "UPDATE uploads SET updated_ms = {an_hour_ago} WHERE id = '{}'",
        upload.id
    ))
    .await;
    ingest_worker::lifecycle::sweep(&p.deps()).await.unwrap();
    assert!(p.queue_rows().await.is_empty());
}
