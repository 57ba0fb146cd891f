//! The one typed configuration, read once at start-up from flags and environment variables
//! (`--help` lists every setting with its variable). Errors name the setting.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use ingest_worker::Deps;
use ingest_worker::notify::{LogNotifier, Notifier};
use storage::Db;
use storage::held::Journaled;
use storage::objects::{LocalDir, ObjectStore};
use storage::queue::{Queue, TableQueue};

/// Where Backspin keeps its data.
#[derive(Debug, Clone, clap::Args)]
pub struct Storage {
    /// Folder for the embedded database and uploaded files.
    #[arg(long, env = "BACKSPIN_DATA_DIR", default_value = "./backspin-data")]
    pub data_dir: PathBuf,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB (default: SQLite in the data folder).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Largest upload accepted, in MiB (a lifetime export zip is a few hundred MiB).
    #[arg(long, env = "BACKSPIN_MAX_UPLOAD_MIB", default_value_t = 1024)]
    pub max_upload_mib: u64,
    /// Seconds a received queue message stays hidden from other workers; a worker that dies
    /// mid-ingest gives its upload back after this long. Busy workers extend it well before
    /// it lapses.
    #[arg(
        long,
        env = "BACKSPIN_VISIBILITY_TIMEOUT_SECS",
        default_value_t = queue_config::QueueSettings::DEFAULT.visibility_timeout.as_secs()
    )]
    pub visibility_timeout_secs: u64,
    /// Most connections this process opens to PostgreSQL (the server's limit is shared by
    /// every instance: web and worker processes together must stay under it).
    #[arg(long, env = "BACKSPIN_DB_MAX_CONNECTIONS", default_value_t = Db::DEFAULT_MAX_CONNECTIONS)]
    pub db_max_connections: u32,
    #[command(flatten)]
    pub aws: Aws,
}

/// The AWS services in use, each chosen by its own setting (unset: the embedded counterpart).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Aws {
    /// S3 bucket for uploads (instead of the data folder). S3 then sends the "object
    /// created" events itself, and browsers post files to it directly.
    #[arg(long, env = "BACKSPIN_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// SQS queue URL for ingest events (instead of the database's table queue).
    #[arg(long, env = "BACKSPIN_SQS_QUEUE_URL")]
    pub sqs_queue_url: Option<String>,
    /// The SQS dead-letter queue's URL: workers mark its messages' uploads failed and tell
    /// the admins.
    #[arg(long, env = "BACKSPIN_SQS_DEAD_LETTER_QUEUE_URL")]
    pub sqs_dead_letter_queue_url: Option<String>,
    /// SNS topic ARN for admin alerts (instead of the log).
    #[arg(long, env = "BACKSPIN_SNS_TOPIC_ARN")]
    pub sns_topic_arn: Option<String>,
    /// One endpoint for every AWS API (an emulator such as moto on loopback); S3 is then
    /// addressed by path. Region and credentials come from the usual AWS variables.
    #[arg(long, env = "BACKSPIN_AWS_ENDPOINT_URL")]
    pub aws_endpoint_url: Option<String>,
}

/// Amazon Cognito for accounts (instead of local passwords), for the web tier.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CognitoArgs {
    /// The Cognito user pool (`<region>_<id>`) that holds the accounts.
    #[arg(long, env = "BACKSPIN_COGNITO_USER_POOL_ID")]
    pub cognito_user_pool_id: Option<String>,
    /// The pool's app client id.
    #[arg(long, env = "BACKSPIN_COGNITO_CLIENT_ID")]
    pub cognito_client_id: Option<String>,
    /// The app client's secret, when it has one.
    #[arg(long, env = "BACKSPIN_COGNITO_CLIENT_SECRET", hide_env_values = true)]
    pub cognito_client_secret: Option<String>,
    /// The tokens' issuer (default: `https://cognito-idp.<region>.amazonaws.com/<pool>`).
    #[arg(long, env = "BACKSPIN_COGNITO_ISSUER")]
    pub cognito_issuer: Option<String>,
    /// Where the pool's signing keys are (default: `<issuer>/.well-known/jwks.json`).
    #[arg(long, env = "BACKSPIN_COGNITO_JWKS_URL")]
    pub cognito_jwks_url: Option<String>,
}

