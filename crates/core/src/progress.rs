//! Progress of long work on stderr: a live line on a terminal (indicatif), a plain line
//! every few seconds when stderr is not one (a CI log, a job's log), nothing with
//! `--quiet`. Work that ends before the first line is due prints nothing, so a short run
//! reads as it always did.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tokio::task::JoinHandle;

/// Seconds between plain progress lines when stderr is not a terminal (default 2).
pub const INTERVAL_ENV: &str = "PITWALL_PROGRESS_INTERVAL";
const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
/// A terminal's live line appears after this long, and is redrawn this often.
const TERMINAL_DELAY: Duration = Duration::from_secs(1);
const TERMINAL_REFRESH: Duration = Duration::from_millis(200);

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    Off,
    /// A live line, redrawn in place.
    Terminal,
    /// A line every this long.
    Lines(Duration),
}

static MODE: OnceLock<Mode> = OnceLock::new();

/// Chooses how progress shows, once per process, from the command line's `--quiet` and
/// whether stderr is a terminal. Without a call, progress shows as if not quiet.
pub fn init(quiet: bool) {
    let _ = MODE.set(choose(quiet));
}

fn mode() -> Mode {
    *MODE.get_or_init(|| choose(false))
}

fn choose(quiet: bool) -> Mode {
    if quiet {
        Mode::Off
    } else if std::io::stderr().is_terminal() {
        Mode::Terminal
    } else {
        Mode::Lines(interval(std::env::var(INTERVAL_ENV).ok().as_deref()))
    }
}

/// The plain lines' interval from [`INTERVAL_ENV`]'s value (seconds, fractions allowed);
/// the default for none or a value that is not a positive number.
fn interval(value: Option<&str>) -> Duration {
    value
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_INTERVAL)
}

/// Shows what `describe` says (when it says something) while the returned guard lives.
pub fn show(describe: impl Fn() -> Option<String> + Send + Sync + 'static) -> Progress {
    let bar = Arc::new(Mutex::new(None));
    let task = match mode() {
        Mode::Off => None,
        Mode::Lines(every) => Some(tokio::spawn(lines(every, describe))),
        Mode::Terminal => Some(tokio::spawn(live(describe, bar.clone()))),
    };
    Progress { task, bar }
}

async fn lines(every: Duration, describe: impl Fn() -> Option<String>) {
    loop {
        tokio::time::sleep(every).await;
        if let Some(line) = describe() {
            eprintln!("{line}");
        }
    }
}

async fn live(describe: impl Fn() -> Option<String>, bar: Arc<Mutex<Option<ProgressBar>>>) {
    tokio::time::sleep(TERMINAL_DELAY).await;
    let shown = ProgressBar::new_spinner();
    shown.set_style(
        ProgressStyle::with_template("{spinner} {wide_msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    *bar.lock().expect("not poisoned") = Some(shown.clone());
    loop {
        match describe() {
            Some(line) => shown.set_message(line),
            None => shown.set_message(""),
        }
        shown.tick();
        tokio::time::sleep(TERMINAL_REFRESH).await;
    }
}

/// Progress being shown; dropped, it stops and a terminal's line is cleared.
pub struct Progress {
    task: Option<JoinHandle<()>>,
    bar: Arc<Mutex<Option<ProgressBar>>>,
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
        if let Some(bar) = self.bar.lock().expect("not poisoned").take() {
            bar.finish_and_clear();
        }
    }
}

/// `1.2 GB`, `812 MB`, `64 KB`: a byte count for a progress line.
pub fn bytes(n: u64) -> String {
    match n {
        0..1_000_000 => format!("{} KB", n / 1000),
        1_000_000..1_000_000_000 => format!("{} MB", n / 1_000_000),
        _ => format!("{:.1} GB", n as f64 / 1e9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_is_read_in_seconds_and_a_bad_value_keeps_the_default() {
        assert_eq!(interval(Some("0.5")), Duration::from_millis(500));
        assert_eq!(interval(Some("3")), Duration::from_secs(3));
        for bad in [None, Some(""), Some("soon"), Some("-1"), Some("0"), Some("inf")] {
            assert_eq!(interval(bad), DEFAULT_INTERVAL, "{bad:?}");
        }
    }

    #[test]
    fn byte_counts_read_at_a_glance() {
        assert_eq!(bytes(64_000), "64 KB");
        assert_eq!(bytes(812_400_000), "812 MB");
        assert_eq!(bytes(1_972_000_000), "2.0 GB");
    }
}
