//! Every limit of Porch, in one table.
//!
//! A row of `limits!` below is the whole definition of a limit: its name (with its unit), its
//! type and default, whether operators may set it, and its documentation (what happens at the
//! limit, and why the default). From that one row come
//! - the constant (`WS_MESSAGE_BYTES_MAX`), which code uses for fixed limits and defaults;
//! - for limits operators may set (`NAME as setting`): the field of `Limits` with its default,
//!   the TOML key under `[limits]`, the flag `--setting-with-dashes` and the variable
//!   `PORCH_NAME` (built from `ROWS` by the `porch` binary), and `Limits::set`;
//! - `ROWS`, from which `markdown_reference` writes the limits section of `docs/config.md`
//!   (a test fails when that section differs).
//!
//! Adding a limit is one edit here. Relationships between defaults are compile-time assertions
//! at the bottom of the file; relationships operators could break are in `Limits::validate`.

/// One limit, as documentation and the CLI see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitRow {
    /// The constant's name, e.g. `WS_MESSAGE_BYTES_MAX`.
    pub constant: &'static str,
    /// For a limit operators may set: its setting's name (`ws_message_bytes_max`), the key under
    /// `[limits]`, the flag with dashes, and the variable `PORCH_` + `constant`.
    pub setting: Option<&'static str>,
    /// The default (every limit is a non-negative integer).
    pub default: u64,
    /// The unit, in words, for people.
    pub unit: &'static str,
    /// The row's doc comment: what happens at the limit, and why the default.
    pub doc: &'static str,
}

