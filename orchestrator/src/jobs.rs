//! `pitwall job run` and `pitwall job history`: production jobs, as dbt Cloud's
//! deployment jobs. A job (`[jobs.<name>]` in pitwall.toml) is a list of pitwall command
//! lines run in order on one target. Each step is a child `pitwall` process, so it
//! behaves exactly as typed at a shell: its own warehouse lock, artifacts and exit code.
//!
//! Every run is recorded under `<target-path>/runs/<run-id>/`: `job.json`, and per step a
//! folder `NN-<command>/` with the step's console output and the artifacts it wrote. All
//! of it goes through object_store, since the target path may be an object-store URL.

use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use object_store::{ObjectMeta, ObjectStoreExt, PutPayload};
use pitwall_cli::GlobalOptions;
use pitwall_core::ProjectConfig;
use pitwall_core::config::JobConfig;
use pitwall_core::location::Store;
use serde::{Deserialize, Serialize};

use crate::cli::JobCommand;

/// The folder under the target path that holds one folder per run.
const RUNS: &str = "runs";
/// The artifacts a step may leave in the target path, copied into its folder.
const ARTIFACTS: &[&str] = &["run_results.json", "manifest.json", "load_report.json"];
/// A run id's time part: UTC, fixed width, so ids sort by time as plain strings.
const ID_TIME: &str = "%Y%m%dT%H%M%S%.3fZ";
/// The width of [`ID_TIME`]'s output (`20261130T174512.345Z`); the job name follows a `-`.
const ID_TIME_WIDTH: usize = 20;
/// Options a step may not set: the job decides them (see [`parse_step`]).
const JOB_OWNED_OPTIONS: &[&str] = &["--project-dir", "--target", "--target-path"];

