//! Outbound webhooks, as the Standard Webhooks specification (standardwebhooks.com) has them:
//! endpoints, the outbox's rows, event types, signatures, the retry schedule, and which targets
//! are refused. Pure: the store keeps the rows (`Store::claim_webhook_deliveries` and its
//! neighbours), the server delivers them (`porch_server::webhooks`).
//!
//! An event is one row per subscribed endpoint in the outbox, written by the same commit as the
//! log entry (or the conversation) that causes it, so an event is never lost between the commit
//! and its delivery. A row names its entry (`conversation_id`, `seq`; `seq` 0 is the
//! conversation's creation) rather than holding a body: the body is rendered from the log,
//! which never changes, so every attempt sends the same bytes under the same `webhook-id`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use porch_wire::rest::ConversationState;
use sha2::Sha256;

/// What every webhook secret starts with (the specification's convention).
pub const SECRET_PREFIX: &str = "whsec_";

/// An event a webhook endpoint may subscribe to. `docs/webhooks.md` holds their schemas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// A guest session opened a conversation (`seq` 0).
    ConversationCreated,
    /// A guest or an agent wrote in a conversation.
    MessageCreated,
    /// An agent took the conversation.
    ConversationAssigned,
    /// The conversation went back to its queue.
    ConversationReturned,
    /// The conversation was closed.
    ConversationClosed,
    /// Its guest wrote within the reopen window of the close: back to its last agent or its
    /// queue (docs/routing.md).
    ConversationReopened,
    /// An agent (or a supervisor) transferred the conversation to an agent or a queue, or a bot
    /// handed it off to a queue.
    ConversationTransferred,
    /// The guest's anonymous session was upgraded by an identity token: it is a known customer.
    GuestIdentified,
}

impl EventType {
    pub const ALL: [EventType; 8] = [
        EventType::ConversationCreated,
        EventType::MessageCreated,
        EventType::ConversationAssigned,
        EventType::ConversationReturned,
        EventType::ConversationClosed,
        EventType::ConversationReopened,
        EventType::ConversationTransferred,
        EventType::GuestIdentified,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ConversationCreated => "conversation.created",
            EventType::MessageCreated => "message.created",
            EventType::ConversationAssigned => "conversation.assigned",
            EventType::ConversationReturned => "conversation.returned",
            EventType::ConversationClosed => "conversation.closed",
            EventType::ConversationReopened => "conversation.reopened",
            EventType::ConversationTransferred => "conversation.transferred",
            EventType::GuestIdentified => "guest.identified",
        }
    }

    pub fn parse(text: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// The event a log entry is by its state change, or a message. An entry that is another
    /// event says so itself (`AppendRequest::webhook_event`): a reopen, a transfer, a guest
    /// identified.
    pub fn of_entry(event: Option<ConversationState>) -> EventType {
        match event {
            None => EventType::MessageCreated,
            Some(ConversationState::Assigned) => EventType::ConversationAssigned,
            Some(ConversationState::Waiting) => EventType::ConversationReturned,
            Some(ConversationState::Closed) => EventType::ConversationClosed,
        }
    }
}

/// Checks a list of event type names; the error names the unknown one and the known ones.
pub fn parse_event_types(names: &[String]) -> Result<Vec<EventType>, String> {
    if names.is_empty() {
        return Err(format!("name at least one event type ({})", known_event_types()));
    }
    names
        .iter()
        .map(|n| {
            EventType::parse(n).ok_or_else(|| {
                // A caller's text: quoted short and without control characters.
                let shown: String = n.chars().filter(|c| !c.is_control()).take(32).collect();
                format!("`{shown}` is no event type; the event types are {}", known_event_types())
            })
        })
        .collect()
}

fn known_event_types() -> String {
    EventType::ALL.map(EventType::as_str).join(", ")
}

/// An endpoint a deployment's events go to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookEndpoint {
    /// `whe_…`.
    pub id: String,
    pub deployment_id: String,
    pub url: String,
    /// `EventType::as_str` names.
    pub event_types: Vec<String>,
    /// `whsec_…`, kept in clear: signing needs it, as the token keys need theirs.
    pub secret: String,
    /// The secret before the last rotation, signing beside `secret` until
    /// `previous_secret_until_ms`.
    pub previous_secret: Option<String>,
    pub previous_secret_until_ms: i64,
    pub created_at_ms: i64,
}

impl WebhookEndpoint {
    /// The secrets that sign a delivery at `now_ms`: the current one, and the previous one
    /// while its overlap lasts, so receivers can move to the new secret without a gap.
    pub fn signing_secrets(&self, now_ms: i64) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let Some(previous) = &self.previous_secret
            && now_ms < self.previous_secret_until_ms
        {
            secrets.push(previous);
        }
        secrets
    }
}

/// Where a row of the outbox is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its (next) attempt, or in flight under a lease.
    Pending,
    /// Out of attempts: kept for an operator to inspect and replay.
    Dead,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Dead => "dead",
        }
    }

    pub fn parse(text: &str) -> Option<DeliveryState> {
        match text {
            "pending" => Some(DeliveryState::Pending),
            "dead" => Some(DeliveryState::Dead),
            _ => None,
        }
    }
}

