//! Share links: a signed-in user makes a read-only link to one view of their data (a dashboard
//! with its range and content, a year's recap, a comparison, an artist's page), under a display
//! name they choose (never their e-mail), for a time they choose (30 days unless they say
//! otherwise). The link holds a random token of 256 bits, stored only as its SHA-256
//! ([`storage::shares`]).
//!
//! What a link opens (`/s/{token}`) is exactly its view: the uploads it was made of are frozen
//! when it is made, the page is drawn by the owner's own code and then frozen
//! ([`freeze::freeze`]: no controls, no forms, no link to any other view), with `noindex`, no
//! referrer and no caching. Nothing else answers to the token: every other route reads the
//! visitor's own session. A revoked or expired link, one whose owner or uploads are gone, or
//! one whose upload is being deleted, answers 404 at once. Its card (`/s/{token}/card.png`,
//! [`card`]) is what chat apps show beside the link (Open Graph).

pub mod card;
pub mod freeze;
pub mod view;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;
use storage::db::now_ms;
use storage::shares::{self, NewShare, Share};
use storage::users::User;

use crate::dashboards::shareable::Shareable;
use crate::error::{AppError, PageError, form_error};
use crate::session::{Visitor, nav};
use crate::state::AppState;
use crate::ui::Nav;

type PageResult = Result<Response, PageError>;

/// The shares' pages: making and revoking a link (the owner's), and what a link shows (anyone's).
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/shares/new", get(new_form))
        .route("/shares", post(create))
        .route("/shares/{share}/revoke", post(revoke))
        .route("/s/{token}", get(page))
        .route("/s/{token}/card.png", get(card_png))
}

/// How long a link lives unless its owner chooses otherwise, in days.
pub const DEFAULT_DAYS: u32 = 30;

/// The lifetimes a link may have: days, and how the form says it.
pub const LIFETIMES: [(u32, &str); 5] = [
    (1, "1 day"),
    (7, "1 week"),
    (30, "30 days"),
    (90, "90 days"),
    (365, "1 year"),
];

/// The longest display name, in characters.
pub const NAME_CHARS: usize = 40;

/// Live links one account may hold at once.
pub const LINKS_PER_ACCOUNT: usize = 50;

/// What a new link would show: its view, the view's query, the uploads it is made of.
struct Proposal {
    view: Shareable,
    query: String,
    uploads: Vec<storage::ids::UploadId>,
}

/// The view, query and uploads of `raw` (the view's name in `view`, the rest the page's own
/// query), checked against what `user` has: their own ready uploads, a valid range.
async fn proposal(
    state: &AppState,
    user: &User,
    view: &str,
    raw: &str,
) -> Result<Proposal, AppError> {
    let view = Shareable::parse(view).ok_or_else(|| {
        AppError::BadRequest("“view” must be dashboard, recap/YEAR, compare or artist.".into())
    })?;
    let query = crate::dashboards::shareable::shared_query(Some(raw))?;
    let asked = crate::dashboards::query::BoardQuery::parse(Some(raw))?;
    if view == Shareable::Artist && asked.name.as_deref().is_none_or(str::is_empty) {
        return Err(AppError::BadRequest(
            "An artist's page needs the artist's “name”.".into(),
        ));
    }
    let chosen = crate::dashboards::context::selection(state, user, &asked.uploads).await?;
    if chosen.is_empty() {
        return Err(AppError::Invalid(
            "Nothing to share yet: upload your data first.".into(),
        ));
    }
    if let Some(u) = chosen
        .iter()
        .find(|u| u.state != storage::uploads::State::Ready)
    {
        return Err(AppError::Invalid(format!(
            "“{}” is not ready yet; share the view once it is.",
            u.original_name
        )));
    }
    Ok(Proposal {
        view,
        query,
        uploads: chosen.into_iter().map(|u| u.id).collect(),
    })
}

/// The owner's words for a view.
fn describe(view: Shareable, query: &str) -> String {
    let q = crate::dashboards::query::BoardQuery::parse(Some(query)).ok();
    let name = q.as_ref().and_then(|q| q.name.clone()).unwrap_or_default();
    let what = match view {
        Shareable::Dashboard => "Dashboard".to_string(),
        Shareable::Recap(y) => format!("{y} recap"),
        Shareable::Compare => "Comparison".to_string(),
        Shareable::Artist => format!("Artist: {name}"),
    };
    let range = q.map(|q| q.range.param()).unwrap_or_default();
    match range.as_str() {
        "" | "all" => what,
        "4w" => format!("{what}, last 4 weeks"),
        "6m" => format!("{what}, last 6 months"),
        "year" => format!("{what}, latest year"),
        "custom" => format!("{what}, chosen dates"),
        y => format!("{what}, {y}"),
    }
}

