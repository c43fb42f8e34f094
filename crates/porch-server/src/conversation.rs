//! Sending into a conversation: the one path for guests and agents, REST and WebSocket.
//!
//! Validate, append (durable before it returns), then fan out. A retry with the same
//! `clientMessageId` comes back as a duplicate and fans out nothing, so a client may retry any
//! send whose answer it did not see, over any transport, without creating a second message.

use porch_core::store::{AppendOutcome, AppendRequest, PageRequest, StoreError};
use porch_wire::ErrorCode;
use porch_wire::rest::{
    Conversation, ConversationState, MessagePage, Participant, Role, SendMessageResponse,
};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use porch_wire::event::LiveEvent;

mod group;
pub use group::{prepare_send, send_prepared};

/// Checks a send's fields against the limits; the message says which limit and by how much.
pub fn validate_send(state: &AppState, client_message_id: &str, text: &str) -> ApiResult<()> {
    let id_max = porch_core::limits::CLIENT_MESSAGE_ID_CHARS_MAX;
    let id_chars = client_message_id.chars().count();
    if id_chars == 0 || id_chars > id_max {
        return Err(ApiError::new(
            ErrorCode::BadFrame,
            format!("clientMessageId must be 1 to {id_max} characters; it has {id_chars}"),
        ));
    }
    if text.trim().is_empty() {
        return Err(ApiError::new(ErrorCode::BadFrame, "text is empty"));
    }
    check_text_length(state, text)
}

/// Text people read (a message, a notice) is at most `text_chars_max` characters, counted as
/// Unicode scalar values, as the OpenAPI document's `maxLength` counts them.
pub(crate) fn check_text_length(state: &AppState, text: &str) -> ApiResult<()> {
    let max = state.config.limits.text_chars_max;
    let chars = text.chars().count();
    if chars > max {
        return Err(ApiError::new(
            ErrorCode::TextTooLong,
            format!("text has {chars} characters, the limit is {max} (text_chars_max)"),
        ));
    }
    Ok(())
}

/// Stores a message from `sender` and fans it out. For agents, a first reply to a waiting
/// conversation assigns it to them first (a system entry, then the reply).
pub async fn send(
    state: &AppState,
    sender: &Participant,
    conversation: &Conversation,
    client_message_id: &str,
    text: &str,
    content: Option<porch_wire::bot::Content>,
    origin_session: Option<&str>,
) -> ApiResult<SendMessageResponse> {
    validate_send(state, client_message_id, text)?;
    let entry = Entry { client_message_id, text: text.to_string(), attachment: None, content };
    deliver(state, sender, conversation, entry, origin_session).await
}

/// What a participant's message says: text, or a file (whose name is its text).
pub(crate) struct Entry<'a> {
    pub client_message_id: &'a str,
    pub text: String,
    pub attachment: Option<porch_wire::attachment::Attachment>,
    /// A bot's quick replies and cards, or a guest's pick of one.
    pub content: Option<porch_wire::bot::Content>,
}

/// Stores a checked message (text or attachment) from `sender` and fans it out: the rate limit,
/// the broker, an agent's claim of a waiting conversation, the append, the live event.
pub(crate) async fn deliver(
    state: &AppState,
    sender: &Participant,
    conversation: &Conversation,
    entry: Entry<'_>,
    origin_session: Option<&str>,
) -> ApiResult<SendMessageResponse> {
    let request = prepare(state, sender, conversation, entry).await?;
    let outcome = append_or_reopen(state, sender, request).await?;
    Ok(delivered(state, outcome, origin_session))
}

/// Everything before a message's append: the rate limit, the broker, an agent's claim of a
/// waiting conversation (its own entry, committed and told first), the request.
async fn prepare(
    state: &AppState,
    sender: &Participant,
    conversation: &Conversation,
    entry: Entry<'_>,
) -> ApiResult<AppendRequest> {
    if sender.role == Role::Guest {
        state.throttles.guest_messages.take(&sender.id).map_err(|l| {
            ApiError::rate_limited(l, "this guest is sending too fast (guest_messages_per_sec); nothing was stored, resend with the same clientMessageId")
        })?;
    }
    check_broker(state)?;
    let mut request = AppendRequest::new(
        &conversation.id,
        sender.clone(),
        entry.text,
        porch_core::time::now_ms(),
    );
    request.client_message_id = Some(entry.client_message_id.to_string());
    if sender.role == Role::Agent {
        if conversation.state == ConversationState::Waiting {
            crate::routing::check_manual_take(state, conversation).await?;
            claim_for_reply(state, conversation, sender).await?;
        }
        // An agent replies only into a conversation it holds: the store checks it in the
        // commit, so a transfer or a take racing this reply is never written over.
        request.holder = Some(sender.id.clone());
    }
    request.content = entry.content;
    request.attachment = entry.attachment;
    Ok(request)
}

