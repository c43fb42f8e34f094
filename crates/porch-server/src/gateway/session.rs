//! One WebSocket connection, from `ready` to close.
//!
//! A session is one task running one loop over four sources: frames from the client, events
//! from the hub, the heartbeat timer and the shutdown signal. It writes to the socket itself,
//! so there is no per-connection queue to grow: when the client reads slowly, writes wait,
//! the hub's bounded channel fills, and the session falls back to the store (guests) or closes
//! with 4201 so the client resumes (agents). Memory per connection stays bounded whatever the
//! client does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message as WsMessage, WebSocket};
use porch_core::limits::{CONVERSATION_LIST_MAX, FRAMES_PER_WRITE_MAX, WS_FRAME_HEADER_BYTES_MAX};
use porch_core::store::ConversationFilter;
use porch_core::token::{Claims, TokenKind};
use porch_wire::ErrorCode;
use porch_wire::frame::{ConnectionLimits, Ready, Resume, ServerFrame};
use porch_wire::rest::{Conversation, ConversationState, Notice, Participant, Role};
use tokio::sync::OwnedSemaphorePermit;
use tokio::sync::broadcast::Receiver;

use super::cursor::{Cursors, ResumePlan, plan_resume};
use super::frames::{End, close, feed_within, flush_within};
use super::ready::ready_within;
use crate::agents;
use crate::auth::{AgentPrincipal, GuestPrincipal, Principal};
use crate::error::ApiError;
use crate::hub::{
    EVERY_QUEUE_TOPIC, Feed, HubEvent, agent_topic, conversation_topic, deployment_topic,
    queue_topic, recv_any,
};
use crate::listener::ConnectionHold;
use crate::state::AppState;
use crate::throttle::Slot;

mod events;
mod inbound;
mod pipelined;
mod refresh;

/// What the upgrade handler hands to a session.
pub struct Start {
    pub state: AppState,
    pub principal: Principal,
    /// Subscribed before the principal's records were read: anything committed after that
    /// read is in the feed, anything before it in the store (or in what was read), and the
    /// cursor drops the overlap. A guest's topics are named by its token, so one read serves
    /// both its checks and its `ready`; an agent's come from its record, and its session
    /// reads its conversations once subscribed.
    pub feed: Feed,
    pub after_seq: Option<u64>,
    pub slots: Slots,
}

/// The counts a session is charged to, released when it ends (by dropping).
#[expect(dead_code, reason = "held for their Drop, which releases the counts")]
pub struct Slots {
    /// `connections_max`.
    pub permit: OwnedSemaphorePermit,
    /// The TCP connection's `connections_per_ip_max` slot and gauge, kept past the HTTP task.
    pub connection: Option<Arc<ConnectionHold>>,
    /// `connections_per_guest_max`.
    pub guest: Option<Slot<String>>,
}

/// Refuses an upgraded connection: close with the cause, then linger for the client's close.
/// `connection` keeps counting the connection (against its address, in the gauge) until then.
pub async fn refuse(
    mut socket: WebSocket,
    error: ApiError,
    connection: Option<Arc<ConnectionHold>>,
) {
    close(&mut socket, End::with(error)).await;
    drop(connection);
}

/// Whom a session is opened for; boxed, see `Who`.
enum Opening {
    Guest(Box<GuestPrincipal>),
    Agent(Box<AgentPrincipal>),
}

