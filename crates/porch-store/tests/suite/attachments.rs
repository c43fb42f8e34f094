//! Attachments: blob storage (a file is invisible until committed, an id is used once, ranges
//! read exactly, stale blobs are listed until settled or deleted) and the log's side (an
//! attachment message keeps its file, the quota sums a conversation's files).

use porch_core::blob::StaleBlob;
use porch_core::ids::new_id;
use porch_core::store::{AttachmentUsage, Store, StoreError};
use porch_wire::attachment::Attachment;

use super::*;

/// Bytes that tell their own offsets apart, over several chunks.
fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

pub async fn suite_blobs(store: &dyn Store) {
    let blobs = store.blobs();
    let id = new_id("att");
    let bytes = content(porch_core::limits::ATTACHMENT_CHUNK_BYTES * 2 + 1_000);
    let mut writer = blobs.create(&id).await.unwrap();
    for piece in bytes.chunks(70_000) {
        writer.write(piece).await.unwrap();
    }
    assert_eq!(blobs.size(&id).await.unwrap(), None, "invisible until committed");
    assert!(
        matches!(blobs.create(&id).await, Err(StoreError::NameTaken(_))),
        "one upload per id, even while the first is under way"
    );
    writer.commit().await.unwrap();
    assert_eq!(blobs.size(&id).await.unwrap(), Some(bytes.len() as u64));
    assert_eq!(blobs.read(&id, 0, bytes.len()).await.unwrap(), bytes);
    let (at, len) = (porch_core::limits::ATTACHMENT_CHUNK_BYTES as u64 - 10, 30);
    let start = at as usize;
    assert_eq!(
        blobs.read(&id, at, len).await.unwrap(),
        &bytes[start..start + len],
        "across chunks"
    );
    let tail = blobs.read(&id, bytes.len() as u64 - 5, 100).await.unwrap();
    assert_eq!(tail, &bytes[bytes.len() - 5..], "short at the end");
    assert!(matches!(blobs.create(&id).await, Err(StoreError::NameTaken(_))), "and after");

    // Until settled, a complete blob is listed once past the cut-off; after, never.
    let far = i64::MAX / 2;
    let stale = blobs.stale(far, far, 1_000).await.unwrap();
    assert!(stale.contains(&StaleBlob { id: id.clone(), complete: true }), "{stale:?}");
    blobs.settle(&id).await.unwrap();
    assert!(!blobs.stale(far, far, 1_000).await.unwrap().iter().any(|b| b.id == id));
    assert_eq!(blobs.read(&id, 0, 3).await.unwrap(), &bytes[..3], "settled files read the same");

    // An unfinished upload is listed as incomplete; aborted, it is gone.
    let open = new_id("att");
    let mut writer = blobs.create(&open).await.unwrap();
    writer.write(b"\x89PNG").await.unwrap();
    let stale = blobs.stale(far, 0, 1_000).await.unwrap();
    assert!(stale.contains(&StaleBlob { id: open.clone(), complete: false }), "{stale:?}");
    assert!(!stale.iter().any(|b| b.complete), "complete ones are held to their own cut-off");
    writer.abort().await.unwrap();
    assert!(!blobs.stale(far, far, 1_000).await.unwrap().iter().any(|b| b.id == open));

    blobs.delete(&id).await.unwrap();
    assert_eq!(blobs.size(&id).await.unwrap(), None);
    blobs.delete(&id).await.unwrap();
    let reused = blobs.create(&open).await.unwrap();
    reused.abort().await.unwrap();
}

pub async fn suite_attachment_messages(store: &dyn Store) {
    let conversation = new_conversation(store, "default").await;
    let guest = guest_of(&conversation);
    let file = Attachment {
        id: new_id("att"),
        name: "invoice.pdf".into(),
        size: 48_213,
        content_type: "application/pdf".into(),
        deleted: false,
    };
    let mut request = says(&conversation, &guest, "f-1", "invoice.pdf");
    request.attachment = Some(file.clone());
    let (message, _) = created(store.append(request).await.unwrap());
    assert_eq!(message.attachment.as_ref(), Some(&file));
    store.append(says(&conversation, &guest, "t-1", "and a text")).await.unwrap();

    let found = store.attachment_message(&file.id).await.unwrap().expect("found by its file");
    assert_eq!((found.seq, found.attachment), (message.seq, Some(file.clone())));
    assert_eq!(store.attachment_message("att_none").await.unwrap(), None);
    let page = store
        .messages(
            &conversation.id,
            porch_core::store::PageRequest { after_seq: Some(0), before_seq: None, limit: 10 },
        )
        .await
        .unwrap();
    assert_eq!(page.messages[0].attachment.as_ref(), Some(&file), "history keeps the file");
    assert_eq!(page.messages[1].attachment, None);

    let named = store.attachments_named(vec![file.id.clone(), "att_none".into()]).await.unwrap();
    assert_eq!(named, vec![file.id.clone()]);
    assert_eq!(store.attachment_bytes(&conversation.id).await.unwrap(), 48_213);
    let other = new_conversation(store, "default").await;
    assert_eq!(store.attachment_bytes(&other.id).await.unwrap(), 0);
}

