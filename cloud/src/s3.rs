//! The object store on Amazon S3: uploads stream into one bucket, in 8 MiB parts when they are
//! large, and browsers post straight to it through presigned POST forms. S3 sends the "object
//! created" event to the ingest queue by itself, so [`S3Store::emits_events`] is true.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use sha2::{Digest, Sha256};
use storage::objects::{Fetched, ObjectError, ObjectStore, PostForm, Stored, validate_key};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::post_policy;

/// The size of one part of a multipart upload, and the largest body sent as one PutObject.
/// S3 wants parts of at least 5 MiB (but the last); 8 MiB keeps a 250 MB upload at 30 parts
/// and bounds what a put holds in memory.
pub const PART_SIZE: usize = 8 << 20;

/// An S3 bucket as the object store.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    path_style: bool,
    region: Option<String>,
    endpoint_url: Option<String>,
    credentials: Option<Arc<CachedCredentials>>,
}

impl S3Store {
    /// The store for `bucket`, with the SDK configuration `sdk`. `path_style` addresses the
    /// bucket in the path (`http://host/bucket/key`), as an endpoint override such as moto's
    /// needs (see [`crate::sdk::Endpoint::path_style`]).
    pub fn new(sdk: &SdkConfig, bucket: &str, path_style: bool) -> S3Store {
        let config = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(path_style)
            .build();
        S3Store {
            client: Client::from_conf(config),
            bucket: bucket.to_string(),
            path_style,
            region: sdk.region().map(|r| r.to_string()),
            endpoint_url: sdk
                .endpoint_url()
                .map(|u| u.trim_end_matches('/').to_string()),
            credentials: sdk
                .credentials_provider()
                .map(|provider| Arc::new(CachedCredentials::new(provider))),
        }
    }

    /// The URL a browser posts a form to: the bucket's address as the SDK's own requests
    /// use it.
    fn post_url(&self, region: &str) -> String {
        let bucket = &self.bucket;
        match (&self.endpoint_url, self.path_style) {
            (Some(endpoint), true) => format!("{endpoint}/{bucket}"),
            (Some(endpoint), false) => match endpoint.split_once("://") {
                Some((scheme, host)) => format!("{scheme}://{bucket}.{host}/"),
                None => format!("{endpoint}/{bucket}"),
            },
            (None, true) => format!("https://s3.{region}.amazonaws.com/{bucket}"),
            (None, false) => format!("https://{bucket}.s3.{region}.amazonaws.com/"),
        }
    }

    async fn put_object(&self, key: &str, part: Vec<u8>) -> Result<(), ObjectError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(part))
            .send()
            .await
            .map_err(|e| unavailable("PutObject", e))?;
        Ok(())
    }

    /// Uploads `first`, then the rest of `body` (starting with the bytes already read in
    /// `rest`), as the parts of the multipart upload `upload_id`, and completes it. On an
    /// error the caller aborts the upload.
    async fn upload_parts(
        &self,
        key: &str,
        upload_id: &str,
        first: Vec<u8>,
        mut rest: Vec<u8>,
        body: &mut (dyn AsyncRead + Unpin + Send),
        progress: &mut Progress,
    ) -> Result<(), ObjectError> {
        let mut parts = Vec::new();
        let mut part = first;
        while !part.is_empty() {
            let part_number = parts.len() as i32 + 1;
            let uploaded = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(part_number)
                .body(ByteStream::from(part))
                .send()
                .await
                .map_err(|e| unavailable("UploadPart", e))?;
            parts.push(
                CompletedPart::builder()
                    .part_number(part_number)
                    .set_e_tag(uploaded.e_tag)
                    .build(),
            );
            part = progress.read_part(body, std::mem::take(&mut rest)).await?;
        }
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| unavailable("CompleteMultipartUpload", e))?;
        Ok(())
    }

    /// Aborts a multipart upload, so that its parts are neither kept nor billed. A failure
    /// is only logged: the bucket's lifecycle rule removes incomplete uploads after a day.
    async fn abort(&self, key: &str, upload_id: &str) {
        if let Err(e) = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
        {
            tracing::warn!(
                bucket = %self.bucket,
                key,
                error = %DisplayErrorContext(e),
                "could not abort a multipart upload"
            );
        }
    }
}

