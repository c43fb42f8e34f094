//! The domain of Porch, without IO.
//!
//! # Layout
//! - `ids`: prefixed random identifiers (`gst_…`, `cnv_…`) and secrets.
//! - `time`: the wall clock in milliseconds and RFC 3339 rendering for messages to people.
//! - `limits`: every limit of the system, with its default, unit and reason.
//! - `token`: the JWT codec and the one verifier every entry point uses.
//! - `identity`: identity tokens a builder's backend signs for a known customer, and their keys.
//! - `secret`: hashing and checking client and agent secrets.
//! - `canned`: canned replies (per deployment, `/shortcut` in the console) and their rules.
//! - `model`: records the store keeps (clients, deployments, agents, guests, keys).
//! - `offer`: the rules of offers (one live offer per conversation) and who gets the next.
//! - `preview`: the preview of a conversation's latest entry in agents' lists.
//! - `queue`: a waiting guest's place in its queue and its estimated wait.
//! - `store`: the `Store` trait, implemented by `porch-store`.
//! - `webhook`: outbound webhooks (Standard Webhooks): endpoints, outbox rows, signatures,
//!   the retry schedule, refused targets.
//!
//! Nothing here touches a socket, a file or a database, so everything here is tested with
//! plain unit tests and can be fuzzed.

// `limits!` expands one row per step (a tt-muncher): every limit is a row, so the table
// outgrew the default depth of 128.
#![recursion_limit = "256"]

pub mod attachment;
pub mod blob;
pub mod bot;
pub mod canned;
pub mod identity;
pub mod ids;
pub mod limits;
pub mod model;
pub mod offer;
pub mod preview;
pub mod queue;
pub mod sdk_wire;
pub mod secret;
pub mod store;
pub mod time;
pub mod token;
pub mod webhook;
