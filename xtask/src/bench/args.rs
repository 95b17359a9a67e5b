//! `cargo xtask bench`'s options.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BenchArgs {
    pub(crate) scales: Vec<u32>,
    pub(crate) runs: u32,
    pub(crate) warmup: u32,
    /// An already built pitwall; otherwise the harness builds it in release.
    pub(crate) bin: Option<PathBuf>,
    /// The source data to scale up (default: the workspace's data/f1).
    pub(crate) source: Option<PathBuf>,
    /// Where pitwall runs, finding its pitwall.toml (default: the workspace root).
    pub(crate) project_dir: Option<PathBuf>,
    /// Given to every timed `pitwall build`, after the harness's own options.
    pub(crate) pitwall_args: Vec<String>,
}

impl Default for BenchArgs {
    fn default() -> Self {
        BenchArgs {
            scales: vec![1, 10, 100],
            runs: 3,
            warmup: 1,
            bin: None,
            source: None,
            project_dir: None,
            pitwall_args: Vec::new(),
        }
    }
}

/// What the command line asks for: a benchmark, or its help.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    Bench(BenchArgs),
    Help,
}

fn scales(text: &str) -> Result<Vec<u32>> {
    let mut scales = Vec::new();
    for part in text.split(',') {
        let scale: u32 = part.trim().parse().with_context(|| format!("--scale: '{part}' is not a whole number"))?;
        if scale == 0 {
            bail!("--scale: a scale is at least 1");
        }
        if !scales.contains(&scale) {
            scales.push(scale);
        }
    }
    Ok(scales)
}

fn count(option: &str, text: &str) -> Result<u32> {
    text.parse().with_context(|| format!("{option}: '{text}' is not a whole number"))
}

/// Parses the arguments after `bench`. Options take their value as the next argument or
/// after `=`; everything after `--` goes to pitwall.
pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Parsed> {
    let mut parsed = BenchArgs::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--" {
            parsed.pitwall_args.extend(args.by_ref());
            break;
        }
        if arg == "-h" || arg == "--help" {
            return Ok(Parsed::Help);
        }
        let (option, inline) = match arg.split_once('=') {
            Some((option, value)) if option.starts_with("--") => (option.to_owned(), Some(value.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || -> Result<String> {
            match inline.clone() {
                Some(value) => Ok(value),
                None => args.next().with_context(|| format!("{option} needs a value")),
            }
        };
        match option.as_str() {
            "--scale" => parsed.scales = scales(&value()?)?,
            "--runs" => {
                parsed.runs = count("--runs", &value()?)?;
                if parsed.runs == 0 {
                    bail!("--runs: at least 1");
                }
            }
            "--warmup" => parsed.warmup = count("--warmup", &value()?)?,
            "--bin" => parsed.bin = Some(PathBuf::from(value()?)),
            "--source" => parsed.source = Some(PathBuf::from(value()?)),
            "--project-dir" => parsed.project_dir = Some(PathBuf::from(value()?)),
            "--pitwall-arg" => parsed.pitwall_args.push(value()?),
            _ => bail!("bench: unknown option '{arg}'"),
        }
    }
    Ok(Parsed::Bench(parsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bench(args: &[&str]) -> Result<BenchArgs> {
        match parse(args.iter().map(|a| a.to_string()))? {
            Parsed::Bench(bench) => Ok(bench),
            Parsed::Help => bail!("help"),
        }
    }

    #[test]
    fn no_options_means_scales_1_10_100_three_runs_one_warmup() {
        assert_eq!(bench(&[]).unwrap(), BenchArgs::default());
        assert_eq!(BenchArgs::default().scales, [1, 10, 100]);
    }

    #[test]
    fn options_take_their_value_after_a_space_or_an_equals_sign() {
        let args = ["--scale", "1,10", "--runs=5", "--warmup", "0", "--bin=/x/pitwall", "--source", "d"];
        let parsed = bench(&[&args[..], &["--project-dir=p"]].concat()).unwrap();
        assert_eq!(parsed.scales, [1, 10]);
        assert_eq!(parsed.runs, 5);
        assert_eq!(parsed.warmup, 0);
        assert_eq!(parsed.bin, Some(PathBuf::from("/x/pitwall")));
        assert_eq!(parsed.source, Some(PathBuf::from("d")));
        assert_eq!(parsed.project_dir, Some(PathBuf::from("p")));
    }

    #[test]
    fn pitwall_args_come_from_pitwall_arg_options_then_everything_after_double_dash() {
        let parsed =
            bench(&["--pitwall-arg=--engine=ballista", "--runs", "1", "--", "--memory-limit", "1GiB", "--runs"])
                .unwrap();
        assert_eq!(parsed.pitwall_args, ["--engine=ballista", "--memory-limit", "1GiB", "--runs"]);
        assert_eq!(parsed.runs, 1);
    }

    #[test]
    fn duplicate_scales_run_once_in_the_order_given() {
        assert_eq!(bench(&["--scale", "10, 1,10"]).unwrap().scales, [10, 1]);
    }

    #[test]
    fn bad_values_and_unknown_options_are_errors_naming_them() {
        let error = |args: &[&str]| bench(args).unwrap_err().to_string();
        assert_eq!(error(&["--scale", "1,x"]), "--scale: 'x' is not a whole number");
        assert_eq!(error(&["--scale", "0"]), "--scale: a scale is at least 1");
        assert_eq!(error(&["--runs", "0"]), "--runs: at least 1");
        assert_eq!(error(&["--runs"]), "--runs needs a value");
        assert_eq!(error(&["--fast"]), "bench: unknown option '--fast'");
    }

    #[test]
    fn help_is_asked_with_h_or_help() {
        assert_eq!(parse(["--runs".into(), "2".into(), "-h".into()]).unwrap(), Parsed::Help);
        assert_eq!(parse(["--help".into()]).unwrap(), Parsed::Help);
    }
}
