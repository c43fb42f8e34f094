//! Attachments (docs/attachments.md) over the real server: a file both ways, ranged reads,
//! who may read, and every bad upload refused with its own code and nothing left behind.
//! In cluster mode (`PORCH_TEST_CLUSTER=1`) guests upload through node 1 and agents read
//! through node 2, from PostgreSQL.

use std::time::Duration;

use porch_client::api::Api;
use porch_wire::ErrorCode;
use serde_json::{Value, json};

use crate::support::{TestServer, cluster_mode};

const GUEST_ATTACHMENTS: &str = porch_wire::GUEST_ATTACHMENTS_PATH;

/// A PNG's signature and `len - 8` bytes of anything.
pub fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..len.saturating_sub(8)).map(|i| (i % 251) as u8));
    bytes
}

async fn body(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn code(v: &Value) -> Option<ErrorCode> {
    ErrorCode::from_name(v["error"].as_str()?)
}

/// `POST` an upload request with a bearer token.
pub async fn ask(api: &Api, path: &str, token: &str, request: Value) -> (u16, Value) {
    let response =
        api.http().post(api.url(path)).bearer_auth(token).json(&request).send().await.unwrap();
    body(response).await
}

fn upload_request(id: &str, name: &str, size: usize, content_type: &str) -> Value {
    json!({"clientMessageId": id, "name": name, "size": size, "contentType": content_type})
}

/// Asks a guest upload URL for `bytes` declared as `content_type`, then `PUT`s `bytes`.
async fn guest_upload(
    server: &TestServer,
    token: &str,
    id: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> (u16, Value) {
    let request = upload_request(id, "file.png", bytes.len(), content_type);
    let (status, grant) = ask(&server.api, GUEST_ATTACHMENTS, token, request).await;
    assert_eq!(status, 201, "{grant}");
    put(&server.api, grant["uploadUrl"].as_str().unwrap(), bytes).await
}

pub async fn put(api: &Api, url: &str, bytes: Vec<u8>) -> (u16, Value) {
    body(api.http().put(url).body(bytes).send().await.unwrap()).await
}

/// A `PUT` written by hand (reqwest here streams no body): `header`, then each part of the
/// body after its pause; the answer's status and JSON body. The connection closes after it.
async fn raw_put(
    url: &str,
    header: &str,
    parts: impl IntoIterator<Item = (Duration, Vec<u8>)>,
) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let url = reqwest::Url::parse(url).unwrap();
    let address = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let head =
        format!("PUT {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{header}\r\n\r\n", url.path());
    socket.write_all(head.as_bytes()).await.unwrap();
    for (pause, part) in parts {
        tokio::time::sleep(pause).await;
        if socket.write_all(&part).await.is_err() {
            break; // refused already: the answer says why
        }
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let json = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(json).unwrap_or(Value::String(answer.clone())))
}

async fn attachment_messages(server: &TestServer, token: &str) -> usize {
    let page = server.api.guest_history(token, "").await.unwrap();
    page.messages.iter().filter(|m| m.attachment.is_some()).count()
}

#[tokio::test]
async fn a_guest_file_reaches_the_agent_whole_and_safe_to_open() {
    let server = TestServer::start().await;
    let guest = server.guest().await;
    let bytes = png(300_000);
    let (status, sent) =
        guest_upload(&server, &guest.access_token, "a-1", "image/png", bytes.clone()).await;
    assert_eq!(status, 201, "{sent}");
    let message = &sent["message"];
    assert_eq!(message["attachment"]["size"], 300_000);
    assert_eq!(message["attachment"]["contentType"], "image/png");
    assert_eq!(message["seq"], 1);
    let attachment_id = message["attachment"]["id"].as_str().unwrap().to_owned();

    // The agent reads it through its own node (node 2 in cluster mode).
    let agent = server.agent().await;
    let path = porch_wire::AGENT_ATTACHMENT_PATH
        .replace("{id}", &guest.conversation_id)
        .replace("{attachment_id}", &attachment_id);
    let http = server.agent_api.http();
    let (status, link) = body(
        http.get(server.agent_api.url(&path))
            .bearer_auth(&agent.access_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{link}");
    let url = link["url"].as_str().unwrap();
    if cluster_mode() {
        assert!(url.starts_with(server.agent_api.base_url()), "node 2 serves it: {url}");
    }
    let whole = http.get(url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    let h = whole.headers().clone();
    assert_eq!(h["content-type"], "image/png");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["content-disposition"].to_str().unwrap().starts_with("inline;"));
    assert_eq!(h["accept-ranges"], "bytes");
    assert_eq!(whole.bytes().await.unwrap().as_ref(), bytes.as_slice());

    let part = http.get(url).header("range", "bytes=1000-1999").send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], "bytes 1000-1999/300000");
    assert_eq!(part.bytes().await.unwrap().as_ref(), &bytes[1000..2000]);
    let outside = http.get(url).header("range", "bytes=300000-").send().await.unwrap();
    assert_eq!(outside.status(), 416);
    assert_eq!(outside.headers()["content-range"], "bytes */300000");

    // The guest reads its own file; another guest (and its deployment's other sessions) cannot.
    let mine = porch_wire::GUEST_ATTACHMENT_PATH.replace("{attachment_id}", &attachment_id);
    let get = |token: String| {
        let request = server.api.http().get(server.api.url(&mine)).bearer_auth(token);
        async move { body(request.send().await.unwrap()).await }
    };
    assert_eq!(get(guest.access_token.clone()).await.0, 200);
    let stranger = server.guest().await;
    let (status, refused) = get(stranger.access_token.clone()).await;
    assert_eq!((status, code(&refused)), (404, Some(ErrorCode::AttachmentUnknown)), "{refused}");

    // A tampered URL reads nothing.
    let forged = url.replacen("/content/e", "/content/f", 1);
    let (status, refused) = body(http.get(&forged).send().await.unwrap()).await;
    assert_eq!((status, code(&refused)), (403, Some(ErrorCode::AttachmentUrlInvalid)), "{refused}");
}

#[tokio::test]
async fn an_agent_sends_a_pdf_which_downloads_as_an_attachment() {
    let server = TestServer::start().await;
    let guest = server.guest().await;
    let agent = server.agent().await;
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend(std::iter::repeat_n(b'x', 5_000));
    let path = porch_wire::AGENT_ATTACHMENTS_PATH.replace("{id}", &guest.conversation_id);
    let request = upload_request("m-1", "manual \"v2\".pdf", pdf.len(), "application/pdf");
    let (status, grant) = ask(&server.agent_api, &path, &agent.access_token, request).await;
    assert_eq!(status, 201, "{grant}");
    let (status, sent) =
        put(&server.agent_api, grant["uploadUrl"].as_str().unwrap(), pdf.clone()).await;
    assert_eq!(status, 201, "{sent}");
    let seq = sent["message"]["seq"].as_u64().unwrap();
    assert!(seq >= 2, "the agent's first reply took the conversation first: {sent}");

    // The guest reads it through node 1.
    let id = sent["message"]["attachment"]["id"].as_str().unwrap();
    let mine = porch_wire::GUEST_ATTACHMENT_PATH.replace("{attachment_id}", id);
    let request = server.api.http().get(server.api.url(&mine)).bearer_auth(&guest.access_token);
    let (status, link) = body(request.send().await.unwrap()).await;
    assert_eq!(status, 200, "{link}");
    let file = server.api.http().get(link["url"].as_str().unwrap()).send().await.unwrap();
    let disposition = file.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.starts_with("attachment; filename=\"manual _v2_.pdf\""), "{disposition}");
    assert_eq!(file.bytes().await.unwrap().as_ref(), pdf.as_slice());

    // The same URL again: the upload is complete, nothing new is stored.
    let (status, again) = put(&server.agent_api, grant["uploadUrl"].as_str().unwrap(), pdf).await;
    assert_eq!((status, code(&again)), (409, Some(ErrorCode::UploadAlreadyComplete)), "{again}");
    let page = server.api.guest_history(&guest.access_token, "").await.unwrap();
    assert_eq!(page.messages.iter().filter(|m| m.attachment.is_some()).count(), 1);
}

