//! `cargo run -p staging`: the staging layer alone, reading raw tables from the warehouse.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn staging(warehouse: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_staging"))
        .current_dir(workspace())
        .env("PITWALL_WAREHOUSE", warehouse)
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn staging_alone_needs_raw_tables_and_then_builds_only_staging() {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = dir.path().join("warehouse");

    let (ok, output) = staging(&warehouse);
    assert!(!ok, "{output}");
    assert!(output.contains("'raw.circuits' is not in the warehouse"), "{output}");

    // Store the fixture source's raw tables, as `pitwall build` would.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let config = pitwall_core::ProjectConfig::load(&workspace(), &Default::default()).unwrap();
        let project = pitwall_project::load(config, &[], pitwall_project::Bindings::Available).unwrap();
        let source = &project.sources[0].source;
        let fixtures = pitwall_core::Location::local(workspace().join("fixtures/f1_tiny"));
        let store = pitwall_core::Warehouse::open(&pitwall_core::Location::local(&warehouse)).unwrap();
        let stage = pitwall_core::warehouse::RawStage::new(std::sync::Arc::new(store), "raw");
        ingestion::load_source(source, &fixtures, &stage).await.unwrap();
        assert_eq!(stage.commit().await.unwrap().len(), 8);
    });

    let (ok, output) = staging(&warehouse);
    assert!(ok, "{output}");
    assert_eq!(output.matches(" OK created view model analytics.stg_f1_").count(), 8, "{output}");
    let mut built: Vec<String> = std::fs::read_dir(warehouse.join("analytics"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    built.sort();
    assert_eq!(built.len(), 8, "{built:?}");
    assert!(built.iter().all(|f| f.starts_with("stg_f1_") && f.ends_with(".view.sql")), "{built:?}");
}
