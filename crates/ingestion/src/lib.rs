//! ingestion: the raw layer. It owns the source declarations (`sources/f1_sources.yml`:
//! tables, columns and their warehouse types, as the workshop's setup script creates
//! them) and loads each source file into Arrow with the semantics of Snowflake's
//! `COPY INTO ... on_error = 'continue'`, gzip-compressed files included
//! (`COMPRESSION = AUTO`).
//!
//! It is the only place in pitwall that touches individual rows: each CSV record is
//! validated and converted straight into Arrow builders; a record that cannot be
//! converted is skipped and reported (file, line, column, reason) while the rest loads.
//! Every byte is read through object_store, in ranges, so a local folder and an
//! object-store URL take the same path, and a file streams: it is parsed block by block
//! and each batch handed to the caller's [`RawSink`](pitwall_core::RawSink) as it is
//! made, never held whole. [`LAYER`] is all the orchestrator and the `ingestion` binary see.
//!
//! It must never run models, open the warehouse, or decide what is built or when loaded
//! tables become visible: it streams tables into the sink it is given and returns a load
//! report.

mod compression;
mod convert;
mod header;
mod ingest;
mod load;
mod split;

use pitwall_core::{FileKind, Layer, Model, ProjectFile, Result, Source, SourceLoader, embed};

pub use load::{FileStatus, LoadOptions, LoadReport, Rejection, TableReport, load_source, load_source_with};

const SOURCES: ProjectFile =
    ProjectFile::new(FileKind::Properties, embed!("sources/f1_sources.yml"), &["sources", "formula1"]);

/// The raw layer: the workshop's `formula1` source and its tests, and no models.
pub static LAYER: Layer = Layer {
    name: "ingestion",
    about: "The raw layer: loads the formula1 source CSVs into the warehouse's raw schema",
    models: no_models,
    files: &[SOURCES],
    source: Some(SourceLoader { declare: formula1, load: ingest::load }),
    reports: &[],
};

fn no_models() -> Result<Vec<std::sync::Arc<dyn Model>>> {
    Ok(Vec::new())
}

/// The workshop's `formula1` source, as declared in `sources/f1_sources.yml`.
pub fn formula1() -> Result<Source> {
    Source::from_properties(SOURCES.path, SOURCES.text)
}

#[cfg(test)]
mod tests {
    use pitwall_core::source::ColumnType;

    #[test]
    fn formula1_declares_the_eight_tables_of_the_setup_script() {
        let f1 = super::formula1().unwrap();
        let names: Vec<&str> = f1.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["circuits", "constructors", "drivers", "lap_times", "pit_stops", "races", "results", "status"]
        );
        let results = f1.tables.iter().find(|t| t.name == "results").unwrap();
        assert_eq!(results.columns.len(), 18);
        assert_eq!(results.columns[6].column_type, ColumnType::Float);
        let races = f1.tables.iter().find(|t| t.name == "races").unwrap();
        assert_eq!(races.columns.len(), 18);
        assert_eq!(races.columns[5].column_type, ColumnType::Date);
    }
}
