//! The table the run ends with, and its figures.

use clio_sim::DeliveryLog;
use serde_json::{json, Value};

use crate::settle::Settled;

/// What the run found.
pub struct Report<'a> {
    /// The checks and the final state.
    pub settled: &'a Settled,
    /// Dead letters still dead, each with its reason.
    pub dead: &'a [String],
    /// Every delivery Clio attempted.
    pub deliveries: &'a [DeliveryLog],
    /// The faults injected, in order.
    pub injected: &'a [String],
}

fn accepted(d: &DeliveryLog) -> bool {
    d.attempts
        .iter()
        .any(|a| a.status.is_some_and(|s| (200..300).contains(&s)))
}

impl Report<'_> {
    /// Lost: a check's losses, a dead letter, or work never finished (still in flight when the
    /// patience ran out is lost as far as the run can tell).
    pub fn lost(&self) -> usize {
        let checks: usize = self.settled.checks.iter().map(|c| c.lost).sum();
        checks + self.dead.len() + usize::from(!self.settled.quiet.is_quiet())
    }

    /// Doubled (or present and never expected).
    pub fn doubled(&self) -> usize {
        self.settled.checks.iter().map(|c| c.doubled).sum()
    }

    fn events(&self) -> impl Iterator<Item = &DeliveryLog> {
        self.deliveries.iter().filter(|d| d.event != "handshake")
    }

    /// Prints the table.
    pub fn print(&self) {
        println!();
        println!(
            "{:<50} {:>9} {:>6} {:>8}  verdict",
            "check", "expected", "lost", "doubled"
        );
        let verdict = |ok: bool| if ok { "ok" } else { "FAILED" };
        for c in &self.settled.checks {
            println!(
                "{:<50} {:>9} {:>6} {:>8}  {}",
                c.name,
                c.expected,
                c.lost,
                c.doubled,
                verdict(c.passed())
            );
            for e in &c.examples {
                println!("    {e}");
            }
        }
        println!(
            "{:<50} {:>9} {:>6} {:>8}  {}",
            "dead letters (each with its reason)",
            0,
            self.dead.len(),
            "",
            verdict(self.dead.is_empty())
        );
        for d in self.dead.iter().take(10) {
            println!("    {d}");
        }
        let quiet = &self.settled.quiet;
        println!(
            "{:<50} {:>9} {:>6} {:>8}  {}",
            "nothing left in flight",
            0,
            usize::from(!quiet.is_quiet()),
            "",
            verdict(quiet.is_quiet())
        );
        if !quiet.is_quiet() {
            println!("    {quiet}");
        }
        let f = self.figures();
        println!();
        println!(
            "events delivered {} ({} answered 2xx; {} accepted on a retry after a refusal or no \
             answer; {} never accepted: Clio gave up, the sweeps caught up); faults injected {}; \
             settled in {:.0} s after the load; lost {}; doubled {}",
            f["deliveries"],
            f["events_accepted"],
            f["accepted_after_a_refusal"],
            f["never_accepted"],
            self.injected.len(),
            self.settled.took.as_secs_f64(),
            self.lost(),
            self.doubled()
        );
    }

    /// The figures, for `target/chaos/chaos.json`.
    pub fn figures(&self) -> Value {
        let events: Vec<&DeliveryLog> = self.events().collect();
        json!({
            "deliveries": events.len(),
            "events_accepted": events.iter().filter(|d| accepted(d)).count(),
            "accepted_after_a_refusal": events.iter()
                .filter(|d| accepted(d) && d.attempts.iter().any(|a| !a.status.is_some_and(|s| (200..300).contains(&s))))
                .count(),
            "never_accepted": events.iter().filter(|d| !accepted(d)).count(),
            "faults_injected": self.injected.len(),
            "faults": self.injected,
            "settled_seconds": self.settled.took.as_secs(),
            "checks": self.settled.checks.iter().map(|c| json!({
                "check": c.name, "expected": c.expected, "lost": c.lost, "doubled": c.doubled,
            })).collect::<Vec<_>>(),
            "dead_letters": self.dead.len(),
            "lost": self.lost(),
            "doubled": self.doubled(),
        })
    }
}
