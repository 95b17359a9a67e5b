//! Values bound to `?` placeholders, in Snowflake's binding format:
//! `{"1": {"type": "FIXED", "value": "42"}, ...}` (snowflake-connector-python
//! `converter.py` `*_to_snowflake_bindings`, gosnowflake `bindings.go`).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};

/// A value for a `?` placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Binding {
    /// `FIXED`: an integer.
    Fixed(i64),
    /// `FIXED` from decimal text such as `"12.34"` (exact; no float rounding).
    Decimal(String),
    /// `REAL`.
    Real(f64),
    /// `TEXT`.
    Text(String),
    /// `BOOLEAN`.
    Boolean(bool),
    /// `DATE`.
    Date(NaiveDate),
    /// `TIME`.
    Time(NaiveTime),
    /// `TIMESTAMP_NTZ`.
    TimestampNtz(NaiveDateTime),
    /// `TIMESTAMP_LTZ`: an instant.
    TimestampLtz(DateTime<Utc>),
    /// `TIMESTAMP_TZ`: an instant with its offset.
    TimestampTz(DateTime<FixedOffset>),
    /// `BINARY`.
    Binary(Vec<u8>),
    /// SQL NULL of a type (`BindingType::Any` lets Snowflake infer it, as the Python
    /// connector binds `None`).
    Null(BindingType),
}

/// The type of a NULL binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingType {
    Any,
    Fixed,
    Real,
    Text,
    Boolean,
    Date,
    Time,
    TimestampNtz,
    TimestampLtz,
    TimestampTz,
    Binary,
}

impl BindingType {
    pub fn name(self) -> &'static str {
        match self {
            BindingType::Any => "ANY",
            BindingType::Fixed => "FIXED",
            BindingType::Real => "REAL",
            BindingType::Text => "TEXT",
            BindingType::Boolean => "BOOLEAN",
            BindingType::Date => "DATE",
            BindingType::Time => "TIME",
            BindingType::TimestampNtz => "TIMESTAMP_NTZ",
            BindingType::TimestampLtz => "TIMESTAMP_LTZ",
            BindingType::TimestampTz => "TIMESTAMP_TZ",
            BindingType::Binary => "BINARY",
        }
    }
}

fn epoch_nanos(at: NaiveDateTime) -> String {
    let utc = at.and_utc();
    (i128::from(utc.timestamp()) * 1_000_000_000 + i128::from(utc.timestamp_subsec_nanos())).to_string()
}

impl Binding {
    pub fn binding_type(&self) -> BindingType {
        match self {
            Binding::Fixed(_) | Binding::Decimal(_) => BindingType::Fixed,
            Binding::Real(_) => BindingType::Real,
            Binding::Text(_) => BindingType::Text,
            Binding::Boolean(_) => BindingType::Boolean,
            Binding::Date(_) => BindingType::Date,
            Binding::Time(_) => BindingType::Time,
            Binding::TimestampNtz(_) => BindingType::TimestampNtz,
            Binding::TimestampLtz(_) => BindingType::TimestampLtz,
            Binding::TimestampTz(_) => BindingType::TimestampTz,
            Binding::Binary(_) => BindingType::Binary,
            Binding::Null(t) => *t,
        }
    }

    /// The wire value: text, or null.
    fn value(&self) -> Option<String> {
        Some(match self {
            Binding::Fixed(v) => v.to_string(),
            Binding::Decimal(v) => v.clone(),
            Binding::Real(v) => format!("{v:?}"),
            Binding::Text(v) => v.clone(),
            Binding::Boolean(v) => v.to_string(),
            // milliseconds since the epoch of midnight UTC
            Binding::Date(d) => (d.and_time(NaiveTime::MIN).and_utc().timestamp() * 1000).to_string(),
            // nanoseconds since midnight
            Binding::Time(t) => {
                (i64::from(t.num_seconds_from_midnight()) * 1_000_000_000 + i64::from(t.nanosecond())).to_string()
            }
            Binding::TimestampNtz(at) => epoch_nanos(*at),
            Binding::TimestampLtz(at) => epoch_nanos(at.naive_utc()),
            // "<epoch nanoseconds> <offset minutes + 1440>"
            Binding::TimestampTz(at) => {
                format!("{} {}", epoch_nanos(at.naive_utc()), at.offset().local_minus_utc() / 60 + 1440)
            }
            Binding::Binary(bytes) => bytes.iter().map(|b| format!("{b:02X}")).collect(),
            Binding::Null(_) => return None,
        })
    }
}

/// The `bindings` object of a query-request.
pub(crate) fn to_json(bindings: &[Binding]) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> = bindings
        .iter()
        .enumerate()
        .map(|(i, b)| ((i + 1).to_string(), serde_json::json!({"type": b.binding_type().name(), "value": b.value()})))
        .collect();
    serde_json::Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_use_snowflake_types_and_text_values_keyed_by_position() {
        let date = NaiveDate::from_ymd_opt(2021, 3, 28).unwrap();
        let at = date.and_hms_nano_opt(15, 0, 0, 123_456_000).unwrap();
        let json = to_json(&[
            Binding::Fixed(42),
            Binding::Real(1.5),
            Binding::Text("Hamilton".into()),
            Binding::Boolean(true),
            Binding::Date(date),
            Binding::Time(NaiveTime::from_hms_nano_opt(13, 45, 30, 5).unwrap()),
            Binding::TimestampNtz(at),
            Binding::TimestampTz(at.and_utc().with_timezone(&FixedOffset::east_opt(3600).unwrap())),
            Binding::Binary(vec![0xde, 0xad]),
            Binding::Null(BindingType::Any),
        ]);
        assert_eq!(
            json,
            serde_json::json!({
                "1": {"type": "FIXED", "value": "42"},
                "2": {"type": "REAL", "value": "1.5"},
                "3": {"type": "TEXT", "value": "Hamilton"},
                "4": {"type": "BOOLEAN", "value": "true"},
                "5": {"type": "DATE", "value": "1616889600000"},
                "6": {"type": "TIME", "value": "49530000000005"},
                "7": {"type": "TIMESTAMP_NTZ", "value": "1616943600123456000"},
                "8": {"type": "TIMESTAMP_TZ", "value": "1616943600123456000 1500"},
                "9": {"type": "BINARY", "value": "DEAD"},
                "10": {"type": "ANY", "value": null},
            })
        );
    }
}
