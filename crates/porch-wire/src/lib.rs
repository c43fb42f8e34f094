//! The wire contract of Porch, in one place.
//!
//! Everything that crosses the network is declared here: REST request and response bodies
//! (`rest`, with `lists`: what lists and headers show of a conversation), WebSocket frames (`frame`), the live events nodes pass each other (`event`), the close codes and error codes a client can see
//! (`code`) and the fixed names of the handshake (`PROTOCOL_MARKER`, paths).
//! The server, the Rust client, `porch doctor` and the benchmark harness all use these types,
//! so a field renamed here is renamed everywhere at once.
//!
//! This crate does no IO and holds no policy: it says what the bytes look like, not when
//! they are sent. `docs/api.md` and `docs/protocol.md` are the prose versions of this file,
//! and tests check the two agree.

pub mod attachment;
pub mod bot;
pub mod code;
pub mod event;
pub mod frame;
pub mod lists;
pub mod rest;
pub mod supervisor;
pub mod ts;
pub mod webhook;

pub use code::{CloseCode, ErrorCode, ReconnectClass};
pub use frame::{ClientFrame, ServerFrame};

/// The first `Sec-WebSocket-Protocol` value a browser offers; the server echoes exactly this.
///
/// The browser API `new WebSocket(url, ['NICE-WebSocket-Auth', token])` can set no header but
/// this one, so the access token travels as the second offered value. The server answers
/// with the marker alone and never with the token (which would leak it into `ws.protocol`).
pub const PROTOCOL_MARKER: &str = "NICE-WebSocket-Auth";

/// Path of the WebSocket gateway, for guests and agents alike.
pub const GATEWAY_PATH: &str = "/api/v2/gateway";
/// Path of the OAuth2 token endpoint (client credentials).
pub const OAUTH_TOKEN_PATH: &str = "/api/v2/oauth/token";
/// Path of token introspection (RFC 7662), for the customer's backend.
pub const OAUTH_INTROSPECT_PATH: &str = "/api/v2/oauth/introspect";
/// Path that creates guest sessions.
pub const GUESTS_PATH: &str = "/api/v2/webmessaging/guests";
/// Path where the standard widget opens a guest session for deployment `{deployment_id}`,
/// without a client token but only from one of the deployment's origins.
pub const WIDGET_GUESTS_PATH: &str = "/api/v2/webmessaging/deployments/{deployment_id}/guests";
/// Path where the standard widget reads, before any guest session exists, what it shows
/// (the deployment's notice); no token, only from one of the deployment's origins.
pub const WIDGET_CONFIG_PATH: &str = "/api/v2/webmessaging/deployments/{deployment_id}/widget";
/// Path where the customer's backend sets, reads and clears the notice every guest of
/// deployment `{deployment_id}` sees (client token with the `notices` scope).
pub const DEPLOYMENT_NOTICE_PATH: &str = "/api/v2/webmessaging/deployments/{deployment_id}/notice";
/// Path where a guest posts messages and reads history.
pub const GUEST_MESSAGES_PATH: &str = "/api/v2/webmessaging/guests/messages";
/// Path where a guest lists its customer's conversations (every session with the same
/// `externalId` on the deployment; an anonymous guest sees its own conversation only).
pub const GUEST_CONVERSATIONS_PATH: &str = "/api/v2/webmessaging/guests/conversations";
/// Path where a waiting guest reads its place in its queue and its estimated wait
/// (docs/routing.md, "Queue positions").
pub const GUEST_QUEUE_PATH: &str = "/api/v2/webmessaging/guests/queue";
/// Path where a guest reads the history of one of its customer's conversations.
pub const GUEST_CONVERSATION_MESSAGES_PATH: &str =
    "/api/v2/webmessaging/guests/conversations/{conversation_id}/messages";
