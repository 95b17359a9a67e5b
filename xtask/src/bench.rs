//! `cargo xtask bench`: pitwall's full build against a DuckDB peer doing the relational
//! part, on the real data scaled up, timed run by run, alternating the two.
//!
//! Per scale: generate the data (`generate`), check on a first (warm-up) run of each that
//! both produce the same row count for every relation, then time `runs` alternating runs
//! (`measure`: wall time and peak RSS of the child process), and report medians, peaks
//! and ratios (`report`). The peer (`peer`, `xtask/peer/`) runs pitwall's own compiled SQL
//! of every non-ML model, each as a table, in DuckDB.
//!
//! `--project-models N` runs the other benchmark instead (`project`): how fast pitwall
//! reads a generated project of N models, against dbt-core.

mod args;
mod generate;
mod measure;
mod peer;
mod project;
mod report;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::json;

use self::args::{BenchArgs, Parsed};
use self::measure::Sample;
use self::peer::Relation;
use self::report::{ScaleResult, Tool};

/// Which of the two a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Pitwall,
    DuckDb,
}

impl Who {
    fn name(self) -> &'static str {
        match self {
            Who::Pitwall => "pitwall",
            Who::DuckDb => "duckdb",
        }
    }
}

/// Everything a run needs, set up once.
struct Bench {
    /// Where pitwall runs (its project folder) and the peer too.
    project: PathBuf,
    dir: PathBuf,
    pitwall: PathBuf,
    pitwall_args: Vec<String>,
    python: PathBuf,
    peer_script: PathBuf,
    peer_models: PathBuf,
}

impl Bench {
    fn run_dir(&self, who: Who) -> PathBuf {
        self.dir.join("run").join(who.name())
    }

    /// One run of `who` on `data`, in a fresh output folder; `label` names its log.
    fn run(&self, who: Who, data: &Path, label: &str) -> Result<Sample> {
        let out = self.run_dir(who);
        if out.exists() {
            fs::remove_dir_all(&out).with_context(|| format!("cannot remove {}", out.display()))?;
        }
        fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
        let log = self.dir.join("logs").join(format!("{}-{label}.log", who.name()));
        let mut command = match who {
            Who::Pitwall => {
                let mut command = Command::new(&self.pitwall);
                command.current_dir(&self.project).arg("build").args(pitwall_locations(data, &out));
                command.args(&self.pitwall_args);
                command
            }
            Who::DuckDb => {
                let mut command = Command::new(&self.python);
                command
                    .current_dir(&self.project)
                    .arg(&self.peer_script)
                    .arg("--data")
                    .arg(data)
                    .arg("--models")
                    .arg(&self.peer_models)
                    .arg("--out")
                    .arg(&out)
                    .arg("--report")
                    .arg(out.join("report.json"));
                command
            }
        };
        measure::measure(&mut command, &log)
    }

