//! Reading the client's offer: which subprotocol to echo and where the token is.
//!
//! What a browser can see decides the design. Chromium turns any refusal before the `101`
//! (a 401, a 403, a missing or wrong subprotocol echo) into close 1006 with no reason, and a
//! client that sees 1006 retries forever. Only a `101` that echoes exactly a value the page
//! offered, followed by a close frame, lets page script read why. So whenever the offer lets
//! the server answer `101` legally, `read_offer` says so and the cause travels in the close
//! reason. The one case it cannot: the client offered subprotocols and none is the marker
//! (nor a misspelling of it). Echoing another value would mean echoing the token (it then
//! shows in `ws.protocol` and in any log of response headers), so that case gets an HTTP 400
//! with a JSON body, which non-browser clients and `porch doctor` can read.
//!
//! This module is pure: headers in, decision out. It is table-tested and fuzzable.

use axum::http::{HeaderMap, Version, header};
use base64::Engine as _;
use porch_wire::{ErrorCode, PROTOCOL_MARKER};

use crate::error::ApiError;

/// What the gateway does with an upgrade request's credentials.
#[derive(Debug, PartialEq, Eq)]
pub struct Offer {
    /// The `Sec-WebSocket-Protocol` value to answer with. Always a value the client offered,
    /// never the token.
    pub echo: Option<String>,
    /// The access token, or why there is none usable.
    pub credential: Result<String, ApiError>,
    /// False when no legal `101` exists for this offer: answer with HTTP and JSON instead.
    pub can_upgrade: bool,
}

/// The fix shown whenever the browser-side call is wrong. Short, because it has to fit a
/// close reason beside the cause and the log reference.
const HOW: &str = "use new WebSocket(url, ['NICE-WebSocket-Auth', token])";

/// What axum's `WebSocketUpgrade` lets through and RFC 6455 §4.1 forbids: an HTTP/1.0
/// request (hyper can upgrade it), no `Host` or two, and a `Sec-WebSocket-Key` that is not
/// base64 of 16 bytes or comes twice (axum checks only that one is present). For `GET`s only,
/// so that a wrong method still gets its 405 first; a missing key is left to axum's message.
pub fn check_head(version: Version, headers: &HeaderMap) -> Result<(), ApiError> {
    let refuse = |why: &str| {
        ApiError::new(ErrorCode::InvalidRequest, format!("not a WebSocket upgrade ({why}); {HOW}"))
    };
    if version < Version::HTTP_11 {
        return Err(refuse("HTTP/1.1 or later is required, RFC 6455 §4.1"));
    }
    if headers.get_all(header::HOST).iter().count() != 1 {
        return Err(refuse("exactly one Host header is required, RFC 9112 §3.2"));
    }
    let keys: Vec<_> = headers.get_all(header::SEC_WEBSOCKET_KEY).iter().collect();
    let sixteen_bytes = |k: &axum::http::HeaderValue| {
        base64::engine::general_purpose::STANDARD.decode(k.as_bytes()).is_ok_and(|b| b.len() == 16)
    };
    match keys.as_slice() {
        [] => Ok(()),
        [key] if sixteen_bytes(key) => Ok(()),
        [_] => Err(refuse("Sec-WebSocket-Key must be base64 of 16 random bytes")),
        _ => Err(refuse("Sec-WebSocket-Key was sent more than once")),
    }
}

/// Reads the subprotocol offer, the `Authorization` header and the query-string token.
///
/// A token in the URL is refused (`token_in_query`) whatever else is offered, unless the
/// operator allowed URL tokens: by the time the gateway sees it, it may already sit in a
/// proxy's or a browser's history, so taking the pair beside it would hide the leak. The echo
/// and the upgrade stay what the rest of the offer gets, so a browser still reads the reason.
pub fn read_offer(
    protocol_headers: &[&str],
    authorization: Option<&str>,
    query_token: Option<&str>,
    allow_query_token: bool,
) -> Offer {
    let query_token = query_token.filter(|t| !t.is_empty());
    let usable = query_token.filter(|_| allow_query_token);
    let mut offer = read_credentials(protocol_headers, authorization, usable);
    if query_token.is_some() && !allow_query_token {
        let message = if offer.credential.is_ok() {
            "a token in the URL leaks into logs; remove it, the one offered is enough".to_string()
        } else {
            format!("URL tokens leak into logs; {HOW}")
        };
        offer.credential = Err(ApiError::new(ErrorCode::TokenInQuery, message));
    }
    offer
}

