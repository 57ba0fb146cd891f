//! `GET` and `PUT /api/v1/settings`.

use axum::Json;
use axum::extract::State;

use crate::error::ApiResult;
use crate::model::SettingsView;
use crate::session::Visitor;
use crate::state::AppState;

pub(crate) async fn settings(v: Visitor) -> ApiResult<Json<SettingsView>> {
    Ok(Json(SettingsView::from(v.require_user()?)))
}

pub(crate) async fn put_settings(
    State(state): State<AppState>,
    v: Visitor,
    Json(s): Json<SettingsView>,
) -> ApiResult<Json<SettingsView>> {
    Ok(Json(
        crate::settings::update_settings(&state, &v, &s).await?,
    ))
}