/// Runs an authenticated session to its end.
///
/// Not an `async fn`: the session is built here, before the future exists, so the future holds
/// one `Session` and not also the arguments it was built from (an `async fn` keeps a slot for
/// each argument for its whole life, even once moved; see `live` on why that matters).
pub fn run(socket: WebSocket, start: Box<Start>) -> impl Future<Output = ()> + Send {
    let Start { state, principal, mut feed, after_seq, slots } = *start;
    let opening = match principal {
        Principal::Guest(guest) => Opening::Guest(Box::new(guest)),
        Principal::Agent(agent) => Opening::Agent(Box::new(agent)),
        Principal::Client(_) | Principal::Bot(_) => {
            unreachable!("the gateway accepts no client or bot tokens")
        }
    };
    let mut session = Session {
        id: porch_core::ids::new_id(porch_core::ids::prefix::SESSION),
        socket,
        state,
        cursors: Cursors::default(),
        last_heard: Instant::now(),
        token_exp_secs: 0,
        notice_id: None,
        buffered: 0,
        guest: matches!(opening, Opening::Guest(_)),
        queued: false,
    };
    async move {
        crate::metrics::METRICS.session_opened();
        // Only `live` is awaited inline: it is where an idle session waits (see `live`). So an
        // agent's presence is one boxed slot here: every guest's task carries it, empty.
        let mut presence = None;
        let end = match Box::pin(session.open(opening, after_seq)).await {
            Ok(who) => match Box::pin(session.agent_opened(&who, &mut presence)).await {
                Ok(()) => session.live(who, &mut feed).await,
                Err(end) => end,
            },
            Err(end) => end,
        };
        drop(feed);
        Box::pin(close(&mut session.socket, end)).await;
        crate::metrics::METRICS.session_closed();
        drop(presence);
        drop(slots);
    }
}

struct Session {
    id: String,
    socket: WebSocket,
    state: AppState,
    /// Per conversation, the last `seq` delivered to this client. Guests have one entry;
    /// agents one per conversation of their queues they have heard of.
    cursors: Cursors,
    /// Last time anything (a frame, a pong) came from the client.
    last_heard: Instant,
    /// The access token's `exp`: the session closes with 4002 once it passes.
    token_exp_secs: i64,
    /// Guests: the id of the deployment notice this client was last given, so a heartbeat
    /// that finds another one in the store (a live frame was lost) sends it.
    notice_id: Option<Box<str>>,
    /// Frames buffered since the last flush (`frames::feed_within`); the live loop writes
    /// them out before it waits for anything.
    buffered: u32,
    /// A guest's session: entries reach it without what is for agents only (`for_guest`).
    guest: bool,
    /// A guest's conversation waits for an agent, as far as this session heard: `queue`
    /// frames go out only then (a read made before an assignment may arrive after it).
    queued: bool,
}

fn notice_id(notice: Option<&Notice>) -> Option<Box<str>> {
    notice.map(|n| n.id.as_str().into())
}

/// A guest session's receivers are its conversation's topic, then its deployment's.
const GUEST_DEPLOYMENT_RECEIVER: usize = 1;

/// A guest's topics, as its token names them: its conversation's, then its deployment's
/// (`GUEST_DEPLOYMENT_RECEIVER`). `None` for other tokens, and for a guest token that names
/// neither (`auth::principal` refuses it).
pub fn guest_topics(claims: &Claims) -> Option<Vec<String>> {
    if claims.kind() != Some(TokenKind::Guest) {
        return None;
    }
    Some(vec![conversation_topic(claims.cnv.as_deref()?), deployment_topic(claims.dep.as_deref()?)])
}

/// An agent's topics: its queues' (a supervisor's: every queue's), and its own (offers).
pub fn agent_topics(agent: &AgentPrincipal) -> Vec<String> {
    let mut topics: Vec<String> = if agent.supervisor {
        vec![EVERY_QUEUE_TOPIC.to_owned()]
    } else {
        agent.queues.iter().map(|q| queue_topic(q)).collect()
    };
    topics.push(agent_topic(&agent.agent_id));
    topics
}

/// Who the session speaks for, once started: only what the live loop uses, since an idle
/// session carries it for hours (a guest's whole principal, with its deployment and claims,
/// is about a kilobyte). Boxed for the same reason: every async fn that takes a value keeps a
/// slot for it in its future for as long as the future lives (see `live`).
enum Who {
    Guest { participant: Box<Participant>, conversation: Box<Conversation> },
    Agent(Box<AgentPrincipal>),
}

impl Who {
    fn participant(&self) -> Participant {
        match self {
            Who::Guest { participant, .. } => Participant::clone(participant),
            Who::Agent(agent) => agents::participant(agent),
        }
    }
}

