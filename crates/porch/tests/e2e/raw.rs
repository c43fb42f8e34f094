//! Raw-socket handshakes: requests no well-behaved client library would send, and answers
//! read byte by byte (status line, every header as sent, then the first frame after a `101`).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::TestServer;

/// How long one answer may take before the case counts as hung. Generous on purpose: speed is
/// measured by `porch-bench hardening`, not asserted here (CI machines stall).
pub const ANSWER_DEADLINE: Duration = Duration::from_secs(2);

/// The sample key of RFC 6455 §1.3.
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// An upgrade request, edited header by header. Starts as the documented good request.
#[derive(Clone, Debug)]
pub struct Req {
    pub line: String,
    pub headers: Vec<(String, String)>,
    /// Appended raw after the head (e.g. thousands of extra header lines).
    pub extra: Vec<u8>,
}

impl Req {
    pub fn upgrade(host: &str, path: &str) -> Req {
        let headers = [
            ("Host", host),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", KEY),
            ("Sec-WebSocket-Version", "13"),
        ];
        Req {
            line: format!("GET {path} HTTP/1.1"),
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            extra: Vec::new(),
        }
    }

    pub fn line(mut self, line: &str) -> Req {
        self.line = line.to_string();
        self
    }

    /// Replaces every header of this name (case-insensitive), or adds it.
    pub fn set(self, name: &str, value: &str) -> Req {
        self.remove(name).add(name, value)
    }

    pub fn add(mut self, name: &str, value: &str) -> Req {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn remove(mut self, name: &str) -> Req {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self
    }

    pub fn extra(mut self, bytes: Vec<u8>) -> Req {
        self.extra = bytes;
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.line).into_bytes();
        for (k, v) in &self.headers {
            out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
        out.extend_from_slice(&self.extra);
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// What came back.
#[derive(Debug, Default)]
pub struct Answer {
    /// 0 when the server closed without a status line.
    pub status: u16,
    /// Header lines as sent, name lower-cased.
    pub headers: Vec<(String, String)>,
    pub head_text: String,
    pub body: Vec<u8>,
    /// After a `101`: the first frame's opcode and payload.
    pub frame: Option<(u8, Vec<u8>)>,
    /// From the first byte written to the last byte needed.
    pub elapsed: Duration,
    /// The server stopped answering: no complete answer within `ANSWER_DEADLINE`.
    pub hung: bool,
}

impl Answer {
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name).first().copied()
    }

    /// Close code and reason, if the first frame is a close frame.
    pub fn close(&self) -> Option<(u16, String)> {
        match &self.frame {
            Some((0x8, payload)) if payload.len() >= 2 => Some((
                u16::from_be_bytes([payload[0], payload[1]]),
                String::from_utf8_lossy(&payload[2..]).into_owned(),
            )),
            _ => None,
        }
    }

    /// The `error` field of a JSON body.
    pub fn json_error(&self) -> Option<String> {
        let value: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        value["error"].as_str().map(str::to_string)
    }
}

pub fn host(server: &TestServer) -> String {
    server.api.base_url().trim_start_matches("http://").to_string()
}

/// Sends `request` (written concurrently with reading, so a server that answers early and
/// closes is seen) and reads the answer: head, body (by `content-length`), or after a `101`
/// the first frame.
pub async fn exchange(server: &TestServer, request: &[u8]) -> Answer {
    let stream = tokio::net::TcpStream::connect(host(server)).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let request = request.to_vec();
    // A HEAD answer announces a length but carries no body.
    let head_only = request.starts_with(b"HEAD ");
    let started = Instant::now();
    let writing = tokio::spawn(async move {
        // A refusal may come while we are still writing; the error that follows is expected.
        let _ = writer.write_all(&request).await;
        writer
    });
    let mut answer = Answer::default();
    let mut data = Vec::new();
    let read = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            if parse(&data, &mut answer, head_only) {
                return;
            }
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => {
                    parse(&data, &mut answer, head_only);
                    return;
                }
                Ok(n) => data.extend_from_slice(&buf[..n]),
            }
        }
    };
    answer.hung = tokio::time::timeout(ANSWER_DEADLINE, read).await.is_err();
    answer.elapsed = started.elapsed();
    writing.abort();
    answer
}

/// Fills `answer` from `data`; true once the answer is complete.
fn parse(data: &[u8], answer: &mut Answer, head_only: bool) -> bool {
    let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else { return false };
    let head = String::from_utf8_lossy(&data[..end]).into_owned();
    let mut lines = head.lines();
    answer.status =
        lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    answer.headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    answer.head_text = head;
    let rest = &data[end + 4..];
    if answer.status == 101 {
        // A server frame: FIN+opcode, unmasked length (7 bits, or 16 after 126).
        if rest.len() < 2 {
            return false;
        }
        let (len, offset) = match rest[1] & 0x7f {
            126 if rest.len() >= 4 => (usize::from(u16::from_be_bytes([rest[2], rest[3]])), 4),
            126 => return false,
            127 => return true, // never sent as a first frame; leave `frame` empty
            n => (usize::from(n), 2),
        };
        if rest.len() < offset + len {
            return false;
        }
        answer.frame = Some((rest[0] & 0x0f, rest[offset..offset + len].to_vec()));
        return true;
    }
    let length: usize = if head_only {
        0
    } else {
        answer.header("content-length").and_then(|l| l.parse().ok()).unwrap_or(0)
    };
    answer.body = rest[..rest.len().min(length)].to_vec();
    rest.len() >= length
}
