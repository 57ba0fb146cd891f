//! Hiding artists, shows and tracks from every view (children's music, sleep sounds, a
//! flatmate's playlists): a list kept per user (`storage::hidden`), applied where a selection
//! is prepared ([`engine::selection::without_hidden`]), so every dashboard, ranking, recap,
//! comparison, insight, shared view and `/api/v1/stats` leaves them out at once, without
//! re-uploading; taken off the list, they are back. The export (`/account/export.*`) still
//! holds every play: nothing is deleted.
//!
//! Here: the list as the engine and the pages read it, and the "hide" link on each page; the
//! list is changed on the settings page (`settings::hidden`).

use maud::{Markup, html};
use serde::{Deserialize, Serialize};
use storage::hidden::Hidden;
use storage::users::User;

use crate::error::AppError;
use crate::state::AppState;
use engine::selection::HiddenKind;

/// The most things one user may hide.
pub const MAX_HIDDEN: usize = 200;

/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 300;

/// One hidden thing, as the API reads and writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HiddenItem {
    /// `artist` (their tracks), `show` (its episodes) or `track`.
    pub kind: HiddenKind,
    /// The artist's or show's name, or the track's title, exactly as the pages show it.
    #[schema(min_length = 1, max_length = 300, pattern = "\\S")]
    pub name: String,
    /// A track's artist; absent for an artist or a show (a string when given: not null).
    #[serde(
        default,
        deserialize_with = "a_string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = String, required = false, max_length = 300)]
    pub by: Option<String>,
}

/// A field that may be absent but, when given, is a string (the document says so; null is
/// refused like any other wrong type).
fn a_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

/// `GET` and `PUT /api/v1/settings/hidden`: everything hidden from every view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HiddenList {
    /// At most 200, by kind and name.
    #[schema(max_items = 200)]
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
pub(crate) fn checked(item: &HiddenItem) -> Result<Hidden, AppError> {
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

pub(crate) async fn current(state: &AppState, user: &User) -> Result<Vec<HiddenItem>, AppError> {
    Ok(storage::hidden::list(state.db(), &user.id)
        .await?
        .iter()
        .filter_map(item_of)
        .collect())
}

pub(crate) fn kind_words(kind: HiddenKind) -> &'static str {
    match kind {
        HiddenKind::Artist => "Artist",
        HiddenKind::Show => "Podcast",
        HiddenKind::Track => "Track",
    }
}

/// What a page's "Hide" link asks to fill in (`hide`, `name`, `by`), if anything.
pub fn prefill(raw: Option<&str>) -> Option<HiddenItem> {
    let get = |k: &str| crate::dashboards::query::query_value(raw, k);
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
