//! Console lines in dbt's manner: one per node, then a summary.

use std::time::Duration;

use crate::runner::{NodeOutcome, NodeStatus, OutcomeKind};

const WIDTH: usize = 88;

fn dotted(left: &str, right: &str) -> String {
    let dots = WIDTH.saturating_sub(left.chars().count() + right.chars().count() + 2).max(3);
    format!("{left} {} {right}", ".".repeat(dots))
}

/// `  3 of 15 OK created table model analytics.fct_results ..... [25720 rows in 0.12s]`
pub fn node_line(index: usize, total: usize, outcome: &NodeOutcome) -> String {
    let secs = outcome.elapsed.as_secs_f64();
    let (name, relation) = (&outcome.name, &outcome.relation);
    let (left, right) = match (outcome.kind, &outcome.status) {
        (OutcomeKind::Model(kind), NodeStatus::Success { rows }) => {
            (format!("OK created {kind} model {relation}"), format!("[{rows} rows in {secs:.2}s]"))
        }
        (OutcomeKind::Model(kind), NodeStatus::Error(_)) => {
            (format!("ERROR creating {kind} model {relation}"), format!("[ERROR in {secs:.2}s]"))
        }
        (OutcomeKind::Model(_), _) => (format!("SKIP relation {relation}"), "[SKIP]".to_owned()),
        (OutcomeKind::Test(_), NodeStatus::Pass) => (format!("PASS {name}"), format!("[PASS in {secs:.2}s]")),
        (OutcomeKind::Test(_), NodeStatus::Fail { failures }) => {
            (format!("FAIL {failures} {name}"), format!("[FAIL {failures} in {secs:.2}s]"))
        }
        (OutcomeKind::Test(_), NodeStatus::Warn { failures }) => {
            (format!("WARN {failures} {name}"), format!("[WARN {failures} in {secs:.2}s]"))
        }
        (OutcomeKind::Test(_), NodeStatus::Error(_)) => (format!("ERROR {name}"), format!("[ERROR in {secs:.2}s]")),
        (OutcomeKind::Test(_), _) => (format!("SKIP test {name}"), "[SKIP]".to_owned()),
    };
    dotted(&format!("{index:>3} of {total} {left}"), &right)
}

#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub models_ok: usize,
    pub models_error: usize,
    pub models_skipped: usize,
    pub tests_pass: usize,
    pub tests_warn: usize,
    pub tests_fail: usize,
    pub tests_error: usize,
    pub tests_skipped: usize,
}

impl Tally {
    pub fn of(outcomes: &[NodeOutcome]) -> Tally {
        let mut t = Tally::default();
        for o in outcomes {
            match (o.kind, &o.status) {
                (OutcomeKind::Model(_), NodeStatus::Success { .. }) => t.models_ok += 1,
                (OutcomeKind::Model(_), NodeStatus::Skipped { .. }) => t.models_skipped += 1,
                (OutcomeKind::Model(_), _) => t.models_error += 1,
                (OutcomeKind::Test(_), NodeStatus::Pass) => t.tests_pass += 1,
                (OutcomeKind::Test(_), NodeStatus::Warn { .. }) => t.tests_warn += 1,
                (OutcomeKind::Test(_), NodeStatus::Fail { .. }) => t.tests_fail += 1,
                (OutcomeKind::Test(_), NodeStatus::Skipped { .. }) => t.tests_skipped += 1,
                (OutcomeKind::Test(_), _) => t.tests_error += 1,
            }
        }
        t
    }

    pub fn models(&self) -> usize {
        self.models_ok + self.models_error + self.models_skipped
    }

    pub fn tests(&self) -> usize {
        self.tests_pass + self.tests_warn + self.tests_fail + self.tests_error + self.tests_skipped
    }

    /// Whether the command succeeded: no model error, no error-severity test failure.
    pub fn ok(&self) -> bool {
        self.models_error == 0 && self.tests_fail == 0 && self.tests_error == 0
    }

    /// The summary lines: per resource type, then dbt's `Done.` line.
    pub fn summary(&self) -> String {
        let mut lines = Vec::new();
        if self.models() > 0 {
            lines.push(format!(
                "Models: {} of {} OK (error={}, skip={})",
                self.models_ok,
                self.models(),
                self.models_error,
                self.models_skipped
            ));
        }
        if self.tests() > 0 {
            lines.push(format!(
                "Tests: {} of {} PASS (warn={}, error={}, skip={})",
                self.tests_pass,
                self.tests(),
                self.tests_warn,
                self.tests_fail + self.tests_error,
                self.tests_skipped
            ));
        }
        lines.push(format!(
            "Done. PASS={} WARN={} ERROR={} SKIP={} TOTAL={}",
            self.models_ok + self.tests_pass,
            self.tests_warn,
            self.models_error + self.tests_fail + self.tests_error,
            self.models_skipped + self.tests_skipped,
            self.models() + self.tests()
        ));
        lines.join("\n")
    }
}

/// The errors, failures and warnings of a run, each with its node, as dbt lists them.
pub fn error_details(outcomes: &[NodeOutcome]) -> Vec<String> {
    outcomes
        .iter()
        .filter_map(|o| match (&o.status, o.kind) {
            (NodeStatus::Error(message), OutcomeKind::Model(_)) => {
                Some(format!("Failure in model {} ({}):\n  {message}", o.name, o.relation))
            }
            (NodeStatus::Error(message), OutcomeKind::Test(_)) => {
                Some(format!("Error in test {}:\n  {message}", o.name))
            }
            (NodeStatus::Fail { failures }, _) => Some(format!(
                "Failure in test {}:\n  got {failures} result{}, configured to fail if != 0",
                o.name,
                if *failures == 1 { "" } else { "s" }
            )),
            (NodeStatus::Warn { failures }, _) => Some(format!(
                "Warning in test {}:\n  got {failures} result{}, configured to warn if != 0",
                o.name,
                if *failures == 1 { "" } else { "s" }
            )),
            _ => None,
        })
        .collect()
}

pub fn elapsed(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}
