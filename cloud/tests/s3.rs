//! `S3Store` against moto's S3 through the real AWS SDK: objects round-trip (one PutObject or
//! a multipart upload), an oversized body leaves nothing behind, and a browser's presigned
//! POST stores the object and sends S3's event to the ingest queue.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
    QueueConfiguration, S3KeyFilter,
};
use cloud::moto::MotoServer;
use cloud::s3::{PART_SIZE, S3Store};
use cloud::sqs::SqsQueue;
use schema::event::Message;
use sha2::{Digest, Sha256};
use storage::objects::{ObjectError, ObjectStore};
use storage::queue::Queue;

const BUCKET: &str = "backspin-uploads";

/// A fresh moto server with the uploads bucket, and a store on it.
struct Bucket {
    moto: MotoServer,
    sdk: SdkConfig,
    s3: aws_sdk_s3::Client,
    store: S3Store,
}

async fn bucket() -> Bucket {
    let moto = MotoServer::start();
    let endpoint = moto.endpoint();
    let sdk = cloud::sdk::load(&endpoint).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    let store = S3Store::new(&sdk, BUCKET, endpoint.path_style());
    Bucket {
        moto,
        sdk,
        s3,
        store,
    }
}

/// Bytes that differ from part to part, so a part stored twice or out of order shows.
fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9E37_79B9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn fetched_bytes(store: &S3Store, key: &str) -> Vec<u8> {
    let fetched = store.fetch(key).await.unwrap().expect("the object exists");
    std::fs::read(&fetched.path).unwrap()
}

#[tokio::test]
async fn objects_round_trip_whether_sent_whole_or_in_parts() {
    let b = bucket().await;
    let store = &b.store;
    store.ping().await.unwrap();

    let small_key = "uploads/owner-1/up-1/Streaming_History_Audio_2024.json";
    let small = br#"[{"ts":"2024-01-01T00:00:00Z"}]"#;
    let stored = store
        .put(small_key, &mut &small[..], 1 << 20)
        .await
        .unwrap();
    assert_eq!(stored.size, small.len() as u64);
    assert_eq!(stored.sha256, sha256_hex(small));

    // Two parts: a full one and a short last one.
    let large_key = "uploads/owner-1/up-2/my spotify data.zip";
    let large = pattern(PART_SIZE + 300 * 1024);
    let stored = store
        .put(large_key, &mut &large[..], 64 << 20)
        .await
        .unwrap();
    assert_eq!(stored.size, large.len() as u64);
    assert_eq!(stored.sha256, sha256_hex(&large));
    let head =
        b.s3.head_object()
            .bucket(BUCKET)
            .key(large_key)
            .send()
            .await
            .unwrap();
    assert!(
        head.e_tag().unwrap().ends_with("-2\""),
        "a two-part multipart upload's ETag, got {:?}",
        head.e_tag()
    );

    store
        .put("other/elsewhere.txt", &mut &b"x"[..], 10)
        .await
        .unwrap();

    assert_eq!(fetched_bytes(store, small_key).await, small);
    assert_eq!(fetched_bytes(store, large_key).await, large);
    assert_eq!(
        store.size(large_key).await.unwrap(),
        Some(large.len() as u64)
    );
    assert_eq!(
        store.list("uploads/owner-1/").await.unwrap(),
        [small_key, large_key]
    );

    store.delete(small_key).await.unwrap();
    store.delete(small_key).await.unwrap();
    assert!(store.fetch(small_key).await.unwrap().is_none());
    assert_eq!(store.size(small_key).await.unwrap(), None);
    assert_eq!(store.list("uploads/").await.unwrap(), [large_key]);

    assert!(matches!(
        store.put("../escape", &mut &b"x"[..], 10).await,
        Err(ObjectError::InvalidKey(_))
    ));
    let missing = S3Store::new(&b.sdk, "no-such-bucket", true);
    assert!(matches!(
        missing.ping().await,
        Err(ObjectError::Unavailable(_))
    ));
}

