//! Agents' lists and the widget's header (issue 19; docs/api.md, "Last message"; docs/protocol.md,
//! "Conversation"): every conversation an agent lists (REST, `ready`, live `conversation`
//! frames) carries the preview of its latest entry, written by the entry's own commit; a guest
//! never reads it, and reads instead the name and avatar of the agent who holds its
//! conversation. With `PORCH_TEST_CLUSTER=1`, guests are on node 1 and agents on node 2 of a
//! PostgreSQL cluster.

use porch_client::gateway::Gateway;
use porch_core::limits::LAST_MESSAGE_PREVIEW_CHARS_MAX;
use porch_server::admin::{self, AgentProfileChanges};
use porch_wire::frame::ServerFrame;
use porch_wire::rest::{AgentCard, Conversation, LastMessage, PreviewKind, Role, TransferRequest};

use crate::support::*;

const NOTE: &str = "internal-note-zz";
const AVATAR: &str = "https://cdn.example.test/ann.png";

/// The conversation `id` in the agent's REST list.
async fn listed(server: &TestServer, token: &str, id: &str) -> Conversation {
    let list = server.agent_api.agent_conversations(token, "").await.unwrap().conversations;
    list.into_iter().find(|c| c.id == id).expect("the conversation is listed")
}

fn last(conversation: &Conversation) -> &LastMessage {
    conversation.last_message.as_ref().expect("a lastMessage")
}

/// The next `conversation` frame of `id` on `socket`.
async fn conversation_frame(socket: &mut Gateway, id: &str) -> Conversation {
    let id = id.to_owned();
    let frame = socket
        .wait_for(WAIT, move |f| matches!(f, ServerFrame::Conversation { conversation } if conversation.id == id))
        .await
        .unwrap_or_else(|seen| panic!("no conversation frame; saw {seen:?}"));
    let ServerFrame::Conversation { conversation } = frame else { unreachable!() };
    conversation
}

/// A guest's text, on two lines and longer than a preview: the agent's list shows it on one
/// line, cut on a character boundary and marked; its `seq` and time are the entry's. A new
/// agent connection's `ready` lists it too. Then each state change is the latest entry (a
/// system one), a transfer's note (agents only) never in it.
#[tokio::test]
async fn agents_list_the_latest_entry_of_each_conversation() {
    let server = TestServer::start().await;
    let agent = server.agent().await;
    let guest = server.guest().await;
    let id = guest.conversation_id.clone();
    let long = format!("first line\nsecond {}", "é".repeat(LAST_MESSAGE_PREVIEW_CHARS_MAX));
    let sent = server.api.guest_send(&guest.access_token, "g1", &long).await.unwrap();
    let conversation = listed(&server, &agent.access_token, &id).await;
    let preview = last(&conversation);
    assert_eq!((preview.seq, preview.created_at_ms), (1, sent.body.message.created_at_ms));
    assert_eq!(
        (preview.preview.sender_role, preview.preview.kind, preview.preview.truncated),
        (Role::Guest, PreviewKind::Text, true)
    );
    assert!(preview.preview.text.starts_with("first line second éé"), "{}", preview.preview.text);
    assert_eq!(preview.preview.text.chars().count(), LAST_MESSAGE_PREVIEW_CHARS_MAX);

    let (_, mut agent_socket, ready) = server.connected_agent().await;
    let ServerFrame::Ready(ready) = ready else { unreachable!() };
    let in_ready = ready.conversations.iter().find(|c| c.id == id).expect("in ready");
    assert_eq!(in_ready.last_message.as_ref(), Some(preview));

    server.agent_api.agent_action(&agent.access_token, &id, "assign").await.unwrap();
    let live = conversation_frame(&mut agent_socket, &id).await;
    assert_eq!((last(&live).seq, last(&live).preview.kind), (2, PreviewKind::System));
    assert_eq!(last(&live).preview.sender_role, Role::System);

    server.agent_api.agent_send(&agent.access_token, &id, "a1", "Hello there").await.unwrap();
    let preview = last(&listed(&server, &agent.access_token, &id).await).clone();
    assert_eq!((preview.seq, preview.preview.sender_role), (3, Role::Agent));
    assert_eq!((preview.preview.text.as_str(), preview.preview.truncated), ("Hello there", false));

    // A queue is a transfer's target once someone serves it.
    let queues = vec!["billing".to_owned()];
    admin::create_agent(server.state.store.as_ref(), "carol", queues).await.unwrap();
    let billing = TransferRequest {
        queue: Some("billing".into()),
        note: Some(NOTE.into()),
        ..Default::default()
    };
    let moved = server.agent_api.agent_transfer(&agent.access_token, &id, &billing).await.unwrap();
    assert_eq!((last(&moved).seq, last(&moved).preview.kind), (4, PreviewKind::System));
    assert!(!last(&moved).preview.text.contains(NOTE), "no note in a preview");
    let stored = server.state.store.conversation(&id).await.unwrap().unwrap();
    assert_eq!(stored.last_message, moved.last_message, "as stored");
}

