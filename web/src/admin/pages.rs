//! `GET /admin` and `POST /admin/reingest`.

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use crate::error::{AppError, PageResult, form_error};
use crate::session::{Visitor, nav};
use crate::state::AppState;
use crate::ui::{Flash, FlashQuery, done_message};

fn require_admin(state: &AppState, v: &Visitor) -> Result<(), AppError> {
    match &v.user {
        Some(u) if state.is_admin(u) => Ok(()),
        // Not an admin: the page does not exist for them.
        _ => Err(AppError::NotFound),
    }
}

pub(crate) async fn admin(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<FlashQuery>,
) -> PageResult {
    require_admin(&state, &v)?;
    let a = crate::admin::overview(&state).await?;
    let flash = Flash {
        error: None,
        info: done_message(q.done.as_deref()),
    };
    Ok(crate::admin::views::admin(&nav(&state, &v), &a, &flash).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReingestForm {
    #[serde(default)]
    email: String,
}

pub(crate) async fn reingest(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<ReingestForm>,
) -> PageResult {
    require_admin(&state, &v)?;
    match crate::admin::reingest(&state, &f.email).await {
        Ok(_) => Ok(Redirect::to("/admin?done=reingest").into_response()),
        Err(e) => form_error(e, |m| {
            let a = crate::model::AdminView::default();
            crate::admin::views::admin(
                &nav(&state, &v),
                &a,
                &Flash {
                    error: Some(m),
                    info: None,
                },
            )
        }),
    }
}
