//! `porch health`: asks a running server whether it is ready (`GET /readyz`) or alive
//! (`--live`, `GET /livez`). For the health checks of container runtimes, Kubernetes `exec`
//! probes and scripts: Porch's image holds nothing but `porch`, so no curl. Exit status 0 when
//! the answer is 200, 1 otherwise (the status Docker's `HEALTHCHECK` reads as unhealthy).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use porch_core::limits::HEALTH_PROBE_TIMEOUT_MS;

#[derive(Args, Debug)]
pub struct HealthArgs {
    /// The URL to ask. [default: /readyz (or /livez) on this machine, at the port of --listen]
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// The server's listen address, as `porch serve` has it: its port is asked on loopback
    /// when the address is 0.0.0.0 or [::]. [default: 127.0.0.1:8080]
    #[arg(long, env = "PORCH_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Ask whether the process serves at all (`/livez`), not whether it is ready for traffic.
    #[arg(long)]
    pub live: bool,
}

pub async fn run(args: HealthArgs) -> Result<()> {
    let path = if args.live { "/livez" } else { "/readyz" };
    let url = args.url.unwrap_or_else(|| format!("http://{}{path}", local(args.listen)));
    porch_client::tls::install_default_provider();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(HEALTH_PROBE_TIMEOUT_MS))
        .build()
        .context("building an HTTP client")?;
    let response = client.get(&url).send().await.with_context(|| format!("GET {url}"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let shown: String = body.chars().take(400).collect();
    if !status.is_success() {
        bail!("GET {url}: {status}: {shown}");
    }
    println!("{shown}");
    Ok(())
}

/// Where a server listening on `listen` is reached from this machine.
fn local(listen: Option<SocketAddr>) -> SocketAddr {
    let listen = listen.unwrap_or_else(|| SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)));
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_unspecified_listen_address_is_asked_on_loopback() {
        let cases = [
            (None, "127.0.0.1:8080"),
            (Some("0.0.0.0:9000"), "127.0.0.1:9000"),
            (Some("[::]:9000"), "[::1]:9000"),
            (Some("10.1.2.3:80"), "10.1.2.3:80"),
        ];
        for (listen, expected) in cases {
            let got = super::local(listen.map(|l| l.parse().unwrap()));
            assert_eq!(got.to_string(), expected, "{listen:?}");
        }
    }
}
