//! Backspin's AWS resources on a moto server, made as `stack.yaml` makes them (a bucket whose
//! "object created" events go to an SQS queue with a dead-letter queue, an SNS topic for the
//! admins), with an SQS queue subscribed to the topic so that tests can read the alerts; and a
//! browser's `multipart/form-data` POST of a presigned form ([`post_form`]).

use std::sync::Arc;

use cloud::moto::MotoServer;
pub use cloud::moto::{FormAnswer, post_form};
use cloud::sdk::SdkConfig;
use ingest_worker::Deps;

use crate::{Pipeline, test_settings};

/// The stack on moto.
#[derive(Debug)]
pub struct AwsStack {
    /// The server (stopped when this is dropped).
    pub moto: MotoServer,
    /// SDK configuration for it.
    pub sdk: SdkConfig,
    /// The uploads bucket.
    pub bucket: String,
    /// The ingest queue's URL.
    pub queue_url: String,
    /// The dead-letter queue's URL.
    pub dead_letter_url: String,
    /// The admin topic's ARN.
    pub topic_arn: String,
    /// A queue subscribed to the topic: what the admins' e-mail would receive.
    pub alerts_url: String,
}

impl AwsStack {
    /// A fresh moto server with the resources made.
    pub async fn new() -> AwsStack {
        let moto = MotoServer::start();
        let sdk = cloud::sdk::load(&moto.endpoint()).await;
        let s3 = s3_client(&sdk);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let sns = aws_sdk_sns::Client::new(&sdk);
        let bucket = "backspin-uploads".to_string();
        s3.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("create bucket");
        // As stack.yaml has it: versions kept, and only uploads/ starts an ingest.
        s3.put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .expect("bucket versioning");
        let dead_letter_url = create_queue(&sqs, "backspin-ingest-dead", &[]).await;
        let dead_letter_arn = queue_arn(&sqs, &dead_letter_url).await;
        let redrive = serde_json::json!({
            "deadLetterTargetArn": dead_letter_arn,
            "maxReceiveCount": queue_config::QueueSettings::DEFAULT.max_receives,
        })
        .to_string();
        let queue_url = create_queue(&sqs, "backspin-ingest", &[("RedrivePolicy", &redrive)]).await;
        let ingest_arn = queue_arn(&sqs, &queue_url).await;
        use aws_sdk_s3::types::{
            Event, FilterRule, FilterRuleName, NotificationConfiguration,
            NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
        };
        s3.put_bucket_notification_configuration()
            .bucket(&bucket)
            .notification_configuration(
                NotificationConfiguration::builder()
                    .queue_configurations(
                        QueueConfiguration::builder()
                            .queue_arn(&ingest_arn)
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
                            .expect("queue configuration"),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("bucket notifications");
        let topic_arn = sns
            .create_topic()
            .name("backspin-alerts")
            .send()
            .await
            .expect("create topic")
            .topic_arn
            .expect("topic arn");
        let alerts_url = create_queue(&sqs, "backspin-alerts-inbox", &[]).await;
        let alerts_arn = queue_arn(&sqs, &alerts_url).await;
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(alerts_arn)
            .send()
            .await
            .expect("subscribe");
        AwsStack {
            moto,
            sdk,
            bucket,
            queue_url,
            dead_letter_url,
            topic_arn,
            alerts_url,
        }
    }

    /// A worker's dependencies on S3, SQS and SNS here, with the pipeline's database.
    pub fn deps(&self, pipeline: &Pipeline, max_upload_bytes: u64) -> Deps {
        Deps {
            db: pipeline.db().clone(),
            store: Arc::new(cloud::s3::S3Store::new(&self.sdk, &self.bucket, true)),
            queue: Arc::new(cloud::sqs::SqsQueue::new(
                &self.sdk,
                &self.queue_url,
                Some(&self.dead_letter_url),
            )),
            notifier: Arc::new(cloud::sns::SnsNotifier::new(&self.sdk, &self.topic_arn)),
            settings: test_settings(),
            limits: schema::Limits::default(),
            max_upload_bytes,
            after_change: Default::default(),
        }
    }

    /// How many versions (delete markers included) the bucket keeps of exactly `key`.
    pub async fn versions(&self, key: &str) -> usize {
        let page = s3_client(&self.sdk)
            .list_object_versions()
            .bucket(&self.bucket)
            .prefix(key)
            .send()
            .await
            .expect("list object versions");
        let versions = page.versions().iter().filter(|v| v.key() == Some(key));
        let markers = page
            .delete_markers()
            .iter()
            .filter(|m| m.key() == Some(key));
        versions.count() + markers.count()
    }

    /// The alerts the admins received so far: (subject, message) of each SNS notification.
    pub async fn alerts(&self) -> Vec<(String, String)> {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        let mut out = Vec::new();
        loop {
            let r = sqs
                .receive_message()
                .queue_url(&self.alerts_url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .expect("receive alerts");
            let messages = r.messages.unwrap_or_default();
            if messages.is_empty() {
                return out;
            }
            for m in messages {
                let envelope: serde_json::Value =
                    serde_json::from_str(m.body().unwrap_or("{}")).expect("an SNS envelope");
                out.push((
                    envelope["Subject"].as_str().unwrap_or("").to_string(),
                    envelope["Message"].as_str().unwrap_or("").to_string(),
                ));
                sqs.delete_message()
                    .queue_url(&self.alerts_url)
                    .receipt_handle(m.receipt_handle().unwrap_or(""))
                    .send()
                    .await
                    .expect("delete alert");
            }
        }
    }
}

/// An S3 client for moto (path-style addresses).
fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    )
}

async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &[(&str, &str)],
) -> String {
    let mut req = sqs.create_queue().queue_name(name);
    for (k, v) in attributes {
        req = req.attributes(aws_sdk_sqs::types::QueueAttributeName::from(*k), *v);
    }
    req.send()
        .await
        .unwrap_or_else(|e| panic!("create queue {name}: {e:?}"))
        .queue_url
        .expect("queue url")
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("queue arn")
}
