//! The benchmark's results: per scale, for each of pitwall's three builds (clean, no-op,
//! one-model edit) and each peer's full run, the samples, their median wall time and
//! highest peak RSS, and the ratios against each peer; printed as a table, saved as JSON
//! and Markdown.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::measure::Sample;
use super::reuse::{Build, NodeCounts};

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

/// pitwall's build against one peer: the peer's median time and highest peak RSS over
/// pitwall's. Above 1, pitwall is faster or needs less memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Ratios {
    pub(crate) time: f64,
    pub(crate) rss: f64,
}

impl Ratios {
    fn new(peer: &Tool, pitwall: &Tool) -> Ratios {
        Ratios {
            time: peer.median_seconds / pitwall.median_seconds,
            rss: peer.max_peak_rss_kib as f64 / pitwall.max_peak_rss_kib.max(1) as f64,
        }
    }
}

/// One of a scale's three builds: pitwall's samples and the reuse counts of each timed
/// round, with the ratios against each peer's full run (a DuckDB user has no state to
/// reuse, so re-runs everything for any change: every row is compared with the same runs).
#[derive(Debug)]
pub(crate) struct BuildRow {
    pub(crate) build: Build,
    pub(crate) pitwall: Tool,
    /// Per timed round, from its run_results.json.
    pub(crate) counts: Vec<NodeCounts>,
    /// Against each peer, in the order of [`ScaleResult::peers`].
    pub(crate) ratios: Vec<Ratios>,
}

impl BuildRow {
    pub(crate) fn new(build: Build, pitwall: Tool, counts: Vec<NodeCounts>, peers: &[PeerRuns]) -> BuildRow {
        let ratios = peers.iter().map(|peer| Ratios::new(&peer.tool, &pitwall)).collect();
        BuildRow { build, pitwall, counts, ratios }
    }

    fn to_json(&self, peers: &[PeerRuns]) -> Value {
        let ratios: Vec<Value> = peers
            .iter()
            .zip(&self.ratios)
            .map(|(peer, r)| json!({ "peer": peer.label, "time_ratio": r.time, "rss_ratio": r.rss }))
            .collect();
        json!({
            "build": self.build.key(),
            "pitwall": self.pitwall.to_json(),
            "counts": self.counts.iter().map(|c| c.to_json()).collect::<Vec<_>>(),
            "ratios": ratios,
        })
    }
}

/// A peer's timed full runs at one scale.
#[derive(Debug)]
pub(crate) struct PeerRuns {
    /// How the table names the peer: `DuckDB 2.0.0 idiomatic`.
    pub(crate) label: String,
    pub(crate) tool: Tool,
    /// The peer's own time per timed run, without Python's start and duckdb's import.
    pub(crate) in_process_seconds: Vec<f64>,
}

impl PeerRuns {
    fn to_json(&self) -> Value {
        let mut value = self.tool.to_json();
        value["peer"] = json!(self.label);
        value["in_process_seconds"] = json!(self.in_process_seconds);
        value
    }
}

#[derive(Debug)]
pub(crate) struct ScaleResult {
    pub(crate) scale: u32,
    /// Size of the scale's CSV files.
    pub(crate) input_bytes: u64,
    /// Clean, no-op and one-model edit, in that order.
    pub(crate) builds: Vec<BuildRow>,
    /// Each peer's full runs, the target peer first.
    pub(crate) peers: Vec<PeerRuns>,
    /// Relations whose row counts were compared with each peer's (all equal, or the run failed).
    pub(crate) rows_checked: usize,
}

impl ScaleResult {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "scale": self.scale,
            "input_bytes": self.input_bytes,
            "builds": self.builds.iter().map(|b| b.to_json(&self.peers)).collect::<Vec<_>>(),
            "peers": self.peers.iter().map(PeerRuns::to_json).collect::<Vec<_>>(),
            "rows_checked": self.rows_checked,
        })
    }
}

