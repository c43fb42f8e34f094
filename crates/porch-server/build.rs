//! Embeds every file under `web/public/` in the binary, so `porch` serves the SDK, the
//! widget, the console and the demo pages with no files beside it and no Node at run time.
//! The web code has no build step: what is in `web/public/` is exactly what is served.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    // The variable cargo sets when it runs this script, not `env!` (fixed when the script was
    // compiled): a build cache shared by several checkouts (CI's fresh clones) reuses a
    // compiled script, which must read this checkout's files, not the first one's.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir).join("../../web/public");
    let root = root.canonicalize().expect("web/public exists");
    // A directory here makes cargo rescan the whole tree for changes.
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let mut out = String::from(
        "/// Every file of `web/public/`: (URL path, contents).\npub static FILES: &[(&str, &[u8])] = &[\n",
    );
    for file in &files {
        let url = format!(
            "/{}",
            file.strip_prefix(&root).unwrap().to_str().expect("UTF-8 paths").replace('\\', "/")
        );
        writeln!(out, "    ({url:?}, include_bytes!({:?})),", file.display().to_string()).unwrap();
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("web_files.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
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
