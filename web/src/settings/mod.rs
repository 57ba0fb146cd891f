//! The dashboard settings (time zone, what counts as a play) and what is hidden from every
//! view: the settings page, `/api/v1/settings`, and the rules a change must meet. A change
//! has the finished views made again ([`crate::dashboards::precompute`]).

pub mod api;
pub mod hidden;
pub mod pages;
pub mod views;

use axum::Router;
use axum::routing::{get, post};
use serde::Deserialize;
use storage::users::{self, User};

use crate::dashboards::precompute::precompute;
use crate::error::AppError;
use crate::model::SettingsView;
use crate::session::Visitor;
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The settings' pages.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route(
            "/settings",
            get(pages::settings_page).post(pages::settings_anywhere),
        )
        .route("/settings/hidden", post(hidden::hide))
        .route("/settings/hidden/remove", post(hidden::show_again))
}

/// The settings' part of the JSON API, relative to `/api/v1`.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::settings, api::put_settings))
        .routes(routes!(hidden::api_list, hidden::api_replace))
}

#[derive(Debug, Deserialize)]
/// The settings form as posted.
pub struct SettingsForm {
    tz: String,
    min_play_seconds: String,
}

impl SettingsForm {
    /// The settings asked for; a play threshold that is not a number is refused here.
    pub fn parse(&self) -> Result<SettingsView, AppError> {
        let seconds = self.min_play_seconds.trim();
        let min_play_seconds = seconds
            .parse::<u32>()
            .map_err(|_| AppError::Invalid(format!("“{seconds}” is not a number of seconds.")))?;
        Ok(SettingsView {
            tz: self.tz.clone(),
            min_play_seconds,
        })
    }
}

/// Longest play threshold accepted, in seconds.
pub const MAX_MIN_PLAY_SECONDS: u32 = 600;

/// Changes the settings; every view follows at once (the dashboards are computed from the
/// stored streams under the settings in force, nothing is parsed again).
pub async fn update_settings(
    state: &AppState,
    visitor: &Visitor,
    new: &SettingsView,
) -> Result<SettingsView, AppError> {
    let user = visitor.require_user()?;
    let tz: schema::Tz = new.tz.trim().parse().map_err(|_| {
        AppError::Invalid(format!(
            "Unknown time zone “{}”: use a name like Europe/Berlin or America/New_York.",
            new.tz.trim()
        ))
    })?;
    if new.min_play_seconds > MAX_MIN_PLAY_SECONDS {
        return Err(AppError::Invalid(format!(
            "What counts as a play must be between 0 and {MAX_MIN_PLAY_SECONDS} seconds."
        )));
    }
    let min_play_ms = i64::from(new.min_play_seconds) * 1000;
    users::set_settings(state.db(), &user.id, tz.name(), min_play_ms).await?;
    let updated = User {
        tz: tz.name().to_string(),
        min_play_ms,
        ..user.clone()
    };
    // Nothing to rebuild: the artifact does not depend on the settings, and the dashboards
    // prepared in memory are keyed by them. The finished default views are, too: they are
    // computed again under the new settings, in the background.
    if user.tz != updated.tz || user.min_play_ms != updated.min_play_ms {
        let (state, id) = (state.clone(), user.id.clone());
        tokio::spawn(async move {
            if let Err(e) = precompute(&state, &id, None).await {
                tracing::warn!(user = %id, error = %e, "storing the finished views failed");
            }
        });
    }
    Ok(SettingsView::from(&updated))
}
