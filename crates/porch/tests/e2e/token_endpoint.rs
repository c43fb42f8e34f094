//! `POST /api/v2/oauth/token` against RFC 6749: client authentication (§2.3.1, Appendix B),
//! the success answer (§4.4.3, §5.1) and every error (§5.2), with the exact bytes of the
//! `Authorization` header and the body, so no client library normalises them first.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use porch_core::model::ClientRecord;

use crate::server_log;
use crate::support::*;

/// A secret with every character Appendix B's encoding changes: `:` (the Basic separator),
/// `+` (a space once decoded), `%`, `/`, `=`, a space and a non-ASCII letter.
const ODD_SECRET: &str = "s3cr:et+with%25 /=é";
const ODD_ID: &str = "cli_odd:one";

/// `application/x-www-form-urlencoded`, as Appendix B asks for each Basic credential too.
fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                char::from(b).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{}:{}", form_encode(id), form_encode(secret))))
}

/// One request: method, `Authorization` (exact), body (exact), content type; then the status,
/// the `error` (None for a success) and a header the answer must carry.
struct Case {
    name: &'static str,
    method: &'static str,
    authorization: Option<String>,
    body: String,
    content_type: &'static str,
    status: u16,
    error: Option<&'static str>,
    header: Option<(&'static str, &'static str)>,
}

const FORM: &str = "application/x-www-form-urlencoded";
const GRANT: &str = "grant_type=client_credentials";

