//! Routing's records (docs/routing.md): agents' status, capacity, queues and load, and queues'
//! settings. Reads run on the pool; writes on the writer thread, like every other write. An
//! agent's load moves only inside an append (`log`), through `claim` and `release`, in the
//! append's savepoint: the writer is the lock, so the check and the change are one step.

use porch_core::model::{AgentProfile, AgentRouting, QueueSettings};
use porch_core::queue::QueueStanding;
use porch_core::store::{Assignee, StoreError};
use porch_wire::rest::AgentStatus;
use rusqlite::{Connection, OptionalExtension, params};

use super::rows::{self, AGENT_ROUTING_COLUMNS, Context, QUEUE_COLUMNS, to_json};

pub(crate) fn agent_routing(
    conn: &Connection,
    agent_id: &str,
) -> Result<Option<AgentRouting>, StoreError> {
    let sql = format!("SELECT {AGENT_ROUTING_COLUMNS} FROM agents WHERE id = ?1");
    rows::first(conn, &sql, [agent_id], rows::agent_routing, "reading an agent's routing")
}

/// Agents are few (people), so scanning them beats an index on a JSON list.
pub(crate) fn queue_agents(
    conn: &Connection,
    queue: &str,
) -> Result<Vec<AgentRouting>, StoreError> {
    let sql = format!(
        "SELECT {AGENT_ROUTING_COLUMNS} FROM agents \
         WHERE EXISTS (SELECT 1 FROM json_each(agents.queues) WHERE value = ?1) \
         ORDER BY last_assigned_at_ms, id"
    );
    rows::all(conn, &sql, [queue], rows::agent_routing, "listing a queue's agents")
}

/// A queue's guests' positions and its recent waits (`Store::queue_standing`). Both walk the
/// queue's conversations; a wait's first assignment is near the start of its log, which the
/// subquery reads in `seq` order until it finds it.
pub(crate) fn queue_standing(
    conn: &Connection,
    queue: &str,
    waiting_max: u32,
    waits_max: u32,
) -> Result<QueueStanding, StoreError> {
    let waiting = rows::all(
        conn,
        "SELECT id FROM conversations WHERE queue = ?1 AND state = 'waiting' \
         ORDER BY created_at_ms, id LIMIT ?2",
        params![queue, i64::from(waiting_max)],
        rows::first_id,
        "reading a queue's waiting conversations",
    )?;
    let waits_ms = rows::all(
        conn,
        &format!(
            "SELECT c.created_at_ms, ({FIRST_ASSIGNED}) FROM conversations c \
             WHERE c.queue = ?1 AND c.state <> 'waiting' AND ({FIRST_ASSIGNED}) IS NOT NULL \
             ORDER BY c.updated_at_ms DESC LIMIT ?2"
        ),
        params![queue, i64::from(waits_max)],
        rows::wait_ms,
        "reading a queue's recent waits",
    )?;
    Ok(QueueStanding { waiting, waits_ms })
}

/// When conversation `c` was first assigned (NULL if never).
const FIRST_ASSIGNED: &str = "SELECT m.created_at_ms FROM messages m \
     WHERE m.conversation_id = c.id AND m.event = 'assigned' ORDER BY m.seq LIMIT 1";

