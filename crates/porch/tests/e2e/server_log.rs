//! The server's log, captured in memory, so a test can hold it to two promises of SECURITY.md:
//! no token or secret reaches a log line, and nothing panics.
//!
//! `TestServer` runs the server in this process, where nothing logs unless a subscriber is
//! installed. `capture` installs one (once per process; nextest runs one test per process, so
//! the buffer holds that test's server alone) at `debug` for every crate, which is more than
//! the binary's default `info`: a leak at any level an operator might turn on is a leak. A
//! panic hook writes panics into the same buffer, since a panicking task is logged by the
//! panic hook, not by `tracing`.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static INSTALLED: OnceLock<bool> = OnceLock::new();

struct Sink;

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts capturing (idempotent). Call before starting the server.
pub fn capture() {
    let installed = *INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_ansi(false)
            .with_writer(|| Sink)
            .finish();
        let ok = tracing::subscriber::set_global_default(subscriber).is_ok();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = writeln!(Sink, "PANIC panicked: {info}");
            previous(info);
        }));
        ok
    });
    assert!(
        installed,
        "another global tracing subscriber is installed: the server's log cannot be captured"
    );
    tracing::info!("server log capture on");
    assert!(text().contains("server log capture on"), "log capture does not reach the buffer");
}

/// Everything logged so far.
pub fn text() -> String {
    String::from_utf8_lossy(&LOG.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

/// Fails if a log line holds any of `secrets` (whole, or the signature part of a JWT: the
/// part that makes a token usable) or if anything panicked.
#[track_caller]
pub fn assert_clean(secrets: &[&str]) {
    let log = text();
    if let Some(line) = log.lines().find(|l| l.contains("panicked")) {
        panic!("the server panicked: {line}");
    }
    for secret in secrets {
        let signature = secret.rsplit('.').next().unwrap_or(secret);
        for needle in [*secret, signature] {
            // Short needles ("", one base64 character) would match anything.
            if needle.len() >= 16
                && let Some(line) = log.lines().find(|l| l.contains(needle))
            {
                panic!(
                    "a log line holds a token (or its signature): {:.200}",
                    line.replace(needle, "<SECRET>")
                );
            }
        }
    }
}
