//! The PostgreSQL schema and its migrations: the SQLite store's data model, in PostgreSQL's
//! types.
//!
//! Type choices, and why:
//! - `BIGINT` for every integer (SQLite's INTEGER is 64-bit too) and `BOOLEAN` for flags.
//! - `TEXT[]` for the string lists (scopes, origins, queues): they map straight onto
//!   `Vec<String>` with no JSON round trip, keep their order, and an operator can query them
//!   (`WHERE 'sales' = ANY(queues)`).
//! - `JSONB` for guest attributes, a string map: PostgreSQL checks it is a JSON object, and
//!   support staff can query it (`attributes->>'plan'`). It travels as text (`::text`, `::jsonb`)
//!   so the driver needs no JSON feature.
//! - Unique name constraints are named, so a violation maps to `NameTaken` by constraint name.
//!
//! Versions are rows of `porch_schema_version` (one per applied migration, with its time).
//! Every start runs `migrate` in one transaction under `pg_advisory_xact_lock`, so nodes
//! starting together migrate once: the second waits for the lock, then finds nothing to do.
//! PostgreSQL's DDL is transactional, so a failed migration leaves the old schema and version.

use deadpool_postgres::Object;
use porch_core::store::StoreError;
use porch_core::time::now_ms;

use super::pool::startup_transaction;
use super::rows::Context;

