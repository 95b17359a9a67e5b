//! Console lines in dbt's manner: one per node, then a summary.

use std::time::{Duration, SystemTime};

use crate::runner::{NodeOutcome, NodeStatus, OutcomeKind};

const WIDTH: usize = 88;

/// `left ..... right`, dotted out to the console width dbt uses.
pub fn dotted(left: &str, right: &str) -> String {
    let dots = WIDTH.saturating_sub(left.chars().count() + right.chars().count() + 2).max(3);
    format!("{left} {} {right}", ".".repeat(dots))
}

/// `  3 of 15 OK created table model analytics.fct_results ..... [25720 rows in 0.12s]`,
/// or for a view, which is created without being run, dbt's
/// `  1 of 15 OK created view model analytics.stg_f1_races ..... [CREATE VIEW in 0.01s]`.
///
/// An error's reason follows on the lines right under it, indented, so each error line
/// says why as it happens (the run's end lists them again, as dbt does).
pub fn node_line(index: usize, total: usize, outcome: &NodeOutcome) -> String {
    let line = status_line(index, total, outcome);
    match &outcome.status {
        NodeStatus::Error(reason) => {
            let reason: Vec<String> = reason.lines().map(|l| format!("      {l}")).collect();
            format!("{line}\n{}", reason.join("\n"))
        }
        _ => line,
    }
}

