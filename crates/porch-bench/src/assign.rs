//! S8, assignment latency (issue 18): how long from a visitor's first message until an agent
//! hears of the conversation: its `offer` on an agent's socket, or, on an auto-accept queue
//! (`--auto-accept`), the `conversation` frame that says it is assigned.
//!
//! Open loop: conversation `i` starts at `start + i / rate`, whatever happened to the earlier
//! ones. Starting one is what the widget does with a visitor's first message: create the guest
//! session (which makes the conversation, waiting in the queue) through the guests' node,
//! then post the message. `agents` agents, connected to the agents' node (the other node of
//! two), are `available` and accept every offer at once, so the queue drains and nobody is at
//! capacity. The latency of a conversation is "heard by the first agent − intended start";
//! a conversation no agent heard of within the drain is lost (the run is broken).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt};
use porch_wire::frame::ServerFrame;
use porch_wire::rest::{ConversationState, CreateGuestRequest};
use tokio_tungstenite::tungstenite::Message;

use crate::cluster::Nodes;
use crate::delivery::open_loop;
use crate::porch::{Setup, connect_ready, create_agent};
use crate::server::Paths;
use crate::stats::{Counters, Latencies, Progress, Report};
use crate::ws::Ws;

/// How long to wait for the last conversations after the last start.
const DRAIN: Duration = Duration::from_secs(15);

#[derive(Clone, Debug)]
pub struct Params {
    pub rate: u64,
    pub secs: u64,
    pub agents: usize,
    /// Measure to the assignment on an auto-accept queue, rather than to the offer.
    pub auto_accept: bool,
}

/// Per conversation, whichever of its start and its first hearing came first (the offer can
/// beat the answer to the request that made it); the second one records the latency.
struct Timeline {
    by_conversation: Mutex<HashMap<String, Slot>>,
    latencies: Latencies,
    heard: Counters,
}

enum Slot {
    Started(Instant),
    Heard(Instant),
    Done,
}

impl Timeline {
    fn started(&self, id: String, intended: Instant) {
        let mut map = self.by_conversation.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&id) {
            Some(Slot::Heard(at)) => {
                let latency = at.saturating_duration_since(intended);
                map.insert(id, Slot::Done);
                self.record(latency);
            }
            Some(Slot::Started(_) | Slot::Done) => {}
            None => {
                map.insert(id, Slot::Started(intended));
            }
        }
    }

    fn heard(&self, id: &str, at: Instant) {
        let mut map = self.by_conversation.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(id) {
            Some(Slot::Started(intended)) => {
                let latency = at.saturating_duration_since(*intended);
                map.insert(id.to_owned(), Slot::Done);
                self.record(latency);
            }
            Some(Slot::Done | Slot::Heard(_)) => {}
            None => {
                map.insert(id.to_owned(), Slot::Heard(at));
            }
        }
    }

    fn record(&self, latency: Duration) {
        self.latencies.record(latency);
        self.heard.add_ok();
    }
}

pub async fn run(paths: &Paths, nodes: &mut Nodes, setup: &Setup, p: &Params) -> Result<Report> {
    let timeline = Arc::new(Timeline {
        by_conversation: Mutex::default(),
        latencies: Latencies::new(),
        heard: Counters::default(),
    });
    for a in 0..p.agents {
        let token = create_agent(paths, nodes.agents(), &format!("bench-agent-{a}")).await?;
        let mut ws = connect_ready(nodes.agents(), &token, None)
            .await
            .with_context(|| format!("agent {a}{}", nodes.agents().log_tail()))?;
        ws.send(Message::text(r#"{"type":"status","status":"available"}"#)).await?;
        tokio::spawn(agent(ws, timeline.clone(), p.auto_accept));
    }
    let total = p.rate * p.secs;
    let what = if p.auto_accept { "assignment" } else { "offer" };
    let _progress = Progress::start(
        format!("S8 first message → {what} {}", nodes.name()),
        timeline.heard.clone(),
    );
    let errors = Counters::default();
    let cpu = nodes.cpu_meter()?;
    let setup = Arc::new(Setup {
        api: setup.api.clone(),
        client_token: setup.client_token.clone(),
        deployment_id: setup.deployment_id.clone(),
    });
    let epoch = Instant::now();
    let start = open_loop(p.rate, p.secs, epoch, |i, intended_us| {
        let intended = epoch + Duration::from_micros(intended_us);
        tokio::spawn(first_message(setup.clone(), timeline.clone(), errors.clone(), i, intended));
    })
    .await;
    let drain_until = Instant::now() + DRAIN;
    while timeline.heard.ok() + errors.errors() < total && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    nodes.check_alive()?;
    let heard = timeline.heard.ok();
    let mut report = Report {
        scenario: "S8".into(),
        target: nodes.name().into(),
        params: format!("{}/s, {} agents, to {what}", p.rate, p.agents),
        ops: heard,
        errors: errors.errors(),
        secs,
        rate: heard as f64 / secs,
        latency_ms: timeline.latencies.summary(),
        server_cpu_us_per_op: cpu.per_op(total),
        server_rss_kib: nodes.rss_kib(),
        ..Default::default()
    };
    report.extra("started", total);
    report.extra("lost", total.saturating_sub(heard + errors.errors()));
    Ok(report)
}

/// Conversation `i`: the guest session, then the first message, as the widget does.
async fn first_message(
    setup: Arc<Setup>,
    timeline: Arc<Timeline>,
    errors: Counters,
    i: u64,
    intended: Instant,
) {
    let request = CreateGuestRequest {
        deployment_id: setup.deployment_id.clone(),
        display_name: Some(format!("bench-{i}")),
        ..Default::default()
    };
    let session = match setup.api.create_guest(&setup.client_token, &request).await {
        Ok(session) => session,
        Err(e) => {
            eprintln!("  guest {i}: {e}");
            errors.add_error();
            return;
        }
    };
    timeline.started(session.conversation_id.clone(), intended);
    let sent = setup.api.guest_send(&session.access_token, "first", "Hello, I need help").await;
    if let Err(e) = sent {
        eprintln!("  guest {i}'s first message: {e}");
    }
}

/// An agent: hears offers (and accepts each at once) or, on an auto-accept queue, the
/// conversations assigned; the first agent to hear of a conversation times it.
async fn agent(ws: Ws, timeline: Arc<Timeline>, auto_accept: bool) {
    let (mut sink, mut stream) = ws.split();
    while let Some(Ok(message)) = stream.next().await {
        let Message::Text(text) = message else { continue };
        let at = Instant::now();
        let wanted = if auto_accept { r#"{"type":"conversation""# } else { r#"{"type":"offer""# };
        if !text.starts_with(wanted) {
            continue;
        }
        match serde_json::from_str::<ServerFrame>(text.as_str()) {
            Ok(ServerFrame::Offer { conversation, .. }) => {
                timeline.heard(&conversation.id, at);
                let accept =
                    format!(r#"{{"type":"accept","conversationId":"{}"}}"#, conversation.id);
                if sink.send(Message::text(accept)).await.is_err() {
                    return;
                }
            }
            Ok(ServerFrame::Conversation { conversation })
                if conversation.state == ConversationState::Assigned =>
            {
                timeline.heard(&conversation.id, at);
            }
            _ => {}
        }
    }
}
