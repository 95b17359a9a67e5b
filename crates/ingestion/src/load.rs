//! Loading source files: read through object_store in ranges, gunzip as it streams,
//! split into records (`split.rs`) block by block, convert record by record into Arrow
//! builders (a block's records in parallel chunks), reject what cannot be converted, hand
//! each batch to the sink as it is made, and settle each file's status with COPY's
//! `ON_ERROR`. No file is ever held whole: what a table holds at once is a block of its
//! text, the batches made from it, and the ranges read ahead.

use std::borrow::Cow;
use std::io::Read;
use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Builder, Float64Builder, Int64Builder, StringBuilder};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use futures::StreamExt;
use object_store::path::Path;
use object_store::{GetOptions, ObjectMeta};
use pitwall_core::config::{MatchByColumnName, OnError};
use pitwall_core::datafusion::error::DataFusionError;
use pitwall_core::datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use pitwall_core::location::Store;
use pitwall_core::source::{ColumnType, SourceFile, SourceTable, find_source_file};
use pitwall_core::{Error, Location, RawSink, Result, Source};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::compression;
use crate::convert::{self, ConvertError};
use crate::header::{self, Mapping};
use crate::progress::{LoadProgress, TableCount};
use crate::split::{self, Record};

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

/// Loads every table of `source` from `location` into `sink` with COPY's defaults
/// (`on_error = 'continue'`, fields by position).
pub async fn load_source(source: &Source, location: &Location, sink: &dyn RawSink) -> Result<LoadReport> {
    load_source_with(source, location, &LoadOptions::default(), sink).await
}

/// Loads every table of `source` from `location` into `sink`, smallest first, several at
/// once, each streamed: its batches reach the sink as its file is read.
///
/// Every file is found before any is read, so a missing or unreadable one fails the load
/// before anything reaches the sink. Rows that cannot be converted are skipped and
/// reported, and each file gets a status, as `options.on_error` decides: a file skipped
/// by it is stored again, empty; `abort_statement` fails the load on the first rejected
/// record or empty file. When the load fails, what the sink received must not be used
/// (the warehouse's sink discards it). `<table>.csv` is read, or `<table>.csv.gz` when that
/// is what the location holds; gzip is recognised by name or by its magic bytes.
pub async fn load_source_with(
    source: &Source,
    location: &Location,
    options: &LoadOptions,
    sink: &dyn RawSink,
) -> Result<LoadReport> {
    let store = location.open()?;
    let files = futures::future::try_join_all(source.tables.iter().map(|table| find(&store, table))).await?;
    let counts: Vec<Arc<TableCount>> = files.iter().map(|f| TableCount::new(&f.table.name, f.meta.size)).collect();
    let load = LoadProgress::new(&source.name, counts);
    let _progress = {
        let load = load.clone();
        pitwall_core::progress::show(move || Some(load.describe()))
    };
    // Smallest first, as many at once as there are cores, and the largest once all the
    // others are in: the small tables are final, and the models reading them can start,
    // while the largest still loads, rather than all sharing the cores until it is done
    // (its blocks are parsed on every core anyway: see load_table).
    let mut files: Vec<(usize, Found)> = files.into_iter().enumerate().collect();
    files.sort_by_key(|(_, file)| file.meta.size);
    let largest = files.pop();
    let (store, counts) = (&store, &load.tables);
    let load_one =
        |(i, file): (usize, Found)| async move { (i, load_table(store, file, *options, sink, &counts[i]).await) };
    let cores = std::thread::available_parallelism().map_or(1, usize::from).max(2);
    let mut loaded: Vec<(usize, Result<TableReport>)> =
        futures::stream::iter(files.into_iter().map(load_one)).buffered(cores).collect().await;
    // Once another table failed, the load fails whatever the largest holds: not read.
    if let Some(largest) = largest.filter(|_| loaded.iter().all(|(_, result)| result.is_ok())) {
        loaded.push(load_one(largest).await);
    }
    loaded.sort_by_key(|(i, _)| *i);
    // Every load started runs to its end, whatever another's outcome, so nothing still
    // writes to the sink when this returns; the first failure in the source's order is
    // reported.
    let mut tables = Vec::new();
    for (_, result) in loaded {
        tables.push(result?);
    }
    Ok(LoadReport {
        source: source.name.clone(),
        location: location.to_string().trim_end_matches('/').to_owned(),
        tables,
    })
}

