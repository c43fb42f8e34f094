//! Rate limits and per-key connection counts: the server's defence against floods.
//!
//! - `Bucket`: one token bucket (pure: time is passed in, so tests need no clock).
//! - `RateLimiter`: a bucket per key (an IP address, a guest, a client id), bounded in keys.
//! - `ConnectionCounter`: open connections per key, released by dropping a `Slot`.
//! - `Throttles`: every limiter the server uses, built from `Limits`.
//!
//! Every map here is bounded (`THROTTLE_KEYS_MAX`). A bucket that has refilled completely holds no
//! information (a new key would start the same), so it is swept when the map is full; if the
//! map is still full, the new key is let through untracked and counted in the metrics rather
//! than refused: an attacker with that many addresses is not stopped by per-key limits
//! anyway, and refusing would lock out legitimate users instead.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use porch_core::limits::{
    Limits, RATE_LIMIT_PROMISE_MS_MAX, THROTTLE_KEYS_MAX, THROTTLE_SWEEP_INTERVAL_MS,
};

/// What a limit counts. An IPv6 client is counted by its /64: one subscriber gets a whole
/// /64 and can use any address in it, so per-address limits keyed on the full address would
/// not limit anyone.
pub trait LimitKey: Hash + Eq + Clone {
    /// The key this one is counted under, when that is another one. `None` (the key itself)
    /// spares a clone on the per-message path: a key is cloned only when it is first tracked.
    fn counted(&self) -> Option<Self> {
        None
    }
}

impl LimitKey for String {}
impl LimitKey for &str {}

impl LimitKey for IpAddr {
    fn counted(&self) -> Option<Self> {
        match self {
            IpAddr::V4(_) => None,
            IpAddr::V6(v6) => {
                Some(IpAddr::V6(std::net::Ipv6Addr::from(u128::from(*v6) & !((1u128 << 64) - 1))))
            }
        }
    }
}

/// Units in one token. A rate of `per_min` tokens per minute adds exactly `per_min` units per
/// millisecond, so refilling is exact integer arithmetic at any rate and any polling interval
/// (with coarser units, a client polling every few ms would see every refill round to zero).
const UNITS_PER_TOKEN: u64 = 60_000;

/// A token bucket: `burst` tokens, refilled at `per_min`.
///
/// A refusal says when a token will be there for that sender: the first refusal after the
/// bucket ran dry waits for the next token, the second for the one after it, and so on
/// (`promised_until_ms`), so the retries of a refused burst arrive one token apart instead of
/// all at once, where every one but the first would be refused again (46,000 refusals for
/// 5,000 messages from 50 guests, issue 25). The promise is advice: a token is taken by
/// whoever asks first once it is there.
#[derive(Clone, Copy, Debug)]
pub struct Bucket {
    units: u64,
    last_ms: u64,
    /// When the token promised to the latest refusal arrives (0: none promised).
    promised_until_ms: u64,
}

/// How a limiter's buckets fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Tokens added per minute (per minute, not second, so "10 per minute" is exact).
    pub per_min: u64,
    /// Most tokens a bucket holds: the largest burst allowed after a quiet spell.
    pub burst: u64,
}

impl Rate {
    pub fn per_sec(per_sec: u64, burst: u64) -> Rate {
        Rate { per_min: per_sec.saturating_mul(60), burst }
    }

    fn capacity_units(self) -> u64 {
        self.burst.saturating_mul(UNITS_PER_TOKEN)
    }
}

impl Bucket {
    pub fn full(rate: Rate, now_ms: u64) -> Bucket {
        Bucket { units: rate.capacity_units(), last_ms: now_ms, promised_until_ms: 0 }
    }

    fn refill(&mut self, rate: Rate, now_ms: u64) {
        let elapsed_ms = now_ms.saturating_sub(self.last_ms);
        let added = rate.per_min.saturating_mul(elapsed_ms);
        self.units = self.units.saturating_add(added).min(rate.capacity_units());
        self.last_ms = now_ms;
    }

    /// Takes one token, or says how many milliseconds until one is there for this caller.
    pub fn take(&mut self, rate: Rate, now_ms: u64) -> Result<(), u64> {
        self.refill(rate, now_ms);
        if self.units >= UNITS_PER_TOKEN {
            self.units -= UNITS_PER_TOKEN;
            return Ok(());
        }
        Err(self.promise(rate, now_ms))
    }

    /// Whether a token is there, without taking it.
    pub fn check(&mut self, rate: Rate, now_ms: u64) -> Result<(), u64> {
        self.refill(rate, now_ms);
        if self.units >= UNITS_PER_TOKEN { Ok(()) } else { Err(self.promise(rate, now_ms)) }
    }

