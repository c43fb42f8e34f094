//! Porch's server: the HTTP API and the WebSocket gateway, over any `porch_core::Store`.
//!
//! # Layout
//! - `config`: where the server is reachable and its limits.
//! - `state`: what every handler shares (store, keys, hub, broker, config), and `publish`, the
//!   one way a live event leaves for the sessions that hear it.
//! - `error`: `ApiError`, the one shape of every refusal.
//! - `auth`: the one path from a token to a `Principal`, for REST and gateway alike.
//! - `signin`: the one path that checks a secret (throttled, bounded Argon2 work).
//! - `body`: JSON bodies with precise errors.
//! - `oauth`: `POST /api/v2/oauth/token` and introspection.
//! - `guests`: guest sessions and guest messages.
//! - `identity`: identity tokens a builder's backend signs for a known customer, redeemed once.
//! - `visitor`: a visitor's context (page, browser), checked when a session starts, read by agents.
//! - `customers`: a guest's customer (its `externalId`): its conversations, listed and read.
//! - `agents`: the agent API; `search`: an agent's search of its queues' conversations.
//! - `canned`: canned replies: set per deployment (CLI), read by agents beside a conversation.
//! - `agents`: the agent API.
//! - `attachments`: files both ways: upload and download URLs (signed grants), the streamed and
//!   checked upload, ranged downloads, images' previews, the sweep of abandoned uploads and of
//!   files past retention, storage use.
//! - `notices`: a deployment's notice, and the widget's configuration.
//! - `conversation`: sending into a conversation (the one path for every sender).
//! - `hub`: in-process live fan-out; `broker`: the same between the nodes of a cluster (NATS).
//! - `gateway`: the WebSocket upgrade and sessions.
//! - `standing`: the heartbeat re-checks of live guests, batched into few store reads.
//! - `admin`: creating clients, deployments, agents and keys (CLI and `--demo`).
//! - `ops`, `assets`, `metrics`: health endpoints, embedded pages, Prometheus counters;
//!   `csp`: the pages' Content-Security-Policy (their inline scripts by hash); `space`: the
//!   data directory's free space and full-disk refusals, for `/readyz` and `/metrics`.
//! - `openapi`: `GET /api/v2/openapi.json`, the REST API's OpenAPI document (`docs/openapi.json`).
//! - `listener`: the accept loop (header timeout, connections per address, shutdown).
//! - `throttle`: rate limits and per-key connection counts.
//! - `origins`: the origins some deployment lists, for the early `Origin` check and CORS;
//!   `cors`: the CORS answers built on it.
//! - `webhooks`: outbound webhooks (Standard Webhooks): the node's delivery loop over the
//!   store's outbox, and the endpoints API.
//!
//! # Shutdown
//! `serve` stops accepting on the shutdown signal, then tells every session (through a
//! `watch` channel) to close with 4200 so clients reconnect elsewhere and resume.

pub mod admin;
pub mod agents;
pub mod assets;
pub mod attachments;
pub mod auth;
pub mod availability;
pub mod body;
pub mod bots;
pub mod broker;
pub mod canned;
pub mod config;
pub mod conversation;
pub mod cors;
pub mod csp;
pub mod customers;
pub mod erasure;
pub mod error;
pub mod fallbacks;
pub mod gateway;
pub mod guest_view;
pub mod guests;
pub mod handover;
pub mod hub;
pub mod identity;
pub mod listener;
pub mod metrics;
pub mod notices;
pub mod oauth;
pub mod offers;
pub mod openapi;
pub mod ops;
pub mod origins;
pub mod periodic;
pub mod presence;
pub mod queue_position;
pub mod reopen;
pub mod routing;
pub mod search;
pub mod signin;
pub mod space;
pub mod standing;
pub mod state;
pub mod supervisor;
pub mod throttle;
pub mod visitor;
pub mod webhooks;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, delete, get, post, put};
use porch_core::limits::{KEY_REFRESH_MS, SESSIONS_CLOSE_GRACE_MS};
use porch_core::store::{Store, StoreError};
use porch_core::token::{Keyring, SigningKey};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{Semaphore, watch};

