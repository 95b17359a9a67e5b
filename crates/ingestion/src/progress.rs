//! A load's progress: bytes read and rows parsed per table, counted as they happen and
//! shown through `pitwall_core::progress` while the load runs (a large source from S3
//! can take minutes, which should not pass in silence).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use pitwall_core::progress::bytes;

/// One table's counts.
#[derive(Debug)]
pub(crate) struct TableCount {
    name: String,
    /// The file's size (compressed, for a gzip file: what is read).
    size: u64,
    read: AtomicU64,
    rows: AtomicU64,
}

impl TableCount {
    pub(crate) fn new(name: &str, size: u64) -> Arc<TableCount> {
        Arc::new(TableCount { name: name.to_owned(), size, read: AtomicU64::new(0), rows: AtomicU64::new(0) })
    }

    pub(crate) fn read(&self, n: usize) {
        self.read.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn parsed(&self, rows: usize) {
        self.rows.fetch_add(rows as u64, Ordering::Relaxed);
    }
}

/// A source's load, for its progress line.
#[derive(Debug)]
pub(crate) struct LoadProgress {
    source: String,
    started: Instant,
    pub(crate) tables: Vec<Arc<TableCount>>,
}

impl LoadProgress {
    pub(crate) fn new(source: &str, tables: Vec<Arc<TableCount>>) -> Arc<LoadProgress> {
        Arc::new(LoadProgress { source: source.to_owned(), started: Instant::now(), tables })
    }

    /// `Loading formula1: 812 MB of 2.0 GB (41%), 21300000 rows, 118 MB/s, about 10 s
    /// left; lap_times 38%, results 90%`: the tables still being read come last.
    pub(crate) fn describe(&self) -> String {
        let total: u64 = self.tables.iter().map(|t| t.size).sum();
        let read: u64 = self.tables.iter().map(|t| t.read.load(Ordering::Relaxed)).sum();
        let rows: u64 = self.tables.iter().map(|t| t.rows.load(Ordering::Relaxed)).sum();
        let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = read as f64 / seconds;
        let left = if rate > 0.0 {
            format!(", about {:.0} s left", (total - read.min(total)) as f64 / rate)
        } else {
            String::new()
        };
        let reading: Vec<String> = self
            .tables
            .iter()
            .filter(|t| t.read.load(Ordering::Relaxed) < t.size)
            .map(|t| format!("{} {}%", t.name, percent(t.read.load(Ordering::Relaxed), t.size)))
            .collect();
        format!(
            "Loading {}: {} of {} ({}%), {rows} rows, {:.0} MB/s{left}; {}",
            self.source,
            bytes(read),
            bytes(total),
            percent(read, total),
            rate / 1e6,
            if reading.is_empty() { "storing the last tables".to_owned() } else { reading.join(", ") }
        )
    }
}

fn percent(part: u64, whole: u64) -> u64 {
    (part.min(whole) * 100).checked_div(whole).unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_how_far_the_load_is_and_which_tables_are_still_read() {
        let (laps, races) = (TableCount::new("lap_times", 2_000_000_000), TableCount::new("races", 100_000));
        let load = LoadProgress::new("formula1", vec![laps.clone(), races.clone()]);
        laps.read(500_000_000);
        laps.parsed(1_234);
        races.read(100_000);
        let line = load.describe();
        assert!(line.starts_with("Loading formula1: 500 MB of 2.0 GB (25%), 1234 rows, "), "{line}");
        assert!(line.ends_with("; lap_times 25%"), "{line}");
    }
}
