//! From an error code to a verdict in plain words and a fix the integrator can apply.
//!
//! The match below is exhaustive on purpose: a new `ErrorCode` does not compile until someone
//! decided what the doctor tells people about it.

use porch_core::token::TokenKind;
use porch_wire::ErrorCode;

/// The browser call that works, quoted in most fixes.
pub const CONNECT_JS: &str = "new WebSocket(gatewayUrl, ['NICE-WebSocket-Auth', accessToken])";

/// What the doctor concludes.
#[derive(Clone, Debug)]
pub struct Advice {
    /// What is wrong, in plain words.
    pub verdict: String,
    /// What to write or run to fix it.
    pub fix: String,
}

impl Advice {
    pub fn new(verdict: impl Into<String>, fix: impl Into<String>) -> Advice {
        Advice { verdict: verdict.into(), fix: fix.into() }
    }
}

/// What the doctor knows besides the code.
#[derive(Debug, Default)]
pub struct Context<'a> {
    /// The kind of the token sent, from its audience.
    pub sent_kind: Option<TokenKind>,
    /// The `Origin` sent, if any.
    pub origin: Option<&'a str>,
    /// The guest token's deployment, if known.
    pub deployment: Option<&'a str>,
    /// Server clock minus local clock, when known.
    pub skew_secs: Option<i64>,
    /// The server's own message (after the code), for codes whose cause varies.
    pub message: &'a str,
    /// What the offline examination found about the same code, if anything.
    pub offline: Option<&'a str>,
}

