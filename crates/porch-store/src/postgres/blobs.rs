//! Attachments' bytes in PostgreSQL (`BlobStore` for a cluster): a row per blob and its bytes
//! in chunk rows (migration 13 says why not large objects). Every write is one statement on
//! the pool, outside any transaction, so an upload holds no lock between its round trips; a
//! blob is invisible to readers until `complete` is set.

use porch_core::blob::{BlobStore, BlobWriter, StaleBlob, taken};
use porch_core::limits::ATTACHMENT_CHUNK_BYTES;
use porch_core::store::{StoreError, StoreFuture};

use super::pool::Db;
use super::rows::{Context, describe, violates};

/// Blobs on the store's pool.
#[derive(Clone)]
pub(crate) struct PgBlobs {
    pub(crate) db: Db,
}

impl std::fmt::Debug for PgBlobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBlobs").finish_non_exhaustive()
    }
}

fn at(bytes: u64) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}

impl BlobStore for PgBlobs {
    fn create(&self, id: &str) -> StoreFuture<'_, Box<dyn BlobWriter>> {
        let id = id.to_owned();
        Box::pin(async move {
            let client = self.db.client().await?;
            let doing = format!("starting attachment {id}");
            let now = porch_core::time::now_ms();
            let inserted = client
                .execute(
                    "INSERT INTO attachment_blobs (id, written_bytes, complete, touched_at_ms) \
                     VALUES ($1, 0, false, $2)",
                    &[&id, &now],
                )
                .await;
            match inserted {
                Ok(_) => {}
                Err(e) if violates(&e, "attachment_blobs_pkey") => return Err(taken(&id)),
                Err(e) => {
                    return Err(StoreError::Unavailable(format!("{doing}: {}", describe(&e))));
                }
            }
            let writer = PgWriter {
                db: self.db.clone(),
                id,
                buffer: Vec::with_capacity(ATTACHMENT_CHUNK_BYTES),
                written: 0,
            };
            Ok(Box::new(writer) as Box<dyn BlobWriter>)
        })
    }

    fn size(&self, id: &str) -> StoreFuture<'_, Option<u64>> {
        let id = id.to_owned();
        Box::pin(async move {
            let client = self.db.client().await?;
            let row = client
                .query_opt(
                    "SELECT written_bytes FROM attachment_blobs WHERE id = $1 AND complete",
                    &[&id],
                )
                .await
                .context(&format!("reading attachment {id}"))?;
            Ok(row.map(|r| u64::try_from(r.get::<_, i64>(0)).unwrap_or(0)))
        })
    }

    fn read(&self, id: &str, offset: u64, len: usize) -> StoreFuture<'_, Vec<u8>> {
        let id = id.to_owned();
        Box::pin(async move {
            let client = self.db.client().await?;
            let (start, end) = (at(offset), at(offset.saturating_add(len as u64)));
            // The chunks that overlap [start, end), of a complete blob only.
            let rows = client
                .query(
                    "SELECT c.offset_bytes, c.data FROM attachment_chunks c \
                     JOIN attachment_blobs b ON b.id = c.blob_id AND b.complete \
                     WHERE c.blob_id = $1 AND c.offset_bytes < $3 \
                       AND c.offset_bytes + length(c.data) > $2 \
                     ORDER BY c.offset_bytes",
                    &[&id, &start, &end],
                )
                .await
                .context(&format!("reading attachment {id}"))?;
            let mut bytes = Vec::with_capacity(len);
            for row in rows {
                let chunk_at: i64 = row.get(0);
                let data: &[u8] = row.get(1);
                let from = usize::try_from(start.saturating_sub(chunk_at)).unwrap_or(0);
                let to = usize::try_from(end - chunk_at).unwrap_or(usize::MAX).min(data.len());
                bytes.extend_from_slice(&data[from.min(to)..to]);
            }
            Ok(bytes)
        })
    }

    fn settle(&self, id: &str) -> StoreFuture<'_, ()> {
        let id = id.to_owned();
        Box::pin(async move {
            let client = self.db.client().await?;
            client
                .execute(
                    "UPDATE attachment_blobs SET settled = true WHERE id = $1 AND complete",
                    &[&id],
                )
                .await
                .context(&format!("settling attachment {id}"))?;
            Ok(())
        })
    }

    fn delete(&self, id: &str) -> StoreFuture<'_, ()> {
        let id = id.to_owned();
        Box::pin(async move {
            let client = self.db.client().await?;
            client
                .execute("DELETE FROM attachment_blobs WHERE id = $1", &[&id])
                .await
                .context(&format!("removing attachment {id}"))?;
            Ok(())
        })
    }

    fn stale(
        &self,
        incomplete_before_ms: i64,
        complete_before_ms: i64,
        limit: usize,
    ) -> StoreFuture<'_, Vec<StaleBlob>> {
        Box::pin(async move {
            let client = self.db.client().await?;
            let rows = client
                .query(
                    "SELECT id, complete FROM attachment_blobs \
                     WHERE NOT settled \
                       AND ((NOT complete AND touched_at_ms < $1) OR (complete AND touched_at_ms < $2)) \
                     LIMIT $3",
                    &[&incomplete_before_ms, &complete_before_ms, &at(limit as u64)],
                )
                .await
                .context("listing stale attachments")?;
            Ok(rows.iter().map(|r| StaleBlob { id: r.get(0), complete: r.get(1) }).collect())
        })
    }
}

