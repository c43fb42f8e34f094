//! Pipelined sends (issue 26, item 2): `send` frames a connection writes back to back are
//! stored together, in one commit on SQLite, and answered in the order they came; a refused
//! one answers its own error and the others go on.

use porch_client::Gateway;
use porch_wire::ErrorCode;
use porch_wire::frame::{ClientFrame, ServerFrame};

use crate::support::*;

fn send_to(conversation_id: &str, id: &str, text: &str) -> ClientFrame {
    ClientFrame::Send {
        client_message_id: id.into(),
        text: text.into(),
        conversation_id: Some(conversation_id.into()),
    }
}

/// A send's or a ping's answer, as `(type, clientMessageId or ping id)`, with the frame.
fn answer(frame: &ServerFrame) -> Option<(String, String)> {
    match frame {
        ServerFrame::Ack { client_message_id, .. } => {
            Some(("ack".into(), client_message_id.clone()))
        }
        ServerFrame::Error { client_message_id, .. } => {
            Some(("error".into(), client_message_id.clone().unwrap_or_default()))
        }
        ServerFrame::Pong { id } => Some(("pong".into(), id.clone().unwrap_or_default())),
        _ => None,
    }
}

/// The next `count` answers on `socket`, in the order they came; other frames are skipped.
async fn answers(socket: &mut Gateway, count: usize) -> Vec<ServerFrame> {
    let mut got = Vec::new();
    while got.len() < count {
        let frame = socket
            .wait_for(WAIT, |f| answer(f).is_some())
            .await
            .unwrap_or_else(|seen| panic!("{} answers of {count}; then {seen:?}", got.len()));
        got.push(frame);
    }
    got
}

/// Transactions SQLite's writer committed so far (`porch_store_write_batches_total`).
fn write_batches(server: &TestServer) -> u64 {
    server.state.store.pressure().write_batches.expect("SQLite counts its batches")
}

/// `count` conversations, each held by the test's agent (its first reply, awaited), and their
/// guests connected.
async fn held_conversations(
    server: &TestServer,
    agent: &mut Gateway,
    count: usize,
) -> Vec<(String, Gateway)> {
    let mut held = Vec::new();
    for i in 0..count {
        let (guest, socket) = server.connected_guest().await;
        agent.send(&send_to(&guest.conversation_id, &format!("hello{i}"), "hello")).await.unwrap();
        expect_frame(agent, "ack").await;
        held.push((guest.conversation_id, socket));
    }
    held
}

/// An agent writes 24 replies to four conversations in one go: every ack comes back in frame
/// order, each guest reads its replies in order with gap-free seqs, and on SQLite they took
/// a handful of commits, not 24 (one send at a time, they took at least one each).
#[tokio::test]
async fn an_agents_pipelined_replies_share_a_commit_and_are_acked_in_order() {
    const CONVERSATIONS: usize = 4;
    const REPLIES: usize = 24;
    let server = TestServer::start_with(lift_flood_limits).await;
    let (_, mut agent, _) = server.connected_agent().await;
    let mut held = held_conversations(&server, &mut agent, CONVERSATIONS).await;
    // Each conversation holds the guest's nothing, the assignment (1) and the hello (2).
    let frames: Vec<ClientFrame> = (0..REPLIES)
        .map(|i| send_to(&held[i % CONVERSATIONS].0, &format!("r{i}"), &format!("reply {i}")))
        .collect();
    let before = (!cluster_mode()).then(|| write_batches(&server));
    agent.send_all(&frames).await.unwrap();
    let got = answers(&mut agent, REPLIES).await;
    for (i, frame) in got.iter().enumerate() {
        let ServerFrame::Ack { client_message_id, message, duplicate } = frame else {
            panic!("answer {i} is not an ack: {frame:?}")
        };
        assert_eq!(client_message_id, &format!("r{i}"), "acks in frame order");
        assert!(!duplicate);
        assert_eq!(message.seq, 3 + (i / CONVERSATIONS) as u64, "seq in frame order: {frame:?}");
    }
    if let Some(before) = before {
        let commits = write_batches(&server) - before;
        assert!(
            commits * 4 <= REPLIES as u64,
            "{REPLIES} pipelined replies took {commits} commits"
        );
    }
    for (c, (conversation_id, guest)) in held.iter_mut().enumerate() {
        for (n, i) in (c..REPLIES).step_by(CONVERSATIONS).enumerate() {
            let message = entry(guest, conversation_id, 3 + n as u64).await;
            assert_eq!(message.text, format!("reply {i}"), "the guest reads them in order");
        }
    }
}