pub async fn dispatch(options: &GlobalOptions, command: &JobCommand) -> Result<bool> {
    match command {
        JobCommand::Run { name } => run(options, name).await,
        JobCommand::History { name, limit } => history(options, name.as_deref(), *limit).await,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RunStatus {
    /// Written at the start and kept until the end; a run whose process died stays so.
    Running,
    Success,
    Error,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum StepStatus {
    Pending,
    Running,
    Success,
    Error,
    Skipped,
}

/// `job.json`: one run of a job.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct JobRecord {
    run_id: String,
    job: String,
    target: String,
    #[serde(default)]
    description: Option<String>,
    /// RFC 3339, UTC.
    started_at: String,
    /// Seconds; none while running.
    #[serde(default)]
    duration_seconds: Option<f64>,
    status: RunStatus,
    steps: Vec<StepRecord>,
}

impl JobRecord {
    /// All its steps' counts; none when no step wrote run results.
    fn counts(&self) -> Option<Counts> {
        self.steps.iter().filter_map(|s| s.counts).reduce(Counts::add)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct StepRecord {
    command: String,
    /// The step's folder in the run's folder (`01-build`).
    folder: String,
    status: StepStatus,
    /// None until it ends, or when it ended without one (killed by a signal).
    #[serde(default)]
    exit_code: Option<i32>,
    #[serde(default)]
    started_at: Option<String>,
    #[serde(default)]
    duration_seconds: Option<f64>,
    /// The artifacts this step wrote, copied into its folder.
    #[serde(default)]
    artifacts: Vec<String>,
    /// From the step's `run_results.json`, when it wrote one.
    #[serde(default)]
    counts: Option<Counts>,
}

/// A step's models and tests by outcome, from its `run_results.json`. What ran and what
/// was reused are apart, so that `passed + reused` ended well: `*_passed` ran in this step
/// (dbt's `success`; a test's `pass` or `warn`), `*_reused` were left as they were because
/// nothing they depend on changed (`reused`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Counts {
    models_passed: u64,
    /// Default: records written before pitwall reused nodes have none.
    #[serde(default)]
    models_reused: u64,
    models_failed: u64,
    tests_passed: u64,
    #[serde(default)]
    tests_reused: u64,
    tests_failed: u64,
}

impl Counts {
    /// Counts a `run_results.json`. A test that warns passed (it does not fail the run,
    /// as in dbt); skipped nodes count as none of these.
    fn of_run_results(bytes: &[u8]) -> Result<Counts> {
        #[derive(Deserialize)]
        struct RunResults {
            results: Vec<NodeResult>,
        }
        #[derive(Deserialize)]
        struct NodeResult {
            unique_id: String,
            status: String,
        }
        let parsed: RunResults = serde_json::from_slice(bytes)?;
        let mut counts = Counts::default();
        for r in &parsed.results {
            let kind = r.unique_id.split('.').next().unwrap_or_default();
            match (kind, r.status.as_str()) {
                ("model", "success") => counts.models_passed += 1,
                ("model", "reused") => counts.models_reused += 1,
                ("model", "error") => counts.models_failed += 1,
                ("test", "pass" | "warn") => counts.tests_passed += 1,
                ("test", "reused") => counts.tests_reused += 1,
                ("test", "fail" | "error") => counts.tests_failed += 1,
                _ => {}
            }
        }
        Ok(counts)
    }

    fn add(self, other: Counts) -> Counts {
        Counts {
            models_passed: self.models_passed + other.models_passed,
            models_reused: self.models_reused + other.models_reused,
            models_failed: self.models_failed + other.models_failed,
            tests_passed: self.tests_passed + other.tests_passed,
            tests_reused: self.tests_reused + other.tests_reused,
            tests_failed: self.tests_failed + other.tests_failed,
        }
    }

    /// The models in words: `2 built, 19 reused`.
    fn models(&self) -> String {
        in_words(&[(self.models_passed, "built"), (self.models_reused, "reused"), (self.models_failed, "failed")])
    }

    /// The tests in words: `3 passed, 14 reused, 1 failed`.
    fn tests(&self) -> String {
        in_words(&[(self.tests_passed, "passed"), (self.tests_reused, "reused"), (self.tests_failed, "failed")])
    }
}

/// The non-zero counts, `none` when all are zero.
fn in_words(counts: &[(u64, &str)]) -> String {
    let said: Vec<String> = counts.iter().filter(|(n, _)| *n > 0).map(|(n, word)| format!("{n} {word}")).collect();
    if said.is_empty() { "none".to_owned() } else { said.join(", ") }
}

/// A step as written in the job, and its words.
struct Step {
    text: String,
    words: Vec<String>,
    folder: String,
}

/// Splits and checks a step before anything runs, so a typo in step 3 does not cost the
/// build of step 1. A step may not choose the project, target or target path (the job
/// does, and the run's record is read from its target path), nor run a job (recursion).
fn parse_step(job: &str, index: usize, text: &str) -> Result<Step> {
    let at = || format!("[jobs.{job}] step {} `{text}`", index + 1);
    let words = split_words(text).map_err(|e| anyhow!("{}: {e}", at()))?;
    let command = words.iter().find(|w| !w.starts_with('-')).ok_or_else(|| anyhow!("{}: no command", at()))?;
    if command == "job" {
        bail!("{}: a step cannot run a job", at());
    }
    for option in JOB_OWNED_OPTIONS {
        if words.iter().any(|w| w == option || w.starts_with(&format!("{option}="))) {
            bail!(
                "{}: a step cannot set {option}: the job runs its steps in its project on its target \
                 ([jobs.{job}] target); give --target-path to `pitwall job run` itself",
                at()
            );
        }
    }
    let folder = format!("{:02}-{}", index + 1, file_name(command));
    Ok(Step { text: text.to_owned(), words, folder })
}

/// Splits a command line into words as a POSIX shell does for plain text: whitespace
/// separates, '...' is literal, "..." keeps spaces and honours \" and \\, and a backslash
/// outside quotes escapes the next character. No variables, globs or pipes.
fn split_words(text: &str) -> Result<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(word.take()),
            '\'' => {
                let word = word.get_or_insert_default();
                loop {
                    match chars.next() {
                        None => bail!("an unclosed ' quote"),
                        Some('\'') => break,
                        Some(other) => word.push(other),
                    }
                }
            }
            '"' => {
                let word = word.get_or_insert_default();
                loop {
                    match chars.next() {
                        None => bail!("an unclosed \" quote"),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e @ ('"' | '\\')) => word.push(e),
                            Some(other) => word.extend(['\\', other]),
                            None => bail!("an unclosed \" quote"),
                        },
                        Some(other) => word.push(other),
                    }
                }
            }
            '\\' => word.get_or_insert_default().push(chars.next().unwrap_or('\\')),
            c => word.get_or_insert_default().push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

/// `text` as one path segment: anything but letters, digits, `-`, `_` and `.` becomes `_`.
fn file_name(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect()
}

fn timestamp(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn unknown_job(config: &ProjectConfig, name: &str) -> anyhow::Error {
    if config.jobs.is_empty() {
        return anyhow!("no job '{name}': pitwall.toml defines no jobs (add a [jobs.<name>] section)");
    }
    let defined: Vec<&str> = config.jobs.keys().map(String::as_str).collect();
    anyhow!("no job '{name}' in pitwall.toml (defined: {})", defined.join(", "))
}

/// Where one run is recorded.
struct RunFolder {
    store: Store,
    /// `runs/<run-id>`.
    prefix: String,
}

impl RunFolder {
    /// A new run of `job`: its id is the start time, unless a run of the same job already
    /// has that millisecond.
    async fn create(store: Store, job: &str) -> Result<(RunFolder, String, SystemTime)> {
        loop {
            let started = SystemTime::now();
            let id = format!("{}-{}", DateTime::<Utc>::from(started).format(ID_TIME), file_name(job));
            let folder = RunFolder { prefix: format!("{RUNS}/{id}"), store: store.clone() };
            match store.store.head(&folder.path("job.json")).await {
                Err(object_store::Error::NotFound { .. }) => return Ok((folder, id, started)),
                Ok(_) => tokio::time::sleep(Duration::from_millis(1)).await,
                Err(e) => return Err(e).with_context(|| format!("checking {}", folder.display("job.json"))),
            }
        }
    }

    fn path(&self, part: &str) -> object_store::path::Path {
        self.store.child(&format!("{}/{part}", self.prefix))
    }

    fn display(&self, part: &str) -> String {
        self.store.display(&format!("{}/{part}", self.prefix))
    }

    async fn put(&self, part: &str, bytes: Vec<u8>) -> Result<()> {
        self.store.store.put(&self.path(part), PutPayload::from(bytes)).await?;
        Ok(())
    }

    async fn save(&self, record: &JobRecord) -> Result<()> {
        let json = serde_json::to_vec_pretty(record).context("serializing job.json")?;
        self.put("job.json", json).await.with_context(|| format!("writing {}", self.display("job.json")))
    }
}

async fn run(options: &GlobalOptions, name: &str) -> Result<bool> {
    let config = options.config()?;
    let job = config.jobs.get(name).cloned().ok_or_else(|| unknown_job(&config, name))?;
    let steps: Vec<Step> =
        job.steps.iter().enumerate().map(|(i, text)| parse_step(&job.name, i, text)).collect::<Result<_>>()?;
    if let Some(target) = options.target.as_ref().filter(|t| **t != job.target) {
        eprintln!("note: job '{}' runs on its own target '{}', not '{target}'", job.name, job.target);
    }
    // The target path as the steps see it: the job's target may give it other storage
    // options than the target `job run` was started with.
    let config = GlobalOptions { target: Some(job.target.clone()), ..options.clone() }.config()?;
    let store = config.target_path.open()?;
    let (folder, run_id, started) = RunFolder::create(store, &job.name).await?;
    let mut record = new_record(&job, &run_id, started, &steps);
    folder.save(&record).await?;
    let count = if steps.len() == 1 { "1 step".to_owned() } else { format!("{} steps", steps.len()) };
    println!("Running job '{}' on target '{}' ({count}), recorded as run {run_id}", job.name, job.target);
    let clock = Instant::now();
    let result = run_steps(&config, options, &job, &steps, &folder, &mut record).await;
    finish(&mut record, result.as_ref().is_ok_and(|ok| *ok), clock.elapsed());
    let saved = folder.save(&record).await;
    let outcome = if record.status == RunStatus::Success { "succeeded" } else { "failed" };
    let counts = record.counts().map(|c| format!(": models {}; tests {}", c.models(), c.tests())).unwrap_or_default();
    println!("Job '{}' {outcome} in {:.1}s{counts}", job.name, clock.elapsed().as_secs_f64());
    println!("Recorded in {}", folder.display(""));
    match (result, saved) {
        (Err(e), Err(s)) => {
            // The run's own error is the one to report; this one is said in passing.
            eprintln!("warning: {s:#}");
            Err(e)
        }
        (result, saved) => saved.and(result),
    }
}

fn new_record(job: &JobConfig, run_id: &str, started: SystemTime, steps: &[Step]) -> JobRecord {
    JobRecord {
        run_id: run_id.to_owned(),
        job: job.name.clone(),
        target: job.target.clone(),
        description: job.description.clone(),
        started_at: timestamp(started),
        duration_seconds: None,
        status: RunStatus::Running,
        steps: steps
            .iter()
            .map(|s| StepRecord {
                command: s.text.clone(),
                folder: s.folder.clone(),
                status: StepStatus::Pending,
                exit_code: None,
                started_at: None,
                duration_seconds: None,
                artifacts: Vec::new(),
                counts: None,
            })
            .collect(),
    }
}

/// The final status. A step still running was cut short by pitwall's own error (writing
/// the record, say), so it counts as failed; steps never reached are skipped.
fn finish(record: &mut JobRecord, ok: bool, elapsed: Duration) {
    for step in &mut record.steps {
        match step.status {
            StepStatus::Running => step.status = StepStatus::Error,
            StepStatus::Pending => step.status = StepStatus::Skipped,
            _ => {}
        }
    }
    record.status = if ok { RunStatus::Success } else { RunStatus::Error };
    record.duration_seconds = Some(elapsed.as_secs_f64());
}

/// Runs the steps in order until one fails, saving the record as each starts and ends so
/// a crash leaves a record of how far the run got.
async fn run_steps(
    config: &ProjectConfig,
    options: &GlobalOptions,
    job: &JobConfig,
    steps: &[Step],
    folder: &RunFolder,
    record: &mut JobRecord,
) -> Result<bool> {
    for (i, step) in steps.iter().enumerate() {
        println!("== step {}/{}: {} ==", i + 1, steps.len(), step.text);
        let started = SystemTime::now();
        record.steps[i].status = StepStatus::Running;
        record.steps[i].started_at = Some(timestamp(started));
        folder.save(record).await?;
        let before = artifact_versions(&folder.store).await?;
        let command = step_command(config, options, job, &step.words)?;
        tracing::debug!(?command, "running step {}", i + 1);
        let (exit, log) = tokio::task::spawn_blocking(move || stream_child(command)).await?;
        let elapsed = started.elapsed().unwrap_or_default();
        let log = match exit {
            Ok(_) => log,
            // Not started at all: the reason is this step's console output.
            Err(ref e) => format!("cannot start the step: {e}\n").into_bytes(),
        };
        folder.put(&format!("{}/console.log", step.folder), log).await?;
        let artifacts = copy_new_artifacts(folder, &step.folder, &before).await?;
        let counts = if artifacts.iter().any(|a| a == "run_results.json") {
            read_counts(folder, &format!("{}/run_results.json", step.folder)).await
        } else {
            None
        };
        let exit_code = exit.as_ref().ok().and_then(ExitStatus::code);
        let success = exit.as_ref().is_ok_and(ExitStatus::success);
        report_failure(i, &exit);
        let state = &mut record.steps[i];
        state.status = if success { StepStatus::Success } else { StepStatus::Error };
        state.exit_code = exit_code;
        state.duration_seconds = Some(elapsed.as_secs_f64());
        state.artifacts = artifacts;
        state.counts = counts;
        folder.save(record).await?;
        if !success {
            return Ok(false);
        }
    }
    Ok(true)
}

fn report_failure(index: usize, exit: &std::io::Result<ExitStatus>) {
    match exit {
        Ok(status) if status.success() => {}
        Ok(status) => match status.code() {
            Some(code) => eprintln!("step {} failed (exit code {code}); the steps after it are skipped", index + 1),
            None => {
                eprintln!("step {} ended without an exit code ({status}); the steps after it are skipped", index + 1)
            }
        },
        Err(e) => eprintln!("step {} could not start: {e}; the steps after it are skipped", index + 1),
    }
}

/// The child `pitwall` for a step: the same executable, on the job's project and target,
/// with the global options `job run` was given that still mean something to a step (the
/// environment, `PITWALL_*` included, is inherited; the options here beat it).
fn step_command(config: &ProjectConfig, options: &GlobalOptions, job: &JobConfig, words: &[String]) -> Result<Command> {
    let exe = std::env::current_exe().context("finding the pitwall executable to run the job's steps")?;
    let root = std::path::absolute(&config.root).with_context(|| format!("{}", config.root.display()))?;
    let mut command = Command::new(exe);
    command.arg("--project-dir").arg(root).arg("--target").arg(&job.target);
    let forwarded = [
        ("--source", &options.source),
        ("--target-path", &options.target_path),
        ("--warehouse", &options.warehouse),
        ("--model-stage", &options.model_stage),
    ];
    for (flag, value) in forwarded {
        if let Some(value) = value {
            command.arg(flag).arg(value);
        }
    }
    if let Some(limit) = options.memory_limit {
        command.arg("--memory-limit").arg(limit.to_string());
    }
    if let Some(dir) = &options.spill_dir {
        command.arg("--spill-dir").arg(dir);
    }
    if options.no_wait {
        command.arg("--no-wait");
    }
    if let Some(vars) = &options.vars {
        command.arg("--vars").arg(vars);
    }
    command.args(words);
    Ok(command)
}

/// Runs `command`, copying its stdout and stderr to ours as they come and into one log
/// (interleaved in arrival order, as a terminal would show them).
fn stream_child(mut command: Command) -> (std::io::Result<ExitStatus>, Vec<u8>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let spawned = command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => return (Err(e), Vec::new()),
    };
    let readers = [
        child.stdout.take().map(|out| tee(out, std::io::stdout, Arc::clone(&log))),
        child.stderr.take().map(|err| tee(err, std::io::stderr, Arc::clone(&log))),
    ];
    let status = child.wait();
    for reader in readers.into_iter().flatten() {
        if let Ok(Err(e)) = reader.join() {
            tracing::warn!("reading a step's output: {e}");
        }
    }
    let log = std::mem::take(&mut *log.lock().unwrap_or_else(PoisonError::into_inner));
    (status, log)
}

fn tee<R, W>(mut from: R, console: fn() -> W, log: Arc<Mutex<Vec<u8>>>) -> JoinHandle<std::io::Result<()>>
where
    R: Read + Send + 'static,
    W: Write + 'static,
{
    std::thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        loop {
            let n = match from.read(&mut buffer) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            log.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(&buffer[..n]);
            // The console is a courtesy; the log is the record, so a console error does
            // not stop the capture.
            let mut out = console();
            let _ = out.write_all(&buffer[..n]).and_then(|()| out.flush());
        }
    })
}

