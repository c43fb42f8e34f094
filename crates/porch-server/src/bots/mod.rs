//! Bots as participants (docs/bots.md): a bot of a deployment owns the conversations of the
//! queues that start with it (`porch queues set Q --bot ID`) until it hands them off.
//!
//! Ownership is where the conversation sits: a bot's conversations wait in its holding queue
//! (`porch_core::bot::holding_queue`), which no agent serves, so no offer goes out and no agent
//! lists or takes them; a hand-off moves the conversation to a real queue in the commit of its
//! log entry. `api` is the bot API, `admin` what the CLI does, `disabled` each node's hand-off
//! of the conversations a disabled bot still holds.

pub mod admin;
pub mod api;
pub mod disabled;

use porch_core::store::PageRequest;
use porch_wire::ErrorCode;
use porch_wire::bot::{Choice, Content};
use porch_wire::rest::{Participant, Role};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The queue a new conversation of `queue` starts in: its bot's holding queue when the queue
/// starts with a bot that is there and enabled, else the queue itself, so its agents answer
/// while an operator has the bot disabled (or removed it) rather than nobody.
pub async fn starting_queue(state: &AppState, queue: &str) -> ApiResult<String> {
    let settings = state.store.queue_settings(vec![queue.to_owned()]).await?;
    let Some(bot_id) = settings.into_iter().next().and_then(|s| s.bot_id) else {
        return Ok(queue.to_owned());
    };
    let enabled = state.store.bot(&bot_id).await?.is_some_and(|b| b.enabled);
    Ok(if enabled { porch_core::bot::holding_queue(&bot_id) } else { queue.to_owned() })
}

/// The refusal of a disabled bot's sign-in and tokens.
pub fn disabled(bot_id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::BotDisabled,
        format!(
            "the operator disabled bot {}; nothing was done: ask them to run `porch bots enable {}`",
            crate::error::shown(bot_id),
            crate::error::shown(bot_id)
        ),
    )
}

/// How a bot appears in the log: its name is what guests read.
pub fn participant(bot: &porch_core::model::BotRecord) -> Participant {
    Participant { role: Role::Bot, id: bot.id.clone(), display_name: Some(bot.name.clone()) }
}

/// A guest's pick of a quick reply, checked against the bot message it names: the content the
/// guest's message carries.
pub async fn guest_choice(
    state: &AppState,
    conversation_id: &str,
    choice: Choice,
) -> ApiResult<Content> {
    let page = PageRequest { after_seq: choice.seq.checked_sub(1), before_seq: None, limit: 1 };
    let offered = match choice.seq {
        0 => None,
        _ => state.store.messages(conversation_id, page).await?.messages.into_iter().next(),
    };
    let offered = offered.filter(|m| m.seq == choice.seq && m.sender.role == Role::Bot);
    porch_core::bot::validate_choice(&choice, offered.as_ref().and_then(|m| m.content.as_ref()))
        .map_err(|why| ApiError::new(ErrorCode::ContentInvalid, why))?;
    Ok(Content { choice: Some(choice), ..Content::default() })
}
