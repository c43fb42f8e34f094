//! `porch serve`: open the store, bind, set up the demo when asked (`--demo`), serve until a
//! signal.

use anyhow::{Context, Result};
use porch_server::{ServerConfig, admin};

use crate::settings::{ServeArgs, Settings, connect_store};

pub async fn run(args: ServeArgs) -> Result<()> {
    let mut settings = Settings::resolve(&args)?;
    crate::logging::init(settings.log_format);
    let stop = shutdown_signal()?;
    let configured = settings.connections_max_set.then_some(settings.limits.connections_max);
    let (connections_max, connections_from) = crate::nofile::connections_max(configured);
    settings.limits.connections_max = connections_max;
    tracing::info!(connections_max, source = %connections_from, "connection ceiling");
    let store = connect_store(
        settings.store.as_deref(),
        &settings.data_dir,
        settings.sqlite_synchronous,
        settings.postgres_pool_size,
    )
    .await?;
    let listener = porch_server::bind(settings.listen, settings.limits.listen_backlog)
        .with_context(|| format!("listening on {}", settings.listen))?;
    let bound = listener.local_addr()?;
    let internal = match settings.metrics_listen {
        Some(addr) => Some(
            porch_server::bind(addr, settings.limits.listen_backlog)
                .with_context(|| format!("listening on {addr} (metrics_listen)"))?,
        ),
        None => None,
    };
    warn_conformance_echo(settings.conformance_echo);
    let public_url = settings.public_url.clone().unwrap_or_else(|| format!("http://{bound}"));
    let config = ServerConfig {
        public_url: public_url.clone(),
        issuer: settings.issuer.clone(),
        limits: settings.limits.clone(),
        allow_query_token: settings.allow_query_token,
        webhook_targets: settings.webhook_targets,
        conformance_echo: settings.conformance_echo,
        node_id: settings.node_id.clone(),
        broker_url: settings.broker.clone(),
        broker_subject: settings.broker_subject.clone(),
        broker_access: settings.broker_access.clone(),
        trusted_proxies: settings.trusted_proxies.clone(),
        data_dir: matches!(settings.store.as_deref(), None | Some("sqlite"))
            .then(|| settings.data_dir.clone()),
        metrics_internal: internal.is_some(),
        attachment_types: settings.attachment_types.clone(),
    };
    let public_origin = config.public_origin().to_string();
    let (state, shutdown_tx) =
        porch_server::build_state(store.clone(), config).await.map_err(anyhow::Error::msg)?;
    demo(&settings, store.as_ref(), &public_origin, &public_url).await?;
    let durability = porch_core::store::Store::durability(store.as_ref()).await?;
    tracing::info!(data_dir = %settings.data_dir.display(), store = %durability.settings, "store open");
    let metrics_line = match &internal {
        Some(listener) => format!("; metrics on http://{}/metrics", listener.local_addr()?),
        None => String::new(),
    };
    println!(
        "listening on http://{bound} (public URL {public_url}, gateway {}); connections_max {connections_max} {connections_from}{metrics_line}",
        state.config.gateway_url()
    );
    if let Some(listener) = internal {
        tokio::spawn(porch_server::serve_internal(listener, state.clone()));
    }
    porch_server::serve(listener, state, shutdown_tx, stop).await?;
    tracing::info!("stopped");
    Ok(())
}

/// With `--demo`, the demo set-up, made once whoever asks (a restart, the other nodes of a
/// cluster starting together): the one start that creates it prints its secrets. Without it,
/// nothing is created; an empty store gets a hint instead.
async fn demo(
    settings: &Settings,
    store: &dyn porch_core::store::Store,
    public_origin: &str,
    public_url: &str,
) -> Result<()> {
    if !settings.demo {
        if store.deployments().await?.is_empty() {
            println!(
                "No deployment yet: create one with `porch deployments create` (README, \"Operating Porch\"), \
                 or start with --demo for a demo set-up."
            );
        }
        return Ok(());
    }
    match admin::create_demo(store, public_origin).await.map_err(anyhow::Error::msg)? {
        Some(demo) => print_demo(&demo, public_url),
        None => println!(
            "--demo: the demo set-up exists already; its secrets were printed by the start that made it."
        ),
    }
    Ok(())
}

/// The conformance echo answers anyone without a token (`Settings` allows it on a loopback
/// address only): loud.
fn warn_conformance_echo(on: bool) {
    if on {
        tracing::warn!(
            path = porch_server::gateway::echo::CONFORMANCE_ECHO_PATH,
            "CONFORMANCE MODE: an unauthenticated WebSocket echo is mounted; for the Autobahn TestSuite only, never in production"
        );
    }
}

/// Listens for SIGTERM and Ctrl-C (SIGINT) from the moment it is called, which is before the
/// start line: an orchestrator that stops a container right after it started still gets the
/// clean stop (4200 to every socket, the writer drained), not the default action of SIGTERM.
/// The returned future resolves on either signal.
fn shutdown_signal() -> Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    Ok(async move {
        tokio::select! { _ = term.recv() => {}, _ = interrupt.recv() => {} }
    })
}

fn print_demo(demo: &admin::Demo, public_url: &str) {
    println!("{}", crate::demo_banner::text(demo, public_url));
}