// Methods take `&mut self` even when they only read: the socket is not `Sync`, so a `&Session`
// held across an await would make the session future non-`Send`.
impl Session {
    /// Everything before the loop: `ready`, and a resuming guest's replay.
    async fn open(&mut self, opening: Opening, after_seq: Option<u64>) -> Result<Who, End> {
        match opening {
            Opening::Guest(principal) => self.guest_open(principal, after_seq).await,
            Opening::Agent(agent) => self.agent_open(agent).await,
        }
    }

    /// An agent counts as connected here from `ready` until its close (`presence`, dropped
    /// after the close), and hears the offers it holds (made before this connection, or lost
    /// with the last one). Nothing for a guest.
    async fn agent_opened(
        &mut self,
        who: &Who,
        presence: &mut Option<Box<crate::presence::Connected>>,
    ) -> Result<(), End> {
        let Who::Agent(agent) = who else { return Ok(()) };
        *presence = Some(Box::new(crate::presence::connected(&self.state, &agent.agent_id).await));
        self.send_held_offers(&agent.agent_id).await
    }

    /// Sends an agent the `offer` of each conversation offered to it now. One made after the
    /// feed was subscribed may come twice: the same offer.
    async fn send_held_offers(&mut self, agent_id: &str) -> Result<(), End> {
        let frames = match crate::offers::held_by(&self.state, agent_id).await {
            Ok(frames) => frames,
            Err(e) => {
                tracing::warn!(agent = agent_id, error = ?e, "could not read an agent's offers");
                return Ok(());
            }
        };
        for frame in &frames {
            self.send_frame(frame).await?;
        }
        Ok(())
    }

    /// Sends `ready` and replays what a resuming guest missed.
    async fn guest_open(
        &mut self,
        principal: Box<GuestPrincipal>,
        after_seq: Option<u64>,
    ) -> Result<Who, End> {
        self.token_exp_secs = principal.claims.exp;
        let participant = Box::new(crate::guests::participant(&principal));
        let GuestPrincipal { guest, deployment, conversation, .. } = *principal;
        let conversation_id = guest.conversation_id;
        let head = conversation.last_seq;
        let (resume, replay) = self.resume(after_seq, head);
        // With a replay the cursor starts where the client left off, and `fill` brings it to
        // the head; otherwise the client starts live from the head.
        let start = replay.map_or(head, |(after, _)| after);
        self.cursors.set(&conversation_id, start);
        let notice = deployment.notice;
        self.notice_id = notice_id(notice.as_ref());
        self.queued = conversation.state == ConversationState::Waiting;
        let queue = match crate::queue_position::position_of(&self.state, &conversation).await {
            Ok(queue) => queue,
            Err(e) => {
                // A position is a courtesy: the session goes on without it.
                tracing::warn!(error = ?e, "could not read a waiting guest's queue position");
                None
            }
        };
        let who = Who::Guest { participant, conversation: Box::new(conversation.clone()) };
        let ready = Ready {
            session_id: self.id.clone(),
            role: Role::Guest,
            participant: who.participant(),
            conversations: Vec::new(),
            more_conversations: false,
            conversation: Some(crate::guest_view::for_guest(&self.state, conversation).await),
            last_seq: Some(head),
            notice,
            queue,
            resume,
            heartbeat_interval_ms: self.state.config.limits.heartbeat_interval_ms,
            token_expires_in_ms: self.token_exp_secs * 1000 - porch_core::time::now_ms(),
            limits: self.limits(),
        };
        self.send_frame(&ServerFrame::Ready(ready)).await?;
        if let Some((after, count)) = replay {
            self.fill(&conversation_id, after, count).await?;
        }
        Ok(who)
    }

