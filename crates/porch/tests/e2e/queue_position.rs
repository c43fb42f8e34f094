//! Queue positions over the real gateway (docs/routing.md#queue-positions): a waiting guest's
//! `ready` says where it stands, `queue` frames follow as guests ahead are assigned or leave,
//! the estimate appears once the queue has a wait behind it, and an assigned guest hears no
//! more positions. With `PORCH_TEST_CLUSTER=1` guests are on node 1 and the agent acts on
//! node 2, so every change crosses NATS and node 1 works the positions out from the store.

use porch_client::gateway::Gateway;
use porch_wire::frame::{Ready, ServerFrame};
use porch_wire::rest::{GuestSession, QueuePosition};

use crate::support::*;

/// A new guest connected to the gateway, and its `ready`.
async fn joined(server: &TestServer) -> (GuestSession, Gateway, Ready) {
    let session = server.guest().await;
    let mut socket =
        Gateway::connect(&session.gateway_url, &session.access_token, None).await.unwrap();
    let ServerFrame::Ready(ready) = expect_ready(&mut socket).await else { unreachable!() };
    (session, socket, ready)
}

/// The next `queue` frame on `socket`, for its own conversation.
async fn moved(socket: &mut Gateway, conversation_id: &str) -> QueuePosition {
    let frame = socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Queue { .. })).await;
    let Ok(ServerFrame::Queue { conversation_id: id, position, estimated_wait_ms }) = frame else {
        panic!("no queue frame: {frame:?}")
    };
    assert_eq!(id, conversation_id);
    QueuePosition { position, estimated_wait_ms }
}

async fn reconnect(session: &GuestSession) -> Gateway {
    Gateway::connect(&session.gateway_url, &session.access_token, None).await.unwrap()
}

/// No `queue` frame within a while longer than the positions' window.
async fn no_more_positions(socket: &mut Gateway) {
    let wait = std::time::Duration::from_millis(porch_core::limits::QUEUE_POSITION_WINDOW_MS * 2);
    let heard = socket.wait_for(wait, |f| matches!(f, ServerFrame::Queue { .. })).await;
    assert!(heard.is_err(), "an assigned guest heard {heard:?}");
}

/// Three guests join: `ready` tells each its place, with no estimate (nothing was ever
/// assigned). The agent takes the first: the others move up, now with an estimate that grows
/// with the place, and the first hears no more positions (REST says `null`). The second's
/// conversation closes: the third is next.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn waiting_guests_move_up_as_those_ahead_are_assigned_or_leave() {
    let server = TestServer::start().await;
    let alice = server.agent().await;
    let (first, mut first_socket, ready) = joined(&server).await;
    assert_eq!(ready.queue, Some(QueuePosition { position: 1, estimated_wait_ms: None }));
    let (second, mut second_socket, ready) = joined(&server).await;
    assert_eq!(ready.queue, Some(QueuePosition { position: 2, estimated_wait_ms: None }));
    let (third, mut third_socket, ready) = joined(&server).await;
    assert_eq!(ready.queue, Some(QueuePosition { position: 3, estimated_wait_ms: None }));
    let at = server.api.guest_queue(&third.access_token).await.unwrap().queue;
    assert_eq!(at, Some(QueuePosition { position: 3, estimated_wait_ms: None }), "REST agrees");

    let api = &server.agent_api;
    api.agent_action(&alice.access_token, &first.conversation_id, "assign").await.unwrap();
    let second_at = moved(&mut second_socket, &second.conversation_id).await;
    let third_at = moved(&mut third_socket, &third.conversation_id).await;
    assert_eq!((second_at.position, third_at.position), (1, 2));
    // One wait behind the queue; nobody available counts as one agent: place × that wait.
    let wait_ms = second_at.estimated_wait_ms.expect("an estimate once a wait is known");
    assert_eq!(third_at.estimated_wait_ms, Some(wait_ms * 2));
    no_more_positions(&mut first_socket).await;
    assert_eq!(server.api.guest_queue(&first.access_token).await.unwrap().queue, None);

    api.agent_action(&alice.access_token, &second.conversation_id, "close").await.unwrap();
    let third_at = moved(&mut third_socket, &third.conversation_id).await;
    assert_eq!(third_at, QueuePosition { position: 1, estimated_wait_ms: Some(wait_ms) });
    let at = server.api.guest_queue(&third.access_token).await.unwrap().queue;
    assert_eq!(at, Some(third_at), "REST agrees");
}

/// A guest that reconnects while waiting is told its place again in `ready`; one whose
/// conversation an agent holds gets no `queue` in `ready`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ready_carries_the_place_only_while_waiting() {
    let server = TestServer::start().await;
    let alice = server.agent().await;
    let (first, first_socket, _) = joined(&server).await;
    let (second, second_socket, _) = joined(&server).await;
    drop((first_socket, second_socket));
    let api = &server.agent_api;
    api.agent_action(&alice.access_token, &first.conversation_id, "assign").await.unwrap();

    let mut socket = reconnect(&first).await;
    let ServerFrame::Ready(ready) = expect_ready(&mut socket).await else { unreachable!() };
    assert_eq!(ready.queue, None, "an agent holds it");
    let mut socket = reconnect(&second).await;
    let ServerFrame::Ready(ready) = expect_ready(&mut socket).await else { unreachable!() };
    let at = ready.queue.expect("still waiting");
    // On a cluster the assignment, made on node 2, may reach node 1 just after this `ready`:
    // a `queue` frame then follows with the new place.
    let at = if at.position == 1 || !cluster_mode() {
        at
    } else {
        moved(&mut socket, &second.conversation_id).await
    };
    assert_eq!(at.position, 1);
    assert!(at.estimated_wait_ms.is_some(), "the first guest's wait is history now");
}