/// Migration N (1-based) takes the schema from version N-1 to N. Append only, and numbered
/// like the SQLite migrations so one version means one data model in both stores.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
    CREATE TABLE clients (
        id            TEXT PRIMARY KEY,
        name          TEXT NOT NULL CONSTRAINT clients_name_unique UNIQUE,
        secret_hash   TEXT NOT NULL,
        scopes        TEXT[] NOT NULL,
        created_at_ms BIGINT NOT NULL
    );

    CREATE TABLE deployments (
        id                   TEXT PRIMARY KEY,
        name                 TEXT NOT NULL CONSTRAINT deployments_name_unique UNIQUE,
        origins              TEXT[] NOT NULL,
        queue                TEXT NOT NULL,
        guest_token_ttl_secs BIGINT NOT NULL CHECK (guest_token_ttl_secs >= 0),
        enabled              BOOLEAN NOT NULL,
        created_at_ms        BIGINT NOT NULL
    );

    CREATE TABLE agents (
        id            TEXT PRIMARY KEY,
        name          TEXT NOT NULL CONSTRAINT agents_name_unique UNIQUE,
        secret_hash   TEXT NOT NULL,
        queues        TEXT[] NOT NULL,
        created_at_ms BIGINT NOT NULL
    );

    CREATE TABLE signing_keys (
        kid           TEXT PRIMARY KEY,
        secret        BYTEA NOT NULL,
        created_at_ms BIGINT NOT NULL
    );

    CREATE TABLE guests (
        id              TEXT PRIMARY KEY,
        display_name    TEXT,
        email           TEXT,
        external_id     TEXT,
        attributes      JSONB NOT NULL CHECK (jsonb_typeof(attributes) = 'object'),
        created_at_ms   BIGINT NOT NULL,
        deployment_id   TEXT NOT NULL REFERENCES deployments(id),
        conversation_id TEXT NOT NULL UNIQUE,
        client_id       TEXT NOT NULL REFERENCES clients(id),
        revoked         BOOLEAN NOT NULL
    );

    CREATE TABLE conversations (
        id                TEXT PRIMARY KEY,
        guest_id          TEXT NOT NULL UNIQUE REFERENCES guests(id),
        deployment_id     TEXT NOT NULL REFERENCES deployments(id),
        queue             TEXT NOT NULL,
        state             TEXT NOT NULL CHECK (state IN ('waiting', 'assigned', 'closed')),
        assigned_agent_id TEXT,
        last_seq          BIGINT NOT NULL CHECK (last_seq >= 0),
        created_at_ms     BIGINT NOT NULL,
        updated_at_ms     BIGINT NOT NULL
    );

    -- Agents list their queues' conversations, most recently active first.
    CREATE INDEX conversations_by_queue ON conversations (queue, updated_at_ms DESC);

    -- The primary key makes a duplicate seq impossible whatever the code above it does, and
    -- its index makes a history page one range scan.
    CREATE TABLE messages (
        conversation_id     TEXT NOT NULL REFERENCES conversations(id),
        seq                 BIGINT NOT NULL CHECK (seq >= 1),
        id                  TEXT NOT NULL UNIQUE,
        client_message_id   TEXT,
        sender_role         TEXT NOT NULL CHECK (sender_role IN ('guest', 'agent', 'system')),
        sender_id           TEXT NOT NULL,
        sender_display_name TEXT,
        text                TEXT NOT NULL,
        event               TEXT CHECK (event IN ('waiting', 'assigned', 'closed')),
        created_at_ms       BIGINT NOT NULL,
        PRIMARY KEY (conversation_id, seq)
    );

    -- Backs idempotent sends: one clientMessageId per sender and conversation, even when two
    -- nodes race (the loser's INSERT fails on this index by name). Partial, because system
    -- messages have none.
    CREATE UNIQUE INDEX messages_idempotency
        ON messages (conversation_id, sender_id, client_message_id)
        WHERE client_message_id IS NOT NULL;

    CREATE TABLE read_markers (
        conversation_id TEXT NOT NULL REFERENCES conversations(id),
        participant_id  TEXT NOT NULL,
        read_seq        BIGINT NOT NULL CHECK (read_seq >= 0),
        PRIMARY KEY (conversation_id, participant_id)
    );
    "#,
    // 2: the pseudo-client that owns guests created by the browser widget endpoint, which has
    // no OAuth client. Its secret hash `!` is no PHC string, so it can never authenticate.
    r#"
    INSERT INTO clients (id, name, secret_hash, scopes, created_at_ms)
    VALUES ('cli_widget', '(browser widget)', '!', '{}', 0)
    ON CONFLICT DO NOTHING;
    "#,
    // 3: messages lose the unique index on `id`, as in the SQLite store (its migration 3):
    // ids are 128 random bits, nothing looks a message up by id, and the index put every
    // append on a random page of its own. `messages_id_key` is PostgreSQL's name for the
    // constraint migration 1 declared inline.
    r#"
    ALTER TABLE messages DROP CONSTRAINT IF EXISTS messages_id_key;
    "#,
    // 4: a deployment's notice, as in the SQLite store (its migration 4): JSON text, NULL
    // when there is none, on the row every guest handshake reads anyway.
    r#"
    ALTER TABLE deployments ADD COLUMN IF NOT EXISTS notice TEXT;
    "#,
    // 5: webhooks, as in the SQLite store (its migration 5): endpoints, and the outbox that the
    // commit of an entry (or conversation) fills, one row per subscribed endpoint.
    r#"
    CREATE TABLE webhook_endpoints (
        id                       TEXT PRIMARY KEY,
        deployment_id            TEXT NOT NULL REFERENCES deployments(id),
        url                      TEXT NOT NULL,
        event_types              TEXT[] NOT NULL,
        secret                   TEXT NOT NULL,
        previous_secret          TEXT,
        previous_secret_until_ms BIGINT NOT NULL,
        created_at_ms            BIGINT NOT NULL
    );

    CREATE INDEX webhook_endpoints_by_deployment ON webhook_endpoints (deployment_id);

    CREATE TABLE webhook_outbox (
        endpoint_id        TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
        conversation_id    TEXT NOT NULL,
        seq                BIGINT NOT NULL CHECK (seq >= 0),
        event_type         TEXT NOT NULL,
        agent_id           TEXT,
        state              TEXT NOT NULL CHECK (state IN ('pending', 'dead')),
        attempts           BIGINT NOT NULL,
        next_attempt_at_ms BIGINT NOT NULL,
        lease_owner        TEXT,
        lease_until_ms     BIGINT NOT NULL,
        last_error         TEXT,
        created_at_ms      BIGINT NOT NULL,
        PRIMARY KEY (endpoint_id, conversation_id, seq)
    );

    CREATE INDEX webhook_outbox_due ON webhook_outbox (endpoint_id, state, next_attempt_at_ms);
    "#,
    // 6: customers (issue 20), as in the SQLite store (its migration 6): a customer's guests
    // are found by their deployment and external id.
    r#"
    CREATE INDEX IF NOT EXISTS guests_by_customer ON guests (deployment_id, external_id)
        WHERE external_id IS NOT NULL;
    "#,
    // 7: identity keys and used identity-token jtis, as in the SQLite store (its migration 7).
    // Of nodes presenting one jti at once, the primary key lets exactly one insert it.
    r#"
    CREATE TABLE identity_keys (
        kid           TEXT CONSTRAINT identity_keys_kid_unique PRIMARY KEY,
        deployment_id TEXT NOT NULL REFERENCES deployments(id),
        algorithm     TEXT NOT NULL CHECK (algorithm IN ('HS256', 'ES256', 'EdDSA')),
        material      BYTEA NOT NULL,
        created_at_ms BIGINT NOT NULL
    );
    CREATE INDEX identity_keys_by_deployment ON identity_keys (deployment_id);

    CREATE TABLE identity_jtis (
        deployment_id TEXT NOT NULL,
        jti           TEXT NOT NULL,
        expires_at_ms BIGINT NOT NULL,
        PRIMARY KEY (deployment_id, jti)
    );
    CREATE INDEX identity_jtis_by_expiry ON identity_jtis (expires_at_ms);
    "#,
    // 8: how a guest's externalId was vouched for, as in the SQLite store (its migration 8).
    r#"
    ALTER TABLE guests ADD COLUMN IF NOT EXISTS verified_by TEXT
        CHECK (verified_by IN ('backend', 'identityToken'));
    UPDATE guests SET verified_by = 'backend' WHERE external_id IS NOT NULL AND verified_by IS NULL;
    "#,
    // 9: a deployment's welcome, as in the SQLite store (its migration 9): JSON text, NULL
    // when it says nothing.
    r#"
    ALTER TABLE deployments ADD COLUMN IF NOT EXISTS welcome TEXT;
    "#,
    // 10: routing, as in the SQLite store (its migration 10). `agents_within_capacity` is what
    // makes "no agent over capacity" hold across nodes: an assignment raises the agent's
    // `assigned_count` and sets `assigned_count_cap` to the capacity it was checked against in
    // the statement that assigns; two racing for the last place queue on the agent's row, and
    // the second violates the constraint, which undoes its whole statement
    // (`log::write`, `StoreError::AgentAtCapacity`).
    r#"
    ALTER TABLE agents
        ADD COLUMN status TEXT NOT NULL DEFAULT 'offline'
            CHECK (status IN ('available', 'away', 'offline')),
        ADD COLUMN capacity BIGINT CHECK (capacity >= 1),
        ADD COLUMN assigned_count BIGINT NOT NULL DEFAULT 0 CHECK (assigned_count >= 0),
        ADD COLUMN assigned_count_cap BIGINT NOT NULL DEFAULT 0,
        ADD COLUMN last_assigned_at_ms BIGINT NOT NULL DEFAULT 0;
    UPDATE agents a SET assigned_count = held.n, assigned_count_cap = held.n
        FROM (SELECT assigned_agent_id, count(*) AS n FROM conversations
              WHERE state = 'assigned' GROUP BY assigned_agent_id) held
        WHERE held.assigned_agent_id = a.id;
    ALTER TABLE agents ADD CONSTRAINT agents_within_capacity
        CHECK (assigned_count <= assigned_count_cap);

    CREATE TABLE queues (
        name             TEXT PRIMARY KEY,
        capacity_default BIGINT CHECK (capacity_default >= 1),
        auto_accept      BOOLEAN NOT NULL,
        manual_take      BOOLEAN NOT NULL
    );
    "#,
    // 11: offers, as in the SQLite store (its migration 11). A change is written only if the
    // record is still the version it was decided on (`offers::change`): of two nodes offering
    // one conversation at once, one writes and the other re-decides on what it wrote.
    r#"
    CREATE TABLE offers (
        conversation_id TEXT PRIMARY KEY REFERENCES conversations(id),
        agent_id        TEXT,
        expires_at_ms   BIGINT NOT NULL,
        passed          TEXT[] NOT NULL,
        version         BIGINT NOT NULL
    );
    CREATE INDEX offers_live ON offers (expires_at_ms) WHERE agent_id IS NOT NULL;
    "#,
    // 12: an agent's and a client's standing, as in the SQLite store (its migration 12).
    r#"
    ALTER TABLE clients ADD COLUMN IF NOT EXISTS enabled BOOLEAN NOT NULL DEFAULT TRUE;
    ALTER TABLE clients ADD COLUMN IF NOT EXISTS tokens_valid_after_secs BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE agents ADD COLUMN IF NOT EXISTS enabled BOOLEAN NOT NULL DEFAULT TRUE;
    ALTER TABLE agents ADD COLUMN IF NOT EXISTS tokens_valid_after_secs BIGINT NOT NULL DEFAULT 0;
    "#,
    // 13: bots, as in the SQLite store (its migration 13, which says why a bot's entries keep
    // `sender_role` 'agent'). `content` is JSON text, read by the same row mapping as SQLite's.
    r#"
    CREATE TABLE bots (
        id            TEXT PRIMARY KEY,
        deployment_id TEXT NOT NULL REFERENCES deployments(id),
        name          TEXT NOT NULL,
        secret_hash   TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL
    );
    CREATE TABLE handoffs (
        conversation_id TEXT PRIMARY KEY REFERENCES conversations(id),
        bot_id          TEXT NOT NULL,
        queue           TEXT NOT NULL,
        summary         TEXT NOT NULL,
        at_ms           BIGINT NOT NULL
    );
    ALTER TABLE queues ADD COLUMN bot_id TEXT;
    ALTER TABLE messages ADD COLUMN content TEXT;
    "#,
    // 14: a transfer's note, a close's wrap-up code, each deployment's wrap-up codes, as in the
    // SQLite store (its migration 14).
    r#"
    ALTER TABLE messages ADD COLUMN IF NOT EXISTS note TEXT;
    ALTER TABLE messages ADD COLUMN IF NOT EXISTS wrap_up TEXT;
    CREATE TABLE IF NOT EXISTS wrap_up_codes (
        deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
        code          TEXT NOT NULL,
        position      BIGINT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS wrap_up_codes_by_deployment ON wrap_up_codes (deployment_id, position);
    "#,
    // 15: canned replies and a guest's visitor context, as in the SQLite store (its
    // migration 15).
    r#"
    ALTER TABLE guests ADD COLUMN IF NOT EXISTS context TEXT;
    CREATE TABLE IF NOT EXISTS canned_replies (
        deployment_id TEXT NOT NULL REFERENCES deployments(id),
        shortcut      TEXT NOT NULL,
        text          TEXT NOT NULL,
        updated_at_ms BIGINT NOT NULL,
        PRIMARY KEY (deployment_id, shortcut)
    );
    "#,
    // 16: attachments (docs/attachments.md), the message columns as in the SQLite store (its
    // migration 16), and the files themselves, which every node must read: a blob row and its
    // bytes in chunk rows of `ATTACHMENT_CHUNK_BYTES`. Chunk rows rather than large objects:
    // each chunk is one ordinary insert on the pool (no transaction held across the upload's
    // round trips), a range read selects only the chunks it needs, a blob's chunks go with it
    // by `ON DELETE CASCADE` (a large object outlives its row unless unlinked), and pg_dump
    // keeps them like any table. `EXTERNAL`: stored out of line, not compressed (pictures and
    // PDFs are compressed already; trying again costs CPU and saves nothing).
    r#"
    ALTER TABLE messages ADD COLUMN IF NOT EXISTS attachment TEXT;
    ALTER TABLE messages ADD COLUMN IF NOT EXISTS attachment_id TEXT;
    ALTER TABLE messages ADD COLUMN IF NOT EXISTS attachment_bytes BIGINT;
    CREATE INDEX IF NOT EXISTS messages_attachment ON messages (attachment_id)
        WHERE attachment_id IS NOT NULL;
    CREATE TABLE IF NOT EXISTS attachment_blobs (
        id            TEXT PRIMARY KEY,
        written_bytes BIGINT NOT NULL,
        complete      BOOLEAN NOT NULL,
        settled       BOOLEAN NOT NULL DEFAULT false,
        touched_at_ms BIGINT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS attachment_blobs_unsettled ON attachment_blobs (touched_at_ms)
        WHERE NOT settled;
    CREATE TABLE IF NOT EXISTS attachment_chunks (
        blob_id      TEXT NOT NULL REFERENCES attachment_blobs(id) ON DELETE CASCADE,
        offset_bytes BIGINT NOT NULL,
        data         BYTEA NOT NULL,
        PRIMARY KEY (blob_id, offset_bytes)
    );
    ALTER TABLE attachment_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
    "#,
    // 17: erasure, as in the SQLite store (its migration 17).
    r#"
    ALTER TABLE guests ADD COLUMN IF NOT EXISTS erased BOOLEAN NOT NULL DEFAULT FALSE;
    ALTER TABLE guests ADD COLUMN IF NOT EXISTS erased_key TEXT;
    CREATE INDEX IF NOT EXISTS guests_by_erased_key ON guests (deployment_id, erased_key)
        WHERE erased_key IS NOT NULL;
    ALTER TABLE messages ADD COLUMN IF NOT EXISTS erased BOOLEAN NOT NULL DEFAULT FALSE;
    "#,
    // 18: reopen and unanswered fallbacks, as in the SQLite store (its migration 18).
    r#"
    CREATE INDEX IF NOT EXISTS conversations_waiting ON conversations (queue, created_at_ms)
        WHERE state = 'waiting';
    ALTER TABLE messages ADD COLUMN IF NOT EXISTS reopened BOOLEAN NOT NULL DEFAULT FALSE;
    ALTER TABLE messages ADD COLUMN IF NOT EXISTS fallback BOOLEAN NOT NULL DEFAULT FALSE;
    ALTER TABLE queues ADD COLUMN IF NOT EXISTS fallback_after_secs BIGINT CHECK (fallback_after_secs >= 1);
    ALTER TABLE queues ADD COLUMN IF NOT EXISTS fallback_action TEXT
        CHECK (fallback_action IN ('message', 'queue', 'close'));
    ALTER TABLE queues ADD COLUMN IF NOT EXISTS fallback_text TEXT;
    "#,
    // 19: supervisors, as in the SQLite store (its migration 19).
    r#"
    ALTER TABLE agents ADD COLUMN IF NOT EXISTS supervisor BOOLEAN NOT NULL DEFAULT FALSE;
    "#,
    // 20: bots an operator disabled and the queue of a webhook event, as in the SQLite store
    // (its migration 20).
    r#"
    ALTER TABLE bots ADD COLUMN IF NOT EXISTS enabled BOOLEAN NOT NULL DEFAULT TRUE;
    ALTER TABLE webhook_outbox ADD COLUMN IF NOT EXISTS queue TEXT;
    "#,
    // 21: the preview of a conversation's latest entry, and agents' display names and avatars,
    // as in the SQLite store (its migration 21).
    r#"
    ALTER TABLE conversations ADD COLUMN IF NOT EXISTS last_message TEXT;
    ALTER TABLE agents ADD COLUMN IF NOT EXISTS display_name TEXT;
    ALTER TABLE agents ADD COLUMN IF NOT EXISTS avatar_url TEXT;
    "#,
    // 22: the guest session that redeemed an identity token's jti, as in the SQLite store.
    r#"
    ALTER TABLE identity_jtis ADD COLUMN IF NOT EXISTS guest_id TEXT;
    "#,
];

/// The schema version this build writes and understands.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Creates `schema` if given and brings it up to `SCHEMA_VERSION`, in one transaction.
///
/// The advisory lock is keyed by the schema name, so tenants of one database migrate
/// independently while nodes of one tenant take turns. `CREATE SCHEMA IF NOT EXISTS` and
/// `CREATE TABLE IF NOT EXISTS` are not race-free on their own; under the lock they are.
pub(crate) async fn migrate(client: &mut Object, schema: Option<&str>) -> Result<(), StoreError> {
    let tx = startup_transaction(client, "starting the migration").await?;
    let key = format!("porch-migrate:{}", schema.unwrap_or(""));
    tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&key])
        .await
        .context("waiting for the migration lock")?;
    if let Some(schema) = schema {
        // Validated by `pool::check_schema_name`: a plain identifier, safe unquoted.
        tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .await
            .context(&format!("creating schema {schema}"))?;
    }
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS porch_schema_version (\
             version       BIGINT PRIMARY KEY, \
             applied_at_ms BIGINT NOT NULL)",
    )
    .await
    .context("creating porch_schema_version")?;
    let version: i64 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM porch_schema_version", &[])
        .await
        .and_then(|row| row.try_get(0))
        .context("reading the schema version")?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Unavailable(format!(
            "the database has schema version {version} but this porch knows only up to {SCHEMA_VERSION}; \
             run a porch at least as new as the one that last migrated it"
        )));
    }
    let Ok(done) = usize::try_from(version) else {
        return Err(StoreError::Unavailable(format!(
            "the database has a negative schema version {version}"
        )));
    };
    for (index, ddl) in MIGRATIONS.iter().enumerate().skip(done) {
        let next = index as i64 + 1;
        tracing::info!(
            from = next - 1,
            to = next,
            schema = schema.unwrap_or("(search_path)"),
            "migrating the postgres schema"
        );
        tx.batch_execute(ddl).await.context(&format!("applying migration {next}"))?;
        tx.execute(
            "INSERT INTO porch_schema_version (version, applied_at_ms) VALUES ($1, $2)",
            &[&next, &now_ms()],
        )
        .await
        .context(&format!("recording migration {next}"))?;
    }
    tx.commit().await.context("committing the migration")
}
