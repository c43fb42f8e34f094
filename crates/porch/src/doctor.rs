//! `porch doctor`: why does my connection to Porch fail?
//!
//! For an integrator who has never seen Porch's code. It replays, against a running server,
//! exactly what their client sends, prints each step as sent and as received (tokens and
//! secrets shortened), decodes the token offline, and ends with a verdict and a fix.
//!
//! - `input`: what the flags say: URLs, offer, and the token wherever it was put.
//! - `report`: redacted, aligned output.
//! - `clock`: the server's clock from its `Date` header.
//! - `token`: offline examination of a token.
//! - `http`: REST steps (clock, OAuth token, guest session).
//! - `socket`: the gateway handshake.
//! - `verdict`: from an error code to plain words and a fix.
//!
//! Exit status: 0 when the gateway sent `ready`, 1 when the doctor found the problem, 2 on
//! usage errors or an unreachable server (a failed TLS handshake included: its error names the
//! cause and the fix, e.g. `--ca-file`).

mod clock;
mod http;
mod input;
mod report;
mod socket;
mod token;
mod verdict;

use std::path::PathBuf;

use anyhow::Result;
use clap::{ArgGroup, Args};
use porch_client::Tls;
use porch_wire::{ErrorCode, PROTOCOL_MARKER};

use clock::Clocks;
use http::Http;
use input::{Call, base_url, gateway_url, http_base, read_stdin, with_after_seq};
use report::Report;
use socket::Handshake;
use token::Examined;
use verdict::{Advice, CONNECT_JS, Context, advise};

/// Flags of `porch doctor`; `AFTER_HELP` shows how they combine.
#[derive(Args)]
#[command(group(ArgGroup::new("mode").required(true).args(["gateway_url", "base_url"])))]
#[command(after_help = AFTER_HELP)]
pub struct DoctorArgs {
    /// Mode 1: the gateway URL your client opens (the gatewayUrl of a guest session). A
    /// `?token=` or `?access_token=` in it is sent as is.
    #[arg(long, value_name = "URL")]
    gateway_url: Option<String>,
    /// The access token your client sends; `-` reads it from standard input, keeping it out of
    /// your shell history.
    #[arg(long, value_name = "TOKEN", requires = "gateway_url")]
    token: Option<String>,
    /// The exact Sec-WebSocket-Protocol value your client sends; "" sends none.
    /// [default: "NICE-WebSocket-Auth, <token>", what a correct browser call sends]
    #[arg(long, value_name = "VALUES", requires = "gateway_url")]
    offer: Option<String>,
    /// Resume after this sequence number (`afterSeq` in the gateway URL).
    #[arg(long, value_name = "N")]
    after_seq: Option<u64>,
    /// The origin of your page, e.g. https://shop.example. Browsers always send one; without
    /// it the deployment's origin allowlist is not checked.
    #[arg(long, value_name = "ORIGIN")]
    origin: Option<String>,
    /// Mode 2: Porch's base URL, e.g. http://127.0.0.1:8080. Runs the whole flow: OAuth token,
    /// guest session, then the gateway with the guest's token.
    #[arg(long, value_name = "URL", requires_all = ["client_id", "client_secret", "deployment"])]
    base_url: Option<String>,
    /// OAuth client id (cli_…).
    #[arg(long, value_name = "ID", requires = "base_url")]
    client_id: Option<String>,
    /// OAuth client secret; `-` reads it from standard input.
    #[arg(long, value_name = "SECRET", requires = "base_url")]
    client_secret: Option<String>,
    /// Deployment (dep_…) to create the guest session in.
    #[arg(long, value_name = "ID", requires = "base_url")]
    deployment: Option<String>,
    /// A PEM file of CA certificates to trust for https:// and wss://, besides the system's:
    /// the private CA that signed the server's certificate, or a self-signed certificate.
    #[arg(long, value_name = "PATH")]
    ca_file: Option<PathBuf>,
}

