//! Every limit of Porch: its name, unit, default and the reason for the default.
//!
//! A limit lives here and nowhere else. `porch serve --help` and `docs/limits.md` list the same
//! names; the server reads them from `Limits`, which the configuration fills in.
//! Relationships between defaults are asserted at compile time, at the bottom of the file.

/// Largest WebSocket message (and frame) the gateway reads. A larger one closes the
/// connection with 1009. 64 KiB follows OWASP's guidance and leaves room for a 4,000-character
/// text in 4-byte UTF-8 plus JSON framing.
pub const WS_MESSAGE_BYTES_MAX: usize = 64 * 1024;

/// Largest WebSocket frame header (RFC 6455 §5.2: 2 bytes, 8 of extended length, 4 of mask).
pub const WS_FRAME_HEADER_BYTES_MAX: usize = 14;

/// Longest message text, in Unicode scalar values. Longer → `text_too_long`.
pub const TEXT_CHARS_MAX: usize = 4_000;

/// Largest REST request body. Larger → 413 `body_too_large`.
pub const HTTP_BODY_BYTES_MAX: usize = 64 * 1024;

/// Longest `clientMessageId`, in Unicode scalar values (as `TEXT_CHARS_MAX`, so the OpenAPI
/// document's `maxLength` says it exactly). Ids are opaque to Porch; 128 fits a UUID with any
/// prefix a client likes.
pub const CLIENT_MESSAGE_ID_CHARS_MAX: usize = 128;

/// Longest access token the gateway reads from a handshake. A JWT Porch issues is about 400
/// bytes; 4 KiB refuses a 200 kB offer before any parsing work.
pub const TOKEN_BYTES_MAX: usize = 4 * 1024;

/// Guest attributes: at most this many keys. Each key, each value and each other guest field
/// (display name, email, external id) at most `ATTRIBUTE_CHARS_MAX` Unicode scalar values.
pub const ATTRIBUTES_COUNT_MAX: usize = 32;
pub const ATTRIBUTE_CHARS_MAX: usize = 1024;

/// Live events a queue's topic holds for the agents that follow it (conversation topics hold
/// at most `hub::CONVERSATION_TOPIC_FRAMES_MAX`): an agent further behind counts as a slow
/// consumer and is closed with 4201 (it then resyncs from `ready`, so nothing is lost). The
/// ring is one per queue, shared by its agents, about 32 bytes a slot: memory stays bounded
/// whatever a client does. 1,024 gives an agent (a bot) that follows a queue at 10,000 events/s
/// 100 ms of slack; 256 gave 25 ms, which one scheduling hiccup on a busy 2-core machine
/// exceeded (BENCHMARKS.md, S3 at 10k/s).
pub const CONNECTION_SEND_QUEUE_FRAMES_MAX: usize = 1024;

/// How long one write to a client may wait for the client to read. A client that does not
/// read for this long is a slow consumer: the server closes it (4201) and it resumes from its
/// last `seq`. Bounds how long a stuck client holds its session.
pub const WRITE_TIMEOUT_MS: u64 = 10_000;

/// Ceiling on the bytes the WebSocket layer may hold for one connection. It holds a batch of
/// small frames (at most 4 KiB, the gateway's write batch) or one larger frame at a time, and
/// writes it out before taking more; the ceiling must fit the largest frame Porch sends, which is an agent's `ready` listing up to 500 open
/// conversations (about 270 bytes each). A ceiling, not an allocation: idle connections cost
/// nothing here.
pub const CONNECTION_WRITE_BUFFER_BYTES_MAX: usize = 1024 * 1024;

/// Interval of the server's protocol pings. Below the 60 s idle timeouts of common proxies.
pub const HEARTBEAT_INTERVAL_MS: u64 = 25_000;

/// A connection that sends nothing (not even a pong) for this long is closed with 4202.
pub const IDLE_TIMEOUT_MS: u64 = 60_000;

/// Open WebSocket connections per server process. The machine allows 20,000 open files per
/// process; this leaves room for the store, listeners and logs.
pub const CONNECTIONS_MAX: usize = 19_000;

/// Listen backlog. Tokio's default of 128 makes a reconnect storm wait a second for SYN
/// retransmits; the kernel's `somaxconn` here is 4096.
pub const LISTEN_BACKLOG: u32 = 4096;

