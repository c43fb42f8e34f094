//! A TCP proxy the test controls, standing for the network between a client and Porch.
//!
//! It accepts on 127.0.0.1:0, opens one upstream connection per client connection and copies
//! bytes both ways. `cut` breaks every live connection at once the way a failing network does:
//! both sockets are dropped with `SO_LINGER` 0, so each end gets a TCP reset (or, if it was
//! not reading, just finds the connection gone), and no WebSocket close frame is ever sent.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct Proxy {
    pub addr: SocketAddr,
    /// Bumped by every `cut`; each connection task watches it.
    cuts: watch::Sender<u64>,
    live: Arc<AtomicUsize>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// A proxy forwarding every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let addr = listener.local_addr().unwrap();
        let (cuts, _) = watch::channel(0u64);
        let live = Arc::new(AtomicUsize::new(0));
        let accept = {
            let cuts = cuts.clone();
            let live = live.clone();
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    // Subscribed before the connection counts as live: a cut from now on hits it.
                    let mut cut = cuts.subscribe();
                    cut.borrow_and_update();
                    let live = live.clone();
                    live.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(upstream).await {
                            let mut client = client;
                            let _ = client.set_nodelay(true);
                            let _ = server.set_nodelay(true);
                            tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                                _ = cut.changed() => {
                                    // Reset, not FIN: nothing of an orderly shutdown reaches either end.
                                    let _ = client.set_zero_linger();
                                    let _ = server.set_zero_linger();
                                }
                            }
                        }
                        live.fetch_sub(1, Ordering::SeqCst);
                    });
                }
            })
        };
        Proxy { addr, cuts, live, accept }
    }

    /// Cuts every live connection at once; returns how many were live.
    pub fn cut(&self) -> usize {
        let live = self.live.load(Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
        live
    }

    /// `url` (http:// or ws://) with its host and port replaced by the proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("an absolute URL");
        let path = rest.find('/').map_or("", |i| &rest[i..]);
        format!("{scheme}://{}{path}", self.addr)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cuts.send_modify(|n| *n += 1);
    }
}
