//! Erasure (`Store::erase_customer`, docs/identity.md "Erasure"): a customer's guests lose
//! what describes them and are revoked; in their conversations the guest's entries and the
//! system notes become tombstones with their `seq`, while agents' entries and state changes
//! stay. Again is harmless; an unknown customer is `None`; other customers are untouched.

use porch_core::store::{PageRequest, Store};

use super::*;

const ALL: PageRequest = PageRequest { after_seq: Some(0), before_seq: None, limit: 50 };

pub async fn suite_erase_customer(store: &dyn Store) {
    let (client, deployment) = seed(store, "erasure").await;
    let (_, elsewhere) = seed(store, "erasure").await;
    let mut record = guest_record(&client, &deployment, T0_MS);
    record.guest.external_id = Some("crm-erase".into());
    record.guest.display_name = Some("Zed".into());
    record.guest.email = Some("zed@example.test".into());
    record.guest.attributes = BTreeMap::from([("plan".into(), "gold".into())]);
    let conversation = store.create_guest(record.clone(), "erasure".into()).await.unwrap();
    let mut same_id_elsewhere = guest_record(&client, &elsewhere, T0_MS);
    same_id_elsewhere.guest.external_id = Some("crm-erase".into());
    let kept = store.create_guest(same_id_elsewhere, "erasure".into()).await.unwrap();

    let mut guest = guest_of(&conversation);
    guest.display_name = Some("Zed".into());
    store.append(says(&conversation, &guest, "c1", "my address is 1 Zed Street")).await.unwrap();
    let note = AppendRequest {
        client_message_id: None,
        sender: Participant { role: Role::System, id: "porch".into(), display_name: None },
        ..says(&conversation, &guest, "", "The guest signed in: verified as Zed (crm-erase)")
    };
    store.append(note).await.unwrap();
    let agent = agent_record(&format!("eraser-{}", new_id(prefix::AGENT)), &["erasure"]);
    store.create_agent(agent.clone()).await.unwrap();
    store.append(assign_to(&conversation, &agent.id, 5)).await.unwrap();
    let agent_says = Participant { role: Role::Agent, id: agent.id.clone(), display_name: None };
    store.append(says(&conversation, &agent_says, "a1", "noted")).await.unwrap();
    store.append(says(&kept, &guest_of(&kept), "c1", "not erased")).await.unwrap();

    let erasure = store.erase_customer(&deployment.id, "crm-erase").await.unwrap().unwrap();
    assert_eq!(erasure.guest_ids, std::slice::from_ref(&conversation.guest.id));
    assert_eq!(erasure.conversation_ids, std::slice::from_ref(&conversation.id));
    assert_eq!(erasure.messages, 2, "the guest's entry and the note");

    let log = store.messages(&conversation.id, ALL).await.unwrap().messages;
    let shape: Vec<(u64, &str, bool)> =
        log.iter().map(|m| (m.seq, m.text.as_str(), m.erased)).collect();
    assert_eq!(
        shape,
        [(1, "", true), (2, "", true), (3, "conversation assigned", false), (4, "noted", false)]
    );
    assert_eq!(log[0].sender.role, Role::Guest);
    assert_eq!(log[0].sender.display_name, None, "the name goes with the text");
    assert_eq!(store.conversation(&conversation.id).await.unwrap().unwrap().last_seq, 4);

    let erased = store.guest(&conversation.guest.id).await.unwrap().unwrap();
    assert!(erased.erased && erased.revoked);
    let g = &erased.guest;
    assert_eq!(
        (&g.display_name, &g.email, &g.external_id, g.verified_by),
        (&None, &None, &None, None)
    );
    assert!(g.attributes.is_empty());
    let standings = store.guest_standings(vec![conversation.guest.id.clone()]).await.unwrap();
    assert!(standings[0].1.erased);

    // Another deployment's customer of the same id keeps everything.
    let other = store.messages(&kept.id, ALL).await.unwrap().messages;
    assert_eq!((other[0].text.as_str(), other[0].erased), ("not erased", false));
    let other_guest = store.guest(&kept.guest.id).await.unwrap().unwrap();
    assert_eq!(other_guest.guest.external_id.as_deref(), Some("crm-erase"));
    assert!(!other_guest.erased);

    let again = store.erase_customer(&deployment.id, "crm-erase").await.unwrap();
    assert_eq!(again, Some(Default::default()), "recognised, nothing new");
    assert_eq!(store.erase_customer(&deployment.id, "crm-nobody").await.unwrap(), None);

    // An entry that lands after the erasure (a request in flight) is caught by the next one.
    let late = AppendRequest { now_ms: T0_MS + 9_000, ..says(&conversation, &guest, "c2", "late") };
    store.append(late).await.unwrap();
    let caught = store.erase_customer(&deployment.id, "crm-erase").await.unwrap().unwrap();
    assert_eq!((caught.guest_ids.len(), caught.messages), (0, 1));
}
