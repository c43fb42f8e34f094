//! Bots (docs/bots.md) over the real server: a bot token is its own kind, refused where an
//! agent's or a guest's is needed and the other way round; a queue that starts with a bot gives
//! it the conversation (no offer, no agent sees it) until it hands off with a summary, which
//! the agent then reads beside the whole history; quick replies and cards are checked, and a
//! guest's pick is an ordinary message naming its choice.

use porch_client::gateway::Gateway;
use porch_core::model::QueueSettings;
use porch_core::token::TokenKind;
use porch_server::bots::admin as bots;
use porch_wire::ErrorCode;
use porch_wire::bot::{BotMessageRequest, Card, CardLink, Choice, HandoffRequest, QuickReply};
use porch_wire::frame::{ClientFrame, ServerFrame};
use porch_wire::rest::{AgentStatus, ConversationState, GuestSession, Role};

use crate::support::*;

/// A bot of the test deployment, and its token.
async fn bot(server: &TestServer) -> (String, String) {
    let store = server.state.store.as_ref();
    let created = bots::add(store, &server.deployment.id, "Helper").await.unwrap();
    let session = server.api.bot_token(&created.record.id, &created.secret).await.unwrap();
    assert_eq!(session.deployment_id, server.deployment.id);
    (created.record.id, session.access_token)
}

fn reply(id: &str, label: &str) -> QuickReply {
    QuickReply { id: id.into(), label: label.into() }
}

fn message(client_message_id: &str, text: &str) -> BotMessageRequest {
    BotMessageRequest {
        client_message_id: client_message_id.into(),
        text: text.into(),
        quick_replies: vec![],
        cards: vec![],
    }
}

/// A bot token opens the bot API only; an agent's or a guest's token is refused there, each
/// refusal naming the token it needs. A wrong secret and a removed bot are refused too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bot_tokens_are_a_kind_of_their_own() {
    let server = TestServer::start().await;
    let (bot_id, bot_token) = bot(&server).await;
    let guest = server.guest().await;
    let agent = server.agent().await;
    let api = &server.api;

    let refused = api.agent_conversations(&bot_token, "").await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::TokenWrongKind));
    assert!(refused.to_string().contains("POST /agents/login"), "names the fix: {refused}");
    let refused = api.guest_send(&bot_token, "c1", "hi").await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::TokenWrongKind));
    let id = &guest.conversation_id;
    for token in [&agent.access_token, &guest.access_token] {
        let refused = api.bot_send(token, id, &message("c1", "hi")).await.unwrap_err();
        assert_eq!(refused.code(), Some(ErrorCode::TokenWrongKind));
        assert!(refused.to_string().contains("POST /bots/token"), "names the fix: {refused}");
    }
    let gateway = Gateway::connect(&server.gateway_url, &bot_token, None).await;
    if let Ok(mut socket) = gateway {
        let (code, reason) = expect_close(&mut socket).await;
        assert_eq!(code, 4004, "{reason}");
    }

    let wrong = api.bot_token(&bot_id, "sec_wrong").await.unwrap_err();
    assert_eq!(wrong.code(), Some(ErrorCode::BotCredentialsInvalid));
    bots::remove(server.state.store.as_ref(), &bot_id).await.unwrap();
    let removed = api.bot_history(&bot_token, id, "after=0").await.unwrap_err();
    assert_eq!(removed.code(), Some(ErrorCode::BotCredentialsInvalid));
    assert!(removed.to_string().contains("porch bots add"), "names the fix: {removed}");
    // Signed right but for a bot that never was: the same refusal.
    let forged = server.sign(TokenKind::Bot, "bot_nobody", |_| {});
    let refused = api.bot_history(&forged, id, "after=0").await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::BotCredentialsInvalid));
}

