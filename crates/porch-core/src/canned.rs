//! Canned replies: texts an agent inserts by typing `/shortcut` in the console's composer, one
//! set per deployment, set by operators (`porch canned-replies`) and read by agents beside a
//! conversation of that deployment. This module holds the record and the rules of its input.

use crate::limits::{CANNED_REPLY_SHORTCUT_CHARS_MAX, CANNED_REPLY_TEXT_CHARS_MAX};

/// One canned reply of a deployment; `(deployment_id, shortcut)` is its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CannedReply {
    pub deployment_id: String,
    /// What the agent types after `/`: lowercase ASCII letters, digits, `-` and `_`.
    pub shortcut: String,
    pub text: String,
    pub updated_at_ms: i64,
}

/// Why a shortcut or a text is refused: each names the rule and the fix.
pub fn check_shortcut(shortcut: &str) -> Result<(), String> {
    let chars = shortcut.chars().count();
    if chars == 0 || chars > CANNED_REPLY_SHORTCUT_CHARS_MAX {
        return Err(format!(
            "a shortcut has 1 to {CANNED_REPLY_SHORTCUT_CHARS_MAX} characters, this one {chars}; pick a short word such as `refund`"
        ));
    }
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    if let Some(bad) = shortcut.chars().find(|c| !allowed(*c)) {
        return Err(format!(
            "a shortcut is lowercase letters a-z, digits, `-` and `_` (what an agent types after `/`); `{}` is not one of them",
            bad.escape_default()
        ));
    }
    Ok(())
}

/// A text must say something and fit a message (`CANNED_REPLY_TEXT_CHARS_MAX`, within the
/// `text_chars_max` every message is held to).
pub fn check_text(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err("a canned reply needs some text: pass --text".to_owned());
    }
    let chars = text.chars().count();
    if chars > CANNED_REPLY_TEXT_CHARS_MAX {
        return Err(format!(
            "a canned reply has at most {CANNED_REPLY_TEXT_CHARS_MAX} characters, this one {chars}; shorten it"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcuts_are_short_lowercase_words() {
        for good in ["refund", "hours-2", "a_b", "x"] {
            assert_eq!(check_shortcut(good), Ok(()), "{good}");
        }
        for bad in ["", "Refund", "two words", "/refund", "café", &"x".repeat(33)] {
            assert!(check_shortcut(bad).is_err(), "{bad:?}");
        }
        assert!(check_shortcut("a b").unwrap_err().contains("lowercase"));
    }

    #[test]
    fn texts_say_something_and_fit_a_message() {
        assert_eq!(check_text("We open at 9."), Ok(()));
        assert!(check_text("  \n").is_err());
        let long = "é".repeat(CANNED_REPLY_TEXT_CHARS_MAX + 1);
        assert!(check_text(&long).unwrap_err().contains("at most"));
    }
}