/// Verdict and fix for `code`.
pub fn advise(code: ErrorCode, ctx: &Context<'_>) -> Advice {
    use ErrorCode::*;
    match code {
        TokenMissing => Advice::new(
            "the NICE-WebSocket-Auth marker was offered without the token after it (or the token is empty)",
            format!("offer the token second and check it is set: {CONNECT_JS}"),
        ),
        SubprotocolMissing => Advice::new(
            "no NICE-WebSocket-Auth marker was offered, so the gateway found no token (a browser can send it only as a subprotocol)",
            format!("pass the marker and the token as the second argument: {CONNECT_JS}"),
        ),
        SubprotocolMisspelled => Advice::new(
            "the marker is misspelled: it must be exactly NICE-WebSocket-Auth, case-sensitive",
            format!("copy the marker exactly: {CONNECT_JS}"),
        ),
        SubprotocolOrder => Advice::new(
            "the subprotocols are in the wrong order or there are extra ones: the marker goes first, the token second, nothing else",
            format!("offer exactly two values, marker first: {CONNECT_JS}"),
        ),
        TokenCharacters => Advice::new(
            format!(
                "the token holds characters a subprotocol cannot carry: {}",
                ctx.offline
                    .unwrap_or("a browser throws SyntaxError in new WebSocket() and sends nothing")
            ),
            format!(
                "pass accessToken exactly as received (no btoa(), encodeURIComponent(), 'Bearer ' prefix or quotes): {CONNECT_JS}"
            ),
        ),
        TokenInQuery => Advice::new(
            "the token was sent in the URL (?token= or ?access_token=), which this server refuses because URLs end up in logs",
            format!("use gatewayUrl unchanged and send the token as a subprotocol: {CONNECT_JS}"),
        ),
        TokenWrongKind => wrong_kind(ctx),
        TokenExpired => expired(ctx),
        TokenNotYetValid => Advice::new(
            "the token was issued in the future by the server's clock: the clocks of the Porch servers disagree",
            "synchronise the clocks of every Porch node (NTP, e.g. `timedatectl set-ntp true`), then get a new token: POST /api/v2/webmessaging/guests",
        ),
        TokenSignatureInvalid => Advice::new(
            "the token's signature does not match: it was altered (cut, re-encoded, edited) or signed by another Porch installation",
            format!(
                "send the accessToken byte for byte as POST /api/v2/webmessaging/guests returned it: {CONNECT_JS}"
            ),
        ),
        TokenKeyUnknown => Advice::new(
            "the token was signed with a key this server does not know (kid): it comes from another Porch installation, or the data directory was replaced",
            "get a new token from this server: POST /api/v2/webmessaging/guests on the same base URL as the gateway",
        ),
        TokenWrongIssuer => Advice::new(
            format!("the token was issued by another issuer ({})", ctx.message),
            "get the token from the server you connect to; every node of one installation needs the same `porch serve --issuer`",
        ),
        TokenMalformed => Advice::new(
            format!(
                "the token is not a well-formed JWT (three base64url parts joined by dots): {}",
                ctx.offline.unwrap_or(ctx.message)
            ),
            format!(
                "pass the accessToken field of the guest session as is, not access_token, a JSON string or the whole response: {CONNECT_JS}"
            ),
        ),
        GuestErased => Advice::new(
            format!("the customer behind this guest session was erased ({code}: {})", ctx.message),
            "an erased customer's sessions are over for good; open a new guest session if the customer comes back",
        ),
        GuestRevoked | ConversationUnknown | ConversationClosed | GuestUnknown => Advice::new(
            format!("the guest session behind this token is gone ({code}: {})", ctx.message),
            "create a new guest session from your backend (POST /api/v2/webmessaging/guests) and connect with its accessToken",
        ),
        DeploymentDisabled => {
            let deployment = ctx.deployment.unwrap_or("<deployment id>");
            Advice::new(
                format!("deployment {deployment} is disabled by its operator"),
                format!("the operator re-enables it with `porch deployments enable {deployment}`"),
            )
        }
        DeploymentUnknown => Advice::new(
            format!("the deployment does not exist ({})", ctx.message),
            "pass an id that `porch deployments list` shows (dep_…), or create one with `porch deployments create --name NAME --origin https://your.site`",
        ),
        OriginNotAllowed => origin(ctx),
        IdentityTokenMalformed
        | IdentityKeyUnknown
        | IdentityAlgorithmWrong
        | IdentitySignatureInvalid
        | IdentitySubjectMissing
        | IdentityAudienceWrong
        | IdentityExpired
        | IdentityNotYetValid
        | IdentityLifetimeTooLong
        | IdentityReplayed
        | GuestAlreadyKnown => Advice::new(
            format!("the identity token your backend signed was refused ({code}: {})", ctx.message),
            "fix the signer as the message says (docs/identity.md has a working one); a guest access token never carries this code",
        ),
        TooManyConnections => Advice::new(
            "this Porch node is at its connection limit",
            "reconnect after a jittered backoff of at least 1 s (close 4101 is a back-off code); operators: raise `porch serve --connections-max` or add nodes",
        ),
        InvalidRequest => Advice::new(
            format!("the request was malformed: {}", ctx.message),
            "afterSeq must be the last seq you saw, a whole number: new WebSocket(`${gatewayUrl}?afterSeq=${lastSeq}`, ['NICE-WebSocket-Auth', accessToken])",
        ),
        InvalidClient => Advice::new(
            "the OAuth client id or client secret is wrong (invalid_client)",
            "check --client-id against `porch clients list`; a lost secret cannot be shown again: create a client with `porch clients create --name NAME --scope guests`",
        ),
        InvalidScope | InsufficientScope => Advice::new(
            format!("the OAuth client lacks the `guests` scope ({code})"),
            "create a client that has it: `porch clients create --name NAME --scope guests`",
        ),
        UnsupportedGrantType => Advice::new(
            "the token request used a grant type other than client_credentials",
            "POST /api/v2/oauth/token with body grant_type=client_credentials and HTTP Basic client_id:client_secret",
        ),
        AgentCredentialsInvalid => Advice::new(
            format!(
                "the agent behind this token is gone or its credentials are wrong ({})",
                ctx.message
            ),
            "log in again: POST /api/v2/agents/login, or recreate the agent with `porch agents create --name NAME`",
        ),
        AgentDisabled => Advice::new(
            format!("the operator disabled this agent ({})", ctx.message),
            "ask the operator to run `porch agents enable NAME`; until then its sign-in and tokens are refused",
        ),
        ClientDisabled => Advice::new(
            format!("the operator disabled this OAuth client ({})", ctx.message),
            "ask the operator to run `porch clients enable CLIENT_ID`, or use another client (`porch clients list`)",
        ),
        BotDisabled => Advice::new(
            format!("the operator disabled this bot ({})", ctx.message),
            "ask the operator to run `porch bots enable BOT_ID`; until then its sign-in and tokens are refused",
        ),
        // Only a `refresh` frame on a live connection meets this code, never a handshake.
        TokenSubjectWrong => Advice::new(
            format!("a refresh frame carried another guest's or agent's token ({})", ctx.message),
            "refresh a connection with the token its own guest or agent got from POST /api/v2/webmessaging/guests/token (or /api/v2/agents/token)",
        ),
        TokenRevoked => Advice::new(
            format!("the token was issued before its secret was reset ({})", ctx.message),
            "get a new token with the new secret (the operator's `porch agents|clients reset-secret` printed it once)",
        ),
        StoreFull => Advice::new(
            format!("the server's disk is full ({})", ctx.message),
            "nothing is wrong with the credentials: the operator must free space on the disk of Porch's data directory (its /readyz and porch_data_dir_free_bytes say how much is left); retry after a backoff",
        ),
        RateLimited | StoreUnavailable | BrokerUnavailable | ServerShutdown | SlowConsumer
        | IdleTimeout | NodeResync => Advice::new(
            format!("the server is busy or going away ({code}: {})", ctx.message),
            "nothing is wrong with the credentials: retry after a jittered backoff of at least 1 s",
        ),
        Internal => Advice::new(
            format!("a bug in Porch ({})", ctx.message),
            "report it to the operator with the [ref …] shown above: it is in the server log",
        ),
        NotFound | BadJson | BadFrame | UnknownFrameType | TextTooLong | BodyTooLarge
        | MessageTooBig | InvalidUtf8 | ProtocolError | IdempotencyConflict | ConversationTaken
        | AgentAtCapacity | AgentStatusInvalid | OfferExpired | OfferNotYours | ManualTakeOff
        | ConversationNotYours | TransferTargetInvalid | TransferAgentUnknown
        | TransferQueueUnknown | TransferAgentUnavailable | WrapUpUnknown | WrapUpRequired
        | NotSupervisor
        // The webhooks API's own refusals: never met on a handshake.
        | WebhookEndpointUnknown | WebhookTargetRefused | WebhookEventTypeUnknown
        | WebhookEndpointsFull | CustomerUnknown
        // The bot API's and the attachments API's own refusals: a bot token is refused at the
        // gateway as token_wrong_kind; attachments are never met on a handshake.
        | BotCredentialsInvalid | ContentInvalid
        | AttachmentTooLarge | AttachmentQuotaFull | AttachmentTypeRefused
        | AttachmentTypeMismatch | AttachmentBodyTooLong | AttachmentBodyTooShort
        | AttachmentTruncated | UploadTooSlow | UploadAlreadyComplete | AttachmentUrlInvalid
        | AttachmentUrlExpired | AttachmentUnknown | AttachmentDeleted | PreviewUnavailable
        | RangeNotSatisfiable => Advice::new(
            format!("the request itself was refused ({code}: {})", ctx.message),
            "compare the request above with docs/api.md; the gateway URL is the gatewayUrl of a guest session",
        ),
    }
}