/// A peer's samples at one scale, gathered round by round.
pub(crate) struct PeerSamples {
    pub(crate) label: String,
    pub(crate) samples: Vec<Sample>,
    pub(crate) in_process_seconds: Vec<f64>,
}

/// What a scale's timed rounds measured, gathered round by round.
pub(crate) struct ScaleSamples {
    /// Per build of [`Build::ALL`].
    pub(crate) pitwall: [Vec<Sample>; 3],
    pub(crate) counts: [Vec<NodeCounts>; 3],
    /// Per peer, in the bench's order.
    pub(crate) peers: Vec<PeerSamples>,
}

impl ScaleSamples {
    /// No samples yet, for the peers named `labels`.
    pub(crate) fn new(labels: impl IntoIterator<Item = String>) -> ScaleSamples {
        let peers = labels
            .into_iter()
            .map(|label| PeerSamples { label, samples: Vec::new(), in_process_seconds: Vec::new() })
            .collect();
        ScaleSamples { pitwall: Default::default(), counts: Default::default(), peers }
    }

    pub(crate) fn into_result(self, scale: u32, input_bytes: u64, rows_checked: usize) -> ScaleResult {
        let peers: Vec<PeerRuns> = self
            .peers
            .into_iter()
            .map(|p| PeerRuns { label: p.label, tool: Tool::new(p.samples), in_process_seconds: p.in_process_seconds })
            .collect();
        let builds = Build::ALL
            .into_iter()
            .zip(self.pitwall)
            .zip(self.counts)
            .map(|((build, samples), counts)| BuildRow::new(build, Tool::new(samples), counts, &peers))
            .collect();
        ScaleResult { scale, input_bytes, builds, peers, rows_checked }
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

/// pitwall's columns; each peer's follow ([`peer_columns`]).
const PITWALL_COLUMNS: [&str; 7] =
    ["scale", "build", "input", "pitwall", "pitwall peak RSS", "models reused / built", "tests reused / run"];

/// A peer's four columns: its full run (headed by its name, which the next three share),
/// its peak RSS and pitwall's ratios against it.
fn peer_columns(label: &str) -> [String; 4] {
    [format!("{label} full run"), "peak RSS".into(), "time ratio".into(), "RSS ratio".into()]
}

/// The header of the results table: pitwall's columns, then each peer's.
fn columns(results: &[ScaleResult]) -> Vec<String> {
    let peers = results.first().map_or(&[][..], |r| &r.peers[..]);
    let pitwall = PITWALL_COLUMNS.iter().map(|&c| c.to_owned());
    pitwall.chain(peers.iter().flat_map(|p| peer_columns(&p.label))).collect()
}

/// `reused / not` of each round's counts, once per distinct value (rounds agree unless
/// something changed between them).
fn counts_cell(counts: &[NodeCounts], reused_and_not: fn(&NodeCounts) -> (usize, usize)) -> String {
    let mut cells: Vec<String> = Vec::new();
    for (reused, not) in counts.iter().map(reused_and_not) {
        let cell = format!("{reused} / {not}");
        if !cells.contains(&cell) {
            cells.push(cell);
        }
    }
    cells.join(", ")
}

fn rows(results: &[ScaleResult]) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for r in results {
        for b in &r.builds {
            let mut row = vec![
                format!("x{}", r.scale),
                b.build.label().to_owned(),
                megabytes(r.input_bytes),
                seconds(b.pitwall.median_seconds),
                mib(b.pitwall.max_peak_rss_kib),
                counts_cell(&b.counts, |c| (c.models_reused, c.models_built)),
                counts_cell(&b.counts, |c| (c.tests_reused, c.tests_run)),
            ];
            for (peer, ratios) in r.peers.iter().zip(&b.ratios) {
                row.push(seconds(peer.tool.median_seconds));
                row.push(mib(peer.tool.max_peak_rss_kib));
                row.push(format!("{:.2}x", ratios.time));
                row.push(format!("{:.2}x", ratios.rss));
            }
            rows.push(row);
        }
    }
    rows
}

/// The columns that label a row (scale and build), left-aligned; the others are numbers.
const LABEL_COLUMNS: usize = 2;

/// The results as an aligned plain-text table.
pub(crate) fn text_table(results: &[ScaleResult]) -> String {
    aligned_with_labels(&columns(results), &rows(results), LABEL_COLUMNS)
}

/// The results as a Markdown table, `caption` above it.
pub(crate) fn markdown(results: &[ScaleResult], caption: &str) -> String {
    format!("{caption}\n\n{}", markdown_table_with_labels(&columns(results), &rows(results), LABEL_COLUMNS))
}

/// Fixed-width rows as the tables' `String` rows.
fn owned<const N: usize>(columns: &[&str; N], rows: &[[String; N]]) -> (Vec<String>, Vec<Vec<String>>) {
    (columns.iter().map(|&c| c.to_owned()).collect(), rows.iter().map(|r| r.to_vec()).collect())
}

/// `rows` under `columns` as plain text, each column as wide as its widest cell: the
/// first (a row's label) left-aligned, the others (numbers) right-aligned.
pub(crate) fn aligned<const N: usize>(columns: &[&str; N], rows: &[[String; N]]) -> String {
    let (columns, rows) = owned(columns, rows);
    aligned_with_labels(&columns, &rows, 1)
}

/// `aligned`, with the first `labels` columns left-aligned.
/// Every row has as many cells as `columns`.
fn aligned_with_labels(columns: &[String], rows: &[Vec<String>], labels: usize) -> String {
    let widths: Vec<usize> = (0..columns.len())
        .map(|i| rows.iter().map(|r| r[i].len()).chain([columns[i].len()]).max().unwrap_or(0))
        .collect();
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, &width))| if i < labels { format!("{cell:<width$}") } else { format!("{cell:>width$}") })
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut text = line(columns);
    for row in rows {
        text.push('\n');
        text.push_str(&line(row));
    }
    text
}

