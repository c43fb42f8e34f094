//! `parse_client_frame`: every text message a client sends on the gateway (docs/protocol.md,
//! docs/fuzzing.md).
//!
//! Invariants:
//! - the refusal code says which stage failed: `bad_json` exactly when the text is not JSON,
//!   else `unknown_frame_type` or `bad_frame`; every refusal fits a close reason;
//! - a refusal never quotes a string the client sent (refusals are logged; a string may be a
//!   message text or a token in the wrong field). Checked by swapping every string value for
//!   one of the same length and demanding the very same answer. Only the top-level `type` is
//!   kept: it is the one value a refusal names on purpose (cut to 40 characters);
//! - an accepted frame serializes to JSON that parses back to the same frame.

#![no_main]

use libfuzzer_sys::fuzz_target;
use porch_fuzz::check_close_reason;
use porch_server::gateway::parse_client_frame;
use porch_wire::ErrorCode;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    // The gateway reads text frames, which tungstenite has already checked to be UTF-8.
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parsed = parse_client_frame(text);
    let json = serde_json::from_str::<Value>(text);
    match &parsed {
        Ok(frame) => {
            let again = serde_json::to_string(frame).expect("a frame serializes");
            assert_eq!(
                parse_client_frame(&again).as_ref(),
                Ok(frame),
                "round trip through {again}"
            );
            let json = json.as_ref().expect("an accepted frame is JSON");
            let wire = serde_json::to_value(frame).expect("a frame serializes");
            assert_eq!(json.get("type"), wire.get("type"), "the frame type is the one sent");
        }
        Err(e) => {
            assert_eq!(e.code == ErrorCode::BadJson, json.is_err(), "{:?}: {}", e.code, e.message);
            assert!(
                matches!(
                    e.code,
                    ErrorCode::BadJson | ErrorCode::BadFrame | ErrorCode::UnknownFrameType
                ),
                "unexpected code {:?}",
                e.code
            );
            check_close_reason(e);
        }
    }

    let Ok(mut value) = json else { return };
    // Compared through the same serializer: a float may print differently from how it was
    // sent (5.3e26 becomes 5.3000000000000004e+26), and a refusal may name a number.
    let canonical = serde_json::to_string(&value).expect("a Value serializes");
    let answer = |r: &Result<_, porch_server::error::ApiError>| {
        r.as_ref().err().map(|e| (e.code, e.message.clone()))
    };
    let as_sent = answer(&parse_client_frame(&canonical));
    assert_eq!(
        as_sent.as_ref().map(|a| a.0),
        answer(&parsed).map(|a| a.0),
        "re-serialized: {canonical}"
    );
    let kept_type = value.get("type").cloned();
    blank_strings(&mut value);
    if let (Some(kind), Some(object)) = (kept_type, value.as_object_mut()) {
        object.insert("type".into(), kind);
    }
    let blanked = serde_json::to_string(&value).expect("a Value serializes");
    assert_eq!(
        as_sent,
        answer(&parse_client_frame(&blanked)),
        "the refusal depends on the content of a string, so it quotes client text\n  sent:    {canonical}\n  blanked: {blanked}"
    );
});

/// Replaces every string value (not the keys) by as many `x` as it had characters.
fn blank_strings(value: &mut Value) {
    match value {
        Value::String(s) => *s = "x".repeat(s.chars().count()),
        Value::Array(items) => items.iter_mut().for_each(blank_strings),
        Value::Object(map) => map.values_mut().for_each(blank_strings),
        _ => {}
    }
}
