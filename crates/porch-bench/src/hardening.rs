//! `hardening`: what abusive handshakes cost a real `porch` process. Each case of the
//! handshake matrix worth timing (docs/handshake.md, "The matrix"; the e2e test checks every
//! case's answer, this measures them) is sent `repeat` times, one after another, over raw
//! sockets: latency from the first byte written to the last byte of the answer needed (status
//! line and headers; after a `101`, the first frame), and the server's CPU per request from
//! /proc/PID/stat. The 20 MB header (the CVE-2023-43669 class) is the one SECURITY.md quotes.
//! A case whose answer is not the documented status counts as an error, which fails the run.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::server::Server;
use crate::stats::{Latencies, Report};

#[derive(Clone, Debug)]
pub struct Params {
    /// Requests per case (the 20 MB header: a tenth of it, at least 3).
    pub repeat: usize,
}

/// Give up on one answer after this long; counted as an error.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const MARKER: &str = porch_wire::PROTOCOL_MARKER;

struct Case {
    name: &'static str,
    /// Sent in turn (the good case: one per guest, as a guest may hold only a few sessions).
    requests: Vec<Vec<u8>>,
    status: u16,
    /// After a `101`: the first frame's opcode (1: `ready`, 8: a close).
    opcode: Option<u8>,
    /// Fewer repetitions: each request is megabytes.
    heavy: bool,
}

fn request(host: Option<&str>, headers: &[(&str, &str)], extra: &str) -> Vec<u8> {
    let mut out = format!("GET {} HTTP/1.1\r\n", porch_wire::GATEWAY_PATH);
    if let Some(host) = host {
        out.push_str(&format!("Host: {host}\r\n"));
    }
    out.push_str(&format!(
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n"
    ));
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(extra);
    out.push_str("\r\n");
    out.into_bytes()
}

fn cases(host: &str, tokens: &[String], client_token: &str) -> Vec<Case> {
    let host = Some(host);
    let v13 = ("Sec-WebSocket-Version", "13");
    let token = tokens[0].as_str();
    let pair = format!("{MARKER}, {token}");
    let case = |name, request, status, opcode, heavy| Case {
        name,
        requests: vec![request],
        status,
        opcode,
        heavy,
    };
    let filler: String = (0..2_000).map(|i| format!("X-Filler-{i}: x\r\n")).collect();
    let good: Vec<Vec<u8>> = tokens
        .iter()
        .map(|t| request(host, &[v13, ("Sec-WebSocket-Protocol", &format!("{MARKER}, {t}"))], ""))
        .collect();
    vec![
        Case { name: "good", requests: good, status: 101, opcode: Some(1), heavy: false },
        case(
            "version_8",
            request(host, &[("Sec-WebSocket-Version", "8"), ("Sec-WebSocket-Protocol", &pair)], ""),
            426,
            None,
            false,
        ),
        case(
            "no_host",
            request(None, &[v13, ("Sec-WebSocket-Protocol", &pair)], ""),
            400,
            None,
            false,
        ),
        case(
            "key_not_base64",
            request(
                host,
                &[v13, ("Sec-WebSocket-Protocol", &pair), ("Sec-WebSocket-Key", "x")],
                "",
            ),
            400,
            None,
            false,
        ),
        case(
            "token_alone",
            request(host, &[v13, ("Sec-WebSocket-Protocol", token)], ""),
            401,
            None,
            false,
        ),
        case(
            "marker_alone",
            request(host, &[v13, ("Sec-WebSocket-Protocol", MARKER)], ""),
            101,
            Some(8),
            false,
        ),
        case(
            "token_not_jwt",
            request(host, &[v13, ("Sec-WebSocket-Protocol", &format!("{MARKER}, abc"))], ""),
            101,
            Some(8),
            false,
        ),
        case(
            "client_token",
            request(
                host,
                &[v13, ("Sec-WebSocket-Protocol", &format!("{MARKER}, {client_token}"))],
                "",
            ),
            101,
            Some(8),
            false,
        ),
        case(
            "origin_other",
            request(
                host,
                &[v13, ("Sec-WebSocket-Protocol", &pair), ("Origin", "https://evil.example")],
                "",
            ),
            101,
            Some(8),
            false,
        ),
        case(
            "headers_2000",
            request(host, &[v13, ("Sec-WebSocket-Protocol", &pair)], &filler),
            431,
            None,
            false,
        ),
        case(
            "offer_200kb",
            request(
                host,
                &[v13, ("Sec-WebSocket-Protocol", &format!("{MARKER}, {}", "a".repeat(200_000)))],
                "",
            ),
            101,
            Some(8),
            true,
        ),
        case(
            "header_20mb",
            request(
                host,
                &[v13, ("Sec-WebSocket-Protocol", &pair), ("X-Big", &"a".repeat(20 << 20))],
                "",
            ),
            431,
            None,
            true,
        ),
    ]
}

