//! The Ballista engine (cargo feature `ballista`): `pitwall build --engine ballista` runs
//! every SQL model and test on a scheduler and executor started in the pitwall process,
//! and exports exactly what the local engine exports.
//!
//! **Known hang.** About one standalone build in 15 on this 2-core machine never finishes:
//! every thread idles while `fastest_pit_stops_by_constructor`'s job waits (seen with
//! gdb; the cause inside Ballista 55 is not found). So a build gets a deadline, and one
//! that misses it is killed and retried once, saying so; two in a row fail the test.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Run, files, pitwall, pitwall_command, workspace};

/// Far beyond a build's 6 to 11 s here, even beside other tests.
const BUILD_DEADLINE: Duration = Duration::from_secs(180);

/// `pitwall build --engine <engine>`, killed at the deadline: `None` when it was.
fn build_before_deadline(target: &Path, engine: &str) -> Option<Run> {
    // Files, not pipes: a child blocked on a full pipe would look like a hang.
    let (stdout, stderr) = (target.join("build.stdout"), target.join("build.stderr"));
    let mut child = pitwall_command()
        .current_dir(workspace())
        .env("PITWALL_TARGET_PATH", target)
        .args(["build", "--engine", engine])
        .stdout(Stdio::from(std::fs::File::create(&stdout).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&stderr).unwrap()))
        .spawn()
        .expect("pitwall runs");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BUILD_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            let out = std::fs::read_to_string(&stdout).unwrap_or_default();
            eprintln!("{engine}: the build missed its deadline ({BUILD_DEADLINE:?}); its output:\n{out}");
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = Output { status, stdout: std::fs::read(&stdout).unwrap(), stderr: std::fs::read(&stderr).unwrap() };
    Some(Run::from(output))
}

fn build_and_export(target: &Path, engine: &str) -> (Run, std::path::PathBuf) {
    let build = match build_before_deadline(target, engine) {
        Some(build) => build,
        None => {
            eprintln!("{engine}: retrying once after the known Ballista hang (see this file's comment)");
            let _ = std::fs::remove_dir_all(target.join("warehouse"));
            build_before_deadline(target, engine)
                .unwrap_or_else(|| panic!("{engine}: two builds in a row missed the {BUILD_DEADLINE:?} deadline"))
        }
    };
    assert!(build.ok(), "{engine}: {}", build.all());
    assert!(build.stdout.contains("ERROR=0 SKIP=0"), "{engine}: {}", build.stdout);
    let out = target.join("export");
    // Exported by the local engine on both: the build's engine is what is compared.
    let export = pitwall(target, &["export", "--out", out.to_str().unwrap()]);
    assert!(export.ok(), "{engine}: {}", export.all());
    (build, out)
}

#[test]
fn a_standalone_cluster_builds_exactly_what_the_local_engine_builds() {
    let (local, ballista) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (_, local_out) = build_and_export(local.path(), "local");
    let (_, ballista_out) = build_and_export(ballista.path(), "ballista");
    let exported = files(&local_out);
    assert_eq!(exported.len(), 21, "{exported:?}");
    assert_eq!(files(&ballista_out), exported);
    for file in &exported {
        let (a, b) = (std::fs::read(local_out.join(file)).unwrap(), std::fs::read(ballista_out.join(file)).unwrap());
        assert!(a == b, "{} differs between the local and the ballista build", file.display());
    }
}

#[test]
fn an_unknown_engine_is_named() {
    let target = tempfile::tempdir().unwrap();
    let run = pitwall(target.path(), &["build", "--engine", "spark"]);
    assert!(!run.ok());
    assert!(run.stderr.contains("unknown engine `spark`"), "{}", run.all());
}
