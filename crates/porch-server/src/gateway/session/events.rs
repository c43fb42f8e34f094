//! What a session does with live events: deliver them in `seq` order (filling gaps from the
//! store), pass notices and receipts on, and recover from the store when the hub lagged or the
//! node resynced.

use std::sync::Arc;

use porch_core::store::PageRequest;
use porch_wire::ErrorCode;
use porch_wire::frame::ServerFrame;
use porch_wire::rest::{ConversationState, Message, Notice};
use tokio::sync::broadcast::error::RecvError;

use super::super::cursor::{Plan, plan};
use super::super::frames::End;
use super::{GUEST_DEPLOYMENT_RECEIVER, Session, Who, notice_id};
use crate::error::ApiError;
use crate::hub::HubEvent;

impl Session {
    pub(super) async fn on_event(
        &mut self,
        who: &Who,
        event: Result<Arc<HubEvent>, RecvError>,
        index: usize,
    ) -> Result<(), End> {
        let event = match event {
            Ok(event) => event,
            Err(RecvError::Lagged(missed)) => return self.on_lag(who, missed, index).await,
            Err(RecvError::Closed) => {
                return Err(End::with(ApiError::new(
                    ErrorCode::ServerShutdown,
                    "the hub closed; reconnect and resume",
                )));
            }
        };
        match &event.event.frame {
            ServerFrame::Message { message } => self.deliver(&event, message).await,
            ServerFrame::Conversation { conversation } => {
                self.cursors.get_or_start(&conversation.id, conversation.last_seq);
                if self.guest {
                    self.queued = conversation.state == ConversationState::Waiting;
                    if conversation.last_message.is_some() {
                        // The shared JSON carries the preview of agents' lists: agents only.
                        let agent = conversation.agent.clone();
                        let conversation = conversation.clone().for_guest(agent);
                        return self.send_frame(&ServerFrame::Conversation { conversation }).await;
                    }
                }
                self.send_text(event.json()).await
            }
            // Once an agent holds the conversation, no more positions.
            ServerFrame::Queue { .. } if !self.queued => Ok(()),
            ServerFrame::Notice { notice } => {
                // A heartbeat that read the store between the change's commit and this event
                // has sent it already.
                let id = notice_id(notice.as_ref());
                if id == self.notice_id {
                    return Ok(());
                }
                self.notice_id = id;
                // Serialized once for every guest of the deployment on this node.
                self.send_text(event.json()).await
            }
            // Typing and read receipts; not echoed to the session that sent them.
            _ if event.is_from(&self.id) => Ok(()),
            _ => self.send_text(event.json()).await,
        }
    }

    /// Sends a live log entry in order, filling any gap before it from the store.
    pub(super) async fn deliver(&mut self, event: &HubEvent, message: &Message) -> Result<(), End> {
        let conversation_id = &message.conversation_id;
        // An agent hearing of a conversation for the first time starts at this entry.
        let last = self.cursors.get_or_start(conversation_id, message.seq - 1);
        match plan(last, message.seq) {
            Plan::Skip => Ok(()),
            Plan::Deliver => {
                self.cursors.set(conversation_id, message.seq);
                if let (true, Some(event)) = (self.guest, message.event) {
                    self.queued = event == ConversationState::Waiting;
                }
                if self.guest && message.is_internal() {
                    // The shared JSON carries a note or a wrap-up code: agents only.
                    let message = message.clone().for_guest();
                    return self.send_frame(&ServerFrame::Message { message }).await;
                }
                self.send_text(event.json()).await
            }
            Plan::Fill { after_seq, count } => self.fill(conversation_id, after_seq, count).await,
        }
    }

