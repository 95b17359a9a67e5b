//! Helpers for tests that run the real `pitwall` binary in an isolated target folder.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// `../shared` beside the checkout: the real data and expected outputs.
pub fn shared() -> PathBuf {
    let shared = workspace().join("../shared");
    assert!(shared.join("data/f1").is_dir(), "these tests need ../shared/data/f1 beside the checkout");
    shared
}

pub fn fixture(name: &str) -> PathBuf {
    workspace().join("fixtures").join(name)
}

pub struct Run {
    pub output: Output,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.output.status.success()
    }

    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs pitwall from the workspace root with artifacts and warehouse under `target`.
pub fn pitwall(target: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .current_dir(workspace())
        .env_remove("PITWALL_SOURCE")
        .env_remove("PITWALL_WAREHOUSE")
        .env("PITWALL_TARGET_PATH", target)
        .args(args)
        .output()
        .expect("pitwall runs");
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        output,
    }
}

/// Copies a source folder's CSVs to a new temporary folder for tampering.
pub fn copy_source(from: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "csv") {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    dir
}

/// The load report's row for `table`: `[read, loaded, rejected]`.
pub fn load_row(stdout: &str, table: &str) -> Option<[u64; 3]> {
    stdout.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [name, read, loaded, rejected] if *name == table => {
                Some([read.parse().ok()?, loaded.parse().ok()?, rejected.parse().ok()?])
            }
            _ => None,
        }
    })
}

/// `pitwall build` on the real data into `target`, then `export` of every model; returns
/// the export folder.
pub fn build_and_export(target: &Path) -> PathBuf {
    let build = pitwall(target, &["build"]);
    assert!(build.ok(), "{}", build.all());
    assert!(build.stdout.contains("ERROR=0 SKIP=0"), "{}", build.stdout);
    let out = target.join("export");
    let export = pitwall(target, &["export", "--out", out.to_str().unwrap()]);
    assert!(export.ok(), "{}", export.all());
    out
}

/// Runs `../shared/tools/compare_expected.py` on `models` and asserts they all match.
pub fn assert_models_match(exported: &Path, models: &[&str]) {
    let compare = Command::new("python3")
        .arg(shared().join("tools/compare_expected.py"))
        .arg(shared().join("expected/f1"))
        .arg(exported)
        .args(models)
        .output()
        .expect("python3 runs the comparison tool");
    let report = String::from_utf8_lossy(&compare.stdout);
    assert!(compare.status.success(), "{report}");
    assert!(report.contains(&format!("{0} of {0} models match", models.len())), "{report}");
}