/// One table's file, found: its object, and its name for messages.
struct Found {
    table: SourceTable,
    path: Path,
    meta: ObjectMeta,
    file: String,
}

async fn find(store: &Store, table: &SourceTable) -> Result<Found> {
    let SourceFile { path, meta, display } = find_source_file(store, table).await?;
    Ok(Found { table: table.clone(), path, meta, file: display })
}

/// Batches in flight between a table's parser and its sink: a block's worth and more
/// (a 4 MiB block of lap_times makes about 10), so the parser goes on to the next block
/// while the sink encodes, rather than wait with a core idle. Measured (release, x10, 4
/// builds each): 4 in flight 1.40-1.55 s per build, 16 1.21-1.34 s, 64 no better.
const BATCHES_IN_FLIGHT: usize = 16;

/// Loads one file into `sink`: ranges are read ahead on this task, parsed on a blocking
/// thread (a block's chunks on every core), and the batches stored by the sink as they
/// come; then the file's status is settled, a file `on_error` skips is stored empty, and
/// the sink is told the table is final.
async fn load_table(
    store: &Store,
    found: Found,
    options: LoadOptions,
    sink: &dyn RawSink,
    count: &Arc<TableCount>,
) -> Result<TableReport> {
    let Found { table, path, meta, file } = found;
    let name = table.name.clone();
    let schema = table.schema();
    let (bytes_tx, bytes_rx) = mpsc::channel(1);
    let (batch_tx, batch_rx) = mpsc::channel(BATCHES_IN_FLIGHT);
    let batches = futures::stream::unfold(batch_rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
    let storing = sink.store(&name, Box::pin(RecordBatchStreamAdapter::new(schema.clone(), batches)));
    let parse_file = file.clone();
    let count = count.clone();
    let parsing = tokio::task::spawn_blocking(move || {
        let feed = Feed { rx: bytes_rx, current: Bytes::new(), count: count.clone() };
        let mut send = |batch: RecordBatch| {
            count.parsed(batch.num_rows());
            batch_tx.blocking_send(Ok(batch)).is_ok()
        };
        let parsed = parse_stream(table, parse_file, feed, options.match_by_column_name, Tuning::default(), &mut send);
        if let Err(e) = &parsed {
            // The sink must not keep what came before the failure.
            let _ = batch_tx.blocking_send(Err(DataFusionError::External(e.to_string().into())));
        }
        parsed
    });
    let (_, stored, parsed) = futures::join!(read_ranges(store, &path, &meta, bytes_tx), storing, parsing);
    let parsed = parsed.map_err(|e| Error::model("ingestion", format!("a parser task failed: {e}")))?;
    // The parser's error names the file and line; without one, the sink's is the cause
    // (a parser whose sink stopped gives back no report).
    let mut report = match (parsed?, stored) {
        (Some(report), Ok(_)) => report,
        (_, Err(e)) => return Err(e),
        (None, Ok(_)) => return Err(Error::model("ingestion", format!("{file}: the sink stopped reading"))),
    };
    if settle(&mut report, options.on_error)? {
        let empty = RecordBatchStreamAdapter::new(schema, futures::stream::empty());
        sink.store(&name, Box::pin(empty)).await?;
    }
    sink.finished(&name).await?;
    Ok(report)
}

/// Decides a file's status with `on_error` (COPY's semantics): `skip_file_<n>` loads
/// nothing from a file with at least n rejected records, `skip_file_<n>%` when at least n
/// percent of its records are rejected; `abort_statement` fails on the first rejected
/// record, or a file that loads nothing. Returns whether the file is skipped (its table
/// is then empty).
fn settle(r: &mut TableReport, on_error: OnError) -> Result<bool> {
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
    Ok(skip)
}

/// An object is read in ranges of this size.
const RANGE_BYTES: u64 = 8 << 20;
/// Ranges in flight at once (besides the one the parser holds).
const RANGES_IN_FLIGHT: usize = 4;

/// Sends an object's bytes to `tx` in order, read in concurrent ranges. Each range is
/// retried on its own by object_store, so a dropped connection costs one range rather
/// than the whole file, and every range is pinned to the ETag the object was found with,
/// so an object replaced meanwhile fails the read instead of mixing versions. A failure
/// is sent as the last item; a closed channel (the parser stopped) ends the reading.
async fn read_ranges(store: &Store, path: &Path, meta: &ObjectMeta, tx: mpsc::Sender<std::io::Result<Bytes>>) {
    let ranges = (0..meta.size).step_by(RANGE_BYTES as usize).map(|start| start..(start + RANGE_BYTES).min(meta.size));
    let mut parts = futures::stream::iter(ranges)
        .map(|range| {
            let options = GetOptions { if_match: meta.e_tag.clone(), range: Some(range.into()), ..Default::default() };
            async move { store.store.get_opts(path, options).await?.bytes().await }
        })
        .buffered(RANGES_IN_FLIGHT);
    while let Some(part) = parts.next().await {
        let part = part.map_err(|e| std::io::Error::other(ReadFailed(e.to_string())));
        let failed = part.is_err();
        if tx.send(part).await.is_err() || failed {
            return;
        }
    }
}

/// An error of the object store, as the parser's reader sees it.
#[derive(Debug)]
struct ReadFailed(String);

impl std::fmt::Display for ReadFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReadFailed {}

/// The bytes [`read_ranges`] sends, as a blocking reader for the parser's thread.
struct Feed {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
    /// Counts the bytes the parser has taken (read-ahead is not progress).
    count: Arc<TableCount>,
}

impl Read for Feed {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(part) => self.current = part?,
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len());
        out[..n].copy_from_slice(&self.current.split_to(n));
        self.count.read(n);
        Ok(n)
    }
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

