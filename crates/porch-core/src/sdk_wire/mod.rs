//! The browser SDK's copy of the wire contract, written from the one source: `porch-wire`
//! (error codes with their HTTP status, close code, reconnect class and `retryable`; the
//! reconnect rules; paths; the subprotocol marker) and the client-facing rows of `limits`.
//!
//! `javascript()` is `web/public/sdk/wire.gen.js` and `typescript()` its types,
//! `web/public/sdk/wire.gen.d.ts`; `types` writes the frames and REST bodies
//! (`web/public/sdk/wire-types.gen.d.ts`, from `porch_wire::ts`) and `examples` the Rust
//! values that hold those declarations to serde. They are committed, served as they are, and
//! held to this module by `tests/sdk_wire.rs`, which rewrites them under `PORCH_UPDATE_DOCS=1`
//! (`scripts/regen-sdk-wire.sh`). Pure text, no IO.

pub mod examples;
pub mod types;

use std::fmt::Write as _;

use porch_wire::code::{CLOSE_REASON_BYTES_MAX, RECONNECT_RULES};
use porch_wire::{ErrorCode, PATHS, PROTOCOL_MARKER, ReconnectClass};

use crate::limits::{LimitRow, ROWS};

/// The limits a client needs, by the name the SDK gives them (`ready.limits` uses the same
/// names for the two it carries) and the constant of their row.
const CLIENT_LIMITS: &[(&str, &str)] = &[
    ("messageBytesMax", "WS_MESSAGE_BYTES_MAX"),
    ("textCharsMax", "TEXT_CHARS_MAX"),
    ("clientMessageIdCharsMax", "CLIENT_MESSAGE_ID_CHARS_MAX"),
    ("heartbeatIntervalMs", "HEARTBEAT_INTERVAL_MS"),
    ("historyPageMax", "HISTORY_PAGE_MAX"),
    ("historyPageDefault", "HISTORY_PAGE_DEFAULT"),
    ("resumeMessagesMax", "RESUME_MESSAGES_MAX"),
    ("tokenLeewaySecs", "TOKEN_LEEWAY_SECS"),
    ("lastMessagePreviewCharsMax", "LAST_MESSAGE_PREVIEW_CHARS_MAX"),
];

const HEADER: &str = "// Generated from crates/porch-wire and crates/porch-core/src/limits.rs by\n\
// crates/porch-core/src/sdk_wire/: do not edit. Regenerate with scripts/regen-sdk-wire.sh.\n";

/// The API version the SDK speaks: the server's version, which the npm package follows.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `web/public/sdk/wire.gen.js`.
pub fn javascript() -> String {
    let mut out = String::from(HEADER);
    out.push_str("// Plain data, no side effects: bundlers drop what a program does not use.\n\n");
    let _ = writeln!(out, "/** The server version this SDK was written from. */");
    let _ = writeln!(out, "export const API_VERSION = {};", lit(API_VERSION));
    let _ =
        writeln!(out, "/** The first `Sec-WebSocket-Protocol` value; the token is the second. */");
    let _ = writeln!(out, "export const PROTOCOL_MARKER = {};", lit(PROTOCOL_MARKER));
    let _ = writeln!(out, "/** Longest close reason, in bytes (RFC 6455). */");
    let _ = writeln!(out, "export const CLOSE_REASON_BYTES_MAX = {CLOSE_REASON_BYTES_MAX};\n");
    out.push_str(
        "/** Every REST and gateway path; `{name}` parts are filled in by the caller. */\n",
    );
    out.push_str("export const PATHS = {\n");
    for (name, path) in PATHS {
        let _ = writeln!(out, "  {name}: {},", lit(path));
    }
    out.push_str("};\n\n");
    out.push_str(
        "/** Close codes by inclusive range `[first, last, class]`; any other code backs off. */\n",
    );
    out.push_str("export const RECONNECT_RULES = [\n");
    for (first, last, class) in RECONNECT_RULES {
        let _ = writeln!(out, "  [{first}, {last}, {}],", lit(class_name(*class)));
    }
    out.push_str("];\n\n");
    out.push_str(
        "/** Every error code: HTTP status, close code, what a client does after that close,\n",
    );
    out.push_str(" * and whether the same request may succeed if sent again (protocol.md, \"Error codes\"). */\n");
    out.push_str("export const ERRORS = {\n");
    for code in ErrorCode::ALL {
        let spec = code.spec();
        let _ = writeln!(
            out,
            "  {}: {{ status: {}, close: {}, reconnect: {}, retryable: {} }},",
            code.as_str(),
            spec.http_status,
            spec.close_code.0,
            lit(class_name(spec.close_code.reconnect_class())),
            code.retryable(),
        );
    }
    out.push_str("};\n\n");
    out.push_str("/** The server's default limits; `ready.limits` carries those in force. */\n");
    out.push_str("export const LIMITS = {\n");
    for (name, constant) in CLIENT_LIMITS {
        let _ = writeln!(out, "  {name}: {},", row(constant).default);
    }
    out.push_str("};\n");
    out
}

