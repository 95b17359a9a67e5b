//! The `pitwall` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use pitwall_core::config::Overrides;

use crate::commands;

/// pitwall: the Formula 1 analytics and machine-learning pipeline of the dbt + Snowflake
/// workshop as one Rust program: raw CSVs -> staging -> intermediate -> marts -> ML
/// training and prediction, built into an embedded local warehouse with dbt's commands
/// and habits.
#[derive(Debug, Parser)]
#[command(name = "pitwall", version, propagate_version = true)]
pub struct Cli {
    /// Folder holding pitwall.toml [default: the nearest one from the current folder up]
    #[arg(long, global = true, env = "PITWALL_PROJECT_DIR", value_name = "DIR")]
    pub project_dir: Option<PathBuf>,

    /// Where the source CSVs are read from: a folder or file:// URL (read through
    /// object_store; s3:// is not enabled in this build)
    /// [default: [sources.formula1] location in pitwall.toml]
    #[arg(long, global = true, env = "PITWALL_SOURCE", value_name = "LOCATION")]
    pub source: Option<String>,

    /// Where artifacts (manifest.json, run_results.json, load_report.json) go
    /// [default: target-path in pitwall.toml, or target]
    #[arg(long, global = true, env = "PITWALL_TARGET_PATH", value_name = "DIR")]
    pub target_path: Option<String>,

    /// The warehouse location [default: <target-path>/warehouse]
    #[arg(long, global = true, env = "PITWALL_WAREHOUSE", value_name = "LOCATION")]
    pub warehouse: Option<String>,

    /// Where trained ML models are stored [default: <target-path>/model_stage]
    #[arg(long, global = true, env = "PITWALL_MODEL_STAGE", value_name = "LOCATION")]
    pub model_stage: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone, Default)]
pub struct Selection {
    /// Nodes to include: names, folder paths (staging, marts.core), tag:NAME,
    /// path:DIR, source:NAME, config.materialized:KIND, graph operators (+x, x+, 2+x,
    /// x+1, @x); space-separated = union, comma = intersection
    #[arg(short, long, num_args = 1.., value_name = "SELECTOR")]
    pub select: Vec<String>,

    /// Nodes to leave out, in the same syntax
    #[arg(long, num_args = 1.., value_name = "SELECTOR")]
    pub exclude: Vec<String>,

    /// Which tests a selection of models brings along: eager (any parent selected),
    /// cautious (all parents selected) or empty (only tests selected themselves)
    /// [default: eager for test and build, empty for ls]
    #[arg(long, value_enum, value_name = "MODE")]
    pub indirect_selection: Option<IndirectSelection>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IndirectSelection {
    Eager,
    Cautious,
    Empty,
}

#[derive(Debug, Args, Clone, Default)]
pub struct TestArgs {
    #[command(flatten)]
    pub selection: Selection,

    /// Keep each test's failing rows as a table in the <schema>_dbt_test__audit schema
    #[arg(long)]
    pub store_failures: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResourceType {
    Model,
    Source,
    Test,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LsOutput {
    /// project.folder.name, as dbt ls prints by default
    Selector,
    /// bare names
    Name,
    /// the file each node is defined in
    Path,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the selected models into the warehouse (loading the sources they read)
    Run(Selection),
    /// Run the selected data tests against the warehouse
    Test(TestArgs),
    /// Build the selected models and run their tests, each model after the tests of what
    /// it reads; an error-severity failure skips everything downstream
    Build(TestArgs),
    /// List the nodes a selector picks
    Ls {
        #[command(flatten)]
        selection: Selection,
        /// Resource types to list [default: model test]
        #[arg(long, value_enum, num_args = 1..)]
        resource_type: Vec<ResourceType>,
        #[arg(long, value_enum, default_value = "selector")]
        output: LsOutput,
    },
    /// Print the SQL of the selected models with refs and sources resolved
    Compile(Selection),
    /// Preview a model's rows from the warehouse
    Show {
        /// The model to preview
        model: String,
        /// Rows to show
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// Run a SQL query over the warehouse (models by name, raw tables as raw.<table>)
    Query {
        sql: String,
        /// Print at most this many rows
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Machine-learning chores: the stored model's metrics
    #[command(subcommand)]
    Ml(MlCommand),
    /// Write each selected model as <model>.csv (header first) into a folder
    Export {
        /// The folder (or object store URL) to write into
        #[arg(long, value_name = "DIR")]
        out: String,
        #[command(flatten)]
        selection: Selection,
    },
}

#[derive(Debug, Subcommand)]
pub enum MlCommand {
    /// Print the metrics stored beside the trained model (balanced accuracy, per-class
    /// precision/recall/F1, confusion matrix, iterations, convergence) for the test split
    /// and the 2020 hold-out
    Report,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let overrides = Overrides {
        source: cli.source.clone(),
        target_path: cli.target_path.clone(),
        warehouse: cli.warehouse.clone(),
        model_stage: cli.model_stage.clone(),
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(commands::dispatch(cli, overrides)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
