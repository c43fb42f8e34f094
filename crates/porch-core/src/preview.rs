//! The preview of a conversation's latest entry, as agents' lists show it (`lastMessage`,
//! docs/api.md). One rule for every entry and both stores: `decide_append` and PostgreSQL's
//! one-statement append both call `of`, and the store keeps its answer on the conversation's
//! row, written by the append's own commit, so a list reads it with the row.

use porch_wire::rest::{LastMessage, Message, Participant, Preview, PreviewKind, Role};

use crate::limits::LAST_MESSAGE_PREVIEW_CHARS_MAX;

/// A conversation's `lastMessage` after `message`.
pub fn last_message(message: &Message) -> LastMessage {
    let preview = of(&message.sender, &message.text, message.attachment.is_some());
    LastMessage { seq: message.seq, created_at_ms: message.created_at_ms, preview }
}

/// The preview of an entry from `sender` saying `text`; `attachment` when it carries a file.
/// Only the entry's `text` is read: an internal note or a wrap-up code (agents only) is never
/// in it, nor a file's name (its `text`), which is the uploader's to choose.
pub fn of(sender: &Participant, text: &str, attachment: bool) -> Preview {
    let role = sender.role;
    let kind = match (role, attachment) {
        (_, true) => PreviewKind::Attachment,
        (Role::System, false) => PreviewKind::System,
        _ => PreviewKind::Text,
    };
    let (text, truncated) = match kind {
        PreviewKind::Attachment => (String::new(), false),
        _ => one_line(text, LAST_MESSAGE_PREVIEW_CHARS_MAX),
    };
    Preview { sender_role: role, sender_id: sender.id.clone(), kind, text, truncated }
}

/// `text` on one line, cut to `max_chars` characters (Unicode scalar values, so never inside
/// one): runs of whitespace and control characters become one space, and bidirectional
/// controls go (a guest's override would turn the rest of the agent's list row around).
/// Returns whether anything was cut.
fn one_line(text: &str, max_chars: usize) -> (String, bool) {
    let mut out = String::new();
    let (mut count, mut space) = (0, false);
    for c in text.chars().filter(|c| !is_bidi_control(*c)) {
        if c.is_whitespace() || c.is_control() {
            space = count > 0;
            continue;
        }
        let needed = if space { 2 } else { 1 };
        if count + needed > max_chars {
            return (out, true);
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
        count += needed;
    }
    (out, false)
}

/// Unicode's explicit directional marks, embeddings, overrides and isolates.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(role: Role) -> Participant {
        Participant { role, id: "p_1".into(), display_name: None }
    }

    #[test]
    fn text_is_one_line() {
        let p = of(&from(Role::Guest), "  hello\n\n\tworld \u{7}! ", false);
        assert_eq!(
            (p.text.as_str(), p.truncated, p.kind),
            ("hello world !", false, PreviewKind::Text)
        );
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let text = "é".repeat(LAST_MESSAGE_PREVIEW_CHARS_MAX + 1);
        let p = of(&from(Role::Agent), &text, false);
        assert_eq!(p.text.chars().count(), LAST_MESSAGE_PREVIEW_CHARS_MAX);
        assert!(p.truncated);
        let exact = "a".repeat(LAST_MESSAGE_PREVIEW_CHARS_MAX);
        assert!(!of(&from(Role::Agent), &exact, false).truncated);
        // A space at the cut is not kept.
        let spaced = format!("{} b", "a".repeat(LAST_MESSAGE_PREVIEW_CHARS_MAX - 1));
        let p = of(&from(Role::Agent), &spaced, false);
        assert_eq!((p.text.len(), p.truncated), (LAST_MESSAGE_PREVIEW_CHARS_MAX - 1, true));
    }

    #[test]
    fn bidi_controls_go() {
        let p = of(&from(Role::Guest), "a\u{202E}gnp.exe\u{2066}b", false);
        assert_eq!(p.text, "agnp.exeb");
    }

    #[test]
    fn a_file_and_a_system_entry_say_what_they_are() {
        let file = of(&from(Role::Guest), "\u{202E}fdp.exe", true);
        assert_eq!((file.kind, file.text.as_str()), (PreviewKind::Attachment, ""));
        let system = of(&from(Role::System), "Ann joined the conversation", false);
        assert_eq!(system.kind, PreviewKind::System);
        assert_eq!(system.text, "Ann joined the conversation");
    }
}
