//! The warehouse lock and crash hygiene (issue 9, items 5 to 7), with real processes:
//! builds started at once on one warehouse, readers racing builds, a build refused with
//! `--no-wait`, builds killed with SIGKILL at pseudo-random points, and a warehouse that
//! cannot be written.
//!
//! Builds use the tiny fixture (`--exclude ml.train_predict`, as `fixtures.rs` does), so
//! each takes a fraction of a second; every process has a deadline, so a lock that is
//! never released fails a test instead of hanging it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pitwall_core::warehouse::{Access, LOCK_FILE};
use pitwall_core::{Location, Warehouse};

use crate::support::{Run, copy_source, files, fixture, workspace};

/// Longer than any process here takes, even on a loaded 2-core machine.
const DEADLINE: Duration = Duration::from_secs(120);

/// `pitwall args...` with artifacts and warehouse under `target`, ready to spawn, with
/// none of the developer's `PITWALL_*` variables.
fn command(target: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pitwall"));
    command.current_dir(workspace()).env("PITWALL_TARGET_PATH", target).args(args);
    for var in ["PITWALL_PROJECT_DIR", "PITWALL_SOURCE", "PITWALL_WAREHOUSE", "PITWALL_MODEL_STAGE", "PITWALL_NO_WAIT"]
    {
        command.env_remove(var);
    }
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

fn spawn(command: &mut Command) -> Child {
    command.spawn().expect("pitwall starts")
}

/// Waits for `child`, killing it and failing past [`DEADLINE`].
fn finish(child: Child) -> Run {
    let pid = child.id();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || sender.send(child.wait_with_output()));
    let output = match receiver.recv_timeout(DEADLINE) {
        Ok(output) => output.expect("pitwall's output is read"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("pitwall (pid {pid}) did not finish in {DEADLINE:?}: a lock never released?");
        }
    };
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        output,
    }
}

fn pitwall(target: &Path, args: &[&str]) -> Run {
    finish(spawn(&mut command(target, args)))
}

fn build_args(source: &Path) -> Vec<String> {
    ["build", "--source", source.to_str().unwrap(), "--exclude", "ml.train_predict"].map(str::to_owned).to_vec()
}

