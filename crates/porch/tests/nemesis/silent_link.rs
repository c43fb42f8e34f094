//! Found by the nemesis's half-open and black-hole faults on NATS links: a node whose link to
//! NATS goes silent (no reset, no FIN: a dead peer, a dropped route) kept saying it was
//! ready and kept acknowledging sends whose live events reached no other node, until NATS's
//! client noticed: three unanswered pings at its default 60 s interval, three minutes. With
//! `NATS_PING_INTERVAL_MS` it notices within a few seconds, refuses sends with the retryable
//! `broker_unavailable`, turns not ready, and recovers by itself when the link does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use porch_client::Gateway;
use porch_wire::ErrorCode;
use porch_wire::frame::{ClientFrame, ServerFrame};

use crate::backends::{Nats, Postgres};
use crate::faulty::Mode;
use crate::group::Group;
use crate::{Scratch, endpoints, setup, start_cluster};

/// How long the node may take to notice: three pings (`NATS_PING_INTERVAL_MS`, 2 s) and
/// room for a loaded machine. Without the setting it takes 180 s.
const NOTICED_WITHIN: Duration = Duration::from_secs(20);
const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_nats_link_goes_silent_refuses_sends_within_seconds_and_recovers() {
    let scratch = Scratch::new();
    let group = Group::start(NOTICED_WITHIN * 6);
    let postgres = Postgres::init(&scratch.0, group.id);
    let nats = Nats::start(group.id);
    let cluster = Arc::new(start_cluster(&scratch.0, postgres, nats, group.id, 1).await);
    let world = setup(&cluster, 1).await;
    let node = &endpoints(&cluster)[0];
    let guest = &world.guests[0];
    let mut socket = Gateway::connect(&node.gateway_url, &guest.access_token, None).await.unwrap();
    socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Ready(_))).await.unwrap();
    assert_eq!(readyz(node).await, 200);

    cluster.nats_links[0].set(Mode::BlackHole);
    let silent = Instant::now();
    while readyz(node).await != 503 {
        assert!(
            silent.elapsed() < NOTICED_WITHIN,
            "the node still says it is ready {NOTICED_WITHIN:?} after its NATS link went silent"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    socket.send(&send("while NATS is silent")).await.unwrap();
    match socket
        .wait_for(WAIT, |f| matches!(f, ServerFrame::Ack { .. } | ServerFrame::Error { .. }))
        .await
    {
        Ok(ServerFrame::Error { code, .. }) => assert_eq!(code, ErrorCode::BrokerUnavailable),
        other => panic!("a send acknowledged, or unanswered, while NATS is silent: {other:?}"),
    }

    cluster.nats_links[0].set(Mode::Pass);
    let healed = Instant::now();
    while readyz(node).await != 200 {
        assert!(healed.elapsed() < NOTICED_WITHIN, "not ready again after the link healed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Sessions were told to resync after the gap: resend on a connection made since.
    drop(socket);
    let mut socket = Gateway::connect(&node.gateway_url, &guest.access_token, None).await.unwrap();
    socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Ready(_))).await.unwrap();
    socket.send(&send("while NATS is silent")).await.unwrap();
    match socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Ack { .. })).await {
        Ok(ServerFrame::Ack { duplicate, .. }) => assert!(!duplicate, "not stored when refused"),
        other => panic!("no ack once the link healed: {other:?}"),
    }
    cluster.nodes[0].lock().unwrap().stop();
    drop(cluster);
    drop(group);
}

/// The same for PostgreSQL: a node whose link to it goes silent used to answer `/readyz` only
/// when TCP gave up on the connection (never, through this proxy, which acknowledges what it
/// holds) and stayed in the load balancer. Its probe is now bounded
/// (`POSTGRES_PROBE_TIMEOUT_MS`, 3 s), so it is not ready within that of being asked, and
/// ready again as soon as the link answers; then its sends commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_postgres_link_goes_silent_is_not_ready_within_seconds_and_recovers() {
    let scratch = Scratch::new();
    let group = Group::start(NOTICED_WITHIN * 6);
    let postgres = Postgres::init(&scratch.0, group.id);
    let nats = Nats::start(group.id);
    let cluster = Arc::new(start_cluster(&scratch.0, postgres, nats, group.id, 1).await);
    let world = setup(&cluster, 1).await;
    let node = &endpoints(&cluster)[0];
    let guest = &world.guests[0];
    assert_eq!(readyz(node).await, 200);

    cluster.postgres_links[0].set(Mode::BlackHole);
    let silent = Instant::now();
    // Each probe answers (503) within the bound; a hung one reads as 0 and fails here.
    loop {
        match readyz(node).await {
            503 => break,
            200 => {}
            other => panic!("/readyz answered {other} with PostgreSQL's link silent"),
        }
        assert!(silent.elapsed() < NOTICED_WITHIN, "still ready {NOTICED_WITHIN:?} later");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    cluster.postgres_links[0].set(Mode::Pass);
    let healed = Instant::now();
    while readyz(node).await != 200 {
        assert!(healed.elapsed() < NOTICED_WITHIN, "not ready again after the link healed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut socket = Gateway::connect(&node.gateway_url, &guest.access_token, None).await.unwrap();
    socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Ready(_))).await.unwrap();
    socket.send(&send("after PostgreSQL was silent")).await.unwrap();
    match socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Ack { .. })).await {
        Ok(ServerFrame::Ack { duplicate, .. }) => assert!(!duplicate),
        other => panic!("no ack once the link healed: {other:?}"),
    }
    cluster.nodes[0].lock().unwrap().stop();
    drop(cluster);
    drop(group);
}

async fn readyz(node: &crate::endpoints::Endpoint) -> u16 {
    let request = node.api.http().get(node.api.url("/readyz")).send();
    match tokio::time::timeout(WAIT, request).await {
        Ok(Ok(response)) => response.status().as_u16(),
        _ => 0,
    }
}

fn send(text: &str) -> ClientFrame {
    ClientFrame::Send {
        client_message_id: text.replace(' ', "-"),
        text: text.into(),
        conversation_id: None,
    }
}
