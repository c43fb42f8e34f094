//! Records beside the log: clients, deployments, agents, keys, guests, flags. Several Porch
//! nodes may write at once, so nothing here checks before writing: names are checked by their
//! unique constraints, and a guest and its conversation are one statement.

use deadpool_postgres::GenericClient;
use porch_core::model::{
    AgentRecord, ClientRecord, DeploymentRecord, DeploymentSettings, GuestRecord, SetUp,
};
use porch_core::store::{Account, Deletion, StoreError};
use porch_core::token::SigningKey;
use porch_core::webhook::EventType;
use porch_wire::rest::{Conversation, ConversationState, Notice};
use tokio_postgres::types::ToSql;

use super::pool::{Db, startup_transaction};
use super::rows::{Context, to_json, violates, welcome_to_sql};
use super::webhooks::enqueue_sql;

/// Runs one statement on `client`; a unique violation of `name_constraint` becomes
/// `NameTaken` with the SQLite store's sentence. Catching the violation, rather than checking
/// first, is race-free across nodes.
async fn insert_named(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    (name_constraint, kind, name): (&str, &str, &str),
    doing: &str,
) -> Result<(), StoreError> {
    let statement = client.prepare_cached(sql).await.context(doing)?;
    match client.execute(&statement, params).await {
        Ok(_) => Ok(()),
        Err(e) if violates(&e, name_constraint) => {
            let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
            Err(StoreError::NameTaken(format!("{article} {kind} named `{name}` already exists")))
        }
        Err(e) => Err(e).context(doing),
    }
}

pub(crate) async fn create_client(
    client: &impl GenericClient,
    record: &ClientRecord,
) -> Result<(), StoreError> {
    let sql = "INSERT INTO clients (id, name, secret_hash, scopes, created_at_ms, enabled, tokens_valid_after_secs) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    let r = record;
    let (enabled, valid_after) = (&r.standing.enabled, &r.standing.tokens_valid_after_secs);
    let params: &[&(dyn ToSql + Sync)] =
        &[&r.id, &r.name, &r.secret_hash, &r.scopes, &r.created_at_ms, enabled, valid_after];
    let name = ("clients_name_unique", "client", r.name.as_str());
    insert_named(client, sql, params, name, &format!("creating client {}", r.id)).await
}

pub(crate) async fn create_deployment(
    client: &impl GenericClient,
    deployment: &DeploymentRecord,
) -> Result<(), StoreError> {
    let ttl_secs = ttl_to_sql(deployment.guest_token_ttl_secs)?;
    let sql = "INSERT INTO deployments (id, name, origins, queue, guest_token_ttl_secs, enabled, created_at_ms, welcome) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    let d = deployment;
    let welcome = welcome_to_sql(&d.welcome);
    let params: &[&(dyn ToSql + Sync)] =
        &[&d.id, &d.name, &d.origins, &d.queue, &ttl_secs, &d.enabled, &d.created_at_ms, &welcome];
    let name = ("deployments_name_unique", "deployment", d.name.as_str());
    insert_named(client, sql, params, name, &format!("creating deployment {}", d.id)).await
}

pub(crate) async fn create_agent(
    client: &impl GenericClient,
    agent: &AgentRecord,
) -> Result<(), StoreError> {
    let sql = "INSERT INTO agents (id, name, secret_hash, queues, created_at_ms, enabled, tokens_valid_after_secs, supervisor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    let a = agent;
    let (enabled, valid_after) = (&a.standing.enabled, &a.standing.tokens_valid_after_secs);
    let params: &[&(dyn ToSql + Sync)] = &[
        &a.id,
        &a.name,
        &a.secret_hash,
        &a.queues,
        &a.created_at_ms,
        enabled,
        valid_after,
        &a.supervisor,
    ];
    let name = ("agents_name_unique", "agent", agent.name.as_str());
    insert_named(client, sql, params, name, &format!("creating agent {}", agent.id)).await
}

/// The three inserts in one start-up transaction (`startup_transaction`). A second node's
/// deployment insert waits on the first one's uncommitted name, then finds it taken: false,
/// and its transaction rolls back having written nothing.
pub(crate) async fn create_set_up(db: &Db, set_up: &SetUp) -> Result<bool, StoreError> {
    let doing = format!("creating the set-up of deployment {}", set_up.deployment.name);
    let mut client = db.client().await?;
    let tx = startup_transaction(&mut client, &doing).await?;
    match create_deployment(&tx, &set_up.deployment).await {
        // Dropping `tx` rolls it back.
        Err(StoreError::NameTaken(_)) => return Ok(false),
        other => other?,
    }
    create_client(&tx, &set_up.client).await?;
    create_agent(&tx, &set_up.agent).await?;
    tx.commit().await.context(&doing)?;
    Ok(true)
}

