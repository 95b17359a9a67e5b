//! The real binary with every location on S3 (a local moto server, `support::s3`): the
//! bundled data built there exports exactly what a local build exports, a rebuild leaves
//! no temporary object, and failures (a missing bucket, an unreachable endpoint, a wrong
//! secret) name the URL and the S3 error, write nothing half-done, and never show the
//! secret key.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::support::s3::{S3, pitwall_env, unique_bucket_name};
use crate::support::{Run, files, pitwall, real_data, snapshot};

/// An export: every file under `--out` with its bytes, sorted by name.
pub(crate) type Export = Vec<(PathBuf, Vec<u8>)>;

/// A bucket nobody creates.
const MISSING_BUCKET: &str = "no-such-bucket-xyz";

/// `--source <repo>/data/f1` built into a local warehouse, then exported: what every S3
/// build must export, byte for byte.
pub(crate) fn local_export() -> &'static Export {
    static LOCAL: OnceLock<Export> = OnceLock::new();
    LOCAL.get_or_init(|| {
        let target = tempfile::tempdir().unwrap();
        let build = pitwall(target.path(), &["build", "--source", real_data().to_str().unwrap()]);
        assert!(build.ok(), "the local reference build failed:\n{}", build.all());
        let out = target.path().join("export");
        let export = pitwall(target.path(), &["export", "--out", out.to_str().unwrap()]);
        assert!(export.ok(), "the local reference export failed:\n{}", export.all());
        let exported = snapshot(&out);
        let csvs = exported.iter().filter(|(p, _)| p.extension().is_some_and(|e| e == "csv")).count();
        assert_eq!((exported.len(), csvs), (21, 21), "the local export: {:?}", names(&exported));
        exported
    })
}

/// One build of the bundled data on a bucket of its own, and its export.
struct S3Build {
    bucket: String,
    build: Run,
    export: Option<(Run, Export)>,
    /// The bucket's keys right after the build.
    keys: Vec<String>,
    /// Where the build's secret key showed up (output, files under the target path).
    secret_seen: Vec<String>,
}

/// The first build on a fresh bucket, shared by the tests that look at it.
fn first_s3_build() -> &'static S3Build {
    static FIRST: OnceLock<S3Build> = OnceLock::new();
    FIRST.get_or_init(|| {
        let s3 = S3::shared();
        let bucket = s3.bucket("parity");
        s3.put_real_data(&bucket, "f1/");
        build_and_export(s3, &bucket)
    })
}

/// `pitwall build` with source, warehouse and model stage on `s3://bucket/`, then
/// `pitwall export` from that warehouse (when the build succeeded), each signed with a
/// secret of its own.
fn build_and_export(s3: &S3, bucket: &str) -> S3Build {
    let secret = distinctive_secret();
    let env = s3.env(&secret);
    let target = tempfile::tempdir().unwrap();
    let build = pitwall_env(&env, &build_args(bucket, &format!("s3://{bucket}/wh/"), target.path()));
    let keys = s3.keys(bucket);
    let out = tempfile::tempdir().unwrap();
    let export = build.ok().then(|| {
        let run = pitwall_env(
            &env,
            &[
                "export",
                "--warehouse",
                &format!("s3://{bucket}/wh/"),
                "--out",
                out.path().to_str().unwrap(),
                "--target-path",
                target.path().to_str().unwrap(),
            ],
        );
        let exported = snapshot(out.path());
        (run, exported)
    });
    let mut runs = vec![&build];
    runs.extend(export.as_ref().map(|(run, _)| run));
    let secret_seen = secret_seen(&secret, &runs, &[target.path(), out.path()]);
    S3Build { bucket: bucket.to_owned(), build, export, keys, secret_seen }
}

/// `build --source s3://bucket/f1/ --warehouse <warehouse> --model-stage s3://bucket/stage/
/// --target-path <target>`.
fn build_args(bucket: &str, warehouse: &str, target: &Path) -> Vec<String> {
    build_args_with_stage(bucket, warehouse, &format!("s3://{bucket}/stage/"), target)
}

fn build_args_with_stage(bucket: &str, warehouse: &str, stage: &str, target: &Path) -> Vec<String> {
    let source = format!("s3://{bucket}/f1/");
    let target = target.to_str().unwrap();
    ["build", "--source", &source, "--warehouse", warehouse, "--model-stage", stage, "--target-path", target]
        .map(str::to_owned)
        .to_vec()
}

