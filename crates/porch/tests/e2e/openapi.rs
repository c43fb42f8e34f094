//! `docs/openapi.json` is a contract: it lists exactly the router's routes, its error codes are
//! the code table, each error response names only codes of its own status, and the server
//! serves the file byte for byte. Schemathesis (`tests/schemathesis/run.sh`) then checks the
//! server's answers against it.

use std::collections::BTreeSet;

use porch_wire::ErrorCode;
use serde_json::Value;

use crate::support::*;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn spec() -> Value {
    serde_json::from_str(&repo_file("docs/openapi.json")).expect("docs/openapi.json is JSON")
}

/// `(path, method)` of every operation in the document.
fn documented(spec: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys().filter(|m| METHODS.contains(&m.as_str())) {
            out.insert((path.clone(), method.clone()));
        }
    }
    out
}

/// The path constants the router may name, from `porch_wire`. A new one fails the test until
/// it is added here, so the router cannot grow a path this test cannot read.
fn path_constant(name: &str) -> &'static str {
    use porch_wire::*;
    match name {
        "GATEWAY_PATH" => GATEWAY_PATH,
        "OAUTH_TOKEN_PATH" => OAUTH_TOKEN_PATH,
        "OAUTH_INTROSPECT_PATH" => OAUTH_INTROSPECT_PATH,
        "GUESTS_PATH" => GUESTS_PATH,
        "WIDGET_GUESTS_PATH" => WIDGET_GUESTS_PATH,
        "DEPLOYMENT_NOTICE_PATH" => DEPLOYMENT_NOTICE_PATH,
        "WIDGET_CONFIG_PATH" => WIDGET_CONFIG_PATH,
        "GUEST_MESSAGES_PATH" => GUEST_MESSAGES_PATH,
        "GUEST_TOKEN_PATH" => GUEST_TOKEN_PATH,
        "GUEST_CONVERSATIONS_PATH" => GUEST_CONVERSATIONS_PATH,
        "GUEST_QUEUE_PATH" => GUEST_QUEUE_PATH,
        "GUEST_IDENTITY_PATH" => GUEST_IDENTITY_PATH,
        "GUEST_CONVERSATION_MESSAGES_PATH" => GUEST_CONVERSATION_MESSAGES_PATH,
        "AGENT_LOGIN_PATH" => AGENT_LOGIN_PATH,
        "AGENT_TOKEN_PATH" => AGENT_TOKEN_PATH,
        "AGENT_API_PREFIX" => AGENT_API_PREFIX,
        "BOT_TOKEN_PATH" => BOT_TOKEN_PATH,
        "BOT_API_PREFIX" => BOT_API_PREFIX,
        "OPENAPI_PATH" => OPENAPI_PATH,
        "WEBHOOK_ENDPOINTS_PATH" => WEBHOOK_ENDPOINTS_PATH,
        "WEBHOOK_ENDPOINT_PATH" => WEBHOOK_ENDPOINT_PATH,
        "WEBHOOK_SECRET_PATH" => WEBHOOK_SECRET_PATH,
        "WEBHOOK_DEAD_PATH" => WEBHOOK_DEAD_PATH,
        "WEBHOOK_REPLAY_PATH" => WEBHOOK_REPLAY_PATH,
        "GUEST_ATTACHMENTS_PATH" => GUEST_ATTACHMENTS_PATH,
        "GUEST_ATTACHMENT_PATH" => GUEST_ATTACHMENT_PATH,
        "AGENT_ATTACHMENTS_PATH" => AGENT_ATTACHMENTS_PATH,
        "AGENT_ATTACHMENT_PATH" => AGENT_ATTACHMENT_PATH,
        "ATTACHMENT_UPLOAD_PATH" => ATTACHMENT_UPLOAD_PATH,
        "ATTACHMENT_CONTENT_PATH" => ATTACHMENT_CONTENT_PATH,
        "ATTACHMENT_PREVIEW_PATH" => ATTACHMENT_PREVIEW_PATH,
        "CUSTOMER_ERASURE_PATH" => CUSTOMER_ERASURE_PATH,
        other => {
            panic!("the router names `{other}`; add it to path_constant() in tests/e2e/openapi.rs")
        }
    }
}

