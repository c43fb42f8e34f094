//! The token, examined offline before anything is sent: can a browser offer it as a
//! subprotocol at all, is it a JWT, which kind of token is it, whose, and valid when.
//!
//! Nothing here is trusted: the signature cannot be checked outside a Porch server. What this
//! finds is what the integrator can see for themselves, so the doctor shows it first.

use porch_core::time::rfc3339;
use porch_core::token::{TokenKind, decode_unverified};
use porch_wire::ErrorCode;
use serde_json::Value;

use super::clock::{Clocks, SKEW_SECS_MAX};
use super::report::Report;

/// What the offline examination found.
#[derive(Debug, Default)]
pub struct Examined {
    /// The kind the audience claims, if it names one.
    pub kind: Option<TokenKind>,
    /// Guest tokens: the deployment they belong to.
    pub deployment: Option<String>,
    /// Problems visible without the server, in the order found.
    pub findings: Vec<Finding>,
}

/// A problem found offline, named by the error code the server would answer with.
#[derive(Debug)]
pub struct Finding {
    pub code: ErrorCode,
    pub detail: String,
}

/// Values JavaScript produces when the token variable was never set.
pub const PLACEHOLDERS: &[&str] = &["undefined", "null", "[object Object]", "Bearer"];

/// Examines `token` and prints what it finds.
pub fn examine(report: &Report, token: &str, clocks: &Clocks) -> Examined {
    let mut examined = Examined::default();
    report.line("token", token);
    if token.is_empty() {
        examined.found(report, ErrorCode::TokenMissing, "the token is empty".into());
        return examined;
    }
    check_characters(report, token, &mut examined);
    if PLACEHOLDERS.contains(&token) {
        let detail =
            format!("the token is the string `{token}`: the variable holding it was never set");
        examined.found(report, ErrorCode::TokenMalformed, detail);
        return examined;
    }
    match decode_unverified(token) {
        Ok((header, claims)) => {
            let kid = header.kid.as_deref().unwrap_or("(none)");
            let typ = header.typ.as_deref().unwrap_or("(none)");
            report.line("header", &format!("alg {}, typ {typ}, kid {kid}", header.alg));
            describe_claims(report, &claims, clocks, &mut examined);
        }
        Err(e) => {
            report.line("shape", "not a JWT");
            examined.found(report, ErrorCode::TokenMalformed, e.message);
            decode_without_padding(report, token, clocks, &mut examined);
        }
    }
    examined
}

/// A token with base64 padding appended (`…=`) still says what it is once the padding goes.
fn decode_without_padding(report: &Report, token: &str, clocks: &Clocks, examined: &mut Examined) {
    let trimmed = token.trim_end_matches('=');
    if trimmed.len() == token.len() {
        return;
    }
    if let Ok((_, claims)) = decode_unverified(trimmed) {
        report.line("without the '='", "it decodes as:");
        describe_claims(report, &claims, clocks, examined);
    }
}

impl Examined {
    fn found(&mut self, report: &Report, code: ErrorCode, detail: String) {
        report.line("PROBLEM", &detail);
        self.findings.push(Finding { code, detail });
    }
}

/// RFC 6455 §4.1: every subprotocol is an RFC 7230 `token`. Browsers check this in
/// `new WebSocket()` and throw a SyntaxError, so such a token never leaves the page.
fn check_characters(report: &Report, token: &str, examined: &mut Examined) {
    if token.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("bearer ")) {
        let detail = "it starts with `Bearer `, which belongs in an Authorization header; the subprotocol carries the token alone";
        examined.found(report, ErrorCode::TokenCharacters, detail.into());
    }
    match token.char_indices().find(|(_, c)| !is_tchar(*c)) {
        None => report.line("as a subprotocol", "ok: only characters a browser accepts"),
        Some((at, c)) => {
            let detail = format!(
                "it holds {c:?} at position {at}, which new WebSocket() refuses with a SyntaxError before sending anything"
            );
            examined.found(report, ErrorCode::TokenCharacters, detail);
        }
    }
}

pub fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn describe_claims(report: &Report, claims: &Value, clocks: &Clocks, examined: &mut Examined) {
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_string);
    report.line("issuer (iss)", &text("iss").unwrap_or_else(|| "(none)".into()));
    let aud = text("aud").unwrap_or_default();
    examined.kind = TokenKind::from_audience(&aud);
    match examined.kind {
        Some(kind) => report.line("kind (aud)", &format!("{aud}: {}", kind.describe())),
        None => report.line("kind (aud)", &format!("`{aud}`: no kind of token Porch issues")),
    }
    report.line("subject (sub)", &text("sub").unwrap_or_else(|| "(none)".into()));
    examined.deployment = text("dep");
    for (name, key) in
        [("dep", "deployment (dep)"), ("cnv", "conversation (cnv)"), ("scope", "scope")]
    {
        if let Some(value) = text(name) {
            report.line(key, &value);
        }
    }
    check_kind(report, &aud, examined);
    check_times(report, claims, clocks, examined);
}

fn check_kind(report: &Report, aud: &str, examined: &mut Examined) {
    let detail = match examined.kind {
        Some(TokenKind::Client) => {
            "this is the OAuth client token your backend uses (aud porch-api), not the guest accessToken the gateway needs".to_string()
        }
        Some(TokenKind::Bot) => {
            "this is a bot token (aud porch-bot) for the bot API, not the guest accessToken the gateway needs".to_string()
        }
        None => format!("audience `{aud}` is not porch-guest: this is not a guest accessToken"),
        Some(_) => return,
    };
    examined.found(report, ErrorCode::TokenWrongKind, detail);
}

fn check_times(report: &Report, claims: &Value, clocks: &Clocks, examined: &mut Examined) {
    let time = |name: &str| claims.get(name).and_then(Value::as_i64);
    let now = clocks.server_secs().unwrap_or_else(super::clock::local_secs);
    if let Some(iat) = time("iat") {
        report.line(
            "issued (iat)",
            &format!("{}  {}", rfc3339(iat), clocks.describe(iat, "issued", "issued")),
        );
        if iat > now + SKEW_SECS_MAX {
            let detail = format!("issued {}s in the future: a clock is wrong", iat - now);
            examined.found(report, ErrorCode::TokenNotYetValid, detail);
        }
    }
    match time("exp") {
        Some(exp) => {
            report.line(
                "expires (exp)",
                &format!("{}  {}", rfc3339(exp), clocks.describe(exp, "expires", "expired")),
            );
            if exp < now {
                examined.found(
                    report,
                    ErrorCode::TokenExpired,
                    format!("expired {}s ago", now - exp),
                );
            }
        }
        None => examined.found(
            report,
            ErrorCode::TokenMalformed,
            "no exp claim: not a token Porch issued".into(),
        ),
    }
}
