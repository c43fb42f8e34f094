//! The writes of records (everything but the log, which is `log`). Each runs on the writer thread, inside the batch's transaction and
//! its own savepoint, so it may read, check and write without any other writer interleaving
//! (`BEGIN IMMEDIATE` holds the file's write lock, even against other processes).

use porch_core::model::{
    AgentRecord, ClientRecord, DeploymentRecord, DeploymentSettings, GuestRecord, SetUp,
};
use porch_core::store::{Account, Deletion, Durability, StoreError};
use porch_core::token::SigningKey;
use porch_core::webhook::EventType;
use porch_wire::rest::{Conversation, ConversationState, Notice};
use rusqlite::{Connection, params};

use super::rows::{Context, to_json, welcome_to_sql};
use super::webhooks;

/// Checks a unique name before inserting, so the caller gets a sentence naming the clash
/// instead of SQLite's `UNIQUE constraint failed`. Race-free: the batch holds the write lock.
fn ensure_name_free(
    conn: &Connection,
    table: &'static str,
    kind: &str,
    name: &str,
) -> Result<(), StoreError> {
    let taken = conn
        .prepare_cached(&format!("SELECT 1 FROM {table} WHERE name = ?1"))
        .and_then(|mut s| s.exists([name]))
        .context(&format!("checking the {kind} name `{name}`"))?;
    if taken {
        let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
        return Err(StoreError::NameTaken(format!(
            "{article} {kind} named `{name}` already exists"
        )));
    }
    Ok(())
}

pub(crate) fn create_client(conn: &Connection, client: &ClientRecord) -> Result<(), StoreError> {
    ensure_name_free(conn, "clients", "client", &client.name)?;
    let standing = client.standing;
    conn.prepare_cached("INSERT INTO clients (id, name, secret_hash, scopes, created_at_ms, enabled, tokens_valid_after_secs) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        .and_then(|mut s| {
            s.execute(params![client.id, client.name, client.secret_hash, to_json(&client.scopes), client.created_at_ms, standing.enabled, standing.tokens_valid_after_secs])
        })
        .context(&format!("creating client {}", client.id))?;
    Ok(())
}

pub(crate) fn create_deployment(
    conn: &Connection,
    deployment: &DeploymentRecord,
) -> Result<(), StoreError> {
    ensure_name_free(conn, "deployments", "deployment", &deployment.name)?;
    let ttl_secs = ttl_to_sql(deployment.guest_token_ttl_secs)?;
    conn.prepare_cached(
        "INSERT INTO deployments (id, name, origins, queue, guest_token_ttl_secs, enabled, created_at_ms, welcome) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut s| {
        s.execute(params![
            deployment.id,
            deployment.name,
            to_json(&deployment.origins),
            deployment.queue,
            ttl_secs,
            deployment.enabled,
            deployment.created_at_ms,
            welcome_to_sql(&deployment.welcome)
        ])
    })
    .context(&format!("creating deployment {}", deployment.id))?;
    Ok(())
}

pub(crate) fn create_agent(conn: &Connection, agent: &AgentRecord) -> Result<(), StoreError> {
    ensure_name_free(conn, "agents", "agent", &agent.name)?;
    let standing = agent.standing;
    conn.prepare_cached("INSERT INTO agents (id, name, secret_hash, queues, created_at_ms, enabled, tokens_valid_after_secs, supervisor) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
        .and_then(|mut s| {
            s.execute(params![agent.id, agent.name, agent.secret_hash, to_json(&agent.queues), agent.created_at_ms, standing.enabled, standing.tokens_valid_after_secs, agent.supervisor])
        })
        .context(&format!("creating agent {}", agent.id))?;
    Ok(())
}

/// One statement, so the newest key is judged in the same snapshot as the delete.
pub(crate) fn remove_signing_key(conn: &Connection, kid: &str) -> Result<bool, StoreError> {
    let removed = conn
        .prepare_cached(
            "DELETE FROM signing_keys WHERE kid = ?1 \
             AND created_at_ms < (SELECT MAX(created_at_ms) FROM signing_keys)",
        )
        .and_then(|mut s| s.execute(params![kid]))
        .context(&format!("removing signing key {kid}"))?;
    Ok(removed > 0)
}

pub(crate) fn add_signing_key(conn: &Connection, key: &SigningKey) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO signing_keys (kid, secret, created_at_ms) VALUES (?1, ?2, ?3)",
    )
    .and_then(|mut s| s.execute(params![key.kid, key.secret, key.created_at_ms]))
    .context(&format!("adding signing key {}", key.kid))?;
    Ok(())
}

