//! What lists and headers show of a conversation (issue 19): the preview of its latest entry
//! in agents' lists (`LastMessage`, docs/api.md "Last message") and the agent who holds a
//! guest's conversation (`AgentCard`, docs/protocol.md "conversation"). Re-exported from
//! `rest`, where `Conversation` carries them.

use serde::{Deserialize, Serialize};

use crate::rest::Role;

/// The latest entry of a conversation, as an agent's list shows it: its `seq` and time are the
/// conversation's `lastSeq` and `updatedAtMs` (an entry is dated when the row moved), and
/// what it says is its `Preview`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastMessage {
    pub seq: u64,
    pub created_at_ms: i64,
    #[serde(flatten)]
    pub preview: Preview,
}

/// What a list shows of an entry: who wrote it, what kind it is, and its text on one line, cut
/// to `LAST_MESSAGE_PREVIEW_CHARS_MAX` characters (`porch_core::preview`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    pub sender_role: Role,
    /// The sender's id (a list says "You" for the agent's own), as in the entry's `sender`.
    pub sender_id: String,
    pub kind: PreviewKind,
    /// The entry's text on one line (line breaks and other control characters as spaces,
    /// bidirectional overrides removed), at most `LAST_MESSAGE_PREVIEW_CHARS_MAX` characters;
    /// empty for an attachment (its file name is not shown).
    pub text: String,
    /// True when `text` was cut: a list adds an ellipsis. Absent (false) otherwise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// What kind of entry a `Preview` is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PreviewKind {
    /// A message of the guest, an agent or a bot.
    Text,
    /// A file (docs/attachments.md); its name is not in the preview.
    Attachment,
    /// Porch's own entry: a state change ("… joined the conversation"), a fallback's message.
    System,
}

/// The agent who holds a guest's conversation, as the guest sees it (`porch agents set
/// --display-name --avatar-url`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentCard {
    /// The agent's display name, else its login name.
    pub name: String,
    /// An `https:` URL of the agent's picture; absent when none is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
}
