//! Bots' messages (docs/bots.md): the checks that keep quick replies and cards small, plain and
//! safe, and where a bot's conversations wait while it owns them.
//!
//! Each refusal names the field, the limit and the fix; the caller turns it into
//! `content_invalid`, so bad input changes nothing.

use porch_wire::bot::{Card, Choice, Content, QuickReply};

use crate::limits::{
    BOT_CARD_LINKS_MAX, BOT_CARD_TEXT_CHARS_MAX, BOT_CARD_TITLE_CHARS_MAX, BOT_CARDS_MAX,
    BOT_CHOICE_ID_CHARS_MAX, BOT_LABEL_CHARS_MAX, BOT_QUICK_REPLIES_MAX, BOT_URL_BYTES_MAX,
};

/// The queue a bot's conversations sit in until it hands them off. No agent serves it (queue
/// names given to agents may not start with `bot:`), so no offer goes out and no agent lists or
/// takes them: the bot is their only owner. A hand-off moves the conversation to a real queue.
pub fn holding_queue(bot_id: &str) -> String {
    format!("{HOLDING_PREFIX}{bot_id}")
}

/// The prefix of every bot's holding queue.
pub const HOLDING_PREFIX: &str = "bot:";

/// The bot holding a conversation in `queue`, if one does.
pub fn holder(queue: &str) -> Option<&str> {
    queue.strip_prefix(HOLDING_PREFIX)
}

/// The content of a bot's message: quick replies and cards, each within its limits.
pub fn validate_bot_content(quick_replies: &[QuickReply], cards: &[Card]) -> Result<(), String> {
    count("quickReplies", quick_replies.len(), BOT_QUICK_REPLIES_MAX)?;
    for (i, reply) in quick_replies.iter().enumerate() {
        text(&format!("quickReplies[{i}].id"), &reply.id, BOT_CHOICE_ID_CHARS_MAX)?;
        text(&format!("quickReplies[{i}].label"), &reply.label, BOT_LABEL_CHARS_MAX)?;
        if quick_replies[..i].iter().any(|r| r.id == reply.id) {
            return Err(format!("quickReplies[{i}].id repeats an earlier id; give each its own"));
        }
    }
    count("cards", cards.len(), BOT_CARDS_MAX)?;
    for (i, card) in cards.iter().enumerate() {
        validate_card(i, card)?;
    }
    Ok(())
}

fn validate_card(i: usize, card: &Card) -> Result<(), String> {
    text(&format!("cards[{i}].title"), &card.title, BOT_CARD_TITLE_CHARS_MAX)?;
    if let Some(body) = &card.text {
        text(&format!("cards[{i}].text"), body, BOT_CARD_TEXT_CHARS_MAX)?;
    }
    count(&format!("cards[{i}].links"), card.links.len(), BOT_CARD_LINKS_MAX)?;
    for (j, link) in card.links.iter().enumerate() {
        text(&format!("cards[{i}].links[{j}].label"), &link.label, BOT_LABEL_CHARS_MAX)?;
        https_url(&format!("cards[{i}].links[{j}].url"), &link.url)?;
    }
    Ok(())
}

/// A guest's pick names a quick reply of an earlier bot message (`offered`), by its id.
pub fn validate_choice(choice: &Choice, offered: Option<&Content>) -> Result<(), String> {
    let known = offered.is_some_and(|c| c.quick_replies.iter().any(|r| r.id == choice.id));
    if known {
        return Ok(());
    }
    Err(format!(
        "choice names no quick reply `{}` of message seq {}; send the id and seq of a quick reply the bot offered",
        crate::token::short(&choice.id).trim_matches('`'),
        choice.seq
    ))
}

fn count(field: &str, n: usize, max: usize) -> Result<(), String> {
    if n > max {
        return Err(format!("{field} has {n} entries, the limit is {max}; send fewer"));
    }
    Ok(())
}

/// Plain text: not blank, at most `max` characters, no control characters (a label is one
/// line; a card text may break lines).
fn text(field: &str, value: &str, max: usize) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("{field} is empty; give it words"));
    }
    let chars = value.chars().count();
    if chars > max {
        return Err(format!("{field} has {chars} characters, the limit is {max}"));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(format!("{field} holds a control character; send plain text"));
    }
    Ok(())
}

/// Only `https://` links, of bounded length, with a host and no spaces: no `javascript:`, no
/// `data:`, nothing a browser would run.
fn https_url(field: &str, url: &str) -> Result<(), String> {
    if url.len() > BOT_URL_BYTES_MAX {
        return Err(format!("{field} is {} bytes, the limit is {BOT_URL_BYTES_MAX}", url.len()));
    }
    let host = url.strip_prefix("https://").map(|rest| rest.split(['/', '?', '#']).next());
    let plain = !url.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"');
    match host {
        Some(Some(host)) if !host.is_empty() && plain => Ok(()),
        _ => Err(format!("{field} must be an https:// URL with a host and no spaces")),
    }
}

#[cfg(test)]
mod tests {
    use porch_wire::bot::CardLink;

    use super::*;

    fn reply(id: &str, label: &str) -> QuickReply {
        QuickReply { id: id.into(), label: label.into() }
    }

    fn card(url: &str) -> Card {
        Card {
            title: "Plans".into(),
            text: Some("Two plans".into()),
            links: vec![CardLink { label: "See".into(), url: url.into() }],
        }
    }

    #[test]
    fn plain_quick_replies_and_https_cards_pass() {
        let replies = [reply("billing", "Billing"), reply("tech", "Technical help")];
        assert_eq!(validate_bot_content(&replies, &[card("https://example.com/plans")]), Ok(()));
    }

    #[test]
    fn unsafe_or_oversized_content_is_refused_naming_the_field() {
        for url in
            ["javascript:alert(1)", "http://example.com", "https://", "https://a b", "data:x"]
        {
            let refused = validate_bot_content(&[], &[card(url)]).unwrap_err();
            assert!(refused.contains("cards[0].links[0].url"), "{url}: {refused}");
        }
        let many: Vec<_> =
            (0..=BOT_QUICK_REPLIES_MAX).map(|i| reply(&i.to_string(), "x")).collect();
        assert!(validate_bot_content(&many, &[]).unwrap_err().contains("quickReplies has"));
        let long = "x".repeat(BOT_LABEL_CHARS_MAX + 1);
        assert!(validate_bot_content(&[reply("a", &long)], &[]).is_err());
        let twice = [reply("a", "A"), reply("a", "B")];
        assert!(validate_bot_content(&twice, &[]).unwrap_err().contains("repeats"));
        assert!(validate_bot_content(&[reply("a", "line\u{7}")], &[]).is_err());
    }

    #[test]
    fn a_choice_must_name_an_offered_quick_reply() {
        let offered =
            Content { quick_replies: vec![reply("billing", "Billing")], ..Content::default() };
        let pick = |id: &str| Choice { seq: 3, id: id.into() };
        assert_eq!(validate_choice(&pick("billing"), Some(&offered)), Ok(()));
        assert!(validate_choice(&pick("other"), Some(&offered)).is_err());
        assert!(validate_choice(&pick("billing"), None).is_err());
    }

    #[test]
    fn holding_queues_name_their_bot() {
        assert_eq!(holder(&holding_queue("bot_1")), Some("bot_1"));
        assert_eq!(holder("support"), None);
    }
}
