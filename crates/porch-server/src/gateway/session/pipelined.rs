//! `send` frames a client sent back to back (an agent answering many conversations over one
//! socket, a bot-like client, a guest catching up): read together, stored in one commit,
//! answered in the order they came (`conversation::send_prepared`).
//!
//! A group is the `send` frames already readable after the first, at most
//! `PIPELINED_SENDS_MAX`; it ends at the first frame of any other kind, which is handled only
//! once every send before it is answered, so answers keep the order of the frames. Only plain
//! `send`s join: a `choose` reads the bot's offer it answers, and the other frames are not
//! stored as entries or are rare, so grouping them would add rules for no commit saved.

use std::time::Instant;

use axum::extract::ws::Message as WsMessage;
use futures_util::FutureExt;
use porch_core::limits::PIPELINED_SENDS_MAX;
use porch_wire::frame::ClientFrame;

use super::super::frames::{End, inbound, parse_client_frame};
use super::{Session, Who};
use crate::conversation;
use crate::error::ApiError;

/// One `send` frame of a group.
pub(super) struct Pipelined {
    pub client_message_id: String,
    pub text: String,
    pub conversation_id: Option<String>,
}

/// What ended a group before its bound: the next frame, a refusal of it (not JSON, binary),
/// or the connection's end. Each is dealt with after the group's answers.
enum After {
    Frame(ClientFrame),
    Refused(ApiError),
    End(End),
}

impl Session {
    /// Reads the `send`s ready behind `first`, stores them together, answers each in order,
    /// then handles what ended the group.
    pub(super) async fn pipelined(&mut self, who: &mut Who, first: Pipelined) -> Result<(), End> {
        // What is buffered must not wait for the commit.
        self.flush().await?;
        let mut sends = vec![first];
        let after = self.read_sends(&mut sends);
        let sender = who.participant();
        let mut prepared = Vec::with_capacity(sends.len());
        // In frame order, one after the other: an agent's claim of a waiting conversation
        // commits before the next send to it reads it.
        for send in &sends {
            prepared.push(match self.target(who, send.conversation_id.as_deref()).await {
                Ok(c) => {
                    let (id, text) = (&send.client_message_id, &send.text);
                    conversation::prepare_send(&self.state, &sender, &c, id, text).await
                }
                Err(e) => Err(e),
            });
        }
        let origin = Some(self.id.as_str());
        let answers = conversation::send_prepared(&self.state, &sender, prepared, origin).await;
        for (send, answer) in sends.into_iter().zip(answers) {
            self.answer_send(send.client_message_id, answer).await?;
        }
        match after {
            None => Ok(()),
            Some(After::Frame(frame)) => self.dispatch(who, frame).await,
            Some(After::Refused(e)) => self.send_error(e, None).await,
            Some(After::End(end)) => Err(end),
        }
    }

    /// Adds to `sends` the `send` frames already readable, up to the bound; returns what
    /// stopped it before the bound, if anything.
    fn read_sends(&mut self, sends: &mut Vec<Pipelined>) -> Option<After> {
        while sends.len() < PIPELINED_SENDS_MAX {
            // Cancel-safe: a read that is not ready loses nothing.
            let read = self.socket.recv().now_or_never()?;
            self.last_heard = Instant::now();
            let text = match inbound(read) {
                Ok(Some(WsMessage::Text(text))) => text,
                Ok(Some(_)) => return Some(After::Refused(super::inbound::binary_refused())),
                Ok(None) => continue,
                Err(end) => return Some(After::End(end)),
            };
            match parse_client_frame(text.as_str()) {
                Ok(ClientFrame::Send { client_message_id, text, conversation_id }) => {
                    sends.push(Pipelined { client_message_id, text, conversation_id })
                }
                Ok(frame) => return Some(After::Frame(frame)),
                Err(e) => return Some(After::Refused(e)),
            }
        }
        None
    }
}
