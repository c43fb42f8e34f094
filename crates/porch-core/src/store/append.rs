//! An append: what a caller asks (`AppendRequest`), what the store answers (`AppendOutcome`),
//! and the rules every backend decides it by (`decide_append`), pure, so the rules are tested
//! here once and each backend only persists what they decide.

use porch_wire::rest::{Conversation, ConversationState, Message, Participant};

use super::{StoreError, hide_system_key, system_participant};
use crate::webhook::EventType;

/// A new entry for a conversation's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendRequest {
    pub conversation_id: String,
    pub sender: Participant,
    /// The idempotency key: a guest's, agent's or bot's `clientMessageId`, or the server's own
    /// for a system entry (`AppendRequest::system`, never shown to clients). A store that
    /// retries a write whose outcome it did not see (a connection lost during COMMIT) finds
    /// the entry by it instead of writing it twice.
    pub client_message_id: Option<String>,
    pub text: String,
    /// A state change this entry records; the conversation row changes in the same commit.
    pub event: Option<ConversationState>,
    /// With `event: Assigned`, the agent it is assigned to.
    pub assign: Option<Assignee>,
    /// A bot's quick replies and cards, or a guest's pick (stored with the entry).
    pub content: Option<porch_wire::bot::Content>,
    /// The agent that must hold the conversation for the append to commit (an agent's reply,
    /// transfer, unassign or close): anyone else holding it, or nobody, is `NotHolder`. With
    /// `event: Assigned` (a transfer to an agent), this holder lets it go to the assignee.
    pub holder: Option<String>,
    /// With `holder`: a conversation nobody holds (waiting) is allowed too (an agent closing a
    /// waiting conversation of its queue).
    pub or_unheld: bool,
    /// Moves the conversation to this queue (a transfer to a queue, a bot's hand-off).
    pub queue: Option<String>,
    /// Agents only: a transfer's internal note, kept with the entry.
    pub note: Option<String>,
    /// Agents only: a close's wrap-up code, kept with the entry.
    pub wrap_up: Option<String>,
    pub now_ms: i64,
    /// An attachment message's file, stored complete before the append (docs/attachments.md).
    pub attachment: Option<porch_wire::attachment::Attachment>,
    /// A reopen (docs/routing.md): the entry commits only on a conversation closed at or after
    /// this time (its last entry, the close, no older), which it takes to `event` (`waiting`,
    /// or `assigned` with `assign`). Closed before: `ConversationClosed` (the window has
    /// passed); not closed: `NotClosed` (another send reopened it first).
    pub reopen_closed_since_ms: Option<i64>,
    /// The entry commits only if the conversation's `last_seq` is still this (`Changed`
    /// otherwise): a queue's fallback, which every node's timer may fire, is written once.
    pub expect_last_seq: Option<u64>,
    /// Marks the entry as a queue's unanswered fallback (docs/routing.md).
    pub fallback: bool,
    /// The webhook event this entry is, when it is not the one its state change makes
    /// (`EventType::of_entry`): a transfer, a guest identified.
    pub webhook_event: Option<EventType>,
    /// The conversation's guest becomes this customer in the entry's commit (an anonymous
    /// session upgraded by an identity token, docs/identity.md): refused with
    /// `GuestOfAnotherCustomer`, and nothing written, when another customer has it already.
    /// Boxed: rare, and every append (SQLite's writer queue holds them) would carry its size.
    pub identify: Option<Box<GuestIdentity>>,
}

/// Who an identity token said the guest is (`AppendRequest::identify`), as
/// `Store::identify_guest` records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestIdentity {
    pub guest_id: String,
    pub external_id: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
}

impl GuestIdentity {
    /// The guest as the store leaves it: the customer's id, a name and email when the token
    /// gave them, vouched for by the identity token unless it was known before.
    pub fn apply(&self, guest: &mut porch_wire::rest::Guest) {
        if guest.external_id.is_none() {
            guest.verified_by = Some(porch_wire::rest::Verification::IdentityToken);
        }
        guest.external_id = Some(self.external_id.clone());
        if let Some(name) = &self.display_name {
            guest.display_name = Some(name.clone());
        }
        if let Some(email) = &self.email {
            guest.email = Some(email.clone());
        }
    }
}

impl AppendRequest {
    /// An entry with nothing but its sender, text and state change; set the rest after.
    pub fn new(conversation_id: &str, sender: Participant, text: String, now_ms: i64) -> Self {
        AppendRequest {
            conversation_id: conversation_id.to_owned(),
            sender,
            client_message_id: None,
            text,
            event: None,
            assign: None,
            content: None,
            holder: None,
            or_unheld: false,
            queue: None,
            note: None,
            wrap_up: None,
            attachment: None,
            webhook_event: None,
            identify: None,
            now_ms,
            reopen_closed_since_ms: None,
            expect_last_seq: None,
            fallback: false,
        }
    }

