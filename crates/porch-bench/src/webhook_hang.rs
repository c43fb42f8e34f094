//! S9: a receiver that hangs does not slow a guest's messages (docs/webhooks.md, "Nothing else
//! waits"). S3's delivery run (guests → an agent, open loop, latency from each message's
//! intended time) twice, each on a fresh Porch: first with no webhook endpoint, then with one
//! endpoint subscribed to every event whose receiver accepts connections and never answers, so
//! every message adds an outbox row, the endpoint's slots stay full of attempts waiting for
//! `webhook_timeout_ms`, and the rest queue behind them. The two rows' p99 compare; the second
//! also reports the connections the receiver held and the most attempts in flight seen during
//! the run (`porch_webhooks_in_flight`, sampled twice a second), which show it really hung.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use tokio::net::TcpListener;

use crate::cluster::Nodes;
use crate::delivery;
use crate::porch;
use crate::server::{NodeOptions, Paths, start_porch_node};
use crate::stats::Report;

/// Both rows: without, then with the hanging endpoint.
pub async fn run(paths: &Paths, guests: usize, p: &delivery::Params) -> Result<Vec<Report>> {
    let mut reports = Vec::new();
    for hanging in [false, true] {
        reports.push(row(paths, guests, p, hanging).await?);
    }
    Ok(reports)
}

async fn row(paths: &Paths, guests: usize, p: &delivery::Params, hanging: bool) -> Result<Report> {
    // The receiver is on 127.0.0.1 over http: allowed for this server only.
    let options = NodeOptions {
        serve_args: vec!["--webhook-allow-http".into(), "--webhook-allow-private-targets".into()],
        cli_env: Vec::new(),
    };
    eprintln!("starting porch ({})", if hanging { "a hanging webhook" } else { "no webhook" });
    let server = start_porch_node(paths, &options)?;
    let setup = porch::setup(paths, &server).await?;
    let accepted = Arc::new(AtomicU64::new(0));
    let receiver = if hanging {
        let (url, task) = hanging_receiver(accepted.clone()).await?;
        let args = [
            "webhooks",
            "add",
            "--deployment",
            setup.deployment_id.as_str(),
            "--url",
            url.as_str(),
            "--webhook-allow-http",
            "--webhook-allow-private-targets",
        ];
        porch::cli_json(paths, &server, &args).context("registering the hanging endpoint")?;
        Some(task)
    } else {
        None
    };
    let mut nodes = Nodes::single(server);
    let in_flight_max = Arc::new(AtomicU64::new(0));
    let sampler = tokio::spawn(sample_in_flight(
        porch_client::Api::new(setup.api.base_url()),
        in_flight_max.clone(),
    ));
    let mut report = delivery::run(paths, &mut nodes, &setup, guests, p).await?;
    sampler.abort();
    report.params = format!(
        "{}, {}",
        report.params,
        if hanging { "1 hanging webhook endpoint" } else { "no webhook endpoint" }
    );
    if hanging {
        report.extra("webhook_connections", accepted.load(Ordering::Relaxed));
        report.extra("webhooks_in_flight_max", in_flight_max.load(Ordering::Relaxed));
    }
    if let Some(task) = receiver {
        task.abort();
    }
    Ok(report)
}

/// A receiver that accepts every connection, reads nothing and answers nothing; it holds the
/// sockets until it is aborted. Counts the connections.
async fn hanging_receiver(
    accepted: Arc<AtomicU64>,
) -> Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hooks", listener.local_addr()?);
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            accepted.fetch_add(1, Ordering::Relaxed);
            held.push(socket);
        }
    });
    Ok((url, task))
}

/// Keeps the most attempts in flight seen, twice a second, until aborted.
async fn sample_in_flight(api: porch_client::Api, max: Arc<AtomicU64>) {
    loop {
        if let Ok(now) = in_flight(&api).await {
            max.fetch_max(now, Ordering::Relaxed);
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// `porch_webhooks_in_flight` from the server's `/metrics`.
async fn in_flight(api: &porch_client::Api) -> Result<u64> {
    let text = api.http().get(api.url("/metrics")).send().await?.text().await?;
    let line = text
        .lines()
        .find(|l| l.starts_with("porch_webhooks_in_flight "))
        .context("no porch_webhooks_in_flight in /metrics")?;
    line.rsplit(' ').next().unwrap_or_default().parse().context("porch_webhooks_in_flight")
}
