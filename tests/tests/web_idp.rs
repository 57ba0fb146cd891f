//! Accounts held by an identity provider (Cognito in the cloud), as their users meet them,
//! against the in-memory provider of `e2e::fake_idp`: sign-up with an e-mailed code, sign-in,
//! the provider's tokens sealed in the session row, password change and reset, signing out
//! everywhere, account deletion, the anonymous visitor's uploads kept, the provider's
//! refusals as people read them, and the same routes absent where accounts are local.
//!
//! Every API answer of these operations is checked against the API document
//! (`web::api_document`).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use e2e::fake_idp::FakeIdp;
use e2e::web::{Client, PASSWORD, Reply, WebApp, api_message, get_json, page_alert, ready_upload};
use e2e::{CapturedLog, Engine, both_engines, fixtures};
use serde_json::{Value, json};
use storage::on_pool;
use web::idp::{IdentityProvider, IdpError};
use web::session::idp_tokens::SessionTokens;

const EMAIL: &str = "ana@example.com";
/// Passes Backspin's rules (8 characters, not common) but not the provider's (10).
const SHORT_FOR_THE_PROVIDER: &str = "Vq3#mLp9z";
const NEW_PASSWORD: &str = "a brand new passphrase";

// ---------------------------------------------------------------------------------------------
// Helpers.

/// The app with `fake` as its identity provider.
async fn app_with(engine: Engine, fake: &Arc<FakeIdp>) -> WebApp {
    let idp: Arc<dyn IdentityProvider> = fake.clone();
    WebApp::with_config(engine, |c| c.idp = Some(idp)).await
}

async fn idp_app(engine: Engine) -> (WebApp, Arc<FakeIdp>) {
    let fake = Arc::new(FakeIdp::new());
    (app_with(engine, &fake).await, fake)
}

fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::to_value(web::api_document()).expect("the document"))
}

fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => resolve(
            doc,
            doc.pointer(r.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("{r}")),
        ),
        None => v,
    }
}

/// Panics unless the document lists `r`'s status for the operation, and a JSON body has the
/// listed schema's required properties and no others.
fn assert_documented(method: &Method, path: &str, r: &Reply) {
    let doc = document();
    let op = &doc["paths"][path][method.as_str().to_lowercase()];
    assert!(op.is_object(), "{method} {path} is not documented");
    let listed = resolve(doc, &op["responses"][r.status.as_str()]);
    assert!(
        listed.is_object(),
        "{method} {path} answered {}, which the document does not list: {}",
        r.status,
        r.body
    );
    let schema = &listed["content"]["application/json"]["schema"];
    if r.body.is_empty() {
        assert!(
            schema.is_null(),
            "{method} {path} {}: no body, but one is described",
            r.status
        );
        return;
    }
    let schema = resolve(doc, schema);
    let body = r.json();
    let props = schema["properties"].as_object().expect("properties");
    for key in body.as_object().expect("a JSON object").keys() {
        assert!(
            props.contains_key(key),
            "{method} {path} {}: {key} is not described",
            r.status
        );
    }
    for key in schema["required"].as_array().into_iter().flatten() {
        let key = key.as_str().expect("a name");
        assert!(
            body.get(key).is_some(),
            "{method} {path} {}: {key} is missing",
            r.status
        );
    }
}

/// A JSON request checked against the document.
async fn api(c: &mut Client, method: Method, path: &str, body: Value) -> Reply {
    let r = c.json(method.clone(), path, &body).await;
    assert_documented(&method, path, &r);
    r
}

fn assert_redirect(r: &Reply, to: &str) {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), Some(to));
}

async fn signed_in(c: &mut Client) -> bool {
    get_json(c, "/api/v1/session").await["signed_in"] == json!(true)
}