/// A converted field, held until the whole record is known to be good. Text borrows the
/// block being parsed, except a field with `""` escapes, which is unescaped into a copy.
enum Cell<'a> {
    Null,
    Integer(i64),
    Float(f64),
    Text(Cow<'a, str>),
    Date(i32),
}

/// A field as the record gives it: in the block's bytes, or unescaped by the record.
enum Field<'a, 'r> {
    InBlock(&'a [u8]),
    Unescaped(&'r [u8]),
}

/// The field as a cell, or why it is rejected; the reason borrows the field (the shorter
/// of its two lifetimes), so it must be worded before the record is read over.
fn convert_field<'a: 'r, 'r>(column_type: ColumnType, field: Field<'a, 'r>) -> Result<Cell<'a>, ConvertError<'r>> {
    let bytes = match field {
        Field::InBlock(bytes) | Field::Unescaped(bytes) => bytes,
    };
    // COPY's defaults: NULL_IF = ('\N'), EMPTY_FIELD_AS_NULL = TRUE.
    if bytes.is_empty() || bytes == b"\\N" {
        return Ok(Cell::Null);
    }
    // Most numbers and dates are plain ASCII of the usual form: read from the bytes;
    // anything else takes the general path, which also words the rejection.
    match column_type {
        ColumnType::Integer if let Some(v) = convert::plain_integer(bytes) => return Ok(Cell::Integer(v)),
        ColumnType::Date if let Some(v) = convert::plain_date(bytes) => return Ok(Cell::Date(v)),
        _ => {}
    }
    match (column_type, field) {
        (ColumnType::Text, Field::InBlock(bytes)) => Ok(Cell::Text(Cow::Borrowed(utf8(bytes)?))),
        (ColumnType::Text, Field::Unescaped(bytes)) => Ok(Cell::Text(Cow::Owned(utf8(bytes)?.to_owned()))),
        (ColumnType::Integer, _) => convert::integer(utf8(bytes)?).map(Cell::Integer),
        (ColumnType::Float, _) => convert::float(utf8(bytes)?).map(Cell::Float),
        (ColumnType::Date, _) => convert::date(utf8(bytes)?).map(Cell::Date),
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, ConvertError<'static>> {
    std::str::from_utf8(bytes).map_err(|_| ConvertError::NotUtf8)
}

fn append(column: &mut Column, cell: Cell) {
    match (column, cell) {
        (Column::Integer(b), Cell::Integer(v)) => b.append_value(v),
        (Column::Float(b), Cell::Float(v)) => b.append_value(v),
        (Column::Text(b), Cell::Text(v)) => b.append_value(&v),
        (Column::Date(b), Cell::Date(v)) => b.append_value(v),
        (Column::Integer(b), _) => b.append_null(),
        (Column::Float(b), _) => b.append_null(),
        (Column::Text(b), _) => b.append_null(),
        (Column::Date(b), _) => b.append_null(),
    }
}

/// A block of this many bytes is read, then parsed, at a time.
const BLOCK_BYTES: usize = 4 << 20;
/// A block larger than this is parsed in parallel chunks.
const PARALLEL_BYTES: usize = 1 << 20;
/// The most unparsed bytes held for one record (one line, or a record spanning lines
/// within [`split::MAX_RECORD_BYTES`]); a longer one fails the load.
const MAX_PENDING_BYTES: usize = 4 * split::MAX_RECORD_BYTES;

/// How a file is cut for parsing: tests use tiny blocks to cut everywhere.
#[derive(Clone, Copy, Debug)]
struct Tuning {
    block_bytes: usize,
    parallel_bytes: usize,
    /// Chunks per block (`None`: one per core for a block over `parallel_bytes`, else one).
    chunks: Option<usize>,
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning { block_bytes: BLOCK_BYTES, parallel_bytes: PARALLEL_BYTES, chunks: None }
    }
}

/// What every chunk of one file shares: the table and how fields map onto its columns.
struct Plan<'a> {
    table: &'a SourceTable,
    schema: SchemaRef,
    types: Vec<ColumnType>,
    mapping: Mapping,
}

