//! Access tokens: JWTs signed with HS256, and the one verifier every entry point uses.
//!
//! The user report that started Porch was a token the REST API accepted and the gateway
//! refused. Here that cannot happen by construction: REST extractors and the gateway both call
//! `Keyring::verify`, and the only thing that differs between them is which token kinds
//! (audiences) they accept.
//!
//! Why HS256: verifying costs about 2 µs on the reference machine against 26–38 µs for EdDSA or
//! ES256, and the whole budget of a WebSocket handshake is about 41 µs of server CPU. The price
//! is that only Porch nodes can verify (they share the keys through the store); no JWKS is
//! published, because a symmetric key cannot be.
//!
//! Rotation: every key has a `kid`. The newest key signs; every key still in the keyring
//! verifies. Retire a key only after the longest token lifetime has passed since it stopped
//! signing, and no valid token is ever refused by a rotation.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use porch_wire::{ErrorCode, audience};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::limits::TOKEN_BYTES_MAX;
use crate::time::rfc3339;

type HmacSha256 = Hmac<Sha256>;

/// The kinds of token Porch issues; the audience claim tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// OAuth client token, for the customer's backend.
    Client,
    /// Guest access token, for the browser: gateway and guest REST.
    Guest,
    /// Agent token: agent API and gateway.
    Agent,
    /// Bot token: the bot API only (docs/bots.md).
    Bot,
}

impl TokenKind {
    pub fn audience(self) -> &'static str {
        match self {
            TokenKind::Client => audience::CLIENT,
            TokenKind::Guest => audience::GUEST,
            TokenKind::Agent => audience::AGENT,
            TokenKind::Bot => audience::BOT,
        }
    }

    pub fn from_audience(aud: &str) -> Option<TokenKind> {
        [TokenKind::Client, TokenKind::Guest, TokenKind::Agent, TokenKind::Bot]
            .into_iter()
            .find(|k| k.audience() == aud)
    }

    /// What this token is and where it comes from, for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            TokenKind::Client => "an OAuth client token (from POST /api/v2/oauth/token)",
            TokenKind::Guest => "a guest accessToken (from POST /api/v2/webmessaging/guests)",
            TokenKind::Agent => "an agent token (from POST /api/v2/agents/login)",
            TokenKind::Bot => "a bot token (from POST /api/v2/bots/token)",
        }
    }
}

/// The claims of every Porch token. Which optional claims are set depends on the kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer: the server's configured issuer name.
    pub iss: String,
    /// Subject: client id, guest id or agent id.
    pub sub: String,
    /// Audience: one of `porch_wire::audience`.
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Unique id of this token.
    pub jti: String,
    /// Not before, seconds since the epoch. Porch does not issue it, but a token that carries
    /// it is held to it (RFC 7519 §4.1.5), like `iat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Client tokens: granted scopes, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Client tokens: the client id (RFC 9068).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Guest tokens: the deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dep: Option<String>,
    /// Guest tokens: the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnv: Option<String>,
    /// Agent tokens: the agent's login name (its queues are looked up by it on every use, so
    /// deleting an agent revokes its tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Claims {
    pub fn kind(&self) -> Option<TokenKind> {
        TokenKind::from_audience(&self.aud)
    }

    pub fn has_scope(&self, wanted: &str) -> bool {
        self.scope.as_deref().is_some_and(|s| s.split(' ').any(|x| x == wanted))
    }
}

/// The JOSE header Porch writes and accepts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
}

/// The only algorithm accepted. RFC 8725 §3.1: an allowlist of one, so there is no
/// algorithm to confuse (no `none`, no RS/HS confusion).
pub const ALGORITHM: &str = "HS256";
/// RFC 9068 `typ` for JWT access tokens.
pub const TYPE: &str = "at+jwt";

/// A signing key. The secret is 32 random bytes; it never leaves the store and this process.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub kid: String,
    pub secret: Vec<u8>,
    pub created_at_ms: i64,
}