/// Signs up through the API and confirms with the code the provider e-mailed.
async fn sign_up_and_confirm(c: &mut Client, fake: &FakeIdp, email: &str) {
    let r = api(
        c,
        Method::POST,
        "/api/v1/signup",
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let code = fake.code_for(email).expect("a code was e-mailed");
    let r = api(
        c,
        Method::POST,
        "/api/v1/signup/confirm",
        json!({"email": email, "code": code}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
}

/// Signs in through the API; panics unless it worked.
async fn sign_in(c: &mut Client, email: &str, password: &str) {
    let r = api(
        c,
        Method::POST,
        "/api/v1/signin",
        json!({"email": email, "password": password}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["email"], email);
}

/// Signs up, confirms with the e-mailed code and signs in, with [`PASSWORD`].
async fn new_account(c: &mut Client, fake: &FakeIdp, email: &str) {
    sign_up_and_confirm(c, fake, email).await;
    sign_in(c, email, PASSWORD).await;
}

/// What the session row of `c`'s cookie keeps of the provider's tokens.
async fn stored_tokens(app: &WebApp, c: &Client) -> Option<String> {
    let token = c.cookie.as_deref().expect("a cookie");
    storage::sessions::idp_tokens(app.pipeline.db(), token, storage::db::now_ms())
        .await
        .expect("read the session")
}

/// Base64 (URL-safe or standard, padding ignored) to bytes.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' | b'+' => 62,
        b'_' | b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for c in text.bytes().filter(|c| *c != b'=') {
        acc = (acc << 6) | u32::from(value(c));
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

async fn count(app: &WebApp, sql: &str, arg: &str) -> i64 {
    on_pool!(app.pipeline.db(), p => sqlx::query_scalar::<_, i64>(sql).bind(arg).fetch_one(p).await)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn history() -> Vec<u8> {
    std::fs::read(fixtures::samples().join("extended/Streaming_History_Audio_2023_2.json"))
        .expect("a sample history")
}

// ---------------------------------------------------------------------------------------------
// Sign-up, confirmation, sign-in.

async fn signing_up_confirming_and_signing_in_keeps_the_providers_tokens_sealed(engine: Engine) {
    let (app, fake) = idp_app(engine).await;
    let mut c = app.client();

    // Backspin's own rules come first; then the provider's, with its reason.
    let r = api(
        &mut c,
        Method::POST,
        "/api/v1/signup",
        json!({"email": EMAIL, "password": "password1"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(api_message(&r).contains("most common"), "{}", r.body);
    assert_eq!(
        fake.calls_of("sign_up"),
        0,
        "refused before asking the provider"
    );
    let r = api(
        &mut c,
        Method::POST,
        "/api/v1/signup",
        json!({"email": EMAIL, "password": SHORT_FOR_THE_PROVIDER}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        api_message(&r),
        "The password is not accepted: Password not long enough: use at least 10 characters."
    );

    // Created at the provider, not signed in: a code is on its way.
    let r = api(
        &mut c,
        Method::POST,
        "/api/v1/signup",
        json!({"email": " Ana@Example.com ", "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(
        r.json(),
        json!({"email": EMAIL, "confirmation_sent_to": "a***@e***"})
    );
    assert!(r.header("set-cookie").is_none(), "no session starts");
    assert!(!signed_in(&mut c).await);
    assert!(fake.exists(EMAIL) && !fake.is_confirmed(EMAIL));
    let r = api(
        &mut c,
        Method::POST,
        "/api/v1/signup",
        json!({"email": EMAIL, "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Not confirmed yet: the sign-in says so.
    let r = api(
        &mut c,
        Method::POST,
        "/api/v1/signin",
        json!({"email": EMAIL, "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(api_message(&r).contains("not confirmed yet"), "{}", r.body);

    // A wrong code, an expired one, a new one.
    let code = fake.code_for(EMAIL).expect("a code");
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let confirm = |code: &str| json!({"email": EMAIL, "code": code});
    let r = api(
        &mut c,
        Method::POST,
        "/api/v1/signup/confirm",
        confirm(wrong),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(api_message(&r), "The code is wrong.");
    let r = api(
        &mut c,
        Method::POST,
        "/api/v1/signup/confirm",
        confirm("  "),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    fake.expire_codes(EMAIL);
    let r = api(
        &mut c,
        Method::POST,
        "/api/v1/signup/confirm",
        confirm(&code),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(api_message(&r), "The code has expired; ask for a new one.");
    let r = api(
        &mut c,
        Method::POST,
        "/api/v1/signup/resend",
        json!({"email": EMAIL}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = api(
        &mut c,
        Method::POST,
        "/api/v1/signup/resend",
        json!({"email": "nobody@example.com"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "the same for no account");
    let new_code = fake.code_for(EMAIL).expect("a new code");
    let r = api(
        &mut c,
        Method::POST,
        "/api/v1/signup/confirm",
        confirm(&format!(" {new_code} ")),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(fake.is_confirmed(EMAIL));

    // A wrong password reads as locally; the right one signs in.
    let r = api(
        &mut c,
        Method::POST,
        "/api/v1/signin",
        json!({"email": EMAIL, "password": "not the passphrase"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(api_message(&r), "Wrong e-mail or password.");
    let before = c.cookie.clone();
    sign_in(&mut c, EMAIL, PASSWORD).await;
    assert_ne!(c.cookie, before, "a new session under a new cookie");
    let s = get_json(&mut c, "/api/v1/session").await;
    assert_eq!(
        (&s["signed_in"], &s["email"]),
        (&json!(true), &json!(EMAIL))
    );
    assert_eq!(get_json(&mut c, "/api/v1/settings").await["tz"], "UTC");

    // The account is the provider's subject, without a password of ours.
    let subject = fake.subject_of(EMAIL).expect("a subject");
    let user = storage::users::by_idp_subject(app.pipeline.db(), &subject)
        .await
        .expect("read")
        .expect("the account is linked to its subject");
    assert_eq!(user.email.as_deref(), Some(EMAIL));
    assert_eq!(
        storage::users::password_hash(app.pipeline.db(), &user.id)
            .await
            .expect("read"),
        None
    );

    // The session row keeps the tokens, but no token in clear, not even base64-encoded.
    let stored = stored_tokens(&app, &c)
        .await
        .expect("tokens on the session");
    let decoded = base64_decode(stored.split_once('.').expect("a version").1);
    let minted = fake.minted_tokens();
    assert!(minted.len() >= 3, "{minted:?}");
    for t in &minted {
        assert!(!stored.contains(t.as_str()), "{t} stored in clear");
        assert!(
            !decoded.windows(t.len()).any(|w| w == t.as_bytes()),
            "{t} stored merely encoded"
        );
    }
    // Sealed under this browser's token: it opens with it, and with nothing else.
    let cookie = c.cookie.clone().expect("a cookie");
    let opened = SessionTokens::open(&cookie, &stored).expect("opens with the session token");
    assert!(minted.contains(&opened.access_token));
    assert!(minted.contains(opened.refresh_token.as_ref().expect("a refresh token")));
    assert_eq!(opened.email, EMAIL);
    assert_eq!(
        SessionTokens::open(&web::session::new_token(), &stored),
        None
    );
}

both_engines!(signing_up_confirming_and_signing_in_keeps_the_providers_tokens_sealed);

#[tokio::test]
async fn the_pages_lead_from_sign_up_to_the_code_and_from_an_unconfirmed_sign_in_back_to_it() {
    let (app, fake) = idp_app(Engine::Sqlite).await;
    let mut b = app.client();
    let page = b.get("/signup").await;
    assert!(page.body.contains("e-mail you a code"), "{}", page.body);

    let r = b
        .post_form("/signup", &[("email", EMAIL), ("password", PASSWORD)])
        .await;
    assert_redirect(&r, "/confirm?email=ana%40example.com&done=sent");
    let page = b.get(r.location().expect("where")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("We e-mailed you a code"),
        "{}",
        page.body
    );
    assert!(page.body.contains("value=\"ana@example.com\""));

    // Signing in first leads back to the code.
    let r = b
        .post_form("/signin", &[("email", EMAIL), ("password", PASSWORD)])
        .await;
    assert_redirect(&r, "/confirm?email=ana%40example.com&done=unconfirmed");
    let page = b.get(r.location().expect("where")).await;
    assert!(page.body.contains("not confirmed yet"), "{}", page.body);

    let r = b
        .post_form("/confirm", &[("email", EMAIL), ("code", "not-it")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page_alert(&r), "The code is wrong.");
    let first = fake.code_for(EMAIL).expect("a code");
    let r = b.post_form("/confirm/resend", &[("email", EMAIL)]).await;
    assert_redirect(&r, "/confirm?email=ana%40example.com&done=resent");
    assert_eq!(fake.sent_codes().len(), 2);
    let code = fake.code_for(EMAIL).expect("a code");
    if code != first {
        let r = b
            .post_form("/confirm", &[("email", EMAIL), ("code", &first)])
            .await;
        assert_eq!(
            page_alert(&r),
            "The code is wrong.",
            "the old code is replaced"
        );
    }
    let r = b
        .post_form("/confirm", &[("email", EMAIL), ("code", &code)])
        .await;
    assert_redirect(&r, "/signin?email=ana%40example.com&done=confirmed");
    let page = b.get(r.location().expect("where")).await;
    assert!(page.body.contains("is confirmed"), "{}", page.body);
    assert!(page.body.contains("value=\"ana@example.com\""));
    assert!(page.body.contains("href=\"/password/forgot\""));

    let r = b
        .post_form("/signin", &[("email", EMAIL), ("password", PASSWORD)])
        .await;
    assert_redirect(&r, "/uploads");
    assert!(signed_in(&mut b).await);
    let page = b.get("/account").await;
    assert!(page.body.contains("action=\"/signout/everywhere\""));
}

async fn an_anonymous_visitors_uploads_become_the_account_they_sign_up_and_sign_in_for(
    engine: Engine,
) {
    let (app, fake) = idp_app(engine).await;
    let mut v = app.client();
    let id = ready_upload(
        &app,
        &mut v,
        "Streaming_History_Audio_2023.json",
        &history(),
    )
    .await;
    let u = get_json(&mut v, &format!("/api/v1/uploads/{id}")).await;
    assert!(u["expires"].is_string(), "anonymous uploads expire: {u}");
    let page = v.get("/signup").await;
    assert!(
        page.body
            .contains("kept in your new account when you first sign in with it here"),
        "{}",
        page.body
    );

    sign_up_and_confirm(&mut v, &fake, EMAIL).await;
    let s = get_json(&mut v, "/api/v1/session").await;
    assert_eq!(
        s["anonymous"], true,
        "still the anonymous visitor until signing in"
    );
    sign_in(&mut v, EMAIL, PASSWORD).await;
    let list = get_json(&mut v, "/api/v1/uploads").await;
    let ids: Vec<&str> = list
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|u| u["id"].as_str())
        .collect();
    assert_eq!(ids, vec![id.as_str()], "the upload is the account's");
    let u = get_json(&mut v, &format!("/api/v1/uploads/{id}")).await;
    assert!(u["expires"].is_null(), "it no longer expires: {u}");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM users WHERE anonymous = FALSE AND email = $1",
            EMAIL
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM users WHERE anonymous = TRUE OR email <> $1",
            EMAIL
        )
        .await,
        0,
        "the visitor's row became the account: no other row"
    );

    // Signing in again elsewhere finds the same account.
    let mut other = app.client_from("10.0.0.2:4000");
    sign_in(&mut other, EMAIL, PASSWORD).await;
    assert_eq!(get_json(&mut other, "/api/v1/uploads").await, list);
}

both_engines!(an_anonymous_visitors_uploads_become_the_account_they_sign_up_and_sign_in_for);

async fn a_visitor_claimed_by_one_account_is_not_handed_to_another(engine: Engine) {
    let db = e2e::TestDb::new(engine).await;
    let db = &db.db;
    let visitor = storage::users::create_anonymous(db, storage::db::now_ms() + 60_000)
        .await
        .expect("a visitor");
    let ana = storage::users::claim_for_subject(db, &visitor.id, EMAIL, "sub-ana")
        .await
        .expect("claimed");
    assert_eq!(
        (ana.id.as_str(), ana.anonymous),
        (visitor.id.as_str(), false)
    );
    // A second sign-in that saw the same anonymous visitor (another tab) gets nothing of it.
    let second =
        storage::users::claim_for_subject(db, &visitor.id, "bo@example.com", "sub-bo").await;
    assert!(
        matches!(second, Err(storage::users::ClaimError::Gone)),
        "{second:?}"
    );
    let taken = storage::users::create_for_subject(db, "other@example.com", "sub-ana").await;
    assert!(
        taken
            .as_ref()
            .is_err_and(storage::users::is_unique_violation),
        "a subject names one account: {taken:?}"
    );
    let found = storage::users::by_idp_subject(db, "sub-ana")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(found.email.as_deref(), Some(EMAIL));
}

both_engines!(a_visitor_claimed_by_one_account_is_not_handed_to_another);

// ---------------------------------------------------------------------------------------------
// Account operations that need the provider's access token.

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions_and_refreshes_a_stale_access_token() {
    let (app, fake) = idp_app(Engine::Sqlite).await;
    // Access tokens that expire within the refresh margin: every use refreshes first.
    fake.set_access_ttl(Duration::from_secs(30));
    let mut a = app.client();
    new_account(&mut a, &fake, EMAIL).await;
    let mut b = app.client_from("10.0.0.2:4000");
    sign_in(&mut b, EMAIL, PASSWORD).await;

    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let r = api(
        &mut a,
        Method::POST,
        "/api/v1/password",
        change("not the passphrase", NEW_PASSWORD),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(api_message(&r), "The current password is wrong.");
    let r = api(
        &mut a,
        Method::POST,
        "/api/v1/password",
        change(PASSWORD, "password1"),
    )
    .await;
    assert!(
        api_message(&r).contains("most common"),
        "Backspin's rules first"
    );
    let r = api(
        &mut a,
        Method::POST,
        "/api/v1/password",
        change(PASSWORD, SHORT_FOR_THE_PROVIDER),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(api_message(&r).contains("not long enough"), "{}", r.body);
    let refreshes = fake.calls_of("refresh");
    assert!(
        refreshes >= 1,
        "a stale access token is refreshed before use"
    );

    let before = a.cookie.clone();
    let r = api(
        &mut a,
        Method::POST,
        "/api/v1/password",
        change(PASSWORD, NEW_PASSWORD),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_ne!(a.cookie, before, "this browser moves to a new session");
    assert!(fake.password_is(EMAIL, NEW_PASSWORD));
    assert!(signed_in(&mut a).await);
    assert!(!signed_in(&mut b).await, "the other session ended");
    // The new session carries the tokens on (sealed under its own token).
    let stored = stored_tokens(&app, &a).await.expect("tokens moved");
    assert!(SessionTokens::open(a.cookie.as_deref().expect("cookie"), &stored).is_some());

    let r = api(
        &mut b,
        Method::POST,
        "/api/v1/signin",
        json!({"email": EMAIL, "password": PASSWORD}),
    )
    .await;
    assert_eq!(api_message(&r), "Wrong e-mail or password.");
    sign_in(&mut b, EMAIL, NEW_PASSWORD).await;
}

#[tokio::test]
async fn a_refresh_token_revoked_at_the_provider_ends_the_session_and_asks_to_sign_in_again() {
    let (app, fake) = idp_app(Engine::Sqlite).await;
    fake.set_access_ttl(Duration::from_secs(30));
    let mut api_client = app.client();
    new_account(&mut api_client, &fake, EMAIL).await;
    let mut browser = app.client_from("10.0.0.2:4000");
    sign_in(&mut browser, EMAIL, PASSWORD).await;

    // Another application of the same provider signs the user out everywhere.
    let tokens = fake
        .sign_in(EMAIL, &web::accounts::passwords::Password::new(PASSWORD))
        .await
        .expect("signed in directly");
    fake.sign_out_everywhere(&tokens.access_token)
        .await
        .expect("revoked");

    let r = api(
        &mut api_client,
        Method::POST,
        "/api/v1/password",
        json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert!(!signed_in(&mut api_client).await, "the session ended");

    let r = browser
        .post_form(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_redirect(&r, "/signin?done=ended");
    let page = browser.get("/signin?done=ended").await;
    assert!(page.body.contains("Please sign in again"), "{}", page.body);
    assert!(!signed_in(&mut browser).await);
    assert!(fake.password_is(EMAIL, PASSWORD), "nothing changed");
}

#[tokio::test]
async fn signing_out_everywhere_ends_every_session_and_revokes_the_providers_tokens() {
    let (app, fake) = idp_app(Engine::Sqlite).await;
    let mut a = app.client();
    new_account(&mut a, &fake, EMAIL).await;
    let mut b = app.client_from("10.0.0.2:4000");
    sign_in(&mut b, EMAIL, PASSWORD).await;
    assert_eq!(fake.live_refresh_tokens(EMAIL), 2);

    let r = api(
        &mut a,
        Method::POST,
        "/api/v1/signout/everywhere",
        json!({}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(r.header("set-cookie").is_some(), "a fresh cookie");
    assert_eq!(fake.calls_of("sign_out_everywhere"), 1);
    assert_eq!(fake.live_refresh_tokens(EMAIL), 0);
    assert!(!signed_in(&mut a).await);
    assert!(!signed_in(&mut b).await);
    let r = api(
        &mut a,
        Method::POST,
        "/api/v1/signout/everywhere",
        json!({}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // The account page's button.
    sign_in(&mut a, EMAIL, PASSWORD).await;
    sign_in(&mut b, EMAIL, PASSWORD).await;
    let r = b.post_form("/signout/everywhere", &[]).await;
    assert_redirect(&r, "/signin?done=everywhere");
    assert!(
        b.get("/signin?done=everywhere")
            .await
            .body
            .contains("signed out everywhere")
    );
    assert!(!signed_in(&mut a).await && !signed_in(&mut b).await);
    assert_eq!(fake.calls_of("sign_out_everywhere"), 2);
    assert_eq!(fake.live_refresh_tokens(EMAIL), 0);
}

#[tokio::test]
async fn a_forgotten_password_is_reset_with_the_emailed_code_and_every_session_ends() {
    let (app, fake) = idp_app(Engine::Sqlite).await;
    let mut owner = app.client();
    new_account(&mut owner, &fake, EMAIL).await;

    // The same answer for an account and for none.
    let mut c = app.client_from("10.0.0.3:4000");
    let mut answers = Vec::new();
    for email in ["nobody@example.com", EMAIL] {
        let r = api(
            &mut c,
            Method::POST,
            "/api/v1/password/forgot",
            json!({"email": email}),
        )
        .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        answers.push(r.body);
    }
    assert_eq!(answers[0], answers[1]);
    let code = fake.reset_code_for(EMAIL).expect("a reset code");

    let reset = |code: &str, new: &str| json!({"email": EMAIL, "code": code, "new_password": new});
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let r = api(
        &mut c,
        Method::POST,
        "/api/v1/password/reset",
        reset(wrong, NEW_PASSWORD),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(api_message(&r), "The code is wrong.");
    let r = api(
        &mut c,
        Method::POST,
        "/api/v1/password/reset",
        reset(&code, "ana@example.com"),
    )
    .await;
    assert!(
        api_message(&r).contains("e-mail address"),
        "Backspin's rules: {}",
        r.body
    );
    let r = api(
        &mut c,
        Method::POST,
        "/api/v1/password/reset",
        reset(&code, SHORT_FOR_THE_PROVIDER),
    )
    .await;
    assert!(api_message(&r).contains("not long enough"), "{}", r.body);
    assert!(signed_in(&mut owner).await, "nothing changed yet");
    let r = api(
        &mut c,
        Method::POST,
        "/api/v1/password/reset",
        reset(&code, NEW_PASSWORD),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(fake.password_is(EMAIL, NEW_PASSWORD));
    assert!(!signed_in(&mut owner).await, "every session ended");
    sign_in(&mut owner, EMAIL, NEW_PASSWORD).await;

    // Through the pages.
    let mut b = app.client_from("10.0.0.4:4000");
    let page = b.get("/signin").await;
    assert!(page.body.contains("Forgot your password?"));
    assert_eq!(b.get("/password/forgot").await.status, StatusCode::OK);
    let r = b.post_form("/password/forgot", &[("email", EMAIL)]).await;
    assert_redirect(&r, "/password/reset?email=ana%40example.com&done=code");
    let page = b.get(r.location().expect("where")).await;
    assert!(
        page.body
            .contains("If an account exists for this address, a code is on its way"),
        "{}",
        page.body
    );
    let code = fake.reset_code_for(EMAIL).expect("a reset code");
    let r = b
        .post_form(
            "/password/reset",
            &[
                ("email", EMAIL),
                ("code", &code),
                ("new_password", PASSWORD),
            ],
        )
        .await;
    assert_redirect(&r, "/signin?email=ana%40example.com&done=reset");
    assert!(!signed_in(&mut owner).await);
    assert!(fake.password_is(EMAIL, PASSWORD));
}

async fn deleting_the_account_deletes_the_provider_user_and_every_row(engine: Engine) {
    let (app, fake) = idp_app(engine).await;
    let mut c = app.client();
    new_account(&mut c, &fake, EMAIL).await;
    let id = ready_upload(
        &app,
        &mut c,
        "Streaming_History_Audio_2023.json",
        &history(),
    )
    .await;
    assert!(app.pipeline.play_count(&id).await > 0, "the upload counts");
    let user = storage::users::by_email(app.pipeline.db(), EMAIL)
        .await
        .expect("read")
        .expect("the account");

    let r = api(
        &mut c,
        Method::DELETE,
        "/api/v1/account",
        json!({"password": "not the passphrase"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(api_message(&r), "The current password is wrong.");
    assert!(fake.exists(EMAIL));

    let r = api(
        &mut c,
        Method::DELETE,
        "/api/v1/account",
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(!fake.exists(EMAIL), "the provider's user is gone");
    for (sql, arg) in [
        ("SELECT COUNT(*) FROM users WHERE id = $1", user.id.as_str()),
        (
            "SELECT COUNT(*) FROM sessions WHERE user_id = $1",
            user.id.as_str(),
        ),
        (
            "SELECT COUNT(*) FROM uploads WHERE owner_id = $1",
            user.id.as_str(),
        ),
        (
            "SELECT COUNT(*) FROM artifacts WHERE user_id = $1",
            user.id.as_str(),
        ),
    ] {
        assert_eq!(count(&app, sql, arg).await, 0, "{sql}");
    }
    assert!(!signed_in(&mut c).await);
    let r = api(
        &mut c,
        Method::POST,
        "/api/v1/signin",
        json!({"email": EMAIL, "password": PASSWORD}),
    )
    .await;
    assert_eq!(api_message(&r), "Wrong e-mail or password.");
}

both_engines!(deleting_the_account_deletes_the_provider_user_and_every_row);

// ---------------------------------------------------------------------------------------------
// The provider's refusals, as people read them.

#[tokio::test]
async fn the_providers_refusals_read_clearly_and_never_show_its_internals() {
    let (app, fake) = idp_app(Engine::Sqlite).await;
    let mut c = app.client();
    sign_up_and_confirm(&mut c, &fake, EMAIL).await;

    fake.fail_next(IdpError::LimitExceeded);
    let r = api(
        &mut c,
        Method::POST,
        "/api/v1/signin",
        json!({"email": EMAIL, "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(api_message(&r).contains("Too many attempts"), "{}", r.body);

    fake.fail_next(IdpError::Unavailable(
        "cognito-idp.eu-west-1 said 500".into(),
    ));
    let r = api(
        &mut c,
        Method::POST,
        "/api/v1/password/forgot",
        json!({"email": EMAIL}),
    )
    .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(api_message(&r).contains("account service"), "{}", r.body);
    assert!(!r.body.contains("cognito"), "{}", r.body);

    let r = c
        .post_form("/signin", &[("email", EMAIL), ("password", "wrong one")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page_alert(&r), "Wrong e-mail or password.");

    // Sign-ins are limited as local ones: after five failures, the next attempt is refused
    // without asking the provider.
    let limited = "limited@example.com";
    fake.add_confirmed(limited, PASSWORD);
    let mut s = app.client_from("10.0.0.5:4000");
    for _ in 0..5 {
        let r = s
            .json(
                Method::POST,
                "/api/v1/signin",
                &json!({"email": limited, "password": "a wrong guess"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let asked = fake.calls_of("sign_in");
    let r = api(
        &mut s,
        Method::POST,
        "/api/v1/signin",
        json!({"email": limited, "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.header("retry-after").is_some());
    assert_eq!(
        fake.calls_of("sign_in"),
        asked,
        "the provider was not asked"
    );
}

#[tokio::test]
async fn a_sign_up_the_provider_confirms_at_once_asks_to_sign_in() {
    let fake = Arc::new(FakeIdp::confirming_at_sign_up());
    let app = app_with(Engine::Sqlite, &fake).await;
    let mut c = app.client();
    let r = api(
        &mut c,
        Method::POST,
        "/api/v1/signup",
        json!({"email": EMAIL, "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.json()["confirmation_sent_to"], Value::Null);
    let mut b = app.client();
    let r = b
        .post_form(
            "/signup",
            &[("email", "bo@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_redirect(&r, "/signin?email=bo%40example.com&done=created");
    let page = b.get(r.location().expect("where")).await;
    assert!(page.body.contains("Your account is ready"), "{}", page.body);
    sign_in(&mut b, "bo@example.com", PASSWORD).await;
}

#[tokio::test]
async fn codes_tokens_and_passwords_never_reach_the_log() {
    // Thread-local, at the most verbose level: this test runs on one thread.
    let log = CapturedLog::default();
    let _capture = tracing::subscriber::set_default(log.subscriber_at(tracing::Level::TRACE));
    let (app, fake) = idp_app(Engine::Sqlite).await;
    fake.set_access_ttl(Duration::from_secs(30));
    let mut c = app.client();
    new_account(&mut c, &fake, EMAIL).await;
    let r = c
        .json(
            Method::POST,
            "/api/v1/password",
            &json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = c
        .json(
            Method::POST,
            "/api/v1/password/forgot",
            &json!({"email": EMAIL}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let code = fake.reset_code_for(EMAIL).expect("a code");
    let r = c
        .json(
            Method::POST,
            "/api/v1/password/reset",
            &json!({"email": EMAIL, "code": code, "new_password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    sign_in(&mut c, EMAIL, PASSWORD).await;
    let r = c
        .json(
            Method::DELETE,
            "/api/v1/account",
            &json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    let text = log.text();
    assert!(
        text.contains("signed in at the identity provider"),
        "the capture works"
    );
    let mut secrets = fake.minted_tokens();
    secrets.extend(fake.sent_codes());
    secrets.extend([PASSWORD.to_string(), NEW_PASSWORD.to_string()]);
    assert!(secrets.len() > 8);
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "{s} reached the log");
    }
}

// ---------------------------------------------------------------------------------------------
// Local accounts.

#[tokio::test]
async fn without_an_identity_provider_its_routes_are_not_found_and_signing_out_everywhere_works() {
    let app = WebApp::new(Engine::Sqlite).await;
    let mut c = app.client();
    c.sign_up(EMAIL).await;
    for path in ["/confirm", "/password/forgot", "/password/reset"] {
        assert_eq!(
            c.get(path).await.status,
            StatusCode::NOT_FOUND,
            "GET {path}"
        );
    }
    for (path, fields) in [
        ("/confirm", vec![("email", EMAIL), ("code", "123456")]),
        ("/confirm/resend", vec![("email", EMAIL)]),
        ("/password/forgot", vec![("email", EMAIL)]),
        (
            "/password/reset",
            vec![
                ("email", EMAIL),
                ("code", "123456"),
                ("new_password", NEW_PASSWORD),
            ],
        ),
    ] {
        let r = c.post_form(path, &fields).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "POST {path}: {}", r.body);
    }
    for (path, body) in [
        (
            "/api/v1/signup/confirm",
            json!({"email": EMAIL, "code": "123456"}),
        ),
        ("/api/v1/signup/resend", json!({"email": EMAIL})),
        ("/api/v1/password/forgot", json!({"email": EMAIL})),
        (
            "/api/v1/password/reset",
            json!({"email": EMAIL, "code": "123456", "new_password": NEW_PASSWORD}),
        ),
    ] {
        let r = api(&mut c, Method::POST, path, body).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "POST {path}: {}", r.body);
    }
    let page = c.get("/signin").await;
    assert!(
        !page.body.contains("Forgot your password?"),
        "no e-mail delivery here"
    );
    let page = c.get("/signup").await;
    assert!(!page.body.contains("e-mail you a code"));

    // Signing out everywhere works with local accounts too.
    let mut other = app.client_from("10.0.0.2:4000");
    let r = other.sign_in(EMAIL, PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(signed_in(&mut c).await && signed_in(&mut other).await);
    let r = api(
        &mut c,
        Method::POST,
        "/api/v1/signout/everywhere",
        json!({}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(!signed_in(&mut c).await && !signed_in(&mut other).await);
    let r = other.sign_in(EMAIL, PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = other.post_form("/signout/everywhere", &[]).await;
    assert_redirect(&r, "/signin?done=everywhere");
    assert!(!signed_in(&mut other).await);
}