/// Most messages replayed on resume. A client further behind gets `recovered: false` and pages
/// history over REST, so one reconnect cannot make the server read an unbounded log.
pub const RESUME_MESSAGES_MAX: u64 = 1_000;

/// Largest history page.
pub const HISTORY_PAGE_MAX: u32 = 200;

/// Default lifetimes of tokens, in seconds.
pub const CLIENT_TOKEN_TTL_SECS: u64 = 3_600;
pub const GUEST_TOKEN_TTL_SECS: u64 = 3_600;
pub const AGENT_TOKEN_TTL_SECS: u64 = 8 * 3_600;

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const TOKEN_LEEWAY_SECS: u64 = 30;

/// Writes the SQLite writer commits in one transaction (group commit). Bounds the time one
/// commit holds the write lock, and so the extra delay of any one ack.
pub const COMMIT_BATCH_MAX: usize = 512;

/// WAL length (pages of 4 KiB: 16 MiB) past which the SQLite writer restarts the WAL between
/// two batches. Under load the WAL would otherwise never start over and grows without end
/// (1 GB in 12 s at 10,000 messages/s), each write extending the file. Lower restarts more
/// often, each a pause of a few milliseconds for the writer; higher keeps a longer WAL.
pub const WAL_RESTART_PAGES: i64 = 4_096;

/// How long the writer's WAL restart waits for readers to leave the WAL (and for a write by
/// another process, such as the CLI). A reader that stays longer puts the restart off until
/// the WAL has grown by another `WAL_RESTART_PAGES`.
pub const WAL_RESTART_WAIT_MS: u64 = 50;

/// Writes waiting for the SQLite writer. When full, senders wait (backpressure): memory stays
/// bounded under any load.
pub const WRITE_QUEUE_MAX: usize = 8_192;

/// Time a client has to send a request's headers, from the moment the server starts waiting
/// for them (a new connection, or an idle keep-alive one). Slowloris clients that trickle
/// headers are cut when it passes. hyper's default is 30 s; OWASP and most proxies use 10 s.
pub const HTTP_HEADER_TIMEOUT_MS: u64 = 10_000;

/// Open TCP connections (HTTP and WebSocket) from one address. Beyond it, a new connection
/// gets `429` and is closed before any parsing. Generous, because a company's visitors or
/// agents may share one NAT address; trusted proxies (`trusted_proxies`) are not counted.
pub const CONNECTIONS_PER_IP_MAX: usize = 1_000;

/// Open gateway sessions of one guest (browser tabs). Beyond it, close 4101.
pub const CONNECTIONS_PER_GUEST_MAX: usize = 10;

/// WebSocket handshakes per client address: sustained rate and burst. Beyond it, `429` with
/// `Retry-After` before any token work, so a flood costs the server almost nothing.
pub const HANDSHAKES_PER_IP_PER_SEC: u64 = 20;
pub const HANDSHAKES_PER_IP_BURST: u64 = 40;

/// Failed sign-ins (token endpoint, introspection, agent login) per client address and per
/// account, per minute. While either is spent, sign-ins from that address or for that
/// account get `429` with `Retry-After`, even with the right secret (RFC 6749 §2.3.1: protect
/// against brute force). Successful sign-ins cost nothing.
pub const AUTH_FAILURES_PER_IP_PER_MIN: u64 = 10;
pub const AUTH_FAILURES_PER_ACCOUNT_PER_MIN: u64 = 30;

/// Secret checks (Argon2id, 19 MiB and tens of ms each) running at once. More wait up to
/// `PASSWORD_CHECK_WAIT_MS`, then get `429`: a sign-in flood from many addresses cannot take
/// all the memory or starve the gateway of CPU.
pub const PASSWORD_CHECKS_CONCURRENT_MAX: usize = 4;

/// Guest sessions the public widget endpoint creates per client address per minute.
pub const WIDGET_SESSIONS_PER_IP_PER_MIN: u64 = 20;

/// Widget reads (`GET …/deployments/{id}/widget`, one per page view of a site with the widget)
/// per client address per minute. Generous, since an office's visitors share one address.
pub const WIDGET_READS_PER_IP_PER_MIN: u64 = 300;

