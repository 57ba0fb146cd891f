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
    for_readers(doc)
}

/// The values of the constants the types' doc comments link to (`[`TRIP_TRACKS`]`), as the
/// document states them to its readers.
fn constants() -> Vec<(&'static str, String)> {
    use engine::{anatomy, chapters, compare, moments, panels, search};
    let list = |v: &[String]| v.join(", ");
    vec![
        ("BLOCKS", list(&panels::BLOCKS.map(String::from))),
        ("DAY_TOP", moments::DAY_TOP.to_string()),
        ("ERA_DEFINING", chapters::ERA_DEFINING.to_string()),
        ("HITS_PER_KIND", search::HITS_PER_KIND.to_string()),
        ("LOOP_MIN_REPEATS", panels::LOOP_MIN_REPEATS.to_string()),
        ("LOVE_HATE_MIN", anatomy::LOVE_HATE_MIN.to_string()),
        ("MAX_QUERY_CHARS", search::MAX_QUERY_CHARS.to_string()),
        (
            "MILESTONES",
            list(&moments::MILESTONES.map(|m| m.to_string())),
        ),
        ("RANKED", compare::RANKED.to_string()),
        ("RECAP_TOP", panels::RECAP_TOP.to_string()),
        ("SESSIONS_LISTED", panels::SESSIONS_LISTED.to_string()),
        ("SITTINGS_LISTED", chapters::SITTINGS_LISTED.to_string()),
        ("SKIP_ARTISTS", panels::SKIP_ARTISTS.to_string()),
        (
            "SKIP_ARTIST_MIN_STREAMS",
            panels::SKIP_ARTIST_MIN_STREAMS.to_string(),
        ),
        ("STREAKS_LISTED", panels::STREAKS_LISTED.to_string()),
        ("TRACK_MILESTONE", moments::TRACK_MILESTONE.to_string()),
        (
            "TRACK_MILESTONES_LISTED",
            moments::TRACK_MILESTONES_LISTED.to_string(),
        ),
        ("TRIPS_LISTED", moments::TRIPS_LISTED.to_string()),
        ("TRIP_ARTISTS", moments::TRIP_ARTISTS.to_string()),
        ("TRIP_TRACKS", moments::TRIP_TRACKS.to_string()),
    ]
}

/// The descriptions come from doc comments written for Rust readers: in each, a link to a
/// constant becomes the constant's value and a link to an item its plain name (`months` for
/// [`engine::panels::Breakdown::months`]). A link to a constant not in [`constants`] stays,
/// and the document's test fails on it.
fn for_readers(doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    fn walk(v: &mut serde_json::Value, constants: &[(&str, String)]) {
        match v {
            serde_json::Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    match value {
                        serde_json::Value::String(text) if key == "description" => {
                            *text = plain(text, constants);
                        }
                        _ => walk(value, constants),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| walk(i, constants)),
            _ => {}
        }
    }
    let constants = constants();
    let mut json = serde_json::to_value(&doc).expect("the API description serialises");
    walk(&mut json, &constants);
    serde_json::from_value(json).expect("the API description reads back")
}

/// `text` with its intra-doc links (`[`NAME`]` not followed by a URL) made plain.
fn plain(text: &str, constants: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("[`") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("`]") else { break };
        let name = &after[..close];
        let tail = &after[close + 2..];
        out.push_str(&rest[..open]);
        if tail.starts_with('(') {
            out.push_str(&rest[open..open + 2 + close + 2]);
        } else if let Some((_, value)) = constants.iter().find(|(c, _)| *c == name) {
            out.push_str(value);
        } else if name.chars().any(|c| c.is_ascii_lowercase()) {
            let last = name.rsplit("::").next().unwrap_or(name);
            if last.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && name.contains("::") {
                out.push('`');
                out.push_str(last);
                out.push('`');
            } else {
                out.push_str(last);
            }
        } else {
            out.push_str(&rest[open..open + 2 + close + 2]);
        }
        rest = tail;
    }
    out.push_str(rest);
    out
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

#[cfg(test)]
mod tests {
    use super::plain;

    #[test]
    fn links_become_what_a_reader_of_the_api_understands() {
        let constants = [("TRIP_TRACKS", "5".to_string())];
        for (doc, read) in [
            ("Up to [`TRIP_TRACKS`] tracks.", "Up to 5 tracks."),
            (
                "Aligned with [`Breakdown::months`].",
                "Aligned with `months`.",
            ),
            ("A loop (see [`loops`]).", "A loop (see loops)."),
            ("As [`Stats`] has it.", "As Stats has it."),
            // An unknown constant stays, for the document's test to find; a real link stays.
            (
                "[`UNKNOWN_LIMIT`] and [`a`](https://example.com)",
                "[`UNKNOWN_LIMIT`] and [`a`](https://example.com)",
            ),
        ] {
            assert_eq!(plain(doc, &constants), read, "{doc}");
        }
    }
}
