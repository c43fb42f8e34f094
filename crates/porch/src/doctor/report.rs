//! What `porch doctor` prints: headed sections of aligned key/value lines, every line redacted.
//!
//! All output goes through `Report`, which knows every token and secret in play and shortens
//! each to its first characters and its length. Integrators paste this output into support
//! tickets and chat rooms, and a whole token there is a working credential.

use std::cell::Cell;
use std::io::Write;

/// Width of the key column, so values line up under each other.
const KEY_WIDTH: usize = 24;
/// At most this many leading characters of a secret are shown.
const SHOWN_CHARS_MAX: usize = 10;
/// Characters shown of a client secret: its `sec_` prefix.
const PASSWORD_CHARS_SHOWN: usize = 4;
/// Values shorter than this are not treated as secrets: replacing every `ab` in the output
/// would garble it, and nothing that short is a credential.
const SECRET_CHARS_MIN: usize = 4;

/// Printer of the doctor's findings.
#[derive(Default)]
pub struct Report {
    /// Tokens and secrets to redact with the characters shown of each, longest first (so
    /// `token=` is redacted before `token`).
    secrets: Vec<(String, usize)>,
    /// Whether a section was printed yet: sections after the first get a blank line before.
    started: Cell<bool>,
}

impl Report {
    /// Redacts a token wherever it appears in later output, showing its first characters:
    /// a JWT's first ten are its header's start, which identifies nothing.
    pub fn secret(&mut self, value: &str) {
        self.redact_as(value, SHOWN_CHARS_MAX);
    }

    /// Redacts a password-like secret, showing only its `sec_` prefix.
    pub fn password(&mut self, value: &str) {
        self.redact_as(value, PASSWORD_CHARS_SHOWN);
    }

    fn redact_as(&mut self, value: &str, shown: usize) {
        let value = value.trim();
        if value.chars().count() < SECRET_CHARS_MIN || self.secrets.iter().any(|(s, _)| s == value)
        {
            return;
        }
        self.secrets.push((value.to_string(), shown));
        self.secrets.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
    }

    /// `== title ==`, after a blank line unless it is the first.
    pub fn section(&self, title: &str) {
        if self.started.replace(true) {
            println!();
        }
        println!("== {title} ==");
    }

    /// One aligned `key  value` line.
    pub fn line(&self, key: &str, value: &str) {
        println!("  {key:<KEY_WIDTH$} {}", self.redact(value));
    }

    /// A line outside the key/value grid, such as `verdict: …`.
    pub fn plain(&self, text: &str) {
        println!("{}", self.redact(text));
    }

    /// `text` with every known secret replaced by its shortened form.
    pub fn redact(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_string(), |acc, (secret, shown)| {
            acc.replace(secret.as_str(), &shorten(secret, *shown))
        })
    }

    pub fn flush(&self) {
        let _ = std::io::stdout().flush();
    }
}

/// `eyJhbGciOi…(312 chars)`: enough to recognise a token, not enough to use it. Never more
/// than a third of it is shown.
pub fn shorten(secret: &str, shown: usize) -> String {
    let length = secret.chars().count();
    let shown: String = secret.chars().take((length / 3).min(shown)).collect();
    format!("{shown}…({length} chars)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doctor_redacts_every_secret_and_the_longest_first() {
        let mut report = Report::default();
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        report.secret(token);
        report.secret(&format!("{token}="));
        report.secret("ab");
        let out = report.redact(&format!("NICE-WebSocket-Auth, {token}= and {token} and ab"));
        assert_eq!(
            out,
            "NICE-WebSocket-Auth, eyJhbGciOi…(50 chars) and eyJhbGciOi…(49 chars) and ab"
        );
        assert_eq!(shorten("not-a-jwt", SHOWN_CHARS_MAX), "not…(9 chars)");
        report.password("sec_0123456789abcdef");
        assert_eq!(report.redact("x sec_0123456789abcdef"), "x sec_…(20 chars)");
    }
}