    /// Works out a resume request: the `resume` field of `ready`, and the entries to replay
    /// after it as `(after_seq, count)`. The store's log is gap-free, so `count` entries follow.
    fn resume(&self, after_seq: Option<u64>, head: u64) -> (Option<Resume>, Option<(u64, u64)>) {
        let Some(after_seq) = after_seq else { return (None, None) };
        let max = self.state.config.limits.resume_messages_max;
        let not_recovered = |reason: String| {
            Some(Resume { recovered: false, after_seq, replayed: 0, reason: Some(reason) })
        };
        match plan_resume(after_seq, head, max) {
            ResumePlan::UpToDate => {
                (Some(Resume { recovered: true, after_seq, replayed: 0, reason: None }), None)
            }
            ResumePlan::Ahead => (
                not_recovered(format!(
                    "afterSeq {after_seq} is beyond the last seq {head}: page history"
                )),
                None,
            ),
            ResumePlan::TooFarBehind { missed } => (
                not_recovered(format!(
                    "{missed} entries missed, more than the resume limit {max}: page history"
                )),
                None,
            ),
            ResumePlan::Replay { after_seq, count } => (
                Some(Resume { recovered: true, after_seq, replayed: count, reason: None }),
                Some((after_seq, count)),
            ),
        }
    }

    /// Sends `ready` with the agent's open conversations.
    async fn agent_open(&mut self, agent: Box<AgentPrincipal>) -> Result<Who, End> {
        self.token_exp_secs = agent.claims.exp;
        let queues = match crate::supervisor::seen_queues(&self.state, &agent).await {
            Ok(queues) => queues,
            Err(e) => return Err(End::with(e)),
        };
        let filter = ConversationFilter {
            queues,
            states: vec![ConversationState::Waiting, ConversationState::Assigned],
            limit: CONVERSATION_LIST_MAX,
        };
        let conversations = match self.state.store.conversations(filter).await {
            Ok(c) => c,
            Err(e) => return Err(End::with(e.into())),
        };
        let who = Who::Agent(agent);
        let mut ready = Ready {
            session_id: self.id.clone(),
            role: Role::Agent,
            participant: who.participant(),
            conversations: Vec::new(),
            more_conversations: false,
            conversation: None,
            last_seq: None,
            notice: None,
            queue: None,
            resume: None,
            heartbeat_interval_ms: self.state.config.limits.heartbeat_interval_ms,
            token_expires_in_ms: self.token_exp_secs * 1000 - porch_core::time::now_ms(),
            limits: self.limits(),
        };
        let frame_bytes_max =
            self.state.config.limits.connection_write_buffer_bytes_max - WS_FRAME_HEADER_BYTES_MAX;
        let json = ready_within(&mut ready, conversations, frame_bytes_max);
        // Conversations left out start a cursor at their first live event (`deliver`).
        for c in &ready.conversations {
            self.cursors.set(&c.id, c.last_seq);
        }
        self.send_raw(WsMessage::Text(json.into())).await?;
        Ok(who)
    }

    fn limits(&self) -> ConnectionLimits {
        let l = &self.state.config.limits;
        ConnectionLimits {
            message_bytes_max: l.ws_message_bytes_max,
            text_chars_max: l.text_chars_max,
            attachments: crate::attachments::limits(&self.state),
        }
    }

