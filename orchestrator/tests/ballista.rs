//! The Ballista engines (cargo feature `ballista`), on the real binary:
//! - `--engine ballista`: a scheduler and an executor in the pitwall process build exactly
//!   what the local engine builds, in bounded time, leaving no work folder behind;
//! - `--engine df://`: a scheduler and two executors as processes of their own
//!   (`pitwall cluster ...`), with sources and warehouse on S3 (moto), build exactly
//!   what the local engine builds, both executors working; an executor killed mid-build
//!   ends the build in bounded time, naming it, and a plain rebuild is exact.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use pitwall_test_servers::{Server, free_port, http, spawn_tied};

use crate::s3::{Export, local_export};
use crate::support::s3::S3;
use crate::support::{Run, files, pitwall, pitwall_command, snapshot, workspace};

/// A standalone build takes 2 to 3 s here; the hang it had never ended.
const STANDALONE_DEADLINE: Duration = Duration::from_secs(60);
/// A cluster build (S3, two executors) takes seconds; a lost executor is noticed within
/// seconds (its port refuses connections), at worst the scheduler's 20 s timeout.
const CLUSTER_DEADLINE: Duration = Duration::from_secs(180);

/// Runs `command`, killed at `deadline`: `None` when it was. Output goes to files, not
/// pipes: a child blocked on a full pipe would look like a hang.
fn run_before(mut command: Command, deadline: Duration, scratch: &Path) -> Option<Run> {
    let (stdout, stderr) = (scratch.join("run.stdout"), scratch.join("run.stderr"));
    command.stdout(Stdio::from(std::fs::File::create(&stdout).unwrap()));
    command.stderr(Stdio::from(std::fs::File::create(&stderr).unwrap()));
    let mut child = command.spawn().expect("pitwall runs");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = Output { status, stdout: std::fs::read(&stdout).unwrap(), stderr: std::fs::read(&stderr).unwrap() };
    Some(Run::from(output))
}

#[test]
fn a_standalone_cluster_builds_exactly_what_the_local_engine_builds_and_leaves_no_files() {
    let target = tempfile::tempdir().unwrap();
    let spill = tempfile::tempdir().unwrap();
    let mut command = pitwall_command();
    command.current_dir(workspace()).env("PITWALL_TARGET_PATH", target.path());
    command.args(["build", "--engine", "ballista", "--spill-dir", spill.path().to_str().unwrap()]);
    let build = run_before(command, STANDALONE_DEADLINE, target.path())
        .unwrap_or_else(|| panic!("the standalone build missed its {STANDALONE_DEADLINE:?} deadline"));
    assert!(build.ok(), "{}", build.all());
    assert!(build.stdout.contains("ERROR=0 SKIP=0"), "{}", build.stdout);
    let left: Vec<_> = std::fs::read_dir(spill.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "the in-process executor left {left:?} in the spill folder");
    let out = target.path().join("export");
    let export = pitwall(target.path(), &["export", "--out", out.to_str().unwrap()]);
    assert!(export.ok(), "{}", export.all());
    assert_exports_equal(&snapshot(&out), local_export(), "--engine ballista");
}

#[test]
fn an_unknown_engine_is_named() {
    let target = tempfile::tempdir().unwrap();
    let run = pitwall(target.path(), &["build", "--engine", "spark"]);
    assert!(!run.ok());
    assert!(run.stderr.contains("unknown engine `spark`"), "{}", run.all());
}

#[test]
fn an_unreachable_scheduler_fails_the_build_at_once_naming_it() {
    let target = tempfile::tempdir().unwrap();
    let url = format!("df://127.0.0.1:{}", free_port().unwrap());
    let started = Instant::now();
    let run = pitwall(target.path(), &["build", "--engine", &url]);
    assert!(!run.ok());
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert!(run.stderr.contains(&format!("the Ballista scheduler at {url} does not answer")), "{}", run.all());
}

/// A scheduler and executors of `pitwall cluster`, each a process, killed with the test.
struct Cluster {
    scheduler: Server,
    executors: Vec<Executor>,
    _work: tempfile::TempDir,
}

struct Executor {
    child: Child,
    work_dir: PathBuf,
}