/// Each artifact's metadata before a step (None: absent), to tell what the step wrote.
async fn artifact_versions(store: &Store) -> Result<Vec<Option<ObjectMeta>>> {
    let mut versions = Vec::new();
    for name in ARTIFACTS {
        versions.push(match store.store.head(&store.child(name)).await {
            Ok(meta) => Some(meta),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => return Err(e).with_context(|| format!("reading {}", store.display(name))),
        });
    }
    Ok(versions)
}

/// Copies into the step's folder each artifact that is new or changed since `before`
/// (modification time, size or e-tag: object stores have no cheaper "written by whom").
async fn copy_new_artifacts(folder: &RunFolder, step: &str, before: &[Option<ObjectMeta>]) -> Result<Vec<String>> {
    let after = artifact_versions(&folder.store).await?;
    let mut copied = Vec::new();
    for ((name, before), after) in ARTIFACTS.iter().zip(before).zip(after) {
        let Some(after) = after else { continue };
        let changed = before
            .as_ref()
            .is_none_or(|b| (b.last_modified, b.size, &b.e_tag) != (after.last_modified, after.size, &after.e_tag));
        if !changed {
            continue;
        }
        let to = format!("{step}/{name}");
        folder
            .store
            .store
            .copy(&after.location, &folder.path(&to))
            .await
            .with_context(|| format!("copying {} to {}", folder.store.display(name), folder.display(&to)))?;
        tracing::debug!("copied {name} into {}", folder.display(step));
        copied.push((*name).to_owned());
    }
    Ok(copied)
}

