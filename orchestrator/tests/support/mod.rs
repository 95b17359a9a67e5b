//! Helpers for tests that run the real `pitwall` binary in an isolated target folder,
//! on the data the project ships (`data/f1`, compared with `data/expected/f1`).

pub(crate) mod expected;
pub(crate) mod s3;
/// Only the Snowflake tests, which need the feature, use it.
#[cfg(feature = "snowflake")]
pub(crate) mod snowflake;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) use pitwall_test_servers::binary::Run;
pub(crate) use pitwall_test_servers::workspace;

/// The checkout's pitwall.toml, its project paths made absolute, so that a copy of it in a
/// temporary project folder still reads the checkout's models, tests and macros.
pub(crate) fn checkout_toml() -> String {
    let text = std::fs::read_to_string(workspace().join("pitwall.toml")).unwrap();
    assert!(text.contains("\"crates/"), "the checkout's project paths moved: update {}", file!());
    text.replace("\"crates/", &format!("\"{}/crates/", workspace().display()))
}

/// The real input, as the project bundles it (gzip CSVs).
pub(crate) fn real_data() -> PathBuf {
    workspace().join("data/f1")
}

/// Every model's expected output on the real input (gzip CSVs).
pub(crate) fn expected_outputs() -> PathBuf {
    workspace().join("data/expected/f1")
}

/// A gzip file's text.
pub(crate) fn gunzip(path: &Path) -> String {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .read_to_string(&mut text)
        .unwrap();
    text
}

pub(crate) fn fixture(name: &str) -> PathBuf {
    workspace().join("fixtures").join(name)
}

/// Runs pitwall from the workspace root with artifacts and warehouse under `target`.
pub(crate) fn pitwall(target: &Path, args: &[&str]) -> Run {
    pitwall_test_servers::binary::run(pitwall_command().env("PITWALL_TARGET_PATH", target).args(args))
}

/// The real binary from the workspace root, with none of this process's `PITWALL_*`
/// variables: a test says everything its run reads.
pub(crate) fn pitwall_command() -> Command {
    pitwall_test_servers::binary::command(env!("CARGO_BIN_EXE_pitwall"))
}

/// Copies a source folder's CSVs, gzip ones decompressed, to a new temporary folder
/// for tampering.
pub(crate) fn copy_source(from: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap();
        if let Some(csv) = name.strip_suffix(".gz") {
            std::fs::write(dir.path().join(csv), gunzip(&path)).unwrap();
        } else if name.ends_with(".csv") {
            std::fs::copy(&path, dir.path().join(name)).unwrap();
        }
    }
    dir
}

/// The load report's row for `table`: `[read, loaded, rejected]`.
pub(crate) fn load_row(stdout: &str, table: &str) -> Option<[u64; 3]> {
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

/// Asserts that `models` exported into `exported` equal the expected outputs, as data.
pub(crate) fn assert_models_match(exported: &Path, models: &[&str]) {
    expected::assert_models_match(&expected_outputs(), exported, models);
}

/// Every file under `dir`, relative to it, sorted.
pub(crate) fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    found.sort();
    found
}

/// Every file under `dir` with its bytes, sorted by relative path: what "the warehouse is
/// byte-identical" compares.
pub(crate) fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    files(dir).into_iter().map(|f| (f.clone(), std::fs::read(dir.join(&f)).unwrap())).collect()
}
