//! `cargo xtask bench --project-models N`: how fast pitwall reads a project, against
//! dbt-core with dbt-duckdb.
//!
//! Generates a dbt-style project of N SQL models into `target/bench/project/n<N>/`, one
//! folder that both read (pitwall.toml for pitwall; dbt_project.yml and profiles.yml for
//! dbt), checks an untimed first run of each command, then times `runs` rounds alternating
//! the two: `pitwall ls` against `dbt parse` (every model, property and test read into the
//! DAG) and `pitwall compile` against `dbt compile` (every model's SQL rendered too). dbt
//! parses from scratch on every run (`--no-partial-parse`), as pitwall always does, and
//! sends nothing anywhere.
//!
//! The project is deterministic: model `i` depends only on `i` (a fixed hash picks what
//! it reads), so the project of 250 models is the first 250 of the project of 1000.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::args::ProjectArgs;
use super::measure::{self, Sample};
use super::peer;
use super::report::{self, Tool};

/// Models per folder: `models/f000/` holds m00000 to m00099.
const FOLDER_SIZE: u32 = 100;

/// The first models read the source; every later one reads earlier models.
const SOURCE_READERS: u32 = 10;

/// How far back a model's near parent may be: chains of near parents make the DAG deep
/// (about N / 50 levels), while its far parent, anywhere before it, makes it wide.
const NEAR: u32 = 100;

/// dbt's artifacts (manifest.json, compiled/), apart from pitwall's under target/.
const DBT_TARGET: &str = "target/dbt";

/// Every dbt run's environment: no usage statistics, no tracking.
const DBT_ENV: [(&str, &str); 2] = [("DBT_SEND_ANONYMOUS_USAGE_STATS", "false"), ("DO_NOT_TRACK", "1")];

const PITWALL_TOML: &str = r#"[project]
name = "generated"

[sources.gen]
location = "data"

[warehouse]
schema = "analytics"
"#;

const DBT_PROJECT_YML: &str = r#"name: generated
version: "1.0"
config-version: 2
profile: generated
model-paths: ["models"]
flags:
  send_anonymous_usage_stats: false
models:
  generated:
    +materialized: view
"#;

/// pitwall needs every source column's type; dbt ignores it.
const SOURCES_YML: &str = r#"version: 2
sources:
  - name: gen
    tables:
      - name: events
        columns:
          - {name: id, data_type: "NUMBER(38,0)"}
          - {name: value, data_type: FLOAT}
"#;

/// The source's data, so that its location exists (neither command reads it).
const EVENTS_CSV: &str = "id,value\n1,0.5\n2,1.5\n3,2.5\n";

/// dbt's profile: DuckDB in a file of the project's target/ (relative to the working
/// directory, which is the project), `threads` at a time.
fn profiles_yml(threads: usize) -> String {
    format!(
        "generated:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: target/generated.duckdb\n      \
         schema: analytics\n      threads: {threads}\n"
    )
}

pub(crate) fn model_name(i: u32) -> String {
    format!("m{i:05}")
}

fn folder_name(folder: u32) -> String {
    format!("f{folder:03}")
}

/// Where model `i` is, under the project: `models/f000/m00000.sql`.
pub(crate) fn model_path(i: u32) -> String {
    format!("models/{}/{}.sql", folder_name(i / FOLDER_SIZE), model_name(i))
}