/// One command, so one savepoint: a refused client or agent name undoes the deployment too.
pub(crate) fn create_set_up(conn: &Connection, set_up: &SetUp) -> Result<bool, StoreError> {
    match create_deployment(conn, &set_up.deployment) {
        Err(StoreError::NameTaken(_)) => return Ok(false),
        other => other?,
    }
    create_client(conn, &set_up.client)?;
    create_agent(conn, &set_up.agent)?;
    Ok(true)
}

/// Inside the writer's `BEGIN IMMEDIATE`, which holds the file's write lock against every
/// other connection and process, so the check and the insert are one step.
pub(crate) fn add_first_signing_key(
    conn: &Connection,
    key: &SigningKey,
) -> Result<bool, StoreError> {
    let added = conn
        .prepare_cached(
            "INSERT INTO signing_keys (kid, secret, created_at_ms) \
             SELECT ?1, ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM signing_keys)",
        )
        .and_then(|mut s| s.execute(params![key.kid, key.secret, key.created_at_ms]))
        .context(&format!("adding the first signing key {}", key.kid))?;
    Ok(added == 1)
}

pub(crate) fn create_guest(
    conn: &Connection,
    record: GuestRecord,
    queue: String,
) -> Result<Conversation, StoreError> {
    let guest = &record.guest;
    conn.prepare_cached(
        "INSERT INTO guests (id, display_name, email, external_id, attributes, created_at_ms, \
                             deployment_id, conversation_id, client_id, revoked, verified_by) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )
    .and_then(|mut s| {
        s.execute(params![
            guest.id,
            guest.display_name,
            guest.email,
            guest.external_id,
            to_json(&guest.attributes),
            guest.created_at_ms,
            record.deployment_id,
            record.conversation_id,
            record.client_id,
            record.revoked,
            guest.verified_by.map(|v| v.as_str())
        ])
    })
    .context(&format!("creating guest {}", guest.id))?;
    conn.prepare_cached(
        "INSERT INTO conversations (id, guest_id, deployment_id, queue, state, assigned_agent_id, last_seq, \
                                    created_at_ms, updated_at_ms) \
         VALUES (?1, ?2, ?3, ?4, 'waiting', NULL, 0, ?5, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![record.conversation_id, guest.id, record.deployment_id, queue, guest.created_at_ms])
    })
    .context(&format!("creating conversation {}", record.conversation_id))?;
    webhooks::enqueue(
        conn,
        &webhooks::Event {
            conversation_id: &record.conversation_id,
            deployment_id: &record.deployment_id,
            seq: 0,
            event_type: EventType::ConversationCreated.as_str(),
            agent_id: None,
            now_ms: guest.created_at_ms,
            queue: &queue,
        },
    )?;
    let created_at_ms = guest.created_at_ms;
    Ok(Conversation {
        id: record.conversation_id,
        deployment_id: record.deployment_id,
        queue,
        state: ConversationState::Waiting,
        guest: record.guest,
        assigned_agent_id: None,
        last_seq: 0,
        created_at_ms,
        updated_at_ms: created_at_ms,
        reopen_until_ms: None,
        last_message: None,
        agent: None,
    })
}

/// The boolean columns an operator may flip.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Flag {
    GuestRevoked,
    DeploymentEnabled,
    AgentEnabled,
    ClientEnabled,
}

impl Flag {
    pub(crate) fn enabled(account: Account) -> Flag {
        match account {
            Account::Agent => Flag::AgentEnabled,
            Account::Client => Flag::ClientEnabled,
        }
    }
}

pub(crate) fn set_flag(
    conn: &Connection,
    flag: Flag,
    id: &str,
    value: bool,
) -> Result<bool, StoreError> {
    // Fixed strings per flag: no column name ever comes from outside.
    let sql = match flag {
        Flag::GuestRevoked => "UPDATE guests SET revoked = ?2 WHERE id = ?1",
        Flag::DeploymentEnabled => "UPDATE deployments SET enabled = ?2 WHERE id = ?1",
        Flag::AgentEnabled => "UPDATE agents SET enabled = ?2 WHERE id = ?1",
        Flag::ClientEnabled => "UPDATE clients SET enabled = ?2 WHERE id = ?1",
    };
    let changed = conn
        .prepare_cached(sql)
        .and_then(|mut s| s.execute(params![id, value]))
        .context(&format!("setting {flag:?} of {id}"))?;
    Ok(changed == 1)
}

