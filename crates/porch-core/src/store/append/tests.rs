use porch_wire::rest::{Guest, Role};

use super::*;

fn conversation(state: ConversationState, last_seq: u64) -> Conversation {
    Conversation {
        id: "cnv_1".into(),
        deployment_id: "dep_1".into(),
        queue: "default".into(),
        state,
        guest: Guest::default(),
        assigned_agent_id: Some("agt_1".into()),
        last_seq,
        created_at_ms: 0,
        updated_at_ms: 500,
        reopen_until_ms: None,
        last_message: None,
        agent: None,
    }
}

fn request(text: &str, event: Option<ConversationState>, now_ms: i64) -> AppendRequest {
    AppendRequest {
        conversation_id: "cnv_1".into(),
        sender: Participant { role: Role::Guest, id: "gst_1".into(), display_name: None },
        client_message_id: Some("c1".into()),
        text: text.into(),
        event,
        assign: (event == Some(ConversationState::Assigned))
            .then(|| Assignee { agent_id: "agt_2".into(), capacity: 2 }),
        content: None,
        holder: None,
        or_unheld: false,
        queue: None,
        note: None,
        wrap_up: None,
        now_ms,
        attachment: None,
        reopen_closed_since_ms: None,
        expect_last_seq: None,
        fallback: false,
        webhook_event: None,
        identify: None,
    }
}

#[test]
fn only_the_holder_acts_when_a_holder_is_required() {
    let held = conversation(ConversationState::Assigned, 3);
    let mut asked = request("x", Some(ConversationState::Waiting), 900);
    asked.holder = Some("agt_9".into());
    let refused = decide_append(asked.clone(), held.clone(), None, "m".into(), None);
    assert_eq!(
        refused,
        Err(StoreError::NotHolder {
            conversation_id: "cnv_1".into(),
            holder: Some("agt_1".into())
        }),
        "another agent's conversation is not acted on"
    );
    asked.holder = Some("agt_1".into());
    asked.queue = Some("billing".into());
    let decided = decide_append(asked, held, None, "m".into(), None).unwrap();
    assert_eq!(moves(&decided), (None, Some("agt_1")), "an unassign releases its holder");
    let (_, after, _) = write(decided);
    assert_eq!((after.state, after.queue.as_str()), (ConversationState::Waiting, "billing"));
}

#[test]
fn a_transfer_to_an_agent_moves_the_load_in_one_write() {
    let held = conversation(ConversationState::Assigned, 3);
    let mut asked = request("x", Some(ConversationState::Assigned), 900);
    asked.holder = Some("agt_1".into());
    asked.note = Some("VIP".into());
    let decided = decide_append(asked.clone(), held.clone(), None, "m".into(), Some(0));
    let decided = decided.unwrap();
    assert_eq!(moves(&decided), (Some("agt_2"), Some("agt_1")));
    let (message, after, _) = write(decided);
    assert_eq!(after.assigned_agent_id.as_deref(), Some("agt_2"));
    assert_eq!(message.note.as_deref(), Some("VIP"));
    // What the commit returns names both agents whose load moved, for supervisors.
    let outcome = AppendOutcome::created(message, after, Some("agt_1".into()));
    assert_eq!(outcome.moved_agents(), vec!["agt_2", "agt_1"]);
    let full = decide_append(asked.clone(), held.clone(), None, "m".into(), Some(2));
    assert!(matches!(full, Err(StoreError::AgentAtCapacity { .. })), "{full:?}");
    asked.assign = Some(Assignee { agent_id: "agt_1".into(), capacity: 2 });
    let to_self = decide_append(asked, held, None, "m".into(), Some(0));
    assert!(matches!(to_self, Err(StoreError::ConversationTaken { .. })), "{to_self:?}");
}

fn write(decision: AppendDecision) -> (Message, Conversation, u64) {
    match decision {
        AppendDecision::Write { message, conversation, previous_seq, .. } => {
            (message, conversation, previous_seq)
        }
        other => panic!("expected a write, got {other:?}"),
    }
}

