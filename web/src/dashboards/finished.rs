//! Finished views: the pages the worker rendered in advance, stored under the address they
//! answer and the version of the code that rendered them, served without the user's plays.

use axum::response::{IntoResponse, Response};
use maud::PreEscaped;

use crate::error::AppError;
use crate::session::{Visitor, nav};
use crate::state::AppState;

/// The sources that decide what a finished view shows: the pages, the charts, the engine's
/// panels and overview, the aggregates.
const RENDERING: [&str; 29] = [
    include_str!("compare.rs"),
    include_str!("context.rs"),
    include_str!("finished.rs"),
    include_str!("hidden.rs"),
    include_str!("items.rs"),
    include_str!("ledger.rs"),
    include_str!("overlaps.rs"),
    include_str!("overview.rs"),
    include_str!("precompute.rs"),
    include_str!("prepare.rs"),
    include_str!("query.rs"),
    include_str!("ranking.rs"),
    include_str!("recap.rs"),
    include_str!("search.rs"),
    include_str!("shareable.rs"),
    include_str!("skips.rs"),
    include_str!("stats.rs"),
    include_str!("stories.rs"),
    include_str!("widgets.rs"),
    include_str!("../ui/charts/mod.rs"),
    include_str!("../ui/charts/bars.rs"),
    include_str!("../ui/charts/grids.rs"),
    include_str!("../ui/charts/lines.rs"),
    include_str!("../ui/words.rs"),
    include_str!("../ui/mod.rs"),
    include_str!("../../../engine/src/panels.rs"),
    include_str!("../../../engine/src/overview.rs"),
    include_str!("../../../engine/src/selection.rs"),
    include_str!("../../../schema/src/aggregate.rs"),
];

/// The version of the code that renders views: a hash (FNV-1a) of the sources that decide
/// what a view shows (the pages, the charts, the engine, the aggregates). Finished
/// views are stored under it, so a release that changes a page or a number never serves a
/// view the code before it rendered (instances of one release agree on it; a rolling deploy's
/// two releases each read their own).
pub fn render_version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in RENDERING.iter().flat_map(|s| s.bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016x}")
    })
}

/// The name a finished view is stored under: the [`render_version`], then the address it
/// answers, path and query as the pages' own links write it (`/dashboard/ranking?kind=tracks`),
/// the query decoded and encoded again so that `name=a%20b` and `name=a+b` are one address.
pub fn view_key(path: &str, raw: Option<&str>) -> String {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default();
    let version = render_version();
    match serde_urlencoded::to_string(&pairs) {
        Ok(q) if !q.is_empty() => format!("{version}:{path}?{q}"),
        _ => format!("{version}:{path}"),
    }
}

/// A page the worker finished for this address and the visitor's current data and settings,
/// in the site's layout; `None` when there is none (the page is computed as usual).
pub(crate) async fn finished(
    state: &AppState,
    v: &Visitor,
    path: &str,
    raw: Option<&str>,
) -> Result<Option<Response>, AppError> {
    let user = v.require_user()?;
    let Some(stored) = state
        .finished()
        .get(state.db(), user, &view_key(path, raw))
        .await?
    else {
        return Ok(None);
    };
    let (title, body): (String, String) = serde_json::from_str(&stored)
        .map_err(|e| AppError::Internal(format!("a finished view: {e}")))?;
    Ok(Some(
        crate::ui::layout(&title, &nav(state, v), PreEscaped(body)).into_response(),
    ))
}

/// The [`view_key`] of a link the pages write (`path?query`).
pub(crate) fn key_of(link: &str) -> String {
    match link.split_once('?') {
        Some((path, raw)) => view_key(path, Some(raw)),
        None => view_key(link, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_render_version_names_the_code_and_prefixes_every_finished_view() {
        let v = render_version();
        assert_eq!(v.len(), 16);
        assert_eq!(view_key("/dashboard", None), format!("{v}:/dashboard"));
        assert_eq!(
            view_key("/dashboard/ranking", Some("kind=tracks&name=a%20b")),
            format!("{v}:/dashboard/ranking?kind=tracks&name=a+b")
        );
    }
}
