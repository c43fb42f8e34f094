//! What the agent console reads besides conversations (issues 18 and 19): its search of
//! closed conversations, and the canned replies of a conversation's deployment. Each only
//! within the agent's queues; bad input refused with its fix, changing nothing.

use porch_server::{admin, canned};
use porch_wire::ErrorCode;
use porch_wire::rest::{
    CannedReplyList, ConversationPage, CreateGuestRequest, GuestSession, VisitorContext,
    WidgetGuestRequest,
};

use crate::support::*;

/// A guest named `name` (email `email`) who wrote `text`.
async fn written(server: &TestServer, name: &str, email: &str, text: &str) -> GuestSession {
    let request = CreateGuestRequest {
        deployment_id: server.deployment.id.clone(),
        display_name: Some(name.into()),
        email: Some(email.into()),
        ..Default::default()
    };
    let guest = server.api.create_guest(&server.client_token().await, &request).await.unwrap();
    server.api.guest_send(&guest.access_token, "c1", text).await.unwrap();
    guest
}

/// `GET path` as the agent: the status and the JSON body.
async fn agent_get(server: &TestServer, token: &str, path: &str) -> (u16, serde_json::Value) {
    let url = format!("{}/api/v2/agent/{path}", server.agent_api.base_url());
    let response = server.agent_api.http().get(url).bearer_auth(token).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn found(server: &TestServer, token: &str, query: &str) -> Vec<String> {
    let (status, body) = agent_get(server, token, &format!("conversations/search?{query}")).await;
    assert_eq!(status, 200, "{query}: {body}");
    let page: ConversationPage = serde_json::from_value(body).unwrap();
    page.conversations.into_iter().filter_map(|c| c.guest.display_name).collect()
}

/// An agent of another queue, logged in.
async fn outsider(server: &TestServer) -> String {
    let store = server.state.store.as_ref();
    let created = admin::create_agent(store, "olaf", vec!["elsewhere".into()]).await.unwrap();
    server.agent_api.agent_login("olaf", &created.secret).await.unwrap().access_token
}

#[tokio::test]
async fn agents_search_their_queues_closed_conversations() {
    let server = TestServer::start().await;
    let agent = server.agent().await;
    let dora = written(&server, "Dora", "dora@example.com", "my invoice is wrong").await;
    let emil = written(&server, "Emil", "emil@shop.test", "100% of my parcel is missing").await;
    written(&server, "Fritz", "fritz@shop.test", "an invoice question, still open").await;
    for guest in [&dora, &emil] {
        let close =
            server.agent_api.agent_action(&agent.access_token, &guest.conversation_id, "close");
        close.await.unwrap();
    }
    let token = &agent.access_token;
    assert_eq!(found(&server, token, "").await, ["Emil", "Dora"], "closed ones, last closed first");
    assert_eq!(found(&server, token, "q=DOR").await, ["Dora"], "by name, any case");
    assert_eq!(found(&server, token, "q=shop.test").await, ["Emil"], "by email");
    assert_eq!(found(&server, token, "q=invoice").await, ["Dora"], "by text, closed only");
    // Dora was closed after Fritz wrote: the most recently active first.
    let both = found(&server, token, "q=invoice&state=waiting,closed").await;
    assert_eq!(both, ["Dora", "Fritz"]);
    assert_eq!(found(&server, token, "q=%25").await, ["Emil"], "% is a plain character");
    assert_eq!(found(&server, token, "limit=1").await, ["Emil"]);
    let next = format!("limit=1&before={}", emil.conversation_id);
    assert_eq!(found(&server, token, &next).await, ["Dora"]);
    assert!(found(&server, &outsider(&server).await, "").await.is_empty(), "other queues' only");

    let long = format!("q={}", "a".repeat(201));
    for (query, cause) in [
        (long.as_str(), "201 characters"),
        ("state=gone", "state"),
        ("page=2", "q, state, before, limit"),
    ] {
        let (status, body) =
            agent_get(&server, token, &format!("conversations/search?{query}")).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{query}");
        let fix = body["error_description"].as_str().unwrap();
        assert!(fix.contains(cause), "{query}: {fix}");
    }
}

#[tokio::test]
async fn agents_read_the_canned_replies_of_a_conversations_deployment() {
    let server = TestServer::start().await;
    let agent = server.agent().await;
    let guest = written(&server, "Gus", "gus@example.com", "hello").await;
    let store = server.state.store.as_ref();
    let deployment = &server.deployment.id;
    canned::set(store, deployment, "refund", "Refunds take 5 days.").await.unwrap();
    canned::set(store, deployment, "hours", "We open at 9.").await.unwrap();
    canned::set(store, deployment, "hours", "  We open at 8.\n").await.unwrap();

    let path = format!("conversations/{}/canned-replies", guest.conversation_id);
    let (status, body) = agent_get(&server, &agent.access_token, &path).await;
    assert_eq!(status, 200, "{body}");
    let list: CannedReplyList = serde_json::from_value(body).unwrap();
    let shown: Vec<(&str, &str)> =
        list.replies.iter().map(|r| (r.shortcut.as_str(), r.text.as_str())).collect();
    assert_eq!(shown, [("hours", "We open at 8."), ("refund", "Refunds take 5 days.")]);

    let (status, body) = agent_get(&server, &outsider(&server).await, &path).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some(ErrorCode::ConversationUnknown.as_str()))
    );

    // Bad input: refused with the rule and the fix; nothing changes.
    for (d, shortcut, text, cause) in [
        (deployment.as_str(), "Refund", "x", "lowercase"),
        (deployment.as_str(), "", "x", "1 to 32"),
        (deployment.as_str(), "blank", " \n ", "needs some text"),
        ("dep_nobody", "refund", "x", "no deployment"),
    ] {
        let refused = canned::set(store, d, shortcut, text).await.unwrap_err();
        assert!(refused.contains(cause), "{shortcut:?}: {refused}");
    }
    assert_eq!(store.canned_replies(deployment).await.unwrap().len(), 2, "nothing changed");
}

