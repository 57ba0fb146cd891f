//! Uploads of one user that share streams: merged stats count each stream once, and deleting
//! one upload (even when a crash interrupts the delete) leaves the other's plays intact.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use e2e::faults::{FlakyStore, GatedStore};
use e2e::{Engine, Pipeline, RegionSnapshot, assert_same_stats, both_engines, fixtures};
use ingest_worker::lifecycle::{delete_upload, reingest, request_delete, sweep};
use ingest_worker::process::Outcome;
use schema::event::Message;
use storage::objects::{LocalDir, ObjectStore};
use storage::queue::Queue;
use storage::uploads::{Selection, State, Upload};
use storage::users::User;

/// A generated export of 2,000 streams in audio files of about 400 kB.
fn export() -> &'static synth::Export {
    static EXPORT: OnceLock<synth::Export> = OnceLock::new();
    EXPORT.get_or_init(|| fixtures::export(2_000, 21, 400_000))
}

/// Its audio files (the facts cover them).
fn audio_files() -> Vec<(String, Vec<u8>)> {
    let files: Vec<_> = export()
        .files
        .iter()
        .filter(|(name, _)| name.contains("Audio"))
        .cloned()
        .collect();
    assert!(files.len() >= 4, "enough files to overlap: {}", files.len());
    files
}

/// Writes `files` as `dir/name`.
fn zip_of(dir: &Path, name: &str, files: &[(String, Vec<u8>)]) -> PathBuf {
    let path = dir.join(name);
    fixtures::write_zip(files, &path);
    path
}

/// Ingests `paths` as uploads of a new user; every upload must end ready.
async fn ingest_all(p: &Pipeline, email: &str, paths: &[&Path]) -> (User, Vec<Upload>) {
    let user = p.user(email).await;
    let mut uploads = Vec::new();
    for path in paths {
        uploads.push(p.submit(&user, path).await);
    }
    p.work(&p.deps()).await;
    let mut ready = Vec::new();
    for u in &uploads {
        // As stored now: its file is the scrubbed copy.
        let u = p.upload(&u.id).await.unwrap();
        assert_eq!(u.state, State::Ready, "{}: {:?}", u.original_name, u.reason);
        ready.push(u);
    }
    (user, ready)
}

/// The stats of uploading `path` alone, in a fresh database, as one region labelled `label`.
async fn alone(engine: Engine, path: &Path, label: &str) -> Vec<RegionSnapshot> {
    let p = Pipeline::new(engine).await;
    let (user, uploads) = ingest_all(&p, "alone@example.com", &[path]).await;
    p.stats(&user.id, &[(uploads[0].id.as_str(), label)]).await
}

/// A merged selection, compared as a single region would be.
async fn merged(p: &Pipeline, user: &User, selection: &[&str]) -> serde_json::Value {
    p.merged(&user.id, selection).await
}

both_engines!(overlapping_uploads_of_one_user_count_each_stream_once_in_merged_stats);

