//! Customers (issue 20): every guest created with one external id on one deployment, by any
//! client, is the same customer; its conversations are listed newest first and paged.

use porch_core::ids::{new_id, prefix};
use porch_core::store::{CustomerPageRequest, Store};
use porch_wire::rest::ConversationPage;

use super::*;

fn page_of(
    deployment: &DeploymentRecord,
    external_id: &str,
    before: Option<&str>,
    limit: u32,
) -> CustomerPageRequest {
    CustomerPageRequest {
        deployment_id: deployment.id.clone(),
        external_id: external_id.to_owned(),
        before_conversation_id: before.map(str::to_owned),
        limit,
    }
}

fn ids(page: &ConversationPage) -> Vec<String> {
    page.conversations.iter().map(|c| c.id.clone()).collect()
}

/// A guest of `external_id` on `deployment`, created by `client` at `at_ms`.
async fn customer_guest(
    store: &dyn Store,
    client: &ClientRecord,
    deployment: &DeploymentRecord,
    external_id: Option<&str>,
    at_ms: i64,
) -> Conversation {
    let mut record = guest_record(client, deployment, at_ms);
    record.guest.external_id = external_id.map(str::to_owned);
    record.guest.verified_by = external_id.map(|_| porch_wire::rest::Verification::Backend);
    store.create_guest(record, deployment.queue.clone()).await.unwrap()
}

pub async fn suite_customer_conversations(store: &dyn Store) {
    let (client, deployment) = seed(store, "customers").await;
    let other_client = client_record(&format!("backend-{}", new_id(prefix::CLIENT)));
    store.create_client(other_client.clone()).await.unwrap();
    let (_, other_deployment) = seed(store, "customers").await;

    // Ada's sessions: two clients, one of them twice at the same millisecond (ties by id).
    let first = customer_guest(store, &client, &deployment, Some("crm-ada"), T0_MS + 1).await;
    let second =
        customer_guest(store, &other_client, &deployment, Some("crm-ada"), T0_MS + 2).await;
    let third = customer_guest(store, &client, &deployment, Some("crm-ada"), T0_MS + 2).await;
    // Not Ada: another id, no id, and the same id on another deployment.
    customer_guest(store, &client, &deployment, Some("crm-bob"), T0_MS + 3).await;
    customer_guest(store, &client, &deployment, None, T0_MS + 3).await;
    customer_guest(store, &client, &other_deployment, Some("crm-ada"), T0_MS + 3).await;

    let mut newest_first = vec![second.id.clone(), third.id.clone()];
    newest_first.sort_by(|a, b| b.cmp(a));
    newest_first.push(first.id.clone());

    let whole = store.customer_conversations(page_of(&deployment, "crm-ada", None, 10)).await;
    let whole = whole.unwrap();
    assert_eq!(ids(&whole), newest_first, "newest first by creation, ties by id descending");
    assert!(!whole.has_more);
    let listed_first = whole.conversations.iter().find(|c| c.id == first.id).unwrap();
    assert_eq!(*listed_first, first, "the listed conversation is the stored one, guest and all");

    // Paging with `before` walks the same order, one at a time, and ends.
    let mut walked = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let request = page_of(&deployment, "crm-ada", before.as_deref(), 1);
        let page = store.customer_conversations(request).await.unwrap();
        assert_eq!(page.conversations.len(), 1);
        walked.push(page.conversations[0].id.clone());
        before = Some(page.conversations[0].id.clone());
        if !page.has_more {
            break;
        }
        assert!(walked.len() < 3, "hasMore said more after the last one");
    }
    assert_eq!(walked, newest_first);
    let past_end = page_of(&deployment, "crm-ada", Some(&first.id), 10);
    assert!(store.customer_conversations(past_end).await.unwrap().conversations.is_empty());

    // A cursor that is not Ada's, or no conversation at all, gives nothing.
    let bob = store.customer_conversations(page_of(&deployment, "crm-bob", None, 10)).await;
    let bob = bob.unwrap();
    assert_eq!(bob.conversations.len(), 1);
    for foreign in [bob.conversations[0].id.as_str(), "cnv_nobody"] {
        let request = page_of(&deployment, "crm-ada", Some(foreign), 10);
        let page = store.customer_conversations(request).await.unwrap();
        assert_eq!((page.conversations.len(), page.has_more), (0, false), "cursor {foreign}");
    }
    let nobody = page_of(&deployment, "crm-nobody", None, 10);
    assert!(store.customer_conversations(nobody).await.unwrap().conversations.is_empty());
    let elsewhere = store.customer_conversations(page_of(&other_deployment, "crm-ada", None, 10));
    assert_eq!(elsewhere.await.unwrap().conversations.len(), 1, "a customer is per deployment");
}
