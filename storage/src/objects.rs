//! The object store: where uploaded files live. S3 in the cloud; a local directory embedded.
//! Keys are `uploads/<owner>/<upload-id>/<file name>` (DESIGN.md).

use std::fmt;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

/// What went wrong with an object.
#[derive(Debug)]
pub enum ObjectError {
    /// The body exceeded the size limit; nothing was stored.
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The key is not one we issue (absolute, `..`, empty segments, control characters).
    InvalidKey(String),
    /// The store could not be reached or written (transient).
    Unavailable(String),
}

impl fmt::Display for ObjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectError::TooLarge { limit } => {
                write!(
                    f,
                    "the file is larger than the limit of {} MiB",
                    limit >> 20
                )
            }
            ObjectError::InvalidKey(k) => write!(f, "invalid object key {k:?}"),
            ObjectError::Unavailable(e) => write!(f, "object store unavailable: {e}"),
        }
    }
}

impl std::error::Error for ObjectError {}

impl From<std::io::Error> for ObjectError {
    fn from(e: std::io::Error) -> Self {
        ObjectError::Unavailable(e.to_string())
    }
}

/// What a put stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Bytes.
    pub size: u64,
    /// SHA-256, hex.
    pub sha256: String,
}

/// An object made available as a local file, for reading with seeks (zips need them).
#[derive(Debug)]
pub struct Fetched {
    /// Where to read it.
    pub path: PathBuf,
    /// A downloaded copy, removed when this is dropped.
    _temp: Option<tempfile::TempPath>,
}

impl Fetched {
    /// A downloaded temporary copy.
    pub fn temporary(temp: tempfile::TempPath) -> Fetched {
        Fetched {
            path: temp.to_path_buf(),
            _temp: Some(temp),
        }
    }
}

/// A form the browser posts straight to the store (S3's presigned POST): the address, and the
/// fields to send before the file, in order. The file goes last, in a field named `file`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PostForm {
    /// Where to POST (`multipart/form-data`).
    pub url: String,
    /// Form fields, in order: key, policy, signature and the conditions' values.
    pub fields: Vec<(String, String)>,
    /// When the policy expires (milliseconds since the epoch).
    pub expires_ms: i64,
}

/// The store's interface, shared by the local directory and S3.
#[async_trait]
pub trait ObjectStore: Send + Sync + fmt::Debug {
    /// Streams `body` into `key`, refusing more than `max_bytes` (then nothing is stored).
    async fn put(
        &self,
        key: &str,
        body: &mut (dyn AsyncRead + Unpin + Send),
        max_bytes: u64,
    ) -> Result<Stored, ObjectError>;
    /// The object as a local file; `None` when it does not exist.
    async fn fetch(&self, key: &str) -> Result<Option<Fetched>, ObjectError>;
    /// Deletes an object; deleting a missing object is not an error.
    async fn delete(&self, key: &str) -> Result<(), ObjectError>;
    /// Keys under a prefix, sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectError>;
    /// Whether storing an object sends the "object created" event by itself (S3 does; the
    /// local directory does not, so the uploader enqueues it).
    fn emits_events(&self) -> bool;
    /// The bucket name events carry.
    fn bucket(&self) -> &str;
    /// Whether the store is reachable.
    async fn ping(&self) -> Result<(), ObjectError>;
    /// A form that lets a browser upload `key` directly: exactly that key, at most
    /// `max_bytes`, of `content_type`, valid for `valid_for`. `None` when the store takes
    /// uploads only through [`ObjectStore::put`] (the local directory).
    async fn presign_post(
        &self,
        key: &str,
        max_bytes: u64,
        content_type: &str,
        valid_for: std::time::Duration,
    ) -> Result<Option<PostForm>, ObjectError> {
        let _ = (key, max_bytes, content_type, valid_for);
        Ok(None)
    }
    /// The object's size in bytes; `None` when it does not exist.
    async fn size(&self, key: &str) -> Result<Option<u64>, ObjectError>;
    /// Marks an object as an anonymous visitor's, which the store may expire on its own
    /// (S3: the tag `backspin-anonymous=true`, which `stack.yaml`'s lifecycle rule expires
    /// after two days), or clears the mark when the visitor signs up. The sweeper deletes
    /// expired uploads either way; this is the store's own backstop. The local directory has
    /// nothing to mark.
    async fn set_expiring(&self, key: &str, expiring: bool) -> Result<(), ObjectError> {
        let _ = (key, expiring);
        Ok(())
    }

