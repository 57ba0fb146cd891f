//! Changing what is hidden from every view ([`crate::dashboards::hidden`]): the form on the
//! settings page, the "hide" and "show again" buttons, and `/api/v1/settings/hidden`.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use maud::{Markup, html};
use serde::Deserialize;
use storage::hidden::Hidden;
use storage::users::User;

use crate::dashboards::hidden::{
    HiddenItem, HiddenList, MAX_HIDDEN, MAX_NAME_CHARS, checked, current, kind_words,
};
use crate::error::{ApiError, AppError, PageError};
use crate::session::Visitor;
use crate::state::AppState;
use crate::ui::Nav;
use engine::selection::HiddenKind;

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
        if let Err(e) = crate::dashboards::precompute::precompute(&state, &id, None).await {
            tracing::warn!(user = %id, error = %e, "storing the finished views failed");
        }
    });
    Ok(())
}

/// `GET /api/v1/settings/hidden`.
#[utoipa::path(
    get,
    path = "/settings/hidden",
    operation_id = "getHidden",
    tag = "account",
    summary = "What is hidden from every view",
    description = "Artists, podcast shows and tracks left out of every dashboard, ranking, recap, comparison, insight, shared view and `/api/v1/stats`. The export keeps every play.",
    responses(
        (status = 200, description = "The hidden things.", body = HiddenList),
        (status = 401, response = crate::error::SignInRequired),
        (status = 503, response = crate::error::Unavailable),
    ),
)]
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
#[utoipa::path(
    put,
    path = "/settings/hidden",
    operation_id = "replaceHidden",
    tag = "account",
    summary = "Replace what is hidden from every view",
    description = "The whole list at once (an empty list shows everything again). Every view follows at once; nothing is deleted. A track needs its artist (`by`); an artist or a show must not have one (422).",
    request_body = HiddenList,
    responses(
        (status = 200, description = "The hidden things now.", body = HiddenList),
        crate::error::BodyErrors,
        (status = 401, response = crate::error::SignInRequired),
    ),
)]
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
