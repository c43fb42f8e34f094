//! The token verifier, case by case: each refusal has its code and a message that names the
//! cause, short enough for a close reason.

use super::*;

const ISSUER: &str = "porch-test";
/// Test times are offsets from a 2026 instant, so rendered dates have their real length.
const T0: i64 = 1_795_694_403;

fn keyring() -> Keyring {
    Keyring::new(vec![
        SigningKey { kid: "key_old".into(), secret: vec![1; 32], created_at_ms: 1 },
        SigningKey { kid: "key_new".into(), secret: vec![2; 32], created_at_ms: 2 },
    ])
}

fn claims(aud: &str, iat: i64, exp: i64) -> Claims {
    Claims {
        iss: ISSUER.into(),
        sub: "gst_1".into(),
        aud: aud.into(),
        exp: T0 + exp,
        iat: T0 + iat,
        jti: "tok_1".into(),
        nbf: None,
        scope: None,
        client_id: None,
        dep: Some("dep_1".into()),
        cnv: Some("cnv_1".into()),
        name: None,
    }
}

fn gateway(now_secs: i64) -> Expectation<'static> {
    Expectation {
        kinds: &[TokenKind::Guest, TokenKind::Agent],
        endpoint: "the gateway",
        issuer: ISSUER,
        now_secs: T0 + now_secs,
        leeway_secs: 30,
    }
}

/// The single place the verifier is called: asserts the code and that the message fits a
/// close reason and contains `needle`.
#[track_caller]
fn check_refused(token: &str, now: i64, code: ErrorCode, needle: &str) {
    let err = keyring().verify(token, &gateway(now)).unwrap_err();
    assert_eq!(err.code, code, "{err}");
    assert!(err.message.contains(needle), "`{}` lacks `{needle}`", err.message);
    // The code, the message and a ` [ref xxxxxx]` must fit a close reason.
    let reason = format!("{}: {} [ref abcdef]", err.code, err.message);
    assert!(reason.len() <= 123, "reason is {} bytes: {reason}", reason.len());
}

#[test]
fn a_fresh_guest_token_verifies_and_round_trips_its_claims() {
    let c = claims(audience::GUEST, 1000, 2000);
    let token = keyring().sign(&c);
    assert_eq!(keyring().verify(&token, &gateway(1500)).unwrap(), c);
    let (header, _) = decode_unverified(&token).unwrap();
    assert_eq!(header.kid.as_deref(), Some("key_new"), "the newest key signs");
    assert_eq!(header.typ.as_deref(), Some(TYPE));
}

#[test]
fn a_token_signed_by_a_rotated_but_kept_key_still_verifies() {
    let old_only = Keyring::new(vec![SigningKey {
        kid: "key_old".into(),
        secret: vec![1; 32],
        created_at_ms: 1,
    }]);
    let token = old_only.sign(&claims(audience::GUEST, 1000, 2000));
    assert!(keyring().verify(&token, &gateway(1500)).is_ok());
}

