//! The records Porch keeps, beside the conversation log itself (whose shapes are the wire
//! types `Message` and `Conversation`).

use porch_wire::rest::{AgentStatus, Conversation, Guest, Notice, Welcome};

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
    /// What the widget greets a new visitor with.
    pub welcome: Welcome,
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
    /// A supervisor sees every queue and every live conversation, and may transfer or close
    /// any of them (docs/routing.md, "Supervisors"); set by an operator.
    pub supervisor: bool,
    /// What guests see of the agent (`porch agents set --display-name --avatar-url`).
    pub profile: AgentProfile,
}

impl AgentRecord {
    /// The agent as the guest whose conversation it holds sees it: its display name, else its
    /// login name, and its avatar.
    pub fn card(&self) -> porch_wire::rest::AgentCard {
        porch_wire::rest::AgentCard {
            name: self.profile.display_name.clone().unwrap_or_else(|| self.name.clone()),
            avatar_url: self.profile.avatar_url.clone(),
        }
    }
}

/// An agent's display name and avatar, as an operator set them (`None`: not set). Checked by
/// `AgentProfile::check` before it is stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentProfile {
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
}

impl AgentProfile {
    /// A display name is 1 to `AGENT_DISPLAY_NAME_CHARS_MAX` characters with no control
    /// characters; an avatar URL is an absolute `https:` URL of at most
    /// `AGENT_AVATAR_URL_CHARS_MAX` characters, with a host and nothing a browser would read
    /// otherwise (no spaces, quotes, angle brackets, backslashes or control characters).
    /// The error names the cause and the fix.
    pub fn check(&self) -> Result<(), String> {
        use crate::limits::AGENT_DISPLAY_NAME_CHARS_MAX;
        if let Some(name) = &self.display_name {
            let chars = name.chars().count();
            if name.trim().is_empty() || chars > AGENT_DISPLAY_NAME_CHARS_MAX {
                return Err(format!(
                    "a display name has 1 to {AGENT_DISPLAY_NAME_CHARS_MAX} characters (AGENT_DISPLAY_NAME_CHARS_MAX), not {chars}: shorten it, or pass --clear-display-name"
                ));
            }
            if name.chars().any(char::is_control) {
                return Err("a display name is one line of text: remove its line breaks and control characters".into());
            }
        }
        if let Some(url) = &self.avatar_url {
            check_avatar_url(url)?;
        }
        Ok(())
    }
}

fn check_avatar_url(url: &str) -> Result<(), String> {
    use crate::limits::AGENT_AVATAR_URL_CHARS_MAX;
    let chars = url.chars().count();
    if chars > AGENT_AVATAR_URL_CHARS_MAX {
        return Err(format!(
            "the avatar URL has {chars} characters, more than {AGENT_AVATAR_URL_CHARS_MAX} (AGENT_AVATAR_URL_CHARS_MAX): host the picture at a shorter URL"
        ));
    }
    let host =
        url.strip_prefix("https://").map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""));
    if !host.is_some_and(|h| !h.is_empty() && !h.contains('@')) {
        return Err(format!(
            "the avatar URL must be an absolute https:// URL with a host and no user name (guests' browsers load it), not `{}`: host the picture over HTTPS",
            url.chars().take(40).collect::<String>()
        ));
    }
    if url.chars().any(|c| {
        c.is_control() || c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '\\' | '`')
    }) {
        return Err("the avatar URL has a space, a quote, an angle bracket, a backslash or a control character: percent-encode them".into());
    }
    Ok(())
}

/// A bot of a deployment (docs/bots.md): it signs in with its id and secret, and owns the
/// conversations of the queues that start with it until it hands them off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BotRecord {
    pub id: String,
    pub deployment_id: String,
    /// What guests read as its name.
    pub name: String,
    pub secret_hash: String,
    pub created_at_ms: i64,
    /// False: an operator disabled it (`porch bots disable`). Its tokens are refused, its
    /// queues' new conversations go straight to their agents, until `porch bots enable`, and
    /// the nodes hand the conversations it holds off (`porch_server::bots::disabled`).
    pub enabled: bool,
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

/// What routing knows of an agent (`docs/routing.md`): read by offers and assignments, and
/// changed by the store in the commit of every assignment and release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentRouting {
    pub agent_id: String,
    pub queues: Vec<String>,
    pub status: AgentStatus,
    /// Set by an operator; `None` takes the default of the agent's queues (`capacity_of`).
    pub capacity: Option<u32>,
    /// Conversations assigned to the agent now (state `assigned`).
    pub load: u32,
    /// When the agent was last assigned a conversation, 0 if never: who waited longest gets
    /// the next offer.
    pub last_assigned_at_ms: i64,
}

/// A queue's routing settings (`porch queues set`). A queue nobody configured has
/// `QueueSettings::unset`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueSettings {
    pub name: String,
    /// Capacity of the queue's agents that have none of their own; `None` takes the
    /// `agent_capacity_default` limit.
    pub capacity_default: Option<u32>,
    /// Waiting conversations are assigned to the chosen agent at once, without an offer.
    pub auto_accept: bool,
    /// Agents may take a waiting conversation by hand (`/assign`, or a first reply).
    pub manual_take: bool,
    /// The bot new conversations of this queue start with (docs/bots.md), until it hands off.
    pub bot_id: Option<String>,
    /// What happens to a conversation that waits this long with no agent (docs/routing.md).
    pub fallback: Option<Fallback>,
}

