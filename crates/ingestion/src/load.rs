//! Loading source files: fetch through object_store, split into records (`split.rs`),
//! convert record by record into Arrow builders, reject what cannot be converted, and
//! settle each file's status with COPY's `ON_ERROR`.

use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Builder, Float64Builder, Int64Builder, StringBuilder};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use object_store::ObjectStoreExt;
use pitwall_core::config::{MatchByColumnName, OnError};
use pitwall_core::location::Store;
use pitwall_core::source::{ColumnType, SourceTable};
use pitwall_core::{Error, Location, RawTable, Result, Source};
use serde::Serialize;

use crate::header::{self, Mapping};
use crate::split::{self, Record};
use crate::{compression, convert};

const BATCH_ROWS: usize = 16 * 1024;

/// The UTF-8 byte order mark, skipped at the start of a file.
const BOM: &[u8] = b"\xef\xbb\xbf";

#[derive(Clone, Debug, Serialize)]
pub struct Rejection {
    /// 1-based line of the file where the record starts.
    pub line: u64,
    /// The lines the record spans (more than 1 only for a well-formed record whose quoted
    /// field holds line ends).
    pub lines: u64,
    /// The column that could not be converted, or whose quoted field is malformed; none
    /// when the record has the wrong number of fields.
    pub column: Option<String>,
    pub reason: String,
}

/// A file's outcome, as COPY INTO reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FileStatus {
    /// Every record loaded.
    Loaded,
    /// Some records loaded, some were rejected.
    PartiallyLoaded,
    /// Nothing loaded: an empty or header-only file, every record rejected, or the file
    /// skipped by `on_error`.
    LoadFailed,
}

impl std::fmt::Display for FileStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, not `write_str`, so the report's `{:<16}` aligns it.
        f.pad(match self {
            FileStatus::Loaded => "LOADED",
            FileStatus::PartiallyLoaded => "PARTIALLY_LOADED",
            FileStatus::LoadFailed => "LOAD_FAILED",
        })
    }
}

/// One file's load. Every data line (the header's lines excluded) belongs to exactly one
/// record: `lines` counts them, `read = loaded + rejected` counts records, and
/// `rejected_lines` are the lines of the rejected records, so `lines - rejected_lines` are
/// the lines of the loaded ones (equal to `loaded` unless a loaded quoted field holds a line
/// break). A file skipped by `on_error` keeps its counts but `loaded` is 0.
#[derive(Clone, Debug, Serialize)]
pub struct TableReport {
    pub table: String,
    pub file: String,
    pub status: FileStatus,
    /// Why nothing loaded, when `status` is LOAD_FAILED.
    pub message: Option<String>,
    /// Data lines read (the header's lines are not counted).
    pub lines: u64,
    /// Data records read.
    pub read: u64,
    pub loaded: u64,
    pub rejected: u64,
    pub rejected_lines: u64,
    /// Differences between the header and the declared columns.
    pub warnings: Vec<String>,
    pub rejections: Vec<Rejection>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    pub source: String,
    pub location: String,
    pub tables: Vec<TableReport>,
}

/// How a source's files are loaded: COPY INTO's `ON_ERROR` and `MATCH_BY_COLUMN_NAME`.
#[derive(Clone, Copy, Debug, Default)]
pub struct LoadOptions {
    pub on_error: OnError,
    pub match_by_column_name: MatchByColumnName,
}

struct LoadedTable {
    table: SourceTable,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    report: TableReport,
}

/// Loads every table of `source` from `location` with COPY's defaults (`on_error =
/// 'continue'`, fields by position).
pub async fn load_source(source: &Source, location: &Location) -> Result<(Vec<RawTable>, LoadReport)> {
    load_source_with(source, location, &LoadOptions::default()).await
}

