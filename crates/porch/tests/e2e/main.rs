//! End-to-end tests of Porch through its public surfaces only: REST, the gateway and the CLI.
//! Each test starts its own server (`support::TestServer`) on a free port.

// Case tables are tuples on purpose: one line per case reads better than a struct per table.
#![allow(clippy::type_complexity)]

mod attachments;
mod attachments_crash;
mod attachments_previews;
mod attachments_retention;
mod backing_tls;
mod bad_input;
mod bots;
mod cli;
mod config_verbs;
mod conformance;
mod console_api;
mod conversation;
mod credentials;
mod customers;
mod delivery;
mod docs;
mod doctor;
mod erasure;
mod fallbacks;
mod floods;
mod gateway_rejections;
mod handover;
mod handshake_doc;
mod handshake_matrix;
mod identity;
mod lists;
mod metrics;
mod nats_keys;
mod notices;
mod offers;
mod openapi;
mod operations;
mod pg_starting;
mod pipelined;
mod proxy;
mod queue_position;
mod rate_spread;
mod raw;
mod refresh;
mod reopen;
mod routing;
mod schemathesis_found;
mod serve_process;
mod server_log;
mod static_assets;
mod store_scan;
mod supervisor;
mod supervisor_live;
mod support;
mod tls;
mod token_battery;
mod token_endpoint;
mod webhooks;
mod webhooks_backend;
mod widget_availability;
mod widget_checks;
