//! The core promise: a guest and an agent converse, over REST and the gateway alike, in
//! order, with nothing lost or doubled across reconnects.

use porch_client::gateway::Gateway;
use porch_wire::PROTOCOL_MARKER;
use porch_wire::frame::{ClientFrame, ServerFrame};
use porch_wire::rest::{ConversationState, Role};

use crate::support::*;

fn send(id: &str, text: &str) -> ClientFrame {
    ClientFrame::Send { client_message_id: id.into(), text: text.into(), conversation_id: None }
}

#[tokio::test]
async fn guest_and_agent_converse_over_the_gateway_in_order() {
    let server = TestServer::start().await;
    let guest = server.guest().await;
    let mut guest_socket =
        Gateway::connect(&guest.gateway_url, &guest.access_token, None).await.unwrap();
    assert_eq!(
        guest_socket.protocol.as_deref(),
        Some(PROTOCOL_MARKER),
        "the marker, and only it, is echoed"
    );
    let ServerFrame::Ready(ready) = expect_ready(&mut guest_socket).await else { unreachable!() };
    assert_eq!(ready.conversation.as_ref().unwrap().id, guest.conversation_id);
    assert_eq!(ready.last_seq, Some(0));

    let (_, mut agent_socket, agent_ready) = server.connected_agent().await;
    let ServerFrame::Ready(agent_ready) = agent_ready else { unreachable!() };
    assert!(
        agent_ready.conversations.iter().any(|c| c.id == guest.conversation_id),
        "ready lists the waiting conversation"
    );

    guest_socket.send(&send("g1", "Hello, is anyone there?")).await.unwrap();
    let ack = expect_frame(&mut guest_socket, "ack").await;
    assert_eq!(message_of(&ack).seq, 1);
    let at_agent = expect_frame(&mut agent_socket, "message").await;
    assert_eq!(message_of(&at_agent).text, "Hello, is anyone there?");
    assert_eq!(message_of(&at_agent).sender.role, Role::Guest);

    let reply = ClientFrame::Send {
        client_message_id: "a1".into(),
        text: "Hi Ann, Alice here.".into(),
        conversation_id: Some(guest.conversation_id.clone()),
    };
    agent_socket.send(&reply).await.unwrap();
    let agent_ack = expect_frame(&mut agent_socket, "ack").await;
    assert_eq!(
        message_of(&agent_ack).seq,
        3,
        "the first reply assigns the conversation first (seq 2)"
    );

    // The guest sees its own message, the assignment, then the reply: one order for everyone.
    let mut seqs = Vec::new();
    while seqs.len() < 3 {
        let frame = expect_frame(&mut guest_socket, "message").await;
        let m = message_of(&frame);
        seqs.push((m.seq, m.sender.role, m.text.clone()));
    }
    assert_eq!(seqs[0].0, 1);
    assert_eq!((seqs[1].0, seqs[1].1), (2, Role::System));
    assert_eq!((seqs[2].0, seqs[2].1, seqs[2].2.as_str()), (3, Role::Agent, "Hi Ann, Alice here."));
}

#[tokio::test]
async fn one_token_serves_rest_and_the_gateway() {
    let server = TestServer::start().await;
    let (guest, mut socket) = server.connected_guest().await;
    let posted = server.api.guest_send(&guest.access_token, "r1", "via REST").await.unwrap();
    assert_eq!(posted.status, 201);
    assert!(!posted.body.duplicate);
    let live = expect_frame(&mut socket, "message").await;
    assert_eq!(
        message_of(&live).client_message_id.as_deref(),
        Some("r1"),
        "REST sends reach the socket"
    );

    socket.send(&send("w1", "via the socket")).await.unwrap();
    expect_frame(&mut socket, "ack").await;
    let retry = server.api.guest_send(&guest.access_token, "r1", "via REST").await.unwrap();
    assert_eq!(retry.status, 200);
    assert!(retry.body.duplicate);
    assert_eq!(retry.body.message.id, posted.body.message.id, "a retry returns the original");

    let history = server.api.guest_history(&guest.access_token, "after=0").await.unwrap();
    let texts: Vec<_> = history.messages.iter().map(|m| (m.seq, m.text.as_str())).collect();
    assert_eq!(texts, vec![(1, "via REST"), (2, "via the socket")]);
    assert_eq!(history.last_seq, 2);
}