/// A message's answer once appended; a new one is counted and told to everyone.
fn delivered(
    state: &AppState,
    outcome: AppendOutcome,
    origin_session: Option<&str>,
) -> SendMessageResponse {
    match outcome {
        AppendOutcome::Created { message, conversation, .. } => {
            crate::metrics::METRICS.message_stored();
            let response = SendMessageResponse { message: message.clone(), duplicate: false };
            state.publish(LiveEvent::message(&conversation, message, origin_session));
            response
        }
        AppendOutcome::Duplicate { message } => SendMessageResponse { message, duplicate: true },
    }
}

/// Appends a message; a guest's text into its closed conversation reopens it first, within the
/// window (`reopen`), and is then appended after the reopen entry. A file is not a reopen: its
/// upload was refused before any byte (docs/attachments.md).
async fn append_or_reopen(
    state: &AppState,
    sender: &Participant,
    request: AppendRequest,
) -> ApiResult<AppendOutcome> {
    let again = reopen_copy(sender, &request);
    reopen_or_refuse(state, append(state, request).await, again).await
}

/// What a guest's text needs to be appended again after a reopen: a copy of its request.
fn reopen_copy(sender: &Participant, request: &AppendRequest) -> Option<AppendRequest> {
    let reopens = sender.role == Role::Guest && request.attachment.is_none();
    reopens.then(|| request.clone())
}

/// An append's result as its sender is answered: refused into a closed conversation with
/// `again`, the conversation is reopened and `again` appended after the reopen entry.
async fn reopen_or_refuse(
    state: &AppState,
    appended: Result<AppendOutcome, StoreError>,
    again: Option<AppendRequest>,
) -> ApiResult<AppendOutcome> {
    match (appended, again) {
        (Err(StoreError::ConversationClosed(id)), Some(request)) => {
            crate::reopen::reopen(state, &id).await?;
            Ok(append(state, request).await.map_err(reply_refusal)?)
        }
        (appended, _) => Ok(appended.map_err(reply_refusal)?),
    }
}

/// A reply into a conversation another agent holds is that agent's: `conversation_taken`,
/// as for a first reply that finds it taken. One that went back to its queue meanwhile is
/// refused the same way: the agent takes it again, then replies.
fn reply_refusal(error: StoreError) -> ApiError {
    match error {
        StoreError::NotHolder { conversation_id, holder: Some(agent_id) } => {
            ApiError::from(StoreError::ConversationTaken { conversation_id, agent_id })
        }
        StoreError::NotHolder { conversation_id, holder: None } => ApiError::new(
            ErrorCode::ConversationTaken,
            format!(
                "conversation {conversation_id} went back to its queue; nothing was stored: take it again, then reply"
            ),
        ),
        other => ApiError::from(other),
    }
}

/// An agent's first reply to a waiting conversation assigns it to them. Two replies of the same
/// agent sent at once both see it waiting and both ask; the store lets one assign, and the
/// other finds the conversation held by its own agent: that reply goes on. Held by another
/// agent, the reply is refused (`conversation_taken`), nothing stored.
async fn claim_for_reply(
    state: &AppState,
    conversation: &Conversation,
    agent: &Participant,
) -> ApiResult<()> {
    let Err(refused) = change_state(state, conversation, agent, ConversationState::Assigned).await
    else {
        return Ok(());
    };
    if refused.code != ErrorCode::ConversationTaken {
        return Err(refused);
    }
    let now = state.store.conversation(&conversation.id).await?;
    let held_by_this_agent = now.is_some_and(|c| {
        c.state == ConversationState::Assigned && c.assigned_agent_id.as_deref() == Some(&agent.id)
    });
    if held_by_this_agent { Ok(()) } else { Err(refused) }
}

/// A system entry of `conversation_id`, with its own idempotency key: if the store loses the
/// answer to its commit, its retry finds the entry instead of logging the event twice.
pub(crate) fn system_entry(conversation_id: &str, text: String) -> AppendRequest {
    AppendRequest::system(conversation_id, text, porch_core::time::now_ms())
}

/// Appends to the store, timed (`porch_store_commit_seconds`) and watched for a full disk.
pub(crate) async fn append(
    state: &AppState,
    request: AppendRequest,
) -> Result<AppendOutcome, porch_core::store::StoreError> {
    let started = std::time::Instant::now();
    let appended = state.store.append(request).await;
    crate::metrics::METRICS.commit_latency.since(started);
    appended_one(state, &appended);
    appended
}

/// What follows every append's result: the disk's state, agents' loads told to supervisors.
fn appended_one(state: &AppState, appended: &Result<AppendOutcome, StoreError>) {
    state.space.observe(appended);
    if let Ok(outcome) = appended {
        crate::supervisor::live::loads_moved(state, outcome);
    }
}

/// Records a state change as a system entry and tells everyone.
pub async fn change_state(
    state: &AppState,
    conversation: &Conversation,
    by: &Participant,
    to: ConversationState,
) -> ApiResult<Conversation> {
    let who = by.display_name.clone().unwrap_or_else(|| by.id.clone());
    let text = match to {
        ConversationState::Assigned => format!("{who} joined the conversation"),
        ConversationState::Closed => format!("{who} closed the conversation"),
        ConversationState::Waiting => format!("{who} returned the conversation to its queue"),
    };
    let assign = match to {
        ConversationState::Assigned => Some(crate::routing::assignee(state, &by.id).await?),
        _ => None,
    };
    let mut request = system_entry(&conversation.id, text);
    request.event = Some(to);
    request.assign = assign;
    let (message, conversation) = created(state, append(state, request).await?).await?;
    state.publish(LiveEvent::message(&conversation, message, None));
    state.publish(LiveEvent::conversation(
        &crate::guest_view::with_agent(state, &conversation).await,
    ));
    // A conversation left its queue or came back, or an agent's load moved.
    state.offers.wake();
    Ok(conversation)
}

