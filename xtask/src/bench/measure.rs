//! Running one timed child: wall time from spawn to exit, and its peak resident set size
//! as the kernel reports it to `wait4` (`ru_maxrss`).

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// One timed run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Sample {
    pub(crate) seconds: f64,
    pub(crate) peak_rss_kib: u64,
}

impl Sample {
    pub(crate) fn to_json(self) -> serde_json::Value {
        serde_json::json!({ "seconds": self.seconds, "peak_rss_kib": self.peak_rss_kib })
    }
}

/// Runs `command` with its stdout and stderr into `log`, and measures it. A failure (a
/// non-zero exit or a signal) is an error quoting the command and the end of its log.
pub(crate) fn measure(command: &mut Command, log: &Path) -> Result<Sample> {
    measure_into(command, log, true)
}

/// Like `measure`, with the child's stdout discarded and only its stderr in `log`: for a
/// command whose output is its result (a listing, compiled SQL), which the harness checks
/// once untimed rather than writing it to a file on every timed run.
pub(crate) fn measure_quiet(command: &mut Command, log: &Path) -> Result<Sample> {
    measure_into(command, log, false)
}

fn measure_into(command: &mut Command, log: &Path, keep_stdout: bool) -> Result<Sample> {
    let file = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    let stdout = if keep_stdout { Stdio::from(file.try_clone()?) } else { Stdio::null() };
    command.stdin(Stdio::null()).stdout(stdout).stderr(file);
    let started = Instant::now();
    let child = command.spawn().with_context(|| format!("cannot start {command:?}"))?;
    let (status, peak_rss_kib) = wait(child)?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(problem) = status {
        bail!("{command:?} {problem}; the end of its output ({}):\n{}", log.display(), tail(log, 25));
    }
    Ok(Sample { seconds, peak_rss_kib })
}

/// The last `lines` lines of a log file.
pub(crate) fn tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read(log).map(|bytes| String::from_utf8_lossy(&bytes).into_owned()).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Reaps `child` with `wait4`: what went wrong (None on exit code 0) and its peak RSS in KiB.
#[cfg(unix)]
fn wait(child: std::process::Child) -> Result<(Option<String>, u64)> {
    let pid = libc::pid_t::try_from(child.id()).context("child pid out of range")?;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our own unreaped child (std never waits for it: `child` is only
        // dropped), and both pointers are to live locals.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error).context("wait4");
        }
    }
    drop(child);
    // Linux reports KiB, macOS bytes.
    let max_rss = u64::try_from(usage.ru_maxrss).unwrap_or(0);
    let kib = if cfg!(target_os = "macos") { max_rss / 1024 } else { max_rss };
    let problem = if libc::WIFEXITED(status) {
        let code = libc::WEXITSTATUS(status);
        (code != 0).then(|| format!("failed with exit code {code}"))
    } else if libc::WIFSIGNALED(status) {
        Some(format!("was killed by signal {}", libc::WTERMSIG(status)))
    } else {
        Some(format!("ended with wait status {status}"))
    };
    Ok((problem, kib))
}

#[cfg(not(unix))]
fn wait(_child: std::process::Child) -> Result<(Option<String>, u64)> {
    bail!("the benchmark measures peak RSS with wait4, which needs a Unix")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_is_timed_and_its_peak_rss_measured() {
        let log = std::env::temp_dir().join(format!("xtask-measure-{}.log", std::process::id()));
        let sample = measure(Command::new("sh").args(["-c", "sleep 0.2; echo hello"]), &log).unwrap();
        assert!(sample.seconds >= 0.2, "{sample:?}");
        assert!(sample.peak_rss_kib > 0, "{sample:?}");
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "hello\n");
        std::fs::remove_file(log).unwrap();
    }

    #[test]
    fn a_quiet_measure_keeps_stderr_only() {
        let log = std::env::temp_dir().join(format!("xtask-measure-quiet-{}.log", std::process::id()));
        measure_quiet(Command::new("sh").args(["-c", "echo result; echo note >&2"]), &log).unwrap();
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "note\n");
        std::fs::remove_file(log).unwrap();
    }

    #[test]
    fn a_failing_child_is_an_error_quoting_the_end_of_its_output() {
        let log = std::env::temp_dir().join(format!("xtask-measure-fail-{}.log", std::process::id()));
        let error = measure(Command::new("sh").args(["-c", "echo first; echo it broke >&2; exit 3"]), &log)
            .unwrap_err()
            .to_string();
        assert!(error.contains("failed with exit code 3"), "{error}");
        assert!(error.ends_with("first\nit broke"), "{error}");
        std::fs::remove_file(log).unwrap();
    }
}
