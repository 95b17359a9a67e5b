//! A source's `[sources.<name>]`: where its files are and COPY INTO's load options
//! (`ON_ERROR`, `MATCH_BY_COLUMN_NAME`), each bad value named with its line.

use super::file::SourceSection;
use crate::error::{Error, Result};
use crate::location::Location;

/// Where a source's files are read from, the warehouse schema its raw tables land in,
/// and how its files are loaded (COPY INTO's `ON_ERROR` and `MATCH_BY_COLUMN_NAME`).
#[derive(Clone, Debug)]
pub struct SourceLocation {
    pub location: Location,
    pub schema: String,
    pub on_error: OnError,
    pub match_by_column_name: MatchByColumnName,
}

/// COPY INTO's `ON_ERROR`: what a file with rejected records does to the load.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum OnError {
    /// Load every good record, report the rest (the workshop's `on_error = 'continue'`).
    #[default]
    Continue,
    /// Load nothing from a file with at least this many rejected records (`skip_file` is 1).
    SkipFile(u64),
    /// Load nothing from a file when at least this percentage of its records is rejected.
    SkipFilePercent(f64),
    /// Fail the whole load on the first rejected record, before the warehouse is touched.
    AbortStatement,
}

/// The values `on_error` accepts, for messages.
pub const ON_ERROR_VALUES: &str = "continue, skip_file, skip_file_<n>, skip_file_<n>%, abort_statement";

impl OnError {
    /// Parses COPY's spelling, case-insensitively: `continue`, `skip_file`, `skip_file_<n>`
    /// (n >= 1), `skip_file_<n>%` (0 < n <= 100), `abort_statement`.
    pub fn parse(text: &str) -> Option<OnError> {
        let lower = text.trim().to_ascii_lowercase();
        match lower.as_str() {
            "continue" => return Some(OnError::Continue),
            "skip_file" => return Some(OnError::SkipFile(1)),
            "abort_statement" => return Some(OnError::AbortStatement),
            _ => {}
        }
        let n = lower.strip_prefix("skip_file_")?;
        if let Some(percent) = n.strip_suffix('%') {
            let p: f64 = percent.parse().ok()?;
            return (p > 0.0 && p <= 100.0 && percent.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
                .then_some(OnError::SkipFilePercent(p));
        }
        let count: u64 = n.parse().ok()?;
        (count >= 1 && n.bytes().all(|b| b.is_ascii_digit())).then_some(OnError::SkipFile(count))
    }
}

impl std::fmt::Display for OnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OnError::Continue => f.write_str("continue"),
            OnError::SkipFile(1) => f.write_str("skip_file"),
            OnError::SkipFile(n) => write!(f, "skip_file_{n}"),
            OnError::SkipFilePercent(p) => write!(f, "skip_file_{p}%"),
            OnError::AbortStatement => f.write_str("abort_statement"),
        }
    }
}

/// COPY INTO's `MATCH_BY_COLUMN_NAME`: fields by position (`none`) or by header name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MatchByColumnName {
    #[default]
    None,
    CaseInsensitive,
}

/// The values `match_by_column_name` accepts, for messages.
pub const MATCH_BY_COLUMN_NAME_VALUES: &str = "none, case_insensitive";

impl MatchByColumnName {
    pub fn parse(text: &str) -> Option<MatchByColumnName> {
        match text.trim().to_ascii_lowercase().as_str() {
            "none" => Some(MatchByColumnName::None),
            "case_insensitive" => Some(MatchByColumnName::CaseInsensitive),
            _ => None,
        }
    }
}

/// The 1-based line of byte `offset` in `text` (a span toml reported).
pub(super) fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
}

/// Parses an optional `[sources.<name>]` option with `parse`, naming the file, the line
/// and the accepted values when it is wrong.
fn source_option<T: Default>(
    location: &str,
    text: &str,
    source: &str,
    key: &str,
    value: Option<&toml::Spanned<String>>,
    parse: fn(&str) -> Option<T>,
    accepted: &str,
) -> Result<T> {
    let Some(value) = value else { return Ok(T::default()) };
    parse(value.get_ref()).ok_or_else(|| {
        let line = line_at(text, value.span().start);
        Error::config(
            format!("{location}:{line}"),
            format!("[sources.{source}] {key} = '{}' is not valid (accepted: {accepted})", value.get_ref()),
        )
    })
}

/// A `[sources.<name>]` section read: its files at `files_at`, its schema (`raw` unless
/// set) and load options.
pub(super) fn source_location(
    location: &str,
    text: &str,
    name: &str,
    section: SourceSection,
    files_at: Location,
) -> Result<SourceLocation> {
    let on_error =
        source_option(location, text, name, "on_error", section.on_error.as_ref(), OnError::parse, ON_ERROR_VALUES)?;
    let match_by_column_name = source_option(
        location,
        text,
        name,
        "match_by_column_name",
        section.match_by_column_name.as_ref(),
        MatchByColumnName::parse,
        MATCH_BY_COLUMN_NAME_VALUES,
    )?;
    let schema = section.schema.unwrap_or_else(|| "raw".to_owned());
    Ok(SourceLocation { location: files_at, schema, on_error, match_by_column_name })
}
