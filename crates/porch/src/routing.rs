//! `porch agents set` and `porch queues`: routing's settings (docs/routing.md), on the same
//! store as `serve`. Running servers read them at the next assignment or offer.

use anyhow::Result;
use clap::Subcommand;
use porch_core::model::{AgentRouting, Fallback, FallbackAction, QueueSettings};
use porch_server::admin;
use serde_json::json;

use crate::settings::{StoreArgs, open_store};

/// `porch agents set`'s arguments.
#[derive(clap::Args)]
pub struct AgentSetArgs {
    /// The agent's login name.
    name: String,
    /// Conversations the agent holds at once, 1 to 10000 (AGENT_CAPACITY_MAX).
    #[arg(long, allow_negative_numbers = true, conflicts_with = "clear_capacity")]
    capacity: Option<i64>,
    /// Forget the agent's own capacity: its queues' default applies.
    #[arg(long)]
    clear_capacity: bool,
    /// The queues the agent serves, replacing its list (repeatable).
    #[arg(long = "queue")]
    queues: Vec<String>,
    /// Make the agent a supervisor (true: sees every queue and live conversation, and may
    /// transfer or close any) or a plain agent again (false).
    #[arg(long)]
    supervisor: Option<bool>,
    /// The name guests read in the widget's header once the agent holds their conversation
    /// (default: the login name), 1 to 80 characters (AGENT_DISPLAY_NAME_CHARS_MAX).
    #[arg(long, conflicts_with = "clear_display_name")]
    display_name: Option<String>,
    /// Forget the display name: guests read the login name.
    #[arg(long)]
    clear_display_name: bool,
    /// The agent's picture in the widget's header: an https:// URL of at most 2048 characters
    /// (AGENT_AVATAR_URL_CHARS_MAX), loaded by guests' browsers without a referrer.
    #[arg(long, conflicts_with = "clear_avatar_url")]
    avatar_url: Option<String>,
    /// Remove the agent's picture.
    #[arg(long)]
    clear_avatar_url: bool,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Subcommand)]
