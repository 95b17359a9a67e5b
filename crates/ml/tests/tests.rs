//! `cargo run -p ml`: the ml layer's binary, with the same options as `pitwall`.

use pitwall_test_servers::binary::{self, Run};

fn ml(args: &[&str]) -> Run {
    binary::run(binary::command(env!("CARGO_BIN_EXE_ml")).args(args))
}

#[test]
fn help_lists_the_global_options_of_pitwall() {
    let help = ml(&["--help"]);
    assert!(help.ok(), "{}", help.all());
    for option in ["--project-dir", "--source", "--target-path", "--warehouse", "--model-stage", "PITWALL_MODEL_STAGE"]
    {
        assert!(help.all().contains(option), "no {option} in:\n{}", help.all());
    }
}

#[test]
fn model_stage_is_taken_and_a_missing_upstream_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let stage = dir.path().join("stage");
    let warehouse = dir.path().join("warehouse");
    let run = ml(&["--model-stage", stage.to_str().unwrap(), "--warehouse", warehouse.to_str().unwrap()]);
    let all = run.all();
    assert!(!run.ok(), "{all}");
    assert!(all.contains("Running the ml layer alone: 6 models"), "{all}");
    assert!(all.contains("'analytics.fct_results' is not in the warehouse"), "{all}");
}
