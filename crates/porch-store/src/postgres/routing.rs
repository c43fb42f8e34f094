//! Routing's records (docs/routing.md): agents' status, capacity, queues and load, and queues'
//! settings, as in the SQLite store's `routing`. Each is one statement. An agent's load moves
//! only inside an append's statement (`log::write`), where `agents_within_capacity` refuses
//! an assignment past the capacity it was checked against, whichever node sent it.

use porch_core::model::{AgentProfile, AgentRouting, QueueSettings};
use porch_core::queue::QueueStanding;
use porch_core::store::StoreError;
use porch_wire::rest::AgentStatus;
use tokio_postgres::types::ToSql;

use super::pool::Db;
use super::rows::{self, AGENT_ROUTING_COLUMNS, Context, QUEUE_COLUMNS};

pub(crate) async fn agent_routing(
    db: &Db,
    agent_id: &str,
) -> Result<Option<AgentRouting>, StoreError> {
    let doing = "reading an agent's routing";
    let client = db.client().await?;
    let sql = format!("SELECT {AGENT_ROUTING_COLUMNS} FROM agents WHERE id = $1");
    let statement = client.prepare_cached(&sql).await.context(doing)?;
    let found = client.query_opt(&statement, &[&agent_id]).await.context(doing)?;
    found.as_ref().map(|row| rows::agent_routing(row)).transpose()
}

/// Ties by id in byte order (`COLLATE "C"`), as SQLite does.
pub(crate) async fn queue_agents(db: &Db, queue: &str) -> Result<Vec<AgentRouting>, StoreError> {
    let doing = "listing a queue's agents";
    let client = db.client().await?;
    let sql = format!(
        "SELECT {AGENT_ROUTING_COLUMNS} FROM agents WHERE $1 = ANY(queues) \
         ORDER BY last_assigned_at_ms, id COLLATE \"C\""
    );
    let statement = client.prepare_cached(&sql).await.context(doing)?;
    let found = client.query(&statement, &[&queue]).await.context(doing)?;
    found.iter().map(|row| rows::agent_routing(row)).collect()
}

/// As SQLite's `queue_standing`; ties by id in byte order.
pub(crate) async fn queue_standing(
    db: &Db,
    queue: &str,
    waiting_max: u32,
    waits_max: u32,
) -> Result<QueueStanding, StoreError> {
    let doing = "reading a queue's positions and waits";
    let client = db.client().await?;
    let waiting_sql = "SELECT id FROM conversations WHERE queue = $1 AND state = 'waiting' \
                       ORDER BY created_at_ms, id COLLATE \"C\" LIMIT $2";
    let statement = client.prepare_cached(waiting_sql).await.context(doing)?;
    let found =
        client.query(&statement, &[&queue, &i64::from(waiting_max)]).await.context(doing)?;
    let waiting = found.iter().map(|row| rows::first_id(row)).collect::<Result<_, _>>()?;
    let waits_sql = format!(
        "SELECT c.created_at_ms, ({FIRST_ASSIGNED}) FROM conversations c \
         WHERE c.queue = $1 AND c.state <> 'waiting' AND ({FIRST_ASSIGNED}) IS NOT NULL \
         ORDER BY c.updated_at_ms DESC LIMIT $2"
    );
    let statement = client.prepare_cached(&waits_sql).await.context(doing)?;
    let found = client.query(&statement, &[&queue, &i64::from(waits_max)]).await.context(doing)?;
    let waits_ms = found.iter().map(|row| rows::wait_ms(row)).collect::<Result<_, _>>()?;
    Ok(QueueStanding { waiting, waits_ms })
}

/// When conversation `c` was first assigned (NULL if never).
const FIRST_ASSIGNED: &str = "SELECT m.created_at_ms FROM messages m \
     WHERE m.conversation_id = c.id AND m.event = 'assigned' ORDER BY m.seq LIMIT 1";

pub(crate) async fn queue_settings(
    db: &Db,
    names: &[String],
) -> Result<Vec<QueueSettings>, StoreError> {
    let doing = "reading queue settings";
    let client = db.client().await?;
    let sql = format!(
        "SELECT {QUEUE_COLUMNS} FROM queues WHERE name = ANY($1) ORDER BY name COLLATE \"C\""
    );
    let statement = client.prepare_cached(&sql).await.context(doing)?;
    let found = client.query(&statement, &[&names]).await.context(doing)?;
    found.iter().map(|row| rows::queue(row)).collect()
}

/// One agent column an operator or the agent sets.
#[derive(Clone, Debug)]
pub(crate) enum AgentChange {
    Status(AgentStatus),
    Capacity(Option<u32>),
    Queues(Vec<String>),
    Supervisor(bool),
    Profile(AgentProfile),
}

/// Applies `change` to the agent; false when no agent has this id.
pub(crate) async fn change_agent(
    db: &Db,
    agent_id: &str,
    change: &AgentChange,
) -> Result<bool, StoreError> {
    let doing = format!("changing agent {agent_id}");
    let client = db.client().await?;
    // Fixed statements per change: no column name ever comes from outside.
    let (sql, value): (&str, Box<dyn ToSql + Sync + Send>) = match change {
        AgentChange::Status(status) => {
            ("UPDATE agents SET status = $2 WHERE id = $1", Box::new(status.as_str()))
        }
        AgentChange::Capacity(capacity) => {
            ("UPDATE agents SET capacity = $2 WHERE id = $1", Box::new(capacity.map(i64::from)))
        }
        AgentChange::Queues(queues) => {
            ("UPDATE agents SET queues = $2 WHERE id = $1", Box::new(queues.clone()))
        }
        AgentChange::Supervisor(supervisor) => {
            ("UPDATE agents SET supervisor = $2 WHERE id = $1", Box::new(*supervisor))
        }
        // Two values: one array of the name and the URL.
        AgentChange::Profile(profile) => (
            "UPDATE agents SET display_name = ($2::text[])[1], avatar_url = ($2::text[])[2] WHERE id = $1",
            Box::new(vec![profile.display_name.clone(), profile.avatar_url.clone()]),
        ),
    };
    let statement = client.prepare_cached(sql).await.context(&doing)?;
    let changed = client.execute(&statement, &[&agent_id, &*value]).await.context(&doing)?;
    Ok(changed == 1)
}

pub(crate) async fn set_queue(db: &Db, settings: &QueueSettings) -> Result<(), StoreError> {
    let doing = format!("setting queue {}", settings.name);
    let client = db.client().await?;
    let statement = client
        .prepare_cached(
            "INSERT INTO queues (name, capacity_default, auto_accept, manual_take, bot_id, \
                                 fallback_after_secs, fallback_action, fallback_text) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (name) DO UPDATE SET capacity_default = excluded.capacity_default, \
                 auto_accept = excluded.auto_accept, manual_take = excluded.manual_take, \
                 bot_id = excluded.bot_id, fallback_after_secs = excluded.fallback_after_secs, \
                 fallback_action = excluded.fallback_action, fallback_text = excluded.fallback_text",
        )
        .await
        .context(&doing)?;
    let fallback = settings.fallback.as_ref();
    let action = fallback.map(|f| f.action.parts());
    let params: &[&(dyn ToSql + Sync)] = &[
        &settings.name,
        &settings.capacity_default.map(i64::from),
        &settings.auto_accept,
        &settings.manual_take,
        &settings.bot_id,
        &fallback.map(|f| i64::from(f.after_secs)),
        &action.map(|(name, _)| name),
        &action.map(|(_, text)| text),
    ];
    client.execute(&statement, params).await.context(&doing)?;
    Ok(())
}
