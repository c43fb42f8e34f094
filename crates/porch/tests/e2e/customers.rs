//! Customers (docs/api.md, "A customer's conversations"; issue 20): sessions the backend creates
//! with one `externalId` are one customer, whose conversations every one of its sessions lists
//! and reads; other customers' and anonymous conversations stay out of reach.

use porch_wire::ErrorCode;
use porch_wire::rest::{
    ConversationPage, CreateGuestRequest, GuestSession, Verification, WidgetGuestRequest,
};

use crate::support::*;

async fn session(server: &TestServer, external_id: Option<&str>) -> GuestSession {
    let request = CreateGuestRequest {
        deployment_id: server.deployment.id.clone(),
        external_id: external_id.map(str::to_owned),
        ..Default::default()
    };
    server.api.create_guest(&server.client_token().await, &request).await.expect("guest session")
}

fn ids(page: &ConversationPage) -> Vec<&str> {
    page.conversations.iter().map(|c| c.id.as_str()).collect()
}

async fn texts(server: &TestServer, reader: &GuestSession, conversation_id: &str) -> Vec<String> {
    let page = server
        .api
        .customer_history(&reader.access_token, conversation_id, "after=0")
        .await
        .expect("the customer's conversation is readable");
    page.messages.into_iter().map(|m| m.text).collect()
}

#[tokio::test]
async fn every_session_of_a_customer_lists_and_reads_its_conversations() {
    let server = TestServer::start().await;
    let phone = session(&server, Some("crm-42")).await;
    server.api.guest_send(&phone.access_token, "c-1", "from my phone").await.unwrap();
    // Created later, so listed first; a tie at the same millisecond is ordered by id instead.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let laptop = session(&server, Some("crm-42")).await;
    server.api.guest_send(&laptop.access_token, "c-1", "from my laptop").await.unwrap();
    let stranger = session(&server, Some("crm-7")).await;

    let newest_first = [laptop.conversation_id.as_str(), phone.conversation_id.as_str()];
    for device in [&phone, &laptop] {
        let page = server.api.customer_conversations(&device.access_token, "").await.unwrap();
        assert_eq!(ids(&page), newest_first, "both devices see both conversations");
        assert!(!page.has_more);
        assert_eq!(page.conversations[1].guest.external_id.as_deref(), Some("crm-42"));
    }
    assert_eq!(texts(&server, &laptop, &phone.conversation_id).await, ["from my phone"]);
    assert_eq!(texts(&server, &phone, &laptop.conversation_id).await, ["from my laptop"]);
    assert_eq!(texts(&server, &phone, &phone.conversation_id).await, ["from my phone"]);

    // Paging: one at a time, `before` the last one seen.
    let first = server.api.customer_conversations(&phone.access_token, "limit=1").await.unwrap();
    assert_eq!((ids(&first), first.has_more), (vec![newest_first[0]], true));
    let query = format!("before={}&limit=1", newest_first[0]);
    let second = server.api.customer_conversations(&phone.access_token, &query).await.unwrap();
    assert_eq!((ids(&second), second.has_more), (vec![newest_first[1]], false));

    // Another customer sees only its own, and reads none of crm-42's.
    let page = server.api.customer_conversations(&stranger.access_token, "").await.unwrap();
    assert_eq!(ids(&page), [stranger.conversation_id.as_str()]);
    let refused = server
        .api
        .customer_history(&stranger.access_token, &phone.conversation_id, "")
        .await
        .expect_err("another customer's conversation");
    assert_eq!(refused.code(), Some(ErrorCode::ConversationUnknown), "{refused}");
}