/// Notices set or cleared per deployment per minute. Each one is a frame to every connected
/// guest of the deployment (100,000 of them in BENCHMARKS.md, S1b): a loop in the customer's
/// backend must not turn into a broadcast storm.
pub const NOTICES_PER_DEPLOYMENT_PER_MIN: u64 = 10;

/// Messages one guest may send (gateway and REST together): sustained rate and burst. Beyond
/// it, the message is refused with `rate_limited` (nothing stored; retry it with the same
/// `clientMessageId` after `retryAfterMs`). A person types far slower; bots use the agent API.
pub const GUEST_MESSAGES_PER_SEC: u64 = 10;
pub const GUEST_MESSAGES_BURST: u64 = 30;

/// Limits as the server uses them: the defaults above, overridden by configuration.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    pub ws_message_bytes_max: usize,
    pub text_chars_max: usize,
    pub http_body_bytes_max: usize,
    pub connection_send_queue_frames_max: usize,
    pub connection_write_buffer_bytes_max: usize,
    pub write_timeout_ms: u64,
    pub heartbeat_interval_ms: u64,
    pub idle_timeout_ms: u64,
    pub connections_max: usize,
    pub listen_backlog: u32,
    pub resume_messages_max: u64,
    pub history_page_max: u32,
    pub client_token_ttl_secs: u64,
    pub agent_token_ttl_secs: u64,
    pub token_leeway_secs: u64,
    pub http_header_timeout_ms: u64,
    pub connections_per_ip_max: usize,
    pub connections_per_guest_max: usize,
    pub handshakes_per_ip_per_sec: u64,
    pub handshakes_per_ip_burst: u64,
    pub auth_failures_per_ip_per_min: u64,
    pub auth_failures_per_account_per_min: u64,
    pub password_checks_concurrent_max: usize,
    pub widget_sessions_per_ip_per_min: u64,
    pub widget_reads_per_ip_per_min: u64,
    pub notices_per_deployment_per_min: u64,
    pub guest_messages_per_sec: u64,
    pub guest_messages_burst: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            ws_message_bytes_max: WS_MESSAGE_BYTES_MAX,
            text_chars_max: TEXT_CHARS_MAX,
            http_body_bytes_max: HTTP_BODY_BYTES_MAX,
            connection_send_queue_frames_max: CONNECTION_SEND_QUEUE_FRAMES_MAX,
            connection_write_buffer_bytes_max: CONNECTION_WRITE_BUFFER_BYTES_MAX,
            write_timeout_ms: WRITE_TIMEOUT_MS,
            heartbeat_interval_ms: HEARTBEAT_INTERVAL_MS,
            idle_timeout_ms: IDLE_TIMEOUT_MS,
            connections_max: CONNECTIONS_MAX,
            listen_backlog: LISTEN_BACKLOG,
            resume_messages_max: RESUME_MESSAGES_MAX,
            history_page_max: HISTORY_PAGE_MAX,
            client_token_ttl_secs: CLIENT_TOKEN_TTL_SECS,
            agent_token_ttl_secs: AGENT_TOKEN_TTL_SECS,
            token_leeway_secs: TOKEN_LEEWAY_SECS,
            http_header_timeout_ms: HTTP_HEADER_TIMEOUT_MS,
            connections_per_ip_max: CONNECTIONS_PER_IP_MAX,
            connections_per_guest_max: CONNECTIONS_PER_GUEST_MAX,
            handshakes_per_ip_per_sec: HANDSHAKES_PER_IP_PER_SEC,
            handshakes_per_ip_burst: HANDSHAKES_PER_IP_BURST,
            auth_failures_per_ip_per_min: AUTH_FAILURES_PER_IP_PER_MIN,
            auth_failures_per_account_per_min: AUTH_FAILURES_PER_ACCOUNT_PER_MIN,
            password_checks_concurrent_max: PASSWORD_CHECKS_CONCURRENT_MAX,
            widget_sessions_per_ip_per_min: WIDGET_SESSIONS_PER_IP_PER_MIN,
            widget_reads_per_ip_per_min: WIDGET_READS_PER_IP_PER_MIN,
            notices_per_deployment_per_min: NOTICES_PER_DEPLOYMENT_PER_MIN,
            guest_messages_per_sec: GUEST_MESSAGES_PER_SEC,
            guest_messages_burst: GUEST_MESSAGES_BURST,
        }
    }
}