#[test]
fn a_build_with_every_location_on_s3_exports_what_a_local_build_exports() {
    let first = first_s3_build();
    assert!(first.build.ok(), "pitwall build on s3://{}/ failed:\n{}", first.bucket, first.build.all());
    assert!(first.build.stdout.contains("ERROR=0 SKIP=0"), "{}", first.build.stdout);
    let (export, exported) = first.export.as_ref().unwrap();
    assert!(export.ok(), "pitwall export from s3://{}/wh/ failed:\n{}", first.bucket, export.all());
    assert_same_export(exported, local_export(), "the export of the S3 build");
    // Everything went to the bucket: the warehouse, and the trained model in the stage.
    assert!(first.keys.iter().any(|k| k.starts_with("wh/")), "no warehouse object: {:?}", first.keys);
    assert!(first.keys.iter().any(|k| k.starts_with("stage/")), "no model stage object: {:?}", first.keys);
    assert_no_temporary_objects(&first.keys, "after the first build");
}

#[test]
fn a_second_build_on_the_same_bucket_leaves_no_temporary_objects_and_the_same_tables() {
    let first = first_s3_build();
    assert!(first.build.ok(), "the first build failed (see the parity test):\n{}", first.build.all());
    let second = build_and_export(S3::shared(), &first.bucket);
    assert!(second.build.ok(), "the second build on s3://{}/ failed:\n{}", first.bucket, second.build.all());
    assert_no_temporary_objects(&second.keys, "after the second build");
    // Each table keeps its current version and the one it replaced (for readers still on
    // it); older versions are deleted.
    let mut versions = std::collections::BTreeMap::<&str, usize>::new();
    for key in &second.keys {
        if let Some((table, _)) = key.split_once("/.versions/").and_then(|(_, rest)| rest.split_once('/')) {
            *versions.entry(table).or_default() += 1;
        }
    }
    assert!(!versions.is_empty(), "no table versions: {:?}", second.keys);
    assert!(versions.values().all(|n| *n <= 2), "more than two versions of a table: {versions:?}");
    let (export, exported) = second.export.as_ref().unwrap();
    assert!(export.ok(), "the export after the second build failed:\n{}", export.all());
    assert_same_export(exported, local_export(), "the export after the second build");
    assert!(second.secret_seen.is_empty(), "the secret key showed in {:?}", second.secret_seen);
}

#[test]
fn a_missing_bucket_fails_naming_the_url_and_the_s3_error_and_writes_nothing() {
    let s3 = S3::shared();
    let bucket = s3.bucket("missing-warehouse");
    s3.put_real_data(&bucket, "f1/");
    let before = s3.keys(&bucket);
    let target = tempfile::tempdir().unwrap();
    let secret = distinctive_secret();
    let run = pitwall_env(&s3.env(&secret), &build_args(&bucket, &format!("s3://{MISSING_BUCKET}/wh/"), target.path()));

    assert!(!run.ok(), "a build into a missing bucket succeeded:\n{}", run.all());
    let url_named = run.stderr.contains(&format!("s3://{MISSING_BUCKET}/"))
        || run.stderr.contains(&format!("{}/{MISSING_BUCKET}", s3.endpoint()));
    assert!(url_named, "stderr does not name s3://{MISSING_BUCKET}/ or its request URL:\n{}", run.stderr);
    assert!(
        run.stderr.contains("404") || run.stderr.contains("NoSuchBucket"),
        "stderr gives neither the HTTP status nor the S3 error code:\n{}",
        run.stderr
    );
    assert_eq!(s3.keys(&bucket), before, "the build changed the source bucket (model stage included)");
    assert!(!s3.bucket_exists(MISSING_BUCKET), "the build created s3://{MISSING_BUCKET}");
    assert_nothing_half_written(target.path());
    assert_eq!(secret_seen(&secret, &[&run], &[target.path()]), Vec::<String>::new(), "the secret key showed");
}

