//! Administration records, guests and conversation lists.

use porch_core::ids::{new_id, prefix, random_bytes};
use porch_core::model::{SetUp, Standing};
use porch_core::store::{Account, ConversationFilter, Deletion, PageRequest, Store, StoreError};
use porch_core::token::SigningKey;
use porch_wire::rest::{Conversation, ConversationState};

use super::*;

pub async fn suite_admin(store: &dyn Store) {
    let client = client_record("shop-backend");
    let deployment = deployment_record("shop", "sales");
    let agent = agent_record("grace", &["sales", "support"]);
    store.create_client(client.clone()).await.unwrap();
    store.create_deployment(deployment.clone()).await.unwrap();
    store.create_agent(agent.clone()).await.unwrap();

    assert_eq!(store.clients().await.unwrap(), vec![client.clone()]);
    assert_eq!(store.client(&client.id).await.unwrap(), Some(client.clone()));
    assert_eq!(store.client("cli_nobody").await.unwrap(), None);
    assert_eq!(store.deployments().await.unwrap(), vec![deployment.clone()]);
    assert_eq!(store.deployment(&deployment.id).await.unwrap(), Some(deployment.clone()));
    assert_eq!(store.deployment("dep_nobody").await.unwrap(), None);
    assert_eq!(store.agents().await.unwrap(), vec![agent.clone()]);
    assert_eq!(store.agent_by_name("grace").await.unwrap(), Some(agent.clone()));
    assert_eq!(store.agent_by_name("nobody").await.unwrap(), None);

    assert_eq!(
        store.create_client(client_record("shop-backend")).await,
        Err(StoreError::NameTaken("a client named `shop-backend` already exists".to_owned()))
    );
    assert_eq!(
        store.create_deployment(deployment_record("shop", "other")).await,
        Err(StoreError::NameTaken("a deployment named `shop` already exists".to_owned()))
    );
    assert_eq!(
        store.create_agent(agent_record("grace", &[])).await,
        Err(StoreError::NameTaken("an agent named `grace` already exists".to_owned()))
    );
    // A refused name wrote nothing.
    assert_eq!(store.agents().await.unwrap().len(), 1);
    assert_eq!(store.clients().await.unwrap().len(), 1);

    assert_eq!(store.signing_keys().await.unwrap(), vec![]);
    let old = SigningKey {
        kid: new_id(prefix::KEY),
        secret: random_bytes::<32>().to_vec(),
        created_at_ms: T0_MS,
    };
    let new = SigningKey {
        kid: new_id(prefix::KEY),
        secret: random_bytes::<32>().to_vec(),
        created_at_ms: T0_MS + 5,
    };
    store.add_signing_key(new.clone()).await.unwrap();
    store.add_signing_key(old.clone()).await.unwrap();
    let mut keys = store.signing_keys().await.unwrap();
    keys.sort_by_key(|k| k.created_at_ms);
    assert_eq!(keys, vec![old.clone(), new.clone()]);
    assert_eq!(store.remove_signing_key(&new.kid).await, Ok(false), "the newest key stays");
    assert_eq!(store.remove_signing_key(&old.kid).await, Ok(true));
    assert_eq!(store.remove_signing_key(&old.kid).await, Ok(false), "gone already");
    assert_eq!(store.signing_keys().await.unwrap(), vec![new.clone()]);
    assert_eq!(store.remove_signing_key(&new.kid).await, Ok(false), "the last key stays");
}

/// The first signing key is stored only on a store without one.
pub async fn suite_first_signing_key(store: &dyn Store) {
    let first = SigningKey::generate();
    assert_eq!(store.add_first_signing_key(first.clone()).await, Ok(true));
    assert_eq!(store.add_first_signing_key(SigningKey::generate()).await, Ok(false));
    assert_eq!(store.signing_keys().await.unwrap(), vec![first]);
}

