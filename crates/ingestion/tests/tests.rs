//! `cargo run -p ingestion`: the raw layer's binary, with the same options as `pitwall`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ingestion(target: &Path, args: &[&str]) -> (Output, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ingestion"))
        .current_dir(workspace())
        .env_remove("PITWALL_SOURCE")
        .env_remove("PITWALL_WAREHOUSE")
        .env("PITWALL_TARGET_PATH", target)
        .args(args)
        .output()
        .unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out, all)
}

#[test]
fn help_lists_the_global_options_of_pitwall() {
    let target = tempfile::tempdir().unwrap();
    let (out, help) = ingestion(target.path(), &["--help"]);
    assert!(out.status.success(), "{help}");
    for option in ["--project-dir", "--source", "--target-path", "--warehouse", "--model-stage", "PITWALL_SOURCE"] {
        assert!(help.contains(option), "no {option} in:\n{help}");
    }
    let (out, error) = ingestion(target.path(), &["--sauce", "x"]);
    assert_eq!(out.status.code(), Some(2), "{error}");
    assert!(error.contains("--sauce"), "{error}");
}

#[test]
fn source_option_loads_that_folder_into_the_raw_schema() {
    let target = tempfile::tempdir().unwrap();
    let tiny = workspace().join("fixtures/f1_tiny").canonicalize().unwrap();
    let (out, all) = ingestion(target.path(), &["--source", tiny.to_str().unwrap()]);
    assert!(out.status.success(), "{all}");
    assert!(all.contains(&format!("Loaded source formula1 from {}", tiny.display())), "{all}");
    assert!(all.contains("lap_times.csv line 9: expected 6 fields, found 4"), "{all}");
    let raw = target.path().join("warehouse/raw");
    for table in ["circuits", "constructors", "drivers", "lap_times", "pit_stops", "races", "results", "status"] {
        assert!(raw.join(format!("{table}.parquet")).is_file(), "{table} not stored:\n{all}");
    }
    assert!(target.path().join("load_report.json").is_file());
}