/// One attachment message from the conversation's guest.
async fn attach(store: &dyn Store, conversation: &Conversation, size: u64) -> Attachment {
    let file = Attachment {
        id: new_id("att"),
        name: "shot.png".into(),
        size,
        content_type: "image/png".into(),
        deleted: false,
    };
    let mut request = says(conversation, &guest_of(conversation), &new_id("cmi"), "shot.png");
    request.attachment = Some(file.clone());
    created(store.append(request).await.unwrap());
    file
}

fn usage_of(usage: &[AttachmentUsage], deployment_id: &str) -> (u64, u64) {
    usage.iter().find(|u| u.deployment_id == deployment_id).map_or((0, 0), |u| (u.files, u.bytes))
}

/// Retention: a closed conversation's files are due once it closed before the cut (never
/// while open); marked deleted, a message keeps its file's name with `deleted`, and its bytes
/// leave the quota and the usage. An erased entry's file is due whatever the retention, and
/// marked, forgets it. Marking twice changes nothing.
pub async fn suite_attachment_retention(store: &dyn Store) {
    let conversation = new_conversation(store, "default").await;
    let deployment = conversation.deployment_id.clone();
    let first = attach(store, &conversation, 10).await;
    let second = attach(store, &conversation, 5).await;
    let due = |cut| store.attachments_due(cut, 1_000);
    assert!(!due(Some(i64::MAX)).await.unwrap().contains(&first.id), "open: kept");
    assert_eq!(usage_of(&store.attachment_usage().await.unwrap(), &deployment), (2, 15));

    let close = system_event(&conversation, ConversationState::Closed, None);
    let (_, closed) = created(store.append(close).await.unwrap());
    let closed_at = closed.updated_at_ms;
    assert!(!due(Some(closed_at)).await.unwrap().contains(&first.id), "closed at the cut: kept");
    assert!(!due(None).await.unwrap().contains(&first.id), "retention 0: kept");
    let found = due(Some(closed_at + 1)).await.unwrap();
    assert!(found.contains(&first.id) && found.contains(&second.id), "{found:?}");

    assert_eq!(store.mark_attachments_deleted(vec![first.id.clone()]).await.unwrap(), 1);
    assert_eq!(store.mark_attachments_deleted(vec![first.id.clone()]).await.unwrap(), 0);
    let message = store.attachment_message(&first.id).await.unwrap().expect("the entry stays");
    let kept = message.attachment.expect("with its file's name");
    assert!(kept.deleted && kept.name == "shot.png", "{kept:?}");
    assert!(!due(Some(i64::MAX)).await.unwrap().contains(&first.id), "deleted once");
    assert_eq!(store.attachment_bytes(&conversation.id).await.unwrap(), 5);
    assert_eq!(usage_of(&store.attachment_usage().await.unwrap(), &deployment), (1, 5));

    // An erased customer's file: due at once, then forgotten by its entry.
    let (client, deployment) = seed(store, "default").await;
    let mut guest = guest_record(&client, &deployment, T0_MS);
    guest.guest.external_id = Some("crm-1".into());
    let open = store.create_guest(guest, "default".into()).await.unwrap();
    let erased = attach(store, &open, 7).await;
    store.erase_customer(&deployment.id, "crm-1").await.unwrap().expect("erased");
    assert!(due(None).await.unwrap().contains(&erased.id), "erased: due with retention 0");
    assert_eq!(usage_of(&store.attachment_usage().await.unwrap(), &deployment.id), (0, 0));
    assert_eq!(store.mark_attachments_deleted(vec![erased.id.clone()]).await.unwrap(), 1);
    assert!(!due(None).await.unwrap().contains(&erased.id));
    assert_eq!(store.attachment_message(&erased.id).await.unwrap(), None);
}
