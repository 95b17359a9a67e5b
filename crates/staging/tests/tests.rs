//! `cargo run -p staging`: the staging layer's binary, run as a user runs it. Only the
//! binary is used (no library of the workspace), so this test links no DataFusion; the
//! layer run on real raw tables is the orchestrator suite's `layers` test.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn staging(warehouse: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_staging"))
        .current_dir(workspace())
        .env("PITWALL_WAREHOUSE", warehouse)
        .args(args)
        .output()
        .unwrap();
    (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn help_lists_the_global_options_of_pitwall() {
    let dir = tempfile::tempdir().unwrap();
    let (code, help) = staging(dir.path(), &["--help"]);
    assert_eq!(code, Some(0), "{help}");
    assert!(help.contains("Runs the staging layer alone against the warehouse"), "{help}");
    for option in ["--project-dir", "--target", "--warehouse", "--model-stage", "PITWALL_WAREHOUSE"] {
        assert!(help.contains(option), "no {option} in:\n{help}");
    }
}

#[test]
fn staging_alone_names_the_raw_table_it_lacks_and_builds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = dir.path().join("warehouse");
    let (code, output) = staging(&warehouse, &[]);
    assert_eq!(code, Some(1), "{output}");
    assert!(output.contains("'raw.circuits' is not in the warehouse"), "{output}");
    assert!(!warehouse.join("analytics").exists(), "{output}");
}