/// `rows` under `columns` as a Markdown table, the first column left-aligned.
pub(crate) fn markdown_table<const N: usize>(columns: &[&str; N], rows: &[[String; N]]) -> String {
    let (columns, rows) = owned(columns, rows);
    markdown_table_with_labels(&columns, &rows, 1)
}

/// `markdown_table`, with the first `labels` columns left-aligned.
fn markdown_table_with_labels(columns: &[String], rows: &[Vec<String>], labels: usize) -> String {
    let mut text = format!("| {} |\n|", columns.join(" | "));
    text.push_str(&(0..columns.len()).map(|i| if i < labels { "---|" } else { "---:|" }).collect::<String>());
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

    fn counts(models: (usize, usize), tests: (usize, usize)) -> NodeCounts {
        NodeCounts { models_reused: models.0, models_built: models.1, tests_reused: tests.0, tests_run: tests.1 }
    }

    /// A scale whose peer A took 1 s and 300 MiB, peer B 2 s and 50 MiB, pitwall's three
    /// builds `seconds` and 100 MiB.
    fn scale_result(seconds: [f64; 3]) -> ScaleResult {
        let mut samples = ScaleSamples::new(["A".to_owned(), "B".to_owned()]);
        let reuse = [counts((0, 21), (0, 17)), counts((21, 0), (17, 0)), counts((19, 2), (15, 2))];
        for (index, (s, c)) in seconds.into_iter().zip(reuse).enumerate() {
            samples.pitwall[index].push(sample(s, 100 * 1024));
            samples.counts[index].push(c);
        }
        for (peer, (s, rss)) in samples.peers.iter_mut().zip([(1.0, 300), (2.0, 50)]) {
            peer.samples.push(sample(s, rss * 1024));
            peer.in_process_seconds.push(s - 0.1);
        }
        samples.into_result(10, 180_000_000, 23)
    }

    #[test]
    fn every_rows_ratios_are_each_peers_full_run_over_that_pitwall_build() {
        let result = scale_result([0.5, 0.1, 0.25]);
        let ratios: Vec<Vec<(f64, f64)>> =
            result.builds.iter().map(|b| b.ratios.iter().map(|r| (r.time, r.rss)).collect()).collect();
        assert_eq!(ratios, [[(2.0, 3.0), (4.0, 0.5)], [(10.0, 3.0), (20.0, 0.5)], [(4.0, 3.0), (8.0, 0.5)]]);
        assert_eq!(
            text_table(&[result]),
            "scale  build            input  pitwall  pitwall peak RSS  models reused / built  tests reused / run  \
             A full run  peak RSS  time ratio  RSS ratio  B full run  peak RSS  time ratio  RSS ratio\n\
             x10    clean           180 MB   0.50 s           100 MiB                 0 / 21              0 / 17  \
             \x20   1.00 s   300 MiB       2.00x      3.00x      2.00 s    50 MiB       4.00x      0.50x\n\
             x10    no-op           180 MB   0.10 s           100 MiB                 21 / 0              17 / 0  \
             \x20   1.00 s   300 MiB      10.00x      3.00x      2.00 s    50 MiB      20.00x      0.50x\n\
             x10    one-model edit  180 MB   0.25 s           100 MiB                 19 / 2              15 / 2  \
             \x20   1.00 s   300 MiB       4.00x      3.00x      2.00 s    50 MiB       8.00x      0.50x"
        );
    }

    #[test]
    fn the_json_names_each_peer_and_its_ratios() {
        let json = scale_result([0.5, 0.1, 0.25]).to_json();
        assert_eq!(json["peers"][1]["peer"], "B");
        assert_eq!(json["peers"][1]["median_seconds"], 2.0);
        assert_eq!(json["peers"][0]["in_process_seconds"], json!([0.9]));
        assert_eq!(json["builds"][1]["ratios"][1], json!({ "peer": "B", "time_ratio": 20.0, "rss_ratio": 0.5 }));
    }

    #[test]
    fn rounds_that_disagree_show_each_count() {
        let same = [counts((21, 0), (17, 0)), counts((21, 0), (17, 0))];
        assert_eq!(counts_cell(&same, |c| (c.models_reused, c.models_built)), "21 / 0");
        let different = [counts((21, 0), (17, 0)), counts((20, 1), (17, 0))];
        assert_eq!(counts_cell(&different, |c| (c.models_reused, c.models_built)), "21 / 0, 20 / 1");
    }

    #[test]
    fn markdown_has_the_caption_a_header_and_three_rows_per_scale() {
        assert_eq!(
            markdown(&[scale_result([12.0, 0.1, 0.25])], "Caption."),
            "Caption.\n\n\
             | scale | build | input | pitwall | pitwall peak RSS | models reused / built | tests reused / run \
             | A full run | peak RSS | time ratio | RSS ratio | B full run | peak RSS | time ratio | RSS ratio |\n\
             |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n\
             | x10 | clean | 180 MB | 12.0 s | 100 MiB | 0 / 21 | 0 / 17 \
             | 1.00 s | 300 MiB | 0.08x | 3.00x | 2.00 s | 50 MiB | 0.17x | 0.50x |\n\
             | x10 | no-op | 180 MB | 0.10 s | 100 MiB | 21 / 0 | 17 / 0 \
             | 1.00 s | 300 MiB | 10.00x | 3.00x | 2.00 s | 50 MiB | 20.00x | 0.50x |\n\
             | x10 | one-model edit | 180 MB | 0.25 s | 100 MiB | 19 / 2 | 15 / 2 \
             | 1.00 s | 300 MiB | 4.00x | 3.00x | 2.00 s | 50 MiB | 8.00x | 0.50x |\n"
        );
    }

    #[test]
    fn utc_timestamps_follow_the_calendar() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_796_074_205), "2026-11-30T21:30:05Z");
    }
}