/// SplitMix64's finaliser: a fixed, well-mixed hash of `i`, so the DAG is the same on
/// every run and machine without a random number generator.
fn mix(i: u32) -> u64 {
    let mut z = u64::from(i).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The earlier models that model `i` (at least `SOURCE_READERS`) reads: a near one,
/// among the `NEAR` before it, and a far one, anywhere before it; one when they are the
/// same.
pub(crate) fn parents(i: u32) -> Vec<u32> {
    let hash = mix(i);
    let near = i - 1 - (hash % u64::from(i.min(NEAR))) as u32;
    let far = ((hash >> 32) % u64::from(i)) as u32;
    if near == far { vec![near] } else { vec![near, far] }
}

/// Model `i`'s SQL: the first ones read the source, every other joins the models it
/// reads; every 10th is a table with a tag.
pub(crate) fn model_sql(i: u32) -> String {
    let mut sql = String::new();
    if i.is_multiple_of(10) {
        sql.push_str(&format!("{{{{ config(materialized='table', tags=['t{}']) }}}}\n", i % 7));
    }
    if i < SOURCE_READERS {
        sql.push_str("select id, value from {{ source('gen', 'events') }}\n");
        return sql;
    }
    match parents(i)[..] {
        [only] => {
            sql.push_str(&format!("select id, value + {i} as value from {{{{ ref('{}') }}}}\n", model_name(only)))
        }
        [a, b, ..] => sql.push_str(&format!(
            "select a.id, a.value + {i} as value\nfrom {{{{ ref('{}') }}}} as a\njoin {{{{ ref('{}') }}}} as b on a.id = b.id\n",
            model_name(a),
            model_name(b)
        )),
        [] => unreachable!("a model reads at least one other"),
    }
    sql
}

/// The models of `folder` in a project of `models` models.
fn folder_models(folder: u32, models: u32) -> std::ops::Range<u32> {
    folder * FOLDER_SIZE..models.min((folder + 1) * FOLDER_SIZE)
}

/// The properties file of `folder`: each of its models with a description and a
/// `not_null` test on `id`.
pub(crate) fn properties_yml(folder: u32, models: u32) -> String {
    let mut yml = String::from("version: 2\nmodels:\n");
    for i in folder_models(folder, models) {
        yml.push_str(&format!(
            "  - name: {}\n    description: Generated model {i}.\n    columns:\n      - name: id\n        tests: [not_null]\n",
            model_name(i)
        ));
    }
    yml
}

/// What a generated project holds, for the checks and the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shape {
    pub(crate) models: u32,
    /// Data tests: one `not_null` per model.
    pub(crate) tests: u32,
    pub(crate) folders: u32,
    /// Models on the longest chain from the source, both ends included.
    pub(crate) depth: u32,
}

impl Shape {
    pub(crate) fn of(models: u32) -> Shape {
        let mut depths: Vec<u32> = Vec::with_capacity(models as usize);
        for i in 0..models {
            let depth = if i < SOURCE_READERS {
                1
            } else {
                1 + parents(i).iter().map(|&p| depths[p as usize]).max().unwrap_or(0)
            };
            depths.push(depth);
        }
        Shape {
            models,
            tests: models,
            folders: models.div_ceil(FOLDER_SIZE),
            depth: depths.into_iter().max().unwrap_or(0),
        }
    }
}

/// Every file of the project of `models` models, as (path in the project, content).
pub(crate) fn files(models: u32, threads: usize) -> Vec<(String, String)> {
    let mut files = vec![
        ("pitwall.toml".to_owned(), PITWALL_TOML.to_owned()),
        ("dbt_project.yml".to_owned(), DBT_PROJECT_YML.to_owned()),
        ("profiles.yml".to_owned(), profiles_yml(threads)),
        ("data/events.csv".to_owned(), EVENTS_CSV.to_owned()),
        ("models/sources.yml".to_owned(), SOURCES_YML.to_owned()),
    ];
    for folder in 0..models.div_ceil(FOLDER_SIZE) {
        let name = folder_name(folder);
        files.push((format!("models/{name}/_{name}.yml"), properties_yml(folder, models)));
        files.extend(folder_models(folder, models).map(|i| (model_path(i), model_sql(i))));
    }
    files
}

/// Writes the project of `models` models into `dir`, replacing whatever was there (a
/// larger project's models, the tools' artifacts).
pub(crate) fn generate(dir: &Path, models: u32, threads: usize) -> Result<Shape> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    for (path, content) in files(models, threads) {
        let path = dir.join(path);
        let folder = path.parent().expect("every file is in the project");
        fs::create_dir_all(folder).with_context(|| format!("cannot create {}", folder.display()))?;
        fs::write(&path, content).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(Shape::of(models))
}

