//! The Ballista engine (cargo feature `ballista`): `pitwall build --engine ballista` runs
//! every SQL model and test on a scheduler and executor started in the pitwall process,
//! and exports exactly what the local engine exports.

use std::path::Path;

use crate::support::{Run, files, pitwall};

fn build_and_export(target: &Path, engine: &str) -> (Run, std::path::PathBuf) {
    let build = pitwall(target, &["build", "--engine", engine]);
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
