//! The real binary on the hand-made `fixtures/f1_tiny` source: fast checks of the CLI.

use crate::support::{self as common, fixture, pitwall};

/// Builds everything but ML training and prediction: the tiny source has no 2010-2019
/// results to train on (ml_end_to_end and the ml crate's tests cover those models).
fn build_tiny(target: &std::path::Path) -> common::Run {
    pitwall(target, &["build", "--source", fixture("f1_tiny").to_str().unwrap(), "--exclude", "ml.train_predict"])
}

#[test]
fn tiny_source_builds_and_reports_its_deliberately_bad_rows() {
    let target = tempfile::tempdir().unwrap();
    let run = build_tiny(target.path());
    assert!(run.ok(), "{}", run.all());
    for expected in [
        "drivers.csv line 6, column dob: '1979-02-30' is not a valid date (YYYY-MM-DD)",
        "results.csv line 12, column grid: 'abc' is not a number",
        "lap_times.csv line 9: expected 6 fields, found 4",
    ] {
        assert!(run.stdout.contains(expected), "missing '{expected}' in:\n{}", run.stdout);
    }
    assert!(run.stdout.contains("ERROR=0"), "{}", run.stdout);
    // results.csv line 11 loads with points 0.5 rounded half away from zero.
    let query = pitwall(target.path(), &["query", "select points from stg_f1_results where result_id = 10"]);
    assert!(query.ok() && query.stdout.contains("| 1      |"), "{}", query.all());
}

#[test]
fn ls_selects_by_name_layer_graph_and_exclusion() {
    let target = tempfile::tempdir().unwrap();
    let names = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["ls", "--output", "name"];
        all.extend_from_slice(args);
        let run = pitwall(target.path(), &all);
        assert!(run.ok(), "{}", run.all());
        run.stdout.lines().map(str::to_owned).collect()
    };
    // As in dbt, a folder selects the tests of the properties files in it too: staging's
    // 13 source tests (models/staging/formula1/f1_sources.yml) come with its 7 models.
    assert_eq!(names(&["--select", "staging", "--exclude", "stg_f1_lap_times"]).len(), 20);
    let models = names(&["--select", "staging", "--exclude", "stg_f1_lap_times", "--resource-type", "model"]);
    assert_eq!(models.len(), 7);
    assert_eq!(
        names(&["--select", "tag:bi"]),
        [
            "all_values_gte_zero_fastest_pit_stops_by_constructor_mean",
            "fastest_pit_stops_by_constructor",
            "lap_times_moving_avg",
            "lap_times_moving_avg_assert_positive_or_null",
        ]
    );
    // Tests come along with their models only when asked (dbt's indirect selection).
    let eager = names(&["--select", "lap_times_moving_avg", "--indirect-selection", "eager"]);
    assert_eq!(eager.len(), 3, "{eager:?}");
    let upstream = names(&["--select", "+fct_results"]);
    let expected = [
        "fct_results",
        "int_pit_stops",
        "int_results",
        "stg_f1_circuits",
        "stg_f1_constructors",
        "stg_f1_drivers",
        "stg_f1_pit_stops",
        "stg_f1_races",
        "stg_f1_results",
        "stg_f1_status",
    ];
    assert_eq!(upstream, expected);
    let with_sources = names(&["--select", "+fct_results", "--resource-type", "source", "model"]);
    assert!(with_sources.contains(&"formula1.results".to_owned()), "{with_sources:?}");
    assert!(!with_sources.contains(&"formula1.lap_times".to_owned()), "{with_sources:?}");
    assert_eq!(names(&["--select", "int_results+1"]), ["fct_results", "int_results"]);
    assert_eq!(names(&["--select", "marts.core,fct_results"]), ["fct_results"]);
}

#[test]
fn show_fails_clearly_before_a_build_and_for_an_unknown_model() {
    let target = tempfile::tempdir().unwrap();
    let show = pitwall(target.path(), &["show", "fct_results"]);
    assert!(!show.ok());
    assert!(show.stderr.contains("not in the warehouse") && show.stderr.contains("+fct_results"), "{}", show.stderr);
    let unknown = pitwall(target.path(), &["show", "no_such_model"]);
    assert!(!unknown.ok() && unknown.stderr.contains("not a model"), "{}", unknown.stderr);
}

#[test]
fn a_model_that_fails_skips_its_descendants_and_exits_non_zero() {
    let target = tempfile::tempdir().unwrap();
    // Nothing upstream of fct_results is in this new warehouse, so fct_results fails
    // naming what is missing, and everything downstream of it is skipped, not run.
    let run = pitwall(target.path(), &["run", "--select", "fct_results+"]);
    assert!(!run.ok(), "{}", run.all());
    assert!(run.stdout.contains("ERROR creating table model analytics.fct_results"), "{}", run.stdout);
    assert!(run.stdout.contains("'analytics.int_results' is not in the warehouse"), "{}", run.stdout);
    for skipped in ["pit_stops_joined", "fastest_pit_stops_by_constructor", "ml_data_prep", "predict_position"] {
        assert!(run.stdout.contains(&format!("SKIP relation analytics.{skipped} ")), "{}", run.stdout);
    }
    assert!(run.stdout.contains("PASS=0 WARN=0 ERROR=1 SKIP=8 REUSED=0 TOTAL=9"), "{}", run.stdout);
}

#[test]
fn a_selector_that_matches_nothing_is_warned_about_and_runs_nothing() {
    let target = tempfile::tempdir().unwrap();
    let ls = pitwall(target.path(), &["ls", "-s", "tag:nothing", "stg_f1_races"]);
    assert!(ls.ok(), "{}", ls.all());
    assert!(
        ls.stderr.contains("warning: the selection criterion 'tag:nothing' does not match any enabled nodes"),
        "{}",
        ls.all()
    );
    assert!(!ls.stderr.contains("'stg_f1_races'"), "{}", ls.all());
    assert_eq!(ls.stdout.lines().collect::<Vec<_>>(), ["pitwall.staging.formula1.stg_f1_races"]);

    let run = pitwall(target.path(), &["run", "-s", "no_such_model"]);
    assert!(run.ok(), "{}", run.all());
    assert!(run.stderr.contains("'no_such_model' does not match any enabled nodes"), "{}", run.all());
    assert!(run.stdout.contains("Nothing to do.") && !run.stdout.contains("Completed successfully"), "{}", run.all());
}

#[test]
fn output_into_a_closed_pipe_ends_quietly_without_a_panic() {
    use std::process::{Command, Stdio};
    let target = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .current_dir(common::workspace())
        .env("PITWALL_TARGET_PATH", target.path())
        .arg("compile")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // As `pitwall compile | head -0` would: the reader is gone before the first line,
    // which takes pitwall a project load to write.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    // 141 (128 + SIGPIPE) is what the shell reports for a process SIGPIPE ended: pitwall
    // exits with it itself, since it keeps SIGPIPE ignored for its sockets' sake.
    assert!(output.status.success() || output.status.code() == Some(141), "{:?}: {stderr}", output.status);
}
