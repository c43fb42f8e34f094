//! Bots (docs/bots.md): what a bot sends beside text (quick replies, cards), a guest's pick of
//! a quick reply, and the bodies of the bot API.
//!
//! The format is small on purpose: plain text fields, `https://` links only, no HTML and no
//! markup, bounded counts and lengths (`porch_core::bot::validate` holds them to the limits).
//! The widget renders it with `textContent` and real `<a>`/`<button>` elements, never markup.

use serde::{Deserialize, Serialize};

/// What a message carries beside its text. Every field is optional; an empty one is absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Content {
    /// Buttons under a bot's message; a guest's pick comes back as an ordinary message whose
    /// `content.choice` names it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quick_replies: Vec<QuickReply>,
    /// Cards under a bot's message: a title, a text and links.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cards: Vec<Card>,
    /// On a guest's message: the quick reply it picks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<Choice>,
}

impl Content {
    pub fn is_empty(&self) -> bool {
        self.quick_replies.is_empty() && self.cards.is_empty() && self.choice.is_none()
    }
}

/// One quick reply: `id` is what the bot reads back, `label` what the guest reads (and sends
/// as the text of its pick).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuickReply {
    pub id: String,
    pub label: String,
}

/// A card: plain text, and links that open in a new tab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Card {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<CardLink>,
}

/// A link of a card: an `https://` URL and the words shown for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CardLink {
    pub label: String,
    pub url: String,
}

/// A guest's pick: the `seq` of the message that offered the quick reply, and its `id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Choice {
    pub seq: u64,
    pub id: String,
}

/// `POST /api/v2/bots/token` body: the bot's id and secret (`porch bots add` shows them once).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BotTokenRequest {
    pub bot_id: String,
    pub secret: String,
}

/// `POST /api/v2/bots/token` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BotSession {
    pub bot_id: String,
    pub name: String,
    pub deployment_id: String,
    /// Bot token (a JWT, audience `porch-bot`).
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub expires_at_ms: i64,
}

/// `POST /api/v2/bot/conversations/{id}/messages` body: text, and optionally quick replies
/// and cards. A retry with the same `clientMessageId` returns the original message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BotMessageRequest {
    pub client_message_id: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quick_replies: Vec<QuickReply>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cards: Vec<Card>,
}

/// `POST /api/v2/bot/conversations/{id}/handoff` body: the queue that takes the conversation
/// over (default: the deployment's queue) and a summary for its agents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HandoffRequest {
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
}

/// A bot's hand-off as agents read it: `GET /api/v2/agent/conversations/{id}/handoff`, and
/// the answer of the hand-off itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Handoff {
    pub conversation_id: String,
    pub bot_id: String,
    pub queue: String,
    pub summary: String,
    pub at_ms: i64,
}

/// `GET /api/v2/agent/conversations/{id}/handoff` answer: the bot's hand-off, null if none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentHandoff {
    pub handoff: Option<Handoff>,
}
