//! Loading source files: fetch through object_store, convert record by record into
//! Arrow builders, reject what cannot be converted.

use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Builder, Float64Builder, Int64Builder, StringBuilder};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use object_store::ObjectStoreExt;
use pitwall_core::location::Store;
use pitwall_core::source::{ColumnType, SourceTable};
use pitwall_core::{Error, Location, RawTable, Result, Source};
use serde::Serialize;

use crate::{compression, convert};

const BATCH_ROWS: usize = 16 * 1024;

#[derive(Clone, Debug, Serialize)]
pub struct Rejection {
    /// 1-based line of the file where the record starts.
    pub line: u64,
    /// The column that could not be converted; none when the record itself is malformed.
    pub column: Option<String>,
    pub reason: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct TableReport {
    pub table: String,
    pub file: String,
    /// Data records read (the header line is not counted).
    pub read: u64,
    pub loaded: u64,
    pub rejected: u64,
    pub rejections: Vec<Rejection>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    pub source: String,
    pub location: String,
    pub tables: Vec<TableReport>,
}

struct LoadedTable {
    table: SourceTable,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    report: TableReport,
}

/// Loads every table of `source` from `location`.
///
/// A file that is missing or unreadable fails the whole load, before anything is handed
/// on, so a broken source never replaces good tables; rows that cannot be converted are
/// skipped and reported. `<table>.csv` is read, or `<table>.csv.gz` when that is what the
/// location holds; gzip is recognised by name or by its magic bytes.
pub async fn load_source(source: &Source, location: &Location) -> Result<(Vec<RawTable>, LoadReport)> {
    let store = location.open()?;
    let fetches = source.tables.iter().map(|table| fetch(&store, table));
    let fetched = futures::future::try_join_all(fetches).await?;
    let parses = fetched
        .into_iter()
        .map(|(table, file, bytes)| tokio::task::spawn_blocking(move || parse_table(table, file, &bytes)));
    let mut loaded = Vec::new();
    for parsed in futures::future::join_all(parses).await {
        loaded.push(parsed.map_err(|e| Error::model("ingestion", format!("a parser task failed: {e}")))??);
    }
    let report = LoadReport {
        source: source.name.clone(),
        location: location.to_string().trim_end_matches('/').to_owned(),
        tables: loaded.iter().map(|t| t.report.clone()).collect(),
    };
    let tables =
        loaded.into_iter().map(|t| RawTable { name: t.table.name, schema: t.schema, batches: t.batches }).collect();
    Ok((tables, report))
}

/// One table's file, decompressed: `(table, the file's name for messages, bytes)`.
async fn fetch(store: &Store, table: &SourceTable) -> Result<(SourceTable, String, Bytes)> {
    let compressed = format!("{}.gz", table.file);
    for name in [&table.file, &compressed] {
        let file = store.display(name);
        let bytes = match store.store.get(&store.child(name)).await {
            Ok(got) => got.bytes().await,
            Err(e) => Err(e),
        };
        match bytes {
            Ok(bytes) => {
                let bytes = compression::decompress(name, bytes).map_err(|e| Error::config(file.clone(), e))?;
                return Ok((table.clone(), file, bytes));
            }
            Err(object_store::Error::NotFound { .. }) => continue,
            Err(e) => return Err(Error::config(file, format!("cannot read source file: {e}"))),
        }
    }
    Err(Error::config(
        store.display(&table.file),
        format!("source file for table {}.{} not found (nor {compressed})", table.source, table.name),
    ))
}

enum Column {
    Integer(Int64Builder),
    Float(Float64Builder),
    Text(StringBuilder),
    Date(Date32Builder),
}

impl Column {
    fn new(t: ColumnType) -> Column {
        match t {
            ColumnType::Integer => Column::Integer(Int64Builder::with_capacity(BATCH_ROWS)),
            ColumnType::Float => Column::Float(Float64Builder::with_capacity(BATCH_ROWS)),
            ColumnType::Text => Column::Text(StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 8)),
            ColumnType::Date => Column::Date(Date32Builder::with_capacity(BATCH_ROWS)),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Column::Integer(b) => Arc::new(b.finish()),
            Column::Float(b) => Arc::new(b.finish()),
            Column::Text(b) => Arc::new(b.finish()),
            Column::Date(b) => Arc::new(b.finish()),
        }
    }
}

/// A converted field, held until the whole record is known to be good. Text is not
/// copied: it is appended from the record once the record has passed.
enum Cell {
    Null,
    Integer(i64),
    Float(f64),
    Text,
    Date(i32),
}

