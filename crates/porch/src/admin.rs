//! `porch clients|deployments|agents|keys`: administration on the same store as `serve`,
//! usable while the server runs (SQLite in WAL mode lets both processes share the file).

use anyhow::{Result, bail};
use clap::Subcommand;
use porch_core::store::Account;
use porch_server::admin;
use serde_json::json;

use crate::settings::{StoreArgs, open_store};

#[derive(Subcommand)]
pub enum ClientsCommand {
    /// Create an OAuth client. Its secret is printed once.
    Create {
        #[arg(long)]
        name: String,
        /// Scopes granted (repeatable). Known: guests, notices, webhooks, erasure.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Print the created client as JSON (secret included, once).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List OAuth clients (never their secrets).
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Give the client a new secret (printed once) and refuse every token issued before it
    /// (`token_revoked`). The old secret stops working at once.
    ResetSecret {
        /// The client's id (cli_…), as `porch clients list` shows it.
        id: String,
        /// Print the id and the new secret as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Disable the client: its token requests and every token it holds are refused
    /// (`client_disabled`) until `porch clients enable`. Its guests' sessions go on.
    Disable {
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Enable a disabled client again: its secret and unexpired tokens work again.
    Enable {
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Delete a client that created no guest (one that did is kept: disable it instead).
    Delete {
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
pub enum DeploymentsCommand {
    /// Create a deployment.
    Create {
        #[arg(long)]
        name: String,
        /// Exact browser origin allowed to connect, e.g. https://shop.example (repeatable).
        #[arg(long = "origin")]
        origins: Vec<String>,
        /// Queue new conversations go to.
        #[arg(long, default_value = "default")]
        queue: String,
        /// Lifetime of guest access tokens, in seconds.
        #[arg(long, default_value_t = porch_core::limits::GUEST_TOKEN_TTL_SECS)]
        guest_token_ttl_secs: u64,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List deployments.
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Change a deployment: add or remove origins, move new conversations to another queue,
    /// change the guest token lifetime, the widget's greeting, reply time and offline form.
    /// What is not named stays; live sessions see origin changes at their next request.
    Update {
        id: String,
        /// An origin to allow, e.g. https://www.shop.example (repeatable).
        #[arg(long = "add-origin")]
        add_origins: Vec<String>,
        /// An origin to stop allowing (repeatable).
        #[arg(long = "remove-origin")]
        remove_origins: Vec<String>,
        /// Queue new conversations go to (existing ones stay where they are).
        #[arg(long)]
        queue: Option<String>,
        /// Lifetime of guest access tokens issued from now on, in seconds.
        #[arg(long)]
        guest_token_ttl_secs: Option<u64>,
        /// What the widget greets a new visitor with, in your words (at most 500 characters).
        #[arg(long, conflicts_with = "clear_greeting")]
        greeting: Option<String>,
        /// Show no greeting.
        #[arg(long)]
        clear_greeting: bool,
        /// How soon your team usually answers, in minutes; the widget says it in the
        /// visitor's language ("usually replies within 5 minutes").
        #[arg(long, conflicts_with = "clear_reply_time")]
        reply_within_mins: Option<u32>,
        /// Say nothing about reply times.
        #[arg(long)]
        clear_reply_time: bool,
        /// While no agent of the queue is available (and no bot starts it), the widget asks a
        /// new visitor for an email and a message instead of opening the live chat: true (the
        /// default) or false.
        #[arg(long)]
        offline_form: Option<bool>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Disable a deployment: its guests' tokens are refused (`deployment_disabled`) and live
    /// sessions close within one heartbeat interval.
    Disable {
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Enable a disabled deployment again.
    Enable {
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Set the notice every guest of a deployment sees, or clear it with --clear. Guests
    /// already connected get it within one heartbeat interval (the backend's
    /// `PUT .../deployments/{id}/notice` reaches them at once); new ones in `ready`.
    Notice {
        id: String,
        /// The notice text, e.g. "Closed on 24 December".
        #[arg(long, required_unless_present = "clear", conflicts_with = "clear")]
        text: Option<String>,
        #[arg(long)]
        clear: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
pub enum GuestsCommand {
    /// Revoke a guest session: its tokens are refused (`guest_revoked`) and its live sessions
    /// close within one heartbeat interval.
    Revoke {
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
pub enum AgentsCommand {
    /// Create an agent. Its secret (login password) is printed once.
    Create {
        /// Login name, unique.
        #[arg(long)]
        name: String,
        /// Queues whose conversations the agent sees (repeatable).
        #[arg(long = "queue", default_value = "default")]
        queues: Vec<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List agents (never their secrets).
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Set an agent's capacity and queues (docs/routing.md).
    Set(crate::routing::AgentSetArgs),
    /// Give the agent a new secret (printed once) and refuse every token issued before it
    /// (`token_revoked`). The old secret stops working at once.
    ResetSecret {
        /// The agent's login name.
        name: String,
        /// Print the id and the new secret as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Disable the agent: its login and every token it holds are refused (`agent_disabled`)
    /// until `porch agents enable`.
    Disable {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Enable a disabled agent again: its secret and unexpired tokens work again.
    Enable {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Delete an agent holding no open conversation; its tokens are refused and its live
    /// sessions end within one heartbeat interval. Its past messages stay in the logs.
    Delete {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Add a new signing key: it signs from now on; older keys keep verifying. Running
    /// servers pick it up within 30 s.
    Rotate {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove the old signing keys no valid token can still use: a key is kept until its
    /// successor has been signing for the longest token lifetime (plus the leeway and the
    /// servers' key re-read), and the newest key always stays. Prints what it removed and
    /// when the others can go.
    Retire {
        /// The longest token lifetime your servers use, in seconds, when it is longer than
        /// what this command sees (the defaults, the config file's limits, the
        /// PORCH_*_TOKEN_TTL_SECS variables, the deployments' guest token lifetimes).
        #[arg(long, value_name = "SECS")]
        token_ttl_secs: Option<u64>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn disabled(enabled: bool) -> &'static str {
    if enabled { "" } else { "  (disabled)" }
}

fn print(as_json: bool, value: serde_json::Value, human: String) {
    if as_json {
        println!("{value}");
    } else {
        println!("{human}");
    }
}

pub async fn clients(command: ClientsCommand) -> Result<()> {
    match command {
        ClientsCommand::Create { name, scopes, json, store } => {
            let store = open_store(&store).await?;
            let created = admin::create_client(store.as_ref(), &name, scopes)
                .await
                .map_err(anyhow::Error::msg)?;
            let c = &created.record;
            let value = json!({ "id": c.id, "name": c.name, "scopes": c.scopes, "secret": created.secret, "createdAtMs": c.created_at_ms });
            print(
                json,
                value,
                format!("client {} ({})\nsecret {}  (shown once)", c.id, c.name, created.secret),
            );
        }
        ClientsCommand::List { json, store } => {
            let list = open_store(&store).await?.clients().await?;
            let value = json!(list.iter().map(|c| json!({ "id": c.id, "name": c.name, "scopes": c.scopes, "createdAtMs": c.created_at_ms, "enabled": c.standing.enabled })).collect::<Vec<_>>());
            let human = list
                .iter()
                .map(|c| {
                    format!("{}  {}  scopes: {}", c.id, c.name, c.scopes.join(" "))
                        + disabled(c.standing.enabled)
                })
                .collect::<Vec<_>>()
                .join("\n");
            print(json, value, human);
        }
        ClientsCommand::ResetSecret { id, json, store } => {
            crate::accounts::reset_secret(Account::Client, &id, json, &store).await?
        }
        ClientsCommand::Disable { id, store } => {
            crate::accounts::set_enabled(Account::Client, &id, false, &store).await?
        }
        ClientsCommand::Enable { id, store } => {
            crate::accounts::set_enabled(Account::Client, &id, true, &store).await?
        }
        ClientsCommand::Delete { id, store } => {
            crate::accounts::delete(Account::Client, &id, &store).await?
        }
    }
    Ok(())
}

fn deployment_json(d: &porch_core::model::DeploymentRecord) -> serde_json::Value {
    json!({ "id": d.id, "name": d.name, "origins": d.origins, "queue": d.queue, "guestTokenTtlSecs": d.guest_token_ttl_secs, "enabled": d.enabled, "createdAtMs": d.created_at_ms, "notice": d.notice, "greeting": d.welcome.greeting, "replyWithinMins": d.welcome.reply_within_mins, "offlineForm": d.welcome.offline_form })
}

pub async fn deployments(command: DeploymentsCommand) -> Result<()> {
    match command {
        DeploymentsCommand::Create { name, origins, queue, guest_token_ttl_secs, json, store } => {
            if guest_token_ttl_secs == 0 {
                bail!("--guest-token-ttl-secs must be at least 1");
            }
            let store = open_store(&store).await?;
            let spec = admin::DeploymentSpec { name, origins, queue, guest_token_ttl_secs };
            let d =
                admin::create_deployment(store.as_ref(), spec).await.map_err(anyhow::Error::msg)?;
            print(
                json,
                deployment_json(&d),
                format!(
                    "deployment {} ({})  origins: {}  queue: {}",
                    d.id,
                    d.name,
                    d.origins.join(" "),
                    d.queue
                ),
            );
        }
        DeploymentsCommand::List { json, store } => {
            let list = open_store(&store).await?.deployments().await?;
            let human = list
                .iter()
                .map(|d| {
                    format!(
                        "{}  {}  origins: {}  queue: {}{}",
                        d.id,
                        d.name,
                        d.origins.join(" "),
                        d.queue,
                        if d.enabled { "" } else { "  (disabled)" }
                    ) + &d
                        .notice
                        .as_ref()
                        .map_or(String::new(), |n| format!("  notice: {}", n.text))
                })
                .collect::<Vec<_>>()
                .join("\n");
            print(json, json!(list.iter().map(deployment_json).collect::<Vec<_>>()), human);
        }
        DeploymentsCommand::Update {
            id,
            add_origins,
            remove_origins,
            queue,
            guest_token_ttl_secs,
            greeting,
            clear_greeting,
            reply_within_mins,
            clear_reply_time,
            offline_form,
            json,
            store,
        } => {
            let store = open_store(&store).await?;
            let changes = admin::DeploymentChanges {
                add_origins,
                remove_origins,
                queue,
                guest_token_ttl_secs,
                greeting: if clear_greeting { Some(None) } else { greeting.map(Some) },
                reply_within_mins: if clear_reply_time {
                    Some(None)
                } else {
                    reply_within_mins.map(Some)
                },
                offline_form,
            };
            let d = admin::update_deployment(store.as_ref(), &id, changes)
                .await
                .map_err(anyhow::Error::msg)?;
            print(
                json,
                deployment_json(&d),
                format!(
                    "deployment {} ({})  origins: {}  queue: {}  guest tokens: {} s",
                    d.id,
                    d.name,
                    d.origins.join(" "),
                    d.queue,
                    d.guest_token_ttl_secs
                ),
            );
        }
        DeploymentsCommand::Disable { id, store } => set_enabled(&store, &id, false).await?,
        DeploymentsCommand::Enable { id, store } => set_enabled(&store, &id, true).await?,
        DeploymentsCommand::Notice { id, text, clear: _, store } => {
            set_notice(&store, &id, text).await?
        }
    }
    Ok(())
}

async fn set_notice(store: &StoreArgs, id: &str, text: Option<String>) -> Result<()> {
    let max = porch_core::limits::Limits::default().text_chars_max;
    if let Some(text) = &text {
        if text.trim().is_empty() {
            bail!("--text is empty; to remove the notice, use --clear");
        }
        if text.chars().count() > max {
            bail!("--text has {} characters, the limit is {max}", text.chars().count());
        }
    }
    let notice = text.map(|text| porch_wire::rest::Notice {
        id: porch_core::ids::new_id(porch_core::ids::prefix::NOTICE),
        deployment_id: id.to_owned(),
        text,
        created_at_ms: porch_core::time::now_ms(),
    });
    let set = notice.is_some();
    if !open_store(store).await?.set_deployment_notice(id, notice).await? {
        bail!("no deployment `{id}`; see `porch deployments list`");
    }
    println!(
        "deployment {id}: notice {}; connected guests see it within one heartbeat interval",
        if set { "set" } else { "cleared" }
    );
    Ok(())
}

async fn set_enabled(store: &StoreArgs, id: &str, enabled: bool) -> Result<()> {
    if !open_store(store).await?.set_deployment_enabled(id, enabled).await? {
        bail!("no deployment `{id}`; see `porch deployments list`");
    }
    println!("deployment {id} {}", if enabled { "enabled" } else { "disabled" });
    Ok(())
}

pub async fn guests(command: GuestsCommand) -> Result<()> {
    let GuestsCommand::Revoke { id, store } = command;
    if !open_store(&store).await?.revoke_guest(&id).await? {
        bail!("no guest `{id}`");
    }
    println!("guest {id} revoked");
    Ok(())
}

pub async fn agents(command: AgentsCommand) -> Result<()> {
    match command {
        AgentsCommand::Create { name, queues, json, store } => {
            let store = open_store(&store).await?;
            let created = admin::create_agent(store.as_ref(), &name, queues)
                .await
                .map_err(anyhow::Error::msg)?;
            let a = &created.record;
            let value = json!({ "id": a.id, "name": a.name, "queues": a.queues, "secret": created.secret, "createdAtMs": a.created_at_ms });
            print(
                json,
                value,
                format!(
                    "agent {} ({})  queues: {}\nsecret {}  (shown once)",
                    a.id,
                    a.name,
                    a.queues.join(" "),
                    created.secret
                ),
            );
        }
        AgentsCommand::List { json, store } => {
            let list = open_store(&store).await?.agents().await?;
            let value = json!(list.iter().map(agent_json).collect::<Vec<_>>());
            let human = list.iter().map(agent_line).collect::<Vec<_>>().join("\n");
            print(json, value, human);
        }
        AgentsCommand::Set(args) => crate::routing::set_agent(args).await?,
        AgentsCommand::ResetSecret { name, json, store } => {
            crate::accounts::reset_secret(Account::Agent, &name, json, &store).await?
        }
        AgentsCommand::Disable { name, store } => {
            crate::accounts::set_enabled(Account::Agent, &name, false, &store).await?
        }
        AgentsCommand::Enable { name, store } => {
            crate::accounts::set_enabled(Account::Agent, &name, true, &store).await?
        }
        AgentsCommand::Delete { name, store } => {
            crate::accounts::delete(Account::Agent, &name, &store).await?
        }
    }
    Ok(())
}

pub async fn keys(command: KeysCommand) -> Result<()> {
    match command {
        KeysCommand::Retire { token_ttl_secs, json, store } => {
            crate::retire::run(&store, token_ttl_secs, json).await?;
        }
        KeysCommand::Rotate { store } => {
            let key = admin::rotate_key(open_store(&store).await?.as_ref())
                .await
                .map_err(anyhow::Error::msg)?;
            println!(
                "new signing key {}; it signs from now on, older keys keep verifying",
                key.kid
            );
        }
    }
    Ok(())
}

/// An agent as `porch agents list --json` shows it: `displayName` and `avatarUrl` are null
/// while unset (guests then read the login name and no picture).
fn agent_json(a: &porch_core::model::AgentRecord) -> serde_json::Value {
    json!({
        "id": a.id, "name": a.name, "queues": a.queues, "createdAtMs": a.created_at_ms,
        "enabled": a.standing.enabled, "supervisor": a.supervisor,
        "displayName": a.profile.display_name, "avatarUrl": a.profile.avatar_url,
    })
}

/// An agent on one line of `porch agents list`, with what guests read of it, as
/// `porch agents set` prints it.
fn agent_line(a: &porch_core::model::AgentRecord) -> String {
    format!("{}  {}  queues: {}  {}", a.id, a.name, a.queues.join(" "), profile_text(&a.profile))
        + if a.supervisor { "  (supervisor)" } else { "" }
        + disabled(a.standing.enabled)
}

/// What guests read of an agent, for people: `display name: …  avatar: …`.
pub fn profile_text(profile: &porch_core::model::AgentProfile) -> String {
    format!(
        "display name: {}  avatar: {}",
        profile.display_name.as_deref().unwrap_or("(its name)"),
        profile.avatar_url.as_deref().unwrap_or("(none)")
    )
}
