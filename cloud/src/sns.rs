//! Admin alerts on Amazon SNS, behind [`ingest_worker::notify::Notifier`]: each alert is
//! published to one topic, whose subscribers (email, chat) an operator chooses in the stack.

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sns::Client;
use aws_sdk_sns::error::DisplayErrorContext;
use ingest_worker::notify::Notifier;

/// The longest subject SNS accepts.
const MAX_SUBJECT: usize = 100;

/// Publishes alerts to an SNS topic.
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
}

impl SnsNotifier {
    /// A notifier publishing to `topic_arn`.
    pub fn new(sdk: &SdkConfig, topic_arn: &str) -> SnsNotifier {
        SnsNotifier {
            client: Client::new(sdk),
            topic_arn: topic_arn.to_string(),
        }
    }
}

#[async_trait]
impl Notifier for SnsNotifier {
    /// Publishes `message` with `subject` made acceptable to SNS (see [`sns_subject`]). A
    /// failure is logged, never returned: an alert must not stop the work it reports on.
    async fn notify(&self, subject: &str, message: &str) {
        let mut publish = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(message);
        let subject = sns_subject(subject);
        if !subject.is_empty() {
            publish = publish.subject(&subject);
        }
        if let Err(e) = publish.send().await {
            tracing::warn!(
                topic = %self.topic_arn,
                subject,
                message,
                error = %DisplayErrorContext(e),
                "could not publish an admin alert"
            );
        }
    }
}

/// A subject SNS accepts: printable ASCII on one line, at most 100 characters. Line breaks
/// and tabs become spaces (runs of them one space), other characters `?`, and a longer
/// subject is cut with `...`.
pub fn sns_subject(subject: &str) -> String {
    let mut out = String::with_capacity(subject.len().min(MAX_SUBJECT));
    for c in subject.trim().chars() {
        let c = match c {
            ' '..='~' => c,
            c if c.is_whitespace() => ' ',
            _ => '?',
        };
        if !(c == ' ' && out.ends_with(' ')) {
            out.push(c);
        }
    }
    if out.len() > MAX_SUBJECT {
        out.truncate(MAX_SUBJECT - 3);
        out.truncate(out.trim_end().len());
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_subject_is_sent_as_it_is() {
        assert_eq!(
            sns_subject("Backspin: upload failed"),
            "Backspin: upload failed"
        );
    }

    #[test]
    fn a_subject_becomes_one_line_of_printable_ascii_within_100_characters() {
        let subject = format!(
            "Upload failed:\r\n\tmy_spotify_data – “2024”.zip {}",
            "x".repeat(150)
        );
        let sent = sns_subject(&subject);
        assert!(sent.len() <= 100, "{} characters", sent.len());
        assert!(sent.chars().all(|c| (' '..='~').contains(&c)), "{sent:?}");
        assert!(
            sent.starts_with("Upload failed: my_spotify_data ? ?2024?.zip x"),
            "{sent:?}"
        );
        assert!(sent.ends_with("..."));
    }

    #[test]
    fn a_subject_of_only_line_breaks_is_left_out() {
        assert_eq!(sns_subject("\n\r\n"), "");
    }
}
