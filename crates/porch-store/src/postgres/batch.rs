//! Plain appends to one conversation that arrive together on one node share one statement and
//! one commit.
//!
//! Appends to one conversation commit one after the other on its row, each with its own WAL
//! flush, so one conversation took no more appends per second than PostgreSQL has commits per
//! second for it. Here a node keeps at most one statement of plain appends (`is_plain`: nearly
//! every message) per conversation in flight; those arriving meanwhile queue in memory, and
//! the next statement writes all of them (up to `POSTGRES_APPEND_BATCH_MAX`) at consecutive
//! `seq`s in queue order, as one commit. A lone append takes the one-entry path
//! (`log::alone`), unchanged. A batch the statement did not write (the conversation closed or
//! changed since its snapshot, a `clientMessageId` already stored or in the batch twice) or
//! whose outcome is unknown (its connection broke) is taken apart: each of its appends then
//! runs the one-entry path, from what the batch sent, so each gets the outcome it would have
//! had alone. One after the other, in queue order, by the writer: run side by side they could
//! commit out of the order their sender sent them in.
//!
//! The queue's writer is a task of its own, not a caller: a caller that leaves drops only its
//! place (an append still queued is skipped), never the appends of others.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use deadpool_postgres::GenericClient;
use porch_core::ids::{new_id, prefix};
use porch_core::limits::POSTGRES_APPEND_BATCH_MAX;
use porch_core::store::{AppendDecision, AppendOutcome, AppendRequest, StoreError, decide_append};
use porch_core::webhook::EventType;
use porch_wire::rest::Conversation;
use tokio::sync::oneshot;
use tokio_postgres::types::ToSql;

use super::log::{self, Failure, INSERTED_EVENTS, PLAIN_STORED_AT, failure, plain_preview};
use super::pool::Db;
use super::rows::{self, CONVERSATION_COLUMNS, CONVERSATION_FROM, Context, violates};
use super::turns::Turns;
use super::webhooks::enqueue_sql;

/// This node's queued plain appends, by conversation. A conversation is in the map exactly
/// while its writer task runs; the map is bounded by the appends in flight.
#[derive(Default)]
pub(crate) struct Batches {
    lines: Mutex<HashMap<String, VecDeque<Queued>>>,
}

/// One append waiting for its batch.
struct Queued {
    request: AppendRequest,
    reply: oneshot::Sender<Reply>,
}

/// What a batch tells each of its appends.
type Reply = Result<AppendOutcome, StoreError>;

/// What the store shares with a conversation's writer task.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) db: Db,
    pub(crate) turns: Arc<Turns>,
    pub(crate) batches: Arc<Batches>,
}

/// Appends a plain entry (`AppendRequest::is_plain`); see `Store::append`.
pub(crate) async fn append(
    shared: &Shared,
    request: AppendRequest,
) -> Result<AppendOutcome, StoreError> {
    queue(shared, request).await
}

/// Queues a plain entry on its conversation's line now, before the answer is awaited: entries
/// queued one after the other are written in that order (`append_group` relies on it).
fn queue(
    shared: &Shared,
    request: AppendRequest,
) -> impl Future<Output = Result<AppendOutcome, StoreError>> + use<> {
    let conversation_id = request.conversation_id.clone();
    let (reply, answer) = oneshot::channel();
    let queued = Queued { request, reply };
    // A line in the map means its writer task runs (and takes this append in a later batch).
    let first = match shared.batches.lock().entry(conversation_id.clone()) {
        Entry::Occupied(mut line) => {
            line.get_mut().push_back(queued);
            false
        }
        Entry::Vacant(line) => {
            line.insert(VecDeque::from([queued]));
            true
        }
    };
    if first {
        tokio::spawn(write_queue(shared.clone(), conversation_id.clone()));
    }
    async move {
        match answer.await {
            Ok(outcome) => outcome,
            Err(_) => Err(StoreError::Unavailable(format!(
                "the batch of appends to {conversation_id} ended without an answer"
            ))),
        }
    }
}