/// The offer's credential, `query_token` being one only if the operator allows URL tokens.
fn read_credentials(
    protocol_headers: &[&str],
    authorization: Option<&str>,
    query_token: Option<&str>,
) -> Offer {
    let offered: Vec<&str> = protocol_headers
        .iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    let bearer = authorization.and_then(bearer_token);
    if offered.is_empty() {
        return no_subprotocol(bearer, query_token);
    }
    if let Some(position) = offered.iter().position(|v| *v == PROTOCOL_MARKER) {
        return with_marker(&offered, position, bearer);
    }
    if let Some(misspelled) = offered.iter().find(|v| resembles_marker(v)) {
        return Offer {
            echo: Some((*misspelled).to_string()),
            credential: Err(ApiError::new(
                ErrorCode::SubprotocolMisspelled,
                format!(
                    "`{}` must be exactly NICE-WebSocket-Auth, case-sensitive",
                    crate::error::shown(misspelled)
                ),
            )),
            can_upgrade: true,
        };
    }
    if let Some(token) = bearer {
        // A non-browser client with its own subprotocols and a bearer header: it gets no echo,
        // which RFC 6455 §4.2.2 allows.
        return Offer { echo: None, credential: Ok(token.to_string()), can_upgrade: true };
    }
    let message = if offered.len() == 1 && offered[0].matches('.').count() == 2 {
        format!("token offered without the marker; {HOW}")
    } else {
        format!("no NICE-WebSocket-Auth among the offered subprotocols; {HOW}")
    };
    Offer {
        echo: None,
        credential: Err(ApiError::new(ErrorCode::SubprotocolMissing, message)),
        can_upgrade: false,
    }
}

fn no_subprotocol(bearer: Option<&str>, query_token: Option<&str>) -> Offer {
    let credential = match (bearer, query_token) {
        (Some(token), _) => Ok(token.to_string()),
        (None, Some(token)) => Ok(token.to_string()),
        (None, None) => {
            Err(ApiError::new(ErrorCode::SubprotocolMissing, format!("no token was sent; {HOW}")))
        }
    };
    // With nothing offered, a 101 without `Sec-WebSocket-Protocol` is legal and browsers
    // accept it, so even a refusal goes through the upgrade and a readable close.
    Offer { echo: None, credential, can_upgrade: true }
}

fn with_marker(offered: &[&str], position: usize, bearer: Option<&str>) -> Offer {
    let echo = Some(PROTOCOL_MARKER.to_string());
    let credential = match (position, offered.len()) {
        (0, 1) => match bearer {
            Some(token) => Ok(token.to_string()),
            None => Err(ApiError::new(
                ErrorCode::TokenMissing,
                format!("marker offered without the token; {HOW}"),
            )),
        },
        (0, 2) => check_token_characters(offered[1]).map(str::to_string),
        (0, n) => Err(ApiError::new(
            ErrorCode::SubprotocolOrder,
            format!("{n} values offered, need 2: {HOW}"),
        )),
        _ => Err(ApiError::new(
            ErrorCode::SubprotocolOrder,
            format!("the marker must come first; {HOW}"),
        )),
    };
    Offer { echo, credential, can_upgrade: true }
}

