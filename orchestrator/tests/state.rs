//! State-aware builds on an initialized project and the bundled data: a build with
//! nothing changed reuses everything; an edited model or a changed source file rebuilds
//! exactly what is downstream of it, and the result is what a full rebuild makes;
//! `state:` selectors and `--defer` against a previous run's manifest.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::support::{Run, pitwall_command};

fn pitwall_in(project: &Path, args: &[&str]) -> Run {
    let run = Run::from(pitwall_command().current_dir(project).args(args).output().expect("pitwall runs"));
    assert!(run.ok(), "pitwall {}:\n{}", args.join(" "), run.all());
    run
}

/// `pitwall init` then a first build.
fn built_project() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    pitwall_in(dir.path(), &["init", "demo"]);
    pitwall_in(&demo, &["build"]);
    (dir, demo)
}

/// The unique ids of the last run's results whose status is (`true`) or is not reused.
fn results(project: &Path, reused: bool) -> BTreeSet<String> {
    let text = std::fs::read_to_string(project.join("target/run_results.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| (r["status"] == "reused") == reused)
        .map(|r| r["unique_id"].as_str().unwrap().to_owned())
        .collect()
}

/// The unique ids `pitwall ls -s <selector>` names (models and tests).
fn selected(project: &Path, selector: &str) -> BTreeSet<String> {
    let ls = pitwall_in(project, &["ls", "-s", selector, "--output", "name"]);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(project.join("target/manifest.json")).unwrap()).unwrap();
    let names: BTreeSet<&str> = ls.stdout.lines().collect();
    manifest["nodes"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, node)| names.contains(node["name"].as_str().unwrap()))
        .map(|(id, _)| id.clone())
        .collect()
}

/// Every model exported as CSV by `pitwall export` (sorted rows), by file name.
fn export(project: &Path, args: &[&str]) -> Vec<(String, Vec<u8>)> {
    let out = tempfile::tempdir().unwrap();
    let mut command = vec!["export", "--out", out.path().to_str().unwrap()];
    command.extend(args);
    pitwall_in(project, &command);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

/// A full rebuild of `project` into its own warehouse, exported.
fn full_rebuild_export(project: &Path) -> Vec<(String, Vec<u8>)> {
    let fresh = tempfile::tempdir().unwrap();
    let warehouse = fresh.path().join("warehouse");
    let (warehouse, target) = (warehouse.to_str().unwrap(), fresh.path().join("target"));
    let target = target.to_str().unwrap();
    let stage = fresh.path().join("stage");
    let stage = stage.to_str().unwrap();
    let at = ["--warehouse", warehouse, "--target-path", target, "--model-stage", stage];
    pitwall_in(project, &[&["build", "--full-refresh"][..], &at].concat());
    export(project, &at)
}

/// Appends a predicate that keeps every row: the model's tokens change, its output not.
fn edit_pit_stops_joined(project: &Path) {
    let path = project.join("models/marts/core/pit_stops_joined.sql");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.trim_end().ends_with("pit_stops.driver_id"), "pit_stops_joined.sql changed: update this test");
    std::fs::write(&path, format!("{}\nwhere 1 = 1\n", text.trim_end())).unwrap();
}

#[test]
fn a_build_with_nothing_changed_reuses_every_node_unless_told_to_rebuild() {
    let (_dir, demo) = built_project();
    let again = pitwall_in(&demo, &["build"]);
    let reused_models = again.stdout.lines().filter(|l| l.contains(" REUSED ") && l.contains(" model ")).count();
    assert_eq!(reused_models, 21, "{}", again.stdout);
    assert!(again.stdout.contains("Reused the 8 raw tables of source formula1"), "{}", again.stdout);
    assert!(again.stdout.contains("Done. PASS=0 WARN=0 ERROR=0 SKIP=0 REUSED=38 TOTAL=38"), "{}", again.stdout);
    assert_eq!(results(&demo, false), BTreeSet::new(), "every result is reused");
    assert_eq!(results(&demo, true).len(), 38);

    let full = pitwall_in(&demo, &["build", "--full-refresh"]);
    assert!(
        !full.stdout.contains("REUSED ") && full.stdout.contains("Loaded and stored 8 raw tables"),
        "{}",
        full.stdout
    );
    let env =
        Run::from(pitwall_command().current_dir(&demo).env("PITWALL_NO_REUSE", "1").arg("build").output().unwrap());
    assert!(env.ok() && !env.stdout.contains("REUSED "), "{}", env.all());
}

