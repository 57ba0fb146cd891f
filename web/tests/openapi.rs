//! Keeps `assets/openapi.json` (served at `/api/v1/openapi.json`) in step with the code:
//!
//! - the document is OpenAPI 3.1, every `$ref` resolves, every operation has an operationId
//!   and a 2xx answer, every state change takes the `X-CSRF-Token` header and lists 403;
//! - its operations are exactly the routes of every feature's `api()` (under the prefix
//!   `src/router.rs` nests them at) plus `ops::routes()` but static files, read from the source, so
//!   that a route added without its description fails here;
//! - each schema names a `pub struct` of `src/` with the same fields, types and nullability
//!   (`[T; N]` as an array of N items, `serde(rename)` followed), or a string enum with the
//!   values of the Rust enum of that name;
//! - the real router, over a throwaway SQLite database, answers every documented operation,
//!   and a walk through the API (session, anonymous upload, sign-up, settings, stats, export,
//!   password, the dashboards empty and then over an upload the walk ingests itself, sign-out,
//!   sign-out everywhere, the identity provider's operations (absent here), account deletion)
//!   gets only statuses, content types and bodies the document describes;
//! - what schemathesis (`scripts/api-fuzz.sh`) found the server and the document disagreeing
//!   on stays agreed: empty typed parameters, bodiless uploads, dates, sizes, `range`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const DOCUMENT: &str = include_str!("../assets/openapi.json");

/// Routes of `ops::routes()` that are not part of the API description.
const UNDOCUMENTED: &[&str] = &["/static/{file}"];

/// HTTP methods as axum's `MethodRouter` spells them.
const METHODS: &[&str] = &[
    "get", "post", "put", "delete", "patch", "head", "options", "trace", "connect",
];

fn document() -> Value {
    serde_json::from_str(DOCUMENT).expect("assets/openapi.json is JSON")
}

// ---------------------------------------------------------------------------------------------
// Reading the source.

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn source(file: &str) -> String {
    let path = src_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    code_only(&text)
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Rust source with comments removed and string literals kept, so that scans see code only.
fn code_only(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let prev_ident = i > 0 && is_ident(b[i - 1]);
        match b[i] {
            'r' if !prev_ident && matches!(b.get(i + 1), Some('#' | '"')) => {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == '#').count();
                if b.get(i + 1 + hashes) != Some(&'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                let start = i;
                i += 2 + hashes;
                while i < b.len()
                    && !(b[i] == '"'
                        && b[i + 1..]
                            .iter()
                            .take(hashes)
                            .filter(|&&c| c == '#')
                            .count()
                            == hashes)
                {
                    i += 1;
                }
                i = (i + 1 + hashes).min(b.len());
                out.extend(&b[start..i]);
            }
            '"' => {
                out.push('"');
                i += 1;
                while i < b.len() && b[i] != '"' {
                    if b[i] == '\\' {
                        out.push(b[i]);
                        i += 1;
                    }
                    if i < b.len() {
                        out.push(b[i]);
                        i += 1;
                    }
                }
                out.push('"');
                i += 1;
            }
            '\'' if b.get(i + 1) == Some(&'\\') || b.get(i + 2) == Some(&'\'') => {
                // A char literal ('"', '\''): blanked so that its quote starts no string.
                i += if b[i + 1] == '\\' { 3 } else { 2 };
                while i < b.len() && b[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push_str("' '");
            }
            '/' if b.get(i + 1) == Some(&'/') => {
                while i < b.len() && b[i] != '\n' {
                    i += 1;
                }
            }
            '/' if b.get(i + 1) == Some(&'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == '*' && b[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The text from `open` (an opening bracket) to its closing bracket, both excluded; string
/// literals are skipped.
fn balanced(code: &str, open: usize, (l, r): (char, char)) -> &str {
    let mut depth = 0;
    let mut in_str = false;
    let mut escaped = false;
    for (i, c) in code[open..].char_indices() {
        if in_str {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        if c == '"' {
            in_str = true;
        } else if c == l {
            depth += 1;
        } else if c == r {
            depth -= 1;
            if depth == 0 {
                return &code[open + l.len_utf8()..open + i];
            }
        }
    }
    panic!("unbalanced {l}{r} at byte {open}");
}

/// The argument text of every `.NAME(…)` call.
fn calls<'a>(code: &'a str, name: &str) -> Vec<&'a str> {
    let needle = format!(".{name}(");
    code.match_indices(&needle)
        .map(|(at, _)| balanced(code, at + needle.len() - 1, ('(', ')')))
        .collect()
}

/// A call's leading string literal and the text after its comma.
fn path_and_rest(args: &str) -> (String, &str) {
    let args = args.trim_start();
    assert!(args.starts_with('"'), "expected a literal path in `{args}`");
    let end = args[1..].find('"').expect("closing quote") + 1;
    let rest = args[end + 1..].trim_start();
    (
        args[1..end].to_string(),
        rest.strip_prefix(',').unwrap_or(rest),
    )
}

/// The HTTP methods a `MethodRouter` expression routes: the calls at its top level
/// (`get(a).post(b).layer(…)`, `axum::routing::delete(c)`).
fn methods(expr: &str, path: &str) -> Vec<String> {
    let chars: Vec<(usize, char)> = expr.char_indices().collect();
    let mut found = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            '"' => {
                i += 1;
                while i < chars.len() && chars[i].1 != '"' {
                    i += if chars[i].1 == '\\' { 2 } else { 1 };
                }
            }
            c if depth == 0 && is_ident(c) && (i == 0 || !is_ident(chars[i - 1].1)) => {
                let len = expr[at..]
                    .find(|c: char| !is_ident(c))
                    .unwrap_or(expr.len() - at);
                let ident = &expr[at..at + len];
                let called = expr[at + len..].trim_start().starts_with('(');
                if called && METHODS.contains(&ident) {
                    found.push(ident.to_uppercase());
                }
                assert!(
                    !(called && (ident == "any" || ident == "on" || ident.ends_with("_service"))),
                    "route {path}: `{ident}(…)` is not understood by this test; describe its methods by hand"
                );
                i += ident.chars().count();
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    assert!(
        !found.is_empty(),
        "route {path}: no method found in `{expr}`"
    );
    found
}

/// Every `(METHOD, path)` of `.route(…)` calls in `code`, paths prefixed.
fn routes_in(code: &str, prefix: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for args in calls(code, "route") {
        let (path, rest) = path_and_rest(args);
        assert!(
            !path.contains('*') && !path.contains(':'),
            "route {path}: wildcards are not understood by this test"
        );
        for m in methods(rest, &path) {
            assert!(
                out.insert((m.clone(), format!("{prefix}{path}"))),
                "{m} {path} routed twice"
            );
        }
    }
    out
}

/// The body of `pub fn NAME(` in `code`.
fn function_body<'a>(code: &'a str, name: &str) -> Option<&'a str> {
    let at = code.find(&format!("pub fn {name}("))?;
    let open = at + code[at..].find('{')?;
    Some(balanced(code, open, ('{', '}')))
}

/// Every feature folder's `mod.rs` (`src/accounts/mod.rs`, …), where its routes are.
fn features() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(src_dir())
        .expect("src")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("mod.rs").is_file())
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().to_string();
            let code = source(&format!("{name}/mod.rs"));
            (name, code)
        })
        .collect();
    out.sort();
    out
}

