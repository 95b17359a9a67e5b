//! `cargo xtask bench`: pitwall's full build against two DuckDB peers doing the relational
//! part, on the real data scaled up, timed run by run, alternating pitwall and the peers.
//!
//! Per scale: generate the data (`generate`), then run rounds: pitwall's clean build, a
//! no-op build and a one-model edit build into the same warehouse (`reuse`), then each
//! peer's full run. The first (warm-up) round checks that every peer produces pitwall's
//! row count for every relation; `runs` rounds are timed (`measure`: wall time and peak
//! RSS of the child process), and medians, peaks and ratios reported (`report`), each of
//! pitwall's three builds against each peer's full run, since DuckDB has no state to
//! reuse. The peers (`peer`, `xtask/peer/`) create every non-ML model as a table in
//! DuckDB: DuckDB 2.0 on idiomatic SQL written for it (the peer SPEC's targets are set
//! against), and DuckDB 1.5 on pitwall's own compiled SQL. Everything runs in a copy of
//! the project, where the edit is made.
//!
//! `--project-models N` runs the other benchmark instead (`project`): how fast pitwall
//! reads a generated project of N models, against dbt-core.

mod args;
mod generate;
mod measure;
mod peer;
mod project;
mod report;
mod reuse;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::json;

use self::args::{BenchArgs, Parsed};
use self::measure::Sample;
use self::peer::{PeerKind, Relation};
use self::report::{ScaleResult, ScaleSamples};
use self::reuse::{Build, ModelEdit, NodeCounts};

/// pitwall's switch that turns reuse off for every build (`PITWALL_NO_REUSE=1`).
const NO_REUSE_ENV: &str = "PITWALL_NO_REUSE";

/// Names pitwall's run folder and logs, as a peer's key names its.
const PITWALL: &str = "pitwall";

/// A DuckDB peer, installed and ready to run.
struct Peer {
    kind: PeerKind,
    /// `DuckDB 2.0.0 idiomatic`: how messages and the table name it.
    name: String,
    version: String,
    python: PathBuf,
    /// The folder of model statements (both peers load the CSVs with `xtask/peer/raw.sql`).
    models: PathBuf,
}

impl Peer {
    /// Installs `kind`'s venv (in `target`) and names the SQL it runs: `models`, its
    /// folder of model statements.
    fn install(kind: PeerKind, peer_dir: &Path, target: &Path, models: PathBuf) -> Result<Peer> {
        let (python, version) = peer::install(&peer_dir.join(kind.requirements), &target.join(kind.venv))?;
        let name = format!("DuckDB {version} {}", kind.label);
        Ok(Peer { kind, name, version, python, models })
    }

    fn to_json(&self) -> serde_json::Value {
        json!({
            "name": self.name,
            "version": self.version,
            "sql": self.kind.description,
            "models": self.models,
        })
    }
}

/// Everything a run needs, set up once.
struct Bench {
    /// Where pitwall runs and the peer too: the bench's copy of the project.
    project: PathBuf,
    /// The file the one-model edit changes, in `project`.
    edited_model: PathBuf,
    /// Whether this pitwall reuses (so its no-op build must reuse every model).
    reuse_expected: bool,
    dir: PathBuf,
    pitwall: PathBuf,
    pitwall_args: Vec<String>,
    peer_script: PathBuf,
    /// The target peer first.
    peers: Vec<Peer>,
}

impl Bench {
    /// The output folder of pitwall's runs (`PITWALL`) or a peer's (its key).
    fn run_dir(&self, key: &str) -> PathBuf {
        self.dir.join("run").join(key)
    }

    fn log(&self, key: &str, label: &str) -> PathBuf {
        self.dir.join("logs").join(format!("{key}-{label}.log"))
    }

    /// `key`'s output folder, emptied: each clean build or peer run starts from nothing.
    fn fresh_run_dir(&self, key: &str) -> Result<PathBuf> {
        let out = self.run_dir(key);
        if out.exists() {
            fs::remove_dir_all(&out).with_context(|| format!("cannot remove {}", out.display()))?;
        }
        fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
        Ok(out)
    }

