//! Project chores: `cargo xtask build-all` (release build, then `pitwall build` on the
//! configured source).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  build-all [PITWALL ARGS...]   build the workspace in release, then run the
                                built `pitwall build [PITWALL ARGS...]`";

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("build-all") => build_all(args.collect()),
        Some("-h" | "--help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown task '{other}'\n\n{USAGE}"),
    }
}

fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace").to_path_buf()
}

fn run(command: &mut Command) -> Result<()> {
    let status = command.status().with_context(|| format!("cannot start {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}

fn build_all(pitwall_args: Vec<String>) -> Result<()> {
    let root = workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // The binary's path comes from cargo itself: CARGO_TARGET_DIR or build.target-dir can
    // put it anywhere. Diagnostics are rendered to stderr, which stays on the terminal.
    let mut build = Command::new(&cargo);
    build
        .current_dir(&root)
        .args(["build", "--release", "--workspace", "--message-format=json-render-diagnostics"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let output = build.output().with_context(|| format!("cannot start {build:?}"))?;
    if !output.status.success() {
        bail!("{build:?} failed with {}", output.status);
    }
    let messages = String::from_utf8_lossy(&output.stdout);
    let pitwall = executable(&messages, "pitwall").context("cargo build reported no pitwall executable")?;
    run(Command::new(pitwall).current_dir(&root).arg("build").args(pitwall_args))
}

/// The executable of binary target `bin`, from cargo's JSON messages (one per line; lines
/// that are not JSON, such as a build script's output, are skipped).
fn executable(messages: &str, bin: &str) -> Option<PathBuf> {
    messages.lines().filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok()).find_map(|message| {
        let target = &message["target"];
        let is_bin = target["kind"].as_array().is_some_and(|kinds| kinds.iter().any(|kind| kind == "bin"));
        if message["reason"] != "compiler-artifact" || target["name"] != bin || !is_bin {
            return None;
        }
        message["executable"].as_str().map(PathBuf::from)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGES: &str = r#"{"reason":"compiler-artifact","package_id":"path+file:///w/crates/core#pitwall-core@0.1.0","manifest_path":"/w/crates/core/Cargo.toml","target":{"kind":["lib"],"crate_types":["lib"],"name":"pitwall_core","src_path":"/w/crates/core/src/lib.rs","edition":"2024","doc":true,"doctest":false,"test":true},"profile":{"opt_level":"3","debuginfo":0,"debug_assertions":false,"overflow_checks":false,"test":false},"features":[],"filenames":["/tmp/t/release/libpitwall_core.rlib"],"executable":null,"fresh":true}
{"reason":"compiler-artifact","package_id":"path+file:///w/crates/ingestion#ingestion@0.1.0","manifest_path":"/w/crates/ingestion/Cargo.toml","target":{"kind":["bin"],"crate_types":["bin"],"name":"ingestion","src_path":"/w/crates/ingestion/src/main.rs","edition":"2024","doc":true,"doctest":false,"test":true},"profile":{"opt_level":"3","debuginfo":0,"debug_assertions":false,"overflow_checks":false,"test":false},"features":[],"filenames":["/tmp/t/release/ingestion"],"executable":"/tmp/t/release/ingestion","fresh":false}
{"reason":"compiler-artifact","package_id":"path+file:///w/orchestrator#orchestrator@0.1.0","manifest_path":"/w/orchestrator/Cargo.toml","target":{"kind":["bin"],"crate_types":["bin"],"name":"pitwall","src_path":"/w/orchestrator/src/main.rs","edition":"2024","doc":true,"doctest":false,"test":false},"profile":{"opt_level":"3","debuginfo":0,"debug_assertions":false,"overflow_checks":false,"test":false},"features":[],"filenames":["/tmp/t/release/pitwall"],"executable":"/tmp/t/release/pitwall","fresh":false}
{"reason":"build-finished","success":true}"#;

    #[test]
    fn finds_the_named_binary() {
        assert_eq!(executable(MESSAGES, "pitwall"), Some(PathBuf::from("/tmp/t/release/pitwall")));
        assert_eq!(executable(MESSAGES, "ingestion"), Some(PathBuf::from("/tmp/t/release/ingestion")));
    }

    #[test]
    fn a_library_or_an_absent_target_is_not_an_executable() {
        assert_eq!(executable(MESSAGES, "pitwall_core"), None);
        assert_eq!(executable(MESSAGES, "nope"), None);
        assert_eq!(executable("", "pitwall"), None);
    }

    #[test]
    fn lines_that_are_not_json_are_skipped() {
        let messages = format!("warning: build script says hello\n{{not json\n{MESSAGES}");
        assert_eq!(executable(&messages, "pitwall"), Some(PathBuf::from("/tmp/t/release/pitwall")));
    }
}
