//! One error type for every handler, mapped to a status in one `match`. Pages render it as
//! HTML ([`PageError`]), the API as JSON ([`ApiError`]). 5xx bodies are generic; their cause
//! is logged once, here.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::Markup;
use serde::Serialize;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

/// What went wrong with a request.
#[derive(Debug)]
pub enum AppError {
    /// No such thing for this visitor (also: somebody else's).
    NotFound,
    /// The request needs a signed-in account.
    SignInRequired,
    /// A malformed request.
    BadRequest(String),
    /// A well-formed request the rules refuse (a weak password, a taken e-mail, a bad file).
    Invalid(String),
    /// A conflict with what is stored (an e-mail already registered).
    Conflict(String),
    /// A missing or wrong CSRF token, or a cross-site request.
    Forbidden(String),
    /// Too many attempts; try again after this many seconds.
    TooManyRequests(u64),
    /// A limit on what one visitor may consume was reached: what it is, and the seconds until
    /// it lifts when waiting helps.
    Limited {
        /// Which limit, and what to do.
        message: String,
        /// Seconds to wait, sent as `Retry-After`.
        retry_after: Option<u64>,
    },
    /// The server's disk is too full to take more.
    InsufficientStorage(String),
    /// The identity provider refuses more attempts for now (it does not say for how long).
    Throttled,
    /// The account exists at the identity provider but its e-mail address is not confirmed.
    Unconfirmed,
    /// The body is larger than allowed.
    TooLarge(String),
    /// The request took longer than its deadline (seconds).
    Timeout(u64),
    /// A dependency is down; nothing was changed.
    Unavailable(String),
    /// The identity provider cannot be reached or failed; nothing was changed.
    IdpUnavailable(String),
    /// A bug or an unexpected failure (logged, never shown).
    Internal(String),
}

impl AppError {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::SignInRequired => StatusCode::UNAUTHORIZED,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::TooManyRequests(_) | AppError::Throttled | AppError::Limited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            AppError::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
            AppError::Unconfirmed => StatusCode::FORBIDDEN,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::Unavailable(_) | AppError::IdpUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message shown to the visitor.
    pub fn message(&self) -> String {
        match self {
            AppError::NotFound => "Not found.".into(),
            AppError::SignInRequired => "Please sign in first.".into(),
            AppError::BadRequest(m)
            | AppError::Invalid(m)
            | AppError::Conflict(m)
            | AppError::Forbidden(m)
            | AppError::TooLarge(m)
            | AppError::InsufficientStorage(m)
            | AppError::Limited { message: m, .. } => m.clone(),
            AppError::TooManyRequests(secs) => format!(
                "Too many attempts with a wrong password. Try again in {} minute(s).",
                secs.div_ceil(60).max(1)
            ),
            AppError::Throttled => {
                "Too many attempts for now. Please wait a few minutes and try again.".into()
            }
            AppError::Unconfirmed => {
                "Your e-mail address is not confirmed yet: enter the code we e-mailed you, or ask for a new one.".into()
            }
            AppError::Timeout(secs) => {
                format!("The request took longer than {secs} seconds and was stopped.")
            }
            AppError::Unavailable(_) => {
                "Backspin cannot reach its storage right now; nothing was changed. Please try again in a moment.".into()
            }
            AppError::IdpUnavailable(_) => {
                "Backspin cannot reach its account service right now; nothing was changed. Please try again in a moment.".into()
            }
            AppError::Internal(_) => "Something went wrong on our side; nothing was changed.".into(),
        }
    }

    /// Logs server-side causes once and returns the status.
    fn log(&self) -> StatusCode {
        match self {
            AppError::Unavailable(cause) => tracing::warn!(%cause, "dependency unavailable"),
            AppError::IdpUnavailable(cause) => {
                tracing::warn!(%cause, "identity provider unavailable")
            }
            AppError::Internal(cause) => tracing::error!(%cause, "request failed"),
            _ => {}
        }
        self.status()
    }

    fn retry_after(&self, response: &mut Response) {
        let secs = match self {
            AppError::TooManyRequests(secs)
            | AppError::Limited {
                retry_after: Some(secs),
                ..
            } => secs,
            _ => return,
        };
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for AppError {}

impl From<engine::BadInput> for AppError {
    fn from(e: engine::BadInput) -> Self {
        AppError::BadRequest(e.0)
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => AppError::Unavailable(format!("database: {e}")),
            other => AppError::Internal(format!("database: {other}")),
        }
    }
}

/// An error rendered as JSON: `{"error": {"status": 404, "message": "Not found."}}`.
#[derive(Debug)]
pub struct ApiError(pub AppError);

/// The JSON body of an API error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(examples(json!({"error": {"status": 404, "message": "Not found."}})))]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What an API error says.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// HTTP status.
    #[schema(minimum = 100, maximum = 599)]
    pub status: u16,
    /// Human-readable message.
    pub message: String,
}

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.0.log();
        let body = ErrorBody {
            error: ErrorDetail {
                status: status.as_u16(),
                message: self.0.message(),
            },
        };
        let mut r = (status, axum::Json(body)).into_response();
        self.0.retry_after(&mut r);
        r
    }
}

/// An error rendered as an HTML page in the site's layout.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

/// What an error page said, kept on its response so that the page can be drawn again for the
/// visitor who got it (their navigation: signed in, anonymous), which the error itself does
/// not know (the `errors_know_the_visitor` layer of the sessions).
#[derive(Debug, Clone)]
pub struct ErrorPage {
    /// The status.
    pub status: StatusCode,
    /// The message shown.
    pub message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.log();
        let message = self.0.message();
        let mut r = (
            status,
            crate::ui::error_page(status, &message, &Default::default()),
        )
            .into_response();
        r.extensions_mut().insert(ErrorPage { status, message });
        self.0.retry_after(&mut r);
        r
    }
}

