//! An identity provider in memory, for the web tier's tests with accounts held outside
//! Backspin (`web::Config::idp`): accounts with passwords and a password policy of its own,
//! the confirmation and reset codes it "e-mails" (kept for the test to read), opaque tokens
//! it mints, refresh tokens that signing out everywhere revokes, user deletion, and a record
//! of the operations it was asked for. It answers as the Cognito adapter does (an unknown
//! address on a code reads as a wrong code; unknown addresses get codes silently).

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use web::accounts::passwords::Password;
use web::idp::{Identity, IdentityProvider, IdpError, SignUpOutcome, Tokens};

/// The shortest password this provider accepts: longer than Backspin's own minimum (8), so
/// that its refusal can be seen.
pub const PROVIDER_MIN_PASSWORD: usize = 10;

#[derive(Debug, Clone)]
struct Account {
    subject: String,
    username: String,
    password: String,
    confirmed: bool,
    code: Option<String>,
    reset_code: Option<String>,
    codes_expired: bool,
}

#[derive(Debug, Default)]
struct State {
    /// By e-mail address.
    accounts: BTreeMap<String, Account>,
    /// Access token → (subject, expiry in seconds since the epoch).
    access: HashMap<String, (String, i64)>,
    /// Refresh token → subject.
    refresh: HashMap<String, String>,
    /// ID token → whom it names.
    ids: HashMap<String, Identity>,
    /// Every token ever minted.
    minted: Vec<String>,
    /// Every code ever sent.
    codes: Vec<String>,
    calls: Vec<&'static str>,
    serial: u64,
    access_ttl: Option<Duration>,
    confirm_at_sign_up: bool,
    fail_next: Option<IdpError>,
}

