//! The open-file limit (`RLIMIT_NOFILE`). Every WebSocket is a file descriptor, and a soft
//! limit of 1,024 (the default of many shells and of systemd's services) would cap a server at
//! a thousand guests whatever `connections_max` says. So `porch serve` raises its soft limit
//! to the hard one (an unprivileged process may), and `connections_max`, unless configured,
//! follows what it then has (`limits::connections_max_for_open_files`).

use porch_core::limits::{CONNECTIONS_MAX, connections_max_for_open_files};
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// The soft limit before and after raising it, and the hard limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFiles {
    pub soft_before: u64,
    pub soft: u64,
    pub hard: u64,
}

/// Where `connections_max` came from, for the start line.
#[derive(Debug)]
pub enum ConnectionsSource {
    /// A flag, variable or the file set it.
    Configured,
    /// Derived from the open-file limit.
    OpenFiles(OpenFiles),
    /// The limit could not be read or raised: the built-in default, and why.
    Default(String),
}

/// Raises the soft limit to the hard one (to the kernel's `nr_open` when the hard one is
/// unlimited, since no process may open more).
pub fn raise() -> std::io::Result<OpenFiles> {
    let before = getrlimit(Resource::Nofile);
    let hard = before.maximum.unwrap_or(u64::MAX);
    let soft_before = before.current.unwrap_or(u64::MAX);
    let target = if before.maximum.is_none() { nr_open() } else { hard };
    if soft_before < target {
        let raised = Rlimit { current: Some(target), maximum: before.maximum };
        setrlimit(Resource::Nofile, raised)?;
    }
    let after = getrlimit(Resource::Nofile);
    Ok(OpenFiles {
        soft_before,
        soft: after.current.unwrap_or(u64::MAX),
        hard: after.maximum.unwrap_or(u64::MAX),
    })
}

/// `connections_max` unless configured: derived from the (raised) soft limit.
pub fn connections_max(configured: Option<usize>) -> (usize, ConnectionsSource) {
    if let Some(n) = configured {
        return (n, ConnectionsSource::Configured);
    }
    match raise() {
        Ok(files) => {
            let n = connections_max_for_open_files(files.soft);
            (usize::try_from(n).unwrap_or(usize::MAX), ConnectionsSource::OpenFiles(files))
        }
        Err(e) => (CONNECTIONS_MAX, ConnectionsSource::Default(e.to_string())),
    }
}

impl std::fmt::Display for ConnectionsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectionsSource::Configured => write!(f, "as configured"),
            ConnectionsSource::OpenFiles(o) if o.soft_before < o.soft => write!(
                f,
                "from the open-file limit {} (raised from {} to the hard limit)",
                o.soft, o.soft_before
            ),
            ConnectionsSource::OpenFiles(o) => write!(f, "from the open-file limit {}", o.soft),
            ConnectionsSource::Default(why) => {
                write!(f, "the default: the open-file limit could not be read ({why})")
            }
        }
    }
}

/// The kernel's ceiling on any process's open files (`fs.nr_open`; 1,048,576 by default).
fn nr_open() -> u64 {
    std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1 << 20)
}
