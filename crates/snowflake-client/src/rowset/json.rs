//! JSON rowsets (`rowset` and JSON chunks): rows of strings: FIXED as decimal text, DATE as
//! days since the epoch, TIME and TIMESTAMP as seconds with a fraction (TIMESTAMP_TZ
//! followed by ` <offset minutes + 1440>`), BOOLEAN as `1`/`0` or `TRUE`/`FALSE`, BINARY as
//! hex (snowflake-connector-python `converter.py`). Parsed here into arrays of the standard
//! types of the parent module's mapping.

use std::sync::Arc;

use ::arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder, Int64Builder,
    PrimitiveArray, PrimitiveBuilder, StringBuilder, Time64NanosecondBuilder, TimestampNanosecondBuilder,
};
use ::arrow::datatypes::ArrowPrimitiveType;

use super::{Column, JsonRows, RowsetError, Target};

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

/// Whether every cell of column `index` of JSON rows is an integer that fits an i64; a
/// cell that is not an integer is an error.
pub(super) fn fixed_fits_i64(column: &Column, index: usize, rows: &[Vec<Option<String>>]) -> Result<bool, RowsetError> {
    for text in rows.iter().filter_map(|row| row[index].as_deref()) {
        let value = parse_decimal(text, 0)
            .ok_or_else(|| RowsetError::NotInteger { column: column.name.clone(), text: text.to_owned() })?;
        if i64::try_from(value).is_err() {
            return Ok(false);
        }
    }
    Ok(true)
}

pub(super) fn convert_json<'a>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rowset::tests::{TS, column};
    use crate::rowset::{Part, to_arrow};
    use ::arrow::array::{Array, AsArray, StringArray};
    use ::arrow::datatypes::{DataType, Decimal128Type, Int64Type, TimeUnit, TimestampNanosecondType};

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
        assert_eq!(b.column(2).as_primitive::<::arrow::datatypes::Float64Type>().value(0), 1.5);
        assert_eq!(b.column(3).as_any().downcast_ref::<StringArray>().unwrap().value(0), "Hamilton");
        assert_eq!(b.column(4).as_primitive::<::arrow::datatypes::Date32Type>().values().to_vec(), vec![18714, 0]);
        assert!(b.column(5).as_boolean().value(0) && !b.column(5).as_boolean().value(1));
        assert_eq!(b.column(6).as_primitive::<::arrow::datatypes::Time64NanosecondType>().value(0), 49_530_123_456_000);
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
}
