//! The options every binary takes, and a layer binary's `main`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, CommandFactory, FromArgMatches, Parser};
use pitwall_core::config::Overrides;
use pitwall_core::{Layer, Node, Plan, ProjectConfig, Source, SourceLoader};
use pitwall_project::Bindings;

use crate::execute::{Execution, execute};

/// Where the project is and where it reads and writes: the same for `pitwall` and for
/// every layer binary.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalOptions {
    /// Folder holding pitwall.toml [default: the nearest one from the current folder up]
    #[arg(long, global = true, env = "PITWALL_PROJECT_DIR", value_name = "DIR")]
    pub project_dir: Option<PathBuf>,

    /// The target to run against, a [targets.<name>] of pitwall.toml (dbt's --target): its
    /// warehouse, schema, model stage, source and storage options
    /// [default: default-target in pitwall.toml]
    #[arg(long, global = true, env = "PITWALL_TARGET", value_name = "NAME")]
    pub target: Option<String>,

    /// Where the source CSVs (plain or gzip) are read from: a folder, file:// or
    /// s3://bucket/prefix/ URL (credentials, region and endpoint from the AWS_* variables)
    /// [default: the target's source, else [sources.formula1] location, the bundled data/f1]
    #[arg(long, global = true, env = "PITWALL_SOURCE", value_name = "LOCATION")]
    pub source: Option<String>,

    /// Where artifacts (manifest.json, run_results.json, load_report.json, job runs) go: a
    /// folder or URL [default: target-path in pitwall.toml, or target]
    #[arg(long, global = true, env = "PITWALL_TARGET_PATH", value_name = "DIR")]
    pub target_path: Option<String>,

    /// The warehouse: a folder, file:// or s3:// URL [default: the target's warehouse, else
    /// <target-path>/warehouse]
    #[arg(long, global = true, env = "PITWALL_WAREHOUSE", value_name = "LOCATION")]
    pub warehouse: Option<String>,

    /// Where trained ML models are stored: a folder or URL [default: the target's
    /// model-stage, else <target-path>/model_stage]
    #[arg(long, global = true, env = "PITWALL_MODEL_STAGE", value_name = "LOCATION")]
    pub model_stage: Option<String>,

    /// Fail at once, naming the holder, when another pitwall process holds the warehouse
    /// (a build holds it alone, readers share it) instead of waiting for it
    #[arg(long, global = true, env = "PITWALL_NO_WAIT", value_parser = clap::builder::FalseyValueParser::new())]
    pub no_wait: bool,

    /// The query engine: local (DataFusion in this process), ballista (a Ballista
    /// scheduler and executor in this process) or df://HOST:PORT (the scheduler of a
    /// cluster of `pitwall cluster` processes); the Ballista ones need the `ballista`
    /// cargo feature [default: the target's engine, else local]
    #[arg(long, global = true, env = "PITWALL_ENGINE", value_name = "ENGINE")]
    pub engine: Option<String>,

    /// Memory the query operators of a run may hold together: a size (4GiB, 512MiB, 2GB),
    /// a fraction of physical memory (0.5, 50%) or none. Sorts, aggregates and windows
    /// that need more spill to --spill-dir; a hash join's build side cannot spill and
    /// fails naming the limit [default: 50% of physical memory on Linux, else none]
    #[arg(long, global = true, env = "PITWALL_MEMORY_LIMIT", value_name = "SIZE",
          value_parser = crate::resources::parse_memory_limit)]
    pub memory_limit: Option<crate::resources::MemoryLimit>,

    /// Values for var('name') in models and tests, as a YAML mapping (dbt's --vars:
    /// '{season: 2020, min_laps: 10}'); they beat [vars] of pitwall.toml key by key
    #[arg(long, global = true, value_name = "YAML")]
    pub vars: Option<String>,

    /// Folder for spill files (created if missing; each run uses, then removes, a
    /// datafusion-* folder in it) [default: the OS temp folder, $TMPDIR or /tmp]
    #[arg(long, global = true, env = "PITWALL_SPILL_DIR", value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,

    /// Show no progress of long work. Otherwise a load, a model running longer than 5 s
    /// and a long delivery to Snowflake show a live line on a terminal, or a line every 2 s
    /// in a log (PITWALL_PROGRESS_INTERVAL: seconds)
    #[arg(long, global = true, env = "PITWALL_QUIET", value_parser = clap::builder::FalseyValueParser::new())]
    pub quiet: bool,
}