#[tokio::test]
async fn an_anonymous_session_is_a_customer_of_one() {
    let server = TestServer::start().await;
    let anonymous = session(&server, None).await;
    let other_anonymous = session(&server, None).await;
    let known = session(&server, Some("crm-42")).await;

    let page = server.api.customer_conversations(&anonymous.access_token, "").await.unwrap();
    assert_eq!((ids(&page), page.has_more), (vec![anonymous.conversation_id.as_str()], false));
    let query = format!("before={}", anonymous.conversation_id);
    let past_end = server.api.customer_conversations(&anonymous.access_token, &query).await;
    assert!(past_end.unwrap().conversations.is_empty());
    for (reader, conversation) in [
        (&anonymous, &other_anonymous.conversation_id),
        (&anonymous, &known.conversation_id),
        (&known, &anonymous.conversation_id),
    ] {
        let refused = server
            .api
            .customer_history(&reader.access_token, conversation, "")
            .await
            .expect_err("not this customer's");
        assert_eq!(refused.code(), Some(ErrorCode::ConversationUnknown), "{refused}");
    }
}

#[tokio::test]
async fn the_list_takes_only_its_documented_parameters_and_a_guest_token() {
    let server = TestServer::start().await;
    let guest = session(&server, Some("crm-42")).await;
    let refused = server
        .api
        .customer_conversations(&guest.access_token, "after=3")
        .await
        .expect_err("`after` is a history parameter");
    assert_eq!(refused.code(), Some(ErrorCode::InvalidRequest), "{refused}");
    let agent = server.agent().await;
    let refused = server
        .api
        .customer_conversations(&agent.access_token, "")
        .await
        .expect_err("an agent token");
    assert_eq!(refused.code(), Some(ErrorCode::TokenWrongKind), "{refused}");
}

/// Agents see how a customer was vouched for, and list its conversations in their queues
/// beside the chat (docs/api.md, Agents): here one from the backend and one from a widget
/// session with an identity token.
#[tokio::test]
async fn an_agent_sees_who_it_talks_to_and_their_earlier_conversations() {
    let server = TestServer::start().await;
    let earlier = session(&server, Some("crm-42")).await;
    assert_eq!(earlier.guest.verified_by, Some(Verification::Backend));
    let anonymous = session(&server, None).await;
    assert_eq!(anonymous.guest.verified_by, None);
    let key = porch_server::admin::add_identity_key(
        server.state.store.as_ref(),
        &server.deployment.id,
        None,
    )
    .await
    .unwrap();
    let now = porch_core::time::now_ms() / 1000;
    let claims = serde_json::json!({"sub": "crm-42", "aud": server.deployment.id, "iat": now,
        "exp": now + 60, "jti": porch_core::ids::new_id("jti")});
    let token = hs256(&serde_json::json!({"alg": "HS256", "kid": key.kid}), &claims, &key.material);
    let request = WidgetGuestRequest { identity_token: Some(token), ..Default::default() };
    let now_chatting = server
        .api
        .create_widget_guest(&server.deployment.id, ALLOWED_ORIGIN, &request)
        .await
        .unwrap();
    assert_eq!(now_chatting.guest.verified_by, Some(Verification::IdentityToken));

    let agent = server.agent().await;
    let page = server
        .agent_api
        .agent_customer_conversations(&agent.access_token, &now_chatting.conversation_id, "")
        .await
        .unwrap();
    let listed: Vec<(&str, Option<Verification>)> =
        page.conversations.iter().map(|c| (c.id.as_str(), c.guest.verified_by)).collect();
    assert_eq!(
        listed,
        [
            (now_chatting.conversation_id.as_str(), Some(Verification::IdentityToken)),
            (earlier.conversation_id.as_str(), Some(Verification::Backend)),
        ]
    );
    let alone = server
        .agent_api
        .agent_customer_conversations(&agent.access_token, &anonymous.conversation_id, "")
        .await
        .unwrap();
    assert_eq!(ids(&alone), [anonymous.conversation_id.as_str()]);
    let refused = server
        .agent_api
        .agent_customer_conversations(&agent.access_token, "cnv_nobody", "")
        .await
        .expect_err("no such conversation");
    assert_eq!(refused.code(), Some(ErrorCode::ConversationUnknown), "{refused}");
}

/// An identity token as a builder's backend signs one with the HS256 secret Porch generated.
fn hs256(header: &serde_json::Value, claims: &serde_json::Value, secret: &[u8]) -> String {
    use base64::Engine as _;
    use hmac::Mac as _;
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let signed = format!("{}.{}", b64(header), b64(claims));
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(signed.as_bytes());
    let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signed}.{tag}")
}