impl SigningKey {
    /// A new key: a fresh `kid` and 32 random bytes, created now.
    pub fn generate() -> SigningKey {
        SigningKey {
            kid: crate::ids::new_id(crate::ids::prefix::KEY),
            secret: crate::ids::random_bytes::<32>().to_vec(),
            created_at_ms: crate::time::now_ms(),
        }
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret is never printed, not even in debug output.
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// Why a token was refused: a stable code and a short message with cause and fix.
///
/// Messages stay under 90 bytes so that, with the code and a correlation reference, they fit
/// a WebSocket close reason (123 bytes) whole.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct TokenError {
    pub code: ErrorCode,
    pub message: String,
}

impl TokenError {
    fn new(code: ErrorCode, message: impl Into<String>) -> TokenError {
        TokenError { code, message: message.into() }
    }
}

/// What a verifier expects of a token.
#[derive(Clone, Copy, Debug)]
pub struct Expectation<'a> {
    /// Kinds accepted here (the gateway takes guest and agent tokens).
    pub kinds: &'a [TokenKind],
    /// Who this endpoint is, for the "needs …" part of wrong-kind messages.
    pub endpoint: &'a str,
    pub issuer: &'a str,
    pub now_secs: i64,
    pub leeway_secs: i64,
}

/// The signing keys of this deployment of Porch, newest first.
#[derive(Clone, Default)]
pub struct Keyring {
    keys: Vec<SigningKey>,
    /// `keys[i]`'s HMAC with the key already absorbed (its inner and outer pad blocks), cloned
    /// for each token instead of keyed again: two of the seven SHA-256 blocks a guest token's
    /// check hashes.
    keyed: Vec<HmacSha256>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring").field("keys", &self.keys).finish_non_exhaustive()
    }
}

impl Keyring {
    /// Builds a keyring; the newest key (largest `created_at_ms`) signs.
    pub fn new(mut keys: Vec<SigningKey>) -> Keyring {
        keys.sort_by_key(|k| std::cmp::Reverse(k.created_at_ms));
        let keyed = keys
            .iter()
            .map(|k| HmacSha256::new_from_slice(&k.secret).expect("HMAC takes a key of any length"))
            .collect();
        Keyring { keys, keyed }
    }

    /// The key that signs, the newest. Panics on an empty keyring: the server creates a key
    /// before it serves anything.
    fn signer(&self) -> (&SigningKey, &HmacSha256) {
        self.keys.iter().zip(&self.keyed).next().expect("keyring must hold a key before signing")
    }

    /// The key named `kid`, if this ring holds it.
    fn key(&self, kid: &str) -> Option<(&SigningKey, &HmacSha256)> {
        self.keys.iter().zip(&self.keyed).find(|(k, _)| k.kid == kid)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.kid.as_str())
    }

    /// Signs claims with the newest key.
    ///
    /// Panics on an empty keyring: the server creates a key before it serves anything.
    pub fn sign(&self, claims: &Claims) -> String {
        let (key, keyed) = self.signer();
        let header =
            Header { alg: ALGORITHM.into(), typ: Some(TYPE.into()), kid: Some(key.kid.clone()) };
        let mut token = String::with_capacity(512);
        token.push_str(&B64.encode(serde_json::to_vec(&header).expect("header serializes")));
        token.push('.');
        token.push_str(&B64.encode(serde_json::to_vec(claims).expect("claims serialize")));
        let signature = mac(keyed, token.as_bytes()).finalize().into_bytes();
        token.push('.');
        token.push_str(&B64.encode(signature));
        token
    }

    /// Verifies a token: shape, algorithm, key, signature, issuer, audience, time. In that
    /// order, so a forged token learns nothing about claims checks.
    pub fn verify(&self, token: &str, expect: &Expectation<'_>) -> Result<Claims, TokenError> {
        let parts = split(token)?;
        let header = decode_header(parts.header)?;
        let kid = header.kid.as_deref().ok_or_else(|| {
            TokenError::new(
                ErrorCode::TokenMalformed,
                "token header has no kid; use a token Porch issued",
            )
        })?;
        let (_, keyed) = self.key(kid).ok_or_else(|| {
            TokenError::new(
                ErrorCode::TokenKeyUnknown,
                format!(
                    "key {} is unknown here (rotated out or foreign); get a new token",
                    short(kid)
                ),
            )
        })?;
        check_signature(keyed, &parts)?;
        let claims = decode_claims(parts.payload)?;
        check_issuer(&claims, expect)?;
        check_kind(&claims, expect)?;
        check_time(&claims, expect)?;
        Ok(claims)
    }
}

