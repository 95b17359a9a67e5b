//! Data tests and build semantics, on tampered copies of `fixtures/f1_tiny`.

use std::collections::BTreeSet;

use crate::support::{copy_source, fixture, pitwall};

/// f1_tiny has no 2010-2019 results to train on, so training is left out where a test
/// needs a build that succeeds (ml_end_to_end trains on the real data).
const NO_TRAINING: &str = "ml.train_predict";

fn lines_with<'a>(stdout: &'a str, marker: &str) -> BTreeSet<&'a str> {
    stdout
        .lines()
        .filter_map(|l| l.split_once(marker).map(|(_, rest)| rest.split_whitespace().next().unwrap_or("")))
        .collect()
}

#[test]
fn an_error_test_failure_skips_exactly_the_descendants_and_exits_non_zero() {
    let source = copy_source(&fixture("f1_tiny"));
    let results = source.path().join("results.csv");
    let mut text = std::fs::read_to_string(&results).unwrap();
    // A second result with id 1 fails source_unique_formula1_results_resultid.
    text.push_str("1,2,4,3,7,5,4,\"4\",4,12,53,\"+20.000\",4820000,33,4,\"1:22.500\",\"247.000\",1\n");
    std::fs::write(&results, text).unwrap();
    let target = tempfile::tempdir().unwrap();
    let run = pitwall(target.path(), &["build", "--source", source.path().to_str().unwrap()]);
    assert!(!run.ok(), "{}", run.all());
    assert!(run.stdout.contains("FAIL 1 source_unique_formula1_results_resultid"), "{}", run.stdout);

    // Skipped: every model built from the results source, and their tests.
    let descendants = pitwall(target.path(), &["ls", "--select", "source:formula1.results+", "--output", "name"]);
    let expected: BTreeSet<&str> = descendants.stdout.lines().filter(|n| !n.starts_with("source_")).collect();
    assert!(expected.contains("fct_results") && !expected.contains("stg_f1_races"), "{expected:?}");
    let skipped_models: BTreeSet<&str> = lines_with(&run.stdout, "SKIP relation analytics.").into_iter().collect();
    let skipped_tests = lines_with(&run.stdout, "SKIP test ");
    let skipped: BTreeSet<&str> = skipped_models.union(&skipped_tests).copied().collect();
    assert_eq!(skipped, expected, "{}", run.stdout);
    // Everything else still ran.
    assert!(run.stdout.contains("OK created view model analytics.int_lap_times_years"), "{}", run.stdout);
    assert!(run.stdout.contains("ERROR=1"), "{}", run.stdout);

    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(target.path().join("run_results.json")).unwrap()).unwrap();
    let status = |id: &str| {
        results["results"].as_array().unwrap().iter().find(|r| r["unique_id"] == id).map(|r| r["status"].clone())
    };
    assert_eq!(status("test.pitwall.source_unique_formula1_results_resultid"), Some("fail".into()));
    assert_eq!(status("model.pitwall.fct_results"), Some("skipped".into()));
    assert_eq!(status("model.pitwall.stg_f1_races"), Some("success".into()));
}

/// A 2021 pit stop with a negative duration makes McLaren's mean negative.
fn negative_pit_stop_source() -> tempfile::TempDir {
    let source = copy_source(&fixture("f1_tiny"));
    let stops = source.path().join("pit_stops.csv");
    let mut text = std::fs::read_to_string(&stops).unwrap();
    text.push_str("3,1,2,30,\"02:10:00\",\"-100.000\",-100000\n");
    std::fs::write(&stops, text).unwrap();
    source
}

#[test]
fn a_warn_failure_continues_and_exits_zero() {
    let source = negative_pit_stop_source();
    let target = tempfile::tempdir().unwrap();
    let run = pitwall(target.path(), &["build", "--source", source.path().to_str().unwrap(), "--exclude", NO_TRAINING]);
    assert!(run.ok(), "{}", run.all());
    assert!(run.stdout.contains("WARN 1 all_values_gte_zero_fastest_pit_stops_by_constructor_mean"), "{}", run.stdout);
    assert!(run.stdout.contains("Tests: 16 of 17 PASS (warn=1, error=0, skip=0)"), "{}", run.stdout);
    assert!(run.stdout.contains("SKIP=0"), "{}", run.stdout);
}

#[test]
fn store_failures_keeps_the_failing_rows_in_the_audit_schema() {
    let source = negative_pit_stop_source();
    let target = tempfile::tempdir().unwrap();
    let source = source.path().to_str().unwrap();
    let run = pitwall(target.path(), &["build", "--store-failures", "--source", source, "--exclude", NO_TRAINING]);
    assert!(run.ok(), "{}", run.all());
    let table = "analytics_dbt_test__audit.all_values_gte_zero_fastest_pit_stops_by_constructor_mean";
    let query = pitwall(target.path(), &["query", &format!("select constructor_name, mean from {table}")]);
    assert!(query.ok(), "{}", query.all());
    assert!(query.stdout.contains("| McLaren ") && query.stdout.contains("1 rows"), "{}", query.stdout);
    // Passing tests are stored too, empty, as dbt does.
    let empty = pitwall(
        target.path(),
        &["query", "select * from analytics_dbt_test__audit.source_unique_formula1_results_resultid"],
    );
    assert!(empty.ok() && empty.stdout.contains("0 rows"), "{}", empty.all());
}

#[test]
fn test_runs_only_tests_against_what_the_warehouse_holds() {
    let target = tempfile::tempdir().unwrap();
    let tiny = fixture("f1_tiny");
    assert!(pitwall(target.path(), &["build", "--source", tiny.to_str().unwrap(), "--exclude", NO_TRAINING]).ok());
    let run = pitwall(target.path(), &["test", "--select", "fastest_pit_stops_by_constructor", "lap_times_moving_avg"]);
    assert!(run.ok(), "{}", run.all());
    assert!(run.stdout.contains("Tests: 4 of 4 PASS"), "{}", run.stdout);
    assert!(!run.stdout.contains("created"), "{}", run.stdout);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(target.path().join("manifest.json")).unwrap()).unwrap();
    let nodes = manifest["nodes"].as_object().unwrap();
    assert_eq!(nodes.values().filter(|n| n["resource_type"] == "test").count(), 17);
    let fct = &nodes["model.pitwall.fct_results"];
    assert_eq!(fct["config"]["materialized"], "table");
    assert!(fct["depends_on"]["nodes"].as_array().unwrap().contains(&"model.pitwall.int_results".into()));
    assert_eq!(nodes["model.pitwall.fastest_pit_stops_by_constructor"]["config"]["tags"], serde_json::json!(["bi"]));
    assert_eq!(manifest["sources"].as_object().unwrap().len(), 8);
}
