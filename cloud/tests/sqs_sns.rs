//! `SqsQueue` and `SnsNotifier` against moto's SQS and SNS through the real AWS SDK: the
//! queue's receive, visibility, delete and depth, the redrive policy's dead letters, and
//! alerts delivered from the topic to a subscribed queue.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_sqs::types::QueueAttributeName;
use cloud::moto::MotoServer;
use cloud::sns::SnsNotifier;
use cloud::sqs::SqsQueue;
use ingest_worker::notify::Notifier;
use queue_config::QueueSettings;
use storage::queue::{Depth, Queue};

const VISIBILITY: Duration = Duration::from_secs(1);

struct Moto {
    _server: MotoServer,
    sdk: SdkConfig,
    sqs: aws_sdk_sqs::Client,
}

async fn moto() -> Moto {
    let server = MotoServer::start();
    let sdk = cloud::sdk::load(&server.endpoint()).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    Moto {
        _server: server,
        sdk,
        sqs,
    }
}

impl Moto {
    /// Creates a queue; returns its URL and ARN.
    async fn queue(&self, name: &str, redrive_to: Option<&str>) -> (String, String) {
        let mut create = self.sqs.create_queue().queue_name(name);
        if let Some(dead_letter_arn) = redrive_to {
            // As stack.yaml sets it.
            let policy = serde_json::json!({
                "deadLetterTargetArn": dead_letter_arn,
                "maxReceiveCount": QueueSettings::DEFAULT.max_receives,
            });
            create = create.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
        }
        let url = create.send().await.unwrap().queue_url.unwrap();
        let arn = self
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&QueueAttributeName::QueueArn]
            .clone();
        (url, arn)
    }

    /// An ingest queue that dead-letters into its own dead-letter queue; their URLs.
    async fn queue_with_dead_letters(&self) -> (String, String) {
        let (dead_url, dead_arn) = self.queue("ingest-dead", None).await;
        let (url, _) = self.queue("ingest", Some(&dead_arn)).await;
        (url, dead_url)
    }

    /// Bodies waiting on a queue, read with the SDK directly.
    async fn bodies(&self, url: &str) -> Vec<String> {
        self.sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| m.body)
            .collect()
    }
}

/// Receives the one message `queue` holds without deleting it, as many times as the redrive
/// policy allows, checking the receive count each time.
async fn receive_until_the_limit(queue: &SqsQueue, body: &str) {
    for n in 1..=QueueSettings::DEFAULT.max_receives {
        // The wait outlasts the previous receive's visibility, so each call gets it again.
        let batch = queue
            .receive(1, Duration::from_secs(5), VISIBILITY)
            .await
            .unwrap();
        assert_eq!(batch.messages.len(), 1, "receive {n}");
        assert_eq!(batch.messages[0].body, body);
        assert_eq!(batch.messages[0].receive_count, n);
        assert!(batch.dead_lettered.is_empty());
    }
}

