//! A Rust client of Porch: the REST APIs (`api`) and the WebSocket gateway (`gateway`).
//!
//! It speaks the contract in `porch-wire` and nothing else, exactly as a third-party client
//! would, so tests written with it test the wire, not the server's internals.

pub mod api;
pub mod gateway;

pub use api::{Api, ApiError};
pub use gateway::{Event, Gateway};
