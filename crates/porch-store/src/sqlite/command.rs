//! What the writer thread runs: each write as a `Command`, and one batch of them as one
//! transaction (`commit_batch`). Each command sits in its own savepoint, so a write that fails
//! (a closed conversation, an idempotency conflict) takes back only itself; a failure of the
//! transaction itself (`poisoned`) refuses the whole batch. Replies wait for the `COMMIT`
//! (`Done`), so an acknowledged write is on disk.

use porch_core::canned::CannedReply;
use porch_core::identity::IdentityKey;
use porch_core::model::{
    AgentRecord, ClientRecord, DeploymentRecord, DeploymentSettings, GuestRecord, QueueSettings,
    SetUp,
};
use porch_core::offer::{OfferOutcome, OfferRequest};
use porch_core::store::{Account, AppendOutcome, AppendRequest, Deletion, Durability, StoreError};
use porch_core::token::SigningKey;
use porch_wire::rest::{Conversation, Notice};
use rusqlite::Connection;
use tokio::sync::oneshot;

use super::rows::Context;
use super::{canned, context, identity, log, offers, routing, writes};

/// Where the writer sends a command's result.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A write, with the channel its result goes back on.
// An append is nearly every command and is moved once into the queue: boxing its request would
// add an allocation per message to save a few hundred bytes of queue slot.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Command {
    CreateClient {
        client: ClientRecord,
        reply: Reply<()>,
    },
    CreateDeployment {
        deployment: DeploymentRecord,
        reply: Reply<()>,
    },
    CreateAgent {
        agent: AgentRecord,
        reply: Reply<()>,
    },
    AddSigningKey {
        key: SigningKey,
        reply: Reply<()>,
    },
    RemoveSigningKey {
        kid: String,
        reply: Reply<bool>,
    },
    /// Creates the three records unless the deployment's name is taken; replies whether it did.
    /// Boxed: three records, the largest command by far, and rare; every queued command's slot
    /// would otherwise be its size.
    CreateSetUp {
        set_up: Box<SetUp>,
        reply: Reply<bool>,
    },
    /// Adds the key only if there is none; replies whether it did.
    AddFirstSigningKey {
        key: SigningKey,
        reply: Reply<bool>,
    },
    CreateGuest {
        guest: GuestRecord,
        queue: String,
        reply: Reply<Conversation>,
    },
    Append {
        request: AppendRequest,
        reply: Reply<AppendOutcome>,
    },
    /// A connection's pipelined appends, each in its own savepoint, all in the batch the
    /// command falls in: one command, so none of them can land in the next batch.
    AppendGroup {
        requests: Vec<AppendRequest>,
        reply: Reply<Vec<Result<AppendOutcome, StoreError>>>,
    },
    MarkRead {
        conversation_id: String,
        participant_id: String,
        seq: u64,
        reply: Reply<u64>,
    },
    /// Flips one boolean column of one row; replies whether the row exists.
    SetFlag {
        flag: writes::Flag,
        id: String,
        value: bool,
        reply: Reply<bool>,
    },
    /// A secret reset (`writes::reset_secret`); replies whether the record exists.
    ResetSecret {
        account: Account,
        id: String,
        secret_hash: String,
        valid_after_secs: i64,
        reply: Reply<bool>,
    },
    DeleteAccount {
        account: Account,
        id: String,
        reply: Reply<Deletion>,
    },
    /// Replaces one deployment's settings; replies whether the deployment exists.
    UpdateDeployment {
        id: String,
        settings: DeploymentSettings,
        reply: Reply<bool>,
    },
    /// Sets or clears one deployment's notice; replies whether the deployment exists.
    SetNotice {
        deployment_id: String,
        notice: Option<Notice>,
        reply: Reply<bool>,
    },
    AddIdentityKey {
        key: IdentityKey,
        reply: Reply<()>,
    },
    /// Replies whether a key had this kid.
    RemoveIdentityKey {
        kid: String,
        reply: Reply<bool>,
    },
    /// Replies whether this is the jti's first use (`Store::use_identity_jti`).
    UseIdentityJti {
        deployment_id: String,
        jti: String,
        guest_id: Option<String>,
        expires_at_ms: i64,
        now_ms: i64,
        reply: Reply<bool>,
    },
    /// Replies whether the guest is now this customer's (`Store::identify_guest`).
    IdentifyGuest {
        guest_id: String,
        external_id: String,
        display_name: Option<String>,
        email: Option<String>,
        reply: Reply<bool>,
    },
    /// Changes one routing column of an agent; replies whether the agent exists.
    ChangeAgent {
        agent_id: String,
        change: routing::AgentChange,
        reply: Reply<bool>,
    },
    SetQueue {
        settings: QueueSettings,
        reply: Reply<()>,
    },
    SetWrapUps {
        deployment_id: String,
        codes: Vec<String>,
        reply: Reply<bool>,
    },
    /// Replies whether a guest has this id.
    SetGuestContext {
        guest_id: String,
        context: porch_wire::rest::VisitorContext,
        reply: Reply<bool>,
    },
    SetCannedReply {
        canned: CannedReply,
        reply: Reply<()>,
    },
    /// Replies whether the deployment had a reply of that shortcut.
    DeleteCannedReply {
        deployment_id: String,
        shortcut: String,
        reply: Reply<bool>,
    },
    ChangeOffer {
        request: OfferRequest,
        reply: Reply<OfferOutcome>,
    },
    ClearOffer {
        conversation_id: String,
        reply: Reply<()>,
    },
    /// Not a write, but `synchronous` is per connection: only the write connection can say
    /// how durable a write is.
    Durability {
        reply: Reply<Durability>,
    },
    /// A write of a module of its own (`webhooks`), run like the others (`Writer::run`).
    Job(Job),
}

