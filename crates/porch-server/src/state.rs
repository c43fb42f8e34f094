//! Shared state of a running server, handed to every handler.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use porch_core::limits::KEYS_REREAD_INTERVAL_MS;
use porch_core::store::Store;
use porch_core::token::{Claims, Expectation, Keyring, TokenError, TokenKind};
use porch_wire::ErrorCode;
use porch_wire::event::LiveEvent;
use porch_wire::frame::ServerFrame;
use tokio::sync::{Semaphore, watch};

use crate::config::ServerConfig;
use crate::hub::{Hub, HubEvent};

/// Everything a handler may touch. Cheap to clone (all `Arc`s).
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// The store's disk: free space, and full-disk refusals (`space`).
    pub space: Arc<crate::space::DiskSpace>,
    /// Batched heartbeat re-checks of live guests (`standing`).
    pub standings: crate::standing::Standings,
    pub keys: Arc<Keys>,
    pub hub: Arc<Hub>,
    pub config: Arc<ServerConfig>,
    /// One permit per open WebSocket connection (`connections_max`).
    pub connections: Arc<Semaphore>,
    /// Rate limits and per-key connection counts (`throttle`).
    pub throttles: Arc<crate::throttle::Throttles>,
    /// One permit per secret check (Argon2id) running now (`password_checks_concurrent_max`).
    pub password_checks: Arc<Semaphore>,
    /// Origins some deployment lists: checked before token work and for CORS (`origins`).
    pub origins: Arc<crate::origins::KnownOrigins>,
    /// Flips to `true` when the server starts shutting down; sessions close with 4200.
    pub shutdown: watch::Receiver<bool>,
    /// The cluster transport, when this node is one of several.
    pub broker: crate::broker::SharedBroker,
    /// The webhook deliveries' HTTP client and target policy (`webhooks`).
    pub webhooks: crate::webhooks::Sender,
    /// Agents' gateway connections on this node, for their `offline` status (`presence`).
    pub presence: Arc<crate::presence::Presence>,
    pub offers: Arc<crate::offers::Offers>,
    /// Whether anyone can answer a queue now, kept briefly, for the widget (`availability`).
    pub availability: Arc<crate::availability::Availability>,
    /// Where this node's waiting guests stand in their queues (`queue_position`).
    pub queue_positions: Arc<crate::queue_position::QueuePositions>,
    /// Agents whose load moved, waiting to be told to supervisors (`supervisor::live`).
    pub loads_moved: Arc<crate::supervisor::live::LoadsMoved>,
}

/// The keyring, swappable at run time so rotation needs no restart.
pub struct Keys {
    current: RwLock<Arc<Keyring>>,
    /// When the last re-read for an unknown `kid` started (`reread`); its lock is the queue of
    /// callers waiting for the next one.
    last_reread: tokio::sync::Mutex<Option<Instant>>,
}

impl Keys {
    pub fn new(keyring: Keyring) -> Keys {
        Keys { current: RwLock::new(Arc::new(keyring)), last_reread: tokio::sync::Mutex::new(None) }
    }

    /// Verifies `token` (`Keyring::verify`). A token naming a key this node has not read yet
    /// (added by another node, or by `porch keys rotate`, since this node's last read) is
    /// verified again after a re-read of the keys, rather than refused until the next refresh.
    pub async fn verify(
        &self,
        store: &dyn Store,
        token: &str,
        expect: &Expectation<'_>,
    ) -> Result<Claims, TokenError> {
        let arrived = Instant::now();
        match self.get().verify(token, expect) {
            Err(e) if e.code == ErrorCode::TokenKeyUnknown => {
                self.reread(store, arrived).await;
                self.get().verify(token, expect)
            }
            verdict => verdict,
        }
    }

    /// Re-reads the keys from the store, unless a re-read that started after this caller
    /// `arrived` has finished (its keys are then as new as the caller needs). Re-reads start
    /// at most once per `KEYS_REREAD_INTERVAL_MS`; callers arriving meanwhile queue on the lock
    /// and share the next one, so made-up `kid`s cost one small read per interval, not one each.
    async fn reread(&self, store: &dyn Store, arrived: Instant) {
        let mut last = self.last_reread.lock().await;
        if last.is_some_and(|started| started >= arrived) {
            return;
        }
        if let Some(started) = *last {
            let next = started + Duration::from_millis(KEYS_REREAD_INTERVAL_MS);
            tokio::time::sleep_until(next.into()).await;
        }
        let started = Instant::now();
        match store.signing_keys().await {
            Ok(keys) if !keys.is_empty() => self.replace(Keyring::new(keys)),
            Ok(_) => tracing::warn!("the store holds no signing keys; keeping the ones in memory"),
            Err(e) => tracing::warn!("could not re-read the signing keys for an unknown kid: {e}"),
        }
        *last = Some(started);
    }

    pub fn get(&self) -> Arc<Keyring> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn replace(&self, keyring: Keyring) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keyring);
    }
}

impl AppState {
    /// Fans a live event out to the sessions that hear it: this node's through the hub, the
    /// other nodes' through the broker. Never blocks; the store already holds what matters.
    pub fn publish(&self, mut event: LiveEvent) {
        let started = std::time::Instant::now();
        // Stamped where it is published (serialized once for every session, on every node).
        if let ServerFrame::Conversation { conversation } = &mut event.frame {
            let window_secs = self.config.limits.reopen_window_secs;
            conversation.reopen_until_ms = crate::reopen::until_ms(window_secs, conversation);
        }
        let event = HubEvent::new(event);
        if let Some(broker) = &self.broker {
            broker.publish(event.clone());
        }
        self.hub.publish(event);
        crate::metrics::METRICS.fanout_latency.since(started);
    }

    /// Signs a token of `kind` for `sub`, valid `ttl_secs` from now. `extra` fills the
    /// kind-specific claims.
    pub fn mint(
        &self,
        kind: TokenKind,
        sub: &str,
        ttl_secs: u64,
        extra: impl FnOnce(&mut Claims),
    ) -> (String, Claims) {
        let now_secs = porch_core::time::now_ms() / 1000;
        let mut claims = Claims {
            iss: self.config.issuer.clone(),
            sub: sub.to_string(),
            aud: kind.audience().to_string(),
            exp: now_secs + i64::try_from(ttl_secs).unwrap_or(i64::MAX / 2),
            iat: now_secs,
            jti: porch_core::ids::new_id(porch_core::ids::prefix::TOKEN),
            nbf: None,
            scope: None,
            client_id: None,
            dep: None,
            cnv: None,
            name: None,
        };
        extra(&mut claims);
        (self.keys.get().sign(&claims), claims)
    }
}