#[tokio::test]
async fn every_bad_upload_has_its_own_code_and_leaves_nothing() {
    let server = TestServer::start_with(|c| {
        c.limits.attachment_upload_idle_ms = 1_000;
        c.limits.attachment_bytes_max = 100_000;
        c.limits.attachment_conversation_bytes_max = 150_000;
    })
    .await;
    let guest = server.guest().await;
    let token = guest.access_token.as_str();

    // Refused at the request: nothing to upload.
    for (request, status, expected) in [
        (
            upload_request("b-1", "big.png", 100_001, "image/png"),
            413,
            ErrorCode::AttachmentTooLarge,
        ),
        (upload_request("b-2", "empty.png", 0, "image/png"), 413, ErrorCode::AttachmentTooLarge),
        (
            upload_request("b-3", "page.html", 10, "text/html"),
            415,
            ErrorCode::AttachmentTypeRefused,
        ),
        (upload_request("b-4", "", 10, "image/png"), 400, ErrorCode::InvalidRequest),
        (upload_request("", "a.png", 10, "image/png"), 400, ErrorCode::BadFrame),
    ] {
        let (got, refused) = ask(&server.api, GUEST_ATTACHMENTS, token, request).await;
        assert_eq!((got, code(&refused)), (status, Some(expected)), "{refused}");
    }

    // Refused during the upload.
    let mut html = b"<!doctype html><script>alert(1)</script>".to_vec();
    html.resize(2_000, b' ');
    let (status, refused) = guest_upload(&server, token, "b-5", "image/png", html).await;
    assert_eq!(
        (status, code(&refused)),
        (415, Some(ErrorCode::AttachmentTypeMismatch)),
        "{refused}"
    );

    let request = upload_request("b-6", "a.png", 1_000, "image/png");
    let (_, grant) = ask(&server.api, GUEST_ATTACHMENTS, token, request).await;
    let url = grant["uploadUrl"].as_str().unwrap().to_owned();
    let (status, refused) = put(&server.api, &url, png(1_001)).await;
    assert_eq!(
        (status, code(&refused)),
        (413, Some(ErrorCode::AttachmentBodyTooLong)),
        "{refused}"
    );
    let (status, refused) = put(&server.api, &url, png(999)).await;
    assert_eq!(
        (status, code(&refused)),
        (400, Some(ErrorCode::AttachmentBodyTooShort)),
        "{refused}"
    );
    // Without a Content-Length (chunked), the count is held as the bytes come.
    let chunked: Vec<u8> = png(1_500)
        .chunks(500)
        .flat_map(|c| [format!("{:x}\r\n", c.len()).into_bytes(), c.to_vec(), b"\r\n".to_vec()])
        .flatten()
        .chain(b"0\r\n\r\n".iter().copied())
        .collect();
    let parts = [(Duration::ZERO, chunked)];
    let (status, refused) = raw_put(&url, "Transfer-Encoding: chunked", parts).await;
    assert_eq!(
        (status, code(&refused)),
        (413, Some(ErrorCode::AttachmentBodyTooLong)),
        "{refused}"
    );

    // A slow drip: the first bytes of 1 000, then nothing for longer than
    // attachment_upload_idle_ms.
    let parts = [(Duration::ZERO, png(100))];
    let (status, refused) = raw_put(&url, "Content-Length: 1000", parts).await;
    assert_eq!((status, code(&refused)), (408, Some(ErrorCode::UploadTooSlow)), "{refused}");

    // A URL altered, or for another purpose.
    let forged = url.replacen("/uploads/e", "/uploads/f", 1);
    let (status, refused) = put(&server.api, &forged, png(1_000)).await;
    assert_eq!((status, code(&refused)), (403, Some(ErrorCode::AttachmentUrlInvalid)), "{refused}");
    let as_download = url.replace("/uploads/", "/content/");
    let (status, refused) = body(server.api.http().get(&as_download).send().await.unwrap()).await;
    assert_eq!((status, code(&refused)), (403, Some(ErrorCode::AttachmentUrlInvalid)), "{refused}");

    // Still good after all that: the URL was never used up by a refused upload.
    let (status, sent) = put(&server.api, &url, png(1_000)).await;
    assert_eq!(status, 201, "{sent}");

    // The quota: 1 000 + 100 000 held, 100 000 more would pass 150 000.
    let (status, sent) = guest_upload(&server, token, "b-7", "image/png", png(100_000)).await;
    assert_eq!(status, 201, "{sent}");
    let request = upload_request("b-8", "c.png", 100_000, "image/png");
    let (status, refused) = ask(&server.api, GUEST_ATTACHMENTS, token, request).await;
    assert_eq!((status, code(&refused)), (409, Some(ErrorCode::AttachmentQuotaFull)), "{refused}");

    assert_eq!(attachment_messages(&server, token).await, 2, "only the two good files");
    if !cluster_mode() {
        // Previews (here markers: these PNGs are not decodable) are made beside the files.
        let mut files = server.attachment_files();
        files.retain(|f| !f.contains("_preview"));
        assert_eq!(files.len(), 2, "only the two good files, settled: {files:?}");
        assert!(files.iter().all(|f| !f.contains('.')), "{files:?}");
    }
}

