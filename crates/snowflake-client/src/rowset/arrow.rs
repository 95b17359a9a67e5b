//! Arrow rowsets (`rowsetBase64` and Arrow chunks): an Arrow IPC stream in Snowflake's
//! layout: FIXED as scaled integers (int8..int64, or decimal128) with a `scale` in the field
//! metadata, TIME as scaled integers, TIMESTAMP_NTZ/LTZ as scaled int64 or
//! `struct{epoch, fraction}`, TIMESTAMP_TZ as `struct{epoch, timezone}` or
//! `struct{epoch, fraction, timezone}`, DATE as date32 (gosnowflake
//! `arrowbatches/converter.go`, snowflake-connector-python `nanoarrow_cpp`). Decoded here
//! and converted to the standard types of the parent module's mapping.

use std::sync::Arc;

use ::arrow::array::{
    Array, ArrayRef, AsArray, Date32Builder, Decimal128Builder, Int64Builder, StructArray, Time64NanosecondBuilder,
    TimestampNanosecondBuilder,
};
use ::arrow::datatypes::{
    DataType, Decimal128Type, Field, Int8Type, Int16Type, Int32Type, Int64Type, Schema, SchemaRef, TimeUnit,
};
use ::arrow::ipc::MessageHeader;
use ::arrow::record_batch::RecordBatch;

use super::{Column, RowsetError, Target};

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
        let message = ::arrow::ipc::root_as_message(metadata).map_err(|e| RowsetError::NotIpcMessage(e.to_string()))?;
        let body_length = usize::try_from(message.bodyLength()).map_err(|_| RowsetError::NegativeBodyLength)?;
        let body = ::arrow::buffer::Buffer::from(take(&mut offset, body_length)?);
        let version = message.version();
        match message.header_type() {
            MessageHeader::Schema => {
                let fb = message.header_as_schema().ok_or(RowsetError::SchemaMessageWithoutSchema)?;
                let decoded = ::arrow::ipc::convert::fb_to_schema(fb);
                let fields: Vec<Field> = decoded.fields().iter().map(|f| relax_nested(f)).collect();
                schema = Some(Arc::new(Schema::new_with_metadata(fields, decoded.metadata().clone())));
            }
            MessageHeader::DictionaryBatch => {
                let schema = schema.as_ref().ok_or(RowsetError::BeforeSchema { what: "dictionary" })?;
                let batch = message.header_as_dictionary_batch().ok_or(RowsetError::EmptyDictionaryMessage)?;
                ::arrow::ipc::reader::read_dictionary(&body, batch, schema, &mut dictionaries, &version)
                    .map_err(RowsetError::Dictionary)?;
            }
            MessageHeader::RecordBatch => {
                let schema = schema.clone().ok_or(RowsetError::BeforeSchema { what: "record batch" })?;
                let batch = message.header_as_record_batch().ok_or(RowsetError::EmptyRecordBatchMessage)?;
                batches.push(
                    ::arrow::ipc::reader::read_record_batch(&body, batch, schema, &dictionaries, None, &version)
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

/// Whether every value of column `index` of Arrow batches fits an i64 at scale 0 (only a
/// Decimal128 column can hold more).
pub(super) fn fixed_fits_i64(batches: &[RecordBatch], index: usize) -> Result<bool, RowsetError> {
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
    Ok(true)
}

pub(super) fn convert_arrow(
    column: &Column,
    target: Target,
    field: &Field,
    array: &ArrayRef,
) -> Result<ArrayRef, RowsetError> {
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

fn scale_of(field: &Field, column: &Column) -> i64 {
    field.metadata().get("scale").and_then(|s| s.parse().ok()).or(column.scale).unwrap_or(0)
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
            ns.as_primitive::<::arrow::datatypes::TimestampNanosecondType>().iter().collect()
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
    let strict = ::arrow::compute::CastOptions { safe: false, ..Default::default() };
    ::arrow::compute::cast_with_options(array, to, &strict).map_err(|e| RowsetError::Cast {
        from: array.data_type().clone(),
        to: to.clone(),
        source: e,
    })
}

#[cfg(test)]
#[allow(clippy::disallowed_types)] // arrow's Field::with_metadata takes a std HashMap
mod tests {
    use super::*;
    use crate::rowset::tests::{TS, column, columns, fakesnow};
    use crate::rowset::{Part, to_arrow};
    use ::arrow::array::{Int16Array, Int32Array, Int64Array};
    use ::arrow::datatypes::{Fields, TimestampNanosecondType};
    use base64::Engine as _;
    use std::collections::HashMap;

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
        let batch = ::arrow::compute::concat_batches(&schema, &batches).unwrap();
        // The UTC column is checked by value: printing a named time zone needs arrow's
        // chrono-tz feature, which this crate alone does not enable.
        let tz = batch.column(8).as_primitive::<TimestampNanosecondType>();
        assert_eq!(tz.value(0), 1_616_943_600_500_000_000);
        assert!(tz.is_null(1));
        let text = ::arrow::util::pretty::pretty_format_batches(&[batch.project(&[0, 1, 2, 3, 4, 5, 6, 7]).unwrap()])
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
        let big = ::arrow::array::Decimal128Array::from(vec![Some(i128::from(i64::MAX) + 1), None])
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
        assert_eq!(b.column(1).as_primitive::<::arrow::datatypes::Time64NanosecondType>().value(0), 49_530_123_000_000);
        assert_eq!(b.column(2).as_primitive::<TimestampNanosecondType>().value(0), TS);
        assert_eq!(b.column(3).as_primitive::<TimestampNanosecondType>().value(0), 1_616_943_600_500_000_000);
        assert_eq!(b.column(4).as_primitive::<Decimal128Type>().value(0), i128::from(i64::MAX) + 1);
    }
}