/// A step's counts; a run_results.json that cannot be read costs only the counts.
async fn read_counts(folder: &RunFolder, part: &str) -> Option<Counts> {
    let read = async { Ok::<_, anyhow::Error>(folder.store.store.get(&folder.path(part)).await?.bytes().await?) };
    match read.await.and_then(|bytes| Counts::of_run_results(&bytes)) {
        Ok(counts) => Some(counts),
        Err(e) => {
            eprintln!("warning: no model and test counts from {}: {e:#}", folder.display(part));
            None
        }
    }
}

/// `job history`: the recorded runs, oldest first, so the newest is next to the prompt.
///
/// A run whose `job.json` still says "running" is shown as "running" even if its process
/// is gone: the target path may be an object store shared by several machines, so a pid
/// or host in the record could not be checked from here. The start time tells a stale
/// one apart.
async fn history(options: &GlobalOptions, name: Option<&str>, limit: Option<usize>) -> Result<bool> {
    let config = options.config()?;
    let store = config.target_path.open()?;
    let mut ids = run_ids(&store).await?;
    if let Some(name) = name {
        let suffix = file_name(name);
        ids.retain(|id| id.get(ID_TIME_WIDTH + 1..) == Some(suffix.as_str()));
    }
    if let Some(limit) = limit {
        ids.drain(..ids.len().saturating_sub(limit));
    }
    let mut records = Vec::new();
    for id in &ids {
        match read_record(&store, id).await {
            // Ids are made from sanitized names: the record says whose run it is.
            Ok(record) if name.is_none_or(|n| record.job == n) => records.push(record),
            Ok(_) => {}
            Err(e) => eprintln!("warning: skipping run {id}: {e:#}"),
        }
    }
    if records.is_empty() {
        let of = name.map(|n| format!(" of job '{n}'")).unwrap_or_default();
        let undefined = name.filter(|n| !config.jobs.contains_key(*n)).map(|n| unknown_job(&config, n));
        let note = undefined.map(|e| format!(" ({e})")).unwrap_or_default();
        println!("No runs{of} are recorded under {}{note}", store.display(RUNS));
        return Ok(true);
    }
    print!("{}", history_table(&records));
    Ok(true)
}