/// The three parts of a compact JWS.
struct Parts<'a> {
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
    signed: &'a str,
}

fn split(token: &str) -> Result<Parts<'_>, TokenError> {
    if token.is_empty() {
        return Err(TokenError::new(ErrorCode::TokenMissing, "the token is empty"));
    }
    if token.len() > TOKEN_BYTES_MAX {
        return Err(TokenError::new(
            ErrorCode::TokenMalformed,
            format!(
                "token is {} bytes, the limit is {TOKEN_BYTES_MAX}; send the accessToken as issued",
                token.len()
            ),
        ));
    }
    // Bytes, not chars: this runs on every request, and the characters sought are ASCII.
    if token.bytes().any(|b| matches!(b, b'+' | b'/' | b'=')) {
        return Err(TokenError::new(
            ErrorCode::TokenMalformed,
            "token holds + / or = (standard base64): send the accessToken unchanged, not re-encoded",
        ));
    }
    let mut it = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (it.next(), it.next(), it.next(), it.next())
    else {
        let dots = token.matches('.').count();
        return Err(TokenError::new(
            ErrorCode::TokenMalformed,
            format!(
                "a JWT has 3 dot-separated parts, this has {}; send the accessToken as issued",
                dots + 1
            ),
        ));
    };
    let signed = &token[..header.len() + 1 + payload.len()];
    Ok(Parts { header, payload, signature, signed })
}

fn decode_header(part: &str) -> Result<Header, TokenError> {
    let bytes = B64
        .decode(part)
        .map_err(|_| TokenError::new(ErrorCode::TokenMalformed, "token header is not base64url"))?;
    // `from_str`, not `from_slice`: serde skips unknown members without checking their UTF-8,
    // and RFC 7519 §7.2 wants all of it UTF-8 JSON (found by fuzzing).
    let header: Header = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|json| serde_json::from_str(json).ok())
        .ok_or_else(|| {
            TokenError::new(ErrorCode::TokenMalformed, "token header is not a JSON object with alg")
        })?;
    if header.alg != ALGORITHM {
        return Err(TokenError::new(
            ErrorCode::TokenMalformed,
            format!(
                "algorithm {} is not accepted, only {ALGORITHM}; use a token Porch issued",
                short(&header.alg)
            ),
        ));
    }
    // RFC 8725 §3.11, RFC 9068 §4: explicit typing, so no other JWT this key might ever sign
    // (or a JWT from elsewhere) passes for an access token.
    let typ = header.typ.as_deref().unwrap_or("");
    if !typ.eq_ignore_ascii_case(TYPE) && !typ.eq_ignore_ascii_case("application/at+jwt") {
        return Err(TokenError::new(
            ErrorCode::TokenMalformed,
            format!("token type (typ) {} is not {TYPE}; use a token Porch issued", short(typ)),
        ));
    }
    Ok(header)
}

fn check_signature(keyed: &HmacSha256, parts: &Parts<'_>) -> Result<(), TokenError> {
    let signature = B64.decode(parts.signature).map_err(|_| {
        TokenError::new(ErrorCode::TokenMalformed, "token signature is not base64url")
    })?;
    // `verify_slice` compares in constant time.
    mac(keyed, parts.signed.as_bytes()).verify_slice(&signature).map_err(|_| {
        TokenError::new(
            ErrorCode::TokenSignatureInvalid,
            "signature mismatch: the token was altered or signed by another server; get a new one",
        )
    })
}

fn decode_claims(part: &str) -> Result<Claims, TokenError> {
    let bytes = B64.decode(part).map_err(|_| {
        TokenError::new(ErrorCode::TokenMalformed, "token payload is not base64url")
    })?;
    std::str::from_utf8(&bytes).ok().and_then(|json| serde_json::from_str(json).ok()).ok_or_else(
        || TokenError::new(ErrorCode::TokenMalformed, "token payload lacks Porch's claims"),
    )
}

fn check_issuer(claims: &Claims, expect: &Expectation<'_>) -> Result<(), TokenError> {
    if claims.iss == expect.issuer {
        return Ok(());
    }
    Err(TokenError::new(
        ErrorCode::TokenWrongIssuer,
        format!("issuer is {}, this server is {}", short(&claims.iss), short(expect.issuer)),
    ))
}