#[test]
fn an_edited_model_or_a_changed_source_file_rebuilds_exactly_its_downstream_as_a_full_rebuild_would() {
    let (_dir, demo) = built_project();
    edit_pit_stops_joined(&demo);
    pitwall_in(&demo, &["build"]);
    assert_eq!(results(&demo, false), selected(&demo, "pit_stops_joined+"));
    assert_eq!(export(&demo, &[]), full_rebuild_export(&demo));

    // A status renamed in the source file: only that raw table reloads.
    let status = demo.join("data/f1/status.csv.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&status).unwrap()).read_to_string(&mut text).unwrap();
    assert!(text.contains("\"Undertray\""), "status.csv changed: update this test");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.replace("\"Undertray\"", "\"Undertray failure\"").as_bytes()).unwrap();
    std::fs::write(&status, gz.finish().unwrap()).unwrap();
    let build = pitwall_in(&demo, &["build"]);
    assert!(
        build.stdout.contains("Loaded and stored 1 raw table ") && build.stdout.contains("7 unchanged"),
        "{}",
        build.stdout
    );
    assert_eq!(results(&demo, false), selected(&demo, "source:formula1.status+"));
    assert_eq!(export(&demo, &[]), full_rebuild_export(&demo));
}

#[test]
fn state_modified_lists_the_edited_model_and_defer_builds_it_alone_from_the_states_warehouse() {
    let (dir, demo) = built_project();
    let state = dir.path().join("prod-artifacts");
    std::fs::create_dir(&state).unwrap();
    std::fs::copy(demo.join("target/manifest.json"), state.join("manifest.json")).unwrap();
    let state = state.to_str().unwrap();
    let modified = |selector: &str| pitwall_in(&demo, &["ls", "-s", selector, "--state", state]).stdout;

    // Whitespace and comments are not modifications, as in dbt State.
    let path = demo.join("models/marts/core/pit_stops_joined.sql");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("-- reviewed\n{}\n\n", text.replace("    ", "\t"))).unwrap();
    assert_eq!(modified("state:modified"), "");
    edit_pit_stops_joined(&demo);
    assert_eq!(modified("state:modified"), "pitwall.marts.core.pit_stops_joined\n");
    assert_eq!(
        modified("state:modified+"),
        "pitwall.marts.aggregates.all_values_gte_zero_fastest_pit_stops_by_constructor_mean\n\
         pitwall.marts.aggregates.fastest_pit_stops_by_constructor\n\
         pitwall.marts.aggregates.unique_fastest_pit_stops_by_constructor_constructor_name\n\
         pitwall.marts.core.pit_stops_joined\n"
    );

    // Into an empty warehouse, reading what it refs from the state's.
    let dev = dir.path().join("dev");
    let (warehouse, target) = (dev.join("warehouse"), dev.join("target"));
    let at = ["--warehouse", warehouse.to_str().unwrap(), "--target-path", target.to_str().unwrap()];
    let args = [&["build", "-s", "pit_stops_joined", "--defer", "--state", state][..], &at].concat();
    let build = pitwall_in(&demo, &args);
    assert!(
        build.stdout.contains("Deferred to ") && build.stdout.contains("fct_results, int_pit_stops"),
        "{}",
        build.stdout
    );
    assert!(build.stdout.contains("Models: 1 of 1 OK"), "{}", build.stdout);
    let stored: Vec<String> = std::fs::read_dir(warehouse.join("analytics"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .collect();
    assert_eq!(stored, ["pit_stops_joined.parquet"]);
    let mine = export(&demo, &[&["-s", "pit_stops_joined"][..], &at].concat());
    let full: Vec<_> = full_rebuild_export(&demo).into_iter().filter(|(f, _)| f == "pit_stops_joined.csv").collect();
    assert_eq!(mine, full);
}