#[tokio::test]
async fn an_oversized_body_is_refused_leaving_no_object_and_no_open_multipart_upload() {
    let b = bucket().await;
    let store = &b.store;

    // Over the limit within the first part: refused before anything is sent.
    let err = store
        .put("uploads/o/1/small.json", &mut &[b'x'; 100][..], 99)
        .await
        .unwrap_err();
    assert!(matches!(err, ObjectError::TooLarge { limit: 99 }), "{err}");

    // Over the limit in the second part: the multipart upload has begun and must be aborted.
    let limit = PART_SIZE as u64 + (PART_SIZE as u64) / 2;
    let big = pattern(2 * PART_SIZE + 10);
    let err = store
        .put("uploads/o/2/big.zip", &mut &big[..], limit)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ObjectError::TooLarge { limit: l } if l == limit),
        "{err}"
    );

    assert!(store.list("").await.unwrap().is_empty());
    let uploads =
        b.s3.list_multipart_uploads()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();
    assert!(
        uploads.uploads().is_empty(),
        "open multipart uploads: {:?}",
        uploads.uploads()
    );

    // Exactly at the limit is fine.
    let stored = store
        .put("uploads/o/3/exact.zip", &mut &big[..limit as usize], limit)
        .await
        .unwrap();
    assert_eq!(stored.size, limit);
}

// moto stores what is posted without checking the policy: not the signature, nor the expiry,
// nor the content-length-range or the other conditions. This test shows that the form's URL
// and fields make a working upload that S3 turns into an event the worker reads; the signing
// itself is checked by post_policy's unit tests against AWS's published example.
#[tokio::test]
async fn a_presigned_post_stores_the_file_and_its_event_reaches_the_ingest_queue() {
    let b = bucket().await;
    let sqs = aws_sdk_sqs::Client::new(&b.sdk);
    let queue_url = sqs
        .create_queue()
        .queue_name("ingest")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    // As stack.yaml configures the uploads bucket.
    b.s3.put_bucket_notification_configuration()
        .bucket(BUCKET)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(
                    QueueConfiguration::builder()
                        .queue_arn(queue_arn)
                        .events(Event::from("s3:ObjectCreated:*"))
                        .filter(
                            NotificationConfigurationFilter::builder()
                                .key(
                                    S3KeyFilter::builder()
                                        .filter_rules(
                                            FilterRule::builder()
                                                .name(FilterRuleName::Prefix)
                                                .value("uploads/")
                                                .build(),
                                        )
                                        .build(),
                                )
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();

    let key = "uploads/owner-1/up-7/my spotify data (1).zip";
    let form = b
        .store
        .presign_post(key, 1 << 20, "application/zip", Duration::from_secs(900))
        .await
        .unwrap()
        .expect("S3 gives a form");
    assert_eq!(form.url, format!("{}/{BUCKET}", b.moto.url()));
    let left_ms = form.expires_ms - chrono::Utc::now().timestamp_millis();
    assert!(
        (880_000..=900_000).contains(&left_ms),
        "expires in {left_ms} ms"
    );

    let file = pattern(40_000);
    assert_eq!(
        cloud::moto::post_form(&form.url, &form.fields, "my_spotify_data.zip", &file)
            .await
            .status,
        204
    );
    assert_eq!(fetched_bytes(&b.store, key).await, file);

    // Configuring notifications sends s3:TestEvent first; the worker acknowledges it.
    let queue = SqsQueue::new(&b.sdk, &queue_url, None);
    let mut created = Vec::new();
    for _ in 0..3 {
        let batch = queue
            .receive(10, Duration::from_secs(5), Duration::from_secs(30))
            .await
            .unwrap();
        for m in batch.messages {
            match Message::parse(&m.body) {
                Message::Created(keys) => created.extend(keys),
                Message::TestEvent => {}
                Message::Malformed(why) => panic!("{why}: {}", m.body),
            }
            queue.delete(&m.receipt).await.unwrap();
        }
        if !created.is_empty() {
            break;
        }
    }
    assert_eq!(created, [key]);
}
