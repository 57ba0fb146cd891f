//! The administrator's page.

use maud::{Markup, html};

use crate::model::AdminView;
use crate::ui::{Flash, Nav, csrf_field, layout, notice};

/// The admin page.
pub fn admin(nav: &Nav, a: &AdminView, flash: &Flash<'_>) -> Markup {
    layout(
        "Admin",
        nav,
        html! {
            @if a.queue_visible + a.queue_in_flight > 0 {
                // Progress of a re-ingestion: the page reloads every 5 s while work is queued.
                noscript { meta http-equiv="refresh" content="5"; }
                div hidden data-autorefresh="5" {}
            }
            h1 { "Admin" }
            (notice(flash.error, flash.info))
            section.cards {
                div.card { h2 { "Queue" } p.big data-stat="queue" { (a.queue_visible) } p { (a.queue_in_flight) " in flight, " (a.queue_dead) " dead letters" } }
                div.card { h2 { "Workers" } p.big data-stat="workers" { (a.workers) } p { (a.busy) " busy" } }
                div.card { h2 { "Accounts" } p.big { (a.users.0) } p { (a.users.1) " anonymous visitors" } }
            }
            section {
                h2 { "Uploads by state" }
                table { tbody { @for (s, n) in &a.states { tr { th scope="row" { (s) } td data-state-count=(s) { (n) } } } } }
            }
            section.card {
                h2 { "Re-ingest" }
                p { "Queues uploads again with the current parser; each ingest replaces the last, so running it twice is safe. Progress shows above." }
                form method="post" action="/admin/reingest" {
                    (csrf_field(nav))
                    label for="email" { "One user's e-mail (empty: everyone)" }
                    input id="email" name="email" type="email";
                    button type="submit" { "Re-ingest" }
                }
            }
            section {
                h2 { "Recent failures" }
                @if a.failures.is_empty() { p { "None." } }
                @else {
                    table { thead { tr { th { "Upload" } th { "File" } th { "Owner" } th { "Reason" } th { "When" } } }
                        tbody { @for (id, name, owner, reason, when) in &a.failures {
                            tr { td { code { (id) } } td { (name) } td { code { (owner) } } td { (reason) } td { (when) } }
                        } } }
                }
            }
        },
    )
}