/// Loads every table of `source` from `location`.
///
/// A file that is missing or unreadable fails the whole load, before anything is handed
/// on, so a broken source never replaces good tables; rows that cannot be converted are
/// skipped and reported, and each file gets a status, as `options.on_error` decides
/// (`abort_statement` fails the load on the first rejected record or empty file).
/// `<table>.csv` is read, or `<table>.csv.gz` when that is what the location holds; gzip
/// is recognised by name or by its magic bytes.
pub async fn load_source_with(
    source: &Source,
    location: &Location,
    options: &LoadOptions,
) -> Result<(Vec<RawTable>, LoadReport)> {
    let store = location.open()?;
    let fetches = source.tables.iter().map(|table| fetch(&store, table));
    let fetched = futures::future::try_join_all(fetches).await?;
    let options = *options;
    let parses = fetched.into_iter().map(|(table, file, bytes)| {
        tokio::task::spawn_blocking(move || parse_table(table, file, &bytes, options.match_by_column_name))
    });
    let mut loaded = Vec::new();
    for parsed in futures::future::join_all(parses).await {
        let mut table = parsed.map_err(|e| Error::model("ingestion", format!("a parser task failed: {e}")))??;
        settle(&mut table, options.on_error)?;
        loaded.push(table);
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

/// Decides a file's status with `on_error` (COPY's semantics): `skip_file_<n>` loads
/// nothing from a file with at least n rejected records, `skip_file_<n>%` when at least n
/// percent of its records are rejected; `abort_statement` fails on the first rejected
/// record, or a file that loads nothing.
fn settle(table: &mut LoadedTable, on_error: OnError) -> Result<()> {
    let r = &mut table.report;
    let skip = match on_error {
        OnError::SkipFile(n) => r.rejected >= n,
        OnError::SkipFilePercent(p) => r.read > 0 && r.rejected as f64 * 100.0 >= p * r.read as f64,
        OnError::Continue | OnError::AbortStatement => false,
    };
    if on_error == OnError::AbortStatement
        && let Some(first) = r.rejections.first()
    {
        let column = first.column.as_deref().map(|c| format!("column {c}: ")).unwrap_or_default();
        return Err(Error::config(
            format!("{} line {}", r.file, first.line),
            format!("{column}{} (on_error = abort_statement: nothing was loaded)", first.reason),
        ));
    }
    if skip {
        r.message = Some(format!(
            "skipped by on_error = {on_error}: {} of {} records rejected; nothing loaded",
            r.rejected, r.read
        ));
        r.loaded = 0;
        table.batches.clear();
    } else if r.loaded == 0 && r.message.is_none() {
        let why = if r.lines == 0 { "no data lines after the header" } else { "every record was rejected" };
        r.message = Some(why.to_owned());
    }
    r.status = match (r.loaded, r.rejected) {
        (0, _) => FileStatus::LoadFailed,
        (_, 0) => FileStatus::Loaded,
        _ => FileStatus::PartiallyLoaded,
    };
    if on_error == OnError::AbortStatement && r.status == FileStatus::LoadFailed {
        return Err(Error::config(
            r.file.clone(),
            format!(
                "LOAD_FAILED: {} (on_error = abort_statement: nothing was loaded)",
                r.message.as_deref().unwrap_or("nothing loaded")
            ),
        ));
    }
    Ok(())
}

/// One table's file, decompressed: `(table, the file's name for messages, bytes)`.
async fn fetch(store: &Store, table: &SourceTable) -> Result<(SourceTable, String, Bytes)> {
    let compressed = format!("{}.gz", table.file);
    for name in [&table.file, &compressed] {
        let file = store.display(name);
        // object_store's local store reports a folder (or other non-file) at the path as
        // not found; say what it is instead.
        if let Location::Local(dir) = &store.location
            && let Ok(meta) = std::fs::metadata(dir.join(name))
            && !meta.is_file()
        {
            let what = if meta.is_dir() { "is a directory, not a file" } else { "is not a regular file" };
            return Err(Error::config(file, format!("source file for table {}.{} {what}", table.source, table.name)));
        }
        match read_object(store, &store.child(name)).await {
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

/// Objects larger than this are read in ranges of this size.
const RANGE_BYTES: u64 = 8 << 20;
/// Ranges in flight at once.
const RANGES_IN_FLIGHT: usize = 4;

/// Reads a whole object. A remote object larger than [`RANGE_BYTES`] is read in concurrent
/// ranges, each retried on its own by object_store, so a dropped connection costs one
/// range rather than the whole file; every range is pinned to the ETag of the first
/// request, so an object replaced meanwhile fails the read instead of mixing versions.
async fn read_object(store: &Store, path: &object_store::path::Path) -> object_store::Result<Bytes> {
    use futures::{StreamExt, TryStreamExt};
    use object_store::GetOptions;
    if matches!(store.location, Location::Local(_)) {
        return store.store.get(path).await?.bytes().await;
    }
    let meta = store.store.head(path).await?;
    if meta.size <= RANGE_BYTES {
        let options = GetOptions { if_match: meta.e_tag.clone(), ..Default::default() };
        return store.store.get_opts(path, options).await?.bytes().await;
    }
    let ranges = (0..meta.size).step_by(RANGE_BYTES as usize).map(|start| start..(start + RANGE_BYTES).min(meta.size));
    let parts: Vec<Bytes> = futures::stream::iter(ranges)
        .map(|range| {
            let options = GetOptions { if_match: meta.e_tag.clone(), range: Some(range.into()), ..Default::default() };
            async move { store.store.get_opts(path, options).await?.bytes().await }
        })
        .buffered(RANGES_IN_FLIGHT)
        .try_collect()
        .await?;
    let mut whole = Vec::with_capacity(meta.size as usize);
    for part in parts {
        whole.extend_from_slice(&part);
    }
    Ok(Bytes::from(whole))
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

/// What every chunk of one file shares: the table and how fields map onto its columns.
struct Plan<'a> {
    table: &'a SourceTable,
    schema: SchemaRef,
    types: Vec<ColumnType>,
    mapping: Mapping,
}

/// Parses one file's bytes: a BOM skipped, the header compared with the declared columns,
/// then every record converted. A large file is cut into chunks at line starts and parsed
/// on every core; a chunk whose start turns out not to be a record boundary (a record of
/// the chunk before ran past it) is parsed again from the true boundary, so the result is
/// always the one-piece result, in the file's order and with its line numbers.
fn parse_table(table: SourceTable, file: String, bytes: &[u8], mode: MatchByColumnName) -> Result<LoadedTable> {
    parse_in_chunks(table, file, bytes, mode, None)
}

/// [`parse_table`] in `chunks` pieces (`None`: one per core for a large file, else one).
fn parse_in_chunks(
    table: SourceTable,
    file: String,
    bytes: &[u8],
    mode: MatchByColumnName,
    chunks: Option<usize>,
) -> Result<LoadedTable> {
    let schema = table.schema();
    let mut report = TableReport {
        table: table.name.clone(),
        file,
        status: FileStatus::LoadFailed,
        message: None,
        lines: 0,
        read: 0,
        loaded: 0,
        rejected: 0,
        rejected_lines: 0,
        warnings: Vec::new(),
        rejections: Vec::new(),
    };
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    if bytes.is_empty() {
        report.message = Some("the file is empty".to_owned());
        return Ok(LoadedTable { table, schema, batches: Vec::new(), report });
    }
    let declared: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
    let mut record = Record::default();
    let head = split::read(bytes, 0, None, &mut record);
    let header: Option<Vec<String>> = match &head.result {
        Ok(()) => {
            Some((0..record.len()).map(|i| String::from_utf8_lossy(record.field(bytes, i)).into_owned()).collect())
        }
        Err((_, reason)) => {
            report.warnings.push(format!("the header line is malformed ({reason})"));
            None
        }
    };
    let mapping = header::map(&declared, header.as_deref(), mode);
    report.warnings.extend(mapping.warnings.iter().cloned());
    let plan = Plan {
        table: &table,
        schema: schema.clone(),
        types: table.columns.iter().map(|c| c.column_type).collect(),
        mapping,
    };
    let data = head.end;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunks = chunks.unwrap_or(if bytes.len() - data > PARALLEL_BYTES { threads } else { 1 });
    let starts = if chunks > 1 { chunk_starts(bytes, data, chunks) } else { vec![data] };
    let ends: Vec<usize> = starts.iter().skip(1).copied().chain([bytes.len()]).collect();
    let parts: Vec<Result<Chunk>> = std::thread::scope(|scope| {
        let handles: Vec<_> = starts
            .iter()
            .zip(&ends)
            .map(|(&start, &end)| {
                let plan = &plan;
                scope.spawn(move || parse_chunk(plan, bytes, start, end))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a parser thread panicked")).collect()
    });
    let (mut next, mut line) = (data, head.lines + 1);
    let mut batches = Vec::new();
    for (part, end) in parts.into_iter().zip(ends) {
        let mut part = part?;
        if part.start != next {
            part = parse_chunk(&plan, bytes, next, end)?;
        }
        report.lines += part.lines;
        report.read += part.read;
        report.loaded += part.loaded;
        report.rejected += part.rejections.len() as u64;
        report.rejected_lines += part.rejections.iter().map(|r| r.lines).sum::<u64>();
        report.rejections.extend(part.rejections.into_iter().map(|r| Rejection { line: r.line + line, ..r }));
        batches.extend(part.batches);
        line += part.lines;
        next = part.next;
    }
    Ok(LoadedTable { table, schema, batches, report })
}

/// Where to start about `n` chunks of `bytes[from..]`: `from`, then the start of the line
/// after each `1/n` of the bytes. A start need not be a record boundary (it may fall
/// inside a quoted line break); `parse_table` checks it against the chunk before.
fn chunk_starts(bytes: &[u8], from: usize, n: usize) -> Vec<usize> {
    let step = (bytes.len() - from) / n;
    let mut starts = vec![from];
    for k in 1..n {
        let at = split::line_end(bytes, (from + k * step).max(*starts.last().unwrap_or(&from)));
        if at < bytes.len() && at > *starts.last().unwrap_or(&from) {
            starts.push(at);
        }
    }
    starts
}

struct Chunk {
    /// Where the chunk's first record starts, and where the record after its last starts.
    start: usize,
    next: usize,
    batches: Vec<RecordBatch>,
    /// Lines spanned by its records.
    lines: u64,
    read: u64,
    loaded: u64,
    /// Rejections, their `line` counted from 0 at the chunk's start.
    rejections: Vec<Rejection>,
}

/// Parses the records that start in `bytes[start..end]` (the last may run past `end`).
fn parse_chunk(plan: &Plan, bytes: &[u8], start: usize, end: usize) -> Result<Chunk> {
    let Mapping { positions, expected, field_names, .. } = &plan.mapping;
    let mut columns: Vec<Column> = plan.types.iter().map(|t| Column::new(*t)).collect();
    let mut record = Record::default();
    let mut chunk =
        Chunk { start, next: start, batches: Vec::new(), lines: 0, read: 0, loaded: 0, rejections: Vec::new() };
    let mut in_batch = 0usize;
    let mut cells: Vec<Cell> = Vec::with_capacity(plan.types.len());
    let mut p = start;
    while p < end {
        let read = split::read(bytes, p, Some(*expected), &mut record);
        let line = chunk.lines;
        chunk.lines += read.lines;
        chunk.read += 1;
        p = read.end;
        if let Err((field, reason)) = read.result {
            let column = field.and_then(|f| field_names.get(f).cloned());
            chunk.rejections.push(Rejection { line, lines: read.lines, column, reason });
            continue;
        }
        let field = |j: usize| positions[j].map_or(&b""[..], |i| record.field(bytes, i));
        cells.clear();
        let mut failure = None;
        for (j, column_type) in plan.types.iter().enumerate() {
            match convert_field(*column_type, field(j)) {
                Ok(cell) => cells.push(cell),
                Err(reason) => {
                    failure = Some((j, reason));
                    break;
                }
            }
        }
        if let Some((j, reason)) = failure {
            let column = Some(plan.table.columns[j].name.clone());
            chunk.rejections.push(Rejection { line, lines: read.lines, column, reason });
            continue;
        }
        for (j, (column, cell)) in columns.iter_mut().zip(cells.drain(..)).enumerate() {
            append(column, cell, field(j));
        }
        chunk.loaded += 1;
        in_batch += 1;
        if in_batch == BATCH_ROWS {
            chunk.batches.push(finish_batch(&plan.schema, &mut columns)?);
            in_batch = 0;
        }
    }
    chunk.next = p;
    if in_batch > 0 {
        chunk.batches.push(finish_batch(&plan.schema, &mut columns)?);
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

    #[tokio::test]
    async fn a_large_remote_object_is_read_whole_in_ranges_pinned_to_one_version() {
        let store = Location::parse("memory:///src/", std::path::Path::new("/")).unwrap().open().unwrap();
        let size = 2 * RANGE_BYTES as usize + 12_345;
        let bytes: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let path = store.child("big.csv");
        store.store.put(&path, bytes.clone().into()).await.unwrap();
        assert_eq!(read_object(&store, &path).await.unwrap().as_ref(), bytes.as_slice());
        let small = store.child("small.csv");
        store.store.put(&small, b"a,b\n".to_vec().into()).await.unwrap();
        assert_eq!(read_object(&store, &small).await.unwrap().as_ref(), b"a,b\n");
    }

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

    fn parse(bytes: &[u8]) -> LoadedTable {
        parse_table(table(), "t.csv".into(), bytes, MatchByColumnName::None).unwrap()
    }

    fn parse_settled(bytes: &[u8], on_error: OnError) -> Result<LoadedTable> {
        let mut loaded = parse(bytes);
        settle(&mut loaded, on_error)?;
        Ok(loaded)
    }

    fn ids(loaded: &LoadedTable) -> Vec<i64> {
        loaded.batches.iter().flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec()).collect()
    }

    /// (line, lines, column) of each rejection.
    fn rejected(loaded: &LoadedTable) -> Vec<(u64, u64, Option<&str>)> {
        loaded.report.rejections.iter().map(|r| (r.line, r.lines, r.column.as_deref())).collect()
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
        let loaded = parse(csv.as_bytes());
        let r = &loaded.report;
        assert_eq!((r.lines, r.read, r.loaded, r.rejected, r.rejected_lines), (6, 6, 3, 3, 3));
        assert_eq!(rejected(&loaded), [(4, 1, None), (5, 1, Some("day")), (6, 1, Some("id"))]);
        assert_eq!(r.rejections[0].reason, "expected 4 fields, found 2");
        let batch = &loaded.batches[0];
        let points = batch.column(3).as_primitive::<Int64Type>();
        assert_eq!((points.value(0), points.is_null(1), points.value(2)), (1, true, -3));
        assert_eq!(batch.column(1).as_string::<i32>().value(0), "a, quoted");
        assert!(batch.column(2).as_primitive::<Date32Type>().is_null(1));
    }

    #[test]
    fn an_unterminated_quote_deep_in_a_file_rejects_exactly_its_record() {
        let mut csv = String::from("id,name,day,points\n");
        for i in 1..=50 {
            if i == 30 {
                csv.push_str("30,\"1:23.013,2020-01-01,1\n");
            } else {
                csv.push_str(&format!("{i},\"n{i}\",2020-01-01,{i}\n"));
            }
        }
        let loaded = parse(csv.as_bytes());
        let r = &loaded.report;
        assert_eq!((r.lines, r.read, r.loaded, r.rejected, r.rejected_lines), (50, 50, 49, 1, 1));
        assert_eq!(rejected(&loaded), [(31, 1, Some("name"))]);
        assert_eq!(ids(&loaded), (1..=50).filter(|i| *i != 30).collect::<Vec<i64>>());
    }

    #[test]
    fn line_numbers_count_lone_carriage_returns_and_crlf_and_a_bom_is_skipped() {
        let csv = b"\xef\xbb\xbfid,name,day,points\r1,a,2020-01-01,1\r2,b\r\n3,c,2020-01-01,3\r4,d,bad,4\n";
        let loaded = parse(csv);
        assert!(loaded.report.warnings.is_empty(), "{:?}", loaded.report.warnings);
        assert_eq!(rejected(&loaded), [(3, 1, None), (5, 1, Some("day"))]);
        assert_eq!(ids(&loaded), [1, 3]);
        assert_eq!(loaded.report.lines, 4);
    }

    #[test]
    fn a_quoted_line_break_makes_one_record_that_spans_two_lines() {
        let loaded = parse(b"id,name,day,points\n1,\"two\nlines\",2020-01-01,1\n2,x,nope,2\n");
        assert_eq!((loaded.report.lines, loaded.report.read, loaded.report.loaded), (3, 2, 1));
        assert_eq!(rejected(&loaded), [(4, 1, Some("day"))]);
        assert_eq!(loaded.batches[0].column(1).as_string::<i32>().value(0), "two\nlines");
    }

    #[test]
    fn file_status_follows_copy() {
        let status = |csv: &[u8]| {
            let loaded = parse_settled(csv, OnError::Continue).unwrap();
            (loaded.report.status, loaded.report.message)
        };
        assert_eq!(status(b"id,name,day,points\n1,a,,1\n").0, FileStatus::Loaded);
        assert_eq!(status(b"id,name,day,points\n1,a,,1\nx,b,,1\n").0, FileStatus::PartiallyLoaded);
        assert_eq!(status(b""), (FileStatus::LoadFailed, Some("the file is empty".into())));
        assert_eq!(
            status(b"id,name,day,points\n"),
            (FileStatus::LoadFailed, Some("no data lines after the header".into()))
        );
        assert_eq!(
            status(b"id,name,day,points\nx,a,,1\n"),
            (FileStatus::LoadFailed, Some("every record was rejected".into()))
        );
    }

    #[test]
    fn on_error_skips_files_by_count_or_percentage_and_abort_names_the_first_rejection() {
        // 2 of 4 records rejected.
        let csv = b"id,name,day,points\n1,a,,1\nx,b,,1\n3,c,,1\n4,d,2020-02-30,1\n";
        let settled =
            |on_error| parse_settled(csv, on_error).map(|t| (t.report.status, t.report.loaded, t.batches.len()));
        assert_eq!(settled(OnError::Continue).unwrap(), (FileStatus::PartiallyLoaded, 2, 1));
        assert_eq!(settled(OnError::SkipFile(1)).unwrap(), (FileStatus::LoadFailed, 0, 0));
        assert_eq!(settled(OnError::SkipFile(2)).unwrap(), (FileStatus::LoadFailed, 0, 0));
        assert_eq!(settled(OnError::SkipFile(3)).unwrap(), (FileStatus::PartiallyLoaded, 2, 1));
        assert_eq!(settled(OnError::SkipFilePercent(50.0)).unwrap(), (FileStatus::LoadFailed, 0, 0));
        assert_eq!(settled(OnError::SkipFilePercent(51.0)).unwrap(), (FileStatus::PartiallyLoaded, 2, 1));
        let skipped = parse_settled(csv, OnError::SkipFile(2)).unwrap().report.message.unwrap();
        assert_eq!(skipped, "skipped by on_error = skip_file_2: 2 of 4 records rejected; nothing loaded");
        let abort = settled(OnError::AbortStatement).unwrap_err().to_string();
        assert_eq!(
            abort,
            "t.csv line 3: column id: 'x' is not a number (on_error = abort_statement: nothing was loaded)"
        );
        let empty = parse_settled(b"id,name,day,points\n", OnError::AbortStatement).err().unwrap().to_string();
        assert!(empty.starts_with("t.csv: LOAD_FAILED: no data lines after the header"), "{empty}");
    }

    #[test]
    fn match_by_column_name_loads_a_reordered_header_by_name() {
        let csv = b"POINTS,Id,extra,day\n7,1,zzz,2020-01-01\n";
        let loaded = parse_table(table(), "t.csv".into(), csv, MatchByColumnName::CaseInsensitive).unwrap();
        assert_eq!(loaded.report.loaded, 1);
        let batch = &loaded.batches[0];
        assert_eq!(batch.column(0).as_primitive::<Int64Type>().value(0), 1);
        assert!(batch.column(1).is_null(0), "name is not in the header");
        assert_eq!(batch.column(3).as_primitive::<Int64Type>().value(0), 7);
        assert_eq!(loaded.report.warnings.len(), 2, "{:?}", loaded.report.warnings);
        let by_position = parse(csv);
        let warning = &by_position.report.warnings[0];
        assert!(warning.contains("missing columns: name; extra columns: extra; columns in another order"), "{warning}");
    }

    /// What must not depend on how a file is cut: counts, rejections and loaded ids.
    fn outcome(loaded: &LoadedTable) -> String {
        let r = &loaded.report;
        let rows: usize = loaded.batches.iter().map(|b| b.num_rows()).sum();
        format!("lines {} read {} loaded {} rows {rows} rejections {:?}", r.lines, r.read, r.loaded, r.rejections)
    }

    fn in_chunks(bytes: &[u8], n: usize) -> LoadedTable {
        parse_in_chunks(table(), "t.csv".into(), bytes, MatchByColumnName::None, Some(n)).unwrap()
    }

    #[test]
    fn chunks_agree_with_one_piece_even_when_a_cut_falls_inside_quotes() {
        let mut csv = String::from("id,name,day,points\n");
        for i in 0..200 {
            match i % 7 {
                0 => csv.push_str(&format!("{i},\"multi\nline {i}\",2020-01-01,1\n")),
                3 => csv.push_str(&format!("{i},\"lost quote,2020-01-01,1\n")),
                _ => csv.push_str(&format!("{i},n{i},2020-01-01,1\n")),
            }
        }
        let bytes = csv.as_bytes();
        let data = split::line_end(bytes, 0);
        let whole = outcome(&in_chunks(bytes, 1));
        assert!(whole.starts_with("lines 229 read 200 loaded 171 rows 171 "), "{whole}");
        for n in [2, 3, 7, 64] {
            let starts = chunk_starts(bytes, data, n);
            assert!(starts.iter().all(|&s| s == data || matches!(bytes[s - 1], b'\n' | b'\r')), "{starts:?}");
            assert_eq!(outcome(&in_chunks(bytes, n)), whole, "n = {n}");
        }
        // Some cut falls inside a quoted line break, so the re-parse path is taken.
        let starts = chunk_starts(bytes, data, 64);
        assert!(starts.iter().any(|&s| bytes[..s].ends_with(b"\"multi\n")), "{starts:?}");
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
        let loaded = parse(csv.as_bytes());
        assert_eq!((loaded.report.read, loaded.report.loaded, loaded.report.rejected), (rows, rows - 1, 1));
        assert_eq!(loaded.report.rejections[0].line, 250_002);
        let ids = ids(&loaded);
        assert_eq!(ids.len() as u64, rows - 1);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "file order is kept");
    }

    #[test]
    fn header_only_file_loads_nothing() {
        let loaded = parse(b"id,name,day,points\n");
        assert_eq!((loaded.report.read, loaded.report.loaded), (0, 0));
        assert!(loaded.batches.is_empty());
    }

    #[tokio::test]
    async fn a_directory_where_a_file_should_be_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("t.csv")).unwrap();
        let source =
            Source { name: "f".into(), description: String::new(), tables: vec![table()], properties_path: "" };
        let err = load_source(&source, &Location::local(dir.path())).await.unwrap_err().to_string();
        assert!(err.ends_with("t.csv: source file for table f.t is a directory, not a file"), "{err}");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// A valid small file of `table()`'s shape.
        fn valid_csv(rows: usize) -> Vec<u8> {
            let mut csv = b"id,name,day,points\n".to_vec();
            for i in 0..rows {
                csv.extend_from_slice(format!("{i},\"n,{i}\",2020-01-0{},{i}.5\n", 1 + i % 9).as_bytes());
            }
            csv
        }

        /// Bytes that damage CSV most: quotes, delimiters, line ends, NUL, non-UTF-8.
        const NASTY: &[u8] = b"\",\r\n\0\xff\xc3\\N";

        proptest! {
            #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

            #[test]
            fn mutated_csv_never_panics_and_every_line_is_accounted_for(
                rows in 0usize..12,
                edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<prop::sample::Index>(), any::<Option<u8>>()), 0..8),
            ) {
                let mut csv = valid_csv(rows);
                for (at, op, byte, raw) in edits {
                    // Mostly the bytes that damage CSV, sometimes any byte.
                    let b = raw.unwrap_or(NASTY[byte.index(NASTY.len())]);
                    if csv.is_empty() {
                        csv.push(b);
                        continue;
                    }
                    let i = at.index(csv.len());
                    match op {
                        0 => csv[i] = b,
                        1 => csv.insert(i, b),
                        _ => { csv.remove(i); }
                    }
                }
                let loaded = parse(&csv);
                let r = &loaded.report;
                prop_assert_eq!(outcome(&in_chunks(&csv, 3)), outcome(&loaded));
                let body = csv.strip_prefix(BOM).unwrap_or(&csv);
                let header_lines = if body.is_empty() { 0 } else { split::read(body, 0, None, &mut Record::default()).lines };
                prop_assert_eq!(r.lines, split::count_lines(body) - header_lines);
                prop_assert_eq!(r.read, r.loaded + r.rejected);
                prop_assert_eq!(r.rejected, r.rejections.len() as u64);
                prop_assert_eq!(r.rejected_lines, r.rejections.iter().map(|x| x.lines).sum::<u64>());
                // Loaded records span one line each plus the line ends inside their quoted
                // text (only the text column can hold one in a record that converts).
                let inner: u64 = loaded.batches.iter().flat_map(|b| {
                    let names = b.column(1).as_string::<i32>().clone();
                    (0..names.len()).map(move |i| split::count_lines(format!("{}x", names.value(i)).as_bytes()) - 1)
                }).sum();
                prop_assert_eq!(r.lines, r.loaded + inner + r.rejected_lines);
                prop_assert_eq!(loaded.batches.iter().map(|b| b.num_rows() as u64).sum::<u64>(), r.loaded);
                // Line numbers are increasing and inside the file.
                prop_assert!(r.rejections.windows(2).all(|w| w[0].line + w[0].lines <= w[1].line));
                prop_assert!(r.rejections.iter().all(|x| x.line > header_lines && x.line + x.lines - 1 <= header_lines + r.lines));
            }
        }
    }
}
