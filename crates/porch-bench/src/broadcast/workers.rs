//! The coordinator's side of S1b's worker processes: this same binary re-run as
//! `porch-bench broadcast-worker`, one JSON line per order on its stdin and per answer on its
//! stdout (`wire.rs`). Each pipe has a thread of its own, so a worker busy with a long line
//! never blocks the coordinator's runtime. Dropping `Workers` kills every worker; a worker
//! whose coordinator dies sees its stdin end and exits by itself.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use tokio::sync::mpsc;

use super::wire::{Answer, Order};

/// How a worker is started.
pub struct Spawn<'a> {
    pub count: usize,
    pub node_urls: &'a [String],
    pub spread: u8,
    /// Handshakes in flight per worker.
    pub connect_concurrency: usize,
    /// Each worker exits by itself after this long.
    pub deadline_secs: u64,
}

pub struct Workers {
    children: Vec<Child>,
    /// One line sender per worker, to its stdin thread.
    orders: Vec<std_mpsc::Sender<String>>,
    answers: mpsc::UnboundedReceiver<(usize, Answer)>,
}

impl Workers {
    pub fn spawn(spawn: &Spawn) -> Result<Workers> {
        let exe = std::env::current_exe().context("finding porch-bench itself")?;
        let (tx, answers) = mpsc::unbounded_channel();
        let mut workers = Workers { children: Vec::new(), orders: Vec::new(), answers };
        for w in 0..spawn.count {
            let mut command = Command::new(&exe);
            command
                .args(["--spread", &spawn.spread.to_string(), "broadcast-worker"])
                .args(["--worker", &w.to_string()])
                .args(["--connect-concurrency", &spawn.connect_concurrency.to_string()])
                .args(["--deadline-secs", &spawn.deadline_secs.to_string()]);
            for url in spawn.node_urls {
                command.args(["--node-url", url]);
            }
            let mut child = command
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .with_context(|| format!("starting worker {w} ({})", exe.display()))?;
            let stdin = child.stdin.take().context("stdin piped")?;
            let stdout = child.stdout.take().context("stdout piped")?;
            // Owned from here, so a failure below still kills it.
            workers.children.push(child);
            workers.orders.push(write_orders(stdin));
            read_answers(w, stdout, tx.clone());
        }
        Ok(workers)
    }

    /// The workers' process ids, for CPU accounting.
    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().map(Child::id).collect()
    }

    pub fn count(&self) -> usize {
        self.children.len()
    }

    pub fn send(&self, worker: usize, order: &Order) -> Result<()> {
        let line = serde_json::to_string(order)?;
        self.orders[worker]
            .send(line)
            .map_err(|_| anyhow!("worker {worker} no longer takes orders (it exited)"))
    }

    pub fn send_all(&self, order: &Order) -> Result<()> {
        (0..self.count()).try_for_each(|w| self.send(w, order))
    }

    /// The next answer of any worker. A worker's `Failed`, its exit, or `silence` without any
    /// answer is an error.
    pub async fn next(&mut self, silence: Duration) -> Result<(usize, Answer)> {
        let next = tokio::time::timeout(silence, self.answers.recv())
            .await
            .map_err(|_| anyhow!("no worker said anything for {silence:?}"))?;
        match next {
            Some((w, Answer::Failed { error })) => bail!("worker {w} failed: {error}"),
            Some(answer) => Ok(answer),
            None => bail!("every worker is gone"),
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        // Closing stdin alone would do, but a worker stuck in a connect must not outlive us.
        self.orders.clear();
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A thread that writes the lines it is given to `stdin`, flushing when none are waiting;
/// it ends (closing stdin, so the worker exits) when the sender is dropped.
fn write_orders(stdin: ChildStdin) -> std_mpsc::Sender<String> {
    let (tx, rx) = std_mpsc::channel::<String>();
    std::thread::spawn(move || {
        let mut out = BufWriter::new(stdin);
        while let Ok(line) = rx.recv() {
            let mut batch = Some(line);
            while let Some(line) = batch {
                if writeln!(out, "{line}").is_err() {
                    return;
                }
                batch = rx.try_recv().ok();
            }
            if out.flush().is_err() {
                return;
            }
        }
    });
    tx
}

/// A thread that parses the worker's answers; its exit becomes a `Failed` answer.
fn read_answers(
    worker: usize,
    stdout: std::process::ChildStdout,
    tx: mpsc::UnboundedSender<(usize, Answer)>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let answer = match line {
                Ok(line) => serde_json::from_str(&line).unwrap_or_else(|e| Answer::Failed {
                    error: format!("unreadable answer ({e}): {line:.80}"),
                }),
                Err(e) => Answer::Failed { error: format!("reading its stdout: {e}") },
            };
            if tx.send((worker, answer)).is_err() {
                return;
            }
        }
        let _ = tx
            .send((worker, Answer::Failed { error: "it exited (see its messages above)".into() }));
    });
}