fn status_line(index: usize, total: usize, outcome: &NodeOutcome) -> String {
    let secs = outcome.elapsed.as_secs_f64();
    let (name, relation) = (&outcome.name, &outcome.relation);
    let (left, right) = match (outcome.kind, &outcome.status) {
        (OutcomeKind::Model(kind), NodeStatus::Success { rows }) => {
            let right = match rows {
                Some(rows) => format!("[{rows} rows in {secs:.2}s]"),
                None => format!("[CREATE VIEW in {secs:.2}s]"),
            };
            (format!("OK created {kind} model {relation}"), right)
        }
        (OutcomeKind::Model(kind), NodeStatus::Reused { built_at }) => {
            (format!("REUSED {kind} model {relation}"), format!("[REUSED, built {}]", age(*built_at)))
        }
        (OutcomeKind::Test(_), NodeStatus::Reused { built_at }) => {
            (format!("REUSED {name}"), format!("[REUSED, passed {}]", age(*built_at)))
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

/// How long ago `at` was, as `4s ago`, `12m ago`, `3h ago`, `2d ago`.
pub fn age(at: Option<SystemTime>) -> String {
    let Some(secs) = at.and_then(|at| SystemTime::now().duration_since(at).ok()).map(|d| d.as_secs()) else {
        return "at an unknown time".to_owned();
    };
    match secs {
        0..60 => format!("{secs}s ago"),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86400 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86400),
    }
}

#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub models_ok: usize,
    /// Models and tests not run because nothing they depend on changed.
    pub models_reused: usize,
    pub tests_reused: usize,
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
                (OutcomeKind::Model(_), NodeStatus::Reused { .. }) => t.models_reused += 1,
                (OutcomeKind::Test(_), NodeStatus::Reused { .. }) => t.tests_reused += 1,
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
        self.models_ok + self.models_reused + self.models_error + self.models_skipped
    }

    pub fn tests(&self) -> usize {
        self.tests_pass + self.tests_reused + self.tests_warn + self.tests_fail + self.tests_error + self.tests_skipped
    }

    /// Whether the command succeeded: no model error, no error-severity test failure.
    pub fn ok(&self) -> bool {
        self.models_error == 0 && self.tests_fail == 0 && self.tests_error == 0
    }

    /// The summary lines: per resource type, then dbt's `Done.` line.
    pub fn summary(&self) -> String {
        let reused = |n: usize| if n > 0 { format!(", {n} reused") } else { String::new() };
        let mut lines = Vec::new();
        if self.models() > 0 {
            lines.push(format!(
                "Models: {} of {} OK{} (error={}, skip={})",
                self.models_ok + self.models_reused,
                self.models(),
                reused(self.models_reused),
                self.models_error,
                self.models_skipped
            ));
        }
        if self.tests() > 0 {
            lines.push(format!(
                "Tests: {} of {} PASS{} (warn={}, error={}, skip={})",
                self.tests_pass + self.tests_reused,
                self.tests(),
                reused(self.tests_reused),
                self.tests_warn,
                self.tests_fail + self.tests_error,
                self.tests_skipped
            ));
        }
        lines.push(format!(
            "Done. PASS={} WARN={} ERROR={} SKIP={} REUSED={} TOTAL={}",
            self.models_ok + self.tests_pass,
            self.tests_warn,
            self.models_error + self.tests_fail + self.tests_error,
            self.models_skipped + self.tests_skipped,
            self.models_reused + self.tests_reused,
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

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::config::Materialization;
    use crate::dag::NodeId;
    use crate::testing::Severity;

    fn outcome(kind: OutcomeKind, status: NodeStatus) -> NodeOutcome {
        NodeOutcome {
            id: NodeId::Model("stg_f1_races".into()),
            name: "stg_f1_races".into(),
            kind,
            relation: "analytics.stg_f1_races".into(),
            status,
            started_at: SystemTime::now(),
            elapsed: Duration::from_millis(10),
            compiled_code: None,
            fingerprint: None,
        }
    }

    #[test]
    fn a_reused_node_says_so_with_its_age_and_is_counted_apart() {
        let built_at = Some(SystemTime::now() - Duration::from_secs(150));
        let model = outcome(OutcomeKind::Model(Materialization::Table), NodeStatus::Reused { built_at });
        let line = node_line(1, 2, &model);
        assert!(
            line.contains("REUSED table model analytics.stg_f1_races") && line.ends_with("[REUSED, built 2m ago]"),
            "{line}"
        );
        let test = outcome(OutcomeKind::Test(Severity::Error), NodeStatus::Pass);
        let summary = Tally::of(&[model, test]).summary();
        assert!(summary.contains("Models: 1 of 1 OK, 1 reused (error=0, skip=0)"), "{summary}");
        assert!(summary.contains("Done. PASS=1 WARN=0 ERROR=0 SKIP=0 REUSED=1 TOTAL=2"), "{summary}");
    }

    #[test]
    fn an_error_line_carries_its_reason_right_under_it() {
        let reason = "Unable to open file /wh/analytics/.x#1: Not a directory (os error 20)\nsecond line";
        let model = outcome(OutcomeKind::Model(Materialization::View), NodeStatus::Error(reason.into()));
        let line = node_line(1, 2, &model);
        let lines: Vec<&str> = line.lines().collect();
        assert!(lines[0].starts_with("  1 of 2 ERROR creating view model analytics.stg_f1_races ."), "{line}");
        assert!(lines[0].ends_with("[ERROR in 0.01s]"), "{line}");
        assert_eq!(
            lines[1..],
            ["      Unable to open file /wh/analytics/.x#1: Not a directory (os error 20)", "      second line"]
        );
        let test = outcome(OutcomeKind::Test(Severity::Error), NodeStatus::Error("no such column".into()));
        assert!(node_line(2, 2, &test).ends_with("[ERROR in 0.01s]\n      no such column"));
    }

    #[test]
    fn a_view_line_says_create_view_as_dbt_and_no_row_count() {
        let view = outcome(OutcomeKind::Model(Materialization::View), NodeStatus::Success { rows: None });
        let line = node_line(1, 15, &view);
        assert!(line.starts_with("  1 of 15 OK created view model analytics.stg_f1_races ."), "{line}");
        assert!(line.ends_with(" [CREATE VIEW in 0.01s]"), "{line}");
    }

    #[test]
    fn other_lines_are_one_line() {
        let ok = outcome(OutcomeKind::Model(Materialization::Table), NodeStatus::Success { rows: Some(3) });
        assert_eq!(node_line(1, 1, &ok).lines().count(), 1);
        assert!(node_line(1, 1, &ok).ends_with(" [3 rows in 0.01s]"), "{}", node_line(1, 1, &ok));
        let skipped = outcome(OutcomeKind::Model(Materialization::Table), NodeStatus::Skipped { because: "x".into() });
        assert_eq!(node_line(1, 1, &skipped).lines().count(), 1);
    }
}
