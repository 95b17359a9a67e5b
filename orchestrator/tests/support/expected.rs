//! Compares exported model tables with the expected ones in `data/expected/f1`, as data:
//! a port of the project's shared `compare_expected.py`, so the parity tests need no
//! Python and judge exactly as that tool does.
//!
//! The expected table is `<expected_dir>/<model>.csv.gz` (gzip, as the repository ships
//! it), the actual one `<actual_dir>/<model>.csv`. Row order, column order and the case
//! of column names do not matter; every expected column must be in the actual table
//! (extra actual columns are noted, not failed). Values compare as data: empty, NULL,
//! NaN and None are null; true/false are 1/0; numbers compare after rounding to 9
//! significant digits (Python's `float(f"{x:.9g}")`), so 8, 8.0 and 8.000000001 are
//! equal; `2010-03-14 00:00:00` equals `2010-03-14` and `04:30:00.000` equals `04:30:00`.

#![allow(dead_code, unreachable_pub)]

// JSON values (the rows' cells) have no order, so rows are counted in a hash map; its
// order never reaches output (diagnostics list rows in file order).
#[allow(clippy::disallowed_types)]
use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;

const SIGNIFICANT_DIGITS: usize = 9;
/// Unmatched rows shown each way, and the characters shown of each, as the Python tool.
const SHOWN_ROWS: usize = 3;
const SHOWN_CHARS: usize = 400;

/// Compares one model; `Ok("model: OK N rows")`, or `Err` with the same diagnostics as
/// `compare_expected.py`: row counts and up to 3 unmatched rows each way.
pub fn compare_model(expected_dir: &Path, actual_dir: &Path, model: &str) -> Result<String, String> {
    let expected_path = expected_dir.join(format!("{model}.csv.gz"));
    let actual_path = actual_dir.join(format!("{model}.csv"));
    if !actual_path.exists() {
        return Err(format!("{model}: MISSING (no {})", actual_path.display()));
    }
    let expected_file =
        File::open(&expected_path).map_err(|e| format!("{model}: cannot open {}: {e}", expected_path.display()))?;
    let expected = read_table(MultiGzDecoder::new(expected_file), &expected_path)?;
    let actual_file =
        File::open(&actual_path).map_err(|e| format!("{model}: cannot open {}: {e}", actual_path.display()))?;
    let actual = read_table(actual_file, &actual_path)?;

    let missing: Vec<&String> = expected.header.iter().filter(|c| !actual.header.contains(c)).collect();
    if !missing.is_empty() {
        return Err(format!("{model}: MISSING COLUMNS {}", python_list(&missing)));
    }
    let extra: Vec<&String> = actual.header.iter().filter(|c| !expected.header.contains(c)).collect();
    // The first actual column of each expected name, as Python's list.index picks.
    let pick: Vec<usize> = expected.header.iter().filter_map(|c| actual.header.iter().position(|a| a == c)).collect();
    let mut picked_rows = Vec::with_capacity(actual.rows.len());
    for (i, row) in actual.rows.iter().enumerate() {
        let picked: Option<Vec<Value>> = pick.iter().map(|&p| row.get(p).cloned()).collect();
        let picked = picked.ok_or_else(|| {
            format!("{model}: {} data row {} has only {} fields", actual_path.display(), i + 1, row.len())
        })?;
        picked_rows.push(picked);
    }

    let expected_rows = Multiset::new(&expected.rows);
    let actual_rows = Multiset::new(&picked_rows);
    let only_expected = expected_rows.minus(&actual_rows);
    let only_actual = actual_rows.minus(&expected_rows);
    let note = if extra.is_empty() { String::new() } else { format!(" (extra columns: {})", python_list(&extra)) };
    if only_expected.is_empty() && only_actual.is_empty() {
        return Ok(format!("{model}: OK {} rows{note}", expected.rows.len()));
    }
    let unmatched = |rows: &[(&[Value], usize)]| rows.iter().map(|(_, surplus)| surplus).sum::<usize>();
    let mut lines = vec![format!(
        "{model}: DIFFERS expected {} rows, actual {}; {} expected rows unmatched, {} actual rows unmatched{note}",
        expected.rows.len(),
        actual.rows.len(),
        unmatched(&only_expected),
        unmatched(&only_actual),
    )];
    for (label, rows) in [("expected only", &only_expected), ("actual only", &only_actual)] {
        for (row, _) in rows.iter().take(SHOWN_ROWS) {
            let shown: Vec<String> =
                expected.header.iter().zip(row.iter()).map(|(column, value)| format!("{column}={value}")).collect();
            let shown: String = shown.join(", ").chars().take(SHOWN_CHARS).collect();
            lines.push(format!("    {label}: {shown}"));
        }
    }
    Err(lines.join("\n"))
}