/// One event for one endpoint: a row of the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub endpoint_id: String,
    pub conversation_id: String,
    /// The log entry; 0 is the conversation's creation.
    pub seq: u64,
    pub event_type: String,
    /// With `conversation.assigned`, the agent who took the conversation; with
    /// `conversation.transferred` to an agent, that agent.
    pub agent_id: Option<String>,
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    pub next_attempt_at_ms: i64,
    pub last_error: Option<String>,
    pub created_at_ms: i64,
    /// The conversation's queue when the event was committed (`None` for events stored before
    /// Porch kept it: their body names the conversation's queue at the attempt).
    pub queue: Option<String>,
}

impl Delivery {
    /// The `webhook-id`: the same for every attempt (and replay) of this event, so receivers
    /// can drop repeats.
    pub fn webhook_id(&self) -> String {
        webhook_id(&self.conversation_id, self.seq)
    }
}

/// The `webhook-id` of the event of entry `seq` of a conversation.
pub fn webhook_id(conversation_id: &str, seq: u64) -> String {
    format!("evt_{}_{seq}", conversation_id.trim_start_matches("cnv_"))
}

/// Which rows a node takes to deliver (`Store::claim_webhook_deliveries`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub endpoint_id: String,
    /// The node taking them; only it may finish them while the lease lasts.
    pub owner: String,
    pub now_ms: i64,
    pub lease_until_ms: i64,
    pub limit: u32,
}

/// What became of an attempt (`Store::finish_webhook_delivery`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finish {
    /// The receiver took it: the row goes.
    Delivered,
    /// Try again at `at_ms`.
    Retry { at_ms: i64, error: String },
    /// No more attempts: the row stays, dead, for `porch webhooks dead` and `replay`.
    Dead { error: String },
}

/// The retry schedule's settings (their `limits!` rows are `webhook_retry_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub base_ms: u64,
    pub max_ms: u64,
    pub horizon_ms: u64,
}

impl Schedule {
    /// After failed attempt number `attempts` (1 for the first) of an event enqueued at
    /// `created_at_ms`: exponential backoff (`base_ms`, doubling, at most `max_ms`) with "equal
    /// jitter" (a random half of the delay, `jitter_permille` of it, so retries of many events
    /// that failed together spread out), or dead once the next attempt would be past the horizon.
    pub fn after_failure(
        &self,
        attempts: u32,
        created_at_ms: i64,
        now_ms: i64,
        jitter_permille: u32,
        error: String,
    ) -> Finish {
        let doubling = attempts.saturating_sub(1).min(62);
        let delay_ms = self.base_ms.saturating_mul(1u64 << doubling).min(self.max_ms);
        let jitter_ms = delay_ms / 2 * u64::from(jitter_permille.min(1000)) / 1000;
        let wait_ms = i64::try_from(delay_ms - delay_ms / 2 + jitter_ms).unwrap_or(i64::MAX);
        let at_ms = now_ms.saturating_add(wait_ms);
        let horizon_ms = i64::try_from(self.horizon_ms).unwrap_or(i64::MAX);
        if at_ms > created_at_ms.saturating_add(horizon_ms) {
            Finish::Dead { error: format!("{error} (no attempt left within the retry horizon)") }
        } else {
            Finish::Retry { at_ms, error }
        }
    }
}

/// A new secret: `whsec_` and 32 random bytes in standard base64 (24 to 64 bytes, the
/// specification says).
pub fn new_secret() -> String {
    format!("{SECRET_PREFIX}{}", B64.encode(crate::ids::random_bytes::<32>()))
}

/// The key bytes of a `whsec_…` secret.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, String> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    B64.decode(encoded).map_err(|e| format!("the webhook secret is not base64 after whsec_: {e}"))
}