fn day(ms: i64) -> String {
    schema::aggregate::Day((ms.div_euclid(86_400_000)) as i32).label()
}

/// `GET /shares/new?view=…&…`: the form that makes a link to one view (the view's own query
/// follows `view`).
pub async fn new_form(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let nav = nav(&state, &v);
    let Ok(user) = v.require_account() else {
        return Ok(crate::ui::layout(
            "Share a view",
            &nav,
            html! {
                h1 { "Share a view" }
                p { "Links to a view are for accounts: "
                    a href="/signup" { "sign up" } " (your uploads come with you) or "
                    a href="/signin" { "sign in" } " to make one." }
            },
        )
        .into_response());
    };
    let (view_name, rest) = split_view(raw.as_deref().unwrap_or(""));
    let p = proposal(&state, user, &view_name, &rest).await?;
    Ok(share_form(&nav, &p, None, "", DEFAULT_DAYS).into_response())
}

/// `view` and the rest of a query.
fn split_view(raw: &str) -> (String, String) {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw).unwrap_or_default();
    let view = crate::dashboards::query::query_value(Some(raw), "view").unwrap_or_default();
    let rest: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| k != "view").collect();
    (view, serde_urlencoded::to_string(rest).unwrap_or_default())
}

fn share_form(nav: &Nav, p: &Proposal, error: Option<&str>, name: &str, days: u32) -> Markup {
    crate::ui::layout(
        "Share a view",
        nav,
        html! {
            h1 { "Share a view" }
            (crate::ui::notice(error, None))
            p { "Anyone with the link will see " strong { (describe(p.view, &p.query)) } ", as it is now, and nothing else: no other range, upload or page, and nothing of your account. You can revoke it at any time on "
                a href="/account#shares" { "your account page" } "." }
            form.card method="post" action="/shares" {
                input type="hidden" name="_csrf" value=(nav.csrf);
                input type="hidden" name="view" value=(p.view.name());
                input type="hidden" name="query" value=(p.query);
                input type="hidden" name="uploads" value=(p.uploads.join(","));
                label for="display_name" { "The name the link shows" }
                input id="display_name" name="display_name" type="text" required maxlength=(NAME_CHARS)
                    autocomplete="nickname" value=(name) aria-describedby="display_name_hint";
                p.hint id="display_name_hint" { "Shown instead of your e-mail address, which the link never shows." }
                label for="days" { "The link works for" }
                select id="days" name="days" {
                    @for (d, words) in LIFETIMES {
                        option value=(d) selected[d == days] { (words) }
                    }
                }
                button type="submit" { "Create the link" }
            }
        },
    )
}

/// The form a link is made with.
#[derive(Debug, Deserialize)]
pub struct NewLink {
    view: String,
    query: String,
    uploads: String,
    display_name: String,
    days: String,
}

