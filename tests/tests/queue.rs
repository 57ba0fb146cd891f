//! The table queue behaves like SQS: a received message is hidden from everyone else until
//! deleted or until its visibility timeout lapses, each receive counts, a message received too
//! often goes to the dead-letter queue, and concurrent receivers (in several processes) never
//! get the same message at once.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use e2e::{Engine, TestDb, both_engines};
use storage::queue::{Depth, Queue, TableQueue};

const SECOND: Duration = Duration::from_secs(1);

both_engines!(concurrent_receivers_never_get_the_same_message);

async fn concurrent_receivers_never_get_the_same_message(engine: Engine) {
    let t = TestDb::new(engine).await;
    let sender = TableQueue::new(t.db.clone(), "ingest", 5);
    const MESSAGES: usize = 300;
    for i in 0..MESSAGES {
        sender.send(&format!("message {i}")).await.unwrap();
    }
    // Six receivers, each with a pool of its own as separate worker processes have,
    // taking one to three messages at a time, none deleting.
    let taken = Arc::new(AtomicUsize::new(0));
    let mut receivers = Vec::new();
    for r in 0..6u32 {
        let db = storage::Db::connect(&t.url).await.unwrap();
        let taken = taken.clone();
        receivers.push(tokio::spawn(async move {
            let q = TableQueue::new(db, "ingest", 5);
            let mut got = Vec::new();
            while taken.load(Ordering::SeqCst) < MESSAGES {
                let batch = q
                    .receive(1 + r % 3, Duration::ZERO, 60 * SECOND)
                    .await
                    .unwrap();
                taken.fetch_add(batch.messages.len(), Ordering::SeqCst);
                got.extend(batch.messages.into_iter().map(|m| (m.id, m.receive_count)));
            }
            got
        }));
    }
    let mut seen = HashSet::new();
    let mut per_receiver = Vec::new();
    for r in receivers {
        let got = r.await.unwrap();
        per_receiver.push(got.len());
        for (id, count) in got {
            assert_eq!(count, 1, "message {id} was received before");
            assert!(
                seen.insert(id.clone()),
                "message {id} went to two receivers"
            );
        }
    }
    assert_eq!(
        seen.len(),
        MESSAGES,
        "every message was received once: {per_receiver:?}"
    );
    assert_eq!(
        sender.depth().await.unwrap(),
        Depth {
            visible: 0,
            in_flight: MESSAGES as u64,
            dead: 0
        }
    );
}

both_engines!(a_received_message_stays_hidden_until_its_visibility_timeout_and_then_comes_back);

async fn a_received_message_stays_hidden_until_its_visibility_timeout_and_then_comes_back(
    engine: Engine,
) {
    let t = TestDb::new(engine).await;
    let q = TableQueue::new(t.db.clone(), "ingest", 5);
    q.send("hello").await.unwrap();

    let started = Instant::now();
    let first = q
        .receive(1, Duration::ZERO, SECOND)
        .await
        .unwrap()
        .messages
        .remove(0);
    assert_eq!((first.body.as_str(), first.receive_count), ("hello", 1));
    assert!(
        q.receive(10, Duration::ZERO, SECOND)
            .await
            .unwrap()
            .messages
            .is_empty(),
        "hidden while in flight"
    );
    assert_eq!(
        q.depth().await.unwrap(),
        Depth {
            visible: 0,
            in_flight: 1,
            dead: 0
        }
    );

    let again = q
        .receive(1, 5 * SECOND, SECOND)
        .await
        .unwrap()
        .messages
        .remove(0);
    assert!(
        started.elapsed() >= SECOND,
        "back only after the visibility timeout: {:?}",
        started.elapsed()
    );
    assert_eq!(
        (again.id.as_str(), again.receive_count),
        (first.id.as_str(), 2)
    );
    assert_ne!(
        again.receipt, first.receipt,
        "each receive has a receipt of its own"
    );

    // The first receiver's receipt no longer deletes or extends it.
    q.delete(&first.receipt).await.unwrap();
    q.extend(&first.receipt, 60 * SECOND).await.unwrap();
    assert_eq!(
        q.depth().await.unwrap(),
        Depth {
            visible: 0,
            in_flight: 1,
            dead: 0
        }
    );

    // The current holder extends its hold past the original timeout, then deletes it.
    q.extend(&again.receipt, 3 * SECOND).await.unwrap();
    let extended = Instant::now();
    let meanwhile = q.receive(1, 2 * SECOND, SECOND).await.unwrap();
    assert!(
        meanwhile.messages.is_empty(),
        "still hidden {:?} into a 3 s extension",
        extended.elapsed()
    );
    q.delete(&again.receipt).await.unwrap();
    assert_eq!(q.depth().await.unwrap(), Depth::default());
    assert!(
        q.receive(1, Duration::ZERO, SECOND)
            .await
            .unwrap()
            .messages
            .is_empty()
    );
}

