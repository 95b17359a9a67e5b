//! Project chores: `cargo xtask build-all` (release build, then `pitwall build` on the
//! configured source), `cargo xtask bench` (pitwall against a DuckDB peer on scaled-up
//! data, or with `--project-models N` against dbt-core parsing a generated project) and
//! `cargo xtask tidy` (the architecture's rules, checked; also run by `cargo test`) and
//! `cargo xtask cluster up` (a local Ballista cluster of pitwall processes).
//!
//! It must never depend on pitwall's crates (it builds in seconds, and measures or checks
//! them from outside) nor change the checkout it works on.

mod bench;
mod cluster;
mod tidy;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  build-all [PITWALL ARGS...]   build the workspace in release, then run the
                                built `pitwall build [PITWALL ARGS...]`
  tidy                          check the architecture's rules: crates depend only
                                downwards, only the registry names layers, crate
                                roots say what they must never do, manifests use
                                the workspace lints and no doctests, no function
                                over 80 lines without a `// Long:` reason
  cluster up [--executors N] [--bin PATH]
                                a local Ballista cluster for development: a pitwall
                                scheduler on 127.0.0.1:50050 and N executors (default
                                2; work folders in target/cluster/) from the release
                                build (or PATH), until Ctrl-C
  bench [OPTIONS] [-- PITWALL ARGS...]
                                time pitwall's release build (clean, no-op and
                                one-model edit) against two DuckDB peers on
                                the data scaled up; results in target/bench/
  bench --project-models N [--runs R] [--warmup W] [--bin PATH]
                                time how fast pitwall reads a generated project
                                of N models against dbt-core; results in
                                target/bench/project-<N>.json and .md

bench options:
  --scale 1,10,100    data scales (default 1,10,100): x<n> is the source plus n-1
                      copies of races, results, pit_stops and lap_times with ids
                      shifted and years +100 per copy, generated once into
                      target/bench/data/x<n>/
  --runs N            timed rounds per scale (default 3): pitwall's clean build
                      (fresh output folder), its no-op build (same warehouse,
                      nothing changed), its build after a token change to
                      pit_stops_joined.sql (undone after), then each peer's
                      full run; the median time, the highest peak RSS and the
                      reused / built counts of run_results.json are reported,
                      each row's ratios against each peer's full run
  --warmup N          untimed rounds first (default 1); after the first round,
                      pitwall's warehouse (as the edit build left it) and
                      each peer must give the same row count for every table
  --bin PATH          an already built pitwall (default: build it in release)
  --source DIR        the data to scale up (default data/f1)
  --project-dir DIR   the project (its pitwall.toml), copied into
                      target/bench/project-copy where every run happens and
                      the edit is made (default: the workspace root)
  --pitwall-arg ARG   an extra argument of each `pitwall build` (repeatable, as
                      --pitwall-arg=--engine=ballista); so are those after `--`
  --project-models N  instead of the above, the parse benchmark (1 to 100000
                      models): a dbt-style project generated into
                      target/bench/project/n<N>/ (models/f000/m00000.sql ..., in
                      folders of 100, each joining earlier models, a properties
                      file per folder, a not_null test per model), read by both;
                      `pitwall ls` timed against `dbt parse` and `pitwall compile`
                      against `dbt compile`, dbt with --no-partial-parse; takes
                      only --runs, --warmup (the first untimed run of each is
                      checked, so at least 1) and --bin

The peers (xtask/peer/) are DuckDB from PyPI, each timed as one Python process doing
the relational part only (the CSVs loaded, every staging, intermediate and marts
model as a table, every table written to Parquet; no ML, no tests): DuckDB 2.0.0 in
target/venv-bench2 on idiomatic SQL written for it (xtask/peer/idiomatic/:
quantile_cont, a window, round; the peer of SPEC's targets), and DuckDB 1.5.6 in
target/venv-bench on pitwall's own compiled SQL. The parse benchmark's peer is dbt-core with
dbt-duckdb from PyPI (xtask/peer/dbt-parse-requirements.txt), installed into
target/venv-dbt-parse; dbt runs offline, its usage statistics off. The loader's
own throughput (MB/s) is a criterion benchmark, run separately: cargo bench -p
ingestion";

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("build-all") => build_all(args.collect()),
        Some("bench") => bench::main(args.collect(), USAGE),
        Some("tidy") => tidy::main(&workspace_root()),
        Some("cluster") => cluster::main(args.collect(), &workspace_root()),
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
    let pitwall = build_release(&root)?;
    run(Command::new(pitwall).current_dir(&root).arg("build").args(pitwall_args))
}

/// Builds the workspace in release, with its default features (Ballista's engine and
/// `pitwall cluster` among them: the one binary to copy to a cluster's machines), and
/// returns the pitwall executable.
pub(crate) fn build_release(root: &std::path::Path) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // The binary's path comes from cargo itself: CARGO_TARGET_DIR or build.target-dir can
    // put it anywhere. Diagnostics are rendered to stderr, which stays on the terminal.
    let mut build = Command::new(&cargo);
    build
        .current_dir(root)
        .args(["build", "--release", "--workspace"])
        .arg("--message-format=json-render-diagnostics")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let output = build.output().with_context(|| format!("cannot start {build:?}"))?;
    if !output.status.success() {
        bail!("{build:?} failed with {}", output.status);
    }
    let messages = String::from_utf8_lossy(&output.stdout);
    executable(&messages, "pitwall").context("cargo build reported no pitwall executable")
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
