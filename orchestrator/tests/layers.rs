//! A layer alone, as its binary (`cargo run -p staging`) runs it: `pitwall_cli::run_layer`
//! in this process, on raw tables the loader stored. The binaries themselves (`--help`,
//! a missing upstream) are tested in their own crates, without linking DataFusion.

use std::path::PathBuf;
use std::sync::Arc;

use orchestrator::registry::LAYERS;
use pitwall_cli::GlobalOptions;
use pitwall_core::Location;
use pitwall_core::warehouse::{RawStage, Warehouse};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[tokio::test(flavor = "multi_thread")]
async fn staging_alone_builds_only_its_views_on_the_raw_tables_a_load_stored() {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = dir.path().join("warehouse");
    let options = GlobalOptions {
        project_dir: Some(workspace()),
        warehouse: Some(warehouse.display().to_string()),
        target_path: Some(dir.path().join("target").display().to_string()),
        ..GlobalOptions::default()
    };
    let staging = LAYERS.iter().copied().find(|l| l.name == "staging").expect("the staging layer");

    // Store the fixture source's raw tables, as `pitwall build` would.
    let config = options.config().unwrap();
    let project = pitwall_project::load(config, &[], pitwall_project::Bindings::Available).unwrap();
    let fixtures = Location::local(workspace().join("fixtures/f1_tiny"));
    let stage = RawStage::new(Arc::new(Warehouse::open(&Location::local(&warehouse)).unwrap()), "raw");
    ingestion::load_source(&project.sources[0].source, &fixtures, &stage).await.unwrap();
    assert_eq!(stage.commit().await.unwrap().len(), 8);

    assert!(pitwall_cli::run_layer(staging, &options).await.unwrap());
    let mut built: Vec<String> = std::fs::read_dir(warehouse.join("analytics"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    built.sort();
    assert_eq!(built.len(), 8, "{built:?}");
    assert!(built.iter().all(|f| f.starts_with("stg_f1_") && f.ends_with(".view.sql")), "{built:?}");
}