/// `tokens`: at least `p.repeat` guest tokens, one per good handshake.
pub async fn run(
    server: &mut Server,
    tokens: &[String],
    client_token: &str,
    p: &Params,
) -> Result<Vec<Report>> {
    let host = server.addr.to_string();
    let mut reports = Vec::new();
    for case in cases(&host, tokens, client_token) {
        let repeat = if case.heavy { (p.repeat / 10).max(3) } else { p.repeat };
        let latencies = Latencies::new();
        let mut errors = 0;
        let cpu_before = server.cpu_us()?;
        let started = Instant::now();
        for i in 0..repeat {
            let began = Instant::now();
            match exchange(server.addr, &case.requests[i % case.requests.len()]).await {
                Ok((status, opcode)) if status == case.status && opcode == case.opcode => {
                    latencies.record(began.elapsed())
                }
                Ok(other) => {
                    if errors == 0 {
                        eprintln!(
                            "  {}: got {other:?}, expected ({}, {:?})",
                            case.name, case.status, case.opcode
                        );
                    }
                    errors += 1;
                }
                Err(e) => {
                    if errors == 0 {
                        eprintln!("  {}: {e:#}", case.name);
                    }
                    errors += 1;
                }
            }
        }
        let secs = started.elapsed().as_secs_f64();
        let cpu_us = server.cpu_us()?.saturating_sub(cpu_before);
        server.check_alive()?;
        let ops = (repeat - errors) as u64;
        let mut report = Report {
            scenario: "hardening".into(),
            target: "porch".into(),
            params: format!("{} x{repeat}", case.name),
            ops,
            errors: errors as u64,
            secs,
            rate: ops as f64 / secs,
            latency_ms: latencies.summary(),
            server_cpu_us_per_op: Some(cpu_us as f64 / repeat as f64),
            server_rss_kib: server.rss_kib().ok(),
            ..Default::default()
        };
        report.extra("request_bytes", case.requests[0].len());
        report.extra("expected_status", case.status);
        reports.push(report);
    }
    Ok(reports)
}

/// Writes `request` while reading (a refusal may come before the last byte is sent) and
/// returns the status and, after a `101`, the first frame's opcode.
async fn exchange(addr: SocketAddr, request: &[u8]) -> Result<(u16, Option<u8>)> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut reader, mut writer) = stream.into_split();
    let request = request.to_vec();
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(&request).await;
        writer
    });
    let read = async {
        let mut data = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&data[..end]);
                let status: u16 = head.split(' ').nth(1).context("status line")?.parse()?;
                if status != 101 {
                    return Ok((status, None));
                }
                if data.len() > end + 4 {
                    return Ok((status, Some(data[end + 4] & 0x0f)));
                }
            }
            let n = reader.read(&mut buf).await?;
            anyhow::ensure!(n > 0, "closed after {} bytes", data.len());
            data.extend_from_slice(&buf[..n]);
        }
    };
    let result = tokio::time::timeout(ANSWER_TIMEOUT, read).await.context("no answer")?;
    writing.abort();
    result
}