impl CognitoArgs {
    /// The identity provider, when a user pool is configured; errors name the setting.
    pub async fn provider(
        &self,
        aws: &Aws,
        sdk: Option<cloud::sdk::SdkConfig>,
    ) -> Result<Option<Arc<dyn web::idp::IdentityProvider>>> {
        let Some(pool) = &self.cognito_user_pool_id else {
            if self.cognito_client_id.is_some() {
                bail!("BACKSPIN_COGNITO_CLIENT_ID is set without BACKSPIN_COGNITO_USER_POOL_ID");
            }
            return Ok(None);
        };
        let Some(client) = &self.cognito_client_id else {
            bail!("BACKSPIN_COGNITO_USER_POOL_ID is set without BACKSPIN_COGNITO_CLIENT_ID");
        };
        let sdk = match sdk {
            Some(s) => s,
            None => cloud::sdk::load(&aws.endpoint()).await,
        };
        let region = match (&self.cognito_issuer, sdk.region()) {
            (Some(_), r) => r.map(|r| r.to_string()).unwrap_or_default(),
            (None, Some(r)) => r.to_string(),
            (None, None) => bail!(
                "BACKSPIN_COGNITO_USER_POOL_ID: no AWS region is configured (set AWS_REGION) \
                 to derive the issuer from; or set BACKSPIN_COGNITO_ISSUER"
            ),
        };
        let mut config = cloud::cognito::CognitoConfig::on_aws(
            &region,
            pool,
            client,
            self.cognito_client_secret.clone(),
        );
        if let Some(issuer) = &self.cognito_issuer {
            config.jwks_url = format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/'));
            config.issuer = issuer.clone();
        }
        if let Some(jwks) = &self.cognito_jwks_url {
            config.jwks_url = jwks.clone();
        }
        Ok(Some(Arc::new(cloud::cognito::Cognito::new(&sdk, config))))
    }
}

impl Aws {
    /// Whether any AWS service is configured.
    pub fn any(&self) -> bool {
        self.s3_bucket.is_some() || self.sqs_queue_url.is_some() || self.sns_topic_arn.is_some()
    }

    /// The SDK's endpoint settings.
    pub fn endpoint(&self) -> cloud::sdk::Endpoint {
        cloud::sdk::Endpoint {
            url: self.aws_endpoint_url.clone(),
            ..Default::default()
        }
    }
}

/// The queue's name in the table queue.
pub const QUEUE: &str = "ingest";