/// One statement, so the newest key is judged in the same snapshot as the delete.
pub(crate) async fn remove_signing_key(db: &Db, kid: &str) -> Result<bool, StoreError> {
    let doing = format!("removing signing key {kid}");
    let client = db.client().await?;
    let statement = client
        .prepare_cached(
            "DELETE FROM signing_keys WHERE kid = $1 \
             AND created_at_ms < (SELECT MAX(created_at_ms) FROM signing_keys)",
        )
        .await
        .context(&doing)?;
    let removed = client.execute(&statement, &[&kid]).await.context(&doing)?;
    Ok(removed > 0)
}

pub(crate) async fn add_signing_key(db: &Db, key: &SigningKey) -> Result<(), StoreError> {
    let doing = format!("adding signing key {}", key.kid);
    let client = db.client().await?;
    let statement = client
        .prepare_cached("INSERT INTO signing_keys (kid, secret, created_at_ms) VALUES ($1, $2, $3)")
        .await
        .context(&doing)?;
    client
        .execute(&statement, &[&key.kid, &key.secret, &key.created_at_ms])
        .await
        .context(&doing)?;
    Ok(())
}

/// The check and the insert under a table lock that conflicts with itself, so nodes starting
/// together on an empty database keep exactly one key. Only at start-up; `SHARE ROW EXCLUSIVE`
/// lets readers through. `startup_transaction` lifts the lock timeout: a node that froze
/// holding the lock is ended by `idle_in_transaction_session_timeout`, and the others wait for
/// that rather than fail their start.
pub(crate) async fn add_first_signing_key(db: &Db, key: &SigningKey) -> Result<bool, StoreError> {
    let doing = format!("adding the first signing key {}", key.kid);
    let mut client = db.client().await?;
    let tx = startup_transaction(&mut client, &doing).await?;
    tx.batch_execute("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE")
        .await
        .context(&doing)?;
    let added = tx
        .execute(
            "INSERT INTO signing_keys (kid, secret, created_at_ms) \
             SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM signing_keys)",
            &[&key.kid, &key.secret, &key.created_at_ms],
        )
        .await
        .context(&doing)?;
    tx.commit().await.context(&doing)?;
    Ok(added == 1)
}

