//! The SDK's generated wire files are what `porch_core::sdk_wire` writes from `porch-wire`
//! and the limits table. `PORCH_UPDATE_DOCS=1` rewrites them (scripts/regen-sdk-wire.sh);
//! then read the diff, and run the SDK's tests.

use std::path::PathBuf;

use porch_core::sdk_wire;

fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative)
}

fn check(relative: &str, expected: &str) {
    let path = repo_path(relative);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed == expected {
        return;
    }
    if std::env::var_os("PORCH_UPDATE_DOCS").is_some() {
        std::fs::write(&path, expected).expect("the SDK folder is writable");
        return;
    }
    panic!(
        "{relative} differs from what porch-wire and limits.rs produce; regenerate it with \
         scripts/regen-sdk-wire.sh (PORCH_UPDATE_DOCS=1), read the diff, run the SDK's tests"
    );
}

#[test]
fn the_sdk_wire_constants_are_generated_from_porch_wire() {
    check("web/public/sdk/wire.gen.js", &sdk_wire::javascript());
}

#[test]
fn the_sdk_wire_types_are_generated_from_porch_wire() {
    check("web/public/sdk/wire.gen.d.ts", &sdk_wire::typescript());
}
