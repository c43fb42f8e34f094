//! A fault-injecting TCP proxy: the network between one node and PostgreSQL or NATS, which the
//! nemesis breaks in the ways networks break.
//!
//! - `Drop`: every live connection is reset and new ones are refused (a cable pulled, a
//!   firewall rejecting).
//! - `Delay(ms)`: every chunk, both ways, waits this long before it is passed on.
//! - `BlackHole`: nothing passes either way and nobody is told; new connections are accepted
//!   and held. On heal the held bytes flow on, as TCP's retransmissions would deliver them.
//! - `HalfOpen`: the backend's side is reset (it sees the node vanish and, for PostgreSQL,
//!   rolls back and frees its locks) while the node's side stays open and silent, swallowing
//!   what it writes. On heal the node's side is reset, as the peer's TCP would answer its next
//!   segment.
//!
//! A userspace proxy acknowledges at the TCP level what it then holds, so kernel-level
//! detection (`TCP_USER_TIMEOUT`, retransmission timeouts) cannot fire here; what is tested is
//! how Porch behaves while a link is broken and after it heals, not how fast TCP notices.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Pass,
    Drop,
    Delay(u64),
    BlackHole,
    HalfOpen,
}

impl Mode {
    /// Modes in which a live connection is cut (fully or on the backend's side).
    fn cuts(self) -> bool {
        matches!(self, Mode::Drop | Mode::HalfOpen)
    }
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    mode: watch::Sender<Mode>,
    accept: JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("the proxy binds");
        let addr = listener.local_addr().unwrap();
        let (mode, _) = watch::channel(Mode::Pass);
        let modes = mode.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(connection(client, upstream, modes.subscribe()));
            }
        });
        FaultProxy { addr, mode, accept }
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.mode.send_replace(Mode::Drop);
    }
}

/// Zero linger: dropping the socket sends a reset, not an orderly FIN.
fn abortive(stream: &TcpStream) {
    let _ = stream.set_zero_linger();
    let _ = stream.set_nodelay(true);
}

async fn connection(client: TcpStream, upstream: SocketAddr, mut mode: watch::Receiver<Mode>) {
    abortive(&client);
    // A connection that arrives during a fault waits it out (black hole, half-open) or is
    // refused (drop), as a SYN would be lost or rejected.
    loop {
        let now = *mode.borrow_and_update();
        match now {
            Mode::Pass | Mode::Delay(_) => break,
            Mode::Drop => return,
            Mode::BlackHole | Mode::HalfOpen => {
                if mode.changed().await.is_err() {
                    return;
                }
                if *mode.borrow() == Mode::Pass && now == Mode::HalfOpen {
                    return; // reset on heal: the backend never saw this connection
                }
            }
        }
    }
    let Ok(Ok(server)) =
        tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(upstream)).await
    else {
        return;
    };
    abortive(&server);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let cut = tokio::select! {
        _ = pump(&mut client_read, &mut server_write, mode.clone()) => Mode::Pass,
        _ = pump(&mut server_read, &mut client_write, mode.clone()) => Mode::Pass,
        cut = until_cut(&mut mode) => cut,
    };
    if cut == Mode::HalfOpen {
        drop((server_read, server_write)); // the backend sees a reset
        swallow(&mut client_read, &mut mode).await;
    }
    // Returning drops the rest: resets.
}

/// Copies one direction, chunk by chunk, as the current mode allows.
async fn pump(from: &mut OwnedReadHalf, to: &mut OwnedWriteHalf, mut mode: watch::Receiver<Mode>) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        loop {
            let now = *mode.borrow_and_update();
            match now {
                Mode::Pass => break,
                Mode::Delay(ms) => {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    break;
                }
                // Held until the fault ends; `until_cut` ends the connection on a cut.
                Mode::BlackHole | Mode::Drop | Mode::HalfOpen => {
                    if mode.changed().await.is_err() {
                        return;
                    }
                }
            }
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

/// Resolves with the mode that cuts this connection.
async fn until_cut(mode: &mut watch::Receiver<Mode>) -> Mode {
    loop {
        let now = *mode.borrow_and_update();
        if now.cuts() {
            return now;
        }
        if mode.changed().await.is_err() {
            return Mode::Drop;
        }
    }
}

/// The node's side of a half-open connection: read and discard until the fault ends.
async fn swallow(from: &mut OwnedReadHalf, mode: &mut watch::Receiver<Mode>) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            read = from.read(&mut buffer) => if matches!(read, Ok(0) | Err(_)) { return },
            changed = mode.changed() => if changed.is_err() || *mode.borrow() != Mode::HalfOpen { return },
        }
    }
}
