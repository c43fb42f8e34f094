//! Writes the committed seed corpus (`corpus/<target>/`): the documented examples of
//! docs/handshake.md and docs/protocol.md, and real tokens signed with the fuzz key.
//! Run from `fuzz/`: `cargo run --example make_seeds`. File names say what each seed is.

use std::path::Path;

use porch_core::token::Claims;
use porch_fuzz::{NOW_SECS, claims, keyring, sign_raw};
use porch_wire::audience;

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let write = |target: &str, name: &str, bytes: &[u8]| -> std::io::Result<()> {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), bytes)
    };

    // handshake_offer: flags byte (1 Authorization, 2 query token, 4 query allowed), then
    // lines; `@` stands for a token. One seed per row of docs/handshake.md's answer table.
    let offers: [(&str, u8, &str); 17] = [
        ("marker-and-token", 0, "NICE-WebSocket-Auth, @"),
        ("marker-and-token-repeated-header", 0, "NICE-WebSocket-Auth\n@"),
        ("marker-and-token-no-space", 0, "NICE-WebSocket-Auth,@"),
        ("marker-alone", 0, "NICE-WebSocket-Auth"),
        ("token-then-marker", 0, "@, NICE-WebSocket-Auth"),
        ("marker-token-and-more", 0, "NICE-WebSocket-Auth, @, chat"),
        ("misspelled-lowercase", 0, "nice-websocket-auth, @"),
        ("misspelled-underscores", 0, "NICE_WebSocket_Auth, @"),
        ("token-standard-base64", 0, "NICE-WebSocket-Auth, abc/def="),
        ("bearer-only", 1, "\nBearer @"),
        ("bearer-with-own-subprotocols", 1, "chat, superchat\nBearer @"),
        ("query-token-refused", 2, "@"),
        ("query-token-allowed", 6, "@"),
        // A URL token is refused whatever else is offered (docs/handshake.md).
        ("query-token-beside-marker-and-token", 2, "NICE-WebSocket-Auth, @\n@"),
        ("query-token-beside-other-values", 2, "chat\n@"),
        ("token-alone", 0, "@"),
        ("other-values-only", 0, "chat, superchat"),
    ];
    for (name, flags, text) in offers {
        write("handshake_offer", name, &[&[flags], text.as_bytes()].concat())?;
    }
    write("handshake_offer", "nothing", &[0])?;

    // token_verify: mode 0 (raw token), 1 (header 0xFF payload, signed), 2 (structured).
    let ring = keyring();
    let now = NOW_SECS;
    let tokens: [(&str, String); 11] = [
        ("guest-valid", ring.sign(&claims(audience::GUEST, now - 60, now + 3600))),
        (
            "agent-valid",
            ring.sign(&Claims {
                name: Some("alice".into()),
                ..claims(audience::AGENT, now - 60, now + 28_800)
            }),
        ),
        (
            "client-wrong-kind",
            ring.sign(&Claims {
                scope: Some("guests".into()),
                ..claims(audience::CLIENT, now - 60, now + 3600)
            }),
        ),
        ("guest-expired", ring.sign(&claims(audience::GUEST, now - 7200, now - 3600))),
        ("guest-not-yet-valid", ring.sign(&claims(audience::GUEST, now + 600, now + 4200))),
        (
            "guest-wrong-issuer",
            ring.sign(&Claims {
                iss: "porch-other".into(),
                ..claims(audience::GUEST, now, now + 60)
            }),
        ),
        // docs/api.md's example token (kid key_1, unknown here).
        (
            "docs-api-example",
            "eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImtleV8xIn0.e30.c2ln".into(),
        ),
        ("alg-none", "eyJhbGciOiJub25lIiwia2lkIjoia2V5X2Z1enoifQ.e30.".into()),
        ("standard-base64", "a.b=.c".into()),
        ("two-parts", "eyJhbGciOiJIUzI1NiJ9.e30".into()),
        ("empty", String::new()),
    ];
    for (name, token) in tokens {
        write("token_verify", name, &[&[0], token.as_bytes()].concat())?;
    }
    let header = br#"{"alg":"HS256","typ":"at+jwt","kid":"key_fuzz"}"#;
    let payload = serde_json::to_vec(&claims(audience::GUEST, now - 60, now + 3600))
        .expect("claims serialize");
    write("token_verify", "signed-json-guest", &[&[1], &header[..], &[0xFF], &payload].concat())?;
    write(
        "token_verify",
        "signed-json-no-kid",
        &[&[1], &br#"{"alg":"HS256"}"#[..], &[0xFF], &payload].concat(),
    )?;
    // Structured: issuer ok, aud guest, exp and iat near now, sub, scope.
    let near = |offset: i16| [&[0u8][..], &i64::from(offset).to_le_bytes()].concat();
    let structured = [&[2u8, 2, 1][..], &near(3600), &near(-60), b"gst_1\xFFguests"].concat();
    write("token_verify", "structured-guest", &structured)?;
    assert!(
        ring.verify(&sign_raw(header, &payload), &porch_fuzz::gateway()).is_ok(),
        "the signed-json seed verifies"
    );

    // client_frame: docs/protocol.md's client frames, and one of each refusal.
    let frames: [(&str, &str); 9] = [
        ("send-guest", r#"{"type":"send","clientMessageId":"c-1","text":"Hello"}"#),
        (
            "send-agent",
            r#"{"type":"send","conversationId":"cnv_1","clientMessageId":"a-1","text":"Hi Ann, Alice here."}"#,
        ),
        ("typing", r#"{"type":"typing"}"#),
        ("read", r#"{"type":"read","seq":1}"#),
        ("ping", r#"{"type":"ping","id":"p-7"}"#),
        ("unknown-type", r#"{"type":"shout","text":"HELLO"}"#),
        ("read-seq-string", r#"{"type":"read","seq":"1"}"#),
        ("send-no-text", r#"{"type":"send","clientMessageId":"c-1"}"#),
        ("not-json", r#"{"type":"send","text":"Hel"#),
    ];
    for (name, text) in frames {
        write("client_frame", name, text.as_bytes())?;
    }
    Ok(())
}