/// RFC 7230 `token` characters, which RFC 6455 §4.1 requires of every subprotocol value.
fn check_token_characters(token: &str) -> Result<&str, ApiError> {
    // Bytes: every tchar is ASCII, so the first byte that is not one starts the character to
    // name (every byte before it is ASCII).
    let bad = token.bytes().position(|b| !is_tchar(b)).and_then(|at| token[at..].chars().next());
    match bad {
        None => Ok(token),
        Some(c) => Err(ApiError::new(
            ErrorCode::TokenCharacters,
            format!(
                "the token holds {c:?}, not allowed in a subprotocol; send the accessToken as issued"
            ),
        )),
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// `nice-websocket-auth`, `NICE_WebSocket_Auth`, `NICEWebSocketAuth`: the marker, miswritten.
fn resembles_marker(value: &str) -> bool {
    let squash = |s: &str| {
        s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase()
    };
    value.len() <= 40 && squash(value) == squash(PROTOCOL_MARKER)
}

fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "aaa.bbb.ccc";

    /// The single place `read_offer` is called: checks echo, upgrade and credential or code.
    #[track_caller]
    fn check(
        headers: &[&str],
        auth: Option<&str>,
        query: Option<&str>,
        echo: Option<&str>,
        upgrade: bool,
        expect: Result<&str, ErrorCode>,
    ) {
        let offer = read_offer(headers, auth, query, false);
        assert_eq!(offer.echo.as_deref(), echo, "echo");
        assert_eq!(offer.can_upgrade, upgrade, "can_upgrade");
        match (offer.credential, expect) {
            (Ok(got), Ok(want)) => assert_eq!(got, want),
            (Err(got), Err(want)) => assert_eq!(got.code, want, "{}", got.message),
            (got, want) => panic!("credential {got:?}, expected {want:?}"),
        }
        assert_ne!(
            read_offer(headers, auth, query, false).echo.as_deref(),
            Some(JWT),
            "the token is never echoed"
        );
    }

    #[test]
    fn offers() {
        let m = PROTOCOL_MARKER;
        let pair = format!("{m}, {JWT}");
        check(&[&pair], None, None, Some(m), true, Ok(JWT));
        check(&[m, JWT], None, None, Some(m), true, Ok(JWT)); // repeated header
        check(&[&format!("{m},{JWT}")], None, None, Some(m), true, Ok(JWT)); // no space
        check(&[], Some(&format!("Bearer {JWT}")), None, None, true, Ok(JWT));
        check(&[m], Some(&format!("bearer {JWT}")), None, Some(m), true, Ok(JWT));
        check(&[m], None, None, Some(m), true, Err(ErrorCode::TokenMissing));
        check(
            &[&format!("{JWT}, {m}")],
            None,
            None,
            Some(m),
            true,
            Err(ErrorCode::SubprotocolOrder),
        );
        check(
            &[&format!("{m}, {JWT}, x")],
            None,
            None,
            Some(m),
            true,
            Err(ErrorCode::SubprotocolOrder),
        );
        check(
            &[&format!("nice-websocket-auth, {JWT}")],
            None,
            None,
            Some("nice-websocket-auth"),
            true,
            Err(ErrorCode::SubprotocolMisspelled),
        );
        check(
            &[&format!("NICE_WebSocket_Auth, {JWT}")],
            None,
            None,
            Some("NICE_WebSocket_Auth"),
            true,
            Err(ErrorCode::SubprotocolMisspelled),
        );
        check(&[&format!("{m}, abc=")], None, None, Some(m), true, Err(ErrorCode::TokenCharacters));
        check(&[JWT], None, None, None, false, Err(ErrorCode::SubprotocolMissing));
        check(&["chat, superchat"], None, None, None, false, Err(ErrorCode::SubprotocolMissing));
        check(&[], None, Some(JWT), None, true, Err(ErrorCode::TokenInQuery));
        check(&[], None, None, None, true, Err(ErrorCode::SubprotocolMissing));
        // A token in the URL is refused whatever else is offered; the echo and the upgrade
        // stay what the rest of the offer gets.
        check(&[&pair], None, Some(JWT), Some(m), true, Err(ErrorCode::TokenInQuery));
        let bearer = format!("Bearer {JWT}");
        check(&[], Some(&bearer), Some(JWT), None, true, Err(ErrorCode::TokenInQuery));
        check(&["chat"], Some(&bearer), Some(JWT), None, true, Err(ErrorCode::TokenInQuery));
        check(&[JWT], None, Some(JWT), None, false, Err(ErrorCode::TokenInQuery));
        check(&[m], None, Some(JWT), Some(m), true, Err(ErrorCode::TokenInQuery));
        check(&[], None, Some(""), None, true, Err(ErrorCode::SubprotocolMissing));
    }

    #[test]
    fn heads_that_axum_lets_through_are_refused() {
        let head = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.append(*k, axum::http::HeaderValue::from_static(v));
            }
            h
        };
        let good = [("host", "x"), ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")];
        assert!(check_head(Version::HTTP_11, &head(&good)).is_ok());
        assert!(
            check_head(Version::HTTP_11, &head(&[("host", "x")])).is_ok(),
            "a missing key is axum's to report"
        );
        let refused = |v, pairs: &[(&'static str, &'static str)], needle: &str| {
            let e = check_head(v, &head(pairs)).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidRequest);
            assert!(e.message.contains(needle), "{}", e.message);
        };
        refused(Version::HTTP_10, &good, "HTTP/1.1");
        refused(Version::HTTP_11, &good[1..], "Host");
        refused(Version::HTTP_11, &[good[0], good[0], good[1]], "Host");
        refused(
            Version::HTTP_11,
            &[good[0], ("sec-websocket-key", "not base64!")],
            "16 random bytes",
        );
        refused(
            Version::HTTP_11,
            &[good[0], ("sec-websocket-key", "dGhlIHNhbXBsZSBub25j")],
            "16 random bytes",
        );
        refused(Version::HTTP_11, &[good[0], good[1], good[1]], "more than once");
    }

    #[test]
    fn query_tokens_are_taken_only_when_enabled() {
        assert_eq!(read_offer(&[], None, Some(JWT), true).credential.unwrap(), JWT);
        let pair = format!("{PROTOCOL_MARKER}, other");
        assert_eq!(
            read_offer(&[&pair], None, Some(JWT), true).credential.unwrap(),
            "other",
            "enabled, the pair still comes first"
        );
    }

    #[test]
    fn refusals_name_the_fix() {
        let offer = read_offer(&[JWT], None, None, false);
        assert!(offer.credential.unwrap_err().message.contains("['NICE-WebSocket-Auth', token]"));
    }
}