    /// The loop. Returns how the session ended.
    ///
    /// An idle session is this future, parked in the `select!`, for hours: its size is the
    /// memory of every idle connection. A future is as large as its largest await, and the
    /// handlers below are the deepest ones (a send goes through the store and the hub), so
    /// they are boxed: allocated when something happens, not carried while nothing does.
    /// (Inline, they made each session task about 12 KiB; BENCHMARKS.md, S1.)
    async fn live(&mut self, mut who: Who, feed: &mut Feed) -> End {
        let Feed { receivers, resync, .. } = feed;
        let heartbeat = Duration::from_millis(self.state.config.limits.heartbeat_interval_ms);
        let mut ticker =
            tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
        let mut shutdown = self.state.shutdown.clone();
        loop {
            if self.buffered > 0 {
                if let Err(end) = self.batch_or_flush(&mut who, receivers).await {
                    return end;
                }
                continue;
            }
            // Biased, live events before the client's frames: each frame a client sends can
            // add several events to its own feed (an agent's first reply assigns, then posts),
            // so serving frames first lets a fast sender overrun its own ring and be cut as a
            // slow consumer. Draining events first keeps the ring to one frame's worth; the
            // client's frames wait in TCP, which is their backpressure.
            let step = tokio::select! {
                biased;
                _ = shutdown.changed() => Err(End::with(ApiError::new(ErrorCode::ServerShutdown, "this node is shutting down; reconnect and resume"))),
                Ok(()) = resync.changed() => Box::pin(self.resync(&who)).await,
                _ = ticker.tick() => Box::pin(self.on_tick(&who)).await,
                (event, index) = recv_any(receivers) => Box::pin(self.on_event(&who, event, index)).await,
                frame = self.socket.recv() => Box::pin(self.on_socket(&mut who, frame)).await,
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    /// With frames buffered: an event already waiting, or else a client frame already read,
    /// is handled first and its frames join the batch, up to `FRAMES_PER_WRITE_MAX`; otherwise
    /// the batch is written out. Events first, as in `live`.
    async fn batch_or_flush(
        &mut self,
        who: &mut Who,
        receivers: &mut [Receiver<Arc<HubEvent>>],
    ) -> Result<(), End> {
        use futures_util::FutureExt;
        if self.buffered >= FRAMES_PER_WRITE_MAX {
            return self.flush().await;
        }
        // Each polled once: `recv` on a receiver and on the socket is cancel-safe, so dropping
        // one that is not ready loses nothing.
        if let Some((event, index)) = recv_any(receivers).now_or_never() {
            return Box::pin(self.on_event(who, event, index)).await;
        }
        match self.socket.recv().now_or_never() {
            Some(frame) => Box::pin(self.on_socket(who, frame)).await,
            None => self.flush().await,
        }
    }

    /// Writes out what is buffered. Called before anything that waits on a commit, too: what
    /// is buffered must not wait with it.
    async fn flush(&mut self) -> Result<(), End> {
        if self.buffered == 0 {
            return Ok(());
        }
        self.buffered = 0;
        flush_within(&mut self.socket, self.state.config.limits.write_timeout_ms).await
    }

    async fn on_tick(&mut self, who: &Who) -> Result<(), End> {
        let idle_ms = self.state.config.limits.idle_timeout_ms;
        if self.last_heard.elapsed() > Duration::from_millis(idle_ms) {
            return Err(End::with(ApiError::new(
                ErrorCode::IdleTimeout,
                format!("nothing heard for {idle_ms} ms; answer pings"),
            )));
        }
        if porch_core::time::now_ms() / 1000 > self.token_exp_secs {
            return Err(End::with(ApiError::new(
                ErrorCode::TokenExpired,
                "the access token expired; refresh it and reconnect",
            )));
        }
        // Revocation and disabling reach live sessions here, within one heartbeat interval;
        // so does anything the live path lost (a broker that dropped an event).
        match who {
            Who::Guest { participant, .. } => {
                let standing = crate::auth::recheck_guest(&self.state, &participant.id)
                    .await
                    .map_err(End::with)?;
                self.catch_up_to(who, standing.last_seq).await?;
                self.send_notice_if_new(standing.notice).await?;
            }
            // A disabled agent, or a secret reset, ends the agent's live sessions too.
            Who::Agent(agent) => {
                crate::auth::recheck_agent(&self.state, agent).await.map_err(End::with)?
            }
        }
        self.send_raw(WsMessage::Ping(Default::default())).await
    }

    async fn send_error(
        &mut self,
        error: ApiError,
        client_message_id: Option<String>,
    ) -> Result<(), End> {
        let error_ref = error.log();
        let message = format!("{} [ref {error_ref}]", error.message);
        let frame = ServerFrame::Error {
            code: error.code,
            message,
            client_message_id,
            retry_after_ms: error.retry_after_ms,
        };
        self.send_frame(&frame).await
    }

    async fn send_frame(&mut self, frame: &ServerFrame) -> Result<(), End> {
        let json = serde_json::to_string(frame).expect("server frames always serialize");
        self.send_raw(WsMessage::Text(json.into())).await
    }

    async fn send_text(&mut self, json: Arc<str>) -> Result<(), End> {
        self.send_raw(WsMessage::Text(json.as_ref().into())).await
    }

    /// Buffers a frame; the live loop writes it out (`batch_or_flush`), and so does `close`.
    async fn send_raw(&mut self, message: WsMessage) -> Result<(), End> {
        self.buffered += 1;
        feed_within(&mut self.socket, message, self.state.config.limits.write_timeout_ms).await
    }
}
