//! Signing an S3 POST policy (AWS Signature Version 4), without I/O: the form fields that let a
//! browser upload one object straight to a bucket.
//!
//! The policy pins everything the upload may vary: the bucket, the exact key, the size range
//! and the content type, plus the signing fields S3 requires. S3 checks the signature over the
//! base64 policy, then every condition against the posted fields and the file. Callers supply
//! the credentials and the clock, so the same inputs always give the same fields; the unit tests
//! check the signing chain against AWS's published example.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

/// The signing algorithm S3 POST policies use.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The credentials that sign a policy. Temporary credentials (an instance profile's) carry a
/// session token, which the form must send too.
#[derive(Clone, Copy)]
pub struct Credentials<'a> {
    /// The access key id (it appears in the form).
    pub access_key_id: &'a str,
    /// The secret access key (it only keys the HMAC).
    pub secret_access_key: &'a str,
    /// The session token of temporary credentials.
    pub session_token: Option<&'a str>,
}

impl std::fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.map(|_| "** redacted **"),
            )
            .finish()
    }
}

/// What one upload may be.
#[derive(Debug, Clone, Copy)]
pub struct Upload<'a> {
    /// The bucket.
    pub bucket: &'a str,
    /// The exact object key.
    pub key: &'a str,
    /// The largest body accepted, in bytes (the smallest is 1).
    pub max_bytes: u64,
    /// The exact `Content-Type` the form sends.
    pub content_type: &'a str,
    /// When the policy stops being accepted.
    pub expires: DateTime<Utc>,
}

/// Signs a POST policy for `upload` at `now` in `region`, and returns the form fields to send
/// before the file, in order: `key`, `Content-Type`, `x-amz-credential`, `x-amz-algorithm`,
/// `x-amz-date`, `x-amz-security-token` (with temporary credentials), `Policy` and
/// `X-Amz-Signature`.
pub fn sign(
    credentials: &Credentials<'_>,
    region: &str,
    now: DateTime<Utc>,
    upload: &Upload<'_>,
) -> Vec<(String, String)> {
    let date = now.format("%Y%m%d").to_string();
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let credential = format!(
        "{}/{date}/{region}/s3/aws4_request",
        credentials.access_key_id
    );

    // Every field the form sends, except the policy and signature themselves, is pinned by
    // an exact-match condition.
    let mut fields = vec![
        ("key", upload.key),
        ("Content-Type", upload.content_type),
        ("x-amz-credential", credential.as_str()),
        ("x-amz-algorithm", ALGORITHM),
        ("x-amz-date", amz_date.as_str()),
    ];
    if let Some(token) = credentials.session_token {
        fields.push(("x-amz-security-token", token));
    }

    let mut conditions = vec![
        Condition::Equals([("bucket", upload.bucket)].into()),
        Condition::Equals([("key", upload.key)].into()),
        Condition::Range("content-length-range", 1, upload.max_bytes),
    ];
    conditions.extend(
        fields
            .iter()
            .filter(|(name, _)| *name != "key")
            .map(|&(name, value)| Condition::Equals([(name, value)].into())),
    );
    let policy = Policy {
        expiration: upload.expires.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        conditions,
    };
    let policy = BASE64.encode(serde_json::to_vec(&policy).expect("a policy serialises"));
    let key = signing_key(credentials.secret_access_key, &date, region, "s3");
    let signature = signature(&key, &policy);

    let mut out: Vec<(String, String)> = fields
        .into_iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    out.push(("Policy".into(), policy));
    out.push(("X-Amz-Signature".into(), signature));
    out
}

/// The SigV4 signing key: the secret, HMAC'd with the date (`YYYYMMDD`), the region, the
/// service and `aws4_request` in turn.
pub fn signing_key(secret_access_key: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac(format!("AWS4{secret_access_key}").as_bytes(), date);
    let k_region = hmac(&k_date, region);
    let k_service = hmac(&k_region, service);
    hmac(&k_service, "aws4_request")
}

/// The signature of `string_to_sign` (for a POST, the base64 policy), in lowercase hex.
pub fn signature(signing_key: &[u8; 32], string_to_sign: &str) -> String {
    hmac(signing_key, string_to_sign)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn hmac(key: &[u8], data: &str) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().into()
}

/// The policy document, as S3 reads it.
#[derive(Serialize)]
struct Policy<'a> {
    expiration: String,
    conditions: Vec<Condition<'a>>,
}