/// The operations the router has, read from the source: every feature's `api()` routes,
/// under the prefix `src/router.rs` nests them at, and the routes of `ops::routes()` but
/// static files.
fn routed_operations() -> BTreeSet<(String, String)> {
    let router = source("router.rs");
    let nests: Vec<(String, &str)> = calls(&router, "nest")
        .into_iter()
        .map(path_and_rest)
        .collect();
    let prefix = match nests.as_slice() {
        [(prefix, target)] if target.trim() == "api" => prefix.clone(),
        other => panic!("src/router.rs should nest the API once and nothing else; found {other:?}"),
    };
    let mut ops = BTreeSet::new();
    let mut with_api = 0;
    for (name, code) in features() {
        let Some(api) = function_body(&code, "api") else {
            continue;
        };
        with_api += 1;
        for unsupported in ["nest", "merge", "route_service", "nest_service", "fallback"] {
            assert!(
                calls(api, unsupported).is_empty(),
                "src/{name}/mod.rs: api() calls .{unsupported}(…), which this test does not follow: teach it"
            );
        }
        for op in routes_in(api, &prefix) {
            assert!(ops.insert(op.clone()), "{op:?} routed twice");
        }
    }
    assert!(with_api >= 5, "only {with_api} features route an API");
    assert_eq!(
        calls(&router, "merge")
            .iter()
            .filter(|m| m.contains("::api("))
            .count(),
        with_api,
        "src/router.rs should merge every feature's api()"
    );
    let ops_routes = function_body(&source("ops/mod.rs"), "routes")
        .expect("ops::routes")
        .to_string();
    ops.extend(
        routes_in(&ops_routes, "")
            .into_iter()
            .filter(|(_, p)| !UNDOCUMENTED.contains(&p.as_str())),
    );
    ops
}

fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (key, _) in item.as_object().expect("path item") {
            if METHODS.contains(&key.as_str()) {
                out.insert((key.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The document on its own.

/// Resolves a local `$ref` (`#/components/…`), following chains.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    let mut v = v;
    for _ in 0..16 {
        let Some(r) = v.get("$ref").and_then(Value::as_str) else {
            return v;
        };
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("non-local $ref {r}"));
        v = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("$ref {r} does not resolve"));
    }
    panic!("$ref loop");
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|v| refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_1_and_hangs_together() {
    let doc = document();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        "openapi: {}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "Backspin");
    assert_eq!(doc["info"]["version"], "1");
    let description = doc["info"]["description"]
        .as_str()
        .expect("info.description");
    for must in [
        "X-CSRF-Token",
        "csrf_token",
        "/api/v1/session",
        "bs_session",
    ] {
        assert!(
            description.contains(must),
            "info.description should explain {must}"
        );
    }

    let scheme = &doc["components"]["securitySchemes"]["session"];
    assert_eq!(scheme["type"], "apiKey");
    assert_eq!(scheme["in"], "cookie");
    assert_eq!(scheme["name"], web::session::COOKIE);
    let csrf = &doc["components"]["parameters"]["CsrfToken"];
    assert_eq!(csrf["in"], "header");
    assert_eq!(csrf["required"], true);
    let header = csrf["name"]
        .as_str()
        .expect("CSRF header name")
        .to_ascii_lowercase();
    assert!(
        source("security.rs").contains(&format!("get(\"{header}\")")),
        "src/security.rs no longer reads the {header} header"
    );

    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in &all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("non-local $ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "$ref {r} does not resolve");
    }

    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let path_params: Vec<&Value> = item["parameters"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        for (method, op) in item.as_object().expect("path item") {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let what = format!("{} {path}", method.to_uppercase());
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{what}: no operationId"));
            assert!(ids.insert(id.to_string()), "operationId {id} used twice");
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{what}: no summary"
            );
            let responses = op["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{what}: no responses"));
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{what}: no 2xx response"
            );
            let params: Vec<&Value> = path_params
                .iter()
                .copied()
                .chain(op["parameters"].as_array().into_iter().flatten())
                .map(|p| resolve(&doc, p))
                .collect();
            for name in path
                .split('{')
                .skip(1)
                .filter_map(|s| s.split_once('}'))
                .map(|(n, _)| n)
            {
                assert!(
                    params
                        .iter()
                        .any(|p| p["in"] == "path" && p["name"] == name && p["required"] == true),
                    "{what}: path parameter {name} is not declared"
                );
            }
            if matches!(method.as_str(), "post" | "put" | "delete" | "patch") {
                assert!(
                    params
                        .iter()
                        .any(|p| p["in"] == "header" && p["name"] == csrf["name"]),
                    "{what}: a state change must take the X-CSRF-Token header"
                );
                assert!(
                    responses.contains_key("403"),
                    "{what}: a state change can answer 403 (CSRF)"
                );
            }
        }
    }
}

#[test]
fn every_route_is_documented_and_every_documented_operation_is_routed() {
    let routed = routed_operations();
    for expected in [
        ("GET", "/api/v1/uploads/{id}"),
        ("DELETE", "/api/v1/account"),
        ("GET", "/healthz"),
    ] {
        assert!(
            routed.contains(&(expected.0.to_string(), expected.1.to_string())),
            "the source scan lost {expected:?}: {routed:?}"
        );
    }
    let documented = documented_operations(&document());
    let missing: Vec<_> = routed.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&routed).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "web/assets/openapi.json is out of step with the router.\n  routed but not documented: {missing:?}\n  documented but not routed: {stale:?}"
    );
}

#[test]
fn the_source_scan_reads_method_chains() {
    let code = code_only(
        r#"Router::new()
            // .route("/commented", get(x))
            .route("/a", get(a).post(b).layer(DefaultBodyLimit::max(max(1, 2))))
            .route("/b/{id}", axum::routing::delete(delete).put(put_it))
            .route(
                "/c",
                get(|| async { "post(" }),
            )"#,
    );
    let got: Vec<(String, String)> = routes_in(&code, "/x").into_iter().collect();
    let want: Vec<(String, String)> = [
        ("DELETE", "/x/b/{id}"),
        ("GET", "/x/a"),
        ("GET", "/x/c"),
        ("POST", "/x/a"),
        ("PUT", "/x/b/{id}"),
    ]
    .iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();
    assert_eq!(got, want);
}

// ---------------------------------------------------------------------------------------------
// Schemas against the structs.

#[derive(Debug, Clone, PartialEq)]
enum Shape {
    Str,
    Int {
        unsigned: bool,
    },
    Num,
    Bool,
    /// Items, whether they may be null (`[Option<T>; N]`), and the length of a fixed-size
    /// array (`[T; N]`, described with `minItems` = `maxItems` = N).
    Array {
        items: Box<Shape>,
        null_items: bool,
        len: Option<usize>,
    },
    Ref(String),
}

impl Shape {
    /// Equal, where an unsigned Rust integer only needs an integer schema with `minimum` ≥ 0
    /// (checked separately).
    fn same(&self, schema: &Shape) -> bool {
        match (self, schema) {
            (Shape::Int { .. }, Shape::Int { .. }) => true,
            (
                Shape::Array {
                    items: a,
                    null_items: na,
                    len: la,
                },
                Shape::Array {
                    items: b,
                    null_items: nb,
                    len: lb,
                },
            ) => na == nb && la == lb && a.same(b),
            (a, b) => a == b,
        }
    }