pub(crate) fn queue_settings(
    conn: &Connection,
    names: &[String],
) -> Result<Vec<QueueSettings>, StoreError> {
    let sql = format!(
        "SELECT {QUEUE_COLUMNS} FROM queues WHERE name IN (SELECT value FROM json_each(?1)) \
         ORDER BY name"
    );
    rows::all(conn, &sql, [to_json(names)], rows::queue, "reading queue settings")
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
pub(crate) fn change_agent(
    conn: &Connection,
    agent_id: &str,
    change: &AgentChange,
) -> Result<bool, StoreError> {
    let doing = format!("changing agent {agent_id}");
    // Fixed statements per change: no column name ever comes from outside.
    let changed = match change {
        AgentChange::Status(status) => conn
            .prepare_cached("UPDATE agents SET status = ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![agent_id, status.as_str()])),
        AgentChange::Capacity(capacity) => conn
            .prepare_cached("UPDATE agents SET capacity = ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![agent_id, capacity])),
        AgentChange::Queues(queues) => conn
            .prepare_cached("UPDATE agents SET queues = ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![agent_id, to_json(queues)])),
        AgentChange::Supervisor(supervisor) => conn
            .prepare_cached("UPDATE agents SET supervisor = ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![agent_id, supervisor])),
        AgentChange::Profile(profile) => conn
            .prepare_cached("UPDATE agents SET display_name = ?2, avatar_url = ?3 WHERE id = ?1")
            .and_then(|mut s| {
                s.execute(params![agent_id, profile.display_name, profile.avatar_url])
            }),
    }
    .context(&doing)?;
    Ok(changed == 1)
}

pub(crate) fn set_queue(conn: &Connection, settings: &QueueSettings) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO queues (name, capacity_default, auto_accept, manual_take, bot_id, \
                             fallback_after_secs, fallback_action, fallback_text) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
         ON CONFLICT (name) DO UPDATE SET capacity_default = excluded.capacity_default, \
             auto_accept = excluded.auto_accept, manual_take = excluded.manual_take, bot_id = excluded.bot_id, \
             fallback_after_secs = excluded.fallback_after_secs, fallback_action = excluded.fallback_action, \
             fallback_text = excluded.fallback_text",
    )
    .and_then(|mut s| {
        let fallback = settings.fallback.as_ref();
        let action = fallback.map(|f| f.action.parts());
        s.execute(params![
            settings.name,
            settings.capacity_default,
            settings.auto_accept,
            settings.manual_take,
            settings.bot_id,
            fallback.map(|f| f.after_secs),
            action.map(|(name, _)| name),
            action.map(|(_, text)| text)
        ])
    })
    .context(&format!("setting queue {}", settings.name))?;
    Ok(())
}

/// The assignee's load, for `decide_append`; `None` when no agent has this id.
pub(crate) fn load(conn: &Connection, agent_id: &str) -> Result<Option<u32>, StoreError> {
    let count: Option<i64> = conn
        .prepare_cached("SELECT assigned_count FROM agents WHERE id = ?1")
        .and_then(|mut s| s.query_row([agent_id], |row| row.get(0)).optional())
        .context(&format!("reading the load of {agent_id}"))?;
    count
        .map(|c| {
            u32::try_from(c)
                .map_err(|_| StoreError::Unavailable(format!("agent {agent_id} has a load of {c}")))
        })
        .transpose()
}

/// One more conversation for the assignee, checked against the capacity it was assigned
/// under (the table's CHECK is the backstop of `decide_append`'s check, as in PostgreSQL).
pub(crate) fn claim(conn: &Connection, assignee: &Assignee, at_ms: i64) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE agents SET assigned_count = assigned_count + 1, assigned_count_cap = ?2, \
                 last_assigned_at_ms = ?3 \
             WHERE id = ?1 AND assigned_count < ?2",
        )
        .and_then(|mut s| s.execute(params![assignee.agent_id, assignee.capacity, at_ms]))
        .context(&format!("assigning to {}", assignee.agent_id))?;
    match changed {
        1 => Ok(()),
        _ => Err(StoreError::AgentAtCapacity {
            agent_id: assignee.agent_id.clone(),
            capacity: assignee.capacity,
        }),
    }
}

/// One conversation fewer for the agent that held it.
pub(crate) fn release(conn: &Connection, agent_id: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE agents SET assigned_count = assigned_count - 1 WHERE id = ?1 AND assigned_count > 0",
    )
    .and_then(|mut s| s.execute([agent_id]))
    .context(&format!("releasing a conversation of {agent_id}"))?;
    Ok(())
}
