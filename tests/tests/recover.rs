//! Disaster recovery (`backspin recover`): after the database was restored from a backup,
//! the uploads that arrived since come back from the object store with their plays, those
//! deleted since go, those the backup caught queued are ingested, and objects of owners the
//! backup does not know are kept and reported; a row whose file was scrubbed since names the
//! scrubbed copy again. A second run finds nothing to do.

use e2e::{Engine, Pipeline, both_engines, fixtures};
use ingest_worker::recover::{Report, recover};
use storage::objects::ObjectStore;
use storage::uploads::{self, State};

both_engines!(recovering_after_a_restore_brings_back_what_arrived_since_and_drops_what_was_deleted);

async fn recovering_after_a_restore_brings_back_what_arrived_since_and_drops_what_was_deleted(
    engine: Engine,
) {
    let p = Pipeline::new(engine).await;
    let zips: Vec<_> = (0..4)
        .map(|i| {
            let dir = p.data.path().join(format!("export-{i}"));
            std::fs::create_dir_all(&dir).unwrap();
            fixtures::export_zip(&dir, 300 + 50 * i, 40 + i as u64).0
        })
        .collect();
    let alice = p.user("alice@example.com").await;
    let bob = p.user("bob@example.com").await;

    // Before the backup: `kept` and `deleted` are in; after it, `arrived` came and `deleted`
    // was deleted; `queued` was waiting for a worker when the backup was taken.
    let kept = p.submit(&alice, &zips[0]).await;
    let deleted = p.submit(&alice, &zips[1]).await;
    // The same file as `arrived`, for bob: the plays `arrived` must have once recovered.
    let control = p.submit(&bob, &zips[2]).await;
    p.work(&p.deps()).await;
    let control_plays = p.play_count(&control.id).await;
    let kept_plays = p.play_count(&kept.id).await;
    assert!(control_plays > 0 && kept_plays > 0);
    let queued = p.submit(&alice, &zips[3]).await;

    // The restored database: `arrived` has an object (stored, then scrubbed, as the worker
    // leaves it) and no row; `deleted` has a row and no object; the queue is empty.
    let arrived_id = storage::ids::new_id();
    let arrived_key = format!("clean/{}/{arrived_id}/my_spotify_data.zip", alice.id);
    let mut file = tokio::fs::File::open(&zips[2]).await.unwrap();
    p.store.put(&arrived_key, &mut file, 1 << 30).await.unwrap();
    let deleted_row = p.upload(&deleted.id).await.unwrap();
    for key in uploads::stored_keys(&deleted_row.object_key) {
        p.store.delete(&key).await.unwrap();
    }
    p.execute("DELETE FROM queue_messages").await;
    // `kept` was scrubbed after the backup: its row names the original, which is gone.
    let kept_row = p.upload(&kept.id).await.unwrap();
    let original = kept_row.object_key.replacen("clean/", "uploads/", 1);
    assert_ne!(
        original, kept_row.object_key,
        "ingested uploads are stored scrubbed"
    );
    p.execute(&format!(
        "UPDATE uploads SET object_key = '{original}' WHERE id = '{}'",
        kept.id
    ))
    .await;
    // Someone who signed up after the backup: the database does not know them.
    let stranger = format!(
        "uploads/{}/{}/late.json",
        storage::ids::new_id(),
        storage::ids::new_id()
    );
    p.store.put(&stranger, &mut &b"[]"[..], 100).await.unwrap();

    let report = recover(&p.deps()).await.expect("recover");
    assert_eq!(
        report,
        Report {
            objects: 5,
            recreated: vec![storage::ids::UploadId::stored(arrived_id.clone())],
            requeued: vec![queued.id.clone()],
            repointed: vec![kept.id.clone()],
            deleted: vec![deleted.id.clone()],
            owner_unknown: vec![stranger.clone()],
            unrecognised: vec![],
        }
    );
    p.work(&p.deps()).await;

    let arrived = p.upload(&arrived_id).await.expect("the row is back");
    assert_eq!(arrived.state, State::Ready, "{:?}", arrived.reason);
    assert_eq!(arrived.owner_id, alice.id);
    assert_eq!(p.play_count(&arrived_id).await, control_plays);
    assert_eq!(p.upload(&queued.id).await.unwrap().state, State::Ready);
    assert!(p.play_count(&queued.id).await > 0);
    assert!(
        p.upload(&deleted.id).await.is_none(),
        "the deleted upload stays deleted"
    );
    assert_eq!(p.play_count(&kept.id).await, kept_plays);
    assert_eq!(
        p.upload(&kept.id).await.unwrap().object_key,
        kept_row.object_key,
        "pointed at its scrubbed copy again"
    );
    let mine: Vec<storage::ids::UploadId> = uploads::list_for_owner(p.db(), &alice.id)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(mine.len(), 3, "{mine:?}");
    assert!(
        p.store.size(&stranger).await.unwrap().is_some(),
        "an object nobody can be found for is kept"
    );

    let again = recover(&p.deps()).await.expect("recover again");
    assert_eq!(
        again,
        Report {
            objects: 5,
            owner_unknown: vec![stranger],
            ..Report::default()
        },
        "a second run has nothing to do"
    );
}
