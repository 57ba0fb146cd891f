//! Backspin on AWS: the adapters behind the interfaces the pipeline and the web tier already
//! use ([`storage::objects::ObjectStore`], [`storage::queue::Queue`],
//! [`ingest_worker::notify::Notifier`], [`accounts::idp::IdentityProvider`]), with the AWS SDK for
//! Rust, and [`moto`], a moto server on loopback for the tests.

pub mod cognito;
pub mod jwks;
pub mod moto;
pub mod post_policy;
pub mod s3;
pub mod sdk;
pub mod sns;
pub mod sqs;