#[tokio::test]
async fn a_retry_over_the_socket_creates_nothing() {
    let server = TestServer::start().await;
    let (guest, mut socket) = server.connected_guest().await;
    socket.send(&send("same", "once")).await.unwrap();
    let first = expect_frame(&mut socket, "ack").await;
    socket.send(&send("same", "once")).await.unwrap();
    let ServerFrame::Ack { duplicate, message, .. } = socket
        .wait_for(WAIT, |f| matches!(f, ServerFrame::Ack { duplicate: true, .. }))
        .await
        .unwrap()
    else {
        unreachable!()
    };
    assert!(duplicate);
    assert_eq!(message.seq, message_of(&first).seq);
    socket.send(&send("same", "a different text")).await.unwrap();
    let ServerFrame::Error { code, client_message_id, .. } =
        expect_frame(&mut socket, "error").await
    else {
        unreachable!()
    };
    assert_eq!(code, porch_wire::ErrorCode::IdempotencyConflict);
    assert_eq!(client_message_id.as_deref(), Some("same"));
    let history = server.api.guest_history(&guest.access_token, "").await.unwrap();
    assert_eq!(history.messages.len(), 1);
}

#[tokio::test]
async fn resume_replays_exactly_what_was_missed_then_goes_live() {
    let server = TestServer::start().await;
    let (guest, socket) = server.connected_guest().await;
    let agent = server.agent().await;
    server
        .agent_api
        .agent_send(&agent.access_token, &guest.conversation_id, "a0", "first")
        .await
        .unwrap();
    socket.close().await;
    // While the guest is away: the agent's first reply assigned the conversation (seq 1, 2);
    // three more follow.
    for i in 1..=3 {
        server
            .agent_api
            .agent_send(
                &agent.access_token,
                &guest.conversation_id,
                &format!("a{i}"),
                &format!("missed {i}"),
            )
            .await
            .unwrap();
    }
    let mut socket =
        Gateway::connect(&guest.gateway_url, &guest.access_token, Some(2)).await.unwrap();
    let ServerFrame::Ready(ready) = expect_ready(&mut socket).await else { unreachable!() };
    let resume = ready.resume.expect("a resume answer");
    assert!(resume.recovered);
    assert_eq!((resume.after_seq, resume.replayed), (2, 3));
    for expected in 3..=5 {
        let frame = expect_frame(&mut socket, "message").await;
        assert_eq!(message_of(&frame).seq, expected);
    }
    server
        .agent_api
        .agent_send(&agent.access_token, &guest.conversation_id, "a4", "live")
        .await
        .unwrap();
    let live = expect_frame(&mut socket, "message").await;
    assert_eq!((message_of(&live).seq, message_of(&live).text.as_str()), (6, "live"));
}

#[tokio::test]
async fn resume_beyond_the_limit_says_to_page_history() {
    let server = TestServer::start_with(|c| c.limits.resume_messages_max = 2).await;
    let (guest, socket) = server.connected_guest().await;
    socket.close().await;
    for i in 0..3 {
        server.api.guest_send(&guest.access_token, &format!("g{i}"), "x").await.unwrap();
    }
    let mut socket =
        Gateway::connect(&guest.gateway_url, &guest.access_token, Some(0)).await.unwrap();
    let ServerFrame::Ready(ready) = expect_ready(&mut socket).await else { unreachable!() };
    let resume = ready.resume.unwrap();
    assert!(!resume.recovered);
    assert!(resume.reason.unwrap().contains("page history"));
}

#[tokio::test]
async fn every_tab_of_a_guest_sees_the_same_stream() {
    let server = TestServer::start().await;
    let (guest, mut tab1) = server.connected_guest().await;
    let mut tab2 = Gateway::connect(&guest.gateway_url, &guest.access_token, None).await.unwrap();
    expect_ready(&mut tab2).await;
    tab1.send(&send("t1", "from tab 1")).await.unwrap();
    let seen = expect_frame(&mut tab2, "message").await;
    assert_eq!(message_of(&seen).text, "from tab 1");
}

