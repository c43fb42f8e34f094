//! Resumes racing live traffic: no gap and no duplicate at the seam.

use super::*;

/// A guest that reconnects with `afterSeq` while the agent keeps sending gets the replay and
/// then the live entries with no gap and no duplicate at the seam, 20 times in a row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_resume_races_live_traffic_without_gap_or_duplicate() {
    const ROUNDS: usize = 20;
    let started = Instant::now();
    let mut rng = Rng::from_clock();
    let server = TestServer::start_with(lift_flood_limits).await;
    let guest = server.guest().await;
    let agent = server.agent().await;
    // The first reply assigns the conversation; after it four senders race (the hub may then
    // publish out of commit order, which sessions must absorb).
    server
        .agent_api
        .agent_send(&agent.access_token, &guest.conversation_id, "first", "hello")
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..4)
        .map(|s| {
            let api = server.agent_api.clone();
            let stop = stop.clone();
            let (token, conversation) = (agent.access_token.clone(), guest.conversation_id.clone());
            tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) && i < 5_000 {
                    api.agent_send(
                        &token,
                        &conversation,
                        &format!("s{s}-{i}"),
                        &format!("live {s}-{i}"),
                    )
                    .await
                    .map_err(|e| format!("{s}-{i}: {e}"))?;
                    i += 1;
                }
                Ok::<usize, String>(i)
            })
        })
        .collect();

    let mut view = GuestView::default();
    let (mut socket, ready) =
        connect_ready(&guest.gateway_url, &guest.access_token, Some(0)).await.unwrap();
    check_resumed(&ready, 0).unwrap();
    let mut rounds = Vec::new();
    for round in 0..ROUNDS {
        // Read a few live entries, then go away (half the time with a close frame, half the
        // time just dropping the connection) and come straight back.
        let want = 1 + rng.below(8) as usize;
        for _ in 0..want {
            let frame = socket
                .wait_for(WAIT, |f| matches!(f, ServerFrame::Message { .. }))
                .await
                .unwrap_or_else(|seen| {
                    panic!("round {round}: no live entry after seq {}; saw {seen:?}", view.last)
                });
            view.on_message(message_of(&frame).clone(), &format!("round {round}, live"));
        }
        if round % 2 == 0 {
            socket.close().await;
        } else {
            drop(socket);
        }
        let after = view.last;
        // Stay away until a few entries were committed meanwhile, so there is always something
        // to replay while more keep coming.
        let missed = 1 + rng.below(5);
        timeout(WAIT, async {
            while server
                .api
                .guest_history(&guest.access_token, "after=0&limit=1")
                .await
                .unwrap()
                .last_seq
                < after + missed
            {
                tokio::time::sleep(Duration::from_millis(2)).await; // polling the store's head
            }
        })
        .await
        .unwrap_or_else(|_| {
            panic!("round {round}: the senders stopped: no {missed} new entries after {after}")
        });
        let (s, ready) =
            connect_ready(&guest.gateway_url, &guest.access_token, Some(after)).await.unwrap();
        check_resumed(&ready, after).unwrap_or_else(|e| panic!("round {round}: {e}"));
        socket = s;
        let replayed = ready.resume.as_ref().unwrap().replayed;
        // The replay, then at least one live entry: the seam between them is what is tested.
        for i in 0..=replayed {
            let frame = socket
                .wait_for(WAIT, |f| matches!(f, ServerFrame::Message { .. }))
                .await
                .unwrap_or_else(|seen| {
                    panic!("round {round}: entry {i} after ready {ready:?} missing; saw {seen:?}")
                });
            let context = if i < replayed { "replayed" } else { "first live after the replay" };
            view.on_message(
                message_of(&frame).clone(),
                &format!("round {round}, afterSeq {after}, {context}"),
            );
        }
        rounds.push(replayed);
    }
    stop.store(true, Ordering::SeqCst);
    let mut sent = 0;
    for sender in senders {
        sent += sender.await.unwrap().unwrap();
    }
    let head =
        server.api.guest_history(&guest.access_token, "after=0&limit=1").await.unwrap().last_seq;
    while view.last < head {
        let frame = socket
            .wait_for(WAIT, |f| matches!(f, ServerFrame::Message { .. }))
            .await
            .unwrap_or_else(|seen| {
                panic!("catching up: stuck at {} of {head}; saw {seen:?}", view.last)
            });
        view.on_message(message_of(&frame).clone(), "catching up");
    }
    let history = guest_history(&server.api, &guest.access_token).await;
    assert_eq!(history.len(), 2 + sent);
    view.assert_matches_store(&history);
    assert!(rounds.iter().all(|r| *r > 0), "every resume had entries to replay: {rounds:?}");
    println!("{} entries; replayed per resume {rounds:?}; {:?}", history.len(), started.elapsed());
}
