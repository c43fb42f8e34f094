//! A process group for everything a test starts (the `porch` nodes, PostgreSQL, NATS), led
//! by a watchdog shell that kills the whole group once the test process is gone (even by
//! SIGKILL, when no `Drop` runs) or its time bound has passed: nothing a test starts outlives
//! it, however it ends.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Every process the test starts joins this process group, led by a watchdog shell that kills
/// the whole group once the test process is gone (even by SIGKILL, when no `Drop` runs) or
/// `bound` has passed. Dropping it kills the group at once.
pub struct Group {
    pub id: i32,
    watchdog: Child,
}

impl Group {
    #[allow(dead_code)] // Used by the nemesis, not by the crash test that shares this file.
    pub fn start(bound: Duration) -> Group {
        Group::start_with_cleanup(bound, ":")
    }

    /// `start`, with a shell command the watchdog runs before it kills the group (a lazy
    /// unmount, say) when the test did not end by itself.
    pub fn start_with_cleanup(bound: Duration, cleanup: &str) -> Group {
        let script = format!(
            "i=0; while [ $i -lt {} ] && kill -0 {} 2>/dev/null; do sleep 1; i=$((i+1)); done; {cleanup}; kill -KILL 0",
            bound.as_secs(),
            std::process::id()
        );
        let watchdog = Command::new("sh")
            .args(["-c", &script])
            .process_group(0)
            .stdin(Stdio::null())
            .spawn()
            .expect("sh starts");
        Group { id: watchdog.id() as i32, watchdog }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.id)]).status();
        let _ = self.watchdog.wait();
    }
}
