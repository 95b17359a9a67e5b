//! The raw layer's loader: load a source, print and save the load report, hand back the
//! raw tables.

use futures::future::BoxFuture;
use pitwall_core::config::SourceLocation;
use pitwall_core::{ProjectConfig, RawTable, Result, Source};

use crate::load::{LoadReport, load_source};

const LOAD_REPORT_FILE: &str = "load_report.json";

/// How many rejected rows are printed per table; all of them are in the JSON report.
const PRINTED_REJECTIONS: usize = 20;

/// Loads `source` from `location`, prints the load report and saves it under the
/// project's target path. Nothing is written to the warehouse here.
pub(crate) fn load<'a>(
    source: &'a Source,
    location: &'a SourceLocation,
    config: &'a ProjectConfig,
) -> BoxFuture<'a, Result<Vec<RawTable>>> {
    Box::pin(async move {
        let (tables, report) = load_source(source, &location.location).await?;
        print_report(&report);
        config.target_path.write(LOAD_REPORT_FILE, serde_json::to_vec_pretty(&report)?).await?;
        Ok(tables)
    })
}

fn print_report(report: &LoadReport) {
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