    /// Removes the half-written files of transfers that were cut off (a crash during an
    /// upload): those last written before `before`. Returns how many. The local directory
    /// keeps them in `.partial/`; S3 has none of its own to clean (its incomplete multipart
    /// uploads are aborted by the bucket's lifecycle rule).
    async fn clean_partials(&self, before: std::time::SystemTime) -> Result<usize, ObjectError> {
        let _ = before;
        Ok(0)
    }

    /// Deletes an object and every earlier version of it, where the store keeps versions (S3
    /// with versioning): for bytes that must not outlive their replacement.
    async fn purge(&self, key: &str) -> Result<(), ObjectError> {
        self.delete(key).await
    }

    /// Bytes free for new objects on the store's own disk; `None` for a store without one to
    /// fill (S3).
    async fn free_bytes(&self) -> Result<Option<u64>, ObjectError> {
        Ok(None)
    }
}

/// The size and SHA-256 (hex) of a local file, read in blocks.
pub fn sha256_file(path: &Path) -> std::io::Result<(u64, String)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex(&hasher.finalize())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks that a key is relative, with non-empty, non-dot segments and no control characters.
pub fn validate_key(key: &str) -> Result<(), ObjectError> {
    let ok = !key.is_empty()
        && key.len() <= 1024
        && !key.starts_with('/')
        && !key.contains('\\')
        && !key.chars().any(char::is_control)
        && key
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..");
    if ok {
        Ok(())
    } else {
        Err(ObjectError::InvalidKey(key.chars().take(100).collect()))
    }
}

/// Objects as files under a directory. Writes go to a temporary file first and are renamed
/// into place, so a reader never sees half an object.
#[derive(Debug, Clone)]
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    /// A store rooted at `root` (created when missing).
    pub fn new(root: impl Into<PathBuf>) -> std::io::Result<LocalDir> {
        let root = root.into();
        crate::held::create_private_dir(&root.join(".partial"))?;
        Ok(LocalDir { root })
    }

    fn path(&self, key: &str) -> Result<PathBuf, ObjectError> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }
}

