//! Canned replies (`porch_core::canned`): per deployment, by shortcut; setting a shortcut again
//! replaces its text; deleting says whether there was one.

use porch_core::canned::CannedReply;
use porch_core::store::Store;

use super::*;

fn reply(deployment: &DeploymentRecord, shortcut: &str, text: &str, at_ms: i64) -> CannedReply {
    CannedReply {
        deployment_id: deployment.id.clone(),
        shortcut: shortcut.to_owned(),
        text: text.to_owned(),
        updated_at_ms: at_ms,
    }
}

fn shortcuts(replies: &[CannedReply]) -> Vec<&str> {
    replies.iter().map(|r| r.shortcut.as_str()).collect()
}

pub async fn suite_canned_replies(store: &dyn Store) {
    let (_, deployment) = seed(store, "canned").await;
    let (_, other) = seed(store, "canned").await;
    assert!(store.canned_replies(&deployment.id).await.unwrap().is_empty());

    store
        .set_canned_reply(reply(&deployment, "refund", "Refunds take 5 days.", T0_MS))
        .await
        .unwrap();
    store.set_canned_reply(reply(&deployment, "hours", "We open at 9.", T0_MS)).await.unwrap();
    store.set_canned_reply(reply(&other, "hours", "Open all night.", T0_MS)).await.unwrap();
    let replies = store.canned_replies(&deployment.id).await.unwrap();
    assert_eq!(shortcuts(&replies), ["hours", "refund"], "by shortcut");
    assert_eq!(replies[0], reply(&deployment, "hours", "We open at 9.", T0_MS));

    // The same shortcut again replaces the text, on that deployment only.
    let newer = reply(&deployment, "hours", "We open at 8.", T0_MS + 1);
    store.set_canned_reply(newer.clone()).await.unwrap();
    let replies = store.canned_replies(&deployment.id).await.unwrap();
    assert_eq!((replies.len(), &replies[0]), (2, &newer));
    assert_eq!(store.canned_replies(&other.id).await.unwrap()[0].text, "Open all night.");

    assert!(store.delete_canned_reply(&deployment.id, "hours").await.unwrap());
    assert!(!store.delete_canned_reply(&deployment.id, "hours").await.unwrap(), "gone already");
    assert!(!store.delete_canned_reply(&deployment.id, "nothing").await.unwrap());
    assert_eq!(shortcuts(&store.canned_replies(&deployment.id).await.unwrap()), ["refund"]);
    assert_eq!(store.canned_replies(&other.id).await.unwrap().len(), 1, "the other kept its own");
}