    /// A refused caller's wait: until the next token not promised to an earlier refusal, at
    /// most `RATE_LIMIT_PROMISE_MS_MAX` ahead (past it, refusals share that last slot: a
    /// sender that ignores its waits cannot push every other one out further).
    fn promise(&mut self, rate: Rate, now_ms: u64) -> u64 {
        if rate.per_min == 0 {
            return u64::MAX;
        }
        let next_token_ms = now_ms + (UNITS_PER_TOKEN - self.units).div_ceil(rate.per_min);
        let after_promised_ms = self.promised_until_ms + UNITS_PER_TOKEN.div_ceil(rate.per_min);
        let slot_ms = next_token_ms.max(after_promised_ms).min(now_ms + RATE_LIMIT_PROMISE_MS_MAX);
        self.promised_until_ms = slot_ms;
        slot_ms - now_ms
    }

    fn is_full(&self, rate: Rate) -> bool {
        self.units >= rate.capacity_units()
    }
}

/// A refusal by a limiter: how long to wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limited {
    pub retry_after_ms: u64,
}

impl Limited {
    /// `Retry-After` is in whole seconds (RFC 9110 §10.2.3); never 0, which reads as "now".
    pub fn retry_after_secs(self) -> u64 {
        self.retry_after_ms.div_ceil(1000).max(1)
    }
}

/// A token bucket per key.
pub struct RateLimiter<K> {
    rate: Rate,
    buckets: Mutex<Buckets<K>>,
    epoch: Instant,
}

struct Buckets<K> {
    by_key: HashMap<K, Bucket>,
    last_sweep_ms: Option<u64>,
}

impl<K: LimitKey> RateLimiter<K> {
    pub fn new(rate: Rate) -> RateLimiter<K> {
        RateLimiter {
            rate,
            buckets: Mutex::new(Buckets { by_key: HashMap::new(), last_sweep_ms: None }),
            epoch: Instant::now(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Takes a token from `key`'s bucket.
    pub fn take(&self, key: &K) -> Result<(), Limited> {
        self.with_bucket(key, |bucket, rate, now_ms| bucket.take(rate, now_ms))
    }

    /// Refuses if `key`'s bucket is empty, without taking a token: for limits on failures,
    /// which are checked before the attempt and charged (`take`) only when it fails.
    pub fn check(&self, key: &K) -> Result<(), Limited> {
        self.with_bucket(key, |bucket, rate, now_ms| bucket.check(rate, now_ms))
    }

    fn with_bucket(
        &self,
        key: &K,
        f: impl FnOnce(&mut Bucket, Rate, u64) -> Result<(), u64>,
    ) -> Result<(), Limited> {
        let now_ms = self.now_ms();
        let counted = key.counted();
        let key = counted.as_ref().unwrap_or(key);
        let mut guard = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let buckets = &mut *guard;
        if let Some(bucket) = buckets.by_key.get_mut(key) {
            return f(bucket, self.rate, now_ms)
                .map_err(|retry_after_ms| Limited { retry_after_ms });
        }
        if buckets.by_key.len() >= THROTTLE_KEYS_MAX {
            let swept_lately = buckets
                .last_sweep_ms
                .is_some_and(|at| now_ms.saturating_sub(at) < THROTTLE_SWEEP_INTERVAL_MS);
            if !swept_lately {
                let rate = self.rate;
                buckets.by_key.retain(|_, b| {
                    b.refill(rate, now_ms);
                    !b.is_full(rate)
                });
                buckets.last_sweep_ms = Some(now_ms);
            }
            if buckets.by_key.len() >= THROTTLE_KEYS_MAX {
                crate::metrics::METRICS.throttle_untracked();
                return Ok(());
            }
        }
        let bucket =
            buckets.by_key.entry(key.clone()).or_insert_with(|| Bucket::full(self.rate, now_ms));
        f(bucket, self.rate, now_ms).map_err(|retry_after_ms| Limited { retry_after_ms })
    }
}

/// Open connections per key, with a ceiling. A `Slot` holds one until it is dropped.
pub struct ConnectionCounter<K: Hash + Eq> {
    max: usize,
    open: Mutex<HashMap<K, usize>>,
}

/// One counted connection; dropping it releases the count.
pub struct Slot<K: Hash + Eq> {
    counter: Arc<ConnectionCounter<K>>,
    key: Option<K>,
}

impl<K: LimitKey> ConnectionCounter<K> {
    pub fn new(max: usize) -> Arc<ConnectionCounter<K>> {
        Arc::new(ConnectionCounter { max, open: Mutex::new(HashMap::new()) })
    }

    /// Counts a connection for `key`, or refuses (`None`) if `key` is at the ceiling.
    pub fn acquire(self: &Arc<Self>, key: K) -> Option<Slot<K>> {
        let key = key.counted().unwrap_or(key);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if !open.contains_key(&key) && open.len() >= THROTTLE_KEYS_MAX {
            // Every tracked key has a live connection; see the module comment.
            crate::metrics::METRICS.throttle_untracked();
            return Some(Slot { counter: self.clone(), key: None });
        }
        let count = open.entry(key.clone()).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Slot { counter: self.clone(), key: Some(key) })
    }

    /// Open connections of `key`.
    pub fn count(&self, key: &K) -> usize {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key.counted().as_ref().unwrap_or(key))
            .copied()
            .unwrap_or(0)
    }
}

impl<K: Hash + Eq> ConnectionCounter<K> {
    fn release(&self, key: &K) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.get_mut(key).expect("a slot's key is counted until the slot drops");
        *count -= 1;
        if *count == 0 {
            open.remove(key);
        }
    }
}

