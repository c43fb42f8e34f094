//! Storage use an operator can see: the files each deployment's messages keep and their bytes
//! (`Store::attachment_usage`), for `porch attachments usage` and `/metrics`. Read at each
//! scrape: one grouped read over the attachment messages' index, so the figures are never
//! stale and each node reports its store's.

use std::fmt::Write;

use porch_core::store::AttachmentUsage;

use crate::state::AppState;

/// Which figure of a deployment's usage a gauge shows.
type Figure = fn(&AttachmentUsage) -> u64;

/// The gauges, one sample per deployment, in the Prometheus text format; nothing when the
/// store cannot answer (the scrape goes on without them, and the log says why).
pub async fn render(state: &AppState, out: &mut String) {
    let usage = match state.store.attachment_usage().await {
        Ok(usage) => usage,
        Err(e) => {
            tracing::warn!("metrics: could not read attachments' storage use: {e}");
            return;
        }
    };
    let gauges: [(&str, &str, Figure); 2] = [
        (
            "porch_attachments_stored_files",
            "Files kept by a deployment's messages (deleted ones not counted).",
            |u| u.files,
        ),
        (
            "porch_attachments_stored_bytes",
            "Bytes of the files kept by a deployment's messages.",
            |u| u.bytes,
        ),
    ];
    for (name, help, value) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for u in &usage {
            let _ = writeln!(out, "{name}{{deployment=\"{}\"}} {}", u.deployment_id, value(u));
        }
    }
}
