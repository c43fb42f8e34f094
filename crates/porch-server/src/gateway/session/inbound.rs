//! What a session does with its client's frames: `send`, `choose`, `typing`, `read`, `status`,
//! `accept`, `decline`, `transfer`, `unassign`, `close`, `refresh` (its checks in `refresh.rs`),
//! `ping`.

use std::time::Instant;

use axum::extract::ws::Message as WsMessage;
use porch_wire::ErrorCode;
use porch_wire::event::LiveEvent;
use porch_wire::frame::{ClientFrame, ServerFrame};
use porch_wire::rest::{AgentStatus, Conversation, ConversationState};

use super::super::frames::{End, inbound, parse_client_frame};
use super::pipelined::Pipelined;
use super::{Session, Who};
use crate::agents;
use crate::conversation;
use crate::error::ApiError;
use crate::handover;

/// What an agent's handing frame asks.
enum Handing {
    Transfer { agent_id: Option<String>, queue: Option<String>, note: Option<String> },
    Unassign,
    Close { wrap_up: Option<String> },
}

async fn hand_over(
    state: &crate::state::AppState,
    agent: &crate::auth::AgentPrincipal,
    conversation_id: &str,
    handing: Handing,
) -> Result<(), ApiError> {
    let conversation = agents::visible(state, agent, conversation_id).await?;
    let by = agents::participant(agent);
    let acting = agents::acting(agent, &by, &conversation);
    match handing {
        Handing::Transfer { agent_id, queue, note } => {
            let target = handover::Target::of(agent_id, queue)?;
            handover::transfer(state, &conversation, acting, target, note).await.map(drop)
        }
        Handing::Unassign => handover::unassign(state, &conversation, acting).await.map(drop),
        Handing::Close { .. } if conversation.state == ConversationState::Closed => Ok(()),
        Handing::Close { wrap_up } => {
            handover::close(state, &conversation, acting, wrap_up).await.map(drop)
        }
    }
}

/// The answer to a binary frame: the gateway reads JSON text only.
pub(super) fn binary_refused() -> ApiError {
    ApiError::new(ErrorCode::BadFrame, "binary frames are not read; send JSON text frames")
}

impl Session {
    pub(super) async fn on_socket(
        &mut self,
        who: &mut Who,
        frame: Option<Result<WsMessage, axum::Error>>,
    ) -> Result<(), End> {
        self.last_heard = Instant::now();
        match inbound(frame)? {
            Some(WsMessage::Text(text)) => self.on_text(who, text.as_str()).await,
            Some(_) => self.send_error(binary_refused(), None).await,
            None => Ok(()),
        }
    }

    pub(super) async fn on_text(&mut self, who: &mut Who, text: &str) -> Result<(), End> {
        match parse_client_frame(text) {
            Ok(ClientFrame::Send { client_message_id, text, conversation_id }) => {
                let first = Pipelined { client_message_id, text, conversation_id };
                self.pipelined(who, first).await
            }
            Ok(frame) => self.dispatch(who, frame).await,
            Err(e) => self.send_error(e, None).await,
        }
    }

    /// Handles one frame that is not a `send`: `on_text` hands every `send` to `pipelined`,
    /// which groups it with those behind it, and a group ends only at a frame of another kind.
    pub(super) async fn dispatch(&mut self, who: &mut Who, frame: ClientFrame) -> Result<(), End> {
        if matches!(frame, ClientFrame::Choose { .. } | ClientFrame::Read { .. }) {
            self.flush().await?;
        }
        match frame {
            ClientFrame::Send { .. } => {
                unreachable!("a `send` is stored with its group (`pipelined`), never alone")
            }
            ClientFrame::Choose { client_message_id, text, choice } => {
                let result = self.choose(who, &client_message_id, &text, choice).await;
                self.answer_send(client_message_id, result).await
            }
            ClientFrame::Typing { conversation_id } => {
                match self.target(who, conversation_id.as_deref()).await {
                    Ok(c) => {
                        self.state.publish(LiveEvent::typing(&c, who.participant(), &self.id));
                        Ok(())
                    }
                    Err(e) => self.send_error(e, None).await,
                }
            }
            ClientFrame::Read { seq, conversation_id } => {
                match self.mark_read(who, conversation_id.as_deref(), seq).await {
                    Ok(()) => Ok(()),
                    Err(e) => self.send_error(e, None).await,
                }
            }
            ClientFrame::Status { status } => match self.set_status(who, &status).await {
                Ok(status) => self.send_frame(&ServerFrame::Status { status }).await,
                Err(e) => self.send_error(e, None).await,
            },
            ClientFrame::Accept { conversation_id } => {
                match self.answer_offer(who, &conversation_id, true).await {
                    Ok(()) => Ok(()),
                    Err(e) => self.send_error(e, None).await,
                }
            }
            ClientFrame::Decline { conversation_id } => {
                match self.answer_offer(who, &conversation_id, false).await {
                    Ok(()) => Ok(()),
                    Err(e) => self.send_error(e, None).await,
                }
            }
            ClientFrame::Refresh { token } => match self.refresh(who, &token).await {
                Ok(token_expires_in_ms) => {
                    self.send_frame(&ServerFrame::Refreshed { token_expires_in_ms }).await
                }
                Err(e) => self.refused_refresh(e).await,
            },
            ClientFrame::Transfer { conversation_id, agent_id, queue, note } => {
                let handing = Handing::Transfer { agent_id, queue, note };
                self.hand_over(who, &conversation_id, handing).await
            }
            ClientFrame::Unassign { conversation_id } => {
                self.hand_over(who, &conversation_id, Handing::Unassign).await
            }
            ClientFrame::Close { conversation_id, wrap_up } => {
                self.hand_over(who, &conversation_id, Handing::Close { wrap_up }).await
            }
            ClientFrame::Ping { id } => self.send_frame(&ServerFrame::Pong { id }).await,
        }
    }