/// The whole path: a queue that starts with a bot; the bot answers with quick replies and a
/// card, the guest picks one, the bot hands off; the agent is offered the conversation only
/// then, and reads the history and the summary. Bad content and picks change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bot_answers_then_hands_off_to_an_agent_with_a_summary() {
    let server = TestServer::start().await;
    let (bot_id, bot_token) = bot(&server).await;
    let settings =
        QueueSettings { bot_id: Some(bot_id.clone()), ..QueueSettings::unset("default") };
    server.state.store.set_queue(settings).await.unwrap();
    let alice = server.agent().await;
    let mut agent_socket = available(&alice).await;
    let guest = server.guest().await;
    let id = guest.conversation_id.clone();
    let (api, agents) = (&server.api, &server.agent_api);

    // The bot's: no offer, not in the agent's list, not takeable.
    let offer = agent_socket.wait_for(SHORT, |f| matches!(f, ServerFrame::Offer { .. })).await;
    assert!(offer.is_err(), "no offer while the bot holds it: {offer:?}");
    let listed = agents.agent_conversations(&alice.access_token, "").await.unwrap();
    assert!(listed.conversations.iter().all(|c| c.id != id), "agents do not list it");
    let taken = agents.agent_action(&alice.access_token, &id, "assign").await.unwrap_err();
    assert_eq!(taken.code(), Some(ErrorCode::ConversationUnknown));

    api.guest_send(&guest.access_token, "g1", "I need help").await.unwrap();
    let mut ask = message("b1", "What is it about?");
    ask.quick_replies = vec![reply("billing", "Billing"), reply("tech", "Something broke")];
    ask.cards = vec![Card {
        title: "Help centre".into(),
        text: Some("Answers to common questions".into()),
        links: vec![CardLink { label: "Open".into(), url: "https://help.example/".into() }],
    }];
    let sent = api.bot_send(&bot_token, &id, &ask).await.unwrap();
    assert_eq!(sent.status, 201);
    let offered_seq = sent.body.message.seq;
    assert_eq!(sent.body.message.sender.role, Role::Bot);
    assert_eq!(sent.body.message.sender.display_name.as_deref(), Some("Helper"));
    let again = api.bot_send(&bot_token, &id, &ask).await.unwrap();
    assert_eq!((again.status, again.body.duplicate), (200, true), "same dedupe as any send");
    assert_eq!(again.body.message.id, sent.body.message.id);

    // Refused content and picks store nothing.
    let mut unsafe_card = message("b2", "Look");
    unsafe_card.cards = vec![Card {
        title: "x".into(),
        text: None,
        links: vec![CardLink { label: "Run".into(), url: "javascript:alert(1)".into() }],
    }];
    let refused = api.bot_send(&bot_token, &id, &unsafe_card).await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::ContentInvalid));
    assert!(refused.to_string().contains("https://"), "names the fix: {refused}");
    let wrong = Choice { seq: offered_seq, id: "refund".into() };
    let refused = api.guest_choose(&guest.access_token, "g2", "Refund", wrong).await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::ContentInvalid));
    let head = server.state.store.conversation(&id).await.unwrap().unwrap().last_seq;
    assert_eq!(head, offered_seq, "nothing stored");

    let pick = Choice { seq: offered_seq, id: "billing".into() };
    let chosen = api.guest_choose(&guest.access_token, "g2", "Billing", pick.clone()).await;
    let chosen = chosen.unwrap().body.message;
    assert_eq!(chosen.content.and_then(|c| c.choice), Some(pick));

    let page = api.bot_history(&bot_token, &id, "after=0").await.unwrap();
    assert_eq!(page.messages.len(), 3, "the bot reads the conversation it holds");
    let summary = "Guest asks about billing: charged twice in May.";
    let handoff = HandoffRequest { summary: summary.into(), queue: None };
    let handed = api.bot_handoff(&bot_token, &id, &handoff).await.unwrap();
    assert_eq!((handed.queue.as_str(), handed.bot_id.as_str()), ("default", bot_id.as_str()));
    let late = api.bot_send(&bot_token, &id, &message("b3", "still here?")).await.unwrap_err();
    assert_eq!(late.code(), Some(ErrorCode::ConversationUnknown), "no longer the bot's");

    // Offered as usual; the agent reads the history and the summary.
    let frame = agent_socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Offer { .. })).await;
    let Ok(ServerFrame::Offer { conversation, .. }) = frame else { panic!("no offer: {frame:?}") };
    assert_eq!(
        (conversation.id.as_str(), conversation.state),
        (id.as_str(), ConversationState::Waiting)
    );
    agent_socket.send(&ClientFrame::Accept { conversation_id: id.clone() }).await.unwrap();
    let history = agents.agent_history(&alice.access_token, &id, "after=0").await.unwrap();
    let texts: Vec<_> = history.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(&texts[..3], ["I need help", "What is it about?", "Billing"]);
    assert!(texts[3].contains("passed the conversation to a person"), "{texts:?}");
    let read = agents.agent_handoff(&alice.access_token, &id).await.unwrap();
    assert_eq!(read.handoff.map(|h| h.summary), Some(summary.to_owned()));

    // The guest reads the hand-off in plain words, never the summary.
    let seen = api.guest_history(&guest.access_token, "after=0").await.unwrap();
    let handed_entry = seen.messages.iter().find(|m| m.text.contains("to a person"));
    assert_eq!(handed_entry.map(|m| m.sender.role), Some(Role::System));
    assert!(seen.messages.iter().all(|m| !m.text.contains(summary)));
}