/// A system entry's outcome as the entry and the conversation after it. Its key is fresh and
/// appended once, so the store answers `Created` (also when it had to ask again after a lost
/// commit); a `Duplicate` would be that same entry, told with the conversation as it is now.
pub(crate) async fn created(
    state: &AppState,
    outcome: AppendOutcome,
) -> ApiResult<(porch_wire::rest::Message, Conversation)> {
    match outcome {
        AppendOutcome::Created { message, conversation, .. } => Ok((message, conversation)),
        AppendOutcome::Duplicate { message } => {
            let conversation = state.store.conversation(&message.conversation_id).await?;
            let conversation = conversation.ok_or_else(|| {
                ApiError::from(StoreError::ConversationUnknown(message.conversation_id.clone()))
            })?;
            Ok((message, conversation))
        }
    }
}

/// Records a system entry that changes no state (a guest signed in) and tells everyone. False
/// when the conversation is closed: it takes no more entries.
pub async fn note(state: &AppState, request: AppendRequest) -> ApiResult<bool> {
    let outcome = match append(state, request).await {
        Ok(outcome) => outcome,
        Err(StoreError::ConversationClosed(_)) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let (message, conversation) = created(state, outcome).await?;
    state.publish(LiveEvent::message(&conversation, message, None));
    // The conversation's guest may have changed with it: agents' lists follow.
    state.publish(LiveEvent::conversation(&conversation));
    Ok(true)
}

/// In a cluster, a send while the broker is down would be stored but reach nobody on other
/// nodes until they resync: refuse it instead, before anything is written, so the client
/// retries (here or on a healthy node) and nothing is half-delivered.
pub(crate) fn check_broker(state: &AppState) -> ApiResult<()> {
    match &state.broker {
        Some(broker) if !broker.is_connected() => Err(ApiError {
            code: ErrorCode::BrokerUnavailable,
            message: "this node lost its broker connection; nothing was stored, retry".into(),
            retry_after_ms: Some(porch_core::limits::UNAVAILABLE_RETRY_AFTER_MS),
        }),
        _ => Ok(()),
    }
}

/// Reads a page of history with the limits applied.
pub async fn history(
    state: &AppState,
    conversation_id: &str,
    after_seq: Option<u64>,
    before_seq: Option<u64>,
    limit: Option<u32>,
) -> ApiResult<MessagePage> {
    let max = state.config.limits.history_page_max;
    let limit = limit.unwrap_or(porch_core::limits::HISTORY_PAGE_DEFAULT).clamp(1, max);
    Ok(state.store.messages(conversation_id, PageRequest { after_seq, before_seq, limit }).await?)
}

/// A page of history as a guest (or its customer's backend) reads it: without what is for
/// agents only (a transfer's note, a wrap-up code), with every `seq` still there.
pub async fn guest_history(
    state: &AppState,
    conversation_id: &str,
    after_seq: Option<u64>,
    before_seq: Option<u64>,
    limit: Option<u32>,
) -> ApiResult<MessagePage> {
    let mut page = history(state, conversation_id, after_seq, before_seq, limit).await?;
    page.messages = page.messages.into_iter().map(porch_wire::rest::Message::for_guest).collect();
    Ok(page)
}

/// A query string that does not parse, said without what the client wrote: refusals are
/// logged, and no query string may reach the logs (SECURITY.md). serde's text quotes the
/// client's keys (and prefixes their path), so the cause is named from a fixed vocabulary.
pub fn bad_query(rejection: &axum::extract::rejection::QueryRejection, known: &[&str]) -> ApiError {
    let text = rejection.body_text();
    let twice = known.iter().find(|name| text.contains(&format!("duplicate field `{name}`")));
    let cause = match twice {
        Some(name) => format!("`{name}` is given twice"),
        None if text.contains("unknown field") => "a parameter is unknown".to_string(),
        None if text.contains("digit") || text.contains("number") => {
            "a number is not a whole number in range".to_string()
        }
        None => "it is malformed".to_string(),
    };
    ApiError::new(
        ErrorCode::InvalidRequest,
        format!("bad query: {cause}; this endpoint takes {}, each at most once", known.join(", ")),
    )
}

/// History query parameters: `?after=SEQ` (forward), `?before=SEQ` (backward), both (forward
/// from `after`, strictly below `before`), and `limit`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    pub after: Option<u64>,
    pub before: Option<u64>,
    pub limit: Option<u32>,
}

impl HistoryQuery {
    /// The parameter names, for error messages.
    pub const NAMES: &[&str] = &["after", "before", "limit"];
}