/// One condition: `{"name": "value"}`, or `["content-length-range", min, max]`.
#[derive(Serialize)]
#[serde(untagged)]
enum Condition<'a> {
    Equals(std::collections::BTreeMap<&'a str, &'a str>),
    Range(&'static str, u64, u64),
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// AWS's published example of a browser-based upload with SigV4 ("Example: Browser-Based
    /// Upload using HTTP POST"): its base64 policy (with CRLF line ends), its example
    /// credentials and date, and the signature S3 computes for them.
    const EXAMPLE_POLICY: &str = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9";
    const EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const EXAMPLE_SIGNATURE: &str =
        "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e";

    fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no field {name}"))
    }

    fn upload(expires: DateTime<Utc>) -> Upload<'static> {
        Upload {
            bucket: "backspin-uploads",
            key: "uploads/owner-1/up-2/my_spotify_data.zip",
            max_bytes: 250 << 20,
            content_type: "application/zip",
            expires,
        }
    }

    #[test]
    fn the_signature_matches_the_one_aws_publishes_for_its_example_policy() {
        let key = signing_key(EXAMPLE_SECRET, "20151229", "us-east-1", "s3");
        assert_eq!(signature(&key, EXAMPLE_POLICY), EXAMPLE_SIGNATURE);
        // One character off in the policy gives another signature.
        let tampered = EXAMPLE_POLICY.replacen("eyAi", "eyBi", 1);
        assert_ne!(signature(&key, &tampered), EXAMPLE_SIGNATURE);
    }

    #[test]
    fn the_form_carries_the_signature_of_its_own_policy_under_the_credential_scope() {
        let now = Utc.with_ymd_and_hms(2015, 12, 29, 0, 0, 0).unwrap();
        let credentials = Credentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE",
            secret_access_key: EXAMPLE_SECRET,
            session_token: None,
        };
        let fields = sign(
            &credentials,
            "us-east-1",
            now,
            &upload(now + chrono::Duration::minutes(15)),
        );
        let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "key",
                "Content-Type",
                "x-amz-credential",
                "x-amz-algorithm",
                "x-amz-date",
                "Policy",
                "X-Amz-Signature"
            ]
        );
        assert_eq!(
            field(&fields, "x-amz-credential"),
            "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"
        );
        assert_eq!(field(&fields, "x-amz-date"), "20151229T000000Z");
        // The same key AWS's example verifies above, over this form's policy.
        let key = signing_key(EXAMPLE_SECRET, "20151229", "us-east-1", "s3");
        assert_eq!(
            field(&fields, "X-Amz-Signature"),
            signature(&key, field(&fields, "Policy"))
        );
    }

    #[test]
    fn the_policy_allows_exactly_one_key_size_range_content_type_and_expiry() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 23, 50, 7).unwrap();
        let credentials = Credentials {
            access_key_id: "ASIAEXAMPLE",
            secret_access_key: "secret",
            session_token: Some("token/with+chars="),
        };
        let fields = sign(
            &credentials,
            "eu-west-1",
            now,
            &upload(now + chrono::Duration::minutes(15)),
        );
        let policy = BASE64.decode(field(&fields, "Policy")).unwrap();
        let policy: serde_json::Value = serde_json::from_slice(&policy).unwrap();
        assert_eq!(
            policy,
            serde_json::json!({
                "expiration": "2026-03-02T00:05:07.000Z",
                "conditions": [
                    {"bucket": "backspin-uploads"},
                    {"key": "uploads/owner-1/up-2/my_spotify_data.zip"},
                    ["content-length-range", 1, 262_144_000],
                    {"Content-Type": "application/zip"},
                    {"x-amz-credential": "ASIAEXAMPLE/20260301/eu-west-1/s3/aws4_request"},
                    {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
                    {"x-amz-date": "20260301T235007Z"},
                    {"x-amz-security-token": "token/with+chars="},
                ]
            })
        );
        assert_eq!(field(&fields, "x-amz-security-token"), "token/with+chars=");
        assert_eq!(
            field(&fields, "key"),
            "uploads/owner-1/up-2/my_spotify_data.zip"
        );
        assert_eq!(field(&fields, "Content-Type"), "application/zip");
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let credentials = Credentials {
            access_key_id: "AKID",
            secret_access_key: "very-secret",
            session_token: Some("session-secret"),
        };
        let shown = format!("{credentials:?}");
        assert!(shown.contains("AKID"));
        assert!(!shown.contains("very-secret") && !shown.contains("session-secret"));
    }
}
