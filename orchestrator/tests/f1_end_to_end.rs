//! The real binary on the real data the project ships (`data/f1`), checked against
//! every model's expected output (`data/expected/f1`).

use crate::support::{self as common, pitwall, real_data, snapshot};

/// Every model whose output must equal the workshop's exactly.
pub(crate) const EXACT_MODELS: &[&str] = &[
    "stg_f1_circuits",
    "stg_f1_constructors",
    "stg_f1_drivers",
    "stg_f1_lap_times",
    "stg_f1_pit_stops",
    "stg_f1_races",
    "stg_f1_results",
    "stg_f1_status",
    "int_lap_times_years",
    "int_pit_stops",
    "int_results",
    "fct_results",
    "pit_stops_joined",
    "fastest_pit_stops_by_constructor",
    "lap_times_moving_avg",
];

#[test]
fn build_then_export_matches_all_21_expected_models() {
    let target = tempfile::tempdir().unwrap();
    let build = pitwall(target.path(), &["build"]);
    assert!(build.ok(), "{}", build.all());
    assert_eq!(common::load_row(&build.stdout, "lap_times"), Some([531950, 531950, 0]), "{}", build.stdout);
    assert!(build.stdout.contains("ERROR=0 SKIP=0"), "{}", build.stdout);
    for model in EXACT_MODELS {
        assert!(build.stdout.contains(&format!("analytics.{model} ")), "no line for {model}:\n{}", build.stdout);
    }

    let out = target.path().join("export");
    let export = pitwall(target.path(), &["export", "--out", out.to_str().unwrap()]);
    assert!(export.ok(), "{}", export.all());
    common::assert_models_match(&out, EXACT_MODELS);
    common::assert_models_match(&out, crate::ml_end_to_end::EXACT_ML_MODELS);
    crate::ml_end_to_end::assert_predictions_mostly_agree(target.path(), &out);
}

#[test]
fn bad_rows_are_skipped_and_reported_while_the_rest_loads() {
    let source = common::copy_source(&real_data());
    let results = source.path().join("results.csv");
    let mut text = std::fs::read_to_string(&results).unwrap();
    let good_lines = text.lines().count();
    // 17 fields; grid 'abc'; a date where a number belongs.
    text.push_str("99001,18,1,1,22,1,1,\"1\",1,10,58,\"1:34:50.616\",5690616,39,2,\"1:27.452\",1\n");
    text.push_str("99002,18,1,1,22,abc,1,\"1\",1,10,58,\"1:34:50.616\",5690616,39,2,\"1:27.452\",\"218.300\",1\n");
    text.push_str(
        "99003,18,1,1,2020-13-45,1,1,\"1\",1,10,58,\"1:34:50.616\",5690616,39,2,\"1:27.452\",\"218.300\",1\n",
    );
    std::fs::write(&results, text).unwrap();
    let races = source.path().join("races.csv");
    let mut races_text = std::fs::read_to_string(&races).unwrap();
    let races_lines = races_text.lines().count();
    races_text.push_str("9999,2020,1,1,\"Nowhere Grand Prix\",\"2020-13-45\",\\N,\"http://x\",\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N\n");
    std::fs::write(&races, races_text).unwrap();

    let target = tempfile::tempdir().unwrap();
    let run = pitwall(target.path(), &["build", "--source", source.path().to_str().unwrap(), "--select", "staging"]);
    assert!(run.ok(), "{}", run.all());
    let file = results.display().to_string();
    let line = |n: usize| format!("{file} line {n}");
    assert!(run.stdout.contains(&format!("{}: expected 18 fields, found 17", line(good_lines + 1))), "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!("{}, column grid: 'abc' is not a number", line(good_lines + 2))),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("{}, column number: '2020-13-45' is not a number", line(good_lines + 3))),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!(
            "{} line {}, column date: '2020-13-45' is not a valid date (YYYY-MM-DD)",
            races.display(),
            races_lines + 1
        )),
        "{}",
        run.stdout
    );
    assert_eq!(common::load_row(&run.stdout, "results"), Some([25723, 25720, 3]), "{}", run.stdout);
    // stg_f1_results is a view, created without running it (no row count, as dbt): its
    // rows are the loaded ones, which the load line above counts.
    let view_line = run.stdout.lines().find(|l| l.contains("analytics.stg_f1_results ")).expect(&run.stdout);
    assert!(view_line.contains("OK created view model") && view_line.contains("[CREATE VIEW in "), "{view_line}");

    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(target.path().join("load_report.json")).unwrap()).unwrap();
    let results_report = report["tables"].as_array().unwrap().iter().find(|t| t["table"] == "results").unwrap();
    assert_eq!(results_report["rejected"], 3);
    assert_eq!(results_report["rejections"][1]["column"], "grid");
    assert_eq!(results_report["rejections"][1]["line"], good_lines as u64 + 2);
}

