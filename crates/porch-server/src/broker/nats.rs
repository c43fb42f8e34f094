//! The NATS broker: core NATS publish/subscribe on one subject.
//!
//! Core NATS, not JetStream: delivery here is best effort on purpose, because the store
//! already holds every event durably and sessions recover from it. JetStream would add a
//! second log whose acknowledgements do not mean "on disk" by default (Jepsen, 2025).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt;
use porch_core::limits::{
    NATS_CONNECT_TIMEOUT_MS, NATS_PING_INTERVAL_MS, NATS_PUBLISH_QUEUE_MAX,
    NATS_RECONNECT_DELAY_MAX_MS, NATS_RECONNECT_DELAY_STEP_MS,
};
use std::borrow::Cow;

use porch_wire::event::ClusterEvent;
use tokio::sync::{Notify, mpsc};

use super::Broker;
use super::access::NatsAccess;
use crate::hub::{Hub, HubEvent};

pub struct NatsBroker {
    queue: mpsc::Sender<Arc<HubEvent>>,
    connected: Arc<AtomicBool>,
    /// `host:port` only: a URL may carry credentials, which are never shown.
    address: String,
}

impl NatsBroker {
    /// Connects and starts relaying: this node's events out, other nodes' events into `hub`.
    /// When the connection comes back after a loss, every session is told to resync
    /// (`resync_when_subscribed`).
    pub async fn connect(
        url: &str,
        access: &NatsAccess,
        subject: &str,
        node: String,
        hub: Arc<Hub>,
    ) -> Result<Arc<NatsBroker>, String> {
        let address = address_of(url);
        access.check()?;
        access.check_files()?;
        for warning in access.warnings() {
            tracing::warn!("{warning}");
        }
        let connected = Arc::new(AtomicBool::new(true));
        let flag = connected.clone();
        let back = Arc::new(Notify::new());
        let back_again = back.clone();
        // The TLS configuration async-nats builds takes the process's rustls provider.
        porch_client::tls::install_default_provider();
        let options = access
            .apply(async_nats::ConnectOptions::new())?
            .name(format!("porch {node}"))
            .ping_interval(std::time::Duration::from_millis(NATS_PING_INTERVAL_MS))
            .reconnect_delay_callback(|attempts| {
                std::time::Duration::from_millis(
                    (attempts as u64 * NATS_RECONNECT_DELAY_STEP_MS)
                        .min(NATS_RECONNECT_DELAY_MAX_MS),
                )
            })
            .event_callback(move |event| {
                let flag = flag.clone();
                let back = back_again.clone();
                async move { on_event(event, &flag, &back) }
            });
        let client = tokio::time::timeout(
            std::time::Duration::from_millis(NATS_CONNECT_TIMEOUT_MS),
            options.connect(url),
        )
        .await
        .map_err(|_| format!("cannot reach NATS at {address} within {NATS_CONNECT_TIMEOUT_MS} ms"))?
        .map_err(|e| {
            let cause = describe(&e);
            format!(
                "cannot reach NATS at {address}: {cause}; {}",
                super::access::fix(&cause, access)
            )
        })?;
        let subject = subject.to_string();
        let subscription =
            client.subscribe(subject.clone()).await.map_err(|e| format!("NATS subscribe: {e}"))?;
        let (queue, outbox) = mpsc::channel(NATS_PUBLISH_QUEUE_MAX);
        let relay = Relay { client, subject, node: node.clone(), hub: hub.clone(), back };
        tokio::spawn(publish_loop(relay, outbox));
        tokio::spawn(receive_loop(subscription, node, hub));
        Ok(Arc::new(NatsBroker { queue, connected, address }))
    }
}

fn on_event(event: async_nats::Event, connected: &AtomicBool, back: &Notify) {
    match event {
        // `connected` starts true: only a connection that was lost and came back means events
        // may have been missed. A stored permit: a loss while the last resync runs is not lost.
        async_nats::Event::Connected => {
            let was = connected.swap(true, Ordering::SeqCst);
            if !was {
                back.notify_one();
            }
        }
        async_nats::Event::Disconnected => {
            connected.store(false, Ordering::SeqCst);
            tracing::warn!("NATS connection lost: sends are refused until it is back");
        }
        other => tracing::debug!("NATS: {other}"),
    }
}