#[tokio::test]
async fn typing_and_read_receipts_reach_the_other_side_only() {
    let server = TestServer::start().await;
    let (guest, mut guest_socket) = server.connected_guest().await;
    let (_, mut agent_socket, _) = server.connected_agent().await;
    guest_socket.send(&send("g1", "hi")).await.unwrap();
    expect_frame(&mut guest_socket, "ack").await;
    let read = ClientFrame::Read { seq: 1, conversation_id: Some(guest.conversation_id.clone()) };
    agent_socket.send(&read).await.unwrap();
    let ServerFrame::Read { seq, participant, .. } = expect_frame(&mut guest_socket, "read").await
    else {
        unreachable!()
    };
    assert_eq!((seq, participant.role), (1, Role::Agent));

    guest_socket.send(&ClientFrame::Typing { conversation_id: None }).await.unwrap();
    let ServerFrame::Typing { participant, conversation_id } =
        expect_frame(&mut agent_socket, "typing").await
    else {
        unreachable!()
    };
    assert_eq!(
        (participant.role, conversation_id.as_str()),
        (Role::Guest, guest.conversation_id.as_str())
    );
    // The typist must not hear its own typing. Its session may still hold the echo behind a
    // ping it reads first (select order is random), so two ping round trips flush it.
    let mut frames = Vec::new();
    for id in ["p1", "p2"] {
        guest_socket.send(&ClientFrame::Ping { id: Some(id.into()) }).await.unwrap();
        loop {
            let frame = guest_socket.wait_for(WAIT, |_| true).await.unwrap();
            let done = frame == ServerFrame::Pong { id: Some(id.into()) };
            frames.push(frame);
            if done {
                break;
            }
        }
    }
    assert!(
        !frames.iter().any(|f| matches!(f, ServerFrame::Typing { .. })),
        "typing echoed back: {frames:?}"
    );
}

/// A client that sends frames back to back, without waiting for answers, gets each answer
/// once and in the order it asked: the session handles frames it has already read in the
/// same write as the answers before them, and writes them out before each send's commit.
#[tokio::test]
async fn frames_sent_back_to_back_are_answered_in_order() {
    const PAIRS: usize = 20;
    let server = TestServer::start().await;
    let (_, mut socket) = server.connected_guest().await;
    for i in 0..PAIRS {
        socket.send(&ClientFrame::Ping { id: Some(format!("p{i}")) }).await.unwrap();
        socket.send(&send(&format!("s{i}"), "back to back")).await.unwrap();
    }
    let mut answers = Vec::new();
    while answers.len() < 2 * PAIRS {
        match socket
            .wait_for(WAIT, |f| matches!(f, ServerFrame::Pong { .. } | ServerFrame::Ack { .. }))
            .await
            .unwrap()
        {
            ServerFrame::Pong { id } => answers.push(id.unwrap()),
            ServerFrame::Ack { client_message_id, duplicate, .. } => {
                assert!(!duplicate, "{client_message_id} stored twice");
                answers.push(client_message_id);
            }
            _ => unreachable!(),
        }
    }
    let asked: Vec<String> = (0..PAIRS).flat_map(|i| [format!("p{i}"), format!("s{i}")]).collect();
    assert_eq!(answers, asked);
}

/// With reopening off (docs/routing.md, "Reopen"; `reopen.rs` tests the window itself).
#[tokio::test]
async fn a_closed_conversation_refuses_new_messages_with_the_fix() {
    let server = TestServer::start_with(|c| c.limits.reopen_window_secs = 0).await;
    let (guest, mut socket) = server.connected_guest().await;
    let agent = server.agent().await;
    let closed = server
        .agent_api
        .agent_action(&agent.access_token, &guest.conversation_id, "close")
        .await
        .unwrap();
    assert_eq!(closed.state, ConversationState::Closed);
    let entry = expect_frame(&mut socket, "message").await;
    assert_eq!(message_of(&entry).event, Some(ConversationState::Closed));
    socket.send(&send("late", "still there?")).await.unwrap();
    let ServerFrame::Error { code, message, .. } = expect_frame(&mut socket, "error").await else {
        unreachable!()
    };
    assert_eq!(code, porch_wire::ErrorCode::ConversationClosed);
    assert!(message.contains("new guest session"), "{message}");
}