pub use config::ServerConfig;
pub use state::AppState;

/// Builds the shared state: makes sure a signing key exists and loads the keyring.
pub async fn build_state(
    store: Arc<dyn Store>,
    config: ServerConfig,
) -> Result<(AppState, watch::Sender<bool>), String> {
    config.limits.validate()?;
    let keys = first_keys(store.as_ref()).await.map_err(|e| e.to_string())?;
    let (shutdown_tx, shutdown) = watch::channel(false);
    let connections_max = config.limits.connections_max;
    let hub = Arc::new(hub::Hub::new(config.limits.connection_send_queue_frames_max));
    let broker: broker::SharedBroker = match &config.broker_url {
        Some(url) => {
            let node = config.node_id.clone();
            Some(
                broker::nats::NatsBroker::connect(
                    url,
                    &config.broker_access,
                    &config.broker_subject,
                    node,
                    hub.clone(),
                )
                .await?,
            )
        }
        None => None,
    };
    let throttles = Arc::new(throttle::Throttles::new(&config.limits));
    let password_checks = Arc::new(Semaphore::new(config.limits.password_checks_concurrent_max));
    let standings = standing::Standings::start(store.clone());
    let origins = Arc::new(origins::KnownOrigins::new(store.clone(), config.public_origin()));
    let webhooks = webhooks::Sender::new(config.webhook_targets, config.limits.webhook_timeout_ms)?;
    let space = Arc::new(space::DiskSpace::new(
        config.data_dir.clone(),
        config.limits.data_dir_free_warn_bytes,
    ));
    let state = AppState {
        store,
        space,
        standings,
        keys: Arc::new(state::Keys::new(Keyring::new(keys))),
        hub,
        config: Arc::new(config),
        connections: Arc::new(Semaphore::new(connections_max)),
        origins,
        throttles,
        password_checks,
        shutdown,
        broker,
        webhooks,
        presence: Arc::default(),
        offers: Arc::default(),
        availability: Arc::default(),
        queue_positions: Arc::default(),
        loads_moved: Arc::default(),
    };
    Ok((state, shutdown_tx))
}

