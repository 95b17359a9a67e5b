//! `cargo run -p ml`: the ml layer's binary, with the same options as `pitwall`.

use std::path::PathBuf;
use std::process::{Command, Output};

fn ml(args: &[&str]) -> (Output, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ml"))
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .args(args)
        .output()
        .unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out, all)
}

#[test]
fn help_lists_the_global_options_of_pitwall() {
    let (out, help) = ml(&["--help"]);
    assert!(out.status.success(), "{help}");
    for option in ["--project-dir", "--source", "--target-path", "--warehouse", "--model-stage", "PITWALL_MODEL_STAGE"]
    {
        assert!(help.contains(option), "no {option} in:\n{help}");
    }
}

#[test]
fn model_stage_is_taken_and_a_missing_upstream_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let stage = dir.path().join("stage");
    let warehouse = dir.path().join("warehouse");
    let (out, all) = ml(&["--model-stage", stage.to_str().unwrap(), "--warehouse", warehouse.to_str().unwrap()]);
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("Running the ml layer alone: 6 models"), "{all}");
    assert!(all.contains("'analytics.fct_results' is not in the warehouse"), "{all}");
}
