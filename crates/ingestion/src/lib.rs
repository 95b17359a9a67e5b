//! ingestion: the raw layer's loader. A project declares its sources in properties files
//! (tables, columns and their warehouse types; the workshop's is
//! `models/staging/formula1/f1_sources.yml`), and this crate loads each source file into
//! Arrow with the semantics of Snowflake's `COPY INTO ... on_error = 'continue'`,
//! gzip-compressed files included (`COMPRESSION = AUTO`).
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
mod progress;
mod split;

use pitwall_core::{Layer, SourceLoader};

pub use load::{FileStatus, LoadOptions, LoadReport, Rejection, TableReport, load_source, load_source_with};

/// The raw layer: the loader of every source a project declares, and no models.
pub static LAYER: Layer = Layer {
    name: "ingestion",
    about: "The raw layer: loads the sources the project declares (CSV files) into the warehouse's raw schema",
    compiled_models: &[],
    loader: Some(SourceLoader { load: ingest::load }),
    reports: &[],
};