impl Cluster {
    fn start(env: &[(String, String)], executors: usize) -> Cluster {
        let pitwall = PathBuf::from(env!("CARGO_BIN_EXE_pitwall"));
        let scheduler = Server::start_with_env(&pitwall, env, &|port| {
            ["cluster", "scheduler", "--bind", &format!("127.0.0.1:{port}")].map(str::to_owned).to_vec()
        })
        .unwrap_or_else(|e| panic!("the scheduler did not start: {e}"));
        let work = tempfile::tempdir().unwrap();
        let address = scheduler.endpoint().trim_start_matches("http://").to_owned();
        let executors = (0..executors).map(|n| Executor::start(&pitwall, env, &address, work.path(), n)).collect();
        let cluster = Cluster { scheduler, executors, _work: work };
        cluster.wait_for_executors();
        cluster
    }

    fn url(&self) -> String {
        self.scheduler.endpoint().replace("http://", "df://")
    }

    /// Until the scheduler lists every executor.
    fn wait_for_executors(&self) {
        let started = Instant::now();
        loop {
            let listed =
                http(self.scheduler.endpoint(), "GET", "/api/executors").map(|(_, body)| body).unwrap_or_default();
            if listed.matches("\"id\"").count() == self.executors.len() {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "executors did not register: {listed}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Executor {
    fn start(pitwall: &Path, env: &[(String, String)], scheduler: &str, work: &Path, n: usize) -> Executor {
        let work_dir = work.join(format!("executor-{n}"));
        let mut command = Command::new(pitwall);
        command.envs(env.iter().map(|(k, v)| (k, v))).args(["cluster", "executor", "--scheduler", scheduler]);
        command.args(["--port", &free_port().unwrap().to_string(), "--grpc-port", &free_port().unwrap().to_string()]);
        command.args(["--concurrent-tasks", "2", "--work-dir", work_dir.to_str().unwrap()]);
        let child = spawn_tied(command, &work.join(format!("executor-{n}.log"))).expect("the executor starts");
        Executor { child, work_dir }
    }

    /// User plus system CPU time so far, in clock ticks (`/proc/PID/stat`).
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // Fields after the parenthesized command name; utime and stime are the 12th and 13th.
        let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    fn work_bytes(&self) -> u64 {
        files(&self.work_dir).iter().map(|f| std::fs::metadata(self.work_dir.join(f)).map_or(0, |m| m.len())).sum()
    }
}

/// `build --engine <cluster>` with every location on `s3://bucket/`, killed at the
/// deadline (`None`).
fn cluster_build(env: &[(String, String)], engine: &str, bucket: &str, target: &Path) -> Option<Run> {
    let mut command = pitwall_command();
    command.current_dir(workspace()).envs(env.iter().map(|(k, v)| (k, v)));
    command.args(["build", "--engine", engine, "--source", &format!("s3://{bucket}/f1/")]);
    command.args(["--warehouse", &format!("s3://{bucket}/wh/"), "--model-stage", &format!("s3://{bucket}/stage/")]);
    command.args(["--target-path", target.to_str().unwrap()]);
    run_before(command, CLUSTER_DEADLINE, target)
}

/// The export of the warehouse on `s3://bucket/wh/`, by the local engine (the build's
/// engine is what is compared).
fn export(env: &[(String, String)], bucket: &str, target: &Path) -> Export {
    let out = target.join("export");
    let mut export = pitwall_command();
    export.current_dir(workspace()).envs(env.iter().map(|(k, v)| (k, v)));
    export.args(["export", "--warehouse", &format!("s3://{bucket}/wh/"), "--out", out.to_str().unwrap()]);
    export.args(["--target-path", target.to_str().unwrap()]);
    let exported = export.output().expect("pitwall runs");
    assert!(exported.status.success(), "export: {}", String::from_utf8_lossy(&exported.stderr));
    snapshot(&out)
}

fn assert_exports_equal(actual: &Export, expected: &Export, engine: &str) {
    let names = |e: &Export| e.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    assert_eq!(names(actual), names(expected), "{engine}: the exported files");
    for ((path, a), (_, b)) in actual.iter().zip(expected) {
        assert!(a == b, "{} differs between {engine} and the local engine", path.display());
    }
}

#[test]
fn a_cluster_of_processes_builds_on_s3_exactly_what_the_local_engine_builds() {
    let s3 = S3::shared();
    let env = s3.env(s3.secret_access_key());
    let cluster = Cluster::start(&env, 2);
    let bucket = s3.bucket("cluster");
    s3.put_real_data(&bucket, "f1/");
    let before: Vec<u64> = cluster.executors.iter().map(Executor::cpu_ticks).collect();
    let target = tempfile::tempdir().unwrap();
    let build = cluster_build(&env, &cluster.url(), &bucket, target.path())
        .unwrap_or_else(|| panic!("the cluster build missed its {CLUSTER_DEADLINE:?} deadline"));
    assert!(build.ok(), "{}", build.all());
    assert!(build.stdout.contains("ERROR=0 SKIP=0"), "{}", build.stdout);
    assert_exports_equal(&export(&env, &bucket, target.path()), local_export(), "the cluster");
    for (n, (executor, before)) in cluster.executors.iter().zip(before).enumerate() {
        assert!(executor.cpu_ticks() > before, "executor {n} did no work during the build");
    }
    let status = pitwall_command()
        .args(["cluster", "status", "--scheduler", cluster.scheduler.endpoint().trim_start_matches("http://")])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(shown.contains("2 executor(s), 4 task slot(s)"), "{shown}");
    // A finished job's last output stays 10 s for the client to fetch, then goes.
    std::thread::sleep(Duration::from_secs(15));
    for executor in &cluster.executors {
        assert!(
            executor.work_bytes() < 1 << 20,
            "{} holds {} bytes",
            executor.work_dir.display(),
            executor.work_bytes()
        );
    }
}

/// The build notices the loss within seconds (the executor's port refuses connections)
/// and stops, naming it; or finishes first. Either way nothing computed after the kill
/// is committed (Ballista's recovery was seen to return wrong rows), so a plain rebuild,
/// which reuses every committed model, must equal the local engine's build.
#[test]
fn an_executor_killed_mid_build_ends_the_build_in_time_and_a_rebuild_is_exact() {
    let s3 = S3::shared();
    let env = s3.env(s3.secret_access_key());
    let mut cluster = Cluster::start(&env, 2);
    let bucket = s3.bucket("killed");
    s3.put_real_data(&bucket, "f1/");
    let target = tempfile::tempdir().unwrap();
    let engine = cluster.url();
    let started = Instant::now();
    let build = std::thread::scope(|scope| {
        let build = scope.spawn(|| cluster_build(&env, &engine, &bucket, target.path()));
        std::thread::sleep(Duration::from_millis(1500));
        let victim = &mut cluster.executors[0];
        victim.child.kill().unwrap();
        victim.child.wait().unwrap();
        build.join().unwrap()
    });
    let build = build.unwrap_or_else(|| panic!("the build missed its {CLUSTER_DEADLINE:?} deadline after the kill"));
    assert!(started.elapsed() < CLUSTER_DEADLINE);
    eprintln!(
        "after the kill the build {} in {:?}",
        if build.ok() { "succeeded" } else { "failed" },
        started.elapsed()
    );
    if !build.ok() {
        assert!(
            build.all().contains("lost the Ballista executor"),
            "a failed build names the lost executor:\n{}",
            build.all()
        );
        // It cancelled the jobs it left: none of them runs on for nothing.
        let (_, jobs) = http(cluster.scheduler.endpoint(), "GET", "/api/jobs").unwrap();
        assert!(!jobs.contains("\"status\":\"Running\"") && !jobs.contains("\"status\":\"Queued\""), "{jobs}");
    }
    let rebuild_target = tempfile::tempdir().unwrap();
    let rebuild = cluster_build(&env, &engine, &bucket, rebuild_target.path()).expect("the rebuild finishes");
    assert!(rebuild.ok(), "{}", rebuild.all());
    let exported = export(&env, &bucket, rebuild_target.path());
    assert_exports_equal(&exported, local_export(), "the cluster after losing an executor");
}