/// Reads `input` until `buf` holds at least `want` bytes or the input ends; returns
/// whether it ended.
fn fill(input: &mut dyn Read, buf: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
    while buf.len() < want {
        let before = buf.len();
        let n = (&mut *input).take((want - before) as u64).read_to_end(buf)?;
        if n == 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Parses one file read from `input`, block by block: gunzipped when it is gzip, a BOM
/// skipped, the header compared with the declared columns, then every record converted
/// and each batch handed to `send` as it is made (`send` returning false stops the parse:
/// `Ok(None)`). A record that runs past the end of a block is parsed with the next one,
/// so the outcome (batches, counts, rejections and their line numbers) is the one-piece
/// parse of the whole file, however it is cut.
fn parse_stream(
    table: SourceTable,
    file: String,
    input: impl Read + Send + 'static,
    mode: MatchByColumnName,
    tuning: Tuning,
    send: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<Option<TableReport>> {
    let mut report = unsettled_report(&table, file);
    // At least a byte past a BOM, so that nothing after it means an empty file.
    let mut input = Input::open(&report.file, input, tuning.block_bytes.max(BOM.len() + 1))?;
    let start = if input.buf.starts_with(BOM) { BOM.len() } else { 0 };
    if input.buf.len() == start && input.eof {
        report.message = Some("the file is empty".to_owned());
        return Ok(Some(report));
    }
    let (header, head) = read_header(&mut input, start, &mut report)?;
    let declared: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
    let mapping = header::map(&declared, header.as_deref(), mode);
    report.warnings.extend(mapping.warnings.iter().cloned());
    let types = table.columns.iter().map(|c| c.column_type).collect();
    let plan = Plan { table: &table, schema: table.schema(), types, mapping };
    let mut line = head.lines + 1;
    let mut pos = head.end;
    loop {
        let (batches, next) = parse_block(&plan, &input.buf, pos, !input.eof, tuning, &mut report, &mut line)?;
        for batch in batches {
            if !send(batch) {
                return Ok(None);
            }
        }
        if input.eof {
            return Ok(Some(report));
        }
        // Not one record finished: the one at `pos` runs past the block, which must grow.
        let want = if next == pos { grow(&report.file, line, input.buf.len() - pos)? } else { tuning.block_bytes };
        input.buf.drain(..next);
        pos = 0;
        input.fill(&report.file, want)?;
    }
}

/// The report of a file nothing has been read from: LOAD_FAILED until the parse settles it.
fn unsettled_report(table: &SourceTable, file: String) -> TableReport {
    TableReport {
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
    }
}

/// A file's content as it is read: the bytes held and not yet parsed, and whether the
/// input has ended.
struct Input {
    reader: Box<dyn Read + Send>,
    gzip: bool,
    buf: Vec<u8>,
    eof: bool,
}

impl Input {
    /// `input`, gunzipped when `file` is gzip, with its first `want` bytes read.
    fn open(file: &str, input: impl Read + Send + 'static, want: usize) -> Result<Input> {
        let (reader, gzip) = compression::reader(file, input).map_err(|e| read_error(file, false, e))?;
        let mut input = Input { reader, gzip, buf: Vec::new(), eof: false };
        input.fill(file, want)?;
        Ok(input)
    }

    /// Reads until `buf` holds at least `want` bytes or the input ends.
    fn fill(&mut self, file: &str, want: usize) -> Result<()> {
        self.eof = fill(&mut self.reader, &mut self.buf, want).map_err(|e| read_error(file, self.gzip, e))?;
        Ok(())
    }
}

/// Reads the header record at `start`, reading on until it ends: its fields (`None` when
/// it is malformed, which `report` warns of) and where it ends.
fn read_header(
    input: &mut Input,
    start: usize,
    report: &mut TableReport,
) -> Result<(Option<Vec<String>>, split::Read)> {
    let mut record = Record::default();
    let head = loop {
        let head = split::read(&input.buf, start, None, &mut record);
        if !head.reached_end || input.eof {
            break head;
        }
        let want = grow(&report.file, 1, input.buf.len() - start)?;
        input.fill(&report.file, want)?;
    };
    let header = match &head.result {
        Ok(()) => {
            Some((0..record.len()).map(|i| String::from_utf8_lossy(record.field(&input.buf, i)).into_owned()).collect())
        }
        Err((_, reason)) => {
            report.warnings.push(format!("the header line is malformed ({reason})"));
            None
        }
    };
    Ok((header, head))
}

/// How many bytes to hold for a record at `line` not finished in `pending` bytes: twice as
/// many, within [`MAX_PENDING_BYTES`].
fn grow(file: &str, line: u64, pending: usize) -> Result<usize> {
    if pending >= MAX_PENDING_BYTES {
        return Err(Error::config(
            format!("{file} line {line}"),
            format!(
                "a record longer than {} MiB (Snowflake's largest field is 16 MiB); nothing was loaded",
                MAX_PENDING_BYTES >> 20
            ),
        ));
    }
    Ok((pending * 2).clamp(1 << 16, MAX_PENDING_BYTES + 1))
}

fn read_error(file: &str, gzip: bool, e: std::io::Error) -> Error {
    let reason = match e.get_ref().and_then(|inner| inner.downcast_ref::<ReadFailed>()) {
        Some(failed) => format!("cannot read source file: {failed}"),
        None if gzip => format!("cannot decompress gzip: {e}"),
        None if e.kind() == std::io::ErrorKind::InvalidData => e.to_string(),
        None => format!("cannot read source file: {e}"),
    };
    Error::config(file.to_owned(), reason)
}

/// Parses the records that start in `bytes[from..]`, in parallel chunks when the block is
/// large; with `more` (the file goes on past `bytes`), a record that reaches the end of
/// `bytes` is left for the next block. Counts and rejections go into `report`, rejections
/// numbered from `line`, which moves on. Returns the batches and where the first record
/// not parsed starts.
fn parse_block(
    plan: &Plan,
    bytes: &[u8],
    from: usize,
    more: bool,
    tuning: Tuning,
    report: &mut TableReport,
    line: &mut u64,
) -> Result<(Vec<RecordBatch>, usize)> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunks = tuning.chunks.unwrap_or(if bytes.len() - from > tuning.parallel_bytes { threads } else { 1 });
    let starts = if chunks > 1 { chunk_starts(bytes, from, chunks) } else { vec![from] };
    let ends: Vec<usize> = starts.iter().skip(1).copied().chain([bytes.len()]).collect();
    let parts: Vec<Result<Chunk>> = if starts.len() == 1 {
        vec![parse_chunk(plan, bytes, from, bytes.len(), more)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = starts
                .iter()
                .zip(&ends)
                .map(|(&start, &end)| scope.spawn(move || parse_chunk(plan, bytes, start, end, more)))
                .collect();
            handles.into_iter().map(|h| h.join().expect("a parser thread panicked")).collect()
        })
    };
    let mut next = from;
    let mut batches = Vec::new();
    for (part, end) in parts.into_iter().zip(ends) {
        let mut part = part?;
        if part.start != next {
            part = parse_chunk(plan, bytes, next, end, more)?;
        }
        report.lines += part.lines;
        report.read += part.read;
        report.loaded += part.loaded;
        report.rejected += part.rejections.len() as u64;
        report.rejected_lines += part.rejections.iter().map(|r| r.lines).sum::<u64>();
        report.rejections.extend(part.rejections.into_iter().map(|r| Rejection { line: r.line + *line, ..r }));
        batches.extend(part.batches);
        *line += part.lines;
        next = part.next;
        if part.stopped {
            // The chunks after it start inside or after a record not yet complete.
            break;
        }
    }
    Ok((batches, next))
}

/// Where to start about `n` chunks of `bytes[from..]`: `from`, then the start of the line
/// after each `1/n` of the bytes. A start need not be a record boundary (it may fall
/// inside a quoted line break); `parse_block` checks it against the chunk before.
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
    /// Whether it stopped at a record that reaches the end of the block (see `more`).
    stopped: bool,
    batches: Vec<RecordBatch>,
    /// Lines spanned by its records.
    lines: u64,
    read: u64,
    loaded: u64,
    /// Rejections, their `line` counted from 0 at the chunk's start.
    rejections: Vec<Rejection>,
}

