//! A `porch serve` killed with SIGKILL in the middle of an upload: after the restart there is
//! no half message in the log and no file left in the data directory.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::attachments::png;

/// A `porch serve --demo` on `dir`: the child, its URL and the demo deployment's id.
fn serve(dir: &Path) -> (Child, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_porch"));
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("PORCH_")) {
        command.env_remove(key);
    }
    let mut child = command
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("porch starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut deployment = String::new();
    let mut base_url = String::new();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if let Some(dep) = line.split_whitespace().find(|w| w.starts_with("dep_")) {
            deployment = dep.to_owned();
        }
        if line.starts_with("listening on") {
            base_url = line.split_whitespace().nth(2).expect("a URL").to_owned();
            break;
        }
    }
    (child, base_url, deployment)
}

fn files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir.join("attachments")) else { return Vec::new() };
    entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()
}

#[tokio::test]
async fn sigkill_mid_upload_leaves_no_message_and_no_file() {
    let dir: PathBuf = std::env::temp_dir().join(porch_core::ids::new_id("crs"));
    let (mut child, base, deployment) = serve(&dir);
    assert!(deployment.starts_with("dep_"), "the demo banner names its deployment");
    porch_client::tls::install_default_provider();
    let http = reqwest::Client::new();
    let guests = porch_wire::WIDGET_GUESTS_PATH.replace("{deployment_id}", &deployment);
    let session: Value = http
        .post(format!("{base}{guests}"))
        .header("origin", &base)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["accessToken"].as_str().expect("a guest session").to_owned();
    let request = json!({"clientMessageId": "k-1", "name": "a.png", "size": 1_000_000, "contentType": "image/png"});
    let grant: Value = http
        .post(format!("{base}{}", porch_wire::GUEST_ATTACHMENTS_PATH))
        .bearer_auth(&token)
        .json(&request)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = reqwest::Url::parse(grant["uploadUrl"].as_str().expect("an upload URL")).unwrap();

    // Half the body, then the process dies while the upload waits for the rest.
    let address = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!("PUT {} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n", url.path());
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&png(400_000)).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !files(&dir).iter().any(|f| f.ends_with(".part")) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the upload never started: {:?}",
            files(&dir)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    drop(socket);
    assert!(!files(&dir).is_empty(), "the crash left its partial file");

    let (mut child, base, _) = serve(&dir);
    assert_eq!(files(&dir), Vec::<String>::new(), "the restart removed the partial file");
    let page: Value = http
        .get(format!("{base}{}", porch_wire::GUEST_MESSAGES_PATH))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let messages = page["messages"].as_array().expect("history");
    assert!(messages.iter().all(|m| m.get("attachment").is_none()), "no half message: {page}");
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
