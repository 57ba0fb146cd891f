//! Bulk re-ingestion after a parser change: every upload an older parser produced is ingested
//! again, and the stats converge to those of fresh uploads. Running it again changes nothing.

use std::time::Duration;

use e2e::process::run;
use e2e::{Engine, Pipeline, RegionSnapshot, assert_same_stats, both_engines, fixtures};
use ingest_worker::lifecycle::reingest;
use ingest_worker::process::PARSER_VERSION;
use storage::uploads::{Selection, State};

both_engines!(reingesting_everything_after_a_parser_change_converges_to_the_stats_of_fresh_uploads);

async fn reingesting_everything_after_a_parser_change_converges_to_the_stats_of_fresh_uploads(
    engine: Engine,
) {
    let p = Pipeline::new(engine).await;
    let export = fixtures::export(1_500, 31, 300_000);
    let audio: Vec<_> = export
        .files
        .iter()
        .filter(|(n, _)| n.contains("Audio"))
        .cloned()
        .collect();
    assert!(audio.len() >= 3, "{}", audio.len());
    let a = p.data.path().join("a.zip");
    let b = p.data.path().join("b.zip");
    fixtures::write_zip(&audio[..2], &a);
    fixtures::write_zip(&audio[1..], &b);
    let samples = fixtures::samples();

    // Two users: one with two overlapping uploads, one with an extended file and the
    // account data of the same days.
    let first = p.user("first@example.com").await;
    let second = p.user("second@example.com").await;
    let uploads = [
        p.submit(&first, &a).await,
        p.submit(&first, &b).await,
        p.submit(&second, &samples.join("pair-same-user/Spotify Extended Streaming History/Streaming_History_Audio_2022-2024_1.json")).await,
        p.submit(&second, &samples.join("pair-same-user/Spotify Account Data/StreamingHistory_music_0.json")).await,
    ];
    p.work(&p.deps()).await;
    let labels: Vec<(&str, &str)> = uploads
        .iter()
        .zip(["A", "B", "E", "S"])
        .map(|(u, l)| (u.id.as_str(), l))
        .collect();
    let pipeline = &p;
    let stats_now = || {
        let labels = labels.clone();
        let (first, second) = (first.id.clone(), second.id.clone());
        async move {
            (
                pipeline.stats(&first, &labels).await,
                pipeline.stats(&second, &labels).await,
            )
        }
    };
    let fresh_stats: (Vec<RegionSnapshot>, Vec<RegionSnapshot>) = stats_now().await;
    let mut fresh_keys = Vec::new();
    for u in &uploads {
        assert_eq!(
            p.upload(&u.id).await.unwrap().parser_version,
            PARSER_VERSION
        );
        fresh_keys.push(p.stream_keys(&u.id).await);
    }

    // What an older parser left: version 0, other plays, other stats.
    for user in [&first.id, &second.id] {
        p.rewrite_artifact(user, |a| {
            let kept: Vec<(schema::Play, u32)> = a
                .plays
                .iter()
                .zip(&a.regions_of)
                .filter(|(p, _)| p.end_ms % 3 != 0)
                .map(|(p, r)| {
                    let mut p = *p;
                    p.ms_played /= 2;
                    (p, *r)
                })
                .collect();
            (a.plays, a.regions_of) = kept.into_iter().unzip();
        })
        .await;
    }
    for sql in ["UPDATE uploads SET parser_version = 0, summary = '{}'"] {
        p.execute(sql).await;
    }
    assert_ne!(stats_now().await, fresh_stats);

    let queued = reingest(&p.deps(), &Selection::ParserOlderThan(PARSER_VERSION))
        .await
        .unwrap();
    assert_eq!(queued.len(), 4);
    for u in &uploads {
        assert_eq!(p.upload(&u.id).await.unwrap().state, State::Queued);
    }
    p.work(&p.deps()).await;
    for (u, keys) in uploads.iter().zip(&fresh_keys) {
        let now = p.upload(&u.id).await.unwrap();
        assert_eq!(
            (now.state, now.parser_version),
            (State::Ready, PARSER_VERSION),
            "{:?}",
            now.reason
        );
        assert_eq!(
            &p.stream_keys(&u.id).await,
            keys,
            "the plays of {} are those of a fresh upload",
            u.original_name
        );
    }
    let (first_now, second_now) = stats_now().await;
    assert_same_stats(&first_now, &fresh_stats.0);
    assert_same_stats(&second_now, &fresh_stats.1);

    // Nothing is older than the parser now; re-ingesting everything again, through the
    // admin command, changes nothing.
    assert!(
        reingest(&p.deps(), &Selection::ParserOlderThan(PARSER_VERSION))
            .await
            .unwrap()
            .is_empty()
    );
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        run(&p, &["reingest", "--all", "--work"]),
    )
    .await
    .expect("backspin reingest --all --work finished");
    assert!(out.contains("queued 4 uploads"), "{out}");
    let (first_again, second_again) = stats_now().await;
    assert_same_stats(&first_again, &fresh_stats.0);
    assert_same_stats(&second_again, &fresh_stats.1);
    for (u, keys) in uploads.iter().zip(&fresh_keys) {
        assert_eq!(p.upload(&u.id).await.unwrap().state, State::Ready);
        assert_eq!(&p.stream_keys(&u.id).await, keys);
    }
    assert!(p.queue_rows().await.is_empty());
}

both_engines!(a_reingest_the_parser_now_refuses_takes_that_upload_out_of_the_stats);

async fn a_reingest_the_parser_now_refuses_takes_that_upload_out_of_the_stats(engine: Engine) {
    let p = Pipeline::new(engine).await;
    let samples = fixtures::samples();
    let user = p.user("changed@example.com").await;
    let a = p
        .submit(&user, &samples.join("extended/endsong_1.json"))
        .await;
    let b = p
        .submit(
            &user,
            &samples.join("extended/Streaming_History_Audio_2023_2.json"),
        )
        .await;
    p.work(&p.deps()).await;
    let b_alone = p.merged(&user.id, &[&b.id]).await;
    assert_ne!(p.merged(&user.id, &[&a.id, &b.id]).await, b_alone);

    // What the current parser makes of A's file now: not a history at all.
    std::fs::write(
        p.store_path(&p.upload(&a.id).await.unwrap().object_key),
        b"{\"not\": \"a history\"}",
    )
    .unwrap();
    reingest(&p.deps(), &Selection::Upload(a.id.clone()))
        .await
        .unwrap();
    p.work(&p.deps()).await;

    let a_now = p.upload(&a.id).await.unwrap();
    assert_eq!(a_now.state, State::Failed);
    assert!(a_now.reason.unwrap().contains("not a listening history"));
    assert_eq!(
        p.play_count(&a.id).await,
        0,
        "a failed upload keeps no plays"
    );
    assert_eq!(
        p.merged(&user.id, &[&a.id, &b.id]).await,
        b_alone,
        "nothing of A counts any more"
    );
    assert_eq!(p.upload(&b.id).await.unwrap().state, State::Ready);
}