/// Route sets merged into the router that are not part of the published API, with why.
const UNPUBLISHED_MERGES: &[(&str, &str)] = &[(
    "gateway::echo::routes(&state)",
    "the Autobahn conformance echo: off by default, loopback only (docs/conformance.md)",
)];

/// The text inside the parentheses that open at `open` (which must be `(`).
fn balanced(text: &str, open: usize) -> &str {
    let mut depth = 0;
    for (i, c) in text[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &text[open + 1..open + i];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses after byte {open}")
}

/// A path expression of the router: `"/livez"`, `GUESTS_PATH` or `&format!("{GUESTS_PATH}/{{guest_id}}")`.
fn resolve_path(expr: &str) -> String {
    let expr = expr.trim();
    if let Some(literal) = expr.strip_prefix('"') {
        return literal.trim_end_matches('"').to_string();
    }
    if let Some(template) = expr.strip_prefix("&format!(\"") {
        let template = template.trim_end_matches(')').trim_end_matches('"');
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            if rest[start..].starts_with("{{") {
                let end = rest[start..].find("}}").unwrap() + start;
                out.push_str(&format!("{{{}}}", &rest[start + 2..end]));
                rest = &rest[end + 2..];
            } else {
                let end = rest[start..].find('}').unwrap() + start;
                out.push_str(path_constant(&rest[start + 1..end]));
                rest = &rest[end + 1..];
            }
        }
        out.push_str(rest);
        return out;
    }
    path_constant(expr).to_string()
}

/// `(path, method)` of every route in `router()` of crates/porch-server/src/lib.rs; `any` is
/// reported as `any`.
fn routed() -> BTreeSet<(String, String)> {
    let source = repo_file("crates/porch-server/src/lib.rs");
    let start = source.find("pub fn router(").expect("lib.rs has `pub fn router(`");
    let body = &source[start..start + source[start..].find("\n}\n").expect("end of router()")];
    let mut out = BTreeSet::new();
    for (at, _) in body.match_indices(".route(") {
        let inside = balanced(body, at + ".route".len());
        // `cargo fmt` may break the call after the path's comma.
        let comma = inside.find(',').expect("route(path, methods)");
        let path = resolve_path(&inside[..comma]);
        let methods = inside[comma + 1..].trim_start();
        for method in METHODS.iter().chain(&["any"]) {
            let call = format!("{method}(");
            let found =
                methods.match_indices(&call).any(|(i, _)| i == 0 || methods[..i].ends_with('.'));
            if found {
                out.insert((path.clone(), method.to_string()));
            }
        }
    }
    for (at, _) in body.match_indices(".merge(").chain(body.match_indices(".nest(")) {
        let merged = balanced(body, body[at..].find('(').unwrap() + at).trim().to_string();
        let known = merged == "browser"
            || merged == "api"
            || UNPUBLISHED_MERGES.iter().any(|(m, _)| *m == merged);
        assert!(
            known,
            "router() merges `{merged}`: document its routes in docs/openapi.json or list it in UNPUBLISHED_MERGES with why"
        );
    }
    assert!(out.len() >= 15, "read only {} routes from lib.rs: {out:?}", out.len());
    out
}

#[test]
fn the_document_lists_every_route_and_nothing_else() {
    let documented = documented(&spec());
    let mut routed = routed();
    // `any` routes (the gateway) answer every method; the document lists the one that works
    // (GET) and the rest are 405, checked on a live server below.
    let any: Vec<_> = routed.iter().filter(|(_, m)| m == "any").cloned().collect();
    for (path, _) in any {
        routed.remove(&(path.clone(), "any".into()));
        routed.insert((path, "get".into()));
    }
    let missing: Vec<_> = routed.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routed).collect();
    assert!(missing.is_empty(), "routed but not in docs/openapi.json: {missing:?}");
    assert!(extra.is_empty(), "in docs/openapi.json but not routed: {extra:?}");
}

