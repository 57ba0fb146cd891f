//! `GET` and `PUT /api/v1/settings`.

use axum::Json;
use axum::extract::State;

use crate::error::ApiResult;
use crate::model::SettingsView;
use crate::session::Visitor;
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/settings",
    operation_id = "getSettings",
    tag = "account",
    summary = "The dashboard settings",
    description = "For an account or an anonymous visitor with uploads.",
    responses(
        (status = 200, description = "The settings.", body = SettingsView),
        (status = 401, response = crate::error::SignInRequired),
        (status = 503, response = crate::error::Unavailable),
    ),
)]
pub(crate) async fn settings(v: Visitor) -> ApiResult<Json<SettingsView>> {
    Ok(Json(SettingsView::from(v.require_user()?)))
}

#[utoipa::path(
    put,
    path = "/settings",
    operation_id = "updateSettings",
    tag = "account",
    summary = "Change the dashboard settings",
    description = "Rebuilds the stats from the stored plays, so every view follows at once.",
    request_body = SettingsView,
    responses(
        (status = 200, description = "The settings now.", body = SettingsView),
        crate::error::BodyErrors,
        (status = 401, response = crate::error::SignInRequired),
    ),
)]
pub(crate) async fn put_settings(
    State(state): State<AppState>,
    v: Visitor,
    Json(s): Json<SettingsView>,
) -> ApiResult<Json<SettingsView>> {
    Ok(Json(
        crate::settings::update_settings(&state, &v, &s).await?,
    ))
}