/// A connection's pipelined appends (`Store::append_group`): each conversation's in the order
/// given (so their `seq`s follow it), the conversations at once on the pool. A run of plain
/// entries to one conversation is queued on its line together, so it shares a statement; an
/// entry that is not plain waits for those before it and goes alone. Outcomes in the order
/// given.
pub(crate) async fn append_group(
    shared: &Shared,
    requests: Vec<AppendRequest>,
) -> Vec<Result<AppendOutcome, StoreError>> {
    let mut chains: Vec<Vec<(usize, AppendRequest)>> = Vec::new();
    for (index, request) in requests.into_iter().enumerate() {
        let same = |chain: &&mut Vec<(usize, AppendRequest)>| {
            chain[0].1.conversation_id == request.conversation_id
        };
        match chains.iter_mut().find(same) {
            Some(chain) => chain.push((index, request)),
            None => chains.push(vec![(index, request)]),
        }
    }
    let runs = chains.into_iter().map(|chain| chain_of(shared, chain));
    let mut outcomes: Vec<_> =
        futures_util::future::join_all(runs).await.into_iter().flatten().collect();
    outcomes.sort_by_key(|(index, _)| *index);
    outcomes.into_iter().map(|(_, outcome)| outcome).collect()
}

/// One conversation's part of a group, in order.
async fn chain_of(
    shared: &Shared,
    chain: Vec<(usize, AppendRequest)>,
) -> Vec<(usize, Result<AppendOutcome, StoreError>)> {
    let mut done = Vec::with_capacity(chain.len());
    let mut chain = chain.into_iter().peekable();
    while let Some((index, request)) = chain.next() {
        if !request.is_plain() {
            done.push((index, log::append(shared, request).await));
            continue;
        }
        let mut run = vec![(index, queue(shared, request))];
        while let Some((index, request)) = chain.next_if(|(_, r)| r.is_plain()) {
            run.push((index, queue(shared, request)));
        }
        for (index, answer) in run {
            done.push((index, answer.await));
        }
    }
    done
}

impl Batches {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Queued>>> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next batch of the conversation's queue, its appends whose callers left skipped; an
    /// empty one removes the line (under the lock, so an append pushed after that starts a
    /// task of its own).
    fn next(&self, conversation_id: &str) -> Vec<Queued> {
        let mut lines = self.lock();
        let Some(line) = lines.get_mut(conversation_id) else { return Vec::new() };
        line.retain(|queued| !queued.reply.is_closed());
        if line.is_empty() {
            lines.remove(conversation_id);
            return Vec::new();
        }
        let take = line.len().min(POSTGRES_APPEND_BATCH_MAX);
        line.drain(..take).collect()
    }
}

/// A conversation's writer: one batch at a time until the queue is empty.
async fn write_queue(shared: Shared, conversation_id: String) {
    let mut writer = Writer { shared, conversation_id, done: false };
    loop {
        let Writer { shared, conversation_id, .. } = &writer;
        let mut batch = shared.batches.next(conversation_id);
        match batch.len() {
            0 => break,
            1 => {
                let Queued { request, reply } = batch.remove(0);
                let outcome =
                    log::alone(&shared.db, &shared.turns, request, Vec::new(), None).await;
                let _ = reply.send(outcome);
            }
            _ => write_batch(shared, batch).await,
        }
    }
    writer.done = true;
}

/// A running writer task. Should it end before its queue is empty (a panic, the runtime
/// shutting down), its line goes with it: the appends still queued there are answered with an
/// error (their replies dropped) instead of waiting for a writer that is gone.
struct Writer {
    shared: Shared,
    conversation_id: String,
    /// The queue was found empty and its line removed: any line now is another writer's.
    done: bool,
}

impl Drop for Writer {
    fn drop(&mut self) {
        if !self.done {
            self.shared.batches.lock().remove(&self.conversation_id);
        }
    }
}

