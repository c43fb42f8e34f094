//! Image previews (docs/attachments.md, "Previews") over the real server: real PNG and JPEG
//! files, made here, get a small PNG preview with the file's safe headers; a decompression
//! bomb (a header declaring 100 000 × 100 000 pixels) and a corrupt image get none and still
//! download. In cluster mode (`PORCH_TEST_CLUSTER=1`) the guest uploads and reads the preview
//! through node 1, and the agent reads the same preview through node 2.

use porch_client::api::Api;
use porch_wire::ErrorCode;
use serde_json::{Value, json};

use crate::attachments::{ask, png as not_a_png, put};
use crate::support::{TestServer, cluster_mode};

/// A real PNG: `width` × `height` RGB, a gradient.
fn real_png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let pixels: Vec<u8> =
        (0..width * height).flat_map(|i| [(i % width % 256) as u8, 0x40, 0xc0]).collect();
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&pixels).unwrap();
    writer.finish().unwrap();
    out
}

/// A PNG whose header declares `side` × `side` pixels, and no pixels: a decompression bomb's
/// promise, in a few bytes.
fn bomb_png(side: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Rgba);
    drop(encoder.write_header().unwrap());
    out
}

/// Bits of a JPEG's entropy-coded data, with a 0x00 stuffed after each 0xFF byte.
struct Bits {
    bytes: Vec<u8>,
    current: u8,
    used: u8,
}

impl Bits {
    fn push(&mut self, value: u32, count: u8) {
        for i in (0..count).rev() {
            self.current = (self.current << 1) | ((value >> i) & 1) as u8;
            self.used += 1;
            if self.used == 8 {
                self.bytes.push(self.current);
                if self.current == 0xff {
                    self.bytes.push(0);
                }
                (self.current, self.used) = (0, 0);
            }
        }
    }
}

/// A real baseline JPEG, grayscale, every pixel `value`: each 8 × 8 block is only its DC
/// coefficient (`8 × (value − 128)` with a quantiser of 1), so two tiny Huffman tables do.
/// The DC table codes size 10 as `0` and size 0 as `10`; the AC table codes end-of-block as `0`.
fn gray_jpeg(width: u16, height: u16, value: u8) -> Vec<u8> {
    let dc = 8 * (i32::from(value) - 128);
    assert!((512..1024).contains(&dc), "the tables below code a DC of 10 bits only");
    let mut out = vec![0xff, 0xd8];
    out.extend([0xff, 0xdb, 0, 67, 0]);
    out.extend([1u8; 64]);
    out.extend([0xff, 0xc0, 0, 11, 8]);
    out.extend(height.to_be_bytes());
    out.extend(width.to_be_bytes());
    out.extend([1, 1, 0x11, 0]);
    let mut dc_counts = [0u8; 16];
    dc_counts[..2].copy_from_slice(&[1, 1]);
    out.extend([0xff, 0xc4, 0, 21, 0x00]);
    out.extend(dc_counts);
    out.extend([10, 0]);
    let mut ac_counts = [0u8; 16];
    ac_counts[0] = 1;
    out.extend([0xff, 0xc4, 0, 20, 0x10]);
    out.extend(ac_counts);
    out.push(0);
    out.extend([0xff, 0xda, 0, 8, 1, 1, 0x00, 0, 63, 0]);
    let blocks = u32::from(width.div_ceil(8)) * u32::from(height.div_ceil(8));
    let mut bits = Bits { bytes: Vec::new(), current: 0, used: 0 };
    bits.push(0, 1); // size 10
    bits.push(dc as u32, 10);
    bits.push(0, 1); // end of block
    for _ in 1..blocks {
        bits.push(0b10, 2); // size 0: the same DC as the block before
        bits.push(0, 1);
    }
    let pad = (8 - bits.used) % 8;
    bits.push((1 << pad) - 1, pad);
    out.extend(bits.bytes);
    out.extend([0xff, 0xd9]);
    out
}

async fn body(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn code(v: &Value) -> Option<ErrorCode> {
    ErrorCode::from_name(v["error"].as_str()?)
}

/// Uploads `bytes` as the guest; the attachment's id.
async fn upload(
    server: &TestServer,
    token: &str,
    name: &str,
    kind: &str,
    bytes: Vec<u8>,
) -> String {
    let request =
        json!({"clientMessageId": name, "name": name, "size": bytes.len(), "contentType": kind});
    let (status, grant) =
        ask(&server.api, porch_wire::GUEST_ATTACHMENTS_PATH, token, request).await;
    assert_eq!(status, 201, "{grant}");
    let (status, sent) = put(&server.api, grant["uploadUrl"].as_str().unwrap(), bytes).await;
    assert_eq!(status, 201, "{sent}");
    sent["message"]["attachment"]["id"].as_str().unwrap().to_owned()
}

/// The guest's URLs of attachment `id`.
async fn urls(api: &Api, token: &str, id: &str) -> Value {
    let path = porch_wire::GUEST_ATTACHMENT_PATH.replace("{attachment_id}", id);
    let (status, urls) =
        body(api.http().get(api.url(&path)).bearer_auth(token).send().await.unwrap()).await;
    assert_eq!(status, 200, "{urls}");
    urls
}

/// `GET url`: the status, the headers and the body.
async fn fetch(api: &Api, url: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let response = api.http().get(url).send().await.unwrap();
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    (status, headers, response.bytes().await.unwrap().to_vec())
}

/// Width, height, and the first pixel's samples of a PNG.
fn decoded(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("the preview is a PNG");
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buf).unwrap();
    let samples = frame.color_type.samples();
    (frame.width, frame.height, buf[..samples].to_vec())
}