/// A write and its reply, boxed together so the command needs no variant per write.
pub(crate) type Job = Box<dyn FnOnce(&Connection, &mut Option<StoreError>) -> Done + Send>;

/// A command that has run inside the open transaction; its result is held back until the
/// commit decides whether it stands.
pub(crate) struct Done(Box<dyn FnOnce(Result<(), StoreError>) + Send>);

impl Done {
    fn new<T: Send + 'static>(reply: Reply<T>, result: Result<T, StoreError>) -> Done {
        Done(Box::new(move |commit: Result<(), StoreError>| {
            // The caller may have given up waiting (its future dropped); the write still stands.
            let _ = reply.send(commit.and(result));
        }))
    }

    fn finish(self, commit: Result<(), StoreError>) {
        (self.0)(commit)
    }
}

/// One transaction for the whole batch.
///
/// `poisoned` is set when the transaction itself is in an unknown state (BEGIN failed, a
/// savepoint could not be rolled back): from then on nothing else runs, and the batch is
/// rolled back, because committing could keep half of a failed write.
pub(crate) fn commit_batch(conn: &Connection, batch: &mut Vec<Command>) {
    let size = batch.len();
    let mut poisoned =
        control(conn, "BEGIN IMMEDIATE").context("starting a write transaction").err();
    let mut done = Vec::with_capacity(size);
    for command in batch.drain(..) {
        done.push(command.execute(conn, &mut poisoned));
    }
    let commit = match poisoned {
        Some(e) => {
            // Fails harmlessly when BEGIN never happened.
            let _ = control(conn, "ROLLBACK");
            Err(e)
        }
        None => {
            control(conn, "COMMIT").context("committing a write batch").inspect_err(|_| {
                // SQLite keeps the transaction open after some COMMIT failures (SQLITE_BUSY); close
                // it so the next batch starts clean. Fails harmlessly if SQLite already rolled back.
                let _ = control(conn, "ROLLBACK");
            })
        }
    };
    match &commit {
        Ok(()) => tracing::trace!(writes = size, "committed a write batch"),
        Err(e) => {
            tracing::warn!(writes = size, error = %e, "a write batch failed; every write in it is refused")
        }
    }
    for d in done {
        d.finish(commit.clone());
    }
}

