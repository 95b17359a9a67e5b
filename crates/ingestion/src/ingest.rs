//! The raw layer's loader: load a source into the sink it is given, print and save the
//! load report.

use futures::future::BoxFuture;
use pitwall_core::config::SourceLocation;
use pitwall_core::{ProjectConfig, RawSink, Result, Source};

use crate::load::{FileStatus, LoadOptions, LoadReport, load_source_with};

const LOAD_REPORT_FILE: &str = "load_report.json";

/// How many rejected rows are printed per table; all of them are in the JSON report.
const PRINTED_REJECTIONS: usize = 20;

/// Loads `source` from `location` into `sink` with its `on_error` and
/// `match_by_column_name`, prints the load report and saves it under the project's target
/// path. The sink decides when the tables become visible; the warehouse's makes them so
/// only when this succeeds, so an `abort_statement` failure leaves the warehouse as it was.
pub(crate) fn load<'a>(
    source: &'a Source,
    location: &'a SourceLocation,
    config: &'a ProjectConfig,
    sink: &'a dyn RawSink,
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        let options = LoadOptions { on_error: location.on_error, match_by_column_name: location.match_by_column_name };
        let report = load_source_with(source, &location.location, &options, sink).await?;
        print_report(&report);
        config.target_path.write(LOAD_REPORT_FILE, serde_json::to_vec_pretty(&report)?).await?;
        Ok(())
    })
}

/// Prints the load table (table, records read, loaded, rejected), each file's COPY status,
/// the rejected records, and on stderr the header warnings and a loud warning for each file
/// that loaded nothing.
fn print_report(report: &LoadReport) {
    println!("Loaded source {} from {}", report.source, report.location);
    println!("  {:<14} {:>9} {:>9} {:>9}", "table", "read", "loaded", "rejected");
    for t in &report.tables {
        println!("  {:<14} {:>9} {:>9} {:>9}", t.table, t.read, t.loaded, t.rejected);
    }
    for t in &report.tables {
        let lines = if t.lines == t.read { String::new() } else { format!(" ({} lines)", t.lines) };
        let why = t.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
        println!("  {:<16} {}.{} from {}{lines}{why}", t.status, report.source, t.table, t.file);
    }
    for t in report.tables.iter().filter(|t| t.rejected > 0) {
        for r in t.rejections.iter().take(PRINTED_REJECTIONS) {
            let column = r.column.as_deref().map(|c| format!(", column {c}")).unwrap_or_default();
            let span = if r.lines > 1 { format!("-{}", r.line + r.lines - 1) } else { String::new() };
            println!(
                "  REJECTED {}.{}: {} line {}{span}{column}: {}",
                report.source, t.table, t.file, r.line, r.reason
            );
        }
        if t.rejections.len() > PRINTED_REJECTIONS {
            println!(
                "  ... and {} more rejected rows in {} (see the load report)",
                t.rejections.len() - PRINTED_REJECTIONS,
                t.file
            );
        }
    }
    for t in &report.tables {
        for w in &t.warnings {
            eprintln!("warning: {}.{}: {} line 1: {w}", report.source, t.table, t.file);
        }
        if t.status == FileStatus::LoadFailed {
            eprintln!(
                "WARNING: LOAD_FAILED {}.{}: {}: {}; the table {} is empty",
                report.source,
                t.table,
                t.file,
                t.message.as_deref().unwrap_or("nothing loaded"),
                t.table
            );
        }
    }
}