/// A queue's unanswered fallback: once a conversation has waited `after_secs` in the queue with
/// nobody holding it, Porch does `action`, once per wait, as one entry of its log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fallback {
    pub after_secs: u32,
    pub action: FallbackAction,
}

/// What a fallback does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FallbackAction {
    /// Tells the guest this text; the conversation keeps waiting.
    Message(String),
    /// Moves the conversation to this queue, waiting there.
    Queue(String),
    /// Closes the conversation with this text.
    Close(String),
}

impl FallbackAction {
    /// The stored name of the action, and its text (or queue).
    pub fn parts(&self) -> (&'static str, &str) {
        match self {
            FallbackAction::Message(text) => ("message", text),
            FallbackAction::Queue(queue) => ("queue", queue),
            FallbackAction::Close(text) => ("close", text),
        }
    }

    /// The action from its stored parts; `None` for a name no version wrote.
    pub fn from_parts(name: &str, text: String) -> Option<FallbackAction> {
        match name {
            "message" => Some(FallbackAction::Message(text)),
            "queue" => Some(FallbackAction::Queue(text)),
            "close" => Some(FallbackAction::Close(text)),
            _ => None,
        }
    }
}

impl QueueSettings {
    /// The settings of a queue nobody configured: offers, and taking by hand allowed (as
    /// before routing existed).
    pub fn unset(name: &str) -> QueueSettings {
        QueueSettings {
            name: name.to_owned(),
            capacity_default: None,
            auto_accept: false,
            manual_take: true,
            bot_id: None,
            fallback: None,
        }
    }
}

/// An agent's capacity: its own if an operator set one; else the smallest default among its
/// queues that have one (an agent of a queue of heavy chats is held to that queue's pace);
/// else `global_default` (the `agent_capacity_default` limit).
pub fn capacity_of(agent: &AgentRouting, queues: &[QueueSettings], global_default: u32) -> u32 {
    agent.capacity.unwrap_or_else(|| {
        queues
            .iter()
            .filter(|q| agent.queues.contains(&q.name))
            .filter_map(|q| q.capacity_default)
            .min()
            .unwrap_or(global_default)
    })
}

/// Checks a capacity an operator asks for (an agent's, or a queue's default): at least one
/// conversation, at most `AGENT_CAPACITY_MAX`. Returns the fix when it is not.
pub fn validate_capacity(capacity: i64) -> Result<u32, String> {
    let max = crate::limits::AGENT_CAPACITY_MAX;
    match u32::try_from(capacity) {
        Ok(c) if (1..=max).contains(&c) => Ok(c),
        _ => Err(format!(
            "capacity {capacity} is out of range: give a whole number of conversations from 1 to {max} (AGENT_CAPACITY_MAX); to stop an agent getting conversations, set its status to away"
        )),
    }
}

