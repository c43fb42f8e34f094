//! One S1b notice: the coordinator sets the deployment's notice on node 1 (as a customer's
//! backend would) with its send time in the text, and every worker reports, per guest, its
//! clock at receipt − that time. Same machine, same clock: no offset to correct.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use porch_client::api::decode;
use porch_wire::rest::{Notice, NoticeState, SetNoticeRequest};

use super::wire::{Answer, Order, notice_text, now_us};
use super::workers::Workers;
use crate::cluster::Nodes;
use crate::porch::Setup;
use crate::stats::{Latencies, LatencyMs};

/// The figure S1b's goal names: a guest reached within this counts as on time.
pub const WITHIN_MS: u64 = 2_000;
/// Extra time for the workers' answers beyond the notice timeout (their latency lists).
const ANSWER_MARGIN: Duration = Duration::from_secs(30);

/// What one notice did.
pub struct Outcome {
    pub seq: u32,
    pub reached: u64,
    pub missed: u64,
    pub duplicated: u64,
    /// Connections ended by then, in all workers.
    pub closed: u64,
    pub within: u64,
    pub latency: Option<LatencyMs>,
    /// The PUT's round trip.
    pub put_ms: f64,
    /// Node CPU from just before the PUT until every worker answered.
    pub cpu_us: f64,
    pub cores: serde_json::Value,
}

/// Sends notice `seq` and gathers every worker's receipts; a guest without it after
/// `timeout` counts as missed.
pub async fn notice(
    setup: &Setup,
    nodes: &Nodes,
    workers: &mut Workers,
    seq: u32,
    timeout: Duration,
) -> Result<Outcome> {
    // The workers wait for this notice before it exists, so none of it is missed.
    let deadline_us = now_us() + timeout.as_micros() as u64;
    workers.send_all(&Order::Collect { seq, deadline_us })?;
    let meter = nodes.cpu_meter()?.with_harness(&workers.pids());
    let sent_us = now_us();
    let put = Instant::now();
    let notice = put_notice(setup, &notice_text(seq, sent_us)).await?;
    let put_ms = put.elapsed().as_secs_f64() * 1000.0;
    eprintln!("  notice {seq} ({}) set in {put_ms:.1} ms", notice.id);

    let latencies = Latencies::new();
    let mut outcome = Outcome {
        seq,
        reached: 0,
        missed: 0,
        duplicated: 0,
        closed: 0,
        within: 0,
        latency: None,
        put_ms,
        cpu_us: 0.0,
        cores: serde_json::Value::Null,
    };
    let mut answered = 0;
    while answered < workers.count() {
        let (w, answer) = workers.next(timeout + ANSWER_MARGIN).await?;
        if matches!(answer, Answer::Progress { .. }) {
            // A connect progress tick that left just after `Connected`.
            continue;
        }
        let Answer::Received { seq: got, latencies_us, missed, duplicated, closed } = answer else {
            bail!("worker {w} answered {answer:?} while notice {seq} was collected");
        };
        if got != seq {
            bail!("worker {w} answered for notice {got}, expected {seq}");
        }
        answered += 1;
        for us in latencies_us {
            latencies.record(Duration::from_micros(us));
            outcome.within += u64::from(us <= WITHIN_MS * 1000);
            outcome.reached += 1;
        }
        outcome.missed += missed;
        outcome.duplicated += duplicated;
        outcome.closed += closed;
    }
    outcome.cpu_us = meter.per_op(1).unwrap_or(0.0);
    outcome.cores = meter.cores();
    outcome.latency = latencies.summary();
    Ok(outcome)
}

/// `PUT …/deployments/{id}/notice` on node 1 with the client token.
async fn put_notice(setup: &Setup, text: &str) -> Result<Notice> {
    let path = porch_wire::DEPLOYMENT_NOTICE_PATH.replace("{deployment_id}", &setup.deployment_id);
    let request = setup
        .api
        .http()
        .put(setup.api.url(&path))
        .bearer_auth(&setup.client_token)
        .json(&SetNoticeRequest { text: text.into() });
    let state: NoticeState = decode(request.send().await)
        .await
        .with_context(|| {
            format!(
                "PUT {path}: does this porch have deployment notices (a build from before them \
                 answers 404; rebuild with `cargo build --release -p porch`)?"
            )
        })?
        .body;
    state.notice.context("the PUT answered no notice")
}
