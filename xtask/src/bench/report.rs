//! The benchmark's results: per scale and tool the samples, their median wall time and
//! highest peak RSS, and the ratios; printed as a table, saved as JSON and Markdown.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::measure::Sample;

#[derive(Debug)]
pub(crate) struct Tool {
    pub(crate) samples: Vec<Sample>,
    pub(crate) median_seconds: f64,
    pub(crate) max_peak_rss_kib: u64,
}

impl Tool {
    pub(crate) fn new(samples: Vec<Sample>) -> Tool {
        let median_seconds = median(samples.iter().map(|s| s.seconds).collect());
        let max_peak_rss_kib = samples.iter().map(|s| s.peak_rss_kib).max().unwrap_or(0);
        Tool { samples, median_seconds, max_peak_rss_kib }
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({
            "median_seconds": self.median_seconds,
            "max_peak_rss_kib": self.max_peak_rss_kib,
            "samples": self.samples.iter().map(|s| s.to_json()).collect::<Vec<_>>(),
        })
    }
}

#[derive(Debug)]
pub(crate) struct ScaleResult {
    pub(crate) scale: u32,
    /// Size of the scale's CSV files.
    pub(crate) input_bytes: u64,
    pub(crate) pitwall: Tool,
    pub(crate) duckdb: Tool,
    /// The peer's own time per timed run, without Python's start and duckdb's import.
    pub(crate) duckdb_in_process_seconds: Vec<f64>,
    /// DuckDB's median time over pitwall's: above 1, pitwall is faster.
    pub(crate) time_ratio: f64,
    /// DuckDB's peak RSS over pitwall's: above 1, pitwall needs less memory.
    pub(crate) rss_ratio: f64,
    /// Relations whose row counts were compared (all equal, or the run failed).
    pub(crate) rows_checked: usize,
}

impl ScaleResult {
    pub(crate) fn new(
        scale: u32,
        input_bytes: u64,
        pitwall: Tool,
        duckdb: Tool,
        duckdb_in_process_seconds: Vec<f64>,
        rows_checked: usize,
    ) -> ScaleResult {
        let time_ratio = duckdb.median_seconds / pitwall.median_seconds;
        let rss_ratio = duckdb.max_peak_rss_kib as f64 / pitwall.max_peak_rss_kib.max(1) as f64;
        ScaleResult {
            scale,
            input_bytes,
            pitwall,
            duckdb,
            duckdb_in_process_seconds,
            time_ratio,
            rss_ratio,
            rows_checked,
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({
            "scale": self.scale,
            "input_bytes": self.input_bytes,
            "pitwall": self.pitwall.to_json(),
            "duckdb": self.duckdb.to_json(),
            "duckdb_in_process_seconds": self.duckdb_in_process_seconds,
            "time_ratio": self.time_ratio,
            "rss_ratio": self.rss_ratio,
            "rows_checked": self.rows_checked,
        })
    }
}

/// The middle value (the mean of the two middle ones for an even count).
pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 { values[middle] } else { (values[middle - 1] + values[middle]) / 2.0 }
}

pub(crate) fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

pub(crate) fn megabytes(bytes: u64) -> String {
    let mb = bytes as f64 / 1e6;
    if mb >= 100.0 { format!("{mb:.0} MB") } else { format!("{mb:.1} MB") }
}

fn seconds(value: f64) -> String {
    if value < 10.0 { format!("{value:.2} s") } else { format!("{value:.1} s") }
}

const COLUMNS: [&str; 8] =
    ["scale", "input", "pitwall", "pitwall peak RSS", "DuckDB", "DuckDB peak RSS", "time ratio", "RSS ratio"];

fn rows(results: &[ScaleResult]) -> Vec<[String; 8]> {
    results
        .iter()
        .map(|r| {
            [
                format!("x{}", r.scale),
                megabytes(r.input_bytes),
                seconds(r.pitwall.median_seconds),
                mib(r.pitwall.max_peak_rss_kib),
                seconds(r.duckdb.median_seconds),
                mib(r.duckdb.max_peak_rss_kib),
                format!("{:.2}x", r.time_ratio),
                format!("{:.2}x", r.rss_ratio),
            ]
        })
        .collect()
}

