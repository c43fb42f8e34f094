//! S4 in open loop (`pingpong --open-loop`): the rate at which a target's p99 passes 50 ms.
//! The closed loop (`pingpong.rs`) says how fast round trips go when each connection waits
//! for its answer; it cannot say what latency a client sees at a given load, since a slow
//! answer also delays the next request (coordinated omission). Here each connection sends on a
//! fixed schedule whatever comes back, and latency runs from each message's due time.
//!
//! A ladder of total rates, spread evenly over the connections (the same connections for
//! every step), from `--start-rate` times `--rate-factor` per step. It stops at the first step
//! whose p99 is over `--p99-limit-ms` (the knee), whose answers come back under 90% of the
//! offered rate (the target, or the harness, cannot keep up), that leaves answers outstanding
//! or hits the in-flight cap, or at `--max-rate` / `--max-steps`. One row per step, then a
//! summary row with `knee_rate`, `last_rate_under_50ms` and why the ladder stopped.

mod conn;
mod frames;
mod step;

use std::sync::Arc;

use anyhow::{Result, bail};
use clap::Args;

use crate::pingpong::PorchFrame;
use crate::server::{Kind, Server};
use crate::stats::Report;
use conn::Conn;
use frames::Frames;
use step::Step;

/// A step whose answers come back slower than this share of the offered rate ends the ladder.
const KEEP_UP_SHARE: f64 = 0.9;

/// The ladder's options (with `pingpong --open-loop`).
#[derive(Args, Clone, Debug)]
pub struct Ladder {
    /// First step's rate, messages per second over all connections.
    #[arg(long = "start-rate", default_value_t = 5_000)]
    pub start_rate_per_sec: u64,
    /// Each step offers this many times the last one's rate.
    #[arg(long, default_value_t = 1.5)]
    pub rate_factor: f64,
    /// No step offers more than this (messages per second in all).
    #[arg(long = "max-rate", default_value_t = 300_000)]
    pub max_rate_per_sec: u64,
    /// How long each step sends.
    #[arg(long, default_value_t = 5)]
    pub step_secs: u64,
    /// How long a step waits for its last answers once its sending time is over; answers
    /// still missing then count at that latency, and end the ladder.
    #[arg(long, default_value_t = 5)]
    pub drain_secs: u64,
    #[arg(long, default_value_t = 16)]
    pub max_steps: usize,
    /// A connection with this many requests unanswered stops sending for the step (and the
    /// ladder ends): bounds the harness's memory when a target stalls.
    #[arg(long = "max-in-flight", default_value_t = 10_000)]
    pub max_in_flight_per_conn: usize,
    /// The latency bound of the knee.
    #[arg(long, default_value_t = 50.0)]
    pub p99_limit_ms: f64,
}

impl Default for Ladder {
    /// The command line's defaults (for `suite`, which builds its commands itself).
    fn default() -> Ladder {
        use clap::FromArgMatches;
        let command = Ladder::augment_args(clap::Command::new("ladder"));
        Ladder::from_arg_matches(&command.get_matches_from(["ladder"])).expect("the defaults parse")
    }
}

impl Ladder {
    pub fn check(&self) -> Result<()> {
        if self.rate_factor <= 1.0 {
            bail!(
                "--rate-factor {} would never raise the rate: give one above 1 (e.g. 1.5)",
                self.rate_factor
            );
        }
        if self.step_secs == 0 || self.start_rate_per_sec == 0 {
            bail!("--step-secs and --start-rate must be above 0");
        }
        if self.start_rate_per_sec > self.max_rate_per_sec {
            bail!(
                "--start-rate {} is above --max-rate {}: lower it or raise --max-rate",
                self.start_rate_per_sec,
                self.max_rate_per_sec
            );
        }
        Ok(())
    }

    /// The offered rates, in order.
    fn rates(&self) -> Vec<u64> {
        let mut rates = Vec::new();
        let mut rate = self.start_rate_per_sec as f64;
        while rate.round() as u64 <= self.max_rate_per_sec && rates.len() < self.max_steps {
            rates.push(rate.round() as u64);
            rate *= self.rate_factor;
        }
        rates
    }
}

#[derive(Clone, Debug)]
pub struct Params {
    pub conns: usize,
    pub size: usize,
    pub spread: u8,
    /// What Porch's round trip is; ignored by the other targets.
    pub porch_frame: PorchFrame,
    pub ladder: Ladder,
}

impl Params {
    /// `100 conns, 64 B, ping` (the frame only for Porch, whose round trips differ).
    fn label(&self, kind: Kind) -> String {
        match kind {
            Kind::Porch => {
                format!("{} conns, {} B, {}", self.conns, self.size, self.porch_frame.name())
            }
            _ => format!("{} conns, {} B", self.conns, self.size),
        }
    }
}

