//! `docs/handshake.md` is executed: its raw requests are sent to a real server and the
//! answers compared with the documented bytes (all but the `date` line and log references).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

fn doc() -> String {
    repo_file("docs/handshake.md")
}

fn block(text: &str, info: &str) -> String {
    let fence = format!("```{info}\n");
    let rest =
        text.split(&fence).nth(1).unwrap_or_else(|| panic!("handshake.md lacks a ```{info} block"));
    rest.split("\n```").next().unwrap().to_string()
}

/// Sends `request` and returns the response head (lines, `date` removed) and the first
/// `body_bytes` bytes after it.
async fn exchange(base_url: &str, request: &str, body_bytes: usize) -> (Vec<String>, Vec<u8>) {
    let mut stream =
        tokio::net::TcpStream::connect(base_url.trim_start_matches("http://")).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut data = Vec::new();
    let read_all = async {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(end) = find(&data, b"\r\n\r\n")
                && data.len() >= end + 4 + body_bytes
            {
                return;
            }
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => data.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read_all).await.expect("the server answers");
    let end = find(&data, b"\r\n\r\n").expect("a complete response head");
    let head = String::from_utf8(data[..end].to_vec()).unwrap();
    let lines = head.lines().filter(|l| !l.starts_with("date:")).map(str::to_string).collect();
    (lines, data[end + 4..].to_vec())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn documented_head(block: &str) -> Vec<String> {
    block
        .lines()
        .take_while(|l| !l.is_empty())
        .filter(|l| !l.starts_with("date:"))
        .map(str::to_string)
        .collect()
}

fn request(text: &str, server: &TestServer, token: &str) -> String {
    let host = server.api.base_url().trim_start_matches("http://");
    let request = block(text, "http good-request")
        .replace("127.0.0.1:8080", host)
        .replace("<accessToken>", token);
    format!("{}\r\n\r\n", request.lines().collect::<Vec<_>>().join("\r\n"))
}

#[tokio::test]
async fn the_good_handshake_is_byte_for_byte_as_documented() {
    let server = TestServer::start().await;
    let text = doc();
    let guest = server.guest().await;
    let (head, body) =
        exchange(server.api.base_url(), &request(&text, &server, &guest.access_token), 4).await;
    assert_eq!(head, documented_head(&block(&text, "http good-response")));
    assert_eq!(body[0], 0x81, "a text frame follows: ready");
}

#[tokio::test]
async fn the_client_token_mistake_is_byte_for_byte_as_documented() {
    let server = TestServer::start().await;
    let text = doc();
    let client_token = server.client_token().await;
    let (head, body) =
        exchange(server.api.base_url(), &request(&text, &server, &client_token), 2 + 123).await;
    assert_eq!(head, documented_head(&block(&text, "http bad-response")));
    let documented = block(&text, "text bad-close");
    let (hex, reason) = documented.split_at(12);
    let bytes: Vec<u8> =
        hex.split_whitespace().map(|h| u8::from_str_radix(h, 16).unwrap()).collect();
    assert_eq!(&body[..4], &bytes[..], "close opcode, length and code 4004");
    let got = String::from_utf8_lossy(&body[4..4 + usize::from(body[1]) - 2]).to_string();
    let without_ref = |s: &str| s.split(" [ref ").next().unwrap().to_string();
    assert_eq!(without_ref(&got), without_ref(reason));
}

#[tokio::test]
async fn the_marker_missing_answer_is_as_documented() {
    let server = TestServer::start().await;
    let text = doc();
    let guest = server.guest().await;
    let req = request(&text, &server, &guest.access_token).replace("NICE-WebSocket-Auth, ", "");
    let documented = block(&text, "http marker-missing-response");
    let documented_body: serde_json::Value =
        serde_json::from_str(documented.lines().last().unwrap()).unwrap();
    let length: usize = documented_head(&documented)
        .iter()
        .find_map(|l| l.strip_prefix("content-length: "))
        .unwrap()
        .parse()
        .unwrap();
    let (head, body) = exchange(server.api.base_url(), &req, length).await;
    assert_eq!(head, documented_head(&documented));
    let mut body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    body["error_ref"] = documented_body["error_ref"].clone();
    assert_eq!(body, documented_body);
}

#[tokio::test]
async fn wrong_methods_and_versions_are_answered_as_the_table_says() {
    let server = TestServer::start().await;
    let base = server.api.base_url();
    let post = raw_http(base, "POST /api/v2/gateway HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
    assert!(post.starts_with("HTTP/1.1 405"), "{post}");
    assert!(post.contains(r#""error":"invalid_request""#), "{post}");
}