impl<K: Hash + Eq> Drop for Slot<K> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.counter.release(&key);
        }
    }
}

/// Every limiter of the server, built once from the limits.
pub struct Throttles {
    /// WebSocket handshakes per client address.
    pub handshakes_per_ip: RateLimiter<IpAddr>,
    /// Failed sign-ins (token endpoint, introspection, agent login) per client address...
    pub auth_failures_per_ip: RateLimiter<IpAddr>,
    /// ...and per account (client id or agent name), so spreading over addresses is no help.
    pub auth_failures_per_account: RateLimiter<String>,
    /// Guest sessions the public widget endpoint creates per client address.
    pub widget_sessions_per_ip: RateLimiter<IpAddr>,
    /// Widget reads per client address.
    pub widget_reads_per_ip: RateLimiter<IpAddr>,
    /// Notices set or cleared per deployment.
    pub notices_per_deployment: RateLimiter<String>,
    /// Messages per guest, over the gateway and REST together.
    pub guest_messages: RateLimiter<String>,
    /// Open TCP connections per peer address (not counted for trusted proxies).
    pub connections_per_ip: Arc<ConnectionCounter<IpAddr>>,
    /// Open gateway sessions per guest.
    pub connections_per_guest: Arc<ConnectionCounter<String>>,
}

impl Throttles {
    pub fn new(limits: &Limits) -> Throttles {
        Throttles {
            handshakes_per_ip: RateLimiter::new(Rate::per_sec(
                limits.handshakes_per_ip_per_sec,
                limits.handshakes_per_ip_burst,
            )),
            auth_failures_per_ip: RateLimiter::new(per_min(limits.auth_failures_per_ip_per_min)),
            auth_failures_per_account: RateLimiter::new(per_min(
                limits.auth_failures_per_account_per_min,
            )),
            widget_sessions_per_ip: RateLimiter::new(per_min(
                limits.widget_sessions_per_ip_per_min,
            )),
            widget_reads_per_ip: RateLimiter::new(per_min(limits.widget_reads_per_ip_per_min)),
            notices_per_deployment: RateLimiter::new(per_min(
                limits.notices_per_deployment_per_min,
            )),
            guest_messages: RateLimiter::new(Rate::per_sec(
                limits.guest_messages_per_sec,
                limits.guest_messages_burst,
            )),
            connections_per_ip: ConnectionCounter::new(limits.connections_per_ip_max),
            connections_per_guest: ConnectionCounter::new(limits.connections_per_guest_max),
        }
    }
}

