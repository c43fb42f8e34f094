//! The files of `web/public/` as browsers and caches get them: a strong ETag and `304` on
//! revalidation, a gzip copy for clients that accept it, a year of caching under the current
//! version's `/v/{version}/` prefix, and old prefixes still answered after an upgrade.

use std::io::Read;

use crate::support::{TestServer, repo_file};

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes).read_to_string(&mut text).expect("a valid gzip body");
    text
}

#[tokio::test]
async fn files_are_gzipped_for_clients_that_accept_it() {
    let server = TestServer::start().await;
    let http = server.api.http();
    let url = server.api.url("/sdk/connection.js");
    let zipped = http.get(&url).header("accept-encoding", "br, gzip").send().await.unwrap();
    assert_eq!(zipped.status(), 200);
    assert_eq!(header(&zipped, "content-encoding"), Some("gzip"));
    assert_eq!(header(&zipped, "vary"), Some("Accept-Encoding"));
    let zipped_tag = header(&zipped, "etag").unwrap().to_string();
    let body = zipped.bytes().await.unwrap();
    let original = repo_file("web/public/sdk/connection.js");
    assert!(body.len() < original.len(), "gzip is smaller: {} of {}", body.len(), original.len());
    assert_eq!(gunzip(&body), original);
    let plain = http.get(&url).send().await.unwrap();
    assert_eq!(header(&plain, "content-encoding"), None, "no Accept-Encoding, no gzip");
    assert_ne!(header(&plain, "etag").unwrap(), zipped_tag, "each encoding has its own ETag");
    assert_eq!(plain.text().await.unwrap(), original);
}

#[tokio::test]
async fn a_revalidation_with_the_etag_gets_304_without_a_body() {
    let server = TestServer::start().await;
    let http = server.api.http();
    let url = server.api.url("/widget/widget.js");
    let first = http.get(&url).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(header(&first, "cache-control"), Some("no-cache"), "revalidated on each use");
    let etag = header(&first, "etag").unwrap().to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "a strong validator: {etag}");
    let again = http
        .get(&url)
        .header("accept-encoding", "gzip")
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(header(&again, "etag"), Some(etag.as_str()));
    assert!(again.bytes().await.unwrap().is_empty());
    let other = http.get(&url).header("if-none-match", "\"0123\"").send().await.unwrap();
    assert_eq!(other.status(), 200, "another ETag is not a match");
}

#[tokio::test]
async fn versioned_urls_are_cached_for_a_year_and_old_versions_still_answer() {
    let server = TestServer::start().await;
    let http = server.api.http();
    let plain = http.get(server.api.url("/widget/widget.js")).send().await.unwrap();
    let versioned = header(&plain, "content-location").expect("the versioned URL").to_string();
    let version = versioned.strip_prefix("/v/").and_then(|v| v.strip_suffix("/widget/widget.js"));
    let version = version.unwrap_or_else(|| panic!("Content-Location {versioned}"));
    assert!(version.len() == 12 && version.bytes().all(|b| b.is_ascii_hexdigit()), "{version}");
    let original = repo_file("web/public/widget/widget.js");
    // The widget and the modules it imports relatively, all under the same prefix, and the
    // SDK's builds (docs/sdk.md, "Loading it").
    let paths = [
        "/widget/widget.js",
        "/widget/view.js",
        "/sdk/porch.js",
        "/sdk/dist/porch.esm.js",
        "/sdk/dist/porch.iife.min.js",
    ];
    for path in paths {
        let response =
            http.get(server.api.url(&format!("/v/{version}{path}"))).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            header(&response, "cache-control"),
            Some("public, max-age=31536000, immutable"),
            "{path}"
        );
        assert_eq!(header(&response, "content-type"), Some("text/javascript; charset=utf-8"));
        if path == "/widget/widget.js" {
            assert_eq!(response.text().await.unwrap(), original);
        }
    }
    let map = format!("/v/{version}/sdk/dist/porch.iife.min.js.map");
    let map = http.get(server.api.url(&map)).send().await.unwrap();
    assert_eq!(header(&map, "content-type"), Some("application/json"), "a source map is JSON");
    let old = http.get(server.api.url("/v/000000000000/widget/widget.js")).send().await.unwrap();
    assert_eq!(old.status(), 200, "a page written before an upgrade still loads the widget");
    assert_eq!(header(&old, "cache-control"), Some("no-cache"), "but not pinned for a year");
    let missing =
        http.get(server.api.url(&format!("/v/{version}/nothing.js"))).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}