/// The distinct model names (`m` and five digits, as a whole word) in `text`.
fn model_names(text: &str) -> BTreeSet<&str> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| word.len() == 6 && word.starts_with('m') && word[1..].bytes().all(|b| b.is_ascii_digit()))
        .collect()
}

/// The models and tests in dbt's manifest.json.
fn manifest_counts(manifest: &str) -> Result<(u32, u32)> {
    let manifest: Value = serde_json::from_str(manifest).context("not JSON")?;
    let nodes = manifest["nodes"].as_object().context("no nodes")?;
    let count = |kind: &str| nodes.values().filter(|node| node["resource_type"] == kind).count() as u32;
    Ok((count("model"), count("test")))
}

/// The `.sql` files under `folder`, at any depth.
fn sql_files(folder: &Path) -> Result<u32> {
    let mut count = 0;
    for entry in fs::read_dir(folder).with_context(|| format!("cannot list {}", folder.display()))? {
        let entry = entry.with_context(|| format!("cannot list {}", folder.display()))?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            count += sql_files(&path)?;
        } else if path.extension().is_some_and(|e| e == "sql") {
            count += 1;
        }
    }
    Ok(count)
}

/// The two commands each tool's time is compared on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// `pitwall ls` and `dbt parse`: the project read into its DAG.
    Parse,
    /// `pitwall compile` and `dbt compile`: every model's SQL rendered, too.
    Compile,
}

const STEPS: [Step; 2] = [Step::Parse, Step::Compile];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Pitwall,
    Dbt,
}

impl Step {
    fn command(self, who: Who) -> &'static str {
        match (who, self) {
            (Who::Pitwall, Step::Parse) => "ls",
            (Who::Dbt, Step::Parse) => "parse",
            (_, Step::Compile) => "compile",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Step::Parse => "parse",
            Step::Compile => "compile",
        }
    }
}

impl Who {
    fn name(self) -> &'static str {
        match self {
            Who::Pitwall => "pitwall",
            Who::Dbt => "dbt",
        }
    }
}

/// Runs the commands of both tools on the generated project.
struct Runner {
    project: PathBuf,
    shape: Shape,
    pitwall: PathBuf,
    dbt: PathBuf,
    logs: PathBuf,
}

impl Runner {
    fn command(&self, who: Who, step: Step) -> Command {
        let mut command = match who {
            Who::Pitwall => {
                let mut command = Command::new(&self.pitwall);
                command.arg("--project-dir").arg(&self.project).arg(step.command(who));
                command
            }
            Who::Dbt => {
                let mut command = Command::new(&self.dbt);
                // Partial parsing off: every run parses from scratch, as pitwall does.
                command
                    .envs(DBT_ENV)
                    .arg(step.command(who))
                    .args(["--no-partial-parse", "--no-use-colors"])
                    .arg("--project-dir")
                    .arg(&self.project)
                    .arg("--profiles-dir")
                    .arg(&self.project)
                    .arg("--target-path")
                    .arg(self.project.join(DBT_TARGET));
                command
            }
        };
        command.current_dir(&self.project);
        command
    }

    /// One measured run. pitwall's stdout (the listing, the SQL) is discarded, as a
    /// terminal would show it; dbt prints only its log, which is kept.
    fn time(&self, who: Who, step: Step, label: &str) -> Result<Sample> {
        let log = self.logs.join(format!(
            "project-n{}-{}-{}-{}.log",
            self.shape.models,
            label.replace(['/', ' '], "-"),
            who.name(),
            step.command(who)
        ));
        let mut command = self.command(who, step);
        match who {
            Who::Pitwall => measure::measure_quiet(&mut command, &log),
            Who::Dbt => measure::measure(&mut command, &log),
        }
    }

