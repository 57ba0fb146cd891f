//! Pure renderers: a view model in, `Markup` out. No SQL and no request handling here; every
//! name from an upload goes through maud's escaping.

use axum::http::StatusCode;
use maud::{DOCTYPE, Markup, html};

use crate::actions::{SettingsView, UploadView};
use crate::charts::{fmt_hours, fmt_instant, fmt_int};

/// What the navigation bar and forms need about the visitor.
#[derive(Debug, Clone, Default)]
pub struct Nav {
    /// E-mail of the signed-in account.
    pub email: Option<String>,
    /// An anonymous visitor with a session (they have uploaded).
    pub anonymous: bool,
    /// Show the admin link.
    pub admin: bool,
    /// CSRF token for this visitor's forms.
    pub csrf: String,
    /// The script sends files straight to the object store (S3) with presigned forms; the
    /// form itself (without JavaScript) still posts through the web tier.
    pub direct_uploads: bool,
    /// Accounts live at an identity provider, which e-mails confirmation and reset codes.
    pub idp: bool,
}

/// What the head of every page starts with: the encoding, the viewport, both colour schemes.
pub fn head_start() -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        meta name="color-scheme" content="light dark";
    }
}

/// The page frame: head, navigation, main content, footer.
pub fn layout(title: &str, nav: &Nav, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                (head_start())
                meta name="csrf-token" content=(nav.csrf);
                title { (title) " · Backspin" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href=(crate::assets::url("app.css"));
                script src=(crate::assets::url("app.js")) defer {}
            }
            body {
                header.top {
                    a.brand href="/" { "Backspin" }
                    nav aria-label="Main" {
                        @if let Some(email) = &nav.email {
                            a href="/uploads" { "Uploads" }
                            a href="/dashboard" { "Dashboard" }
                            a href="/account" title=(email) { "Account" }
                            @if nav.admin { a href="/admin" { "Admin" } }
                            form.inline method="post" action="/signout" {
                                input type="hidden" name="_csrf" value=(nav.csrf);
                                button.link type="submit" { "Sign out" }
                            }
                        } @else {
                            @if nav.anonymous {
                                a href="/uploads" { "Your uploads" }
                                a href="/dashboard" { "Dashboard" }
                            }
                            a href="/signin" { "Sign in" }
                            a.button href="/signup" { "Sign up" }
                        }
                    }
                }
                main id="main" { (body) }
                footer {
                    p { "Backspin shows your own Spotify listening history. Nothing of it is shown to anyone else unless you share a view; IP addresses and device ids in the export are never stored." }
                }
            }
        }
    }
}

/// A page for an error.
pub fn error_page(status: StatusCode, message: &str, nav: &Nav) -> Markup {
    let title = status.canonical_reason().unwrap_or("Error");
    let signed_in = nav.email.is_some() || nav.anonymous;
    layout(
        title,
        nav,
        html! {
            h1 { (title) }
            p.error role="alert" { (message) }
            @if signed_in {
                p { a href="/dashboard" { "Back to your dashboard" } " · " a href="/uploads" { "Your uploads" } }
            } @else {
                p { a href="/" { "Back to the start page" } }
            }
        },
    )
}

fn csrf_field(nav: &Nav) -> Markup {
    html! { input type="hidden" name="_csrf" value=(nav.csrf); }
}

/// A message box; errors are announced to screen readers.
pub fn notice(error: Option<&str>, info: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error { p.error role="alert" { (e) } }
        @if let Some(i) = info { p.info role="status" { (i) } }
    }
}

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