/// In one group: a reply to an unknown conversation, one too long, one into a closed
/// conversation, a ping, and the same `clientMessageId` twice. Each refused send answers its
/// own error, the ping its pong, the retry what the first got; the others are stored.
#[tokio::test]
async fn a_refused_send_in_a_group_answers_alone_and_the_others_go_on() {
    let server = TestServer::start_with(lift_flood_limits).await;
    let (_, mut agent, _) = server.connected_agent().await;
    let held = held_conversations(&server, &mut agent, 2).await;
    let (open, closed) = (&held[0].0, &held[1].0);
    let close = ClientFrame::Close { conversation_id: closed.clone(), wrap_up: None };
    agent.send(&close).await.unwrap();
    agent
        .wait_for(WAIT, |f| matches!(f, ServerFrame::Message { message } if message.conversation_id == *closed && message.seq == 3))
        .await
        .expect("the close entry");
    let long = "x".repeat(server.state.config.limits.text_chars_max + 1);
    let frames = [
        send_to(open, "a", "first"),
        send_to("cnv_unknown", "b", "nobody"),
        send_to(open, "c", &long),
        send_to(closed, "d", "too late"),
        send_to(open, "e", "second"),
        send_to(open, "a", "first"),
        ClientFrame::Ping { id: Some("p".into()) },
        send_to(open, "f", "third"),
    ];
    agent.send_all(&frames).await.unwrap();
    let got = answers(&mut agent, frames.len()).await;
    let shape: Vec<(String, String)> = got.iter().filter_map(answer).collect();
    let expected = [
        ("ack", "a"),
        ("error", "b"),
        ("error", "c"),
        ("error", "d"),
        ("ack", "e"),
        ("ack", "a"),
        ("pong", "p"),
        ("ack", "f"),
    ];
    let expected: Vec<(String, String)> =
        expected.iter().map(|(t, id)| (t.to_string(), id.to_string())).collect();
    assert_eq!(shape, expected, "each frame's answer, in frame order");
    let code = |i: usize| match &got[i] {
        ServerFrame::Error { code, .. } => *code,
        other => panic!("not an error: {other:?}"),
    };
    assert_eq!(code(1), ErrorCode::ConversationUnknown);
    assert_eq!(code(2), ErrorCode::TextTooLong);
    assert_eq!(code(3), ErrorCode::ConversationClosed);
    let seq = |i: usize| message_of(&got[i]).seq;
    assert_eq!([seq(0), seq(4), seq(7)], [3, 4, 5], "gap-free, the refused ones took none");
    let ServerFrame::Ack { duplicate, .. } = &got[5] else { unreachable!() };
    assert!(duplicate, "the retry inside the group is the first one's duplicate");
    assert_eq!(seq(5), seq(0));
}

/// A guest's pipelined sends are all counted by its rate limit: past its burst, each is
/// refused on its own with `rate_limited`, after the ones that passed, in frame order.
#[tokio::test]
async fn a_guests_pipelined_sends_each_count_against_its_rate_limit() {
    let server = TestServer::start_with(|c| {
        c.limits.guest_messages_burst = 3;
        c.limits.guest_messages_per_sec = 1;
    })
    .await;
    let (guest, mut socket) = server.connected_guest().await;
    let frames: Vec<ClientFrame> = (0..6)
        .map(|i| ClientFrame::Send {
            client_message_id: format!("g{i}"),
            text: format!("guest {i}"),
            conversation_id: None,
        })
        .collect();
    socket.send_all(&frames).await.unwrap();
    let got = answers(&mut socket, frames.len()).await;
    let shape: Vec<String> =
        got.iter().filter_map(answer).map(|(t, id)| format!("{t} {id}")).collect();
    assert_eq!(shape, ["ack g0", "ack g1", "ack g2", "error g3", "error g4", "error g5"]);
    assert!(
        got[3..]
            .iter()
            .all(|f| matches!(f, ServerFrame::Error { code: ErrorCode::RateLimited, .. }))
    );
    for (i, frame) in got[..3].iter().enumerate() {
        assert_eq!(message_of(frame).seq, 1 + i as u64);
        assert_eq!(message_of(frame).conversation_id, guest.conversation_id);
    }
}