    /// pitwall's clean build of `data` into a fresh output folder; `label` names its log.
    fn clean_build(&self, data: &Path, label: &str) -> Result<Sample> {
        self.fresh_run_dir(PITWALL)?;
        measure::measure(&mut self.build_command(data), &self.log(PITWALL, label))
    }

    /// One full run of `peer` on `data` in a fresh output folder; `label` names its log.
    fn run_peer(&self, peer: &Peer, data: &Path, label: &str) -> Result<Sample> {
        self.fresh_run_dir(peer.kind.key)?;
        measure::measure(&mut self.peer_command(peer, data), &self.log(peer.kind.key, label))
    }

    /// `pitwall build` into the output folder of the last one, reusing what it stored.
    fn rebuild(&self, data: &Path, label: &str) -> Result<Sample> {
        measure::measure(&mut self.build_command(data), &self.log(PITWALL, label))
    }

    fn build_command(&self, data: &Path) -> Command {
        let mut command = Command::new(&self.pitwall);
        command.current_dir(&self.project).arg("build").args(pitwall_locations(data, &self.run_dir(PITWALL)));
        command.args(&self.pitwall_args);
        // Set in the caller's shell, it would turn the no-op row into a clean build.
        command.env_remove(NO_REUSE_ENV);
        command
    }

    fn peer_command(&self, peer: &Peer, data: &Path) -> Command {
        let out = self.run_dir(peer.kind.key);
        let mut command = Command::new(&peer.python);
        command
            .current_dir(&self.project)
            .arg(&self.peer_script)
            .arg("--data")
            .arg(data)
            .arg("--models")
            .arg(&peer.models)
            .arg("--out")
            .arg(&out)
            .arg("--report")
            .arg(out.join("report.json"));
        command
    }

    /// One of pitwall's three builds of a round, and its counts of reused and built
    /// nodes, checked against what the build is meant to measure. The edit is undone
    /// before this returns, on an error too.
    fn build(&self, build: Build, data: &Path, label: &str) -> Result<(Sample, NodeCounts)> {
        let sample = match build {
            Build::Clean => self.clean_build(data, label)?,
            Build::NoOp => self.rebuild(data, label)?,
            Build::Edit => {
                let edit = ModelEdit::apply(&self.edited_model)?;
                let sample = self.rebuild(data, label)?;
                edit.restore()?;
                sample
            }
        };
        let run_results = reuse::read_run_results(&self.run_dir(PITWALL))?;
        let counts = reuse::check(build, &run_results, self.reuse_expected)?;
        Ok((sample, counts))
    }

