//! A full disk (issue 25, item 5): the data directory on a small tmpfs this test mounts (the
//! test runs as root, as CI does), filled while a guest sends. Sends are refused with
//! `store_full` (retryable, nothing stored), `/readyz` says why (a warning while space is low,
//! 503 once a write was refused), nothing acknowledged is lost, the file is intact, and the
//! node takes writes again by itself once space is freed.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use porch_client::{Api, Gateway};
use porch_wire::ErrorCode;
use porch_wire::frame::{ClientFrame, ServerFrame};

use crate::group::Group;
use crate::server::{Porch, cli_json, guest_request};

/// The tmpfs: room for the store and a few hundred messages, so it fills in seconds.
const TMPFS_SIZE: &str = "8m";
/// Sends before the test gives up on the disk filling (each text is 3,000 bytes).
const SENDS_MAX: usize = 4_000;
const WAIT: Duration = Duration::from_secs(10);
/// Sends stored before the disk is filled: what must survive the refusals.
const SENDS_BEFORE_FILL: usize = 3;

/// A tmpfs mounted for this test, unmounted (lazily, so a straggler cannot keep it) on drop.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount() -> Tmpfs {
        let dir = std::env::temp_dir().join(porch_core::ids::new_id("fsx"));
        std::fs::create_dir_all(&dir).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={TMPFS_SIZE},mode=0700"), "tmpfs"])
            .arg(&dir)
            .status()
            .expect("mount runs");
        assert!(status.success(), "mounting a tmpfs needs root (CI and this machine run as root)");
        Tmpfs { dir }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Writes zeros to `path` until the disk refuses (ENOSPC).
fn fill(path: &Path) {
    let mut file = std::fs::File::create(path).unwrap();
    let block = vec![0u8; 64 * 1024];
    while file.write_all(&block).is_ok() {}
    let small = [0u8; 512];
    while file.write_all(&small).is_ok() {}
    let _ = file.sync_all();
}

async fn readyz(api: &Api) -> (u16, serde_json::Value) {
    let response = api.http().get(api.url("/readyz")).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_sends_with_store_full_loses_nothing_and_recovers_by_itself() {
    let tmpfs = Tmpfs::mount();
    // Should the test process die without unwinding, the watchdog unmounts and kills porch.
    let unmount = format!("umount -l {}", tmpfs.dir.display());
    let group = Group::start_with_cleanup(Duration::from_secs(300), &unmount);
    let data = tmpfs.dir.join("data");
    let deployment = cli_json(&data, &["deployments", "create", "--name", "full"]);
    let client = cli_json(&data, &["clients", "create", "--name", "full", "--scope", "guests"]);
    let mut porch = Porch::new(data.clone());
    porch.group = Some(group.id);
    porch.start();
    let api = Api::new(&porch.base_url());
    let (token, request) = guest_request(&api, &client, &deployment).await;
    let guest = api.create_guest(&token, &request).await.unwrap();

    // A small disk is below the default warning (256 MiB) from the start: ready, but warned.
    let (status, body) = readyz(&api).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["dataDir"]["freeBytes"].as_u64().unwrap() < 8 * 1024 * 1024, "{body}");
    assert!(body["warnings"][0].as_str().unwrap().contains("data_dir_free_warn_bytes"), "{body}");
    let metrics = api.http().get(api.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("\nporch_data_dir_free_bytes "), "{metrics}");

    let mut socket = Gateway::connect(&guest.gateway_url, &guest.access_token, None).await.unwrap();
    socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Ready(_))).await.unwrap();
    let filler = tmpfs.dir.join("filler");

    // Send one at a time until the disk refuses one; the disk fills after a few were stored.
    // (Whether a send right after the fill finds room depends on what the WAL can reuse,
    // which the checkpoint policy decides: the sends before it are stored either way.)
    let padding = "x".repeat(3_000);
    let mut acked: BTreeMap<String, (String, u64)> = BTreeMap::new();
    let mut refused = None;
    for i in 0..SENDS_MAX {
        if i == SENDS_BEFORE_FILL {
            fill(&filler);
        }
        let id = format!("m-{i}");
        let frame = ClientFrame::Send {
            client_message_id: id.clone(),
            text: format!("{id} {padding}"),
            conversation_id: None,
        };
        socket.send(&frame).await.unwrap();
        let answer = socket
            .wait_for(WAIT, |f| matches!(f, ServerFrame::Ack { .. } | ServerFrame::Error { .. }))
            .await
            .unwrap();
        match answer {
            ServerFrame::Ack { message, .. } => {
                acked.insert(id, (message.id, message.seq));
            }
            ServerFrame::Error { code, retry_after_ms, client_message_id, message, .. } => {
                assert_eq!(code, ErrorCode::StoreFull, "{message}");
                assert_eq!(client_message_id.as_deref(), Some(id.as_str()));
                assert!(retry_after_ms.is_some(), "retryable, with a wait");
                assert!(message.contains("disk is full"), "{message}");
                refused = Some(id);
                break;
            }
            _ => unreachable!(),
        }
    }
    let refused = refused.expect("the disk filled up within the sends");
    assert!(acked.len() >= SENDS_BEFORE_FILL, "the sends before the fill were stored");
    let (status, body) = readyz(&api).await;
    assert_eq!(status, 503, "not ready while writes are refused: {body}");
    assert_eq!(body["dataDir"]["full"], true, "{body}");
    assert!(body["warnings"][0].as_str().unwrap().contains("store_full"), "{body}");
    // REST says the same, with the HTTP status and Retry-After of a retryable refusal.
    let rest = api.guest_send(&guest.access_token, "rest-1", "over REST").await;
    let Err(error) = rest else { panic!("acknowledged over REST while the disk is full") };
    let error = format!("{error:?}");
    assert!(error.contains("status: 503") && error.contains("StoreFull"), "{error}");

    // Space returns: ready again without any write, and the refused send goes through.
    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + WAIT;
    while readyz(&api).await.0 != 200 {
        assert!(Instant::now() < deadline, "ready again once space was freed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let frame = ClientFrame::Send {
        client_message_id: refused.clone(),
        text: format!("{refused} {padding}"),
        conversation_id: None,
    };
    socket.send(&frame).await.unwrap();
    match socket.wait_for(WAIT, |f| matches!(f, ServerFrame::Ack { .. })).await {
        Ok(ServerFrame::Ack { duplicate, message, .. }) => {
            assert!(!duplicate, "the refused send was not stored the first time");
            acked.insert(refused, (message.id, message.seq));
        }
        other => panic!("the resend after space returned: {other:?}"),
    }
    drop(socket);
    porch.stop();

    check_store(&data.join("porch.db"), &acked);
}

/// The file is intact and holds every acknowledged message once, as acknowledged.
fn check_store(db: &Path, acked: &BTreeMap<String, (String, u64)>) {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    let mut statement =
        conn.prepare("SELECT client_message_id, id, seq FROM messages ORDER BY seq").unwrap();
    let stored: Vec<(String, String, u64)> = statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(stored.iter().zip(1u64..).all(|((_, _, s), n)| *s == n), "seq gap-free");
    let by_id: BTreeMap<&str, (&str, u64)> =
        stored.iter().map(|(c, id, s)| (c.as_str(), (id.as_str(), *s))).collect();
    assert_eq!(by_id.len(), stored.len(), "no clientMessageId stored twice");
    for (client_message_id, (id, seq)) in acked {
        assert_eq!(by_id.get(client_message_id.as_str()), Some(&(id.as_str(), *seq)));
    }
    assert_eq!(stored.len(), acked.len(), "nothing stored that was not acknowledged");
}
