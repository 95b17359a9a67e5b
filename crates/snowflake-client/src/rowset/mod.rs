//! Result sets in standard Arrow types, from Snowflake's two encodings: Arrow rowsets
//! (`rowsetBase64` and Arrow chunks; the `arrow` submodule) and JSON rowsets (`rowset` and
//! JSON chunks; the `json` submodule).
//!
//! Both become: FIXED scale 0 -> Int64 (Decimal128(38,0) when a value does not fit),
//! FIXED scale > 0 -> Decimal128(p,s), REAL -> Float64, TEXT (and VARIANT, OBJECT, ARRAY
//! and unknown types) -> Utf8, BINARY -> Binary, DATE -> Date32, BOOLEAN -> Boolean,
//! TIME -> Time64(ns), TIMESTAMP_NTZ -> Timestamp(ns), TIMESTAMP_LTZ/TZ -> Timestamp(ns,
//! UTC).
//!
//! This module holds what both share: the result types, the error, the choice of each
//! column's Arrow type, and the entry points that assemble the parts of a result. The
//! submodule `arrow` shadows the `arrow` crate here: the crate is `::arrow`.

mod arrow;
mod json;

use std::sync::Arc;

use ::arrow::array::{Array, ArrayRef, AsArray};
use ::arrow::datatypes::{DataType, Decimal128Type, Field, Int64Type, Schema, SchemaRef, TimeUnit};
use ::arrow::error::ArrowError;
use ::arrow::ipc::MessageHeader;
use ::arrow::record_batch::{RecordBatch, RecordBatchOptions};

use crate::wire::RowType;

pub(crate) use self::arrow::decode_arrow;
pub(crate) use self::json::{decode_json_chunk, json_rows};

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
                        arrow::convert_arrow(column, *target, &field, batch.column(i)).map_err(|e| named(column, e))
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
                    json::convert_json(column, *target, rows.iter().map(|row| row[i].as_deref()))
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
        let fits = match part {
            Part::Arrow(batches) => arrow::fixed_fits_i64(batches, index)?,
            Part::Json(rows) => json::fixed_fits_i64(column, index, rows)?,
        };
        if !fits {
            return Ok(false);
        }
    }
    Ok(true)
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
mod tests {
    //! The entry points over both formats, and the fixtures the submodules' tests share.

    use super::*;
    use crate::wire::{Envelope, QueryData};

    pub(super) fn fakesnow(name: &str) -> QueryData {
        let path = format!("{}/tests/fixtures/fakesnow/{name}.json", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        let envelope: Envelope<QueryData> = serde_json::from_str(&text).unwrap();
        envelope.data.unwrap()
    }

    pub(super) fn columns(data: &QueryData) -> Vec<Column> {
        data.rowtype.iter().map(Column::from_row_type).collect()
    }

    pub(super) fn column(type_name: &str, precision: Option<i64>, scale: Option<i64>) -> Column {
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
    pub(super) const TS: i64 = 1_616_943_600_123_456_000;

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
