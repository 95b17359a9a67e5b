//! Project chores: `cargo xtask build-all` (release build, then `pitwall build` on the
//! configured source).

use std::process::Command;

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  build-all [PITWALL ARGS...]   build the workspace in release, then run
                                `target/release/pitwall build [PITWALL ARGS...]`";

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
    run(Command::new(&cargo).current_dir(&root).args(["build", "--release", "--workspace"]))?;
    let pitwall = root.join("target/release/pitwall");
    run(Command::new(pitwall).current_dir(&root).arg("build").args(pitwall_args))
}
