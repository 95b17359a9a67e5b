//! Result sets in standard Arrow types, from Snowflake's two encodings:
//!
//! - Arrow (`rowsetBase64` and Arrow chunks): an Arrow IPC stream in Snowflake's layout:
//!   FIXED as scaled integers (int8..int64, or decimal128) with a `scale` in the field
//!   metadata, TIME as scaled integers, TIMESTAMP_NTZ/LTZ as scaled int64 or
//!   `struct{epoch, fraction}`, TIMESTAMP_TZ as `struct{epoch, timezone}` or
//!   `struct{epoch, fraction, timezone}`, DATE as date32 (gosnowflake
//!   `arrowbatches/converter.go`, snowflake-connector-python `nanoarrow_cpp`).
//! - JSON (`rowset` and JSON chunks): rows of strings: FIXED as decimal text, DATE as days
//!   since the epoch, TIME and TIMESTAMP as seconds with a fraction (TIMESTAMP_TZ followed
//!   by ` <offset minutes + 1440>`), BOOLEAN as `1`/`0` or `TRUE`/`FALSE`, BINARY as hex
//!   (snowflake-connector-python `converter.py`).
//!
//! Both become: FIXED scale 0 -> Int64 (Decimal128(38,0) when a value does not fit),
//! FIXED scale > 0 -> Decimal128(p,s), REAL -> Float64, TEXT (and VARIANT, OBJECT, ARRAY
//! and unknown types) -> Utf8, BINARY -> Binary, DATE -> Date32, BOOLEAN -> Boolean,
//! TIME -> Time64(ns), TIMESTAMP_NTZ -> Timestamp(ns), TIMESTAMP_LTZ/TZ -> Timestamp(ns,
//! UTC).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder,
    Int64Builder, PrimitiveArray, PrimitiveBuilder, StringBuilder, StructArray, Time64NanosecondBuilder,
    TimestampNanosecondBuilder,
};
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Decimal128Type, Field, Int8Type, Int16Type, Int32Type, Int64Type, Schema, SchemaRef,
    TimeUnit,
};
use arrow::error::ArrowError;
use arrow::ipc::MessageHeader;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use crate::wire::RowType;

