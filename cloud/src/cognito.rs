//! Amazon Cognito accounts behind [`accounts::idp::IdentityProvider`]: a user pool whose users sign
//! in with their e-mail address (`UsernameAttributes: [email]`) through an app client with a
//! secret, as `stack.yaml`'s `UserPool` and `UserPoolClient` set up. Every call is one of
//! Cognito's public user APIs (SignUp, InitiateAuth, ChangePassword, ...); ID tokens are
//! verified against the pool's published keys by [`JwksVerifier`].
//!
//! Passwords, tokens and codes go to Cognito and nowhere else: they are never logged, and
//! the errors Cognito sends back are mapped to [`IdpError`] without echoing them.

use std::time::Duration;

use accounts::Password;
use accounts::idp::{Identity, IdentityProvider, IdpError, SignUpOutcome, Tokens};
use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::config::http::HttpResponse;
use aws_sdk_cognitoidentityprovider::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cognitoidentityprovider::operation::initiate_auth::InitiateAuthOutput;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, AuthFlowType};
use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use crate::jwks::{JwksVerifier, error_chain};

/// Which user pool and app client to use.
#[derive(Clone)]
pub struct CognitoConfig {
    /// The pool (`<region>_<id>`).
    pub user_pool_id: String,
    /// The app client.
    pub client_id: String,
    /// The app client's secret, when it has one (`stack.yaml`'s has): every call then carries
    /// a secret hash.
    pub client_secret: Option<String>,
    /// The `iss` of the pool's tokens: `https://cognito-idp.<region>.amazonaws.com/<pool>`.
    pub issuer: String,
    /// Where the pool publishes its signing keys: `<issuer>/.well-known/jwks.json` on AWS.
    /// A separate setting because emulators serve the keys elsewhere (moto at
    /// `<moto url>/<pool>/.well-known/jwks.json`) while naming AWS's issuer.
    pub jwks_url: String,
}

impl CognitoConfig {
    /// The configuration for a pool on AWS, in `region`, with the issuer and the key address
    /// AWS uses.
    pub fn on_aws(
        region: &str,
        user_pool_id: &str,
        client_id: &str,
        client_secret: Option<String>,
    ) -> CognitoConfig {
        let issuer = format!("https://cognito-idp.{region}.amazonaws.com/{user_pool_id}");
        CognitoConfig {
            user_pool_id: user_pool_id.to_string(),
            client_id: client_id.to_string(),
            client_secret,
            jwks_url: format!("{issuer}/.well-known/jwks.json"),
            issuer,
        }
    }
}

impl std::fmt::Debug for CognitoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CognitoConfig")
            .field("user_pool_id", &self.user_pool_id)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("issuer", &self.issuer)
            .field("jwks_url", &self.jwks_url)
            .finish()
    }
}

/// A Cognito user pool as Backspin's identity provider.
#[derive(Debug)]
pub struct Cognito {
    client: Client,
    config: CognitoConfig,
    verifier: JwksVerifier,
}

impl Cognito {
    /// Cognito through the SDK configured by `sdk` (see [`crate::sdk::load`]), for the pool
    /// and client of `config`.
    pub fn new(sdk: &aws_config::SdkConfig, config: CognitoConfig) -> Cognito {
        let verifier = JwksVerifier::new(&config.issuer, &config.client_id, &config.jwks_url);
        Cognito {
            client: Client::new(sdk),
            config,
            verifier,
        }
    }

    /// The verifier for the pool's tokens (access tokens too).
    pub fn verifier(&self) -> &JwksVerifier {
        &self.verifier
    }

    /// The `SECRET_HASH` for a call about `username`, when the client has a secret.
    fn secret_hash(&self, username: &str) -> Option<String> {
        self.config
            .client_secret
            .as_deref()
            .map(|secret| secret_hash(secret, username, &self.config.client_id))
    }