/// A new secret hash, and the tokens before `valid_after_secs` refused, in one statement.
pub(crate) fn reset_secret(
    conn: &Connection,
    account: Account,
    id: &str,
    secret_hash: &str,
    valid_after_secs: i64,
) -> Result<bool, StoreError> {
    let sql = match account {
        Account::Agent => {
            "UPDATE agents SET secret_hash = ?2, tokens_valid_after_secs = ?3 WHERE id = ?1"
        }
        Account::Client => {
            "UPDATE clients SET secret_hash = ?2, tokens_valid_after_secs = ?3 WHERE id = ?1"
        }
    };
    let changed = conn
        .prepare_cached(sql)
        .and_then(|mut s| s.execute(params![id, secret_hash, valid_after_secs]))
        .context(&format!("resetting the secret of {account:?} {id}"))?;
    Ok(changed == 1)
}

/// Replaces a deployment's settings; false when no deployment has this id.
pub(crate) fn update_deployment(
    conn: &Connection,
    id: &str,
    settings: &DeploymentSettings,
) -> Result<bool, StoreError> {
    let ttl_secs = ttl_to_sql(settings.guest_token_ttl_secs)?;
    let changed = conn
        .prepare_cached(
            "UPDATE deployments SET origins = ?2, queue = ?3, guest_token_ttl_secs = ?4, welcome = ?5 WHERE id = ?1",
        )
        .and_then(|mut s| {
            s.execute(params![
                id,
                to_json(&settings.origins),
                settings.queue,
                ttl_secs,
                welcome_to_sql(&settings.welcome)
            ])
        })
        .context(&format!("updating deployment {id}"))?;
    Ok(changed == 1)
}

fn ttl_to_sql(ttl_secs: u64) -> Result<i64, StoreError> {
    i64::try_from(ttl_secs).map_err(|_| {
        StoreError::Unavailable(format!("guest token lifetime {ttl_secs} s is too large to store"))
    })
}

/// Sets or clears a deployment's notice; false when no deployment has this id.
pub(crate) fn set_notice(
    conn: &Connection,
    deployment_id: &str,
    notice: Option<&Notice>,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached("UPDATE deployments SET notice = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![deployment_id, notice.map(to_json)]))
        .context(&format!("setting the notice of {deployment_id}"))?;
    Ok(changed == 1)
}

/// Reads back the settings that decide durability, as the write connection has them.
pub(crate) fn durability(conn: &Connection) -> Result<Durability, StoreError> {
    let journal_mode: String = conn
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .context("reading journal_mode")?;
    let synchronous: i64 = conn
        .pragma_query_value(None, "synchronous", |row| row.get(0))
        .context("reading synchronous")?;
    let synchronous_name = match synchronous {
        0 => "off",
        1 => "normal",
        2 => "full",
        3 => "extra",
        _ => "unknown",
    };
    Ok(Durability {
        engine: "sqlite",
        settings: format!(
            "journal_mode={} synchronous={synchronous_name}",
            journal_mode.to_ascii_lowercase()
        ),
        // FULL (2) and EXTRA (3) fsync the WAL on every commit; NORMAL only at checkpoints, so
        // a power cut can lose the last commits (a process crash cannot).
        survives_power_loss: synchronous >= 2,
    })
}

/// `Store::delete_account` (SQLite reads `$1` as the same numbered parameter throughout).
pub(crate) fn delete_account(
    conn: &Connection,
    account: Account,
    id: &str,
) -> Result<Deletion, StoreError> {
    let (delete, count) = crate::rows::delete_account_sql(account);
    let doing = format!("deleting {account:?} {id}");
    let deleted =
        conn.prepare_cached(delete).and_then(|mut s| s.execute(params![id])).context(&doing)?;
    if deleted == 1 {
        return Ok(Deletion::Deleted);
    }
    let (exists, uses) = conn
        .prepare_cached(count)
        .and_then(|mut s| s.query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?))))
        .context(&doing)?;
    Ok(crate::rows::deletion(exists, uses))
}