impl LimitRow {
    /// The doc comment as one paragraph.
    pub fn text(&self) -> String {
        self.doc.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// The first sentence of the doc comment: the CLI's short help.
    pub fn summary(&self) -> String {
        let text = self.text();
        match text.find(". ") {
            Some(end) => text[..=end].to_string(),
            None => text,
        }
    }

    /// `PORCH_WS_MESSAGE_BYTES_MAX`, for a limit operators may set.
    pub fn env(&self) -> Option<String> {
        self.setting.map(|_| format!("PORCH_{}", self.constant))
    }

    /// `--ws-message-bytes-max`, for a limit operators may set.
    pub fn flag(&self) -> Option<String> {
        self.setting.map(|s| format!("--{}", s.replace('_', "-")))
    }
}

/// The table's grammar, one row at a time (a "tt muncher"), because only the rows operators may
/// set become fields of `Limits`:
/// - `/// doc` then `NAME as setting: type = default, "unit";` (operators may set it);
/// - `/// doc` then `NAME: type = default, "unit";` (fixed).
macro_rules! limits {
    (@row [$($all:tt)*] [$($set:tt)*]
        $(#[doc = $doc:literal])+
        $constant:ident as $setting:ident: $ty:ty = $value:expr, $unit:literal;
        $($rest:tt)*
    ) => {
        $(#[doc = $doc])+
        pub const $constant: $ty = $value;
        limits!(@row
            [$($all)* ($constant, Some(stringify!($setting)), $unit, concat!($($doc, "\n"),+))]
            [$($set)* ($constant $setting $ty)]
            $($rest)*);
    };
    (@row [$($all:tt)*] [$($set:tt)*]
        $(#[doc = $doc:literal])+
        $constant:ident: $ty:ty = $value:expr, $unit:literal;
        $($rest:tt)*
    ) => {
        $(#[doc = $doc])+
        pub const $constant: $ty = $value;
        limits!(@row
            [$($all)* ($constant, None, $unit, concat!($($doc, "\n"),+))]
            [$($set)*]
            $($rest)*);
    };
    (@row
        [$(($constant:ident, $setting:expr, $unit:literal, $doc:expr))*]
        [$(($default:ident $field:ident $ty:ty))*]
    ) => {
        // `ROWS` holds defaults as `u64`: a negative one would wrap.
        $(const _: () = assert!($constant as i128 >= 0, "a limit's default is not negative");)*

        /// Every limit, in the table's order.
        pub const ROWS: &[LimitRow] = &[$(LimitRow {
            constant: stringify!($constant),
            setting: $setting,
            default: $constant as u64,
            unit: $unit,
            doc: $doc,
        }),*];

        /// The limits operators may set, as the server uses them: the defaults of the table,
        /// overridden by the configuration file, `PORCH_*` variables and flags.
        #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct Limits {
            $(pub $field: $ty,)*
        }

        impl Default for Limits {
            fn default() -> Self {
                Limits { $($field: $default,)* }
            }
        }

        impl Limits {
            /// Sets the limit named `setting` from text (a flag's or a variable's value).
            pub fn set(&mut self, setting: &str, value: &str) -> Result<(), String> {
                match setting {
                    $(stringify!($field) => {
                        self.$field = value.trim().parse().map_err(|e| {
                            format!("{setting} = `{value}`: {e} (a whole number is expected)")
                        })?;
                    })*
                    other => return Err(format!("there is no limit named `{other}`")),
                }
                Ok(())
            }
        }
    };
    // The entry point; last, so that the `@row` calls above never match it.
    ($($rows:tt)*) => { limits!(@row [] [] $($rows)*); };
}

limits! {
    // ----- Frames and texts ---------------------------------------------------------------

    /// Largest WebSocket message (and frame) the gateway reads. A larger one closes the
    /// connection with 1009 `message_too_big`. 64 KiB follows OWASP's guidance and leaves room
    /// for a text of `text_chars_max` 4-byte characters with its JSON framing.
    WS_MESSAGE_BYTES_MAX as ws_message_bytes_max: usize = 64 * 1024, "bytes";

    /// Largest WebSocket frame header (RFC 6455 §5.2: 2 bytes, 8 of extended length, 4 of mask):
    /// what a frame adds to its message in the write buffer.
    WS_FRAME_HEADER_BYTES_MAX: usize = 14, "bytes";

    /// Longest message text, in Unicode scalar values. A longer text gets `text_too_long` (an
    /// `error` frame, or 413 on REST).
    TEXT_CHARS_MAX as text_chars_max: usize = 4_000, "characters";

    /// Largest REST request body. A larger one gets 413 `body_too_large`.
    HTTP_BODY_BYTES_MAX as http_body_bytes_max: usize = 64 * 1024, "bytes";

    /// Longest `clientMessageId`, in Unicode scalar values (as `text_chars_max`, so the OpenAPI
    /// document's `maxLength` says it exactly). Ids are opaque to Porch; 128 fits a UUID with any
    /// prefix a client likes.
    CLIENT_MESSAGE_ID_CHARS_MAX: usize = 128, "characters";

    /// Longest access token the gateway reads from a handshake. A token Porch issues is about
    /// 400 bytes; 4 KiB refuses a 200 kB offer before any parsing work.
    TOKEN_BYTES_MAX: usize = 4 * 1024, "bytes";

    /// Guest attributes: at most this many keys. Attributes are labels for agents, not a
    /// document store.
    ATTRIBUTES_COUNT_MAX: usize = 32, "keys";

    /// Longest attribute key or value, and longest other guest field (display name, email,
    /// external id), in Unicode scalar values.
    ATTRIBUTE_CHARS_MAX: usize = 1024, "characters";

    /// Longest page address a visitor's context may carry (`VisitorContext::page_url`): what
    /// browsers keep in practice; a longer one is refused with `invalid_request`.
    VISITOR_PAGE_URL_CHARS_MAX: usize = 2048, "characters";

    /// Longest page title a visitor's context may carry; a longer one is refused.
    VISITOR_PAGE_TITLE_CHARS_MAX: usize = 300, "characters";

    /// Longest `User-Agent` a visitor's context may carry; a longer one is refused. Real ones
    /// are about 150 characters.
    VISITOR_USER_AGENT_CHARS_MAX: usize = 512, "characters";

    /// Longest quote of a client's own value (an origin, a `kid`, a misspelled marker) in a
    /// refusal, in bytes, not characters: 24 four-byte characters would not fit a close reason.
    /// A token is never quoted at all.
    REFUSAL_QUOTE_BYTES_MAX: usize = 24, "bytes";

    // ----- Bots' messages (docs/bots.md) ---------------------------------------------------

    /// Most quick replies under one bot message. More get `content_invalid`: a row of buttons
    /// a guest can read at a glance, and the widget's layout, hold about this many.
    BOT_QUICK_REPLIES_MAX: usize = 10, "quick replies";

    /// Longest quick-reply label, and longest card link label, in Unicode scalar values: a
    /// button's words, which the guest's pick sends back as its text.
    BOT_LABEL_CHARS_MAX: usize = 40, "characters";

    /// Longest quick-reply `id`, in Unicode scalar values: the bot's own key for the choice.
    BOT_CHOICE_ID_CHARS_MAX: usize = 64, "characters";

    /// Most cards under one bot message.
    BOT_CARDS_MAX: usize = 5, "cards";

    /// Longest card title, in Unicode scalar values.
    BOT_CARD_TITLE_CHARS_MAX: usize = 80, "characters";

    /// Longest card text, in Unicode scalar values: a card is a summary with links, not a page.
    BOT_CARD_TEXT_CHARS_MAX: usize = 500, "characters";

    /// Most links on one card.
    BOT_CARD_LINKS_MAX: usize = 3, "links";

    /// Longest card link URL, in bytes (`https://` only), as browsers and servers commonly
    /// accept.
    BOT_URL_BYTES_MAX: usize = 2_048, "bytes";

    /// Longest hand-off summary a bot leaves for agents, in Unicode scalar values (a message's
    /// `text_chars_max` fits the longest conversation recap an agent reads before replying).
    BOT_SUMMARY_CHARS_MAX: usize = 4_000, "characters";

    /// How often each node looks for open conversations a disabled bot still holds, to hand
    /// them to their deployment's queue (docs/bots.md): what bounds how long they wait after
    /// `porch bots disable`. Every node looks; the store lets one of them write each hand-off.
    BOT_DISABLED_SCAN_INTERVAL_MS: u64 = 1_000, "milliseconds";

    /// How many of a disabled bot's conversations a node's pass hands off at once; the rest
    /// wait for the next pass, so one pass stays short.
    BOT_DISABLED_BATCH_MAX: u32 = 100, "conversations";

    /// How long `porch bots remove` waits for the running nodes to hand off the open
    /// conversations the bot holds (it disables the bot first, so their disabled-bots pass
    /// finds them) before it removes the bot; past it the bot stays disabled and the command
    /// says to run it again, since a removed bot's holding queue is no longer looked at. Ten
    /// passes: a thousand conversations at `BOT_DISABLED_BATCH_MAX` a pass.
    BOT_REMOVE_WAIT_MS: u64 = 10_000, "milliseconds";

    // ----- Connections and their buffers ----------------------------------------------------

    /// Live events a queue's topic holds for the agents that follow it (one ring per queue,
    /// shared by its agents, about 32 bytes a slot; conversation topics hold at most
    /// `CONVERSATION_TOPIC_FRAMES_MAX`). An agent further behind is a slow consumer, closed with
    /// 4201 `slow_consumer`; it resyncs from `ready`, so nothing is lost. 1,024 gives an agent (a
    /// bot) that follows a queue at 10,000 events/s 100 ms of slack; 256 gave 25 ms, which one
    /// scheduling hiccup on a busy 2-core machine exceeded (BENCHMARKS.md, S3 at 10k/s).
    CONNECTION_SEND_QUEUE_FRAMES_MAX as connection_send_queue_frames_max: usize = 1024, "frames";

    /// Live events a conversation's topic holds. Only guest sessions listen there, and a guest
    /// that falls behind catches up from the store one `history_page_max` page at a time, so a
    /// deep ring buys nothing; each slot costs 32 bytes per live conversation (256 slots were a
    /// quarter of an idle guest's memory; 32 slots were 1 KiB of an idle guest's 7, BENCHMARKS.md
    /// "Session 8"). 16 still holds a burst (a bot's answer of several messages, the assignment
    /// and the agent's typing) while the session writes the last one out.
    CONVERSATION_TOPIC_FRAMES_MAX: usize = 16, "frames";

    /// Live events a deployment's topic holds. Its events are notices, each replacing the last,
    /// so a session that falls behind needs only the current one, which it re-reads.
    DEPLOYMENT_TOPIC_FRAMES_MAX: usize = 4, "frames";

    /// Ceiling on the bytes the WebSocket layer may hold for one connection. It holds a batch
    /// of small frames (up to `WRITE_BATCH_BYTES_MAX`, written out together) or one larger frame
    /// at a time, and writes it out before taking more; it must fit the largest frame Porch
    /// sends, an agent's `ready` listing up to `CONVERSATION_LIST_MAX` open conversations (about
    /// 270 bytes each), which stops where it would not fit (`moreConversations`). Any other
    /// frame that does not fit is logged as an `internal` error naming this limit. A ceiling, not
    /// an allocation: idle connections cost nothing here.
    CONNECTION_WRITE_BUFFER_BYTES_MAX as connection_write_buffer_bytes_max: usize = 1024 * 1024, "bytes";

    /// Frames a session buffers before writing them out although more are ready: a burst (a
    /// resume's `ready` and replay, an agent's backlog of events, the answers to frames a client
    /// sent back to back) goes out in one write instead of one per frame. Nothing waits for a
    /// later event or a commit: a session writes what it holds before it waits, and before a
    /// `send` or `read`.
    FRAMES_PER_WRITE_MAX: u32 = 32, "frames";

    /// `send` frames a session reads back to back (already readable, nothing else between them)
    /// and submits to the store together, so they share one commit (SQLite's writer runs them
    /// in one batch; PostgreSQL sends each conversation's in order, the conversations at once).
    /// Their answers still go out in the order the frames came. 8 already divides the commits
    /// of a pipelining client by 8; the bound keeps one socket's group a small part of a commit
    /// batch (`COMMIT_BATCH_MAX`), the first ack of a group from waiting on many appends, and a
    /// guest's own live events of one group (a message each, and a reopen or an assignment)
    /// within its conversation's ring (`CONVERSATION_TOPIC_FRAMES_MAX`), read once it is done.
    PIPELINED_SENDS_MAX: usize = 8, "sends";

    /// Bytes buffered past which frames are written out without waiting for the rest of the
    /// batch (tungstenite's `write_buffer_size`): a page, so a batch is a few TCP segments.
    /// Lowered when `connection_write_buffer_bytes_max` leaves no room for it beside the largest
    /// message.
    WRITE_BATCH_BYTES_MAX: usize = 4096, "bytes";

    /// The read buffer of every connection, and the most one `read` call takes. Client frames
    /// are small; a larger one grows the buffer to its length for that frame only. Tungstenite's
    /// default (128 KiB, allocated up front) cost 135 KiB per idle connection; 4 KiB cost 3 KiB
    /// more per idle connection than 1 KiB (S1, BENCHMARKS.md).
    READ_BUFFER_BYTES: usize = 1024, "bytes";

    /// How long one write may wait for the client to read. A client that does not read for this
    /// long is a slow consumer: the connection is cut (`slow_consumer` in the log and metrics)
    /// without a close frame, which would queue behind the unread frames, so the client sees an
    /// abrupt end (1006 in a browser) and resumes with `afterSeq`.
    WRITE_TIMEOUT_MS as write_timeout_ms: u64 = 10_000, "milliseconds";

    /// Interval of the server's protocol pings. Below the 60 s idle timeouts of common proxies.
    HEARTBEAT_INTERVAL_MS as heartbeat_interval_ms: u64 = 25_000, "milliseconds";

    /// A connection silent this long (no frame, no pong) is closed with 4202 `idle_timeout`.
    IDLE_TIMEOUT_MS as idle_timeout_ms: u64 = 60_000, "milliseconds";

    /// How long the server waits for a client's half of a close handshake.
    CLOSE_LINGER_MS: u64 = 1_000, "milliseconds";

    /// Open WebSocket connections per server process. Beyond it, a new connection is closed
    /// with 4101 `too_many_connections`. Unless it is set, `porch serve` raises its soft
    /// open-file limit to the hard one at start (systemd's `LimitNOFILE`, a container's
    /// `--ulimit nofile=`) and derives this from it, keeping `OPEN_FILES_RESERVED_PERCENT` for
    /// everything else (`connections_max_for_open_files`): 20,000 open files (this machine's
    /// limit) give this default, 1,048,576 give 996,148. The start line says which it is. The
    /// default itself applies when the limit cannot be read.
    CONNECTIONS_MAX as connections_max: usize = 19_000, "connections";

    /// The share of the open-file limit kept back from WebSocket connections when
    /// `connections_max` is derived from it: the store's files and connections, the listener,
    /// plain HTTP requests in flight, NATS, logs.
    OPEN_FILES_RESERVED_PERCENT: u64 = 5, "percent";

    /// The least kept back, so a small limit (1,024) still leaves the server room to answer
    /// `/readyz` and REST while every connection slot is taken.
    OPEN_FILES_RESERVED_MIN: u64 = 64, "open files";

    /// Pending TCP connections the kernel queues. Tokio's default of 128 makes a reconnect
    /// storm wait a second for SYN retransmits; the kernel's `somaxconn` here is 4096.
    LISTEN_BACKLOG as listen_backlog: u32 = 4096, "connections";

    /// Time a client has to send a request's head, from the moment the server starts waiting for
    /// it (a new connection, or an idle keep-alive one). A client that trickles headers
    /// (slowloris) is disconnected without an answer when it passes; it also closes idle
    /// keep-alive connections. hyper's default is 30 s; OWASP and most proxies use 10 s.
    HTTP_HEADER_TIMEOUT_MS as http_header_timeout_ms: u64 = 10_000, "milliseconds";

    /// Open TCP connections (HTTP and WebSocket) from one address. Beyond it, a new connection
    /// gets a fixed `429 too_many_connections` with `Retry-After: 5` and is closed, before any
    /// parsing. Generous, because a company's visitors or agents may share one NAT address;
    /// connections from `trusted_proxies` are not counted.
    CONNECTIONS_PER_IP_MAX as connections_per_ip_max: usize = 1_000, "connections";

    /// Open gateway sessions of one guest (browser tabs). Beyond it, the new one is closed with
    /// 4101 `too_many_connections`. Counted per node.
    CONNECTIONS_PER_GUEST_MAX as connections_per_guest_max: usize = 10, "connections";

    /// How long the fixed `429` answer to a connection over `connections_per_ip_max` may take to
    /// write before the connection is dropped.
    REFUSAL_WRITE_TIMEOUT_MS: u64 = 1_000, "milliseconds";

    /// Pause after an accept error that is not about one connection (out of file descriptors):
    /// retrying at once would spin.
    ACCEPT_ERROR_PAUSE_MS: u64 = 100, "milliseconds";

    /// How long shutdown waits for open HTTP requests to finish.
    SHUTDOWN_GRACE_MS: u64 = 10_000, "milliseconds";

    /// How long shutdown waits for sessions to send their 4200 close (each waits at most twice
    /// `CLOSE_LINGER_MS` for its client to answer).
    SESSIONS_CLOSE_GRACE_MS: u64 = 5_000, "milliseconds";

    // ----- Conversations -------------------------------------------------------------------

    /// Most entries replayed on resume. A guest further behind gets `resume.recovered: false`
    /// and pages history over REST, so one reconnect cannot make the server read an unbounded
    /// log.
    RESUME_MESSAGES_MAX as resume_messages_max: u64 = 1_000, "entries";

    /// Largest history page; larger `limit` values are clamped to it.
    HISTORY_PAGE_MAX as history_page_max: u32 = 200, "entries";

    /// History page size when a request names no `limit`.
    HISTORY_PAGE_DEFAULT: u32 = 50, "entries";

    /// Most conversations one list returns, and an agent's `ready` lists.
    CONVERSATION_LIST_MAX: u32 = 500, "conversations";

    /// Conversation list size when a request names no `limit`.
    CONVERSATION_LIST_DEFAULT: u32 = 100, "conversations";

    /// Largest page of an agent's conversation search (`GET /api/v2/agent/conversations/search`,
    /// the console's closed conversations); larger `limit` values are clamped to it. A search
    /// with text reads conversations and their messages until a page is full, so a page is
    /// kept to what a person reads at once.
    CONVERSATION_SEARCH_PAGE_MAX as conversation_search_page_max: u32 = 50, "conversations";

    /// Conversation search page size when a request names no `limit`.
    CONVERSATION_SEARCH_PAGE_DEFAULT: u32 = 20, "conversations";

    /// Longest shortcut of a canned reply (what an agent types after `/` in the console).
    CANNED_REPLY_SHORTCUT_CHARS_MAX: usize = 32, "characters";

    /// Longest text of a canned reply: it is sent as a message, so it fits `TEXT_CHARS_MAX`
    /// with room for the agent to add a few words.
    CANNED_REPLY_TEXT_CHARS_MAX: usize = 2_000, "characters";

    /// Most canned replies one deployment holds: the console reads them all beside a
    /// conversation, and a list longer than this is no longer a shortcut.
    CANNED_REPLIES_PER_DEPLOYMENT_MAX: usize = 200, "replies";

    /// Longest text an agent's conversation search looks for: a name, an address or a few words
    /// a guest wrote. A longer one is refused with `invalid_request`.
    SEARCH_TEXT_CHARS_MAX: u32 = 200, "characters";

    // ----- Routing (docs/routing.md) ------------------------------------------------------

    /// Conversations an agent holds at once when neither the agent nor any of its queues sets
    /// a capacity (docs/routing.md). The maximum, so that an agent nobody configured takes as
    /// many conversations as before routing existed and upgrading changes nothing; give
    /// people a real one per queue (`porch queues set Q --capacity-default 3`: three is the
    /// usual start for chat) or per agent.
    AGENT_CAPACITY_DEFAULT as agent_capacity_default: u32 = AGENT_CAPACITY_MAX, "conversations";

    /// Largest capacity an operator may give an agent or a queue's default; a larger one is
    /// refused. A bot answering a backlog holds thousands; a count beyond this is a typo.
    AGENT_CAPACITY_MAX: u32 = 10_000, "conversations";

    /// Wrap-up codes a deployment may list (`porch wrapups set`); a longer list is refused.
    /// Agents pick one on every close, from a menu: past a few dozen, nobody reads it.
    WRAP_UP_CODES_MAX: usize = 50, "codes";

    /// Length of one wrap-up code; a longer one is refused. A code is a short label for
    /// reports (`resolved`, `refund-issued`), not a sentence: the note is for those.
    WRAP_UP_CODE_CHARS_MAX: usize = 64, "characters";

    /// Characters of the preview of a conversation's latest entry in agents' lists
    /// (`lastMessage.text`, docs/api.md); a longer text is cut on a character boundary and
    /// marked `truncated`. A list row shows one line: 140 fills the console's widest row, and
    /// keeps an agent's `ready` small (one preview per conversation).
    LAST_MESSAGE_PREVIEW_CHARS_MAX: usize = 140, "characters";

    /// Characters of an agent's display name (`porch agents set --display-name`), which guests
    /// read in the widget's header; a longer one is refused. A name, not a sentence.
    AGENT_DISPLAY_NAME_CHARS_MAX: usize = 80, "characters";

    /// Characters of an agent's avatar URL (`porch agents set --avatar-url`, `https:` only); a
    /// longer one is refused. Image hosts' URLs with a signature fit; a `data:` URL does not,
    /// and is refused anyway.
    AGENT_AVATAR_URL_CHARS_MAX: usize = 2_048, "characters";

    /// How long an agent stays `available` or `away` after its last gateway connection to a
    /// node ends; then it is `offline`. Longer than a page reload or a network blip, so those
    /// do not take an agent out of routing; short enough that an agent who left gets no offer
    /// for long.
    AGENT_OFFLINE_GRACE_MS as agent_offline_grace_ms: u64 = 30_000, "milliseconds";

    /// How long an agent has to accept or decline an offer (docs/routing.md). Then the next
    /// agent gets it and this one is set `away`: someone who does not answer is not at the
    /// desk. Long enough to finish a sentence elsewhere; short enough that a guest does not
    /// wait long on an absent agent.
    OFFER_TIMEOUT_MS as offer_timeout_ms: u64 = 30_000, "milliseconds";

    /// How often a node's offer loop looks at its agents' queues when nothing woke it: what
    /// bounds how late it notices a change made on another node (a decline there, an agent
    /// freed there). Changes on this node wake it at once.
    OFFER_SCAN_INTERVAL_MS: u64 = 1_000, "milliseconds";

    /// How long after its close a conversation reopens when its guest writes into it
    /// (docs/routing.md): back to its last agent if that agent is available with room, else to
    /// its queue. After it, the guest's send is refused (`conversation_closed`) and the guest
    /// starts a new conversation. A few minutes: a guest's "one more thing" after a goodbye, not
    /// a new matter days later. 0 turns reopening off.
    REOPEN_WINDOW_SECS as reopen_window_secs: u64 = 300, "seconds";

    /// How often each node looks for conversations due for their queue's unanswered fallback
    /// (docs/routing.md): what bounds how late a fallback fires after its wait. Every node
    /// looks; the store lets one of them write each fallback.
    FALLBACK_SCAN_INTERVAL_MS: u64 = 1_000, "milliseconds";

    /// How many due conversations of one queue a node's fallback pass takes at once; the rest
    /// wait for the next pass, oldest first, so one pass stays short.
    FALLBACK_BATCH_MAX: u32 = 100, "conversations";

    /// The longest wait an operator may give a queue's fallback: a week. A fallback is for a
    /// guest nobody answered, not for an archive.
    FALLBACK_AFTER_SECS_MAX: u32 = 604_800, "seconds";
    /// How many of a queue's most recent waits (a conversation's start to its first agent) a
    /// waiting guest's estimate takes the median of (docs/routing.md, "Queue positions"). Enough
    /// that one unlucky guest does not swing it; few enough that it follows the day's pace.
    QUEUE_WAIT_SAMPLES_MAX: u32 = 20, "waits";

    /// The longest wait an estimate states: past it the guest is told this bound, since a
    /// figure of hours built from a few waits says more about the samples than the queue.
    QUEUE_WAIT_ESTIMATE_MAX_MS: u64 = 3_600_000, "milliseconds";

    /// How many waiting conversations of one queue a node reads to give positions, oldest
    /// first; guests further back get none (no `queue` frame, `null` over REST) until those
    /// ahead move. One read of this many ids serves every guest of the queue on the node.
    QUEUE_POSITIONS_MAX: u32 = 5_000, "conversations";

    /// The shortest time between two reads of one queue's positions on a node: changes inside
    /// it (guests joining, agents taking conversations) are told together at its end, so a
    /// busy queue of 1,000 waiting guests costs one store read per queue per window, not one
    /// per guest per change.
    QUEUE_POSITION_WINDOW_MS: u64 = 1_000, "milliseconds";

    /// How often a node reads again the queues its waiting guests are in when nothing it heard
    /// changed them: what bounds how late a guest learns of a change no live event carries (an
    /// agent becoming available, on any node).
    QUEUE_POSITION_REFRESH_MS: u64 = 10_000, "milliseconds";

    // ----- Tokens --------------------------------------------------------------------------

    /// Lifetime of OAuth client tokens.
    CLIENT_TOKEN_TTL_SECS as client_token_ttl_secs: u64 = 3_600, "seconds";

    /// Lifetime of guest tokens for a deployment made without `--guest-token-ttl-secs`.
    GUEST_TOKEN_TTL_SECS: u64 = 3_600, "seconds";

    /// Lifetime of agent tokens: a working day.
    AGENT_TOKEN_TTL_SECS as agent_token_ttl_secs: u64 = 8 * 3_600, "seconds";

    /// Clock skew tolerated on `exp`, `nbf` and `iat`. `porch doctor` flags clocks further apart.
    TOKEN_LEEWAY_SECS as token_leeway_secs: u64 = 30, "seconds";

    /// How far ahead of now an identity token's `exp` may be (docs/identity.md). An identity
    /// token is a one-time hand-over from the builder's backend to a session being opened, not
    /// a credential to keep: five minutes covers a slow page load and a clock a little off,
    /// and bounds how long the store keeps its `jti`.
    IDENTITY_TOKEN_LIFETIME_SECS_MAX as identity_token_lifetime_secs_max: u64 = 300, "seconds";

    /// Longest identity token read. One with a name, an email and an ES256 signature is under
    /// 1 KiB; 4 KiB refuses a padded one before any decoding.
    IDENTITY_TOKEN_BYTES_MAX: usize = 4 * 1024, "bytes";

    /// Longest identity token `jti`, in Unicode scalar values: the store keeps each until its
    /// token expires, so the key of that record is bounded. A UUID has 36.
    IDENTITY_JTI_CHARS_MAX: usize = 128, "characters";

    /// Longest `kid` a builder may give an identity key in its JWK, in characters
    /// (`A-Z a-z 0-9 - _ .`): tokens repeat it in every header.
    IDENTITY_KID_CHARS_MAX: usize = 64, "characters";

    /// How often each node re-reads the signing keys, so a rotation by the CLI (or another node)
    /// is picked up without a restart.
    KEY_REFRESH_MS: u64 = 30_000, "milliseconds";

    /// How soon after one re-read of the signing keys another may start, for tokens whose `kid`
    /// this node has not read yet (a key another node or `porch keys rotate` just added): such a
    /// token is verified after a re-read instead of refused with `token_key_unknown` until the
    /// next refresh, and every request waiting shares the next re-read, so made-up `kid`s cost at
    /// most one small store read per interval.
    KEYS_REREAD_INTERVAL_MS: u64 = 250, "milliseconds";

    // ----- Rates and abuse -----------------------------------------------------------------

    /// WebSocket handshakes per client address, sustained. Beyond it: `429 rate_limited` with
    /// `Retry-After`, before any token work. This is the one gateway refusal sent before the
    /// `101` (a flood must cost nothing), so a browser sees 1006; the SDK backs off.
    HANDSHAKES_PER_IP_PER_SEC as handshakes_per_ip_per_sec: u64 = 20, "handshakes per second";

    /// Handshakes one address may make at once after a quiet spell (the bucket's size).
    HANDSHAKES_PER_IP_BURST as handshakes_per_ip_burst: u64 = 40, "handshakes";

    /// Failed sign-ins (token endpoint, introspection, agent login) per client address. While
    /// spent, sign-ins from the address get `429 rate_limited` with `Retry-After`, even with the
    /// right secret (RFC 6749 §2.3.1: protect against brute force). Successful sign-ins cost
    /// nothing.
    AUTH_FAILURES_PER_IP_PER_MIN as auth_failures_per_ip_per_min: u64 = 10, "failures per minute";

    /// The same per client id or agent name, so guessing from many addresses is throttled too.
    AUTH_FAILURES_PER_ACCOUNT_PER_MIN as auth_failures_per_account_per_min: u64 = 30, "failures per minute";

    /// Secret checks (Argon2id: 19 MiB and tens of ms of CPU each) running at once. More wait up
    /// to `PASSWORD_CHECK_WAIT_MS`, then get `429 rate_limited`: a sign-in flood from many
    /// addresses cannot take all the memory or starve the gateway of CPU.
    PASSWORD_CHECKS_CONCURRENT_MAX as password_checks_concurrent_max: usize = 4, "checks";

    /// Longest wait for a secret-check permit before answering `429`.
    PASSWORD_CHECK_WAIT_MS: u64 = 5_000, "milliseconds";

    /// Guest sessions the public widget endpoint creates per client address. Beyond it:
    /// `429 rate_limited` with `Retry-After`.
    WIDGET_SESSIONS_PER_IP_PER_MIN as widget_sessions_per_ip_per_min: u64 = 20, "sessions per minute";

    /// Widget reads (`GET …/deployments/{id}/widget`, one per page view of a site with the
    /// widget) per client address. Beyond it: `429 rate_limited` with `Retry-After`. Generous,
    /// since an office's visitors share one address.
    WIDGET_READS_PER_IP_PER_MIN as widget_reads_per_ip_per_min: u64 = 300, "reads per minute";

    /// How long a node reuses what it read of a queue's agents to tell the widget whether
    /// anyone can answer now (`agentsAvailable` of the widget endpoint, which decides the
    /// offline form): the page views of a busy site cost one store read per queue in this
    /// time, not one each. A visitor who arrives within it after the last agent left may get
    /// the live chat rather than the form (their message waits in the queue as usual), or the
    /// reverse. 0 reads the store on every page view.
    WIDGET_AVAILABILITY_CACHE_MS as widget_availability_cache_ms: u64 = 5_000, "milliseconds";

    /// Notices set or cleared per deployment. Each one is a frame to every connected guest of the
    /// deployment (100,000 of them in BENCHMARKS.md, S1b): a loop in the customer's backend must
    /// not turn into a broadcast storm. Beyond it: `429 rate_limited` with `Retry-After`.
    NOTICES_PER_DEPLOYMENT_PER_MIN as notices_per_deployment_per_min: u64 = 10, "notices per minute";

    /// Longest greeting a deployment's widget shows a new visitor (`porch deployments update
    /// --greeting`), in Unicode scalar values: a few sentences fit a phone's panel; a page of
    /// text would push the message box off it.
    GREETING_CHARS_MAX: usize = 500, "characters";

    /// Largest "usually replies within" a deployment may announce (`--reply-within-mins`): a
    /// week. Beyond that a promise is not a reply time, and the widget's wording (minutes,
    /// hours, days) stops being honest.
    REPLY_WITHIN_MINS_MAX: u32 = 10_080, "minutes";

    /// Messages per guest, gateway and REST together, sustained. Beyond it the message is
    /// refused, nothing stored: an `error` frame `rate_limited` with `retryAfterMs` and the
    /// `clientMessageId` (or `429` with `Retry-After` on REST); resend it with the same
    /// `clientMessageId`. Each refusal of a burst is told its own token, one after the previous
    /// refusal's (`RATE_LIMIT_PROMISE_MS_MAX`), so resending each at its time spreads the
    /// retries. A person types far slower; bots use the agent API. Counted per node.
    GUEST_MESSAGES_PER_SEC as guest_messages_per_sec: u64 = 10, "messages per second";

    /// Messages a guest may send at once after a quiet spell.
    GUEST_MESSAGES_BURST as guest_messages_burst: u64 = 30, "messages";

    /// Keys (addresses, IPv6 by /64; guests; accounts) one limiter or counter tracks, about 64
    /// bytes each. When full, keys whose bucket has refilled are dropped (they hold no
    /// information); if it is still full, a new key passes untracked and
    /// `porch_throttle_untracked_total` counts it.
    THROTTLE_KEYS_MAX: usize = 100_000, "keys";

    /// How long a full limiter waits before it looks for refilled buckets again: a flood of new
    /// keys must not buy a scan of the whole table each.
    THROTTLE_SWEEP_INTERVAL_MS: u64 = 1_000, "milliseconds";

    /// How far ahead a rate limit's refusal may promise a token. Each `rate_limited` refusal is
    /// told when a token will be there for it (`retryAfterMs`, `Retry-After`): the token after
    /// the one promised to the refusal before it, so a refused burst retries one token apart
    /// instead of all at once, where all but one would be refused again. Past this horizon
    /// refusals share its last slot, so a sender that ignores its waits cannot push the others'
    /// further out. A minute: a burst of 600 refused messages at `guest_messages_per_sec` still
    /// spreads.
    RATE_LIMIT_PROMISE_MS_MAX: u64 = 60_000, "milliseconds";

    /// `retryAfterMs` of a refusal because something Porch needs (the store, the broker, a
    /// secret-check permit) cannot serve right now: nothing was stored, retry the same request.
    UNAVAILABLE_RETRY_AFTER_MS: u64 = 1_000, "milliseconds";

    /// How long a browser may cache a CORS preflight answer.
    PREFLIGHT_MAX_AGE_SECS: u32 = 600, "seconds";

    // ----- Guest standing (heartbeat re-checks of live guests) ------------------------------

    /// How long the first re-check of a batch waits for others to join it.
    STANDING_BATCH_WINDOW_MS: u64 = 20, "milliseconds";

    /// Guests per re-check query: the statement stays small and one slow batch delays few.
    STANDING_BATCH_MAX: usize = 512, "guests";

    /// Re-check queries running at once: a slow store gets a few queries, not one per window.
    STANDING_BATCHES_IN_FLIGHT_MAX: usize = 4, "queries";

    /// Re-checks waiting for a batch; beyond, heartbeats wait to enqueue (backpressure on the
    /// sessions, never an unbounded queue).
    STANDING_QUEUE_MAX: usize = 8_192, "requests";

    // ----- The embedded store (SQLite) -----------------------------------------------------

    /// Writes the SQLite writer commits in one transaction (group commit). Bounds the time one
    /// commit holds the write lock, and so the extra delay of any one ack.
    COMMIT_BATCH_MAX: usize = 512, "writes";

    /// Writes waiting for the SQLite writer. When full, senders wait (backpressure): memory
    /// stays bounded under any load.
    WRITE_QUEUE_MAX: usize = 8_192, "writes";

    /// WAL length (pages of 4 KiB: 16 MiB) past which the SQLite writer, between two batches,
    /// copies the rest back and starts the WAL over. Under load the WAL would otherwise never
    /// start over and grows without end (1 GB in 12 s at 10,000 messages/s). Lower restarts more
    /// often, each a pause of a few milliseconds for the writer; higher keeps a longer WAL.
    WAL_RESTART_PAGES: i64 = 4_096, "pages";

    /// Pages (4 KiB) the SQLite writer commits to the WAL before it has the checkpoint thread
    /// copy them back to the database file. Each checkpoint costs an fsync of that file, and it
    /// copies a page once however many commits wrote it (a conversation's row, an index leaf),
    /// so checkpointing after every commit cost a second fsync per message at low rates. Small
    /// enough that under load, where a checkpoint's own run lets this many pages pile up, the
    /// checkpoint thread still copies back-to-back in small steps (larger ones raised the tail
    /// at 5,000 and 10,000 messages/s: BENCHMARKS.md, session 6).
    WAL_CHECKPOINT_PAGES: i64 = 256, "pages";

    /// How long the SQLite writer waits without a write before it has the pages it committed
    /// since the last checkpoint (fewer than `WAL_CHECKPOINT_PAGES`) copied back, so an idle
    /// store's database file holds everything. Durability does not wait on it: the WAL is
    /// synced by every commit.
    WAL_CHECKPOINT_QUIET_MS: u64 = 1_000, "milliseconds";

    /// How long the writer's WAL restart waits for readers to leave the WAL (and for a write by
    /// another process, such as the CLI). A reader that stays longer puts the restart off until
    /// the WAL has grown by another `WAL_RESTART_PAGES`.
    WAL_RESTART_WAIT_MS: u64 = 50, "milliseconds";

    /// How long a SQLite connection waits for a lock held by another. The `porch` CLI writes to
    /// the same file while the server runs; its transactions are short, so 5 s only runs out
    /// when something is really stuck.
    SQLITE_BUSY_TIMEOUT_MS: u64 = 5_000, "milliseconds";

    /// Read connections of the embedded store: enough to keep history pages and conversation
    /// lists from queueing behind each other on small machines, few enough to cost little.
    SQLITE_READ_CONNECTIONS: usize = 4, "connections";

    /// Statements each SQLite connection keeps prepared. Every query is a fixed string, so this
    /// only has to exceed their count.
    SQLITE_STATEMENT_CACHE_STATEMENTS: usize = 64, "statements";

    /// Free space on the data directory's disk below which `/readyz` warns (still 200) and says
    /// how much is left. When the disk fills, sends are refused with `store_full` (nothing
    /// stored) until space returns; this warning is the operator's chance to act before that.
    /// 256 MiB is hours of messages at a busy node's rate, and less than most disks' 5% reserve.
    DATA_DIR_FREE_WARN_BYTES as data_dir_free_warn_bytes: u64 = 256 * 1024 * 1024, "bytes";

    // ----- The cluster store (PostgreSQL) --------------------------------------------------

    /// Default of the `postgres_pool_size` setting: connections each node keeps to PostgreSQL.
    /// Enough for a node's concurrent appends and reads on a small server; PostgreSQL's default
    /// `max_connections` (100) then allows about five nodes plus the CLI and a DBA.
    POSTGRES_POOL_SIZE_DEFAULT: usize = 16, "connections";

    /// How long opening one PostgreSQL connection may take, unless the URL sets
    /// `connect_timeout`. A refused port fails at once; this bounds a host that drops packets.
    POSTGRES_CONNECT_TIMEOUT_MS: u64 = 5_000, "milliseconds";

    /// How long a starting node waits for a PostgreSQL that answers but cannot take sessions yet
    /// (SQLSTATE 57P03: starting up, in crash recovery, shutting down), trying again every
    /// `POSTGRES_STARTING_RETRY_MS`. A node and its database started together (a compose file, a
    /// machine's boot) is the common case, and the database's TCP port opens before it accepts
    /// sessions; a refused port or a wrong password still fails at once.
    POSTGRES_STARTING_WAIT_MS: u64 = 60_000, "milliseconds";

    /// The pause between two tries while PostgreSQL says it is starting up
    /// (`POSTGRES_STARTING_WAIT_MS`).
    POSTGRES_STARTING_RETRY_MS: u64 = 250, "milliseconds";

    /// How long a caller waits for a free PostgreSQL connection when all are busy. Waiting is the
    /// backpressure (as the SQLite writer's full queue is); the bound turns a database that has
    /// stopped answering into `store_unavailable` instead of requests piling up forever.
    POSTGRES_POOL_WAIT_TIMEOUT_MS: u64 = 30_000, "milliseconds";

    /// PostgreSQL's `idle_in_transaction_session_timeout` for every session of a node: a
    /// session idle inside a transaction this long is ended and its locks released. Only
    /// start-up work (the migration, the first signing key, the demo set-up) still spans round
    /// trips in a transaction, appends being one statement, so only a node frozen (SIGSTOP, a
    /// paused VM) or cut off mid-start-up hits it. It was 15 s, which a frozen node holding a
    /// conversation's row lock used to stall that conversation on every node for.
    POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS: u64 = 5_000, "milliseconds";

    /// PostgreSQL's `statement_timeout` for every session of a node: the longest any statement
    /// runs, lock waits included. Porch's statements are single-row or one-page reads and writes
    /// (a few ms); this bounds how long a statement a node sent just before it froze can hold a
    /// conversation (it finishes without the node), and turns a stuck server into a retryable
    /// `store_unavailable` instead of a pile of waiting requests. Start-up transactions run
    /// without it: on a big database they may rightly take long.
    POSTGRES_STATEMENT_TIMEOUT_MS: u64 = 5_000, "milliseconds";

    /// PostgreSQL's `lock_timeout` for every session of a node: the longest a statement waits
    /// for a lock another session holds, then a retryable `store_unavailable`. Appends hold their
    /// conversation's row only while PostgreSQL runs their one write statement, so a wait this
    /// long means the holder is stuck. Start-up transactions run without it, so nodes starting
    /// together wait for each other instead of failing their start.
    POSTGRES_LOCK_TIMEOUT_MS: u64 = 2_000, "milliseconds";

    /// Appends to one conversation a node sends to PostgreSQL at once (a quarter of
    /// `postgres_pool_size` if that is fewer, at least 1). They commit one after the other anyway
    /// (on the conversation's row), and each one waiting there holds a pooled connection; a few
    /// keep the row busy (the next write waits, ready, when one commits), more would only take
    /// connections from other conversations. The rest wait in memory, holding none, so clients
    /// writing to one busy or stuck conversation cannot fill the pool and stall every other one.
    POSTGRES_APPENDS_PER_CONVERSATION_MAX: usize = 4, "appends";

    /// Plain messages to one conversation that one statement writes, and one commit makes
    /// durable, when they wait on the same node while its previous statement for that
    /// conversation runs (PostgreSQL). Appends to one conversation commit one after the other
    /// on its row, a WAL flush each: without sharing one, a busy conversation takes at most
    /// one message per flush. The bound keeps one statement's parameters, and its hold on the
    /// row, short.
    POSTGRES_APPEND_BATCH_MAX: usize = 64, "appends";

    /// The longest an append waits in memory for one of its conversation's turns
    /// (`POSTGRES_APPENDS_PER_CONVERSATION_MAX`); a waiter whose caller left leaves at once. As
    /// long as a wait for a pooled connection, for the same reason: past it, a retryable
    /// `store_unavailable`.
    POSTGRES_APPEND_TURN_WAIT_MS: u64 = 30_000, "milliseconds";

    /// Attempts of one append whose write found that what it was decided on changed since its
    /// read (appends hold no lock across round trips): the conversation's state or agent (an
    /// assignment or a close came in between), or its `clientMessageId` stored by another node.
    /// Each retry means another write committed, and state changes are rare, so one retry is the
    /// norm; the bound keeps an append from looping. Past it: a retryable `store_unavailable`.
    POSTGRES_APPEND_ATTEMPTS_MAX: u32 = 16, "attempts";

    /// How long an append whose connection broke after its statement went out (the COMMIT
    /// reached PostgreSQL, or not; its answer never came back) keeps asking again, on another
    /// connection, whether it was stored. Its idempotency key (`clientMessageId`, or the
    /// server's own for a system entry) finds the entry if it was, so it is never written
    /// twice, and the client gets the one outcome. Past it: a retryable `store_unavailable`
    /// that says the entry may be stored. Twice the connect timeout: room for one reconnect
    /// after PostgreSQL restarts or a route heals.
    POSTGRES_UNCONFIRMED_RESOLVE_MS: u64 = 10_000, "milliseconds";

    /// The longest `/readyz`'s question to PostgreSQL (one short read) may take, a free
    /// connection included. A link that went silent (no reset, no FIN: a dead route, a peer
    /// gone) answers nothing, and without a bound the probe would wait as long as TCP does;
    /// past it the node is not ready, and the pool's idle connections, which share that link,
    /// are closed so that requests open new ones (each bounded by the connect timeout) instead
    /// of hanging on them. A healthy server answers in milliseconds, even when busy.
    POSTGRES_PROBE_TIMEOUT_MS: u64 = 3_000, "milliseconds";

    /// TCP keepalive on every PostgreSQL connection, unless the URL sets `keepalives_idle`:
    /// after this long without traffic, the kernel probes the peer, every
    /// `POSTGRES_KEEPALIVE_INTERVAL_MS`, `POSTGRES_KEEPALIVE_PROBES` times, and closes a
    /// connection nobody answers. An idle pooled connection on a dead link is then gone within
    /// about 11 s, instead of the two hours of the kernel's default.
    POSTGRES_KEEPALIVE_IDLE_MS: u64 = 5_000, "milliseconds";

    /// Between two keepalive probes of a PostgreSQL connection (`POSTGRES_KEEPALIVE_IDLE_MS`).
    POSTGRES_KEEPALIVE_INTERVAL_MS: u64 = 2_000, "milliseconds";

    /// Unanswered keepalive probes after which a PostgreSQL connection is closed.
    POSTGRES_KEEPALIVE_PROBES: u32 = 3, "probes";

    /// `TCP_USER_TIMEOUT` on every PostgreSQL connection, unless the URL sets
    /// `tcp_user_timeout`: data sent and not acknowledged for this long closes the connection,
    /// so a request on a link that went silent fails (`store_unavailable`, or the ambiguous
    /// commit's retry) instead of waiting for TCP's retransmissions, 15 minutes by default.
    /// Twice the statement timeout: a slow server still acknowledges what it receives.
    POSTGRES_TCP_USER_TIMEOUT_MS: u64 = 10_000, "milliseconds";

    // ----- The cluster broker (NATS) -------------------------------------------------------

    /// How often a node pings NATS. A link that goes silent (a dead peer, a dropped route: no
    /// reset, no FIN) is noticed after three unanswered pings, so within about three times this;
    /// from then on the node refuses sends (`broker_unavailable`) and is not ready, instead of
    /// acknowledging sends whose live events reach no other node. NATS's client default (60 s)
    /// left that going for three minutes (found by the nemesis); a ping every 2 s costs nothing.
    NATS_PING_INTERVAL_MS: u64 = 2_000, "milliseconds";

    /// How long a node waits for NATS at start before it gives up with the reason.
    NATS_CONNECT_TIMEOUT_MS: u64 = 10_000, "milliseconds";

    /// Pause between reconnect attempts to NATS grows by this much per attempt…
    NATS_RECONNECT_DELAY_STEP_MS: u64 = 100, "milliseconds";

    /// …up to this much. Short, so a node is back in its cluster within about a second of the
    /// broker returning.
    NATS_RECONNECT_DELAY_MAX_MS: u64 = 1_000, "milliseconds";

    /// Events waiting to be published to NATS. When full, new events are dropped (and recovered
    /// from the store by whoever needed them): a slow broker never slows a send down.
    NATS_PUBLISH_QUEUE_MAX: usize = 8_192, "events";

    // ----- Webhooks (docs/webhooks.md) ------------------------------------------------------

    /// How long one delivery attempt may take, from connecting to the end of the answer's
    /// head. Past it the attempt failed (`timeout`) and is retried later: a hanging receiver
    /// holds one of its endpoint's slots for at most this long, never a guest or an agent.
    /// 10 s, as common webhook senders allow.
    WEBHOOK_TIMEOUT_MS as webhook_timeout_ms: u64 = 10_000, "milliseconds";

    /// Deliveries to one endpoint in flight at once, per node. More events wait in the outbox:
    /// a slow receiver gets no more than this many requests, and other endpoints have slots of
    /// their own.
    WEBHOOK_CONCURRENCY_PER_ENDPOINT as webhook_concurrency_per_endpoint: u32 = 4, "requests";

    /// How long after its event a delivery is still retried; an attempt that would come later
    /// is not made and the delivery goes to the dead letters (`porch webhooks dead`, `replay`).
    /// A day lets a receiver be down for a weekend morning and lose nothing.
    WEBHOOK_RETRY_HORIZON_MS as webhook_retry_horizon_ms: u64 = 86_400_000, "milliseconds";

    /// The first retry's delay; each next one doubles (with a random half as jitter, so the
    /// retries of events that failed together spread out).
    WEBHOOK_RETRY_BASE_MS as webhook_retry_base_ms: u64 = 1_000, "milliseconds";

    /// The longest delay between two attempts, so a receiver that recovers hears from Porch
    /// within this long.
    WEBHOOK_RETRY_MAX_MS as webhook_retry_max_ms: u64 = 600_000, "milliseconds";

    /// How often each node looks for due deliveries in the outbox (one read per endpoint).
    /// An event waits at most about this long before its first attempt.
    WEBHOOK_POLL_INTERVAL_MS as webhook_poll_interval_ms: u64 = 250, "milliseconds";

    /// How long a node holds the deliveries it took: no other node attempts them meanwhile.
    /// A node that dies mid-attempt frees them when the lease ends. Above the attempt's timeout
    /// (checked at start), so a slow attempt is never delivered twice at once.
    WEBHOOK_LEASE_MS as webhook_lease_ms: u64 = 60_000, "milliseconds";

    /// How long the previous secret keeps signing beside the new one after a rotation
    /// (`porch webhooks rotate-secret`): time for the receiver to take the new secret.
    WEBHOOK_SECRET_OVERLAP_MS as webhook_secret_overlap_ms: u64 = 86_400_000, "milliseconds";

    /// Webhook endpoints per deployment. Each is polled and each event is one outbox row per
    /// endpoint, so the count is bounded; ten is more than integrations need.
    WEBHOOK_ENDPOINTS_PER_DEPLOYMENT_MAX: usize = 10, "endpoints";

    /// Characters of a failed attempt's cause kept with its delivery (for `porch webhooks
    /// dead`): enough for a status and the start of the receiver's answer.
    WEBHOOK_ERROR_CHARS_MAX: usize = 300, "characters";

    /// Bytes of a receiver's answer read, to quote in a failure's cause. The rest is not read.
    WEBHOOK_RESPONSE_BYTES_MAX: usize = 1_024, "bytes";

    /// Dead deliveries `porch webhooks dead` lists at once (the oldest first).
    WEBHOOK_DEAD_LIST_MAX: u32 = 100, "deliveries";

    // ----- Attachments (docs/attachments.md) ------------------------------------------------

    /// Largest file a guest or agent may attach. A larger declared size is refused before any
    /// byte is sent (`attachment_too_large`). 10 MiB holds a phone's screenshot or a scanned
    /// invoice; announced in `ready` and the widget endpoint.
    ATTACHMENT_BYTES_MAX as attachment_bytes_max: u64 = 10 * 1024 * 1024, "bytes";

    /// Most bytes of files one conversation may hold: an upload that would pass it is refused
    /// (`attachment_quota_full`). Ten full-size files, so one chat cannot fill the disk.
    ATTACHMENT_CONVERSATION_BYTES_MAX as attachment_conversation_bytes_max: u64 =
        100 * 1024 * 1024, "bytes";

    /// How long an upload URL (and a download URL) is good for after Porch hands it out. Short,
    /// because the URL is the grant (it needs no token): a leaked one soon reads nothing.
    ATTACHMENT_URL_TTL_SECS as attachment_url_ttl_secs: u64 = 300, "seconds";

    /// How long an upload may send nothing before it is cut (`upload_too_slow`): a slow drip
    /// holds one connection and one temporary file for at most this long. 30 s outlasts a
    /// mobile network's stalls.
    ATTACHMENT_UPLOAD_IDLE_MS as attachment_upload_idle_ms: u64 = 30_000, "milliseconds";

    /// Bytes an upload or a download moves per read or write to blob storage: the memory one
    /// transfer holds, whatever the file's size (on PostgreSQL, one chunk row).
    ATTACHMENT_CHUNK_BYTES: usize = 256 * 1024, "bytes";

    /// How long a stored file with no message may stay before the sweep deletes it: the gap
    /// between an upload's last byte and its message's commit, which a crash can leave open.
    /// Above the idle cut, so nothing in progress is swept.
    ATTACHMENT_ORPHAN_GRACE_MS: u64 = 120_000, "milliseconds";

    /// How often each node sweeps abandoned uploads and files with no message (also once at
    /// start, so a crash leaves nothing behind after the restart).
    ATTACHMENT_SWEEP_INTERVAL_MS: u64 = 60_000, "milliseconds";

    /// Files one sweep looks at; the next sweep takes the rest.
    ATTACHMENT_SWEEP_BATCH_MAX: usize = 500, "files";

    /// Characters of an attachment's name; a longer one is refused (`invalid_request`).
    ATTACHMENT_NAME_CHARS_MAX: usize = 255, "characters";

    /// How long the files of a closed conversation are kept, counted from its last entry (its
    /// close); then the sweep deletes their bytes and marks their messages deleted (clients
    /// show "file removed"; a download says `attachment_deleted`). 0 keeps files as long as
    /// their conversations: the default, since deleting a customer's files is the operator's
    /// policy to choose.
    ATTACHMENT_RETENTION_SECS as attachment_retention_secs: u64 = 0, "seconds";

    /// Longer edge of an image's preview, the PNG Porch makes from a PNG or JPEG attachment.
    /// 320 fills a chat bubble on a 2x screen at a tenth of a photo's bytes.
    ATTACHMENT_PREVIEW_EDGE_PX: u32 = 320, "pixels";

    /// Most pixels (width × height, read from the image's header before any decoding) of an
    /// image Porch makes a preview of: a larger one (a decompression bomb declares huge
    /// dimensions in a few bytes) gets none and is still downloadable. 24 million holds a
    /// 6000 × 4000 camera photo; decoding one takes up to 4 bytes a pixel (96 MiB).
    ATTACHMENT_PREVIEW_SOURCE_PIXELS_MAX as attachment_preview_source_pixels_max: u64 =
        24_000_000, "pixels";

    /// Previews one node decodes at once; the others wait. Bounds the memory decoding takes to
    /// this many times the largest source's.
    ATTACHMENT_PREVIEWS_CONCURRENT_MAX: usize = 2, "previews";

    // ----- porch doctor --------------------------------------------------------------------

    /// How long one HTTP request of `porch doctor` may take before it calls the server
    /// unreachable.
    DOCTOR_REQUEST_TIMEOUT_MS: u64 = 10_000, "milliseconds";

    /// How long the upgrade, and then the first frame, may take in `porch doctor`.
    DOCTOR_STEP_TIMEOUT_MS: u64 = 10_000, "milliseconds";

    // ----- porch health --------------------------------------------------------------------

    /// How long `porch health` (the image's HEALTHCHECK) waits for the whole answer of
    /// `/readyz`: a server slower than that is not healthy. Below the image's 5 s timeout, so
    /// the probe reports the cause before the runtime kills it.
    HEALTH_PROBE_TIMEOUT_MS: u64 = 3_000, "milliseconds";
}

impl Limits {
    /// Checks relationships between limits that configuration could break.
    pub fn validate(&self) -> Result<(), String> {
        let checks: [(bool, &str); 17] = [
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
            (
                self.conversation_search_page_max >= 1,
                "conversation_search_page_max must be at least 1",
            ),
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
            (
                self.webhook_lease_ms > self.webhook_timeout_ms,
                "webhook_lease_ms must be above webhook_timeout_ms, or another node may attempt a delivery still in flight",
            ),
            (
                self.webhook_concurrency_per_endpoint >= 1
                    && self.webhook_retry_base_ms >= 1
                    && self.webhook_retry_base_ms <= self.webhook_retry_max_ms
                    && self.webhook_poll_interval_ms >= 10,
                "webhook_concurrency_per_endpoint and webhook_retry_base_ms must be at least 1, webhook_retry_base_ms at most webhook_retry_max_ms, webhook_poll_interval_ms at least 10",
            ),
            (
                self.attachment_bytes_max >= 1
                    && self.attachment_bytes_max <= self.attachment_conversation_bytes_max
                    && self.attachment_url_ttl_secs >= 10
                    && self.attachment_upload_idle_ms >= 1_000
                    && self.attachment_upload_idle_ms < ATTACHMENT_ORPHAN_GRACE_MS,
                "attachment_bytes_max must be at least 1 and at most attachment_conversation_bytes_max, attachment_url_ttl_secs at least 10, attachment_upload_idle_ms from 1000 to below 120000 (the orphan sweep's grace)",
            ),
            (
                self.agent_capacity_default >= 1
                    && self.agent_capacity_default <= AGENT_CAPACITY_MAX,
                "agent_capacity_default must be from 1 to AGENT_CAPACITY_MAX (10000): below, agents without a capacity get no conversation",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, why)) => Err((*why).to_string()),
            None => Ok(()),
        }
    }
}

/// The limits section of `docs/config.md`, written from `ROWS` (a test holds the file to it).
pub fn markdown_reference() -> String {
    let mut out = String::from(
        "| limit | unit | default | set with | at the limit, and why |\n|---|---|---|---|---|\n",
    );
    let settable = ROWS.iter().filter(|r| r.setting.is_some());
    for row in settable {
        let (setting, env, flag) = (
            row.setting.unwrap_or_default(),
            row.env().unwrap_or_default(),
            row.flag().unwrap_or_default(),
        );
        out.push_str(&format!(
            "| `{setting}` | {} | {} | `{flag}`, `{env}` | {} |\n",
            row.unit,
            row.default,
            row.text()
        ));
    }
    out.push_str(
        "\nFixed limits: not settings, because no deployment has a reason to change them.\n\n\
         | limit | unit | value | why |\n|---|---|---|---|\n",
    );
    for row in ROWS.iter().filter(|r| r.setting.is_none()) {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            row.constant,
            row.unit,
            row.default,
            row.text()
        ));
    }
    out
}

/// `connections_max` for a process that may open `open_files` files.
pub const fn connections_max_for_open_files(open_files: u64) -> u64 {
    let share = open_files / 100 * OPEN_FILES_RESERVED_PERCENT;
    let reserved = if share > OPEN_FILES_RESERVED_MIN { share } else { OPEN_FILES_RESERVED_MIN };
    open_files.saturating_sub(reserved)
}

const _: () = assert!(connections_max_for_open_files(20_000) == CONNECTIONS_MAX as u64);
const _: () = assert!(connections_max_for_open_files(1_024) == 960);
const _: () = assert!(connections_max_for_open_files(10) == 0);
const _: () = assert!(TEXT_CHARS_MAX * 4 + 512 <= WS_MESSAGE_BYTES_MAX);
const _: () = assert!(CANNED_REPLY_TEXT_CHARS_MAX <= TEXT_CHARS_MAX);
const _: () = assert!(HEARTBEAT_INTERVAL_MS < IDLE_TIMEOUT_MS);
const _: () = assert!(TOKEN_BYTES_MAX < WS_MESSAGE_BYTES_MAX);
const _: () = assert!(COMMIT_BATCH_MAX <= WRITE_QUEUE_MAX);
const _: () = assert!(BOT_DISABLED_SCAN_INTERVAL_MS * 2 <= BOT_REMOVE_WAIT_MS);
// Checkpoints keep the WAL short; the writer's restart is the bound behind them.
const _: () = assert!(WAL_CHECKPOINT_PAGES < WAL_RESTART_PAGES);
const _: () = assert!(PIPELINED_SENDS_MAX <= COMMIT_BATCH_MAX);
const _: () = assert!(PIPELINED_SENDS_MAX + 2 <= CONVERSATION_TOPIC_FRAMES_MAX);
const _: () = assert!(HANDSHAKES_PER_IP_PER_SEC <= HANDSHAKES_PER_IP_BURST);
const _: () = assert!(GUEST_MESSAGES_PER_SEC <= GUEST_MESSAGES_BURST);
const _: () = assert!(CONNECTIONS_PER_GUEST_MAX <= CONNECTIONS_PER_IP_MAX);
const _: () = assert!(CONNECTION_WRITE_BUFFER_BYTES_MAX > WS_MESSAGE_BYTES_MAX);
const _: () = assert!(HISTORY_PAGE_DEFAULT <= HISTORY_PAGE_MAX);
const _: () = assert!(ATTACHMENT_BYTES_MAX <= ATTACHMENT_CONVERSATION_BYTES_MAX);
const _: () = assert!(ATTACHMENT_UPLOAD_IDLE_MS < ATTACHMENT_ORPHAN_GRACE_MS);
const _: () = assert!(CONVERSATION_LIST_DEFAULT <= CONVERSATION_LIST_MAX);
const _: () = assert!(QUEUE_POSITION_WINDOW_MS < QUEUE_POSITION_REFRESH_MS);
const _: () = assert!(QUEUE_WAIT_SAMPLES_MAX >= 1);
const _: () = assert!(CONVERSATION_SEARCH_PAGE_DEFAULT <= CONVERSATION_SEARCH_PAGE_MAX);
const _: () = assert!(NATS_RECONNECT_DELAY_STEP_MS <= NATS_RECONNECT_DELAY_MAX_MS);
const _: () = assert!(STANDING_BATCH_MAX <= STANDING_QUEUE_MAX);
const _: () = assert!(WEBHOOK_LEASE_MS > WEBHOOK_TIMEOUT_MS);
const _: () = assert!(WEBHOOK_RETRY_BASE_MS <= WEBHOOK_RETRY_MAX_MS);
const _: () = assert!(AGENT_CAPACITY_DEFAULT >= 1 && AGENT_CAPACITY_DEFAULT <= AGENT_CAPACITY_MAX);
// An agent's `ready` with its `CONVERSATION_LIST_MAX` conversations, at up to 1 KiB each, fits.
const _: () = assert!(CONNECTION_WRITE_BUFFER_BYTES_MAX >= CONVERSATION_LIST_MAX as usize * 1024);
// A refusal's quote must leave room in a close reason for the code, the fix and the ref.
const _: () = assert!(REFUSAL_QUOTE_BYTES_MAX * 4 <= porch_wire::code::CLOSE_REASON_BYTES_MAX);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_consistent() {
        Limits::default().validate().unwrap();
        let bad = Limits { heartbeat_interval_ms: 70_000, ..Default::default() };
        assert!(bad.validate().unwrap_err().contains("heartbeat_interval_ms"));
        // A write ceiling one byte above the message limit cannot hold that message's frame.
        let tight = Limits {
            connection_write_buffer_bytes_max: WS_MESSAGE_BYTES_MAX + 1,
            ..Default::default()
        };
        assert!(tight.validate().unwrap_err().contains("frame header"));
    }