/// Sign-up or sign-in form. With an identity provider, sign-up says a code will be
/// e-mailed and sign-in offers a password reset (local accounts have no e-mail delivery).
pub fn credentials_form(nav: &Nav, signup: bool, email: &str, flash: &Flash<'_>) -> Markup {
    let (title, action, button) = if signup {
        ("Sign up", "/signup", "Create my account")
    } else {
        ("Sign in", "/signin", "Sign in")
    };
    layout(
        title,
        nav,
        html! {
            h1 { (title) }
            @if signup && nav.anonymous {
                p.info {
                    "Your uploads from this browser will be kept in your new account"
                    @if nav.idp { " when you first sign in with it here" }
                    "."
                }
            }
            (notice(flash.error, flash.info))
            form.card method="post" action=(action) {
                (csrf_field(nav))
                label for="email" { "E-mail" }
                input id="email" name="email" type="email" autocomplete="email" required value=(email);
                label for="password" { "Password" }
                input id="password" name="password" type="password" required minlength="8" maxlength="128"
                    autocomplete=(if signup { "new-password" } else { "current-password" });
                @if signup {
                    p.hint {
                        "8 to 128 characters; very common passwords are refused."
                        @if nav.idp { " We will e-mail you a code to confirm your address." }
                    }
                }
                button type="submit" { (button) }
            }
            @if signup {
                p { "Already have an account? " a href="/signin" { "Sign in" } }
            } @else {
                @if nav.idp { p { a href="/password/forgot" { "Forgot your password?" } } }
                p { "New here? " a href="/signup" { "Create an account" } }
            }
        },
    )
}

/// A hidden field, or a visible one when the address is not known yet.
fn email_field(id: &str, email: &str) -> Markup {
    html! {
        @if email.is_empty() {
            label for=(id) { "E-mail" }
            input id=(id) name="email" type="email" autocomplete="email" required;
        } @else {
            input type="hidden" name="email" value=(email);
        }
    }
}

/// The code field of the confirmation and reset forms.
fn code_field() -> Markup {
    html! {
        label for="code" { "Code from the e-mail" }
        input id="code" name="code" required autocomplete="one-time-code" inputmode="numeric" maxlength="64";
    }
}

/// The page that confirms an address with the e-mailed code, and sends it again.
pub fn confirm_form(nav: &Nav, email: &str, flash: &Flash<'_>) -> Markup {
    layout(
        "Confirm your e-mail address",
        nav,
        html! {
            h1 { "Confirm your e-mail address" }
            (notice(flash.error, flash.info))
            form.card method="post" action="/confirm" {
                (csrf_field(nav))
                label for="email" { "E-mail" }
                input id="email" name="email" type="email" autocomplete="email" required value=(email);
                (code_field())
                button type="submit" { "Confirm" }
            }
            form.inline method="post" action="/confirm/resend" {
                (csrf_field(nav))
                (email_field("resend_email", email))
                button.secondary type="submit" { "Send the code again" }
            }
            p { "Confirmed already? " a href="/signin" { "Sign in" } }
        },
    )
}

/// The form that asks for a password reset code.
pub fn forgot_form(nav: &Nav, email: &str, error: Option<&str>) -> Markup {
    layout(
        "Forgot your password?",
        nav,
        html! {
            h1 { "Forgot your password?" }
            (notice(error, None))
            p { "We will e-mail you a code to set a new one." }
            form.card method="post" action="/password/forgot" {
                (csrf_field(nav))
                label for="email" { "E-mail" }
                input id="email" name="email" type="email" autocomplete="email" required value=(email);
                button type="submit" { "Send me a code" }
            }
            p { a href="/signin" { "Back to sign in" } }
        },
    )
}

/// The form that sets a new password with the reset code.
pub fn reset_form(nav: &Nav, email: &str, flash: &Flash<'_>) -> Markup {
    layout(
        "Set a new password",
        nav,
        html! {
            h1 { "Set a new password" }
            (notice(flash.error, flash.info))
            form.card method="post" action="/password/reset" {
                (csrf_field(nav))
                label for="email" { "E-mail" }
                input id="email" name="email" type="email" autocomplete="email" required value=(email);
                (code_field())
                label for="new_password" { "New password" }
                input id="new_password" name="new_password" type="password" autocomplete="new-password" minlength="8" maxlength="128" required;
                p.hint { "8 to 128 characters; very common passwords are refused. Setting it signs you out everywhere." }
                button type="submit" { "Set the new password" }
            }
            p { "No code? " a href="/password/forgot" { "Ask for one" } }
        },
    )
}

/// Messages for the account page.
#[derive(Debug, Default)]
pub struct Flash<'a> {
    /// What went wrong.
    pub error: Option<&'a str>,
    /// What went right.
    pub info: Option<&'a str>,
}