    /// The peer's report of its last run.
    fn peer_report(&self) -> Result<serde_json::Value> {
        let path = self.run_dir(Who::DuckDb).join("report.json");
        let text =
            fs::read_to_string(&path).with_context(|| format!("cannot read the peer's report {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
    }

    /// Compares the row count of every raw table and peer model between the last run of
    /// each; returns how many relations matched, or an error listing the differences.
    fn check_rows(&self, data: &Path, relations: &[&Relation]) -> Result<usize> {
        let out = self.run_dir(Who::Pitwall);
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
        let peer: BTreeMap<String, u64> = serde_json::from_value(self.peer_report()?["rows"].clone())
            .context("the peer's report has no row counts")?;
        let differences = peer::count_differences(&pitwall, &peer);
        if !differences.is_empty() {
            bail!(
                "pitwall and DuckDB disagree on row counts, so they did not do the same work:\n  {}",
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

/// One scale: its data generated (once), then `warmup` and `runs` alternating runs of
/// both tools, the row counts checked after the first.
fn measure_scale(
    bench: &Bench,
    source: &Path,
    scale: u32,
    (runs, warmup): (u32, u32),
    checked: &[&Relation],
) -> Result<ScaleResult> {
    let data = bench.dir.join("data").join(format!("x{scale}"));
    println!("data x{scale}: {} ...", data.display());
    let started = Instant::now();
    if generate::ensure(source, scale, &data)? {
        println!("generated x{scale} in {:.1} s", started.elapsed().as_secs_f64());
    } else {
        println!("x{scale} was generated already (complete): reused");
    }
    let input_bytes = generate::folder_bytes(&data)?;

    let mut rows_checked = 0;
    let mut samples: [Vec<Sample>; 2] = Default::default();
    let mut in_process = Vec::new();
    for round in 0..warmup + runs {
        let timed = round >= warmup;
        let label = if timed {
            format!("run {}/{runs}", round - warmup + 1)
        } else {
            format!("warm-up {}/{warmup}", round + 1)
        };
        for (index, who) in [Who::Pitwall, Who::DuckDb].into_iter().enumerate() {
            let file_label = format!("x{scale}-{}", label.replace(['/', ' '], "-"));
            let sample = bench.run(who, &data, &file_label)?;
            println!("{label} {} x{scale}: {}", who.name(), format_sample(sample));
            if timed {
                samples[index].push(sample);
                if who == Who::DuckDb {
                    in_process.push(bench.peer_report()?["in_process_seconds"].as_f64().unwrap_or(f64::NAN));
                }
            }
        }
        if round == 0 {
            rows_checked = bench.check_rows(&data, checked)?;
            println!("row counts: the same in pitwall and DuckDB for all {rows_checked} relations");
        }
    }
    let [pitwall_samples, duckdb_samples] = samples;
    let result = ScaleResult::new(
        scale,
        input_bytes,
        Tool::new(pitwall_samples),
        Tool::new(duckdb_samples),
        in_process,
        rows_checked,
    );
    println!(
        "x{scale}: pitwall {:.2} s, DuckDB {:.2} s: ratio {:.2}x time, {:.2}x peak RSS",
        result.pitwall.median_seconds, result.duckdb.median_seconds, result.time_ratio, result.rss_ratio
    );
    Ok(result)
}

/// `pitwall compile -s <the peer's layers>`: the models and sources its manifest lists,
/// its number of data tests (for the caption), and the compiled SQL it printed.
fn compile_peer(pitwall: &Path, project: &Path, dir: &Path) -> Result<(Vec<Relation>, Vec<Relation>, usize, String)> {
    println!("compiling the peer's SQL (pitwall compile -s {}) ...", peer::LAYERS.join(" "));
    let compile_dir = dir.join("compile");
    let compiled = peer::output(
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
    let manifest =
        fs::read_to_string(&manifest_path).with_context(|| format!("cannot read {}", manifest_path.display()))?;
    let (models, sources) = peer::relations(&manifest)?;
    let tests = serde_json::from_str::<serde_json::Value>(&manifest)?["nodes"]
        .as_object()
        .map_or(0, |nodes| nodes.values().filter(|n| n["resource_type"] == "test").count());
    Ok((models, sources, tests, compiled))
}

/// What a scale benchmark ran, for its report.
struct Summary<'a> {
    root: &'a Path,
    dir: &'a Path,
    pitwall: &'a Path,
    pitwall_version: &'a str,
    build_seconds: Option<f64>,
    pitwall_args: &'a [String],
    models: usize,
    tests: usize,
    sources: usize,
    duckdb_version: &'a str,
    /// The models the peer builds, as `schema.name`.
    peer_models: Vec<String>,
    source: &'a Path,
    runs: u32,
    warmup: u32,
}

/// Prints the table and writes `results.json` and `results.md` with their caption.
fn write_results(s: &Summary<'_>, results: &[ScaleResult], load_before: Option<String>) -> Result<()> {
    let mut machine = machine();
    machine["loadavg_before"] = json!(load_before);
    let nproc = machine["nproc"].as_u64().unwrap_or(0);
    let (commit, binary) = described_binary(s.root, s.pitwall, s.pitwall_version, s.build_seconds);
    let extra = if s.pitwall_args.is_empty() { String::new() } else { format!(" {}", s.pitwall_args.join(" ")) };
    let date = report::now_utc();
    let caption = format!(
        "Median wall time of {} per tool, alternating pitwall and DuckDB after {} of each, and the highest \
         peak RSS. Scale xN is the real data with N - 1 copies of races, results, pit_stops and lap_times as \
         new seasons. Ratio = DuckDB / pitwall: above 1, pitwall is faster or needs less memory. \
         pitwall ({binary}): `pitwall build{extra}`, everything: the {} source CSVs loaded and \
         stored as Parquet, {} models (the ML model's training and prediction included) and {} data tests. \
         DuckDB {} (Python, in memory): only the relational part: the same CSVs loaded, the {} SQL models of \
         {} each created as a table from pitwall's compiled SQL (both aggregates in SQL), every table written \
         to Parquet; no ML, no tests. {}, {nproc} cores, {} MiB; {date}.",
        plural(s.runs, "run"),
        plural(s.warmup, "warm-up run"),
        s.sources,
        s.models,
        s.tests,
        s.duckdb_version,
        s.peer_models.len(),
        peer::LAYERS.join(", "),
        machine["cpu"].as_str().filter(|c| !c.is_empty()).unwrap_or("this machine"),
        machine["memory_mib"].as_u64().unwrap_or(0),
    );

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
        },
        "duckdb": {
            "version": s.duckdb_version,
            "models": s.peer_models,
        },
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

/// The data-scale benchmark: pitwall's build against the DuckDB peer at each scale.
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

    let peer_dir = root.join("xtask").join("peer");
    let (python, duckdb_version) = peer::install(&peer_dir, &target.join("venv-bench"))?;

    let (models, sources, tests, compiled) = compile_peer(&pitwall, &project, &dir)?;
    let peer_sql = peer::split_compiled(&compiled, &models)?;
    if peer_sql.is_empty() {
        bail!("pitwall compile printed no model of {}", peer::LAYERS.join(", "));
    }
    let peer_models = dir.join("peer-models");
    peer::write_models(&peer_models, &peer_sql)?;
    let checked: Vec<&Relation> = sources.iter().chain(peer_sql.iter().map(|(model, _)| *model)).collect();

    let bench = Bench {
        project: project.clone(),
        dir: dir.clone(),
        pitwall: pitwall.clone(),
        pitwall_args: pitwall_args.clone(),
        python,
        peer_script: peer_dir.join("duckdb_peer.py"),
        peer_models,
    };

    let load_before = load_average();
    let mut results = Vec::new();
    for &scale in &scales {
        results.push(measure_scale(&bench, &source, scale, (runs, warmup), &checked)?);
    }

    let summary = Summary {
        root: &root,
        dir: &dir,
        pitwall: &pitwall,
        pitwall_version: &pitwall_version,
        build_seconds,
        pitwall_args: &pitwall_args,
        models: models.len(),
        tests,
        sources: sources.len(),
        duckdb_version: &duckdb_version,
        peer_models: peer_sql.iter().map(|(m, _)| format!("{}.{}", m.schema, m.name)).collect(),
        source: &source,
        runs,
        warmup,
    };
    write_results(&summary, &results, load_before)
}
