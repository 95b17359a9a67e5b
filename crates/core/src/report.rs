//! Console lines in dbt's manner: one per node, then a summary.

use std::time::Duration;

use crate::runner::{NodeOutcome, NodeStatus};

const WIDTH: usize = 78;

fn dotted(left: &str, right: &str) -> String {
    let dots = WIDTH.saturating_sub(left.chars().count() + right.chars().count() + 2).max(3);
    format!("{left} {} {right}", ".".repeat(dots))
}

/// `  3 of 15 OK created table model "analytics"."fct_results" ..... [25720 rows in 0.12s]`
pub fn node_line(index: usize, total: usize, outcome: &NodeOutcome) -> String {
    let kind = outcome.materialized;
    let (left, right) = match &outcome.status {
        NodeStatus::Success { rows } => (
            format!("OK created {kind} model {}", outcome.relation),
            format!("[{rows} rows in {:.2}s]", outcome.elapsed.as_secs_f64()),
        ),
        NodeStatus::Error(_) => (
            format!("ERROR creating {kind} model {}", outcome.relation),
            format!("[ERROR in {:.2}s]", outcome.elapsed.as_secs_f64()),
        ),
        NodeStatus::Skipped { .. } => (format!("SKIP relation {}", outcome.relation), "[SKIP]".to_owned()),
    };
    dotted(&format!("{index:>3} of {total} {left}"), &right)
}

/// A line for any node kind, for callers that print tests and models alike.
pub fn line(index: usize, total: usize, what: &str, detail: &str) -> String {
    dotted(&format!("{index:>3} of {total} {what}"), detail)
}

#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub pass: usize,
    pub warn: usize,
    pub error: usize,
    pub skip: usize,
}

impl Tally {
    pub fn total(&self) -> usize {
        self.pass + self.warn + self.error + self.skip
    }

    pub fn add_model(&mut self, outcome: &NodeOutcome) {
        match outcome.status {
            NodeStatus::Success { .. } => self.pass += 1,
            NodeStatus::Error(_) => self.error += 1,
            NodeStatus::Skipped { .. } => self.skip += 1,
        }
    }

    pub fn summary(&self) -> String {
        format!(
            "Done. PASS={} WARN={} ERROR={} SKIP={} TOTAL={}",
            self.pass,
            self.warn,
            self.error,
            self.skip,
            self.total()
        )
    }
}

/// The errors of a run, each with its node, as dbt lists them after the run.
pub fn error_details(outcomes: &[NodeOutcome]) -> Vec<String> {
    outcomes
        .iter()
        .filter_map(|o| match &o.status {
            NodeStatus::Error(message) => Some(format!("Failure in model {} ({}):\n  {message}", o.name, o.relation)),
            _ => None,
        })
        .collect()
}

pub fn elapsed(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}
