//! ingestion: the raw layer. It owns the source declarations (`sources/f1_sources.yml`:
//! tables, columns and their warehouse types, as the workshop's setup script creates
//! them) and loads each source file into Arrow with the semantics of Snowflake's
//! `COPY INTO ... on_error = 'continue'`.
//!
//! It is the only place in pitwall that touches individual rows: each CSV record is
//! validated and converted straight into Arrow builders; a record that cannot be
//! converted is skipped and reported (file, line, column, reason) while the rest loads.
//! Every byte is read through object_store, so a local folder and an `s3://` URL take
//! the same path.
//!
//! It must never run models or decide what is built: it hands the orchestrator loaded
//! tables and a load report.

mod convert;
mod ingest;
mod load;
mod source;

pub use ingest::{LOAD_REPORT_FILE, ingest, print_report, standalone_main, store_raw};
pub use load::{LoadReport, LoadedTable, Rejection, TableReport, load_source};
pub use source::{ColumnType, Source, SourceColumn, SourceTable, files, formula1};