/// Checks a fallback an operator gives queue `queue`: a wait of 1 to `FALLBACK_AFTER_SECS_MAX`
/// seconds; a message or a close with a text people read (1 to `TEXT_CHARS_MAX` characters,
/// not blank); a move to another queue, named. Returns the fix when it is not so.
pub fn validate_fallback(queue: &str, fallback: Fallback) -> Result<Fallback, String> {
    let max_secs = crate::limits::FALLBACK_AFTER_SECS_MAX;
    if !(1..=max_secs).contains(&fallback.after_secs) {
        return Err(format!(
            "a fallback wait of {} s is out of range: give 1 to {max_secs} seconds (FALLBACK_AFTER_SECS_MAX)",
            fallback.after_secs
        ));
    }
    let max_chars = crate::limits::TEXT_CHARS_MAX;
    match &fallback.action {
        FallbackAction::Message(text) | FallbackAction::Close(text) if text.trim().is_empty() => {
            Err("a fallback's message is empty: write what the guest reads".to_owned())
        }
        FallbackAction::Message(text) | FallbackAction::Close(text)
            if text.chars().count() > max_chars =>
        {
            Err(format!(
                "a fallback's message has {} characters: shorten it to {max_chars} (TEXT_CHARS_MAX)",
                text.chars().count()
            ))
        }
        FallbackAction::Queue(to) if to.trim().is_empty() || to == queue => Err(format!(
            "a fallback moves a conversation to another queue: name one other than `{queue}`"
        )),
        _ => Ok(fallback),
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
    /// Its customer was erased (`Store::erase_customer`): revoked too, and its texts are gone.
    pub erased: bool,
}

/// What an erased guest keeps of its customer's `externalId`: a SHA-256 digest (hex), so erasing
/// the same customer again is recognised (`Store::erase_customer` answers it, not
/// `customer_unknown`). It confirms a guessed id, never reveals one (docs/identity.md).
pub fn erased_key(external_id: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(external_id.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
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
    pub welcome: Welcome,
}

/// What a live guest session re-checks at every heartbeat, read in one query: may it go on,
/// has its conversation moved past what it delivered, has its deployment's notice changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestStanding {
    pub revoked: bool,
    /// Its customer was erased: the session ends with `guest_erased`.
    pub erased: bool,
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

/// Checks a deployment's welcome against its limits. Returns the fix when it is off.
pub fn validate_welcome(welcome: &Welcome) -> Result<(), String> {
    use crate::limits::{GREETING_CHARS_MAX, REPLY_WITHIN_MINS_MAX};
    if let Some(greeting) = &welcome.greeting {
        let chars = greeting.chars().count();
        if greeting.trim().is_empty() {
            return Err("the greeting is empty; to show none, clear it (--clear-greeting)".into());
        }
        if chars > GREETING_CHARS_MAX {
            return Err(format!(
                "the greeting has {chars} characters; keep it to {GREETING_CHARS_MAX} (greeting_chars_max): \
                 a few sentences, the details in a link on your page"
            ));
        }
    }
    match welcome.reply_within_mins {
        Some(0) => Err(
            "--reply-within-mins must be at least 1; to say nothing, clear it (--clear-reply-time)"
                .into(),
        ),
        Some(mins) if mins > REPLY_WITHIN_MINS_MAX => Err(format!(
            "--reply-within-mins {mins} is more than a week ({REPLY_WITHIN_MINS_MAX}); say nothing instead (--clear-reply-time)"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routing(capacity: Option<u32>, queues: &[&str]) -> AgentRouting {
        AgentRouting {
            agent_id: "agt_1".into(),
            queues: queues.iter().map(|q| (*q).to_owned()).collect(),
            status: AgentStatus::Available,
            capacity,
            load: 0,
            last_assigned_at_ms: 0,
        }
    }

    #[test]
    fn capacity_is_the_agents_then_its_queues_smallest_default_then_the_limit() {
        let queue = |name: &str, default: Option<u32>| QueueSettings {
            capacity_default: default,
            ..QueueSettings::unset(name)
        };
        let queues = [
            queue("sales", Some(5)),
            queue("vip", Some(2)),
            queue("other", Some(1)),
            queue("plain", None),
        ];
        assert_eq!(capacity_of(&routing(Some(7), &["vip"]), &queues, 3), 7, "its own first");
        assert_eq!(capacity_of(&routing(None, &["sales", "vip"]), &queues, 3), 2);
        assert_eq!(
            capacity_of(&routing(None, &["sales", "plain"]), &queues, 3),
            5,
            "a queue without a default does not count"
        );
        assert_eq!(capacity_of(&routing(None, &["plain"]), &queues, 3), 3, "else the limit");
        assert_eq!(capacity_of(&routing(None, &["nowhere"]), &[], 3), 3);
    }

    #[test]
    fn capacities_are_whole_positive_and_bounded() {
        assert_eq!(validate_capacity(1), Ok(1));
        let max = crate::limits::AGENT_CAPACITY_MAX;
        assert_eq!(validate_capacity(i64::from(max)), Ok(max));
        for bad in [0, -1, i64::from(max) + 1, i64::MAX] {
            let why = validate_capacity(bad).unwrap_err();
            assert!(why.contains(&bad.to_string()) && why.contains("from 1 to"), "{why}");
        }
    }

    #[test]
    fn a_welcome_is_held_to_its_limits() {
        let welcome = |greeting: Option<&str>, mins| Welcome {
            greeting: greeting.map(str::to_owned),
            reply_within_mins: mins,
            offline_form: true,
        };
        assert!(validate_welcome(&welcome(Some("Hi! Ask us anything."), Some(5))).is_ok());
        assert!(validate_welcome(&Welcome::default()).is_ok());
        assert!(
            validate_welcome(&welcome(Some("  "), None)).unwrap_err().contains("--clear-greeting")
        );
        let long = "é".repeat(crate::limits::GREETING_CHARS_MAX + 1);
        assert!(
            validate_welcome(&welcome(Some(&long), None))
                .unwrap_err()
                .contains("greeting_chars_max")
        );
        assert!(
            validate_welcome(&welcome(Some(&long[..long.len() - 2]), None)).is_ok(),
            "counted in characters, not bytes"
        );
        assert!(validate_welcome(&welcome(None, Some(0))).unwrap_err().contains("at least 1"));
        assert!(validate_welcome(&welcome(None, Some(10_081))).unwrap_err().contains("a week"));
    }

    /// The store keeps a welcome as JSON: one written before the offline form existed has it
    /// on, and a welcome that says nothing but the form's default is stored as none.
    #[test]
    fn a_welcome_stored_before_the_offline_form_has_it_on() {
        let old: Welcome =
            serde_json::from_str(r#"{"greeting":"Hi","replyWithinMins":5}"#).unwrap();
        assert!(old.offline_form);
        assert!(Welcome::default().offline_form && Welcome::default().is_empty());
        assert!(!Welcome { offline_form: false, ..Welcome::default() }.is_empty());
    }

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
            welcome: Welcome::default(),
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
