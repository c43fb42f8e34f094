//! What one open-loop message is on each target, and which request an answer belongs to.
//! The frames are those of the closed loop (`pingpong.rs`), with a sequence number in them
//! where the target echoes it back, since requests are pipelined:
//! - Porch `ping`: the id is `o<seq>:` padded to `size`; `pong` echoes the id (matched by id);
//! - Porch `send`: `clientMessageId` is `o<seq>`; `ack` carries it (matched by id). The
//!   sequence numbers of a connection never repeat across steps, or a send would be
//!   answered as a duplicate;
//! - bare and the ws relay: a `size`-byte text starting `<seq>:`, echoed (matched by id);
//! - Soketi and Sockudo: `pusher:ping`, whose `pusher:pong` carries nothing of the ping
//!   (`{"event":"pusher:pong","data":{}}`), so answers are matched in order: each connection's
//!   answers come back in the order of its requests.

use anyhow::{Context, Result, bail};

use crate::pingpong::PorchFrame;
use crate::server::Kind;
use crate::ws::padding;

/// How answers are paired with requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Matching {
    ById,
    InOrder,
}

impl Matching {
    pub fn name(self) -> &'static str {
        match self {
            Matching::ById => "id",
            Matching::InOrder => "order",
        }
    }
}

/// What a text frame from the target is.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// The answer to request `seq`.
    Seq(u64),
    /// The answer to the oldest request in flight (targets matched in order).
    Oldest,
    /// Something else the target sends (Porch's `message` echo of the guest's own send).
    Unrelated,
}

pub struct Frames {
    kind: Kind,
    porch_frame: PorchFrame,
    size: usize,
    pad: String,
}

const PONG_PREFIX: &str = r#"{"type":"pong","id":"o"#;
const ACK_PREFIX: &str = r#"{"type":"ack""#;
const ACK_ID: &str = r#""clientMessageId":"o"#;

impl Frames {
    pub fn new(kind: Kind, porch_frame: PorchFrame, size: usize) -> Frames {
        Frames { kind, porch_frame, size, pad: padding(size) }
    }

    pub fn matching(&self) -> Matching {
        if self.kind.is_pusher() { Matching::InOrder } else { Matching::ById }
    }

    pub fn request(&self, seq: u64) -> String {
        let pad = &self.pad;
        match (self.kind, self.porch_frame) {
            (Kind::Porch, PorchFrame::Send) => {
                format!(r#"{{"type":"send","clientMessageId":"o{seq}","text":"{pad}"}}"#)
            }
            (Kind::Porch, PorchFrame::Ping) => format!(r#"{{"type":"ping","id":"o{seq}:{pad}"}}"#),
            (Kind::Bare | Kind::WsRelay, _) => {
                // Exactly `size` bytes, as in the closed loop, unless the number alone is longer.
                let head = format!("{seq}:");
                let rest = self.size.saturating_sub(head.len());
                head + &pad[..rest]
            }
            (Kind::Soketi | Kind::Sockudo, _) => {
                format!(r#"{{"event":"pusher:ping","data":{{"pad":"{pad}"}}}}"#)
            }
        }
    }

    /// What `text` answers; an error for an error frame or an answer without its number.
    pub fn answer(&self, text: &str) -> Result<Answer> {
        match self.kind {
            Kind::Porch => porch_answer(self.porch_frame, text),
            Kind::Bare | Kind::WsRelay => seq_at(text, text),
            Kind::Soketi | Kind::Sockudo => {
                if text.contains("pusher:error") {
                    bail!("error frame: {}", short(text));
                }
                Ok(if text.contains("pusher:pong") { Answer::Oldest } else { Answer::Unrelated })
            }
        }
    }
}

fn porch_answer(frame: PorchFrame, text: &str) -> Result<Answer> {
    if text.starts_with(r#"{"type":"error""#) {
        bail!("error frame: {}", short(text));
    }
    match frame {
        PorchFrame::Ping => match text.strip_prefix(PONG_PREFIX) {
            Some(rest) => seq_at(rest, text),
            None => Ok(Answer::Unrelated),
        },
        PorchFrame::Send if text.starts_with(ACK_PREFIX) => {
            // Every request has a new number, so a duplicate means the harness repeated one.
            if text.ends_with(r#""duplicate":true}"#) {
                bail!("a duplicate ack (the harness reused a clientMessageId): {}", short(text));
            }
            let at = text
                .find(ACK_ID)
                .with_context(|| format!("an ack without our clientMessageId: {}", short(text)))?;
            seq_at(&text[at + ACK_ID.len()..], text)
        }
        PorchFrame::Send => Ok(Answer::Unrelated),
    }
}

/// The decimal number at the start of `rest` (a part of the frame `text`).
fn seq_at(rest: &str, text: &str) -> Result<Answer> {
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let seq = rest[..digits]
        .parse()
        .with_context(|| format!("an answer without a sequence number: {}", short(text)))?;
    Ok(Answer::Seq(seq))
}

/// At most 200 bytes of a frame, for error messages (answers may be a kilobyte of padding).
fn short(text: &str) -> &str {
    let mut end = text.len().min(200);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_requests_keep_their_size_and_number() {
        let frames = Frames::new(Kind::Bare, PorchFrame::Send, 64);
        let request = frames.request(12345);
        assert_eq!(request.len(), 64);
        assert_eq!(frames.answer(&request).unwrap(), Answer::Seq(12345));
    }

    #[test]
    fn porch_answers_carry_the_request_number() {
        let ping = Frames::new(Kind::Porch, PorchFrame::Ping, 8);
        assert!(ping.request(7).contains(r#""id":"o7:xxxxxxxx""#));
        let pong = r#"{"type":"pong","id":"o7:xxxxxxxx"}"#;
        assert_eq!(ping.answer(pong).unwrap(), Answer::Seq(7));
        assert_eq!(ping.answer(r#"{"type":"message"}"#).unwrap(), Answer::Unrelated);

        let send = Frames::new(Kind::Porch, PorchFrame::Send, 8);
        let ack = r#"{"type":"ack","clientMessageId":"o42","message":{"clientMessageId":"o42"}}"#;
        assert_eq!(send.answer(ack).unwrap(), Answer::Seq(42));
        let echo = r#"{"type":"message","message":{"clientMessageId":"o42"}}"#;
        assert_eq!(send.answer(echo).unwrap(), Answer::Unrelated);
        assert!(send.answer(r#"{"type":"error","code":"x"}"#).is_err());
    }

    #[test]
    fn pusher_answers_match_in_order() {
        let frames = Frames::new(Kind::Soketi, PorchFrame::Send, 8);
        assert_eq!(frames.matching(), Matching::InOrder);
        let pong = r#"{"event":"pusher:pong","data":{}}"#;
        assert_eq!(frames.answer(pong).unwrap(), Answer::Oldest);
    }
}
