//! A TCP proxy between a node and PostgreSQL that makes a commit's outcome unknown to the node:
//! armed with a needle, it lets the first statement whose bytes contain it reach PostgreSQL and
//! run to its end (the implicit transaction of an extended-protocol statement commits at its
//! `Sync`, before the server says `ReadyForQuery`), swallows every byte of the answer, and then
//! resets both sides. The node saw its statement go out and its connection die: it cannot know
//! whether the write committed (it did).
//!
//! It reads the protocol's framing, not its content: a frontend message is a type byte and a
//! length (after the untyped startup message), a backend message the same. It counts the
//! client's `Sync`s and the server's `ReadyForQuery`s, so the answer it swallows is exactly
//! the one to the armed statement, and answers to earlier requests still pass. The node must
//! connect without TLS (`sslmode=disable`), so the bytes can be read.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

pub struct CommitCut {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    /// The bytes that arm the next cut; taken by the connection that sees them.
    needle: Mutex<Option<Vec<u8>>>,
    /// Cuts made so far.
    fired: AtomicUsize,
}

/// One connection's count of requests and answers, and the answer it withholds.
#[derive(Default)]
struct Line {
    syncs_sent: u64,
    ready_received: u64,
    /// The `ReadyForQuery` that ends the armed statement's answer (counted from 1).
    cut_at_ready: Option<u64>,
}

const SYNC: u8 = b'S';
const READY_FOR_QUERY: u8 = b'Z';

impl CommitCut {
    pub async fn start(upstream: SocketAddr) -> CommitCut {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("the proxy binds");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let accepting = shared.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(connection(client, upstream, accepting.clone()));
            }
        });
        CommitCut { addr, shared }
    }

    /// The next statement whose bytes contain `needle` commits and its answer is lost.
    pub fn arm(&self, needle: &str) {
        *self.shared.needle.lock().unwrap() = Some(needle.as_bytes().to_vec());
    }

    /// How many answers were lost so far.
    pub fn fired(&self) -> usize {
        self.shared.fired.load(Ordering::SeqCst)
    }
}

async fn connection(client: TcpStream, upstream: SocketAddr, shared: Arc<Shared>) {
    let Ok(server) = TcpStream::connect(upstream).await else { return };
    for socket in [&client, &server] {
        let _ = socket.set_nodelay(true);
        // Dropped with zero linger: a reset, as a broken network gives.
        let _ = socket.set_zero_linger();
    }
    let line = Mutex::new(Line::default());
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::select! {
        () = requests(client_read, server_write, &line, &shared) => {}
        () = answers(server_read, client_write, &line, &shared) => {}
    }
    // Returning drops all four halves: both sides are reset.
}

/// Client to server: passes every message on, counting `Sync`s; a message holding the needle
/// marks the next `Sync`'s answer as the one to withhold.
async fn requests(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    line: &Mutex<Line>,
    shared: &Shared,
) {
    let mut buffer = Vec::new();
    let mut started = false;
    loop {
        let Some(message) = next_message(&mut from, &mut buffer, !started).await else { return };
        if started {
            let mut line = line.lock().unwrap();
            let mut needle = shared.needle.lock().unwrap();
            let holds = needle.as_ref().is_some_and(|n| contains(&message, n));
            if holds && line.cut_at_ready.is_none() {
                *needle = None;
                line.cut_at_ready = Some(line.syncs_sent + 1);
            }
            if message[0] == SYNC {
                line.syncs_sent += 1;
            }
        }
        started = true;
        if to.write_all(&message).await.is_err() {
            return;
        }
    }
}

/// Server to client: passes the answers before the withheld one; from the first byte of that
/// one, passes nothing, and at its `ReadyForQuery` (the commit is done) ends the connection.
async fn answers(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    line: &Mutex<Line>,
    shared: &Shared,
) {
    let mut buffer = Vec::new();
    loop {
        let Some(message) = next_message(&mut from, &mut buffer, false).await else { return };
        let withheld = {
            let mut line = line.lock().unwrap();
            let withheld = line.cut_at_ready.is_some_and(|at| line.ready_received + 1 >= at);
            if message[0] == READY_FOR_QUERY {
                line.ready_received += 1;
                if withheld {
                    shared.fired.fetch_add(1, Ordering::SeqCst);
                    return;
                }
            }
            withheld
        };
        if !withheld && to.write_all(&message).await.is_err() {
            return;
        }
    }
}

/// The next whole message: a type byte and a big-endian length that counts itself (or, for
/// the startup message, the length alone).
async fn next_message(
    from: &mut OwnedReadHalf,
    buffer: &mut Vec<u8>,
    untyped: bool,
) -> Option<Vec<u8>> {
    let header = if untyped { 4 } else { 5 };
    loop {
        if buffer.len() >= header {
            let at = header - 4;
            let length = u32::from_be_bytes(buffer[at..header].try_into().unwrap()) as usize;
            let total = at + length;
            if buffer.len() >= total {
                return Some(buffer.drain(..total).collect());
            }
        }
        let mut chunk = [0u8; 16 * 1024];
        match from.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