#[test]
fn an_unreachable_endpoint_fails_naming_the_url_in_bounded_time() {
    let s3 = S3::shared();
    let unreachable = "http://127.0.0.1:1";
    let secret = distinctive_secret();
    let mut env = s3.env(&secret);
    for (key, value) in &mut env {
        match key.as_str() {
            "AWS_ENDPOINT_URL" => *value = unreachable.to_owned(),
            "AWS_MAX_ATTEMPTS" => *value = "2".to_owned(),
            _ => {}
        }
    }
    let bucket = unique_bucket_name("unreachable");
    let target = tempfile::tempdir().unwrap();
    let (warehouse, stage) = (target.path().join("warehouse"), target.path().join("model_stage"));
    let args = build_args_with_stage(&bucket, warehouse.to_str().unwrap(), stage.to_str().unwrap(), target.path());

    let start = Instant::now();
    let run = pitwall_env(&env, &args);
    let took = start.elapsed();

    assert!(!run.ok(), "a build from an unreachable endpoint succeeded:\n{}", run.all());
    assert!(took < Duration::from_secs(30), "AWS_MAX_ATTEMPTS=2 yet the build took {took:?}:\n{}", run.all());
    let url_named =
        run.stderr.contains(&format!("s3://{bucket}/f1")) || run.stderr.contains(&format!("{unreachable}/{bucket}"));
    assert!(url_named, "stderr names neither s3://{bucket}/f1 nor {unreachable}/{bucket}:\n{}", run.stderr);
    assert_eq!(secret_seen(&secret, &[&run], &[target.path()]), Vec::<String>::new(), "the secret key showed");
}

#[test]
fn the_secret_key_shows_in_no_output_or_file_of_a_build_that_succeeds_or_fails() {
    // Success: the shared first build and its export.
    let first = first_s3_build();
    assert!(first.build.ok(), "the first build failed (see the parity test):\n{}", first.build.all());
    assert!(first.secret_seen.is_empty(), "the secret key of a successful build showed in {:?}", first.secret_seen);

    // Failure: a source folder with no files, with debug logs on.
    let s3 = S3::shared();
    let bucket = s3.bucket("secret");
    let target = tempfile::tempdir().unwrap();
    let secret = distinctive_secret();
    let mut env = s3.env(&secret);
    env.push(("RUST_LOG".into(), "debug".into()));
    let args = build_args(&bucket, &format!("s3://{bucket}/wh/"), target.path());
    let run = pitwall_env(&env, &args);
    assert!(!run.ok(), "a build from an empty source folder succeeded:\n{}", run.all());
    assert!(run.stderr.contains(&format!("s3://{bucket}/f1")), "{}", run.stderr);
    assert_eq!(secret_seen(&secret, &[&run], &[target.path()]), Vec::<String>::new(), "the secret key showed");
}

#[test]
fn a_wrong_secret_key_is_refused_with_403_naming_the_url_and_never_shown() {
    let server = S3::authenticated();
    let (s3, bucket) = (&server.s3, server.bucket());
    s3.put_real_data(bucket, "f1/");
    let build = |env: &[(String, String)], target: &Path| {
        let mut args = build_args(bucket, &format!("s3://{bucket}/wh/"), target);
        args.extend(["--select", "stg_f1_status"].map(str::to_owned));
        pitwall_env(env, &args)
    };

    // The right key works, so the refusal below is the signature's doing.
    let right_target = tempfile::tempdir().unwrap();
    let right = build(&s3.env(s3.secret_access_key()), right_target.path());
    assert!(right.ok(), "the build with the right secret key failed:\n{}", right.all());
    let before = s3.keys(bucket);

    let target = tempfile::tempdir().unwrap();
    let wrong_secret = distinctive_secret();
    let wrong = build(&s3.env(&wrong_secret), target.path());
    assert_refused(&wrong, s3, bucket);
    assert_eq!(s3.keys(bucket), before, "a refused build changed the bucket");
    assert_eq!(secret_seen(&wrong_secret, &[&wrong], &[target.path()]), Vec::<String>::new(), "the secret key showed");
    let seen = secret_seen(s3.secret_access_key(), &[&right, &wrong], &[right_target.path(), target.path()]);
    assert_eq!(seen, Vec::<String>::new(), "the right secret key showed");
}