impl Command {
    fn execute(self, conn: &Connection, poisoned: &mut Option<StoreError>) -> Done {
        match self {
            Command::CreateClient { client, reply } => {
                run_one(conn, poisoned, reply, |c| writes::create_client(c, &client))
            }
            Command::CreateDeployment { deployment, reply } => {
                run_one(conn, poisoned, reply, |c| writes::create_deployment(c, &deployment))
            }
            Command::CreateAgent { agent, reply } => {
                run_one(conn, poisoned, reply, |c| writes::create_agent(c, &agent))
            }
            Command::AddSigningKey { key, reply } => {
                run_one(conn, poisoned, reply, |c| writes::add_signing_key(c, &key))
            }
            Command::RemoveSigningKey { kid, reply } => {
                run_one(conn, poisoned, reply, |c| writes::remove_signing_key(c, &kid))
            }
            Command::CreateSetUp { set_up, reply } => {
                run_one(conn, poisoned, reply, |c| writes::create_set_up(c, &set_up))
            }
            Command::AddFirstSigningKey { key, reply } => {
                run_one(conn, poisoned, reply, |c| writes::add_first_signing_key(c, &key))
            }
            Command::AddIdentityKey { key, reply } => {
                run_one(conn, poisoned, reply, |c| identity::add_key(c, &key))
            }
            Command::RemoveIdentityKey { kid, reply } => {
                run_one(conn, poisoned, reply, |c| identity::remove_key(c, &kid))
            }
            Command::UseIdentityJti {
                deployment_id,
                jti,
                guest_id,
                expires_at_ms,
                now_ms,
                reply,
            } => run_one(conn, poisoned, reply, |c| {
                let guest_id = guest_id.as_deref();
                identity::use_jti(c, &deployment_id, &jti, guest_id, expires_at_ms, now_ms)
            }),
            Command::IdentifyGuest { guest_id, external_id, display_name, email, reply } => {
                run_one(conn, poisoned, reply, |c| {
                    let (name, email) = (display_name.as_deref(), email.as_deref());
                    identity::identify_guest(c, &guest_id, &external_id, name, email)
                })
            }
            Command::CreateGuest { guest, queue, reply } => {
                run_one(conn, poisoned, reply, |c| writes::create_guest(c, guest, queue))
            }
            Command::Append { request, reply } => {
                run_one(conn, poisoned, reply, |c| log::append(c, request))
            }
            Command::AppendGroup { requests, reply } => {
                append_group(conn, poisoned, reply, requests)
            }
            Command::MarkRead { conversation_id, participant_id, seq, reply } => {
                run_one(conn, poisoned, reply, |c| {
                    log::mark_read(c, &conversation_id, &participant_id, seq)
                })
            }
            Command::SetFlag { flag, id, value, reply } => {
                run_one(conn, poisoned, reply, |c| writes::set_flag(c, flag, &id, value))
            }
            Command::ResetSecret { account, id, secret_hash, valid_after_secs, reply } => {
                run_one(conn, poisoned, reply, |c| {
                    writes::reset_secret(c, account, &id, &secret_hash, valid_after_secs)
                })
            }
            Command::DeleteAccount { account, id, reply } => {
                run_one(conn, poisoned, reply, |c| writes::delete_account(c, account, &id))
            }
            Command::UpdateDeployment { id, settings, reply } => {
                run_one(conn, poisoned, reply, |c| writes::update_deployment(c, &id, &settings))
            }
            Command::SetNotice { deployment_id, notice, reply } => {
                run_one(conn, poisoned, reply, |c| {
                    writes::set_notice(c, &deployment_id, notice.as_ref())
                })
            }
            Command::ChangeAgent { agent_id, change, reply } => {
                run_one(conn, poisoned, reply, |c| routing::change_agent(c, &agent_id, &change))
            }
            Command::SetQueue { settings, reply } => {
                run_one(conn, poisoned, reply, |c| routing::set_queue(c, &settings))
            }
            Command::SetWrapUps { deployment_id, codes, reply } => {
                run_one(conn, poisoned, reply, |c| super::wrapups::set(c, &deployment_id, &codes))
            }
            Command::SetGuestContext { guest_id, context: visitor, reply } => {
                run_one(conn, poisoned, reply, |c| context::set(c, &guest_id, &visitor))
            }
            Command::SetCannedReply { canned: r, reply } => {
                run_one(conn, poisoned, reply, |c| canned::set(c, &r))
            }
            Command::DeleteCannedReply { deployment_id, shortcut, reply } => {
                run_one(conn, poisoned, reply, |c| canned::delete(c, &deployment_id, &shortcut))
            }
            Command::ChangeOffer { request, reply } => {
                run_one(conn, poisoned, reply, |c| offers::change(c, &request))
            }
            Command::ClearOffer { conversation_id, reply } => {
                run_one(conn, poisoned, reply, |c| offers::clear(c, &conversation_id))
            }
            Command::Durability { reply } => run_one(conn, poisoned, reply, writes::durability),
            Command::Job(job) => job(conn, poisoned),
        }
    }
}