/// One signature: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body` under `key`.
pub fn sign(key: &[u8], webhook_id: &str, timestamp_secs: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(webhook_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_secs.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header: one signature per secret, separated by spaces, as the
/// specification allows while a secret is being rotated.
pub fn signature_header(
    secrets: &[&str],
    webhook_id: &str,
    timestamp_secs: i64,
    body: &[u8],
) -> Result<String, String> {
    let signatures: Result<Vec<String>, String> = secrets
        .iter()
        .map(|s| secret_key(s).map(|key| sign(&key, webhook_id, timestamp_secs, body)))
        .collect();
    Ok(signatures?.join(" "))
}

/// Why a target URL is refused before any connection. Only `https://` unless the operator
/// allows `http://` too; no user name or password in it. The reasons do not quote the URL,
/// which may hold a token of the receiver's.
pub fn check_url(url: &str, allow_http: bool) -> Result<(), String> {
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        if !allow_http {
            return Err(
                "the URL is http://; webhooks go to https:// targets unless the operator sets webhook_allow_http"
                    .to_owned(),
            );
        }
        rest
    } else {
        return Err("the URL does not start with https://".to_owned());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err("the URL names no host".to_owned());
    }
    if authority.contains('@') {
        return Err(
            "the URL holds a user name or password; leave them out: the signature authenticates Porch"
                .to_owned(),
        );
    }
    Ok(())
}

/// Why a target address is refused by default (server-side request forgery: a webhook must not
/// reach the operator's own network), or `None` for a public address.
pub fn forbidden_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => forbidden_v4(v4),
            None => forbidden_v6(v6),
        },
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || a == 0 {
        Some("non-unicast")
    } else {
        None
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("loopback")
    } else if first & 0xfe00 == 0xfc00 {
        Some("private")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if ip.is_unspecified() || ip.is_multicast() {
        Some("non-unicast")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_specification_s_example() {
        // The example of the Standard Webhooks specification (and its libraries' tests).
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let header =
            signature_header(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let two = signature_header(&[secret, &new_secret()], "m", 1, b"{}").unwrap();
        assert_eq!(two.split(' ').count(), 2, "two secrets, two signatures");
        assert!(signature_header(&["whsec_%%%"], "m", 1, b"{}").is_err());
    }

    #[test]
    fn event_types_have_one_name_each() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(EventType::of_entry(None), EventType::MessageCreated);
        assert_eq!(
            EventType::of_entry(Some(ConversationState::Closed)),
            EventType::ConversationClosed
        );
        let mut reopen = crate::store::AppendRequest::system("cnv_1", "reopened".into(), 0);
        (reopen.event, reopen.reopen_closed_since_ms) =
            (Some(ConversationState::Assigned), Some(0));
        assert_eq!(
            reopen.webhook_event(),
            EventType::ConversationReopened,
            "a reopen is its own event, whichever state it goes back to"
        );
        let wrong = parse_event_types(&["message.sent".into()]).unwrap_err();
        assert!(wrong.contains("message.sent") && wrong.contains("message.created"), "{wrong}");
        assert!(parse_event_types(&[]).is_err());
    }

    #[test]
    fn retries_back_off_with_jitter_until_the_horizon() {
        let schedule = Schedule { base_ms: 1_000, max_ms: 8_000, horizon_ms: 60_000 };
        let at = |attempts, jitter| match schedule.after_failure(attempts, 0, 0, jitter, "e".into())
        {
            Finish::Retry { at_ms, .. } => at_ms,
            other => panic!("{other:?}"),
        };
        assert_eq!((at(1, 0), at(1, 1000)), (500, 1_000), "half the delay, plus a random half");
        assert_eq!((at(2, 0), at(3, 0), at(4, 1000), at(9, 1000)), (1_000, 2_000, 8_000, 8_000));
        assert_eq!(at(u32::MAX, 1000), 8_000, "no overflow");
        let late = schedule.after_failure(3, 0, 59_000, 0, "503".into());
        assert!(matches!(late, Finish::Dead { ref error } if error.starts_with("503")), "{late:?}");
    }

    #[test]
    fn the_previous_secret_signs_while_its_overlap_lasts() {
        let endpoint = WebhookEndpoint {
            id: "whe_1".into(),
            deployment_id: "dep_1".into(),
            url: "https://example.com/hook".into(),
            event_types: vec!["message.created".into()],
            secret: "whsec_bmV3".into(),
            previous_secret: Some("whsec_b2xk".into()),
            previous_secret_until_ms: 1_000,
            created_at_ms: 0,
        };
        assert_eq!(endpoint.signing_secrets(999), ["whsec_bmV3", "whsec_b2xk"]);
        assert_eq!(endpoint.signing_secrets(1_000), ["whsec_bmV3"]);
    }

    #[test]
    fn targets_are_https_and_public_unless_allowed() {
        assert!(check_url("https://hooks.example.com/porch", false).is_ok());
        assert!(
            check_url("http://hooks.example.com/", false)
                .unwrap_err()
                .contains("webhook_allow_http")
        );
        assert!(check_url("http://127.0.0.1:9/", true).is_ok());
        assert!(check_url("ftp://x/", true).is_err());
        assert!(check_url("https://user:pw@x/", false).is_err());
        assert!(check_url("https:///x", false).is_err());
        for (ip, why) in [
            ("127.0.0.1", Some("loopback")),
            ("10.1.2.3", Some("private")),
            ("172.16.0.1", Some("private")),
            ("192.168.1.1", Some("private")),
            ("100.64.0.1", Some("private")),
            ("169.254.169.254", Some("link-local")),
            ("0.0.0.0", Some("non-unicast")),
            ("::1", Some("loopback")),
            ("fd00::1", Some("private")),
            ("fe80::1", Some("link-local")),
            ("::ffff:127.0.0.1", Some("loopback")),
            ("93.184.216.34", None),
            ("2606:2800:220:1::1", None),
        ] {
            assert_eq!(forbidden_address(ip.parse().unwrap()), why, "{ip}");
        }
    }
}