/// The other way a secret reaches pitwall: a target's `[targets.<name>.storage]` in the
/// project file, from `{{ env_var() }}`, with no `AWS_SECRET_ACCESS_KEY` at all. The run
/// that succeeds writes manifest.json, where a target's configuration could show.
#[test]
fn a_secret_key_from_the_project_file_is_used_and_never_shown() {
    let server = S3::authenticated();
    let (s3, bucket) = (&server.s3, server.bucket());
    s3.put_real_data(bucket, "f1/");
    let project = tempfile::tempdir().unwrap();
    let mut config = crate::support::checkout_toml();
    config.push_str(&format!(
        "\n[targets.s3test]\nschema = \"analytics\"\nsource = \"s3://{bucket}/f1/\"\n\
         warehouse = \"s3://{bucket}/wh/\"\nmodel-stage = \"s3://{bucket}/stage/\"\n\
         [targets.s3test.storage]\naws_secret_access_key = \"{{{{ env_var('PITWALL_TEST_SECRET') }}}}\"\n"
    ));
    std::fs::write(project.path().join("pitwall.toml"), config).unwrap();
    let build = |secret: &str, target: &Path| {
        let mut env: Vec<(String, String)> =
            s3.env("unused").into_iter().filter(|(key, _)| key != "AWS_SECRET_ACCESS_KEY").collect();
        env.push(("PITWALL_TEST_SECRET".into(), secret.into()));
        let (project, target) = (project.path().to_str().unwrap(), target.to_str().unwrap());
        let args = ["--project-dir", project, "--target", "s3test", "--target-path", target, "build"];
        pitwall_env(&env, &[&args[..], &["--select", "stg_f1_status"]].concat())
    };

    let right_target = tempfile::tempdir().unwrap();
    let right = build(s3.secret_access_key(), right_target.path());
    assert!(right.ok(), "the build with the right secret key in the project file failed:\n{}", right.all());
    assert!(right_target.path().join("manifest.json").exists(), "no manifest.json");

    let target = tempfile::tempdir().unwrap();
    let wrong_secret = distinctive_secret();
    let wrong = build(&wrong_secret, target.path());
    assert_refused(&wrong, s3, bucket);
    assert_eq!(secret_seen(&wrong_secret, &[&wrong], &[target.path()]), Vec::<String>::new(), "the secret key showed");
    let seen = secret_seen(s3.secret_access_key(), &[&right, &wrong], &[right_target.path(), target.path()]);
    assert_eq!(seen, Vec::<String>::new(), "the right secret key showed");
}

/// Failed with the URL of `bucket` and the server's 403 SignatureDoesNotMatch.
fn assert_refused(run: &Run, s3: &S3, bucket: &str) {
    assert!(!run.ok(), "the build with a wrong secret key succeeded:\n{}", run.all());
    let url_named =
        run.stderr.contains(&format!("s3://{bucket}/")) || run.stderr.contains(&format!("{}/{bucket}", s3.endpoint()));
    assert!(url_named, "stderr names neither s3://{bucket}/ nor its request URL:\n{}", run.stderr);
    assert!(
        run.stderr.contains("403") || run.stderr.contains("SignatureDoesNotMatch"),
        "stderr gives neither 403 nor SignatureDoesNotMatch:\n{}",
        run.stderr
    );
}

/// `pitwall-test-secret-<random>`: text no output contains by chance.
fn distinctive_secret() -> String {
    use std::hash::{BuildHasher, RandomState};
    format!("pitwall-test-secret-{:016x}", RandomState::new().hash_one(Instant::now()))
}

/// Where `secret` shows: in the runs' stdout or stderr, or in a file under `folders`.
fn secret_seen(secret: &str, runs: &[&Run], folders: &[&Path]) -> Vec<String> {
    let mut seen = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        if run.stdout.contains(secret) {
            seen.push(format!("stdout of run {i}"));
        }
        if run.stderr.contains(secret) {
            seen.push(format!("stderr of run {i}"));
        }
    }
    for folder in folders {
        for file in files(folder) {
            let bytes = std::fs::read(folder.join(&file)).unwrap();
            if bytes.windows(secret.len()).any(|w| w == secret.as_bytes()) {
                seen.push(folder.join(file).display().to_string());
            }
        }
    }
    seen
}

fn names(export: &Export) -> Vec<&Path> {
    export.iter().map(|(p, _)| p.as_path()).collect()
}

