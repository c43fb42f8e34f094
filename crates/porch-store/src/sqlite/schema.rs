//! The schema, its migrations, and how every connection is configured.
//!
//! All DDL lives here so a reader sees the whole data model in one file. The schema version is
//! SQLite's `PRAGMA user_version`: it sits in the file header, costs no table, and changes in
//! the same transaction as the DDL it describes, so a crash mid-migration leaves the old
//! version and the old schema together.

use std::path::Path;
use std::time::Duration;

use porch_core::limits::{SQLITE_BUSY_TIMEOUT_MS, SQLITE_STATEMENT_CACHE_STATEMENTS};
use porch_core::store::StoreError;
use rusqlite::{Connection, OpenFlags};

use super::Synchronous;
use super::rows::Context;

/// Migration N (1-based) takes the schema from version N-1 to N. Append only: a released
/// migration never changes, or databases already past it would differ from new ones.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema. STRICT tables so a type mix-up fails loudly instead of storing
    // text in an integer column.
    r#"
    CREATE TABLE clients (
        id            TEXT PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        secret_hash   TEXT NOT NULL,
        scopes        TEXT NOT NULL,          -- JSON array of strings
        created_at_ms INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE deployments (
        id                   TEXT PRIMARY KEY,
        name                 TEXT NOT NULL UNIQUE,
        origins              TEXT NOT NULL,   -- JSON array of strings
        queue                TEXT NOT NULL,
        guest_token_ttl_secs INTEGER NOT NULL,
        enabled              INTEGER NOT NULL,
        created_at_ms        INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE agents (
        id            TEXT PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        secret_hash   TEXT NOT NULL,
        queues        TEXT NOT NULL,          -- JSON array of strings
        created_at_ms INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE signing_keys (
        kid           TEXT PRIMARY KEY,
        secret        BLOB NOT NULL,
        created_at_ms INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE guests (
        id              TEXT PRIMARY KEY,
        display_name    TEXT,
        email           TEXT,
        external_id     TEXT,
        attributes      TEXT NOT NULL,        -- JSON object of string values
        created_at_ms   INTEGER NOT NULL,
        deployment_id   TEXT NOT NULL REFERENCES deployments(id),
        conversation_id TEXT NOT NULL UNIQUE,
        client_id       TEXT NOT NULL REFERENCES clients(id),
        revoked         INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE conversations (
        id                TEXT PRIMARY KEY,
        guest_id          TEXT NOT NULL UNIQUE REFERENCES guests(id),
        deployment_id     TEXT NOT NULL REFERENCES deployments(id),
        queue             TEXT NOT NULL,
        state             TEXT NOT NULL CHECK (state IN ('waiting', 'assigned', 'closed')),
        assigned_agent_id TEXT,
        last_seq          INTEGER NOT NULL CHECK (last_seq >= 0),
        created_at_ms     INTEGER NOT NULL,
        updated_at_ms     INTEGER NOT NULL
    ) STRICT;

    -- Agents list their queues' conversations, most recently active first.
    CREATE INDEX conversations_by_queue ON conversations (queue, updated_at_ms DESC);

    -- Clustered on (conversation_id, seq): a history page is one contiguous range scan, and
    -- the primary key makes a duplicate seq impossible whatever the code above it does.
    CREATE TABLE messages (
        conversation_id     TEXT NOT NULL REFERENCES conversations(id),
        seq                 INTEGER NOT NULL CHECK (seq >= 1),
        id                  TEXT NOT NULL UNIQUE,
        client_message_id   TEXT,
        sender_role         TEXT NOT NULL CHECK (sender_role IN ('guest', 'agent', 'system')),
        sender_id           TEXT NOT NULL,
        sender_display_name TEXT,
        text                TEXT NOT NULL,
        event               TEXT CHECK (event IN ('waiting', 'assigned', 'closed')),
        created_at_ms       INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, seq)
    ) STRICT, WITHOUT ROWID;

    -- Backs idempotent sends: one clientMessageId per sender and conversation. Partial,
    -- because system messages have none and need no entry.
    CREATE UNIQUE INDEX messages_idempotency
        ON messages (conversation_id, sender_id, client_message_id)
        WHERE client_message_id IS NOT NULL;

    CREATE TABLE read_markers (
        conversation_id TEXT NOT NULL REFERENCES conversations(id),
        participant_id  TEXT NOT NULL,
        read_seq        INTEGER NOT NULL CHECK (read_seq >= 0),
        PRIMARY KEY (conversation_id, participant_id)
    ) STRICT, WITHOUT ROWID;
    "#,
    // 2: the pseudo-client that owns guests created by the browser widget endpoint, which has
    // no OAuth client. Its secret hash `!` is no PHC string, so it can never authenticate.
    r#"
    INSERT OR IGNORE INTO clients (id, name, secret_hash, scopes, created_at_ms)
    VALUES ('cli_widget', '(browser widget)', '!', '[]', 0);
    "#,
    // 3: messages lose the UNIQUE index on `id`. Ids are 128 random bits (`porch_core::ids`),
    // so they never collide, and nothing looks a message up by id; but the index put every
    // append on a random leaf page of its own, one more page written to the WAL and copied
    // back at each checkpoint (BENCHMARKS.md, S4). SQLite cannot drop a constraint's index,
    // so the table is rebuilt.
    r#"
    CREATE TABLE messages_v3 (
        conversation_id     TEXT NOT NULL REFERENCES conversations(id),
        seq                 INTEGER NOT NULL CHECK (seq >= 1),
        id                  TEXT NOT NULL,
        client_message_id   TEXT,
        sender_role         TEXT NOT NULL CHECK (sender_role IN ('guest', 'agent', 'system')),
        sender_id           TEXT NOT NULL,
        sender_display_name TEXT,
        text                TEXT NOT NULL,
        event               TEXT CHECK (event IN ('waiting', 'assigned', 'closed')),
        created_at_ms       INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, seq)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO messages_v3 (conversation_id, seq, id, client_message_id, sender_role, sender_id,
                             sender_display_name, text, event, created_at_ms)
        SELECT conversation_id, seq, id, client_message_id, sender_role, sender_id,
               sender_display_name, text, event, created_at_ms
        FROM messages;
    DROP TABLE messages;
    ALTER TABLE messages_v3 RENAME TO messages;
    CREATE UNIQUE INDEX messages_idempotency
        ON messages (conversation_id, sender_id, client_message_id)
        WHERE client_message_id IS NOT NULL;
    "#,
    // 4: a deployment's notice (`porch_wire::rest::Notice` as JSON), one at a time; NULL
    // when there is none. On the deployment's row, so the read every guest handshake makes
    // of its deployment brings the notice for `ready` at no extra cost.
    r#"
    ALTER TABLE deployments ADD COLUMN notice TEXT;
    "#,
    // 5: webhooks (`porch_core::webhook`). The outbox holds one row per event and subscribed
    // endpoint, written by the commit of the entry (or conversation) it names; a delivered row
    // is deleted, a dead one kept. Its key orders a conversation's events per endpoint, and
    // makes a second row for one event impossible.
    r#"
    CREATE TABLE webhook_endpoints (
        id                       TEXT PRIMARY KEY,
        deployment_id            TEXT NOT NULL REFERENCES deployments(id),
        url                      TEXT NOT NULL,
        event_types              TEXT NOT NULL,   -- JSON array of strings
        secret                   TEXT NOT NULL,
        previous_secret          TEXT,
        previous_secret_until_ms INTEGER NOT NULL,
        created_at_ms            INTEGER NOT NULL
    ) STRICT;

    CREATE INDEX webhook_endpoints_by_deployment ON webhook_endpoints (deployment_id);

    CREATE TABLE webhook_outbox (
        endpoint_id        TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
        conversation_id    TEXT NOT NULL,
        seq                INTEGER NOT NULL CHECK (seq >= 0),
        event_type         TEXT NOT NULL,
        agent_id           TEXT,
        state              TEXT NOT NULL CHECK (state IN ('pending', 'dead')),
        attempts           INTEGER NOT NULL,
        next_attempt_at_ms INTEGER NOT NULL,
        lease_owner        TEXT,
        lease_until_ms     INTEGER NOT NULL,
        last_error         TEXT,
        created_at_ms      INTEGER NOT NULL,
        PRIMARY KEY (endpoint_id, conversation_id, seq)
    ) STRICT;

    -- A node's claim reads an endpoint's due rows in due order.
    CREATE INDEX webhook_outbox_due ON webhook_outbox (endpoint_id, state, next_attempt_at_ms);
    "#,
    // 6: customers (issue 20). A customer is an external id on a deployment, so listing one's
    // conversations finds its guests by that pair; partial, as most guests have none.
    r#"
    CREATE INDEX IF NOT EXISTS guests_by_customer ON guests (deployment_id, external_id)
        WHERE external_id IS NOT NULL;
    "#,
    // 7: identity keys registered on deployments, and the identity tokens already used
    // (issue 20). A key's algorithm is stored with it: the key decides, never the token. A
    // used jti is kept until its token expires, so its primary key decides a replay.
    r#"
    CREATE TABLE IF NOT EXISTS identity_keys (
        kid           TEXT PRIMARY KEY,
        deployment_id TEXT NOT NULL REFERENCES deployments(id),
        algorithm     TEXT NOT NULL CHECK (algorithm IN ('HS256', 'ES256', 'EdDSA')),
        material      BLOB NOT NULL,
        created_at_ms INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX IF NOT EXISTS identity_keys_by_deployment ON identity_keys (deployment_id);

    CREATE TABLE IF NOT EXISTS identity_jtis (
        deployment_id TEXT NOT NULL,
        jti           TEXT NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        PRIMARY KEY (deployment_id, jti)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS identity_jtis_by_expiry ON identity_jtis (expires_at_ms);
    "#,
    // 8: how a guest's externalId was vouched for (issue 20, item 4): `backend` (the builder's
    // backend created the session with it) or `identityToken`; NULL for an anonymous guest.
    r#"
    ALTER TABLE guests ADD COLUMN verified_by TEXT
        CHECK (verified_by IN ('backend', 'identityToken'));
    UPDATE guests SET verified_by = 'backend' WHERE external_id IS NOT NULL;
    "#,
    // 9: a deployment's welcome (`porch_wire::rest::Welcome` as JSON: the widget's greeting and
    // reply time); NULL when it says nothing.
    r#"
    ALTER TABLE deployments ADD COLUMN welcome TEXT;
    "#,
    // 10: routing (docs/routing.md). An agent's status, its own capacity (NULL: its queues'
    // default), its load (`assigned_count`, moved in the commit of every assignment and
    // release, so a capacity check reads one row), the capacity its latest assignment was
    // checked against (`assigned_count_cap`: the same CHECK as PostgreSQL's, where it is what
    // refuses a racing assignment) and when it was last assigned (offer order). Loads start
    // from the conversations agents hold. Queues get a row once an operator configures one.
    r#"
    ALTER TABLE agents ADD COLUMN status TEXT NOT NULL DEFAULT 'offline'
        CHECK (status IN ('available', 'away', 'offline'));
    ALTER TABLE agents ADD COLUMN capacity INTEGER CHECK (capacity >= 1);
    ALTER TABLE agents ADD COLUMN assigned_count INTEGER NOT NULL DEFAULT 0
        CHECK (assigned_count >= 0);
    ALTER TABLE agents ADD COLUMN assigned_count_cap INTEGER NOT NULL DEFAULT 0
        CHECK (assigned_count <= assigned_count_cap);
    ALTER TABLE agents ADD COLUMN last_assigned_at_ms INTEGER NOT NULL DEFAULT 0;
    UPDATE agents SET (assigned_count, assigned_count_cap) = (
        SELECT count(*), count(*) FROM conversations c
        WHERE c.assigned_agent_id = agents.id AND c.state = 'assigned'
    );

    CREATE TABLE queues (
        name             TEXT PRIMARY KEY,
        capacity_default INTEGER CHECK (capacity_default >= 1),
        auto_accept      INTEGER NOT NULL,
        manual_take      INTEGER NOT NULL
    ) STRICT;
    "#,
    // 11: offers (docs/routing.md): one record per offered conversation, changed only by the
    // writer (`offers`): who holds the offer and until when, who passed in this round (JSON
    // list), and a version every change raises (PostgreSQL's conditional write compares it).
    r#"
    CREATE TABLE offers (
        conversation_id TEXT PRIMARY KEY REFERENCES conversations(id),
        agent_id        TEXT,
        expires_at_ms   INTEGER NOT NULL,
        passed          TEXT NOT NULL,
        version         INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX offers_live ON offers (expires_at_ms) WHERE agent_id IS NOT NULL;
    "#,
    // 12: an agent's and a client's standing (`porch_core::model::Standing`): disabled ones are
    // refused, and a secret reset refuses tokens issued before it. On the row every use of
    // their tokens reads anyway.
    r#"
    ALTER TABLE clients ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE clients ADD COLUMN tokens_valid_after_secs INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE agents ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE agents ADD COLUMN tokens_valid_after_secs INTEGER NOT NULL DEFAULT 0;
    "#,
    // 13: bots (docs/bots.md). A bot of a deployment signs in with its id and secret; a queue
    // may start its conversations with one (`queues.bot_id`); an entry may carry a bot's quick
    // replies and cards, or a guest's pick, as JSON (`porch_wire::bot::Content`); a hand-off
    // leaves its summary for agents in `handoffs`. A bot's entries keep `sender_role` 'agent'
    // (the table's CHECK could change only by copying the whole log) with the bot's `bot_` id,
    // which tells them apart (`rows::message_at`).
    r#"
    CREATE TABLE bots (
        id            TEXT PRIMARY KEY,
        deployment_id TEXT NOT NULL REFERENCES deployments(id),
        name          TEXT NOT NULL,
        secret_hash   TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE handoffs (
        conversation_id TEXT PRIMARY KEY REFERENCES conversations(id),
        bot_id          TEXT NOT NULL,
        queue           TEXT NOT NULL,
        summary         TEXT NOT NULL,
        at_ms           INTEGER NOT NULL
    ) STRICT;
    ALTER TABLE queues ADD COLUMN bot_id TEXT;
    ALTER TABLE messages ADD COLUMN content TEXT;
    "#,
    // 14: routing's transfer and wrap-up (docs/routing.md): a transfer's internal note and a
    // close's wrap-up code on the entry (agents only), and each deployment's wrap-up codes.
    r#"
    ALTER TABLE messages ADD COLUMN note TEXT;
    ALTER TABLE messages ADD COLUMN wrap_up TEXT;
    CREATE TABLE wrap_up_codes (
        deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
        code          TEXT NOT NULL,
        position      INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX wrap_up_codes_by_deployment ON wrap_up_codes (deployment_id, position);
    "#,
    // 15: canned replies (`porch_core::canned`), per deployment, keyed by shortcut: the
    // console reads a deployment's all at once, in shortcut order, which the key gives; and a
    // guest's visitor context (`porch_wire::rest::VisitorContext` as JSON; NULL when none),
    // read only beside the chat, so no list or frame carries it.
    r#"
    ALTER TABLE guests ADD COLUMN context TEXT;
    CREATE TABLE canned_replies (
        deployment_id TEXT NOT NULL REFERENCES deployments(id),
        shortcut      TEXT NOT NULL,
        text          TEXT NOT NULL,
        updated_at_ms INTEGER NOT NULL,
        PRIMARY KEY (deployment_id, shortcut)
    ) STRICT, WITHOUT ROWID;
    "#,
    // 16: attachments (docs/attachments.md). An attachment message names its file
    // (`porch_wire::attachment::Attachment` as JSON) and, in columns of their own, its id (the
    // sweep asks which stored files a message names) and its size (a conversation's quota
    // sums them). The bytes are files in the data directory, not rows.
    r#"
    ALTER TABLE messages ADD COLUMN attachment TEXT;
    ALTER TABLE messages ADD COLUMN attachment_id TEXT;
    ALTER TABLE messages ADD COLUMN attachment_bytes INTEGER;
    CREATE INDEX messages_attachment ON messages (attachment_id) WHERE attachment_id IS NOT NULL;
    "#,
    // 17: erasure (issue 20, item 6; docs/identity.md). An erased guest is marked, and keeps
    // of its customer's externalId only a digest (`model::erased_key`), found by its own
    // partial index, so a second erasure of the customer is recognised. An erased log entry
    // is a tombstone: marked, its text empty.
    r#"
    ALTER TABLE guests ADD COLUMN erased INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE guests ADD COLUMN erased_key TEXT;
    CREATE INDEX guests_by_erased_key ON guests (deployment_id, erased_key)
        WHERE erased_key IS NOT NULL;
    ALTER TABLE messages ADD COLUMN erased INTEGER NOT NULL DEFAULT 0;
    "#,
    // 18: reopen and unanswered fallbacks (issue 18, items 4 and 6; docs/routing.md). The
    // system entry that takes a closed conversation back to its last agent or its queue is
    // marked, so its webhook event and its readers tell it from an assignment or a return. A
    // queue may name a fallback (all three columns, or none), and the entry a fallback writes is
    // marked, so it fires once per wait; every node looks for due ones every second, through
    // an index of the waiting conversations alone (a queue's closed ones are most of it).
    r#"
    CREATE INDEX conversations_waiting ON conversations (queue, created_at_ms) WHERE state = 'waiting';
    ALTER TABLE messages ADD COLUMN reopened INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN fallback INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE queues ADD COLUMN fallback_after_secs INTEGER CHECK (fallback_after_secs >= 1);
    ALTER TABLE queues ADD COLUMN fallback_action TEXT CHECK (fallback_action IN ('message', 'queue', 'close'));
    ALTER TABLE queues ADD COLUMN fallback_text TEXT;
    "#,
    // 19: supervisors (issue 18, item 7; docs/routing.md). A flag an operator sets: a
    // supervisor sees every queue and acts on conversations other agents hold.
    r#"
    ALTER TABLE agents ADD COLUMN supervisor INTEGER NOT NULL DEFAULT 0;
    "#,
    // 20: bots an operator disabled (`porch bots disable`), enabled until then; and the queue
    // a webhook event's conversation was in when it was committed, so the event says where the
    // conversation went (a transfer to a queue) even when it moved again before the delivery.
    // NULL for rows of before: they are rendered with the conversation's queue, as they were.
    r#"
    ALTER TABLE bots ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE webhook_outbox ADD COLUMN queue TEXT;
    "#,
    // 21: agents' lists and the widget's header (issue 19). A conversation keeps the preview of
    // its latest entry (`porch_wire::rest::Preview` as JSON), written by the append's commit, so
    // a list reads it with the row; NULL before the first entry, after an erasure, and for
    // conversations of before until their next entry. An agent may have a display name and an
    // avatar URL, which guests read (`porch agents set`).
    r#"
    ALTER TABLE conversations ADD COLUMN last_message TEXT;
    ALTER TABLE agents ADD COLUMN display_name TEXT;
    ALTER TABLE agents ADD COLUMN avatar_url TEXT;
    "#,
    // 22: the guest session that redeemed an
    // identity token's jti, so its retry after a lost answer is answered as the first use was
    // (docs/identity.md). NULL for a token that opened a session, and for rows of before.
    r#"
    ALTER TABLE identity_jtis ADD COLUMN guest_id TEXT;
    "#,
    // 23: `messages` with its CHECKs written as comparisons. SQLite tests `x IN ('a', 'b',
    // 'c')`, three constants or more, against a temporary B-tree it builds of the list at each
    // run of the statement: two per append (the role's and the event's), about a tenth of an
    // append's instructions with the pages they zero (BENCHMARKS.md, Session 10). `=` joined by
    // OR checks the same (a NULL event passes either way), with no table. SQLite cannot change
    // a constraint, so the table is rebuilt, as in migration 3, with its two indexes.
    r#"
    CREATE TABLE messages_v23 (
        conversation_id     TEXT NOT NULL REFERENCES conversations(id),
        seq                 INTEGER NOT NULL CHECK (seq >= 1),
        id                  TEXT NOT NULL,
        client_message_id   TEXT,
        sender_role         TEXT NOT NULL
            CHECK (sender_role = 'guest' OR sender_role = 'agent' OR sender_role = 'system'),
        sender_id           TEXT NOT NULL,
        sender_display_name TEXT,
        text                TEXT NOT NULL,
        event               TEXT
            CHECK (event = 'waiting' OR event = 'assigned' OR event = 'closed'),
        created_at_ms       INTEGER NOT NULL,
        content             TEXT,
        note                TEXT,
        wrap_up             TEXT,
        attachment          TEXT,
        attachment_id       TEXT,
        attachment_bytes    INTEGER,
        erased              INTEGER NOT NULL DEFAULT 0,
        reopened            INTEGER NOT NULL DEFAULT 0,
        fallback            INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (conversation_id, seq)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO messages_v23 (conversation_id, seq, id, client_message_id, sender_role, sender_id,
                              sender_display_name, text, event, created_at_ms, content, note,
                              wrap_up, attachment, attachment_id, attachment_bytes, erased,
                              reopened, fallback)
        SELECT conversation_id, seq, id, client_message_id, sender_role, sender_id,
               sender_display_name, text, event, created_at_ms, content, note, wrap_up,
               attachment, attachment_id, attachment_bytes, erased, reopened, fallback
        FROM messages;
    DROP TABLE messages;
    ALTER TABLE messages_v23 RENAME TO messages;
    CREATE UNIQUE INDEX messages_idempotency
        ON messages (conversation_id, sender_id, client_message_id)
        WHERE client_message_id IS NOT NULL;
    CREATE INDEX messages_attachment ON messages (attachment_id) WHERE attachment_id IS NOT NULL;
    "#,
];

/// The schema version this build writes and understands.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Which part of the store a connection serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Writer,
    Reader,
    /// Only runs `wal_checkpoint` (`checkpointer`).
    Checkpointer,
}

/// Opens one connection to `path` with Porch's settings.
///
/// Readers are opened read-write but with `query_only`: a `SQLITE_OPEN_READ_ONLY` connection
/// cannot always attach to a WAL file's shared-memory index, while `query_only` gives the same
/// guarantee (no statement can write) without that edge case.
pub(crate) fn open_connection(
    path: &Path,
    synchronous: Synchronous,
    role: Role,
) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let shown = path.display();
    let conn = Connection::open_with_flags(path, flags).context(&format!("opening {shown}"))?;
    conn.set_prepared_statement_cache_capacity(SQLITE_STATEMENT_CACHE_STATEMENTS);
    // The busy timeout goes first: the pragmas below may themselves wait for a lock held by
    // another process.
    conn.busy_timeout(Duration::from_millis(SQLITE_BUSY_TIMEOUT_MS))
        .context("setting busy_timeout")?;
    let journal_mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))
        .context(&format!("switching {shown} to WAL"))?;
    if !journal_mode.eq_ignore_ascii_case("wal") {
        // WAL is what lets the CLI write while the server reads and writes; without it the
        // store's concurrency story is false, so refuse rather than run degraded.
        return Err(StoreError::Unavailable(format!(
            "{shown} stays in journal_mode={journal_mode}; WAL needs a local filesystem with shared memory (not NFS)"
        )));
    }
    conn.pragma_update(None, "synchronous", synchronous.pragma_value())
        .context("setting synchronous")?;
    conn.pragma_update(None, "foreign_keys", "ON").context("enabling foreign_keys")?;
    match role {
        Role::Reader => {
            conn.pragma_update(None, "query_only", "ON").context("setting query_only")?
        }
        Role::Writer => {
            // The checkpoint thread copies the WAL back, not the commits (`checkpointer`).
            conn.pragma_update(None, "wal_autocheckpoint", 0)
                .context("turning off wal_autocheckpoint")?;
        }
        Role::Checkpointer => {}
    }
    Ok(conn)
}

/// Brings the schema up to `SCHEMA_VERSION`.
///
/// Each step runs in its own `BEGIN IMMEDIATE` transaction and re-reads the version inside
/// it, so two processes starting at once on a new file migrate it exactly once.
pub(crate) fn migrate(conn: &Connection) -> Result<(), StoreError> {
    loop {
        conn.execute_batch("BEGIN IMMEDIATE").context("starting a migration")?;
        let step = migrate_one(conn);
        match step {
            Ok(true) => conn.execute_batch("COMMIT").context("committing a migration")?,
            Ok(false) => {
                conn.execute_batch("COMMIT").context("ending the migration check")?;
                return Ok(());
            }
            Err(e) => {
                // The transaction may already be gone (SQLite rolls back on some errors);
                // the migration error is the one worth reporting.
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
    }
}

/// Applies the next migration, if any. `Ok(false)` when the schema is current.
fn migrate_one(conn: &Connection) -> Result<bool, StoreError> {
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .context("reading user_version")?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Unavailable(format!(
            "the database has schema version {version} but this porch knows only up to {SCHEMA_VERSION}; \
             run a porch at least as new as the one that last opened it"
        )));
    }
    if version == SCHEMA_VERSION {
        return Ok(false);
    }
    let Ok(index) = usize::try_from(version) else {
        return Err(StoreError::Unavailable(format!(
            "the database has a negative schema version {version}"
        )));
    };
    let next = version + 1;
    tracing::info!(from = version, to = next, "migrating the sqlite schema");
    conn.execute_batch(MIGRATIONS[index]).context(&format!("applying migration {next}"))?;
    conn.pragma_update(None, "user_version", next).context("writing user_version")?;
    Ok(true)
}