const SHORT: std::time::Duration = std::time::Duration::from_millis(600);

/// The agent's gateway connection, past `ready`, set `available`.
async fn available(agent: &porch_wire::rest::AgentSession) -> Gateway {
    let mut socket = Gateway::connect(&agent.gateway_url, &agent.access_token, None).await.unwrap();
    expect_ready(&mut socket).await;
    socket.send(&ClientFrame::Status { status: "available".into() }).await.unwrap();
    let answer = socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Status { .. })).await;
    assert_eq!(answer.unwrap(), ServerFrame::Status { status: AgentStatus::Available });
    socket
}

/// An operator disables a bot: its sign-in and its live token are refused on every node at
/// their next use (`bot_disabled`, naming the fix), the conversation it held is handed to the
/// queue's agents once, with a summary saying why, and its queue's new conversations go
/// straight to the queue's agents; enabled again, the bot takes new conversations again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_disabled_bot_is_refused_and_its_queue_goes_to_agents() {
    let server = TestServer::start().await;
    let store = server.state.store.as_ref();
    let created = bots::add(store, &server.deployment.id, "Helper").await.unwrap();
    let bot_id = created.record.id.clone();
    let token = server.api.bot_token(&bot_id, &created.secret).await.unwrap().access_token;
    let held = held_by(&server, &bot_id).await;

    bots::set_enabled(store, &bot_id, false).await.unwrap();
    // Node 1 and node 2 (the same node unless PORCH_TEST_CLUSTER=1).
    for api in [&server.api, &server.agent_api] {
        let refused = api.bot_history(&token, &held.conversation_id, "after=0").await.unwrap_err();
        assert_eq!(refused.code(), Some(ErrorCode::BotDisabled));
        assert!(refused.to_string().contains("porch bots enable"), "names the fix: {refused}");
    }
    let refused = server.api.bot_token(&bot_id, &created.secret).await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::BotDisabled));
    handed_off_once(&server, &held.conversation_id).await;
    let wrong = server.api.bot_token(&bot_id, "sec_wrong").await.unwrap_err();
    assert_eq!(wrong.code(), Some(ErrorCode::BotCredentialsInvalid), "no standing to a guesser");
    let straight = server.guest().await;
    let queue = store.conversation(&straight.conversation_id).await.unwrap().unwrap().queue;
    assert_eq!(queue, "default", "no holding while the bot is disabled");
    let agent = server.agent().await;
    let listed = server.agent_api.agent_conversations(&agent.access_token, "").await.unwrap();
    assert!(listed.conversations.iter().any(|c| c.id == straight.conversation_id));
    assert!(bots::set_enabled(store, "bot_nobody", false).await.is_err());

    bots::set_enabled(store, &bot_id, true).await.unwrap();
    let again = server.guest().await;
    let queue = store.conversation(&again.conversation_id).await.unwrap().unwrap().queue;
    assert_eq!(queue, porch_core::bot::holding_queue(&bot_id));
    let page = server.agent_api.bot_history(&token, &again.conversation_id, "after=0").await;
    assert!(page.is_ok(), "the same token works again: {page:?}");
    let gone = server.api.bot_history(&token, &held.conversation_id, "after=0").await;
    assert_eq!(gone.unwrap_err().code(), Some(ErrorCode::ConversationUnknown), "handed off");
}

