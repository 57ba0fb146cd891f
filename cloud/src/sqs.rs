//! The ingest queue on Amazon SQS, behind [`storage::queue::Queue`].
//!
//! SQS itself gives the semantics the table queue reproduces: long-poll receive, visibility
//! timeouts, receive counts, and a redrive policy that moves a message to the dead-letter
//! queue after `maxReceiveCount` receives (`stack.yaml` sets it from
//! `queue_config::QueueSettings::max_receives`).
//!
//! # Dead letters
//!
//! The table queue reports the messages it dead-letters in [`Batch::dead_lettered`], so that
//! the worker marks their uploads failed and notifies an administrator. SQS moves them
//! silently, so when [`SqsQueue`] knows the dead-letter queue, every receive also takes what
//! waits there (without waiting, up to 10 messages), returns it in [`Batch::dead_lettered`]
//! and deletes it from the dead-letter queue: each dead letter is reported once, by one
//! worker, and the dead-letter queue stays empty while workers run, its alarm then meaning
//! that no worker is draining it.
//!
//! The price of that choice: a dead letter is deleted before the worker has recorded it, so a
//! worker that dies in between loses it (its upload stays in `processing`, and the CloudWatch
//! alarm on the dead-letter queue has already fired). Without a dead-letter URL, dead letters
//! stay on the dead-letter queue for an operator, and [`Batch::dead_lettered`] is always
//! empty.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName, QueueAttributeName,
};
use storage::queue::{Batch, Depth, Queue, QueueError, Received};

/// The most messages one SQS receive returns.
const MAX_BATCH: u32 = 10;
/// The longest long poll SQS allows.
const MAX_WAIT: Duration = Duration::from_secs(20);
/// The longest visibility timeout SQS allows (12 hours).
const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 60 * 60);

/// An SQS queue, with its dead-letter queue when the worker should report dead letters.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
    dead_letter_url: Option<String>,
}

impl SqsQueue {
    /// The queue at `queue_url`. With `dead_letter_url`, receives also take the dead letters
    /// (see the module documentation) and [`Queue::depth`] counts them.
    pub fn new(sdk: &SdkConfig, queue_url: &str, dead_letter_url: Option<&str>) -> SqsQueue {
        SqsQueue {
            client: Client::new(sdk),
            queue_url: queue_url.to_string(),
            dead_letter_url: dead_letter_url.map(str::to_string),
        }
    }

    /// One ReceiveMessage call on `queue_url`.
    async fn receive_from(
        &self,
        queue_url: &str,
        max: u32,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<Received>, QueueError> {
        let output = self
            .client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(max.clamp(1, MAX_BATCH) as i32)
            .wait_time_seconds(wait.min(MAX_WAIT).as_secs() as i32)
            .visibility_timeout(whole_seconds(visibility.min(MAX_VISIBILITY)))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| queue_error("ReceiveMessage", e))?;
        Ok(output
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(received)
            .collect())
    }