/// The signing keys, after storing a first one if there is none. Nodes starting together on
/// an empty store each offer one; the store keeps exactly one, and every node signs with it.
async fn first_keys(store: &dyn Store) -> Result<Vec<SigningKey>, StoreError> {
    let keys = store.signing_keys().await?;
    if !keys.is_empty() {
        return Ok(keys);
    }
    store.add_first_signing_key(SigningKey::generate()).await?;
    store.signing_keys().await
}

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    use porch_wire::*;
    let body_limit = state.config.limits.http_body_bytes_max;
    // Endpoints a guest's browser calls from the customer's page: per-deployment CORS.
    let browser = Router::new()
        .route(GUEST_TOKEN_PATH, post(guests::refresh))
        .route(WIDGET_GUESTS_PATH, post(guests::create_for_widget))
        .route(WIDGET_CONFIG_PATH, get(notices::widget))
        .route(GUEST_MESSAGES_PATH, post(guests::post_message).get(guests::history))
        .route(GUEST_CONVERSATIONS_PATH, get(customers::list))
        .route(GUEST_QUEUE_PATH, get(guests::queue))
        .route(GUEST_IDENTITY_PATH, post(identity::identify))
        .route(GUEST_CONVERSATION_MESSAGES_PATH, get(customers::history))
        .route(GUEST_ATTACHMENTS_PATH, post(attachments::request::guest_upload))
        .route(GUEST_ATTACHMENT_PATH, get(attachments::request::guest_download))
        .route(ATTACHMENT_UPLOAD_PATH, put(attachments::upload::put))
        .route(ATTACHMENT_CONTENT_PATH, get(attachments::download::get))
        .route(ATTACHMENT_PREVIEW_PATH, get(attachments::preview::get))
        .layer(axum::middleware::from_fn_with_state(state.clone(), cors::layer));
    // The JSON API. Every answer is private to its caller and many carry a token: no cache
    // may keep one (RFC 6749 §5.1, RFC 6750 §5.3).
    let api = Router::new()
        .route(OAUTH_TOKEN_PATH, post(oauth::token).fallback(oauth::wrong_method))
        .route(GUESTS_PATH, post(guests::create))
        .route(OAUTH_INTROSPECT_PATH, post(oauth::introspect).fallback(oauth::wrong_method))
        .route(&format!("{GUESTS_PATH}/{{guest_id}}"), get(guests::get))
        .route(DEPLOYMENT_NOTICE_PATH, get(notices::get).put(notices::put).delete(notices::delete))
        .route(AGENT_LOGIN_PATH, post(agents::login))
        .route(AGENT_TOKEN_PATH, post(agents::refresh))
        .route(&format!("{AGENT_API_PREFIX}/conversations"), get(agents::list))
        .route(&format!("{AGENT_API_PREFIX}/conversations/search"), get(search::search))
        .route(
            &format!("{AGENT_API_PREFIX}/conversations/{{id}}/messages"),
            get(agents::history).post(agents::post_message),
        )
        .route(
            &format!("{AGENT_API_PREFIX}/conversations/{{id}}/customer"),
            get(customers::for_agent),
        )
        .route(&format!("{AGENT_API_PREFIX}/conversations/{{id}}/visitor"), get(visitor::for_agent))
        .route(
            &format!("{AGENT_API_PREFIX}/conversations/{{id}}/canned-replies"),
            get(canned::for_agent),
        )
        .route(&format!("{AGENT_API_PREFIX}/conversations/{{id}}/assign"), post(agents::assign))
        .route(&format!("{AGENT_API_PREFIX}/conversations/{{id}}/close"), post(agents::close))
        .route(&format!("{AGENT_API_PREFIX}/conversations/{{id}}/transfer"), post(agents::transfer))
        .route(&format!("{AGENT_API_PREFIX}/conversations/{{id}}/unassign"), post(agents::unassign))
        .route(WEBHOOK_ENDPOINTS_PATH, get(webhooks::api::list).post(webhooks::api::create))
        .route(WEBHOOK_ENDPOINT_PATH, delete(webhooks::api::delete))
        .route(WEBHOOK_SECRET_PATH, post(webhooks::manage::rotate))
        .route(WEBHOOK_DEAD_PATH, get(webhooks::manage::dead))
        .route(WEBHOOK_REPLAY_PATH, post(webhooks::manage::replay))
        .route(CUSTOMER_ERASURE_PATH, post(erasure::erase))
        .route(
            &format!("{AGENT_API_PREFIX}/status"),
            get(routing::get_status).put(routing::put_status),
        )
        .route(&format!("{AGENT_API_PREFIX}/conversations/{{id}}/handoff"), get(agents::handoff))
        .route(
            &format!("{AGENT_API_PREFIX}/conversations/{{id}}/handover"),
            get(crate::supervisor::handover_options),
        )
        .route(&format!("{AGENT_API_PREFIX}/supervisor/overview"), get(crate::supervisor::overview))
        .route(BOT_TOKEN_PATH, post(bots::api::token))
        .route(
            &format!("{BOT_API_PREFIX}/conversations/{{id}}/messages"),
            get(bots::api::history).post(bots::api::post_message),
        )
        .route(&format!("{BOT_API_PREFIX}/conversations/{{id}}/handoff"), post(bots::api::handoff))
        .route(AGENT_ATTACHMENTS_PATH, post(attachments::request::agent_upload))
        .route(AGENT_ATTACHMENT_PATH, get(attachments::request::agent_download))
        .merge(browser)
        .layer(axum::middleware::map_response(oauth::no_store));
    Router::new()
        .route("/livez", get(ops::livez))
        .route("/readyz", get(ops::readyz))
        // Not found here when `metrics_internal`: `serve_internal` serves it instead.
        .route("/metrics", get(metrics::handler))
        .route(OPENAPI_PATH, get(openapi::handler))
        // Every method reaches the handler, so a wrong one is told what to do (405 + JSON).
        .route(GATEWAY_PATH, any(gateway::upgrade))
        // Only with `conformance_echo` on (Autobahn; docs/conformance.md): nothing otherwise.
        .merge(gateway::echo::routes(&state))
        .merge(api)
        .fallback(assets::serve)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// What the internal listener serves (`metrics_listen`): metrics and health, nothing else.
