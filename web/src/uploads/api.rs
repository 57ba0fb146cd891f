//! The uploads' part of the JSON API: `/api/v1/uploads` (send, list, one, delete) and
//! `/api/v1/uploads/direct`.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncBufReadExt;

use crate::error::{ApiResult, AppError};
use crate::model::UploadView;
use crate::session::Visitor;
use crate::state::AppState;

/// Where an upload's name comes from.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name (`my_spotify_data.zip`, `Streaming_History_Audio_2023.json`…).
    pub name: String,
}

/// The body of `POST /api/v1/uploads` as the API document describes it: the file's bytes,
/// at least one.
#[derive(Debug)]
pub struct FileBytes;

impl utoipa::PartialSchema for FileBytes {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .content_media_type("application/octet-stream")
            .min_length(Some(1))
            .into()
    }
}

impl utoipa::ToSchema for FileBytes {}

/// An upload just accepted.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Accepted {
    /// The upload.
    pub upload: UploadView,
    /// When this upload started an anonymous session: its CSRF token.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub csrf_token: Option<String>,
}

/// `POST /api/v1/uploads?name=F`: the body is the file itself, streamed into the store.
#[utoipa::path(
    post,
    path = "/uploads",
    operation_id = "createUpload",
    tag = "uploads",
    summary = "Upload an export file",
    description = "The body is the file itself (`my_spotify_data.zip`, a `Streaming_History_*.json`…), streamed into the store; ingestion runs in the background: poll `GET /api/v1/uploads/{id}` until `state` is `ready` or `failed`. An anonymous visitor's first upload starts an anonymous session (its uploads expire): the response then sets a new cookie and includes the new `csrf_token`.",
    params(UploadQuery),
    request_body(content = inline(FileBytes), content_type = "application/octet-stream", description = "The raw file bytes; an empty body is refused (400) and nothing is stored."),
    responses(
        (status = 202, description = "Stored and queued.", body = Accepted, headers(("Location" = String, description = "The new upload: `/api/v1/uploads/{id}`."), ("Set-Cookie" = String, description = "The anonymous session's cookie, when this upload started one."))),
        (status = 400, response = crate::error::BadRequest),
        (status = 413, response = crate::error::TooLarge),
        (status = 429, response = crate::error::UploadLimited),
        (status = 503, response = crate::error::Unavailable),
        (status = 507, response = crate::error::InsufficientStorage),
    ),
)]
pub async fn upload(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<UploadQuery>,
    body: Body,
) -> ApiResult<Response> {
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let mut reader = tokio_util::io::StreamReader::new(stream);
    // The body is required: without one, nothing is created (an anonymous visitor, an upload
    // row, an object) rather than an empty upload that can only fail.
    match reader.fill_buf().await {
        Ok([]) => {
            return Err(AppError::BadRequest(
                "The file is empty: the request has no body, so nothing was stored.".into(),
            )
            .into());
        }
        Ok(_) => {}
        Err(e) => {
            return Err(AppError::BadRequest(format!(
                "The upload was cut off ({e}); nothing was stored."
            ))
            .into());
        }
    }
    let (upload, started) =
        crate::uploads::actions::upload(&state, &v, &q.name, &mut reader).await?;
    let location = format!("/api/v1/uploads/{}", upload.id);
    let (csrf_token, cookie) = match started {
        Some(s) => (Some(s.csrf_token), Some(s.cookie)),
        None => (None, None),
    };
    let mut r = (StatusCode::ACCEPTED, Json(Accepted { upload, csrf_token })).into_response();
    if let Ok(l) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, l);
    }
    if let Some(c) = cookie {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(r)
}

/// An upload the browser will post straight to the object store.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DirectRequest {
    /// The file's name.
    pub name: String,
    /// The file's size in bytes.
    #[serde(deserialize_with = "byte_count")]
    pub size: u64,
}

/// A size in bytes: any JSON integer, as JSON Schema counts them (`1e3` and `10.0` too; serde
/// alone takes only plain digits), and one past `u64` as `u64::MAX`, which is over any limit
/// (413) rather than malformed. Negative or fractional numbers are refused (422).
fn byte_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    if let Some(u) = n.as_u64() {
        return Ok(u);
    }
    match n.as_f64() {
        // `as` saturates: 1e20 becomes u64::MAX.
        Some(f) if f >= 0.0 && f.fract() == 0.0 => Ok(f as u64),
        _ => Err(serde::de::Error::custom(format!(
            "invalid value: {n}, expected a whole number of bytes"
        ))),
    }
}

/// One field of a presigned form.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FormField {
    /// The field's name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// A form to post one file to, with its fields in order (the file goes last, as `file`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DirectForm {
    /// Where to POST (`multipart/form-data`).
    pub url: String,
    /// The fields to send before the file, in this order.
    pub fields: Vec<FormField>,
    /// When the form stops working (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub expires: String,
}