/// Path where an anonymous guest session presents an identity token and becomes that
/// customer's, keeping its conversation.
pub const GUEST_IDENTITY_PATH: &str = "/api/v2/webmessaging/guests/identity";
/// Path where a guest exchanges its still-valid token for a fresh one.
pub const GUEST_TOKEN_PATH: &str = "/api/v2/webmessaging/guests/token";
/// Path where an agent trades its name and secret for an agent token.
pub const AGENT_LOGIN_PATH: &str = "/api/v2/agents/login";
/// Path where an agent exchanges its still-valid token for a fresh one.
pub const AGENT_TOKEN_PATH: &str = "/api/v2/agents/token";
/// Prefix of the agent API (conversations, history, replies).
pub const AGENT_API_PREFIX: &str = "/api/v2/agent";
/// Path of the OpenAPI 3.1 document of the REST API (`docs/openapi.json`).
pub const OPENAPI_PATH: &str = "/api/v2/openapi.json";
/// A deployment's webhook endpoints (client token, scope `webhooks`): `GET` lists, `POST` adds.
pub const WEBHOOK_ENDPOINTS_PATH: &str =
    "/api/v2/webmessaging/deployments/{deployment_id}/webhooks";
/// One webhook endpoint of a deployment: `DELETE` removes it.
pub const WEBHOOK_ENDPOINT_PATH: &str =
    "/api/v2/webmessaging/deployments/{deployment_id}/webhooks/{endpoint_id}";
/// A webhook endpoint's secret: `POST` rotates it (the previous one overlaps).
pub const WEBHOOK_SECRET_PATH: &str =
    "/api/v2/webmessaging/deployments/{deployment_id}/webhooks/{endpoint_id}/secret";
/// A webhook endpoint's dead deliveries: `GET` lists them.
pub const WEBHOOK_DEAD_PATH: &str =
    "/api/v2/webmessaging/deployments/{deployment_id}/webhooks/{endpoint_id}/dead";
/// `POST` makes a webhook endpoint's dead deliveries pending again.
pub const WEBHOOK_REPLAY_PATH: &str =
    "/api/v2/webmessaging/deployments/{deployment_id}/webhooks/{endpoint_id}/dead/replay";

/// A deployment's customer erasure (client token, scope `erasure`): `POST` erases the customer
/// its body names (docs/identity.md, "Erasure").
pub const CUSTOMER_ERASURE_PATH: &str =
    "/api/v2/webmessaging/deployments/{deployment_id}/customers/erasure";

/// Where a guest asks for an upload into its conversation (`POST`, guest token).
pub const GUEST_ATTACHMENTS_PATH: &str = "/api/v2/webmessaging/guests/attachments";
/// Where a guest asks for a short-lived URL reading one attachment of its conversation.
pub const GUEST_ATTACHMENT_PATH: &str = "/api/v2/webmessaging/guests/attachments/{attachment_id}";
/// Where an agent asks for an upload into a conversation of its queues (`POST`, agent token).
pub const AGENT_ATTACHMENTS_PATH: &str = "/api/v2/agent/conversations/{id}/attachments";
/// Where an agent asks for a short-lived URL reading one attachment of a conversation.
pub const AGENT_ATTACHMENT_PATH: &str =
    "/api/v2/agent/conversations/{id}/attachments/{attachment_id}";
/// Where the bytes of an upload are `PUT`; `{grant}` is the signed grant (no token).
pub const ATTACHMENT_UPLOAD_PATH: &str = "/api/v2/attachments/uploads/{grant}";
/// Where an attachment's bytes are read; `{grant}` is the signed grant (no token).
pub const ATTACHMENT_CONTENT_PATH: &str = "/api/v2/attachments/content/{grant}";
/// Where an image attachment's preview (a small PNG made by Porch) is read; `{grant}` is the
/// signed grant (no token).
pub const ATTACHMENT_PREVIEW_PATH: &str = "/api/v2/attachments/previews/{grant}";

/// Where a bot trades its id and secret for a bot token (docs/bots.md).
pub const BOT_TOKEN_PATH: &str = "/api/v2/bots/token";
/// Prefix of the bot API (its conversations' history, its replies, hand-off).
pub const BOT_API_PREFIX: &str = "/api/v2/bot";

