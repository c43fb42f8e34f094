//! Heartbeat re-checks, batched: every live guest session asks the store at each heartbeat
//! whether it may go on and what it may have missed (`Store::guest_standings`). One query per
//! session is 4,000 queries a second at idle for 100,000 guests (a 25 s heartbeat), most of
//! them round trips to PostgreSQL in a cluster. Here the requests of a short window share one
//! query instead.
//!
//! The window adds at most `STANDING_BATCH_WINDOW_MS` to a heartbeat, which nobody waits for.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use porch_core::limits::{
    STANDING_BATCH_MAX, STANDING_BATCH_WINDOW_MS, STANDING_BATCHES_IN_FLIGHT_MAX,
    STANDING_QUEUE_MAX,
};
use porch_core::model::GuestStanding;
use porch_core::store::{Store, StoreError};
use tokio::sync::{Semaphore, mpsc, oneshot};

type Reply = oneshot::Sender<Result<Option<GuestStanding>, StoreError>>;
type Found = Result<Vec<(String, GuestStanding)>, StoreError>;
/// One batched read: `Store::guest_standings`, or a stand-in that counts calls in tests.
type Lookup = Arc<dyn Fn(Vec<String>) -> Pin<Box<dyn Future<Output = Found> + Send>> + Send + Sync>;

/// The sessions' side: ask for one guest's standing.
#[derive(Clone)]
pub struct Standings {
    queue: mpsc::Sender<(String, Reply)>,
}

impl Standings {
    /// Starts the batching task; it ends when every `Standings` is dropped.
    pub fn start(store: Arc<dyn Store>) -> Standings {
        Standings::start_with(Arc::new(move |ids| {
            let store = store.clone();
            Box::pin(async move { store.guest_standings(ids).await })
        }))
    }

    fn start_with(lookup: Lookup) -> Standings {
        let (queue, requests) = mpsc::channel(STANDING_QUEUE_MAX);
        tokio::spawn(batch_loop(lookup, requests));
        Standings { queue }
    }

    /// The guest's standing, `None` when it is gone.
    pub async fn of(&self, guest_id: &str) -> Result<Option<GuestStanding>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let gone = || StoreError::Unavailable("the standing reader stopped (shutting down)".into());
        self.queue.send((guest_id.to_owned(), reply)).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

async fn batch_loop(lookup: Lookup, mut requests: mpsc::Receiver<(String, Reply)>) {
    let in_flight = Arc::new(Semaphore::new(STANDING_BATCHES_IN_FLIGHT_MAX));
    while let Some(first) = requests.recv().await {
        let batch = gather(first, &mut requests).await;
        let Ok(permit) = in_flight.clone().acquire_owned().await else { return };
        let lookup = lookup.clone();
        tokio::spawn(async move {
            answer(&lookup, batch).await;
            drop(permit);
        });
    }
}

/// The first request and whatever joins it within the window, up to the batch size.
async fn gather(
    first: (String, Reply),
    requests: &mut mpsc::Receiver<(String, Reply)>,
) -> Vec<(String, Reply)> {
    let mut batch = vec![first];
    let window = tokio::time::sleep(Duration::from_millis(STANDING_BATCH_WINDOW_MS));
    tokio::pin!(window);
    while batch.len() < STANDING_BATCH_MAX {
        tokio::select! {
            request = requests.recv() => match request {
                Some(request) => batch.push(request),
                None => break,
            },
            _ = &mut window => break,
        }
    }
    batch
}

async fn answer(lookup: &Lookup, batch: Vec<(String, Reply)>) {
    let ids: Vec<String> = batch.iter().map(|(id, _)| id.clone()).collect();
    match lookup(ids).await {
        Ok(found) => {
            let found: HashMap<String, GuestStanding> = found.into_iter().collect();
            for (id, reply) in batch {
                // Copied, not taken: two sessions of one guest (two tabs) may share a batch,
                // and the second must not read "gone" (a spurious `guest_revoked` close).
                // A session that ended meanwhile dropped its receiver: nothing to tell it.
                let _ = reply.send(Ok(found.get(&id).cloned()));
            }
        }
        Err(e) => {
            for (_, reply) in batch {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn standing(last_seq: u64) -> GuestStanding {
        GuestStanding {
            revoked: false,
            erased: false,
            deployment_id: "dep_1".into(),
            deployment_enabled: true,
            notice: None,
            last_seq,
        }
    }

    /// A lookup that knows guests `gst_<n>` (with `last_seq` n) for even n, and counts calls.
    fn counting(calls: Arc<AtomicUsize>, sizes_max: Arc<AtomicUsize>) -> Lookup {
        Arc::new(move |ids: Vec<String>| {
            calls.fetch_add(1, Ordering::SeqCst);
            sizes_max.fetch_max(ids.len(), Ordering::SeqCst);
            let found = ids
                .into_iter()
                .filter_map(|id| {
                    let n: u64 = id.trim_start_matches("gst_").parse().ok()?;
                    n.is_multiple_of(2).then(|| (id, standing(n)))
                })
                .collect();
            Box::pin(async move { Ok(found) })
        })
    }

    #[tokio::test]
    async fn concurrent_heartbeats_share_few_reads_and_each_gets_its_own_answer() {
        let (calls, sizes_max) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let standings = Standings::start_with(counting(calls.clone(), sizes_max.clone()));
        let asks = (0..1_500u64).map(|n| {
            let standings = standings.clone();
            tokio::spawn(async move { (n, standings.of(&format!("gst_{n}")).await.unwrap()) })
        });
        for ask in asks.collect::<Vec<_>>() {
            let (n, answer) = ask.await.unwrap();
            assert_eq!(answer, n.is_multiple_of(2).then(|| standing(n)), "guest {n}");
        }
        let calls = calls.load(Ordering::SeqCst);
        assert!((3..=10).contains(&calls), "1,500 heartbeats at once took {calls} reads");
        assert_eq!(
            sizes_max.load(Ordering::SeqCst),
            STANDING_BATCH_MAX,
            "a batch stops at its size limit"
        );
    }

    #[tokio::test]
    async fn two_sessions_of_one_guest_in_one_batch_both_get_its_standing() {
        let (calls, sizes_max) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let standings = Standings::start_with(counting(calls, sizes_max));
        let (a, b) = tokio::join!(standings.of("gst_2"), standings.of("gst_2"));
        assert_eq!((a.unwrap(), b.unwrap()), (Some(standing(2)), Some(standing(2))));
    }

    #[tokio::test]
    async fn a_failed_read_fails_every_heartbeat_of_its_batch() {
        let lookup: Lookup =
            Arc::new(|_| Box::pin(async { Err(StoreError::Unavailable("down".into())) }));
        let standings = Standings::start_with(lookup);
        let (a, b) = tokio::join!(standings.of("gst_1"), standings.of("gst_2"));
        assert_eq!(
            (a, b),
            (
                Err(StoreError::Unavailable("down".into())),
                Err(StoreError::Unavailable("down".into()))
            )
        );
    }
}