both_engines!(a_message_received_max_receives_times_is_dead_lettered_and_never_delivered_again);

async fn a_message_received_max_receives_times_is_dead_lettered_and_never_delivered_again(
    engine: Engine,
) {
    let t = TestDb::new(engine).await;
    let q = TableQueue::new(t.db.clone(), "ingest", 2);
    q.send("doomed").await.unwrap();
    let first = q.receive(1, Duration::ZERO, SECOND).await.unwrap();
    assert_eq!(first.messages[0].receive_count, 1);
    // Each later receive long-polls longer than the visibility timeout, as a worker's do.
    let second = q.receive(1, 3 * SECOND, SECOND).await.unwrap();
    assert_eq!(second.messages[0].receive_count, 2);
    let third = q.receive(1, 3 * SECOND, SECOND).await.unwrap();
    assert!(
        third.messages.is_empty(),
        "received a third time: {:?}",
        third.messages
    );
    assert_eq!(third.dead_lettered.len(), 1, "reported as dead-lettered");
    assert_eq!(
        (
            third.dead_lettered[0].body.as_str(),
            third.dead_lettered[0].receive_count
        ),
        ("doomed", 2)
    );
    assert_eq!(
        q.depth().await.unwrap(),
        Depth {
            visible: 0,
            in_flight: 0,
            dead: 1
        }
    );
    assert_eq!(q.dead_letters(10).await.unwrap().len(), 1);
    let later = q.receive(1, 2 * SECOND, SECOND).await.unwrap();
    assert!(
        later.messages.is_empty() && later.dead_lettered.is_empty(),
        "{later:?}"
    );
}

both_engines!(a_receive_takes_a_batch_in_the_order_sent_and_waits_for_a_message_when_empty);

async fn a_receive_takes_a_batch_in_the_order_sent_and_waits_for_a_message_when_empty(
    engine: Engine,
) {
    let t = TestDb::new(engine).await;
    let q = TableQueue::new(t.db.clone(), "ingest", 5);
    let waited = Instant::now();
    assert!(
        q.receive(1, SECOND / 2, SECOND)
            .await
            .unwrap()
            .messages
            .is_empty()
    );
    assert!(
        waited.elapsed() >= SECOND / 2,
        "an empty queue is long-polled"
    );

    for i in 0..5 {
        q.send(&format!("m{i}")).await.unwrap();
    }
    let bodies =
        |b: storage::queue::Batch| b.messages.into_iter().map(|m| m.body).collect::<Vec<_>>();
    assert_eq!(
        bodies(q.receive(3, Duration::ZERO, 60 * SECOND).await.unwrap()),
        ["m0", "m1", "m2"]
    );
    assert_eq!(
        bodies(q.receive(10, Duration::ZERO, 60 * SECOND).await.unwrap()),
        ["m3", "m4"]
    );

    // A long poll returns as soon as a message arrives, from this process or another.
    let other = TableQueue::new(storage::Db::connect(&t.url).await.unwrap(), "ingest", 5);
    for sender in [&q, &other] {
        let waiting = tokio::spawn({
            let q = q.clone();
            async move {
                let start = Instant::now();
                let b = q.receive(1, 20 * SECOND, 60 * SECOND).await.unwrap();
                (b, start.elapsed())
            }
        });
        sender.send("late").await.unwrap();
        let (batch, took) = waiting.await.unwrap();
        assert_eq!(bodies(batch), ["late"]);
        assert!(took < 5 * SECOND, "the long poll took {took:?}");
    }
}
