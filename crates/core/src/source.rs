//! Declared sources (dbt's `sources:` in a properties file, with each column's warehouse
//! type) and the sink a loader hands raw tables to. The declarations are a contract between
//! the layer that loads a source and everything that reads one: the DAG, load-time
//! planning of models over empty tables, the manifest and the docs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::execution::SendableRecordBatchStream;
use futures::TryStreamExt;
use futures::future::BoxFuture;

use crate::error::{Error, Result};
use crate::location::{Location, Store};
use crate::spec::SourceRef;
use object_store::ObjectStoreExt;

/// A raw column's type, named as in the warehouse DDL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// `NUMBER(38,0)`: decimal text rounds half away from zero.
    Integer,
    /// `FLOAT`
    Float,
    /// `VARCHAR`
    Text,
    /// `DATE`, as `YYYY-MM-DD`.
    Date,
}

impl ColumnType {
    /// The type a declared `data_type` names, if pitwall can load it.
    pub fn parse(sql: &str) -> Option<ColumnType> {
        let upper = sql.trim().to_ascii_uppercase();
        let base = upper.split('(').next().unwrap_or("").trim();
        match base {
            "NUMBER" | "NUMERIC" | "DECIMAL" | "INT" | "INTEGER" | "BIGINT" => {
                // Only scale 0 is an integer; NUMBER(p,s>0) would need a decimal type.
                let scale = upper.split(',').nth(1).map(|s| s.trim_end_matches(')').trim());
                match scale {
                    None | Some("0") => Some(ColumnType::Integer),
                    Some(_) => None,
                }
            }
            "FLOAT" | "DOUBLE" | "REAL" | "FLOAT8" => Some(ColumnType::Float),
            "VARCHAR" | "TEXT" | "STRING" => Some(ColumnType::Text),
            "DATE" => Some(ColumnType::Date),
            _ => None,
        }
    }

    pub fn arrow(self) -> DataType {
        match self {
            ColumnType::Integer => DataType::Int64,
            ColumnType::Float => DataType::Float64,
            ColumnType::Text => DataType::Utf8,
            ColumnType::Date => DataType::Date32,
        }
    }
}

#[derive(Clone, Debug)]
pub struct SourceColumn {
    pub name: String,
    pub column_type: ColumnType,
    /// The type as declared (`NUMBER(38,0)`), for docs and the manifest.
    pub data_type: String,
    pub description: String,
}

#[derive(Clone, Debug)]
pub struct SourceTable {
    pub source: String,
    pub name: String,
    pub description: String,
    /// The file name under the source location (`races.csv`; `races.csv.gz` is read too).
    pub file: String,
    pub columns: Vec<SourceColumn>,
}

impl SourceTable {
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns.iter().map(|c| Field::new(&c.name, c.column_type.arrow(), true)).collect::<Vec<_>>(),
        ))
    }

    pub fn reference(&self) -> SourceRef {
        SourceRef::new(&self.source, &self.name)
    }
}

#[derive(Clone, Debug)]
pub struct Source {
    pub name: String,
    pub description: String,
    pub tables: Vec<SourceTable>,
    /// The properties file the source is declared in, for its tests and docs.
    pub properties_path: String,
}

impl Source {
    pub fn references(&self) -> Vec<SourceRef> {
        self.tables.iter().map(SourceTable::reference).collect()
    }
}

/// Where a loader hands each table's batches as it makes them, so no source file has to
/// be held whole. The sink decides where they go and when they become visible: the
/// warehouse's [`RawStage`](crate::warehouse::RawStage) stages them unseen until the whole
/// load succeeded; a [`MemorySink`] keeps them.
pub trait RawSink: Send + Sync {
    /// Stores table `name` from `batches`, consumed as they arrive (a sink applies
    /// backpressure by consuming slowly); returns the rows stored. An error in the stream
    /// stores nothing. Storing a name again replaces what was stored for it.
    fn store<'a>(&'a self, name: &'a str, batches: SendableRecordBatchStream) -> BoxFuture<'a, Result<u64>>;

    /// Table `name` is final: nothing more is stored under it in this load (a loader says
    /// so once its file's status is settled). The warehouse's sink then lets the run read
    /// it from where it is staged; by default nothing happens.
    fn finished<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>> {
        let _ = name;
        Box::pin(async { Ok(()) })
    }
}

/// A [`RawSink`] that keeps every table in memory: for tests, benchmarks and callers that
/// want the batches themselves.
#[derive(Debug, Default)]
pub struct MemorySink {
    tables: Mutex<BTreeMap<String, (SchemaRef, Vec<RecordBatch>)>>,
}

impl MemorySink {
    /// The tables stored so far, by name: each one's schema and batches.
    pub fn tables(&self) -> BTreeMap<String, (SchemaRef, Vec<RecordBatch>)> {
        self.tables.lock().expect("not poisoned").clone()
    }

    /// The batches of table `name` (none when it was not stored).
    pub fn batches(&self, name: &str) -> Vec<RecordBatch> {
        self.tables.lock().expect("not poisoned").get(name).map(|(_, b)| b.clone()).unwrap_or_default()
    }
}

impl RawSink for MemorySink {
    fn store<'a>(&'a self, name: &'a str, batches: SendableRecordBatchStream) -> BoxFuture<'a, Result<u64>> {
        Box::pin(async move {
            let schema = batches.schema();
            let batches: Vec<RecordBatch> = batches.try_collect().await?;
            let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
            self.tables.lock().expect("not poisoned").insert(name.to_owned(), (schema, batches));
            Ok(rows)
        })
    }
}

/// A source table's file, found: its path, what a HEAD said of it, and its name for
/// messages.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub path: object_store::path::Path,
    pub meta: object_store::ObjectMeta,
    pub display: String,
}

/// Finds a table's file under `store`: `<file>`, else `<file>.gz`, by one HEAD each,
/// nothing read. Both the loader and the state (a raw table's fingerprint is its file's
/// identity) find files here, so they agree on which file a table is.
pub async fn find_source_file(store: &Store, table: &SourceTable) -> Result<SourceFile> {
    let compressed = format!("{}.gz", table.file);
    for name in [&table.file, &compressed] {
        let display = store.display(name);
        // object_store's local store reports a folder (or other non-file) at the path as
        // not found; say what it is instead.
        if let Location::Local(dir) = &store.location
            && let Ok(meta) = std::fs::metadata(dir.join(name))
            && !meta.is_file()
        {
            let what = if meta.is_dir() { "is a directory, not a file" } else { "is not a regular file" };
            return Err(Error::config(
                display,
                format!("source file for table {}.{} {what}", table.source, table.name),
            ));
        }
        let path = store.child(name);
        match store.store.head(&path).await {
            Ok(meta) => return Ok(SourceFile { path, meta, display }),
            Err(object_store::Error::NotFound { .. }) => continue,
            Err(e) => return Err(Error::config(display, format!("cannot read source file: {e}"))),
        }
    }
    Err(Error::config(
        store.display(&table.file),
        format!("source file for table {}.{} not found (nor {compressed})", table.source, table.name),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_with_scale_is_not_an_integer() {
        assert_eq!(ColumnType::parse("NUMBER(38,0)"), Some(ColumnType::Integer));
        assert_eq!(ColumnType::parse("number(10, 2)"), None);
        assert_eq!(ColumnType::parse("VARCHAR(16777216)"), Some(ColumnType::Text));
    }
}