    /// Whether it holds an unsigned integer that the schema does not bound at 0.
    fn unsigned_unbounded(&self, schema: &Shape) -> bool {
        match (self, schema) {
            (Shape::Int { unsigned: true }, Shape::Int { unsigned }) => !unsigned,
            (Shape::Array { items: a, .. }, Shape::Array { items: b, .. }) => {
                a.unsigned_unbounded(b)
            }
            _ => false,
        }
    }
}

/// A Rust field type: its shape and whether it is an `Option`.
fn rust_shape(ty: &str) -> (Shape, bool) {
    let ty = ty.trim();
    if let Some(inner) = ty.strip_prefix("Option<").and_then(|t| t.strip_suffix('>')) {
        let (s, nested) = rust_shape(inner);
        assert!(!nested, "Option<Option<…>> is not understood");
        return (s, true);
    }
    if let Some(inner) = ty.strip_prefix("Vec<").and_then(|t| t.strip_suffix('>')) {
        let (s, opt) = rust_shape(inner);
        return (
            Shape::Array {
                items: Box::new(s),
                null_items: opt,
                len: None,
            },
            false,
        );
    }
    if let Some(inner) = ty.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        // `[T; N]`: the last `;` at the top level separates the length.
        let (item, len) = inner
            .rsplit_once(';')
            .unwrap_or_else(|| panic!("slice type {ty} is not understood by this test"));
        let len: usize = len
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("array length in {ty} is not a literal"));
        let (s, opt) = rust_shape(item);
        return (
            Shape::Array {
                items: Box::new(s),
                null_items: opt,
                len: Some(len),
            },
            false,
        );
    }
    let bare = ty.trim_start_matches('&').trim();
    let bare = match bare.strip_prefix('\'') {
        Some(rest) => rest.split_once(' ').map_or(rest, |(_, t)| t).trim(),
        None => bare,
    };
    let shape = match bare {
        "String" | "str" | "Password" => Shape::Str,
        "bool" => Shape::Bool,
        "u8" | "u16" | "u32" | "u64" | "usize" => Shape::Int { unsigned: true },
        "i8" | "i16" | "i32" | "i64" | "isize" => Shape::Int { unsigned: false },
        "f32" | "f64" => Shape::Num,
        other => {
            let name = other.rsplit("::").next().unwrap_or(other);
            assert!(
                name.chars().all(is_ident) && name.starts_with(|c: char| c.is_ascii_uppercase()),
                "field type {ty} is not understood by this test"
            );
            Shape::Ref(name.to_string())
        }
    };
    (shape, false)
}

/// A property schema: its shape and whether it admits null.
fn schema_shape(s: &Value, what: &str) -> (Shape, bool) {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        return (
            Shape::Ref(r.rsplit('/').next().unwrap_or(r).to_string()),
            false,
        );
    }
    if let Some(any) = s.get("anyOf").and_then(Value::as_array) {
        let null = |v: &&Value| v.get("type") == Some(&json!("null"));
        let others: Vec<&Value> = any.iter().filter(|v| !null(v)).collect();
        assert_eq!(
            others.len(),
            1,
            "{what}: anyOf should be one schema or null"
        );
        let (shape, inner_null) = schema_shape(others[0], what);
        return (shape, inner_null || any.iter().any(|v| null(&v)));
    }
    let types: Vec<&str> = match &s["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        other => panic!("{what}: no type ({other})"),
    };
    let nullable = types.contains(&"null");
    let types: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
    let shape = match types.as_slice() {
        ["string"] => Shape::Str,
        ["boolean"] => Shape::Bool,
        ["integer"] => Shape::Int {
            unsigned: s["minimum"].as_i64().is_some_and(|m| m >= 0),
        },
        ["number"] => Shape::Num,
        ["array"] => {
            let (items, null_items) = schema_shape(&s["items"], what);
            let len = match (s["minItems"].as_u64(), s["maxItems"].as_u64()) {
                (Some(a), Some(b)) if a == b => Some(a as usize),
                _ => None,
            };
            Shape::Array {
                items: Box::new(items),
                null_items,
                len,
            }
        }
        other => panic!("{what}: type {other:?} is not understood by this test"),
    };
    (shape, nullable)
}

/// The values of the Rust enums that schemas describe as string enums (`serde` names), every
/// variant listed: a new variant is a compile error here until its value is added.
fn rust_enum(name: &str) -> Option<Vec<Value>> {
    use schema::EntityKind as K;
    match name {
        "EntityKind" => {
            let all = [
                K::Artist,
                K::Track,
                K::Album,
                K::Show,
                K::Episode,
                K::Audiobook,
            ];
            for k in all {
                match k {
                    K::Artist | K::Track | K::Album | K::Show | K::Episode | K::Audiobook => {}
                }
            }
            Some(
                all.iter()
                    .map(|k| serde_json::to_value(k).expect("serialises"))
                    .collect(),
            )
        }
        "HiddenKind" => {
            use engine::selection::HiddenKind as H;
            let all = [H::Artist, H::Show, H::Track];
            for k in all {
                match k {
                    H::Artist | H::Show | H::Track => {}
                }
            }
            Some(
                all.iter()
                    .map(|k| serde_json::to_value(k).expect("serialises"))
                    .collect(),
            )
        }
        _ => None,
    }
}

#[derive(Debug)]
struct Field {
    name: String,
    ty: String,
    attrs: String,
}

#[derive(Debug)]
struct RustStruct {
    file: String,
    serialize: bool,
    fields: Vec<Field>,
}

/// Finds `pub struct NAME { … }` in `src/*.rs` and the dashboard engine's (`engine/src`,
/// where the view models the API returns are computed).
fn find_struct(name: &str) -> RustStruct {
    let engine = Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/src");
    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("a source folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    rust_files(&engine, &mut files);
    files.sort();
    let needle = format!("pub struct {name}");
    let mut found = Vec::new();
    for path in files {
        let file = path
            .strip_prefix(src_dir())
            .or_else(|_| path.strip_prefix(&engine))
            .unwrap_or(&path)
            .to_string_lossy()
            .to_string();
        let code = code_only(
            &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        );
        for (at, _) in code.match_indices(&needle) {
            if code[at + needle.len()..].starts_with(is_ident) {
                continue;
            }
            let item_start = code[..at].rfind(['}', ';']).map_or(0, |i| i + 1);
            let derives: BTreeSet<&str> = code[item_start..at]
                .match_indices("derive(")
                .flat_map(|(d, _)| {
                    balanced(&code[item_start..at], d + "derive".len(), ('(', ')'))
                        .split(|c: char| !is_ident(c))
                })
                .collect();
            let open = at
                + code[at..]
                    .find('{')
                    .unwrap_or_else(|| panic!("{file}: {name} has no fields"));
            let body = balanced(&code, open, ('{', '}'));
            found.push(RustStruct {
                file: file.clone(),
                serialize: derives.contains("Serialize"),
                fields: fields(body),
            });
            assert!(
                derives.contains("Serialize") || derives.contains("Deserialize"),
                "{file}: {name} is neither Serialize nor Deserialize"
            );
        }
    }
    assert_eq!(
        found.len(),
        1,
        "expected one `pub struct {name}` in src/, found {}",
        found.len()
    );
    found.pop().expect("one")
}

fn fields(body: &str) -> Vec<Field> {
    let mut out = Vec::new();
    let mut attrs = String::new();
    let mut rest = body.trim_start();
    while !rest.is_empty() {
        if rest.starts_with("#[") {
            let attr = balanced(rest, 1, ('[', ']'));
            attrs.push_str(attr);
            attrs.push(' ');
            rest = rest[attr.len() + 3..].trim_start();
            continue;
        }
        let mut depth = 0;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '<' | '(' | '[' => depth += 1,
                    '>' | ')' | ']' => depth -= 1,
                    _ => {}
                }
                c == ',' && depth == 0
            })
            .map_or(rest.len(), |(i, _)| i);
        let (decl, ty) = rest[..end]
            .split_once(':')
            .unwrap_or_else(|| panic!("field `{}`", &rest[..end]));
        let name = decl
            .split_whitespace()
            .last()
            .expect("field name")
            .to_string();
        out.push(Field {
            name,
            ty: ty.trim().to_string(),
            attrs: std::mem::take(&mut attrs),
        });
        rest = rest[(end + 1).min(rest.len())..].trim_start();
    }
    out
}