/// The agents a write claims and releases.
fn moves(decision: &AppendDecision) -> (Option<&str>, Option<&str>) {
    match decision {
        AppendDecision::Write { claim, release, .. } => {
            (claim.as_ref().map(|c| c.agent_id.as_str()), release.as_deref())
        }
        other => panic!("expected a write, got {other:?}"),
    }
}

fn decide(
    event: Option<ConversationState>,
    conversation: Conversation,
    assignee_load: Option<u32>,
) -> Result<AppendDecision, StoreError> {
    decide_append(request("x", event, 900), conversation, None, "m".into(), assignee_load)
}

fn unheld(state: ConversationState) -> Conversation {
    Conversation { assigned_agent_id: None, ..conversation(state, 3) }
}

#[test]
fn an_assignment_needs_a_conversation_nobody_holds() {
    let held = conversation(ConversationState::Assigned, 3);
    assert_eq!(
        decide(Some(ConversationState::Assigned), held, Some(0)),
        Err(StoreError::ConversationTaken {
            conversation_id: "cnv_1".into(),
            agent_id: "agt_1".into()
        }),
        "another agent's conversation is not taken from it"
    );
    let mine = Conversation {
        assigned_agent_id: Some("agt_2".into()),
        ..conversation(ConversationState::Assigned, 3)
    };
    assert!(
        matches!(
            decide(Some(ConversationState::Assigned), mine, Some(1)),
            Err(StoreError::ConversationTaken { .. })
        ),
        "nor assigned twice to the same one (its load would count it twice)"
    );
    let taken =
        decide(Some(ConversationState::Assigned), unheld(ConversationState::Waiting), Some(1))
            .unwrap();
    assert_eq!(moves(&taken), (Some("agt_2"), None));
    // A closed conversation that once had an agent is closed, not taken.
    assert_eq!(
        decide(
            Some(ConversationState::Assigned),
            conversation(ConversationState::Closed, 3),
            Some(0)
        ),
        Err(StoreError::ConversationClosed("cnv_1".into()))
    );
}

#[test]
fn an_assignment_needs_an_agent_below_its_capacity() {
    let waiting = unheld(ConversationState::Waiting);
    assert_eq!(
        decide(Some(ConversationState::Assigned), waiting.clone(), Some(2)),
        Err(StoreError::AgentAtCapacity { agent_id: "agt_2".into(), capacity: 2 })
    );
    assert!(matches!(
        decide(Some(ConversationState::Assigned), waiting.clone(), Some(7)),
        Err(StoreError::AgentAtCapacity { .. })
    ));
    assert_eq!(
        decide(Some(ConversationState::Assigned), waiting.clone(), None),
        Err(StoreError::AgentUnknown("agt_2".into()))
    );
    let mut nameless = request("x", Some(ConversationState::Assigned), 900);
    nameless.assign = None;
    assert!(matches!(
        decide_append(nameless, waiting, None, "m".into(), Some(0)),
        Err(StoreError::Unavailable(_))
    ));
}

#[test]
fn leaving_assigned_releases_the_holder_and_nothing_else_does() {
    let held = conversation(ConversationState::Assigned, 3);
    let closed = decide(Some(ConversationState::Closed), held.clone(), None).unwrap();
    assert_eq!(moves(&closed), (None, Some("agt_1")));
    assert_eq!(
        write(closed).1.assigned_agent_id.as_deref(),
        Some("agt_1"),
        "a closed conversation still names who handled it"
    );
    let back = decide(Some(ConversationState::Waiting), held.clone(), None).unwrap();
    assert_eq!(moves(&back), (None, Some("agt_1")));
    assert_eq!(moves(&decide(None, held, None).unwrap()), (None, None), "a message moves nobody");
    let waiting = unheld(ConversationState::Waiting);
    assert_eq!(
        moves(&decide(Some(ConversationState::Closed), waiting.clone(), None).unwrap()),
        (None, None)
    );
    assert_eq!(
        moves(&decide(Some(ConversationState::Waiting), waiting, None).unwrap()),
        (None, None)
    );
}