fn wrong_kind(ctx: &Context<'_>) -> Advice {
    let sent = match ctx.sent_kind {
        Some(TokenKind::Client) => {
            "the OAuth client token (aud porch-api, from POST /api/v2/oauth/token)".to_string()
        }
        Some(kind) => kind.describe().to_string(),
        None => "a token of no Porch kind".to_string(),
    };
    Advice::new(
        format!("{sent} was sent where the guest accessToken belongs"),
        format!(
            "connect with the accessToken field of the POST /api/v2/webmessaging/guests response, not the access_token of /oauth/token (that one stays on your backend): {CONNECT_JS}"
        ),
    )
}

fn expired(ctx: &Context<'_>) -> Advice {
    let fix = "get a fresh token before connecting: POST /api/v2/webmessaging/guests/token with Authorization: Bearer <the still-valid accessToken>, or have your backend create a new guest session; then reconnect with ?afterSeq=<last seq seen>";
    match ctx.skew_secs.filter(|s| s.abs() > super::clock::SKEW_SECS_MAX) {
        Some(skew) => Advice::new(
            format!(
                "the token has expired by the server's clock, which is {skew}s off this machine's"
            ),
            format!("{fix}; and synchronise the clocks (NTP)"),
        ),
        None => Advice::new("the token has expired", fix),
    }
}

