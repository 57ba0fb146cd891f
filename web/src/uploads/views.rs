//! The uploads' pages: the landing page with its upload box, the list, one upload, deleting one.

use maud::{Markup, html};

use crate::model::UploadView;
use crate::ui::charts::{fmt_hours, fmt_instant, fmt_int};
use crate::ui::{Flash, Nav, csrf_field, layout, notice, size};

/// The upload box: a plain multi-file form that works without JavaScript; the script adds
/// drag and drop, a progress bar per file and live states.
pub fn upload_box(nav: &Nav, max_size: &str) -> Markup {
    html! {
        form.upload method="post" enctype="multipart/form-data"
            action="/uploads" data-upload
            data-direct[nav.direct_uploads] {
            // First in the body: the handler checks it before reading any file.
            (csrf_field(nav))
            label for="files" {
                strong { "Drop my_spotify_data.zip or its JSON files here" }
                " or choose them"
            }
            input id="files" type="file" name="files" multiple required accept=".zip,.json,application/zip,application/json";
            p.hint {
                "Up to " (max_size) " per file. Files are read on our server only to build your dashboards. "
                span data-upload-hint { "Choose the files, then press Upload." }
            }
            button type="submit" { "Upload" }
            div.progress-list aria-live="polite" {}
        }
    }
}

/// The start page.
pub fn landing(nav: &Nav, max_size: &str) -> Markup {
    layout(
        "Your Spotify history",
        nav,
        html! {
            section.hero {
                h1 { "See your whole Spotify listening history" }
                p.lead {
                    "Spotify will send you every stream of your life: what, when, for how long, on which device, skipped or not. "
                    "Backspin turns that export into dashboards: listening over time, when in the day and week you listen, "
                    "top artists, tracks, albums and podcasts, discoveries, streaks, skips, and a recap for every year."
                }
                (upload_box(nav, max_size))
                form.inline method="post" action="/sample" {
                    (csrf_field(nav))
                    button.secondary type="submit" { "Try it with sample data" }
                }
                p.hint {
                    "No account needed: without one, your uploads are visible only in this browser and deleted after 24 hours. "
                    a href="/signup" { "Sign up" } " to keep them."
                }
            }
            section {
                h2 { "How to get your data from Spotify" }
                ol.steps {
                    li { "Sign in at " strong { "spotify.com" } ", open " strong { "Account → Security and privacy → Account privacy" } "." }
                    li {
                        "Under “Download your data”, tick the packages you want:"
                        ul {
                            li { strong { "Account data" } ": the last year of streams, at minute precision. Usually ready within 5 days." }
                            li { strong { "Extended streaming history" } ": every stream since you opened your account, to the second, with skips, shuffle and device. Takes up to 30 days. " em { "This is the one you want." } }
                            li { strong { "Technical log information" } ": diagnostics Backspin does not use." }
                        }
                    }
                    li { "Confirm the request in the e-mail Spotify sends you." }
                    li { "When the second e-mail arrives, download " code { "my_spotify_data.zip" } " and drop it above, as it is. Each package arrives as its own zip; upload both and Backspin merges them without counting anything twice." }
                }
            }
        },
    )
}

fn span(u: &UploadView) -> String {
    match u.summary.as_ref() {
        Some(s) => match (&s.first_ts, &s.last_ts) {
            (Some(a), Some(b)) => format!("{} – {}", &a[..10.min(a.len())], &b[..10.min(b.len())]),
            _ => "no streams".into(),
        },
        None => String::new(),
    }
}

fn state_label(u: &UploadView) -> Markup {
    html! {
        span class={ "state state-" (u.state) } data-state=(u.state) {
            @match u.state {
                "queued" => "Queued",
                "processing" => "Processing…",
                "ready" => "Ready",
                "failed" => "Failed",
                _ => "Deleting…",
            }
        }
    }
}

