//! Delivery to Snowflake (issue 12) against fakesnow's emulator: a full build delivered and
//! read back equal to the local warehouse, `pitwall query` in Snowflake, and failures that
//! name the endpoint and never the password.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use arrow::array::{Array, RecordBatch};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::DataType;
use arrow::util::display::array_value_to_string;
use pitwall_core::{Location, Relations, Warehouse};
use pitwall_snowflake_client::{Auth, ConnectOptions, Secret, Session};

use crate::support::snowflake::{own_server, project, shared_endpoint};
use crate::support::{Run, pitwall_command, snapshot};

/// The password the targets read from `SNOWFLAKE_PASSWORD`: it must appear nowhere.
const PASSWORD: &str = "pw-Never-Printed-7f3a";

fn pitwall_sf(project: &Path, args: &[&str]) -> Run {
    let output = pitwall_command()
        .current_dir(project)
        .env("SNOWFLAKE_PASSWORD", PASSWORD)
        .args(["--project-dir".as_ref(), project.as_os_str()])
        .args(args)
        .output()
        .expect("pitwall runs");
    Run::from(output)
}

fn assert_password_nowhere(run: &Run, project: &Path) {
    assert!(!run.all().contains(PASSWORD), "the password was printed:\n{}", run.all());
    for (file, bytes) in snapshot(project) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(PASSWORD), "the password is in {}", file.display());
    }
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(future)
}

async fn login(endpoint: &str, database: &str) -> Session {
    let (host, port) = endpoint.strip_prefix("http://").and_then(|a| a.split_once(':')).unwrap();
    let options = ConnectOptions {
        account: "pitwall".into(),
        user: "ci".into(),
        auth: Auth::Password(Secret::new("any".to_owned())),
        database: Some(database.into()),
        schema: Some("production".into()),
        host: Some(host.into()),
        port: Some(port.parse().unwrap()),
        protocol: Some("http".into()),
        ..ConnectOptions::default()
    };
    Session::login(&options).await.unwrap()
}

/// A relation's row count and, per column (by upper-cased name), an order-independent
/// checksum of its values, each cast to one type per kind so that Snowflake's NUMBER and
/// pitwall's Int64, or VARCHAR and Utf8View, compare as the same values.
fn fingerprint(batches: &[RecordBatch]) -> (usize, BTreeMap<String, u64>) {
    let mut rows = 0;
    let mut sums: BTreeMap<String, u64> = BTreeMap::new();
    for batch in batches {
        rows += batch.num_rows();
        for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
            let canonical = match field.data_type() {
                t if t.is_integer() => DataType::Int64,
                DataType::Decimal128(_, 0) => DataType::Int64,
                t if t.is_floating() || matches!(t, DataType::Decimal128(..)) => DataType::Float64,
                DataType::Date32 | DataType::Date64 => DataType::Date32,
                _ => DataType::Utf8,
            };
            let values =
                cast_with_options(column, &canonical, &CastOptions { safe: false, ..Default::default() }).unwrap();
            let sum = sums.entry(field.name().to_ascii_uppercase()).or_default();
            for row in 0..values.len() {
                let mut hasher = std::hash::DefaultHasher::new();
                if values.is_null(row) {
                    "<null>".hash(&mut hasher);
                } else {
                    array_value_to_string(&values, row).unwrap().hash(&mut hasher);
                }
                *sum = sum.wrapping_add(hasher.finish());
            }
        }
    }
    (rows, sums)
}

