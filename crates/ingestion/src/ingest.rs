//! The raw layer end to end: load a project's sources, report, hand the tables to a
//! session and store them in the warehouse's raw schema.

use std::sync::Arc;

use datafusion::common::TableReference;
use datafusion::datasource::MemTable;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::SessionContext;
use pitwall_core::warehouse::write_file;
use pitwall_core::{Error, ProjectConfig, Result, Warehouse};

use crate::load::{LoadReport, LoadedTable, load_source};
use crate::source::Source;

pub const LOAD_REPORT_FILE: &str = "load_report.json";

/// How many rejected rows are printed per table; all of them are in the JSON report.
const PRINTED_REJECTIONS: usize = 20;

/// Loads `source` from its configured location, prints the load report and saves it
/// under the target path, then registers each raw table in `session`.
///
/// Nothing is written to the warehouse here: call [`store_raw`] once the caller is
/// ready to replace the stored raw tables.
pub async fn ingest(project: &ProjectConfig, source: &Source, session: &SessionContext) -> Result<Vec<LoadedTable>> {
    let location = project.sources.get(&source.name).ok_or_else(|| {
        Error::config(
            project.root.join(pitwall_core::config::PROJECT_FILE).display().to_string(),
            format!("no [sources.{}] section giving its location", source.name),
        )
    })?;
    let (tables, report) = load_source(source, &location.location).await?;
    print_report(&report);
    let json = serde_json::to_vec_pretty(&report).map_err(|e| Error::Other(e.into()))?;
    write_file(&project.target_path.display().to_string(), LOAD_REPORT_FILE, json).await?;
    let partitions = session.state().config().target_partitions().max(1);
    for t in &tables {
        // Spread batches over the session's partitions so scans of raw tables run in parallel.
        let mut parts = vec![Vec::new(); partitions.min(t.batches.len().max(1))];
        for (i, batch) in t.batches.iter().enumerate() {
            let n = parts.len();
            parts[i % n].push(batch.clone());
        }
        let reference = TableReference::partial(location.schema.as_str(), t.table.name.as_str());
        session.deregister_table(reference.clone())?;
        session.register_table(reference, Arc::new(MemTable::try_new(t.schema.clone(), parts)?))?;
    }
    Ok(tables)
}

/// Stores loaded tables as the warehouse's raw tables (each replaced atomically).
pub async fn store_raw(warehouse: &Warehouse, schema: &str, tables: &[LoadedTable]) -> Result<()> {
    let writes = tables.iter().map(|t| {
        let batches: Vec<_> = t.batches.iter().cloned().map(Ok).collect();
        let stream = RecordBatchStreamAdapter::new(t.schema.clone(), futures::stream::iter(batches));
        warehouse.write_table(schema, &t.table.name, Box::pin(stream))
    });
    futures::future::try_join_all(writes).await?;
    Ok(())
}

pub fn print_report(report: &LoadReport) {
    println!("Loaded source {} from {}", report.source, report.location);
    println!("  {:<14} {:>9} {:>9} {:>9}", "table", "read", "loaded", "rejected");
    for t in &report.tables {
        println!("  {:<14} {:>9} {:>9} {:>9}", t.table, t.read, t.loaded, t.rejected);
    }
    for t in report.tables.iter().filter(|t| t.rejected > 0) {
        for r in t.rejections.iter().take(PRINTED_REJECTIONS) {
            let column = r.column.as_deref().map(|c| format!(", column {c}")).unwrap_or_default();
            println!("  REJECTED {}.{}: {} line {}{column}: {}", report.source, t.table, t.file, r.line, r.reason);
        }
        if t.rejections.len() > PRINTED_REJECTIONS {
            println!(
                "  ... and {} more rejected rows in {} (see the load report)",
                t.rejections.len() - PRINTED_REJECTIONS,
                t.file
            );
        }
    }
}

/// The ingestion crate's binary: loads the sources into the warehouse's raw schema.
pub fn standalone_main() -> std::process::ExitCode {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let result: Result<()> = runtime.block_on(async {
        let root = match std::env::var_os("PITWALL_PROJECT_DIR") {
            Some(dir) => dir.into(),
            None => ProjectConfig::discover(&std::env::current_dir()?)?,
        };
        let overrides = pitwall_core::config::Overrides {
            source: std::env::var("PITWALL_SOURCE").ok(),
            target_path: std::env::var("PITWALL_TARGET_PATH").ok(),
            warehouse: std::env::var("PITWALL_WAREHOUSE").ok(),
            model_stage: None,
        };
        let project = ProjectConfig::load(&root, &overrides)?;
        let source = crate::formula1()?;
        let warehouse = Warehouse::open(&project.warehouse)?;
        let session = SessionContext::new();
        let tables = ingest(&project, &source, &session).await?;
        let schema = &project.sources[&source.name].schema;
        store_raw(&warehouse, schema, &tables).await?;
        println!("Stored {} raw tables in {}/{schema}", tables.len(), warehouse.location());
        Ok(())
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