/// Why the ladder stopped, and where.
struct Stop {
    reason: String,
    /// The offered rate of the step that failed (none if the ladder ran out of steps).
    knee_rate: Option<u64>,
}

/// Runs the ladder on `server` (fresh for this target, size and frame); `tokens` holds one
/// guest token per connection for Porch. One report row per step, then the summary row.
pub async fn run(server: &mut Server, tokens: &[String], p: &Params) -> Result<Vec<Report>> {
    p.ladder.check()?;
    let sockets = crate::pingpong::open(server, tokens, p.conns, p.spread).await?;
    let mut conns: Vec<Conn> = sockets.into_iter().map(Conn::new).collect();
    let frames = Arc::new(Frames::new(server.kind, p.porch_frame, p.size));
    let mut reports = Vec::new();
    let mut last_rate_under = None;
    let mut stop = None;
    for rate in p.ladder.rates() {
        let (back, step) = step::run(server, conns, &frames, p, rate).await?;
        conns = back;
        eprintln!("  {}", step_line(rate, &step));
        let verdict = verdict(&step, p.ladder.p99_limit_ms);
        reports.push(step.report);
        match verdict {
            Ok(()) => last_rate_under = Some(rate),
            Err(reason) => {
                stop = Some(Stop { reason, knee_rate: Some(rate) });
                break;
            }
        }
    }
    for conn in conns {
        conn.close().await;
    }
    let stop = stop.unwrap_or_else(|| Stop {
        reason: "ran out of steps (--max-rate, --max-steps) with p99 under the limit".into(),
        knee_rate: None,
    });
    reports.push(summary(server.kind, p, &reports, &stop, last_rate_under));
    Ok(reports)
}

/// Ok when the step holds (the ladder goes on), else why not.
fn verdict(step: &Step, p99_limit_ms: f64) -> Result<(), String> {
    let t = &step.totals;
    if step.errors > 0 || t.unmatched > 0 {
        return Err(format!(
            "{} connection errors, {} unmatched answers",
            step.errors, t.unmatched
        ));
    }
    match step.p99_ms {
        Some(p99) if p99 > p99_limit_ms => {
            return Err(format!("p99 {p99:.1} ms over {p99_limit_ms} ms"));
        }
        None => return Err("no answer at all".into()),
        Some(_) => {}
    }
    if step.achieved_rate_per_sec < KEEP_UP_SHARE * step.offered_rate_per_sec {
        return Err(format!(
            "cannot keep up: {:.0}/s answered of {:.0}/s offered",
            step.achieved_rate_per_sec, step.offered_rate_per_sec
        ));
    }
    if t.overflowed || t.unanswered > 0 || t.unsent > 0 {
        return Err(format!(
            "{} unanswered, {} unsent (in-flight cap or deadline)",
            t.unanswered, t.unsent
        ));
    }
    Ok(())
}

fn step_line(rate: u64, step: &Step) -> String {
    format!(
        "step {rate}/s: answered {:.0}/s, p99 {} ms, {} unanswered, max {} in flight per connection",
        step.achieved_rate_per_sec,
        step.p99_ms.map_or("-".into(), |v| format!("{v:.2}")),
        step.totals.unanswered,
        step.totals.max_in_flight
    )
}

/// The ladder's row: its figures are in `extra` (`knee_rate`, `last_rate_under_50ms`,
/// `stopped`); ops and secs are the steps' sums.
fn summary(
    kind: Kind,
    p: &Params,
    steps: &[Report],
    stop: &Stop,
    last_under: Option<u64>,
) -> Report {
    let ops = steps.iter().map(|r| r.ops).sum();
    let secs: f64 = steps.iter().map(|r| r.secs).sum();
    let mut report = Report {
        scenario: "S4-open".into(),
        target: kind.name().into(),
        params: format!("{}, ladder", p.label(kind)),
        ops,
        errors: steps.iter().map(|r| r.errors).sum(),
        secs,
        rate: if secs > 0.0 { ops as f64 / secs } else { 0.0 },
        ..Default::default()
    };
    let unmatched: u64 =
        steps.iter().filter_map(|r| r.extra.get("unmatched").and_then(|v| v.as_u64())).sum();
    report.extra("knee_rate", stop.knee_rate);
    report.extra("last_rate_under_50ms", last_under);
    report.extra("stopped", stop.reason.clone());
    report.extra("unmatched", unmatched);
    report.extra("step_secs", p.ladder.step_secs);
    report.extra("p99_limit_ms", p.ladder.p99_limit_ms);
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_ladder_climbs_by_half_to_the_max_rate() {
        let ladder = Ladder::default();
        ladder.check().unwrap();
        let rates = ladder.rates();
        assert_eq!(&rates[..4], &[5_000, 7_500, 11_250, 16_875]);
        assert_eq!(rates.last(), Some(&288_325));
        let flat = Ladder { rate_factor: 1.0, ..Ladder::default() };
        assert!(flat.check().is_err());
    }
}