/// An operator removes a bot that holds a conversation: the removal (a CLI process of its own,
/// writing only the store) is seen by the nodes' disabled-bots loop, which hands the
/// conversation to the queue's agents once, as for a disabled bot; only then is the bot gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_removed_bot_hands_its_conversations_to_the_queue() {
    let server = TestServer::start().await;
    let store = server.state.store.as_ref();
    let (bot_id, token) = bot(&server).await;
    let held = held_by(&server, &bot_id).await;

    bots::remove(store, &bot_id).await.unwrap();
    assert!(store.bot(&bot_id).await.unwrap().is_none(), "removed once nothing is held");
    handed_off_once(&server, &held.conversation_id).await;
    let refused = server.api.bot_history(&token, &held.conversation_id, "after=0").await;
    assert_eq!(refused.unwrap_err().code(), Some(ErrorCode::BotCredentialsInvalid));
    let again = bots::remove(store, &bot_id).await.unwrap_err();
    assert!(again.contains("porch bots list"), "{again}");
}

/// A guest's new conversation, which `default` (made to start with `bot_id`) gives the bot.
async fn held_by(server: &TestServer, bot_id: &str) -> GuestSession {
    let store = server.state.store.as_ref();
    let settings =
        QueueSettings { bot_id: Some(bot_id.to_owned()), ..QueueSettings::unset("default") };
    store.set_queue(settings).await.unwrap();
    let held = server.guest().await;
    let holding = store.conversation(&held.conversation_id).await.unwrap().unwrap().queue;
    assert_eq!(holding, porch_core::bot::holding_queue(bot_id));
    held
}

/// Waits until every node's disabled-bots loop has handed conversation `id` to the
/// deployment's queue, then checks it was handed off once: one entry, the guest's plain words,
/// the agents' summary naming the cause; and a further pass finds nothing.
async fn handed_off_once(server: &TestServer, id: &str) {
    let store = server.state.store.as_ref();
    let deadline = std::time::Instant::now() + WAIT;
    while store.conversation(id).await.unwrap().unwrap().queue != "default" {
        assert!(std::time::Instant::now() < deadline, "never handed off");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await; // the nodes' loops
    }
    let agent = server.agent().await;
    let agents = &server.agent_api;
    let history = agents.agent_history(&agent.access_token, id, "after=0").await.unwrap();
    let entries: Vec<_> =
        history.messages.iter().filter(|m| m.text.contains("passed the conversation")).collect();
    assert_eq!(entries.len(), 1, "once, whatever the number of nodes: {:?}", history.messages);
    assert_eq!(entries[0].sender.role, Role::System);
    let read = agents.agent_handoff(&agent.access_token, id).await.unwrap();
    let summary = read.handoff.map(|h| h.summary).unwrap_or_default();
    assert!(summary.contains("disabled"), "{summary}");
    assert_eq!(porch_server::bots::disabled::pass(&server.state).await.unwrap(), 0);
}