#[test]
fn appends_take_the_next_seq_and_apply_their_event() {
    let open = conversation(ConversationState::Waiting, 7);
    let (message, after, previous) = write(
        decide_append(request("hi", None, 900), open.clone(), None, "msg_1".into(), None).unwrap(),
    );
    assert_eq!((message.seq, previous, after.last_seq, after.updated_at_ms), (8, 7, 8, 900));
    let (_, assigned, _) = write(
        decide_append(
            request("x", Some(ConversationState::Assigned), 900),
            open.clone(),
            None,
            "m".into(),
            Some(0),
        )
        .unwrap(),
    );
    assert_eq!(
        (assigned.state, assigned.assigned_agent_id.as_deref()),
        (ConversationState::Assigned, Some("agt_2"))
    );
    let (_, back, _) = write(
        decide_append(
            request("x", Some(ConversationState::Waiting), 900),
            open.clone(),
            None,
            "m".into(),
            None,
        )
        .unwrap(),
    );
    assert_eq!(back.assigned_agent_id, None, "back in the queue, nobody holds it");
    let (_, late, _) =
        write(decide_append(request("x", None, 100), open, None, "m".into(), None).unwrap());
    assert_eq!(late.updated_at_ms, 500, "a clock stepping back does not move a conversation down");
}

#[test]
fn a_reopen_takes_a_conversation_closed_within_its_window_and_nothing_else() {
    // Closed at 500 (its last entry), naming agt_1, who handled it.
    let closed = conversation(ConversationState::Closed, 3);
    let mut back = request("x", Some(ConversationState::Assigned), 900);
    back.client_message_id = None;
    back.reopen_closed_since_ms = Some(500);
    let decided = decide_append(back.clone(), closed.clone(), None, "m".into(), Some(0));
    let decided = decided.unwrap();
    assert_eq!(moves(&decided), (Some("agt_2"), None), "closed holds nobody to release");
    let (message, after, _) = write(decided);
    assert!(message.reopened);
    assert_eq!((after.state, after.last_seq), (ConversationState::Assigned, 4));
    let mut queued = back.clone();
    (queued.event, queued.assign) = (Some(ConversationState::Waiting), None);
    let (_, after, _) =
        write(decide_append(queued, closed.clone(), None, "m".into(), None).unwrap());
    assert_eq!(after.state, ConversationState::Waiting);
    back.reopen_closed_since_ms = Some(501);
    assert_eq!(
        decide_append(back.clone(), closed, None, "m".into(), Some(0)),
        Err(StoreError::ConversationClosed("cnv_1".into())),
        "closed before the window: not reopened"
    );
    back.reopen_closed_since_ms = Some(0);
    assert_eq!(
        decide_append(back, unheld(ConversationState::Waiting), None, "m".into(), Some(0)),
        Err(StoreError::NotClosed("cnv_1".into())),
        "of two sends reopening at once, the second finds it open"
    );
}

#[test]
fn retries_are_answered_before_anything_else() {
    let closed = conversation(ConversationState::Closed, 3);
    let stored = write(
        decide_append(
            request("hi", None, 1),
            conversation(ConversationState::Waiting, 2),
            None,
            "msg_1".into(),
            None,
        )
        .unwrap(),
    )
    .0;
    let replay = decide_append(
        request("hi", None, 2),
        closed.clone(),
        Some(stored.clone()),
        "unused".into(),
        None,
    )
    .unwrap();
    assert_eq!(
        replay,
        AppendDecision::Replay(stored.clone()),
        "a retry learns it was taken, even once closed"
    );
    let conflict = decide_append(
        request("other", None, 2),
        closed.clone(),
        Some(stored),
        "unused".into(),
        None,
    );
    assert_eq!(conflict, Err(StoreError::IdempotencyConflict));
    let refused = decide_append(request("new", None, 2), closed, None, "m".into(), None);
    assert_eq!(refused, Err(StoreError::ConversationClosed("cnv_1".into())));
    let full = decide_append(
        request("x", None, 2),
        conversation(ConversationState::Waiting, i64::MAX as u64),
        None,
        "m".into(),
        None,
    );
    assert!(matches!(full, Err(StoreError::Unavailable(_))), "seq stays a signed 64-bit integer");
}