    /// The untimed first run of each command, checked to have done the whole work, so
    /// that a broken run is never timed as fast. dbt first: its checks need no pitwall.
    fn check(&self) -> Result<()> {
        let Shape { models, tests, .. } = self.shape;
        let dbt_target = self.project.join(DBT_TARGET);

        let sample = self.time(Who::Dbt, Step::Parse, "check")?;
        let manifest_path = dbt_target.join("manifest.json");
        let manifest = fs::read_to_string(&manifest_path)
            .with_context(|| format!("dbt parse wrote no {}", manifest_path.display()))?;
        let counted = manifest_counts(&manifest).with_context(|| format!("dbt's {}", manifest_path.display()))?;
        if counted != (models, tests) {
            bail!(
                "dbt parse: {} has {} models and {} tests, not {models} and {tests}",
                manifest_path.display(),
                counted.0,
                counted.1
            );
        }
        println!("check dbt parse: {models} models and {tests} tests in its manifest ({})", format_sample(sample));

        let sample = self.time(Who::Dbt, Step::Compile, "check")?;
        let compiled = sql_files(&dbt_target.join("compiled"))?;
        if compiled != models + tests {
            bail!("dbt compile: {compiled} compiled files in {}, not {}", dbt_target.display(), models + tests);
        }
        println!("check dbt compile: {compiled} models and tests compiled ({})", format_sample(sample));

        let started = Instant::now();
        let listed = peer::output(&mut self.command(Who::Pitwall, Step::Parse))?;
        let lines = listed.lines().filter(|line| !line.trim().is_empty()).count() as u32;
        if lines != models + tests {
            let head: Vec<&str> = listed.lines().take(5).collect();
            bail!(
                "pitwall ls listed {lines} nodes, not {models} models and {tests} tests; it began:\n{}",
                head.join("\n")
            );
        }
        println!("check pitwall ls: {lines} models and tests listed ({:.2} s)", started.elapsed().as_secs_f64());

        let started = Instant::now();
        let sql = peer::output(&mut self.command(Who::Pitwall, Step::Compile))?;
        let named = model_names(&sql).len() as u32;
        if named != models {
            bail!("pitwall compile printed SQL naming {named} of the {models} models");
        }
        println!("check pitwall compile: SQL naming all {named} models ({:.2} s)", started.elapsed().as_secs_f64());
        Ok(())
    }
}

fn format_sample(sample: Sample) -> String {
    format!("{}, {}", duration(sample.seconds), report::mib(sample.peak_rss_kib))
}

/// A wall time: milliseconds below a second, where parsing a small project is.
fn duration(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{:.0} ms", seconds * 1000.0)
    } else if seconds < 10.0 {
        format!("{seconds:.2} s")
    } else {
        format!("{seconds:.1} s")
    }
}

/// One step's results: both tools' samples, and dbt's over pitwall's.
#[derive(Debug)]
struct StepResult {
    step: Step,
    pitwall: Tool,
    dbt: Tool,
    /// dbt's median time over pitwall's: how many times faster pitwall is.
    time_ratio: f64,
    /// dbt's peak RSS over pitwall's: how many times less memory pitwall needs.
    rss_ratio: f64,
}

impl StepResult {
    fn new(step: Step, pitwall: Tool, dbt: Tool) -> StepResult {
        let time_ratio = dbt.median_seconds / pitwall.median_seconds;
        let rss_ratio = dbt.max_peak_rss_kib as f64 / pitwall.max_peak_rss_kib.max(1) as f64;
        StepResult { step, pitwall, dbt, time_ratio, rss_ratio }
    }

    fn row(&self) -> [String; 7] {
        [
            format!("pitwall {} vs dbt {}", self.step.command(Who::Pitwall), self.step.command(Who::Dbt)),
            duration(self.pitwall.median_seconds),
            report::mib(self.pitwall.max_peak_rss_kib),
            duration(self.dbt.median_seconds),
            report::mib(self.dbt.max_peak_rss_kib),
            format!("{:.1}x", self.time_ratio),
            format!("{:.1}x", self.rss_ratio),
        ]
    }

