//! The read connections: a small pool of `query_only` connections, and the two ways a read
//! runs on one (`read`, `read_short`; see `reads` for which read takes which).
//!
//! In WAL mode readers never wait for the writer and see the last committed state, so reads
//! scale with connections while all writes stay on the one writer thread.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use porch_core::store::StoreError;
use rusqlite::Connection;

use super::Synchronous;
use super::schema::{self, Role};

/// Idle read connections. A caller finding none waits on `returned`; the pool is small and
/// reads are short, so the wait is short too.
pub(crate) struct ReaderPool {
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
    /// Connections opened, idle or not.
    size: usize,
}

impl ReaderPool {
    pub(crate) fn open(
        path: &Path,
        synchronous: Synchronous,
        connections: usize,
    ) -> Result<Arc<ReaderPool>, StoreError> {
        let idle = (0..connections.max(1))
            .map(|_| schema::open_connection(path, synchronous, Role::Reader))
            .collect::<Result<Vec<_>, _>>()?;
        let size = idle.len();
        Ok(Arc::new(ReaderPool { idle: Mutex::new(idle), returned: Condvar::new(), size }))
    }

    /// (connections, of which in use now), for `/metrics`; takes the pool's lock for a moment.
    pub(crate) fn use_now(&self) -> (usize, usize) {
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).len();
        (self.size, self.size.saturating_sub(idle))
    }

    /// An idle connection, if there is one right now; never waits.
    fn try_lease(&self) -> Option<Lease<'_>> {
        let conn = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop()?;
        Some(Lease { pool: self, conn: Some(conn) })
    }

    /// Runs `read` on an idle connection, waiting for one if all are busy. Blocking: call from
    /// `spawn_blocking`.
    fn with<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        // A panic elsewhere while holding the lock leaves the Vec intact; keep serving.
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let conn = loop {
            match idle.pop() {
                Some(conn) => break conn,
                None => idle = self.returned.wait(idle).unwrap_or_else(PoisonError::into_inner),
            }
        };
        drop(idle);
        let lease = Lease { pool: self, conn: Some(conn) };
        read(lease.conn())
    }
}

/// Puts a connection back even if the read panics, so a bug cannot drain the pool.
struct Lease<'a> {
    pool: &'a ReaderPool,
    conn: Option<Connection>,
}

impl Lease<'_> {
    fn conn(&self) -> &Connection {
        self.conn.as_ref().expect("a lease holds its connection until dropped")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.idle.lock().unwrap_or_else(PoisonError::into_inner).push(conn);
            self.pool.returned.notify_one();
        }
    }
}

/// Runs a read on the blocking pool.
pub(crate) async fn read<T: Send + 'static>(
    pool: &Arc<ReaderPool>,
    read: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let pool = Arc::clone(pool);
    tokio::task::spawn_blocking(move || pool.with(read))
        .await
        .map_err(|e| StoreError::Unavailable(format!("a read task failed: {e}")))?
}

/// Runs a read bounded by an index (see the module comment) on this thread if a connection
/// is idle, else on the blocking pool.
pub(crate) async fn read_short<T: Send + 'static>(
    pool: &Arc<ReaderPool>,
    read: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    if let Some(lease) = pool.try_lease() {
        return read(lease.conn());
    }
    self::read(pool, read).await
}