/// The credentials that sign POST policies, kept until they are about to expire: the SDK's
/// provider does not cache (the clients cache on their own), and an instance profile's
/// provider would otherwise ask the instance metadata service for every form.
#[derive(Debug)]
struct CachedCredentials {
    provider: SharedCredentialsProvider,
    current: Mutex<Option<Credentials>>,
}

impl CachedCredentials {
    /// Credentials are refreshed this long before they expire, as the SDK's own cache does.
    const REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);

    fn new(provider: SharedCredentialsProvider) -> CachedCredentials {
        CachedCredentials {
            provider,
            current: Mutex::new(None),
        }
    }

    async fn get(&self) -> Result<Credentials, CredentialsError> {
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|expiry| expiry > SystemTime::now() + Self::REFRESH_BEFORE)
        };
        let cached = self.lock().clone().filter(fresh);
        if let Some(credentials) = cached {
            return Ok(credentials);
        }
        let credentials = self.provider.provide_credentials().await?;
        *self.lock() = Some(credentials.clone());
        Ok(credentials)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Credentials>> {
        // The value is replaced whole, so a panic elsewhere cannot leave it half-written.
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a put has read so far: it counts and hashes every byte and stops at the limit.
struct Progress {
    hasher: Sha256,
    size: u64,
    max_bytes: u64,
}

impl Progress {
    /// Reads up to one part from `body` after the bytes already in `part`; a part shorter
    /// than [`PART_SIZE`] means the body has ended.
    async fn read_part(
        &mut self,
        body: &mut (dyn AsyncRead + Unpin + Send),
        mut part: Vec<u8>,
    ) -> Result<Vec<u8>, ObjectError> {
        part.reserve_exact(PART_SIZE - part.len());
        while part.len() < PART_SIZE {
            let start = part.len();
            let n = (&mut *body)
                .take((PART_SIZE - start) as u64)
                .read_to_end(&mut part)
                .await?;
            if n == 0 {
                break;
            }
            self.count(&part[start..])?;
        }
        Ok(part)
    }

    fn count(&mut self, bytes: &[u8]) -> Result<(), ObjectError> {
        self.size += bytes.len() as u64;
        if self.size > self.max_bytes {
            return Err(ObjectError::TooLarge {
                limit: self.max_bytes,
            });
        }
        self.hasher.update(bytes);
        Ok(())
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    /// Streams `body` into `key`: a body of at most one part goes as one PutObject, a larger
    /// one as a multipart upload of [`PART_SIZE`] parts, so at most one part is held in
    /// memory. A body over `max_bytes`, or any failure, aborts the multipart upload, so
    /// nothing is left behind.
    async fn put(
        &self,
        key: &str,
        body: &mut (dyn AsyncRead + Unpin + Send),
        max_bytes: u64,
    ) -> Result<Stored, ObjectError> {
        validate_key(key)?;
        let mut progress = Progress {
            hasher: Sha256::new(),
            size: 0,
            max_bytes,
        };
        let first = progress.read_part(body, Vec::new()).await?;
        // A full first part may be the whole body: one more byte tells.
        let mut probe = [0u8; 1];
        let more = if first.len() == PART_SIZE {
            body.read(&mut probe).await?
        } else {
            0
        };
        if more == 0 {
            self.put_object(key, first).await?;
        } else {
            progress.count(&probe)?;
            let created = self
                .client
                .create_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| unavailable("CreateMultipartUpload", e))?;
            let upload_id = created.upload_id.ok_or_else(|| {
                ObjectError::Unavailable("CreateMultipartUpload returned no upload id".into())
            })?;
            // The probed byte starts the second part.
            let uploaded = self
                .upload_parts(key, &upload_id, first, probe.to_vec(), body, &mut progress)
                .await;
            if let Err(e) = uploaded {
                self.abort(key, &upload_id).await;
                return Err(e);
            }
        }
        Ok(Stored {
            size: progress.size,
            sha256: progress
                .hasher
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        })
    }

    async fn fetch(&self, key: &str) -> Result<Option<Fetched>, ObjectError> {
        validate_key(key)?;
        let response = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Ok(None);
            }
            Err(e) => return Err(unavailable("GetObject", e)),
        };
        let temp = tempfile::NamedTempFile::new()?;
        let mut file = tokio::fs::File::from_std(temp.as_file().try_clone()?);
        let mut body = response.body;
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| unavailable("GetObject (reading the body)", e))?
        {
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        Ok(Some(Fetched::temporary(temp.into_temp_path())))
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectError> {
        validate_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| unavailable("DeleteObject", e))?;
        Ok(())
    }

    async fn purge(&self, key: &str) -> Result<(), ObjectError> {
        // The plain delete for an unversioned bucket; on a versioned one it leaves a delete
        // marker, which goes with the versions below.
        self.delete(key).await?;
        let mut versions = Vec::new();
        let (mut key_marker, mut version_marker) = (None, None);
        loop {
            let page = self
                .client
                .list_object_versions()
                .bucket(&self.bucket)
                .prefix(key)
                .set_key_marker(key_marker)
                .set_version_id_marker(version_marker)
                .send()
                .await
                .map_err(|e| unavailable("ListObjectVersions", e))?;
            versions.extend(
                page.versions
                    .into_iter()
                    .flatten()
                    .map(|v| (v.key, v.version_id)),
            );
            versions.extend(
                page.delete_markers
                    .into_iter()
                    .flatten()
                    .map(|m| (m.key, m.version_id)),
            );
            if page.is_truncated != Some(true) {
                break;
            }
            (key_marker, version_marker) = (page.next_key_marker, page.next_version_id_marker);
        }
        for (k, version) in versions {
            if k.as_deref() != Some(key) {
                continue;
            }
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(key)
                .set_version_id(version)
                .send()
                .await
                .map_err(|e| unavailable("DeleteObject", e))?;
        }
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| unavailable("ListObjectsV2", e))?;
            keys.extend(page.contents.into_iter().flatten().filter_map(|o| o.key));
        }
        keys.sort();
        Ok(keys)
    }

    fn emits_events(&self) -> bool {
        true
    }

    fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn ping(&self) -> Result<(), ObjectError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|e| unavailable("HeadBucket", e))?;
        Ok(())
    }

    /// A presigned POST form, signed by [`post_policy::sign`] with the SDK's current
    /// credentials (an instance profile's rotate: they are fetched again shortly before they
    /// expire), valid for `valid_for` or until those credentials expire, whichever is sooner.
    async fn presign_post(
        &self,
        key: &str,
        max_bytes: u64,
        content_type: &str,
        valid_for: Duration,
    ) -> Result<Option<PostForm>, ObjectError> {
        validate_key(key)?;
        let region = self
            .region
            .as_deref()
            .ok_or_else(|| ObjectError::Unavailable("no AWS region configured".into()))?;
        let credentials = self
            .credentials
            .as_ref()
            .ok_or_else(|| {
                ObjectError::Unavailable("no AWS credentials provider configured".into())
            })?
            .get()
            .await
            .map_err(|e| unavailable("loading AWS credentials", e))?;
        let now = chrono::Utc::now();
        let valid_for = chrono::Duration::from_std(valid_for)
            .map_err(|e| ObjectError::Unavailable(format!("policy validity: {e}")))?;
        // S3 refuses a form signed with temporary credentials that have expired, so the form
        // says it expires no later than they do.
        let mut expires = now + valid_for;
        if let Some(expiry) = credentials.expiry() {
            expires = expires.min(chrono::DateTime::<chrono::Utc>::from(expiry));
        }
        let fields = post_policy::sign(
            &post_policy::Credentials {
                access_key_id: credentials.access_key_id(),
                secret_access_key: credentials.secret_access_key(),
                session_token: credentials.session_token(),
            },
            region,
            now,
            &post_policy::Upload {
                bucket: &self.bucket,
                key,
                max_bytes,
                content_type,
                expires,
            },
        );
        Ok(Some(PostForm {
            url: self.post_url(region),
            fields,
            expires_ms: expires.timestamp_millis(),
        }))
    }

    async fn size(&self, key: &str) -> Result<Option<u64>, ObjectError> {
        validate_key(key)?;
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(head) => Ok(Some(head.content_length.unwrap_or(0).max(0) as u64)),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(e) => Err(unavailable("HeadObject", e)),
        }
    }

    async fn set_expiring(&self, key: &str, expiring: bool) -> Result<(), ObjectError> {
        validate_key(key)?;
        if expiring {
            let tag = aws_sdk_s3::types::Tag::builder()
                .key(ANONYMOUS_TAG)
                .value("true")
                .build()
                .map_err(|e| unavailable("PutObjectTagging", e))?;
            let tagging = aws_sdk_s3::types::Tagging::builder()
                .tag_set(tag)
                .build()
                .map_err(|e| unavailable("PutObjectTagging", e))?;
            self.client
                .put_object_tagging()
                .bucket(&self.bucket)
                .key(key)
                .tagging(tagging)
                .send()
                .await
                .map_err(|e| unavailable("PutObjectTagging", e))?;
        } else {
            self.client
                .delete_object_tagging()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| unavailable("DeleteObjectTagging", e))?;
        }
        Ok(())
    }
}