fn convert_field(column_type: ColumnType, field: &[u8]) -> Result<Cell, String> {
    // COPY's defaults: NULL_IF = ('\N'), EMPTY_FIELD_AS_NULL = TRUE.
    if field.is_empty() || field == b"\\N" {
        return Ok(Cell::Null);
    }
    let text = std::str::from_utf8(field).map_err(|_| "the field is not valid UTF-8".to_owned())?;
    match column_type {
        ColumnType::Integer => convert::integer(text).map(Cell::Integer),
        ColumnType::Float => convert::float(text).map(Cell::Float),
        ColumnType::Text => Ok(Cell::Text),
        ColumnType::Date => convert::date(text).map(Cell::Date),
    }
}

fn append(column: &mut Column, cell: Cell, field: &[u8]) {
    match (column, cell) {
        (Column::Integer(b), Cell::Integer(v)) => b.append_value(v),
        (Column::Float(b), Cell::Float(v)) => b.append_value(v),
        (Column::Text(b), Cell::Text) => {
            b.append_value(std::str::from_utf8(field).expect("validated in convert_field"))
        }
        (Column::Date(b), Cell::Date(v)) => b.append_value(v),
        (Column::Integer(b), _) => b.append_null(),
        (Column::Float(b), _) => b.append_null(),
        (Column::Text(b), _) => b.append_null(),
        (Column::Date(b), _) => b.append_null(),
    }
}

/// Files larger than this are parsed in parallel chunks.
const PARALLEL_BYTES: usize = 4 << 20;

/// Parses one file's bytes: header skipped, fields by position, `"` optionally enclosing.
/// A large file is cut into chunks at record boundaries and parsed on every core; the
/// batches and the report keep the file's order and line numbers.
fn parse_table(table: SourceTable, file: String, bytes: &[u8]) -> Result<LoadedTable> {
    let schema = table.schema();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunks = if bytes.len() > PARALLEL_BYTES && threads > 1 { split_records(bytes, threads) } else { vec![(0, 1)] };
    let bounds: Vec<(usize, usize, u64)> = chunks
        .iter()
        .enumerate()
        .map(|(i, &(start, first_line))| (start, chunks.get(i + 1).map_or(bytes.len(), |c| c.0), first_line))
        .collect();
    let parts: Vec<Result<Chunk>> = std::thread::scope(|scope| {
        let handles: Vec<_> = bounds
            .iter()
            .enumerate()
            .map(|(i, &(start, end, first_line))| {
                let (table, file) = (&table, &file);
                scope.spawn(move || parse_chunk(table, file, &bytes[start..end], first_line, i == 0))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a parser thread panicked")).collect()
    });
    let mut report = TableReport {
        table: table.name.clone(),
        file: file.clone(),
        read: 0,
        loaded: 0,
        rejected: 0,
        rejections: Vec::new(),
    };
    let mut batches = Vec::new();
    for part in parts {
        let part = part?;
        report.read += part.read;
        report.loaded += part.loaded;
        report.rejected += part.rejections.len() as u64;
        report.rejections.extend(part.rejections);
        batches.extend(part.batches);
    }
    Ok(LoadedTable { table, schema, batches, report })
}

/// Where to cut `bytes` into about `n` chunks of whole records: (byte offset, 1-based
/// line number) of each chunk's start. Cuts fall after a newline outside quotes.
fn split_records(bytes: &[u8], n: usize) -> Vec<(usize, u64)> {
    let target = bytes.len() / n;
    let mut cuts = vec![(0usize, 1u64)];
    let (mut quoted, mut line) = (false, 1u64);
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' => {
                line += 1;
                let next = cuts.len() * target;
                if !quoted && i + 1 >= next && i + 1 < bytes.len() && cuts.len() < n {
                    cuts.push((i + 1, line));
                }
            }
            _ => {}
        }
    }
    cuts
}

struct Chunk {
    batches: Vec<RecordBatch>,
    read: u64,
    loaded: u64,
    rejections: Vec<Rejection>,
}

fn parse_chunk(table: &SourceTable, file: &str, bytes: &[u8], first_line: u64, has_header: bool) -> Result<Chunk> {
    let schema = table.schema();
    let types: Vec<ColumnType> = table.columns.iter().map(|c| c.column_type).collect();
    let mut columns: Vec<Column> = types.iter().map(|t| Column::new(*t)).collect();
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).quote(b'"').from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let mut chunk = Chunk { batches: Vec::new(), read: 0, loaded: 0, rejections: Vec::new() };
    let mut in_batch = 0usize;
    let mut cells: Vec<Cell> = Vec::with_capacity(types.len());
    let mut header = has_header;
    loop {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| Error::config(file.to_owned(), format!("cannot parse CSV: {e}")))?;
        if !more {
            break;
        }
        if std::mem::take(&mut header) {
            continue;
        }
        chunk.read += 1;
        let line = record.position().map_or(0, |p| p.line()) + first_line - 1;
        if record.len() != types.len() {
            let reason = format!("expected {} fields, found {}", types.len(), record.len());
            chunk.rejections.push(Rejection { line, column: None, reason });
            continue;
        }
        cells.clear();
        let mut failure = None;
        for (i, column_type) in types.iter().enumerate() {
            match convert_field(*column_type, &record[i]) {
                Ok(cell) => cells.push(cell),
                Err(reason) => {
                    failure = Some((i, reason));
                    break;
                }
            }
        }
        if let Some((i, reason)) = failure {
            chunk.rejections.push(Rejection { line, column: Some(table.columns[i].name.clone()), reason });
            continue;
        }
        for (i, (column, cell)) in columns.iter_mut().zip(cells.drain(..)).enumerate() {
            append(column, cell, &record[i]);
        }
        chunk.loaded += 1;
        in_batch += 1;
        if in_batch == BATCH_ROWS {
            chunk.batches.push(finish_batch(&schema, &mut columns)?);
            in_batch = 0;
        }
    }
    if in_batch > 0 {
        chunk.batches.push(finish_batch(&schema, &mut columns)?);
    }
    Ok(chunk)
}