/// What the publishing task holds: the connection, and what a resync after a loss needs.
struct Relay {
    client: async_nats::Client,
    subject: String,
    node: String,
    hub: Arc<Hub>,
    /// Notified when a lost connection is back.
    back: Arc<Notify>,
}

/// Publishes this node's events, and resyncs its sessions when a lost connection is back. Ends
/// when the broker is dropped (its queue's sender with it).
async fn publish_loop(relay: Relay, mut outbox: mpsc::Receiver<Arc<HubEvent>>) {
    loop {
        tokio::select! {
            event = outbox.recv() => {
                let Some(event) = event else { return };
                relay.publish(&event).await;
            }
            () = relay.back.notified() => relay.resync_when_subscribed().await,
        }
    }
}

impl Relay {
    async fn publish(&self, event: &HubEvent) {
        let sent =
            ClusterEvent { node: Cow::Borrowed(&self.node), event: Cow::Borrowed(&event.event) };
        let payload = serde_json::to_vec(&sent).expect("cluster events serialize");
        if let Err(e) = self.client.publish(self.subject.clone(), payload.into()).await {
            crate::metrics::METRICS.broker_dropped();
            tracing::debug!("NATS publish failed (the store still has it): {e}");
        }
    }

    /// Tells this node's sessions to resync from the store once the server has this node's
    /// subscription again. async-nats reports `Connected` before it subscribes again, and an
    /// event another node publishes in between never reaches this node: sessions that read the
    /// store at `Connected` could miss it until their next heartbeat (and a conversation's last
    /// entry has nothing after it to reveal the gap). A probe subscribed and published now goes
    /// out after the re-subscription, and the server handles a connection's operations in
    /// order, so once the probe comes back every event committed after the sessions' store read
    /// arrives live. Bounded: a link lost again is another `Connected`, another turn.
    async fn resync_when_subscribed(&self) {
        let probe = self.client.new_inbox();
        let echoed = tokio::time::timeout(
            std::time::Duration::from_millis(NATS_CONNECT_TIMEOUT_MS),
            async {
                let mut echo = self.client.subscribe(probe.clone()).await.ok()?;
                self.client.publish(probe, Vec::new().into()).await.ok()?;
                echo.next().await
            },
        )
        .await;
        if !matches!(echoed, Ok(Some(_))) {
            tracing::debug!("the NATS probe did not come back in time; resyncing anyway");
        }
        tracing::warn!("NATS connection back: telling sessions to resync from the store");
        self.hub.resync_all();
    }
}

async fn receive_loop(mut subscription: async_nats::Subscriber, node: String, hub: Arc<Hub>) {
    while let Some(message) = subscription.next().await {
        match serde_json::from_slice::<ClusterEvent<'static>>(&message.payload) {
            Ok(event) if event.node != node => hub.publish(HubEvent::new(event.event.into_owned())),
            Ok(_) => {}
            Err(e) => tracing::warn!(
                "ignoring an undecodable cluster event: {}",
                crate::body::describe_json_error(&e)
            ),
        }
    }
}

impl Broker for NatsBroker {
    fn publish(&self, event: Arc<HubEvent>) {
        // Dropped when full: see NATS_PUBLISH_QUEUE_MAX.
        if self.queue.try_send(event).is_err() {
            crate::metrics::METRICS.broker_dropped();
        }
    }

    fn is_connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    fn describe(&self) -> String {
        let state = if self.is_connected() { "connected" } else { "disconnected" };
        format!("nats {} {state}", self.address)
    }
}

/// An error with its causes (a TLS failure's reason is in its source).
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `nats://user:pass@host:4222` → `host:4222`.
pub fn address_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_never_carry_credentials() {
        assert_eq!(super::address_of("nats://u:secret@10.0.0.1:4222"), "10.0.0.1:4222");
        assert_eq!(super::address_of("nats://127.0.0.1:4222"), "127.0.0.1:4222");
    }
}
