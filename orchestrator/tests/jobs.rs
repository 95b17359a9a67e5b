//! `pitwall job run` and `pitwall job history` on a temporary project: the repo's
//! pitwall.toml plus jobs for the tests, reading `fixtures/f1_tiny`, so the artifacts,
//! the recorded runs and both targets' warehouses land in the temporary folder.

use std::path::Path;

use serde_json::Value;

use crate::support::{Run, fixture, pitwall_command};

/// The repo's production job builds everything, but f1_tiny has no 2010-2019 results to
/// train on, so here it leaves training out (as data_tests.rs does).
const PRODUCTION_STEPS: &str = r#"steps = ["build"]"#;
const TINY_PRODUCTION_STEPS: &str = r#"steps = ["build --exclude ml.train_predict"]"#;

/// `failing`: a step that works, one that fails (a query of a missing table, quoted as a
/// shell would), one that must then be skipped. `quick`: a step that builds nothing.
const TEST_JOBS: &str = r#"
[jobs.failing]
target = "prod"
description = "Its second step fails, so its third is skipped"
steps = ["run -s stg_f1_races", 'query "select * from nope"', "ls"]

[jobs.quick]
target = "prod"
steps = ["ls -s staging"]
"#;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = crate::support::checkout_toml();
    assert!(text.contains(PRODUCTION_STEPS), "the repo's production job changed: update {}", file!());
    let text = text.replacen(PRODUCTION_STEPS, TINY_PRODUCTION_STEPS, 1) + TEST_JOBS;
    std::fs::write(dir.path().join("pitwall.toml"), text).unwrap();
    dir
}

/// Runs pitwall on `project` with f1_tiny as its source, nothing taken from `PITWALL_*`.
fn pitwall_in(project: &Path, args: &[&str]) -> Run {
    let output = pitwall_command()
        .current_dir(project)
        .arg("--project-dir")
        .arg(project)
        .arg("--source")
        .arg(fixture("f1_tiny"))
        .args(args)
        .output()
        .expect("pitwall runs");
    Run::from(output)
}

