//! The accounts' pages: signing up, confirming, signing in, forgotten and new passwords, the
//! account page.

use maud::{Markup, html};

use crate::model::SettingsView;
use crate::settings::views::settings_form;
use crate::ui::{Flash, Nav, csrf_field, layout, notice};

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
