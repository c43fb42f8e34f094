//! Porch's records for a run, made the way an operator and a customer's backend make them:
//! the CLI for the deployment, OAuth client and agents; the public REST API for guest
//! sessions and agent logins. Nothing here reaches into the server's internals.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures_util::{StreamExt, stream};
use porch_client::Api;
use porch_wire::rest::{CreateGuestRequest, GuestSession};

use crate::server::{Paths, Server, porch_command};
use crate::stats::{Counters, Progress};
use crate::ws::{Ws, connect, next_text};

/// Guest sessions created in parallel: enough to keep the server busy, few enough not to
/// queue thousands of requests.
const CREATE_CONCURRENCY: usize = 16;

pub struct Setup {
    pub api: Api,
    pub client_token: String,
    pub deployment_id: String,
}

pub fn cli_json(paths: &Paths, server: &Server, args: &[&str]) -> Result<serde_json::Value> {
    let data_dir = server.dir.as_ref().context("porch has a data dir")?.join("data");
    let output = porch_command(paths, &data_dir)
        .envs(server.cli_env.iter().map(|(k, v)| (k, v)))
        .args(args)
        .arg("--json")
        .output()?;
    if !output.status.success() {
        bail!("porch {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

fn field(value: &serde_json::Value, key: &str) -> Result<String> {
    value[key].as_str().map(str::to_string).with_context(|| format!("no `{key}` in {value}"))
}

/// A deployment and an OAuth client with the `guests` scope, and a client token.
pub async fn setup(paths: &Paths, server: &Server) -> Result<Setup> {
    setup_with_scopes(paths, server, &[porch_wire::scope::GUESTS]).await
}

/// `setup` with a client that has `scopes` (S1b's also sets the deployment's notice).
pub async fn setup_with_scopes(paths: &Paths, server: &Server, scopes: &[&str]) -> Result<Setup> {
    let deployment = cli_json(paths, server, &["deployments", "create", "--name", "bench"])?;
    let mut args = vec!["clients", "create", "--name", "bench"];
    for scope in scopes {
        args.extend(["--scope", scope]);
    }
    let client = cli_json(paths, server, &args)?;
    let api = Api::new(&format!("http://{}", server.addr));
    let token = api.client_token(&field(&client, "id")?, &field(&client, "secret")?).await?;
    Ok(Setup { api, client_token: token.access_token, deployment_id: field(&deployment, "id")? })
}

/// `n` guest sessions (each with its own conversation), through `POST /guests`.
pub async fn create_guests(setup: &Setup, n: usize) -> Result<Vec<GuestSession>> {
    create_guests_across(setup, std::slice::from_ref(&setup.api), n, CREATE_CONCURRENCY).await
}

/// `create_guests` through several nodes of a cluster in turn (guest `i` through
/// `apis[i % len]`, as a load balancer would), `concurrency` requests at a time in all.
pub async fn create_guests_across(
    setup: &Setup,
    apis: &[Api],
    n: usize,
    concurrency: usize,
) -> Result<Vec<GuestSession>> {
    let counters = Counters::default();
    let _progress = Progress::start(format!("creating {n} guests"), counters.clone());
    let results: Vec<Result<GuestSession>> = stream::iter(0..n)
        .map(|i| {
            let counters = counters.clone();
            let api = &apis[i % apis.len()];
            async move {
                let request = CreateGuestRequest {
                    deployment_id: setup.deployment_id.clone(),
                    display_name: Some(format!("bench-{i}")),
                    ..Default::default()
                };
                let session = api
                    .create_guest(&setup.client_token, &request)
                    .await
                    .with_context(|| format!("creating guest {i} through {}", api.base_url()))?;
                counters.add_ok();
                Ok(session)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    results.into_iter().collect()
}

/// Sets the bench deployment's queue (`default`) to assign its conversations to the chosen
/// agent without an offer (docs/routing.md, auto-accept), with the CLI as an operator would.
pub fn set_auto_accept(paths: &Paths, server: &Server) -> Result<()> {
    cli_json(paths, server, &["queues", "set", "default", "--auto-accept", "true"]).map(|_| ())
}

/// A new agent on the `default` queue (the bench deployment's), logged in over REST on
/// `server` (in a cluster, the node the agent then connects to).
pub async fn create_agent(paths: &Paths, server: &Server, name: &str) -> Result<String> {
    let agent = cli_json(paths, server, &["agents", "create", "--name", name])?;
    let session = Api::new(&format!("http://{}", server.addr))
        .agent_login(name, &field(&agent, "secret")?)
        .await?;
    Ok(session.access_token)
}

/// Opens a gateway connection with `token` and waits for its `ready`.
pub async fn connect_ready(
    server: &Server,
    token: &str,
    source: Option<std::net::IpAddr>,
) -> Result<Ws> {
    connect_ready_at(server.addr, &server.ws_url, token, source).await
}

/// `connect_ready` to a node known by its address and gateway URL (S1b's worker processes,
/// which have no `Server`).
pub async fn connect_ready_at(
    addr: std::net::SocketAddr,
    ws_url: &str,
    token: &str,
    source: Option<std::net::IpAddr>,
) -> Result<Ws> {
    let mut ws = connect(addr, ws_url, Some(token), source).await?;
    let first = next_text(&mut ws, Duration::from_secs(30)).await?;
    if !first.contains(r#""type":"ready""#) {
        bail!("first frame is not `ready`: {first}");
    }
    Ok(ws)
}
