//! An agent's `ready`: its open conversations, as many as one frame can carry.

use porch_wire::frame::{Ready, ServerFrame};
use porch_wire::rest::Conversation;

/// An agent's `ready` as JSON, with as many of `conversations` (most recently active first)
/// as keep it within `frame_bytes_max`, and `moreConversations` when some are left out.
///
/// A frame larger than the connection's write buffer cannot be sent at all: before this, an
/// agent whose queues held about 490 open conversations (of ~270 bytes each) could not connect.
pub(super) fn ready_within(
    ready: &mut Ready,
    conversations: Vec<Conversation>,
    frame_bytes_max: usize,
) -> String {
    let total = conversations.len();
    // Room for the list itself: the frame with an empty list, the list's key and brackets, the
    // flag in case some are left out, then each conversation and its comma.
    let empty = serde_json::to_string(&ServerFrame::Ready(ready.clone()))
        .expect("server frames always serialize");
    let mut used =
        empty.len() + r#","conversations":[]"#.len() + r#","moreConversations":true"#.len();
    for conversation in conversations {
        let bytes =
            serde_json::to_string(&conversation).expect("conversations always serialize").len() + 1;
        if used + bytes > frame_bytes_max {
            break;
        }
        used += bytes;
        ready.conversations.push(conversation);
    }
    ready.more_conversations = ready.conversations.len() < total;
    let json = serde_json::to_string(&ServerFrame::Ready(ready.clone()))
        .expect("server frames always serialize");
    debug_assert!(
        json.len() <= frame_bytes_max,
        "ready is {} bytes, over {frame_bytes_max}",
        json.len()
    );
    json
}