#[tokio::test]
async fn agents_read_where_the_visitor_was_and_bad_contexts_open_nothing() {
    let server = TestServer::start().await;
    let agent = server.agent().await;
    let context = VisitorContext {
        page_url: Some("https://shop.example/pricing?plan=pro".into()),
        page_title: Some("Pricing | Shop".into()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0".into()),
    };
    let request = WidgetGuestRequest { context: Some(context.clone()), ..Default::default() };
    let deployment = &server.deployment.id;
    let widget =
        server.api.create_widget_guest(deployment, ALLOWED_ORIGIN, &request).await.unwrap();
    let path = format!("conversations/{}/visitor", widget.conversation_id);
    let (status, body) = agent_get(&server, &agent.access_token, &path).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_value::<VisitorContext>(body).unwrap(), context);

    // A backend may pass it on too; a session without one answers `{}`.
    let plain = written(&server, "Ivo", "ivo@example.com", "hi").await;
    let path = format!("conversations/{}/visitor", plain.conversation_id);
    assert_eq!(agent_get(&server, &agent.access_token, &path).await, (200, serde_json::json!({})));
    let (status, _) = agent_get(&server, &outsider(&server).await, &path).await;
    assert_eq!(status, 404, "other queues' visitors stay out of reach");

    let before = server.state.store.conversations(all_waiting()).await.unwrap().len();
    let bad_url = VisitorContext { page_url: Some("file:///etc/passwd".into()), ..context.clone() };
    let long_title = VisitorContext { page_title: Some("t".repeat(301)), ..context.clone() };
    for (bad, cause) in [(bad_url, "http: or https:"), (long_title, "context.pageTitle has 301")] {
        let request = WidgetGuestRequest { context: Some(bad), ..Default::default() };
        let refused = server.api.create_widget_guest(deployment, ALLOWED_ORIGIN, &request).await;
        let refused = refused.unwrap_err();
        assert_eq!(refused.code(), Some(ErrorCode::InvalidRequest));
        assert!(refused.to_string().contains(cause), "{refused}");
    }
    let after = server.state.store.conversations(all_waiting()).await.unwrap().len();
    assert_eq!(after, before, "no session was opened");
}

fn all_waiting() -> porch_core::store::ConversationFilter {
    porch_core::store::ConversationFilter {
        queues: vec!["default".into()],
        states: vec![porch_wire::rest::ConversationState::Waiting],
        limit: 500,
    }
}
