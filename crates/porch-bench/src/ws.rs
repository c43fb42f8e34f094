//! WebSocket client connections as the harness opens them: an explicit source address (to get
//! past 28,232 ephemeral ports per source address), small buffers (so thousands of idle client
//! sockets do not cost 128 KiB each, tungstenite's default), TCP_NODELAY like the servers.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use futures_util::StreamExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub type Ws = WebSocketStream<TcpStream>;

/// The source address of client socket number `index`: the kernel's choice (127.0.0.1) when
/// `spread` is 0, else 127.0.0.2 … 127.0.0.(1 + spread) in turn.
pub fn source_addr(index: usize, spread: u8) -> Option<IpAddr> {
    if spread == 0 {
        return None;
    }
    let last = 2 + (index % spread as usize) as u8;
    Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
}

fn config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0)
}

/// Lets `connect()` choose the source port, not `bind()` (`IP_BIND_ADDRESS_NO_PORT`, Linux 4.2+).
/// `bind(ip, 0)` must find a port that is free whatever the destination, trying one after
/// another past every socket of that address, TIME_WAIT ones included: after a restart storm
/// left 60,000 of them, that search took the harness's two cores for 10 s and more while Porch
/// sat idle (S5 restart: 15.9 s instead of 2.7). `connect()` needs a port free for its own
/// destination only, and may reuse a TIME_WAIT one on loopback.
#[allow(unsafe_code)]
fn defer_port_choice(socket: &TcpSocket) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: the descriptor is open (owned by `socket`), and the option is an int passed
    // with its size.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

/// Opens a WebSocket to `url` at `addr`. With a `token`, offers it as browsers do
/// (`NICE-WebSocket-Auth, <token>`), through porch-client's request builder.
pub async fn connect(
    addr: SocketAddr,
    url: &str,
    token: Option<&str>,
    source: Option<IpAddr>,
) -> Result<Ws> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    if let Some(ip) = source {
        defer_port_choice(&socket).context("setting IP_BIND_ADDRESS_NO_PORT")?;
        socket
            .bind(SocketAddr::new(ip, 0))
            .with_context(|| format!("binding client socket to {ip}"))?;
    }
    let stream = socket.connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let request = match token {
        Some(token) => porch_client::gateway::request(url, token),
        None => url.into_client_request()?,
    };
    let (ws, _) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(config())).await?;
    Ok(ws)
}

/// The next text frame, skipping protocol frames; an error on close, end or timeout.
pub async fn next_text(ws: &mut Ws, timeout: Duration) -> Result<String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let item = tokio::time::timeout_at(deadline, ws.next())
            .await
            .map_err(|_| anyhow!("no frame within {timeout:?}"))?;
        match item {
            Some(Ok(Message::Text(text))) => return Ok(text.as_str().to_owned()),
            Some(Ok(Message::Close(frame))) => bail!("closed by the server: {frame:?}"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => bail!("{e}"),
            None => bail!("connection ended"),
        }
    }
}

/// A string of exactly `len` ASCII bytes, for payloads of a given size.
pub fn padding(len: usize) -> String {
    "x".repeat(len)
}
