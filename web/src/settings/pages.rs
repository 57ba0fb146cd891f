//! `GET /settings` and `POST /settings`: the dashboard settings for any visitor with uploads,
//! with what they hide.

use axum::Form;
use axum::extract::{Query, RawQuery, State};
use axum::response::{IntoResponse, Redirect};

use crate::error::{PageResult, form_error};
use crate::model::SettingsView;
use crate::session::{Visitor, nav};
pub(crate) use crate::settings::SettingsForm;
use crate::settings::update_settings;
use crate::state::AppState;
use crate::ui::{Flash, FlashQuery, done_message};

/// `GET /settings`: the dashboard settings for any visitor with uploads.
pub(crate) async fn settings_page(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<FlashQuery>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let user = v.require_user()?;
    let flash = Flash {
        error: None,
        info: done_message(q.done.as_deref()),
    };
    let nav = nav(&state, &v);
    let hidden = crate::settings::hidden::section(
        &state,
        &nav,
        user,
        crate::dashboards::hidden::prefill(raw.as_deref()),
    )
    .await?;
    Ok(
        crate::settings::views::settings_page(&nav, &SettingsView::from(user), &flash, hidden)
            .into_response(),
    )
}

/// `POST /settings`: saves them and shows them again.
pub(crate) async fn settings_anywhere(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<SettingsForm>,
) -> PageResult {
    let user = v.require_user()?.clone();
    let r = match f.parse() {
        Ok(wanted) => update_settings(&state, &v, &wanted).await,
        Err(e) => Err(e),
    };
    let nav = nav(&state, &v);
    match r {
        Ok(_) => Ok(Redirect::to("/settings?done=settings").into_response()),
        Err(e) => {
            let hidden = crate::settings::hidden::section(&state, &nav, &user, None).await?;
            form_error(e, |m| {
                let flash = Flash {
                    error: Some(m),
                    info: None,
                };
                crate::settings::views::settings_page(
                    &nav,
                    &SettingsView::from(&user),
                    &flash,
                    hidden,
                )
            })
        }
    }
}
