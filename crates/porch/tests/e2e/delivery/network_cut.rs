//! Bullet 2 of issue 6: the network to a client is cut mid-stream.

use super::*;

/// Bullet 2 of "Done means": the network to a client is cut mid-stream, several times, by a
/// proxy the test controls, while an agent streams messages and the guest sends its own; the
/// guest resumes each time and ends with exactly the store's log, and every send of its own
/// stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_survives_network_cuts_mid_stream() {
    const AGENT_MESSAGES: usize = 300;
    /// The guest sends one message of its own per this many agent messages it receives.
    const GUEST_EVERY: usize = 7;
    /// After this many agent messages the guest sends a burst and the network fails before
    /// it reads the acks: the resends must come back as duplicates.
    const BURST_AT: usize = 150;
    const BURST: usize = 5;
    let started = Instant::now();
    let mut rng = Rng::from_clock();
    let server = TestServer::start_with(lift_flood_limits).await;
    let proxy = Proxy::start(server_addr(&server)).await;
    let guest = server.guest().await;
    let url = proxy.url_for(&guest.gateway_url);
    let agent = server.agent().await;

    let (progress_tx, mut progress) = watch::channel(0usize);
    let sender = tokio::spawn({
        let api = server.agent_api.clone();
        let (token, conversation) = (agent.access_token.clone(), guest.conversation_id.clone());
        async move {
            for i in 0..AGENT_MESSAGES {
                api.agent_send(&token, &conversation, &format!("a{i}"), &format!("agent {i}"))
                    .await
                    .map_err(|e| format!("agent send {i}: {e}"))?;
                progress_tx.send_replace(i + 1);
                tokio::time::sleep(Duration::from_millis(3)).await; // pacing, not synchronization
            }
            Ok::<(), String>(())
        }
    });
    // Four cuts at random points of the agent's stream, independent of what the guest does:
    // one in each quarter, at least 20 messages (about 80 ms) apart, so each hits a resumed
    // connection rather than the handshake of the last one.
    let quarter = AGENT_MESSAGES / 4;
    let points: Vec<usize> =
        (0..4).map(|k| k * quarter + 10 + rng.below(quarter as u64 - 30) as usize).collect();
    let proxy = Arc::new(proxy);
    let cutter = tokio::spawn({
        let proxy = proxy.clone();
        async move {
            let mut cuts = Vec::new();
            for point in points {
                let reached =
                    timeout(Duration::from_secs(15), progress.wait_for(|n| *n >= point)).await;
                if !matches!(reached, Ok(Ok(_))) {
                    break;
                }
                cuts.push((point, proxy.cut()));
            }
            cuts
        }
    });

    let mut view = GuestView::default();
    let mut agent_seen = 0usize;
    let mut connections = 0usize;
    let mut connect_failures = Vec::new();
    let mut burst: Option<(Vec<String>, bool)> = None;
    let mut target: Option<u64> = None;
    // A bound on progress, not on speed: the guest gives up when its log has not grown for
    // this long (a busy machine's cluster run takes well over a fixed deadline's 20 s).
    const STALL: Duration = Duration::from_secs(20);
    let (mut progressed_at, mut progressed_to) = (Instant::now(), 0);
    'connection: loop {
        assert!(
            progressed_at.elapsed() < STALL,
            "gave up at seq {} of {target:?}, no progress for {STALL:?}; ends {:?}",
            view.last,
            view.ends
        );
        // The first connection too resumes (from 0): the agent may have started already.
        let after = view.last;
        let (mut socket, ready) = match connect_ready(&url, &guest.access_token, Some(after)).await
        {
            Ok(pair) => pair,
            Err(e) => {
                connect_failures.push(e);
                assert!(connect_failures.len() < 20, "cannot reconnect: {connect_failures:?}");
                continue;
            }
        };
        check_resumed(&ready, after).unwrap_or_else(|e| panic!("connection {connections}: {e}"));
        connections += 1;
        if view.resend_pending(&mut socket).await.is_err() {
            view.ends.push("cut while resending".into());
            continue;
        }
        loop {
            // Done when the agent is done, every send of ours is acked, and we have the head
            // (read again each time we reach it: a late send of ours may have moved it).
            if sender.is_finished() && view.pending.is_empty() && view.last >= target.unwrap_or(0) {
                let head = server
                    .api
                    .guest_history(&guest.access_token, "after=0&limit=1")
                    .await
                    .unwrap()
                    .last_seq;
                if view.last >= head {
                    break 'connection;
                }
                target = Some(head);
            }
            if view.last > progressed_to {
                (progressed_at, progressed_to) = (Instant::now(), view.last);
            }
            if progressed_at.elapsed() > STALL {
                continue 'connection;
            }
            let event = match socket.next(Duration::from_millis(100)).await {
                None => continue, // quiet for a moment; look at the clock and the sender again
                Some(event) => event,
            };
            match event {
                Event::Frame(ServerFrame::Message { message }) => {
                    let from_agent = message.sender.role == Role::Agent;
                    view.on_message(message, &format!("connection {connections}"));
                    if !from_agent {
                        continue;
                    }
                    agent_seen += 1;
                    if agent_seen == BURST_AT && burst.is_none() {
                        let ids: Vec<String> = (0..BURST).map(|i| format!("burst-{i}")).collect();
                        for id in &ids {
                            let _ = view
                                .send_new(&mut socket, id.clone(), format!("burst message {id}"))
                                .await;
                        }
                        // Wait until the store has them (not the acks: this client never
                        // reads them), then lose the network.
                        let stored = timeout(Duration::from_secs(3), async {
                            loop {
                                let history = guest_history_after(
                                    &server.api,
                                    &guest.access_token,
                                    view.last,
                                )
                                .await;
                                if ids.iter().all(|id| {
                                    history.iter().any(|m| m.client_message_id.as_ref() == Some(id))
                                }) {
                                    break;
                                }
                                tokio::time::sleep(Duration::from_millis(10)).await;
                            }
                        })
                        .await
                        .is_ok();
                        proxy.cut();
                        burst = Some((ids, stored));
                        view.ends.push("cut after the burst".into());
                        continue 'connection;
                    }
                    if agent_seen.is_multiple_of(GUEST_EVERY) {
                        let n = view.sent.len();
                        if view
                            .send_new(&mut socket, format!("g{n}"), format!("guest {n}"))
                            .await
                            .is_err()
                        {
                            view.ends.push("cut while sending".into());
                            continue 'connection;
                        }
                    }
                }
                Event::Frame(ServerFrame::Ack { client_message_id, message, duplicate }) => {
                    view.on_ack(client_message_id, &message, duplicate);
                }
                Event::Frame(ServerFrame::Error { code, message, client_message_id, .. }) => {
                    panic!("error frame {code:?} for {client_message_id:?}: {message}");
                }
                Event::Frame(_) => {} // conversation state, typing, read
                Event::Closed { code, reason } => {
                    view.ends.push(format!("close {code} {reason}"));
                    continue 'connection;
                }
                Event::Dropped(why) => {
                    view.ends.push(why);
                    continue 'connection;
                }
            }
        }
    }
    sender.await.unwrap().unwrap();
    let cuts = cutter.await.unwrap();

    let history = guest_history(&server.api, &guest.access_token).await;
    let duplicates = view.assert_sends_resolved(&history);
    view.assert_matches_store(&history);
    assert_eq!(
        history.len(),
        1 + AGENT_MESSAGES + view.sent.len(),
        "one system entry, the agent's and the guest's messages"
    );
    assert!(
        view.ends.iter().all(|e| !e.starts_with("close ")),
        "a cut network sends no close frame: {:?}",
        view.ends
    );
    // Five cuts (four random, one after the burst); one may land on the handshake of the
    // connection before it, so at least four resumed connections after the first.
    assert!(
        connections >= 5 && cuts.len() == 4,
        "cuts at {cuts:?} (point, connections live) + the burst; {connections} connections; failed connects \
         {connect_failures:?}; ends {:?}",
        view.ends
    );
    let (burst_ids, burst_stored) = burst.expect("the burst happened");
    if burst_stored {
        for id in &burst_ids {
            let acks = &view.acks[id];
            assert!(
                acks.iter().all(|(_, dup)| *dup),
                "{id} was stored before the cut, so its resend is a duplicate: {acks:?}"
            );
        }
    }
    assert!(!view.resent.is_empty(), "some sends were resent after a cut");
    println!(
        "entries {}, guest sends {} ({} resent, {duplicates} duplicate acks), cuts at agent messages {cuts:?} + 1 after \
         the burst (stored first: {burst_stored}), connections {connections}, failed connects {}, ends {:?}, {:?}",
        history.len(),
        view.sent.len(),
        view.resent.len(),
        connect_failures.len(),
        view.ends,
        started.elapsed()
    );
}
