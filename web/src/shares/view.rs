//! What a share shows: the shared page as its owner sees it, and the facts its card draws.

use maud::Markup;
use schema::{EntityKind, RankBy};
use storage::users::User;

use crate::dashboards::compare::{compare_body, comparison};
use crate::dashboards::context::context_for;
use crate::dashboards::items::{artist, artist_body};
use crate::dashboards::overview::{board, render_board};
use crate::dashboards::recap::{recap, recap_body};
use crate::dashboards::widgets::{hours, ranked_bars};
use crate::error::AppError;
use crate::shares::Shareable;
use crate::state::AppState;
use crate::ui::charts::{self, Bar, Chart, fmt_hours, fmt_int, plural};
use engine::panels;

/// What a share card shows: a title, the period, three figures, and one of the page's charts.
#[derive(Debug, Clone)]
pub struct CardFacts {
    /// What the view is (`Listening`, `2024 in music`, …).
    pub title: String,
    /// The period it covers, in words.
    pub period: String,
    /// Up to three figures: what, how much.
    pub figures: Vec<(String, String)>,
    /// The chart, as the page draws it.
    pub chart: Markup,
}

/// A shared view of `owner`'s `uploads`: the page's title and content (as the owner sees it),
/// and its card. Not found when an upload is gone or not ready.
pub async fn shared_view(
    state: &AppState,
    owner: &User,
    view: Shareable,
    query: &str,
    uploads: &[storage::ids::UploadId],
) -> Result<(String, Markup, CardFacts), AppError> {
    if uploads.is_empty() {
        return Err(AppError::NotFound);
    }
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    pairs.retain(|(k, _)| k != "u" && k != "uploads");
    pairs.extend(uploads.iter().map(|u| ("u".to_string(), u.to_string())));
    let raw = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    let c = context_for(state, owner.clone(), Some(&raw)).await?;
    if c.chosen
        .iter()
        .any(|u| u.state != storage::uploads::State::Ready)
    {
        return Err(AppError::NotFound);
    }
    let period = engine::selection::period_label(c.days);
    let top5 = |id: &str, title: &str, list: &[panels::RankedEntry]| {
        ranked_bars(
            &c.q,
            EntityKind::Artist,
            (id, title),
            &list[..list.len().min(5)],
            RankBy::Time,
        )
    };
    Ok(match view {
        Shareable::Dashboard => {
            let b = board(&c);
            let o = &b.overview;
            let card = CardFacts {
                title: "Listening".into(),
                period,
                figures: vec![
                    ("Listening time".into(), fmt_hours(o.total.ms_played)),
                    ("Plays".into(), fmt_int(o.total.plays)),
                    ("Artists".into(), fmt_int(o.artists as u64)),
                ],
                chart: top5("card-artists", "Top artists", &b.tops.artists),
            };
            ("Dashboard".into(), render_board(&c.q, &b), card)
        }
        Shareable::Recap(year) => {
            let r = recap(&c, year);
            let card = CardFacts {
                title: format!("{year} in music"),
                period: format!(
                    "{} of listening in {year}",
                    plural(r.days_listened as u64, "day")
                ),
                figures: vec![
                    ("Listening time".into(), fmt_hours(r.total.ms_played)),
                    ("Plays".into(), fmt_int(r.total.plays)),
                    (
                        "Artist of the year".into(),
                        r.top_artists.first().map_or("–".into(), |a| a.name.clone()),
                    ),
                ],
                chart: top5("card-artists", "Top artists", &r.top_artists),
            };
            (format!("{year} recap"), recap_body(&c, year), card)
        }
        Shareable::Compare => {
            let cmp = comparison(&c);
            let (title, body) = compare_body(&c)?;
            let bars = [&cmp.a, &cmp.b]
                .iter()
                .map(|p| Bar::new(p.label.clone(), hours(p.total.ms_played)))
                .collect::<Vec<_>>();
            let card = CardFacts {
                title: "Two periods".into(),
                period: format!("{} against {}", cmp.a.label, cmp.b.label),
                figures: vec![
                    (cmp.a.label.clone(), fmt_hours(cmp.a.total.ms_played)),
                    (cmp.b.label.clone(), fmt_hours(cmp.b.total.ms_played)),
                ],
                chart: charts::hbars(&Chart::new("card-periods", "Listening time"), &bars, "h"),
            };
            (title, body, card)
        }
        Shareable::Artist => {
            let a = artist(&c)?;
            let (title, body) = artist_body(&c)?;
            let card = CardFacts {
                title: a.name.clone(),
                period,
                figures: vec![
                    ("Listening time".into(), fmt_hours(a.range.ms_played)),
                    ("Plays".into(), fmt_int(a.range.plays)),
                    (
                        "First heard".into(),
                        a.first_listen.clone().unwrap_or_else(|| "–".into()),
                    ),
                ],
                chart: top5("card-tracks", "Top tracks", &a.top_tracks),
            };
            (title, body, card)
        }
    })
}