/// Compares every model, prints one line each, and panics listing every model that differs.
pub fn assert_models_match(expected_dir: &Path, actual_dir: &Path, models: &[&str]) {
    let mut failures = Vec::new();
    for model in models {
        match compare_model(expected_dir, actual_dir, model) {
            Ok(line) => println!("{line}"),
            Err(diagnostics) => {
                println!("{diagnostics}");
                failures.push(diagnostics);
            }
        }
    }
    println!("{} of {} models match", models.len() - failures.len(), models.len());
    assert!(
        failures.is_empty(),
        "{} of {} models differ from {}:\n{}",
        failures.len(),
        models.len(),
        expected_dir.display(),
        failures.join("\n")
    );
}

/// The models that `expected_dir` has an expected table for, sorted (the Python tool's
/// default model list).
pub fn expected_models(expected_dir: &Path) -> Vec<String> {
    let entries =
        std::fs::read_dir(expected_dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", expected_dir.display()));
    let mut models: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.strip_suffix(".csv.gz").map(str::to_owned))
        .collect();
    models.sort();
    models
}

/// A field as the comparison sees it. Numbers are kept as bits so rows can be hashed;
/// they are never NaN (that is null) and -0.0 is stored as 0.0, which Python finds equal.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Value {
    Null,
    Number(u64),
    Text(String),
}

impl Value {
    fn canonical(field: &str) -> Value {
        if ["", "NULL", "NAN", "NONE"].iter().any(|null| field.eq_ignore_ascii_case(null)) {
            return Value::Null;
        }
        if field.eq_ignore_ascii_case("true") || field.eq_ignore_ascii_case("false") {
            return Value::number(if field.eq_ignore_ascii_case("true") { 1.0 } else { 0.0 });
        }
        match python_float(field) {
            Some(x) if x.is_nan() => Value::Null,
            Some(x) if x == 0.0 || x.is_infinite() => Value::number(x),
            Some(x) => Value::number(round_significant(x)),
            None => Value::Text(date_at_midnight(field).or_else(|| time_zero_fraction(field)).unwrap_or(field).into()),
        }
    }

    fn number(x: f64) -> Value {
        Value::Number(if x == 0.0 { 0.0_f64.to_bits() } else { x.to_bits() })
    }
}

/// Shown as the Python tool shows a value: numbers in Python's float repr, null as NULL.
impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Number(bits) => f.write_str(&python_repr(f64::from_bits(*bits))),
            Value::Text(text) => f.write_str(text),
        }
    }
}

/// Python's `float(f"{x:.9g}")`. Rust's `{:.8e}` keeps 9 significant digits with the same
/// correct rounding (half to even on the exact binary value), and reading it back gives
/// the same double.
fn round_significant(x: f64) -> f64 {
    let text = format!("{x:.prec$e}", prec = SIGNIFICANT_DIGITS - 1);
    text.parse().expect("Rust reads back its own exponent format")
}

