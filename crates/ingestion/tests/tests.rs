//! `cargo run -p ingestion`: the raw layer's binary, with the same options as `pitwall`.

use std::path::Path;

use pitwall_test_servers::binary::{self, Run};
use pitwall_test_servers::workspace;

fn ingestion(target: &Path, args: &[&str]) -> Run {
    binary::run(binary::command(env!("CARGO_BIN_EXE_ingestion")).env("PITWALL_TARGET_PATH", target).args(args))
}

#[test]
fn help_lists_the_global_options_of_pitwall() {
    let target = tempfile::tempdir().unwrap();
    let help = ingestion(target.path(), &["--help"]);
    assert!(help.ok(), "{}", help.all());
    for option in ["--project-dir", "--source", "--target-path", "--warehouse", "--model-stage", "PITWALL_SOURCE"] {
        assert!(help.all().contains(option), "no {option} in:\n{}", help.all());
    }
    let error = ingestion(target.path(), &["--sauce", "x"]);
    assert_eq!(error.code(), Some(2), "{}", error.all());
    assert!(error.all().contains("--sauce"), "{}", error.all());
}

#[test]
fn source_option_loads_that_folder_into_the_raw_schema() {
    let target = tempfile::tempdir().unwrap();
    let tiny = workspace().join("fixtures/f1_tiny").canonicalize().unwrap();
    let load = ingestion(target.path(), &["--source", tiny.to_str().unwrap()]);
    let all = load.all();
    assert!(load.ok(), "{all}");
    assert!(all.contains(&format!("Loaded source formula1 from {}", tiny.display())), "{all}");
    assert!(all.contains("lap_times.csv line 9: expected 6 fields, found 4"), "{all}");
    let raw = target.path().join("warehouse/raw");
    for table in ["circuits", "constructors", "drivers", "lap_times", "pit_stops", "races", "results", "status"] {
        assert!(raw.join(format!("{table}.parquet")).is_file(), "{table} not stored:\n{all}");
    }
    assert!(target.path().join("load_report.json").is_file());
}