const AFTER_HELP: &str = "\
Examples:
  Replay your client's handshake:
    porch doctor --gateway-url ws://127.0.0.1:8080/api/v2/gateway \\
      --token - --origin https://shop.example
  Run the whole flow (OAuth token, guest session, gateway):
    porch doctor --base-url http://127.0.0.1:8080 --client-id cli_… \\
      --client-secret - --deployment dep_… --origin https://shop.example
  Behind TLS with a private CA (https:// and wss:// work without --ca-file when the
  certificate is publicly trusted):
    porch doctor --base-url https://chat.example.com --ca-file company-ca.pem …

Exit status: 0 the gateway sent `ready`; 1 the doctor found the problem (see the verdict);
2 usage error or server unreachable. Tokens and secrets are never printed whole.
More in docs/doctor.md.";

/// Why a step did not succeed.
#[derive(Debug)]
enum Failure {
    /// The server refused with a documented error code.
    Refused { code: ErrorCode, message: String },
    /// Anything else, already in the doctor's words.
    Other(Advice),
}

/// What the doctor learned, for the verdict.
#[derive(Default)]
struct Diagnosis {
    /// The step that failed and why; `None` when the gateway sent `ready`.
    failure: Option<(&'static str, Failure)>,
    examined: Examined,
    clocks: Clocks,
    origin: Option<String>,
}

pub async fn run(args: DoctorArgs) -> Result<()> {
    let mut report = Report::default();
    // One TLS configuration for every step, REST and gateway alike.
    let tls = match &args.ca_file {
        Some(path) => Tls::with_ca_file(path)?,
        None => Tls::system(),
    };
    let diagnosis = match (&args.gateway_url, &args.base_url) {
        (Some(_), _) => gateway_mode(&mut report, &args, &tls).await?,
        _ => flow_mode(&mut report, &args, &tls).await?,
    };
    report.section("Verdict");
    let problem = conclude(&report, &diagnosis);
    report.flush();
    if problem {
        // `main` maps errors to 2 (usage, unreachable); 1 is the doctor's own "found it".
        std::process::exit(1);
    }
    Ok(())
}

/// Mode 1: one handshake, as the integrator's client sends it.
async fn gateway_mode(report: &mut Report, args: &DoctorArgs, tls: &Tls) -> Result<Diagnosis> {
    let call = Call::from_args(args)?;
    // `undefined` is no credential, and shown whole it tells what went wrong.
    for secret in call.secrets.iter().filter(|s| !token::PLACEHOLDERS.contains(&s.as_str())) {
        report.secret(secret);
    }
    let http = Http::new(tls)?;
    report.section("Server");
    let clocks = http.server_clock(report, &http_base(&call.url)).await?;
    report.section("1. Token (decoded offline, not verified)");
    let examined = match &call.token {
        Some(t) => token::examine(report, t, &clocks),
        None => {
            report.line("token", "(none sent)");
            Examined::default()
        }
    };
    report.section("2. Gateway");
    let handshake = Handshake {
        url: &call.url,
        offer: call.offer.as_deref(),
        origin: args.origin.as_deref(),
        tls,
    };
    let failure = match verdict::mixed_content(&[args.origin.as_deref()], &call.url) {
        Some(advice) => Some(("the gateway handshake", Failure::Other(advice))),
        None => {
            socket::connect(report, &handshake).await?.err().map(|f| ("the gateway handshake", f))
        }
    };
    Ok(Diagnosis { failure, examined, clocks, origin: args.origin.clone() })
}

/// Mode 2: OAuth token, guest session, then the gateway, as a backend and a browser would.
async fn flow_mode(report: &mut Report, args: &DoctorArgs, tls: &Tls) -> Result<Diagnosis> {
    let base = base_url(args.base_url.as_deref().unwrap_or_default())?;
    let id = args.client_id.as_deref().unwrap_or_default();
    let secret = match args.client_secret.as_deref().unwrap_or_default() {
        "-" => read_stdin("the client secret")?,
        s => s.to_string(),
    };
    report.password(&secret);
    let http = Http::new(tls)?;
    let mut diagnosis = Diagnosis { origin: args.origin.clone(), ..Diagnosis::default() };
    report.section("Server");
    diagnosis.clocks = http.server_clock(report, &base).await?;
    report.section("1. OAuth token (your backend)");
    let client_token = match http.oauth_token(report, &base, id, &secret).await? {
        Ok(token) => token,
        Err(f) => return Ok(failed(diagnosis, "step 1 (OAuth token)", f)),
    };
    report.line(
        "note",
        "this token is for your backend only; the browser gets the guest accessToken of step 2",
    );
    report.section("2. Guest session (your backend)");
    let deployment = args.deployment.as_deref().unwrap_or_default();
    let session = match http.create_guest(report, &base, &client_token, deployment).await? {
        Ok(session) => session,
        Err(f) => return Ok(failed(diagnosis, "step 2 (guest session)", f)),
    };
    report.section("3. Guest accessToken (decoded offline, not verified)");
    diagnosis.examined = token::examine(report, &session.access_token, &diagnosis.clocks);
    report.section("4. Gateway (the browser)");
    let url = with_after_seq(&gateway_url(&session.gateway_url)?, args.after_seq);
    let offer = format!("{PROTOCOL_MARKER}, {}", session.access_token);
    let handshake =
        Handshake { url: &url, offer: Some(&offer), origin: args.origin.as_deref(), tls };
    let pages = [args.origin.as_deref(), Some(base.as_str())];
    diagnosis.failure = match verdict::mixed_content(&pages, &url) {
        Some(advice) => Some(("step 4 (gateway)", Failure::Other(advice))),
        None => socket::connect(report, &handshake).await?.err().map(|f| ("step 4 (gateway)", f)),
    };
    Ok(diagnosis)
}

fn failed(diagnosis: Diagnosis, step: &'static str, failure: Failure) -> Diagnosis {
    Diagnosis { failure: Some((step, failure)), ..diagnosis }
}

/// Prints the `verdict:` and `fix:` lines; true when a problem was found.
fn conclude(report: &Report, d: &Diagnosis) -> bool {
    if d.clocks.skewed() {
        let skew = d.clocks.skew_secs.unwrap_or_default();
        report.plain(&format!(
            "note:    the server's clock is {skew:+}s off this machine's: judge token times by the server's"
        ));
    }
    let Some((step, failure)) = &d.failure else {
        if d.origin.is_none() {
            report.plain("note:    no --origin given, so the origin allowlist was not checked; a browser always sends one");
        }
        report.plain(
            "verdict: the handshake works: the gateway echoed NICE-WebSocket-Auth and sent `ready`",
        );
        report.plain(&format!("fix:     nothing to fix; a browser connects with {CONNECT_JS}"));
        return false;
    };
    let (verdict, advice) = match failure {
        Failure::Refused { code, message } => {
            offline_notes(report, d, *code);
            (format!("{step} failed with {code}"), advise(*code, &context(d, *code, message)))
        }
        Failure::Other(advice) => (format!("{step} failed"), advice.clone()),
    };
    report.plain(&format!("verdict: {verdict}: {}", advice.verdict));
    report.plain(&format!("fix:     {}", advice.fix));
    true
}

/// What the token examination found that the server's answer does not already say.
fn offline_notes(report: &Report, d: &Diagnosis, server_code: ErrorCode) {
    for finding in d.examined.findings.iter().filter(|f| f.code != server_code) {
        report.plain(&format!("note:    also found offline: {}", finding.detail));
    }
}

fn context<'a>(d: &'a Diagnosis, code: ErrorCode, message: &'a str) -> Context<'a> {
    Context {
        sent_kind: d.examined.kind,
        origin: d.origin.as_deref(),
        deployment: d.examined.deployment.as_deref(),
        skew_secs: d.clocks.skew_secs,
        message,
        offline: d.examined.findings.iter().find(|f| f.code == code).map(|f| f.detail.as_str()),
    }
}