#[tokio::test]
async fn a_received_message_stays_hidden_while_extended_and_is_gone_once_deleted() {
    let m = moto().await;
    let (url, _) = m.queue("ingest", None).await;
    let queue = SqsQueue::new(&m.sdk, &url, None);

    let id = queue.send(r#"{"Records":[]}"#).await.unwrap();
    assert_eq!(
        queue.depth().await.unwrap(),
        Depth {
            visible: 1,
            in_flight: 0,
            dead: 0
        }
    );

    let batch = queue
        .receive(10, Duration::from_secs(1), VISIBILITY)
        .await
        .unwrap();
    assert_eq!(batch.messages.len(), 1);
    let message = &batch.messages[0];
    assert_eq!(message.id, id);
    assert_eq!(message.body, r#"{"Records":[]}"#);
    assert_eq!(message.receive_count, 1);
    assert_eq!(
        queue.depth().await.unwrap(),
        Depth {
            visible: 0,
            in_flight: 1,
            dead: 0
        }
    );

    // Without the extension the message would be back after one second.
    queue
        .extend(&message.receipt, Duration::from_secs(60))
        .await
        .unwrap();
    let again = queue
        .receive(10, Duration::from_secs(3), VISIBILITY)
        .await
        .unwrap();
    assert!(again.messages.is_empty(), "{:?}", again.messages);

    queue.delete(&message.receipt).await.unwrap();
    assert_eq!(queue.depth().await.unwrap(), Depth::default());
}

#[tokio::test]
async fn without_its_url_the_queue_leaves_dead_letters_on_the_dead_letter_queue() {
    let m = moto().await;
    let (url, dead_url) = m.queue_with_dead_letters().await;
    let queue = SqsQueue::new(&m.sdk, &url, None);
    queue.send("poison").await.unwrap();

    receive_until_the_limit(&queue, "poison").await;
    // SQS moves it to the dead-letter queue instead of delivering it once more.
    let batch = queue
        .receive(1, Duration::from_secs(3), VISIBILITY)
        .await
        .unwrap();
    assert!(batch.messages.is_empty() && batch.dead_lettered.is_empty());
    assert_eq!(queue.depth().await.unwrap().dead, 0, "no dead-letter URL");

    let with_dead = SqsQueue::new(&m.sdk, &url, Some(&dead_url));
    assert_eq!(
        with_dead.depth().await.unwrap(),
        Depth {
            visible: 0,
            in_flight: 0,
            dead: 1
        }
    );
    assert_eq!(m.bodies(&dead_url).await, ["poison"]);
}

#[tokio::test]
async fn with_its_url_a_dead_letter_is_reported_once_and_taken_off_the_dead_letter_queue() {
    let m = moto().await;
    let (url, dead_url) = m.queue_with_dead_letters().await;
    let queue = SqsQueue::new(&m.sdk, &url, Some(&dead_url));
    let id = queue.send("poison").await.unwrap();
    queue.send("fine").await.unwrap();
    // Take "fine" away first, so that only "poison" keeps coming back.
    let first = queue.receive(1, Duration::ZERO, VISIBILITY).await.unwrap();
    assert_eq!(first.messages[0].body, "poison");
    let fine = queue.receive(1, Duration::ZERO, VISIBILITY).await.unwrap();
    assert_eq!(fine.messages[0].body, "fine");
    queue.delete(&fine.messages[0].receipt).await.unwrap();

    for n in 2..=QueueSettings::DEFAULT.max_receives {
        let batch = queue
            .receive(1, Duration::from_secs(5), VISIBILITY)
            .await
            .unwrap();
        assert_eq!(batch.messages.len(), 1, "receive {n}");
        assert_eq!(batch.messages[0].receive_count, n);
    }

    let batch = queue
        .receive(1, Duration::from_secs(3), VISIBILITY)
        .await
        .unwrap();
    assert!(batch.messages.is_empty(), "{:?}", batch.messages);
    assert_eq!(batch.dead_lettered.len(), 1);
    assert_eq!(batch.dead_lettered[0].id, id);
    assert_eq!(batch.dead_lettered[0].body, "poison");

    let after = queue
        .receive(1, Duration::from_secs(2), VISIBILITY)
        .await
        .unwrap();
    assert!(after.messages.is_empty() && after.dead_lettered.is_empty());
    assert_eq!(queue.depth().await.unwrap(), Depth::default());
    assert!(m.bodies(&dead_url).await.is_empty());
}

#[tokio::test]
async fn an_alert_reaches_the_topics_subscribers_with_its_subject_made_acceptable() {
    let m = moto().await;
    let sns = aws_sdk_sns::Client::new(&m.sdk);
    let topic_arn = sns
        .create_topic()
        .name("backspin-alerts")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let (inbox_url, inbox_arn) = m.queue("alerts-inbox", None).await;
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(inbox_arn)
        .send()
        .await
        .unwrap();
    let notifier = SnsNotifier::new(&m.sdk, &topic_arn);
    let inbox = SqsQueue::new(&m.sdk, &inbox_url, None);

    let mut alerts = Vec::new();
    notifier
        .notify(
            "Backspin: an upload failed",
            "Upload up-7 of owner-1 failed: not a Spotify export.",
        )
        .await;
    let long = format!("Dead letter:\nuploads/owner-1/up-8/{}", "x".repeat(150));
    notifier
        .notify(&long, "Message moved to the dead-letter queue.")
        .await;
    for _ in 0..3 {
        let batch = inbox
            .receive(10, Duration::from_secs(2), Duration::from_secs(30))
            .await
            .unwrap();
        for message in batch.messages {
            let envelope: serde_json::Value = serde_json::from_str(&message.body).unwrap();
            alerts.push((
                envelope["Subject"].as_str().unwrap().to_string(),
                envelope["Message"].as_str().unwrap().to_string(),
            ));
        }
        if alerts.len() >= 2 {
            break;
        }
    }
    alerts.sort();

    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert_eq!(
        alerts[0],
        (
            "Backspin: an upload failed".to_string(),
            "Upload up-7 of owner-1 failed: not a Spotify export.".to_string()
        )
    );
    let (subject, message) = &alerts[1];
    assert_eq!(message, "Message moved to the dead-letter queue.");
    assert!(subject.len() <= 100, "{} characters", subject.len());
    assert!(
        subject.starts_with("Dead letter: uploads/owner-1/up-8/xxx") && subject.ends_with("..."),
        "{subject:?}"
    );
}

/// Log lines written while it is the thread's default subscriber.
#[derive(Clone, Default)]
struct CapturedLog(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_failed_alert_is_logged_and_not_fatal() {
    let m = moto().await;
    let log = CapturedLog::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let notifier = SnsNotifier::new(&m.sdk, "arn:aws:sns:us-east-1:123456789012:no-such-topic");
    tokio::time::timeout(
        Duration::from_secs(30),
        notifier.notify("Backspin: an upload failed", "up-9 failed"),
    )
    .await
    .expect("notify gives up instead of hanging");

    let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("could not publish an admin alert"), "{log}");
    assert!(
        log.contains("no-such-topic") && log.contains("up-9 failed"),
        "{log}"
    );
}