/// `web/public/sdk/wire.gen.d.ts`.
pub fn typescript() -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    out.push_str("/** Every code Porch answers a refusal with (REST `error`, `error` frames, close reasons). */\n");
    let names: Vec<String> = ErrorCode::ALL.iter().map(|c| lit(c.as_str())).collect();
    let _ = writeln!(out, "export type ErrorCode =\n  | {};\n", names.join("\n  | "));
    out.push_str(
        "/** What a client does after a close: stop, back off, or reconnect soon and resume. */\n",
    );
    out.push_str("export type ReconnectClass = 'terminal' | 'backoff' | 'immediate';\n\n");
    out.push_str(
        "export interface ErrorSpec {\n  /** HTTP status on REST. */\n  readonly status: number;\n",
    );
    out.push_str("  /** WebSocket close code, when the error ends a connection. */\n  readonly close: number;\n");
    out.push_str(
        "  /** What a client does after that close. */\n  readonly reconnect: ReconnectClass;\n",
    );
    out.push_str(
        "  /** Whether the same request (same `clientMessageId`) may succeed if sent again. */\n",
    );
    out.push_str("  readonly retryable: boolean;\n}\n\n");
    let _ = writeln!(out, "export declare const API_VERSION: {};", lit(API_VERSION));
    let _ = writeln!(out, "export declare const PROTOCOL_MARKER: {};", lit(PROTOCOL_MARKER));
    let _ =
        writeln!(out, "export declare const CLOSE_REASON_BYTES_MAX: {CLOSE_REASON_BYTES_MAX};\n");
    out.push_str("export declare const PATHS: {\n");
    for (name, path) in PATHS {
        let _ = writeln!(out, "  readonly {name}: {};", lit(path));
    }
    out.push_str("};\n\n");
    out.push_str("export declare const RECONNECT_RULES: ReadonlyArray<readonly [number, number, ReconnectClass]>;\n\n");
    out.push_str("export declare const ERRORS: {\n");
    for code in ErrorCode::ALL {
        let _ = writeln!(
            out,
            "  /** {} */\n  readonly {}: ErrorSpec;",
            code.spec().summary,
            code.as_str()
        );
    }
    out.push_str("};\n\n");
    out.push_str("/** The server's default limits; `ready.limits` carries those in force. */\n");
    out.push_str("export declare const LIMITS: {\n");
    for (name, constant) in CLIENT_LIMITS {
        let row = row(constant);
        let _ =
            writeln!(out, "  /** {} ({}) */\n  readonly {name}: number;", row.summary(), row.unit);
    }
    out.push_str("};\n");
    out
}

fn row(constant: &str) -> &'static LimitRow {
    ROWS.iter()
        .find(|r| r.constant == constant)
        .unwrap_or_else(|| panic!("CLIENT_LIMITS names {constant}, which limits.rs lacks"))
}

fn class_name(class: ReconnectClass) -> &'static str {
    match class {
        ReconnectClass::Terminal => "terminal",
        ReconnectClass::Backoff => "backoff",
        ReconnectClass::Immediate => "immediate",
    }
}

/// A JavaScript string literal (JSON's is one).
fn lit(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}