/// The display name, checked: some text, not too long, no e-mail address.
fn display_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(AppError::Invalid(
            "Choose the name the link shows (your e-mail address is never shown).".into(),
        ));
    }
    if name.chars().count() > NAME_CHARS {
        return Err(AppError::Invalid(format!(
            "The name can be at most {NAME_CHARS} characters."
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::Invalid(
            "The name cannot hold control characters.".into(),
        ));
    }
    if name.contains('@') {
        return Err(AppError::Invalid(
            "Choose a name that is not an e-mail address: anyone with the link sees it.".into(),
        ));
    }
    Ok(name.to_string())
}

/// `POST /shares`: makes the link and shows it, once (only its hash is kept).
pub async fn create(
    State(state): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    Form(f): Form<NewLink>,
) -> PageResult {
    let user = v.require_account()?.clone();
    let nav = nav(&state, &v);
    let mut raw: Vec<(String, String)> = serde_urlencoded::from_str(&f.query).unwrap_or_default();
    raw.extend(
        f.uploads
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|u| ("u".to_string(), u.to_string())),
    );
    let p = proposal(
        &state,
        &user,
        &f.view,
        &serde_urlencoded::to_string(&raw).unwrap_or_default(),
    )
    .await?;
    let days = f
        .days
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|d| LIFETIMES.iter().any(|(x, _)| x == d));
    let checked = match (display_name(&f.display_name), days) {
        (Ok(name), Some(days)) => Ok((name, days)),
        (Err(e), _) => Err(e),
        (_, None) => Err(AppError::BadRequest(
            "“days” must be 1, 7, 30, 90 or 365.".into(),
        )),
    };
    let (name, days) = match checked {
        Ok(ok) => ok,
        Err(e) => {
            return form_error(e, |m| {
                share_form(&nav, &p, Some(m), &f.display_name, DEFAULT_DAYS)
            });
        }
    };
    let now = now_ms();
    if shares::list_for_user(state.db(), &user.id, now)
        .await?
        .len()
        >= LINKS_PER_ACCOUNT
    {
        return Err(AppError::Limited {
            message: format!(
                "You have {LINKS_PER_ACCOUNT} live links; revoke one on your account page first."
            ),
            retry_after: None,
        }
        .into());
    }
    // The view must exist as the owner sees it (an artist they listened to, say).
    view::shared_view(&state, &user, p.view, &p.query, &p.uploads).await?;
    let token = crate::session::new_token();
    let share = shares::create(
        state.db(),
        &NewShare {
            user_id: &user.id,
            token: &token,
            display_name: &name,
            view: &p.view.name(),
            query: &p.query,
            uploads: &p.uploads,
            expires_ms: now + i64::from(days) * 86_400_000,
        },
    )
    .await?;
    tracing::info!(user = %user.id, share = %share.id, days, "share link created");
    let url = format!("{}/s/{token}", origin(&state, &headers));
    let body = html! {
        h1 { "Your link is ready" }
        p { "Anyone with this link sees this view (" strong { (describe(p.view, &p.query)) } ") under the name " strong { (name) } ", until " (day(share.expires_ms)) ". The link is shown only now: copy it." }
        label for="share_url" { "The link" }
        input.share-url id="share_url" type="text" readonly value=(url);
        p { a.button href=(url) { "Open it" } " "
            a.button.secondary href={ "/s/" (token) "/card.png" } download="backspin-card.png" { "Download its card" } }
        figure.share-card {
            img src={ "/s/" (token) "/card.png" } width="600" height="315"
                alt={ "The card chat apps show beside the link: " (describe(p.view, &p.query)) };
            figcaption { "The card chat apps show beside the link." }
        }
        p { a href="/account#shares" { "Your links" } }
    };
    let mut r = (
        StatusCode::CREATED,
        crate::ui::layout("Link created", &nav, body),
    )
        .into_response();
    r.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(r)
}