/// The in-memory provider. Cheap to share: put it in an `Arc` and hand a clone to
/// `web::Config::idp`.
#[derive(Debug, Default)]
pub struct FakeIdp {
    state: Mutex<State>,
    random: RandomState,
    draws: AtomicU64,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl FakeIdp {
    /// A provider that e-mails a code on every sign-up (as a pool with e-mail verification).
    pub fn new() -> FakeIdp {
        FakeIdp::default()
    }

    /// A provider whose sign-ups need no confirmation.
    pub fn confirming_at_sign_up() -> FakeIdp {
        let f = FakeIdp::default();
        f.lock().confirm_at_sign_up = true;
        f
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("fake provider lock")
    }

    /// 128 random-looking bits as hex (the process's random hash keys over a counter).
    fn random_hex(&self) -> String {
        let mut h = self.random.build_hasher();
        h.write_u64(self.draws.fetch_add(1, Ordering::Relaxed));
        let a = h.finish();
        h.write_u64(a);
        format!("{a:016x}{:016x}", h.finish())
    }

    /// How long access tokens last from now on (default one hour).
    pub fn set_access_ttl(&self, ttl: Duration) {
        self.lock().access_ttl = Some(ttl);
    }

    /// The next call fails with `e` (then calls work again).
    pub fn fail_next(&self, e: IdpError) {
        self.lock().fail_next = Some(e);
    }

    /// Creates a confirmed account directly.
    pub fn add_confirmed(&self, email: &str, password: &str) {
        let subject = format!("sub-{}", self.random_hex());
        let mut s = self.lock();
        s.serial += 1;
        let username = format!("user-{}", s.serial);
        s.accounts.insert(
            email.to_string(),
            Account {
                subject,
                username,
                password: password.to_string(),
                confirmed: true,
                code: None,
                reset_code: None,
                codes_expired: false,
            },
        );
    }

    /// The confirmation code last e-mailed to `email`.
    pub fn code_for(&self, email: &str) -> Option<String> {
        self.lock().accounts.get(email).and_then(|a| a.code.clone())
    }

    /// The password reset code last e-mailed to `email`.
    pub fn reset_code_for(&self, email: &str) -> Option<String> {
        self.lock()
            .accounts
            .get(email)
            .and_then(|a| a.reset_code.clone())
    }

    /// Makes the codes sent to `email` so far expire.
    pub fn expire_codes(&self, email: &str) {
        if let Some(a) = self.lock().accounts.get_mut(email) {
            a.codes_expired = true;
        }
    }

    /// Whether an account exists for `email`.
    pub fn exists(&self, email: &str) -> bool {
        self.lock().accounts.contains_key(email)
    }

    /// Whether `email`'s account is confirmed.
    pub fn is_confirmed(&self, email: &str) -> bool {
        self.lock().accounts.get(email).is_some_and(|a| a.confirmed)
    }

    /// Whether `email`'s password is `password`.
    pub fn password_is(&self, email: &str, password: &str) -> bool {
        self.lock()
            .accounts
            .get(email)
            .is_some_and(|a| a.password == password)
    }

    /// The provider's subject for `email`.
    pub fn subject_of(&self, email: &str) -> Option<String> {
        self.lock().accounts.get(email).map(|a| a.subject.clone())
    }

    /// Refresh tokens of `email`'s account that still work.
    pub fn live_refresh_tokens(&self, email: &str) -> usize {
        let s = self.lock();
        let Some(subject) = s.accounts.get(email).map(|a| a.subject.clone()) else {
            return 0;
        };
        s.refresh.values().filter(|v| **v == subject).count()
    }

    /// Every token minted so far (ID, access and refresh).
    pub fn minted_tokens(&self) -> Vec<String> {
        self.lock().minted.clone()
    }

    /// Every code e-mailed so far.
    pub fn sent_codes(&self) -> Vec<String> {
        self.lock().codes.clone()
    }

    /// How many times the operation `name` (the trait method's name) was called.
    pub fn calls_of(&self, name: &str) -> usize {
        self.lock().calls.iter().filter(|c| **c == name).count()
    }

    /// What the provider holds, as lines of text (accounts, codes, live tokens), to tell
    /// whether a request changed anything here.
    pub fn snapshot(&self) -> Vec<String> {
        let s = self.lock();
        let mut out: Vec<String> = s
            .accounts
            .iter()
            .map(|(email, a)| {
                format!(
                    "account {email} {} confirmed={} password={} code={:?} reset={:?}",
                    a.subject, a.confirmed, a.password, a.code, a.reset_code
                )
            })
            .collect();
        let mut refresh: Vec<String> = s.refresh.keys().map(|t| format!("refresh {t}")).collect();
        refresh.sort();
        out.extend(refresh);
        out
    }

    /// Records a call and takes a failure set with [`FakeIdp::fail_next`].
    fn call(&self, name: &'static str) -> Result<(), IdpError> {
        let mut s = self.lock();
        s.calls.push(name);
        match s.fail_next.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn new_code(&self) -> String {
        let hex = self.random_hex();
        let n = u64::from_str_radix(&hex[..12], 16).unwrap_or(0) % 1_000_000;
        let code = format!("{n:06}");
        self.lock().codes.push(code.clone());
        code
    }

    fn mint(&self, kind: &str) -> String {
        let t = format!("fake-{kind}-{}", self.random_hex());
        let mut s = self.lock();
        s.serial += 1;
        s.minted.push(t.clone());
        t
    }

    /// New ID and access tokens (and a refresh token when `with_refresh`) for `email`.
    fn tokens_for(&self, email: &str, with_refresh: bool) -> Result<Tokens, IdpError> {
        let account = self
            .lock()
            .accounts
            .get(email)
            .cloned()
            .ok_or(IdpError::WrongCredentials)?;
        let ttl = self.lock().access_ttl.unwrap_or(Duration::from_secs(3600));
        let (id, access) = (self.mint("id"), self.mint("access"));
        let refresh = with_refresh.then(|| self.mint("refresh"));
        let expires_at = now() + ttl.as_secs() as i64;
        let mut s = self.lock();
        s.access
            .insert(access.clone(), (account.subject.clone(), expires_at));
        if let Some(r) = &refresh {
            s.refresh.insert(r.clone(), account.subject.clone());
        }
        s.ids.insert(
            id.clone(),
            Identity {
                subject: account.subject,
                email: email.to_string(),
                username: account.username,
                expires_at,
            },
        );
        Ok(Tokens {
            id_token: id,
            access_token: access,
            refresh_token: refresh,
            expires_in: ttl,
        })
    }

    /// The e-mail address of the account a live access token belongs to.
    fn holder(&self, access_token: &str) -> Result<String, IdpError> {
        let s = self.lock();
        let (subject, expires_at) = s
            .access
            .get(access_token)
            .ok_or_else(|| IdpError::TokenInvalid("unknown or revoked".into()))?;
        if *expires_at <= now() {
            return Err(IdpError::TokenInvalid("expired".into()));
        }
        s.accounts
            .iter()
            .find(|(_, a)| a.subject == *subject)
            .map(|(e, _)| e.clone())
            .ok_or_else(|| IdpError::TokenInvalid("its user no longer exists".into()))
    }

    fn policy(password: &Password) -> Result<(), IdpError> {
        if password.expose().chars().count() < PROVIDER_MIN_PASSWORD {
            return Err(IdpError::InvalidPassword(format!(
                "Password not long enough: use at least {PROVIDER_MIN_PASSWORD} characters."
            )));
        }
        Ok(())
    }

    /// Checks a code sent to `email` (`reset`: a password reset code).
    fn check_code(&self, email: &str, code: &str, reset: bool) -> Result<(), IdpError> {
        let s = self.lock();
        let a = s.accounts.get(email).ok_or(IdpError::CodeMismatch)?;
        let expected = if reset { &a.reset_code } else { &a.code };
        match expected {
            Some(c) if c == code && a.codes_expired => Err(IdpError::CodeExpired),
            Some(c) if c == code => Ok(()),
            _ => Err(IdpError::CodeMismatch),
        }
    }
}

fn masked(email: &str) -> String {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    format!(
        "{}***@{}***",
        local.chars().next().unwrap_or('?'),
        domain.chars().next().unwrap_or('?')
    )
}

#[async_trait]
impl IdentityProvider for FakeIdp {
    async fn sign_up(&self, email: &str, password: &Password) -> Result<SignUpOutcome, IdpError> {
        self.call("sign_up")?;
        if self.exists(email) {
            return Err(IdpError::EmailTaken);
        }
        FakeIdp::policy(password)?;
        self.add_confirmed(email, password.expose());
        if self.lock().confirm_at_sign_up {
            return Ok(SignUpOutcome::Confirmed);
        }
        let code = self.new_code();
        let mut s = self.lock();
        let a = s.accounts.get_mut(email).expect("just added");
        a.confirmed = false;
        a.code = Some(code);
        Ok(SignUpOutcome::ConfirmationSent {
            destination: masked(email),
        })
    }

    async fn confirm_sign_up(&self, email: &str, code: &str) -> Result<(), IdpError> {
        self.call("confirm_sign_up")?;
        if self.is_confirmed(email) {
            return Err(IdpError::CodeMismatch);
        }
        self.check_code(email, code, false)?;
        let mut s = self.lock();
        let a = s.accounts.get_mut(email).expect("checked");
        a.confirmed = true;
        a.code = None;
        Ok(())
    }

    async fn resend_code(&self, email: &str) -> Result<(), IdpError> {
        self.call("resend_code")?;
        if !self.exists(email) || self.is_confirmed(email) {
            return Ok(());
        }
        let code = self.new_code();
        let mut s = self.lock();
        let a = s.accounts.get_mut(email).expect("exists");
        a.code = Some(code);
        a.codes_expired = false;
        Ok(())
    }

    async fn sign_in(&self, email: &str, password: &Password) -> Result<Tokens, IdpError> {
        self.call("sign_in")?;
        if !self.password_is(email, password.expose()) {
            return Err(IdpError::WrongCredentials);
        }
        if !self.is_confirmed(email) {
            return Err(IdpError::NotConfirmed);
        }
        self.tokens_for(email, true)
    }

    async fn refresh(&self, username: &str, refresh_token: &str) -> Result<Tokens, IdpError> {
        self.call("refresh")?;
        let email = {
            let s = self.lock();
            let subject = s
                .refresh
                .get(refresh_token)
                .ok_or_else(|| IdpError::TokenInvalid("refresh token revoked".into()))?;
            let (email, a) = s
                .accounts
                .iter()
                .find(|(_, a)| a.subject == *subject)
                .ok_or_else(|| IdpError::TokenInvalid("its user no longer exists".into()))?;
            // As Cognito's secret hash, the user name must be the provider's own.
            if a.username != username {
                return Err(IdpError::TokenInvalid("not this user's name".into()));
            }
            email.clone()
        };
        self.tokens_for(&email, false)
    }

    async fn verify_id_token(&self, id_token: &str) -> Result<Identity, IdpError> {
        self.call("verify_id_token")?;
        self.lock()
            .ids
            .get(id_token)
            .cloned()
            .ok_or_else(|| IdpError::TokenInvalid("not one of ours".into()))
    }

    async fn change_password(
        &self,
        access_token: &str,
        current: &Password,
        new: &Password,
    ) -> Result<(), IdpError> {
        self.call("change_password")?;
        let email = self.holder(access_token)?;
        if !self.password_is(&email, current.expose()) {
            return Err(IdpError::WrongCredentials);
        }
        FakeIdp::policy(new)?;
        self.lock()
            .accounts
            .get_mut(&email)
            .expect("holder exists")
            .password = new.expose().to_string();
        Ok(())
    }

    async fn sign_out_everywhere(&self, access_token: &str) -> Result<(), IdpError> {
        self.call("sign_out_everywhere")?;
        let email = self.holder(access_token)?;
        let mut s = self.lock();
        let subject = s.accounts[&email].subject.clone();
        s.refresh.retain(|_, v| *v != subject);
        s.access.retain(|_, (v, _)| *v != subject);
        Ok(())
    }

    async fn forgot_password(&self, email: &str) -> Result<(), IdpError> {
        self.call("forgot_password")?;
        if !self.exists(email) {
            return Ok(());
        }
        let code = self.new_code();
        let mut s = self.lock();
        let a = s.accounts.get_mut(email).expect("exists");
        a.reset_code = Some(code);
        a.codes_expired = false;
        Ok(())
    }

    async fn confirm_forgot_password(
        &self,
        email: &str,
        code: &str,
        new: &Password,
    ) -> Result<(), IdpError> {
        self.call("confirm_forgot_password")?;
        self.check_code(email, code, true)?;
        FakeIdp::policy(new)?;
        let mut s = self.lock();
        let a = s.accounts.get_mut(email).expect("checked");
        a.password = new.expose().to_string();
        a.reset_code = None;
        Ok(())
    }

    async fn delete_user(&self, access_token: &str) -> Result<(), IdpError> {
        self.call("delete_user")?;
        let email = self.holder(access_token)?;
        let mut s = self.lock();
        let subject = s
            .accounts
            .remove(&email)
            .map(|a| a.subject)
            .unwrap_or_default();
        s.refresh.retain(|_, v| *v != subject);
        s.access.retain(|_, (v, _)| *v != subject);
        Ok(())
    }
}