/// What Python's `float()` accepts beyond Rust's `f64::from_str` in text that matters here:
/// surrounding whitespace, and underscores between digits (`1_000`).
fn python_float(text: &str) -> Option<f64> {
    let text = text.trim();
    if !text.contains('_') {
        return text.parse().ok();
    }
    let digit_at = |i: Option<usize>| i.and_then(|i| text.as_bytes().get(i)).is_some_and(u8::is_ascii_digit);
    let underscores_between_digits =
        text.match_indices('_').all(|(i, _)| digit_at(i.checked_sub(1)) && digit_at(Some(i + 1)));
    if !underscores_between_digits {
        return None;
    }
    text.replace('_', "").parse().ok()
}

/// Python's `repr(float)`: shortest round-trip digits, exponent form below 1e-4 and from 1e16.
fn python_repr(x: f64) -> String {
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    // `{:e}` gives the shortest round-trip digits: "-1.2345e-7", "0e0", "1e16".
    let scientific = format!("{x:e}");
    let (mantissa, exponent) = scientific.split_once('e').expect("`{:e}` always writes an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` writes an integer exponent");
    let (sign, mantissa) = mantissa.strip_prefix('-').map_or(("", mantissa), |m| ("-", m));
    if !(-4..16).contains(&exponent) {
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{mantissa}e{exponent_sign}{:02}", exponent.abs());
    }
    let digits = mantissa.replace('.', "");
    if exponent < 0 {
        return format!("{sign}0.{}{digits}", "0".repeat((-exponent - 1) as usize));
    }
    let point = exponent as usize + 1;
    if digits.len() <= point {
        format!("{sign}{digits}{}.0", "0".repeat(point - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..point], &digits[point..])
    }
}

/// `^(\d{4}-\d{2}-\d{2})[ T]00:00:00(\.0+)?$` → the date. Python's `$` also matches before
/// a final newline, so that is allowed too.
fn date_at_midnight(text: &str) -> Option<&str> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    let date = text.get(..10).filter(|date| has_shape(date, "dddd-dd-dd"))?;
    let time = text.get(10..)?.strip_prefix([' ', 'T'])?.strip_prefix("00:00:00")?;
    (time.is_empty() || is_zero_fraction(time)).then_some(date)
}

/// `^(\d{2}:\d{2}:\d{2})\.0+$` → the time without its fraction.
fn time_zero_fraction(text: &str) -> Option<&str> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    let time = text.get(..8).filter(|time| has_shape(time, "dd:dd:dd"))?;
    is_zero_fraction(text.get(8..)?).then_some(time)
}

/// `\.0+`
fn is_zero_fraction(text: &str) -> bool {
    text.strip_prefix('.').is_some_and(|zeros| !zeros.is_empty() && zeros.bytes().all(|b| b == b'0'))
}

/// Whether `text` matches `shape`, where `d` stands for an ASCII digit and anything else for itself.
fn has_shape(text: &str, shape: &str) -> bool {
    text.len() == shape.len()
        && text.bytes().zip(shape.bytes()).all(|(t, s)| if s == b'd' { t.is_ascii_digit() } else { t == s })
}

/// A Python-style list of names, as the tool prints missing and extra columns: `['a', 'b']`.
fn python_list(names: &[&String]) -> String {
    let quoted: Vec<String> =
        names.iter().map(|name| format!("'{}'", name.replace('\\', "\\\\").replace('\'', "\\'"))).collect();
    format!("[{}]", quoted.join(", "))
}

struct Table {
    /// Trimmed and lowercased, as the comparison ignores the case of column names.
    header: Vec<String>,
    /// Every field of every data row, ragged rows kept as they are.
    rows: Vec<Vec<Value>>,
}

fn read_table(reader: impl Read, path: &Path) -> Result<Table, String> {
    let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(reader);
    let mut records = csv.records();
    let header = match records.next() {
        None => return Err(format!("{}: empty file", path.display())),
        Some(record) => record.map_err(|e| format!("{}: {e}", path.display()))?,
    };
    let header = header.iter().map(|name| name.trim().to_lowercase()).collect();
    let rows = records
        .map(|record| {
            let record = record.map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(record.iter().map(Value::canonical).collect())
        })
        .collect::<Result<_, String>>()?;
    Ok(Table { header, rows })
}