impl Storage {
    /// The database URL in force.
    pub fn url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("backspin.db").display()))
    }

    /// Upload size limit in bytes.
    pub fn max_upload_bytes(&self) -> u64 {
        self.max_upload_mib << 20
    }

    /// The queue settings in force: the defaults with the visibility timeout given, and the
    /// heartbeat kept under half of it.
    pub fn queue_settings(&self) -> Result<queue_config::QueueSettings> {
        let default = queue_config::QueueSettings::DEFAULT;
        let visibility_timeout = Duration::from_secs(self.visibility_timeout_secs);
        if visibility_timeout.is_zero() {
            bail!("BACKSPIN_VISIBILITY_TIMEOUT_SECS must be at least 1 second, got 0");
        }
        let settings = queue_config::QueueSettings {
            visibility_timeout,
            // Four extensions per timeout, as the defaults have (30 s of 120 s).
            heartbeat_every: default.heartbeat_every.min(visibility_timeout / 4),
            ..default
        };
        settings
            .validate()
            .map_err(|e| anyhow!("BACKSPIN_VISIBILITY_TIMEOUT_SECS: {e}"))?;
        Ok(settings)
    }

    /// Opens the database (applying migrations) and builds the worker's dependencies.
    pub async fn open(&self) -> Result<Deps> {
        Ok(self.open_with_sdk().await?.0)
    }

    /// Where browsers post files directly (S3's origin), when uploads go to S3.
    pub fn upload_origin(&self, sdk: Option<&cloud::sdk::SdkConfig>) -> Option<String> {
        let bucket = self.aws.s3_bucket.as_ref()?;
        match &self.aws.aws_endpoint_url {
            Some(url) => Some(origin_of(url)),
            None => {
                let region = sdk.and_then(|s| s.region()).map(|r| r.to_string())?;
                Some(format!("https://{bucket}.s3.{region}.amazonaws.com"))
            }
        }
    }

    /// [`Storage::open`], also giving the AWS SDK's configuration when AWS is in use.
    pub async fn open_with_sdk(&self) -> Result<(Deps, Option<cloud::sdk::SdkConfig>)> {
        let settings = self.queue_settings()?;
        // Uploads, the SQLite database and the secret are for this process's user only.
        storage::held::create_private_dir(&self.data_dir)
            .and_then(|()| restrict_to_owner(&self.data_dir, 0o700))
            .with_context(|| {
                format!(
                    "BACKSPIN_DATA_DIR {}: cannot create the folder or make it private",
                    self.data_dir.display()
                )
            })?;
        let url = self.url();
        let db = Db::connect_with(&url, self.db_max_connections)
            .await
            .with_context(|| format!("DATABASE_URL: cannot connect to {}", redact(&url)))?;
        ingest_worker::artifact::migrate(&db)
            .await
            .context("applying database migrations")?;
        let aws = &self.aws;
        let sdk = match aws.any() {
            true => Some(cloud::sdk::load(&aws.endpoint()).await),
            false => None,
        };
        let store: Arc<dyn ObjectStore> = match (&aws.s3_bucket, &sdk) {
            (Some(bucket), Some(sdk)) => {
                let s3 = cloud::s3::S3Store::new(sdk, bucket, aws.endpoint().path_style());
                s3.ping()
                    .await
                    .with_context(|| format!("BACKSPIN_S3_BUCKET {bucket}: cannot reach it"))?;
                Arc::new(s3)
            }
            _ => Arc::new(
                LocalDir::new(self.data_dir.join("objects")).with_context(|| {
                    format!(
                        "BACKSPIN_DATA_DIR {}: cannot create the objects folder",
                        self.data_dir.display()
                    )
                })?,
            ),
        };
        let queue: Arc<dyn Queue> = match (&aws.sqs_queue_url, &sdk) {
            (Some(url), Some(sdk)) => Arc::new(cloud::sqs::SqsQueue::new(
                sdk,
                url,
                aws.sqs_dead_letter_queue_url.as_deref(),
            )),
            _ => {
                if aws.sqs_dead_letter_queue_url.is_some() {
                    bail!(
                        "BACKSPIN_SQS_DEAD_LETTER_QUEUE_URL is set without BACKSPIN_SQS_QUEUE_URL"
                    );
                }
                Arc::new(TableQueue::new(db.clone(), QUEUE, settings.max_receives))
            }
        };
        let queue: Arc<dyn Queue> = Arc::new(
            Journaled::open(queue, &self.data_dir.join("queue-held")).with_context(|| {
                format!(
                    "BACKSPIN_DATA_DIR {}: cannot open the queue journal",
                    self.data_dir.display()
                )
            })?,
        );
        if store.emits_events() != (aws.sqs_queue_url.is_some()) {
            bail!(
                "BACKSPIN_S3_BUCKET and BACKSPIN_SQS_QUEUE_URL go together: S3 sends its events \
                 to SQS, and the local folder's events go to the table queue"
            );
        }
        let notifier: Arc<dyn Notifier> = match (&aws.sns_topic_arn, &sdk) {
            (Some(arn), Some(sdk)) => Arc::new(cloud::sns::SnsNotifier::new(sdk, arn)),
            _ => Arc::new(LogNotifier),
        };
        let deps = Deps {
            queue,
            store,
            notifier,
            db,
            settings,
            limits: schema::Limits::default(),
            max_upload_bytes: self.max_upload_bytes(),
            after_change: Default::default(),
        };
        Ok((deps, sdk))
    }
}

/// Sets `path`'s permission bits (Unix; elsewhere nothing to do).
fn restrict_to_owner(path: &std::path::Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> String {
    match url.find("://") {
        Some(s) => match url[s + 3..].find('/') {
            Some(end) => url[..s + 3 + end].to_string(),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// A URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