    /// A `send`'s or a `choose`'s answer: `ack`, or `error` naming its `clientMessageId`.
    pub(super) async fn answer_send(
        &mut self,
        client_message_id: String,
        result: Result<porch_wire::rest::SendMessageResponse, ApiError>,
    ) -> Result<(), End> {
        match result {
            Ok(r) => {
                self.send_frame(&ServerFrame::Ack {
                    client_message_id,
                    message: r.message,
                    duplicate: r.duplicate,
                })
                .await
            }
            Err(e) => self.send_error(e, Some(client_message_id)).await,
        }
    }

    /// A guest's pick of a bot's quick reply, checked against the message that offered it
    /// (as over REST), then sent like any message.
    async fn choose(
        &mut self,
        who: &Who,
        client_message_id: &str,
        text: &str,
        choice: porch_wire::bot::Choice,
    ) -> Result<porch_wire::rest::SendMessageResponse, ApiError> {
        if matches!(who, Who::Agent(_)) {
            return Err(ApiError::new(
                ErrorCode::BadFrame,
                "only guests pick quick replies (a pick answers a bot); agents send `send` frames",
            ));
        }
        let conversation = self.target(who, None).await?;
        let content = crate::bots::guest_choice(&self.state, &conversation.id, choice).await?;
        let participant = who.participant();
        let (state, origin) = (&self.state, Some(self.id.as_str()));
        conversation::send(
            state,
            &participant,
            &conversation,
            client_message_id,
            text,
            Some(content),
            origin,
        )
        .await
    }

    /// An agent's `transfer`, `unassign` or `close`; the entry and the `conversation` frame
    /// come as live events, a refusal as an `error` frame (nothing changed).
    async fn hand_over(
        &mut self,
        who: &Who,
        conversation_id: &str,
        handing: Handing,
    ) -> Result<(), End> {
        let done = match who {
            Who::Agent(agent) => hand_over(&self.state, agent, conversation_id, handing).await,
            Who::Guest { .. } => Err(ApiError::new(
                ErrorCode::BadFrame,
                "only agents transfer, unassign or close; guests do not send these frames",
            )),
        };
        match done {
            Ok(()) => Ok(()),
            Err(e) => self.send_error(e, None).await,
        }
    }

    pub(super) async fn mark_read(
        &mut self,
        who: &Who,
        conversation_id: Option<&str>,
        seq: u64,
    ) -> Result<(), ApiError> {
        let conversation = self.target(who, conversation_id).await?;
        let participant = who.participant();
        // The store caps the marker at the conversation's last seq, for guests and agents alike.
        let stored = self.state.store.mark_read(&conversation.id, &participant.id, seq).await?;
        self.state.publish(LiveEvent::read(&conversation, participant, stored, &self.id));
        Ok(())
    }

    /// An agent's own status (docs/routing.md); guests have none.
    async fn set_status(&mut self, who: &Who, asked: &str) -> Result<AgentStatus, ApiError> {
        match who {
            Who::Agent(agent) => {
                crate::routing::set_status(&self.state, &agent.agent_id, asked).await
            }
            Who::Guest { .. } => Err(ApiError::new(
                ErrorCode::BadFrame,
                "only agents have a status; guests do not send `status` frames",
            )),
        }
    }

    /// An agent's `accept` or `decline` of its offer; the answers come as live events
    /// (`offerEnded`, `conversation`) to every session of the agent.
    async fn answer_offer(
        &mut self,
        who: &Who,
        conversation_id: &str,
        accept: bool,
    ) -> Result<(), ApiError> {
        let Who::Agent(agent) = who else {
            return Err(ApiError::new(
                ErrorCode::BadFrame,
                "only agents receive offers; guests do not send `accept` or `decline` frames",
            ));
        };
        if accept {
            crate::offers::accept(&self.state, agent, conversation_id).await.map(drop)
        } else {
            crate::offers::decline(&self.state, agent, conversation_id).await
        }
    }

    /// The conversation a frame is about: the guest's own, or the one an agent names.
    pub(super) async fn target(
        &mut self,
        who: &Who,
        conversation_id: Option<&str>,
    ) -> Result<Conversation, ApiError> {
        match who {
            Who::Guest { conversation, .. } => match conversation_id {
                Some(id) if id != conversation.id => Err(ApiError::new(
                    ErrorCode::ConversationUnknown,
                    "guests can only use their own conversation; omit conversationId",
                )),
                _ => Ok(Conversation::clone(conversation)),
            },
            Who::Agent(agent) => {
                let id = conversation_id.ok_or_else(|| {
                    ApiError::new(ErrorCode::BadFrame, "agents must name the conversationId")
                })?;
                agents::visible(&self.state, agent, id).await
            }
        }
    }
}
