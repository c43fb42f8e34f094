//! Attachments' bytes as files in a directory (`BlobStore` for the single node): the data
//! directory's `attachments/`, beside SQLite's file.
//!
//! A blob is written to `ID.part`, synced, then linked to `ID.new` (a hard link, which fails
//! when the name exists: two uploads to one URL cannot both win) and the directory synced: a
//! reader sees a whole file or none. Settling renames `ID.new` to `ID`, so the sweep lists
//! `.part` and `.new` files only. A `.part` file belongs to an upload in progress in this
//! process, so at start every one left is from a crash and is removed.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use porch_core::blob::{BlobStore, BlobWriter, StaleBlob, taken};
use porch_core::store::{StoreError, StoreFuture};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

const PART: &str = ".part";
const NEW: &str = ".new";

/// The directory of blobs.
#[derive(Debug)]
pub struct DirBlobs {
    root: PathBuf,
}

impl DirBlobs {
    /// Opens (creating) `root` and removes the `.part` files a crash left.
    pub fn open(root: PathBuf) -> Result<DirBlobs, StoreError> {
        std::fs::create_dir_all(&root).map_err(|e| io_error(&root, "creating", &e))?;
        let entries = std::fs::read_dir(&root).map_err(|e| io_error(&root, "listing", &e))?;
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().ends_with(PART) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(DirBlobs { root })
    }

    fn path(&self, id: &str, suffix: &str) -> Result<PathBuf, StoreError> {
        // Ids are Porch's own (`att_` and base32), but a path is built from them: anything
        // else is refused rather than joined.
        let safe = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !safe {
            return Err(StoreError::Unavailable("an attachment id is not Porch's".into()));
        }
        Ok(self.root.join(format!("{id}{suffix}")))
    }

    /// `[ID, ID.new, ID.part]`: settled, complete, being written.
    fn names(&self, id: &str) -> Result<[PathBuf; 3], StoreError> {
        Ok([self.path(id, "")?, self.path(id, NEW)?, self.path(id, PART)?])
    }
}

fn io_error(path: &Path, doing: &str, e: &std::io::Error) -> StoreError {
    let text = format!("{doing} {}: {e}", path.display());
    match e.raw_os_error() {
        Some(28) => StoreError::Full(text), // ENOSPC
        _ => StoreError::Unavailable(text),
    }
}