    fn to_json(&self) -> Value {
        json!({
            "step": self.step.name(),
            "pitwall_command": format!("pitwall {}", self.step.command(Who::Pitwall)),
            "dbt_command": format!("dbt {} --no-partial-parse", self.step.command(Who::Dbt)),
            "pitwall": self.pitwall.to_json(),
            "dbt": self.dbt.to_json(),
            "time_ratio": self.time_ratio,
            "rss_ratio": self.rss_ratio,
        })
    }
}

const COLUMNS: [&str; 7] =
    ["commands", "pitwall", "pitwall peak RSS", "dbt", "dbt peak RSS", "time ratio", "RSS ratio"];

fn rows(results: &[StepResult]) -> Vec<[String; 7]> {
    results.iter().map(StepResult::row).collect()
}

/// The installed version of python in `python`'s venv.
fn python_version(python: &Path) -> Result<String> {
    let printed = peer::output(Command::new(python).args(["-c", "import platform; print(platform.python_version())"]))?;
    Ok(printed.trim().to_owned())
}

/// The parse-speed benchmark of `cargo xtask bench --project-models N`.
pub(crate) fn run(args: ProjectArgs) -> Result<()> {
    let ProjectArgs { models, runs, warmup, bin } = args;
    let root = crate::workspace_root();
    let target = super::target_dir(&root)?;
    let dir = target.join("bench");
    let logs = dir.join("logs");
    fs::create_dir_all(&logs).with_context(|| format!("cannot create {}", logs.display()))?;

    let project = dir.join("project").join(format!("n{models}"));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    let shape = generate(&project, models, threads)?;
    println!(
        "generated {} ({models} models in {} folders, {} tests, DAG depth {}) in {:.1} s",
        project.display(),
        shape.folders,
        shape.tests,
        shape.depth,
        started.elapsed().as_secs_f64()
    );

    let (pitwall, build_seconds) = super::pitwall_binary(bin, &root)?;
    let pitwall_version = peer::output(Command::new(&pitwall).arg("--version"))?.trim().to_owned();
    let requirements = root.join("xtask").join("peer").join("dbt-parse-requirements.txt");
    let venv = target.join("venv-dbt-parse");
    let (python, pins) = peer::install_pinned(&requirements, &venv, &["--no-deps"], &["dbt-core", "dbt-duckdb"])?;
    let (dbt_core, dbt_duckdb) = (&pins["dbt-core"], &pins["dbt-duckdb"]);
    let python_version = python_version(&python)?;
    let runner =
        Runner { project: project.clone(), shape, pitwall: pitwall.clone(), dbt: venv.join("bin").join("dbt"), logs };

    let load_before = super::load_average();
    let results = measure(&runner, runs, warmup)?;
    let tools = Tools { pitwall, pitwall_version, build_seconds, dbt_core, dbt_duckdb, python_version, threads };
    let summary = Summary { project: &project, shape, runs, warmup, tools };
    write_report(&root, &dir, &summary, &results, load_before)
}

/// The checked first run of each, the other warm-up runs, then `runs` timed rounds
/// alternating the tools; the median of each step and tool.
fn measure(runner: &Runner, runs: u32, warmup: u32) -> Result<Vec<StepResult>> {
    runner.check()?;
    // The checked run was the first warm-up run of each.
    for round in 1..warmup {
        let label = format!("warm-up {}/{warmup}", round + 1);
        for step in STEPS {
            for who in [Who::Pitwall, Who::Dbt] {
                let sample = runner.time(who, step, &label)?;
                println!("{label} {} {}: {}", who.name(), step.command(who), format_sample(sample));
            }
        }
    }
    let mut samples: [[Vec<Sample>; 2]; 2] = Default::default();
    for run in 1..=runs {
        let label = format!("run {run}/{runs}");
        for (s, step) in STEPS.into_iter().enumerate() {
            for (w, who) in [Who::Pitwall, Who::Dbt].into_iter().enumerate() {
                let sample = runner.time(who, step, &label)?;
                println!("{label} {} {}: {}", who.name(), step.command(who), format_sample(sample));
                samples[s][w].push(sample);
            }
        }
    }
    Ok(STEPS
        .into_iter()
        .zip(samples)
        .map(|(step, [pitwall, dbt])| StepResult::new(step, Tool::new(pitwall), Tool::new(dbt)))
        .collect())
}

