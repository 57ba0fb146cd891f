//! The views a share link can show, and the link on each page to the form that shares it.

use maud::{Markup, html};
use schema::EntityKind;
use schema::aggregate::Day;

use crate::dashboards::query::{BoardQuery, check_year};
use crate::error::AppError;
use engine::RangeChoice;

/// A view a share link can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shareable {
    /// The dashboard, with its range and content kind.
    Dashboard,
    /// A year's recap.
    Recap(i32),
    /// A comparison of two periods.
    Compare,
    /// An artist's page.
    Artist,
}

impl Shareable {
    /// From its stored name: `dashboard`, `recap/2024`, `compare`, `artist`.
    pub fn parse(s: &str) -> Option<Shareable> {
        Some(match s {
            "dashboard" => Shareable::Dashboard,
            "compare" => Shareable::Compare,
            "artist" => Shareable::Artist,
            _ => Shareable::Recap(check_year(s.strip_prefix("recap/")?.parse().ok()?).ok()?),
        })
    }

    /// Its stored name.
    pub fn name(self) -> String {
        match self {
            Shareable::Dashboard => "dashboard".into(),
            Shareable::Recap(y) => format!("recap/{y}"),
            Shareable::Compare => "compare".into(),
            Shareable::Artist => "artist".into(),
        }
    }

    /// The owner's own page of it (`path?query`, the query as [`shared_query`] keeps it).
    pub fn page(self, query: &str) -> String {
        let path = match self {
            Shareable::Dashboard => "/dashboard".to_string(),
            Shareable::Recap(y) => format!("/dashboard/recap/{y}"),
            Shareable::Compare => "/dashboard/compare".into(),
            Shareable::Artist => "/dashboard/artist".into(),
        };
        if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        }
    }
}

/// The link to the form that shares this view (it names the view's uploads, which the form
/// freezes); a page a share shows drops it with every other way out.
pub(crate) fn share_link(q: &BoardQuery, view: Shareable) -> Markup {
    let query = query_with_vs(q);
    let sep = if query.is_empty() { "" } else { "&" };
    let href = format!("/shares/new?view={}{sep}{query}", view.name());
    html! { p.go.share { a href=(href) { "Share this view →" } } }
}

/// What a view of `raw` is about, as a share link keeps it: the range, content kind, ranking
/// order, session pause, artist and compared period; never the uploads (a link keeps the ids
/// they stood for when it was made), a ranking page or a search.
pub fn shared_query(raw: Option<&str>) -> Result<String, AppError> {
    let mut q = BoardQuery::parse(raw)?;
    q.uploads.clear();
    q.kind = EntityKind::Artist;
    q.artist = None;
    Ok(query_with_vs(&q))
}

/// The query of `q`'s links with the compared period (`vs_range`, `vs_from`, `vs_to`) kept.
fn query_with_vs(q: &BoardQuery) -> String {
    let vs: Vec<(&str, String)> = match q.vs {
        Some(RangeChoice::Custom(f, t)) => vec![
            ("vs_range", "custom".into()),
            ("vs_from", f.map(Day::label).unwrap_or_default()),
            ("vs_to", t.map(Day::label).unwrap_or_default()),
        ],
        Some(r) => vec![("vs_range", r.param())],
        None => Vec::new(),
    };
    let change: Vec<(&str, &str)> = vs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    q.link("", &change).trim_start_matches('?').to_string()
}