/// Every path above by the name clients know it by (camelCase), in the order above: the
/// SDK's `PATHS` is written from this list (`web/public/sdk/wire.gen.js`). `{name}` parts
/// are filled in by the client.
pub const PATHS: &[(&str, &str)] = &[
    ("gateway", GATEWAY_PATH),
    ("oauthToken", OAUTH_TOKEN_PATH),
    ("oauthIntrospect", OAUTH_INTROSPECT_PATH),
    ("guests", GUESTS_PATH),
    ("widgetGuests", WIDGET_GUESTS_PATH),
    ("widgetConfig", WIDGET_CONFIG_PATH),
    ("deploymentNotice", DEPLOYMENT_NOTICE_PATH),
    ("guestMessages", GUEST_MESSAGES_PATH),
    ("guestConversations", GUEST_CONVERSATIONS_PATH),
    ("guestConversationMessages", GUEST_CONVERSATION_MESSAGES_PATH),
    ("guestQueue", GUEST_QUEUE_PATH),
    ("guestIdentity", GUEST_IDENTITY_PATH),
    ("guestToken", GUEST_TOKEN_PATH),
    ("agentLogin", AGENT_LOGIN_PATH),
    ("agentToken", AGENT_TOKEN_PATH),
    ("agentApi", AGENT_API_PREFIX),
    ("openapi", OPENAPI_PATH),
    ("webhookEndpoints", WEBHOOK_ENDPOINTS_PATH),
    ("webhookEndpoint", WEBHOOK_ENDPOINT_PATH),
    ("webhookSecret", WEBHOOK_SECRET_PATH),
    ("webhookDead", WEBHOOK_DEAD_PATH),
    ("webhookReplay", WEBHOOK_REPLAY_PATH),
    ("botToken", BOT_TOKEN_PATH),
    ("botApi", BOT_API_PREFIX),
    ("guestAttachments", GUEST_ATTACHMENTS_PATH),
    ("guestAttachment", GUEST_ATTACHMENT_PATH),
    ("agentAttachments", AGENT_ATTACHMENTS_PATH),
    ("agentAttachment", AGENT_ATTACHMENT_PATH),
    ("attachmentUpload", ATTACHMENT_UPLOAD_PATH),
    ("attachmentContent", ATTACHMENT_CONTENT_PATH),
    ("attachmentPreview", ATTACHMENT_PREVIEW_PATH),
    ("customerErasure", CUSTOMER_ERASURE_PATH),
];

/// Token audiences: one per kind of token, so no token can stand in for another.
pub mod audience {
    /// OAuth client token from `POST /api/v2/oauth/token`; good for the customer's backend.
    pub const CLIENT: &str = "porch-api";
    /// Guest access token from `POST /api/v2/webmessaging/guests`; good for the gateway and
    /// the guest REST endpoints.
    pub const GUEST: &str = "porch-guest";
    /// Agent token from `POST /api/v2/agents/login`; good for the agent API and the gateway.
    pub const AGENT: &str = "porch-agent";
    /// Bot token from `POST /api/v2/bots/token`; good for the bot API only.
    pub const BOT: &str = "porch-bot";
}

/// OAuth scopes a client may hold.
pub mod scope {
    /// Create and read guest sessions.
    pub const GUESTS: &str = "guests";
    /// Set and clear the notice every guest of a deployment sees.
    pub const NOTICES: &str = "notices";
    /// Register, list and remove a deployment's webhook endpoints (docs/webhooks.md).
    pub const WEBHOOKS: &str = "webhooks";
    /// Erase a customer of a deployment: their texts, names and attributes (docs/identity.md).
    /// A scope of its own, so a backend that creates sessions cannot erase.
    pub const ERASURE: &str = "erasure";
    /// Every scope a client can be given, in the order `porch clients create --help` lists.
    pub const ALL: &[&str] = &[GUESTS, NOTICES, WEBHOOKS, ERASURE];
}

#[cfg(test)]
mod tests {
    /// A path constant added above without its row in `PATHS` would be missing from the SDK.
    #[test]
    fn every_path_constant_is_in_paths() {
        let declared: Vec<&str> = include_str!("lib.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("pub const "))
            .filter_map(|l| l.split(':').next())
            .filter(|name| name.ends_with("_PATH") || name.ends_with("_PREFIX"))
            .collect();
        assert_eq!(declared.len(), super::PATHS.len(), "PATHS lacks one of {declared:?}");
    }
}
