//! What an attachment's content is, from its first bytes (magic numbers), and how a browser
//! may be given it. Pure: the server streams, this decides.
//!
//! Porch's own table, not a crate: it needs only the types Porch allows, and each row is
//! checked here against a real file's first bytes.

/// Bytes of a file's start that `detect` needs (the longest signature, WebP's 12).
pub const SNIFF_BYTES: usize = 12;

/// The types allowed when the operator names none (`attachment_types`): pictures and PDF,
/// which every chat anchor accepts and which have unambiguous signatures. Plain text has none,
/// so it cannot be checked and is not offered.
pub const DEFAULT_TYPES: &[&str] =
    &["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"];

/// Every type Porch can recognise, with its signature: (type, offset, bytes). A type an
/// operator allows must be one of these, or no file could ever match it.
const SIGNATURES: &[(&str, usize, &[u8])] = &[
    ("image/png", 0, b"\x89PNG\r\n\x1a\n"),
    ("image/jpeg", 0, b"\xff\xd8\xff"),
    ("image/gif", 0, b"GIF87a"),
    ("image/gif", 0, b"GIF89a"),
    ("image/webp", 8, b"WEBP"),
    ("application/pdf", 0, b"%PDF-"),
    ("application/zip", 0, b"PK\x03\x04"),
];

/// The type `head` (a file's first bytes, at least `SNIFF_BYTES` or the whole file) starts
/// like, if any. WebP also needs `RIFF` at 0.
pub fn detect(head: &[u8]) -> Option<&'static str> {
    SIGNATURES.iter().find_map(|(kind, at, magic)| {
        let matches = head.get(*at..at + magic.len()) == Some(*magic);
        let riff = *kind != "image/webp" || head.starts_with(b"RIFF");
        (matches && riff).then_some(*kind)
    })
}

/// True when Porch can recognise `content_type` (for checking the operator's list).
pub fn known(content_type: &str) -> bool {
    SIGNATURES.iter().any(|(kind, _, _)| *kind == content_type)
}

/// Whether a browser may show the file in the page (`Content-Disposition: inline`): only the
/// raster images. Anything a browser could run or render as a document (HTML, SVG, XML, PDF,
/// and whatever else) is served as a download.
pub fn inline(content_type: &str) -> bool {
    matches!(content_type, "image/png" | "image/jpeg" | "image/gif" | "image/webp")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_told_from_their_first_bytes_not_their_names() {
        assert_eq!(detect(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("image/png"));
        assert_eq!(detect(b"\xff\xd8\xff\xe0\0\x10JFIF"), Some("image/jpeg"));
        assert_eq!(detect(b"GIF89a\x01\0\x01\0"), Some("image/gif"));
        assert_eq!(detect(b"RIFF\x24\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(detect(b"RIFX\x24\0\0\0WEBPVP8 "), None);
        assert_eq!(detect(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(detect(b"<!doctype html><script>"), None);
        assert_eq!(detect(b"<svg xmlns="), None);
        assert_eq!(detect(b"\x89PN"), None, "a short file matches nothing it does not hold");
        assert!(DEFAULT_TYPES.iter().all(|t| known(t)));
    }

    #[test]
    fn only_raster_images_are_inline() {
        assert!(inline("image/png"));
        for t in ["application/pdf", "image/svg+xml", "text/html", "text/xml", "application/zip"] {
            assert!(!inline(t), "{t}");
        }
    }
}