#[test]
fn the_error_enum_is_the_code_table() {
    let spec = spec();
    let listed: Vec<&str> = spec["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let table: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(listed, table, "components.schemas.ErrorCode.enum must be ErrorCode::ALL, in order");
}

/// Statuses the gateway gives `invalid_request` instead of its table status (400): a wrong
/// method is 405, a wrong WebSocket version 426 (RFC 6455 §4.4).
const STATUS_OVERRIDES: &[(&str, &str, &str)] =
    &[("/api/v2/gateway", "405", "invalid_request"), ("/api/v2/gateway", "426", "invalid_request")];

/// Every error response says which codes it carries; each must have that HTTP status.
#[test]
fn each_error_response_names_codes_of_its_own_status() {
    let spec = spec();
    let resolve = |r: &Value| -> Value {
        match r["$ref"].as_str() {
            Some(path) => spec
                .pointer(path.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("dangling {path}"))
                .clone(),
            None => r.clone(),
        }
    };
    let mut checked = 0;
    for (path, method) in documented(&spec) {
        for (status, response) in spec["paths"][&path][&method]["responses"].as_object().unwrap() {
            let response = resolve(response);
            let schema = &response["content"]["application/json"]["schema"]["$ref"];
            if schema != "#/components/schemas/ErrorBody" {
                continue;
            }
            let description = response["description"].as_str().unwrap();
            let codes = description
                .split("`error` is one of: ")
                .nth(1)
                .unwrap_or_else(|| panic!("{method} {path} {status}: name the codes"));
            for name in codes.trim_end_matches('.').split(", ").map(|c| c.trim_matches('`')) {
                let code = ErrorCode::from_name(name)
                    .unwrap_or_else(|| panic!("{method} {path} {status}: unknown code {name}"));
                let overridden = STATUS_OVERRIDES.contains(&(path.as_str(), status.as_str(), name));
                assert!(
                    overridden || code.spec().http_status.to_string() == *status,
                    "{method} {path}: {name} is listed under {status} but its status is {}",
                    code.spec().http_status
                );
                checked += 1;
            }
            let no_store = resolve(&response["headers"]["Cache-Control"]);
            assert_eq!(
                no_store["schema"]["const"], "no-store",
                "{method} {path} {status}: refusals carry Cache-Control: no-store"
            );
        }
    }
    assert!(checked > 100, "only {checked} codes checked");
}

#[tokio::test]
async fn the_document_is_served_byte_for_byte() {
    let server = TestServer::start().await;
    let response =
        server.api.http().get(server.api.url(porch_wire::OPENAPI_PATH)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let served = response.bytes().await.unwrap();
    assert!(
        served == repo_file("docs/openapi.json").as_bytes(),
        "GET {} differs from docs/openapi.json",
        porch_wire::OPENAPI_PATH
    );
}

/// On a live server: every documented operation reaches a handler (not the fallback's 404,
/// not 405) and answers a status it documents; every other method on a documented path is
/// 405 with `Allow` (RFC 9110 §15.5.6).
#[tokio::test]
async fn every_documented_operation_is_routed_and_other_methods_are_405() {
    let server = TestServer::start().await;
    let spec = spec();
    let http = server.api.http();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{guest_id}", "gst_x")
            .replace("{deployment_id}", "dep_x")
            .replace("{id}", "cnv_x")
            .replace("{endpoint_id}", "whe_x")
            .replace("{conversation_id}", "cnv_x")
            .replace("{attachment_id}", "att_x")
            .replace("{grant}", "x");
        assert!(!concrete.contains('{'), "a path parameter this test does not fill: {path}");
        let url = server.api.url(&concrete);
        for method in METHODS {
            let verb = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = http.request(verb, &url).send().await.unwrap();
            let status = response.status().as_u16();
            let allow = response.headers().get("allow").map(|v| v.to_str().unwrap().to_string());
            let body = response.text().await.unwrap();
            match item.get(method) {
                Some(operation) => {
                    assert!(
                        !body.contains("\"error\":\"not_found\""),
                        "{method} {path} fell through to the fallback: {body}"
                    );
                    assert_ne!(status, 405, "{method} {path} is documented but not routed");
                    let statuses = operation["responses"].as_object().unwrap();
                    assert!(
                        statuses.contains_key(&status.to_string()),
                        "{method} {path} answered {status}, not documented: {body}"
                    );
                }
                None => {
                    assert_eq!(
                        status, 405,
                        "{method} {path} is not documented, so it must be 405: {body}"
                    );
                    let allow =
                        allow.unwrap_or_else(|| panic!("{method} {path}: 405 without Allow"));
                    for documented in METHODS.iter().filter(|m| item.get(**m).is_some()) {
                        assert!(
                            allow.to_lowercase().contains(documented),
                            "{method} {path}: Allow `{allow}` lacks {documented}"
                        );
                    }
                }
            }
        }
    }
}

/// The document promises the `ErrorBody` shape on every 413; axum's own rejection of a body
/// over the limit on the form endpoints was plain text.
#[tokio::test]
async fn a_body_over_the_limit_gets_the_documented_413_everywhere() {
    let server = TestServer::start().await;
    let big = "a".repeat(server.state.config.limits.http_body_bytes_max + 1);
    let cases = [
        (porch_wire::OAUTH_TOKEN_PATH, "application/x-www-form-urlencoded"),
        (porch_wire::OAUTH_INTROSPECT_PATH, "application/x-www-form-urlencoded"),
        (porch_wire::AGENT_LOGIN_PATH, "application/json"),
        (porch_wire::GUESTS_PATH, "application/json"),
    ];
    let client_token = server.client_token().await;
    for (path, content_type) in cases {
        let mut request = server
            .api
            .http()
            .post(server.api.url(path))
            .header("content-type", content_type)
            .body(big.clone());
        if path == porch_wire::GUESTS_PATH {
            request = request.bearer_auth(&client_token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let cache =
            response.headers().get("cache-control").map(|v| v.to_str().unwrap().to_string());
        let body: Value = response
            .json()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: the 413 is not JSON ({e})"));
        assert_eq!(
            (status, &body["error"]),
            (413, &Value::from("body_too_large")),
            "POST {path}: {body}"
        );
        assert_eq!(cache.as_deref(), Some("no-store"), "POST {path}");
    }
}

/// The document's `webhooks` are the event types Porch posts, each with the `WebhookEvent`
/// body, and the examples of docs/webhooks.md fit that schema (no property it lacks, none it
/// requires missing), for the event and its `data`.
#[test]
fn the_webhooks_are_the_event_types() {
    let spec = spec();
    let documented: Vec<&str> =
        spec["webhooks"].as_object().expect("webhooks").keys().map(String::as_str).collect();
    let mut types: Vec<&str> =
        porch_core::webhook::EventType::ALL.iter().map(|t| t.as_str()).collect();
    types.sort_unstable();
    let mut sorted = documented.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, types, "openapi.json's webhooks are EventType::ALL");
    for t in &documented {
        let schema =
            &spec["webhooks"][*t]["post"]["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(schema["$ref"], "#/components/schemas/WebhookEvent", "{t}");
    }
    let schemas = &spec["components"]["schemas"];
    let text = repo_file("docs/webhooks.md");
    let examples: Vec<&str> = text
        .split("```json WebhookEvent\n")
        .skip(1)
        .map(|rest| rest.split("\n```").next().unwrap())
        .collect();
    assert_eq!(examples.len(), types.len());
    for example in examples {
        let event: Value = serde_json::from_str(example).unwrap();
        fits(&event, &schemas["WebhookEvent"], "WebhookEvent");
        fits(&event["data"], &schemas["WebhookData"], "WebhookData");
        let enumerated = schemas["WebhookEvent"]["properties"]["type"]["enum"].as_array().unwrap();
        assert!(enumerated.contains(&event["type"]), "{} is in the type enum", event["type"]);
    }
}

fn fits(value: &Value, schema: &Value, name: &str) {
    let object = value.as_object().unwrap_or_else(|| panic!("{name} is an object"));
    let properties = schema["properties"].as_object().unwrap();
    for key in object.keys() {
        assert!(properties.contains_key(key), "{name} has no property `{key}`");
    }
    for required in schema["required"].as_array().unwrap() {
        assert!(object.contains_key(required.as_str().unwrap()), "{name} requires {required}");
    }
}