/// An upload prepared for a direct post.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Presigned {
    /// The upload, `queued` until its file arrives.
    pub upload: UploadView,
    /// The form that sends the file.
    pub form: DirectForm,
    /// When this upload started an anonymous session: its CSRF token.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub csrf_token: Option<String>,
}

/// `POST /api/v1/uploads/direct`: an upload row and a presigned form for its file.
#[utoipa::path(
    post,
    path = "/uploads/direct",
    operation_id = "prepareDirectUpload",
    tag = "uploads",
    summary = "Prepare an upload that goes straight to the object store",
    description = "Only where the store issues presigned forms (S3; elsewhere 404: use `POST /api/v1/uploads`). Creates the upload (`queued`) and returns a form for exactly its key, at most the upload limit, valid for 15 minutes: POST `multipart/form-data` to `form.url` with `form.fields` in order, then the file as the field `file`. The store's \"object created\" event starts the ingest; poll `GET /api/v1/uploads/{id}` as for any upload. An upload whose file never arrives is removed after 6 hours. An anonymous visitor's first upload starts an anonymous session, as with `POST /api/v1/uploads`.",
    request_body = DirectRequest,
    responses(
        (status = 201, description = "The upload and its form.", body = Presigned, headers(("Location" = String, description = "The new upload: `/api/v1/uploads/{id}`."), ("Set-Cookie" = String, description = "The anonymous session's cookie, when this upload started one."))),
        crate::error::BodyErrors,
        (status = 404, response = crate::error::NotFound),
        (status = 429, response = crate::error::UploadLimited),
        (status = 507, response = crate::error::InsufficientStorage),
    ),
)]
pub(crate) async fn direct(
    State(state): State<AppState>,
    v: Visitor,
    Json(q): Json<DirectRequest>,
) -> ApiResult<Response> {
    let d = crate::uploads::actions::direct_upload(&state, &v, &q.name, q.size).await?;
    let form = DirectForm {
        url: d.form.url,
        fields: d
            .form
            .fields
            .into_iter()
            .map(|(name, value)| FormField { name, value })
            .collect(),
        expires: crate::model::rfc3339(d.form.expires_ms),
    };
    let (csrf_token, cookie) = match d.started {
        Some(s) => (Some(s.csrf_token), Some(s.cookie)),
        None => (None, None),
    };
    let location = format!("/api/v1/uploads/{}", d.upload.id);
    let mut r = (
        StatusCode::CREATED,
        Json(Presigned {
            upload: d.upload,
            form,
            csrf_token,
        }),
    )
        .into_response();
    if let Ok(l) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, l);
    }
    if let Some(c) = cookie {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(r)
}

#[utoipa::path(
    get,
    path = "/uploads",
    operation_id = "listUploads",
    tag = "uploads",
    summary = "The visitor's uploads, newest first",
    description = "An empty list for a visitor without uploads or session.",
    responses(
        (status = 200, description = "The uploads.", body = Vec<UploadView>),
        (status = 503, response = crate::error::Unavailable),
    ),
    security((), ("session" = [])),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    v: Visitor,
) -> ApiResult<Json<Vec<UploadView>>> {
    Ok(Json(
        crate::uploads::actions::list_uploads(&state, &v).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/uploads/{id}",
    operation_id = "getUpload",
    tag = "uploads",
    summary = "One upload (poll its state)",
    description = "Any id that is not one of this visitor's uploads, or no session at all, gives 404.",
    params(
        ("id" = String, Path, description = "Upload id."),
    ),
    responses(
        (status = 200, description = "The upload.", body = UploadView),
        (status = 404, response = crate::error::NotFound),
        (status = 503, response = crate::error::Unavailable),
    ),
    security((), ("session" = [])),
)]
pub(crate) async fn one(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
) -> ApiResult<Json<UploadView>> {
    let upload = crate::uploads::actions::find_upload(&state, &v, &id).await?;
    if upload.state == storage::uploads::State::Ready
        && let Some(user) = &v.user
    {
        // The page that polls this opens the dashboard next: prepare it now.
        let ready = crate::dashboards::context::selection(&state, user, &[]).await?;
        crate::dashboards::prepare::warm(
            &state,
            user,
            ready.into_iter().map(|u| u.id.to_string()).collect(),
        );
    }
    Ok(Json(UploadView::from(&upload)))
}
#[utoipa::path(
    delete,
    path = "/uploads/{id}",
    operation_id = "deleteUpload",
    tag = "uploads",
    summary = "Delete an upload",
    description = "Deletes the upload with its file, plays and stats.",
    params(
        ("id" = String, Path, description = "Upload id."),
    ),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, response = crate::error::NotFound),
        (status = 503, response = crate::error::Unavailable),
    ),
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    crate::uploads::actions::delete_upload(&state, &v, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
