//! `GET /dashboard/overlaps` and its JSON twin: streams that overlap in time.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use maud::html;

use crate::dashboards::context::{Ctx, api_view, context, meta};
use crate::dashboards::widgets::{card, controls, hours};
use crate::error::{ApiError, PageError};
use crate::session::{Visitor, nav};
use crate::state::AppState;
use crate::ui::charts::{self, Bar, Chart, fmt_hours};

fn overlaps(c: &Ctx) -> Arc<engine::overlaps::Overlaps> {
    let p = c.prepared.clone();
    let (q, days) = (c.q.clone(), c.days);
    c.prepared.memo(q.key(days, "overlaps"), move || {
        let plays: Vec<schema::Play> = p
            .slice(days)
            .iter()
            .filter(|x| q.content.admits(x.kind))
            .copied()
            .collect();
        engine::overlaps::overlaps(&plays, p.settings)
    })
}

/// `GET /dashboard/overlaps`: listening on two devices at once, and the listening time with
/// every overlap counted once.
pub async fn overlaps_page(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let c = context(&state, &v, raw.as_deref()).await?;
    let o = overlaps(&c);
    let m = meta(&c);
    let q = &c.q;
    let device = crate::ui::words::platform;
    let body = html! {
        p.go { a href=(q.link("/dashboard", &[])) { "← Dashboard" } }
        h1 { "Listening on two devices at once" }
        (controls(q, &m, "/dashboard/overlaps"))
        p.lead {
            "Every other view adds up each stream's time. Streams that played at the same time (a phone left playing beside the computer) count twice there; here they count once."
        }
        section.cards aria-label="In numbers" {
            (card("Streams' time added up", "overlap-sum", fmt_hours(o.ms_played)))
            (card("Counted once", "overlap-once", fmt_hours(o.counted_once_ms)))
            (card("Counted twice", "overlap-twice", fmt_hours(o.overlap_ms)))
            (card("On two devices at once", "overlap-devices", fmt_hours(o.across_devices_ms)))
        }
        div.two {
            section {
                h2 { "Which devices played together" }
                @if o.pairs.is_empty() { p.hint { "Never two devices at once in this range." } }
                @else { ol { @for pair in &o.pairs { li { (device(pair.a)) " and " (device(pair.b)) " " span.value { (fmt_hours(pair.ms)) } } } } }
            }
            section {
                h2 { "The longest stretches" }
                @if o.episodes.is_empty() { p.hint { "None." } }
                @else { ol { @for e in &o.episodes {
                    li { (charts::fmt_instant(&e.start)) ", " (fmt_hours(e.ms)) " on " (e.devices.iter().map(|d| device(d)).collect::<Vec<_>>().join(" and ")) }
                } } }
            }
        }
        div.two {
            (charts::bars(&Chart::new("overlap-months", "Hours per month, overlaps counted once").with_label_name("Month"),
                &o.months.iter().map(|mo| Bar::new(mo.month.clone(), hours(mo.counted_once_ms)).with_tooltip(format!("{}: {} counted once, {} added up", mo.month, fmt_hours(mo.counted_once_ms), fmt_hours(mo.ms_played)))).collect::<Vec<_>>(), "h"))
            (charts::heatmap(&Chart::new("overlap-hours", "Hours by weekday and hour of day, counted once").with_label_name("Weekday"),
                &o.weekdays.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                &o.hours.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                &o.counted_once_by_hour.iter().map(|r| r.iter().map(|&ms| hours(ms)).collect()).collect::<Vec<Vec<f64>>>(),
                &[], "h"))
        }
    };
    Ok(crate::ui::layout("Two devices at once", &nav(&state, &v), body).into_response())
}

/// `GET /api/v1/dashboard/overlaps`.
#[utoipa::path(
    get,
    path = "/dashboard/overlaps",
    operation_id = "getDashboardOverlaps",
    tag = "dashboard",
    summary = "Listening on two devices at once, and the listening time with overlaps counted once",
    description = "A stream spans `ts − ms_played` to `ts`; where streams overlap, the other views add both, this one counts the time once.",
    params(
        crate::dashboards::query::Selecting,
        crate::dashboards::query::Ranging,
        crate::dashboards::query::ContentParam,
    ),
    responses(
        (status = 200, description = "The overlaps.", body = engine::overlaps::Overlaps),
        crate::error::ReadErrors,
    ),
)]
pub async fn api_overlaps(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Json<engine::overlaps::Overlaps>, ApiError> {
    api_view(&state, &v, raw.as_deref(), |c| {
        Ok(overlaps(c).as_ref().clone())
    })
    .await
}