/// The guest and its conversation in one statement (a data-modifying CTE): atomic without a
/// BEGIN/COMMIT pair, so one round trip.
pub(crate) async fn create_guest(
    db: &Db,
    record: GuestRecord,
    queue: String,
) -> Result<Conversation, StoreError> {
    let guest = &record.guest;
    let doing = format!("creating guest {} and conversation {}", guest.id, record.conversation_id);
    let client = db.client().await?;
    // `conversation.created` is the conversation's `seq` 0, enqueued by the same statement.
    let enqueue = enqueue_sql("created", 12);
    let statement = client
        .prepare_cached(&format!(
            "WITH guest AS ( \
                 INSERT INTO guests (id, display_name, email, external_id, attributes, created_at_ms, \
                                     deployment_id, conversation_id, client_id, revoked, verified_by) \
                 VALUES ($1, $2, $3, $4, $5::text::jsonb, $6, $7, $8, $9, $10, $14) \
             ), created AS ( \
                 INSERT INTO conversations (id, guest_id, deployment_id, queue, state, assigned_agent_id, \
                                            last_seq, created_at_ms, updated_at_ms) \
                 VALUES ($8, $1, $7, $11, 'waiting', NULL, 0, $6, $6) \
                 RETURNING id AS conversation_id, last_seq AS seq, created_at_ms AS at_ms, deployment_id, queue \
             ) \
             {enqueue}"
        ))
        .await
        .context(&doing)?;
    let (event_type, agent_id) = (EventType::ConversationCreated.as_str(), None::<String>);
    let attributes = to_json(&guest.attributes);
    let verified_by = guest.verified_by.map(|v| v.as_str());
    let params: &[&(dyn ToSql + Sync)] = &[
        &guest.id,
        &guest.display_name,
        &guest.email,
        &guest.external_id,
        &attributes,
        &guest.created_at_ms,
        &record.deployment_id,
        &record.conversation_id,
        &record.client_id,
        &record.revoked,
        &queue,
        &event_type,
        &agent_id,
        &verified_by,
    ];
    client.execute(&statement, params).await.context(&doing)?;
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

fn ttl_to_sql(ttl_secs: u64) -> Result<i64, StoreError> {
    i64::try_from(ttl_secs).map_err(|_| {
        StoreError::Unavailable(format!("guest token lifetime {ttl_secs} s is too large to store"))
    })
}

/// Replaces a deployment's settings; false when no deployment has this id.
pub(crate) async fn update_deployment(
    db: &Db,
    id: &str,
    settings: &DeploymentSettings,
) -> Result<bool, StoreError> {
    let doing = format!("updating deployment {id}");
    let ttl_secs = ttl_to_sql(settings.guest_token_ttl_secs)?;
    let client = db.client().await?;
    let statement = client
        .prepare_cached(
            "UPDATE deployments SET origins = $2, queue = $3, guest_token_ttl_secs = $4, welcome = $5 WHERE id = $1",
        )
        .await
        .context(&doing)?;
    let welcome = welcome_to_sql(&settings.welcome);
    let changed = client
        .execute(&statement, &[&id, &settings.origins, &settings.queue, &ttl_secs, &welcome])
        .await
        .context(&doing)?;
    Ok(changed == 1)
}

/// Sets or clears a deployment's notice; false when no deployment has this id.
pub(crate) async fn set_notice(
    db: &Db,
    deployment_id: &str,
    notice: Option<&Notice>,
) -> Result<bool, StoreError> {
    let doing = format!("setting the notice of {deployment_id}");
    let json = notice.map(|n| serde_json::to_string(n).expect("notices serialize"));
    let client = db.client().await?;
    let statement = client
        .prepare_cached("UPDATE deployments SET notice = $2 WHERE id = $1")
        .await
        .context(&doing)?;
    let changed = client.execute(&statement, &[&deployment_id, &json]).await.context(&doing)?;
    Ok(changed == 1)
}

pub(crate) async fn set_flag(
    db: &Db,
    flag: Flag,
    id: &str,
    value: bool,
) -> Result<bool, StoreError> {
    // Fixed strings per flag: no column name ever comes from outside.
    let sql = match flag {
        Flag::GuestRevoked => "UPDATE guests SET revoked = $2 WHERE id = $1",
        Flag::DeploymentEnabled => "UPDATE deployments SET enabled = $2 WHERE id = $1",
        Flag::AgentEnabled => "UPDATE agents SET enabled = $2 WHERE id = $1",
        Flag::ClientEnabled => "UPDATE clients SET enabled = $2 WHERE id = $1",
    };
    let doing = format!("setting {flag:?} of {id}");
    let client = db.client().await?;
    let statement = client.prepare_cached(sql).await.context(&doing)?;
    let changed = client.execute(&statement, &[&id, &value]).await.context(&doing)?;
    Ok(changed == 1)
}

/// A new secret hash, and the tokens before `valid_after_secs` refused, in one statement.
pub(crate) async fn reset_secret(
    db: &Db,
    account: Account,
    id: &str,
    secret_hash: &str,
    valid_after_secs: i64,
) -> Result<bool, StoreError> {
    let sql = match account {
        Account::Agent => {
            "UPDATE agents SET secret_hash = $2, tokens_valid_after_secs = $3 WHERE id = $1"
        }
        Account::Client => {
            "UPDATE clients SET secret_hash = $2, tokens_valid_after_secs = $3 WHERE id = $1"
        }
    };
    let doing = format!("resetting the secret of {account:?} {id}");
    let client = db.client().await?;
    let statement = client.prepare_cached(sql).await.context(&doing)?;
    let changed = client
        .execute(&statement, &[&id, &secret_hash, &valid_after_secs])
        .await
        .context(&doing)?;
    Ok(changed == 1)
}

/// `Store::delete_account`: one conditional delete; when it deletes nothing, a count says why.
pub(crate) async fn delete_account(
    db: &Db,
    account: Account,
    id: &str,
) -> Result<Deletion, StoreError> {
    let (delete, count) = crate::rows::delete_account_sql(account);
    let doing = format!("deleting {account:?} {id}");
    let client = db.client().await?;
    let statement = client.prepare_cached(delete).await.context(&doing)?;
    if client.execute(&statement, &[&id]).await.context(&doing)? == 1 {
        return Ok(Deletion::Deleted);
    }
    let statement = client.prepare_cached(count).await.context(&doing)?;
    let row = client.query_one(&statement, &[&id]).await.context(&doing)?;
    Ok(crate::rows::deletion(row.get(0), row.get(1)))
}