#[tokio::test]
async fn the_guest_resource_reads_back_for_its_client_only() {
    let server = TestServer::start().await;
    let guest = server.guest().await;
    let again = server.api.guest(&server.client_token().await, &guest.guest_id).await.unwrap();
    assert_eq!(
        (again.guest_id, again.conversation_id),
        (guest.guest_id.clone(), guest.conversation_id.clone())
    );
    let other = porch_server::admin::create_client(
        server.state.store.as_ref(),
        "other",
        vec!["guests".into()],
    )
    .await
    .unwrap();
    let other_token =
        server.api.client_token(&other.record.id, &other.secret).await.unwrap().access_token;
    let err = server.api.guest(&other_token, &guest.guest_id).await.unwrap_err();
    assert_eq!(err.code(), Some(porch_wire::ErrorCode::GuestUnknown));
}

#[tokio::test]
async fn agents_list_read_and_take_conversations() {
    let server = TestServer::start().await;
    let guest = server.guest().await;
    server.api.guest_send(&guest.access_token, "g1", "help").await.unwrap();
    let agent = server.agent().await;
    let waiting =
        server.agent_api.agent_conversations(&agent.access_token, "state=waiting").await.unwrap();
    assert!(waiting.conversations.iter().any(|c| c.id == guest.conversation_id));
    let taken = server
        .agent_api
        .agent_action(&agent.access_token, &guest.conversation_id, "assign")
        .await
        .unwrap();
    assert_eq!(
        (taken.state, taken.assigned_agent_id.as_deref()),
        (ConversationState::Assigned, Some(agent.agent_id.as_str()))
    );
    let history = server
        .agent_api
        .agent_history(&agent.access_token, &guest.conversation_id, "after=0")
        .await
        .unwrap();
    assert_eq!(history.messages.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 2]);
    let err =
        server.agent_api.agent_history(&agent.access_token, "cnv_nope", "").await.unwrap_err();
    assert_eq!(err.code(), Some(porch_wire::ErrorCode::ConversationUnknown));
}

#[tokio::test]
async fn shutdown_closes_sessions_with_reconnect_elsewhere() {
    let server = TestServer::start().await;
    let (_, mut socket) = server.connected_guest().await;
    drop(server);
    let (code, reason) = expect_close(&mut socket).await;
    assert_eq!(code, 4200);
    assert!(reason.starts_with("server_shutdown: "), "{reason}");
}

/// Regression: an agent's `ready` lists up to 500 open conversations, about 135 kB, which once
/// exceeded the per-connection write ceiling; the socket was dropped with nothing logged.
#[tokio::test]
async fn an_agent_with_hundreds_of_open_conversations_connects() {
    let server = TestServer::start().await;
    let token = server.client_token().await;
    for _ in 0..520 {
        let request = porch_wire::rest::CreateGuestRequest {
            deployment_id: server.deployment.id.clone(),
            display_name: Some("A guest with a rather long display name".into()),
            ..Default::default()
        };
        server.api.create_guest(&token, &request).await.unwrap();
    }
    let (_, _, ready) = server.connected_agent().await;
    let ServerFrame::Ready(ready) = ready else { unreachable!() };
    assert_eq!(ready.conversations.len(), 500, "the snapshot is capped, and it arrives");
}

