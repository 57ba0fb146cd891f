//! `GET /dashboard/skips` and its JSON twin: how and where the listener skips.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use schema::EntityKind;

use crate::dashboards::context::{Ctx, api_view, context, meta};
use crate::dashboards::widgets::{controls, entry_link};
use crate::error::{ApiError, PageError};
use crate::session::{Visitor, nav};
use crate::state::AppState;
use crate::ui::charts::{self, Bar, Chart, fmt_hours, fmt_int, fmt_pct, plural};

fn anatomy(c: &Ctx) -> Arc<engine::anatomy::SkipAnatomy> {
    let p = c.prepared.clone();
    let days = c.days;
    c.prepared.memo(c.q.key(days, "anatomy"), move || {
        engine::anatomy::skip_anatomy(p.slice(days), &p.plays, &p.strings, p.settings)
    })
}

/// `GET /dashboard/skips`: where in a track you skip, when and on what, the tracks played
/// and skipped a lot, how much of the listening was chosen.
pub async fn anatomy_page(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let c = context(&state, &v, raw.as_deref()).await?;
    let a = anatomy(&c);
    let m = meta(&c);
    let q = &c.q;
    let rates = |list: &[engine::anatomy::Rate], words: &dyn Fn(&str) -> String| -> Vec<Bar> {
        list.iter()
            .map(|r| {
                Bar::new(words(&r.label), r.rate.unwrap_or(0.0) * 100.0).with_tooltip(format!(
                    "{}: {} of {} skipped",
                    words(&r.label),
                    fmt_int(r.skips),
                    plural(r.streams, "stream")
                ))
            })
            .collect()
    };
    let body = html! {
        p.go { a href=(q.link("/dashboard", &[])) { "← Dashboard" } }
        h1 { "Your skips" }
        (controls(q, &m, "/dashboard/skips"))
        @if a.streams == 0 {
            p { "No music in this range." }
        } @else {
            p.lead { (fmt_int(a.skips)) " of " (plural(a.streams, "music stream")) " skipped"
                @if a.streams > 0 { " (" (fmt_pct(a.skips as f64 / a.streams as f64)) ")" } "." }
            div.two {
                section {
                    h2 { "Where in a track you skip" }
                    p.hint { "Each skip at its share of the track's length, known for " (fmt_int(a.placed)) " of them (the track played to its end at least once)." }
                    (charts::bars(&Chart::new("skip-position", "Skips by how far into the track").with_label_name("Share of the track"),
                        &a.position.iter().enumerate().map(|(i, n)| Bar::new(format!("{}–{} %", i * 10, i * 10 + 10), *n as f64)).collect::<Vec<_>>(), "skips"))
                }
                section {
                    h2 { "How your listening begins" }
                    table {
                        thead { tr { th scope="col" { "Began" } th scope="col" { "Streams" } th scope="col" { "Time" } th scope="col" { "Share" } } }
                        tbody { @for o in &a.origins {
                            tr { th scope="row" { (origin_words(o.label)) } td { (fmt_int(o.streams)) } td { (fmt_hours(o.ms_played)) } td { (o.share.map_or("–".into(), fmt_pct)) } }
                        } }
                    }
                }
            }
            div.two {
                (charts::hbars(&Chart::new("skip-shuffle", "Skip rate with shuffle on and off").with_label_name("Shuffle"),
                    &rates(&a.shuffle, &|l| format!("Shuffle {l}")), "%"))
                (charts::hbars(&Chart::new("skip-device", "Skip rate by device, highest first").with_label_name("Device"),
                    &rates(&a.by_device, &|l| crate::ui::words::platform(l)), "%"))
            }
            (charts::bars(&Chart::new("skip-hour", "Skip rate by hour of day").with_label_name("Hour"),
                &rates(&a.by_hour, &|l| l.to_string()), "%"))
            section {
                h2 { "Played and skipped a lot" }
                @if a.love_hate.is_empty() {
                    p.hint { "No track with " (engine::anatomy::LOVE_HATE_MIN) " plays and as many skips in this range." }
                } @else {
                    ol { @for t in &a.love_hate {
                        li { a href=(entry_link(q, EntityKind::Track, &t.name, t.by.as_deref()).unwrap_or_default()) { (t.name) }
                            @if let Some(by) = &t.by { " — " (by) }
                            " " span.value { (plural(t.plays, "play")) ", " (plural(t.skips, "skip")) } }
                    } }
                }
            }
        }
    };
    Ok(crate::ui::layout("Your skips", &nav(&state, &v), body).into_response())
}

/// How a stream began, in words.
fn origin_words(label: &str) -> &'static str {
    match label {
        "chosen" => "You chose it",
        "continued" => "The queue went on",
        "resumed" => "Playback resumed",
        _ => "Not recorded",
    }
}

/// `GET /api/v1/dashboard/skips`.
#[utoipa::path(
    get,
    path = "/dashboard/skips",
    operation_id = "getDashboardSkips",
    tag = "dashboard",
    summary = "Skip anatomy: where in a track, when and on what you skip; the tracks you play and skip; how your listening begins",
    description = "Music streams of the range; track lengths are estimated over all time.",
    params(
        crate::dashboards::query::Selecting,
        crate::dashboards::query::Ranging,
    ),
    responses(
        (status = 200, description = "The anatomy.", body = engine::anatomy::SkipAnatomy),
        crate::error::ReadErrors,
    ),
)]
pub async fn api_anatomy(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Json<engine::anatomy::SkipAnatomy>, ApiError> {
    api_view(&state, &v, raw.as_deref(), |c| {
        Ok(anatomy(c).as_ref().clone())
    })
    .await
}
