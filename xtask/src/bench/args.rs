//! `cargo xtask bench`'s options.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

/// The most models of a generated project: names have five digits (m99999) and folders
/// three (f999).
pub(crate) const MAX_MODELS: u32 = 100_000;

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

/// The options of `bench --project-models N`, the parse-speed benchmark.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ProjectArgs {
    /// SQL models in the generated project.
    pub(crate) models: u32,
    pub(crate) runs: u32,
    pub(crate) warmup: u32,
    pub(crate) bin: Option<PathBuf>,
}

/// What the command line asks for: the data-scale benchmark, the parse-speed one, or
/// the help.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    Bench(BenchArgs),
    Project(ProjectArgs),
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

fn project_models(text: &str) -> Result<u32> {
    let models = count("--project-models", text)?;
    if !(1..=MAX_MODELS).contains(&models) {
        bail!("--project-models: from 1 to {MAX_MODELS} models");
    }
    Ok(models)
}

/// Parses the arguments after `bench`. Options take their value as the next argument or
/// after `=`; everything after `--` goes to pitwall. `--project-models` picks the
/// parse-speed benchmark, which takes only `--runs`, `--warmup` and `--bin`.
pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Parsed> {
    let mut parsed = BenchArgs::default();
    let mut models = None;
    // The first option given that only the data-scale benchmark takes.
    let mut data_only = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--" {
            parsed.pitwall_args.extend(args.by_ref());
            if !parsed.pitwall_args.is_empty() {
                data_only.get_or_insert_with(|| "--".to_owned());
            }
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
        if ["--scale", "--source", "--project-dir", "--pitwall-arg"].contains(&option.as_str()) {
            data_only.get_or_insert_with(|| option.clone());
        }
        match option.as_str() {
            "--project-models" => models = Some(project_models(&value()?)?),
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
    let Some(models) = models else { return Ok(Parsed::Bench(parsed)) };
    if let Some(option) = data_only {
        bail!("--project-models: {option} is for the data-scale benchmark, which --project-models does not run");
    }
    let BenchArgs { runs, warmup, bin, .. } = parsed;
    Ok(Parsed::Project(ProjectArgs { models, runs, warmup, bin }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bench(args: &[&str]) -> Result<BenchArgs> {
        match parse(args.iter().map(|a| a.to_string()))? {
            Parsed::Bench(bench) => Ok(bench),
            other => bail!("not the data-scale benchmark: {other:?}"),
        }
    }

    fn project(args: &[&str]) -> Result<ProjectArgs> {
        match parse(args.iter().map(|a| a.to_string()))? {
            Parsed::Project(project) => Ok(project),
            other => bail!("not the parse-speed benchmark: {other:?}"),
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
    fn project_models_picks_the_parse_benchmark_with_runs_warmup_and_bin() {
        assert_eq!(
            project(&["--project-models", "250"]).unwrap(),
            ProjectArgs { models: 250, runs: 3, warmup: 1, bin: None }
        );
        let parsed = project(&["--runs=5", "--project-models=1000", "--bin", "/x/pitwall", "--warmup=2"]).unwrap();
        assert_eq!(parsed, ProjectArgs { models: 1000, runs: 5, warmup: 2, bin: Some(PathBuf::from("/x/pitwall")) });
    }

    #[test]
    fn project_models_is_from_1_to_the_most_the_generator_names() {
        assert_eq!(project(&["--project-models", "1"]).unwrap().models, 1);
        assert_eq!(project(&["--project-models", &MAX_MODELS.to_string()]).unwrap().models, MAX_MODELS);
        let error = |args: &[&str]| project(args).unwrap_err().to_string();
        assert_eq!(error(&["--project-models", "0"]), "--project-models: from 1 to 100000 models");
        assert_eq!(error(&["--project-models", "100001"]), "--project-models: from 1 to 100000 models");
        assert_eq!(error(&["--project-models", "-3"]), "--project-models: '-3' is not a whole number");
        assert_eq!(error(&["--project-models"]), "--project-models needs a value");
    }

    #[test]
    fn project_models_refuses_the_options_of_the_data_scale_benchmark() {
        let error = |args: &[&str]| project(args).unwrap_err().to_string();
        let refused = |option: &str| {
            format!("--project-models: {option} is for the data-scale benchmark, which --project-models does not run")
        };
        assert_eq!(error(&["--project-models", "9", "--scale", "1"]), refused("--scale"));
        assert_eq!(error(&["--source=d", "--project-models", "9"]), refused("--source"));
        assert_eq!(error(&["--project-models", "9", "--project-dir", "p"]), refused("--project-dir"));
        assert_eq!(error(&["--project-models", "9", "--pitwall-arg=-x"]), refused("--pitwall-arg"));
        assert_eq!(error(&["--project-models", "9", "--", "-x"]), refused("--"));
        assert_eq!(project(&["--project-models", "9", "--"]).unwrap().models, 9, "an empty -- passes nothing");
    }

    #[test]
    fn help_is_asked_with_h_or_help() {
        assert_eq!(parse(["--runs".into(), "2".into(), "-h".into()]).unwrap(), Parsed::Help);
        assert_eq!(parse(["--help".into()]).unwrap(), Parsed::Help);
    }
}