/// An error in the form the route's callers read: JSON under `/api/`, a page elsewhere.
pub fn error_for(path: &str, e: AppError) -> Response {
    if path.starts_with("/api/") {
        ApiError(e).into_response()
    } else {
        PageError(e).into_response()
    }
}

/// What a page handler returns.
pub type PageResult = Result<Response, PageError>;

/// What an API handler returns.
pub type ApiResult<T> = Result<T, ApiError>;

/// Re-renders a form with the message for errors the visitor can fix; others become pages.
pub fn form_error(e: AppError, render: impl FnOnce(&str) -> Markup) -> PageResult {
    match e {
        AppError::Invalid(_)
        | AppError::Conflict(_)
        | AppError::TooManyRequests(_)
        | AppError::Throttled
        | AppError::BadRequest(_) => {
            let status = e.status();
            let mut r = (status, render(&e.message())).into_response();
            if let AppError::TooManyRequests(secs) = e
                && let Ok(v) = HeaderValue::from_str(&secs.to_string())
            {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Ok(r)
        }
        other => Err(PageError(other)),
    }
}

/// The API document's shared error answers: one unit struct per answer, each an
/// `ErrorBody` with its description, listed by [`responses`] for the document's components
/// and named by the operations (`(status = 404, response = NotFound)`).
macro_rules! error_responses {
    ($($(#[$retry:ident])? $name:ident: $description:literal,)*) => {
        $(
            #[doc = $description]
            #[derive(Debug)]
            pub struct $name;

            impl<'s> utoipa::ToResponse<'s> for $name {
                fn response() -> (&'s str, RefOr<utoipa::openapi::Response>) {
                    let body = ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build();
                    #[allow(unused_mut)]
                    let mut answer = ResponseBuilder::new()
                        .description($description)
                        .content("application/json", body);
                    $(answer = answer.header("Retry-After", $retry());)?
                    (stringify!($name), answer.build().into())
                }
            }
        )*

        /// Every shared error answer, by name, for the document's components.
        pub fn responses() -> Vec<(&'static str, RefOr<utoipa::openapi::Response>)> {
            vec![$(<$name as utoipa::ToResponse>::response()),*]
        }
    };
}

/// The `Retry-After` header of a refusal that says when to try again.
fn retry_after() -> utoipa::openapi::header::Header {
    utoipa::openapi::header::HeaderBuilder::new()
        .schema(
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::Type::Integer)
                .minimum(Some(0)),
        )
        .description(Some("Seconds to wait before trying again."))
        .build()
}

error_responses! {
    BadRequest: "Bad request: a malformed parameter, a body that is not JSON, a missing required query parameter, or an action that does not apply. The message says which.",
    SignInRequired: "Sign in required (`Please sign in first.`).",
    Forbidden: "CSRF: the `X-CSRF-Token` header is missing, wrong or from an earlier session, the session cookie is missing, or the `Origin` is another site. Nothing was changed.",
    NotFound: "Not found (also somebody else's upload).",
    TooLarge: "Too large: an upload over the limit (nothing was stored), or a JSON body over 64 KiB.",
    UnsupportedMediaType: "The body was not sent as `Content-Type: application/json`.",
    Invalid: "Refused by the rules: a weak password, an invalid e-mail, a wrong password (`Wrong e-mail or password.`), an unknown time zone, a wrong or expired code, a JSON body with a missing field or a value of the wrong type. The message says which.",
    #[retry_after]
    TooManyRequests: "Too many password attempts for this account or from this address (see `Retry-After`), or, with an identity provider, too many attempts there (no `Retry-After`: wait a few minutes).",
    Unavailable: "The database, object store, queue or identity provider cannot be reached; nothing was changed. Try again.",
    #[retry_after]
    UploadLimited: "A limit on what one visitor may store or send was reached; the message names it: uploads an account (100) or a visitor without an account (5) keeps — delete one to upload another, no `Retry-After` — or uploads one client address, or one account from any address, starts per hour (30; `Retry-After` says when it may start again).",
    InsufficientStorage: "The server's disk is nearly full: it takes no new uploads for now, and nothing was stored.",
}

/// Sets of shared error answers that whole groups of operations give, for their
/// `responses(...)`: each lists statuses and the shared answer ([`responses`]) each refers to.
macro_rules! error_sets {
    ($($(#[doc = $doc:literal])* $name:ident: [$($status:literal => $answer:ident),* $(,)?],)*) => {
        $(
            $(#[doc = $doc])*
            #[derive(Debug)]
            pub struct $name;

            impl utoipa::IntoResponses for $name {
                fn responses() -> std::collections::BTreeMap<String, RefOr<utoipa::openapi::Response>> {
                    [$(($status.to_string(), RefOr::Ref(Ref::from_response_name(stringify!($answer))))),*]
                        .into_iter()
                        .collect()
                }
            }
        )*
    };
}

error_sets! {
    /// What a view of a selection may answer besides itself: a bad parameter, no session, an
    /// upload that is not the visitor's, the database away.
    ReadErrors: [400 => BadRequest, 401 => SignInRequired, 404 => NotFound, 503 => Unavailable],
    /// What an operation that reads a JSON body may answer besides itself: malformed, too
    /// large, not JSON, refused by the rules, a dependency away.
    BodyErrors: [
        400 => BadRequest,
        413 => TooLarge,
        415 => UnsupportedMediaType,
        422 => Invalid,
        503 => Unavailable,
    ],
}