fn finish_batch(schema: &SchemaRef, columns: &mut [Column]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(schema.clone(), columns.iter_mut().map(Column::finish).collect())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Date32Type, Int64Type};
    use pitwall_core::source::SourceColumn;

    fn table() -> SourceTable {
        let col = |name: &str, column_type| SourceColumn {
            name: name.into(),
            column_type,
            data_type: String::new(),
            description: String::new(),
        };
        SourceTable {
            source: "f".into(),
            name: "t".into(),
            description: String::new(),
            file: "t.csv".into(),
            columns: vec![
                col("id", ColumnType::Integer),
                col("name", ColumnType::Text),
                col("day", ColumnType::Date),
                col("points", ColumnType::Integer),
            ],
        }
    }

    #[test]
    fn bad_records_are_skipped_and_reported_with_line_and_column() {
        let csv = "id,name,day,points\n\
                   1,\"a, quoted\",2020-01-01,0.5\n\
                   2,\\N,\\N,\\N\n\
                   3,\"short\"\n\
                   4,\"d\",2020-13-45,1\n\
                   abc,\"e\",2020-01-02,1\n\
                   6,\"f\",2020-01-03,-2.5\n";
        let loaded = parse_table(table(), "t.csv".into(), csv.as_bytes()).unwrap();
        let r = &loaded.report;
        assert_eq!((r.read, r.loaded, r.rejected), (6, 3, 3));
        let lines: Vec<(u64, Option<&str>)> = r.rejections.iter().map(|x| (x.line, x.column.as_deref())).collect();
        assert_eq!(lines, [(4, None), (5, Some("day")), (6, Some("id"))]);
        assert_eq!(r.rejections[0].reason, "expected 4 fields, found 2");
        let batch = &loaded.batches[0];
        let points = batch.column(3).as_primitive::<Int64Type>();
        assert_eq!((points.value(0), points.is_null(1), points.value(2)), (1, true, -3));
        assert_eq!(batch.column(1).as_string::<i32>().value(0), "a, quoted");
        assert!(batch.column(2).as_primitive::<Date32Type>().is_null(1));
    }

    #[test]
    fn chunks_cut_between_records_outside_quotes_and_keep_line_numbers() {
        let bytes = b"h\n1,\"a\nb\"\n2,x\n3,y\n4,z\n";
        let cuts = split_records(bytes, 3);
        assert_eq!(cuts[0], (0, 1));
        for &(at, line) in &cuts[1..] {
            assert_eq!(bytes[at - 1], b'\n');
            assert_eq!(bytes[..at].iter().filter(|b| **b == b'\n').count() as u64 + 1, line);
            // never inside the quoted "a\nb"
            assert!(at != 7, "{cuts:?}");
        }
    }

    #[test]
    fn a_large_file_parsed_in_chunks_loads_and_reports_like_one_piece() {
        let mut csv = String::from("id,name,day,points\n");
        let rows = 300_000;
        for i in 0..rows {
            if i == 250_000 {
                csv.push_str("x,\"bad\",2020-01-01,1\n");
            } else {
                csv.push_str(&format!("{i},\"n, {i}\",2020-01-01,{i}.5\n"));
            }
        }
        assert!(csv.len() > PARALLEL_BYTES);
        let loaded = parse_table(table(), "t.csv".into(), csv.as_bytes()).unwrap();
        assert_eq!((loaded.report.read, loaded.report.loaded, loaded.report.rejected), (rows, rows - 1, 1));
        assert_eq!(loaded.report.rejections[0].line, 250_002);
        let ids: Vec<i64> =
            loaded.batches.iter().flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec()).collect();
        assert_eq!(ids.len() as u64, rows - 1);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "file order is kept");
    }

    #[test]
    fn header_only_file_loads_nothing() {
        let loaded = parse_table(table(), "t.csv".into(), b"id,name,day,points\n").unwrap();
        assert_eq!((loaded.report.read, loaded.report.loaded), (0, 0));
        assert!(loaded.batches.is_empty());
    }
}