/// A set-up's three records: written together, or not at all.
pub async fn suite_set_up(store: &dyn Store) {
    let set_up = |deployment: &str, client: &str, agent: &str| SetUp {
        deployment: deployment_record(deployment, "default"),
        client: client_record(client),
        agent: agent_record(agent, &["default"]),
    };
    assert_eq!(store.create_set_up(set_up("demo", "demo", "demo-agent")).await, Ok(true));
    assert_eq!(
        store.create_set_up(set_up("demo", "other", "other-agent")).await,
        Ok(false),
        "a deployment of that name exists: nothing is written"
    );
    assert_eq!(
        store.create_set_up(set_up("second", "demo", "second-agent")).await,
        Err(StoreError::NameTaken("a client named `demo` already exists".to_owned()))
    );
    let deployments: Vec<_> =
        store.deployments().await.unwrap().into_iter().map(|d| d.name).collect();
    assert_eq!(deployments, ["demo"], "the refused set-ups left no deployment behind");
    let agents: Vec<_> = store.agents().await.unwrap().into_iter().map(|a| a.name).collect();
    assert_eq!(agents, ["demo-agent"]);
    assert_eq!(store.clients().await.unwrap().len(), 1);
}

pub async fn suite_guest_round_trip(store: &dyn Store) {
    let (client, deployment) = seed(store, "sales").await;
    let record = guest_record(&client, &deployment, T0_MS + 10);
    let conversation = store.create_guest(record.clone(), "sales".to_owned()).await.unwrap();
    assert_eq!(conversation.id, record.conversation_id);
    assert_eq!(conversation.deployment_id, deployment.id);
    assert_eq!(conversation.queue, "sales");
    assert_eq!(conversation.state, ConversationState::Waiting);
    assert_eq!(conversation.guest, record.guest);
    assert_eq!(conversation.assigned_agent_id, None);
    assert_eq!(conversation.last_seq, 0);
    assert_eq!((conversation.created_at_ms, conversation.updated_at_ms), (T0_MS + 10, T0_MS + 10));

    assert_eq!(store.conversation(&conversation.id).await.unwrap(), Some(conversation.clone()));
    assert_eq!(store.guest(&record.guest.id).await.unwrap(), Some(record.clone()));
    assert_eq!(store.guest("gst_nobody").await.unwrap(), None);
    let session = porch_core::model::GuestSession {
        guest: record.clone(),
        deployment: deployment.clone(),
        conversation: conversation.clone(),
    };
    assert_eq!(
        store.guest_session(&record.guest.id).await.unwrap(),
        Some(session),
        "one read gives all three whole"
    );
    assert_eq!(store.guest_session("gst_nobody").await.unwrap(), None);
    assert_eq!(store.conversation("cnv_nobody").await.unwrap(), None);
    let page = store
        .messages(&conversation.id, PageRequest { after_seq: None, before_seq: None, limit: 50 })
        .await
        .unwrap();
    assert_eq!((page.messages.len(), page.has_more, page.last_seq), (0, false, 0));
}