pub enum QueuesCommand {
    /// Change a queue's routing settings; prints them as stored (with no flag: as they are).
    Set {
        name: String,
        /// Capacity of the queue's agents that have none of their own, 1 to 10000.
        #[arg(long, allow_negative_numbers = true, conflicts_with = "clear_capacity_default")]
        capacity_default: Option<i64>,
        /// Forget the queue's default: the `agent_capacity_default` limit applies.
        #[arg(long)]
        clear_capacity_default: bool,
        /// Assign waiting conversations to the chosen agent at once, without an offer.
        #[arg(long)]
        auto_accept: Option<bool>,
        /// Let agents take waiting conversations by hand.
        #[arg(long)]
        manual_take: Option<bool>,
        /// Start new conversations with this bot (bot_…) until it hands off (docs/bots.md).
        #[arg(long, conflicts_with = "no_bot")]
        bot: Option<String>,
        /// Send new conversations to the queue's agents again, not to a bot.
        #[arg(long)]
        no_bot: bool,
        #[command(flatten)]
        fallback: FallbackArgs,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// A queue's unanswered fallback (docs/routing.md): after a wait, exactly one action.
#[derive(clap::Args)]
pub struct FallbackArgs {
    /// Seconds a conversation waits in the queue with no agent before its fallback, 1 to 604800.
    #[arg(long, conflicts_with = "clear_fallback")]
    fallback_after_secs: Option<u32>,
    /// Fallback: tell the guest this text; the conversation keeps waiting.
    #[arg(long, group = "fallback_action")]
    fallback_message: Option<String>,
    /// Fallback: move the conversation to this queue.
    #[arg(long, group = "fallback_action")]
    fallback_queue: Option<String>,
    /// Fallback: close the conversation with this text.
    #[arg(long, group = "fallback_action")]
    fallback_close: Option<String>,
    /// Remove the queue's fallback.
    #[arg(long, conflicts_with = "fallback_action")]
    clear_fallback: bool,
}

impl FallbackArgs {
    /// `Some(Some(_))` to set, `Some(None)` to clear, `None` to leave as it is; a wait without
    /// an action (or an action without a wait) is refused with the fix.
    fn change(self) -> Result<Option<Option<Fallback>>> {
        if self.clear_fallback {
            return Ok(Some(None));
        }
        let action = match (self.fallback_message, self.fallback_queue, self.fallback_close) {
            (Some(text), _, _) => Some(FallbackAction::Message(text)),
            (_, Some(queue), _) => Some(FallbackAction::Queue(queue)),
            (_, _, Some(text)) => Some(FallbackAction::Close(text)),
            _ => None,
        };
        match (self.fallback_after_secs, action) {
            (None, None) => Ok(None),
            (Some(after_secs), Some(action)) => Ok(Some(Some(Fallback { after_secs, action }))),
            _ => anyhow::bail!(
                "a fallback needs both a wait and an action: --fallback-after-secs N with one of --fallback-message TEXT, --fallback-queue QUEUE, --fallback-close TEXT"
            ),
        }
    }
}

/// `Some(Some(text))` to set, `Some(None)` to clear, `None` to leave as it is.
fn text_change(value: Option<String>, clear: bool) -> Option<Option<String>> {
    if clear { Some(None) } else { value.map(Some) }
}

/// `Some(Some(n))` to set, `Some(None)` to clear, `None` to leave as it is.
fn change(value: Option<i64>, clear: bool) -> Option<Option<i64>> {
    if clear { Some(None) } else { value.map(Some) }
}

pub async fn set_agent(args: AgentSetArgs) -> Result<()> {
    let store = open_store(&args.store).await?;
    let changes = admin::AgentRoutingChanges {
        capacity: change(args.capacity, args.clear_capacity),
        queues: (!args.queues.is_empty()).then_some(args.queues),
    };
    let agent = admin::set_agent_routing(store.as_ref(), &args.name, changes)
        .await
        .map_err(anyhow::Error::msg)?;
    let supervisor = admin::set_agent_supervisor(store.as_ref(), &args.name, args.supervisor)
        .await
        .map_err(anyhow::Error::msg)?;
    let profile = admin::AgentProfileChanges {
        display_name: text_change(args.display_name, args.clear_display_name),
        avatar_url: text_change(args.avatar_url, args.clear_avatar_url),
    };
    let profile = admin::set_agent_profile(store.as_ref(), &args.name, profile)
        .await
        .map_err(anyhow::Error::msg)?;
    let human = format!(
        "{}  supervisor: {supervisor}  {}",
        agent_line(&args.name, &agent),
        crate::admin::profile_text(&profile)
    );
    let mut json = agent_json(&args.name, &agent);
    json["supervisor"] = supervisor.into();
    json["displayName"] = profile.display_name.into();
    json["avatarUrl"] = profile.avatar_url.into();
    print(args.json, json, human);
    Ok(())
}

pub async fn queues(command: QueuesCommand) -> Result<()> {
    let QueuesCommand::Set {
        name,
        capacity_default,
        clear_capacity_default,
        auto_accept,
        manual_take,
        bot,
        no_bot,
        fallback,
        json,
        store,
    } = command;
    let fallback = fallback.change()?;
    let store = open_store(&store).await?;
    let changes = admin::QueueChanges {
        capacity_default: change(capacity_default, clear_capacity_default),
        auto_accept,
        manual_take,
        bot: if no_bot { Some(None) } else { bot.map(Some) },
        fallback,
    };
    let queue =
        admin::set_queue(store.as_ref(), &name, changes).await.map_err(anyhow::Error::msg)?;
    print(json, queue_json(&queue), queue_line(&queue));
    Ok(())
}

fn print(as_json: bool, value: serde_json::Value, human: String) {
    if as_json {
        println!("{value}");
    } else {
        println!("{human}");
    }
}

fn agent_json(name: &str, a: &AgentRouting) -> serde_json::Value {
    json!({
        "id": a.agent_id, "name": name, "queues": a.queues, "status": a.status.as_str(),
        "capacity": a.capacity, "load": a.load,
    })
}

fn agent_line(name: &str, a: &AgentRouting) -> String {
    let capacity = a.capacity.map_or_else(|| "its queues' default".to_owned(), |c| c.to_string());
    format!(
        "agent {} ({name})  queues: {}  capacity: {capacity}  holds: {}  status: {}",
        a.agent_id,
        a.queues.join(" "),
        a.load,
        a.status.as_str()
    )
}

fn queue_json(q: &QueueSettings) -> serde_json::Value {
    json!({
        "name": q.name, "capacityDefault": q.capacity_default, "autoAccept": q.auto_accept,
        "manualTake": q.manual_take, "bot": q.bot_id,
        "fallback": q.fallback.as_ref().map(|f| {
            let (action, text) = f.action.parts();
            json!({ "afterSecs": f.after_secs, "action": action, "text": text })
        }),
    })
}

fn queue_line(q: &QueueSettings) -> String {
    let default =
        q.capacity_default.map_or_else(|| "agent_capacity_default".to_owned(), |c| c.to_string());
    let bot = q.bot_id.as_deref().unwrap_or("none");
    let fallback = q.fallback.as_ref().map_or_else(
        || "none".to_owned(),
        |f| {
            let (action, text) = f.action.parts();
            format!("{action} `{text}` after {} s", f.after_secs)
        },
    );
    format!(
        "queue {}  capacity default: {default}  auto-accept: {}  manual take: {}  bot: {bot}  fallback: {fallback}",
        q.name, q.auto_accept, q.manual_take
    )
}