/// The recorded runs' ids, as the folder names sort.
fn run_ids(project: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(project.join("target/runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    ids.sort();
    ids
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

fn job_json(project: &Path, id: &str) -> Value {
    read_json(&project.join("target/runs").join(id).join("job.json"))
}

/// `job history`'s rows after its header, each split into its columns (two spaces or more
/// apart: a cell such as `2 built, 19 reused` has single spaces).
fn history(project: &Path, args: &[&str]) -> Vec<Vec<String>> {
    let run = pitwall_in(project, &[&["job", "history"], args].concat());
    assert!(run.ok(), "{}", run.all());
    let mut lines = run.stdout.lines();
    assert!(lines.next().is_some_and(|h| h.starts_with("RUN ID")), "{}", run.stdout);
    let cells = |l: &str| l.split("  ").map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect();
    lines.map(cells).collect()
}

/// How many results of `run_results.json` are of `kind` (model, test) with one of `statuses`.
fn results_count(run_results: &Value, kind: &str, statuses: &[&str]) -> u64 {
    let results = run_results["results"].as_array().unwrap();
    let prefix = format!("{kind}.");
    let counted = results.iter().filter(|r| {
        r["unique_id"].as_str().unwrap().starts_with(&prefix) && statuses.contains(&r["status"].as_str().unwrap())
    });
    counted.count() as u64
}

#[test]
fn production_job_builds_only_the_prod_warehouse_and_records_the_run_with_its_counts() {
    let project = project();
    let dir = project.path();
    let run = pitwall_in(dir, &["job", "run", "production"]);
    assert!(run.ok(), "{}", run.all());
    // The step's own output streams after its header.
    let header = run.stdout.find("== step 1/1: build --exclude ml.train_predict ==").expect(&run.stdout);
    let built = run.stdout.find("OK created table model production.fct_results").expect(&run.stdout);
    assert!(header < built, "{}", run.stdout);
    assert!(dir.join("target/prod/warehouse/production").is_dir(), "{}", run.stdout);
    assert!(!dir.join("target/warehouse").exists(), "the dev warehouse was made:\n{}", run.stdout);

    let ids = run_ids(dir);
    assert!(ids.len() == 1 && ids[0].ends_with("-production"), "{ids:?}");
    let record = job_json(dir, &ids[0]);
    assert_eq!(
        (&record["job"], &record["target"], &record["status"]),
        (&"production".into(), &"prod".into(), &"success".into())
    );
    let step = &record["steps"][0];
    assert_eq!(
        (&step["status"], &step["exit_code"], &step["folder"]),
        (&"success".into(), &0.into(), &"01-build".into())
    );
    let folder = dir.join("target/runs").join(&ids[0]).join("01-build");
    assert!(std::fs::read_to_string(folder.join("console.log")).unwrap().contains("Done. PASS="));
    for artifact in ["run_results.json", "manifest.json", "load_report.json"] {
        assert_eq!(
            std::fs::read(folder.join(artifact)).unwrap(),
            std::fs::read(dir.join("target").join(artifact)).unwrap()
        );
    }
    let results = read_json(&folder.join("run_results.json"));
    let models_ok = results_count(&results, "model", &["success"]);
    let tests_ok = results_count(&results, "test", &["pass", "warn"]);
    assert!(models_ok > 0 && tests_ok > 0, "{results}");
    let expected = serde_json::json!({
        "models_passed": models_ok, "models_reused": 0, "models_failed": 0,
        "tests_passed": tests_ok, "tests_reused": 0, "tests_failed": 0,
    });
    assert_eq!(step["counts"], expected);

    let rows = history(dir, &[]);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row[..3], [ids[0].as_str(), "production", "prod"]);
    assert_eq!(row[5..], ["success", &format!("{models_ok} built"), &format!("{tests_ok} passed")]);
}

#[test]
fn a_second_run_of_a_job_counts_the_nodes_it_reused_apart_from_those_it_built() {
    let project = project();
    let dir = project.path();
    let runs: Vec<Run> = (0..2).map(|_| pitwall_in(dir, &["job", "run", "production"])).collect();
    for run in &runs {
        assert!(run.ok(), "{}", run.all());
    }
    let ids = run_ids(dir);
    assert_eq!(ids.len(), 2, "{ids:?}");
    let first = read_json(&dir.join("target/runs").join(&ids[0]).join("01-build/run_results.json"));
    let second = read_json(&dir.join("target/runs").join(&ids[1]).join("01-build/run_results.json"));
    let models = results_count(&first, "model", &["success"]);
    // Nothing changed in between: every model is reused, and every test that passed
    // (a test that warned runs again: only a pass is kept).
    assert_eq!(results_count(&second, "model", &["reused"]), models, "{second}");
    let tests_reused = results_count(&second, "test", &["reused"]);
    let tests_ran = results_count(&second, "test", &["pass", "warn"]);
    assert!(tests_reused > 0 && tests_reused + tests_ran == results_count(&first, "test", &["pass", "warn"]));

    let counts = &job_json(dir, &ids[1])["steps"][0]["counts"];
    let expected = serde_json::json!({
        "models_passed": 0, "models_reused": models, "models_failed": 0,
        "tests_passed": tests_ran, "tests_reused": tests_reused, "tests_failed": 0,
    });
    assert_eq!(*counts, expected);
    assert_eq!(job_json(dir, &ids[0])["steps"][0]["counts"]["models_reused"], 0);

    let rows = history(dir, &["production"]);
    let tests = match tests_ran {
        0 => format!("{tests_reused} reused"),
        ran => format!("{ran} passed, {tests_reused} reused"),
    };
    // The job's last line says the same.
    let summary =
        runs[1].stdout.lines().find(|l| l.contains("succeeded in")).unwrap_or_else(|| panic!("{}", runs[1].stdout));
    assert!(summary.ends_with(&format!(": models {models} reused; tests {tests}")), "{summary}");
    assert_eq!(rows[1][6..], [format!("{models} reused"), tests], "{rows:?}");
    assert_eq!(rows[0][6], format!("{models} built"), "{rows:?}");
}

#[test]
fn a_failing_step_fails_the_job_skips_the_next_step_and_is_recorded_as_error() {
    let project = project();
    let dir = project.path();
    let run = pitwall_in(dir, &["job", "run", "failing"]);
    assert!(!run.ok(), "{}", run.all());
    assert!(run.stderr.contains("nope") && run.stderr.contains("step 2 failed"), "{}", run.stderr);
    assert!(run.stdout.contains("== step 2/3") && !run.stdout.contains("== step 3/3"), "{}", run.stdout);

    let ids = run_ids(dir);
    assert_eq!(ids.len(), 1, "{ids:?}");
    let record = job_json(dir, &ids[0]);
    assert_eq!(record["status"], "error");
    let steps = record["steps"].as_array().unwrap();
    let statuses: Vec<&str> = steps.iter().map(|s| s["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["success", "error", "skipped"]);
    let exit_codes: Vec<&Value> = steps.iter().map(|s| &s["exit_code"]).collect();
    assert_eq!(exit_codes, [&Value::from(0), &Value::from(1), &Value::Null]);
    assert_eq!(steps[1]["command"], r#"query "select * from nope""#);
    assert_eq!(steps[0]["counts"]["models_passed"], 1);
    let folder = dir.join("target/runs").join(&ids[0]);
    assert!(std::fs::read_to_string(folder.join("02-query/console.log")).unwrap().contains("nope"));
    // The query step wrote no run results: only what it did write is kept.
    assert!(folder.join("01-run/run_results.json").is_file() && !folder.join("02-query/run_results.json").exists());
    assert!(!folder.join("03-ls").exists());

    let rows = history(dir, &["failing"]);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][5], "error", "{rows:?}");
}

#[test]
fn run_ids_sort_by_time_and_history_lists_the_newest_last_within_its_limit() {
    let project = project();
    let dir = project.path();
    for _ in 0..2 {
        let run = pitwall_in(dir, &["job", "run", "quick"]);
        assert!(run.ok(), "{}", run.all());
    }
    let ids = run_ids(dir);
    assert_eq!(ids.len(), 2, "{ids:?}");
    let started = |id: &str| job_json(dir, id)["started_at"].as_str().unwrap().to_owned();
    assert!(started(&ids[0]) < started(&ids[1]), "{ids:?}");
    let listed: Vec<String> = history(dir, &[]).into_iter().map(|row| row[0].clone()).collect();
    assert_eq!(listed, ids);
    let newest: Vec<String> = history(dir, &["quick", "--limit", "1"]).into_iter().map(|row| row[0].clone()).collect();
    assert_eq!(newest, [ids[1].clone()]);
    let other = pitwall_in(dir, &["job", "history", "production"]);
    assert!(other.ok() && other.stdout.contains("No runs of job 'production' are recorded under"), "{}", other.all());
}

#[test]
fn an_unknown_job_is_refused_naming_the_defined_ones_and_an_empty_history_says_so() {
    let project = project();
    let dir = project.path();
    let empty = pitwall_in(dir, &["job", "history"]);
    let runs = dir.join("target/runs").display().to_string();
    assert!(empty.ok() && empty.stdout.contains(&format!("No runs are recorded under {runs}")), "{}", empty.all());
    let unknown = pitwall_in(dir, &["job", "run", "nightly"]);
    assert!(!unknown.ok(), "{}", unknown.all());
    assert!(unknown.stderr.contains("no job 'nightly'"), "{}", unknown.stderr);
    assert!(unknown.stderr.contains("failing, production, quick"), "{}", unknown.stderr);
    assert!(!dir.join("target/runs").exists(), "an unknown job left a record");
}