    /// A system entry (sender `porch`) with its own fresh idempotency key: the key stays the
    /// same through every retry of this request, so a retry after an unknown outcome finds
    /// the entry instead of logging the event twice.
    pub fn system(conversation_id: &str, text: String, now_ms: i64) -> Self {
        let mut request = AppendRequest::new(conversation_id, system_participant(), text, now_ms);
        request.client_message_id = Some(crate::ids::new_id(crate::ids::prefix::SYSTEM_ENTRY));
        request
    }

    /// The webhook event the entry is: `webhook_event`, a reopen's, or the one of its state
    /// change.
    pub fn webhook_event(&self) -> EventType {
        match self.webhook_event {
            Some(event) => event,
            None if self.reopen_closed_since_ms.is_some() => EventType::ConversationReopened,
            None => EventType::of_entry(self.event),
        }
    }

    /// Text and nothing else (an agent's reply may name the holder it must be): no state change,
    /// assignment, unheld conversation, move, note, wrap-up, content, file, reopen, expected
    /// `last_seq`, fallback, event of its own or identification. Only such an entry may take a
    /// store's shortcut that writes before `decide_append` rules (PostgreSQL's one-statement
    /// append): every other field is a condition or a column the shortcut does not check or
    /// write.
    pub fn is_plain(&self) -> bool {
        self.event.is_none()
            && self.assign.is_none()
            && !self.or_unheld
            && self.queue.is_none()
            && self.note.is_none()
            && self.wrap_up.is_none()
            && self.content.is_none()
            && self.attachment.is_none()
            && self.reopen_closed_since_ms.is_none()
            && self.expect_last_seq.is_none()
            && !self.fallback
            && self.webhook_event.is_none()
            && self.identify.is_none()
    }
}

/// The agent an assignment names, with the capacity the caller resolved for it
/// (`model::capacity_of`): the store assigns only while the agent's load is below it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignee {
    pub agent_id: String,
    pub capacity: u32,
}

/// What `append` did.
// Returned once per append and consumed at once; boxing would add an allocation per message.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// A new entry, durable, with the conversation as it is after it, and the agent whose
    /// load the same commit lowered (it let the conversation go); the agent whose load it
    /// raised is the conversation's after an `assigned` entry (`moved_agents`).
    Created { message: Message, conversation: Conversation, released: Option<String> },
    /// The `clientMessageId` was stored before; this is the original entry. Nothing was written.
    Duplicate { message: Message },
}

impl AppendOutcome {
    /// A new entry as clients see it: a system entry's idempotency key is the server's own
    /// and never shown (stores read it back the same way, `hide_system_key`).
    pub fn created(
        mut message: Message,
        conversation: Conversation,
        released: Option<String>,
    ) -> AppendOutcome {
        hide_system_key(&mut message);
        AppendOutcome::Created { message, conversation, released }
    }

    pub fn message(&self) -> &Message {
        match self {
            AppendOutcome::Created { message, .. } | AppendOutcome::Duplicate { message } => {
                message
            }
        }
    }

    /// The agents whose load this commit moved: the assignee of an `assigned` entry, and the
    /// agent that let the conversation go. Empty for nearly every entry (a plain message).
    pub fn moved_agents(&self) -> Vec<&str> {
        let AppendOutcome::Created { message, conversation, released } = self else {
            return Vec::new();
        };
        let claimed = (message.event == Some(ConversationState::Assigned))
            .then_some(conversation.assigned_agent_id.as_deref())
            .flatten();
        claimed.into_iter().chain(released.as_deref()).collect()
    }
}

/// What an append does, decided by the rules every backend shares.
// Made and consumed once per append, inside the backend's transaction: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendDecision {
    /// The `clientMessageId` was stored before with the same text: answer with it, write nothing.
    Replay(Message),
    /// Write `message` and update the conversation row to `conversation`; `previous_seq` is the
    /// row's `last_seq` before, which the write may use as a guard. In the same commit, the
    /// agent of `claim` takes one more conversation (refused if that puts it over
    /// `claim.capacity`) and the agent of `release` one fewer.
    Write {
        message: Message,
        conversation: Conversation,
        previous_seq: u64,
        claim: Option<Assignee>,
        release: Option<String>,
    },
}