/// "N per minute", with a burst of N: a fresh key may use its whole minute at once.
fn per_min(n: u64) -> Rate {
    Rate { per_min: n, burst: n }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let rate = Rate::per_sec(2, 3);
        let mut b = Bucket::full(rate, 0);
        assert!((0..3).all(|_| b.take(rate, 0).is_ok()));
        assert_eq!(b.take(rate, 0), Err(500), "one token every 500 ms");
        assert_eq!(b.take(rate, 499), Err(501), "the token at 500 ms is the first refusal's");
        assert_eq!(b.take(rate, 500), Ok(()));
        // A long quiet spell refills to the burst, not beyond.
        assert!((0..3).all(|_| b.take(rate, 100_000).is_ok()));
        assert!(b.take(rate, 100_000).is_err());
    }

    #[test]
    fn refusals_of_one_burst_are_told_successive_tokens() {
        let rate = Rate::per_sec(10, 3);
        let mut b = Bucket::full(rate, 0);
        assert!((0..3).all(|_| b.take(rate, 0).is_ok()));
        let waits: Vec<u64> = (0..5).map(|_| b.take(rate, 0).unwrap_err()).collect();
        assert_eq!(waits, [100, 200, 300, 400, 500], "one token apart, not all at 100 ms");
        // Each retry at its time finds its token.
        for wait in [100, 200, 300, 400, 500] {
            assert_eq!(b.take(rate, wait), Ok(()), "the retry told {wait} ms");
        }
        // Once every promise is due, a refusal waits only for the next token again.
        assert_eq!(b.take(rate, 520), Err(80));
        assert_eq!(b.check(rate, 530), Err(170), "a check is told the token after that");
    }

    #[test]
    fn promises_reach_no_further_than_their_horizon() {
        let rate = per_min(10);
        let mut b = Bucket::full(rate, 0);
        assert!((0..10).all(|_| b.take(rate, 0).is_ok()));
        let waits: Vec<u64> = (0..20).map(|_| b.take(rate, 0).unwrap_err()).collect();
        assert_eq!(waits[..3], [6_000, 12_000, 18_000]);
        assert!(waits.iter().all(|w| *w <= RATE_LIMIT_PROMISE_MS_MAX), "{waits:?}");
        assert_eq!(waits[19], RATE_LIMIT_PROMISE_MS_MAX, "a flood shares the last slot");
    }

    #[test]
    fn per_minute_rates_refill_exactly() {
        let rate = per_min(10);
        let mut b = Bucket::full(rate, 0);
        assert!((0..10).all(|_| b.take(rate, 0).is_ok()));
        assert_eq!(b.check(rate, 5_999), Err(1));
        assert_eq!(b.check(rate, 6_000), Ok(()));
        assert_eq!(b.take(rate, 6_000), Ok(()));
        assert_eq!(b.take(rate, 6_000), Err(6_000), "10 per minute is one per 6 s");
    }

    #[test]
    fn frequent_polling_still_refills() {
        let rate = per_min(10);
        let mut b = Bucket::full(rate, 0);
        assert!((0..10).all(|_| b.take(rate, 0).is_ok()));
        // Polled every 5 ms, a slow bucket must still fill: no refill may round to nothing.
        let first_ok = (1..=2_000).map(|i| i * 5).find(|&t| b.check(rate, t).is_ok());
        assert_eq!(first_ok, Some(6_000));
        assert_eq!(b.check(rate, 6_000), Ok(()), "check takes nothing");
    }

    #[test]
    fn a_zero_rate_refuses_forever() {
        let rate = Rate { per_min: 0, burst: 0 };
        assert_eq!(Bucket::full(rate, 0).take(rate, 1_000_000), Err(u64::MAX));
        assert_eq!(Limited { retry_after_ms: 1 }.retry_after_secs(), 1);
        assert_eq!(Limited { retry_after_ms: 1_001 }.retry_after_secs(), 2);
    }

    #[test]
    fn keys_are_limited_separately() {
        let limiter = RateLimiter::new(Rate::per_sec(1, 1));
        assert!(limiter.take(&"a").is_ok());
        assert!(limiter.take(&"a").is_err());
        assert!(limiter.take(&"b").is_ok());
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let limiter = RateLimiter::new(Rate::per_sec(1, 1));
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(limiter.take(&one).is_ok());
        assert!(
            limiter.take(&same_64).is_err(),
            "another address of the same /64 shares the bucket"
        );
        assert!(limiter.take(&other_64).is_ok());
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(v4.counted(), None, "an IPv4 address is counted as itself");
    }

    #[test]
    fn a_full_table_lets_new_keys_pass_and_sweeps_at_most_once_a_second() {
        // One token a minute: filling the table takes seconds on a loaded machine, and a
        // bucket that refilled meanwhile would be swept and spoil the premise.
        let limiter = RateLimiter::new(per_min(1));
        for i in 0..THROTTLE_KEYS_MAX {
            limiter.take(&i.to_string()).unwrap();
        }
        // Every bucket is empty (just used): nothing to sweep, so a new key passes untracked,
        // and again and again, without being tracked or refused.
        for i in 0..3 {
            assert!(limiter.take(&format!("new-{i}")).is_ok());
            assert!(limiter.take(&format!("new-{i}")).is_ok(), "untracked keys are not limited");
        }
        let guard = limiter.buckets.lock().unwrap();
        assert_eq!(guard.by_key.len(), THROTTLE_KEYS_MAX);
        assert!(guard.last_sweep_ms.is_some());
    }

    #[test]
    fn counters_cap_each_key_and_release_on_drop() {
        let counter = ConnectionCounter::new(2);
        let a1 = counter.acquire("a").unwrap();
        let _a2 = counter.acquire("a").unwrap();
        assert!(counter.acquire("a").is_none());
        assert!(counter.acquire("b").is_some());
        drop(a1);
        assert_eq!(counter.count(&"a"), 1);
        assert!(counter.acquire("a").is_some());
        assert_eq!(counter.count(&"b"), 0, "b's slot was dropped at once");
    }
}