/// Writes a batch of two or more in one statement, on one of the conversation's turns, and
/// answers each append.
async fn write_batch(shared: &Shared, batch: Vec<Queued>) {
    let conversation_id = batch[0].request.conversation_id.clone();
    let ids: Vec<String> = batch.iter().map(|_| new_id(prefix::MESSAGE)).collect();
    let connected = match shared.turns.take(&conversation_id).await {
        Ok(turn) => shared.db.client().await.map(|client| (turn, client)),
        Err(e) => Err(e),
    };
    let written = match connected {
        Ok((_turn, client)) => statement(&client, &batch, &ids).await,
        // Not sent: no wait is shorter alone.
        Err(e) => {
            for queued in batch {
                let _ = queued.reply.send(Err(e.clone()));
            }
            return;
        }
    };
    let unknown = match written {
        Ok(Some(outcomes)) => {
            for (queued, outcome) in batch.into_iter().zip(outcomes) {
                let _ = queued.reply.send(outcome);
            }
            return;
        }
        // Nothing was written: each decides alone, as if the batch had never been sent.
        Ok(None) | Err(Failure::Refused(_)) => None,
        Err(Failure::Unknown(e)) => Some(e),
    };
    // In queue order, one at a time (see the module's comment); an append whose caller left
    // is still made when the batch may have stored it, so its outcome is settled either way.
    for (Queued { request, reply }, id) in batch.into_iter().zip(ids) {
        if reply.is_closed() && unknown.is_none() {
            continue;
        }
        let sent = vec![id];
        let outcome = log::alone(&shared.db, &shared.turns, request, sent, unknown.clone()).await;
        let _ = reply.send(outcome);
    }
}

/// The columns of the batch statement's answer after the conversation's: the last `seq` it
/// wrote and the entries' time (NULL when it wrote nothing).
const BATCH_SEQ_AT: usize = PLAIN_STORED_AT;