/// The dashboard settings form (time zone, play threshold), posting to `action`.
fn settings_form(nav: &Nav, settings: &SettingsView, action: &str) -> Markup {
    html! {
        section.card {
            h2 { "Dashboard settings" }
            form method="post" action=(action) {
                (csrf_field(nav))
                label for="tz" { "Time zone" }
                input id="tz" name="tz" value=(settings.tz) required list="zones" autocomplete="off";
                p.hint { "Days, hours and weekdays are counted in it. With JavaScript, your browser's zone is chosen for you the first time." }
                datalist id="zones" {
                    @for z in chrono_tz::TZ_VARIANTS.iter() { option value=(z.name()) {} }
                }
                label for="min_play_seconds" { "A stream counts as a play from (seconds)" }
                input id="min_play_seconds" name="min_play_seconds" type="number" min="0" max="600" value=(settings.min_play_seconds);
                button type="submit" { "Save settings" }
            }
        }
    }
}

/// The dashboard settings on a page of their own: for every visitor with uploads, anonymous
/// ones too (the dashboard's "Change" link).
pub fn settings_page(
    nav: &Nav,
    settings: &SettingsView,
    flash: &Flash<'_>,
    hidden: Markup,
) -> Markup {
    layout(
        "Dashboard settings",
        nav,
        html! {
            h1 { "Dashboard settings" }
            (notice(flash.error, flash.info))
            (settings_form(nav, settings, "/settings"))
            (hidden)
            p { a href="/dashboard" { "← Back to the dashboard" } }
        },
    )
}

/// The account page: settings, password, export, deletion.
pub fn account(nav: &Nav, settings: &SettingsView, flash: &Flash<'_>, shares: Markup) -> Markup {
    layout(
        "Account",
        nav,
        html! {
            h1 { "Your account" }
            (notice(flash.error, flash.info))
            @if let Some(e) = &nav.email { p { "Signed in as " strong { (e) } "." } }
            (settings_form(nav, settings, "/account/settings"))
            section.card {
                h2 { "Change password" }
                form method="post" action="/account/password" {
                    (csrf_field(nav))
                    label for="current_password" { "Current password" }
                    input id="current_password" name="current_password" type="password" autocomplete="current-password" required;
                    label for="new_password" { "New password" }
                    input id="new_password" name="new_password" type="password" autocomplete="new-password" minlength="8" maxlength="128" required;
                    p.hint { "Changing it signs you out everywhere else." }
                    button type="submit" { "Change password" }
                }
            }
            (shares)
            section.card {
                h2 { "Export my data" }
                p { "Every play Backspin holds for you, each stream once." }
                p { a.button href="/account/export.csv" download { "Plays as CSV" } " " a.button href="/account/export.json" download { "Plays as JSON" } }
            }
            section.card {
                h2 { "Sign out everywhere" }
                p { "Signs out every browser and script signed in to your account, this one included." }
                form method="post" action="/signout/everywhere" {
                    (csrf_field(nav))
                    button.secondary type="submit" { "Sign out everywhere" }
                }
            }
            section.card.danger {
                h2 { "Delete my account" }
                p { "Deletes your account, every upload, its files, plays and statistics. This cannot be undone." }
                form method="post" action="/account/delete" {
                    (csrf_field(nav))
                    label for="delete_password" { "Your password, to confirm" }
                    input id="delete_password" name="password" type="password" autocomplete="current-password" required;
                    button.danger type="submit" { "Delete my account and all my data" }
                }
            }
        },
    )
}

/// Bytes as a human size.
pub fn size(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if b >= 1024.0 * 1024.0 {
        format!("{:.1} MB", b / 1024.0 / 1024.0)
    } else if b >= 1024.0 {
        format!("{:.0} KB", b / 1024.0)
    } else {
        format!("{b} bytes")
    }
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
                    li { (f.name) " — " (f.format.as_deref().unwrap_or(&f.status)) ", " (crate::charts::plural(f.records, "record"))
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

/// What the admin page shows.
#[derive(Debug, Default)]
pub struct AdminView {
    /// Messages waiting.
    pub queue_visible: u64,
    /// Messages in flight.
    pub queue_in_flight: u64,
    /// Dead letters.
    pub queue_dead: u64,
    /// Workers in this process.
    pub workers: u32,
    /// Workers busy.
    pub busy: u64,
    /// Uploads per state.
    pub states: Vec<(String, i64)>,
    /// Registered accounts and anonymous visitors.
    pub users: (i64, i64),
    /// Recent failures: (upload id, name, owner, reason, when).
    pub failures: Vec<(String, String, String, String, String)>,
}

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
