//! `manifest.json` (v12) and `run_results.json` (v6) against dbt's published schemas: the
//! pydantic models of dbt-artifacts-parser, run by `.ci/dbt-artifacts` (a venv in
//! `target/venv-dbt`, installed once per test process).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use crate::support::{fixture, pitwall, workspace};

/// Runs `.ci/dbt-artifacts` with `args`: success and what it printed.
fn dbt_artifacts(args: &[&str]) -> (bool, String) {
    let output =
        Command::new(workspace().join(".ci/dbt-artifacts")).args(args).output().expect(".ci/dbt-artifacts runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// Parses `target`'s manifest.json and run_results.json with dbt's schemas; fails the
/// test with the validator's errors.
fn assert_valid(target: &Path) {
    // Once per process: tests run in parallel, and two pip installs into one venv race.
    static INSTALLED: OnceLock<(bool, String)> = OnceLock::new();
    let (installed, output) = INSTALLED.get_or_init(|| dbt_artifacts(&["install"]));
    assert!(installed, ".ci/dbt-artifacts install failed:\n{output}");
    let (valid, output) = dbt_artifacts(&["validate", target.to_str().unwrap()]);
    assert!(valid, "pitwall's artifacts do not validate against dbt's schemas:\n{output}");
}

fn run_results(target: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(target.join("run_results.json")).unwrap()).unwrap()
}

/// The statuses of the results whose unique id starts with `prefix` (`model.`, `test.`).
fn statuses(results: &Value, prefix: &str) -> BTreeSet<String> {
    let results = results["results"].as_array().unwrap().iter();
    let of_kind = results.filter(|r| r["unique_id"].as_str().unwrap().starts_with(prefix));
    of_kind.map(|r| r["status"].as_str().unwrap().to_owned()).collect()
}

/// Everything on the tiny source: models, sources, doc blocks and both kinds of test in the
/// manifest; in the run results, models that succeed, one that fails (the tiny source has
/// nothing to train on), one skipped because of it, and passing tests.
#[test]
fn a_build_writes_a_manifest_and_run_results_that_dbt_s_schemas_accept() {
    let target = tempfile::tempdir().unwrap();
    let run = pitwall(target.path(), &["build", "--source", fixture("f1_tiny").to_str().unwrap()]);
    assert!(run.stdout.contains("Done. PASS="), "{}", run.all());
    let results = run_results(target.path());
    assert!(statuses(&results, "model.").contains("success"), "{results:#}");
    assert!(statuses(&results, "test.").contains("pass"), "{results:#}");
    assert_valid(target.path());
}

/// `pitwall test` alone: run results of tests only.
#[test]
fn a_test_only_run_writes_run_results_that_dbt_s_schema_accepts() {
    let target = tempfile::tempdir().unwrap();
    let tiny = fixture("f1_tiny");
    let build = pitwall(target.path(), &["build", "--source", tiny.to_str().unwrap(), "--exclude", "ml.train_predict"]);
    assert!(build.ok(), "{}", build.all());
    let run = pitwall(target.path(), &["test"]);
    assert!(run.ok(), "{}", run.all());
    let results = run_results(target.path());
    assert_eq!(results["args"]["which"], "test");
    let all = results["results"].as_array().unwrap();
    assert!(
        !all.is_empty() && all.iter().all(|r| r["unique_id"].as_str().unwrap().starts_with("test.")),
        "{results:#}"
    );
    assert_valid(target.path());
}

/// `pitwall docs generate` after a build (the ML training excluded, so its two models are
/// not in the warehouse): `catalog.json` lists every built model and every source table,
/// leaves out what was not built, and dbt's catalog v1 schema accepts it (`.ci/dbt-artifacts
/// validate` checks a catalog.json when there is one).
#[test]
fn docs_generate_writes_a_catalog_of_what_was_built_that_dbt_s_schema_accepts() {
    let target = tempfile::tempdir().unwrap();
    let tiny = fixture("f1_tiny");
    let build = pitwall(target.path(), &["build", "--source", tiny.to_str().unwrap(), "--exclude", "ml.train_predict"]);
    assert!(build.ok(), "{}", build.all());
    let docs = pitwall(target.path(), &["docs", "generate"]);
    assert!(docs.ok(), "{}", docs.all());
    let catalog: Value = serde_json::from_slice(&std::fs::read(target.path().join("catalog.json")).unwrap()).unwrap();
    let nodes = catalog["nodes"].as_object().unwrap();
    assert!(nodes.contains_key("model.pitwall.fct_results"), "{catalog:#}");
    assert!(!nodes.contains_key("model.pitwall.predict_position"), "{catalog:#}");
    assert_eq!(nodes["model.pitwall.stg_f1_status"]["metadata"]["type"], "VIEW");
    assert_eq!(nodes["model.pitwall.fct_results"]["columns"]["fastest_lap_speed"]["type"], "DECIMAL(6, 3)");
    assert_eq!(catalog["sources"].as_object().unwrap().len(), 8, "{catalog:#}");
    assert_valid(target.path());
}
