//! Bots (docs/bots.md): their records, a queue's bot, entries with content and a queue move,
//! and hand-off summaries.

use porch_core::ids::{new_id, prefix};
use porch_core::model::{BotRecord, QueueSettings};
use porch_core::store::{PageRequest, Store, StoreError};
use porch_wire::bot::{Choice, Content, Handoff, QuickReply};
use porch_wire::rest::{Participant, Role};

use super::*;

/// Bots come back as stored and go when removed; a queue keeps its bot.
pub async fn suite_bot_records(store: &dyn Store) {
    let (_, deployment) = seed(store, "bots-records").await;
    let bot = BotRecord {
        id: new_id(prefix::BOT),
        deployment_id: deployment.id.clone(),
        name: "Helper".to_owned(),
        secret_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$Ym90".to_owned(),
        created_at_ms: T0_MS + 3,
        enabled: true,
    };
    store.create_bot(bot.clone()).await.unwrap();
    assert_eq!(store.bot(&bot.id).await.unwrap(), Some(bot.clone()));
    assert!(store.bots().await.unwrap().contains(&bot));
    // Disabled and enabled again, as an operator does; an unknown id changes nothing.
    assert!(store.set_bot_enabled(&bot.id, false).await.unwrap());
    let disabled = BotRecord { enabled: false, ..bot.clone() };
    assert_eq!(store.bot(&bot.id).await.unwrap(), Some(disabled.clone()));
    assert!(store.bots().await.unwrap().contains(&disabled));
    assert!(store.set_bot_enabled(&bot.id, true).await.unwrap());
    assert_eq!(store.bot(&bot.id).await.unwrap(), Some(bot.clone()));
    assert!(!store.set_bot_enabled("bot_nobody", false).await.unwrap());
    let queue = format!("bq-{}", new_id(prefix::AGENT));
    let settings = QueueSettings { bot_id: Some(bot.id.clone()), ..QueueSettings::unset(&queue) };
    store.set_queue(settings.clone()).await.unwrap();
    assert_eq!(store.queue_settings(vec![queue]).await.unwrap(), vec![settings]);
    assert!(store.delete_bot(&bot.id).await.unwrap());
    assert!(!store.delete_bot(&bot.id).await.unwrap());
    assert_eq!(store.bot(&bot.id).await.unwrap(), None);
}

/// A bot's entry keeps its role and content; a retry with other content is a conflict; an
/// entry can move its conversation to another queue; a hand-off summary is kept per
/// conversation, the latest one winning.
pub async fn suite_bot_entries(store: &dyn Store) {
    let conversation = new_conversation(store, "bot:bot_suite").await;
    let bot =
        Participant { role: Role::Bot, id: "bot_suite".into(), display_name: Some("H".into()) };
    let offered = Content {
        quick_replies: vec![QuickReply { id: "a".into(), label: "A".into() }],
        ..Content::default()
    };
    let mut ask = says(&conversation, &bot, "b1", "Pick one");
    ask.content = Some(offered.clone());
    let (message, _) = created(store.append(ask.clone()).await.unwrap());
    assert_eq!((message.sender.role, message.content.clone()), (Role::Bot, Some(offered)));
    let page = PageRequest { after_seq: Some(0), before_seq: None, limit: 10 };
    let read = store.messages(&conversation.id, page).await.unwrap().messages;
    assert_eq!(read, vec![message]);
    ask.content = None;
    assert!(matches!(store.append(ask).await, Err(StoreError::IdempotencyConflict)));

    let mut pick = says(&conversation, &guest_of(&conversation), "g1", "A");
    pick.content =
        Some(Content { choice: Some(Choice { seq: 1, id: "a".into() }), ..Content::default() });
    pick.queue = Some("people".into());
    let (_, moved) = created(store.append(pick).await.unwrap());
    assert_eq!(moved.queue, "people");
    assert_eq!(store.conversation(&conversation.id).await.unwrap().unwrap().queue, "people");

    assert_eq!(store.handoff(&conversation.id).await.unwrap(), None);
    let mut handoff = Handoff {
        conversation_id: conversation.id.clone(),
        bot_id: "bot_suite".into(),
        queue: "people".into(),
        summary: "first".into(),
        at_ms: T0_MS,
    };
    store.set_handoff(handoff.clone()).await.unwrap();
    handoff.summary = "second".into();
    store.set_handoff(handoff.clone()).await.unwrap();
    assert_eq!(store.handoff(&conversation.id).await.unwrap(), Some(handoff));
}
