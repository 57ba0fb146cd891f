//! Hiding artists, shows and tracks from every view (children's music, sleep sounds, a
//! flatmate's playlists): a list kept per user (`storage::hidden`), applied where a selection
//! is prepared ([`engine::selection::without_hidden`]), so every dashboard, ranking, recap,
//! comparison, insight, shared view and `/api/v1/stats` leaves them out at once, without
//! re-uploading; taken off the list, they are back. The export (`/account/export.*`) still
//! holds every play: nothing is deleted.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};
use storage::hidden::Hidden;
use storage::users::User;

use crate::AppState;
use crate::error::{ApiError, AppError, PageError};
use crate::session::Visitor;
use crate::view::Nav;
use engine::selection::HiddenKind;

/// The most things one user may hide.
pub const MAX_HIDDEN: usize = 200;

/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 300;

/// One hidden thing, as the API reads and writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HiddenItem {
    /// `artist` (their tracks), `show` (its episodes) or `track`.
    pub kind: HiddenKind,
    /// The artist's or show's name, or the track's title, exactly as the pages show it.
    pub name: String,
    /// A track's artist; absent for an artist or a show (a string when given: not null).
    #[serde(
        default,
        deserialize_with = "a_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub by: Option<String>,
}

/// A field that may be absent but, when given, is a string (the document says so; null is
/// refused like any other wrong type).
fn a_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

/// `GET` and `PUT /api/v1/settings/hidden`: everything hidden from every view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HiddenList {
    /// At most 200, by kind and name.
    pub hidden: Vec<HiddenItem>,
}

fn item_of(h: &Hidden) -> Option<HiddenItem> {
    Some(HiddenItem {
        kind: HiddenKind::parse(&h.kind)?,
        name: h.name.clone(),
        by: (!h.by.is_empty()).then(|| h.by.clone()),
    })
}

/// The user's hidden things, as the engine reads them.
pub async fn for_engine(
    state: &AppState,
    user: &User,
) -> Result<Vec<(HiddenKind, String, String)>, AppError> {
    Ok(storage::hidden::list(state.db(), &user.id)
        .await?
        .into_iter()
        .filter_map(|h| Some((HiddenKind::parse(&h.kind)?, h.name, h.by)))
        .collect())
}

/// One item checked: a name, a track's artist (and only a track's), no control characters.
fn checked(item: &HiddenItem) -> Result<Hidden, AppError> {
    let name = item.name.trim();
    let by = item.by.as_deref().map(str::trim).unwrap_or("");
    let what = match item.kind {
        HiddenKind::Artist => "an artist",
        HiddenKind::Show => "a podcast",
        HiddenKind::Track => "a track",
    };
    if name.is_empty() {
        return Err(AppError::Invalid(format!(
            "Give the name of {what} to hide."
        )));
    }
    for text in [name, by] {
        if text.chars().count() > MAX_NAME_CHARS {
            return Err(AppError::Invalid(format!(
                "A name can be at most {MAX_NAME_CHARS} characters."
            )));
        }
        if text.chars().any(char::is_control) {
            return Err(AppError::Invalid(
                "A name cannot hold control characters.".into(),
            ));
        }
    }
    match (item.kind, by.is_empty()) {
        (HiddenKind::Track, true) => {
            return Err(AppError::Invalid(
                "A track is hidden with its artist's name: give “by”.".into(),
            ));
        }
        (HiddenKind::Artist | HiddenKind::Show, false) => {
            return Err(AppError::Invalid(format!(
                "Only a track has an artist (“by”); {what} is hidden by its name alone."
            )));
        }
        _ => {}
    }
    Ok(Hidden {
        kind: item.kind.as_str().to_string(),
        name: name.to_string(),
        by: by.to_string(),
    })
}

/// Replaces what `user` hides with `items` (checked, duplicates dropped) and has the finished
/// views made again without them, in the background.
async fn replace(state: &AppState, user: &User, items: &[HiddenItem]) -> Result<(), AppError> {
    let mut all: Vec<Hidden> = items.iter().map(checked).collect::<Result<_, _>>()?;
    all.sort();
    all.dedup();
    if all.len() > MAX_HIDDEN {
        return Err(AppError::Invalid(format!(
            "At most {MAX_HIDDEN} things can be hidden; show some again first."
        )));
    }
    storage::hidden::replace(state.db(), &user.id, &all).await?;
    tracing::info!(user = %user.id, hidden = all.len(), "hidden list changed");
    let (state, id) = (state.clone(), user.id.clone());
    tokio::spawn(async move {
        if let Err(e) = crate::board::precompute(&state, &id, None).await {
            tracing::warn!(user = %id, error = %e, "storing the finished views failed");
        }
    });
    Ok(())
}

async fn current(state: &AppState, user: &User) -> Result<Vec<HiddenItem>, AppError> {
    Ok(storage::hidden::list(state.db(), &user.id)
        .await?
        .iter()
        .filter_map(item_of)
        .collect())
}

/// `GET /api/v1/settings/hidden`.
pub async fn api_list(
    State(state): State<AppState>,
    v: Visitor,
) -> Result<Json<HiddenList>, ApiError> {
    let user = v.require_user()?;
    Ok(Json(HiddenList {
        hidden: current(&state, user).await?,
    }))
}

