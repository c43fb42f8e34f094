//! The bare baseline: the machine's limit on the same WebSocket stack as Porch, with nothing
//! else. tokio + tokio-tungstenite and mimalloc, a 4 KiB read buffer, the write batching of
//! Porch's gateway (answers to frames already read go out in one write, up to 32 frames or
//! 4 KiB), backlog 4096, no auth, no storage. It sends one text frame on upgrade (so a
//! handshake ends the way Porch's does, with a first server frame) and echoes every data frame.
//!
//! Usage: `porch-bench-echo [ADDR]` (default 127.0.0.1:0). Prints `listening on ADDR` once bound.

use std::net::SocketAddr;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Porch's allocator (crates/porch/src/main.rs), so the baseline differs from Porch only in
/// what Porch does, not in how it allocates.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The read buffer of the "bare tokio-tungstenite" baseline that issue 8 and the notes measured
/// (4 KiB; tungstenite's default is 128 KiB per socket). Porch's gateway reads in 1 KiB (its
/// `READ_BUFFER_BYTES`); BENCHMARKS.md says what that is worth.
const READ_BUFFER_BYTES: usize = 4096;
/// Same as Porch's `listen_backlog` default: tokio's 128 overflows in connect storms.
const BACKLOG: u32 = 4096;
/// The handshake ends when the client has a first server frame, as with Porch's gateway
/// (`ready`).
const FIRST_FRAME: &str = r#"{"type":"ready"}"#;
/// Porch's write batch (`FRAMES_PER_WRITE_MAX`, `WRITE_BATCH_BYTES` in its gateway): without
/// it, a client that sends without waiting (S4 in open loop) found Porch faster than "bare".
const FRAMES_PER_WRITE_MAX: usize = 32;
const WRITE_BATCH_BYTES: usize = 4096;

fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BATCH_BYTES)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .as_deref()
        .unwrap_or("127.0.0.1:0")
        .parse()
        .expect("ADDR is ip:port");
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let listener = socket.listen(BACKLOG)?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // EMFILE and the like: keep serving the sockets we have.
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        tokio::spawn(serve(stream));
    }
}

async fn serve(stream: TcpStream) {
    // Porch sets TCP_NODELAY on its listener too: frames go out when written.
    let _ = stream.set_nodelay(true);
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config())).await
    else {
        return;
    };
    if ws.send(Message::text(FIRST_FRAME)).await.is_err() {
        return;
    }
    while let Some(Ok(first)) = ws.next().await {
        // Echo this frame and any already read behind it, then write them out together.
        let mut next = Some(first);
        let mut fed = 0;
        while let Some(message) = next.take() {
            match message {
                Message::Text(_) | Message::Binary(_) => {
                    if ws.feed(message).await.is_err() {
                        return;
                    }
                    fed += 1;
                }
                Message::Close(_) => return,
                // Pings are answered by tungstenite itself on the next write or read.
                _ => {}
            }
            if fed < FRAMES_PER_WRITE_MAX {
                next = ws.next().now_or_never().flatten().and_then(Result::ok);
            }
        }
        if ws.flush().await.is_err() {
            break;
        }
    }
}