impl Limits {
    /// Checks relationships between limits that configuration could break.
    pub fn validate(&self) -> Result<(), String> {
        let checks: [(bool, &str); 12] = [
            (
                self.connection_write_buffer_bytes_max
                    >= self.ws_message_bytes_max + WS_FRAME_HEADER_BYTES_MAX,
                "connection_write_buffer_bytes_max must hold ws_message_bytes_max plus a 14-byte frame header, or a largest message cannot be sent",
            ),
            (self.write_timeout_ms >= 100, "write_timeout_ms below 100 cuts clients on any hiccup"),
            (
                self.heartbeat_interval_ms < self.idle_timeout_ms,
                "heartbeat_interval_ms must be below idle_timeout_ms, or idle clients are cut",
            ),
            // A text of `text_chars_max` 4-byte characters must fit a message with its framing.
            (
                self.text_chars_max * 4 + 512 <= self.ws_message_bytes_max,
                "ws_message_bytes_max must hold text_chars_max 4-byte characters plus 512 bytes of JSON",
            ),
            (
                self.connection_send_queue_frames_max >= 8,
                "connection_send_queue_frames_max below 8 disconnects healthy clients",
            ),
            (self.history_page_max >= 1, "history_page_max must be at least 1"),
            (self.listen_backlog >= 128, "listen_backlog below 128 stalls reconnect storms"),
            (
                self.http_header_timeout_ms >= 1_000,
                "http_header_timeout_ms below 1000 cuts slow mobile clients",
            ),
            (
                self.connections_per_ip_max >= 1 && self.connections_per_guest_max >= 1,
                "connections_per_ip_max and connections_per_guest_max must be at least 1",
            ),
            (
                self.handshakes_per_ip_burst >= 1 && self.guest_messages_burst >= 1,
                "handshakes_per_ip_burst and guest_messages_burst must be at least 1, or nothing gets through",
            ),
            (
                self.password_checks_concurrent_max >= 1,
                "password_checks_concurrent_max must be at least 1",
            ),
            (
                self.auth_failures_per_ip_per_min >= 1
                    && self.auth_failures_per_account_per_min >= 1
                    && self.widget_sessions_per_ip_per_min >= 1
                    && self.notices_per_deployment_per_min >= 1
                    && self.widget_reads_per_ip_per_min >= 1,
                "per-minute limits must be at least 1",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, why)) => Err((*why).to_string()),
            None => Ok(()),
        }
    }
}

const _: () = assert!(TEXT_CHARS_MAX * 4 + 512 <= WS_MESSAGE_BYTES_MAX);
const _: () = assert!(HEARTBEAT_INTERVAL_MS < IDLE_TIMEOUT_MS);
const _: () = assert!(TOKEN_BYTES_MAX < WS_MESSAGE_BYTES_MAX);
const _: () = assert!(COMMIT_BATCH_MAX <= WRITE_QUEUE_MAX);
const _: () = assert!(HANDSHAKES_PER_IP_PER_SEC <= HANDSHAKES_PER_IP_BURST);
const _: () = assert!(GUEST_MESSAGES_PER_SEC <= GUEST_MESSAGES_BURST);
const _: () = assert!(CONNECTIONS_PER_GUEST_MAX <= CONNECTIONS_PER_IP_MAX);
const _: () = assert!(CONNECTION_WRITE_BUFFER_BYTES_MAX > WS_MESSAGE_BYTES_MAX);
// An agent's `ready` with its 500 conversations, at up to 1 KiB each, must fit.
const _: () = assert!(CONNECTION_WRITE_BUFFER_BYTES_MAX >= 500 * 1024);
const _: () = assert!(porch_wire::code::CLOSE_REASON_BYTES_MAX == 123);

#[cfg(test)]
mod tests {
    #[test]
    fn defaults_are_consistent() {
        super::Limits::default().validate().unwrap();
        let bad = super::Limits { heartbeat_interval_ms: 70_000, ..Default::default() };
        assert!(bad.validate().unwrap_err().contains("heartbeat_interval_ms"));
        // A write ceiling one byte above the message limit cannot hold that message's frame.
        let tight = super::Limits {
            connection_write_buffer_bytes_max: super::WS_MESSAGE_BYTES_MAX + 1,
            ..Default::default()
        };
        assert!(tight.validate().unwrap_err().contains("frame header"));
    }
}
