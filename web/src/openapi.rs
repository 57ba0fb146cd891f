//! The API's description, generated from the code: each operation is its handler's
//! `#[utoipa::path]`, each schema its type's `ToSchema`, and [`routes()`] registers every
//! operation with the router through `utoipa_axum::routes!`, so that a route and its
//! description are one declaration. What no handler says (the introduction, the tags, the
//! session cookie, the shared error answers, the CSRF header of every state change) is added
//! here. Served at `/api/v1/openapi.json`.

use std::sync::OnceLock;

use axum::http::header;
use axum::middleware;
use axum::response::IntoResponse;
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{Ref, RefOr, Required};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ErrorBody;
use crate::state::AppState;

/// What the handlers do not say: the title, the introduction, the tags, the default security.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Backspin",
        version = "1",
        description = include_str!("../assets/api.md"),
    ),
    tags(
        (name = "session", description = "Sessions, sign-up, sign-in and sign-out."),
        (name = "account", description = "Password, settings and account deletion."),
        (name = "uploads", description = "Export files and their ingestion."),
        (name = "stats", description = "The dashboard's numbers and the data export."),
        (name = "dashboard", description = "Every panel of the dashboards (overview, over time, hour × weekday, tops, rankings, discoveries, streaks, sessions, loops, skips, devices, countries, artists, year recaps) for any selection, range and content kind, as the pages show them."),
        (name = "ops", description = "Health, readiness and metrics for load balancers and Prometheus."),
        (name = "meta", description = "This description."),
    ),
    security(("session" = [])),
    components(schemas(ErrorBody)),
)]
struct ApiDoc;

/// The documented routes: health, readiness and metrics at the root, and the JSON API under
/// `/api/v1` (its answers turned into JSON errors by [`crate::security::json_errors`]).
/// `max_upload` is the body limit of `POST /api/v1/uploads`.
pub fn routes(max_upload: usize) -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new()
        .routes(routes!(openapi_json))
        .merge(crate::accounts::api())
        .merge(crate::settings::api())
        .merge(crate::uploads::api(max_upload))
        .merge(crate::dashboards::api())
        .layer(middleware::from_fn(crate::security::json_errors));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(crate::ops::routes())
        .nest("/api/v1", api)
}

/// The API's description.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = routes(0).into_openapi();
    let components = doc.components.get_or_insert_with(Default::default);
    components.security_schemes.insert(
        "session".into(),
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            crate::session::COOKIE,
            "The session cookie (HttpOnly). Set by the server; state changes also need the \
             `X-CSRF-Token` header.",
        ))),
    );
    components.responses.extend(
        crate::error::responses()
            .into_iter()
            .map(|(name, answer)| (name.to_string(), answer)),
    );
    for item in doc.paths.paths.values_mut() {
        for op in [&mut item.post, &mut item.put, &mut item.delete]
            .into_iter()
            .flatten()
        {
            guard_state_change(op);
        }
    }
    doc
}

/// A state change takes the `X-CSRF-Token` header and may be refused with 403, before
/// anything happens (`crate::security::csrf_guard`).
fn guard_state_change(op: &mut Operation) {
    let csrf = ParameterBuilder::new()
        .name("X-CSRF-Token")
        .parameter_in(ParameterIn::Header)
        .required(Required::True)
        .description(Some(
            "The session's CSRF token: `csrf_token` from `GET /api/v1/session`, or the newer \
             one a sign-up, sign-in, password change or first anonymous upload returned.",
        ))
        .schema(Some(
            utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::String),
        ))
        .build();
    op.parameters.get_or_insert_with(Vec::new).push(csrf);
    op.responses
        .responses
        .entry("403".into())
        .or_insert_with(|| RefOr::Ref(Ref::from_response_name("Forbidden")));
}

/// The description as served, made once.
fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        document()
            .to_pretty_json()
            .expect("the API description serialises")
    })
}

/// `GET /api/v1/openapi.json`.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "getOpenApi",
    tag = "meta",
    summary = "This API description (OpenAPI 3.1)",
    security(()),
    responses((status = 200, description = "The description.", body = Object)),
)]
async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_json(),
    )
}