fn origin(ctx: &Context<'_>) -> Advice {
    let origin = ctx.origin.unwrap_or("(none)");
    let deployment = ctx.deployment.unwrap_or("the deployment");
    Advice::new(
        format!("the page's Origin {origin} is not in the allowed origins of {deployment}"),
        format!(
            "serve the page from an origin `porch deployments list` shows for {deployment} (exact scheme://host[:port], no trailing slash), or have the operator add {origin} to it"
        ),
    )
}

/// Browsers let an https:// page open ws:// to the machine itself (a "potentially trustworthy"
/// origin, W3C Secure Contexts §3.2): `localhost`, 127.0.0.0/8 and `[::1]`, with any port.
fn is_loopback(host_port: &str) -> bool {
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    let host = host.to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost") || host == "::1" || host.starts_with("127.")
}

/// A browser on an `https://` page may not open a `ws://` socket (mixed content), so a
/// handshake this tool completes would still fail in the browser. `pages` is what the doctor
/// knows of the page: `--origin`, and in the full flow the base URL (an https:// base URL with a
/// ws:// gatewayUrl means Porch does not know the address browsers use).
pub fn mixed_content(pages: &[Option<&str>], gateway_url: &str) -> Option<Advice> {
    let host = gateway_url.strip_prefix("ws://")?.split(['/', '?']).next().unwrap_or_default();
    if is_loopback(host) {
        return None;
    }
    let page = pages.iter().flatten().find(|p| p.starts_with("https://"))?;
    Some(Advice {
        verdict: format!(
            "the gatewayUrl is {gateway_url}, plain ws://, and {page} is https://: a browser blocks it as mixed content"
        ),
        fix: "start Porch with the https:// address browsers use (`porch serve --public-url https://chat.example.com`), so gatewayUrl is wss://".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code a handshake can produce gets its own verdict, not the generic one.
    #[test]
    fn doctor_has_a_verdict_and_a_fix_for_every_handshake_code() {
        let generic = advise(ErrorCode::BadJson, &Context::default()).verdict;
        let handshake = [
            "token_missing",
            "subprotocol_missing",
            "subprotocol_misspelled",
            "subprotocol_order",
            "token_characters",
            "token_in_query",
            "token_wrong_kind",
            "token_expired",
            "token_not_yet_valid",
            "token_signature_invalid",
            "token_key_unknown",
            "token_wrong_issuer",
            "token_malformed",
            "guest_revoked",
            "deployment_disabled",
            "origin_not_allowed",
            "too_many_connections",
            "conversation_unknown",
            "invalid_request",
        ];
        for name in handshake {
            let code = ErrorCode::from_name(name).unwrap();
            let advice = advise(code, &Context::default());
            assert_ne!(advice.verdict, generic, "{name}");
            assert!(
                advice.fix.contains("WebSocket")
                    || advice.fix.contains("porch ")
                    || advice.fix.contains("POST "),
                "{name}: {}",
                advice.fix
            );
        }
    }

    #[test]
    fn a_ws_gateway_under_an_https_page_is_mixed_content() {
        let ws = "ws://chat.example.com/api/v2/gateway";
        let advice =
            mixed_content(&[None, Some("https://shop.example")], ws).expect("mixed content");
        assert!(
            advice.verdict.contains("https://shop.example")
                && advice.fix.contains("--public-url https://"),
            "{advice:?}"
        );
        assert!(
            mixed_content(&[Some("http://localhost:3000")], ws).is_none(),
            "an http page may open ws://"
        );
        assert!(
            mixed_content(&[Some("https://shop.example")], "wss://chat.example.com/api/v2/gateway")
                .is_none()
        );
        assert!(mixed_content(&[None], ws).is_none(), "nothing known of the page");
        for local in [
            "ws://127.0.0.1:8080/api/v2/gateway",
            "ws://localhost/api/v2/gateway",
            "ws://[::1]:80/x",
        ] {
            assert!(
                mixed_content(&[Some("https://shop.example")], local).is_none(),
                "{local} is the machine itself"
            );
        }
    }
}