/// A client that sends half its body and closes: refused as truncated, no file kept.
#[tokio::test]
async fn a_broken_upload_is_truncated_and_leaves_no_file() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start().await;
    let guest = server.guest().await;
    let request = upload_request("t-1", "a.png", 100_000, "image/png");
    let (_, grant) = ask(&server.api, GUEST_ATTACHMENTS, &guest.access_token, request).await;
    let url = reqwest::Url::parse(grant["uploadUrl"].as_str().unwrap()).unwrap();
    let address = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!("PUT {} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", url.path());
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&png(40_000)).await.unwrap();
    socket.shutdown().await.unwrap();
    let mut answer = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), socket.read_to_string(&mut answer)).await;
    assert!(answer.contains("attachment_truncated"), "{answer}");
    assert_eq!(attachment_messages(&server, &guest.access_token).await, 0);
    assert_eq!(server.attachment_files(), Vec::<String>::new());
}

/// RSS of this process (the server runs in it), in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A file far larger than every buffer goes up and comes back while the process's memory
/// stays flat: the server streams (bounded, not timed).
#[tokio::test]
async fn a_large_file_streams_through_in_bounded_memory() {
    const SIZE: usize = 96 * 1024 * 1024;
    const CHUNK: usize = 64 * 1024;
    let server = TestServer::start_with(|c| {
        c.limits.attachment_bytes_max = 128 * 1024 * 1024;
        c.limits.attachment_conversation_bytes_max = 256 * 1024 * 1024;
    })
    .await;
    let guest = server.guest().await;
    // A small file first, so one-time allocations are in the baseline.
    let (status, _) =
        guest_upload(&server, &guest.access_token, "w-1", "image/png", png(1 << 20)).await;
    assert_eq!(status, 201);
    let before = rss_kib();
    let request = upload_request("w-2", "big.png", SIZE, "image/png");
    let (_, grant) = ask(&server.api, GUEST_ATTACHMENTS, &guest.access_token, request).await;
    // Generated as sent: the client holds one chunk at a time too.
    let chunks = (0..SIZE / CHUNK).map(|i| {
        let mut chunk = vec![7u8; CHUNK];
        if i == 0 {
            chunk[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
        }
        (Duration::ZERO, chunk)
    });
    let url = grant["uploadUrl"].as_str().unwrap();
    let (status, sent) = raw_put(url, &format!("Content-Length: {SIZE}"), chunks).await;
    assert_eq!(status, 201, "{sent}");
    let after_upload = rss_kib();
    let id = sent["message"]["attachment"]["id"].as_str().unwrap();
    let mine = porch_wire::GUEST_ATTACHMENT_PATH.replace("{attachment_id}", id);
    let request = server.api.http().get(server.api.url(&mine)).bearer_auth(&guest.access_token);
    let (_, link) = body(request.send().await.unwrap()).await;
    let mut download = server.api.http().get(link["url"].as_str().unwrap()).send().await.unwrap();
    let mut received = 0;
    while let Some(chunk) = download.chunk().await.unwrap() {
        received += chunk.len();
    }
    assert_eq!(received, SIZE);
    let after_download = rss_kib();
    let grew = after_upload.max(after_download).saturating_sub(before);
    // 96 MiB went through; a copy of it would show. 24 MiB allows for allocator and pools.
    assert!(grew < 24 * 1024, "RSS grew {grew} KiB over {before} KiB moving {SIZE} bytes");
}
