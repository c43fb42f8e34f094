//! `porch`: one binary that serves, administers and explains.
//!
//! - `settings`: configuration from file, environment and flags (in rising precedence).
//! - `config`: `porch config check|default|doc`, from the same tables as `settings`.
//! - `serve`: the server on the embedded store.
//! - `admin`: clients, deployments, agents, keys; `routing`: `agents set` and `queues`;
//!   `wrapups`: a deployment's wrap-up codes.
//! - `webhooks`: `porch webhooks`, endpoints, dead letters and test deliveries.
//! - `canned`: `porch canned-replies`, a deployment's canned replies for agents.
//! - `attachments`: `porch attachments usage`, the files each deployment keeps.
//! - `identity_keys`: the keys a deployment's backend signs identity tokens with.
//! - `inspect`: `porch token inspect`, offline token decoding.
//! - `doctor`: `porch doctor`, which replays a client's handshake and says what to fix.
//! - `health`: `porch health`, the probe of a container's or an init system's health check.
//! - `logging`: the server's log, as text or JSON lines.
//! - `retire`: `porch keys retire`, old signing keys removed once no token can use them.
//! - `nofile`: the open-file limit, raised at start, and `connections_max` derived from it.

mod accounts;
mod admin;
mod attachments;
mod bots;
mod canned;
mod config;
mod customers;
mod demo_banner;
mod doctor;
mod health;
mod identity_keys;
mod inspect;
mod logging;
mod nofile;
mod retire;
mod routing;
mod serve;
mod settings;
mod webhooks;
mod wrapups;

use std::process::ExitCode;

/// mimalloc rather than glibc's malloc: a handshake or a send allocates and frees many short
/// lived buffers across two threads, where glibc spends a tenth of the CPU (S2, BENCHMARKS.md).
/// The `mimalloc` feature (on by default) is turned off only to profile the heap, since heaptrack
/// and massif see the system allocator's calls and not mimalloc's.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

/// Porch: a self-hosted web messaging gateway. Guests chat with agents through the Guest API.
#[derive(Parser)]
#[command(name = "porch", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (HTTP API and WebSocket gateway) on the embedded store.
    Serve(Box<settings::ServeArgs>),
    /// OAuth clients: the customer's backends that create guest sessions.
    #[command(subcommand)]
    Clients(admin::ClientsCommand),
    /// Deployments: websites or channels, with allowed origins, token lifetime and queue.
    #[command(subcommand)]
    Deployments(admin::DeploymentsCommand),
    /// Guest sessions.
    #[command(subcommand)]
    Guests(admin::GuestsCommand),
    /// Customers: erase one (docs/identity.md, "Erasure").
    #[command(subcommand)]
    Customers(customers::CustomersCommand),
    /// Agents: the people (or bots) who answer guests.
    #[command(subcommand)]
    Agents(admin::AgentsCommand),
    /// Bots: a deployment's automated participants (docs/bots.md).
    #[command(subcommand)]
    Bots(bots::BotsCommand),
    /// Queues: how their conversations are routed to agents.
    #[command(subcommand)]
    Queues(routing::QueuesCommand),
    /// Wrap-up codes: what an agent's close records, per deployment (docs/routing.md).
    #[command(subcommand)]
    Wrapups(wrapups::WrapupsCommand),
    /// Token signing keys.
    #[command(subcommand)]
    Keys(admin::KeysCommand),
    /// Webhook endpoints: where a deployment's events are delivered (Standard Webhooks).
    #[command(subcommand)]
    Webhooks(webhooks::WebhooksCommand),
    /// Identity keys: what a deployment's backend signs identity tokens with (docs/identity.md).
    #[command(subcommand)]
    IdentityKeys(identity_keys::IdentityKeysCommand),
    /// Canned replies: texts agents insert by typing `/shortcut` in the console, per deployment.
    #[command(subcommand)]
    CannedReplies(canned::CannedRepliesCommand),
    /// Attachments: the files deployments keep (docs/attachments.md).
    #[command(subcommand)]
    Attachments(attachments::AttachmentsCommand),
    /// Tokens.
    #[command(subcommand)]
    Token(inspect::TokenCommand),
    /// The configuration: check it without opening the store, write a complete file, print
    /// the reference of every setting and limit.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Find out why a client cannot connect: replays the handshake and says what to fix.
    Doctor(doctor::DoctorArgs),
    /// Ask a running server whether it is ready (GET /readyz; --live: /livez). Exit status 0
    /// when it is, 1 when not: for health checks (the container image has no curl).
    Health(health::HealthArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A failed health check exits 1, which container runtimes read as "unhealthy" (2 is
    // reserved there); every other command's failure exits 2.
    let failure = if matches!(cli.command, Command::Health(_)) { 1 } else { 2 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(*args).await,
            Command::Clients(c) => admin::clients(c).await,
            Command::Deployments(c) => admin::deployments(c).await,
            Command::Agents(c) => admin::agents(c).await,
            Command::Guests(c) => admin::guests(c).await,
            Command::Bots(c) => bots::run(c).await,
            Command::Customers(c) => customers::run(c).await,
            Command::Queues(c) => routing::queues(c).await,
            Command::Wrapups(c) => wrapups::run(c).await,
            Command::Keys(c) => admin::keys(c).await,
            Command::Webhooks(c) => webhooks::run(c).await,
            Command::IdentityKeys(c) => identity_keys::run(c).await,
            Command::CannedReplies(c) => canned::run(c).await,
            Command::Attachments(c) => attachments::run(c).await,
            Command::Token(c) => inspect::run(c),
            Command::Config(c) => config::run(c),
            Command::Doctor(args) => doctor::run(args).await,
            Command::Health(args) => health::run(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("porch: {err:#}");
            ExitCode::from(failure)
        }
    }
}
