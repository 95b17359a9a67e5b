//! `cargo run -p staging`: the staging layer's binary, run as a user runs it. Only the
//! binary is used (no library of the workspace but the tests' runner), so this test
//! links no DataFusion; the layer run on real raw tables is the orchestrator suite's
//! `layers` test.

use std::path::Path;

use pitwall_test_servers::binary::{self, Run};

fn staging(warehouse: &Path, args: &[&str]) -> Run {
    binary::run(binary::command(env!("CARGO_BIN_EXE_staging")).env("PITWALL_WAREHOUSE", warehouse).args(args))
}

#[test]
fn help_lists_the_global_options_of_pitwall() {
    let dir = tempfile::tempdir().unwrap();
    let help = staging(dir.path(), &["--help"]).all();
    assert!(help.contains("Runs the staging layer alone against the warehouse"), "{help}");
    for option in ["--project-dir", "--target", "--warehouse", "--model-stage", "PITWALL_WAREHOUSE"] {
        assert!(help.contains(option), "no {option} in:\n{help}");
    }
}

#[test]
fn staging_alone_names_the_raw_table_it_lacks_and_builds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = dir.path().join("warehouse");
    let run = staging(&warehouse, &[]);
    let output = run.all();
    assert_eq!(run.code(), Some(1), "{output}");
    assert!(output.contains("'raw.circuits' is not in the warehouse"), "{output}");
    assert!(!warehouse.join("analytics").exists(), "{output}");
}
