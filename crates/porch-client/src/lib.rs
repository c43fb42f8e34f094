//! A Rust client of Porch: the REST APIs (`api`) and the WebSocket gateway (`gateway`), over
//! plain HTTP or TLS (`tls`: https:// and wss://, one rustls configuration for both).
//!
//! It speaks the contract in `porch-wire` and nothing else, exactly as a third-party client
//! would, so tests written with it test the wire, not the server's internals.

pub mod api;
pub mod bot;
pub mod gateway;
pub mod tls;

pub use api::{Api, ApiError};
pub use gateway::{Event, Gateway};
pub use tls::{Tls, TlsProblem};
