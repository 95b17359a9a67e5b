//! `--memory-limit` and `--spill-dir`: their parsing and the [`Resources`] they make.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use pitwall_core::resources::Resources;

/// The share of physical memory the query operators may hold without `--memory-limit`.
pub const DEFAULT_FRACTION: f64 = 0.5;

/// A `--memory-limit` as written: a size, a fraction of physical memory, or none.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MemoryLimit {
    Bytes(u64),
    /// Of physical memory, in (0, 1].
    Fraction(f64),
    None,
}

impl MemoryLimit {
    /// The limit in bytes; `None` for no limit, or for a fraction where physical memory
    /// cannot be read (only Linux's /proc/meminfo is).
    pub fn bytes(self) -> Option<usize> {
        match self {
            MemoryLimit::Bytes(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            MemoryLimit::Fraction(f) => physical_memory().map(|total| (total as f64 * f) as usize),
            MemoryLimit::None => None,
        }
    }
}

/// `--memory-limit`'s value parser: `4GiB`, `512MiB`, `1.5G`, `2GB` (decimal units), `800000B`,
/// `0.5` or `50%` (of physical memory), `none`.
pub fn parse_memory_limit(text: &str) -> std::result::Result<MemoryLimit, String> {
    const UNITS: &[(&str, f64)] = &[
        ("kib", 1024.0),
        ("mib", 1024.0 * 1024.0),
        ("gib", 1024.0 * 1024.0 * 1024.0),
        ("tib", 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("kb", 1e3),
        ("mb", 1e6),
        ("gb", 1e9),
        ("tb", 1e12),
        ("k", 1024.0),
        ("m", 1024.0 * 1024.0),
        ("g", 1024.0 * 1024.0 * 1024.0),
        ("t", 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("b", 1.0),
    ];
    let help = "expected a size (4GiB, 512MiB, 2GB), a fraction of physical memory (0.5 or 50%), or none";
    let lower = text.trim().to_ascii_lowercase();
    if lower == "none" {
        return Ok(MemoryLimit::None);
    }
    let number = |s: &str| s.trim().parse::<f64>().ok().filter(|n| n.is_finite() && *n >= 0.0);
    let fraction = |f: f64| match f > 0.0 && f <= 1.0 {
        true => Ok(MemoryLimit::Fraction(f)),
        false => Err("a fraction of physical memory must be above 0 and at most 1 (100%); a size needs a unit \
                      (4GiB, 512MiB)"
            .to_owned()),
    };
    if let Some(percent) = lower.strip_suffix('%') {
        return number(percent).map_or_else(|| Err(help.to_owned()), |p| fraction(p / 100.0));
    }
    if let Some((unit, factor)) = UNITS.iter().find(|(unit, _)| lower.ends_with(unit)) {
        let Some(n) = number(&lower[..lower.len() - unit.len()]) else {
            return Err(help.to_owned());
        };
        let bytes = (n * factor).round();
        return match bytes >= 1.0 && bytes < u64::MAX as f64 {
            true => Ok(MemoryLimit::Bytes(bytes as u64)),
            false => Err("a memory limit must be at least 1 byte (none for no limit)".to_owned()),
        };
    }
    match number(&lower) {
        Some(f) => fraction(f),
        None => Err(help.to_owned()),
    }
}

impl fmt::Display for MemoryLimit {
    /// As [`parse_memory_limit`] reads it back (a job's step gets it this way).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemoryLimit::Bytes(n) => write!(f, "{n}B"),
            MemoryLimit::Fraction(x) => write!(f, "{x}"),
            MemoryLimit::None => f.write_str("none"),
        }
    }
}

/// Total physical memory in bytes, from /proc/meminfo's `MemTotal`; `None` elsewhere.
pub fn physical_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    meminfo_total(&text)
}

fn meminfo_total(text: &str) -> Option<u64> {
    let line = text.lines().find_map(|l| l.strip_prefix("MemTotal:"))?;
    let kib = line.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()?;
    kib.checked_mul(1024)
}

/// The [`Resources`] of `--memory-limit` (default: half of physical memory, no limit where
/// that cannot be read) and `--spill-dir` (created if missing; default: the OS temp
/// folder).
pub fn resources(memory_limit: Option<MemoryLimit>, spill_dir: Option<&Path>) -> Result<Resources> {
    let memory_limit = memory_limit.unwrap_or(MemoryLimit::Fraction(DEFAULT_FRACTION)).bytes();
    let spill_dir = spill_dir.map(prepare_spill_dir).transpose()?;
    Ok(Resources { memory_limit, spill_dir })
}

fn prepare_spill_dir(dir: &Path) -> Result<PathBuf> {
    let what = || format!("--spill-dir {}", dir.display());
    if dir.exists() && !dir.is_dir() {
        bail!("{}: not a folder", what());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create the folder", what()))?;
    std::path::absolute(dir).with_context(what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_fractions_and_none_parse() {
        let cases = [
            ("4GiB", MemoryLimit::Bytes(4 << 30)),
            ("512MiB", MemoryLimit::Bytes(512 << 20)),
            ("512mib", MemoryLimit::Bytes(512 << 20)),
            ("1.5G", MemoryLimit::Bytes(3 << 29)),
            ("2GB", MemoryLimit::Bytes(2_000_000_000)),
            ("64 KiB", MemoryLimit::Bytes(64 << 10)),
            ("800000B", MemoryLimit::Bytes(800_000)),
            ("0.5", MemoryLimit::Fraction(0.5)),
            ("1", MemoryLimit::Fraction(1.0)),
            ("25%", MemoryLimit::Fraction(0.25)),
            ("None", MemoryLimit::None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_memory_limit(text), Ok(expected), "{text}");
            assert_eq!(parse_memory_limit(&expected.to_string()), Ok(expected), "{text} written back");
        }
    }

    #[test]
    fn bad_limits_say_what_is_expected() {
        for text in ["", "lots", "4XB", "GiB", "-1GiB", "0B", "0", "1.5", "150%", "NaN"] {
            let message = parse_memory_limit(text).unwrap_err();
            assert!(
                ["expected a size", "fraction", "at least 1 byte"].iter().any(|m| message.contains(m)),
                "{text}: {message}"
            );
        }
        assert!(parse_memory_limit("2").unwrap_err().contains("at most 1"));
    }

    #[test]
    fn physical_memory_comes_from_meminfo() {
        let text = "MemTotal:       24576000 kB\nMemFree:        17000000 kB\n";
        assert_eq!(meminfo_total(text), Some(24_576_000 * 1024));
        assert_eq!(meminfo_total("MemFree: 1 kB\n"), None);
        if cfg!(target_os = "linux") {
            assert!(physical_memory().is_some_and(|n| n > 0));
        }
    }

    #[test]
    fn the_default_is_half_of_physical_memory_and_the_spill_dir_is_made() {
        let dir = std::env::temp_dir().join(format!("pitwall-spill-dir-test-{}", std::process::id()));
        let spill = dir.join("spill/here");
        let resources = resources(None, Some(&spill)).unwrap();
        assert_eq!(resources.memory_limit, physical_memory().map(|n| (n as f64 * DEFAULT_FRACTION) as usize));
        assert!(spill.is_dir());
        assert_eq!(resources.spill_dir.as_deref(), Some(spill.as_path()));
        let file = dir.join("file");
        std::fs::write(&file, "x").unwrap();
        let error = super::resources(None, Some(&file)).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(error.starts_with("--spill-dir ") && error.ends_with("not a folder"), "{error}");
        assert_eq!(super::resources(Some(MemoryLimit::None), None).unwrap(), Resources::default());
    }
}
