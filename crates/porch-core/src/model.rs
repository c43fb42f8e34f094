//! The records Porch keeps, beside the conversation log itself (whose shapes are the wire
//! types `Message` and `Conversation`).

use porch_wire::rest::{Conversation, Guest, Notice};

/// An OAuth client: the customer's backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRecord {
    pub id: String,
    pub name: String,
    /// Argon2id PHC string of the secret. The secret itself is shown once, at creation.
    pub secret_hash: String,
    pub scopes: Vec<String>,
    pub created_at_ms: i64,
    /// The credentials' standing: whether it may sign in, and which of its tokens still count.
    pub standing: Standing,
}

/// The pseudo-client owning guests created by the public widget endpoint. It has no secret
/// and no scope: no request can authenticate as it.
pub const WIDGET_CLIENT_ID: &str = "cli_widget";

/// A deployment: one website or channel, with its origins, token lifetime and queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentRecord {
    pub id: String,
    pub name: String,
    /// Exact origins (`scheme://host[:port]`) allowed to open the gateway and call the public
    /// endpoints from a browser. No wildcards: OWASP's advice against cross-site WebSocket
    /// hijacking is an exact-match allowlist.
    pub origins: Vec<String>,
    /// Queue new conversations go to; agents serving it see them.
    pub queue: String,
    pub guest_token_ttl_secs: u64,
    pub enabled: bool,
    pub created_at_ms: i64,
    /// What every guest of the deployment is told (opening hours, an outage), if anything.
    pub notice: Option<Notice>,
}

impl DeploymentRecord {
    /// Exact, case-sensitive match of a browser's `Origin` header against the allowlist.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == origin)
    }
}

/// An agent: a person (or bot) who answers guests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentRecord {
    pub id: String,
    /// Unique login name.
    pub name: String,
    pub secret_hash: String,
    /// Queues whose conversations this agent sees.
    pub queues: Vec<String>,
    pub created_at_ms: i64,
    pub standing: Standing,
}

/// Whether an agent or a client may sign in and use its tokens: what `porch agents|clients
/// disable|enable|reset-secret` change, and what every use of one of its tokens checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    /// False: sign-in and every token are refused until the operator enables it again.
    pub enabled: bool,
    /// Tokens issued (`iat`) before this second are refused: set by a secret reset. 0 refuses
    /// none.
    pub tokens_valid_after_secs: i64,
}

impl Default for Standing {
    fn default() -> Self {
        Standing { enabled: true, tokens_valid_after_secs: 0 }
    }
}

/// Why a token of an agent or a client is refused although genuine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenRefusal {
    Disabled,
    /// Issued before the secret was reset.
    Revoked,
}

impl Standing {
    /// Whether a token issued at `iat_secs` still counts. Disabled wins: its fix comes first.
    pub fn check_token(&self, iat_secs: i64) -> Result<(), TokenRefusal> {
        if !self.enabled {
            return Err(TokenRefusal::Disabled);
        }
        if iat_secs < self.tokens_valid_after_secs {
            return Err(TokenRefusal::Revoked);
        }
        Ok(())
    }

    /// The standing after a secret reset at `now_ms`: tokens issued until the next whole
    /// second are refused. (`iat` has whole seconds, so a token of the same second could be
    /// older or newer than the reset; the reset waits for that second before showing the new
    /// secret, so every token of the new secret counts.)
    pub fn reset_at(self, now_ms: i64) -> Standing {
        let valid_after_secs = now_ms.div_euclid(1000) + 1;
        Standing { tokens_valid_after_secs: valid_after_secs, ..self }
    }
}

/// A deployment with a client and an agent for it, created together or not at all: the demo
/// set-up of `porch serve --demo` (`Store::create_set_up`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetUp {
    pub deployment: DeploymentRecord,
    pub client: ClientRecord,
    pub agent: AgentRecord,
}

/// A guest and the one conversation its session opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestRecord {
    pub guest: Guest,
    pub deployment_id: String,
    pub conversation_id: String,
    /// The OAuth client that created this guest; only it may read it back.
    pub client_id: String,
    pub revoked: bool,
}

/// A guest with its deployment and its conversation, as read together (`Store::guest_session`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestSession {
    pub guest: GuestRecord,
    pub deployment: DeploymentRecord,
    pub conversation: Conversation,
}

/// What an operator may change on an existing deployment (`porch deployments update`). The
/// id, name and creation time stay; enabling and the notice have their own calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentSettings {
    pub origins: Vec<String>,
    /// New conversations go here; existing ones stay in the queue they started in.
    pub queue: String,
    pub guest_token_ttl_secs: u64,
}

/// What a live guest session re-checks at every heartbeat, read in one query: may it go on,
/// has its conversation moved past what it delivered, has its deployment's notice changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestStanding {
    pub revoked: bool,
    pub deployment_id: String,
    pub deployment_enabled: bool,
    pub notice: Option<Notice>,
    /// The guest's conversation's latest `seq`.
    pub last_seq: u64,
}

/// Checks that an origin is written the way browsers send it: `scheme://host[:port]`, no
/// path, no trailing slash. Returns the fix when it is not.
pub fn validate_origin(origin: &str) -> Result<(), String> {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return Err(format!("origin `{origin}` lacks a scheme; write it as https://example.com"));
    };
    if !matches!(scheme, "http" | "https") {
        return Err(format!("origin `{origin}` must use http or https"));
    }
    if rest.is_empty() || rest.contains('/') || rest.contains('?') || rest.contains('#') {
        return Err(format!(
            "origin `{origin}` must be scheme://host[:port] with no path or trailing slash, as browsers send it"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_checked_the_way_browsers_send_them() {
        assert!(validate_origin("https://shop.example").is_ok());
        assert!(validate_origin("http://127.0.0.1:8080").is_ok());
        assert!(validate_origin("https://shop.example/").unwrap_err().contains("trailing slash"));
        assert!(validate_origin("shop.example").unwrap_err().contains("scheme"));
        let d = DeploymentRecord {
            id: "dep_1".into(),
            name: "shop".into(),
            origins: vec!["https://shop.example".into()],
            queue: "default".into(),
            guest_token_ttl_secs: 60,
            enabled: true,
            created_at_ms: 0,
            notice: None,
        };
        assert!(d.allows_origin("https://shop.example"));
        assert!(!d.allows_origin("https://shop.example.evil"));
        assert!(!d.allows_origin("https://SHOP.example"));
    }

    #[test]
    fn a_standing_refuses_disabled_first_then_tokens_older_than_a_reset() {
        let fresh = Standing::default();
        assert_eq!(fresh.check_token(0), Ok(()), "a new record refuses no token");
        let reset = fresh.reset_at(5_300);
        assert_eq!(reset.tokens_valid_after_secs, 6, "the whole second after the reset");
        assert_eq!(reset.check_token(5), Err(TokenRefusal::Revoked), "same second, maybe older");
        assert_eq!(reset.check_token(6), Ok(()), "issued after the reset's second");
        assert_eq!(fresh.reset_at(5_000).tokens_valid_after_secs, 6, "an exact second too");
        let disabled = Standing { enabled: false, ..reset };
        assert_eq!(disabled.check_token(9), Err(TokenRefusal::Disabled));
        assert_eq!(disabled.check_token(1), Err(TokenRefusal::Disabled), "its fix comes first");
        assert!(reset.reset_at(1_000).enabled, "a reset keeps the enabled flag");
    }
}
