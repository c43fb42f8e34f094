//! The crash test (issue 6): conversations at a steady rate while the server is killed with
//! SIGKILL at random moments and restarted, with clients that reconnect, resume and resend.
//! Then an independent checker holds every acknowledged write and every client's view
//! against the store file.
//!
//! Defaults: 50 conversations, 250 guest + 50 agent messages/s offered, 40 s, 22 kills.
//! Guests also drop their connections on purpose now and then and reconnect after a
//! jittered pause, so resumes replay entries written while they were away.
//! `CRASH_SECONDS`, `CRASH_KILLS`, `CRASH_CONVERSATIONS`, `CRASH_RATE` and `CRASH_SEED`
//! override them (for longer runs by hand; CI runs the defaults).

mod agent;
mod checker;
mod endpoints;
mod full_disk;
mod group;
mod guest;
mod ledger;
mod server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use porch_client::Api;
use porch_wire::rest::CreateGuestRequest;
use tokio::sync::watch;

use crate::endpoints::Endpoint;
use crate::guest::Phase;
use crate::ledger::Ledger;
use crate::server::{Porch, cli_json};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// How long draining (every outbox acked, every view caught up) may take.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_repeated_sigkill_exactly_once_in_order() {
    let seconds = setting("CRASH_SECONDS", 40);
    let kills = setting("CRASH_KILLS", 22);
    let conversations = setting("CRASH_CONVERSATIONS", 50) as usize;
    let rate = setting("CRASH_RATE", 250);
    let seed = setting("CRASH_SEED", porch_core::time::now_ms() as u64) | 1;
    println!(
        "crash test: {conversations} conversations, {rate} guest msg/s, {seconds} s, {kills} kills, seed {seed}"
    );

    let dir = std::env::temp_dir().join(porch_core::ids::new_id("crs"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut porch = Porch::new(dir.clone());
    let deployment = cli_json(&dir, &["deployments", "create", "--name", "crash"]);
    let client = cli_json(&dir, &["clients", "create", "--name", "crash", "--scope", "guests"]);
    let agent = cli_json(&dir, &["agents", "create", "--name", "crash-agent"]);
    porch.start();

    let api = Api::new(&porch.base_url());
    assert_durable(&api).await;
    let client_token = api
        .client_token(client["id"].as_str().unwrap(), client["secret"].as_str().unwrap())
        .await
        .unwrap()
        .access_token;
    let mut sessions = Vec::new();
    for i in 0..conversations {
        let request = CreateGuestRequest {
            deployment_id: deployment["id"].as_str().unwrap().into(),
            display_name: Some(format!("guest {i}")),
            ..Default::default()
        };
        sessions.push(api.create_guest(&client_token, &request).await.unwrap());
    }
    let agent_session =
        api.agent_login("crash-agent", agent["secret"].as_str().unwrap()).await.unwrap();

    let ledger = Arc::new(Ledger::default());
    let (phase_tx, phase) = watch::channel(Phase::Sending);
    let period = Duration::from_secs_f64(conversations as f64 / rate as f64);
    let mut tasks = Vec::new();
    for (index, session) in sessions.iter().cloned().enumerate() {
        let guest_seed = seed.wrapping_mul(index as u64 + 7) | 1;
        let guest = guest::Guest {
            index,
            seed: guest_seed,
            session,
            endpoints: vec![Endpoint::new(&porch.base_url())],
            current: 0,
            ledger: ledger.clone(),
            period,
            phase: phase.clone(),
            expected_notice: None,
            notice: None,
        };
        tasks.push(tokio::spawn(guest.run()));
    }
    let agent = agent::Agent {
        session: agent_session,
        endpoints: vec![Endpoint::new(&porch.base_url())],
        current: 0,
        ledger: ledger.clone(),
        conversations: sessions.iter().map(|s| s.conversation_id.clone()).collect(),
        period: Duration::from_millis(20),
        phase: phase.clone(),
        seed,
    };
    tasks.push(tokio::spawn(agent.run()));

    let started = Instant::now();
    let (mut porch, kills_done) =
        tokio::task::spawn_blocking(move || kill_loop(porch, seconds, kills, seed)).await.unwrap();
    let sending_secs = started.elapsed().as_secs_f64();
    let attempted_while_sending = ledger.attempts.load(std::sync::atomic::Ordering::Relaxed);
    phase_tx.send(Phase::Draining).unwrap();
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, futures_util::future::join_all(tasks)).await;
    assert!(
        drained.is_ok(),
        "clients did not drain within {DRAIN_TIMEOUT:?}: {} sends still unacked",
        ledger.unacked()
    );
    porch.stop();

    let (counts, problems) = checker::check(&dir.join("porch.db"), &ledger);
    let violations = ledger.violations.lock().unwrap().clone();
    let offered_rate = attempted_while_sending as f64 / sending_secs;
    println!(
        "kills {kills_done}; resumes {} replaying {}; offered {offered_rate:.0} msg/s; sent {} acked {} (duplicate acks {}) stored {} delivered {} lost {} duplicated {} view mismatches {} client-seen violations {}",
        ledger.resumes.load(std::sync::atomic::Ordering::Relaxed),
        ledger.replayed.load(std::sync::atomic::Ordering::Relaxed),
        counts.attempted,
        counts.acked,
        ledger.duplicate_acks.load(std::sync::atomic::Ordering::Relaxed),
        counts.stored,
        counts.delivered,
        counts.lost,
        counts.duplicated,
        counts.view_mismatches,
        violations.len(),
    );
    checker::assert_clean(&counts, &problems, &violations, seed);
    assert!(kills_done >= kills.min(20), "only {kills_done} kills happened");
    assert!(offered_rate >= 200.0 || rate < 200, "offered only {offered_rate:.0} msg/s");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The acked-means-durable claim rests on these settings; `/readyz` reads them back from the
/// writer's own connection.
async fn assert_durable(api: &Api) {
    let readyz: serde_json::Value =
        api.http().get(api.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(readyz["store"]["settings"], "journal_mode=wal synchronous=full", "{readyz}");
    assert_eq!(readyz["store"]["survivesPowerLoss"], true);
}

/// Kills and restarts the server `kills` times at random moments within `seconds`.
fn kill_loop(mut porch: Porch, seconds: u64, kills: u64, mut seed: u64) -> (Porch, u64) {
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let gap_ms = seconds * 1000 / (kills + 1);
    let begin = Instant::now();
    let end = begin + Duration::from_secs(seconds);
    let mut done = 0;
    while done < kills && Instant::now() < end {
        // The k-th kill falls uniformly in [k·gap + gap/2, k·gap + 3·gap/2) from the start:
        // random moments at the same mean rate. Scheduled from the start, not from the last
        // restart, so a slow restart (a loaded host) shortens the next wait instead of pushing
        // every later kill out of the run.
        let at_ms = gap_ms * done + gap_ms / 2 + random() % gap_ms.max(1);
        let at = begin + Duration::from_millis(at_ms);
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
        porch.kill();
        porch.start();
        done += 1;
    }
    std::thread::sleep(end.saturating_duration_since(Instant::now()));
    (porch, done)
}

/// The graceful path (docs/protocol.md): on SIGTERM every open session gets close 4200
/// ("reconnect now") before the process exits, not a bare disconnect. 500 guests make the
/// closes take long enough that a process exiting early would cut some of them off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_every_session_with_4200_before_exiting() {
    const GUESTS: usize = 500;
    let dir = std::env::temp_dir().join(porch_core::ids::new_id("trm"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut porch = Porch::new(dir.clone());
    let deployment = cli_json(&dir, &["deployments", "create", "--name", "term"]);
    let client = cli_json(&dir, &["clients", "create", "--name", "term", "--scope", "guests"]);
    porch.start();
    let api = Api::new(&porch.base_url());
    let (token, request) = server::guest_request(&api, &client, &deployment).await;
    let mut sockets = Vec::new();
    for _ in 0..GUESTS {
        let session = api.create_guest(&token, &request).await.unwrap();
        let mut socket =
            porch_client::Gateway::connect(&session.gateway_url, &session.access_token, None)
                .await
                .unwrap();
        let ready = socket
            .wait_for(Duration::from_secs(5), |f| {
                matches!(f, porch_wire::frame::ServerFrame::Ready(_))
            })
            .await;
        assert!(ready.is_ok(), "no ready: {ready:?}");
        sockets.push(socket);
    }
    let waiters: Vec<_> = sockets
        .into_iter()
        .map(|mut s| tokio::spawn(async move { s.wait_close(Duration::from_secs(15)).await }))
        .collect();
    tokio::task::spawn_blocking(move || porch.stop()).await.unwrap();
    let mut codes = std::collections::BTreeMap::new();
    for waiter in waiters {
        let code = match waiter.await.unwrap() {
            Ok((code, _)) => code.to_string(),
            Err(events) => format!("no close frame: {:?}", events.last()),
        };
        *codes.entry(code).or_insert(0) += 1;
    }
    assert_eq!(codes.get("4200"), Some(&GUESTS), "every session closed with 4200: {codes:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
