//! Loading the SDK's configuration: region, credentials and the HTTP client (rustls with
//! ring, the TLS stack the rest of Backspin uses), and an optional endpoint override for
//! tests against moto.

pub use aws_config::SdkConfig;
use aws_config::{BehaviorVersion, Region};
use aws_smithy_http_client::tls;

/// Where the AWS APIs are.
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    /// An endpoint for every service (moto's server in tests); `None` uses AWS's own, or
    /// `AWS_ENDPOINT_URL` when that is set.
    pub url: Option<String>,
    /// The region; `None` takes it from the environment or the instance.
    pub region: Option<String>,
    /// Fixed credentials (tests); `None` uses the default chain (environment, instance
    /// profile).
    pub static_credentials: Option<(String, String)>,
}

impl Endpoint {
    /// moto's server at `url`, in `us-east-1`, with its dummy credentials.
    pub fn moto(url: &str) -> Endpoint {
        Endpoint {
            url: Some(url.to_string()),
            region: Some("us-east-1".into()),
            static_credentials: Some(("testing".into(), "testing".into())),
        }
    }

    /// Whether S3 must be addressed by path (`http://host/bucket/key`), as an endpoint
    /// override needs.
    pub fn path_style(&self) -> bool {
        self.url.is_some()
    }
}

/// The SDK configuration for `endpoint`.
pub async fn load(endpoint: &Endpoint) -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
    if let Some(url) = &endpoint.url {
        loader = loader.endpoint_url(url);
    }
    if let Some(region) = &endpoint.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some((id, secret)) = &endpoint.static_credentials {
        loader = loader.credentials_provider(aws_credential_types::Credentials::from_keys(
            id, secret, None,
        ));
    }
    loader.load().await
}
