//! The origins Porch knows: every origin some deployment lists, plus Porch's own (the agent
//! console). Two checks read it without a store read:
//!
//! - a browser's `Origin` on a token request or a handshake, before any token work, so a page
//!   no deployment lists is refused at the cost of a set lookup (cross-site WebSocket
//!   hijacking, RFC 6455 §10.2). Which deployment's list applies is known only from a verified
//!   token, so the exact per-deployment check still follows verification (`auth`);
//! - CORS (`cors`): whether a browser may read Porch's answers at all.
//!
//! The set only grows: an origin no longer listed still passes here and is refused by the
//! per-deployment check. A miss reloads the set from the store, so a deployment created on
//! another node counts at once; misses that arrive while a reload runs share the next one, so a
//! flood of unknown origins costs one reload at a time, not one each.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use porch_core::store::Store;
use porch_wire::ErrorCode;

use crate::error::ApiError;

pub struct KnownOrigins {
    origins: RwLock<HashSet<String>>,
    /// Porch's own origin (its public URL's), where the console and demo pages come from.
    own: String,
    store: Arc<dyn Store>,
    /// Reloads begun, counted under `reloading`: a reload with a number above the one a miss
    /// saw began after that miss, so its result is fresh enough for it.
    reloads_begun: AtomicU64,
    reloading: tokio::sync::Mutex<()>,
}

impl KnownOrigins {
    /// Empty: the first miss loads every deployment's origins.
    pub fn new(store: Arc<dyn Store>, own: &str) -> KnownOrigins {
        KnownOrigins {
            origins: RwLock::default(),
            own: own.to_string(),
            store,
            reloads_begun: AtomicU64::new(0),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// Refuses an `Origin` that no deployment lists and that is not Porch's own.
    pub async fn check_known(&self, origin: &str) -> Result<(), ApiError> {
        if self.is_known(origin).await? {
            return Ok(());
        }
        let shown = crate::error::shown_origin(origin);
        Err(ApiError::new(
            ErrorCode::OriginNotAllowed,
            format!("{shown} is not among any deployment's origins; add it to yours"),
        ))
    }

    /// Whether some deployment lists `origin` (or it is Porch's own), reloading on a miss.
    pub async fn is_known(&self, origin: &str) -> Result<bool, ApiError> {
        if origin == self.own || self.contains(origin) {
            return Ok(true);
        }
        let seen = self.reloads_begun.load(Ordering::Acquire);
        let _reloading = self.reloading.lock().await;
        if self.reloads_begun.load(Ordering::Acquire) <= seen {
            self.reload().await?;
        }
        Ok(self.contains(origin))
    }

    fn contains(&self, origin: &str) -> bool {
        self.origins.read().unwrap_or_else(|e| e.into_inner()).contains(origin)
    }

    /// Adds every deployment's origins. Call holding `reloading`; a failed reload is not
    /// counted, so the misses waiting for it try again.
    async fn reload(&self) -> Result<(), ApiError> {
        self.reloads_begun.fetch_add(1, Ordering::AcqRel);
        match self.store.deployments().await {
            Ok(deployments) => {
                self.origins
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend(deployments.into_iter().flat_map(|d| d.origins));
                Ok(())
            }
            Err(e) => {
                self.reloads_begun.fetch_sub(1, Ordering::AcqRel);
                Err(e.into())
            }
        }
    }
}