/// The tag that marks an anonymous visitor's upload; `stack.yaml`'s lifecycle rule
/// `ExpireAnonymousUploads` expires objects that carry it.
pub const ANONYMOUS_TAG: &str = "backspin-anonymous";

/// An SDK error as a transient store error, with its whole chain of causes.
fn unavailable(operation: &str, e: impl std::error::Error) -> ObjectError {
    ObjectError::Unavailable(format!("{operation}: {}", DisplayErrorContext(e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_config::{BehaviorVersion, Region};

    fn sdk(endpoint: Option<&str>, credentials: Credentials) -> SdkConfig {
        let mut sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(SharedCredentialsProvider::new(credentials));
        if let Some(url) = endpoint {
            sdk = sdk.endpoint_url(url);
        }
        sdk.build()
    }

    fn field<'a>(form: &'a PostForm, name: &str) -> Option<&'a str> {
        form.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    #[tokio::test]
    async fn on_aws_the_form_posts_to_the_buckets_own_host() {
        let credentials = Credentials::new("AKID", "secret", None, None, "test");
        let store = S3Store::new(&sdk(None, credentials), "backspin-uploads", false);
        let form = store
            .presign_post(
                "uploads/o/u/a.zip",
                100,
                "application/zip",
                Duration::from_secs(60),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            form.url,
            "https://backspin-uploads.s3.eu-west-1.amazonaws.com/"
        );
        assert_eq!(field(&form, "key"), Some("uploads/o/u/a.zip"));
        assert_eq!(field(&form, "x-amz-security-token"), None);
    }

    #[tokio::test]
    async fn temporary_credentials_go_in_the_form_which_expires_no_later_than_they_do() {
        let expiry = SystemTime::now() + Duration::from_secs(10 * 60);
        let credentials =
            Credentials::new("ASIA", "secret", Some("token".into()), Some(expiry), "test");
        let store = S3Store::new(
            &sdk(Some("http://127.0.0.1:5000/"), credentials),
            "backspin-uploads",
            true,
        );
        let form = store
            .presign_post(
                "uploads/o/u/a.zip",
                100,
                "application/zip",
                Duration::from_secs(3600),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(form.url, "http://127.0.0.1:5000/backspin-uploads");
        assert_eq!(field(&form, "x-amz-security-token"), Some("token"));
        let expiry_ms = expiry
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        assert!(
            (expiry_ms - 1000..=expiry_ms).contains(&form.expires_ms),
            "{} vs {expiry_ms}",
            form.expires_ms
        );
    }
}
