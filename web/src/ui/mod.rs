//! What every page is drawn with: the layout and its navigation ([`Nav`]), notices, error
//! pages, and below, the charts, the words for codes and the static files. Nothing here knows
//! a request, a database or a feature.

pub mod assets;
pub mod charts;
pub mod words;

use axum::http::StatusCode;
use maud::{DOCTYPE, Markup, html};

use serde::Deserialize;

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
                link rel="stylesheet" href=(assets::url("app.css"));
                script src=(assets::url("app.js")) defer {}
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

pub(crate) fn csrf_field(nav: &Nav) -> Markup {
    html! { input type="hidden" name="_csrf" value=(nav.csrf); }
}

/// A message box; errors are announced to screen readers.
pub fn notice(error: Option<&str>, info: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error { p.error role="alert" { (e) } }
        @if let Some(i) = info { p.info role="status" { (i) } }
    }
}

/// Messages for the account page.
#[derive(Debug, Default)]
pub struct Flash<'a> {
    /// What went wrong.
    pub error: Option<&'a str>,
    /// What went right.
    pub info: Option<&'a str>,
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

/// The message a page shows after a redirect that said `done=…`.
pub fn info(done: Option<&str>) -> Flash<'static> {
    Flash {
        error: None,
        info: done_message(done),
    }
}

/// A form's message of what went wrong.
pub fn error(message: &str) -> Flash<'_> {
    Flash {
        error: Some(message),
        info: None,
    }
}

/// The query of a page that shows what just happened.
#[derive(Debug, Deserialize)]
pub struct FlashQuery {
    /// What just happened (a code, [`done_message`]).
    pub done: Option<String>,
}

/// The words for what just happened.
pub fn done_message(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "settings" => Some("Settings saved; every view now uses them."),
        "welcome" => Some(
            "Welcome to Backspin: your account is ready. Upload the my_spotify_data.zip Spotify sent you (on spotify.com: Account, Privacy settings, Download your data; ask for the extended streaming history for every year), or any of its JSON files.",
        ),
        "password" => Some("Password changed. Your other sessions were signed out."),
        "deleted" => Some("The upload was deleted."),
        "revoked" => Some("The link was revoked: it no longer opens anything."),
        "hidden" => Some("Hidden: every view now leaves it out."),
        "shown" => Some("Shown again in every view."),
        "reingest" => Some("Uploads queued for re-ingestion."),
        "sent" => Some("We e-mailed you a code. Enter it here to confirm your address."),
        "code" => Some(
            "If an account exists for this address, a code is on its way. Enter it here with your new password.",
        ),
        "resent" => Some("A new code is on its way. Enter it here."),
        "unconfirmed" => Some(
            "Your e-mail address is not confirmed yet: enter the code we e-mailed you, or ask for a new one.",
        ),
        "confirmed" => Some("Your e-mail address is confirmed. Sign in to start."),
        "created" => Some("Your account is ready. Sign in to start."),
        "reset" => Some(
            "Your password is changed and every session was signed out. Sign in with the new one.",
        ),
        "everywhere" => Some("You are signed out everywhere."),
        "ended" => Some("Your session has ended. Please sign in again."),
        _ => None,
    }
}

/// A size limit as people read it: whole MiB as before (“1024 MiB”), smaller limits in KiB
/// or bytes, so that a limit below 1 MiB never reads “0 MiB”.
pub fn size_limit(bytes: u64) -> String {
    for (unit, size) in [("MiB", 1u64 << 20), ("KiB", 1 << 10)] {
        if bytes >= size {
            return if bytes.is_multiple_of(size) {
                format!("{} {unit}", bytes / size)
            } else {
                format!("{:.1} {unit}", bytes as f64 / size as f64)
            };
        }
    }
    format!("{bytes} bytes")
}
