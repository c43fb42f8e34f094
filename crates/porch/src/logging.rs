//! The server's log: text for people, or one JSON object per line for log collectors
//! (`--log-format json`). Both go to stderr; colour only when stderr is a terminal, so a file,
//! journald or a container runtime never receives ANSI escape codes.

use std::io::IsTerminal;

use serde::{Deserialize, Serialize};

/// `log_format`: how each log line is written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One line of text per event (colour on a terminal).
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields` (with `message`).
    Json,
}

/// Installs the process's subscriber: level from `PORCH_LOG` (default `info`).
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PORCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(colour_wanted()).init(),
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
}

/// Colour only for a person at a terminal who did not ask for none (https://no-color.org).
fn colour_wanted() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