fn internal_routes() -> Router<AppState> {
    Router::new()
        .route("/livez", get(ops::livez))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(metrics::internal_handler))
}

/// Serves `/metrics`, `/livez` and `/readyz` on `listener` (an internal address for
/// Prometheus and probes) until the server shuts down. Plain axum: no per-address limits, as
/// only the operator's own network reaches it.
pub async fn serve_internal(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let mut shutdown = state.shutdown.clone();
    let app = internal_routes().with_state(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stopping| *stopping).await;
        })
        .await
}

/// Binds a listener with an explicit backlog (tokio's `bind` uses 128, too small for
/// reconnect storms).
pub fn bind(addr: SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Serves until `signal` resolves, then shuts down cleanly.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown_tx: watch::Sender<bool>,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let refresher = tokio::spawn(refresh_keys(state.clone()));
    let deliveries = webhooks::dispatch::start(state.clone());
    let offers = tokio::spawn(offers::run(state.clone()));
    let fallbacks = tokio::spawn(fallbacks::run(state.clone()));
    let disabled_bots = tokio::spawn(bots::disabled::run(state.clone()));
    let sweep = tokio::spawn(attachments::sweep::run(state.clone()));
    let positions = tokio::spawn(queue_position::run(state.clone()));
    let loads = tokio::spawn(supervisor::live::run(state.clone()));
    let app = router(state.clone());
    listener::run(listener, state.clone(), app, shutdown_tx.clone(), signal).await;
    let _ = shutdown_tx.send(true);
    refresher.abort();
    // Attempts in flight are left to their leases (`webhooks::dispatch`).
    deliveries.abort();
    offers.abort();
    fallbacks.abort();
    disabled_bots.abort();
    sweep.abort();
    positions.abort();
    // It ends on the shutdown flag, dropping a read in flight: supervisors re-read on reconnect.
    let _ = loads.await;
    wait_for_sessions(&state).await;
    Ok(())
}

/// Sessions close with 4200 when the shutdown flag flips; returning before they have sent it
/// would let the process exit under them, and their clients would see a bare disconnect. Each
/// session holds a `connections_max` permit until it ends, so all permits back means all sent.
async fn wait_for_sessions(state: &AppState) {
    let all = u32::try_from(state.config.limits.connections_max).unwrap_or(u32::MAX);
    let grace = Duration::from_millis(SESSIONS_CLOSE_GRACE_MS);
    if tokio::time::timeout(grace, state.connections.acquire_many(all)).await.is_err() {
        let open = state.config.limits.connections_max - state.connections.available_permits();
        tracing::warn!(
            "shutdown: {open} sessions still closing after {SESSIONS_CLOSE_GRACE_MS} ms; leaving them"
        );
    }
}

async fn refresh_keys(state: AppState) {
    let mut shutdown = state.shutdown.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(KEY_REFRESH_MS)) => {}
            _ = shutdown.changed() => return,
        }
        match state.store.signing_keys().await {
            Ok(keys) if !keys.is_empty() => state.keys.replace(Keyring::new(keys)),
            Ok(_) => tracing::warn!("the store holds no signing keys; keeping the ones in memory"),
            Err(e) => tracing::warn!("could not refresh signing keys: {e}"),
        }
    }
}