/// The run ids under `runs/`, sorted (so by start time).
async fn run_ids(store: &Store) -> Result<Vec<String>> {
    let runs = store.child(RUNS);
    let listed = match store.store.list_with_delimiter(Some(&runs)).await {
        Ok(listed) => listed.common_prefixes,
        Err(object_store::Error::NotFound { .. }) => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("listing {}", store.display(RUNS))),
    };
    let mut ids: Vec<String> = listed.iter().filter_map(|p| p.filename().map(str::to_owned)).collect();
    ids.sort();
    Ok(ids)
}

async fn read_record(store: &Store, id: &str) -> Result<JobRecord> {
    let part = format!("{RUNS}/{id}/job.json");
    let bytes = store.store.get(&store.child(&part)).await?.bytes().await?;
    serde_json::from_slice(&bytes).with_context(|| store.display(&part))
}

const HEADER: [&str; 8] = ["RUN ID", "JOB", "TARGET", "STARTED", "DURATION", "STATUS", "MODELS", "TESTS"];
/// The column of [`HEADER`] that is right-aligned, as numbers are.
const DURATION_COLUMN: usize = 4;

fn history_table(records: &[JobRecord]) -> String {
    let rows: Vec<[String; 8]> = records.iter().map(history_row).collect();
    let mut widths = HEADER.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(HEADER.map(str::to_owned)).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (cell, w))| if i == DURATION_COLUMN { format!("{cell:>w$}") } else { format!("{cell:<w$}") })
            .collect();
        // Two spaces between columns: the counts' cells have single spaces in them.
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn history_row(record: &JobRecord) -> [String; 8] {
    let started = DateTime::parse_from_rfc3339(&record.started_at)
        .map(|t| t.with_timezone(&Utc).format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| record.started_at.clone());
    let duration = record.duration_seconds.map(|s| format!("{s:.1}s")).unwrap_or_else(|| "-".to_owned());
    let status = serde_json::to_value(record.status).ok().and_then(|v| v.as_str().map(str::to_owned));
    let counts = record.counts();
    let said = |f: fn(&Counts) -> String| counts.as_ref().map(f).unwrap_or_else(|| "-".to_owned());
    [
        record.run_id.clone(),
        record.job.clone(),
        record.target.clone(),
        started,
        duration,
        status.unwrap_or_default(),
        said(Counts::models),
        said(Counts::tests),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_split_like_a_shell_with_quotes() {
        let split = |t: &str| split_words(t).unwrap();
        assert_eq!(split("build"), ["build"]);
        assert_eq!(split("  test  -s   marts "), ["test", "-s", "marts"]);
        assert_eq!(split(r#"query "select * from x where a = 'b'""#), ["query", "select * from x where a = 'b'"]);
        assert_eq!(split(r#"query 'say "hi"' --limit 3"#), ["query", r#"say "hi""#, "--limit", "3"]);
        assert_eq!(split(r#"a"b c"d \"e\ f"#), ["ab cd", "\"e f"]);
        assert_eq!(split("x ''"), ["x", ""]);
        assert!(split_words("query 'open").is_err());
        assert!(split_words("query \"open").is_err());
    }

    #[test]
    fn a_step_may_not_choose_the_target_or_run_a_job() {
        assert_eq!(parse_step("p", 0, "build -s marts").unwrap().folder, "01-build");
        assert_eq!(parse_step("p", 11, "--no-wait docs generate").unwrap().folder, "12-docs");
        for bad in ["build --target dev", "build --target=dev", "run --project-dir x", "job run p", "", "--no-wait"] {
            assert!(parse_step("p", 0, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn counts_come_from_run_results_and_warnings_pass() {
        let json = br#"{"results": [
            {"unique_id": "model.p.a", "status": "success"}, {"unique_id": "model.p.b", "status": "error"},
            {"unique_id": "model.p.c", "status": "skipped"}, {"unique_id": "test.p.t", "status": "pass"},
            {"unique_id": "test.p.u", "status": "warn"}, {"unique_id": "test.p.v", "status": "fail"}]}"#;
        let counts = Counts::of_run_results(json).unwrap();
        let expected =
            Counts { models_passed: 1, models_failed: 1, tests_passed: 2, tests_failed: 1, ..Counts::default() };
        assert_eq!(counts, expected);
    }

    #[test]
    fn reused_nodes_are_counted_apart_from_those_that_ran_and_said_so() {
        let json = br#"{"results": [
            {"unique_id": "model.p.a", "status": "success"}, {"unique_id": "model.p.b", "status": "reused"},
            {"unique_id": "model.p.c", "status": "reused"}, {"unique_id": "test.p.t", "status": "reused"}]}"#;
        let counts = Counts::of_run_results(json).unwrap();
        let expected = Counts { models_passed: 1, models_reused: 2, tests_reused: 1, ..Counts::default() };
        assert_eq!(counts, expected);
        assert_eq!((counts.models(), counts.tests()), ("1 built, 2 reused".to_owned(), "1 reused".to_owned()));
        assert_eq!(Counts::default().tests(), "none");
    }

    #[test]
    fn a_record_from_before_reuse_still_reads() {
        let json = br#"{"models_passed": 3, "models_failed": 1, "tests_passed": 2, "tests_failed": 0}"#;
        let counts: Counts = serde_json::from_slice(json).unwrap();
        assert_eq!((counts.models(), counts.tests()), ("3 built, 1 failed".to_owned(), "2 passed".to_owned()));
    }
}
