//! Cognito accounts end to end: `cloud::cognito::Cognito` with the real AWS SDK for Rust
//! against moto's server on loopback, a user pool and app client set up as `stack.yaml`'s
//! `UserPool` and `UserPoolClient` (e-mail user names, an 8-character password policy with no
//! class rules, a client secret, USER_PASSWORD_AUTH and REFRESH_TOKEN_AUTH), and the ID tokens
//! verified through moto's JWKS over HTTP.
//!
//! moto (5.2.6) is not Cognito, and where it checks less the tests say so: it sends no e-mail
//! and ignores sign-up confirmation codes, accepts any password-reset code that lacks its own
//! `moto-confirmation-code:` prefix, has no ResendConfirmationCode or DeleteUser (it answers
//! them with HTTP 500), compares e-mail addresses case-sensitively, and ignores
//! PreventUserExistenceErrors (Backspin maps the difference away).
//!
//! Run with `BACKSPIN_MOTO_SERVER=$(scripts/moto.sh) cargo test -p cloud --test cognito`.

use std::time::{SystemTime, UNIX_EPOCH};

use accounts::Password;
use accounts::idp::{IdentityProvider, IdpError, SignUpOutcome};
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AccountRecoverySettingType, ExplicitAuthFlowsType, PasswordPolicyType,
    PreventUserExistenceErrorTypes, RecoveryOptionNameType, RecoveryOptionType, UserPoolPolicyType,
    UsernameAttributeType, UsernameConfigurationType, VerifiedAttributeType,
};
use cloud::cognito::{Cognito, CognitoConfig};
use cloud::moto::MotoServer;

const EMAIL: &str = "listener@example.com";

/// A moto server with a pool and a client like `stack.yaml`'s, and `Cognito` for them.
struct Pool {
    cognito: Cognito,
    admin: Client,
    pool_id: String,
    /// Kept to the end of the test: dropping it stops moto.
    _moto: MotoServer,
}

