//! Why the processing of a message did not finish, and what that means for the message.

/// Why processing did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The database or the object store is unreachable: retry later.
    Transient(String),
    /// The file itself is bad: mark the upload failed, acknowledge, notify.
    Permanent(String),
    /// Anything else (a bug, a crash while parsing): retry until the dead-letter queue takes it.
    Unexpected(String),
}

impl From<storage::db::SqlxError> for Failure {
    fn from(e: storage::db::SqlxError) -> Self {
        Failure::Transient(format!("database: {e}"))
    }
}

impl From<storage::objects::ObjectError> for Failure {
    fn from(e: storage::objects::ObjectError) -> Self {
        Failure::Transient(e.to_string())
    }
}