/// The same files with the same header line and the same data lines, byte for byte, in
/// any order: pitwall's export gives no row order (two local builds of the data export
/// `stg_f1_results.csv`, a view, in different orders), so a whole-file comparison would
/// fail between two local runs too.
fn assert_same_export(actual: &Export, expected: &Export, what: &str) {
    assert_eq!(names(actual), names(expected), "{what}: not the files of the local build's export");
    // `pitwall export` sorts rows by every column, so equal data is equal bytes.
    let differing: Vec<String> = actual
        .iter()
        .zip(expected)
        .filter(|((_, actual), (_, expected))| actual != expected)
        .map(|((name, actual), (_, expected))| {
            let (actual, expected) = (actual.split(|&b| b == b'\n'), expected.split(|&b| b == b'\n'));
            let (line, (a, e)) = actual
                .map(Some)
                .chain(std::iter::repeat(None))
                .zip(expected.map(Some).chain(std::iter::repeat(None)))
                .enumerate()
                .find(|(_, (a, e))| a != e)
                .expect("different bytes differ on some line");
            let show = |l: Option<&[u8]>| l.map(|l| String::from_utf8_lossy(l).into_owned());
            format!("{} line {}: {:?}, the local export has {:?}", name.display(), line + 1, show(a), show(e))
        })
        .collect();
    assert!(differing.is_empty(), "{what} differs from the local build's export:\n{}", differing.join("\n"));
}

fn assert_no_temporary_objects(keys: &[String], when: &str) {
    let temporary: Vec<&String> = keys.iter().filter(|k| k.contains(".tmp-")).collect();
    assert!(temporary.is_empty(), "{when}, temporary objects are left: {temporary:?}");
}

/// A failed run's target path holds only whole artifacts: no temporary or staging file,
/// no local warehouse or model stage, and every JSON file parses.
fn assert_nothing_half_written(target: &Path) {
    for file in files(target) {
        let name = file.to_string_lossy();
        assert!(!name.contains(".tmp") && !name.contains('#'), "a temporary file is left: {name}");
        assert!(
            !name.starts_with("warehouse") && !name.starts_with("model_stage"),
            "a local warehouse or stage was written: {name}"
        );
        if name.ends_with(".json") {
            let bytes = std::fs::read(target.join(&file)).unwrap();
            assert!(serde_json::from_slice::<serde_json::Value>(&bytes).is_ok(), "{name} is not whole JSON");
        }
    }
}

/// The judges above can fail: a changed value, a lost or reordered line, another header
/// or a missing file is caught; a secret in output or in a file is found.
#[test]
fn the_export_comparison_and_the_secret_search_catch_what_they_should() {
    let export = |files: &[(&str, &str)]| -> Export {
        files.iter().map(|(name, text)| (PathBuf::from(name), text.as_bytes().to_vec())).collect()
    };
    let local = export(&[("a.csv", "id,x\n1,a\n2,b\n"), ("b.csv", "id\n1\n")]);
    assert_same_export(&local.clone(), &local, "the same");
    for (what, files) in [
        ("reordered rows", [("a.csv", "id,x\n2,b\n1,a\n"), ("b.csv", "id\n1\n")]),
        ("a changed value", [("a.csv", "id,x\n1,a\n2,c\n"), ("b.csv", "id\n1\n")]),
        ("a lost line", [("a.csv", "id,x\n1,a\n1,a\n"), ("b.csv", "id\n1\n")]),
        ("another header", [("a.csv", "x,id\n1,a\n2,b\n"), ("b.csv", "id\n1\n")]),
        ("another file", [("a.csv", "id,x\n1,a\n2,b\n"), ("c.csv", "id\n1\n")]),
    ] {
        let caught = std::panic::catch_unwind(|| assert_same_export(&export(&files), &local, what)).is_err();
        assert!(caught, "{what} was not caught");
    }

    use std::os::unix::process::ExitStatusExt;
    let secret = distinctive_secret();
    let run = |stdout: &str| Run {
        output: std::process::Output {
            status: std::process::ExitStatus::from_raw(0),
            stdout: stdout.into(),
            stderr: Vec::new(),
        },
        stdout: stdout.into(),
        stderr: String::new(),
    };
    let folder = tempfile::tempdir().unwrap();
    std::fs::create_dir(folder.path().join("deep")).unwrap();
    std::fs::write(folder.path().join("deep/manifest.json"), "{}").unwrap();
    assert!(secret_seen(&secret, &[&run("ok")], &[folder.path()]).is_empty());
    assert_eq!(secret_seen(&secret, &[&run(&format!("key={secret}"))], &[folder.path()]).len(), 1);
    std::fs::write(folder.path().join("deep/manifest.json"), format!("{{\"s\": \"{secret}\"}}")).unwrap();
    assert_eq!(secret_seen(&secret, &[&run("ok")], &[folder.path()]).len(), 1);
}
