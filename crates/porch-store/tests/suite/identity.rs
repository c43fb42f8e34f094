//! Identity keys and used identity-token jtis (issue 20): keys per deployment, kids unique
//! everywhere, and a jti's first use decided once, even under concurrent presentations.

use std::sync::Arc;

use porch_core::identity::{IdentityAlgorithm, IdentityKey};
use porch_core::store::{CustomerPageRequest, Store, StoreError};

use super::*;

pub async fn suite_identity_keys(store: &dyn Store) {
    let (_, deployment) = seed(store, "identity").await;
    let (_, other) = seed(store, "identity").await;
    let mut first = IdentityKey::generate_hs256(&deployment.id);
    first.created_at_ms = T0_MS;
    let mut second = IdentityKey::generate_hs256(&deployment.id);
    second.created_at_ms = T0_MS + 1;
    second.algorithm = IdentityAlgorithm::EdDsa;
    let mut elsewhere = IdentityKey::generate_hs256(&other.id);
    elsewhere.created_at_ms = T0_MS;
    for key in [&second, &first, &elsewhere] {
        store.add_identity_key(key.clone()).await.unwrap();
    }
    let listed = store.identity_keys(&deployment.id).await.unwrap();
    assert_eq!(
        listed,
        [first.clone(), second.clone()],
        "oldest first, algorithm and material kept"
    );
    let mut clash = IdentityKey::generate_hs256(&other.id);
    clash.kid = first.kid.clone();
    let refused = store.add_identity_key(clash).await.unwrap_err();
    assert!(matches!(&refused, StoreError::NameTaken(m) if m.contains(&first.kid)), "{refused:?}");

    assert!(store.remove_identity_key(&first.kid).await.unwrap());
    assert!(!store.remove_identity_key(&first.kid).await.unwrap(), "already gone");
    assert_eq!(store.identity_keys(&deployment.id).await.unwrap(), [second]);
    assert_eq!(store.identity_keys(&other.id).await.unwrap(), [elsewhere]);
    assert!(store.identity_keys("dep_nobody").await.unwrap().is_empty());
}

pub async fn suite_identity_jtis(store: Arc<dyn Store>) {
    let (_, deployment) = seed(store.as_ref(), "jti").await;
    let (_, other) = seed(store.as_ref(), "jti").await;
    let jti = new_id("jti");
    let (now, expires) = (T0_MS, T0_MS + 60_000);
    assert!(store.use_identity_jti(&deployment.id, &jti, None, expires, now).await.unwrap());
    assert!(
        !store.use_identity_jti(&deployment.id, &jti, None, expires, now + 1).await.unwrap(),
        "a replay"
    );
    assert!(
        store.use_identity_jti(&other.id, &jti, None, expires, now).await.unwrap(),
        "jtis are per deployment: another builder may pick the same one"
    );
    // Once its token has expired the record may be taken over: the token itself is refused
    // as expired anyway, and a jti reused long after is not refused forever.
    assert!(
        !store
            .use_identity_jti(&deployment.id, &jti, None, expires + 60_000, expires - 1)
            .await
            .unwrap()
    );
    assert!(
        store
            .use_identity_jti(&deployment.id, &jti, None, expires + 60_000, expires + 1)
            .await
            .unwrap()
    );

    // Sixteen presentations of one jti at once: exactly one is first.
    let raced = new_id("jti");
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (store, deployment_id, raced) =
                (store.clone(), deployment.id.clone(), raced.clone());
            tokio::spawn(async move {
                store.use_identity_jti(&deployment_id, &raced, None, expires, now).await.unwrap()
            })
        })
        .collect();
    let mut firsts = 0;
    for task in tasks {
        firsts += usize::from(task.await.unwrap());
    }
    assert_eq!(firsts, 1, "one presentation wins, whatever the interleaving");

    // Expired records are forgotten as later jtis are used; an unexpired one never is.
    for i in 0..40 {
        let jti = format!("old-{i}-{}", new_id("jti"));
        assert!(store.use_identity_jti(&deployment.id, &jti, None, now + 1, now).await.unwrap());
    }
    for _ in 0..4 {
        store
            .use_identity_jti(&deployment.id, &new_id("jti"), None, expires + 10, now + 2)
            .await
            .unwrap();
    }
    assert!(!store.use_identity_jti(&deployment.id, &raced, None, expires, now + 3).await.unwrap());

    // The guest session that redeemed a jti may redeem it again (its answer was lost); another
    // session, or one the token would open, may not.
    let (redeemed, guest, stranger) = (new_id("jti"), Some("gst_1"), Some("gst_2"));
    assert!(store.use_identity_jti(&deployment.id, &redeemed, guest, expires, now).await.unwrap());
    let again = store.use_identity_jti(&deployment.id, &redeemed, guest, expires, now + 1);
    assert!(again.await.unwrap(), "the same session's retry");
    let other = store.use_identity_jti(&deployment.id, &redeemed, stranger, expires, now + 2);
    assert!(!other.await.unwrap(), "another session's replay");
    let opening = store.use_identity_jti(&deployment.id, &redeemed, None, expires, now + 3);
    assert!(!opening.await.unwrap(), "a session it would open");
    let again = store.use_identity_jti(&deployment.id, &redeemed, guest, expires, now + 4);
    assert!(again.await.unwrap(), "still the first session's after the refusals");
}

pub async fn suite_identify_guest(store: &dyn Store) {
    let (client, deployment) = seed(store, "upgrade").await;
    let record = guest_record(&client, &deployment, T0_MS);
    let conversation = store.create_guest(record.clone(), "upgrade".to_owned()).await.unwrap();
    fill(store, &conversation, 2).await;

    let named = Some("Ann Lee".to_owned());
    assert!(store.identify_guest(&record.guest.id, "crm-42", named, None).await.unwrap());
    let guest = store.guest(&record.guest.id).await.unwrap().unwrap();
    assert_eq!(guest.guest.external_id.as_deref(), Some("crm-42"));
    assert_eq!(guest.guest.display_name.as_deref(), Some("Ann Lee"));
    assert_eq!(guest.guest.email, record.guest.email, "an email not given is kept");
    assert_eq!(guest.guest.verified_by, Some(porch_wire::rest::Verification::IdentityToken));
    let after = store.conversation(&conversation.id).await.unwrap().unwrap();
    assert_eq!((after.last_seq, after.guest.external_id.as_deref()), (2, Some("crm-42")));
    let page = CustomerPageRequest {
        deployment_id: deployment.id.clone(),
        external_id: "crm-42".to_owned(),
        before_conversation_id: None,
        limit: 10,
    };
    let listed = store.customer_conversations(page).await.unwrap();
    assert_eq!(listed.conversations, [after], "the conversation is the customer's, seq and all");

    assert!(store.identify_guest(&record.guest.id, "crm-42", None, None).await.unwrap(), "again");
    assert!(
        !store.identify_guest(&record.guest.id, "crm-7", None, None).await.unwrap(),
        "a known session does not change customer"
    );
    let kept = store.guest(&record.guest.id).await.unwrap().unwrap();
    assert_eq!(kept.guest.external_id.as_deref(), Some("crm-42"));
    assert!(!store.identify_guest("gst_nobody", "crm-42", None, None).await.unwrap());
}