    /// Sends entries `after_seq+1 ..= after_seq+count` from the store, a page of at most
    /// `history_page_max` at a time, so a session holds at most one page in memory.
    pub(super) async fn fill(
        &mut self,
        conversation_id: &str,
        after_seq: u64,
        count: u64,
    ) -> Result<(), End> {
        let max = self.state.config.limits.resume_messages_max;
        if count > max {
            return Err(End::with(ApiError::new(
                ErrorCode::SlowConsumer,
                format!("{count} entries behind; reconnect with afterSeq"),
            )));
        }
        let last = after_seq + count;
        let page_max = u64::from(self.state.config.limits.history_page_max);
        let mut next = after_seq;
        while next < last {
            let limit = (last - next).min(page_max) as u32;
            let page = PageRequest { after_seq: Some(next), before_seq: None, limit };
            let messages = self
                .state
                .store
                .messages(conversation_id, page)
                .await
                .map_err(|e| End::with(e.into()))?
                .messages;
            if messages.is_empty() {
                break; // Nothing more committed: cannot happen below a committed seq; stop rather than spin.
            }
            for message in messages {
                debug_assert_eq!(message.seq, next + 1, "the store's log is gap-free");
                next = message.seq;
                let message = if self.guest { message.for_guest() } else { message };
                self.send_frame(&ServerFrame::Message { message }).await?;
                self.cursors.set(conversation_id, next);
            }
        }
        Ok(())
    }

    /// This node may have missed events from other nodes (`Hub::resync_all`). Guests catch up
    /// from the store: their conversation and their deployment's notice; agents reconnect and
    /// resync from `ready`.
    pub(super) async fn resync(&mut self, who: &Who) -> Result<(), End> {
        match who {
            Who::Guest { .. } => {
                self.catch_up(who).await?;
                self.resend_notice(who).await
            }
            Who::Agent(_) => Err(End::with(ApiError::new(
                ErrorCode::NodeResync,
                "this node missed live events; reconnect to resync",
            ))),
        }
    }

    /// The hub dropped events for this session. Guests catch up from the store; agents,
    /// who may follow hundreds of conversations, reconnect and resync.
    pub(super) async fn on_lag(&mut self, who: &Who, missed: u64, index: usize) -> Result<(), End> {
        if let Who::Agent(_) = who {
            return Err(End::with(ApiError::new(
                ErrorCode::SlowConsumer,
                format!("{missed} events missed; reconnect and resync"),
            )));
        }
        if index == GUEST_DEPLOYMENT_RECEIVER {
            return self.resend_notice(who).await;
        }
        self.catch_up(who).await
    }

    /// Sends the deployment's current notice from the store, unless the client has it: each
    /// notice replaces the last, so the current one is all a guest that missed some needs.
    pub(super) async fn resend_notice(&mut self, who: &Who) -> Result<(), End> {
        let Who::Guest { conversation, .. } = who else { return Ok(()) };
        let notice = match self.state.store.deployment(&conversation.deployment_id).await {
            Ok(Some(deployment)) => deployment.notice,
            Ok(None) => return Err(End::silent()),
            Err(e) => return Err(End::with(e.into())),
        };
        self.send_notice_if_new(notice).await
    }

    /// The session handles one event at a time, so the id it holds is the last notice the
    /// client got, live or from the store; comparing with it sends each notice once.
    pub(super) async fn send_notice_if_new(&mut self, notice: Option<Notice>) -> Result<(), End> {
        let id = notice_id(notice.as_ref());
        if id == self.notice_id {
            return Ok(());
        }
        self.notice_id = id;
        self.send_frame(&ServerFrame::Notice { notice }).await
    }

    /// Delivers, from the store, whatever of the guest's conversation this session has not.
    pub(super) async fn catch_up(&mut self, who: &Who) -> Result<(), End> {
        let Who::Guest { conversation, .. } = who else { return Ok(()) };
        let head = match self.state.store.conversation(&conversation.id).await {
            Ok(Some(c)) => c.last_seq,
            Ok(None) => return Err(End::silent()),
            Err(e) => return Err(End::with(e.into())),
        };
        self.catch_up_to(who, head).await
    }

    /// Delivers, from the store, the guest's entries this session lacks up to `head`.
    pub(super) async fn catch_up_to(&mut self, who: &Who, head: u64) -> Result<(), End> {
        let Who::Guest { conversation, .. } = who else { return Ok(()) };
        let last = self.cursors.get(&conversation.id).unwrap_or(0);
        if head > last {
            self.fill(&conversation.id, last, head - last).await?;
        }
        Ok(())
    }
}