/// Runs each append in its own savepoint, in order, unless the batch is (or becomes) poisoned.
fn append_group(
    conn: &Connection,
    poisoned: &mut Option<StoreError>,
    reply: Reply<Vec<Result<AppendOutcome, StoreError>>>,
    requests: Vec<AppendRequest>,
) -> Done {
    if let Some(e) = poisoned {
        return Done::new(reply, Err(e.clone()));
    }
    let mut outcomes = Vec::with_capacity(requests.len());
    for request in requests {
        match isolated(conn, |c| log::append(c, request)) {
            Ok(outcome) => outcomes.push(outcome),
            Err(e) => {
                *poisoned = Some(e.clone());
                return Done::new(reply, Err(e));
            }
        }
    }
    Done::new(reply, Ok(outcomes))
}

/// Runs one command in its own savepoint, unless the batch is already poisoned.
pub(crate) fn run_one<T: Send + 'static>(
    conn: &Connection,
    poisoned: &mut Option<StoreError>,
    reply: Reply<T>,
    write: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Done {
    if let Some(e) = poisoned {
        return Done::new(reply, Err(e.clone()));
    }
    match isolated(conn, write) {
        Ok(result) => Done::new(reply, result),
        Err(e) => {
            *poisoned = Some(e.clone());
            Done::new(reply, Err(e))
        }
    }
}

/// A transaction's control statement (`BEGIN`, `SAVEPOINT`, `COMMIT`, …), from the statement
/// cache: `execute_batch` parsed each anew, four or more times per batch (BENCHMARKS.md,
/// Session 10).
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// The inner result is the command's own; the outer error means the savepoint machinery
/// failed and the transaction can no longer be trusted.
fn isolated<T>(
    conn: &Connection,
    write: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<Result<T, StoreError>, StoreError> {
    control(conn, "SAVEPOINT write").context("opening a savepoint")?;
    let result = write(conn);
    if result.is_err() {
        control(conn, "ROLLBACK TO write").context("rolling back a refused write")?;
    }
    control(conn, "RELEASE write").context("releasing a savepoint")?;
    if conn.is_autocommit() {
        // SQLite rolls the whole transaction back on some errors (disk full, I/O); the writes
        // before this one are gone too, so nothing in the batch may be acknowledged.
        return Err(match result {
            Err(full @ StoreError::Full(_)) => full,
            _ => StoreError::Unavailable(
                "the write transaction was rolled back by SQLite".to_owned(),
            ),
        });
    }
    Ok(result)
}