/// The guest's `ready`, its live `conversation` frames and its REST list never carry the
/// preview; once an agent holds the conversation they name it, with its display name and
/// avatar once an operator set them.
#[tokio::test]
async fn guests_read_their_agent_and_never_the_preview() {
    let server = TestServer::start().await;
    let store = server.state.store.as_ref();
    let agent = server.agent().await;
    let (guest, mut guest_socket) = server.connected_guest().await;
    let id = guest.conversation_id.clone();
    server.api.guest_send(&guest.access_token, "g1", "hi").await.unwrap();

    server.agent_api.agent_action(&agent.access_token, &id, "assign").await.unwrap();
    let heard = conversation_frame(&mut guest_socket, &id).await;
    assert_eq!(heard.last_message, None, "no preview for a guest");
    let card = AgentCard { name: server.agent_name.clone(), avatar_url: None };
    assert_eq!(heard.agent.as_ref(), Some(&card), "the login name until a display name is set");

    let changes = AgentProfileChanges {
        display_name: Some(Some("Ann from Support".into())),
        avatar_url: Some(Some(AVATAR.into())),
    };
    admin::set_agent_profile(store, &server.agent_name, changes).await.unwrap();
    let mut again = Gateway::connect(&guest.gateway_url, &guest.access_token, None).await.unwrap();
    let ServerFrame::Ready(ready) = expect_ready(&mut again).await else { unreachable!() };
    let conversation = ready.conversation.expect("a guest's ready has its conversation");
    assert_eq!(conversation.last_message, None);
    let card = AgentCard { name: "Ann from Support".into(), avatar_url: Some(AVATAR.into()) };
    assert_eq!(conversation.agent.as_ref(), Some(&card));
    let page = server.api.customer_conversations(&guest.access_token, "").await.unwrap();
    assert_eq!(page.conversations[0].last_message, None);
    assert_eq!(page.conversations[0].agent.as_ref(), Some(&card));

    // Back in the queue: nobody to name.
    server.agent_api.agent_action(&agent.access_token, &id, "unassign").await.unwrap();
    let heard = conversation_frame(&mut again, &id).await;
    assert_eq!((heard.agent, heard.last_message), (None, None));
}

/// An avatar must be an https URL a browser can only read as one; a display name one short
/// line. Each refusal names the fix and changes nothing.
#[tokio::test]
async fn an_agent_profile_is_checked() {
    let server = TestServer::start().await;
    let store = server.state.store.as_ref();
    let name = server.agent_name.clone();
    let avatar = |url: &str| AgentProfileChanges {
        avatar_url: Some(Some(url.into())),
        ..Default::default()
    };
    for bad in [
        "http://cdn.example.test/a.png",
        "javascript:alert(1)",
        "https://",
        "https://user@cdn.example.test/a.png",
        "https://cdn.example.test/a b.png",
        "https://cdn.example.test/\"onerror=x.png",
    ] {
        let refused = admin::set_agent_profile(store, &name, avatar(bad)).await.unwrap_err();
        assert!(refused.contains("avatar URL"), "{bad}: {refused}");
    }
    let long = format!("https://cdn.example.test/{}", "a".repeat(2_048));
    let refused = admin::set_agent_profile(store, &name, avatar(&long)).await.unwrap_err();
    assert!(refused.contains("AGENT_AVATAR_URL_CHARS_MAX"), "{refused}");
    let named =
        |n: &str| AgentProfileChanges { display_name: Some(Some(n.into())), ..Default::default() };
    for bad in ["", "  ", "two\nlines", &"n".repeat(81)] {
        let refused = admin::set_agent_profile(store, &name, named(bad)).await.unwrap_err();
        assert!(refused.contains("display name"), "{refused}");
    }
    let agent = store.agent_by_name(&name).await.unwrap().unwrap();
    assert_eq!(agent.profile, Default::default(), "nothing was stored");
    let set = admin::set_agent_profile(store, &name, avatar(AVATAR)).await.unwrap();
    assert_eq!(set.avatar_url.as_deref(), Some(AVATAR));
    let cleared = AgentProfileChanges { avatar_url: Some(None), ..Default::default() };
    assert_eq!(admin::set_agent_profile(store, &name, cleared).await.unwrap().avatar_url, None);
}
