//! Messages that name nothing to ingest: an object deleted before its event is processed, an
//! upload deleted by its owner first, a key nobody uploaded, S3's test event, malformed
//! bodies. Each is acknowledged and logged, and the worker goes on to the next upload.

use std::time::Duration;

use e2e::{CapturedLog, Engine, Pipeline, both_engines, fixtures};
use ingest_worker::process::{Outcome, handle};
use schema::event::Message;
use storage::objects::ObjectStore;
use storage::queue::Queue;
use storage::uploads::State;
use tracing::instrument::WithSubscriber;

both_engines!(odd_messages_are_acknowledged_and_logged_and_the_worker_carries_on);

async fn odd_messages_are_acknowledged_and_logged_and_the_worker_carries_on(engine: Engine) {
    let p = Pipeline::new(engine).await;
    let user = p.user("odd@example.com").await;
    let sample = fixtures::samples().join("extended/Streaming_History_Audio_2023_2.json");

    // The object is gone before the worker gets to it.
    let vanished = p.submit(&user, &sample).await;
    p.store.delete(&vanished.object_key).await.unwrap();
    // The owner deleted the upload before the worker got to it.
    let withdrawn = p.submit(&user, &sample).await;
    ingest_worker::lifecycle::delete_upload(&p.deps(), &withdrawn)
        .await
        .unwrap();
    // Nobody uploaded this key.
    p.queue
        .send(&Message::created(
            "local",
            "uploads/nobody/0123/x.json",
            10,
            None,
        ))
        .await
        .unwrap();
    // S3 sends this when notifications are configured.
    p.queue.send(r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-01-01T00:00:00.000Z","Bucket":"b","RequestId":"R","HostId":"H"}"#).await.unwrap();
    let malformed = [
        "",
        "not JSON at all",
        "[1, 2, 3]",
        r#"{"Records": []}"#,
        r#"{"Records": [{"s3": {"bucket": {}}}]}"#,
    ];
    for body in malformed {
        p.queue.send(body).await.unwrap();
    }
    // And a good upload after all of them.
    let good = p.submit(&user, &sample).await;

    let log = CapturedLog::default();
    let dispatch = tracing::Dispatch::new(log.subscriber());
    let deps = p.deps();
    let mut handled = Vec::new();
    loop {
        let batch = p
            .queue
            .receive(1, Duration::ZERO, deps.settings.visibility_timeout)
            .await
            .unwrap();
        let Some(m) = batch.messages.into_iter().next() else {
            break;
        };
        let outcome = handle(&deps, &m).with_subscriber(dispatch.clone()).await;
        assert!(
            matches!(outcome, Outcome::Acknowledged(_)),
            "{:?} gave {outcome:?}",
            m.body
        );
        handled.push(m);
    }
    assert_eq!(handled.len(), 10, "every message was received once");
    assert!(handled.iter().all(|m| m.receive_count == 1));
    assert!(
        p.queue_rows().await.is_empty(),
        "every message was acknowledged, none dead-lettered"
    );

    let u = p.upload(&vanished.id).await.unwrap();
    assert_eq!(u.state, State::Failed);
    assert!(
        u.reason.as_deref().unwrap_or("").contains("gone"),
        "{:?}",
        u.reason
    );
    assert!(
        p.upload(&withdrawn.id).await.is_none(),
        "a deleted upload stays deleted"
    );
    assert_eq!(p.play_count(&withdrawn.id).await, 0);
    let u = p.upload(&good.id).await.unwrap();
    assert_eq!(u.state, State::Ready, "{:?}", u.reason);
    assert_eq!(p.play_count(&good.id).await, 552);

    let alerts = p.notifier.sent();
    assert_eq!(
        alerts.len(),
        1,
        "only the vanished upload concerns an admin: {alerts:?}"
    );
    assert!(alerts[0].1.contains(vanished.id.as_str()), "{alerts:?}");

    let text = log.text();
    let count = |needle: &str| text.matches(needle).count();
    assert_eq!(count("S3 test event: acknowledged"), 1, "{text}");
    assert_eq!(
        count("malformed message: acknowledged"),
        malformed.len(),
        "{text}"
    );
    assert_eq!(count("event for an unknown key: acknowledged"), 2, "{text}");
    assert_eq!(count("upload failed"), 1, "{text}");
    assert_eq!(count("upload ready"), 1, "{text}");
}
