//! Field conversions with COPY INTO's semantics. Each returns the reason a field is
//! rejected ([`ConvertError`]), worded for the load report.

use std::fmt;

use chrono::NaiveDate;

/// Why a field is rejected: the input data's fault, never the project's. It borrows the
/// field and is worded only when the load report takes it, so a rejection on this per-field
/// path allocates nothing. (Display is written by hand: the crate does not depend on
/// thiserror, and the truncation below needs a hand-written formatter anyway.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConvertError<'f> {
    /// Not an integer or decimal (for a `NUMBER` column) or a float (`FLOAT`).
    NotANumber(&'f str),
    /// A number too large for a `NUMBER(38,0)` held as an i64.
    OutOfRange(&'f str),
    /// Not a `YYYY-MM-DD` date, or an impossible one.
    NotADate(&'f str),
    /// The field's bytes are not UTF-8 (the text is not shown: it may not print).
    NotUtf8,
}

impl fmt::Display for ConvertError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ConvertError::NotANumber(text) => write!(f, "'{}' is not a number", Shown(text)),
            ConvertError::OutOfRange(text) => write!(f, "'{}' is out of the integer range", Shown(text)),
            ConvertError::NotADate(text) => write!(f, "'{}' is not a valid date (YYYY-MM-DD)", Shown(text)),
            ConvertError::NotUtf8 => f.write_str("the field is not valid UTF-8"),
        }
    }
}

impl std::error::Error for ConvertError<'_> {}

/// The field as quoted in a reason: at most 40 characters, so a runaway field (a lost
/// quote, a 10 MB blob) does not flood the report.
struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(40) {
            Some((end, _)) => write!(f, "{}…", &self.0[..end]),
            None => f.write_str(self.0),
        }
    }
}

/// `NUMBER(38,0)` from text: an integer, or a decimal rounded half away from zero
/// (`"0.5"` -> 1, `"-2.5"` -> -3), as Snowflake loads decimal text into a scale-0 column.
pub(crate) fn integer(text: &str) -> Result<i64, ConvertError<'_>> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if (whole.is_empty() && fraction.is_empty())
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(ConvertError::NotANumber(text));
    }
    let out_of_range = ConvertError::OutOfRange(text);
    let mut value: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| out_of_range)? };
    if fraction.as_bytes().first().is_some_and(|d| *d >= b'5') {
        value = value.checked_add(1).ok_or(out_of_range)?;
    }
    Ok(if negative { -value } else { value })
}

/// The most digits read without an overflow check: 10^18 - 1 fits an i64.
const PLAIN_DIGITS: usize = 18;

/// `NUMBER(38,0)` from a plain integer (an optional `-`, then 1 to 18 ASCII digits),
/// read from the bytes; `None` for anything else, which [`integer`] decides.
pub(crate) fn plain_integer(field: &[u8]) -> Option<i64> {
    let (negative, digits) = match field.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, field),
    };
    if digits.is_empty() || digits.len() > PLAIN_DIGITS {
        return None;
    }
    let mut value = 0i64;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(d - b'0');
    }
    Some(if negative { -value } else { value })
}

/// `DATE` from exactly `YYYY-MM-DD` in ASCII digits, read from the bytes; `None` for
/// anything else (an impossible date included), which [`date`] decides.
pub(crate) fn plain_date(field: &[u8]) -> Option<i32> {
    use chrono::Datelike;
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = *field else {
        return None;
    };
    let number =
        |digits: &[u8]| digits.iter().try_fold(0u32, |n, &d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')));
    let year = i32::try_from(number(&[y0, y1, y2, y3])?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, number(&[m0, m1])?, number(&[d0, d1])?)?;
    Some(date.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE)
}

/// `FLOAT` from text.
pub(crate) fn float(text: &str) -> Result<f64, ConvertError<'_>> {
    text.parse::<f64>().map_err(|_| ConvertError::NotANumber(text))
}

const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// `DATE` from `YYYY-MM-DD`, as days since 1970-01-01.
pub(crate) fn date(text: &str) -> Result<i32, ConvertError<'_>> {
    use chrono::Datelike;
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|d| d.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE)
        .map_err(|_| ConvertError::NotADate(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_text_rounds_half_away_from_zero() {
        assert_eq!(integer("0.5"), Ok(1));
        assert_eq!(integer("0.49"), Ok(0));
        assert_eq!(integer("2.5"), Ok(3));
        assert_eq!(integer("-2.5"), Ok(-3));
        assert_eq!(integer("-0.4"), Ok(0));
        assert_eq!(integer("18"), Ok(18));
        assert_eq!(integer(".5"), Ok(1));
    }

    #[test]
    fn non_numbers_and_overflow_are_rejected_with_the_text() {
        assert_eq!(integer("abc").unwrap_err().to_string(), "'abc' is not a number");
        assert!(integer("1e3").is_err());
        assert!(integer("-").is_err());
        assert!(integer(".").is_err());
        assert_eq!(
            integer("99999999999999999999").unwrap_err().to_string(),
            "'99999999999999999999' is out of the integer range"
        );
        assert!(float("x1").is_err());
        assert_eq!(float("144.968"), Ok(144.968));
        let blob = "9".repeat(10 << 20);
        let long = format!("x{blob}");
        assert_eq!(integer(&long).unwrap_err().to_string(), format!("'x{}…' is not a number", &blob[..39]));
    }

    #[test]
    fn plain_integers_and_dates_read_from_bytes_agree_with_the_general_path() {
        for text in ["0", "18", "-7", "007", "999999999999999999", "-999999999999999999"] {
            assert_eq!(plain_integer(text.as_bytes()), integer(text).ok(), "{text}");
        }
        // Left to the general path: signs, decimals, 19 digits and more, no digits.
        for text in ["+1", "2.5", "1000000000000000000", "-", "", "1e3", "١"] {
            assert_eq!(plain_integer(text.as_bytes()), None, "{text}");
        }
        for text in ["1970-01-01", "1985-01-07", "2020-02-29", "0001-01-01"] {
            assert_eq!(plain_date(text.as_bytes()), date(text).ok(), "{text}");
        }
        for text in ["2021-02-29", "2020-13-45", "2020-1-05", "20200105", "2020-01-05 "] {
            assert_eq!(plain_date(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn dates_are_days_since_the_unix_epoch_and_impossible_dates_are_rejected() {
        assert_eq!(date("1970-01-01"), Ok(0));
        assert_eq!(date("1985-01-07"), Ok(5485));
        assert_eq!(date("2020-13-45").unwrap_err().to_string(), "'2020-13-45' is not a valid date (YYYY-MM-DD)");
    }
}