    #[test]
    fn rows_are_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for row in ROWS {
            assert!(seen.insert(row.constant), "{} twice", row.constant);
            if let Some(setting) = row.setting {
                assert_eq!(
                    setting.to_uppercase(),
                    row.constant,
                    "a setting is its constant in lower case"
                );
            }
            assert!(
                !row.text().is_empty() && !row.unit.is_empty(),
                "{} needs a doc and a unit",
                row.constant
            );
        }
    }

    #[test]
    fn settable_rows_are_exactly_the_fields_of_limits() {
        let fields = serde_json::to_value(Limits::default()).unwrap();
        let fields = fields.as_object().unwrap();
        let settable: Vec<_> =
            ROWS.iter().filter_map(|r| r.setting.map(|s| (s, r.default))).collect();
        assert_eq!(fields.len(), settable.len());
        for (setting, default) in settable {
            assert_eq!(fields[setting], serde_json::json!(default), "{setting}'s default");
        }
    }

    #[test]
    fn set_parses_by_name_and_names_what_is_wrong() {
        let mut limits = Limits::default();
        limits.set("text_chars_max", "2000").unwrap();
        assert_eq!(limits.text_chars_max, 2000);
        let wrong = limits.set("text_chars_max", "many").unwrap_err();
        assert!(wrong.contains("text_chars_max") && wrong.contains("many"), "{wrong}");
        assert!(limits.set("text_chars", "1").unwrap_err().contains("no limit named `text_chars`"));
        assert!(
            limits.set("WS_FRAME_HEADER_BYTES_MAX", "1").is_err(),
            "fixed limits are not settings"
        );
    }
}