#[test]
fn every_schema_matches_its_struct_field_for_field() {
    let doc = document();
    let schemas = doc["components"]["schemas"]
        .as_object()
        .expect("components.schemas");
    assert!(schemas.len() >= 18, "{} schemas", schemas.len());
    for (name, schema) in schemas {
        if let Some(values) = schema.get("enum") {
            // A Rust enum of unit variants, sent as strings.
            let rust = rust_enum(name).unwrap_or_else(|| {
                panic!("{name}: an enum schema this test cannot check; add it to rust_enum")
            });
            assert_eq!(schema["type"], "string", "{name}");
            assert_eq!(
                values,
                &Value::Array(rust),
                "{name}: the values vs the Rust enum"
            );
            continue;
        }
        let s = find_struct(name);
        let what = |f: &str| format!("{name}.{f} (src/{})", s.file);
        assert_eq!(schema["type"], "object", "{name}");
        let props = schema["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: no properties"));
        let required: BTreeSet<&str> = schema["required"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut seen = BTreeSet::new();
        for f in &s.fields {
            for unsupported in ["rename(", "rename_all", "flatten", "alias"] {
                assert!(
                    !f.attrs.contains(unsupported),
                    "{}: serde({unsupported}…) is not understood by this test",
                    what(&f.name)
                );
            }
            if f.attrs.contains("serde(skip)") || f.attrs.contains("skip,") {
                continue;
            }
            // `#[serde(rename = "x")]`: the property is `x`.
            let key = match f.attrs.split_once("rename") {
                Some((_, rest)) => {
                    let rest = rest.trim_start().strip_prefix('=').unwrap_or_else(|| {
                        panic!("{}: a rename this test does not read", what(&f.name))
                    });
                    let rest = rest.trim_start().strip_prefix('"').expect("a quoted name");
                    &rest[..rest.find('"').expect("closing quote")]
                }
                None => f.name.as_str(),
            };
            seen.insert(key);
            let prop = props
                .get(key)
                .unwrap_or_else(|| panic!("{}: the field is not in the schema", what(key)));
            let (rust, option) = rust_shape(&f.ty);
            let (described, nullable) = schema_shape(prop, &what(&f.name));
            assert!(
                rust.same(&described),
                "{}: {} is described as {described:?}",
                what(&f.name),
                f.ty
            );
            assert!(
                !rust.unsigned_unbounded(&described),
                "{}: {} needs minimum 0",
                what(&f.name),
                f.ty
            );
            let skipped_when_none = f.attrs.contains("skip_serializing_if");
            let is_required = required.contains(key);
            if s.serialize {
                // What the server sends: every field but the skipped ones, `None` as null.
                assert_eq!(
                    is_required,
                    !skipped_when_none,
                    "{}: required should be {}",
                    what(&f.name),
                    !skipped_when_none
                );
                assert_eq!(
                    nullable,
                    option && !skipped_when_none,
                    "{}: null should be allowed iff it is an Option sent as null",
                    what(&f.name)
                );
            } else {
                // What the server reads: `Option` and `#[serde(default)]` fields may be left out.
                let optional = option || f.attrs.contains("default");
                assert_eq!(
                    is_required,
                    !optional,
                    "{}: required should be {}",
                    what(&f.name),
                    !optional
                );
                assert_eq!(
                    nullable,
                    option,
                    "{}: null should be allowed iff it is an Option",
                    what(&f.name)
                );
            }
        }
        let extra: Vec<&String> = props
            .keys()
            .filter(|k| !seen.contains(k.as_str()))
            .collect();
        assert!(
            extra.is_empty(),
            "{name}: properties {extra:?} are not fields of the struct in src/{}",
            s.file
        );
        let stray: Vec<&&str> = required.iter().filter(|k| !seen.contains(**k)).collect();
        assert!(
            stray.is_empty(),
            "{name}: required {stray:?} are not fields"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The real router against the document.

/// Checks `value` against `schema`, strictly: objects may hold only their listed properties.
fn validate(doc: &Value, value: &Value, schema: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array) {
        return if any.iter().any(|s| validate(doc, value, s, at).is_ok()) {
            Ok(())
        } else {
            Err(format!("{at}: {value} matches no anyOf branch"))
        };
    }
    if let Some(c) = schema.get("const")
        && c != value
    {
        return Err(format!("{at}: {value} is not {c}"));
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array)
        && !e.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {e:?}"));
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => return Err(format!("{at}: bad type {t}")),
        };
        let ok = types.iter().any(|t| match *t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        });
        if !ok {
            return Err(format!("{at}: {value} is not {types:?}"));
        }
    }
    if let (Some(min), Some(n)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) && n < min
    {
        return Err(format!("{at}: {n} is below {min}"));
    }
    if let (Some(max), Some(n)) = (
        schema.get("maximum").and_then(Value::as_f64),
        value.as_f64(),
    ) && n > max
    {
        return Err(format!("{at}: {n} is above {max}"));
    }
    if let Value::Object(map) = value
        && let Some(props) = schema.get("properties").and_then(Value::as_object)
    {
        for r in schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !map.contains_key(r) {
                return Err(format!("{at}: required {r} is missing"));
            }
        }
        for (k, v) in map {
            let s = props
                .get(k)
                .ok_or_else(|| format!("{at}: {k} is not described"))?;
            validate(doc, v, s, &format!("{at}.{k}"))?;
        }
    }
    if let Value::Array(items) = value {
        let n = items.len() as u64;
        if schema
            .get("minItems")
            .and_then(Value::as_u64)
            .is_some_and(|m| n < m)
            || schema
                .get("maxItems")
                .and_then(Value::as_u64)
                .is_some_and(|m| n > m)
        {
            return Err(format!("{at}: {n} items, outside minItems/maxItems"));
        }
    }
    if let (Value::Array(items), Some(s)) = (value, schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            validate(doc, v, s, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A script's view of the API: one router, a cookie jar of one cookie, the document.
struct Client {
    app: Router,
    doc: Value,
    cookie: Option<String>,
    csrf: Option<String>,
    /// What a worker works with (no worker runs: the walk ingests by hand).
    deps: ingest_worker::Deps,
    _data: tempfile::TempDir,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("cookie", &self.cookie)
            .finish()
    }
}

impl Client {
    async fn new() -> Client {
        let data = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite://{}", data.path().join("backspin.db").display());
        let db = storage::Db::connect(&url).await.expect("sqlite");
        db.migrate().await.expect("migrations");
        let settings = queue_config::QueueSettings::DEFAULT;
        let deps = ingest_worker::Deps {
            queue: Arc::new(storage::queue::TableQueue::new(
                db.clone(),
                "ingest",
                settings.max_receives,
            )),
            store: Arc::new(
                storage::objects::LocalDir::new(data.path().join("objects")).expect("object store"),
            ),
            notifier: Arc::new(ingest_worker::notify::LogNotifier),
            db,
            settings,
            limits: schema::Limits::default(),
            max_upload_bytes: 1 << 30,
            after_change: Default::default(),
        };
        let mut config = web::Config::with_secret(vec![42; 32]);
        config.argon2 = web::state::config::HashParams {
            memory_kib: 8,
            iterations: 1,
            parallelism: 1,
        };
        let state = web::AppState::new(
            deps.clone(),
            config,
            ingest_worker::pool::PoolStatus::default(),
        );
        Client {
            app: web::router(state),
            doc: document(),
            cookie: None,
            csrf: None,
            deps,
            _data: data,
        }
    }

    /// Sends a request (with the cookie, and the CSRF header when `csrf`), keeps a new cookie,
    /// and checks the answer against the document's description of `template`.
    async fn send(
        &mut self,
        method: &str,
        uri: &str,
        template: &str,
        csrf: bool,
        body: Option<(&str, Vec<u8>)>,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(c) = &self.cookie {
            req = req.header(header::COOKIE, format!("{}={c}", web::session::COOKIE));
        }
        if csrf {
            req = req.header("X-CSRF-Token", self.csrf.clone().expect("a CSRF token"));
        }
        let req = match body {
            Some((ctype, bytes)) => {
                if !ctype.is_empty() {
                    req = req.header(header::CONTENT_TYPE, ctype);
                }
                req.body(Body::from(bytes))
            }
            None => req.body(Body::empty()),
        }
        .expect("request");
        let r = self.app.clone().oneshot(req).await.expect("infallible");
        let (parts, body) = r.into_parts();
        let a = Answer {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.expect("body").to_bytes().to_vec(),
        };
        let prefix = format!("{}=", web::session::COOKIE);
        for v in a.headers.get_all(header::SET_COOKIE) {
            let v = v.to_str().expect("ASCII cookie");
            if let Some(rest) = v.strip_prefix(&prefix) {
                self.cookie = Some(rest.split(';').next().unwrap_or("").to_string());
            }
        }
        self.check(method, template, &a);
        a
    }

    fn check(&self, method: &str, template: &str, a: &Answer) {
        let what = format!("{method} {template}");
        let op = &self.doc["paths"][template][method.to_lowercase()];
        assert!(op.is_object(), "{what} is not documented");
        let status = a.status.as_u16().to_string();
        let described = resolve(&self.doc, &op["responses"][&status]);
        assert!(
            described.is_object(),
            "{what} answered {status}, which the document does not list for it: {}",
            a.text()
        );
        let ctype = a
            .header(header::CONTENT_TYPE)
            .map(|c| c.split(';').next().unwrap_or("").trim().to_string());
        match (described.get("content").and_then(Value::as_object), ctype) {
            (None, None) => assert!(
                a.body.is_empty(),
                "{what} {status}: a body the document does not describe"
            ),
            (None, Some(c)) => panic!("{what} {status}: {c} body, the document describes none"),
            (Some(_), None) => panic!("{what} {status}: no Content-Type"),
            (Some(content), Some(c)) => {
                let media = content.get(&c).unwrap_or_else(|| {
                    panic!("{what} {status}: {c} is not among {:?}", content.keys())
                });
                if c == "application/json" {
                    validate(
                        &self.doc,
                        &a.json(),
                        &media["schema"],
                        &format!("{what} {status}"),
                    )
                    .unwrap_or_else(|e| panic!("{e}"));
                }
            }
        }
    }

    async fn get(&mut self, uri: &str, template: &str) -> Answer {
        self.send("GET", uri, template, false, None).await
    }

    async fn change(
        &mut self,
        method: &str,
        uri: &str,
        template: &str,
        body: Option<Value>,
    ) -> Answer {
        let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
        self.send(method, uri, template, true, body).await
    }

    /// Takes the `csrf_token` of an answer as the token to send.
    fn take_token(&mut self, a: &Answer) {
        self.csrf = Some(
            a.json()["csrf_token"]
                .as_str()
                .expect("csrf_token")
                .to_string(),
        );
    }
}

/// `s` for a query string.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn the_router_answers_as_documented() {
    let mut c = Client::new().await;

    // The document itself.
    let a = c.get("/api/v1/openapi.json", "/api/v1/openapi.json").await;
    assert_eq!(a.text(), DOCUMENT, "the served document is the asset");

    // A first visit: a cookie and a token; a change without the token is refused.
    let a = c.get("/api/v1/session", "/api/v1/session").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        c.cookie.is_some(),
        "the first answer sets the session cookie"
    );
    c.take_token(&a);
    let a = c
        .send(
            "POST",
            "/api/v1/uploads?name=x.json",
            "/api/v1/uploads",
            false,
            Some(("application/octet-stream", b"[]".to_vec())),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = c
        .send(
            "POST",
            "/api/v1/uploads",
            "/api/v1/uploads",
            true,
            Some(("", b"[]".to_vec())),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "no name: {}", a.text());

    // An anonymous upload starts a session: new cookie, new token, the old one is dead.
    let before = (c.cookie.clone(), c.csrf.clone());
    let a = c
        .send(
            "POST",
            "/api/v1/uploads?name=Streaming_History_Audio_2023.json",
            "/api/v1/uploads",
            true,
            Some(("application/octet-stream", b"[]".to_vec())),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    let id = a.json()["upload"]["id"].as_str().expect("id").to_string();
    assert_eq!(
        a.header(header::LOCATION),
        Some(format!("/api/v1/uploads/{id}").as_str())
    );
    assert_ne!(c.cookie, before.0, "the anonymous session has a new cookie");
    c.take_token(&a);
    assert_ne!(c.csrf, before.1);
    let new = c.csrf.replace(before.1.expect("old token"));
    let tz = json!({"tz": "Europe/Berlin", "min_play_seconds": 30});
    let a = c
        .change(
            "PUT",
            "/api/v1/settings",
            "/api/v1/settings",
            Some(tz.clone()),
        )
        .await;
    assert_eq!(
        a.status,
        StatusCode::FORBIDDEN,
        "the token of the previous session"
    );
    c.csrf = new;

    let a = c.get("/api/v1/uploads", "/api/v1/uploads").await;
    assert_eq!(a.json().as_array().map(Vec::len), Some(1));
    let a = c
        .get(&format!("/api/v1/uploads/{id}"), "/api/v1/uploads/{id}")
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        c.get("/api/v1/uploads/nope", "/api/v1/uploads/{id}")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The local directory issues no presigned forms: direct uploads are 404 here (the AWS
    // tests walk the 201 answer against S3 on moto).
    let a = c
        .change(
            "POST",
            "/api/v1/uploads/direct",
            "/api/v1/uploads/direct",
            Some(serde_json::json!({"name": "a.zip", "size": 10})),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(
        c.get("/api/v1/settings", "/api/v1/settings").await.status,
        StatusCode::OK
    );
    let a = c
        .change("PUT", "/api/v1/settings", "/api/v1/settings", Some(tz))
        .await;
    assert_eq!(a.json()["tz"], "Europe/Berlin");
    let a = c
        .change(
            "PUT",
            "/api/v1/settings",
            "/api/v1/settings",
            Some(json!({"tz": "Mars/Olympus", "min_play_seconds": 30})),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = c
        .get(
            "/api/v1/stats?from=2024-01-01&to=2024-12-31",
            "/api/v1/stats",
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["from"], "2024-01-01");
    assert_eq!(
        c.get("/api/v1/stats?from=2024-02-30", "/api/v1/stats")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        c.get("/api/v1/stats?uploads=nope", "/api/v1/stats")
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Sign-up: malformed bodies are refused, then a new session and a new token.
    let creds = json!({"email": "Script@Example.com", "password": "a long enough passphrase"});
    let a = c
        .send(
            "POST",
            "/api/v1/signup",
            "/api/v1/signup",
            true,
            Some(("", creds.to_string().into_bytes())),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let a = c
        .change(
            "POST",
            "/api/v1/signup",
            "/api/v1/signup",
            Some(json!({"email": "x@example.com"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = c
        .change(
            "POST",
            "/api/v1/signup",
            "/api/v1/signup",
            Some(json!({"email": "x@example.com", "password": "password"})),
        )
        .await;
    assert_eq!(
        a.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a common password"
    );
    let old = c.csrf.clone();
    let a = c
        .change(
            "POST",
            "/api/v1/signup",
            "/api/v1/signup",
            Some(creds.clone()),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    assert_eq!(a.json()["email"], "script@example.com");
    c.take_token(&a);
    assert_ne!(c.csrf, old, "sign-up returns a new token");
    let a = c.get("/api/v1/session", "/api/v1/session").await;
    assert_eq!(a.json()["signed_in"], true);
    c.take_token(&a);
    let a = c
        .change(
            "POST",
            "/api/v1/signup",
            "/api/v1/signup",
            Some(creds.clone()),
        )
        .await;
    assert_eq!(
        a.status,
        StatusCode::BAD_REQUEST,
        "already signed in (and the session's token works)"
    );

    // Export, both formats; the CSV columns are the JSON fields.
    let a = c.get("/api/v1/export", "/api/v1/export").await;
    assert_eq!(a.json(), json!([]));
    let a = c.get("/api/v1/export?format=csv", "/api/v1/export").await;
    let columns: Vec<String> = find_struct("ExportedPlay")
        .fields
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(
        a.text().lines().next(),
        Some(columns.join(",").as_str()),
        "CSV header vs ExportedPlay's fields"
    );
    assert_eq!(
        c.get("/api/v1/export?format=xml", "/api/v1/export")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );

    // Password change: a new session and token again.
    let a = c
        .change(
            "POST",
            "/api/v1/password",
            "/api/v1/password",
            Some(json!({"current_password": "wrong", "new_password": "x"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = c
        .change(
            "POST",
            "/api/v1/password",
            "/api/v1/password",
            Some(json!({"current_password": "a long enough passphrase", "new_password": "another long passphrase"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    c.take_token(&a);

    // The dashboards. Without a ready upload: 200 and empty panels.
    let a = c.get("/api/v1/dashboard", "/api/v1/dashboard").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json()["overview"]["total"]["streams"], 0);
    assert_eq!(a.json()["meta"]["uploads"], json!([]));
    let a = c
        .get(
            "/api/v1/dashboard/ranking?kind=tracks",
            "/api/v1/dashboard/ranking",
        )
        .await;
    assert_eq!(
        (a.json()["pages"].clone(), a.json()["page"].clone()),
        (json!(0), json!(1))
    );
    let a = c
        .get(
            "/api/v1/dashboard/recap/2023",
            "/api/v1/dashboard/recap/{year}",
        )
        .await;
    assert_eq!(a.json()["total"]["streams"], 0);
    // An ingested export (every kind of content), ingested here as a worker would.
    let export = synth::generate(&synth::Options {
        plays: 1_500,
        seed: 5,
        first_year: 2022,
        last_year: 2024,
        ..synth::Options::default()
    });
    let (path, bytes) = export
        .files
        .iter()
        .find(|(n, _)| n.contains("Streaming_History_Audio"))
        .expect("an audio file");
    let name = path.rsplit('/').next().expect("a file name");
    let a = c
        .send(
            "POST",
            &format!("/api/v1/uploads?name={name}"),
            "/api/v1/uploads",
            true,
            Some(("application/octet-stream", bytes.clone())),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text());
    let ready = storage::ids::UploadId::stored(a.json()["upload"]["id"].as_str().expect("id"));
    let stored = storage::uploads::by_id(&c.deps.db, &ready)
        .await
        .expect("read upload")
        .expect("the upload");
    ingest_worker::process::ingest_key(&c.deps, &stored.object_key)
        .await
        .unwrap_or_else(|e| panic!("ingest: {e:?}"));
    let a = c.get("/api/v1/dashboard", "/api/v1/dashboard").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let board = a.json();
    assert_eq!(board["meta"]["uploads"], json!([ready]));
    assert!(
        board["overview"]["total"]["streams"].as_u64() > Some(1_000),
        "{}",
        board["overview"]
    );
    for panel in ["artists", "tracks", "albums", "shows", "episodes"] {
        assert!(
            board["tops"][panel]
                .as_array()
                .is_some_and(|l| !l.is_empty()),
            "tops.{panel} is empty: the walk checks no entry against the document"
        );
    }
    let top = board["tops"]["artists"][0]["name"]
        .as_str()
        .expect("a top artist")
        .to_string();
    let year = board["meta"]["years"][1].as_i64().expect("a second year");
    for (uri, template) in [
        (
            format!("/api/v1/dashboard?u={ready}&u={id}&range=year&content=music&by=plays"),
            "/api/v1/dashboard",
        ),
        (
            format!(
                "/api/v1/dashboard?uploads={ready}&range=custom&from={year}-03-01&to={year}-05-31&gap=5"
            ),
            "/api/v1/dashboard",
        ),
        (
            "/api/v1/dashboard?range=4w&content=podcasts".to_string(),
            "/api/v1/dashboard",
        ),
        (
            "/api/v1/dashboard/ranking?kind=artists&by=plays&page=2".to_string(),
            "/api/v1/dashboard/ranking",
        ),
        (
            "/api/v1/dashboard/ranking?kind=episodes&page=999".to_string(),
            "/api/v1/dashboard/ranking",
        ),
        (
            "/api/v1/dashboard/ranking?kind=audiobooks&range=6m".to_string(),
            "/api/v1/dashboard/ranking",
        ),
        (
            format!(
                "/api/v1/dashboard/artist?name={}&range={year}",
                urlencode(&top)
            ),
            "/api/v1/dashboard/artist",
        ),
        (
            format!("/api/v1/dashboard/recap/{year}"),
            "/api/v1/dashboard/recap/{year}",
        ),
        (
            format!("/api/v1/dashboard/recap/{}?content=podcasts", year - 1),
            "/api/v1/dashboard/recap/{year}",
        ),
    ] {
        let a = c.get(&uri, template).await;
        assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.text());
    }
    for (uri, template, status) in [
        (
            "/api/v1/dashboard?range=fortnight",
            "/api/v1/dashboard",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/dashboard?gap=0",
            "/api/v1/dashboard",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/dashboard?uploads=nope",
            "/api/v1/dashboard",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/dashboard/ranking?page=two",
            "/api/v1/dashboard/ranking",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/dashboard/artist?name=Nobody%20At%20All",
            "/api/v1/dashboard/artist",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/dashboard/artist",
            "/api/v1/dashboard/artist",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/dashboard/recap/1800",
            "/api/v1/dashboard/recap/{year}",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/dashboard/recap/last",
            "/api/v1/dashboard/recap/{year}",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let a = c.get(uri, template).await;
        assert_eq!(a.status, status, "{uri}: {}", a.text());
    }

    // Delete the upload, sign out, sign in, delete the account.
    let uri = format!("/api/v1/uploads/{id}");
    assert_eq!(
        c.change("DELETE", &uri, "/api/v1/uploads/{id}", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.change("DELETE", &uri, "/api/v1/uploads/{id}", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.change("POST", "/api/v1/signout", "/api/v1/signout", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let a = c.get("/api/v1/session", "/api/v1/session").await;
    assert_eq!(a.json()["signed_in"], false);
    c.take_token(&a);
    let wrong = json!({"email": "script@example.com", "password": "not the passphrase"});
    let a = c
        .change("POST", "/api/v1/signin", "/api/v1/signin", Some(wrong))
        .await;
    assert_eq!(a.json()["error"]["message"], "Wrong e-mail or password.");
    let right = json!({"email": "script@example.com", "password": "another long passphrase"});
    let a = c
        .change(
            "POST",
            "/api/v1/signin",
            "/api/v1/signin",
            Some(right.clone()),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    c.take_token(&a);

    // Accounts are local here: the identity provider's operations do not exist.
    for (path, body) in [
        (
            "/api/v1/signup/confirm",
            json!({"email": "script@example.com", "code": "123456"}),
        ),
        (
            "/api/v1/signup/resend",
            json!({"email": "script@example.com"}),
        ),
        (
            "/api/v1/password/forgot",
            json!({"email": "script@example.com"}),
        ),
        (
            "/api/v1/password/reset",
            json!({"email": "script@example.com", "code": "123456", "new_password": "a third long passphrase"}),
        ),
    ] {
        let a = c.change("POST", path, path, Some(body)).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}: {}", a.text());
    }

    // Signing out everywhere ends this session too; then sign in again.
    let a = c
        .change(
            "POST",
            "/api/v1/signout/everywhere",
            "/api/v1/signout/everywhere",
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text());
    let a = c.get("/api/v1/session", "/api/v1/session").await;
    assert_eq!(a.json()["signed_in"], false);
    c.take_token(&a);
    let a = c
        .change(
            "POST",
            "/api/v1/signout/everywhere",
            "/api/v1/signout/everywhere",
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.text());
    let a = c
        .change("POST", "/api/v1/signin", "/api/v1/signin", Some(right))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    c.take_token(&a);
    let a = c
        .change(
            "DELETE",
            "/api/v1/account",
            "/api/v1/account",
            Some(json!({"password": "another long passphrase"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text());
    assert_eq!(
        c.get("/api/v1/settings", "/api/v1/settings").await.status,
        StatusCode::UNAUTHORIZED
    );

    // Operations.
    assert_eq!(c.get("/healthz", "/healthz").await.text(), "ok\n");
    assert_eq!(c.get("/readyz", "/readyz").await.json()["ready"], true);

    // Every documented operation, bare (no cookie): each reaches its route, and every answer
    // the router counted in this test is one the document lists for that operation.
    c.cookie = None;
    let doc = c.doc.clone();
    for (method, path) in documented_operations(&doc) {
        let uri = path
            .replace("{id}", "0123456789abcdef")
            .replace("{year}", "2024");
        let a = c.send(&method, &uri, &path, false, None).await;
        assert_ne!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        // Served without a session: the document must say the session is optional there
        // (schemathesis's `ignored_auth` check holds it to that).
        if !matches!(a.status.as_u16(), 401 | 403) {
            let op = &doc["paths"][&path][method.to_lowercase()];
            let security = op.get("security").unwrap_or(&doc["security"]);
            let optional = security.as_array().is_some_and(|s| {
                s.is_empty()
                    || s.iter()
                        .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
            });
            assert!(
                optional,
                "{method} {path} answers {} without a session, but its security requires one",
                a.status
            );
        }
        c.cookie = None;
    }
    let metrics = c.get("/metrics", "/metrics").await.text();
    let mut counted: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for line in metrics
        .lines()
        .filter(|l| l.starts_with("backspin_http_requests_total{"))
    {
        let labels: BTreeMap<&str, &str> = line
            ["backspin_http_requests_total{".len()..line.rfind('}').expect("}")]
            .split("\",")
            .filter_map(|kv| kv.split_once("=\""))
            .map(|(k, v)| (k, v.trim_end_matches('"')))
            .collect();
        counted
            .entry((labels["method"].to_string(), labels["route"].to_string()))
            .or_default()
            .insert(labels["status"].to_string());
    }
    for (method, path) in documented_operations(&doc) {
        let statuses = counted
            .get(&(method.clone(), path.clone()))
            .unwrap_or_else(|| panic!("{method} {path} never reached its route: {counted:?}"));
        let listed = doc["paths"][&path][method.to_lowercase()]["responses"]
            .as_object()
            .expect("responses");
        for s in statuses {
            assert!(
                listed.contains_key(s),
                "{method} {path} answered {s}, which the document does not list"
            );
        }
    }
    let unmatched: Vec<_> = counted
        .keys()
        .filter(|(_, route)| route == "unmatched")
        .collect();
    assert!(
        unmatched.is_empty(),
        "requests that reached no route: {unmatched:?}"
    );
}

/// A client with a session: its cookie and its CSRF token.
async fn visitor() -> Client {
    let mut c = Client::new().await;
    let a = c.get("/api/v1/session", "/api/v1/session").await;
    c.take_token(&a);
    c
}

/// A signed-in client.
async fn account() -> Client {
    let mut c = visitor().await;
    let creds = json!({"email": "fuzz@example.com", "password": "a long enough passphrase"});
    let a = c
        .change("POST", "/api/v1/signup", "/api/v1/signup", Some(creds))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    c.take_token(&a);
    c
}

#[tokio::test]
async fn a_direct_upload_with_a_malformed_body_gets_a_documented_error() {
    let mut c = visitor().await;
    // `send` fails on any answer the document does not list for the operation.
    let a = c
        .send(
            "POST",
            "/api/v1/uploads/direct",
            "/api/v1/uploads/direct",
            true,
            Some(("text/plain", br#"{"name": "a.zip", "size": 10}"#.to_vec())),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", a.text());
    let a = c
        .change(
            "POST",
            "/api/v1/uploads/direct",
            "/api/v1/uploads/direct",
            Some(json!({"name": "a.zip"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text());
    assert!(
        a.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("size"))
    );
    // JSON Schema's integers: `1e14` and `10.0` are sizes too, and one past u64 is over the
    // limit rather than malformed (the local store has no direct uploads: 404 once parsed).
    for size in ["100000000000000.0", "1e3", "1e30", "18446744073709551616"] {
        let body = format!(r#"{{"name": "a.zip", "size": {size}}}"#).into_bytes();
        let a = c
            .send(
                "POST",
                "/api/v1/uploads/direct",
                "/api/v1/uploads/direct",
                true,
                Some(("application/json", body)),
            )
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{size}: {}", a.text());
    }
    for size in ["-1", "1.5"] {
        let body = format!(r#"{{"name": "a.zip", "size": {size}}}"#).into_bytes();
        let a = c
            .send(
                "POST",
                "/api/v1/uploads/direct",
                "/api/v1/uploads/direct",
                true,
                Some(("application/json", body)),
            )
            .await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{size}: {}",
            a.text()
        );
    }
}

#[tokio::test]
async fn an_empty_typed_query_parameter_is_refused_naming_it() {
    let mut c = account().await;
    for (uri, template, name) in [
        ("/api/v1/dashboard?to=", "/api/v1/dashboard", "to"),
        ("/api/v1/dashboard?from=", "/api/v1/dashboard", "from"),
        ("/api/v1/dashboard?content=", "/api/v1/dashboard", "content"),
        ("/api/v1/dashboard?range=", "/api/v1/dashboard", "range"),
        ("/api/v1/dashboard?gap=", "/api/v1/dashboard", "gap"),
        (
            "/api/v1/dashboard/ranking?by=",
            "/api/v1/dashboard/ranking",
            "by",
        ),
        (
            "/api/v1/dashboard/ranking?kind=",
            "/api/v1/dashboard/ranking",
            "kind",
        ),
        (
            "/api/v1/dashboard/ranking?page=",
            "/api/v1/dashboard/ranking",
            "page",
        ),
        (
            "/api/v1/dashboard/recap/2024?content=",
            "/api/v1/dashboard/recap/{year}",
            "content",
        ),
        ("/api/v1/stats?to=", "/api/v1/stats", "to"),
        ("/api/v1/stats?from=&to=2024-01-01", "/api/v1/stats", "from"),
    ] {
        let a = c.get(uri, template).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{uri}: {}", a.text());
        let message = a.json()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(message.contains(&format!("“{name}”")), "{uri}: {message}");
    }
    // The artist's name is a string, but never an empty one: the document says so.
    let a = c
        .get("/api/v1/dashboard/artist?name=", "/api/v1/dashboard/artist")
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text());
    let name = c.doc["paths"]["/api/v1/dashboard/artist"]["get"]["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "name"))
        .expect("the name parameter");
    assert_eq!(name["schema"]["minLength"], 1, "{name}");
    // Still fine: the same parameters left out, and an empty `uploads` (documented as all).
    for (uri, template) in [
        ("/api/v1/dashboard", "/api/v1/dashboard"),
        ("/api/v1/stats?uploads=", "/api/v1/stats"),
    ] {
        assert_eq!(c.get(uri, template).await.status, StatusCode::OK, "{uri}");
    }
}

#[tokio::test]
async fn an_upload_without_a_body_is_refused_and_nothing_is_kept() {
    let mut c = visitor().await;
    let cookie = c.cookie.clone();
    for (ctype, body) in [("application/octet-stream", Vec::new()), ("", Vec::new())] {
        let a = c
            .send(
                "POST",
                "/api/v1/uploads?name=",
                "/api/v1/uploads",
                true,
                Some((ctype, body)),
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text());
        assert!(
            a.json()["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("no body") && m.contains("nothing was stored")),
            "{}",
            a.text()
        );
        assert!(
            a.header(header::SET_COOKIE).is_none(),
            "no anonymous visitor was created"
        );
    }
    assert_eq!(c.cookie, cookie);
    let a = c.get("/api/v1/uploads", "/api/v1/uploads").await;
    assert_eq!(a.json(), json!([]));
    fn files(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| match e.file_type() {
                Ok(t) if t.is_dir() => files(&e.path()),
                _ => 1,
            })
            .sum()
    }
    assert_eq!(
        files(&c._data.path().join("objects")),
        0,
        "no object was written"
    );
}

#[tokio::test]
async fn a_date_of_any_four_digit_year_is_a_date() {
    let mut c = account().await;
    for (uri, template) in [
        ("/api/v1/stats?from=5112-08-25", "/api/v1/stats"),
        (
            "/api/v1/stats?from=0001-01-01&to=9999-12-31",
            "/api/v1/stats",
        ),
        ("/api/v1/dashboard?from=5112-08-25", "/api/v1/dashboard"),
        (
            "/api/v1/dashboard?from=0001-01-01&to=9999-12-31",
            "/api/v1/dashboard",
        ),
    ] {
        let a = c.get(uri, template).await;
        assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.text());
    }
    // What `format: date` (RFC 3339's full-date) is not, is still refused.
    for bad in [
        "24-01-01",
        "12024-01-01",
        "2024-1-05",
        "2023-02-29",
        "+2024-01-01",
    ] {
        let a = c
            .get(
                &format!("/api/v1/stats?from={}", urlencode(bad)),
                "/api/v1/stats",
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}: {}", a.text());
    }
}

#[tokio::test]
async fn the_documented_range_pattern_is_what_the_server_accepts() {
    let doc = document();
    let pattern = doc["components"]["parameters"]["DashboardRange"]["schema"]["pattern"]
        .as_str()
        .expect("`range` has a pattern (a free string would promise that any value works)")
        .to_string();
    let choices = pattern
        .strip_prefix("^(")
        .and_then(|p| p.strip_suffix(")$"))
        .unwrap_or_else(|| panic!("{pattern} is not ^(a|b|…)$"));
    let mut c = account().await;
    for choice in choices.split('|') {
        let value = choice.replace("[0-9]{4}", "2021");
        let uri = format!("/api/v1/dashboard?range={value}");
        let a = c.get(&uri, "/api/v1/dashboard").await;
        assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.text());
    }
    for value in ["", "fortnight", "20211", "21"] {
        let uri = format!("/api/v1/dashboard?range={value}");
        let a = c.get(&uri, "/api/v1/dashboard").await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{uri}: {}", a.text());
    }
}

#[tokio::test]
async fn a_page_past_any_number_is_the_last_page() {
    // The document's `page` is an integer from 0 with no maximum; one past usize is a page past
    // the end like any other, not "not a number".
    let mut c = account().await;
    for page in ["275197305290803237617664", "18446744073709551616"] {
        let uri = format!("/api/v1/dashboard/ranking?page={page}");
        let a = c.get(&uri, "/api/v1/dashboard/ranking").await;
        assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.text());
        assert_eq!(
            a.json()["page"],
            a.json()["pages"].as_u64().unwrap_or(0).max(1)
        );
    }
    let a = c
        .get(
            "/api/v1/dashboard/ranking?page=-1",
            "/api/v1/dashboard/ranking",
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text());
}