/// What was timed, for the report.
struct Tools<'a> {
    pitwall: PathBuf,
    pitwall_version: String,
    build_seconds: Option<f64>,
    dbt_core: &'a str,
    dbt_duckdb: &'a str,
    python_version: String,
    threads: usize,
}

/// What the benchmark ran, for its report.
struct Summary<'a> {
    project: &'a Path,
    shape: Shape,
    runs: u32,
    warmup: u32,
    tools: Tools<'a>,
}

/// The text above the table: what was run, on what, and how to read the ratios.
fn caption(s: &Summary<'_>, machine: &Value, binary: &str, date: &str) -> String {
    let Tools { dbt_core, dbt_duckdb, python_version, threads, .. } = &s.tools;
    let (shape, models) = (s.shape, s.shape.models);
    format!(
        "Median wall time of {} per command, alternating pitwall and dbt after {} of each (the first \
         checked: dbt's manifest and pitwall ls hold every model and test, both compile every model), and \
         the highest peak RSS. The project: {models} generated SQL models in {} folders of up to {FOLDER_SIZE}, \
         the first {} reading one source and every other joining one or two earlier ones (DAG depth {}), \
         every 10th a tagged table, one properties file per folder with a description and a not_null test \
         per model ({} tests). pitwall ({binary}): `pitwall ls` and `pitwall compile`. dbt-core {dbt_core} \
         with dbt-duckdb {dbt_duckdb} (Python {python_version}, {threads} threads): `dbt parse` and \
         `dbt compile`, both with --no-partial-parse, parsing from scratch as pitwall does. Ratio = dbt / \
         pitwall: above 1, pitwall is faster or needs less memory. {}, {} cores, {} MiB; {date}.",
        super::plural(s.runs, "run"),
        super::plural(s.warmup.max(1), "untimed run"),
        shape.folders,
        SOURCE_READERS.min(models),
        shape.depth,
        shape.tests,
        machine["cpu"].as_str().filter(|c| !c.is_empty()).unwrap_or("this machine"),
        machine["nproc"].as_u64().unwrap_or(0),
        machine["memory_mib"].as_u64().unwrap_or(0),
    )
}

