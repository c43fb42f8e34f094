//! Retention, deletion and storage use (docs/attachments.md): a closed conversation's files go
//! after `attachment_retention_secs`, their messages stay marked deleted and their URLs say
//! `attachment_deleted`; an open conversation's stay. `porch attachments usage` and `/metrics`
//! count what is kept. Single node and `PORCH_TEST_CLUSTER=1` (the sweep of node 1, the agent
//! on node 2).

use std::time::Duration;

use porch_server::attachments::{preview, retention, sweep};
use porch_wire::ErrorCode;
use serde_json::{Value, json};

use crate::attachments::{ask, png, put};
use crate::support::{TEST_POSTGRES, TestServer, cluster_mode};

async fn upload(server: &TestServer, token: &str, name: &str, size: usize) -> Value {
    let request =
        json!({"clientMessageId": name, "name": name, "size": size, "contentType": "image/png"});
    let (status, grant) =
        ask(&server.api, porch_wire::GUEST_ATTACHMENTS_PATH, token, request).await;
    assert_eq!(status, 201, "{grant}");
    let (status, sent) = put(&server.api, grant["uploadUrl"].as_str().unwrap(), png(size)).await;
    assert_eq!(status, 201, "{sent}");
    let file = sent["message"]["attachment"].clone();
    preview_settled(server, file["id"].as_str().unwrap()).await;
    file
}

/// Waits until the preview the upload's completion started in the background is stored and
/// settled (a PNG, or the marker saying why there is none; these test files have none), so
/// these tests' deletions start after that background work.
async fn preview_settled(server: &TestServer, id: &str) {
    let blobs = server.state.store.blobs();
    let blob = preview::blob_id(id);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let unsettled = blobs.stale(i64::MAX, i64::MAX, 100).await.unwrap();
        if blobs.size(&blob).await.unwrap().is_some() && !unsettled.iter().any(|b| b.id == blob) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "no preview nor its marker for {id}");
        tokio::time::sleep(Duration::from_millis(20)).await; // polling blob storage
    }
}

