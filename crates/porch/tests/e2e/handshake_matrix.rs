//! The handshake matrix (docs/handshake.md, "The matrix"): every row is sent over a raw
//! socket to a real server and must get its documented answer, within a generous deadline,
//! without a panic, and with the server still serving a good handshake afterwards.
//!
//! Latency is recorded, not asserted (speed lives in `porch-bench hardening`): run with
//! `--nocapture` to see the report.

mod cases;

use std::time::Duration;

use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::raw::{self, Answer, KEY};
use crate::server_log;
use crate::support::*;
use cases::{Case, Ctx, Expect, cases};

const MARKER: &str = porch_wire::PROTOCOL_MARKER;

#[tokio::test]
async fn every_case_gets_its_documented_answer_and_the_server_stays_up() {
    server_log::capture();
    // Every case is followed by a good handshake: ~120 from one address in a second or two,
    // past `handshakes_per_ip_*` (flood protection, tested on its own).
    let server = TestServer::start_with(|c| {
        c.limits.handshakes_per_ip_per_sec = 100_000;
        c.limits.handshakes_per_ip_burst = 100_000;
    })
    .await;
    let guest = server.guest().await;
    let ctx = Ctx {
        host: raw::host(&server),
        path: porch_wire::GATEWAY_PATH.to_string(),
        guest_token: guest.access_token.clone(),
        client_token: server.client_token().await,
        origin: ALLOWED_ORIGIN.to_string(),
    };
    let mut failures = Vec::new();
    let mut report = Vec::new();
    for case in cases() {
        let request = (case.request)(&ctx);
        let cpu_before = process_cpu();
        let answer = raw::exchange(&server, &request).await;
        let cpu = process_cpu().zip(cpu_before).map(|(after, before)| after - before);
        if let Err(why) = check(&case, &answer, &ctx) {
            failures.push(format!(
                "{}: {why}\n    head: {:.300}",
                case.name,
                answer.head_text.replace("\r\n", " | ")
            ));
        }
        let after = raw::exchange(&server, &ctx.good().bytes()).await;
        if check_ready(&after, Some(MARKER)).is_err() {
            failures.push(format!(
                "{}: the server no longer serves a good handshake after this case",
                case.name
            ));
        }
        report.push((case.name, answer.status, answer.elapsed, cpu));
    }
    print_report(&report);
    server_log::assert_clean(&[&ctx.guest_token, &ctx.client_token]);
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from docs/handshake.md:\n{}",
        failures.len(),
        report.len(),
        failures.join("\n")
    );
}

fn check(case: &Case, answer: &Answer, ctx: &Ctx) -> Result<(), String> {
    if answer.hung {
        return Err(format!("no complete answer within {:?}", raw::ANSWER_DEADLINE));
    }
    for token in [&ctx.guest_token, &ctx.client_token] {
        if answer.head_text.contains(token.as_str())
            || String::from_utf8_lossy(&answer.body).contains(token.as_str())
        {
            return Err("the answer holds a token".into());
        }
    }
    if answer.header("sec-websocket-extensions").is_some() {
        return Err("an extension was accepted; deflate is off".into());
    }
    match case.expect {
        Expect::Ready(echo) => check_ready(answer, echo),
        Expect::Close(echo, code, error) => {
            check_upgrade(answer, echo)?;
            let (got, reason) = answer.close().ok_or_else(|| {
                format!("no close frame first, got {:?}", answer.frame.as_ref().map(|f| f.0))
            })?;
            if got != code || !reason.starts_with(&format!("{error}: ")) {
                return Err(format!("close {got} `{reason}`, expected {code} `{error}: …`"));
            }
            if reason.len() > 123 || !reason.contains(" [ref ") {
                return Err(format!(
                    "reason over 123 bytes or without its log reference: {reason}"
                ));
            }
            Ok(())
        }
        Expect::Dropped if answer.status == 0 && answer.head_text.is_empty() => Ok(()),
        Expect::Dropped => Err(format!(
            "expected the connection closed without an answer, got status {}",
            answer.status
        )),
        Expect::Http(status, error, header) => {
            if answer.status != status {
                return Err(format!("status {}, expected {status}", answer.status));
            }
            if error.is_some() && answer.json_error().as_deref() != error {
                return Err(format!("JSON error {:?}, expected {error:?}", answer.json_error()));
            }
            if let Some((name, value)) = header.and_then(|h| h.split_once(": "))
                && answer.header(&name.to_ascii_lowercase()) != Some(value)
            {
                return Err(format!("no `{name}: {value}` header"));
            }
            Ok(())
        }
    }
}