/// The results as an aligned plain-text table.
pub(crate) fn text_table(results: &[ScaleResult]) -> String {
    aligned(&COLUMNS, &rows(results))
}

/// The results as a Markdown table, `caption` above it.
pub(crate) fn markdown(results: &[ScaleResult], caption: &str) -> String {
    format!("{caption}\n\n{}", markdown_table(&COLUMNS, &rows(results)))
}

/// `rows` under `columns` as plain text, each column as wide as its widest cell: the
/// first (a row's label) left-aligned, the others (numbers) right-aligned.
pub(crate) fn aligned<const N: usize>(columns: &[&str; N], rows: &[[String; N]]) -> String {
    let widths: Vec<usize> =
        (0..N).map(|i| rows.iter().map(|r| r[i].len()).chain([columns[i].len()]).max().unwrap_or(0)).collect();
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, &width))| if i == 0 { format!("{cell:<width$}") } else { format!("{cell:>width$}") })
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut text = line(&columns.map(str::to_owned));
    for row in rows {
        text.push('\n');
        text.push_str(&line(row));
    }
    text
}

/// `rows` under `columns` as a Markdown table, the first column left-aligned.
pub(crate) fn markdown_table<const N: usize>(columns: &[&str; N], rows: &[[String; N]]) -> String {
    let mut text = format!("| {} |\n|", columns.join(" | "));
    text.push_str(&(0..N).map(|i| if i == 0 { "---|" } else { "---:|" }).collect::<String>());
    for row in rows {
        text.push_str(&format!("\n| {} |", row.join(" | ")));
    }
    text.push('\n');
    text
}

/// Now as an ISO 8601 UTC timestamp, `2026-11-30T20:15:00Z`.
pub(crate) fn now_utc() -> String {
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    utc(seconds)
}

/// Seconds since the Unix epoch as an ISO 8601 UTC timestamp (Howard Hinnant's
/// days-to-civil algorithm).
fn utc(seconds: u64) -> String {
    let days = i64::try_from(seconds / 86_400).unwrap_or(0);
    let of_day = seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", of_day / 3600, of_day % 3600 / 60, of_day % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seconds: f64, peak_rss_kib: u64) -> Sample {
        Sample { seconds, peak_rss_kib }
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(Vec::new()).is_nan());
    }

    #[test]
    fn a_tool_keeps_the_median_time_and_the_highest_peak_rss() {
        let tool = Tool::new(vec![sample(0.5, 300), sample(0.3, 900), sample(0.4, 100)]);
        assert_eq!(tool.median_seconds, 0.4);
        assert_eq!(tool.max_peak_rss_kib, 900);
    }

    #[test]
    fn ratios_are_duckdb_over_pitwall() {
        let pitwall = Tool::new(vec![sample(0.5, 100 * 1024)]);
        let duckdb = Tool::new(vec![sample(1.0, 300 * 1024)]);
        let result = ScaleResult::new(10, 180_000_000, pitwall, duckdb, vec![0.8], 23);
        assert_eq!(result.time_ratio, 2.0);
        assert_eq!(result.rss_ratio, 3.0);
        assert_eq!(
            text_table(&[result]),
            "scale   input  pitwall  pitwall peak RSS  DuckDB  DuckDB peak RSS  time ratio  RSS ratio\n\
             x10    180 MB   0.50 s           100 MiB  1.00 s          300 MiB       2.00x      3.00x"
        );
    }

    #[test]
    fn markdown_has_the_caption_a_header_and_a_row_per_scale() {
        let result = ScaleResult::new(
            1,
            18_000_000,
            Tool::new(vec![sample(12.0, 1024)]),
            Tool::new(vec![sample(6.0, 2048)]),
            vec![5.0],
            23,
        );
        assert_eq!(
            markdown(&[result], "Caption."),
            "Caption.\n\n\
             | scale | input | pitwall | pitwall peak RSS | DuckDB | DuckDB peak RSS | time ratio | RSS ratio |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|\n\
             | x1 | 18.0 MB | 12.0 s | 1 MiB | 6.00 s | 2 MiB | 0.50x | 2.00x |\n"
        );
    }

    #[test]
    fn utc_timestamps_follow_the_calendar() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_796_074_205), "2026-11-30T21:30:05Z");
    }
}