fn check_kind(claims: &Claims, expect: &Expectation<'_>) -> Result<(), TokenError> {
    let kind = claims.kind();
    if kind.is_some_and(|k| expect.kinds.contains(&k)) {
        return Ok(());
    }
    let wanted = expect.kinds.first().copied().unwrap_or(TokenKind::Guest);
    let sent = match kind {
        Some(got) => format!("{} sent (aud {})", first_words(got.describe()), got.audience()),
        None => format!("audience {} is no Porch token kind", short(&claims.aud)),
    };
    Err(TokenError::new(
        ErrorCode::TokenWrongKind,
        format!("{sent}; {} needs {}", expect.endpoint, wanted_source(wanted)),
    ))
}

/// "an OAuth client token (from …)" → "OAuth client token".
fn first_words(describe: &'static str) -> &'static str {
    let words = describe.split(" (").next().unwrap_or(describe);
    words.strip_prefix("an ").or_else(|| words.strip_prefix("a ")).unwrap_or(words)
}

fn wanted_source(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Client => "a token from POST /oauth/token",
        TokenKind::Guest => "the accessToken of POST /guests",
        TokenKind::Agent => "a token from POST /agents/login",
        TokenKind::Bot => "a token from POST /bots/token",
    }
}

fn check_time(claims: &Claims, expect: &Expectation<'_>) -> Result<(), TokenError> {
    let now = expect.now_secs;
    // Saturating: signed claims may hold any i64 (found by fuzzing, see the tests).
    if now > claims.exp.saturating_add(expect.leeway_secs) {
        return Err(TokenError::new(
            ErrorCode::TokenExpired,
            format!(
                "expired {} ({}s ago), server time {}; get a new one",
                rfc3339(claims.exp),
                now.saturating_sub(claims.exp),
                rfc3339(now)
            ),
        ));
    }
    if let Some(nbf) = claims.nbf.filter(|nbf| *nbf > now.saturating_add(expect.leeway_secs)) {
        return Err(TokenError::new(
            ErrorCode::TokenNotYetValid,
            format!(
                "nbf {} is {}s ahead of server time {}; check clocks",
                rfc3339(nbf),
                nbf.saturating_sub(now),
                rfc3339(now)
            ),
        ));
    }
    if claims.iat > now.saturating_add(expect.leeway_secs) {
        return Err(TokenError::new(
            ErrorCode::TokenNotYetValid,
            format!(
                "iat {} is {}s ahead of server time {}; check clocks",
                rfc3339(claims.iat),
                claims.iat.saturating_sub(now),
                rfc3339(now)
            ),
        ));
    }
    Ok(())
}

/// `keyed`, a key's HMAC before any data (`Keyring::keyed`), over `data`.
fn mac(keyed: &HmacSha256, data: &[u8]) -> HmacSha256 {
    let mut mac = keyed.clone();
    mac.update(data);
    mac
}

/// Shortens attacker-controlled text before it goes into a message (tokens here, identity
/// tokens in `identity`).
pub(crate) fn short(s: &str) -> String {
    // Bytes, not characters: 24 four-byte characters would not fit a close reason.
    let mut clean = String::new();
    for c in s.chars().filter(|c| !c.is_control()) {
        if clean.len() + c.len_utf8() > crate::limits::REFUSAL_QUOTE_BYTES_MAX {
            return format!("`{clean}…`");
        }
        clean.push(c);
    }
    format!("`{clean}`")
}

/// Decodes a token's header and claims without checking anything: for `porch token inspect`
/// and `porch doctor`, which explain a token and must never trust it.
pub fn decode_unverified(token: &str) -> Result<(Header, serde_json::Value), TokenError> {
    let parts = split(token)?;
    let header = B64
        .decode(parts.header)
        .ok()
        .and_then(|b| serde_json::from_slice::<Header>(&b).ok())
        .ok_or_else(|| {
            TokenError::new(ErrorCode::TokenMalformed, "token header is not base64url JSON")
        })?;
    let claims =
        B64.decode(parts.payload).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or_else(
            || TokenError::new(ErrorCode::TokenMalformed, "token payload is not base64url JSON"),
        )?;
    Ok((header, claims))
}

pub mod grant;
pub mod retire;

#[cfg(test)]
mod tests;
