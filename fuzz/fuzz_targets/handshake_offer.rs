//! `read_offer`: the subprotocol offer, `Authorization` and query token of an upgrade request
//! (docs/handshake.md, docs/fuzzing.md).
//!
//! Input: a flags byte, then text. Lines are header values: the last one is `Authorization`
//! (flag 1), the one before the query token (flag 2), the rest are `Sec-WebSocket-Protocol`
//! headers. Flag 4 allows query tokens. Every `@` becomes `SECRET_TOKEN`, a JWT holding a
//! canary, so the fuzzer can place a real-looking token anywhere and the checks below can
//! tell whether it leaked.

#![no_main]

use libfuzzer_sys::fuzz_target;
use porch_fuzz::check_close_reason;
use porch_server::gateway::{Offer, read_offer};
use porch_wire::{ErrorCode, PROTOCOL_MARKER};

/// The canary: in a message or an echo, it means a client value leaked.
const CANARY: &str = "s3cr3tCanary";
const SECRET_TOKEN: &str =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzM2NyM3RDYW5hcnkifQ.s3cr3tCanary-signature_0123";

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest).replace('@', SECRET_TOKEN);
    let mut lines: Vec<&str> = text.split('\n').collect();
    let authorization = if flags & 1 != 0 { lines.pop() } else { None };
    let query = if flags & 2 != 0 { lines.pop() } else { None };
    let allow_query = flags & 4 != 0;
    let offer = read_offer(&lines, authorization, query, allow_query);
    check(&offer, &lines, authorization, query, allow_query);

    // RFC 9110 §5.3: repeated header lines mean the same as one comma-joined line, and
    // docs/handshake.md promises the same answer for both.
    let joined = lines.join(",");
    assert_eq!(
        read_offer(&[&joined], authorization, query, allow_query),
        offer,
        "repeated header != joined header"
    );
});

fn check(
    offer: &Offer,
    headers: &[&str],
    authorization: Option<&str>,
    query: Option<&str>,
    allow_query: bool,
) {
    // What the client offered, as RFC 6455 reads it: comma-separated, whitespace trimmed.
    let offered: Vec<&str> = headers
        .iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    let has_marker = offered.contains(&PROTOCOL_MARKER);
    // A token in the URL is refused whatever else is offered, unless the operator allows URL
    // tokens (docs/handshake.md): that refusal replaces the offer's own verdict.
    let url_token_refused = query.is_some_and(|q| !q.is_empty()) && !allow_query;
    if url_token_refused {
        assert_eq!(offer.credential.as_ref().map_err(|e| e.code), Err(ErrorCode::TokenInQuery));
    }
    let verdict = |code| if url_token_refused { ErrorCode::TokenInQuery } else { code };

    // The echo: only a value the client offered (RFC 6455 §4.2.2), the marker whenever it was
    // offered, otherwise at most a misspelling of it, and never the token.
    if let Some(echo) = &offer.echo {
        assert!(
            offered.contains(&echo.as_str()),
            "echoed {echo:?}, which was not offered: {offered:?}"
        );
        assert!(!echo.contains(CANARY), "the token was echoed");
        assert!(offer.can_upgrade, "an echo without a 101");
        if echo != PROTOCOL_MARKER {
            assert!(!has_marker, "the marker was offered but {echo:?} echoed");
            assert!(
                resembles_marker(echo),
                "echoed {echo:?}, neither the marker nor a misspelling"
            );
            assert_eq!(
                offer.credential.as_ref().map_err(|e| e.code),
                Err(verdict(ErrorCode::SubprotocolMisspelled))
            );
        }
    }
    assert_eq!(
        offer.echo.as_deref() == Some(PROTOCOL_MARKER),
        has_marker,
        "marker offered <=> marker echoed"
    );

    // No legal 101 exists only when values were offered and none can be echoed.
    if !offer.can_upgrade {
        assert!(!offered.is_empty() && offer.echo.is_none());
        assert_eq!(
            offer.credential.as_ref().map_err(|e| e.code),
            Err(verdict(ErrorCode::SubprotocolMissing))
        );
    }

    match &offer.credential {
        Ok(token) => {
            let bearer = authorization.and_then(|a| a.split_once(' ')).map(|(_, t)| t.trim());
            let from_subprotocol =
                offered.len() == 2 && offered[0] == PROTOCOL_MARKER && offered[1] == token;
            let from_query = allow_query && offered.is_empty() && query == Some(token.as_str());
            assert!(
                from_subprotocol || bearer == Some(token.as_str()) || from_query,
                "credential {token:?} from nowhere (offered {offered:?})"
            );
            if from_subprotocol && bearer != Some(token.as_str()) {
                // A subprotocol value must be an RFC 7230 token, or a browser would not send it.
                assert!(token.chars().all(is_tchar), "accepted {token:?} as a subprotocol token");
            }
        }
        Err(e) => {
            assert!(!e.message.contains(CANARY), "the refusal quotes the token: {:?}", e.message);
            check_close_reason(e);
        }
    }
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// The documented misspellings: the marker's letters and digits, any case, any punctuation.
fn resembles_marker(value: &str) -> bool {
    let squash = |s: &str| {
        s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase()
    };
    value.len() <= 40 && squash(value) == squash(PROTOCOL_MARKER)
}