    /// `peer`'s report of its last run.
    fn peer_report(&self, peer: &Peer) -> Result<serde_json::Value> {
        let path = self.run_dir(peer.kind.key).join("report.json");
        let text =
            fs::read_to_string(&path).with_context(|| format!("cannot read the peer's report {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
    }

    /// Compares the row count of every raw table and peer model between pitwall's last
    /// run and each peer's; returns how many relations matched, or an error listing the
    /// differences of every peer.
    fn check_rows(&self, data: &Path, relations: &[&Relation]) -> Result<usize> {
        let out = self.run_dir(PITWALL);
        let printed = peer::output(
            Command::new(&self.pitwall)
                .current_dir(&self.project)
                .args(["query", &peer::count_query(relations)])
                .args(pitwall_locations(data, &out)),
        )?;
        let pitwall = peer::parse_counts(&printed)?;
        if pitwall.len() != relations.len() {
            bail!("pitwall query counted {} relations, not {}:\n{printed}", pitwall.len(), relations.len());
        }
        let mut differences = Vec::new();
        for peer in &self.peers {
            let counts: BTreeMap<String, u64> = serde_json::from_value(self.peer_report(peer)?["rows"].clone())
                .with_context(|| format!("the report of {} has no row counts", peer.name))?;
            differences.extend(peer::count_differences(&pitwall, &counts, &peer.name));
        }
        if !differences.is_empty() {
            bail!(
                "pitwall and a DuckDB peer disagree on row counts, so they did not do the same work:\n  {}",
                differences.join("\n  ")
            );
        }
        Ok(pitwall.len())
    }
}

/// The location options of a pitwall run writing into `out`.
fn pitwall_locations(data: &Path, out: &Path) -> Vec<std::ffi::OsString> {
    let mut args = Vec::new();
    for (option, path) in [
        ("--source", data.to_path_buf()),
        ("--target-path", out.to_path_buf()),
        ("--warehouse", out.join("warehouse")),
        ("--model-stage", out.join("model_stage")),
    ] {
        args.push(option.into());
        args.push(path.into_os_string());
    }
    args
}

/// Cargo's target folder (CARGO_TARGET_DIR and build.target-dir included).
fn target_dir(root: &Path) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let metadata = peer::output(Command::new(cargo).current_dir(root).args([
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
        "--offline",
    ]))?;
    let metadata: serde_json::Value = serde_json::from_str(&metadata).context("cargo metadata printed no JSON")?;
    metadata["target_directory"].as_str().map(PathBuf::from).context("cargo metadata gave no target_directory")
}

fn format_sample(sample: Sample) -> String {
    format!("{:.2} s, {}", sample.seconds, report::mib(sample.peak_rss_kib))
}

/// The machine, as results.json records it.
fn machine() -> serde_json::Value {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                l.strip_prefix("model name").map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_default();
    let memory_kib = fs::read_to_string("/proc/meminfo").ok().and_then(|text| {
        text.lines().find_map(|l| l.strip_prefix("MemTotal:")?.trim().strip_suffix("kB")?.trim().parse::<u64>().ok())
    });
    json!({
        "nproc": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "cpu": cpu,
        "memory_mib": memory_kib.map(|kib| kib / 1024),
        "os": std::env::consts::OS,
        "loadavg": load_average(),
    })
}

/// /proc/loadavg's 1, 5 and 15 minute averages: other work on the machine skews timings.
fn load_average() -> Option<String> {
    let text = fs::read_to_string("/proc/loadavg").ok()?;
    Some(text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

fn git(root: &Path, args: &[&str]) -> Option<String> {
    peer::output(Command::new("git").current_dir(root).args(args)).ok().map(|s| s.trim().to_owned())
}

/// The commit a binary built here was built from (with a note of local changes).
/// The commit of a binary built here and how the report names the binary: the commit
/// only of one built here, since a given one may come from anywhere.
fn described_binary(
    root: &Path,
    pitwall: &Path,
    version: &str,
    build_seconds: Option<f64>,
) -> (Option<String>, String) {
    let commit = build_seconds.and_then(|_| built_commit(root));
    let binary = match &commit {
        Some(commit) => format!("release build of {commit}"),
        None => format!("{version} at {}", pitwall.display()),
    };
    (commit, binary)
}

/// `1 run`, `3 runs`.
fn plural(n: u32, word: &str) -> String {
    if n == 1 { format!("{n} {word}") } else { format!("{n} {word}s") }
}

fn built_commit(root: &Path) -> Option<String> {
    let commit = git(root, &["rev-parse", "--short", "HEAD"])?;
    let dirty = git(root, &["status", "--porcelain"]).is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{commit} with local changes") } else { commit })
}

/// The pitwall to time: `bin`, or else a release build of the workspace at `root`, with
/// the build's time in seconds. The path is absolute, as runs start in other folders.
fn pitwall_binary(bin: Option<PathBuf>, root: &Path) -> Result<(PathBuf, Option<f64>)> {
    let mut build_seconds = None;
    let pitwall = match bin {
        Some(bin) => bin,
        None => {
            println!("building release (cargo build --release --workspace) ...");
            let started = Instant::now();
            let pitwall = crate::build_release(root)?;
            build_seconds = Some(started.elapsed().as_secs_f64());
            println!("built {} in {:.1} s", pitwall.display(), started.elapsed().as_secs_f64());
            pitwall
        }
    };
    let pitwall = fs::canonicalize(&pitwall).with_context(|| format!("no pitwall at {}", pitwall.display()))?;
    Ok((pitwall, build_seconds))
}

pub(crate) fn main(args: Vec<String>, usage: &str) -> Result<()> {
    match args::parse(args)? {
        Parsed::Help => {
            println!("{usage}");
            Ok(())
        }
        Parsed::Bench(args) => scales(args),
        Parsed::Project(args) => project::run(args),
    }
}

/// The data of scale `scale` under the bench folder, generated unless it is already.
fn scale_data(bench: &Bench, source: &Path, scale: u32) -> Result<PathBuf> {
    let data = bench.dir.join("data").join(format!("x{scale}"));
    println!("data x{scale}: {} ...", data.display());
    let started = Instant::now();
    if generate::ensure(source, scale, &data)? {
        println!("generated x{scale} in {:.1} s", started.elapsed().as_secs_f64());
    } else {
        println!("x{scale} was generated already (complete): reused");
    }
    Ok(data)
}

/// One round: pitwall's clean, no-op and one-model edit builds into one warehouse, then
/// each peer's full run; kept in `timed` unless it is a warm-up round.
fn measure_round(bench: &Bench, data: &Path, scale: u32, label: &str, timed: Option<&mut ScaleSamples>) -> Result<()> {
    let file_label = format!("x{scale}-{}", label.replace(['/', ' '], "-"));
    let mut builds = Vec::new();
    for build in Build::ALL {
        let (sample, counts) = bench.build(build, data, &format!("{file_label}-{}", build.key()))?;
        println!("{label} pitwall {} x{scale}: {} ({counts})", build.label(), format_sample(sample));
        builds.push((sample, counts));
    }
    let mut peers = Vec::new();
    for peer in &bench.peers {
        let sample = bench.run_peer(peer, data, &file_label)?;
        println!("{label} {} x{scale}: {}", peer.name, format_sample(sample));
        let in_process = bench.peer_report(peer)?["in_process_seconds"].as_f64().unwrap_or(f64::NAN);
        peers.push((sample, in_process));
    }
    if let Some(samples) = timed {
        for (index, (sample, counts)) in builds.into_iter().enumerate() {
            samples.pitwall[index].push(sample);
            samples.counts[index].push(counts);
        }
        for (timed_peer, (sample, in_process)) in samples.peers.iter_mut().zip(peers) {
            timed_peer.samples.push(sample);
            timed_peer.in_process_seconds.push(in_process);
        }
    }
    Ok(())
}

/// One scale: its data generated (once), then `warmup` and `runs` rounds, the row counts
/// checked after the first (pitwall's warehouse as the one-model edit left it).
fn measure_scale(
    bench: &Bench,
    source: &Path,
    scale: u32,
    (runs, warmup): (u32, u32),
    checked: &[&Relation],
) -> Result<ScaleResult> {
    let data = scale_data(bench, source, scale)?;
    let input_bytes = generate::folder_bytes(&data)?;
    let mut rows_checked = 0;
    let mut samples = ScaleSamples::new(bench.peers.iter().map(|peer| peer.name.clone()));
    for round in 0..warmup + runs {
        let timed = round >= warmup;
        let label = if timed {
            format!("run {}/{runs}", round - warmup + 1)
        } else {
            format!("warm-up {}/{warmup}", round + 1)
        };
        measure_round(bench, &data, scale, &label, timed.then_some(&mut samples))?;
        if round == 0 {
            rows_checked = bench.check_rows(&data, checked)?;
            println!("row counts: the same in pitwall and every peer for all {rows_checked} relations");
        }
    }
    let result = samples.into_result(scale, input_bytes, rows_checked);
    for row in &result.builds {
        for (peer, ratios) in result.peers.iter().zip(&row.ratios) {
            println!(
                "x{scale} {}: pitwall {:.2} s, {} full run {:.2} s: ratio {:.2}x time, {:.2}x peak RSS",
                row.build.label(),
                row.pitwall.median_seconds,
                peer.label,
                peer.tool.median_seconds,
                ratios.time,
                ratios.rss
            );
        }
    }
    Ok(result)
}

/// What `pitwall compile -s <the peer's layers>` tells the bench.
struct PeerCompile {
    /// The models and sources its manifest lists.
    models: Vec<Relation>,
    sources: Vec<Relation>,
    /// The project's data tests, for the caption.
    tests: usize,
    /// The compiled SQL it printed.
    sql: String,
    /// The file of the model the one-model edit changes.
    edited_model: PathBuf,
}

/// `pitwall compile -s <the peer's layers>` in `project`, and what its manifest says.
fn compile_peer(pitwall: &Path, project: &Path, dir: &Path) -> Result<PeerCompile> {
    println!("compiling the peer's SQL (pitwall compile -s {}) ...", peer::LAYERS.join(" "));
    let compile_dir = dir.join("compile");
    let sql = peer::output(
        Command::new(pitwall)
            .current_dir(project)
            .arg("compile")
            .arg("-s")
            .args(peer::LAYERS)
            .arg("--target-path")
            .arg(&compile_dir)
            .arg("--warehouse")
            .arg(compile_dir.join("warehouse")),
    )?;
    let manifest_path = compile_dir.join("manifest.json");
    let text =
        fs::read_to_string(&manifest_path).with_context(|| format!("cannot read {}", manifest_path.display()))?;
    let (models, sources) = peer::relations(&text)?;
    let manifest: serde_json::Value = serde_json::from_str(&text)?;
    let tests = manifest["nodes"]
        .as_object()
        .map_or(0, |nodes| nodes.values().filter(|n| n["resource_type"] == "test").count());
    let edited_model = reuse::model_file(&manifest, project, reuse::EDITED_MODEL)?;
    Ok(PeerCompile { models, sources, tests, sql, edited_model })
}

/// The peer's SQL of each model, split from the compiled SQL and written into
/// `<bench>/peer-models`: that folder, and each model with its SQL.
fn write_peer_models<'a>(compiled: &'a PeerCompile, dir: &Path) -> Result<(PathBuf, Vec<(&'a Relation, String)>)> {
    let peer_sql = peer::split_compiled(&compiled.sql, &compiled.models)?;
    if peer_sql.is_empty() {
        bail!("pitwall compile printed no model of {}", peer::LAYERS.join(", "));
    }
    let peer_models = dir.join("peer-models");
    peer::write_models(&peer_models, &peer_sql)?;
    Ok((peer_models, peer_sql))
}

/// What a scale benchmark ran, for its report.
struct Summary<'a> {
    root: &'a Path,
    dir: &'a Path,
    pitwall: &'a Path,
    pitwall_version: &'a str,
    build_seconds: Option<f64>,
    pitwall_args: &'a [String],
    reuse_expected: bool,
    /// The edited model's file, relative to the project.
    edited_model: String,
    models: usize,
    tests: usize,
    sources: usize,
    /// The target peer first.
    peers: &'a [Peer],
    /// The models each peer builds, as `schema.name`.
    peer_models: Vec<String>,
    source: &'a Path,
    runs: u32,
    warmup: u32,
}

/// The text above the table: what was run, on what, and how to read the ratios.
fn caption(s: &Summary<'_>, machine: &serde_json::Value, binary: &str, date: &str) -> String {
    let extra = if s.pitwall_args.is_empty() { String::new() } else { format!(" {}", s.pitwall_args.join(" ")) };
    let peers: Vec<String> = s.peers.iter().map(|peer| format!("{}: {}", peer.name, peer.kind.description)).collect();
    format!(
        "Median wall time of {} per build, alternating pitwall and the DuckDB peers after {} of each, and the \
         highest peak RSS. Scale xN is the real data with N - 1 copies of races, results, pit_stops and \
         lap_times as new seasons. pitwall ({binary}): `pitwall build{extra}`, everything: the {} source CSVs \
         loaded and stored as Parquet, {} models (the ML model's training and prediction included) and {} data \
         tests; three builds per round: clean (a fresh output folder), no-op (again into the same warehouse, \
         nothing changed) and one-model edit (again, after `{}` is appended to {}, which changes its SQL tokens \
         but not its rows; the file is restored after the build). Reused / built are the nodes' statuses in \
         run_results.json. Each DuckDB peer (Python, in memory) does only the relational part: the same CSVs \
         loaded with the source's column types, the {} SQL models of {} each created as a table, every table \
         written to Parquet; no ML, no tests. {}. A peer re-runs everything; each ratio = that peer's full run \
         / pitwall, the same peer runs in all three rows: above 1, pitwall is faster or needs less memory. \
         {}, {} cores, {} MiB; {date}.",
        plural(s.runs, "run"),
        plural(s.warmup, "warm-up run"),
        s.sources,
        s.models,
        s.tests,
        reuse::HARMLESS_PREDICATE,
        s.edited_model,
        s.peer_models.len(),
        peer::LAYERS.join(", "),
        peers.join(". "),
        machine["cpu"].as_str().filter(|c| !c.is_empty()).unwrap_or("this machine"),
        machine["nproc"].as_u64().unwrap_or(0),
        machine["memory_mib"].as_u64().unwrap_or(0),
    )
}

/// Prints the table and writes `results.json` and `results.md` with their caption.
fn write_results(s: &Summary<'_>, results: &[ScaleResult], load_before: Option<String>) -> Result<()> {
    let mut machine = machine();
    machine["loadavg_before"] = json!(load_before);
    let (commit, binary) = described_binary(s.root, s.pitwall, s.pitwall_version, s.build_seconds);
    let date = report::now_utc();
    let caption = caption(s, &machine, &binary, &date);

    println!("\n{}\n", report::text_table(results));
    let json_path = s.dir.join("results.json");
    let markdown_path = s.dir.join("results.md");
    let document = json!({
        "date": date,
        "machine": machine,
        "pitwall": {
            "version": s.pitwall_version,
            "commit": commit,
            "binary": s.pitwall,
            "args": s.pitwall_args,
            "release_build_seconds": s.build_seconds,
            "models": s.models,
            "tests": s.tests,
            "reuse_expected": s.reuse_expected,
        },
        "edit": { "model": s.edited_model, "appended": reuse::HARMLESS_PREDICATE },
        "peers": s.peers.iter().map(Peer::to_json).collect::<Vec<_>>(),
        "peer_models": s.peer_models,
        "source": s.source,
        "runs": s.runs,
        "warmup": s.warmup,
        "caption": caption,
        "scales": results.iter().map(ScaleResult::to_json).collect::<Vec<_>>(),
    });
    fs::write(&json_path, serde_json::to_string_pretty(&document)? + "\n")
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    fs::write(&markdown_path, report::markdown(results, &caption))
        .with_context(|| format!("cannot write {}", markdown_path.display()))?;
    println!("{caption}\n\nwrote {} and {}", json_path.display(), markdown_path.display());
    Ok(())
}

/// `project` copied to `<bench>/project-copy`, where every run happens and the one-model
/// edit is made, so the bench never modifies the project itself.
fn project_copy(project: &Path, dir: &Path, target: &Path) -> Result<PathBuf> {
    let copy = dir.join("project-copy");
    println!("copying the project {} to {} ...", project.display(), copy.display());
    reuse::copy_project(project, &copy, &[target, dir])?;
    Ok(copy)
}

/// Whether `pitwall` has state-aware builds, as its `build --help` shows, printed.
fn pitwall_reuses(pitwall: &Path) -> Result<bool> {
    let help = peer::output(Command::new(pitwall).args(["build", "--help"]))?;
    let expected = reuse::reuse_expected(&help);
    if expected {
        println!("this pitwall reuses (build --full-refresh): its no-op build must reuse every model");
    } else {
        println!("this pitwall has no build --full-refresh, so no reuse: its no-op and edit builds rebuild all");
    }
    Ok(expected)
}

/// The two peers, installed in their venvs under `target`, the target peer first: DuckDB
/// 2.0 on the idiomatic SQL of `xtask/peer/idiomatic/`, and DuckDB 1.5 on pitwall's
/// compiled SQL (`compiled_models`, written by `write_peer_models`).
fn install_peers(peer_dir: &Path, target: &Path, compiled_models: PathBuf) -> Result<Vec<Peer>> {
    Ok(vec![
        Peer::install(peer::IDIOMATIC, peer_dir, target, peer_dir.join("idiomatic/models"))?,
        Peer::install(peer::COMPILED, peer_dir, target, compiled_models)?,
    ])
}

/// The data-scale benchmark: pitwall's build against the DuckDB peers at each scale.
fn scales(args: BenchArgs) -> Result<()> {
    let BenchArgs { scales, runs, warmup, bin, source, project_dir, pitwall_args } = args;
    let root = crate::workspace_root();
    let target = target_dir(&root)?;
    let dir = target.join("bench");
    fs::create_dir_all(dir.join("logs")).with_context(|| format!("cannot create {}", dir.display()))?;
    let source = source.unwrap_or_else(|| root.join("data").join("f1"));
    let source = fs::canonicalize(&source).with_context(|| format!("no source folder {}", source.display()))?;
    let project = project_dir.unwrap_or_else(|| root.clone());
    let project = fs::canonicalize(&project).with_context(|| format!("no project folder {}", project.display()))?;

    let (pitwall, build_seconds) = pitwall_binary(bin, &root)?;
    let pitwall_version = peer::output(Command::new(&pitwall).arg("--version"))?.trim().to_owned();
    let reuse_expected = pitwall_reuses(&pitwall)?;
    let copy = project_copy(&project, &fs::canonicalize(&dir)?, &fs::canonicalize(&target)?)?;

    let compiled = compile_peer(&pitwall, &copy, &dir)?;
    let (peer_models, peer_sql) = write_peer_models(&compiled, &dir)?;
    let checked: Vec<&Relation> = compiled.sources.iter().chain(peer_sql.iter().map(|(model, _)| *model)).collect();
    let peer_dir = root.join("xtask").join("peer");
    let peers = install_peers(&peer_dir, &target, peer_models)?;

    let bench = Bench {
        project: copy.clone(),
        edited_model: compiled.edited_model.clone(),
        reuse_expected,
        dir: dir.clone(),
        pitwall: pitwall.clone(),
        pitwall_args: pitwall_args.clone(),
        peer_script: peer_dir.join("duckdb_peer.py"),
        peers,
    };

    let load_before = load_average();
    let results: Vec<ScaleResult> = scales
        .iter()
        .map(|&scale| measure_scale(&bench, &source, scale, (runs, warmup), &checked))
        .collect::<Result<_>>()?;

    let summary = Summary {
        root: &root,
        dir: &dir,
        pitwall: &pitwall,
        pitwall_version: &pitwall_version,
        build_seconds,
        pitwall_args: &pitwall_args,
        reuse_expected,
        edited_model: compiled.edited_model.strip_prefix(&copy).unwrap_or(&compiled.edited_model).display().to_string(),
        models: compiled.models.len(),
        tests: compiled.tests,
        sources: compiled.sources.len(),
        peers: &bench.peers,
        peer_models: peer_sql.iter().map(|(m, _)| format!("{}.{}", m.schema, m.name)).collect(),
        source: &source,
        runs,
        warmup,
    };
    write_results(&summary, &results, load_before)
}