/// A result set Snowflake sent that pitwall cannot read: a broken Arrow or JSON rowset,
/// cells that do not match the row type (the server's or the protocol's fault), or a
/// layout this client does not support. The messages name columns, values and types,
/// never a credential.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RowsetError {
    /// The Arrow IPC stream ends inside a message.
    #[error("the Arrow IPC stream is truncated")]
    Truncated,
    #[error("a negative message length in the Arrow IPC stream")]
    NegativeMessageLength,
    #[error("a negative Arrow body length")]
    NegativeBodyLength,
    /// Bytes that are no Arrow IPC message (flatbuffers' reason).
    #[error("not an Arrow IPC message: {0}")]
    NotIpcMessage(String),
    #[error("an Arrow schema message without a schema")]
    SchemaMessageWithoutSchema,
    /// A dictionary or record batch (`what`) before the stream's schema.
    #[error("an Arrow {what} before the schema")]
    BeforeSchema { what: &'static str },
    #[error("an empty Arrow dictionary message")]
    EmptyDictionaryMessage,
    #[error("an empty Arrow record batch message")]
    EmptyRecordBatchMessage,
    #[error("reading an Arrow dictionary: {0}")]
    Dictionary(#[source] ArrowError),
    #[error("reading the Arrow IPC stream: {0}")]
    RecordBatch(#[source] ArrowError),
    /// An IPC message of a kind a result set does not have (a tensor, ...).
    #[error("unexpected Arrow IPC message {0:?}")]
    UnexpectedMessage(MessageHeader),
    #[error("not a JSON result chunk: {0}")]
    JsonChunk(#[source] serde_json::Error),
    /// A part that does not have as many columns (`found`) as the row type (`expected`).
    #[error("an Arrow rowset has {found} columns where the row type has {expected}")]
    ArrowWidth { found: usize, expected: usize },
    #[error("a JSON row has {found} cells where the row type has {expected}")]
    JsonWidth { found: usize, expected: usize },
    /// The converted columns do not make a batch.
    #[error(transparent)]
    Batch(ArrowError),
    /// A value of a column that cannot be converted.
    #[error("column {column} ({type_name}): {source}")]
    Column { column: String, type_name: String, source: Box<RowsetError> },
    /// A FIXED column whose scale is not an Arrow decimal scale.
    #[error("column {column}: scale {scale}")]
    Scale { column: String, scale: i64 },
    /// A scale-0 FIXED cell of a JSON rowset that is not an integer.
    #[error("column {column}: `{text}` is not an integer")]
    NotInteger { column: String, text: String },
    #[error("{0} does not fit an Int64")]
    NotInt64(i128),
    #[error("{0} is outside the range of a nanosecond timestamp (years 1677 to 2262)")]
    TimestampRange(i128),
    /// An Arrow type where Snowflake's layout has integers (an unsupported layout).
    #[error("unexpected Arrow type {0}")]
    UnexpectedType(DataType),
    #[error("scale out of range")]
    ScaleRange,
    #[error("{value} overflows at scale {scale}")]
    Overflow { value: i128, scale: i64 },
    #[error("{value} at scale {from} has digits beyond scale {to}")]
    DigitsBeyondScale { value: i128, from: i64, to: i64 },
    /// An Arrow array arrow cannot cast to the column's type (an unsupported layout).
    #[error("cannot convert {from} to {to}: {source}")]
    Cast { from: DataType, to: DataType, source: ArrowError },
    /// A JSON cell that is not a value of its column's Snowflake type.
    #[error("`{text}` is not a {type_name} value")]
    BadCell { text: String, type_name: String },
}

/// A result column as Snowflake describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// Snowflake's type name, upper case: `FIXED`, `REAL`, `TEXT`, `DATE`, `TIME`,
    /// `TIMESTAMP_NTZ`, `TIMESTAMP_LTZ`, `TIMESTAMP_TZ`, `BOOLEAN`, `BINARY`, `VARIANT`, ...
    pub type_name: String,
    pub precision: Option<i64>,
    pub scale: Option<i64>,
    pub nullable: bool,
    /// The maximum length of a TEXT or BINARY column.
    pub length: Option<i64>,
}

impl Column {
    pub(crate) fn from_row_type(row_type: &RowType) -> Column {
        Column {
            name: row_type.name.clone(),
            type_name: row_type.type_name.to_uppercase(),
            precision: row_type.precision,
            scale: row_type.scale,
            nullable: row_type.nullable.unwrap_or(true),
            length: row_type.length,
        }
    }
}

/// The result of one statement.
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub query_id: String,
    pub columns: Vec<Column>,
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    /// Rows inserted, updated or deleted by DML (the sum of the `number of rows ...`
    /// columns, as the drivers compute `rowcount`), or rows loaded by COPY INTO (the sum of
    /// `rows_loaded`); `None` for other statements.
    pub rows_affected: Option<u64>,
}

impl QueryResult {
    /// Rows over all batches.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// Rows of a JSON rowset: each cell as text, or null.
pub(crate) type JsonRows = Vec<Vec<Option<String>>>;

/// One piece of a result: the first rowset or a chunk.
pub(crate) enum Part {
    Arrow(Vec<RecordBatch>),
    Json(JsonRows),
}

/// Decodes an Arrow IPC stream (a `rowsetBase64` after base64, or an Arrow chunk).
///
/// The stream is read message by message against its schema with every nested field made
/// nullable: Snowflake-style encoders (fakesnow among them) declare the children of a
/// timestamp struct non-nullable yet leave nulls in them, which arrow's validating reader
/// refuses. Nullability is all that is relaxed; the data is still fully validated.
pub(crate) fn decode_arrow(bytes: &[u8]) -> Result<Vec<RecordBatch>, RowsetError> {
    let mut offset = 0usize;
    let mut schema: Option<SchemaRef> = None;
    #[allow(clippy::disallowed_types)] // arrow's IPC reader (read_dictionary) takes a std HashMap
    let mut dictionaries = std::collections::HashMap::new();
    let mut batches = Vec::new();
    let take = |offset: &mut usize, n: usize| -> Result<&[u8], RowsetError> {
        let end = offset.checked_add(n).filter(|end| *end <= bytes.len()).ok_or(RowsetError::Truncated)?;
        let slice = &bytes[*offset..end];
        *offset = end;
        Ok(slice)
    };
    let read_i32 = |offset: &mut usize| -> Result<i32, RowsetError> {
        Ok(i32::from_le_bytes(take(offset, 4)?.try_into().map_err(|_| RowsetError::Truncated)?))
    };
    while offset < bytes.len() {
        let mut length = read_i32(&mut offset)?;
        if length == -1 {
            // continuation marker, then the length
            length = read_i32(&mut offset)?;
        }
        if length == 0 {
            break; // end of stream
        }
        let length = usize::try_from(length).map_err(|_| RowsetError::NegativeMessageLength)?;
        let metadata = take(&mut offset, length)?;
        let message = arrow::ipc::root_as_message(metadata).map_err(|e| RowsetError::NotIpcMessage(e.to_string()))?;
        let body_length = usize::try_from(message.bodyLength()).map_err(|_| RowsetError::NegativeBodyLength)?;
        let body = arrow::buffer::Buffer::from(take(&mut offset, body_length)?);
        let version = message.version();
        match message.header_type() {
            MessageHeader::Schema => {
                let fb = message.header_as_schema().ok_or(RowsetError::SchemaMessageWithoutSchema)?;
                let decoded = arrow::ipc::convert::fb_to_schema(fb);
                let fields: Vec<Field> = decoded.fields().iter().map(|f| relax_nested(f)).collect();
                schema = Some(Arc::new(Schema::new_with_metadata(fields, decoded.metadata().clone())));
            }
            MessageHeader::DictionaryBatch => {
                let schema = schema.as_ref().ok_or(RowsetError::BeforeSchema { what: "dictionary" })?;
                let batch = message.header_as_dictionary_batch().ok_or(RowsetError::EmptyDictionaryMessage)?;
                arrow::ipc::reader::read_dictionary(&body, batch, schema, &mut dictionaries, &version)
                    .map_err(RowsetError::Dictionary)?;
            }
            MessageHeader::RecordBatch => {
                let schema = schema.clone().ok_or(RowsetError::BeforeSchema { what: "record batch" })?;
                let batch = message.header_as_record_batch().ok_or(RowsetError::EmptyRecordBatchMessage)?;
                batches.push(
                    arrow::ipc::reader::read_record_batch(&body, batch, schema, &dictionaries, None, &version)
                        .map_err(RowsetError::RecordBatch)?,
                );
            }
            other => return Err(RowsetError::UnexpectedMessage(other)),
        }
    }
    Ok(batches)
}

/// The field with every nested child nullable (the top level keeps its nullability).
fn relax_nested(field: &Field) -> Field {
    fn nullable(field: &Field) -> Field {
        relax_nested(field).with_nullable(true)
    }
    let data_type = match field.data_type() {
        DataType::Struct(children) => DataType::Struct(children.iter().map(|c| nullable(c)).collect()),
        DataType::List(child) => DataType::List(Arc::new(nullable(child))),
        DataType::LargeList(child) => DataType::LargeList(Arc::new(nullable(child))),
        DataType::FixedSizeList(child, n) => DataType::FixedSizeList(Arc::new(nullable(child)), *n),
        other => other.clone(),
    };
    field.clone().with_data_type(data_type)
}

/// A JSON chunk: rows without the outer brackets (`["1","a"],["2","b"]`).
pub(crate) fn decode_json_chunk(bytes: &[u8]) -> Result<JsonRows, RowsetError> {
    let mut text = Vec::with_capacity(bytes.len() + 2);
    text.push(b'[');
    text.extend_from_slice(bytes);
    text.push(b']');
    let rows: Vec<Vec<serde_json::Value>> = serde_json::from_slice(&text).map_err(RowsetError::JsonChunk)?;
    Ok(json_rows(rows))
}

/// JSON cells as text (numbers and booleans as written, nested values as JSON).
pub(crate) fn json_rows(rows: Vec<Vec<serde_json::Value>>) -> JsonRows {
    rows.into_iter()
        .map(|row| {
            row.into_iter()
                .map(|cell| match cell {
                    serde_json::Value::Null => None,
                    serde_json::Value::String(s) => Some(s),
                    other => Some(other.to_string()),
                })
                .collect()
        })
        .collect()
}

/// The Arrow type a column becomes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    Int64,
    Decimal(u8, i8),
    Float64,
    Utf8,
    Binary,
    Date32,
    Boolean,
    Time,
    Timestamp { utc: bool },
}

impl Target {
    fn data_type(self) -> DataType {
        match self {
            Target::Int64 => DataType::Int64,
            Target::Decimal(p, s) => DataType::Decimal128(p, s),
            Target::Float64 => DataType::Float64,
            Target::Utf8 => DataType::Utf8,
            Target::Binary => DataType::Binary,
            Target::Date32 => DataType::Date32,
            Target::Boolean => DataType::Boolean,
            Target::Time => DataType::Time64(TimeUnit::Nanosecond),
            Target::Timestamp { utc: false } => DataType::Timestamp(TimeUnit::Nanosecond, None),
            Target::Timestamp { utc: true } => DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
        }
    }
}

/// Converts every part of a result into batches of one schema.
pub(crate) fn to_arrow(columns: &[Column], parts: Vec<Part>) -> Result<(SchemaRef, Vec<RecordBatch>), RowsetError> {
    check_widths(columns, &parts)?;
    let targets: Vec<Target> =
        columns.iter().enumerate().map(|(i, column)| target(column, i, &parts)).collect::<Result<_, _>>()?;
    let mut converted: Vec<(usize, Vec<ArrayRef>)> = Vec::new();
    for part in &parts {
        converted.extend(convert_part(columns, &targets, part)?);
    }
    let fields: Vec<Field> = columns
        .iter()
        .zip(&targets)
        .enumerate()
        .map(|(i, (column, target))| {
            let has_nulls = converted.iter().any(|(_, arrays)| arrays[i].null_count() > 0);
            Field::new(&column.name, target.data_type(), column.nullable || has_nulls)
        })
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let batches = converted
        .into_iter()
        .map(|(rows, arrays)| {
            RecordBatch::try_new_with_options(
                schema.clone(),
                arrays,
                &RecordBatchOptions::new().with_row_count(Some(rows)),
            )
            .map_err(RowsetError::Batch)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((schema, batches))
}

/// Every part has as many columns as the row type.
fn check_widths(columns: &[Column], parts: &[Part]) -> Result<(), RowsetError> {
    for part in parts {
        match part {
            Part::Arrow(batches) => {
                if let Some(batch) = batches.iter().find(|b| b.num_columns() != columns.len()) {
                    return Err(RowsetError::ArrowWidth { found: batch.num_columns(), expected: columns.len() });
                }
            }
            Part::Json(rows) => {
                if let Some(row) = rows.iter().find(|row| row.len() != columns.len()) {
                    return Err(RowsetError::JsonWidth { found: row.len(), expected: columns.len() });
                }
            }
        }
    }
    Ok(())
}

/// One part's batches as `(rows, arrays)`, each column converted to its target type.
fn convert_part(
    columns: &[Column],
    targets: &[Target],
    part: &Part,
) -> Result<Vec<(usize, Vec<ArrayRef>)>, RowsetError> {
    let named = |column: &Column, e: RowsetError| RowsetError::Column {
        column: column.name.clone(),
        type_name: column.type_name.clone(),
        source: Box::new(e),
    };
    match part {
        Part::Arrow(batches) => batches
            .iter()
            .map(|batch| {
                let arrays = columns
                    .iter()
                    .zip(targets)
                    .enumerate()
                    .map(|(i, (column, target))| {
                        let field = batch.schema_ref().field(i).clone();
                        convert_arrow(column, *target, &field, batch.column(i)).map_err(|e| named(column, e))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((batch.num_rows(), arrays))
            })
            .collect(),
        Part::Json(rows) if rows.is_empty() => Ok(Vec::new()),
        Part::Json(rows) => {
            let arrays = columns
                .iter()
                .zip(targets)
                .enumerate()
                .map(|(i, (column, target))| {
                    convert_json(column, *target, rows.iter().map(|row| row[i].as_deref()))
                        .map_err(|e| named(column, e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(vec![(rows.len(), arrays)])
        }
    }
}

fn target(column: &Column, index: usize, parts: &[Part]) -> Result<Target, RowsetError> {
    let scale = column.scale.unwrap_or(0);
    Ok(match column.type_name.as_str() {
        "FIXED" | "NUMBER" | "DECIMAL" => {
            if scale == 0 {
                if all_fixed_fit_i64(column, index, parts)? { Target::Int64 } else { Target::Decimal(38, 0) }
            } else {
                let precision = column.precision.unwrap_or(38).clamp(1, 38) as u8;
                let scale =
                    i8::try_from(scale).map_err(|_| RowsetError::Scale { column: column.name.clone(), scale })?;
                Target::Decimal(precision.max(scale.unsigned_abs()), scale)
            }
        }
        "REAL" | "FLOAT" | "DOUBLE" => Target::Float64,
        "BINARY" => Target::Binary,
        "DATE" => Target::Date32,
        "BOOLEAN" => Target::Boolean,
        "TIME" => Target::Time,
        "TIMESTAMP_NTZ" | "TIMESTAMP" => Target::Timestamp { utc: false },
        "TIMESTAMP_LTZ" | "TIMESTAMP_TZ" => Target::Timestamp { utc: true },
        _ => Target::Utf8,
    })
}

/// Whether every value of a scale-0 FIXED column fits an i64.
fn all_fixed_fit_i64(column: &Column, index: usize, parts: &[Part]) -> Result<bool, RowsetError> {
    for part in parts {
        match part {
            Part::Arrow(batches) => {
                for batch in batches {
                    let array = batch.column(index);
                    if let DataType::Decimal128(_, source_scale) = array.data_type() {
                        for value in array.as_primitive::<Decimal128Type>().iter().flatten() {
                            let value = rescale(value, i64::from(*source_scale), 0)?;
                            if i64::try_from(value).is_err() {
                                return Ok(false);
                            }
                        }
                    }
                }
            }
            Part::Json(rows) => {
                for text in rows.iter().filter_map(|row| row[index].as_deref()) {
                    let value = parse_decimal(text, 0).ok_or_else(|| RowsetError::NotInteger {
                        column: column.name.clone(),
                        text: text.to_owned(),
                    })?;
                    if i64::try_from(value).is_err() {
                        return Ok(false);
                    }
                }
            }
        }
    }
    Ok(true)
}

fn scale_of(field: &Field, column: &Column) -> i64 {
    field.metadata().get("scale").and_then(|s| s.parse().ok()).or(column.scale).unwrap_or(0)
}

fn convert_arrow(column: &Column, target: Target, field: &Field, array: &ArrayRef) -> Result<ArrayRef, RowsetError> {
    match target {
        Target::Int64 | Target::Decimal(..) => convert_fixed(column, target, field, array),
        Target::Time => {
            if matches!(array.data_type(), DataType::Time32(_) | DataType::Time64(_)) {
                return cast(array, &target.data_type());
            }
            let scale = scale_of(field, column);
            let values = integers(array)?;
            let mut builder = Time64NanosecondBuilder::with_capacity(values.len());
            for value in values {
                builder.append_option(value.map(|v| to_nanos(v, scale)).transpose()?);
            }
            Ok(Arc::new(builder.finish()))
        }
        Target::Timestamp { utc } => convert_timestamp(column, utc, field, array),
        Target::Date32 => match array.data_type() {
            DataType::Int32 => {
                let mut builder = Date32Builder::with_capacity(array.len());
                for value in array.as_primitive::<Int32Type>() {
                    builder.append_option(value);
                }
                Ok(Arc::new(builder.finish()))
            }
            _ => cast(array, &DataType::Date32),
        },
        Target::Float64 | Target::Utf8 | Target::Binary | Target::Boolean => cast(array, &target.data_type()),
    }
}

/// A fixed-point column (scaled integers or Decimal128) as Int64 or Decimal128.
fn convert_fixed(column: &Column, target: Target, field: &Field, array: &ArrayRef) -> Result<ArrayRef, RowsetError> {
    let source_scale = match array.data_type() {
        DataType::Decimal128(_, s) => i64::from(*s),
        _ => scale_of(field, column),
    };
    let values = integers(array)?;
    match target {
        Target::Decimal(_, target_scale) => {
            let mut builder = Decimal128Builder::with_capacity(values.len()).with_data_type(target.data_type());
            for value in values {
                builder.append_option(value.map(|v| rescale(v, source_scale, i64::from(target_scale))).transpose()?);
            }
            Ok(Arc::new(builder.finish()))
        }
        _ => {
            let mut builder = Int64Builder::with_capacity(values.len());
            for value in values {
                let value = value
                    .map(|v| {
                        let v = rescale(v, source_scale, 0)?;
                        i64::try_from(v).map_err(|_| RowsetError::NotInt64(v))
                    })
                    .transpose()?;
                builder.append_option(value);
            }
            Ok(Arc::new(builder.finish()))
        }
    }
}

/// A timestamp column (Snowflake's struct layouts, Arrow timestamps or scaled integers)
/// as nanoseconds, in UTC when `utc`.
fn convert_timestamp(column: &Column, utc: bool, field: &Field, array: &ArrayRef) -> Result<ArrayRef, RowsetError> {
    let scale = scale_of(field, column);
    let values: Vec<Option<i64>> = match array.data_type() {
        DataType::Struct(_) => struct_timestamps(array.as_struct(), scale)?,
        DataType::Timestamp(..) => {
            let ns = cast(array, &DataType::Timestamp(TimeUnit::Nanosecond, None))?;
            ns.as_primitive::<arrow::datatypes::TimestampNanosecondType>().iter().collect()
        }
        _ => {
            integers(array)?.into_iter().map(|v| v.map(|v| to_nanos(v, scale)).transpose()).collect::<Result<_, _>>()?
        }
    };
    let mut builder = TimestampNanosecondBuilder::with_capacity(values.len());
    for value in values {
        builder.append_option(value);
    }
    let array = builder.finish();
    Ok(Arc::new(if utc { array.with_timezone("UTC") } else { array }))
}

/// Timestamps of Snowflake's struct layouts, in nanoseconds since the epoch (UTC).
fn struct_timestamps(structs: &StructArray, scale: i64) -> Result<Vec<Option<i64>>, RowsetError> {
    let fields = structs.num_columns();
    let epoch = integers(structs.column(0))?;
    let fraction = if fields == 3 || (fields == 2 && structs.column_names()[1] == "fraction") {
        Some(integers(structs.column(1))?)
    } else {
        None
    };
    (0..structs.len())
        .map(|row| {
            if structs.is_null(row) {
                return Ok(None);
            }
            let Some(epoch) = epoch[row] else { return Ok(None) };
            match &fraction {
                // {epoch seconds, fraction nanoseconds[, timezone]}
                Some(fraction) => {
                    let nanos = fraction[row].unwrap_or(0);
                    let total = epoch.checked_mul(1_000_000_000).and_then(|s| s.checked_add(nanos));
                    total.and_then(|t| i64::try_from(t).ok()).map(Some).ok_or(RowsetError::TimestampRange(epoch))
                }
                // {epoch scaled by 10^scale, timezone}
                None => to_nanos(epoch, scale).map(Some),
            }
        })
        .collect()
}

/// The integer values of any integer or decimal array, unscaled.
fn integers(array: &ArrayRef) -> Result<Vec<Option<i128>>, RowsetError> {
    Ok(match array.data_type() {
        DataType::Int8 => array.as_primitive::<Int8Type>().iter().map(|v| v.map(i128::from)).collect(),
        DataType::Int16 => array.as_primitive::<Int16Type>().iter().map(|v| v.map(i128::from)).collect(),
        DataType::Int32 => array.as_primitive::<Int32Type>().iter().map(|v| v.map(i128::from)).collect(),
        DataType::Int64 => array.as_primitive::<Int64Type>().iter().map(|v| v.map(i128::from)).collect(),
        DataType::Decimal128(..) => array.as_primitive::<Decimal128Type>().iter().collect(),
        other => return Err(RowsetError::UnexpectedType(other.clone())),
    })
}

/// An integer of unit 10^-scale seconds in nanoseconds.
fn to_nanos(value: i128, scale: i64) -> Result<i64, RowsetError> {
    let nanos = if scale <= 9 {
        value.checked_mul(10i128.pow((9 - scale) as u32))
    } else {
        Some(value / 10i128.pow((scale - 9) as u32))
    };
    nanos.and_then(|n| i64::try_from(n).ok()).ok_or(RowsetError::TimestampRange(value))
}

/// An unscaled value of scale `from` at scale `to`; refuses to drop digits.
fn rescale(value: i128, from: i64, to: i64) -> Result<i128, RowsetError> {
    if from == to {
        return Ok(value);
    }
    let factor = 10i128.checked_pow(from.abs_diff(to) as u32).ok_or(RowsetError::ScaleRange)?;
    if to > from {
        value.checked_mul(factor).ok_or(RowsetError::Overflow { value, scale: to })
    } else if value % factor == 0 {
        Ok(value / factor)
    } else {
        Err(RowsetError::DigitsBeyondScale { value, from, to })
    }
}

fn cast(array: &ArrayRef, to: &DataType) -> Result<ArrayRef, RowsetError> {
    if array.data_type() == to {
        return Ok(array.clone());
    }
    // A value Snowflake sent that does not fit the column is an error, never a NULL.
    let strict = arrow::compute::CastOptions { safe: false, ..Default::default() };
    arrow::compute::cast_with_options(array, to, &strict).map_err(|e| RowsetError::Cast {
        from: array.data_type().clone(),
        to: to.clone(),
        source: e,
    })
}

fn convert_json<'a>(
    column: &Column,
    target: Target,
    cells: impl ExactSizeIterator<Item = Option<&'a str>>,
) -> Result<ArrayRef, RowsetError> {
    let rows = cells.len();
    let bad = |text: &str| RowsetError::BadCell { text: text.to_owned(), type_name: column.type_name.clone() };
    Ok(match target {
        Target::Int64 => {
            Arc::new(parse_primitive(Int64Builder::with_capacity(rows), cells, |t| t.trim().parse().ok(), bad)?)
        }
        Target::Decimal(_, scale) => {
            let builder = Decimal128Builder::with_capacity(rows).with_data_type(target.data_type());
            Arc::new(parse_primitive(builder, cells, |t| parse_decimal(t, i64::from(scale)), bad)?)
        }
        Target::Float64 => Arc::new(parse_primitive(Float64Builder::with_capacity(rows), cells, parse_real, bad)?),
        Target::Utf8 => {
            let mut builder = StringBuilder::with_capacity(rows, 0);
            for cell in cells {
                builder.append_option(cell);
            }
            Arc::new(builder.finish())
        }
        Target::Binary => {
            let mut builder = BinaryBuilder::with_capacity(rows, 0);
            for cell in cells {
                builder.append_option(cell.map(|t| parse_hex(t).ok_or_else(|| bad(t))).transpose()?);
            }
            Arc::new(builder.finish())
        }
        Target::Date32 => {
            Arc::new(parse_primitive(Date32Builder::with_capacity(rows), cells, |t| t.trim().parse().ok(), bad)?)
        }
        Target::Boolean => {
            let mut builder = BooleanBuilder::with_capacity(rows);
            for cell in cells {
                builder.append_option(cell.map(|t| parse_bool(t).ok_or_else(|| bad(t))).transpose()?);
            }
            Arc::new(builder.finish())
        }
        Target::Time => {
            Arc::new(parse_primitive(Time64NanosecondBuilder::with_capacity(rows), cells, parse_seconds, bad)?)
        }
        Target::Timestamp { utc } => {
            // TIMESTAMP_TZ: "<seconds.fraction> <offset minutes + 1440>"; the instant is UTC.
            let seconds = |t: &str| t.split_whitespace().next().and_then(parse_seconds);
            let array = parse_primitive(TimestampNanosecondBuilder::with_capacity(rows), cells, seconds, bad)?;
            Arc::new(if utc { array.with_timezone("UTC") } else { array })
        }
    })
}

/// The cells parsed into `builder` (which carries the capacity and, for decimals, the
/// precision and scale); `parse` is `None` for text that is not a value, reported by `bad`.
fn parse_primitive<'a, T: ArrowPrimitiveType>(
    mut builder: PrimitiveBuilder<T>,
    cells: impl Iterator<Item = Option<&'a str>>,
    parse: impl Fn(&str) -> Option<T::Native>,
    bad: impl Fn(&str) -> RowsetError,
) -> Result<PrimitiveArray<T>, RowsetError> {
    for cell in cells {
        builder.append_option(cell.map(|t| parse(t).ok_or_else(|| bad(t))).transpose()?);
    }
    Ok(builder.finish())
}

/// Decimal text (`-12.34`) as an integer of unit 10^-scale; `None` if it is not decimal
/// text or has non-zero digits beyond the scale.
fn parse_decimal(text: &str, scale: i64) -> Option<i128> {
    let text = text.trim();
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let scale = usize::try_from(scale).ok()?;
    let (kept, dropped) = fraction.split_at(fraction.len().min(scale));
    if dropped.bytes().any(|b| b != b'0') {
        return None;
    }
    let mut value: i128 = 0;
    for digit in whole.bytes().chain(kept.bytes()).chain(std::iter::repeat_n(b'0', scale - kept.len())) {
        value = value.checked_mul(10)?.checked_add(i128::from(digit - b'0'))?;
    }
    Some(if negative { -value } else { value })
}

/// Seconds with a fraction (`-1.500000000`) in nanoseconds; digits beyond nanoseconds are
/// dropped.
fn parse_seconds(text: &str) -> Option<i64> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let fraction = &fraction[..fraction.len().min(9)];
    let padded = format!("{whole}.{fraction:0<9}");
    i64::try_from(parse_decimal(&padded, 9)?).ok()
}

fn parse_real(text: &str) -> Option<f64> {
    match text.trim() {
        "inf" | "Infinity" => Some(f64::INFINITY),
        "-inf" | "-Infinity" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        t => t.parse().ok(),
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_uppercase().as_str() {
        "1" | "TRUE" | "T" | "Y" | "YES" | "ON" => Some(true),
        "0" | "FALSE" | "F" | "N" | "NO" | "OFF" => Some(false),
        _ => None,
    }
}

fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// `rows_affected` of a statement (see [`QueryResult::rows_affected`]).
pub(crate) fn rows_affected(statement_type_id: Option<i64>, batches: &[RecordBatch], schema: &Schema) -> Option<u64> {
    // STATEMENT_TYPE_ID_DML_SET of snowflake-connector-python's cursor.py: 0x3000 and
    // INSERT, UPDATE, DELETE, MERGE, MULTI_TABLE_INSERT (0x3100..=0x3500).
    let is_dml =
        matches!(statement_type_id, Some(id) if id == 0x3000 || (0x3100..=0x3500).contains(&id) && id % 0x100 == 0);
    let int_at = |batch: &RecordBatch, column: usize, row: usize| -> u64 {
        let array = batch.column(column);
        if array.is_null(row) {
            return 0;
        }
        match array.data_type() {
            DataType::Int64 => array.as_primitive::<Int64Type>().value(row).max(0) as u64,
            DataType::Decimal128(_, 0) => u64::try_from(array.as_primitive::<Decimal128Type>().value(row)).unwrap_or(0),
            _ => 0,
        }
    };
    if is_dml {
        let counted: Vec<usize> = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                let name = f.name().as_str();
                matches!(
                    name,
                    "number of rows updated" | "number of multi-joined rows updated" | "number of rows deleted"
                ) || name.starts_with("number of rows inserted")
            })
            .map(|(i, _)| i)
            .collect();
        let first = batches.iter().find(|b| b.num_rows() > 0)?;
        return Some(counted.iter().map(|&i| int_at(first, i, 0)).sum());
    }
    let loaded = schema.fields().iter().position(|f| f.name().eq_ignore_ascii_case("rows_loaded"))?;
    Some(batches.iter().flat_map(|b| (0..b.num_rows()).map(move |row| int_at(b, loaded, row))).sum())
}

#[cfg(test)]
#[allow(clippy::disallowed_types)] // arrow's Field::with_metadata takes a std HashMap
mod tests {
    use super::*;
    use crate::wire::{Envelope, QueryData};
    use arrow::array::{Int16Array, Int32Array, Int64Array, StringArray};
    use arrow::datatypes::{Fields, TimestampNanosecondType};
    use base64::Engine as _;
    use std::collections::HashMap;

    fn fakesnow(name: &str) -> QueryData {
        let path = format!("{}/tests/fixtures/fakesnow/{name}.json", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        let envelope: Envelope<QueryData> = serde_json::from_str(&text).unwrap();
        envelope.data.unwrap()
    }

    fn columns(data: &QueryData) -> Vec<Column> {
        data.rowtype.iter().map(Column::from_row_type).collect()
    }

    fn column(type_name: &str, precision: Option<i64>, scale: Option<i64>) -> Column {
        Column {
            name: type_name.to_owned(),
            type_name: type_name.to_owned(),
            precision,
            scale,
            nullable: true,
            length: None,
        }
    }

    /// 2021-03-28 15:00:00.123456 UTC in nanoseconds.
    const TS: i64 = 1_616_943_600_123_456_000;

    #[test]
    fn recorded_fakesnow_arrow_rowset_converts_every_type_to_standard_arrow() {
        let data = fakesnow("select_arrow_rowset");
        let bytes = base64::engine::general_purpose::STANDARD.decode(data.rowset_base64.as_ref().unwrap()).unwrap();
        let parts = vec![Part::Arrow(decode_arrow(&bytes).unwrap())];
        let (schema, batches) = to_arrow(&columns(&data), parts).unwrap();
        let types: Vec<DataType> = schema.fields().iter().map(|f| f.data_type().clone()).collect();
        assert_eq!(
            types,
            vec![
                DataType::Int64,
                DataType::Decimal128(10, 2),
                DataType::Float64,
                DataType::Utf8,
                DataType::Date32,
                DataType::Boolean,
                DataType::Time64(TimeUnit::Nanosecond),
                DataType::Timestamp(TimeUnit::Nanosecond, None),
                DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            ]
        );
        let batch = arrow::compute::concat_batches(&schema, &batches).unwrap();
        // The UTC column is checked by value: printing a named time zone needs arrow's
        // chrono-tz feature, which this crate alone does not enable.
        let tz = batch.column(8).as_primitive::<TimestampNanosecondType>();
        assert_eq!(tz.value(0), 1_616_943_600_500_000_000);
        assert!(tz.is_null(1));
        let text = arrow::util::pretty::pretty_format_batches(&[batch.project(&[0, 1, 2, 3, 4, 5, 6, 7]).unwrap()])
            .unwrap()
            .to_string();
        let expected = "\
+----+-------+-----+----------+------------+-------+-----------------+----------------------------+
| I  | D     | F   | T        | DT         | B     | TM              | TS                         |
+----+-------+-----+----------+------------+-------+-----------------+----------------------------+
| 1  | 12.34 | 1.5 | Hamilton | 2021-03-28 | true  | 13:45:30.123456 | 2021-03-28T15:00:00.123456 |
| -7 | -0.05 |     |          | 1970-01-01 | false |                 |                            |
+----+-------+-----+----------+------------+-------+-----------------+----------------------------+";
        assert_eq!(text, expected);
    }

    #[test]
    fn recorded_fakesnow_dml_json_rowset_gives_rows_affected() {
        let data = fakesnow("insert_json_rowset");
        let columns = columns(&data);
        let parts = vec![Part::Json(json_rows(data.rowset.clone().unwrap()))];
        let (schema, batches) = to_arrow(&columns, parts).unwrap();
        assert_eq!(schema.field(0).name(), "number of rows inserted");
        assert_eq!(rows_affected(data.statement_type_id, &batches, &schema), Some(2));
    }

    #[test]
    fn recorded_fakesnow_empty_select_keeps_the_schema_without_batches() {
        let data = fakesnow("select_empty");
        let (schema, batches) = to_arrow(&columns(&data), Vec::new()).unwrap();
        assert_eq!(schema.fields().len(), 9);
        assert!(batches.is_empty());
        assert_eq!(rows_affected(data.statement_type_id, &batches, &schema), None);
    }

    /// Snowflake's own Arrow layout (what fakesnow does not send): FIXED with scale as a
    /// scaled int16, TIME as scaled int32, TIMESTAMP_NTZ as scaled int64,
    /// TIMESTAMP_TZ as struct{epoch (scaled), timezone} (gosnowflake
    /// `arrowbatches/converter.go` `ArrowSnowflakeTimestampToTime`).
    #[test]
    fn snowflake_scaled_integer_layouts_convert_to_decimal_time_and_timestamps() {
        let meta = |scale: &str| HashMap::from([("scale".to_owned(), scale.to_owned())]);
        let tz_struct = DataType::Struct(Fields::from(vec![
            Field::new("epoch", DataType::Int64, false),
            Field::new("timezone", DataType::Int32, false),
        ]));
        let schema = Arc::new(Schema::new(vec![
            Field::new("D", DataType::Int16, true).with_metadata(meta("2")),
            Field::new("TM", DataType::Int32, true).with_metadata(meta("3")),
            Field::new("TS", DataType::Int64, true).with_metadata(meta("6")),
            Field::new("TZ", tz_struct, true).with_metadata(meta("3")),
            Field::new("BIG", DataType::Decimal128(38, 0), true).with_metadata(meta("0")),
        ]));
        let tz = StructArray::from(vec![
            (
                Arc::new(Field::new("epoch", DataType::Int64, false)),
                Arc::new(Int64Array::from(vec![1_616_943_600_500, 0])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("timezone", DataType::Int32, false)),
                Arc::new(Int32Array::from(vec![1440 + 60, 1440])) as ArrayRef,
            ),
        ]);
        let big = arrow::array::Decimal128Array::from(vec![Some(i128::from(i64::MAX) + 1), None])
            .with_precision_and_scale(38, 0)
            .unwrap();
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int16Array::from(vec![Some(1234), None])),
                Arc::new(Int32Array::from(vec![Some(49_530_123), None])),
                Arc::new(Int64Array::from(vec![Some(TS / 1000), None])),
                Arc::new(tz),
                Arc::new(big),
            ],
        )
        .unwrap();
        let columns = vec![
            column("FIXED", Some(4), Some(2)),
            column("TIME", Some(0), Some(3)),
            column("TIMESTAMP_NTZ", Some(0), Some(6)),
            column("TIMESTAMP_TZ", Some(0), Some(3)),
            column("FIXED", Some(38), Some(0)),
        ];
        let (schema, batches) = to_arrow(&columns, vec![Part::Arrow(vec![batch])]).unwrap();
        assert_eq!(schema.field(0).data_type(), &DataType::Decimal128(4, 2));
        assert_eq!(schema.field(4).data_type(), &DataType::Decimal128(38, 0), "a value beyond i64");
        let b = &batches[0];
        assert_eq!(b.column(0).as_primitive::<Decimal128Type>().value(0), 1234);
        assert!(b.column(0).is_null(1));
        assert_eq!(b.column(1).as_primitive::<arrow::datatypes::Time64NanosecondType>().value(0), 49_530_123_000_000);
        assert_eq!(b.column(2).as_primitive::<TimestampNanosecondType>().value(0), TS);
        assert_eq!(b.column(3).as_primitive::<TimestampNanosecondType>().value(0), 1_616_943_600_500_000_000);
        assert_eq!(b.column(4).as_primitive::<Decimal128Type>().value(0), i128::from(i64::MAX) + 1);
    }

    /// Snowflake's JSON rowset encodings (snowflake-connector-python `converter.py`):
    /// DATE in days, TIME/TIMESTAMP in seconds with a fraction, TIMESTAMP_TZ with the
    /// offset + 1440 after a space, BOOLEAN as 1/0, BINARY as hex.
    #[test]
    fn json_rowset_of_every_type_converts_like_the_arrow_one() {
        let columns = vec![
            column("FIXED", Some(38), Some(0)),
            column("FIXED", Some(10), Some(2)),
            column("REAL", None, None),
            column("TEXT", None, None),
            column("DATE", None, None),
            column("BOOLEAN", None, None),
            column("TIME", Some(0), Some(9)),
            column("TIMESTAMP_NTZ", Some(0), Some(9)),
            column("TIMESTAMP_TZ", Some(0), Some(9)),
            column("TIMESTAMP_LTZ", Some(0), Some(9)),
            column("BINARY", None, None),
            column("VARIANT", None, None),
        ];
        let row = |cells: &[Option<&str>]| cells.iter().map(|c| c.map(str::to_owned)).collect::<Vec<_>>();
        let rows = vec![
            row(&[
                Some("1"),
                Some("12.34"),
                Some("1.5"),
                Some("Hamilton"),
                Some("18714"),
                Some("1"),
                Some("49530.123456000"),
                Some("1616943600.123456000"),
                Some("1616943600.500000000 1500"),
                Some("-1.500000000"),
                Some("DEAD"),
                Some("{\"a\":1}"),
            ]),
            row(&[Some("-7"), Some("-0.05"), None, None, Some("0"), Some("FALSE"), None, None, None, None, None, None]),
        ];
        let (schema, batches) = to_arrow(&columns, vec![Part::Json(rows)]).unwrap();
        let b = &batches[0];
        assert_eq!(schema.field(0).data_type(), &DataType::Int64);
        assert_eq!(b.column(0).as_primitive::<Int64Type>().values().to_vec(), vec![1, -7]);
        assert_eq!(b.column(1).as_primitive::<Decimal128Type>().values().to_vec(), vec![1234, -5]);
        assert_eq!(b.column(2).as_primitive::<arrow::datatypes::Float64Type>().value(0), 1.5);
        assert_eq!(b.column(3).as_any().downcast_ref::<StringArray>().unwrap().value(0), "Hamilton");
        assert_eq!(b.column(4).as_primitive::<arrow::datatypes::Date32Type>().values().to_vec(), vec![18714, 0]);
        assert!(b.column(5).as_boolean().value(0) && !b.column(5).as_boolean().value(1));
        assert_eq!(b.column(6).as_primitive::<arrow::datatypes::Time64NanosecondType>().value(0), 49_530_123_456_000);
        assert_eq!(b.column(7).as_primitive::<TimestampNanosecondType>().value(0), TS);
        assert_eq!(b.column(8).as_primitive::<TimestampNanosecondType>().value(0), 1_616_943_600_500_000_000);
        assert_eq!(b.column(9).as_primitive::<TimestampNanosecondType>().value(0), -1_500_000_000);
        assert_eq!(schema.field(9).data_type(), &DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())));
        assert_eq!(b.column(10).as_binary::<i32>().value(0), &[0xde, 0xad]);
        assert_eq!(b.column(11).as_any().downcast_ref::<StringArray>().unwrap().value(0), "{\"a\":1}");
    }

    #[test]
    fn json_integers_beyond_i64_widen_the_column_to_decimal_38_0() {
        let rows = vec![vec![Some("99999999999999999999999999999999999999".to_owned())], vec![Some("1".to_owned())]];
        let (schema, batches) = to_arrow(&[column("FIXED", Some(38), Some(0))], vec![Part::Json(rows)]).unwrap();
        assert_eq!(schema.field(0).data_type(), &DataType::Decimal128(38, 0));
        assert_eq!(batches[0].column(0).as_primitive::<Decimal128Type>().value(1), 1);
    }

    #[test]
    fn malformed_cells_are_errors_naming_the_column() {
        let rows = vec![vec![Some("twelve".to_owned())]];
        let error = to_arrow(&[column("FIXED", Some(10), Some(2))], vec![Part::Json(rows)]).unwrap_err();
        let error = error.to_string();
        assert!(error.contains("FIXED") && error.contains("twelve"), "{error}");
        assert!(parse_decimal("1.239", 2).is_none(), "digits beyond the scale are not dropped");
        assert_eq!(parse_decimal("1.230", 2), Some(123));
    }

    #[test]
    fn copy_results_count_rows_loaded() {
        let columns = vec![column("TEXT", None, None), column("FIXED", Some(38), Some(0))];
        let mut columns = columns;
        columns[1].name = "rows_loaded".into();
        let rows = vec![vec![Some("f1".into()), Some("20".into())], vec![Some("f2".into()), Some("5".into())]];
        let (schema, batches) = to_arrow(&columns, vec![Part::Json(rows)]).unwrap();
        assert_eq!(rows_affected(Some(0x6000), &batches, &schema), Some(25));
    }
}
