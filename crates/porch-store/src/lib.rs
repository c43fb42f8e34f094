//! Porch's stores: the `porch_core::store::Store` trait on SQLite (`sqlite`, the embedded
//! default: one file, one node) and on PostgreSQL (`postgres`, several nodes on one database).
//!
//! The two backends have the same layout, file for file: `mod.rs` (the store and its `Store`
//! impl), `pool.rs` (connections), `schema.rs` (tables and migrations), `rows.rs` (the backend's
//! side of row mapping and errors), `reads.rs`, `writes.rs` (records) and `log.rs` (appends and
//! read markers). What only one engine needs has its own file: SQLite's writer thread
//! (`writer.rs`) and checkpointer (`checkpointer.rs`), PostgreSQL's per-conversation turns
//! (`turns.rs`). Column lists and the mapping from a row to a record are shared (`rows`): both
//! backends read the same columns in the same order. Attachments' bytes (`BlobStore`) live in
//! the data directory beside SQLite's file (`dir_blobs`) and in the database on PostgreSQL
//! (`postgres/blobs.rs`), where every node reads them.

mod dir_blobs;
mod fallback_sql;
pub mod postgres;
mod rows;
pub mod sqlite;

pub use crate::postgres::{PostgresOptions, PostgresStore};
pub use crate::sqlite::{SqliteOptions, SqliteStore, Synchronous};
