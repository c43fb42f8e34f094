//! `Keyring::verify` and `decode_unverified` on hostile tokens (docs/fuzzing.md).
//!
//! The first byte picks how the rest becomes a token:
//! - 0: the rest is the token, as a client would send it (shape, base64, header, `alg`, `kid`,
//!   signature).
//! - 1: the rest is `header JSON 0xFF payload JSON`, signed with the fixed key, so the fuzzer
//!   reaches the claim checks behind the signature with JSON Porch never writes.
//! - 2: the rest chooses claims field by field, signed by `Keyring::sign`; the expected verdict
//!   (and which check refuses first) is computed independently and compared.

#![no_main]

use libfuzzer_sys::fuzz_target;
use porch_core::limits::TOKEN_BYTES_MAX;
use porch_core::token::{Claims, TokenError, TokenKind, decode_unverified};
use porch_fuzz::{
    ISSUER, KID, KINDS, LEEWAY_SECS, NOW_SECS, assert_no_token_piece, check_close_reason, gateway,
    keyring, sign_raw,
};
use porch_server::error::ApiError;
use porch_wire::{ErrorCode, audience};

/// The codes `verify` may answer with; anything else would map to the wrong close code.
const TOKEN_CODES: [ErrorCode; 8] = [
    ErrorCode::TokenMissing,
    ErrorCode::TokenMalformed,
    ErrorCode::TokenKeyUnknown,
    ErrorCode::TokenSignatureInvalid,
    ErrorCode::TokenWrongIssuer,
    ErrorCode::TokenWrongKind,
    ErrorCode::TokenExpired,
    ErrorCode::TokenNotYetValid,
];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 3 {
        0 => {
            let token = String::from_utf8_lossy(rest);
            if let Err(e) = check(&token) {
                // `TokenError`'s promise: the code, the message and a ref fit a close reason
                // (123 bytes) without cutting. Held for every token a client can forge; with
                // the key, claims can hold year-15000 times whose messages get cut instead.
                let whole = format!("{}: {} [ref abcdef]", e.code, e.message);
                assert!(
                    whole.len() <= 123,
                    "message too long for a close reason ({} bytes): {whole:?}",
                    whole.len()
                );
            }
        }
        1 => {
            let (header, payload) = match rest.iter().position(|&b| b == 0xFF) {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &b"{}"[..]),
            };
            let _ = check(&sign_raw(header, payload));
        }
        _ => structured(rest),
    }
});

/// What holds for every token, whatever the verdict.
fn check(token: &str) -> Result<Claims, TokenError> {
    let verdict = keyring().verify(token, &gateway());
    let unverified = decode_unverified(token);
    match &verdict {
        Ok(claims) => accepted(claims, &unverified),
        Err(e) => {
            assert!(TOKEN_CODES.contains(&e.code), "verify answered {:?}", e.code);
            refused(token, e);
        }
    }
    if let Err(e) = &unverified {
        // `decode_unverified` explains tokens to people (`porch token inspect`): same rules.
        assert_eq!(e.code == ErrorCode::TokenMissing, token.is_empty());
        refused(token, e);
    }
    verdict
}

/// An accepted token satisfies every documented check, and re-encodes to the same claims.
fn accepted(
    claims: &Claims,
    unverified: &Result<(porch_core::token::Header, serde_json::Value), TokenError>,
) {
    let kind = claims.kind().expect("an accepted token has a Porch audience");
    assert!(KINDS.contains(&kind), "the gateway accepted a {kind:?} token");
    assert_eq!(claims.iss, ISSUER);
    assert!(
        i128::from(NOW_SECS) <= i128::from(claims.exp) + i128::from(LEEWAY_SECS),
        "expired token accepted: {claims:?}"
    );
    assert!(
        i128::from(claims.iat) <= i128::from(NOW_SECS) + i128::from(LEEWAY_SECS),
        "future token accepted: {claims:?}"
    );
    let (header, payload) = unverified.as_ref().expect("a verified token decodes unverified too");
    assert_eq!(header.alg, "HS256");
    assert_eq!(header.kid.as_deref(), Some(KID));
    let decoded: Claims = serde_json::from_value(payload.clone())
        .expect("the unverified payload holds the same claims");
    assert_eq!(&decoded, claims);
    let again = keyring().sign(claims);
    assert_eq!(
        keyring().verify(&again, &gateway()).as_ref(),
        Ok(claims),
        "re-signed claims verify the same"
    );
    assert_eq!(again.matches('.').count(), 2);
}

/// A refusal never quotes the token, and its close reason keeps the code and the ref.
fn refused(token: &str, e: &TokenError) {
    assert_no_token_piece(&e.message, token);
    check_close_reason(&ApiError::from(e.clone()));
}

/// Claims built from the input, signed by `Keyring::sign`; the verdict is predicted.
fn structured(rest: &[u8]) {
    let mut input = Input(rest);
    let iss = match input.byte() % 4 {
        0 => "someone-else".to_string(),
        1 => input.text(),
        _ => ISSUER.to_string(),
    };
    let aud = match input.byte() % 5 {
        0 => audience::CLIENT.to_string(),
        1 => audience::GUEST.to_string(),
        2 => audience::AGENT.to_string(),
        3 => input.text(),
        _ => String::new(),
    };
    let exp = input.instant();
    let iat = input.instant();
    let mut claims = porch_fuzz::claims(&aud, iat, exp);
    claims.iss = iss;
    claims.sub = input.text();
    claims.scope = Some(input.text()).filter(|s| !s.is_empty());
    let token = keyring().sign(&claims);

    // The documented order: size, issuer, kind, time (expired before not-yet-valid).
    let now = i128::from(NOW_SECS);
    let leeway = i128::from(LEEWAY_SECS);
    let expected = if token.len() > TOKEN_BYTES_MAX {
        Err(ErrorCode::TokenMalformed)
    } else if claims.iss != ISSUER {
        Err(ErrorCode::TokenWrongIssuer)
    } else if !TokenKind::from_audience(&claims.aud).is_some_and(|k| KINDS.contains(&k)) {
        Err(ErrorCode::TokenWrongKind)
    } else if now > i128::from(claims.exp) + leeway {
        Err(ErrorCode::TokenExpired)
    } else if i128::from(claims.iat) > now + leeway {
        Err(ErrorCode::TokenNotYetValid)
    } else {
        Ok(())
    };
    match (check(&token), expected) {
        (Ok(got), Ok(())) => assert_eq!(got, claims),
        (Err(got), Err(want)) => assert_eq!(got.code, want, "{}", got.message),
        (got, want) => panic!("verify said {got:?}, expected {want:?} for {claims:?}"),
    }
}

/// Reads the structured input front to back; runs out into zeros and empty strings.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else { return 0 };
        self.0 = rest;
        b
    }

    /// A string up to the next 0xFF byte.
    fn text(&mut self) -> String {
        let end = self.0.iter().position(|&b| b == 0xFF).unwrap_or(self.0.len());
        let text = String::from_utf8_lossy(&self.0[..end]).into_owned();
        self.0 = self.0.get(end + 1..).unwrap_or_default();
        text
    }

    /// Seconds since the epoch: near now (the edges of the leeway) or anything at all.
    fn instant(&mut self) -> i64 {
        let selector = self.byte();
        let mut raw = [0u8; 8];
        for b in &mut raw {
            *b = self.byte();
        }
        let raw = i64::from_le_bytes(raw);
        match selector % 3 {
            0 => NOW_SECS + i64::from(raw as i16),
            1 => raw,
            _ => [i64::MIN, i64::MAX, 0, -1][usize::from(selector / 3 % 4)],
        }
    }
}