/// Prints the table and writes `project-<N>.json` and `.md` with their caption.
fn write_report(
    root: &Path,
    dir: &Path,
    s: &Summary<'_>,
    results: &[StepResult],
    load_before: Option<String>,
) -> Result<()> {
    let Tools { pitwall, pitwall_version, build_seconds, dbt_core, dbt_duckdb, python_version, threads } = &s.tools;
    let (shape, models) = (s.shape, s.shape.models);
    let mut machine = super::machine();
    machine["loadavg_before"] = json!(load_before);
    let (commit, binary) = super::described_binary(root, pitwall, pitwall_version, *build_seconds);
    let date = report::now_utc();
    let caption = caption(s, &machine, &binary, &date);

    println!("\n{}\n", report::aligned(&COLUMNS, &rows(results)));
    let json_path = dir.join(format!("project-{models}.json"));
    let markdown_path = dir.join(format!("project-{models}.md"));
    let document = json!({
        "date": date,
        "machine": machine,
        "project": {
            "path": s.project,
            "models": shape.models,
            "tests": shape.tests,
            "folders": shape.folders,
            "depth": shape.depth,
        },
        "pitwall": {
            "version": pitwall_version,
            "commit": commit,
            "binary": pitwall,
            "release_build_seconds": build_seconds,
        },
        "dbt": {
            "dbt_core": dbt_core,
            "dbt_duckdb": dbt_duckdb,
            "python": python_version,
            "threads": threads,
        },
        "runs": s.runs,
        "warmup": s.warmup.max(1),
        "caption": caption,
        "steps": results.iter().map(StepResult::to_json).collect::<Vec<_>>(),
    });
    fs::write(&json_path, serde_json::to_string_pretty(&document)? + "\n")
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    let markdown = format!("{caption}\n\n{}", report::markdown_table(&COLUMNS, &rows(results)));
    fs::write(&markdown_path, markdown).with_context(|| format!("cannot write {}", markdown_path.display()))?;
    println!("{caption}\n\nwrote {} and {}", json_path.display(), markdown_path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::args::MAX_MODELS;

    #[test]
    fn models_are_named_in_sorting_order_in_folders_of_100() {
        assert_eq!(model_path(0), "models/f000/m00000.sql");
        assert_eq!(model_path(99), "models/f000/m00099.sql");
        assert_eq!(model_path(100), "models/f001/m00100.sql");
        assert_eq!(model_path(MAX_MODELS - 1), "models/f999/m99999.sql");
    }

    #[test]
    fn parents_are_earlier_models_near_and_far() {
        let mut far_in_first_half = 0;
        for i in SOURCE_READERS..5000 {
            let parents = parents(i);
            assert!(!parents.is_empty() && parents.len() <= 2, "{i}: {parents:?}");
            assert!(parents.iter().all(|&p| p < i), "{i} reads a later model: {parents:?}");
            assert!(i - parents[0] <= NEAR, "{i}'s near parent is {}", parents[0]);
            if parents.len() == 2 && parents[1] < i / 2 {
                far_in_first_half += 1;
            }
        }
        // A far parent is uniform over the models before: about half are in the first half.
        assert!((2000..3000).contains(&far_in_first_half), "{far_in_first_half}");
    }

    #[test]
    fn parents_are_fixed_so_every_run_generates_the_same_project() {
        let picked: Vec<Vec<u32>> = [10, 11, 25, 1000].into_iter().map(parents).collect();
        assert_eq!(picked, SNAPSHOT);
    }

    const SNAPSHOT: [&[u32]; 4] = [&[3, 6], &[1, 5], &[16, 7], &[923, 795]];

    #[test]
    fn the_first_models_read_the_source_and_every_10th_is_a_tagged_table() {
        assert_eq!(
            model_sql(0),
            "{{ config(materialized='table', tags=['t0']) }}\nselect id, value from {{ source('gen', 'events') }}\n"
        );
        assert_eq!(model_sql(3), "select id, value from {{ source('gen', 'events') }}\n");
        assert!(model_sql(70).starts_with("{{ config(materialized='table', tags=['t0']) }}\nselect a.id"));
        assert!(model_sql(30).starts_with("{{ config(materialized='table', tags=['t2']) }}\n"));
    }

    #[test]
    fn a_later_model_joins_the_models_it_reads() {
        let [a, b] = parents(25)[..] else { panic!("25 reads two models: {:?}", parents(25)) };
        assert_eq!(
            model_sql(25),
            format!(
                "select a.id, a.value + 25 as value\nfrom {{{{ ref('{}') }}}} as a\njoin {{{{ ref('{}') }}}} as b on a.id = b.id\n",
                model_name(a),
                model_name(b)
            )
        );
        let single = (SOURCE_READERS..MAX_MODELS).find(|&i| parents(i).len() == 1).unwrap();
        let only = model_name(parents(single)[0]);
        assert!(
            model_sql(single)
                .ends_with(&format!("select id, value + {single} as value from {{{{ ref('{only}') }}}}\n"))
        );
    }

    #[test]
    fn a_properties_file_lists_its_folders_models_with_a_not_null_test_each() {
        assert_eq!(
            properties_yml(0, 2),
            "version: 2\nmodels:\n\
             \x20 - name: m00000\n    description: Generated model 0.\n    columns:\n      - name: id\n        tests: [not_null]\n\
             \x20 - name: m00001\n    description: Generated model 1.\n    columns:\n      - name: id\n        tests: [not_null]\n"
        );
        assert_eq!(properties_yml(2, 250).matches("- name: m").count(), 50);
        assert!(properties_yml(2, 250).contains("- name: m00249\n") && !properties_yml(2, 250).contains("m00250"));
    }

    #[test]
    fn files_are_the_project_files_a_properties_file_per_folder_and_every_model() {
        let files = files(250, 2);
        let paths: Vec<&str> = files.iter().map(|(path, _)| path.as_str()).collect();
        assert_eq!(
            paths[..5],
            ["pitwall.toml", "dbt_project.yml", "profiles.yml", "data/events.csv", "models/sources.yml"]
        );
        assert_eq!(paths.iter().filter(|p| p.ends_with(".sql")).count(), 250);
        for folder in ["f000", "f001", "f002"] {
            assert!(paths.contains(&format!("models/{folder}/_{folder}.yml").as_str()), "{folder}");
        }
        assert_eq!(paths.iter().filter(|p| p.starts_with("models/f002/") && p.ends_with(".sql")).count(), 50);
        assert!(paths.contains(&"models/f002/m00249.sql") && !paths.iter().any(|p| p.contains("m00250")));
        assert_eq!(files, super::files(250, 2), "the same every time");
        let profile = &files[2].1;
        assert!(profile.contains("type: duckdb\n") && profile.contains("threads: 2\n"), "{profile}");
    }

    #[test]
    fn shape_counts_models_tests_folders_and_the_longest_chain() {
        assert_eq!(Shape::of(3), Shape { models: 3, tests: 3, folders: 1, depth: 1 });
        let shape = Shape::of(1000);
        assert_eq!((shape.models, shape.tests, shape.folders), (1000, 1000, 10));
        assert!((10..200).contains(&shape.depth), "{shape:?}");
    }

    #[test]
    fn generation_writes_the_files_and_replaces_a_larger_project() {
        let dir = std::env::temp_dir().join(format!("xtask-project-{}", std::process::id()));
        generate(&dir, 120, 1).unwrap();
        assert!(dir.join("models/f001/m00119.sql").is_file());
        generate(&dir, 25, 1).unwrap();
        assert_eq!(fs::read_to_string(dir.join("models/f000/m00025.sql")).ok(), None);
        assert!(!dir.join("models/f001").exists(), "the larger project's folder is gone");
        assert_eq!(fs::read_to_string(dir.join("models/f000/m00024.sql")).unwrap(), model_sql(24));
        assert_eq!(fs::read_to_string(dir.join("pitwall.toml")).unwrap(), PITWALL_TOML);
        assert_eq!(sql_files(&dir.join("models")).unwrap(), 25);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn model_names_are_whole_words_of_m_and_five_digits() {
        let sql =
            "-- m00012 (models/f000/m00012.sql)\nselect * from \"analytics\".\"m00003\" join m00003x, m0001, am00004";
        let mut names: Vec<&str> = model_names(sql).into_iter().collect();
        names.sort_unstable();
        assert_eq!(names, ["m00003", "m00012"]);
    }

    #[test]
    fn manifest_counts_models_and_tests() {
        let manifest = r#"{"nodes": {"model.g.m00000": {"resource_type": "model"},
            "test.g.not_null": {"resource_type": "test"}, "seed.g.s": {"resource_type": "seed"}}}"#;
        assert_eq!(manifest_counts(manifest).unwrap(), (1, 1));
        assert!(manifest_counts("{}").is_err());
    }

    #[test]
    fn a_step_row_gives_median_times_peaks_and_dbt_over_pitwall() {
        let sample = |seconds, peak_rss_kib| Sample { seconds, peak_rss_kib };
        let result = StepResult::new(
            Step::Parse,
            Tool::new(vec![sample(0.05, 20 * 1024), sample(0.04, 30 * 1024), sample(0.06, 25 * 1024)]),
            Tool::new(vec![sample(2.0, 300 * 1024)]),
        );
        assert_eq!(result.time_ratio, 40.0);
        assert_eq!(result.rss_ratio, 10.0);
        assert_eq!(
            report::aligned(&COLUMNS, &rows(&[result])),
            "commands                 pitwall  pitwall peak RSS     dbt  dbt peak RSS  time ratio  RSS ratio\n\
             pitwall ls vs dbt parse    50 ms            30 MiB  2.00 s       300 MiB       40.0x      10.0x"
        );
    }
}
