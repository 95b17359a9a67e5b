//! Embeds the starter project that `pitwall init` writes: the workshop's project as this
//! checkout keeps it, laid out as dbt lays out a project. By the checkout's convention
//! (which its `pitwall.toml` follows, and a test checks), each layer crate's `models/` is
//! the project folder named after the crate, its `data_tests/` is part of `tests/` and its
//! `macros/` of `macros/`; `data/f1` is the bundled data; `orchestrator/starter/` holds
//! the files of the project's root (its `pitwall.toml`, which uses dbt's default paths).

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest.parent().expect("the orchestrator sits in the workspace").to_path_buf();
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    let mut crates: Vec<PathBuf> =
        std::fs::read_dir(root.join("crates")).expect("crates/").filter_map(|e| Some(e.ok()?.path())).collect();
    crates.sort();
    for krate in crates.iter().filter(|c| c.is_dir()) {
        let name = krate.file_name().and_then(|n| n.to_str()).expect("a crate folder's name");
        embed(&krate.join("models"), &format!("models/{name}"), &mut files);
        embed(&krate.join("data_tests"), "tests", &mut files);
        embed(&krate.join("macros"), "macros", &mut files);
    }
    embed(&root.join("data/f1"), "data/f1", &mut files);
    embed(&manifest.join("starter"), "", &mut files);
    let mut out = String::from(
        "/// The starter project: (path in the project, contents).\npub(crate) static FILES: &[(&str, &[u8])] = &[\n",
    );
    for (path, source) in &files {
        writeln!(out, "    ({path:?}, include_bytes!({:?})),", source.display().to_string()).expect("a String");
    }
    out.push_str("];\n");
    let target = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("starter.rs");
    std::fs::write(target, out).expect("writing starter.rs");
}

/// Every file under `dir` (hidden ones skipped), as `dest/<path under dir>`; the folder
/// is watched so an added or edited file rebuilds the starter.
fn embed(dir: &Path, dest: &str, files: &mut Vec<(String, PathBuf)>) {
    println!("cargo::rerun-if-changed={}", dir.display());
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).expect("a UTF-8 file name").to_owned();
        if name.starts_with('.') && name != ".gitignore" {
            continue;
        }
        let inner = if dest.is_empty() { name } else { format!("{dest}/{name}") };
        if path.is_dir() {
            embed(&path, &inner, files);
        } else {
            files.push((inner, path));
        }
    }
}