/// One upload: bytes gather into a chunk, and each full chunk is one insert.
struct PgWriter {
    db: Db,
    id: String,
    buffer: Vec<u8>,
    written: u64,
}

impl PgWriter {
    /// Stores the buffered bytes as the next chunk row and touches the blob (the sweep takes
    /// an upload nobody has touched for long as abandoned).
    async fn flush(&mut self) -> Result<(), StoreError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let client = self.db.client().await?;
        let now = porch_core::time::now_ms();
        let end = at(self.written + self.buffer.len() as u64);
        let stored = client
            .execute(
                "WITH chunk AS ( \
                     INSERT INTO attachment_chunks (blob_id, offset_bytes, data) VALUES ($1, $2, $3) \
                 ) UPDATE attachment_blobs SET written_bytes = $4, touched_at_ms = $5 \
                   WHERE id = $1 AND NOT complete",
                &[&self.id, &at(self.written), &self.buffer.as_slice(), &end, &now],
            )
            .await
            .context(&format!("writing attachment {}", self.id))?;
        if stored == 0 {
            // The sweep took it (abandoned for too long) or another upload completed it.
            return Err(taken(&self.id));
        }
        self.written += self.buffer.len() as u64;
        self.buffer.clear();
        Ok(())
    }
}

impl BlobWriter for PgWriter {
    fn write<'a>(&'a mut self, chunk: &'a [u8]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut rest = chunk;
            while !rest.is_empty() {
                let room = ATTACHMENT_CHUNK_BYTES - self.buffer.len();
                let (now, later) = rest.split_at(room.min(rest.len()));
                self.buffer.extend_from_slice(now);
                rest = later;
                if self.buffer.len() == ATTACHMENT_CHUNK_BYTES {
                    self.flush().await?;
                }
            }
            Ok(())
        })
    }

    fn commit(mut self: Box<Self>) -> StoreFuture<'static, ()> {
        Box::pin(async move {
            self.flush().await?;
            let client = self.db.client().await?;
            let now = porch_core::time::now_ms();
            let done = client
                .execute(
                    "UPDATE attachment_blobs SET complete = true, touched_at_ms = $2 \
                     WHERE id = $1 AND NOT complete",
                    &[&self.id, &now],
                )
                .await
                .context(&format!("completing attachment {}", self.id))?;
            if done == 0 { Err(taken(&self.id)) } else { Ok(()) }
        })
    }

    fn abort(self: Box<Self>) -> StoreFuture<'static, ()> {
        Box::pin(async move {
            let client = self.db.client().await?;
            client
                .execute("DELETE FROM attachment_blobs WHERE id = $1 AND NOT complete", &[&self.id])
                .await
                .context(&format!("removing attachment {}", self.id))?;
            Ok(())
        })
    }
}