/// The uploads page: the upload box and the list with checkboxes to open any subset.
pub fn uploads(nav: &Nav, list: &[UploadView], max_size: &str, flash: &Flash<'_>) -> Markup {
    let pending = list
        .iter()
        .any(|u| matches!(u.state, "queued" | "processing"));
    layout(
        "Uploads",
        nav,
        html! {
            @if pending {
                // Without JavaScript the page refreshes itself while something is in progress.
                noscript { meta http-equiv="refresh" content="3"; }
            }
            h1 { "Your uploads" }
            (notice(flash.error, flash.info))
            @if nav.anonymous {
                p.info { "These uploads live in this browser only and are deleted after 24 hours. "
                    a href="/signup" { "Sign up to keep them." } }
            }
            (upload_box(nav, max_size))
            div data-uploads-list {
            @if let Some(sample) = list.iter().find(|u| u.sample).filter(|_| list.iter().any(|u| !u.sample && u.state == "ready")) {
                p.info role="note" { "Your own data is here, so the sample history is left out of your dashboards. "
                    a href={ "/uploads/" (sample.id) "/delete" } { "Delete the sample" } }
            }
            @if list.is_empty() {
                p { "Nothing uploaded yet." }
            } @else {
                form method="get" action="/dashboard" {
                    div.table-scroll { table.uploads data-uploads {
                        thead { tr {
                            th scope="col" { span.visually-hidden { "Select" } }
                            th scope="col" { "File" }
                            th scope="col" { "Size" }
                            th scope="col" { "Span" }
                            th scope="col" { "Plays" }
                            th scope="col" { "State" }
                            th scope="col" { "Uploaded" }
                            th scope="col" { span.visually-hidden { "Actions" } }
                        } }
                        tbody {
                            @for u in list {
                                tr id={ "upload-" (u.id) } data-id=(u.id) data-state=(u.state) {
                                    td { input type="checkbox" name="u" value=(u.id) aria-label={ "Select " (u.name) } disabled[u.state != "ready"]; }
                                    td { a href={ "/uploads/" (u.id) } { (u.name) } @if u.sample { " " span.badge { "Sample" } } }
                                    td { (size(u.size_bytes)) }
                                    td.span { (span(u)) }
                                    td.plays { @if let Some(s) = &u.summary { (fmt_int(s.plays)) } }
                                    td {
                                        (state_label(u))
                                        @if let Some(r) = &u.reason { p.reason { (r) } }
                                    }
                                    td { time datetime=(u.created) { (fmt_instant(&u.created)) } }
                                    td.actions {
                                        @if u.state == "ready" {
                                            a href={ "/dashboard?u=" (u.id) } { "Dashboard" span.visually-hidden { " of " (u.name) } }
                                            " "
                                        }
                                        a href={ "/uploads/" (u.id) "/delete" } { "Delete" span.visually-hidden { " " (u.name) } }
                                    }
                                }
                            }
                        }
                    } }
                    button type="submit" { "Open the dashboard for the selected uploads" }
                    p.hint { "Select none to see all ready uploads together. Streams present in several uploads count once." }
                }
            }
            }
        },
    )
}

/// One upload, with its summary or its reason.
pub fn upload_detail(nav: &Nav, u: &UploadView) -> Markup {
    layout(
        &u.name,
        nav,
        html! {
            @if matches!(u.state, "queued" | "processing") {
                noscript { meta http-equiv="refresh" content="3"; }
            }
            h1 { (u.name) }
            p data-upload-state=(u.id) { "State: " (state_label(u)) }
            @if let Some(r) = &u.reason { p.error role="alert" { (r) } }
            dl.facts {
                dt { "Size" } dd { (size(u.size_bytes)) }
                dt { "Uploaded" } dd { time datetime=(u.created) { (fmt_instant(&u.created)) } }
                @if let Some(e) = &u.expires { dt { "Deleted automatically" } dd { time datetime=(e) { (fmt_instant(e)) } } }
                @if let Some(s) = &u.summary {
                    dt { "Plays" } dd { (fmt_int(s.plays)) }
                    dt { "Listening time" } dd { (fmt_hours(s.total_ms_played)) }
                    dt { "Span" } dd { (span(u)) }
                }
            }
            @if let Some(s) = &u.summary {
                h2 { "Every record accounted for" }
                table.ledger {
                    caption.visually-hidden { "What became of each record read" }
                    tbody {
                        tr { th scope="row" { "Records read" } td { (fmt_int(s.records)) } }
                        tr { th scope="row" { "Counted as streams" } td { (fmt_int(s.unique_records.saturating_sub(s.rows_without_metadata))) } }
                        @if s.rows_without_metadata > 0 {
                            tr { th scope="row" { "Counted in time only (no track, episode or audiobook named)" } td { (fmt_int(s.rows_without_metadata)) } }
                        }
                        tr { th scope="row" { "Duplicates (the same stream twice)" } td { (fmt_int(s.duplicates_dropped)) } }
                        @if s.account_rows_covered_by_extended > 0 {
                            tr { th scope="row" { "Account data covered by the extended history" } td { (fmt_int(s.account_rows_covered_by_extended)) } }
                        }
                        @if s.records_rejected > 0 {
                            tr { th scope="row" { "Unreadable (bad values)" } td { (fmt_int(s.records_rejected)) } }
                        }
                    }
                }
            }
            @if let Some(s) = &u.summary {
                h2 { "Files" }
                ul { @for f in &s.files {
                    li { (f.name) " — " (f.format.as_deref().unwrap_or(&f.status)) ", " (crate::ui::charts::plural(f.records, "record"))
                        @if let Some(e) = &f.error { " — " span.error { (e) } } }
                } }
            }
            p {
                @if u.state == "ready" { a.button href={ "/dashboard?u=" (u.id) } { "Open its dashboard" } " " }
                a href={ "/uploads/" (u.id) "/delete" } { "Delete this upload" }
            }
        },
    )
}

/// "Really delete?" for one upload.
pub fn delete_confirm(nav: &Nav, u: &UploadView) -> Markup {
    layout(
        "Delete upload",
        nav,
        html! {
            h1 { "Delete “" (u.name) "”?" }
            p { "Its file, its plays and its share of your statistics are deleted. Plays that another of your uploads also contains stay." }
            form method="post" action={ "/uploads/" (u.id) "/delete" } {
                (csrf_field(nav))
                button.danger type="submit" { "Delete" }
                " "
                a href="/uploads" { "Cancel" }
            }
        },
    )
}
