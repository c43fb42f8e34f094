//! `porch doctor` against a real server: one case per mistake an integrator can make, each
//! checked for its exit status, a verdict that names the cause, a fix, and no whole token or
//! secret anywhere in the output. Over TLS: `tls.rs`.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use porch_core::token::{Keyring, SigningKey, TokenKind};
use porch_wire::PROTOCOL_MARKER;

use crate::support::*;

/// The longest one doctor run may take; its own steps time out after 10 s each.
const RUN_TIMEOUT: Duration = Duration::from_secs(40);

/// One run of the doctor and what it must say.
pub struct Case {
    name: &'static str,
    args: Vec<String>,
    /// Written to the doctor's standard input (for `--token -`).
    stdin: Option<String>,
    exit: i32,
    /// Must appear in the `verdict:` line (or, for exit 2, in the error).
    verdict: String,
    /// Must appear in the `fix:` line.
    fix: String,
    /// Must not appear anywhere in the output.
    secrets: Vec<String>,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary off the async runtime (the server under test runs on it), killing it if it
/// outlives `RUN_TIMEOUT`.
async fn doctor(args: Vec<String>, stdin: Option<String>) -> Run {
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_porch"))
            .arg("doctor")
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("porch runs");
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.unwrap_or_default().as_bytes()).unwrap();
        drop(input);
        let deadline = Instant::now() + RUN_TIMEOUT;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("porch doctor {args:?} ran longer than {RUN_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let output = child.wait_with_output().unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

/// The single place a case is run and judged.
pub async fn check(case: Case) {
    let run = doctor(case.args.clone(), case.stdin.clone()).await;
    let all = format!("{}{}", run.stdout, run.stderr);
    let name = case.name;
    assert_eq!(run.code, case.exit, "{name}: exit status\n{all}");
    for secret in &case.secrets {
        assert!(
            !all.contains(secret.as_str()),
            "{name}: a whole token or secret was printed\n{all}"
        );
    }
    if case.exit == 2 {
        assert!(
            run.stderr.contains(&case.verdict),
            "{name}: stderr lacks `{}`\n{all}",
            case.verdict
        );
        return;
    }
    let line = |prefix: &str| {
        run.stdout.lines().find(|l| l.starts_with(prefix)).unwrap_or_default().to_string()
    };
    let (verdict, fix) = (line("verdict: "), line("fix: "));
    assert!(verdict.contains(&case.verdict), "{name}: verdict lacks `{}`\n{all}", case.verdict);
    assert!(fix.contains(&case.fix), "{name}: fix lacks `{}`\n{all}", case.fix);
}

pub fn gateway_args(url: &str, token: &str, extra: &[&str]) -> Vec<String> {
    let mut args =
        vec!["--gateway-url".to_string(), url.to_string(), "--token".into(), token.to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[tokio::test]
async fn doctor_names_each_handshake_mistake_and_its_fix() {
    let server = TestServer::start().await;
    let guest = server.guest().await;
    let url = guest.gateway_url.as_str();
    let token = guest.access_token.clone();
    let client_token = server.client_token().await;
    let guest_claims = |c: &mut porch_core::token::Claims| {
        c.dep = Some(guest.deployment_id.clone());
        c.cnv = Some(guest.conversation_id.clone());
    };
    let expired = server.sign(TokenKind::Guest, &guest.guest_id, |c| {
        guest_claims(c);
        c.iat -= 7200;
        c.exp -= 3600;
    });
    let future = server.sign(TokenKind::Guest, &guest.guest_id, |c| {
        guest_claims(c);
        c.iat += 3600;
        c.exp += 3600;
    });
    let wrong_issuer = server.sign(TokenKind::Guest, &guest.guest_id, |c| {
        guest_claims(c);
        c.iss = "someone-else".into();
    });
    let (_, claims) = server.state.mint(TokenKind::Guest, &guest.guest_id, 600, guest_claims);
    let foreign_key =
        SigningKey { kid: "key_elsewhere".into(), secret: vec![7; 32], created_at_ms: 0 };
    let foreign = Keyring::new(vec![foreign_key]).sign(&claims);
    let mut tampered = token.clone();
    tampered.pop();
    // The last base64url character of a 32-byte MAC carries 4 bits, then 2 that must be zero:
    // A and E differ in the 4, so the signature changes; A to B would make it malformed.
    tampered.push(if token.ends_with('A') { 'E' } else { 'A' });
    let padded = format!("{token}=");
    let m = PROTOCOL_MARKER;
    let origin = ["--origin", ALLOWED_ORIGIN];
    let all = vec![token.clone(), client_token.clone()];

    // Every case also checks that neither of the server's real tokens is printed.
    let case = |name, args, exit, verdict, fix, secrets: &[&String]| {
        let mut c = case(name, args, exit, verdict, fix, secrets);
        c.secrets.extend(all.clone());
        c
    };
    let offer = |value: String| gateway_args(url, &token, &["--offer", &value]);
    let js = "['NICE-WebSocket-Auth', accessToken]";
    // (name, arguments, exit status, in the verdict, in the fix, more secrets never printed)
    #[rustfmt::skip]
    let cases = vec![
        case("correct", gateway_args(url, &token, &origin), 0, "the handshake works", "nothing to fix", &[]),
        Case { stdin: Some(format!("{token}\n")), ..case("stdin", gateway_args(url, "-", &origin), 0, "works", "nothing", &[]) },
        case("client token", gateway_args(url, &client_token, &origin), 1, "OAuth client token", "accessToken field of the POST /api/v2/webmessaging/guests", &[]),
        case("expired", gateway_args(url, &expired, &[]), 1, "token_expired", "POST /api/v2/webmessaging/guests/token", &[&expired]),
        case("not yet valid", gateway_args(url, &future, &[]), 1, "token_not_yet_valid", "clocks", &[&future]),
        case("tampered", gateway_args(url, &tampered, &[]), 1, "token_signature_invalid", "byte for byte", &[&tampered]),
        case("unknown key", gateway_args(url, &foreign, &[]), 1, "token_key_unknown", "new token from this server", &[&foreign]),
        case("wrong issuer", gateway_args(url, &wrong_issuer, &[]), 1, "token_wrong_issuer", "--issuer", &[&wrong_issuer]),
        case("token first", offer(format!("{token}, {m}")), 1, "subprotocol_order", js, &[]),
        case("no marker", offer(token.clone()), 1, "subprotocol_missing", js, &[]),
        case("marker alone", offer(m.to_string()), 1, "token_missing", js, &[]),
        case("misspelled", offer(format!("nice-websocket-auth, {token}")), 1, "subprotocol_misspelled", "copy the marker exactly", &[]),
        case("query token", vec!["--gateway-url".into(), format!("{url}?token={token}")], 1, "token_in_query", "send the token as a subprotocol", &[]),
        case("origin", gateway_args(url, &token, &["--origin", "https://evil.example"]), 1, "https://evil.example is not in the allowed origins", "porch deployments list", &[]),
        case("padded", gateway_args(url, &padded, &[]), 1, "token_characters", "exactly as received", &[&padded]),
        case("not a jwt", gateway_args(url, "not-a-jwt", &[]), 1, "token_malformed", "accessToken field", &[]),
        case("undefined", gateway_args(url, "undefined", &[]), 1, "the variable holding it was never set", "accessToken field", &[]),
        case("bearer prefix", gateway_args(url, &format!("Bearer {token}"), &[]), 1, "starts with `Bearer `", "exactly as received", &[]),
    ];
    for c in cases {
        check(c).await;
    }
}

#[tokio::test]
async fn doctor_explains_revoked_guests_and_disabled_deployments() {
    let server = TestServer::start().await;
    let store = server.state.store.clone();
    let revoked = server.guest().await;
    assert!(store.revoke_guest(&revoked.guest_id).await.unwrap());
    let url = revoked.gateway_url.as_str();
    let args = gateway_args(url, &revoked.access_token, &[]);
    check(case(
        "revoked",
        args,
        1,
        "guest_revoked",
        "create a new guest session",
        &[&revoked.access_token],
    ))
    .await;
    let guest = server.guest().await;
    let dep = server.deployment.id.as_str();
    assert!(store.set_deployment_enabled(dep, false).await.unwrap());
    let args = gateway_args(url, &guest.access_token, &[]);
    let enable = format!("porch deployments enable {dep}");
    check(case("disabled", args, 1, "deployment_disabled", &enable, &[&guest.access_token])).await;
}

#[tokio::test]
async fn doctor_runs_the_whole_flow_and_stops_at_the_failing_step() {
    let server = TestServer::start().await;
    let flow = |secret: &str, deployment: &str| -> Vec<String> {
        let base = server.api.base_url();
        let id = server.client_id.as_str();
        [
            "--base-url",
            base,
            "--client-id",
            id,
            "--client-secret",
            secret,
            "--deployment",
            deployment,
        ]
        .into_iter()
        .chain(["--origin", ALLOWED_ORIGIN])
        .map(str::to_string)
        .collect()
    };
    let secret = server.client_secret.clone();
    let wrong = format!("{secret}x");
    let dep = server.deployment.id.as_str();
    #[rustfmt::skip]
    let cases = vec![
        case("flow", flow(&secret, dep), 0, "the handshake works", "nothing to fix", &[&secret]),
        case("wrong secret", flow(&wrong, dep), 1, "step 1 (OAuth token) failed with invalid_client", "porch clients create", &[&wrong, &secret]),
        case("no deployment", flow(&secret, "dep_nope"), 1, "step 2 (guest session) failed with deployment_unknown", "porch deployments list", &[&secret]),
    ];
    for c in cases {
        check(c).await;
    }
}

#[tokio::test]
async fn doctor_says_plainly_when_it_cannot_reach_the_server() {
    // Bind and drop a listener: nothing listens on that port afterwards.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("ws://127.0.0.1:{port}/api/v2/gateway");
    let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlYWJj".to_string();
    // For exit status 2, `verdict` is looked for in the error on stderr.
    #[rustfmt::skip]
    let cases = vec![
        case("unreachable", gateway_args(&url, &token, &[]), 2, "connection refused", "", &[&token]),
        case("no mode", vec![], 2, "--gateway-url", "", &[]),
    ];
    for c in cases {
        check(c).await;
    }
}

pub fn case(
    name: &'static str,
    args: Vec<String>,
    exit: i32,
    verdict: &str,
    fix: &str,
    secrets: &[&String],
) -> Case {
    let secrets = secrets.iter().map(|s| s.to_string()).collect();
    let (verdict, fix) = (verdict.to_string(), fix.to_string());
    Case { name, args, stdin: None, exit, verdict, fix, secrets }
}
