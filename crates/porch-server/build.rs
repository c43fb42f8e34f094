//! Embeds every file under `web/public/` in the binary, so `porch` serves the SDK, the
//! widget, the console and the demo pages with no files beside it and no Node at run time.
//! The web code has no build step: what is in `web/public/` is exactly what is served.
//!
//! For each file this also computes, once, what serving it well needs: a strong `ETag` (from
//! its SHA-256) and a gzip copy when that is smaller; and for the whole tree a version, the
//! `/v/{version}/` prefix under which every file may be cached for a year (`assets.rs`).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// A gzip copy is kept only when it saves at least this share of the bytes (in percent):
/// below it, the `Vary` and the client's inflating cost more than they save.
const GZIP_SAVING_PERCENT_MIN: usize = 10;

fn main() {
    // The variable cargo sets when it runs this script, not `env!` (fixed when the script was
    // compiled): a build cache shared by several checkouts (CI's fresh clones) reuses a
    // compiled script, which must read this checkout's files, not the first one's.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir).join("../../web/public");
    let root = root.canonicalize().expect("web/public exists");
    // A directory here makes cargo rescan the whole tree for changes.
    println!("cargo:rerun-if-changed={}", root.display());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let mut tree = Sha256::new();
    let mut out = String::from(
        "/// Every file of `web/public/`: URL path, contents, strong ETag, gzip copy if smaller.\n\
         pub static FILES: &[Asset] = &[\n",
    );
    for (index, file) in files.iter().enumerate() {
        let url = format!(
            "/{}",
            file.strip_prefix(&root).unwrap().to_str().expect("UTF-8 paths").replace('\\', "/")
        );
        let body = std::fs::read(file).expect("readable file");
        let digest = hex(&Sha256::digest(&body));
        tree.update(url.as_bytes());
        tree.update(digest.as_bytes());
        let gzip = match gzip(&body) {
            Some(bytes) => {
                let path = out_dir.join(format!("asset-{index}.gz"));
                std::fs::write(&path, bytes).expect("OUT_DIR is writable");
                format!("Some(include_bytes!({:?}))", path.display().to_string())
            }
            None => "None".to_string(),
        };
        writeln!(
            out,
            "    Asset {{ path: {url:?}, body: include_bytes!({:?}), etag: \"\\\"{}\\\"\", gzip: {gzip} }},",
            file.display().to_string(),
            &digest[..32],
        )
        .unwrap();
    }
    out.push_str("];\n");
    let version = &hex(&tree.finalize())[..12];
    writeln!(out, "/// The version of the whole tree: its `/v/{{version}}/` prefix.").unwrap();
    writeln!(out, "pub const VERSION: &str = {version:?};").unwrap();
    std::fs::write(out_dir.join("web_files.rs"), out).expect("OUT_DIR is writable");
}

/// The gzip copy of `body` (best compression: it is made once, at build time), if it saves
/// at least `GZIP_SAVING_PERCENT_MIN`.
fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(body).expect("writing to memory");
    let packed = encoder.finish().expect("writing to memory");
    (packed.len() * 100 <= body.len() * (100 - GZIP_SAVING_PERCENT_MIN)).then_some(packed)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable web/public") {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            walk(&path, files);
        } else {
            files.push(path);
        }
    }
}