    /// Takes what waits on the dead-letter queue off it.
    async fn take_dead_letters(
        &self,
        dead_letter_url: &str,
        visibility: Duration,
    ) -> Result<Vec<Received>, QueueError> {
        // Hidden from other workers for `visibility` while this one deletes them.
        let dead = self
            .receive_from(dead_letter_url, MAX_BATCH, Duration::ZERO, visibility)
            .await?;
        if dead.is_empty() {
            return Ok(dead);
        }
        let entries = dead
            .iter()
            .enumerate()
            .map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(&m.receipt)
                    .build()
                    .map_err(|e| QueueError(format!("DeleteMessageBatch: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let output = self
            .client
            .delete_message_batch()
            .queue_url(dead_letter_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| queue_error("DeleteMessageBatch", e))?;
        // One that could not be deleted comes back after `visibility` and is reported again;
        // marking an upload failed twice is harmless.
        for failed in &output.failed {
            tracing::warn!(
                code = failed.code,
                message = failed.message.as_deref().unwrap_or(""),
                "could not delete a dead letter; it will be reported again"
            );
        }
        Ok(dead)
    }

    /// `ApproximateNumberOfMessages` and `ApproximateNumberOfMessagesNotVisible` of a queue.
    async fn counts(&self, queue_url: &str) -> Result<(u64, u64), QueueError> {
        let output = self
            .client
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| queue_error("GetQueueAttributes", e))?;
        let attributes = output.attributes.unwrap_or_default();
        let count = |name: &QueueAttributeName| -> Result<u64, QueueError> {
            attributes
                .get(name)
                .map(|v| v.parse::<u64>())
                .transpose()
                .map_err(|e| QueueError(format!("GetQueueAttributes: {name}: {e}")))
                .map(Option::unwrap_or_default)
        };
        Ok((
            count(&QueueAttributeName::ApproximateNumberOfMessages)?,
            count(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible)?,
        ))
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, body: &str) -> Result<String, QueueError> {
        let output = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| queue_error("SendMessage", e))?;
        output
            .message_id
            .ok_or_else(|| QueueError("SendMessage returned no message id".into()))
    }

    /// Receives up to `max` messages (SQS returns at most 10), waiting up to `wait` (at most
    /// 20 s); then, with a dead-letter queue, takes the dead letters off it.
    async fn receive(
        &self,
        max: u32,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Batch, QueueError> {
        // The ingest queue first: SQS moves a message to the dead-letter queue during a
        // receive, so this call reports it at once.
        let messages = self
            .receive_from(&self.queue_url, max, wait, visibility)
            .await?;
        let mut dead_lettered = Vec::new();
        if let Some(dead_letter_url) = &self.dead_letter_url {
            // The received messages are hidden now, so an error here must not lose them: the
            // dead letters wait for the next call.
            match self.take_dead_letters(dead_letter_url, visibility).await {
                Ok(dead) => dead_lettered = dead,
                Err(e) => tracing::warn!(error = %e, "could not take the dead letters"),
            }
        }
        Ok(Batch {
            messages,
            dead_lettered,
        })
    }

    async fn extend(&self, receipt: &str, visibility: Duration) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(whole_seconds(visibility.min(MAX_VISIBILITY)))
            .send()
            .await
            .map_err(|e| queue_error("ChangeMessageVisibility", e))?;
        Ok(())
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| queue_error("DeleteMessage", e))?;
        Ok(())
    }

    /// The queue's visible and in-flight counts and, with a dead-letter queue, the number of
    /// messages waiting there (0 without one).
    async fn depth(&self) -> Result<Depth, QueueError> {
        let (visible, in_flight) = self.counts(&self.queue_url).await?;
        let dead = match &self.dead_letter_url {
            Some(url) => self.counts(url).await?.0,
            None => 0,
        };
        Ok(Depth {
            visible,
            in_flight,
            dead,
        })
    }
}

/// A received SQS message as the queue interface has it.
fn received(message: Message) -> Received {
    let receive_count = message
        .attributes
        .as_ref()
        .and_then(|a: &HashMap<_, _>| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    Received {
        id: message.message_id.unwrap_or_default(),
        receipt: message.receipt_handle.unwrap_or_default(),
        body: message.body.unwrap_or_default(),
        receive_count,
    }
}

/// A duration in the whole seconds SQS takes, rounded up: a message asked to stay hidden for
/// half a second must not be visible at once.
fn whole_seconds(d: Duration) -> i32 {
    d.as_millis().div_ceil(1000) as i32
}

fn queue_error(operation: &str, e: impl std::error::Error) -> QueueError {
    QueueError(format!("{operation}: {}", DisplayErrorContext(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_rounds_up_to_whole_seconds() {
        assert_eq!(whole_seconds(Duration::ZERO), 0);
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::from_secs(120)), 120);
        assert_eq!(whole_seconds(Duration::from_millis(120_001)), 121);
    }
}
