//! Ambiguous commits (issue 25): a node's connection to PostgreSQL breaks after a write's
//! COMMIT reached PostgreSQL and before its answer came back (`commit_cut`). The node cannot
//! know whether the write committed; it asks again on another connection, and the write's
//! idempotency key (a sender's `clientMessageId`, the server's own for a system entry) finds
//! the entry. Each entry is in the log once, and each client gets one answer: its success.

use porch_client::Api;
use porch_wire::bot::HandoffRequest;
use porch_wire::rest::{CloseRequest, ConversationState};

use crate::commit_cut::CommitCut;
use crate::server::Porch;
use crate::{Database, NATS, Setup, backend, cli, cluster_dir, node, setup};

/// A node on `db` whose every connection to PostgreSQL goes through `proxy`.
fn node_behind(db: &Database, proxy: &CommitCut) -> Porch {
    let mut node = node(db, &cluster_dir(), "node-1", NATS);
    node.env[0].1 = format!("postgres://postgres@{}/{}", proxy.addr, db.name);
    node.start();
    node
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_whose_commit_answer_is_lost_are_logged_once_and_answered_once() {
    let db = Database::create().await;
    let proxy = CommitCut::start("127.0.0.1:5432".parse().unwrap()).await;
    let mut node = node_behind(&db, &proxy);
    let Setup { guest, agent_token } = setup(&node, &node).await;
    let api = Api::new(&node.base_url());
    let conversation = guest.conversation_id.clone();

    // A guest's message: one statement, keyed by its clientMessageId.
    proxy.arm("sent while the answer is lost");
    let sent = api
        .guest_send(&guest.access_token, "g-1", "sent while the answer is lost")
        .await
        .expect("the send is answered, once");
    assert_eq!(proxy.fired(), 1, "the commit's answer was lost");
    assert_eq!((sent.status, sent.body.duplicate), (201, false), "created, as it was");

    // An agent's first reply assigns the conversation first: a system entry, keyed by the server.
    proxy.arm("joined the conversation");
    let reply = api
        .agent_send(&agent_token, &conversation, "a-1", "hello from the agent")
        .await
        .expect("the reply is answered, once");
    assert_eq!(proxy.fired(), 2, "the assignment's answer was lost");
    assert_eq!((reply.status, reply.body.duplicate), (201, false));

    proxy.arm("closed the conversation");
    let closed = api
        .agent_close(&agent_token, &conversation, &CloseRequest::default())
        .await
        .expect("the close is answered as done, not as a failure nor as already closed");
    assert_eq!(proxy.fired(), 3, "the close's answer was lost");
    assert_eq!(closed.state, ConversationState::Closed);

    let log = stored_log(&db, &conversation).await;
    assert!(log.iter().zip(1i64..).all(|((seq, _, _), n)| *seq == n), "gap-free: {log:?}");
    for (text, event) in [
        ("sent while the answer is lost", None),
        ("joined the conversation", Some("assigned")),
        ("hello from the agent", None),
        ("closed the conversation", Some("closed")),
    ] {
        let found: Vec<_> = log.iter().filter(|(_, t, _)| t.ends_with(text)).collect();
        assert_eq!(found.len(), 1, "`{text}` is logged once: {log:?}");
        assert_eq!(found[0].2.as_deref(), event, "{log:?}");
    }
    node.stop();
}

/// A bot's hand-off moves the conversation without a state its repetition would trip on: only
/// its key stands between a retry after a lost answer and a second hand-off in the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_handoff_whose_commit_answer_is_lost_is_logged_once() {
    let db = Database::create().await;
    let proxy = CommitCut::start("127.0.0.1:5432".parse().unwrap()).await;
    let mut node = node_behind(&db, &proxy);
    let (request, client_token) = backend(&node, "handoff").await;
    let bot = cli(&node, &["bots", "add", "--deployment", &request.deployment_id, "--name", "Bo"]);
    let bot_id = bot["id"].as_str().unwrap();
    cli(&node, &["queues", "set", "default", "--bot", bot_id]);
    let api = Api::new(&node.base_url());
    let guest = api.create_guest(&client_token, &request).await.unwrap();
    let bot_token = api.bot_token(bot_id, bot["secret"].as_str().unwrap()).await.unwrap();

    proxy.arm("passed the conversation to a person");
    let handoff = HandoffRequest { summary: "Wants a refund.".into(), queue: None };
    let handed = api
        .bot_handoff(&bot_token.access_token, &guest.conversation_id, &handoff)
        .await
        .expect("the hand-off is answered as done");
    assert_eq!(proxy.fired(), 1, "the hand-off's answer was lost");
    assert_eq!(handed.queue, "default");

    let log = stored_log(&db, &guest.conversation_id).await;
    let handoffs = log.iter().filter(|(_, t, _)| t.contains("passed the conversation to a person"));
    assert_eq!(handoffs.count(), 1, "logged once: {log:?}");
    assert!(log.iter().zip(1i64..).all(|((seq, _, _), n)| *seq == n), "gap-free: {log:?}");
    node.stop();
}

/// The conversation's log as PostgreSQL has it: `(seq, text, event)`.
async fn stored_log(db: &Database, conversation_id: &str) -> Vec<(i64, String, Option<String>)> {
    let (client, connection) =
        tokio_postgres::connect(&db.url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let rows = client
        .query(
            "SELECT seq, text, event FROM messages WHERE conversation_id = $1 ORDER BY seq",
            &[&conversation_id],
        )
        .await
        .unwrap();
    rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect()
}