#[rustfmt::skip]
fn cases(id: &str, secret: &str) -> Vec<Case> {
    let c = |name, method, authorization: Option<String>, body: String, status, error, header| Case { name, method, authorization, body, content_type: FORM, status, error, header };
    let basic_challenge = Some(("www-authenticate", r#"Basic realm="porch""#));
    let body_auth = |id: &str, secret: &str| format!("{GRANT}&client_id={}&client_secret={}", form_encode(id), form_encode(secret));
    let mut cases = vec![
        c("basic", "POST", Some(basic(id, secret)), GRANT.into(), 200, None, None),
        c("body", "POST", None, body_auth(id, secret), 200, None, None),
        c("basic_scheme_lower_case", "POST", Some(basic(id, secret).replacen("Basic", "basic", 1)), GRANT.into(), 200, None, None),
        c("basic_odd_secret_encoded", "POST", Some(basic(ODD_ID, ODD_SECRET)), GRANT.into(), 200, None, None),
        c("body_odd_secret_encoded", "POST", None, body_auth(ODD_ID, ODD_SECRET), 200, None, None),
        // Not form-encoded first: the `+` decodes to a space, so the secret is wrong.
        c("basic_odd_secret_raw", "POST", Some(format!("Basic {}", STANDARD.encode(format!("{}:{ODD_SECRET}", form_encode(ODD_ID))))), GRANT.into(), 401, Some("invalid_client"), basic_challenge),
        c("basic_and_body", "POST", Some(basic(id, secret)), body_auth(id, secret), 400, Some("invalid_request"), None),
        c("basic_wrong_secret", "POST", Some(basic(id, "wrong")), GRANT.into(), 401, Some("invalid_client"), basic_challenge),
        c("body_wrong_secret", "POST", None, body_auth(id, "wrong"), 401, Some("invalid_client"), basic_challenge),
        c("unknown_client", "POST", Some(basic("cli_nobody", secret)), GRANT.into(), 401, Some("invalid_client"), basic_challenge),
        c("no_credentials", "POST", None, GRANT.into(), 401, Some("invalid_client"), basic_challenge),
        c("basic_not_base64", "POST", Some("Basic !!!".into()), GRANT.into(), 401, Some("invalid_client"), basic_challenge),
        c("bearer_instead_of_basic", "POST", Some("Bearer abc.def.ghi".into()), GRANT.into(), 401, Some("invalid_client"), basic_challenge),
        c("get", "GET", Some(basic(id, secret)), String::new(), 405, Some("invalid_request"), Some(("allow", "POST"))),
        c("put", "PUT", Some(basic(id, secret)), GRANT.into(), 405, Some("invalid_request"), Some(("allow", "POST"))),
        c("grant_password", "POST", Some(basic(id, secret)), "grant_type=password&username=a&password=b".into(), 400, Some("unsupported_grant_type"), None),
        c("grant_missing", "POST", Some(basic(id, secret)), "scope=guests".into(), 400, Some("invalid_request"), None),
        c("grant_twice", "POST", Some(basic(id, secret)), format!("{GRANT}&{GRANT}"), 400, Some("invalid_request"), None),
        c("scope_not_granted", "POST", Some(basic(id, secret)), format!("{GRANT}&scope=admin"), 400, Some("invalid_scope"), None),
        c("body_over_limit", "POST", Some(basic(id, secret)), format!("{GRANT}&pad={}", "x".repeat(70_000)), 413, None, None),
    ];
    cases.push(Case { content_type: "application/json", ..c("json_body", "POST", Some(basic(id, secret)), r#"{"grant_type":"client_credentials"}"#.into(), 400, Some("invalid_request"), None) });
    cases
}

#[tokio::test]
async fn the_token_endpoint_answers_as_rfc_6749_says() {
    server_log::capture();
    let server = TestServer::start_with(|c| {
        // The failing cases are the point here; the brute-force throttle is tested on its own.
        c.limits.auth_failures_per_ip_per_min = 1_000;
        c.limits.auth_failures_per_account_per_min = 1_000;
    })
    .await;
    let odd = ClientRecord {
        id: ODD_ID.into(),
        name: "odd".into(),
        secret_hash: porch_core::secret::hash(ODD_SECRET),
        scopes: vec!["guests".into()],
        created_at_ms: 0,
        standing: Default::default(),
    };
    server.state.store.create_client(odd).await.unwrap();
    let url = server.api.url(porch_wire::OAUTH_TOKEN_PATH);
    let cases = cases(&server.client_id, &server.client_secret);
    assert!(cases.len() >= 10);
    let mut failures = Vec::new();
    let mut issued = Vec::new();
    for case in &cases {
        let mut request = server
            .api
            .http()
            .request(case.method.parse().unwrap(), &url)
            .header("content-type", case.content_type)
            .body(case.body.clone());
        if let Some(authorization) = &case.authorization {
            request = request.header("authorization", authorization);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let mut wrong = Vec::new();
        if status != case.status {
            wrong.push(format!("status {status}, expected {}", case.status));
        }
        // §5.1: on every answer, errors included.
        for (name, value) in
            [("cache-control", "no-store"), ("pragma", "no-cache")].into_iter().chain(case.header)
        {
            if headers.get(name).and_then(|v| v.to_str().ok()) != Some(value) {
                wrong.push(format!("`{name}: {value}` missing (got {:?})", headers.get(name)));
            }
        }
        match case.error {
            None if status == 200 => {
                if body["token_type"] != "Bearer"
                    || !body["expires_in"].is_u64()
                    || !body["access_token"].is_string()
                {
                    wrong.push(format!("not a §5.1 answer: {body}"));
                }
                if body.get("refresh_token").is_some() {
                    wrong.push("a refresh token was issued (§4.4.3)".into());
                }
                issued.push(body["access_token"].as_str().unwrap_or_default().to_string());
            }
            None => {}
            Some(error) if body["error"] != error || !body["error_description"].is_string() => {
                wrong.push(format!("body {body}, expected error `{error}` with a description"));
            }
            Some(_) => {}
        }
        if !wrong.is_empty() {
            failures.push(format!("{}: {}", case.name, wrong.join("; ")));
        }
    }
    let mut secrets: Vec<&str> = issued.iter().map(String::as_str).collect();
    secrets.extend([server.client_secret.as_str(), ODD_SECRET]);
    server_log::assert_clean(&secrets);
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