#[test]
fn refusals_name_their_cause() {
    let good = keyring().sign(&claims(audience::GUEST, 1000, 2000));
    let client = keyring()
        .sign(&Claims { scope: Some("guests".into()), ..claims(audience::CLIENT, 1000, 2000) });
    let (h, p, _) = {
        let mut it = good.split('.');
        (it.next().unwrap(), it.next().unwrap(), it.next().unwrap())
    };
    let other_key = Keyring::new(vec![SigningKey {
        kid: "key_new".into(),
        secret: vec![9; 32],
        created_at_ms: 3,
    }]);
    let unknown_kid = Keyring::new(vec![SigningKey {
        kid: "key_gone".into(),
        secret: vec![2; 32],
        created_at_ms: 3,
    }]);
    let tampered_payload = B64.encode(br#"{"iss":"porch-test","sub":"gst_2","aud":"porch-guest","exp":2000,"iat":1000,"jti":"x"}"#);
    let none_header = B64.encode(br#"{"alg":"none","kid":"key_new"}"#);
    let foreign_issuer = keyring()
        .sign(&Claims { iss: "someone-else".into(), ..claims(audience::GUEST, 1000, 2000) });

    check_refused("", 1500, ErrorCode::TokenMissing, "empty");
    check_refused("abc", 1500, ErrorCode::TokenMalformed, "3 dot-separated parts");
    check_refused("a.b=.c", 1500, ErrorCode::TokenMalformed, "base64");
    check_refused(&"a".repeat(5000), 1500, ErrorCode::TokenMalformed, "limit");
    check_refused(&format!("{none_header}.{p}."), 1500, ErrorCode::TokenMalformed, "not accepted");
    check_refused(
        &other_key.sign(&claims(audience::GUEST, 1000, 2000)),
        1500,
        ErrorCode::TokenSignatureInvalid,
        "signature",
    );
    check_refused(
        &unknown_kid.sign(&claims(audience::GUEST, 1000, 2000)),
        1500,
        ErrorCode::TokenKeyUnknown,
        "key_gone",
    );
    check_refused(
        &format!("{h}.{tampered_payload}.{}", good.rsplit('.').next().unwrap()),
        1500,
        ErrorCode::TokenSignatureInvalid,
        "altered",
    );
    check_refused(&foreign_issuer, 1500, ErrorCode::TokenWrongIssuer, "someone-else");
    check_refused(&client, 1500, ErrorCode::TokenWrongKind, "OAuth client token");
    check_refused(&client, 1500, ErrorCode::TokenWrongKind, "accessToken of POST /guests");
    check_refused(&good, 2031, ErrorCode::TokenExpired, "2026-11-26T12:33:23Z");
    check_refused(&good, 900, ErrorCode::TokenNotYetValid, "check clocks");
    let not_before =
        keyring().sign(&Claims { nbf: Some(T0 + 1600), ..claims(audience::GUEST, 1000, 2000) });
    check_refused(&not_before, 1500, ErrorCode::TokenNotYetValid, "nbf");
    assert!(
        keyring().verify(&not_before, &gateway(1571)).is_ok(),
        "nbf has the same leeway as iat"
    );
    let typed = |typ: &str| {
        let header = B64.encode(format!(r#"{{"alg":"HS256","typ":"{typ}","kid":"key_new"}}"#));
        let signed = format!("{header}.{p}");
        let signature =
            B64.encode(mac(&keyed(&[2; 32]), signed.as_bytes()).finalize().into_bytes());
        format!("{signed}.{signature}")
    };
    check_refused(&typed("JWT"), 1500, ErrorCode::TokenMalformed, "typ");
    assert!(keyring().verify(&typed("application/at+jwt"), &gateway(1500)).is_ok());
}

#[test]
fn leeway_tolerates_small_skew_both_ways() {
    let token = keyring().sign(&claims(audience::GUEST, 1000, 2000));
    assert!(keyring().verify(&token, &gateway(2030)).is_ok());
    assert!(keyring().verify(&token, &gateway(971)).is_ok());
}

#[test]
fn scopes_are_matched_whole() {
    let c = Claims { scope: Some("guests admin".into()), ..claims(audience::CLIENT, 0, 1) };
    assert!(c.has_scope("guests"));
    assert!(!c.has_scope("guest"));
}

/// Found by fuzzing (fuzz/fuzz_targets/token_verify.rs): signed claims with extreme times
/// overflowed `exp + leeway` and `now - exp` (a panic in debug builds, a wrong verdict in
/// release). Only a holder of the key can sign such claims, but the verdict must still be
/// the one the claims say.
#[test]
fn extreme_times_in_signed_claims_give_the_right_verdict() {
    let at =
        |iat: i64, exp: i64| keyring().sign(&Claims { iat, exp, ..claims(audience::GUEST, 0, 0) });
    // Not `check_refused`: messages with such dates are cut to fit a close reason, not whole.
    let code = |token: &str| keyring().verify(token, &gateway(0)).unwrap_err().code;
    assert_eq!(code(&at(T0, i64::MIN)), ErrorCode::TokenExpired);
    assert_eq!(code(&at(i64::MAX, i64::MAX)), ErrorCode::TokenNotYetValid);
    assert!(
        keyring().verify(&at(T0, i64::MAX), &gateway(0)).is_ok(),
        "exp at the end of time never expires"
    );
    let never = Expectation { now_secs: i64::MAX, leeway_secs: i64::MAX, ..gateway(0) };
    assert!(keyring().verify(&at(i64::MIN, i64::MAX), &never).is_ok());
}

/// Found by fuzzing (fuzz/fuzz_targets/token_verify.rs): a forged header's `kid` was quoted
/// up to 24 characters, not bytes, and the unknown-key message was too long even for ASCII,
/// so the close reason lost its end ("get a new token").
#[test]
fn a_long_or_multibyte_kid_still_fits_a_close_reason() {
    for kid in ["k".repeat(40), "뮺".repeat(40), "😀".repeat(40)] {
        let header = serde_json::json!({ "alg": ALGORITHM, "typ": TYPE, "kid": kid });
        let token = format!("{}.e30.c2ln", B64.encode(header.to_string()));
        check_refused(&token, 1500, ErrorCode::TokenKeyUnknown, "get a new token");
    }
}

/// Found by fuzzing: a signed payload whose unknown member held invalid UTF-8 verified (serde
/// skips unknown members unchecked) while `decode_unverified` refused it. RFC 7519 §7.2: the
/// claims are UTF-8 JSON, all of them.
#[test]
fn a_signed_payload_with_invalid_utf8_is_malformed() {
    let mut payload = serde_json::to_vec(&claims(audience::GUEST, 1000, 2000)).unwrap();
    payload.pop(); // the closing brace
    payload.extend_from_slice(b",\"x\":\"\xa7\"}");
    let header = br#"{"alg":"HS256","typ":"at+jwt","kid":"key_new"}"#;
    let signed = format!("{}.{}", B64.encode(header), B64.encode(&payload));
    let token = format!(
        "{signed}.{}",
        B64.encode(mac(&keyed(&[2; 32]), signed.as_bytes()).finalize().into_bytes())
    );
    check_refused(&token, 1500, ErrorCode::TokenMalformed, "claims");
}

/// A key's HMAC state, as `Keyring::new` keeps it.
fn keyed(secret: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(secret).unwrap()
}
