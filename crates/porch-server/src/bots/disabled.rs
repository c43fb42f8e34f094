//! Conversations a disabled bot still holds (docs/bots.md, "Set-up"): `porch bots disable` only
//! marks the bot in the store (and `porch bots remove` disables it, then waits for this), so every node looks every `BOT_DISABLED_SCAN_INTERVAL_MS` for
//! open conversations in a disabled bot's holding queue and hands each to its deployment's
//! queue, as the bot's own hand-off would, with a summary saying why. The entry commits only if
//! the conversation's `last_seq` is still the one read (`AppendRequest::expect_last_seq`), so of
//! two nodes handing it off at once, the second finds it changed and writes nothing: once.

use porch_core::limits::{BOT_DISABLED_BATCH_MAX, BOT_DISABLED_SCAN_INTERVAL_MS};
use porch_core::model::BotRecord;
use porch_core::store::{AppendRequest, ConversationFilter, StoreError};
use porch_core::webhook::EventType;
use porch_wire::bot::Handoff;
use porch_wire::rest::{Conversation, ConversationState};

use crate::state::AppState;

/// The loop: a pass every `BOT_DISABLED_SCAN_INTERVAL_MS` until the node shuts down.
pub async fn run(state: AppState) {
    let handed = "bots: handed a disabled bot's conversations off";
    crate::periodic::every(state, BOT_DISABLED_SCAN_INTERVAL_MS, handed, |s| async move {
        pass(&s).await
    })
    .await;
}

/// One pass over the disabled bots: how many conversations this node handed off.
pub async fn pass(state: &AppState) -> Result<usize, StoreError> {
    // Stored but not fanned out to other nodes' guests and agents: leave it to a node that can.
    if crate::conversation::check_broker(state).is_err() {
        return Ok(0);
    }
    let mut handed = 0;
    for bot in state.store.bots().await?.into_iter().filter(|b| !b.enabled) {
        for conversation in state.store.conversations(held(&bot.id)).await? {
            handed += usize::from(hand_off(state, &bot, &conversation).await?);
        }
    }
    Ok(handed)
}

/// The open conversations `bot_id` holds, at most a pass's batch.
pub fn held(bot_id: &str) -> ConversationFilter {
    ConversationFilter {
        queues: vec![porch_core::bot::holding_queue(bot_id)],
        states: vec![ConversationState::Waiting, ConversationState::Assigned],
        limit: BOT_DISABLED_BATCH_MAX,
    }
}

/// What agents read beside the conversation: the bot left no summary of its own.
fn summary(bot: &BotRecord) -> String {
    format!(
        "{} was disabled by an operator (`porch bots disable`, or `porch bots remove`, which disables it first) while it held this conversation, so it left no summary: read the conversation above",
        bot.name
    )
}

/// The hand-off of one conversation, as the bot's own without a `queue`: the summary first,
/// then one entry moving it to the deployment's queue. False when another node (or a guest's
/// message) changed the conversation since it was read: the next pass decides again.
async fn hand_off(
    state: &AppState,
    bot: &BotRecord,
    conversation: &Conversation,
) -> Result<bool, StoreError> {
    let deployment = state.store.deployment(&conversation.deployment_id).await?;
    let Some(queue) = deployment.map(|d| d.queue).filter(|q| !q.is_empty()) else {
        return Ok(false);
    };
    let now_ms = porch_core::time::now_ms();
    let handoff = Handoff {
        conversation_id: conversation.id.clone(),
        bot_id: bot.id.clone(),
        queue: queue.clone(),
        summary: summary(bot),
        at_ms: now_ms,
    };
    state.store.set_handoff(handoff).await?;
    let text = format!("{} passed the conversation to a person, who will answer here", bot.name);
    let mut request = AppendRequest::system(&conversation.id, text, now_ms);
    request.queue = Some(queue);
    request.webhook_event = Some(EventType::ConversationTransferred);
    crate::periodic::write_once(state, conversation, request).await
}