/// `PUT /api/v1/settings/hidden`: the whole list at once (an empty one shows everything).
pub async fn api_replace(
    State(state): State<AppState>,
    v: Visitor,
    Json(list): Json<HiddenList>,
) -> Result<Json<HiddenList>, ApiError> {
    let user = v.require_user()?;
    replace(&state, user, &list.hidden).await?;
    Ok(Json(HiddenList {
        hidden: current(&state, user).await?,
    }))
}

/// The settings page's form fields for one thing.
#[derive(Debug, Deserialize)]
pub struct HideForm {
    kind: String,
    name: String,
    #[serde(default)]
    by: String,
}

impl HideForm {
    fn item(&self) -> Result<HiddenItem, AppError> {
        let kind = HiddenKind::parse(self.kind.trim())
            .ok_or_else(|| AppError::BadRequest("“kind” must be artist, show or track.".into()))?;
        Ok(HiddenItem {
            kind,
            name: self.name.clone(),
            by: (!self.by.trim().is_empty()).then(|| self.by.clone()),
        })
    }
}

/// `POST /settings/hidden`: hides one more thing.
pub async fn hide(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<HideForm>,
) -> Result<Response, PageError> {
    let user = v.require_user()?;
    let mut all = current(&state, user).await?;
    all.push(f.item()?);
    replace(&state, user, &all).await?;
    Ok(Redirect::to("/settings?done=hidden#hidden").into_response())
}

/// `POST /settings/hidden/remove`: shows one thing again.
pub async fn show_again(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<HideForm>,
) -> Result<Response, PageError> {
    let user = v.require_user()?;
    let gone = f.item()?;
    let all = current(&state, user).await?;
    if !all.contains(&gone) {
        return Err(AppError::NotFound.into());
    }
    let rest: Vec<HiddenItem> = all.into_iter().filter(|h| *h != gone).collect();
    replace(&state, user, &rest).await?;
    Ok(Redirect::to("/settings?done=shown#hidden").into_response())
}

fn kind_words(kind: HiddenKind) -> &'static str {
    match kind {
        HiddenKind::Artist => "Artist",
        HiddenKind::Show => "Podcast",
        HiddenKind::Track => "Track",
    }
}

/// The settings page's section: what is hidden, each with its "Show again" button, and the
/// form that hides one more (filled in when a page's "Hide" link led here).
pub async fn section(
    state: &AppState,
    nav: &Nav,
    user: &User,
    prefill: Option<HiddenItem>,
) -> Result<Markup, AppError> {
    let all = current(state, user).await?;
    let (kind, name, by) = match &prefill {
        Some(p) => (p.kind, p.name.as_str(), p.by.as_deref().unwrap_or("")),
        None => (HiddenKind::Artist, "", ""),
    };
    Ok(html! {
        section.card id="hidden" {
            h2 { "Hidden from every view" }
            p.hint { "Children's music, sleep sounds, a flatmate's playlists: what you hide here is left out of every dashboard, ranking, recap and comparison at once, and comes back when you show it again. Nothing is deleted; your export keeps every play." }
            @if all.is_empty() {
                p { "Nothing is hidden." }
            } @else {
                ul.shares {
                    @for h in &all {
                        li {
                            (kind_words(h.kind)) ": " strong { (h.name) }
                            @if let Some(b) = &h.by { " by " (b) }
                            form.inline method="post" action="/settings/hidden/remove" {
                                input type="hidden" name="_csrf" value=(nav.csrf);
                                input type="hidden" name="kind" value=(h.kind.as_str());
                                input type="hidden" name="name" value=(h.name);
                                input type="hidden" name="by" value=(h.by.as_deref().unwrap_or(""));
                                button.secondary type="submit" aria-label={ "Show " (h.name) " again" } { "Show again" }
                            }
                        }
                    }
                }
            }
            form method="post" action="/settings/hidden" {
                input type="hidden" name="_csrf" value=(nav.csrf);
                label for="hide_kind" { "Hide" }
                select id="hide_kind" name="kind" {
                    @for k in [HiddenKind::Artist, HiddenKind::Show, HiddenKind::Track] {
                        option value=(k.as_str()) selected[k == kind] { (kind_words(k)) }
                    }
                }
                label for="hide_name" { "Name (a track's title)" }
                input id="hide_name" name="name" type="text" required maxlength=(MAX_NAME_CHARS) value=(name);
                label for="hide_by" { "Artist (for a track)" }
                input id="hide_by" name="by" type="text" maxlength=(MAX_NAME_CHARS) value=(by);
                button type="submit" { "Hide it" }
            }
        }
    })
}

/// What a page's "Hide" link asks to fill in (`hide`, `name`, `by`), if anything.
pub fn prefill(raw: Option<&str>) -> Option<HiddenItem> {
    let get = |k: &str| crate::board::query_value(raw, k);
    Some(HiddenItem {
        kind: HiddenKind::parse(&get("hide")?)?,
        name: get("name")?,
        by: get("by").filter(|b| !b.is_empty()),
    })
}

/// The link a page gives to hide what it is about.
pub fn hide_link(kind: HiddenKind, name: &str, by: Option<&str>) -> Markup {
    let mut pairs = vec![("hide", kind.as_str()), ("name", name)];
    if let Some(b) = by {
        pairs.push(("by", b));
    }
    let href = format!(
        "/settings?{}#hidden",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    );
    let what = match kind {
        HiddenKind::Artist => "this artist",
        HiddenKind::Show => "this podcast",
        HiddenKind::Track => "this track",
    };
    html! { p.go.hide { a href=(href) { "Hide " (what) " from every view…" } } }
}