#[async_trait]
impl ObjectStore for LocalDir {
    async fn put(
        &self,
        key: &str,
        body: &mut (dyn AsyncRead + Unpin + Send),
        max_bytes: u64,
    ) -> Result<Stored, ObjectError> {
        let dest = self.path(key)?;
        let partial = self.root.join(".partial").join(crate::ids::new_id());
        let result = async {
            let mut file = tokio::fs::OpenOptions::from(crate::held::private_options())
                .write(true)
                .truncate(true)
                .open(&partial)
                .await?;
            let mut hasher = Sha256::new();
            let mut size = 0u64;
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = body.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                size += n as u64;
                if size > max_bytes {
                    return Err(ObjectError::TooLarge { limit: max_bytes });
                }
                hasher.update(&buf[..n]);
                file.write_all(&buf[..n]).await?;
            }
            file.sync_all().await?;
            drop(file);
            if let Some(parent) = dest.parent() {
                crate::held::create_private_dir(parent)?;
            }
            tokio::fs::rename(&partial, &dest).await?;
            let sha256 = hex(&hasher.finalize());
            Ok(Stored { size, sha256 })
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&partial).await;
        }
        result
    }

    async fn fetch(&self, key: &str) -> Result<Option<Fetched>, ObjectError> {
        let path = self.path(key)?;
        match tokio::fs::metadata(&path).await {
            Ok(m) if m.is_file() => Ok(Some(Fetched { path, _temp: None })),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectError> {
        let path = self.path(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        // Tidy the now-empty upload folder; a folder still in use simply stays.
        if let Some(parent) = path.parent() {
            let _ = tokio::fs::remove_dir(parent).await;
        }
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectError> {
        let root = self.root.clone();
        let prefix = prefix.to_string();
        let keys = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            walk(&root, &root, &mut out);
            out.retain(|k: &String| k.starts_with(&prefix));
            out.sort();
            out
        })
        .await
        .map_err(|e| ObjectError::Unavailable(e.to_string()))?;
        Ok(keys)
    }

    async fn free_bytes(&self) -> Result<Option<u64>, ObjectError> {
        #[cfg(unix)]
        {
            let root = self.root.clone();
            let st = tokio::task::spawn_blocking(move || rustix::fs::statvfs(&root))
                .await
                .map_err(|e| ObjectError::Unavailable(e.to_string()))?
                .map_err(std::io::Error::from)?;
            Ok(Some(st.f_bavail.saturating_mul(st.f_frsize)))
        }
        #[cfg(not(unix))]
        Ok(None)
    }

    async fn clean_partials(&self, before: std::time::SystemTime) -> Result<usize, ObjectError> {
        let dir = self.root.join(".partial");
        let mut removed = 0;
        let mut entries = tokio::fs::read_dir(&dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            let written = entry.metadata().await.and_then(|m| m.modified());
            if written.is_ok_and(|t| t < before) {
                match tokio::fs::remove_file(entry.path()).await {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(removed)
    }

    fn emits_events(&self) -> bool {
        false
    }

    async fn size(&self, key: &str) -> Result<Option<u64>, ObjectError> {
        let path = self.path(key)?;
        match tokio::fs::metadata(&path).await {
            Ok(m) if m.is_file() => Ok(Some(m.len())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn bucket(&self) -> &str {
        "local"
    }

    async fn ping(&self) -> Result<(), ObjectError> {
        tokio::fs::metadata(&self.root).await?;
        Ok(())
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.file_name().is_some_and(|n| n == ".partial") {
            continue;
        }
        if p.is_dir() {
            walk(root, &p, out);
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_fetch_list_delete_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalDir::new(dir.path()).unwrap();
        let stored = store
            .put("uploads/u/1/a b.json", &mut &b"[1,2]"[..], 100)
            .await
            .unwrap();
        assert_eq!(stored.size, 5);
        assert_eq!(stored.sha256.len(), 64);
        let f = store.fetch("uploads/u/1/a b.json").await.unwrap().unwrap();
        assert_eq!(std::fs::read(&f.path).unwrap(), b"[1,2]");
        store
            .put("uploads/u/2/c.json", &mut &b"[]"[..], 100)
            .await
            .unwrap();
        assert_eq!(
            store.list("uploads/u/").await.unwrap(),
            ["uploads/u/1/a b.json", "uploads/u/2/c.json"]
        );
        store.delete("uploads/u/1/a b.json").await.unwrap();
        store.delete("uploads/u/1/a b.json").await.unwrap();
        assert!(store.fetch("uploads/u/1/a b.json").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn an_oversized_body_is_refused_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalDir::new(dir.path()).unwrap();
        let big = vec![b'x'; 10_000];
        let err = store
            .put("uploads/u/1/big.json", &mut &big[..], 9_999)
            .await
            .unwrap_err();
        assert!(matches!(err, ObjectError::TooLarge { limit: 9_999 }));
        assert!(store.list("").await.unwrap().is_empty());
        assert_eq!(
            std::fs::read_dir(dir.path().join(".partial"))
                .unwrap()
                .count(),
            0
        );
    }

    #[tokio::test]
    async fn keys_that_escape_the_store_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalDir::new(dir.path()).unwrap();
        for bad in [
            "../x",
            "/etc/passwd",
            "uploads//x",
            "uploads/./x",
            "a\\b",
            "a\u{0}b",
            "",
        ] {
            assert!(
                matches!(store.fetch(bad).await, Err(ObjectError::InvalidKey(_))),
                "{bad:?}"
            );
        }
    }
}