#[test]
fn a_full_build_is_delivered_and_every_relation_reads_back_equal_to_the_local_warehouse() {
    let endpoint = shared_endpoint();
    let project = project(endpoint, "PC_DBT_DB");
    let build = pitwall_sf(project.path(), &["build", "--target", "sf"]);
    assert!(build.ok(), "{}", build.all());
    assert!(build.stdout.contains(&format!("Delivering 29 relations to Snowflake at {endpoint}")), "{}", build.stdout);
    assert!(build.stdout.contains(" 29 of 29 OK delivered "), "{}", build.stdout);
    assert!(build.stdout.contains("OK delivered table PC_DBT_DB.PRODUCTION.FCT_RESULTS "), "{}", build.stdout);
    assert!(build.stdout.contains("OK delivered table PC_DBT_DB.RAW.LAP_TIMES "), "{}", build.stdout);
    assert_password_nowhere(&build, project.path());

    // Acceptance 2: the user's view of what was delivered.
    let query = pitwall_sf(project.path(), &["query", "--target", "sf", "select count(*) from fct_results"]);
    assert!(query.ok(), "{}", query.all());
    assert!(query.stdout.contains("| 25720 "), "{}", query.stdout);
    assert!(query.stdout.contains(&format!("1 rows (in Snowflake at {endpoint})")), "{}", query.stdout);

    // Every relation, read back from Snowflake, equals the local warehouse's.
    let warehouse = Warehouse::open(&Location::Local(project.path().join("target/sf/warehouse"))).unwrap();
    let relations =
        Relations { target_schema: "production".into(), source_schemas: [("formula1".into(), "raw".into())].into() };
    block_on(async {
        let local = warehouse.session(&relations).unwrap();
        let attached = warehouse.attach(&local, &["raw", "production"]).await.unwrap();
        assert_eq!(attached.len(), 29, "8 raw tables and 21 models");
        let snowflake = login(endpoint, "PC_DBT_DB").await;
        for relation in &attached {
            let mine = local
                .table(datafusion::common::TableReference::partial(relation.schema.as_str(), relation.name.as_str()))
                .await
                .unwrap()
                .collect()
                .await
                .unwrap();
            let name = format!("PC_DBT_DB.{}.{}", relation.schema.to_uppercase(), relation.name.to_uppercase());
            let theirs =
                snowflake.query(&format!("select * from {name}")).await.unwrap_or_else(|e| panic!("{name}: {e}"));
            let (mine, theirs) = (fingerprint(&mine), fingerprint(&theirs.batches));
            assert_eq!(mine.0, theirs.0, "{name}: row counts");
            assert_eq!(mine.1, theirs.1, "{name}: column checksums");
        }
        snowflake.close().await.unwrap();
    });

    // A second delivery replaces every table (swapped in, no leftovers) with the same rows.
    let again = pitwall_sf(project.path(), &["build", "--target", "sf"]);
    assert!(again.ok(), "{}", again.all());
    let leftovers = pitwall_sf(
        project.path(),
        &[
            "query",
            "--target",
            "sf",
            "select table_name from PC_DBT_DB.information_schema.tables where table_name like '%__PITWALL_%'",
        ],
    );
    assert!(leftovers.ok(), "{}", leftovers.all());
    assert!(leftovers.stdout.contains("0 rows"), "{}", leftovers.stdout);
}

#[test]
fn stopping_the_emulator_mid_delivery_fails_naming_the_endpoint_and_never_the_password() {
    let mut server = own_server();
    let endpoint = server.endpoint().to_owned();
    let project = project(&endpoint, "STOPPED_DB");
    let mut child = pitwall_command()
        .current_dir(project.path())
        .env("SNOWFLAKE_PASSWORD", PASSWORD)
        .args(["--project-dir".as_ref(), project.path().as_os_str()])
        .args(["build", "--target", "sf"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap() > 0 {
        seen.push_str(&line);
        if line.contains("OK delivered") {
            break;
        }
        line.clear();
    }
    assert!(seen.contains("OK delivered"), "delivery never started:\n{seen}");
    server.kill();
    let output = child.wait_with_output().unwrap();
    let run = Run::from(std::process::Output { stdout: [seen.as_bytes(), &output.stdout].concat(), ..output });
    assert!(!run.ok(), "the build should fail once Snowflake is gone:\n{}", run.all());
    assert!(run.stderr.contains(&endpoint), "the error should name {endpoint}:\n{}", run.all());
    assert!(run.stderr.contains("delivering STOPPED_DB."), "the error should name the relation:\n{}", run.all());
    assert_password_nowhere(&run, project.path());
}

#[test]
fn an_unreachable_endpoint_fails_before_building_and_names_it() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let project = project(&endpoint, "PC_DBT_DB");
    let run = pitwall_sf(project.path(), &["build", "--target", "sf"]);
    assert!(!run.ok(), "{}", run.all());
    assert!(run.stderr.contains(&format!("logging in to Snowflake at {endpoint} as ci")), "{}", run.all());
    assert!(!run.stdout.contains("OK created"), "nothing is built before the login:\n{}", run.stdout);
    assert_password_nowhere(&run, project.path());
}

#[test]
fn a_misspelt_or_missing_snowflake_key_stops_any_command_before_it_runs_naming_the_key() {
    let project = project("http://127.0.0.1:9", "PC_DBT_DB");
    let toml = project.path().join("pitwall.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, text.replace("account = \"pitwall\"", "acount = \"pitwall\"")).unwrap();
    for command in [&["build", "--target", "sf"][..], &["ls", "--target", "sf"]] {
        let run = pitwall_sf(project.path(), command);
        assert_eq!(run.output.status.code(), Some(1), "{command:?}: {}", run.all());
        assert!(run.stderr.contains("[targets.sf] unknown field `acount`"), "{command:?}: {}", run.all());
        assert!(!run.stdout.contains("OK created") && !run.stdout.contains("Running with"), "{}", run.stdout);
    }
    std::fs::write(&toml, text.replace("account = \"pitwall\"\n", "")).unwrap();
    let run = pitwall_sf(project.path(), &["build", "--target", "sf"]);
    assert!(run.stderr.contains("[targets.sf] account is required on a type = \"snowflake\" target"), "{}", run.all());
    assert_password_nowhere(&run, project.path());
}