/// `GET` with the guest's token: status and body.
async fn get(server: &TestServer, token: &str, path: &str) -> (u16, Value) {
    let response =
        server.api.http().get(server.api.url(path)).bearer_auth(token).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn attachment_path(id: &str) -> String {
    porch_wire::GUEST_ATTACHMENT_PATH.replace("{attachment_id}", id)
}

#[tokio::test]
async fn a_closed_conversations_files_go_after_retention_and_their_messages_say_so() {
    let server = TestServer::start_with(|c| c.limits.attachment_retention_secs = 1).await;
    let (closing, open) = (server.guest().await, server.guest().await);
    let gone = upload(&server, &closing.access_token, "gone.png", 4_000).await;
    let kept = upload(&server, &open.access_token, "kept.png", 3_000).await;
    let gone_id = gone["id"].as_str().unwrap();
    let (status, before) = get(&server, &closing.access_token, &attachment_path(gone_id)).await;
    assert_eq!(status, 200, "{before}");

    let agent = server.agent().await;
    for action in ["assign", "close"] {
        let api = &server.agent_api;
        api.agent_action(&agent.access_token, &closing.conversation_id, action).await.unwrap();
    }
    assert_eq!(retention::once(&server.state).await.unwrap(), 0, "closed less than 1 s ago");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(retention::once(&server.state).await.unwrap(), 1, "only the closed one's file");
    assert_eq!(retention::once(&server.state).await.unwrap(), 0, "deleted once");

    // The entry stays, marked, for the guest and the agent alike.
    let page = server.api.guest_history(&closing.access_token, "").await.unwrap();
    let entry = page.messages.iter().find_map(|m| m.attachment.clone()).expect("the entry stays");
    assert!(entry.deleted && entry.name == "gone.png", "{entry:?}");
    let (status, refused) = get(&server, &closing.access_token, &attachment_path(gone_id)).await;
    assert_eq!((status, refused["error"].as_str()), (410, Some("attachment_deleted")), "{refused}");
    let said = refused["error_description"].as_str().unwrap();
    assert!(said.contains("attachment_retention_secs"), "{said}");
    // A URL handed out before says the same.
    let response = server.api.http().get(before["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(response.status(), 410);
    let refused: Value = response.json().await.unwrap();
    assert_eq!(
        ErrorCode::from_name(refused["error"].as_str().unwrap()),
        Some(ErrorCode::AttachmentDeleted)
    );

    // The open conversation's file stays whole.
    let kept_id = kept["id"].as_str().unwrap();
    let (status, link) = get(&server, &open.access_token, &attachment_path(kept_id)).await;
    assert_eq!(status, 200, "{link}");
    let file = server.api.http().get(link["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(file.bytes().await.unwrap().as_ref(), png(3_000).as_slice());
    if !cluster_mode() {
        let files = server.attachment_files();
        assert!(!files.iter().any(|f| f.starts_with(gone_id)), "bytes and preview gone: {files:?}");
        assert!(files.iter().any(|f| f == kept_id), "{files:?}");
    }
}

#[tokio::test]
async fn the_usage_command_and_metrics_count_the_files_kept() {
    let server = TestServer::start().await;
    let guest = server.guest().await;
    upload(&server, &guest.access_token, "a.png", 4_000).await;
    upload(&server, &guest.access_token, "b.png", 6_000).await;

    let response = server.api.http().get(server.api.url("/metrics")).send().await.unwrap();
    let metrics = response.text().await.unwrap();
    let deployment = &server.deployment.id;
    for line in [
        format!("porch_attachments_stored_files{{deployment=\"{deployment}\"}} 2"),
        format!("porch_attachments_stored_bytes{{deployment=\"{deployment}\"}} 10000"),
    ] {
        assert!(metrics.lines().any(|l| l == line), "no `{line}` in:\n{metrics}");
    }

    let store = match &server.schema {
        Some(schema) => vec![
            "--store".to_owned(),
            format!("{TEST_POSTGRES}?options=-c%20search_path%3D{schema}"),
        ],
        None => vec!["--data-dir".to_owned(), server.dir.to_string_lossy().into_owned()],
    };
    let run = |json: bool| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_porch"));
        command.args(["attachments", "usage"]).args(&store);
        if json {
            command.arg("--json");
        }
        let output = command.output().expect("porch runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let usage: Value = serde_json::from_str(&run(true)).expect("--json prints JSON");
    assert_eq!(
        usage["deployments"],
        json!([{"deploymentId": deployment, "files": 2, "bytes": 10_000}])
    );
    assert_eq!((usage["files"].as_u64(), usage["bytes"].as_u64()), (Some(2), Some(10_000)));
    let text = run(false);
    assert!(
        text.lines().any(|l| l.starts_with(deployment.as_str()) && l.ends_with(" 10000")),
        "{text}"
    );
}

/// Erasure deletes a customer's files whatever the retention (here 0, keep): the next pass
/// deletes the bytes and the entry forgets the file.
#[tokio::test]
async fn an_erased_customers_files_go_at_the_next_pass() {
    let server = TestServer::start().await;
    let request = porch_wire::rest::CreateGuestRequest {
        deployment_id: server.deployment.id.clone(),
        external_id: Some("crm-files-1".into()),
        ..Default::default()
    };
    let guest = server.api.create_guest(&server.client_token().await, &request).await.unwrap();
    let file = upload(&server, &guest.access_token, "passport.png", 2_000).await;
    let id = file["id"].as_str().unwrap().to_owned();
    assert_eq!(retention::once(&server.state).await.unwrap(), 0, "retention 0 keeps files");

    let store = server.state.store.as_ref();
    porch_server::erasure::erase_customer(store, &server.deployment.id, "crm-files-1")
        .await
        .unwrap();
    assert_eq!(retention::once(&server.state).await.unwrap(), 1, "the erased entry's file");
    assert_eq!(retention::once(&server.state).await.unwrap(), 0);
    assert_eq!(store.blobs().size(&id).await.unwrap(), None, "its bytes are gone");
    assert_eq!(store.attachment_message(&id).await.unwrap(), None, "no entry names it");
    if !cluster_mode() {
        let files = server.attachment_files();
        assert!(!files.iter().any(|f| f.starts_with(&id)), "{files:?}");
    }
}

/// Stores a preview of `id` as a crash between its commit and its file's check leaves it:
/// complete and unsettled.
async fn unsettled_preview(server: &TestServer, id: &str) {
    let blobs = server.state.store.blobs();
    let mut writer = blobs.create(&preview::blob_id(id)).await.unwrap();
    writer.write(b"a preview").await.unwrap();
    writer.commit().await.unwrap();
}

/// Whether attachment `id` has a preview (or its marker) stored, complete or not.
async fn has_preview(server: &TestServer, id: &str) -> bool {
    let blobs = server.state.store.blobs();
    let listed = blobs.stale(i64::MAX, i64::MAX, 100).await.unwrap();
    let preview = preview::blob_id(id);
    blobs.size(&preview).await.unwrap().is_some() || listed.iter().any(|b| b.id == preview)
}

#[tokio::test]
async fn a_preview_made_while_its_file_is_deleted_is_not_left_behind() {
    let server = TestServer::start().await;
    let guest = server.guest().await;
    let raced = upload(&server, &guest.access_token, "raced.png", 3_000).await;
    let raced = raced["id"].as_str().unwrap();
    let blobs = server.state.store.blobs();

    // Retention deletes the file and its preview while a preview of it is being made: the
    // background task stores what it made after both deletes (the interleaving written out).
    blobs.delete(raced).await.unwrap();
    blobs.delete(&preview::blob_id(raced)).await.unwrap();
    preview::keep(blobs.as_ref(), raced, b"made from the file before it went").await;
    assert!(!has_preview(&server, raced).await, "the preview of a deleted file is deleted");

    // A crash between a preview's commit and that check leaves it unsettled: the sweep deletes
    // it when its file is gone, and settles it when the file is there.
    unsettled_preview(&server, raced).await;
    let kept = upload(&server, &guest.access_token, "kept.png", 3_000).await;
    let kept = kept["id"].as_str().unwrap();
    blobs.delete(&preview::blob_id(kept)).await.unwrap();
    unsettled_preview(&server, kept).await;
    // A cut in the future: every unsettled blob is past the grace.
    assert_eq!(sweep::once_before(&server.state, i64::MAX).await.unwrap(), 1, "the orphan");
    assert!(!has_preview(&server, raced).await, "the orphan preview is swept");
    assert!(has_preview(&server, kept).await, "a preview whose file is there is kept");
    let listed = blobs.stale(i64::MAX, i64::MAX, 100).await.unwrap();
    assert!(listed.is_empty(), "the kept preview is settled: {listed:?}");
}