impl GlobalOptions {
    /// The project these options point at, with the options beating its file.
    pub fn config(&self) -> Result<ProjectConfig> {
        // Every command reads its config first, once: the moment to choose how progress
        // shows for the whole process.
        pitwall_core::progress::init(self.quiet);
        let root = match &self.project_dir {
            Some(dir) => dir.clone(),
            None => ProjectConfig::discover(&std::env::current_dir()?)?,
        };
        let overrides = Overrides {
            target: self.target.clone(),
            source: self.source.clone(),
            target_path: self.target_path.clone(),
            warehouse: self.warehouse.clone(),
            model_stage: self.model_stage.clone(),
            engine: self.engine.clone(),
            vars: self.vars.clone(),
        };
        let mut config = ProjectConfig::load(&root, &overrides)?;
        config.resources = crate::resources::resources(self.memory_limit, self.spill_dir.as_deref())?;
        Ok(config)
    }
}

/// Sets up a binary's process: logging to stderr (`RUST_LOG`, default warn; the `log`
/// records of Ballista and object_store included), and a quiet end when stdout's reader
/// goes away, so `pitwall compile | head -1` ends as with the default SIGPIPE action
/// instead of panicking in `println!`. SIGPIPE itself stays ignored (Rust's default):
/// sockets written with `writev` (hyper's HTTP/2, the in-process Ballista servers)
/// raise it when the peer has closed, and that must be an error the client retries or
/// reports, not the death of the whole process.
pub fn init() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if is_stdout_broken_pipe(info) {
            // 128 + SIGPIPE: what the shell would have seen had the signal ended it.
            std::process::exit(141);
        }
        default_hook(info);
    }));
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
}

/// Whether a panic is `println!`'s on a closed stdout.
fn is_stdout_broken_pipe(info: &std::panic::PanicHookInfo<'_>) -> bool {
    let message = info
        .payload()
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| info.payload().downcast_ref::<&str>().copied())
        .unwrap_or_default();
    message.starts_with("failed printing to stdout") && message.contains("Broken pipe")
}

/// The exit code of a command: success, failure (a model or test failed; already
/// reported), or an error, printed with its causes.
pub fn exit_code(result: Result<bool>) -> ExitCode {
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {}", describe(&e));
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes, `: `-joined, each cause left out when the text so far
/// already says it (DataFusion and object_store errors repeat their source's message).
fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause);
        }
    }
    text
}

#[derive(Debug, Parser)]
#[command(version)]
struct LayerCli {
    #[command(flatten)]
    options: GlobalOptions,
}

/// The `main` of a layer's binary: runs that layer alone against the project's
/// warehouse, reading what it needs from outside the layer as the last build left it,
/// and loading the layer's source first if it has one.
pub fn layer_main(layer: &'static Layer) -> ExitCode {
    init();
    let command = LayerCli::command().name(layer.name).bin_name(layer.name).about(layer.about).long_about(format!(
        "{}\n\nRuns the {} layer alone against the warehouse, reading upstream relations as the last \
         build left them (pitwall build makes them). Takes the same options and PITWALL_* variables as pitwall.",
        layer.about, layer.name
    ));
    let cli = match LayerCli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    exit_code(runtime.block_on(run_layer(layer, &cli.options)))
}