fn build(target: &Path, source: &Path) -> Command {
    let args = build_args(source);
    command(target, &args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn assert_clean_build(run: &Run) {
    assert!(run.ok(), "{}", run.all());
    assert!(run.stdout.contains("ERROR=0"), "{}", run.all());
}

/// Two versions of the source: the tiny fixture (`a`), and (`b`) the same with two
/// results of the last race gone, so every model reading results differs between them.
struct Versions {
    a: tempfile::TempDir,
    b: tempfile::TempDir,
}

impl Versions {
    fn new() -> Versions {
        let a = copy_source(&fixture("f1_tiny"));
        let b = copy_source(&fixture("f1_tiny"));
        let results = b.path().join("results.csv");
        let text = std::fs::read_to_string(&results).unwrap();
        let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with("7,3,") && !l.starts_with("8,3,")).collect();
        assert_eq!(kept.len() + 2, text.lines().count(), "results.csv changed: update this test");
        std::fs::write(&results, kept.join("\n") + "\n").unwrap();
        Versions { a, b }
    }

    fn source(&self, b: bool) -> &Path {
        if b { self.b.path() } else { self.a.path() }
    }
}

/// Every model's rows, as `export` writes them, sorted (row order is not part of a
/// version): model name -> lines.
type Contents = BTreeMap<String, Vec<String>>;

fn export(target: &Path) -> Contents {
    WarehouseAt::local().export(target)
}

fn read_export(out: &Path) -> Contents {
    let mut contents = Contents::new();
    for entry in std::fs::read_dir(out).unwrap() {
        let path = entry.unwrap().path();
        let model = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let mut lines: Vec<String> = std::fs::read_to_string(&path).unwrap().lines().map(str::to_owned).collect();
        lines.sort();
        contents.insert(model, lines);
    }
    contents
}

/// `select count(*) from <model>`, through `pitwall query`.
fn count(target: &Path, model: &str) -> usize {
    let run = pitwall(target, &["query", &format!("select count(*) as n from {model}")]);
    assert!(run.ok(), "{model} is not readable:\n{}", run.all());
    run.stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix('|')?.strip_suffix('|')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count in:\n{}", run.stdout))
}

/// A tiny deterministic generator (xorshift64*), so the kill points repeat run to run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// Two builds started at once on one warehouse used to fail now and then with
/// `snappy: corrupt input`, one reading a table the other was replacing. With the lock,
/// the second waits for the first: both succeed, every time.
#[test]
fn two_builds_at_once_on_one_warehouse_both_succeed_in_turn() {
    let target = tempfile::tempdir().unwrap();
    let versions = Versions::new();
    let mut waited = 0;
    for round in 0..10 {
        // Different versions, so each build replaces what the other wrote.
        let first = spawn(&mut build(target.path(), versions.source(false)));
        let second = spawn(&mut build(target.path(), versions.source(true)));
        for run in [finish(first), finish(second)] {
            assert!(run.ok(), "round {round}: a build failed:\n{}", run.all());
            assert_clean_build(&run);
            waited += usize::from(run.stderr.contains("Waiting for the warehouse"));
        }
    }
    // Informational: how often the builds actually overlapped.
    eprintln!("two builds at once: the second waited in {waited} of 10 rounds");
    // Whichever finished last, the warehouse holds one whole version.
    let results = count(target.path(), "fct_results");
    assert!([8, 10].contains(&results), "fct_results has {results} rows");
}

/// A process holding the lock (this test, through the warehouse API pitwall uses): a
/// build or a reader with `--no-wait` (or `PITWALL_NO_WAIT`) is refused at once, naming
/// the holder, and writes nothing; a build without it waits, saying once for whom, and
/// runs when the lock is released. Readers share the lock and keep a writer out.
#[test]
fn a_locked_warehouse_refuses_no_wait_runs_by_name_and_makes_others_wait() {
    let target = tempfile::tempdir().unwrap();
    let source = fixture("f1_tiny");
    let warehouse = Warehouse::open(&Location::local(target.path().join("warehouse"))).unwrap();
    let holder = warehouse.try_lock(Access::Write).unwrap();
    let named = format!("process {} (", std::process::id());
    let lock_file = target.path().join("warehouse").join(LOCK_FILE);

    let mut refused = build(target.path(), &source);
    let refused = finish(spawn(refused.arg("--no-wait")));
    assert!(!refused.ok(), "{}", refused.all());
    for expected in ["--no-wait", lock_file.to_str().unwrap(), &named] {
        assert!(refused.stderr.contains(expected), "missing '{expected}' in:\n{}", refused.stderr);
    }
    // Nothing ran, and the holder's artifacts (none here) are left alone.
    assert!(!target.path().join("run_results.json").exists());
    assert_eq!(files(&target.path().join("warehouse")), [PathBuf::from(LOCK_FILE)]);

    let reader = finish(spawn(command(target.path(), &["query", "select 1"]).env("PITWALL_NO_WAIT", "1")));
    assert!(!reader.ok() && reader.stderr.contains(&named), "{}", reader.all());

    let mut waiting = spawn(&mut build(target.path(), &source));
    std::thread::sleep(Duration::from_millis(1500));
    assert!(waiting.try_wait().unwrap().is_none(), "a build ran while another process held the lock");
    drop(holder);
    let waited = finish(waiting);
    assert_clean_build(&waited);
    assert_eq!(waited.stderr.matches("Waiting for the warehouse").count(), 1, "{}", waited.stderr);
    assert!(waited.stderr.contains(&format!("it is in use by {named}")), "{}", waited.stderr);

    // Readers share: a reader runs while this test reads too, a writer does not.
    let reading = warehouse.try_lock(Access::Read).unwrap();
    let show = pitwall(target.path(), &["--no-wait", "show", "fct_results"]);
    assert!(show.ok(), "{}", show.all());
    let mut writer = build(target.path(), &source);
    let writer = finish(spawn(writer.arg("--no-wait")));
    assert!(!writer.ok() && writer.stderr.contains("reading it"), "{}", writer.all());
    drop(reading);
}

/// Readers (`query`, `export`) racing builds that replace the tables they read: each
/// sees one whole version, never a torn file, never an error.
#[test]
fn readers_racing_builds_never_read_a_torn_table() {
    let target = tempfile::tempdir().unwrap();
    let versions = Versions::new();
    assert_clean_build(&finish(spawn(&mut build(target.path(), versions.source(false)))));
    let mut reads = 0;
    for round in 0..10 {
        let building = spawn(&mut build(target.path(), versions.source(round % 2 == 0)));
        let building = std::sync::Mutex::new(building);
        let done = &|| building.lock().unwrap().try_wait().unwrap().is_some();
        let target = target.path();
        // Two readers at once, each reading until the build has ended (and once after).
        let started = Instant::now();
        reads += std::thread::scope(|scope| {
            let readers: Vec<_> = (0..2)
                .map(|reader| {
                    scope.spawn(move || {
                        let mut reads = 0;
                        loop {
                            let finished = done() || started.elapsed() > DEADLINE;
                            if reader == 0 {
                                let rows = count(target, "fct_results");
                                assert!([8, 10].contains(&rows), "round {round}: fct_results has {rows} rows");
                                let show = pitwall(target, &["show", "pit_stops_joined", "--limit", "100"]);
                                assert!(show.ok(), "round {round}: {}", show.all());
                            } else {
                                // Every model read in full, while the build replaces them.
                                let rows = export(target)["fct_results"].len() - 1;
                                assert!([8, 10].contains(&rows), "round {round}: fct_results has {rows} rows");
                            }
                            reads += 1;
                            if finished {
                                return reads;
                            }
                        }
                    })
                })
                .collect();
            readers.into_iter().map(|r| r.join().unwrap()).sum::<usize>()
        });
        assert_clean_build(&finish(building.into_inner().unwrap()));
    }
    eprintln!("readers racing builds: {reads} reads");
}

/// Builds killed with SIGKILL at pseudo-random points: afterwards every model is
/// readable and each is either its version before the killed build or the version that
/// build was making; a later build succeeds and leaves no temporary file anywhere.
#[test]
fn builds_killed_at_random_points_leave_whole_tables_and_no_temporary_files() {
    let versions = Versions::new();
    // Each version's contents, from clean builds, and how long a build takes here.
    let mut baseline = Vec::new();
    let mut longest = Duration::ZERO;
    for b in [false, true] {
        let target = tempfile::tempdir().unwrap();
        let started = Instant::now();
        assert_clean_build(&finish(spawn(&mut build(target.path(), versions.source(b)))));
        longest = longest.max(started.elapsed());
        baseline.push(export(target.path()));
    }
    let differing: Vec<&String> =
        baseline[0].keys().filter(|m| baseline[0][*m] != baseline[1].get(*m).cloned().unwrap_or_default()).collect();
    assert!(differing.len() >= 3, "the two versions should differ in several models: {differing:?}");

    let target = tempfile::tempdir().unwrap();
    assert_clean_build(&finish(spawn(&mut build(target.path(), versions.source(false)))));
    let mut current = baseline[0].clone();
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    let window = longest.as_millis() as u64 + 50;
    let mut leftovers = 0;
    for kill in 0..10 {
        let b = kill % 2 == 0;
        let delay = Duration::from_millis(rng.below(window));
        let mut child = build(target.path(), versions.source(b));
        let mut child = child.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let warehouse_files = files(&target.path().join("warehouse"));
        leftovers += warehouse_files.iter().filter(|f| f.to_str().unwrap().contains(".tmp-")).count();

        let after = export(target.path());
        let new = &baseline[usize::from(b)];
        assert_eq!(after.keys().collect::<Vec<_>>(), current.keys().collect::<Vec<_>>(), "kill {kill} after {delay:?}");
        for (model, rows) in &after {
            assert!(
                *rows == current[model] || *rows == new[model],
                "kill {kill} after {delay:?}: {model} is neither its previous nor its new version:\n{rows:#?}"
            );
            assert_eq!(count(target.path(), model), rows.len() - 1, "kill {kill}: {model}");
        }
        current = after;
    }
    eprintln!("killed builds: {leftovers} temporary files seen after kills");

    // What a process killed mid-write leaves, whether or not the kills above hit one.
    let analytics = target.path().join("warehouse/analytics");
    std::fs::write(analytics.join(".fct_results.parquet.tmp-4194304-1796052945893513284"), b"PAR1").unwrap();
    std::fs::write(analytics.join(".stg_f1_races.view.sql.tmp-4194304-1796052945893513285#1"), b"sel").unwrap();
    let rebuilt = finish(spawn(&mut build(target.path(), versions.source(true))));
    assert_clean_build(&rebuilt);
    assert!(rebuilt.stdout.contains("Removed "), "{}", rebuilt.stdout);
    for file in files(&target.path().join("warehouse")) {
        let name = file.file_name().unwrap().to_str().unwrap();
        let relation = !name.starts_with('.') && (name.ends_with(".parquet") || name.ends_with(".view.sql"));
        let passed_tests = name == ".pitwall-tests.json";
        assert!(relation || passed_tests || file == Path::new(LOCK_FILE), "left in the warehouse: {}", file.display());
    }
    assert_eq!(export(target.path()), baseline[1]);
}

/// Where a warehouse lives for [`killed_rebuilds_then_one_build_export_what_a_clean_build_does`]:
/// extra arguments and variables for every process that reads or writes it.
struct WarehouseAt {
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl WarehouseAt {
    fn local() -> WarehouseAt {
        WarehouseAt { args: Vec::new(), env: Vec::new() }
    }

    fn s3() -> WarehouseAt {
        let s3 = crate::support::s3::S3::shared();
        let bucket = s3.bucket("killed-rebuilds");
        WarehouseAt { args: vec!["--warehouse".into(), format!("s3://{bucket}/wh/")], env: s3.env("testing") }
    }

    fn command(&self, target: &Path, args: &[&str]) -> Command {
        let mut command = command(target, args);
        command.args(&self.args).envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    fn build(&self, target: &Path, source: &Path) -> Command {
        let args = build_args(source);
        self.command(target, &args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// Every model's rows, sorted, as `export` writes them.
    fn export(&self, target: &Path) -> Contents {
        let out = tempfile::tempdir().unwrap();
        let args = ["export", "--out", out.path().to_str().unwrap(), "--exclude", "ml.train_predict"];
        let run = finish(spawn(&mut self.command(target, &args)));
        assert!(run.ok(), "{}", run.all());
        read_export(out.path())
    }
}

/// State-aware rebuilds killed with SIGKILL at pseudo-random points, each followed by one
/// more (whole) build of either version of the source: that build's export is always
/// the clean build's of the same version. A stamp can never claim a table its build did
/// not commit, so what a killed build left is either reused rightly or rebuilt.
fn killed_rebuilds_then_one_build_export_what_a_clean_build_does(at: WarehouseAt, kills: u64, seed: u64) {
    let versions = Versions::new();
    let mut baseline = Vec::new();
    let mut longest = Duration::ZERO;
    for b in [false, true] {
        let target = tempfile::tempdir().unwrap();
        let clean = WarehouseAt::local();
        let started = Instant::now();
        assert_clean_build(&finish(spawn(&mut clean.build(target.path(), versions.source(b)))));
        longest = longest.max(started.elapsed());
        baseline.push(clean.export(target.path()));
    }
    let target = tempfile::tempdir().unwrap();
    assert_clean_build(&finish(spawn(&mut at.build(target.path(), versions.source(false)))));
    let mut rng = Rng(seed);
    for kill in 0..kills {
        let (killed, next) = (rng.below(2) == 1, rng.below(2) == 1);
        let delay = Duration::from_millis(rng.below(longest.as_millis() as u64 + 50));
        let mut child = at.build(target.path(), versions.source(killed));
        let mut child = child.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let after = finish(spawn(&mut at.build(target.path(), versions.source(next))));
        assert_clean_build(&after);
        assert_eq!(
            at.export(target.path()),
            baseline[usize::from(next)],
            "kill {kill}: a build of {} killed after {delay:?}, then one of {}:\n{}",
            if killed { "b" } else { "a" },
            if next { "b" } else { "a" },
            after.stdout
        );
    }
}

#[test]
fn killed_rebuilds_then_one_build_export_what_a_clean_build_does_on_a_local_warehouse() {
    killed_rebuilds_then_one_build_export_what_a_clean_build_does(WarehouseAt::local(), 8, 0x5eed_0021_0000_0001);
}

#[test]
fn killed_rebuilds_then_one_build_export_what_a_clean_build_does_on_an_s3_warehouse() {
    killed_rebuilds_then_one_build_export_what_a_clean_build_does(WarehouseAt::s3(), 5, 0x5eed_0021_0000_0002);
}

/// On S3 the warehouse lock is a lease object taken by conditional writes: a build
/// refused with `--no-wait` names the lease's holder, a waiting one takes over once the
/// lease expires, and two builds racing on one bucket run in turn, both whole.
#[test]
fn builds_on_one_s3_warehouse_are_serialized_by_its_lease() {
    let s3 = crate::support::s3::S3::shared();
    let bucket = s3.bucket("lease");
    let at = WarehouseAt { args: vec!["--warehouse".into(), format!("s3://{bucket}/wh/")], env: s3.env("testing") };
    let source = fixture("f1_tiny");
    let lease = |holder: &str, seconds: u64| {
        let expires_at_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
            as u64
            + seconds * 1000;
        let record = serde_json::json!({"holder": holder, "expires_at_ms": expires_at_ms});
        s3.put(&bucket, "wh/.pitwall.lock", serde_json::to_vec(&record).unwrap());
    };
    let target = tempfile::tempdir().unwrap();
    lease("a build on another machine", 60);
    let mut refused = at.build(target.path(), &source);
    let refused = finish(spawn(refused.arg("--no-wait")));
    assert!(!refused.ok(), "{}", refused.all());
    assert!(
        refused.stderr.contains(&format!("s3://{bucket}/wh/.pitwall.lock is held by a build on another machine")),
        "{}",
        refused.stderr
    );

    lease("a build that died", 2);
    let waited = finish(spawn(&mut at.build(target.path(), &source)));
    assert_clean_build(&waited);
    assert!(
        waited.stderr.contains("Waiting for the warehouse") && waited.stderr.contains("a build that died"),
        "{}",
        waited.all()
    );

    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut first = at.build(one.path(), &source);
    let mut second = at.build(two.path(), &source);
    let (first, second) = (spawn(first.arg("--full-refresh")), spawn(second.arg("--full-refresh")));
    let (first, second) = (finish(first), finish(second));
    assert_clean_build(&first);
    assert_clean_build(&second);
    let waits = [&first, &second].iter().filter(|r| r.stderr.contains("Waiting for the warehouse")).count();
    assert_eq!(waits, 1, "one of two racing builds waits for the other:\n{}\n{}", first.all(), second.all());
    let clean = tempfile::tempdir().unwrap();
    assert_clean_build(&finish(spawn(&mut build(clean.path(), &source))));
    assert_eq!(at.export(target.path()), export(clean.path()));
}

/// A warehouse pitwall cannot write: a raw schema it cannot store the load in fails the
/// run before any model, naming it; a model schema it cannot write makes every error line
/// say why, right under it, and run_results.json still records what ran.
///
/// The tests run as root here, which ignores permissions, so `chmod a-w` would not stop
/// a write. Instead a schema folder (`raw`, then `analytics`) is a regular file: creating
/// anything inside it fails with "Not a directory" for root as for anyone.
#[test]
fn a_warehouse_it_cannot_write_fails_saying_why_on_each_line_and_still_writes_run_results() {
    let target = tempfile::tempdir().unwrap();
    let warehouse = target.path().join("warehouse");
    std::fs::create_dir_all(&warehouse).unwrap();
    std::fs::write(warehouse.join("raw"), b"not a folder").unwrap();
    let run = finish(spawn(&mut build(target.path(), &fixture("f1_tiny"))));
    assert!(!run.ok(), "{}", run.all());
    // Storing the raw tables is fatal, named, and comes before any model.
    assert!(run.stderr.contains("error: storing the raw table raw."), "{}", run.stderr);
    assert!(run.stderr.contains(warehouse.join("raw").to_str().unwrap()), "{}", run.stderr);
    assert!(!run.stdout.contains(" of 36 "), "{}", run.stdout);
    assert_eq!(std::fs::read(warehouse.join("raw")).unwrap(), b"not a folder");
    std::fs::remove_file(warehouse.join("raw")).unwrap();

    std::fs::write(warehouse.join("analytics"), b"not a folder").unwrap();
    let run = finish(spawn(&mut build(target.path(), &fixture("f1_tiny"))));
    assert!(!run.ok(), "{}", run.all());
    // Each model error carries its reason on the line under it; nothing is left unsaid.
    let lines: Vec<&str> = run.stdout.lines().collect();
    let errors: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].contains(" ERROR creating ")).collect();
    assert!(!errors.is_empty(), "{}", run.stdout);
    for i in errors.iter().copied() {
        let reason = lines.get(i + 1).copied().unwrap_or_default();
        assert!(reason.starts_with("      ") && reason.contains("Not a directory"), "no reason under {}", lines[i]);
        assert!(reason.contains(warehouse.join("analytics").to_str().unwrap()), "{reason}");
    }
    assert!(run.stdout.contains(&format!("Models: 0 of 19 OK (error={}", errors.len())), "{}", run.stdout);
    // run_results.json: one result per node that ran or was skipped, the errors with why.
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(target.path().join("run_results.json")).unwrap()).unwrap();
    let results = results["results"].as_array().unwrap();
    let total = lines.iter().filter(|l| l.contains(" of 36 ")).count();
    assert_eq!((results.len(), total), (36, 36));
    let failed: Vec<&serde_json::Value> = results.iter().filter(|r| r["status"] == "error").collect();
    assert_eq!(failed.len(), errors.len());
    assert!(failed.iter().all(|r| r["message"].as_str().unwrap().contains("Not a directory")), "{failed:#?}");
    // The file in the way is as it was.
    assert_eq!(std::fs::read(warehouse.join("analytics")).unwrap(), b"not a folder");

    // A warehouse that cannot even be a folder: fatal before anything runs, named, and
    // run_results.json is still written, with nothing in it.
    let target = tempfile::tempdir().unwrap();
    std::fs::write(target.path().join("warehouse"), b"a file").unwrap();
    let run = finish(spawn(&mut build(target.path(), &fixture("f1_tiny"))));
    assert!(!run.ok(), "{}", run.all());
    assert!(run.stderr.contains(target.path().join("warehouse").to_str().unwrap()), "{}", run.stderr);
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(target.path().join("run_results.json")).unwrap()).unwrap();
    assert_eq!(results["results"], serde_json::json!([]));
}