#[tokio::test]
async fn a_png_and_a_jpeg_get_a_small_preview_read_the_same_on_every_node() {
    let server = TestServer::start().await;
    let guest = server.guest().await;
    let token = &guest.access_token;
    let shot = upload(&server, token, "shot.png", "image/png", real_png(1280, 720)).await;
    let photo = upload(&server, token, "photo.jpg", "image/jpeg", gray_jpeg(800, 600, 200)).await;

    let links = urls(&server.api, token, &shot).await;
    let preview_url = links["previewUrl"].as_str().expect("a PNG has a preview URL");
    let (status, h, preview) = fetch(&server.api, preview_url).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&preview));
    assert_eq!(h["content-type"], "image/png");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["content-disposition"].to_str().unwrap().starts_with("inline;"));
    assert_eq!(h["content-security-policy"], "default-src 'none'; sandbox");
    let (w, hgt, first) = decoded(&preview);
    assert_eq!(
        (w, hgt),
        (320, 180),
        "the longer edge is ATTACHMENT_PREVIEW_EDGE_PX, the shape kept"
    );
    assert_eq!(&first[1..], &[0x40, 0xc0], "its colours are the image's");
    assert!(preview.len() < 200_000, "a preview is small: {} bytes", preview.len());

    // The file itself is the upload, untouched; its download URL is no preview URL.
    let file_url = links["url"].as_str().unwrap();
    assert_eq!(fetch(&server.api, file_url).await.2, real_png(1280, 720));
    let (status, refused) = body(
        server
            .api
            .http()
            .get(file_url.replacen("/content/", "/previews/", 1))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, code(&refused)), (403, Some(ErrorCode::AttachmentUrlInvalid)), "{refused}");

    let jpeg = urls(&server.api, token, &photo).await;
    let (status, _, preview) = fetch(&server.api, jpeg["previewUrl"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&preview));
    let (w, hgt, first) = decoded(&preview);
    assert_eq!((w, hgt), (320, 240));
    assert!(first.iter().all(|s| s.abs_diff(200) <= 2), "the JPEG's gray: {first:?}");

    // The agent, on node 2 in cluster mode, reads the preview node 1 made.
    let agent = server.agent().await;
    let path = porch_wire::AGENT_ATTACHMENT_PATH
        .replace("{id}", &guest.conversation_id)
        .replace("{attachment_id}", &shot);
    let api = &server.agent_api;
    let request = api.http().get(api.url(&path)).bearer_auth(&agent.access_token);
    let (status, theirs) = body(request.send().await.unwrap()).await;
    assert_eq!(status, 200, "{theirs}");
    let url = theirs["previewUrl"].as_str().unwrap();
    if cluster_mode() {
        assert!(url.starts_with(api.base_url()), "node 2 serves it: {url}");
    }
    let first_preview = fetch(&server.api, preview_url).await.2;
    assert_eq!(fetch(api, url).await.2, first_preview, "one preview, made once");

    // A PDF has no preview URL.
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend([b'x'; 100]);
    let manual = upload(&server, token, "manual.pdf", "application/pdf", pdf).await;
    assert!(urls(&server.api, token, &manual).await.get("previewUrl").is_none());
}

#[tokio::test]
async fn a_bomb_and_a_corrupt_image_get_no_preview_and_still_download() {
    let server = TestServer::start().await;
    let guest = server.guest().await;
    let token = &guest.access_token;
    let cases = [
        ("bomb.png", bomb_png(100_000), "attachment_preview_source_pixels_max"),
        ("broken.png", not_a_png(5_000), "could not be decoded"),
        ("broken.jpg", b"\xff\xd8\xff\xe0 not really a JPEG".to_vec(), "could not be decoded"),
    ];
    for (name, bytes, why) in cases {
        let kind = if name.ends_with(".png") { "image/png" } else { "image/jpeg" };
        let id = upload(&server, token, name, kind, bytes.clone()).await;
        let links = urls(&server.api, token, &id).await;
        // Twice: the first makes the verdict (or reads the one the upload made), the second
        // reads it.
        for _ in 0..2 {
            let response =
                server.api.http().get(links["previewUrl"].as_str().unwrap()).send().await.unwrap();
            let (status, refused) = body(response).await;
            assert_eq!(
                (status, code(&refused)),
                (404, Some(ErrorCode::PreviewUnavailable)),
                "{name}: {refused}"
            );
            let said = refused["error_description"].as_str().unwrap();
            assert!(said.contains(why) && said.contains("download"), "{name}: {said}");
        }
        let (status, _, file) = fetch(&server.api, links["url"].as_str().unwrap()).await;
        assert_eq!((status, file), (200, bytes), "{name} still downloads");
    }
}