/// Parses the records that start in `bytes[start..end]` (the last may run past `end`).
/// With `more`, it stops before a record that reaches the end of `bytes`: the file goes
/// on, and that record may end differently.
fn parse_chunk(plan: &Plan, bytes: &[u8], start: usize, end: usize, more: bool) -> Result<Chunk> {
    let Mapping { positions, expected, field_names, .. } = &plan.mapping;
    let mut columns: Vec<Column> = plan.types.iter().map(|t| Column::new(*t)).collect();
    let mut record = Record::default();
    let mut chunk = Chunk {
        start,
        next: start,
        stopped: false,
        batches: Vec::new(),
        lines: 0,
        read: 0,
        loaded: 0,
        rejections: Vec::new(),
    };
    let mut in_batch = 0usize;
    let mut cells: Vec<Cell> = Vec::with_capacity(plan.types.len());
    let mut p = start;
    while p < end {
        let read = split::read(bytes, p, Some(*expected), &mut record);
        if more && read.reached_end {
            chunk.stopped = true;
            break;
        }
        let line = chunk.lines;
        chunk.lines += read.lines;
        chunk.read += 1;
        p = read.end;
        if let Err((field, reason)) = read.result {
            let column = field.and_then(|f| field_names.get(f).cloned());
            chunk.rejections.push(Rejection { line, lines: read.lines, column, reason });
            continue;
        }
        let field = |j: usize| match positions[j] {
            None => Field::InBlock(b""),
            Some(i) => {
                record.field_in(bytes, i).map_or_else(|| Field::Unescaped(record.field(bytes, i)), Field::InBlock)
            }
        };
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
            chunk.rejections.push(Rejection { line, lines: read.lines, column, reason: reason.to_string() });
            continue;
        }
        columns.iter_mut().zip(cells.drain(..)).for_each(|(column, cell)| append(column, cell));
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
    use object_store::ObjectStoreExt;
    use pitwall_core::source::SourceColumn;

    #[tokio::test]
    async fn an_object_is_read_in_order_in_ranges_pinned_to_one_version() {
        let store = Location::parse("memory:///src/", std::path::Path::new("/")).unwrap().open().unwrap();
        let size = 2 * RANGE_BYTES as usize + 12_345;
        let bytes: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let path = store.child("big.csv");
        store.store.put(&path, bytes.clone().into()).await.unwrap();
        let meta = store.store.head(&path).await.unwrap();
        let read = |meta: ObjectMeta| {
            let (store, path) = (&store, &path);
            async move {
                let (tx, mut rx) = mpsc::channel(16);
                read_ranges(store, path, &meta, tx).await;
                let mut parts = Vec::new();
                while let Some(part) = rx.recv().await {
                    parts.push(part);
                }
                parts
            }
        };
        let parts = read(meta.clone()).await;
        assert_eq!(parts.len(), 3);
        assert_eq!(parts.into_iter().map(|p| p.unwrap()).collect::<Vec<_>>().concat(), bytes);
        // Replaced after it was found: the read fails rather than mix two versions.
        store.store.put(&path, b"id\n1\n".to_vec().into()).await.unwrap();
        let parts = read(meta).await;
        let error = parts.last().unwrap().as_ref().unwrap_err();
        assert!(error.get_ref().unwrap().is::<ReadFailed>(), "{error}");
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

    /// A file's parse: the batches sent and the report.
    struct Parsed {
        batches: Vec<RecordBatch>,
        report: TableReport,
    }

    fn parse_with(bytes: &[u8], mode: MatchByColumnName, tuning: Tuning) -> Parsed {
        let mut batches = Vec::new();
        let input = std::io::Cursor::new(bytes.to_vec());
        let report = parse_stream(table(), "t.csv".into(), input, mode, tuning, &mut |b| {
            batches.push(b);
            true
        })
        .unwrap()
        .expect("the sink never stops");
        Parsed { batches, report }
    }

    fn parse(bytes: &[u8]) -> Parsed {
        parse_with(bytes, MatchByColumnName::None, Tuning::default())
    }

    fn parse_settled(bytes: &[u8], on_error: OnError) -> Result<Parsed> {
        let mut parsed = parse(bytes);
        if settle(&mut parsed.report, on_error)? {
            parsed.batches.clear();
        }
        Ok(parsed)
    }

    fn ids(loaded: &Parsed) -> Vec<i64> {
        loaded.batches.iter().flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec()).collect()
    }

    /// (line, lines, column) of each rejection.
    fn rejected(loaded: &Parsed) -> Vec<(u64, u64, Option<&str>)> {
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
        let loaded = parse_with(csv, MatchByColumnName::CaseInsensitive, Tuning::default());
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
    fn outcome(loaded: &Parsed) -> String {
        let r = &loaded.report;
        let rows: usize = loaded.batches.iter().map(|b| b.num_rows()).sum();
        format!("lines {} read {} loaded {} rows {rows} rejections {:?}", r.lines, r.read, r.loaded, r.rejections)
    }

    fn in_chunks(bytes: &[u8], n: usize) -> Parsed {
        in_blocks(bytes, usize::MAX >> 1, n)
    }

    /// Parsed `block` bytes at a time, each block in `chunks` chunks.
    fn in_blocks(bytes: &[u8], block: usize, chunks: usize) -> Parsed {
        let tuning = Tuning { block_bytes: block, parallel_bytes: 0, chunks: Some(chunks) };
        parse_with(bytes, MatchByColumnName::None, tuning)
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
        assert!(csv.len() > BLOCK_BYTES, "read in more than one block");
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
        let source = Source {
            name: "f".into(),
            description: String::new(),
            tables: vec![table()],
            properties_path: String::new(),
        };
        let sink = pitwall_core::MemorySink::default();
        let err = load_source(&source, &Location::local(dir.path()), &sink).await.unwrap_err().to_string();
        assert!(err.ends_with("t.csv: source file for table f.t is a directory, not a file"), "{err}");
        assert!(sink.tables().is_empty(), "nothing reached the sink");
    }

    #[test]
    fn blocks_of_any_size_parse_like_one_piece() {
        let mut csv = String::from("\u{feff}id,name,day,points\r\n");
        for i in 0..300 {
            match i % 11 {
                0 => csv.push_str(&format!("{i},\"multi\r\nline {i}\",2020-01-01,1\r\n")),
                4 => csv.push_str(&format!("{i},\"lost quote,2020-01-01,1\r")),
                7 => csv.push_str(&format!("{i},n{i},2020-01-01\n")),
                _ => csv.push_str(&format!("{i},n{i},2020-01-01,1\r\n")),
            }
        }
        csv.push_str("last,\"unterminated");
        let bytes = csv.as_bytes();
        let whole = outcome(&in_blocks(bytes, usize::MAX >> 1, 1));
        assert!(whole.contains("read 301 loaded 246"), "{whole}");
        // Every cut of a `\r\n`, a quoted line break, the BOM and the header included.
        for block in [1, 2, 3, 5, 8, 13, 64, 1000] {
            for chunks in [1, 3] {
                assert_eq!(outcome(&in_blocks(bytes, block, chunks)), whole, "block {block}, chunks {chunks}");
            }
        }
    }

    #[test]
    fn a_record_too_long_to_hold_fails_the_load_naming_its_line() {
        let mut csv = b"id,name,day,points\n1,a,2020-01-01,1\n2,".to_vec();
        csv.resize(csv.len() + MAX_PENDING_BYTES + 10, b'x');
        let tuning = Tuning { block_bytes: 1 << 20, parallel_bytes: usize::MAX, chunks: None };
        let error = parse_stream(
            table(),
            "t.csv".into(),
            std::io::Cursor::new(csv),
            MatchByColumnName::None,
            tuning,
            &mut |_| true,
        )
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("t.csv line 3: a record longer than 64 MiB"), "{error}");
    }

    #[tokio::test]
    async fn a_load_streams_every_table_into_the_sink_and_stores_a_skipped_file_empty() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.csv"), b"id,name,day,points\n1,a,,1\nx,b,,1\n3,c,,1\n").unwrap();
        let mut other = table();
        other.name = "u".into();
        other.file = "u.csv".into();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, b"id,name,day,points\n7,g,2020-01-01,7\n").unwrap();
        std::fs::write(dir.path().join("u.csv.gz"), gz.finish().unwrap()).unwrap();
        let source = Source {
            name: "f".into(),
            description: String::new(),
            tables: vec![table(), other],
            properties_path: String::new(),
        };
        let location = Location::local(dir.path());
        let sink = pitwall_core::MemorySink::default();
        let report = load_source(&source, &location, &sink).await.unwrap();
        let rows =
            |sink: &pitwall_core::MemorySink, t: &str| sink.batches(t).iter().map(|b| b.num_rows()).sum::<usize>();
        assert_eq!((rows(&sink, "t"), rows(&sink, "u")), (2, 1));
        assert_eq!(report.tables[1].file, location.join("u.csv.gz").to_string());
        let options = LoadOptions { on_error: OnError::SkipFile(1), ..LoadOptions::default() };
        let sink = pitwall_core::MemorySink::default();
        let report = load_source_with(&source, &location, &options, &sink).await.unwrap();
        assert_eq!((report.tables[0].status, rows(&sink, "t"), rows(&sink, "u")), (FileStatus::LoadFailed, 0, 1));
        assert!(sink.tables().contains_key("t"), "a skipped file's table is stored, empty");
    }

    /// Records the order in which tables start and end, storing them in memory.
    #[derive(Default)]
    struct OrderSink {
        memory: pitwall_core::MemorySink,
        events: std::sync::Mutex<Vec<String>>,
    }

    impl RawSink for OrderSink {
        fn store<'a>(
            &'a self,
            name: &'a str,
            batches: pitwall_core::datafusion::execution::SendableRecordBatchStream,
        ) -> futures::future::BoxFuture<'a, Result<u64>> {
            self.events.lock().unwrap().push(format!("store {name}"));
            self.memory.store(name, batches)
        }

        fn finished<'a>(&'a self, name: &'a str) -> futures::future::BoxFuture<'a, Result<()>> {
            self.events.lock().unwrap().push(format!("finished {name}"));
            Box::pin(async { Ok(()) })
        }
    }

    #[tokio::test]
    async fn the_largest_table_loads_once_the_others_are_final_or_not_at_all_after_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let mut tables = Vec::new();
        for (name, rows) in [("big", 5_000), ("small", 3), ("medium", 40)] {
            let mut csv = String::from("id,name,day,points\n");
            (0..rows).for_each(|i| csv.push_str(&format!("{i},n{i},2020-01-01,{i}\n")));
            std::fs::write(dir.path().join(format!("{name}.csv")), csv).unwrap();
            tables.push(SourceTable { name: name.into(), file: format!("{name}.csv"), ..table() });
        }
        let source = Source { name: "f".into(), description: String::new(), tables, properties_path: String::new() };
        let sink = OrderSink::default();
        let report = load_source(&source, &Location::local(dir.path()), &sink).await.unwrap();
        let names: Vec<&str> = report.tables.iter().map(|t| t.table.as_str()).collect();
        assert_eq!(names, ["big", "small", "medium"]);
        let events = sink.events.lock().unwrap().clone();
        let at = |event: &str| events.iter().position(|e| e == event).unwrap();
        assert!(at("store big") > at("finished small") && at("store big") > at("finished medium"), "{events:?}");
        assert_eq!(sink.memory.batches("big").iter().map(|b| b.num_rows()).sum::<usize>(), 5_000);

        // A smaller table failing fails the load before the largest is read.
        std::fs::write(dir.path().join("small.csv"), "id,name,day,points\n1,a,2020-01-01,1\nx,b,2020-01-01,1\n")
            .unwrap();
        let options = LoadOptions { on_error: OnError::AbortStatement, ..LoadOptions::default() };
        let sink = OrderSink::default();
        let error = load_source_with(&source, &Location::local(dir.path()), &options, &sink).await.unwrap_err();
        assert!(error.to_string().contains("small.csv line 3: column id"), "{error}");
        assert!(!sink.events.lock().unwrap().contains(&"store big".to_owned()), "the largest table was not read");
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
                block in any::<prop::sample::Index>(),
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
                prop_assert_eq!(outcome(&in_blocks(&csv, 1 + block.index(csv.len() + 1), 2)), outcome(&loaded));
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