async fn overlapping_uploads_of_one_user_count_each_stream_once_in_merged_stats(engine: Engine) {
    let p = Pipeline::new(engine).await;
    let files = audio_files();
    let n = files.len();
    // A holds the first files, B the last ones; they share the files in the middle.
    let a = zip_of(p.data.path(), "a.zip", &files[..n - 1]);
    let b = zip_of(p.data.path(), "b.zip", &files[1..]);
    let union = zip_of(p.data.path(), "union.zip", &files);
    let (user, uploads) = ingest_all(&p, "overlap@example.com", &[&a, &b]).await;
    let (ua, ub) = (uploads[0].id.as_str(), uploads[1].id.as_str());

    let regions = p.stats(&user.id, &[(ua, "A"), (ub, "B")]).await;
    let names: Vec<&str> = regions.iter().map(|r| r.region.as_str()).collect();
    assert_eq!(
        names,
        ["A", "A,B", "B"],
        "streams only in A, in both, only in B"
    );

    // Both together are the union uploaded once; each alone is itself uploaded alone.
    let both = merged(&p, &user, &[ua, ub]).await;
    let single = Pipeline::new(engine).await;
    let (su, sup) = ingest_all(&single, "single@example.com", &[&union]).await;
    assert!(
        both == merged(&single, &su, &[sup[0].id.as_str()]).await,
        "A and B merged differ from their union uploaded once"
    );
    let only_a = merged(&p, &user, &[ua]).await;
    let a_alone = alone(engine, &a, "A").await;
    assert!(
        only_a == a_alone[0].doc,
        "A within the merged stats differs from A uploaded alone"
    );

    // And the union is what the generator says the export holds.
    let facts = &export().facts;
    let total = both["total"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect::<Vec<_>>();
    assert_eq!(total[0], facts.total_ms_played, "listening time");
    assert_eq!(total[1], facts.unique_records as u64, "streams");
    assert_eq!(total[2], facts.plays_at_least_30s, "plays");
    let stored: i64 = regions.iter().map(|r| r.streams).sum();
    assert_eq!(
        stored, facts.unique_records as i64,
        "no stream is in two regions"
    );
}

both_engines!(extended_history_and_account_data_of_the_same_days_count_each_stream_once);

async fn extended_history_and_account_data_of_the_same_days_count_each_stream_once(engine: Engine) {
    let p = Pipeline::new(engine).await;
    let pair = fixtures::samples().join("pair-same-user");
    let extended =
        pair.join("Spotify Extended Streaming History/Streaming_History_Audio_2022-2024_1.json");
    let account = pair.join("Spotify Account Data/StreamingHistory_music_0.json");
    let (user, uploads) = ingest_all(&p, "pair@example.com", &[&extended, &account]).await;
    let (ue, ua) = (uploads[0].id.as_str(), uploads[1].id.as_str());

    let files: Vec<(String, Vec<u8>)> = [&extended, &account]
        .iter()
        .map(|f| {
            (
                f.strip_prefix(&pair)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                std::fs::read(f).unwrap(),
            )
        })
        .collect();
    let together = zip_of(p.data.path(), "my_spotify_data.zip", &files);
    let single = Pipeline::new(engine).await;
    let (su, sup) = ingest_all(&single, "single@example.com", &[&together]).await;
    assert!(
        merged(&p, &user, &[ue, ua]).await == merged(&single, &su, &[sup[0].id.as_str()]).await,
        "the two uploads merged differ from one upload of both files"
    );
    assert!(
        merged(&p, &user, &[ua]).await == alone(engine, &account, "account").await[0].doc,
        "the account data alone counts all of its rows"
    );
}

both_engines!(deleting_one_of_two_overlapping_uploads_leaves_the_others_plays_and_stats_intact);

async fn deleting_one_of_two_overlapping_uploads_leaves_the_others_plays_and_stats_intact(
    engine: Engine,
) {
    let p = Pipeline::new(engine).await;
    let files = audio_files();
    let n = files.len();
    let a = zip_of(p.data.path(), "a.zip", &files[..n - 1]);
    let b = zip_of(p.data.path(), "b.zip", &files[1..]);
    let (user, uploads) = ingest_all(&p, "delete@example.com", &[&a, &b]).await;
    let (ua, ub) = (&uploads[0], &uploads[1]);
    let b_keys = p.stream_keys(&ub.id).await;

    delete_upload(&p.deps(), ua).await.unwrap();

    assert!(p.upload(&ua.id).await.is_none(), "the upload is gone");
    assert!(
        p.store.fetch(&ua.object_key).await.unwrap().is_none(),
        "its file is gone"
    );
    assert_eq!(p.play_count(&ua.id).await, 0, "its plays are gone");
    assert_eq!(
        p.stream_keys(&ub.id).await,
        b_keys,
        "the other upload's plays, shared ones included, are intact"
    );
    assert_same_stats(
        &p.stats(&user.id, &[(ub.id.as_str(), "B")]).await,
        &alone(engine, &b, "B").await,
    );
}

both_engines!(a_delete_interrupted_halfway_is_finished_by_the_sweeper);

async fn a_delete_interrupted_halfway_is_finished_by_the_sweeper(engine: Engine) {
    let p = Pipeline::new(engine).await;
    let files = audio_files();
    let n = files.len();
    let a = zip_of(p.data.path(), "a.zip", &files[..n - 1]);
    let b = zip_of(p.data.path(), "b.zip", &files[1..]);
    let c = zip_of(p.data.path(), "c.zip", &files[..2]);
    let d = zip_of(p.data.path(), "d.zip", &files[..1]);
    let (user, uploads) = ingest_all(&p, "crash@example.com", &[&a, &b, &c, &d]).await;
    let (ua, ub, uc, ud) = (&uploads[0], &uploads[1], &uploads[2], &uploads[3]);
    let b_keys = p.stream_keys(&ub.id).await;

    // A: the object store fails mid-delete (the process could as well have died there).
    let flaky = Arc::new(FlakyStore::new(
        LocalDir::new(p.data.path().join("objects")).unwrap(),
    ));
    flaky.fail_deletes(true);
    let failing = p.deps_with(p.db().clone(), flaky.clone());
    assert!(delete_upload(&failing, ua).await.is_err());
    // D: a person asks for the delete while the store fails: once the upload is marked, the
    // delete is decided, so the answer is a success, not "nothing changed, try again".
    request_delete(&failing, ud)
        .await
        .expect("a delete marked is a delete done, for the person who asked");
    // C: the process died after removing the object, before the database transaction.
    storage::uploads::set_deleting(p.db(), &uc.id)
        .await
        .unwrap();
    p.store.delete(&uc.object_key).await.unwrap();

    for u in [ua, uc, ud] {
        assert_eq!(p.upload(&u.id).await.unwrap().state, State::Deleting);
    }
    // Half-deleted uploads are not brought back: a late event is acknowledged and
    // ignored, and bulk re-ingestion leaves them out.
    p.queue
        .send(&Message::created("local", &ua.object_key, 1, None))
        .await
        .unwrap();
    let late = p.work(&p.deps()).await;
    assert!(
        matches!(&late[..], [(_, Outcome::Acknowledged(what))] if what == "being deleted"),
        "{late:?}"
    );
    let requeued = reingest(&p.deps(), &Selection::All).await.unwrap();
    assert_eq!(
        requeued.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        [ub.id.as_str()]
    );
    p.work(&p.deps()).await;

    // The sweeper finishes the three deletes.
    assert_eq!(sweep(&p.deps()).await.unwrap(), 3);
    for u in [ua, uc, ud] {
        assert!(p.upload(&u.id).await.is_none());
        assert!(p.store.fetch(&u.object_key).await.unwrap().is_none());
        assert_eq!(p.play_count(&u.id).await, 0);
    }
    assert_eq!(p.stream_keys(&ub.id).await, b_keys);
    assert_same_stats(
        &p.stats(&user.id, &[(ub.id.as_str(), "B")]).await,
        &alone(engine, &b, "B").await,
    );
    assert_eq!(sweep(&p.deps()).await.unwrap(), 0, "nothing left to sweep");
}

both_engines!(two_uploads_of_one_user_ingested_at_the_same_time_are_both_counted);

async fn two_uploads_of_one_user_ingested_at_the_same_time_are_both_counted(engine: Engine) {
    let p = Pipeline::new(engine).await;
    let files = audio_files();
    let n = files.len();
    let a = zip_of(p.data.path(), "a.zip", &files[..n - 1]);
    let b = zip_of(p.data.path(), "b.zip", &files[1..]);
    let user = p.user("racing@example.com").await;
    let (ua, ub) = (p.submit(&user, &a).await, p.submit(&user, &b).await);

    // Two workers take one upload each and commit at about the same time.
    let deps = p.deps();
    let vis = deps.settings.visibility_timeout;
    let mut batch = p
        .queue
        .receive(2, std::time::Duration::ZERO, vis)
        .await
        .unwrap()
        .messages;
    assert_eq!(batch.len(), 2);
    let (m2, m1) = (batch.pop().unwrap(), batch.pop().unwrap());
    let (o1, o2) = tokio::join!(
        ingest_worker::process::handle(&deps, &m1),
        ingest_worker::process::handle(&deps, &m2)
    );
    assert!(
        matches!(
            (&o1, &o2),
            (Outcome::Acknowledged(_), Outcome::Acknowledged(_))
        ),
        "{o1:?} {o2:?}"
    );

    // Neither commit lost the other's share of the stats.
    let regions = p
        .stats(&user.id, &[(ua.id.as_str(), "A"), (ub.id.as_str(), "B")])
        .await;
    let names: Vec<&str> = regions.iter().map(|r| r.region.as_str()).collect();
    assert_eq!(names, ["A", "A,B", "B"]);
    let single = Pipeline::new(engine).await;
    let union = zip_of(p.data.path(), "union.zip", &files);
    let (su, sup) = ingest_all(&single, "single@example.com", &[&union]).await;
    assert!(
        merged(&p, &user, &[&ua.id, &ub.id]).await
            == merged(&single, &su, &[sup[0].id.as_str()]).await,
        "the merged stats lost streams"
    );
}

both_engines!(an_upload_deleted_while_a_worker_is_on_it_leaves_nothing_behind_and_alarms_nobody);

async fn an_upload_deleted_while_a_worker_is_on_it_leaves_nothing_behind_and_alarms_nobody(
    engine: Engine,
) {
    let p = Pipeline::new(engine).await;
    let files = audio_files();
    let a = zip_of(p.data.path(), "a.zip", &files);
    let user = p.user("changed-my-mind@example.com").await;
    let upload = p.submit(&user, &a).await;

    // The worker has taken the message and is about to read the file...
    let gate = Arc::new(GatedStore::new(
        LocalDir::new(p.data.path().join("objects")).unwrap(),
    ));
    let deps = p.deps_with(p.db().clone(), gate.clone());
    let vis = deps.settings.visibility_timeout;
    let msg = p
        .queue
        .receive(1, std::time::Duration::ZERO, vis)
        .await
        .unwrap()
        .messages
        .remove(0);
    let worker = tokio::spawn(async move { ingest_worker::process::handle(&deps, &msg).await });
    e2e::eventually(
        std::time::Duration::from_secs(10),
        "the worker at the file",
        || async { (gate.waiting() == 1).then_some(()) },
    )
    .await;
    // ...when its owner deletes it.
    delete_upload(&p.deps(), &upload).await.unwrap();
    gate.open();
    let outcome = worker.await.unwrap();
    assert!(matches!(outcome, Outcome::Acknowledged(_)), "{outcome:?}");

    assert!(p.upload(&upload.id).await.is_none());
    assert_eq!(p.play_count(&upload.id).await, 0);
    assert!(p.stats(&user.id, &[]).await.is_empty());
    assert!(p.queue_rows().await.is_empty());
    assert!(
        p.notifier.sent().is_empty(),
        "a deletion by its owner is no admin alert: {:?}",
        p.notifier.sent()
    );
}