/// What a layer binary runs once its options are parsed: the layer's models alone,
/// reading their upstream from the warehouse. Public so the orchestrator's suite runs a
/// layer on real raw tables without a binary of its own.
pub async fn run_layer(layer: &'static Layer, options: &GlobalOptions) -> Result<bool> {
    let config = options.config()?;
    // Read from disk like any run; models bound to Rust models of other layers are left
    // out, as this binary runs only its own layer's.
    let project = pitwall_project::load(config, &[layer], Bindings::Available)?;
    let nodes: Vec<Node> = project.nodes.iter().filter(|n| n.spec().layer() == layer.name).cloned().collect();
    let sources: Vec<(&Source, &SourceLoader)> =
        project.sources.iter().filter_map(|s| Some((&s.source, s.loader?))).collect();
    println!("{}", crate::execute::header(&project.config, None));
    println!("Running the {} layer alone: {} models against {}", layer.name, nodes.len(), project.config.warehouse);
    let execution = Execution {
        config: &project.config,
        dag: &project.dag,
        sources,
        plan: Plan::new(&project.dag, nodes, Vec::new(), false),
        store_failures: false,
        reports: layer.reports.iter().collect(),
        no_wait: options.no_wait,
        full_refresh: false,
        deferral: None,
    };
    execute(execution).await.result().await
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use pitwall_core::Location;

    use super::*;

    fn workspace() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn options_beat_the_project_file_and_relative_ones_start_at_its_root() {
        let cli = LayerCli::try_parse_from([
            "staging",
            "--project-dir",
            workspace().to_str().unwrap(),
            "--warehouse",
            "elsewhere/wh",
            "--source",
            "fixtures/f1_tiny",
        ])
        .unwrap();
        let config = cli.options.config().unwrap();
        let root = Location::local(workspace());
        assert_eq!(config.warehouse, root.join("elsewhere/wh"));
        assert_eq!(config.sources["formula1"].location, root.join("fixtures/f1_tiny"));
        assert_eq!(config.model_stage, root.join("target/model_stage"));
    }

    #[test]
    fn a_bad_memory_limit_is_refused_naming_the_option() {
        let error = LayerCli::try_parse_from(["staging", "--memory-limit", "lots"]).unwrap_err().to_string();
        assert!(error.contains("--memory-limit") && error.contains("'lots'"), "{error}");
        let cli = LayerCli::try_parse_from(["staging", "--memory-limit", "512MiB"]).unwrap();
        assert_eq!(cli.options.memory_limit, Some(crate::resources::MemoryLimit::Bytes(512 << 20)));
    }

    #[test]
    fn no_wait_is_a_flag_and_a_variable() {
        assert!(LayerCli::try_parse_from(["staging", "--no-wait"]).unwrap().options.no_wait);
        assert!(!LayerCli::try_parse_from(["staging"]).unwrap().options.no_wait);
    }

    #[test]
    fn an_error_is_described_once_with_each_cause_that_adds_something() {
        let inner = std::io::Error::other("Not a directory (os error 20)");
        let outer = anyhow::Error::new(std::io::Error::other(format!("Unable to open file /wh/x#1: {inner}")))
            .context("storing the raw tables in the warehouse");
        assert_eq!(
            describe(&outer),
            "storing the raw tables in the warehouse: Unable to open file /wh/x#1: Not a directory (os error 20)"
        );
        let chained = anyhow::anyhow!("cannot lock").context("not waiting");
        assert_eq!(describe(&chained), "not waiting: cannot lock");
    }

    #[test]
    fn a_folder_without_a_project_file_is_named() {
        let dir = std::env::temp_dir().join(format!("pitwall-no-project-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let options = GlobalOptions { project_dir: Some(dir.clone()), ..Default::default() };
        let err = format!("{:#}", options.config().unwrap_err());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(err.contains(&dir.join("pitwall.toml").display().to_string()), "{err}");
    }
}
