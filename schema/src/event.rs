//! The queue message: Amazon S3's event notification JSON, the same on SQS and on the table
//! queue, so one worker code path serves both.
//!
//! Only the fields the worker uses are modelled; everything else S3 sends is accepted and
//! ignored. Keys arrive form-URL-encoded (`+` for space, `%XX` escapes), as S3 writes them.

use serde::{Deserialize, Serialize};

/// An S3 event notification (`{"Records": [...]}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Event {
    /// One record per object event.
    #[serde(rename = "Records")]
    pub records: Vec<S3Record>,
}

/// One object event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Record {
    /// e.g. `ObjectCreated:Put`, `ObjectCreated:Post`.
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    /// Bucket and object.
    pub s3: S3Entity,
}

/// The `s3` member of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Entity {
    /// The bucket.
    pub bucket: S3Bucket,
    /// The object.
    pub object: S3Object,
}

/// A bucket, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Bucket {
    /// Bucket name.
    pub name: String,
}

/// An object as S3 describes it in an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Object {
    /// Form-URL-encoded key.
    pub key: String,
    /// Size in bytes.
    #[serde(default)]
    pub size: u64,
    /// ETag, when S3 sends one.
    #[serde(rename = "eTag", default, skip_serializing_if = "Option::is_none")]
    pub e_tag: Option<String>,
}

/// What a queue message turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Objects were created: their decoded keys.
    Created(Vec<String>),
    /// S3's `s3:TestEvent`, sent when notifications are configured: acknowledge and ignore.
    TestEvent,
    /// Not a message we understand; the reason, for the log.
    Malformed(String),
}

impl Message {
    /// Reads a message body.
    pub fn parse(body: &str) -> Message {
        let value: serde_json::Value = match serde_json::from_str(body) {
            Ok(v) => v,
            Err(e) => return Message::Malformed(format!("not JSON: {e}")),
        };
        if value.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
            return Message::TestEvent;
        }
        match serde_json::from_value::<S3Event>(value) {
            Ok(ev) if ev.records.is_empty() => Message::Malformed("no Records".into()),
            Ok(ev) => Message::Created(
                ev.records
                    .iter()
                    .filter(|r| {
                        r.event_name.is_empty() || r.event_name.starts_with("ObjectCreated")
                    })
                    .map(|r| decode_key(&r.s3.object.key))
                    .collect(),
            ),
            Err(e) => Message::Malformed(format!("not an S3 event: {e}")),
        }
    }

    /// The message S3 would send for a created object (what the embedded mode enqueues).
    pub fn created(bucket: &str, key: &str, size: u64, e_tag: Option<String>) -> String {
        let ev = S3Event {
            records: vec![S3Record {
                event_name: "ObjectCreated:Put".into(),
                s3: S3Entity {
                    bucket: S3Bucket {
                        name: bucket.into(),
                    },
                    object: S3Object {
                        key: encode_key(key),
                        size,
                        e_tag,
                    },
                },
            }],
        };
        serde_json::to_string(&ev).expect("an S3 event serialises")
    }
}

/// Form-URL-encodes a key as S3 does in event notifications (space as `+`).
pub fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Decodes a form-URL-encoded key; invalid escapes are kept as written.
pub fn decode_key(key: &str) -> String {
    let b = key.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_form_url_encoding() {
        let key = "uploads/u1/up 2/my_spotify_data (1) ü+%.zip";
        let enc = encode_key(key);
        assert!(!enc.contains(' '));
        assert_eq!(decode_key(&enc), key);
        assert_eq!(decode_key("a%2"), "a%2");
        assert_eq!(decode_key("100%"), "100%");
    }

    #[test]
    fn a_real_s3_notification_is_understood() {
        let body = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"eu-north-1",
            "eventTime":"2026-01-01T00:00:00.000Z","eventName":"ObjectCreated:Post",
            "s3":{"s3SchemaVersion":"1.0","configurationId":"x","bucket":{"name":"b","arn":"arn:aws:s3:::b"},
            "object":{"key":"uploads/u/1/my+file.json","size":42,"eTag":"abc","sequencer":"0A"}}}]}"#;
        assert_eq!(
            Message::parse(body),
            Message::Created(vec!["uploads/u/1/my file.json".into()])
        );
        let ours = Message::created("b", "uploads/u/1/my file.json", 42, None);
        assert_eq!(
            Message::parse(&ours),
            Message::Created(vec!["uploads/u/1/my file.json".into()])
        );
    }

    #[test]
    fn test_events_and_junk_are_recognised() {
        let test = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-01-01T00:00:00.000Z","Bucket":"b"}"#;
        assert_eq!(Message::parse(test), Message::TestEvent);
        assert!(matches!(Message::parse("{"), Message::Malformed(_)));
        assert!(matches!(
            Message::parse(r#"{"Records":[]}"#),
            Message::Malformed(_)
        ));
        assert!(matches!(
            Message::parse(r#"{"Records":[{"s3":{}}]}"#),
            Message::Malformed(_)
        ));
    }
}