/// The rules of `Store::append`, in one place for every backend. The backend locks the
/// conversation, looks up a stored entry with the same sender and `clientMessageId` and, for
/// an assignment, the assignee's load (`None`: no such agent), calls this, and persists a
/// `Write` in the same transaction.
///
/// A retry of a stored id is answered before the closed check: the sender's first attempt was
/// accepted, and "closed" would read as "your message was not taken".
pub fn decide_append(
    request: AppendRequest,
    mut conversation: Conversation,
    stored: Option<Message>,
    message_id: String,
    assignee_load: Option<u32>,
) -> Result<AppendDecision, StoreError> {
    debug_assert_eq!(conversation.id, request.conversation_id, "the backend locked the right row");
    if let Some(stored) = stored {
        return if stored.text == request.text && stored.content == request.content {
            Ok(AppendDecision::Replay(stored))
        } else {
            Err(StoreError::IdempotencyConflict)
        };
    }
    check_reopen(&request, &conversation)?;
    let previous_seq = conversation.last_seq;
    if request.expect_last_seq.is_some_and(|expected| expected != previous_seq) {
        return Err(StoreError::Changed(request.conversation_id));
    }
    // Both backends store seq as a signed 64-bit integer.
    let seq =
        previous_seq.checked_add(1).filter(|s| i64::try_from(*s).is_ok()).ok_or_else(|| {
            StoreError::Unavailable(format!(
                "conversation {} has run out of sequence numbers",
                request.conversation_id
            ))
        })?;
    // Whoever holds the conversation lets it go when it leaves `assigned`.
    let mut holder = (conversation.state == ConversationState::Assigned)
        .then(|| conversation.assigned_agent_id.clone())
        .flatten();
    let allowed = |acting: &String| {
        holder.as_ref() == Some(acting) || (request.or_unheld && holder.is_none())
    };
    if request.holder.as_ref().is_some_and(|acting| !allowed(acting)) {
        return Err(StoreError::NotHolder { conversation_id: request.conversation_id, holder });
    }
    let (mut claim, mut release) = (None, None);
    match request.event {
        Some(ConversationState::Assigned) => {
            // A transfer: the acting holder lets go, the assignee claims, in one commit.
            let letting_go = holder.take_if(|h| request.holder.as_deref() == Some(h.as_str()));
            let assignee = check_assignment(&request, &conversation, holder, assignee_load)?;
            if letting_go.as_ref() == Some(&assignee.agent_id) {
                return Err(StoreError::ConversationTaken {
                    conversation_id: conversation.id.clone(),
                    agent_id: assignee.agent_id,
                });
            }
            conversation.state = ConversationState::Assigned;
            conversation.assigned_agent_id = Some(assignee.agent_id.clone());
            claim = Some(assignee);
            release = letting_go;
        }
        // Back in the queue: nobody holds it any more.
        Some(ConversationState::Waiting) => {
            conversation.state = ConversationState::Waiting;
            conversation.assigned_agent_id = None;
            release = holder;
        }
        // The agent stays named (who handled it), but no longer holds it.
        Some(ConversationState::Closed) => {
            conversation.state = ConversationState::Closed;
            release = holder;
        }
        None => {}
    }
    if let Some(queue) = request.queue {
        conversation.queue = queue;
    }
    conversation.last_seq = seq;
    // One clock for the log: an entry is never dated before the one it follows, so times and
    // `seq` agree even when nodes' clocks do not (a node whose clock lags writes the time of the
    // entry before). Lists sort by `updated_at_ms`, which moves with it.
    let at_ms = conversation.updated_at_ms.max(request.now_ms);
    conversation.updated_at_ms = at_ms;
    let message = Message {
        id: message_id,
        conversation_id: request.conversation_id,
        seq,
        client_message_id: request.client_message_id,
        sender: request.sender,
        text: request.text,
        event: request.event,
        content: request.content,
        note: request.note,
        wrap_up: request.wrap_up,
        created_at_ms: at_ms,
        attachment: request.attachment,
        erased: false,
        reopened: request.reopen_closed_since_ms.is_some(),
        fallback: request.fallback,
    };
    // Written with the entry, by the same commit: agents' lists read it with the row.
    conversation.last_message = Some(crate::preview::last_message(&message));
    Ok(AppendDecision::Write { message, conversation, previous_seq, claim, release })
}

/// A closed conversation takes no more appends, but a reopen within its window: that one
/// decides on the conversation as if open (nobody holds it; the agent stays named). A reopen
/// of an open conversation is `NotClosed`: another send reopened it first.
fn check_reopen(request: &AppendRequest, conversation: &Conversation) -> Result<(), StoreError> {
    let closed = conversation.state == ConversationState::Closed;
    match request.reopen_closed_since_ms {
        None if closed => Err(StoreError::ConversationClosed(request.conversation_id.clone())),
        None => Ok(()),
        Some(_) if !closed => Err(StoreError::NotClosed(request.conversation_id.clone())),
        Some(since_ms) if conversation.updated_at_ms < since_ms => {
            Err(StoreError::ConversationClosed(request.conversation_id.clone()))
        }
        // Closed holds nobody: an assignment below claims as for a waiting conversation.
        Some(_) => Ok(()),
    }
}

/// Exactly one owner: an assignment needs a conversation nobody holds and an existing agent
/// below its capacity.
fn check_assignment(
    request: &AppendRequest,
    conversation: &Conversation,
    holder: Option<String>,
    assignee_load: Option<u32>,
) -> Result<Assignee, StoreError> {
    let Some(assignee) = request.assign.clone() else {
        return Err(StoreError::Unavailable(format!(
            "an assignment of {} names no agent (a bug in the caller)",
            conversation.id
        )));
    };
    if let Some(agent_id) = holder {
        return Err(StoreError::ConversationTaken {
            conversation_id: conversation.id.clone(),
            agent_id,
        });
    }
    let Some(load) = assignee_load else {
        return Err(StoreError::AgentUnknown(assignee.agent_id));
    };
    if load >= assignee.capacity {
        return Err(StoreError::AgentAtCapacity {
            agent_id: assignee.agent_id,
            capacity: assignee.capacity,
        });
    }
    Ok(assignee)
}

#[cfg(test)]
mod tests;
