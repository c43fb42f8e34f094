//! The broker: how one node's live events reach the other nodes of a cluster.
//!
//! A single node needs none: the hub fans out in process. Several nodes behind a load
//! balancer share the store (the only source of truth) and use a broker (NATS) so a guest on
//! node A and an agent on node B talk live. The broker is allowed to lose events: sessions fill
//! gaps from the store, and guests re-check the store's head on every heartbeat. While the
//! broker is down, sends are refused with `broker_unavailable` (nothing stored, so a retry is
//! safe) and `/readyz` is red, so the load balancer moves clients to a healthy node.

pub mod access;
pub mod keys;
pub mod nats;

use std::sync::Arc;

use crate::hub::HubEvent;

/// Cluster transport, one implementation per broker.
pub trait Broker: Send + Sync + 'static {
    /// Sends an event to the other nodes. Never blocks; may drop when its queue is full.
    fn publish(&self, event: Arc<HubEvent>);
    /// False while the connection is down.
    fn is_connected(&self) -> bool;
    /// For `/readyz` and logs: where and in what state, never with credentials.
    fn describe(&self) -> String;
}

pub type SharedBroker = Option<Arc<dyn Broker>>;