    /// Tokens from a successful InitiateAuth, with the ID token verified: one Cognito has
    /// just issued that does not verify means the configuration is wrong (issuer, keys), not
    /// that the user is.
    async fn tokens(&self, output: InitiateAuthOutput) -> Result<Tokens, IdpError> {
        let Some(result) = output.authentication_result() else {
            let challenge = output
                .challenge_name()
                .map_or("none".to_string(), |c| c.as_str().to_string());
            return Err(IdpError::Unavailable(format!(
                "Cognito asks for a sign-in challenge Backspin does not answer ({challenge})"
            )));
        };
        let (Some(id_token), Some(access_token)) = (result.id_token(), result.access_token())
        else {
            return Err(IdpError::Unavailable(
                "Cognito's answer holds no ID or access token".into(),
            ));
        };
        if let Err(e) = self.verifier.verify_id_token(id_token).await {
            return Err(match e {
                IdpError::TokenInvalid(why) => IdpError::Unavailable(format!(
                    "the ID token Cognito just issued does not verify ({why}): check the \
                     issuer, the client id and the key address"
                )),
                other => other,
            });
        }
        Ok(Tokens {
            id_token: id_token.to_string(),
            access_token: access_token.to_string(),
            refresh_token: result.refresh_token().map(str::to_string),
            expires_in: Duration::from_secs(u64::try_from(result.expires_in()).unwrap_or(0)),
        })
    }
}

/// Cognito's `SECRET_HASH`: base64(HMAC-SHA256(client secret, username + client id)).
fn secret_hash(client_secret: &str, username: &str, client_id: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(client_secret.as_bytes()).expect("HMAC takes any key");
    mac.update(username.as_bytes());
    mac.update(client_id.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The user name Cognito is given for an e-mail address. The pool compares addresses
/// case-insensitively (`stack.yaml`), but the secret hash is over the exact text, so every
/// call sends the same lower-case form.
fn username(email: &str) -> String {
    email.trim().to_lowercase()
}

/// What a call put forward, which decides what Cognito's NotAuthorizedException and
/// UserNotFoundException mean for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Using {
    /// An e-mail address and password.
    Password,
    /// An access or refresh token.
    Token,
    /// An access token and the current password (ChangePassword).
    TokenAndPassword,
    /// An e-mail address and a code.
    Code,
}

/// Maps an SDK error to an [`IdpError`]. Cognito's own message is passed on only where it is
/// meant for people (password policy, invalid parameters) or for operators (the rest), with
/// any of `secrets` (passwords, tokens) that it might echo cut out.
fn idp_error<E>(err: SdkError<E, HttpResponse>, using: Using, secrets: &[&str]) -> IdpError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let message = err.message().unwrap_or_default().to_string();
    let code = err.code().map(str::to_string);
    match code.as_deref() {
        // A wrong client secret fails every call the same way: say so to the operator
        // rather than telling every user their password is wrong.
        Some("NotAuthorizedException") if message.to_lowercase().contains("secret hash") => {
            IdpError::Unavailable(
                "Cognito could not verify the secret hash: check the app client's secret".into(),
            )
        }
        Some("NotAuthorizedException") => match using {
            Using::Password => IdpError::WrongCredentials,
            Using::Token => IdpError::TokenInvalid("Cognito refused it".into()),
            // ChangePassword answers NotAuthorizedException both for a wrong current password
            // ("Incorrect username or password.") and for a revoked access token ("Access
            // Token has been revoked").
            Using::TokenAndPassword if message.to_lowercase().contains("token") => {
                IdpError::TokenInvalid("Cognito refused it".into())
            }
            Using::TokenAndPassword => IdpError::WrongCredentials,
            // ConfirmSignUp for an account that is confirmed already.
            Using::Code => IdpError::CodeMismatch,
        },
        Some("UserNotFoundException") => match using {
            Using::Password => IdpError::WrongCredentials,
            Using::Token | Using::TokenAndPassword => {
                IdpError::TokenInvalid("its user no longer exists".into())
            }
            // A code for an unknown address is just a wrong code (no account enumeration).
            Using::Code => IdpError::CodeMismatch,
        },
        Some("UserNotConfirmedException") => IdpError::NotConfirmed,
        Some("UsernameExistsException" | "AliasExistsException") => IdpError::EmailTaken,
        Some("CodeMismatchException") => IdpError::CodeMismatch,
        Some("ExpiredCodeException") => IdpError::CodeExpired,
        Some("InvalidPasswordException") => IdpError::InvalidPassword(if message.is_empty() {
            "it does not meet the password policy".into()
        } else {
            redact(&message, secrets)
        }),
        Some(
            "TooManyRequestsException"
            | "LimitExceededException"
            | "TooManyFailedAttemptsException",
        ) => IdpError::LimitExceeded,
        Some("InvalidParameterException") => IdpError::Unavailable(format!(
            "Cognito refused the request: {}",
            redact(&message, secrets)
        )),
        _ => IdpError::Unavailable(redact(&describe(&err), secrets)),
    }
}