/// A clean build of the bundled data under `target`: its warehouse folder and every file
/// in it, to compare with after a failed run.
fn built_warehouse(target: &std::path::Path) -> (std::path::PathBuf, Vec<(std::path::PathBuf, Vec<u8>)>) {
    let first = pitwall(target, &["build"]);
    assert!(first.ok(), "{}", first.all());
    let warehouse = target.join("warehouse");
    let files = snapshot(&warehouse);
    assert!(files.iter().any(|(p, _)| p.ends_with("analytics/fct_results.parquet")));
    (warehouse, files)
}

#[test]
fn a_missing_source_file_fails_the_run_and_leaves_the_warehouse_as_it_was() {
    let target = tempfile::tempdir().unwrap();
    let (warehouse, before) = built_warehouse(target.path());

    let source = common::copy_source(&real_data());
    std::fs::remove_file(source.path().join("races.csv")).unwrap();
    let second = pitwall(target.path(), &["build", "--source", source.path().to_str().unwrap()]);
    assert!(!second.ok(), "{}", second.all());
    assert!(second.stderr.contains("races.csv") && second.stderr.contains("not found"), "{}", second.stderr);
    assert_eq!(snapshot(&warehouse), before, "the warehouse changed after a failed run");
}

/// Models run beside the load (those reading no lap times start before lap_times is in),
/// but commit only with it: a full rebuild whose load fails on lap_times' last record
/// (`on_error = abort_statement`) reports no model and leaves every raw table, model and
/// test stamp byte for byte as it was.
#[test]
fn a_load_failing_on_lap_times_last_record_leaves_every_table_and_model_as_it_was() {
    let target = tempfile::tempdir().unwrap();
    let (warehouse, before) = built_warehouse(target.path());

    let source = common::copy_source(&real_data());
    let laps = source.path().join("lap_times.csv");
    let mut text = std::fs::read_to_string(&laps).unwrap();
    let milliseconds = text.trim_end().rfind(',').unwrap() + 1;
    text.replace_range(milliseconds.., "fast\n");
    let line = text.lines().count();
    std::fs::write(&laps, text).unwrap();
    let project = tempfile::tempdir().unwrap();
    let toml =
        common::checkout_toml().replacen("schema = \"raw\"\n", "schema = \"raw\"\non_error = \"abort_statement\"\n", 1);
    std::fs::write(project.path().join("pitwall.toml"), toml).unwrap();
    let args = ["--project-dir", project.path().to_str().unwrap(), "--source", source.path().to_str().unwrap()];
    let second = pitwall(target.path(), &[&["build", "--full-refresh"], &args[..]].concat());

    assert!(!second.ok(), "{}", second.all());
    assert!(second.all().contains(&format!("lap_times.csv line {line}: column milliseconds")), "{}", second.all());
    assert!(!second.stdout.contains(" OK created "), "no model may be reported built:\n{}", second.stdout);
    assert_eq!(snapshot(&warehouse), before, "the warehouse changed after a failed load");
}

/// A load shows its progress: in a log (stderr not a terminal), a line every
/// PITWALL_PROGRESS_INTERVAL seconds with bytes, rows, rate and the tables still read;
/// with --quiet, none.
#[test]
fn a_load_shows_progress_lines_in_a_log_and_none_when_quiet() {
    let target = tempfile::tempdir().unwrap();
    let load = |quiet: bool| {
        let mut command = common::pitwall_command();
        command.current_dir(common::workspace()).env("PITWALL_TARGET_PATH", target.path());
        command.env("PITWALL_PROGRESS_INTERVAL", "0.02").args(["run", "-s", "stg_f1_lap_times", "--full-refresh"]);
        if quiet {
            command.arg("--quiet");
        }
        let run = common::Run::from(command.output().unwrap());
        assert!(run.ok(), "{}", run.all());
        run.stderr.lines().filter(|l| l.starts_with("Loading formula1: ")).map(str::to_owned).collect::<Vec<_>>()
    };
    let lines = load(false);
    assert!(!lines.is_empty(), "no progress line");
    assert!(lines.iter().all(|l| l.contains(" rows, ") && l.contains(" MB/s")), "{lines:#?}");
    assert_eq!(load(true), Vec::<String>::new());
}