impl Pool {
    async fn start() -> Pool {
        let moto = MotoServer::start();
        let sdk = cloud::sdk::load(&moto.endpoint()).await;
        let admin = Client::new(&sdk);
        let pool = admin
            .create_user_pool()
            .pool_name("backspin-users")
            .username_attributes(UsernameAttributeType::Email)
            .username_configuration(
                UsernameConfigurationType::builder()
                    .case_sensitive(false)
                    .build()
                    .expect("username configuration"),
            )
            .auto_verified_attributes(VerifiedAttributeType::Email)
            .policies(
                UserPoolPolicyType::builder()
                    .password_policy(
                        PasswordPolicyType::builder()
                            .minimum_length(8)
                            .require_lowercase(false)
                            .require_uppercase(false)
                            .require_numbers(false)
                            .require_symbols(false)
                            .build(),
                    )
                    .build(),
            )
            .account_recovery_setting(
                AccountRecoverySettingType::builder()
                    .recovery_mechanisms(
                        RecoveryOptionType::builder()
                            .name(RecoveryOptionNameType::VerifiedEmail)
                            .priority(1)
                            .build()
                            .expect("recovery option"),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("creating the user pool");
        let pool_id = pool
            .user_pool()
            .and_then(|p| p.id())
            .expect("a pool id")
            .to_string();
        let client = admin
            .create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("backspin-web")
            .generate_secret(true)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
            .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled)
            .enable_token_revocation(true)
            .read_attributes("email")
            .read_attributes("email_verified")
            .send()
            .await
            .expect("creating the app client");
        let client = client.user_pool_client().expect("the app client");
        let secret = client.client_secret().expect("a client secret").to_string();
        // moto names AWS's issuer in its tokens but serves the keys itself.
        let mut config = CognitoConfig::on_aws(
            "us-east-1",
            &pool_id,
            client.client_id().expect("a client id"),
            Some(secret),
        );
        config.jwks_url = format!("{}/{pool_id}/.well-known/jwks.json", moto.url());
        Pool {
            cognito: Cognito::new(&sdk, config),
            admin,
            pool_id,
            _moto: moto,
        }
    }

    /// Signs up and confirms `email` with `password`.
    async fn account(&self, email: &str, password: &Password) {
        self.cognito
            .sign_up(email, password)
            .await
            .expect("signing up");
        // moto does not check the code: it confirms whatever is sent.
        self.cognito
            .confirm_sign_up(email, "000000")
            .await
            .expect("confirming");
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

#[tokio::test]
async fn an_account_signs_up_signs_in_refreshes_changes_its_password_and_signs_out() {
    let pool = Pool::start().await;
    let cognito = &pool.cognito;
    let password = Password::new("correct horse");

    // The e-mail goes nowhere (moto sends none), but the answer names it masked as Cognito does.
    assert_eq!(
        cognito.sign_up(EMAIL, &password).await,
        Ok(SignUpOutcome::ConfirmationSent {
            destination: "l***@e***".into()
        })
    );
    assert_eq!(
        cognito.sign_in(EMAIL, &password).await,
        Err(IdpError::NotConfirmed)
    );
    // moto ignores confirmation codes: any code confirms (Cognito would say CodeMismatch).
    cognito
        .confirm_sign_up(EMAIL, "000000")
        .await
        .expect("confirming");
    assert_eq!(
        cognito
            .sign_up(EMAIL, &Password::new("another password"))
            .await,
        Err(IdpError::EmailTaken)
    );
    assert_eq!(
        cognito.sign_in(EMAIL, &Password::new("wrong horse")).await,
        Err(IdpError::WrongCredentials)
    );

    // The address is sent lower-case however it is typed (moto itself is case-sensitive).
    let tokens = cognito
        .sign_in("Listener@Example.COM", &password)
        .await
        .expect("signing in");
    let identity = cognito
        .verify_id_token(&tokens.id_token)
        .await
        .expect("the ID token verifies through moto's JWKS");
    assert_eq!(identity.email, EMAIL);
    // With e-mail user names the internal user name is the sub, in moto as in Cognito.
    assert_eq!(identity.username, identity.subject);
    assert!(identity.expires_at > now());
    assert!(!tokens.expires_in.is_zero());
    let owner = cognito
        .verifier()
        .verify_access_token(&tokens.access_token)
        .await
        .expect("the access token verifies");
    assert_eq!(owner.subject, identity.subject);
    let refresh_token = tokens.refresh_token.clone().expect("a refresh token");

    // Cognito computes a refresh's secret hash over the internal user name (the sub), which
    // is what the web tier passes; moto 5.2.6 over the name given at sign-in (the e-mail
    // address) and refuses the sub. The check below notices a moto that starts doing as
    // Cognito does; the e-mail stands in for the username against moto.
    assert!(matches!(
        cognito.refresh(&identity.username, &refresh_token).await,
        Err(IdpError::TokenInvalid(_))
    ));
    let refreshed = cognito
        .refresh(EMAIL, &refresh_token)
        .await
        .expect("refreshing");
    assert_ne!(refreshed.id_token, tokens.id_token);
    assert_eq!(
        refreshed.refresh_token, None,
        "a refresh keeps the refresh token"
    );
    let again = cognito
        .verify_id_token(&refreshed.id_token)
        .await
        .expect("the refreshed ID token verifies");
    assert_eq!(again.subject, identity.subject);

    let new_password = Password::new("battery staple");
    assert_eq!(
        cognito
            .change_password(
                &tokens.access_token,
                &Password::new("wrong horse"),
                &new_password
            )
            .await,
        Err(IdpError::WrongCredentials)
    );
    match cognito
        .change_password(&tokens.access_token, &password, &Password::new("short"))
        .await
    {
        Err(IdpError::InvalidPassword(why)) => assert!(!why.contains("short"), "{why}"),
        other => panic!("expected InvalidPassword, got {other:?}"),
    }
    cognito
        .change_password(&tokens.access_token, &password, &new_password)
        .await
        .expect("changing the password");
    assert_eq!(
        cognito.sign_in(EMAIL, &password).await,
        Err(IdpError::WrongCredentials)
    );
    let tokens = cognito
        .sign_in(EMAIL, &new_password)
        .await
        .expect("the new password signs in");

    // moto revokes every refresh token of the user and forgets the access tokens.
    cognito
        .sign_out_everywhere(&tokens.access_token)
        .await
        .expect("signing out everywhere");
    for refresh_token in [&refresh_token, tokens.refresh_token.as_ref().expect("one")] {
        assert_eq!(
            cognito.refresh(EMAIL, refresh_token).await,
            Err(IdpError::TokenInvalid("Cognito refused it".into()))
        );
    }
    assert_eq!(
        cognito.sign_out_everywhere(&tokens.access_token).await,
        Err(IdpError::TokenInvalid("Cognito refused it".into()))
    );
    cognito
        .sign_in(EMAIL, &new_password)
        .await
        .expect("signing in again after signing out");
}

#[tokio::test]
async fn a_forgotten_password_is_reset_with_the_code() {
    let pool = Pool::start().await;
    let cognito = &pool.cognito;
    let old = Password::new("correct horse");
    pool.account(EMAIL, &old).await;

    cognito
        .forgot_password(EMAIL)
        .await
        .expect("asking for a code");
    let new = Password::new("battery staple");
    // moto checks only codes with its own prefix (it hands the real one out in a response
    // header, not by e-mail), and answers a wrong one with ExpiredCodeException where Cognito
    // says CodeMismatchException.
    assert_eq!(
        cognito
            .confirm_forgot_password(EMAIL, "moto-confirmation-code:000000", &new)
            .await,
        Err(IdpError::CodeExpired)
    );
    cognito
        .sign_in(EMAIL, &old)
        .await
        .expect("a refused code leaves the password as it was");
    // Any other code is accepted by moto; Cognito would check it against the e-mailed one.
    cognito
        .confirm_forgot_password(EMAIL, "123456", &new)
        .await
        .expect("resetting");
    assert_eq!(
        cognito.sign_in(EMAIL, &old).await,
        Err(IdpError::WrongCredentials)
    );
    cognito
        .sign_in(EMAIL, &new)
        .await
        .expect("the new password signs in");
}

#[tokio::test]
async fn answers_do_not_reveal_whether_an_address_has_an_account() {
    let pool = Pool::start().await;
    let cognito = &pool.cognito;
    pool.account(EMAIL, &Password::new("correct horse")).await;

    // moto answers UserNotFoundException here (it ignores PreventUserExistenceErrors);
    // Backspin says the same as for a wrong password either way.
    assert_eq!(
        cognito
            .sign_in("nobody@example.com", &Password::new("correct horse"))
            .await,
        Err(IdpError::WrongCredentials)
    );
    cognito
        .forgot_password("nobody@example.com")
        .await
        .expect("a reset for an unknown address looks like any other");
}

#[tokio::test]
async fn the_password_policy_is_the_pools() {
    let pool = Pool::start().await;
    let cognito = &pool.cognito;
    let secret = "seven!!";
    match cognito.sign_up(EMAIL, &Password::new(secret)).await {
        Err(IdpError::InvalidPassword(why)) => assert!(!why.contains(secret), "{why}"),
        other => panic!("expected InvalidPassword, got {other:?}"),
    }
    // Eight characters of one class are enough, as in stack.yaml.
    assert!(matches!(
        cognito.sign_up(EMAIL, &Password::new("eightlow")).await,
        Ok(SignUpOutcome::ConfirmationSent { .. })
    ));
}

#[tokio::test]
async fn calls_moto_lacks_report_the_provider_unavailable_and_a_deleted_user_cannot_sign_in() {
    let pool = Pool::start().await;
    let cognito = &pool.cognito;
    let password = Password::new("correct horse");
    pool.account(EMAIL, &password).await;
    let tokens = cognito.sign_in(EMAIL, &password).await.expect("signing in");

    // moto 5.2.6 has no ResendConfirmationCode and no DeleteUser: it answers HTTP 500, which
    // must surface as a transient failure that names neither the address nor the token.
    match cognito.resend_code(EMAIL).await {
        Err(IdpError::Unavailable(why)) => assert!(!why.contains(EMAIL), "{why}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    match cognito.delete_user(&tokens.access_token).await {
        Err(IdpError::Unavailable(why)) => {
            assert!(!why.contains(&tokens.access_token), "{why}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }

    // So the user goes as an administrator would delete them.
    pool.admin
        .admin_delete_user()
        .user_pool_id(&pool.pool_id)
        .username(EMAIL)
        .send()
        .await
        .expect("deleting the user");
    assert_eq!(
        cognito.sign_in(EMAIL, &password).await,
        Err(IdpError::WrongCredentials)
    );
}