/// A one-line account of a failed call for the operator: Cognito's error code and message,
/// or the chain of causes and the HTTP status. (The SDK's `DisplayErrorContext` also prints
/// the raw response, body included, which can echo what was sent.)
fn describe<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if let Some(code) = err.code() {
        return format!("Cognito: {code}: {}", err.message().unwrap_or("no message"));
    }
    let mut text = format!("Cognito: {}", error_chain(err));
    if let Some(response) = err.raw_response() {
        text.push_str(&format!(" (HTTP {})", response.status().as_u16()));
    }
    text
}

/// `text` with every non-empty `secrets` cut out.
fn redact(text: &str, secrets: &[&str]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text.to_string(), |text, secret| {
            text.replace(secret, "<redacted>")
        })
}

#[async_trait]
impl IdentityProvider for Cognito {
    async fn sign_up(&self, email: &str, password: &Password) -> Result<SignUpOutcome, IdpError> {
        let username = username(email);
        let email_attribute = AttributeType::builder()
            .name("email")
            .value(&username)
            .build()
            .map_err(|e| IdpError::Unavailable(e.to_string()))?;
        let output = self
            .client
            .sign_up()
            .client_id(&self.config.client_id)
            .set_secret_hash(self.secret_hash(&username))
            .username(&username)
            .password(password.expose())
            .user_attributes(email_attribute)
            .send()
            .await
            .map_err(|e| idp_error(e, Using::Password, &[password.expose()]))?;
        if output.user_confirmed() {
            return Ok(SignUpOutcome::Confirmed);
        }
        Ok(SignUpOutcome::ConfirmationSent {
            destination: output
                .code_delivery_details()
                .and_then(|d| d.destination())
                .unwrap_or_default()
                .to_string(),
        })
    }

    async fn confirm_sign_up(&self, email: &str, code: &str) -> Result<(), IdpError> {
        let username = username(email);
        self.client
            .confirm_sign_up()
            .client_id(&self.config.client_id)
            .set_secret_hash(self.secret_hash(&username))
            .username(&username)
            .confirmation_code(code)
            .send()
            .await
            .map_err(|e| idp_error(e, Using::Code, &[code]))?;
        Ok(())
    }

