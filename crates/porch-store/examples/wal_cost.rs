//! What an append costs the SQLite store in pages, fsyncs and CPU: `IN_FLIGHT` tasks append to
//! `CONVERSATIONS` conversations (task `t` to conversation `t % CONVERSATIONS`), `MESSAGES` in
//! all, either back to back (`RATE` 0: each task has one append in flight) or open loop at
//! `RATE` appends/s in all. Prints appends/s and the CPU of the writer and checkpoint threads
//! per append (procfs), and leaves the database in `DIR` for `dbstat`.
//!
//! ```sh
//! cargo build --release -p porch-store --example wal_cost
//! strace -f -y -e trace=pwrite64,fsync,fdatasync -o trace.txt \
//!   target/release/examples/wal_cost DIR CONVERSATIONS IN_FLIGHT MESSAGES RATE
//! ```
//!
//! The trace gives fsyncs per append (the `-wal` file's and the database file's) and the
//! pages written to each; the database file's `pwrite` offsets are page numbers (4 KiB), which
//! `SELECT name FROM dbstat WHERE pageno = ?` names.

#[allow(dead_code, unused_imports)] // The storage suite's helpers; its tests are not run here.
#[path = "../tests/suite/mod.rs"]
mod suite;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use porch_core::store::Store;
use porch_store::{SqliteOptions, SqliteStore};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, conversations, in_flight, messages, rate] = &args[..] else {
        panic!("usage: wal_cost DIR CONVERSATIONS IN_FLIGHT MESSAGES RATE");
    };
    let number = |s: &String| s.parse::<u64>().expect("a number");
    let (conversations, in_flight) = (number(conversations), number(in_flight));
    let (messages, rate) = (number(messages), number(rate));
    std::fs::create_dir_all(dir).unwrap();
    let path = std::path::Path::new(dir).join("porch.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(SqliteOptions::new(&path)).unwrap());
    let mut all = Vec::new();
    for _ in 0..conversations {
        all.push(suite::new_conversation(&*store, "cost").await);
    }
    // Settle: what the set-up wrote is checkpointed before the counted appends.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let before = thread_cpu_us();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let each = messages / in_flight;
    for t in 0..in_flight {
        let (store, conversation) = (store.clone(), all[(t % conversations) as usize].clone());
        tasks.spawn(async move {
            let guest = suite::guest_of(&conversation);
            // Open loop: this task's share of the rate, its first send offset so tasks interleave.
            let period =
                (rate > 0).then(|| Duration::from_secs_f64(in_flight as f64 / rate as f64));
            let mut next =
                Instant::now() + period.unwrap_or_default() * t as u32 / in_flight as u32;
            for n in 0..each {
                if let Some(period) = period {
                    tokio::time::sleep_until(next.into()).await;
                    next += period;
                }
                let mut request = suite::says(&conversation, &guest, &format!("t{t}-{n}"), "hello");
                request.now_ms = now_ms();
                store.append(request).await.unwrap();
            }
        });
    }
    tasks.join_all().await;
    let elapsed = started.elapsed().as_secs_f64();
    let after = thread_cpu_us();
    let total = each * in_flight;
    println!("{total} appends in {elapsed:.2} s = {:.0}/s", total as f64 / elapsed);
    for name in ["porch-sqlite-wr", "porch-sqlite-ck"] {
        let spent = after.iter().find(|(n, _)| n == name).map_or(0.0, |(_, us)| *us)
            - before.iter().find(|(n, _)| n == name).map_or(0.0, |(_, us)| *us);
        println!("{name}: {:.1} µs CPU per append", spent / total as f64);
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// (thread name, CPU time in µs) of this process's threads: `schedstat`'s first field, the
/// nanoseconds each ran (finer than `stat`'s ticks of 10 ms).
fn thread_cpu_us() -> Vec<(String, f64)> {
    let mut threads = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        let Some(ns) = stat.split_whitespace().next().and_then(|f| f.parse::<f64>().ok()) else {
            continue;
        };
        threads.push((comm.trim().to_owned(), ns / 1e3));
    }
    threads
}