/// A guest's pick over the gateway (a `choose` frame, docs/protocol.md): acknowledged with the
/// stored message naming the choice; the same `clientMessageId` again is a duplicate; a choice
/// no quick reply of the message has is refused with its id and stores nothing; agents do not
/// pick.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_guest_picks_a_quick_reply_over_the_gateway() {
    let server = TestServer::start().await;
    let (bot_id, bot_token) = bot(&server).await;
    let settings = QueueSettings { bot_id: Some(bot_id), ..QueueSettings::unset("default") };
    server.state.store.set_queue(settings).await.unwrap();
    let (guest, mut socket) = server.connected_guest().await;
    let mut ask = message("b1", "What is it about?");
    ask.quick_replies = vec![reply("billing", "Billing"), reply("tech", "Something broke")];
    let offered = server.api.bot_send(&bot_token, &guest.conversation_id, &ask).await.unwrap();
    let seq = offered.body.message.seq;

    let choose = |id: &str, reply: &str, label: &str| ClientFrame::Choose {
        client_message_id: id.into(),
        text: label.into(),
        choice: Choice { seq, id: reply.into() },
    };
    socket.send(&choose("p-1", "billing", "Billing")).await.unwrap();
    let (picked, duplicate) = ack(&mut socket).await;
    assert!(!duplicate);
    assert_eq!(picked.text, "Billing");
    assert_eq!(picked.content.and_then(|c| c.choice), Some(Choice { seq, id: "billing".into() }));
    socket.send(&choose("p-1", "billing", "Billing")).await.unwrap();
    let (again, duplicate) = ack(&mut socket).await;
    assert!(duplicate, "a retry of the same pick");
    assert_eq!(again.id, picked.id);

    socket.send(&choose("p-2", "refund", "Refund")).await.unwrap();
    let refused = socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Error { .. })).await;
    let Ok(ServerFrame::Error { code, client_message_id, .. }) = refused else {
        panic!("no error: {refused:?}")
    };
    assert_eq!((code, client_message_id.as_deref()), (ErrorCode::ContentInvalid, Some("p-2")));
    let head = server.state.store.conversation(&guest.conversation_id).await.unwrap().unwrap();
    assert_eq!(head.last_seq, picked.seq, "nothing stored");

    let (_, mut agent_socket, _) = server.connected_agent().await;
    agent_socket.send(&choose("a-1", "billing", "Billing")).await.unwrap();
    let refused = agent_socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Error { .. })).await;
    let Ok(ServerFrame::Error { code, .. }) = refused else { panic!("no error: {refused:?}") };
    assert_eq!(code, ErrorCode::BadFrame);
}

/// The next `ack`: its message, and whether it was a duplicate.
async fn ack(socket: &mut Gateway) -> (porch_wire::rest::Message, bool) {
    match socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Ack { .. })).await {
        Ok(ServerFrame::Ack { message, duplicate, .. }) => (message, duplicate),
        other => panic!("no ack: {other:?}"),
    }
}

/// A bot's hand-off is a transfer to a queue, and its receiver hears it as one: a
/// `conversation.transferred` whose `queue` is where it went and whose `message` is the
/// hand-off's entry, without the summary; not a `message.created`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hand_off_is_a_transferred_event() {
    use crate::webhooks::{TARGETS, healthy_receiver};
    let server = TestServer::start_with(|c| {
        c.webhook_targets = TARGETS;
        c.limits.webhook_poll_interval_ms = 20;
    })
    .await;
    let store = server.state.store.clone();
    let sender = porch_server::webhooks::Sender::new(TARGETS, 1_000).unwrap();
    let (url, mut received) = healthy_receiver().await;
    let types = ["message.created", "conversation.transferred"].map(String::from);
    porch_server::webhooks::register(store.as_ref(), &sender, &server.deployment.id, &url, &types)
        .await
        .unwrap();
    let (bot_id, bot_token) = bot(&server).await;
    let settings = QueueSettings { bot_id: Some(bot_id), ..QueueSettings::unset("default") };
    store.set_queue(settings).await.unwrap();
    let guest = server.guest().await;
    let id = guest.conversation_id.clone();
    server.api.guest_send(&guest.access_token, "g1", "I need a person").await.unwrap();
    let summary = "Wants a person about a refund.";
    let handoff = HandoffRequest { summary: summary.into(), queue: None };
    server.api.bot_handoff(&bot_token, &id, &handoff).await.unwrap();

    // The guest's message (seq 1), then the hand-off (seq 2), in order.
    let mut events = Vec::new();
    while events.len() < 2 {
        let request = tokio::time::timeout(WAIT, received.recv()).await;
        let request = request.unwrap_or_else(|_| panic!("got only {events:?}")).unwrap();
        let event: porch_wire::webhook::WebhookEvent = serde_json::from_slice(&request.1).unwrap();
        assert!(!String::from_utf8_lossy(&request.1).contains(summary), "never the summary");
        events.push(event);
    }
    let kinds: Vec<_> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(kinds, ["message.created", "conversation.transferred"], "{events:?}");
    let handed = &events[1].data;
    assert_eq!((handed.conversation_id.as_str(), handed.queue.as_str()), (id.as_str(), "default"));
    let entry = handed.message.as_ref().expect("the hand-off's entry");
    assert_eq!((entry.seq, entry.sender.role), (2, Role::System));
    assert!(entry.text.contains("passed the conversation to a person"), "{entry:?}");
}
