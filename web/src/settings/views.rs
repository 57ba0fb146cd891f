//! The settings form, on its own page and on the account page.

use maud::{Markup, html};

use crate::model::SettingsView;
use crate::ui::{Flash, Nav, csrf_field, layout, notice};

/// The dashboard settings form (time zone, play threshold), posting to `action`.
pub(crate) fn settings_form(nav: &Nav, settings: &SettingsView, action: &str) -> Markup {
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