/// The site's own origin as the browser reached it (for the absolute addresses Open Graph
/// wants): the scheme it used and its `Host`.
fn origin(state: &AppState, headers: &HeaderMap) -> String {
    let scheme = if crate::session::is_https(state, headers) {
        "https"
    } else {
        "http"
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}

/// `POST /shares/{share}/revoke`: the link stops working at once.
pub async fn revoke(
    State(state): State<AppState>,
    v: Visitor,
    Path(share): Path<String>,
) -> PageResult {
    let user = v.require_account()?;
    let Some(share) = storage::ids::ShareId::parse(&share) else {
        return Err(AppError::NotFound.into());
    };
    if !shares::revoke(state.db(), &user.id, &share).await? {
        return Err(AppError::NotFound.into());
    }
    tracing::info!(user = %user.id, share = %share, "share link revoked");
    Ok(Redirect::to("/account?done=revoked#shares").into_response())
}

/// The user's live links, for the account page. A link one of whose uploads is gone or
/// no longer ready (deleted, being deleted) is dead already; it is deleted here.
pub async fn live_links(state: &AppState, user: &User) -> Result<Vec<Share>, AppError> {
    let ready: std::collections::HashSet<storage::ids::UploadId> =
        storage::uploads::list_for_owner(state.db(), &user.id)
            .await?
            .into_iter()
            .filter(|u| u.state == storage::uploads::State::Ready)
            .map(|u| u.id)
            .collect();
    let mut live = Vec::new();
    for s in shares::list_for_user(state.db(), &user.id, now_ms()).await? {
        if s.uploads.iter().all(|u| ready.contains(u)) {
            live.push(s);
        } else {
            shares::revoke(state.db(), &user.id, &s.id).await?;
        }
    }
    Ok(live)
}

/// The account page's list of live links, each with its revoke button.
pub fn account_section(nav: &Nav, links: &[Share]) -> Markup {
    html! {
        section.card id="shares" {
            h2 { "Links you shared" }
            @if links.is_empty() {
                p { "None. Each dashboard, recap, comparison and artist page has a “Share this view” link." }
            } @else {
                ul.shares {
                    @for s in links {
                        li {
                            strong { (s.display_name) } ": "
                            (Shareable::parse(&s.view).map_or_else(|| s.view.clone(), |v| describe(v, &s.query)))
                            span.hint { " · made " (day(s.created_ms)) ", works until " (day(s.expires_ms)) }
                            form.inline method="post" action={ "/shares/" (s.id) "/revoke" } {
                                input type="hidden" name="_csrf" value=(nav.csrf);
                                button.secondary type="submit" aria-label={ "Revoke the link " (s.display_name) ": " (s.view) } { "Revoke" }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Whether `token` could be one we issued (43 characters of URL-safe base64), so that junk
/// never reaches the database.
fn is_token(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The link, its owner and its view, or not found.
async fn open(
    state: &AppState,
    token: &str,
) -> Result<(Share, (String, Markup, view::CardFacts)), AppError> {
    if !is_token(token) {
        return Err(AppError::NotFound);
    }
    let share = shares::by_token(state.db(), token, now_ms())
        .await?
        .ok_or(AppError::NotFound)?;
    let owner = storage::users::by_id(state.db(), &share.user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let view = Shareable::parse(&share.view).ok_or(AppError::NotFound)?;
    let shown = view::shared_view(state, &owner, view, &share.query, &share.uploads).await?;
    Ok((share, shown))
}

/// Headers of everything a link answers: not indexed, not cached, no referrer.
fn private(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        "x-robots-tag",
        HeaderValue::from_static("noindex, nofollow"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `GET /s/{token}`: the shared view, and nothing else.
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> PageResult {
    let (share, (title, body, facts)) = open(&state, &token).await?;
    let frozen = freeze::freeze(&body.into_string(), &share.display_name);
    let origin = origin(&state, &headers);
    let card_path = format!("/s/{token}/card.png");
    let heading = format!("{} · shared by {}", title, share.display_name);
    let description = facts
        .figures
        .iter()
        .map(|(what, value)| format!("{what}: {value}"))
        .collect::<Vec<_>>()
        .join(" · ");
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                (crate::ui::head_start())
                meta name="robots" content="noindex, nofollow";
                meta name="referrer" content="no-referrer";
                meta property="og:type" content="website";
                meta property="og:site_name" content="Backspin";
                meta property="og:title" content=(heading);
                meta property="og:description" content={ (facts.period) " · " (description) };
                meta property="og:image" content={ (origin) (card_path) };
                meta property="og:image:width" content=(card::WIDTH);
                meta property="og:image:height" content=(card::HEIGHT);
                meta property="og:image:alt" content={ (facts.title) ", " (facts.period) ": " (description) };
                meta name="twitter:card" content="summary_large_image";
                title { (heading) " · Backspin" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href=(crate::ui::assets::url("app.css"));
            }
            body.shared {
                header.top {
                    a.brand href="/" { "Backspin" }
                    p.shared-by { "Shared by " strong { (share.display_name) } " until " (day(share.expires_ms)) }
                }
                main id="main" {
                    (PreEscaped(frozen))
                    p { a.button.secondary href=(card_path) download="backspin-card.png" { "Download the card" } }
                }
                footer {
                    p { "A view " (share.display_name) " chose to share, read-only. "
                        a href="/" { "See your own listening history" } " with Backspin." }
                }
            }
        }
    };
    Ok(private(page.into_response()))
}

/// `GET /s/{token}/card.png`: the shared view's card.
pub async fn card_png(State(state): State<AppState>, Path(token): Path<String>) -> PageResult {
    let (share, (_, _, facts)) = open(&state, &token).await?;
    let png = tokio::task::spawn_blocking(move || card::png(&share.display_name, &facts))
        .await
        .map_err(|e| AppError::Internal(format!("a share card: {e}")))??;
    let mut r = ([(header::CONTENT_TYPE, "image/png")], png).into_response();
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline; filename=\"backspin-card.png\""),
    );
    Ok(private(r))
}
