//! The Content-Security-Policy of the pages Porch serves (the console, the demo and example
//! pages): scripts only from Porch itself, or inline scripts the page was shipped with, named
//! by their SHA-256 hash. Never `'unsafe-inline'`: a text a stranger wrote (a guest's message,
//! a notice) can then never run on these pages, even if a rendering bug put it into the DOM as
//! markup, and neither can an event-handler attribute.
//!
//! The hashes are computed from the embedded page itself, once, so a page's inline script can
//! change without anyone updating a list: what is in `web/public/` is what is allowed.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::http::HeaderValue;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Everything but `script-src`, which depends on the page. Styles may stay inline: the pages
/// and the widget's shadow root use `<style>`, and CSS cannot run code.
const REST: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; \
    connect-src 'self' ws: wss:; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'";

/// The policy of each HTML page, by URL path, computed at first use.
static POLICIES: LazyLock<HashMap<&'static str, HeaderValue>> = LazyLock::new(|| {
    crate::assets::html_files().map(|(name, body)| (name, header(&policy(body)))).collect()
});

/// The policy of the page at `name` (an HTML file of `web/public/`).
pub fn for_page(name: &str) -> HeaderValue {
    POLICIES.get(name).cloned().unwrap_or_else(|| header(&policy(b"")))
}

fn header(policy: &str) -> HeaderValue {
    HeaderValue::from_str(policy).expect("a policy is ASCII without control characters")
}

/// `script-src 'self'`, plus the hash of each inline script of `page`.
pub fn policy(page: &[u8]) -> String {
    let mut script_src = String::from("script-src 'self'");
    for script in inline_scripts(page) {
        let digest = Sha256::digest(script);
        let hash = base64::engine::general_purpose::STANDARD.encode(digest);
        script_src.push_str(&format!(" 'sha256-{hash}'"));
    }
    format!("{script_src}; {REST}")
}

/// The contents of every `<script>` element without a `src`, byte for byte as the browser
/// hashes them: from after the start tag's `>` to the first `</script` (which, as in HTML,
/// ends the element whatever comes before it).
fn inline_scripts(page: &[u8]) -> Vec<&[u8]> {
    let mut scripts = Vec::new();
    let mut rest = page;
    while let Some(start) = find(rest, b"<script") {
        let after_name = &rest[start + b"<script".len()..];
        // `<scripts>` or `<script-x>` is another element.
        if !after_name.first().is_some_and(|b| b.is_ascii_whitespace() || *b == b'>') {
            rest = after_name;
            continue;
        }
        let Some(tag_end) = after_name.iter().position(|b| *b == b'>') else { break };
        let attributes = &after_name[..tag_end];
        let body = &after_name[tag_end + 1..];
        let Some(end) = find(body, b"</script") else { break };
        if !has_src(attributes) {
            scripts.push(&body[..end]);
        }
        rest = &body[end..];
    }
    scripts
}

/// Whether a start tag's attributes include `src`.
fn has_src(attributes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(attributes).to_ascii_lowercase();
    text.split(|c: char| c.is_ascii_whitespace()).any(|a| a == "src" || a.starts_with("src="))
}

/// The first position of `needle` in `haystack`, ignoring ASCII case.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash a browser computes (and reports in its console when it blocks a script): the
    /// example of the CSP Level 3 specification, `alert('Hello, world.');`.
    #[test]
    fn an_inline_script_is_allowed_by_its_hash() {
        let page = b"<p>x</p><script>alert('Hello, world.');</script>";
        let policy = policy(page);
        assert!(
            policy.starts_with(
                "script-src 'self' 'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng=';"
            ),
            "{policy}"
        );
        assert!(!policy.split(';').next().unwrap().contains("unsafe-inline"), "{policy}");
    }

    #[test]
    fn scripts_loaded_by_src_and_other_elements_add_nothing() {
        let page = b"<script type=\"module\" src=\"console.js\"></script><scripts>x</scripts>\
                     <SCRIPT TYPE=module>let a = '</' + 'script>';</SCRIPT>";
        let scripts = inline_scripts(page);
        assert_eq!(scripts, [b"let a = '</' + 'script>';".as_slice()], "the uppercase one only");
        assert_eq!(policy(b"<p>no scripts</p>").split(';').next(), Some("script-src 'self'"));
    }

    #[test]
    fn every_page_has_a_policy_without_inline_scripts_allowed_by_default() {
        for (name, _) in crate::assets::html_files() {
            let value = for_page(name);
            let policy = value.to_str().unwrap();
            let script_src = policy.split(';').next().unwrap();
            assert!(script_src.starts_with("script-src 'self'"), "{name}: {policy}");
            assert!(!script_src.contains("unsafe"), "{name}: {policy}");
            assert!(policy.contains("frame-ancestors 'none'"), "{name}: {policy}");
        }
    }
}