fn check_ready(answer: &Answer, echo: Option<&str>) -> Result<(), String> {
    check_upgrade(answer, echo)?;
    match &answer.frame {
        Some((0x1, payload)) if payload.starts_with(br#"{"type":"ready""#) => Ok(()),
        other => Err(format!(
            "expected `ready` first, got {:?}",
            other.as_ref().map(|(op, p)| (
                op,
                String::from_utf8_lossy(p).chars().take(80).collect::<String>()
            ))
        )),
    }
}

/// A `101` that a strict client (Chromium) accepts: the right accept key, and at most one
/// `Sec-WebSocket-Protocol`, byte-identical to a value offered.
fn check_upgrade(answer: &Answer, echo: Option<&str>) -> Result<(), String> {
    if answer.status != 101 {
        return Err(format!(
            "status {}, expected 101 (body {:.200})",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        ));
    }
    if answer.header("sec-websocket-accept") != Some(derive_accept_key(KEY.as_bytes()).as_str()) {
        return Err(format!(
            "wrong Sec-WebSocket-Accept {:?}",
            answer.header("sec-websocket-accept")
        ));
    }
    let echoed = answer.header_values("sec-websocket-protocol");
    if echoed.len() > 1 || echoed.first().copied() != echo {
        return Err(format!("echoed {echoed:?}, expected exactly {echo:?}"));
    }
    Ok(())
}

/// CPU seconds of this whole process (client and in-process server), from /proc/self/stat.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

fn print_report(report: &[(&str, u16, Duration, Option<Duration>)]) {
    println!(
        "handshake matrix: {} cases (latency from first byte sent to last byte needed; CPU of the whole test process)",
        report.len()
    );
    println!("{:<26} {:>6} {:>10} {:>10}", "case", "status", "ms", "cpu ms");
    for (name, status, elapsed, cpu) in report {
        let cpu = cpu.map_or("-".into(), |c| c.as_millis().to_string());
        println!("{name:<26} {status:>6} {:>10.2} {cpu:>10}", elapsed.as_secs_f64() * 1000.0);
    }
    let max = report.iter().max_by_key(|r| r.2).unwrap();
    println!("slowest: {} at {:.2} ms", max.0, max.2.as_secs_f64() * 1000.0);
}

#[test]
fn the_documented_matrix_is_this_table() {
    let text = crate::support::repo_file("docs/handshake.md");
    let section = text
        .split("\n## The matrix\n")
        .nth(1)
        .expect("docs/handshake.md has a `## The matrix` section");
    let section = section.split("\n## ").next().unwrap();
    let documented: Vec<&str> = section.lines().filter(|l| l.starts_with("| `")).collect();
    let expected: Vec<String> = cases()
        .iter()
        .map(|c| format!("| `{}` | {} | {} | {} |", c.name, c.what, c.expect.render(), c.rule))
        .collect();
    assert_eq!(
        documented,
        expected,
        "docs/handshake.md's matrix differs from the test's; the rows should be:\n{}",
        expected.join("\n")
    );
    assert!(
        expected.len() >= 40,
        "the matrix has {} rows; issue 9 asks for at least 40",
        expected.len()
    );
    let rules: std::collections::BTreeSet<&str> = cases().iter().map(|c| c.rule).collect();
    for rule in ["H1", "H2", "H3", "H4", "H5", "H6", "H7", "H8", "H9"] {
        assert!(rules.contains(rule), "no case checks rule {rule}");
        assert!(
            text.contains(&format!("**{rule}.")),
            "docs/handshake.md does not state rule {rule}"
        );
    }
}