pub async fn suite_conversation_lists(store: &dyn Store) {
    let (client, deployment) = seed(store, "lists-a").await;
    let mut ids = Vec::new();
    for (i, queue) in ["lists-a", "lists-b", "lists-a", "lists-c"].iter().enumerate() {
        let conversation = store
            .create_guest(guest_record(&client, &deployment, T0_MS + i as i64), (*queue).to_owned())
            .await
            .unwrap();
        ids.push(conversation);
    }
    let list = |queues: &[&str], states: &[ConversationState], limit: u32| ConversationFilter {
        queues: queues.iter().map(|q| (*q).to_owned()).collect(),
        states: states.to_vec(),
        limit,
    };
    let listed = |found: Vec<Conversation>| found.into_iter().map(|c| c.id).collect::<Vec<_>>();

    // Newest activity first.
    let found = store.conversations(list(&["lists-a", "lists-b"], &[], 10)).await.unwrap();
    assert_eq!(listed(found), vec![ids[2].id.clone(), ids[1].id.clone(), ids[0].id.clone()]);
    assert_eq!(
        listed(store.conversations(list(&["lists-a", "lists-b"], &[], 2)).await.unwrap()).len(),
        2
    );
    assert!(store.conversations(list(&[], &[], 10)).await.unwrap().is_empty());

    // Activity moves a conversation up; assignment changes its state.
    let agent = agent_record(&format!("lists-agent-{}", new_id(prefix::AGENT)), &["lists-a"]);
    store.create_agent(agent.clone()).await.unwrap();
    let (_, after) = created(
        store
            .append(system_event(&ids[0], ConversationState::Assigned, Some(&agent.id)))
            .await
            .unwrap(),
    );
    assert_eq!(after.state, ConversationState::Assigned);
    assert_eq!(after.assigned_agent_id.as_deref(), Some(agent.id.as_str()));
    assert_eq!(store.conversation(&ids[0].id).await.unwrap(), Some(after.clone()));

    let found = store.conversations(list(&["lists-a"], &[], 10)).await.unwrap();
    assert_eq!(found[0], after, "the JOINed row equals what append returned");
    assert_eq!(listed(found), vec![ids[0].id.clone(), ids[2].id.clone()]);
    let waiting = store
        .conversations(list(&["lists-a", "lists-c"], &[ConversationState::Waiting], 10))
        .await
        .unwrap();
    assert_eq!(listed(waiting), vec![ids[3].id.clone(), ids[2].id.clone()]);
    let open = [ConversationState::Waiting, ConversationState::Assigned];
    assert_eq!(store.conversations(list(&["lists-a"], &open, 10)).await.unwrap().len(), 2);
    assert!(
        store
            .conversations(list(&["lists-a"], &[ConversationState::Closed], 10))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn suite_flags(store: &dyn Store) {
    let (client, deployment) = seed(store, "flags").await;
    let record = guest_record(&client, &deployment, T0_MS + 20);
    store.create_guest(record.clone(), "flags".to_owned()).await.unwrap();

    assert!(store.revoke_guest(&record.guest.id).await.unwrap());
    assert!(store.guest(&record.guest.id).await.unwrap().unwrap().revoked);
    assert!(
        !store.revoke_guest("gst_nobody").await.unwrap(),
        "unknown ids are reported, not ignored"
    );

    assert!(store.set_deployment_enabled(&deployment.id, false).await.unwrap());
    assert!(!store.deployment(&deployment.id).await.unwrap().unwrap().enabled);
    assert!(store.set_deployment_enabled(&deployment.id, true).await.unwrap());
    assert!(store.deployment(&deployment.id).await.unwrap().unwrap().enabled);
    assert!(!store.set_deployment_enabled("dep_nobody", false).await.unwrap());
}

/// Disabling, enabling and resetting the secret of agents and clients: each changes only its
/// own row, and every read of the record brings its standing.
pub async fn suite_account_standing(store: &dyn Store) {
    let client = client_record("standing-backend");
    let agent = agent_record("standing-agent", &["sales"]);
    store.create_client(client.clone()).await.unwrap();
    store.create_agent(agent.clone()).await.unwrap();
    let other = agent_record("bystander", &["sales"]);
    store.create_agent(other.clone()).await.unwrap();

    assert!(store.set_account_enabled(Account::Agent, &agent.id, false).await.unwrap());
    assert!(store.set_account_enabled(Account::Client, &client.id, false).await.unwrap());
    let read = store.agent_by_name(&agent.name).await.unwrap().unwrap();
    assert_eq!(read.standing, Standing { enabled: false, tokens_valid_after_secs: 0 });
    assert!(!store.client(&client.id).await.unwrap().unwrap().standing.enabled);
    assert!(store.agent_by_name(&other.name).await.unwrap().unwrap().standing.enabled);
    assert!(store.set_account_enabled(Account::Agent, &agent.id, true).await.unwrap());
    assert!(store.agent_by_name(&agent.name).await.unwrap().unwrap().standing.enabled);

    let reset = store.reset_account_secret(Account::Client, &client.id, "$new".into(), 1_234);
    assert!(reset.await.unwrap());
    let read = store.client(&client.id).await.unwrap().unwrap();
    assert_eq!((read.secret_hash.as_str(), read.standing.tokens_valid_after_secs), ("$new", 1_234));
    assert!(!read.standing.enabled, "a reset leaves the enabled flag alone");
    let reset = store.reset_account_secret(Account::Agent, &agent.id, "$agent".into(), 99);
    assert!(reset.await.unwrap());
    let read = store.agents().await.unwrap().into_iter().find(|a| a.id == agent.id).unwrap();
    assert_eq!((read.secret_hash.as_str(), read.standing.tokens_valid_after_secs), ("$agent", 99));
    let bystander = store.agent_by_name(&other.name).await.unwrap().unwrap();
    assert_eq!(bystander, other, "other rows are untouched");

    assert!(!store.set_account_enabled(Account::Agent, "agt_nobody", false).await.unwrap());
    assert!(
        !store.reset_account_secret(Account::Client, "cli_nobody", "$x".into(), 1).await.unwrap()
    );
}

/// An agent holding an open conversation, or a client whose guests name it, is kept.
pub async fn suite_account_deletion(store: &dyn Store) {
    let conversation = new_conversation(store, "deletion").await;
    let agent = agent_record("leaving", &["deletion"]);
    store.create_agent(agent.clone()).await.unwrap();
    let assign = system_event(&conversation, ConversationState::Assigned, Some(&agent.id));
    store.append(assign).await.unwrap();
    assert_eq!(store.delete_account(Account::Agent, &agent.id).await.unwrap(), Deletion::InUse(1));
    assert!(store.agent_by_name(&agent.name).await.unwrap().is_some(), "kept");
    let close = system_event(&conversation, ConversationState::Closed, None);
    store.append(close).await.unwrap();
    assert_eq!(store.delete_account(Account::Agent, &agent.id).await.unwrap(), Deletion::Deleted);
    assert!(store.agent_by_name(&agent.name).await.unwrap().is_none());
    assert_eq!(store.delete_account(Account::Agent, &agent.id).await.unwrap(), Deletion::Unknown);

    let guest = store.guest(&conversation.guest.id).await.unwrap().unwrap();
    let in_use = store.delete_account(Account::Client, &guest.client_id).await.unwrap();
    assert_eq!(in_use, Deletion::InUse(1), "its guest's record names it");
    let unused = client_record("unused-backend");
    store.create_client(unused.clone()).await.unwrap();
    assert_eq!(store.delete_account(Account::Client, &unused.id).await.unwrap(), Deletion::Deleted);
    assert_eq!(store.client(&unused.id).await.unwrap(), None);
}

pub async fn suite_guest_standing(store: &dyn Store) {
    let (client, deployment) = seed(store, "standing").await;
    let record = guest_record(&client, &deployment, T0_MS + 40);
    let conversation = store.create_guest(record.clone(), "standing".to_owned()).await.unwrap();
    let other = guest_record(&client, &deployment, T0_MS + 40);
    store.create_guest(other.clone(), "standing".to_owned()).await.unwrap();
    let standing = || async {
        let ids = vec![record.guest.id.clone(), "gst_nobody".to_owned(), other.guest.id.clone()];
        let mut found = store.guest_standings(ids).await.unwrap();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        let mut expected = vec![record.guest.id.clone(), other.guest.id.clone()];
        expected.sort();
        assert_eq!(
            found.iter().map(|f| f.0.clone()).collect::<Vec<_>>(),
            expected,
            "each known guest once; the unknown left out"
        );
        found.into_iter().find(|f| f.0 == record.guest.id).unwrap().1
    };
    let fresh = standing().await;
    assert_eq!((fresh.revoked, fresh.deployment_enabled, fresh.last_seq), (false, true, 0));
    assert_eq!(
        (fresh.deployment_id.as_str(), fresh.notice.as_ref()),
        (deployment.id.as_str(), None)
    );

    fill(store, &conversation, 2).await;
    let notice = porch_wire::rest::Notice {
        id: "ntc_s".to_owned(),
        deployment_id: deployment.id.clone(),
        text: "Back soon".to_owned(),
        created_at_ms: T0_MS + 41,
    };
    store.set_deployment_notice(&deployment.id, Some(notice.clone())).await.unwrap();
    store.set_deployment_enabled(&deployment.id, false).await.unwrap();
    store.revoke_guest(&record.guest.id).await.unwrap();
    let changed = standing().await;
    assert_eq!(
        (changed.revoked, changed.deployment_enabled, changed.last_seq),
        (true, false, 2),
        "every part is read fresh"
    );
    assert_eq!(changed.notice, Some(notice));
    assert!(store.guest_standings(vec!["gst_nobody".to_owned()]).await.unwrap().is_empty());
    assert!(store.guest_standings(Vec::new()).await.unwrap().is_empty());
}

pub async fn suite_deployment_updates(store: &dyn Store) {
    let (_, deployment) = seed(store, "updates").await;
    let settings = porch_core::model::DeploymentSettings {
        origins: vec!["https://shop.example".to_owned(), "https://www.shop.example".to_owned()],
        queue: "updates-2".to_owned(),
        guest_token_ttl_secs: 900,
        welcome: porch_wire::rest::Welcome {
            greeting: Some("Hi! Ask us anything.".to_owned()),
            reply_within_mins: Some(5),
            // Off, so the round trip shows the stored value, not the default.
            offline_form: false,
        },
    };
    assert!(store.update_deployment(&deployment.id, settings.clone()).await.unwrap());
    let read = store.deployment(&deployment.id).await.unwrap().unwrap();
    assert_eq!(
        (read.origins, read.queue, read.guest_token_ttl_secs, read.welcome.clone()),
        (settings.origins.clone(), settings.queue.clone(), 900, settings.welcome.clone())
    );
    // Cleared, the welcome reads back empty (stored as NULL, not as an empty object).
    let cleared = porch_core::model::DeploymentSettings {
        welcome: porch_wire::rest::Welcome::default(),
        ..settings.clone()
    };
    assert!(store.update_deployment(&deployment.id, cleared).await.unwrap());
    let read = store.deployment(&deployment.id).await.unwrap().unwrap();
    assert!(read.welcome.is_empty());
    assert_eq!(
        (read.name, read.enabled, read.created_at_ms),
        (deployment.name, true, deployment.created_at_ms),
        "the rest stays"
    );
    let unknown = porch_core::model::DeploymentSettings {
        origins: vec![],
        queue: "q".to_owned(),
        guest_token_ttl_secs: 1,
        welcome: porch_wire::rest::Welcome::default(),
    };
    assert!(!store.update_deployment("dep_nobody", unknown).await.unwrap());
}

pub async fn suite_notices(store: &dyn Store) {
    let (_, deployment) = seed(store, "notices").await;
    let (_, other) = seed(store, "notices-other").await;
    assert_eq!(store.deployment(&deployment.id).await.unwrap().unwrap().notice, None);
    let notice = |id: &str, text: &str| porch_wire::rest::Notice {
        id: id.to_owned(),
        deployment_id: deployment.id.clone(),
        text: text.to_owned(),
        created_at_ms: T0_MS + 30,
    };

    assert!(
        store
            .set_deployment_notice(
                &deployment.id,
                Some(notice("ntc_1", "Closed at 18:00 \u{1F319}"))
            )
            .await
            .unwrap()
    );
    let read = store.deployment(&deployment.id).await.unwrap().unwrap();
    assert_eq!(
        read.notice,
        Some(notice("ntc_1", "Closed at 18:00 \u{1F319}")),
        "read back exactly"
    );
    assert!(read.enabled, "setting a notice changes nothing else");
    assert_eq!(
        store.deployment(&other.id).await.unwrap().unwrap().notice,
        None,
        "one deployment's notice only"
    );

    assert!(
        store
            .set_deployment_notice(&deployment.id, Some(notice("ntc_2", "Back at 9:00")))
            .await
            .unwrap()
    );
    let listed = store.deployments().await.unwrap();
    let listed = listed.iter().find(|d| d.id == deployment.id).unwrap();
    assert_eq!(
        listed.notice,
        Some(notice("ntc_2", "Back at 9:00")),
        "the next notice replaces the first"
    );

    assert!(store.set_deployment_notice(&deployment.id, None).await.unwrap());
    assert_eq!(store.deployment(&deployment.id).await.unwrap().unwrap().notice, None);
    assert!(
        !store.set_deployment_notice("dep_nobody", None).await.unwrap(),
        "unknown ids are reported"
    );
}
