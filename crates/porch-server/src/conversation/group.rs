//! A connection's pipelined sends: frames it sent back to back, appended together so they share
//! one commit, each still answered on its own and in the order the frames came.
//!
//! Each send is checked and prepared in frame order first (the rate limit counts every one, and
//! an agent's claim of a waiting conversation commits before its reply, as for a single send);
//! then the prepared appends go to the store as one group (`Store::append_group`), which gives
//! those of one conversation their `seq` in frame order. Answers, and the live events of new
//! entries, follow in frame order, so per conversation they are in `seq` order. A send refused
//! before or by the store answers its own error; the others are not affected.

use porch_core::store::{AppendOutcome, AppendRequest, StoreError};
use porch_wire::rest::{Conversation, Participant, SendMessageResponse};

use super::{
    Entry, appended_one, delivered, prepare, reopen_copy, reopen_or_refuse, validate_send,
};
use crate::error::ApiResult;
use crate::state::AppState;

/// Checks one send of a group and makes its append: everything `send` does before appending.
pub async fn prepare_send(
    state: &AppState,
    sender: &Participant,
    conversation: &Conversation,
    client_message_id: &str,
    text: &str,
) -> ApiResult<AppendRequest> {
    validate_send(state, client_message_id, text)?;
    let entry =
        Entry { client_message_id, text: text.to_string(), attachment: None, content: None };
    prepare(state, sender, conversation, entry).await
}

/// Appends a group's prepared sends together and answers each, in the order given. A guest's
/// text refused because its conversation closed reopens it and is appended again, as a single
/// send would be.
pub async fn send_prepared(
    state: &AppState,
    sender: &Participant,
    prepared: Vec<ApiResult<AppendRequest>>,
    origin_session: Option<&str>,
) -> Vec<ApiResult<SendMessageResponse>> {
    let mut requests = Vec::with_capacity(prepared.len());
    let slots: Vec<ApiResult<Option<AppendRequest>>> = prepared
        .into_iter()
        .map(|p| {
            p.map(|request| {
                let again = reopen_copy(sender, &request);
                requests.push(request);
                again
            })
        })
        .collect();
    let mut appended = append_group(state, requests).await.into_iter();
    let mut answers = Vec::with_capacity(slots.len());
    for slot in slots {
        answers.push(match slot {
            Err(refused) => Err(refused),
            Ok(again) => {
                let result = appended.next().expect("the store answers every append of a group");
                let outcome = reopen_or_refuse(state, result, again).await;
                outcome.map(|o| delivered(state, o, origin_session))
            }
        });
    }
    answers
}

/// `conversation::append` for a group: each append timed (from the group's start) and
/// followed up as one is; a failure of the whole group is each append's.
async fn append_group(
    state: &AppState,
    requests: Vec<AppendRequest>,
) -> Vec<Result<AppendOutcome, StoreError>> {
    let count = requests.len();
    if count <= 1 {
        let Some(request) = requests.into_iter().next() else { return Vec::new() };
        return vec![super::append(state, request).await];
    }
    let started = std::time::Instant::now();
    let appended = state.store.append_group(requests).await;
    for _ in 0..count {
        crate::metrics::METRICS.commit_latency.since(started);
    }
    let outcomes = match appended {
        Ok(outcomes) => outcomes,
        Err(e) => vec![Err(e); count],
    };
    for outcome in &outcomes {
        appended_one(state, outcome);
    }
    outcomes
}