/// One statement for the batch: `log::append_plain`'s, with the entries from arrays. It
/// writes all of them or none: only if the conversation is not closed, held by every holder
/// an agent's reply names, its state and agent are as in the statement's snapshot (PostgreSQL re-checks them on the row as committed when
/// it waited for another append's lock), and none of the `clientMessageId`s is stored. The
/// entries take consecutive `seq`s in the batch's order and one time (no earlier than the
/// row's); the conversation's preview is the last one's. `None` when it wrote nothing; else
/// each entry's outcome (an error is final: the entry may be stored, so it is never retried).
async fn statement(
    client: &impl GenericClient,
    batch: &[Queued],
    ids: &[String],
) -> Result<Option<Vec<Outcome>>, Failure> {
    let conversation_id = &batch[0].request.conversation_id;
    let doing = format!("appending {} entries to {conversation_id}", batch.len());
    let enqueue = enqueue_sql(INSERTED_EVENTS, 9);
    let statement = client
        .prepare_cached(&format!(
            "WITH snapshot AS ( \
                 SELECT state, assigned_agent_id FROM conversations WHERE id = $2 \
             ), batch AS ( \
                 SELECT * FROM unnest($1::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $12::text[]) \
                     WITH ORDINALITY AS b(id, client_message_id, sender_role, sender_id, sender_display_name, text, holder, n) \
             ), stored AS ( \
                 SELECT 1 FROM messages m JOIN batch b \
                     ON m.sender_id = b.sender_id AND m.client_message_id = b.client_message_id \
                 WHERE m.conversation_id = $2 \
             ), updated AS ( \
                 UPDATE conversations u SET last_seq = u.last_seq + cardinality($1::text[]), \
                        updated_at_ms = GREATEST(u.updated_at_ms, $8), last_message = $11 \
                 FROM snapshot s \
                 WHERE u.id = $2 AND s.state <> 'closed' AND u.state = s.state \
                   AND u.assigned_agent_id IS NOT DISTINCT FROM s.assigned_agent_id \
                   AND NOT EXISTS (SELECT 1 FROM batch b WHERE b.holder IS NOT NULL \
                       AND (s.state <> 'assigned' OR s.assigned_agent_id IS DISTINCT FROM b.holder)) \
                   AND NOT EXISTS (SELECT 1 FROM stored) \
                 RETURNING u.last_seq, u.updated_at_ms, u.deployment_id, u.queue \
             ), inserted AS ( \
                 INSERT INTO messages (id, conversation_id, seq, client_message_id, sender_role, sender_id, \
                                       sender_display_name, text, event, created_at_ms) \
                 SELECT b.id, $2, u.last_seq - cardinality($1::text[]) + b.n, b.client_message_id, \
                        b.sender_role, b.sender_id, b.sender_display_name, b.text, NULL, u.updated_at_ms \
                 FROM updated u, batch b \
                 RETURNING conversation_id, seq, created_at_ms \
             ), queued AS ({enqueue}) \
             SELECT {CONVERSATION_COLUMNS}, (SELECT last_seq FROM updated), (SELECT updated_at_ms FROM updated) \
             FROM {CONVERSATION_FROM} WHERE c.id = $2"
        ))
        .await
        .context(&doing)?;
    let requests: Vec<&AppendRequest> = batch.iter().map(|q| &q.request).collect();
    let column = |f: fn(&AppendRequest) -> Option<&str>| -> Vec<Option<&str>> {
        requests.iter().map(|r| f(r)).collect()
    };
    let client_message_ids = column(|r| r.client_message_id.as_deref());
    let roles = column(|r| Some(rows::stored_role(r.sender.role)));
    let sender_ids = column(|r| Some(r.sender.id.as_str()));
    let display_names = column(|r| r.sender.display_name.as_deref());
    let texts = column(|r| Some(r.text.as_str()));
    let holders = column(|r| r.holder.as_deref());
    let now_ms = requests.iter().map(|r| r.now_ms).max().unwrap_or_default();
    let last = requests[requests.len() - 1];
    let params: &[&(dyn ToSql + Sync)] = &[
        &ids,
        conversation_id,
        &client_message_ids,
        &roles,
        &sender_ids,
        &display_names,
        &texts,
        &now_ms,
        &EventType::of_entry(None).as_str(),
        &None::<&str>,
        &plain_preview(last),
        &holders,
    ];
    let row = match client.query_opt(&statement, params).await {
        Ok(row) => row,
        Err(e) if violates(&e, "messages_idempotency") => return Ok(None),
        Err(e) => return Err(failure(e, &doing)),
    };
    let Some(row) = row else {
        return Err(StoreError::ConversationUnknown(conversation_id.clone()).into());
    };
    let last_seq: Option<i64> = row.try_get(BATCH_SEQ_AT).context(&doing)?;
    if last_seq.is_none() {
        return Ok(None);
    }
    let last_seq = rows::seq(&row, BATCH_SEQ_AT)?;
    let at_ms: i64 = row.try_get(BATCH_SEQ_AT + 1).context(&doing)?;
    let first_seq = last_seq + 1 - batch.len() as u64;
    let before = rows::conversation(&row)?;
    Ok(Some(outcomes(before, &requests, ids, first_seq, at_ms)))
}

type Outcome = Result<AppendOutcome, StoreError>;

/// Each entry's outcome as `decide_append` rules it, one after the other from the conversation
/// as the statement read it, with the `seq`s and time the statement wrote. The statement
/// checked what the rule checks of a plain entry, so a refusal here (none is expected) is
/// passed on to that entry and those after it, which read their conversation from it.
fn outcomes(
    mut conversation: Conversation,
    requests: &[&AppendRequest],
    ids: &[String],
    first_seq: u64,
    at_ms: i64,
) -> Vec<Outcome> {
    let mut outcomes = Vec::with_capacity(requests.len());
    for ((request, id), seq) in requests.iter().zip(ids).zip(first_seq..) {
        match decide_append((*request).clone(), conversation.clone(), None, id.clone(), None) {
            Ok(AppendDecision::Write { mut message, conversation: mut after, .. }) => {
                (message.seq, after.last_seq) = (seq, seq);
                (message.created_at_ms, after.updated_at_ms) = (at_ms, at_ms);
                after.last_message = Some(porch_core::preview::last_message(&message));
                outcomes.push(Ok(AppendOutcome::created(message, after.clone(), None)));
                conversation = after;
            }
            Ok(AppendDecision::Replay(_)) => unreachable!("no stored entry was passed"),
            Err(e) => {
                outcomes.resize(requests.len(), Err(e));
                break;
            }
        }
    }
    outcomes
}
