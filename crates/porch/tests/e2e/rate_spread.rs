//! Refusals by `guest_messages_per_sec` spread a burst's retries: each refusal is told when a
//! token will be there for it, one token after the previous refusal's, so clients that resend
//! at the time they were told land at the first retry instead of all at once (where every one
//! but the first would be refused again: 46,000 refusals for 5,000 messages from 50 guests,
//! issue 25).

use std::time::Duration;

use porch_client::{Event, Gateway};
use porch_wire::ErrorCode;
use porch_wire::frame::{ClientFrame, ServerFrame};
use porch_wire::rest::GuestSession;

use crate::support::*;

const GUESTS: usize = 20;
const MESSAGES_PER_GUEST: usize = 40;
const PER_SEC: u64 = 10;
const BURST: u64 = 5;

fn send(i: usize) -> ClientFrame {
    ClientFrame::Send {
        client_message_id: format!("m{i}"),
        text: format!("m{i}"),
        conversation_id: None,
    }
}

/// The answer to the next send: acknowledged, or refused with `rate_limited` and its wait.
/// (The guest's own messages also come back as `message` frames: skipped.)
async fn answer(socket: &mut Gateway) -> (String, Option<u64>) {
    loop {
        match socket.next(Duration::from_secs(20)).await {
            Some(Event::Frame(ServerFrame::Ack { client_message_id, .. })) => {
                return (client_message_id, None);
            }
            Some(Event::Frame(ServerFrame::Error {
                code,
                client_message_id,
                retry_after_ms,
                message,
            })) => {
                assert_eq!(code, ErrorCode::RateLimited, "{message}");
                let id = client_message_id.expect("the refused send is named");
                return (id, Some(retry_after_ms.expect("retryAfterMs")));
            }
            Some(Event::Frame(ServerFrame::Message { .. })) => {}
            other => panic!("expected an ack or a refusal, got {other:?}"),
        }
    }
}

/// What one guest's burst met: when each refusal said to retry (ms after the burst began, its
/// wait added to when it came), in order, how many refusals its retries met, and how long the
/// burst's answers took to come.
struct Outcome {
    dues_ms: Vec<u64>,
    refused_again: usize,
    burst_ms: u64,
}

/// One guest's burst, then its retries, each at the time it was told.
async fn burst_then_retry(mut socket: Gateway) -> Outcome {
    let started = tokio::time::Instant::now();
    for i in 0..MESSAGES_PER_GUEST {
        socket.send(&send(i)).await.unwrap();
    }
    let mut dues_ms = Vec::new();
    let mut pending = Vec::new();
    for _ in 0..MESSAGES_PER_GUEST {
        if let (id, Some(wait)) = answer(&mut socket).await {
            let due = tokio::time::Instant::now() + Duration::from_millis(wait);
            dues_ms.push((due - started).as_millis() as u64);
            pending.push((due, id));
        }
    }
    let burst_ms = started.elapsed().as_millis() as u64;
    let mut refused_again = 0;
    while let Some((due, id)) = pending.first().cloned() {
        pending.remove(0);
        tokio::time::sleep_until(due).await;
        let i: usize = id[1..].parse().unwrap();
        socket.send(&send(i)).await.unwrap();
        if let (id, Some(wait)) = answer(&mut socket).await {
            refused_again += 1;
            let due = tokio::time::Instant::now() + Duration::from_millis(wait);
            let at = pending.partition_point(|(d, _)| *d <= due);
            pending.insert(at, (due, id));
        }
    }
    Outcome { dues_ms, refused_again, burst_ms }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_refused_sends_is_told_to_retry_one_token_apart() {
    let server = TestServer::start_with(|c| {
        c.limits.guest_messages_per_sec = PER_SEC;
        c.limits.guest_messages_burst = BURST;
    })
    .await;
    let mut sessions: Vec<GuestSession> = Vec::new();
    let mut bursts = tokio::task::JoinSet::new();
    for _ in 0..GUESTS {
        let (session, socket) = server.connected_guest().await;
        sessions.push(session);
        bursts.spawn(burst_then_retry(socket));
    }
    let outcomes = bursts.join_all().await;

    let refused: usize = outcomes.iter().map(|o| o.dues_ms.len()).sum();
    let refused_again: usize = outcomes.iter().map(|o| o.refused_again).sum();
    let interval = 1_000 / PER_SEC;
    for Outcome { dues_ms: dues, burst_ms, .. } in &outcomes {
        // Tokens refill while the burst is served: a slow (loaded, debug) server serves it
        // for longer, so fewer of its sends find the bucket empty. Two tokens of slack.
        let refilled = (PER_SEC * burst_ms / 1_000) as usize + 2;
        let refused_at_least = (MESSAGES_PER_GUEST - BURST as usize).saturating_sub(refilled);
        assert!(
            dues.len() >= refused_at_least,
            "the burst (answered in {burst_ms} ms) was refused: {dues:?}"
        );
        // Each refusal is told a later token than the one before it; with one shared wait,
        // as before, every retry but one would be refused again. Told times are read when the
        // answer arrives, so a client that stalls between two answers shifts one of them: half
        // a token of slack.
        let spread = dues.windows(2).all(|w| w[0] < w[1] + interval / 2);
        assert!(spread, "told times spread out: {dues:?}");
        assert!(
            dues.last().unwrap() - dues[0] >= interval * (dues.len() as u64 - 1) / 2,
            "about one token apart: {dues:?}"
        );
    }
    assert!(
        refused_again <= refused / 10,
        "{refused_again} retries refused again, of {refused} refused sends: retries should land"
    );
    for session in &sessions {
        let page =
            server.api.guest_history(&session.access_token, "after=0&limit=200").await.unwrap();
        let mut texts: Vec<String> = page.messages.into_iter().map(|m| m.text).collect();
        texts.sort();
        let mut expected: Vec<String> = (0..MESSAGES_PER_GUEST).map(|i| format!("m{i}")).collect();
        expected.sort();
        assert_eq!(texts, expected, "every message stored once");
    }
}