/// A bot answering a backlog: one agent connection replies to 300 waiting conversations as
/// fast as its acks come back (8 in flight). Each first reply also assigns the conversation,
/// so the agent's own queue carries three events per reply; the live feed must keep up with
/// that without cutting the agent off as a slow consumer.
#[tokio::test]
async fn an_agent_can_answer_a_backlog_of_conversations_on_one_connection() {
    const CONVERSATIONS: usize = 300;
    const IN_FLIGHT: usize = 8;
    let server = TestServer::start_with(lift_flood_limits).await;
    let client_token = server.client_token().await;
    let request = porch_wire::rest::CreateGuestRequest {
        deployment_id: server.deployment.id.clone(),
        ..Default::default()
    };
    let mut conversations = Vec::new();
    for _ in 0..CONVERSATIONS {
        conversations
            .push(server.api.create_guest(&client_token, &request).await.unwrap().conversation_id);
    }
    let (_, mut socket, _) = server.connected_agent().await;
    let (mut sent, mut acked) = (0, 0);
    while acked < CONVERSATIONS {
        while sent < CONVERSATIONS && sent - acked < IN_FLIGHT {
            let reply = ClientFrame::Send {
                client_message_id: format!("r{sent}"),
                text: "hello".into(),
                conversation_id: Some(conversations[sent].clone()),
            };
            socket.send(&reply).await.unwrap();
            sent += 1;
        }
        match socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Ack { .. })).await {
            Ok(_) => acked += 1,
            Err(events) => panic!(
                "after {acked} acks the agent's connection ended or stalled: {:?}",
                events.last()
            ),
        }
    }
    let assigned = server
        .agent_api
        .agent_conversations(&server.agent().await.access_token, "state=assigned&limit=500")
        .await
        .unwrap();
    assert_eq!(assigned.conversations.len(), CONVERSATIONS);
}

/// An agent whose queues hold more open conversations than one `ready` can carry still
/// connects (before, ~490 conversations made `ready` larger than the write buffer and the
/// socket was dropped): `ready` keeps the most recently active that fit and says
/// `moreConversations`, and the others' live events reach the agent all the same.
#[tokio::test]
async fn an_agent_with_more_open_conversations_than_ready_holds_still_connects() {
    const GUESTS: usize = 400; // ~270 bytes each in `ready`: about 108 kB against 65,550
    let server = TestServer::start_with(|config| {
        config.limits.connection_write_buffer_bytes_max =
            config.limits.ws_message_bytes_max + porch_core::limits::WS_FRAME_HEADER_BYTES_MAX;
        lift_flood_limits(config);
    })
    .await;
    let frame_bytes_max = server.state.config.limits.connection_write_buffer_bytes_max
        - porch_core::limits::WS_FRAME_HEADER_BYTES_MAX;
    let mut guests = Vec::with_capacity(GUESTS);
    for _ in 0..GUESTS {
        guests.push(server.guest().await);
    }

    let (_agent, mut socket, ready) = server.connected_agent().await;
    let ServerFrame::Ready(ready) = ready else { unreachable!() };
    assert!(
        ready.more_conversations,
        "{} of {GUESTS} listed, yet no moreConversations",
        ready.conversations.len()
    );
    assert!(
        (1..GUESTS).contains(&ready.conversations.len()),
        "{} listed",
        ready.conversations.len()
    );
    let bytes = serde_json::to_string(&ServerFrame::Ready(ready.clone())).unwrap().len();
    assert!(bytes <= frame_bytes_max, "ready is {bytes} bytes, over {frame_bytes_max}");
    assert!(
        ready.conversations.windows(2).all(|w| w[0].updated_at_ms >= w[1].updated_at_ms),
        "the most recently active come first"
    );

    // The first guest's conversation is the least recently active: left out, yet live.
    let oldest = &guests[0];
    assert!(
        !ready.conversations.iter().any(|c| c.id == oldest.conversation_id),
        "the oldest conversation was listed"
    );
    server.api.guest_send(&oldest.access_token, "late-1", "still here?").await.unwrap();
    let frame = socket
        .wait_for(WAIT, |f| matches!(f, ServerFrame::Message { message } if message.conversation_id == oldest.conversation_id))
        .await
        .unwrap_or_else(|events| panic!("no message from the unlisted conversation: {events:?}"));
    let ServerFrame::Message { message } = frame else { unreachable!() };
    assert_eq!(message.text, "still here?");
}