/// Rows with their multiplicity, remembering where each was first seen so diagnostics
/// list unmatched rows in file order, as Python's Counter does.
#[allow(clippy::disallowed_types)]
struct Multiset<'a> {
    counts: HashMap<&'a [Value], (usize, usize)>,
}

#[allow(clippy::disallowed_types)]
impl<'a> Multiset<'a> {
    fn new(rows: &'a [Vec<Value>]) -> Self {
        let mut counts: HashMap<&[Value], (usize, usize)> = HashMap::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            counts.entry(row.as_slice()).or_insert((i, 0)).1 += 1;
        }
        Multiset { counts }
    }

    /// The rows this set has more of than `other`, with how many more, in first-seen order.
    fn minus(&self, other: &Multiset<'_>) -> Vec<(&'a [Value], usize)> {
        let mut surplus: Vec<(usize, &'a [Value], usize)> = self
            .counts
            .iter()
            .filter_map(|(row, &(first, count))| {
                let theirs = other.counts.get(row).map_or(0, |&(_, count)| count);
                (count > theirs).then(|| (first, *row, count - theirs))
            })
            .collect();
        surplus.sort_unstable_by_key(|&(first, _, _)| first);
        surplus.into_iter().map(|(_, row, more)| (row, more)).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::{Compression, write::GzEncoder};

    use super::*;

    /// Writes `expected` as `<model>.csv.gz` and `actual` as `<model>.csv`, then compares.
    fn compare(expected: &str, actual: &str) -> Result<String, String> {
        let dir = tempfile::tempdir().unwrap();
        let mut encoder = GzEncoder::new(File::create(dir.path().join("m.csv.gz")).unwrap(), Compression::fast());
        encoder.write_all(expected.as_bytes()).unwrap();
        encoder.finish().unwrap();
        std::fs::write(dir.path().join("m.csv"), actual).unwrap();
        compare_model(dir.path(), dir.path(), "m")
    }

    #[test]
    fn numbers_equal_to_nine_significant_digits() {
        assert_eq!(compare("a\n8\n", "a\n8.0\n").unwrap(), "m: OK 1 rows");
        assert_eq!(compare("a\n8\n", "a\n8.000000001\n").unwrap(), "m: OK 1 rows");
        assert_eq!(compare("a\n1.23456789\n", "a\n1.234567891\n").unwrap(), "m: OK 1 rows");
        assert!(compare("a\n1.2345678\n", "a\n1.2345679\n").is_err());
    }

    #[test]
    fn rounding_matches_python() {
        // Left: x; right: Python's float(f"{x:.9g}"), ties rounding half to even.
        for (x, python) in [
            (1234567895.0, 1234567900.0),
            (1234567885.0, 1234567880.0),
            (0.1 + 0.2, 0.3),
            (8.000000005, 8.00000001),
            (8.0000000049, 8.0),
            (-987654321.5, -987654322.0),
            (5e-324, 5e-324),
            (0.000123456789123, 0.000123456789),
        ] {
            assert_eq!(round_significant(x), python, "{x}");
        }
    }

    #[test]
    fn values_read_as_python_float_reads_them() {
        for (text, python) in
            [(" 8 ", Some(8.0)), ("1_000", Some(1000.0)), ("+.5", Some(0.5)), ("-iNF", Some(f64::NEG_INFINITY))]
        {
            assert_eq!(python_float(text), python, "{text}");
        }
        for text in ["1__0", "_1", "1_", "0x10", "1e", "."] {
            assert_eq!(python_float(text), None, "{text}");
        }
    }

    #[test]
    fn numbers_shown_as_python_repr() {
        for (x, python) in [
            (1.0, "1.0"),
            (26.898, "26.898"),
            (1e-4, "0.0001"),
            (1e-5, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.23456789e17, "1.23456789e+17"),
            (-987654322.0, "-987654322.0"),
            (0.000123456789, "0.000123456789"),
            (-0.0, "-0.0"),
            (1e300, "1e+300"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(python_repr(x), python);
        }
    }

    #[test]
    fn row_and_column_order_and_header_case_are_ignored() {
        let expected = "id,name\n1,a\n2,b\n2,b\n";
        let actual = " NAME ,ID\nb,2\na,1\nb,2\n";
        assert_eq!(compare(expected, actual).unwrap(), "m: OK 3 rows");
    }

    #[test]
    fn duplicates_count() {
        let error = compare("id\n1\n1\n", "id\n1\n").unwrap_err();
        assert!(error.contains("1 expected rows unmatched, 0 actual rows unmatched"), "{error}");
    }

    #[test]
    fn differing_value_fails_naming_model_and_rows() {
        let error = compare("id,lap\n1,8.5\n2,9\n", "id,lap\n1,8.5\n2,9.25\n").unwrap_err();
        assert_eq!(
            error,
            "m: DIFFERS expected 2 rows, actual 2; 1 expected rows unmatched, 1 actual rows unmatched\n    \
             expected only: id=2.0, lap=9.0\n    actual only: id=2.0, lap=9.25"
        );
    }

    #[test]
    fn nulls_and_booleans() {
        let expected = "a,b,c,d,e\n,NULL,nan,None,true\n";
        let actual = "a,b,c,d,e\nnull,,NaN,none,1\n";
        assert!(compare(expected, actual).is_ok());
        let error = compare("a\nFALSE\n", "a\n\n").unwrap_err();
        assert!(error.contains("expected only: a=0.0"), "{error}");
    }

    #[test]
    fn date_at_midnight_and_time_with_zero_fraction() {
        let expected = "d,t\n2010-03-14,04:30:00\n";
        assert!(compare(expected, "d,t\n2010-03-14 00:00:00.000,04:30:00.000\n").is_ok());
        assert!(compare(expected, "d,t\n2010-03-14T00:00:00,04:30:00\n").is_ok());
        assert!(compare(expected, "d,t\n2010-03-14 00:00:01,04:30:00\n").is_err());
        assert!(compare(expected, "d,t\n2010-03-14,04:30:00.5\n").is_err());
    }

    #[test]
    fn missing_column_fails_extra_column_is_noted() {
        assert_eq!(compare("a,b\n1,2\n", "a\n1\n").unwrap_err(), "m: MISSING COLUMNS ['b']");
        assert_eq!(compare("a\n1\n", "a,b\n1,2\n").unwrap(), "m: OK 1 rows (extra columns: ['b'])");
    }

    #[test]
    fn missing_actual_file_fails() {
        let dir = tempfile::tempdir().unwrap();
        let error = compare_model(dir.path(), dir.path(), "m").unwrap_err();
        assert!(error.starts_with("m: MISSING (no "), "{error}");
    }

    #[test]
    #[should_panic(expected = "1 of 2 models differ")]
    fn assert_models_match_panics_on_a_difference() {
        let dir = tempfile::tempdir().unwrap();
        for (model, expected, actual) in [("good", "a\n1\n", "a\n1\n"), ("bad", "a\n1\n", "a\n2\n")] {
            let mut encoder =
                GzEncoder::new(File::create(dir.path().join(format!("{model}.csv.gz"))).unwrap(), Compression::fast());
            encoder.write_all(expected.as_bytes()).unwrap();
            encoder.finish().unwrap();
            std::fs::write(dir.path().join(format!("{model}.csv")), actual).unwrap();
        }
        assert_eq!(expected_models(dir.path()), ["bad", "good"]);
        assert_models_match(dir.path(), dir.path(), &["good", "bad"]);
    }
}