fn modified_ms(meta: &std::fs::Metadata) -> i64 {
    let since = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    since.map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl BlobStore for DirBlobs {
    fn create(&self, id: &str) -> StoreFuture<'_, Box<dyn BlobWriter>> {
        let paths = self.names(id);
        let id = id.to_owned();
        Box::pin(async move {
            let [whole, new, part] = paths?;
            for done in [&whole, &new] {
                if tokio::fs::try_exists(done).await.unwrap_or(false) {
                    return Err(taken(&id));
                }
            }
            let file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&part).await;
            let file = match file {
                Ok(file) => file,
                Err(e) if e.kind() == ErrorKind::AlreadyExists => return Err(taken(&id)),
                Err(e) => return Err(io_error(&part, "creating", &e)),
            };
            let writer = DirWriter { file, part, new, id, done: false };
            Ok(Box::new(writer) as Box<dyn BlobWriter>)
        })
    }

    fn size(&self, id: &str) -> StoreFuture<'_, Option<u64>> {
        let paths = self.names(id);
        Box::pin(async move {
            let [whole, new, _] = paths?;
            for path in [whole, new] {
                match tokio::fs::metadata(&path).await {
                    Ok(meta) => return Ok(Some(meta.len())),
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(io_error(&path, "reading", &e)),
                }
            }
            Ok(None)
        })
    }

    fn read(&self, id: &str, offset: u64, len: usize) -> StoreFuture<'_, Vec<u8>> {
        let paths = self.names(id);
        Box::pin(async move {
            let [whole, new, _] = paths?;
            // Settled (`ID`) or not yet (`ID.new`). A settle is a rename, so it can land between
            // the first two opens (`ID` not yet there, `ID.new` no longer): then `ID` holds it.
            let mut file = match tokio::fs::File::open(&whole).await {
                Ok(file) => file,
                Err(_) => match tokio::fs::File::open(&new).await {
                    Ok(file) => file,
                    Err(e) if e.kind() == ErrorKind::NotFound => tokio::fs::File::open(&whole)
                        .await
                        .map_err(|e| io_error(&whole, "reading", &e))?,
                    Err(e) => return Err(io_error(&new, "reading", &e)),
                },
            };
            let failed = |e: std::io::Error| io_error(&whole, "reading", &e);
            file.seek(std::io::SeekFrom::Start(offset)).await.map_err(failed)?;
            let mut bytes = Vec::with_capacity(len);
            file.take(len as u64).read_to_end(&mut bytes).await.map_err(failed)?;
            Ok(bytes)
        })
    }

    fn settle(&self, id: &str) -> StoreFuture<'_, ()> {
        let paths = self.names(id);
        Box::pin(async move {
            let [whole, new, _] = paths?;
            match tokio::fs::rename(&new, &whole).await {
                Ok(()) => sync_dir(whole.parent().map(Path::to_path_buf)).await,
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io_error(&new, "settling", &e)),
            }
        })
    }

    fn delete(&self, id: &str) -> StoreFuture<'_, ()> {
        let paths = self.names(id);
        Box::pin(async move {
            // In the order a blob moves (`.part`, `.new`, settled), so a commit or a settle
            // racing this delete moves the file to a name still to be removed, never behind it.
            for path in paths?.into_iter().rev() {
                match tokio::fs::remove_file(&path).await {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(io_error(&path, "removing", &e)),
                }
            }
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
            let mut found = Vec::new();
            let mut entries = tokio::fs::read_dir(&self.root)
                .await
                .map_err(|e| io_error(&self.root, "listing", &e))?;
            while let Some(entry) = entries.next_entry().await.ok().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let Ok(meta) = entry.metadata().await else { continue };
                let (id, complete) = match (name.strip_suffix(PART), name.strip_suffix(NEW)) {
                    (Some(id), _) => (id.to_owned(), false),
                    (None, Some(id)) => (id.to_owned(), true),
                    // Settled: never the sweep's.
                    (None, None) => continue,
                };
                let cut = if complete { complete_before_ms } else { incomplete_before_ms };
                if modified_ms(&meta) < cut {
                    found.push(StaleBlob { id, complete });
                    if found.len() >= limit {
                        break;
                    }
                }
            }
            Ok(found)
        })
    }
}

/// One upload's `.part` file.
struct DirWriter {
    file: tokio::fs::File,
    part: PathBuf,
    new: PathBuf,
    id: String,
    done: bool,
}

impl BlobWriter for DirWriter {
    fn write<'a>(&'a mut self, chunk: &'a [u8]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.file.write_all(chunk).await.map_err(|e| io_error(&self.part, "writing", &e))
        })
    }

    fn commit(mut self: Box<Self>) -> StoreFuture<'static, ()> {
        Box::pin(async move {
            let part = self.part.clone();
            let failed = |e: std::io::Error| io_error(&part, "syncing", &e);
            self.file.flush().await.map_err(failed)?;
            self.file.sync_all().await.map_err(failed)?;
            let (from, to) = (self.part.clone(), self.new.clone());
            let linked = tokio::fs::hard_link(&from, &to).await;
            // Whatever happened, the `.part` name goes: the file lives on as `ID` or not at all.
            self.done = true;
            let _ = tokio::fs::remove_file(&from).await;
            match linked {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists => return Err(taken(&self.id)),
                Err(e) => return Err(io_error(&to, "linking", &e)),
            }
            sync_dir(to.parent().map(Path::to_path_buf)).await
        })
    }

    fn abort(mut self: Box<Self>) -> StoreFuture<'static, ()> {
        Box::pin(async move {
            self.done = true;
            let _ = tokio::fs::remove_file(&self.part).await;
            Ok(())
        })
    }
}

impl Drop for DirWriter {
    /// An upload cut off (its request dropped) leaves no `.part` file behind.
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.part);
        }
    }
}

/// The new name is durable only once the directory is synced.
async fn sync_dir(dir: Option<PathBuf>) -> Result<(), StoreError> {
    let Some(dir) = dir else { return Ok(()) };
    tokio::task::spawn_blocking(move || {
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error(&dir, "syncing", &e))
    })
    .await
    .map_err(|e| StoreError::Unavailable(format!("a sync task failed: {e}")))?
}