    async fn resend_code(&self, email: &str) -> Result<(), IdpError> {
        let username = username(email);
        match self
            .client
            .resend_confirmation_code()
            .client_id(&self.config.client_id)
            .set_secret_hash(self.secret_hash(&username))
            .username(&username)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // As for a reset: the answer must not reveal whether the address has an account,
            // nor whether it is confirmed already (Cognito answers InvalidParameterException
            // for a confirmed user: there is nothing to resend, and nothing went wrong).
            Err(e) if reveals_account(e.code()) => Ok(()),
            Err(e) => Err(idp_error(e, Using::Code, &[])),
        }
    }

    async fn sign_in(&self, email: &str, password: &Password) -> Result<Tokens, IdpError> {
        let username = username(email);
        let mut request = self
            .client
            .initiate_auth()
            .client_id(&self.config.client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", &username)
            .auth_parameters("PASSWORD", password.expose());
        if let Some(hash) = self.secret_hash(&username) {
            request = request.auth_parameters("SECRET_HASH", hash);
        }
        let output = request
            .send()
            .await
            .map_err(|e| idp_error(e, Using::Password, &[password.expose()]))?;
        self.tokens(output).await
    }

    async fn refresh(&self, username: &str, refresh_token: &str) -> Result<Tokens, IdpError> {
        let mut request = self
            .client
            .initiate_auth()
            .client_id(&self.config.client_id)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", refresh_token);
        if let Some(hash) = self.secret_hash(username) {
            request = request.auth_parameters("SECRET_HASH", hash);
        }
        let output = request
            .send()
            .await
            .map_err(|e| idp_error(e, Using::Token, &[refresh_token]))?;
        self.tokens(output).await
    }

    async fn verify_id_token(&self, id_token: &str) -> Result<Identity, IdpError> {
        self.verifier.verify_id_token(id_token).await
    }

    async fn change_password(
        &self,
        access_token: &str,
        current: &Password,
        new: &Password,
    ) -> Result<(), IdpError> {
        // A token that does not verify here (expired, another pool) never goes to Cognito,
        // whose NotAuthorizedException would not say whether the token or the password is
        // wrong.
        self.verifier.verify_access_token(access_token).await?;
        self.client
            .change_password()
            .access_token(access_token)
            .previous_password(current.expose())
            .proposed_password(new.expose())
            .send()
            .await
            .map_err(|e| {
                idp_error(
                    e,
                    Using::TokenAndPassword,
                    &[access_token, current.expose(), new.expose()],
                )
            })?;
        Ok(())
    }

    async fn sign_out_everywhere(&self, access_token: &str) -> Result<(), IdpError> {
        self.client
            .global_sign_out()
            .access_token(access_token)
            .send()
            .await
            .map_err(|e| idp_error(e, Using::Token, &[access_token]))?;
        Ok(())
    }

    async fn forgot_password(&self, email: &str) -> Result<(), IdpError> {
        let username = username(email);
        match self
            .client
            .forgot_password()
            .client_id(&self.config.client_id)
            .set_secret_hash(self.secret_hash(&username))
            .username(&username)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // With PreventUserExistenceErrors Cognito already answers as if an unknown address
            // had an account; without it, it says UserNotFoundException. And it refuses a reset
            // for an account whose address is not verified yet (an unconfirmed sign-up) with
            // InvalidParameterException. Passing either on would reveal the account.
            Err(e) if reveals_account(e.code()) => Ok(()),
            Err(e) => Err(idp_error(e, Using::Password, &[])),
        }
    }

    async fn confirm_forgot_password(
        &self,
        email: &str,
        code: &str,
        new: &Password,
    ) -> Result<(), IdpError> {
        let username = username(email);
        self.client
            .confirm_forgot_password()
            .client_id(&self.config.client_id)
            .set_secret_hash(self.secret_hash(&username))
            .username(&username)
            .confirmation_code(code)
            .password(new.expose())
            .send()
            .await
            .map_err(|e| idp_error(e, Using::Code, &[code, new.expose()]))?;
        Ok(())
    }

    async fn delete_user(&self, access_token: &str) -> Result<(), IdpError> {
        self.client
            .delete_user()
            .access_token(access_token)
            .send()
            .await
            .map_err(|e| idp_error(e, Using::Token, &[access_token]))?;
        Ok(())
    }
}

/// Cognito's refusals that would tell whether an address has an account, or whether it is
/// confirmed: an unknown user, or InvalidParameterException (a reset for an unverified address,
/// a code resent to a confirmed one). Resend and reset answer them as successes.
fn reveals_account(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("UserNotFoundException" | "InvalidParameterException")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_hash_is_cognitos_hmac_of_username_and_client_id() {
        // Computed independently with Python's hmac and base64 modules.
        assert_eq!(
            secret_hash(
                "client-secret-123",
                "5c3efbee-d18f-43a6-b32d-17587bc8d018",
                "client-id-abc"
            ),
            "heLbGQ5fT7MwvZifkxd9FB16gY11ztboY1P2isujlHA="
        );
    }

    #[test]
    fn the_config_for_aws_names_the_pools_issuer_and_keys_and_hides_the_secret() {
        let config =
            CognitoConfig::on_aws("eu-west-1", "eu-west-1_AbC", "client", Some("hush".into()));
        assert_eq!(
            config.issuer,
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC"
        );
        assert_eq!(
            config.jwks_url,
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/.well-known/jwks.json"
        );
        assert!(!format!("{config:?}").contains("hush"));
    }

    #[test]
    fn echoed_secrets_are_cut_out_of_messages() {
        assert_eq!(
            redact(
                "bad token eyJabc for pw hunter22",
                &["eyJabc", "hunter22", ""]
            ),
            "bad token <redacted> for pw <redacted>"
        );
    }
}
