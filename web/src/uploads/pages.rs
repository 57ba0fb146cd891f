//! The uploads' pages: the landing page and the sample history, the file form, the list,
//! one upload, deleting one.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::TryStreamExt;
use maud::Markup;

use crate::error::{AppError, PageResult};
use crate::model::UploadView;
use crate::session::{Started, Visitor, nav, redirect_with};
use crate::state::AppState;
use crate::ui::{Flash, FlashQuery, done_message};
use crate::uploads::{actions, views};

/// How many files of the largest size one file form may carry (each file is held to the upload
/// limit by the store; the form as a whole to this many times it).
pub const FORM_FILES: usize = 8;

fn max_size(state: &AppState) -> String {
    crate::ui::size_limit(state.config().max_upload_bytes)
}

pub(crate) async fn landing(State(state): State<AppState>, v: Visitor) -> Markup {
    views::landing(&nav(&state, &v), &max_size(&state))
}

pub(crate) async fn sample(State(state): State<AppState>, v: Visitor) -> PageResult {
    let (u, started) = actions::upload_sample(&state, &v).await?;
    Ok(after_upload(&u, started))
}

fn after_upload(u: &UploadView, started: Option<Started>) -> Response {
    let to = format!("/uploads#upload-{}", u.id);
    match started {
        Some(s) => redirect_with(&to, s.cookie),
        None => Redirect::to(&to).into_response(),
    }
}

pub(crate) async fn uploads(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<FlashQuery>,
) -> PageResult {
    let list = actions::list_uploads(&state, &v).await?;
    let flash = Flash {
        error: None,
        info: done_message(q.done.as_deref()),
    };
    Ok(views::uploads(&nav(&state, &v), &list, &max_size(&state), &flash).into_response())
}

/// `POST /uploads`: the file form (multipart), streamed file by file into the store.
pub async fn upload(
    State(state): State<AppState>,
    v: Visitor,
    token_in_body: Option<axum::Extension<crate::security::TokenInBody>>,
    mut form: Multipart,
) -> PageResult {
    let mut v = v;
    let mut cookie = None;
    let mut stored = 0;
    // The form's body limit (the upload limit plus a margin) can be reached before the store's
    // own limit when the body arrives in large pieces: that is still "too large", not a
    // malformed form nor a storage outage.
    let too_large = |stored: usize| {
        let limit = crate::ui::size_limit(state.config().max_upload_bytes);
        AppError::TooLarge(if stored == 0 {
            format!("The upload is larger than the upload limit of {limit}; nothing was stored.")
        } else {
            format!(
                "The form is larger than the upload limit of {limit}; its first {stored} file(s) were stored, the rest were not."
            )
        })
    };
    let refused = |e: &axum::extract::multipart::MultipartError, stored: usize| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(stored)
        } else {
            AppError::BadRequest(format!("The upload was cut off or malformed: {e}"))
        }
    };
    if token_in_body.is_some() {
        // The token comes first, before any file is read or stored.
        let given = match form.next_field().await.map_err(|e| refused(&e, 0))? {
            Some(f) if f.name() == Some("_csrf") => f.text().await.map_err(|e| refused(&e, 0))?,
            _ => String::new(),
        };
        if !crate::security::body_token_matches(&state, &v, &given) {
            return Err(AppError::Forbidden(crate::security::TOKEN_MISSING.into()).into());
        }
    }
    while let Some(field) = form.next_field().await.map_err(|e| refused(&e, stored))? {
        let Some(name) = field.file_name().map(str::to_string) else {
            continue;
        };
        if name.is_empty() {
            continue;
        }
        let cut = std::sync::Arc::new(std::sync::Mutex::new(None));
        let seen = cut.clone();
        let stream = field.map_err(move |e| {
            let error = std::io::Error::other(e.to_string());
            *seen.lock().expect("cut lock") = Some(e);
            error
        });
        let mut reader = tokio_util::io::StreamReader::new(stream);
        // An empty file can only fail: refused before anything is made for it, as the API does.
        if let Ok([]) = tokio::io::AsyncBufReadExt::fill_buf(&mut reader).await {
            return Err(AppError::BadRequest(format!(
                "“{name}” is empty, so it was not stored. Pick my_spotify_data.zip or its JSON files."
            ))
            .into());
        }
        let result = actions::upload(&state, &v, &name, &mut reader).await;
        let (_, started) = match (result, cut.lock().expect("cut lock").take()) {
            // The store failed because the form did: say what happened to the form.
            (Err(AppError::Unavailable(_)), Some(e)) => return Err(refused(&e, stored).into()),
            (result, _) => result?,
        };
        if let Some(s) = started {
            // Later files of the same form belong to the visitor just created.
            v.user = Some(s.user.clone());
            v.token = s.token.clone();
            cookie = Some(s.cookie);
        }
        stored += 1;
    }
    if stored == 0 {
        return Err(AppError::BadRequest(
            "No file was chosen. Pick my_spotify_data.zip or its JSON files.".into(),
        )
        .into());
    }
    Ok(match cookie {
        Some(c) => redirect_with("/uploads", c),
        None => Redirect::to("/uploads").into_response(),
    })
}

pub(crate) async fn upload_detail(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
) -> PageResult {
    let u = actions::find_upload(&state, &v, &id).await?;
    Ok(views::upload_detail(&nav(&state, &v), &UploadView::from(&u)).into_response())
}

pub(crate) async fn delete_confirm(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
) -> PageResult {
    let u = actions::find_upload(&state, &v, &id).await?;
    Ok(views::delete_confirm(&nav(&state, &v), &UploadView::from(&u)).into_response())
}

pub(crate) async fn delete_upload(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
) -> PageResult {
    actions::delete_upload(&state, &v, &id).await?;
    Ok(Redirect::to("/uploads?done=deleted").into_response())
}
