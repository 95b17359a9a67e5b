//! The `pitwall` command line: clap's definition of every command, plus one
//! subcommand per layer that has reports (`pitwall ml report`), added from the registry.

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use pitwall_cli::GlobalOptions;
use pitwall_core::layer::ReportArgs;
use pitwall_core::{Location, Report};

use crate::registry::LAYERS;

/// pitwall: dbt's commands and habits as one Rust program, with the Formula 1 analytics
/// and machine-learning pipeline of the dbt + Snowflake workshop as its starter project
/// (pitwall init): raw CSVs -> staging -> intermediate -> marts -> ML training and
/// prediction, built into an embedded local warehouse. The project (models, properties,
/// doc blocks, tests, macros) is read from disk at every run.
#[derive(Debug, Parser)]
#[command(name = "pitwall", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub options: GlobalOptions,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone, Default)]
pub struct Selection {
    /// Nodes to include: names, folder paths (staging, marts.core), tag:NAME,
    /// path:DIR, source:NAME, config.KEY:VALUE (config.materialized:table,
    /// config.meta.owner:bi), graph operators (+x, x+, 2+x, x+1, @x); space-separated =
    /// union, comma = intersection
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

    /// A previous run's artifacts (the folder of its manifest.json), for the state:
    /// selectors (state:modified, state:modified+, state:new) and --defer
    #[arg(long, value_name = "DIR")]
    pub state: Option<std::path::PathBuf>,
}

/// How `run`, `test` and `build` treat what the warehouse already holds.
#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    #[command(flatten)]
    pub selection: Selection,

    /// Rebuild every selected model, reload every raw table it reads and rerun every
    /// selected test, even those whose stored fingerprint says nothing changed (also
    /// PITWALL_NO_REUSE=1)
    #[arg(long)]
    pub full_refresh: bool,

    /// Read a ref to an unselected model the warehouse lacks from where the --state
    /// manifest says it lives (its warehouse and schema), as dbt's --defer does
    #[arg(long, requires = "state")]
    pub defer: bool,
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
    pub run: RunArgs,

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
    /// Write a new project into DIR (which must be empty or new): the workshop's models,
    /// properties, doc blocks and tests as editable files in dbt's layout, pitwall.toml,
    /// and the bundled data; then `cd DIR && pitwall build`
    Init {
        /// The folder to write the project into
        #[arg(value_name = "DIR")]
        dir: std::path::PathBuf,
    },
    /// Build the selected models into the warehouse (loading the sources they read),
    /// reusing each one whose stored fingerprint shows nothing it depends on changed
    Run(RunArgs),
    /// Run the selected data tests against the warehouse (reusing a pass on unchanged
    /// inputs)
    Test(TestArgs),
    /// Build the selected models and run their tests, each model after the tests of what
    /// it reads; an error-severity failure skips everything downstream. What has not
    /// changed since it was stored is reused (REUSED), unless --full-refresh
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
    /// Run a SQL query over the warehouse (models by name, raw tables as raw.<table>); on a
    /// Snowflake target, in Snowflake
    Query {
        sql: String,
        /// Print at most this many rows
        #[arg(long)]
        limit: Option<usize>,
        /// On a Snowflake target, query the local warehouse it is built in rather than
        /// Snowflake
        #[arg(long)]
        local: bool,
    },
    /// Write each selected model as <model>.csv (header first, rows sorted by every column,
    /// so the same data always gives the same file) into a folder or object-store URL
    Export {
        /// The folder (or object store URL) to write into
        #[arg(long, value_name = "DIR", value_parser = location_argument)]
        out: Location,
        #[command(flatten)]
        selection: Selection,
    },
    /// Column-level lineage: the upstream columns a column is computed from, down to
    /// source columns, or with --downstream every column computed from it
    ///
    /// Read off each SQL model's DataFusion logical plan, planned over empty tables (no data
    /// and no warehouse needed): a column comes from the columns its expression reads,
    /// through aliases, CTEs, subqueries, joins, unions, aggregate arguments and window
    /// functions (arguments, PARTITION BY and ORDER BY). Columns that only join, filter or
    /// group rows are listed after the tree, not in it. Models written in Rust are shown
    /// with what they read, without column detail.
    Lineage {
        /// The column: MODEL.COLUMN (fct_results.driver), or a source table's
        /// SOURCE.TABLE.COLUMN (formula1.drivers.forename)
        #[arg(value_name = "MODEL.COLUMN")]
        column: String,
        /// Show the columns computed from it, instead of those it is computed from
        #[arg(long)]
        downstream: bool,
    },
    /// The documentation site, as dbt docs: generate it into the target path, or serve it
    Docs {
        #[command(subcommand)]
        command: DocsCommand,
    },
    /// A Ballista cluster from this binary: its scheduler and executors, which run
    /// pitwall's SQL for `--engine df://HOST:PORT` (copy the binary to every machine;
    /// they share only the object store), and its status (needs the `ballista` feature)
    Cluster {
        #[command(subcommand)]
        command: crate::cluster::ClusterCommand,
    },
    /// Production jobs, as dbt Cloud's deployment jobs: run one of pitwall.toml's
    /// [jobs.<name>], or list the recorded runs
    Job {
        #[command(subcommand)]
        command: JobCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum DocsCommand {
    /// Write the docs site into <target-path>: index.html, catalog.json (and manifest.json)
    ///
    /// index.html is one self-contained file (open it from disk, no network needed): an
    /// overview with the last run (run_results.json), a page per model, source and test
    /// (description and doc blocks, columns with their types from the catalog, tests and
    /// upstream columns, materialization, tags, node colour, code, last run status, mini
    /// lineage), the whole DAG coloured by the folders' node_color and filtered with
    /// --select syntax, and charts of the answers read from the warehouse and the model
    /// stage (the 2021 pit stops per constructor, the lap time trend, the model's
    /// confusion matrices and per-class metrics). catalog.json is dbt's: each relation the
    /// warehouse holds, with its column types. Reads the warehouse under a shared lock.
    Generate,
    /// Serve <target-path> over HTTP (GET / is the docs site) until stopped with Ctrl-C
    ///
    /// Run pitwall docs generate first. Every file under the target path is served, the
    /// warehouse included, so the default host is the loopback address only.
    Serve {
        /// The port to listen on (0: any free port; the URL printed names it)
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// The address to listen on (0.0.0.0 serves every network interface)
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Run a job: its steps in order on its target, stopping at the first that fails
    ///
    /// Each step is a pitwall command line (`build`, `test -s marts`) run as a child pitwall
    /// process with --project-dir and the job's --target added (a --target given here is
    /// not used), plus the --source, --target-path, --warehouse, --model-stage and
    /// --no-wait given here. Its output is shown as it comes. The run is recorded under
    /// <target-path>/runs/<run-id>/: job.json (status, and per step its command, status,
    /// exit code, timing and model and test counts), and per step a folder NN-<command>/
    /// with its console.log and the artifacts it wrote (run_results.json, manifest.json,
    /// load_report.json). Exits non-zero when a step fails; the steps after it are recorded
    /// as skipped.
    Run {
        /// The job: a [jobs.<name>] of pitwall.toml
        name: String,
    },
    /// List the recorded runs of jobs, oldest first (the newest last)
    ///
    /// One line per run under <target-path>/runs/: run id, job, target, start (UTC),
    /// duration, status (success, error, or running: still running, or its process died
    /// before finishing) and its models and tests over all its steps: how many were built
    /// or reused, passed or failed.
    History {
        /// Only this job's runs [default: every job's]
        name: Option<String>,
        /// Show only the N most recent runs [default: all]
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
    },
}

/// A location typed on the command line: relative paths are taken from the current folder.
fn location_argument(text: &str) -> Result<Location, String> {
    let here = std::env::current_dir().map_err(|e| e.to_string())?;
    Location::parse(text, &here).map_err(|e| e.to_string())
}

/// What the command line asks for.
pub enum Invocation {
    Command(Cli),
    /// `pitwall <layer> <report> [--option VALUE ...]`.
    Report {
        options: GlobalOptions,
        report: &'static Report,
        /// The report's own options (each given or defaulted), when it takes any.
        args: Option<ReportArgs>,
    },
}

/// The report's subcommand, with a `--name VALUE` argument per option it declares.
fn report_command(report: &Report) -> clap::Command {
    let options = report.options.as_ref().map(|o| o.options).unwrap_or_default();
    options.iter().fold(clap::Command::new(report.name).about(report.about), |command, option| {
        command.arg(
            clap::Arg::new(option.name)
                .long(option.name)
                .value_name("VALUE")
                .help(option.help)
                .default_value(option.default),
        )
    })
}

/// Parses the command line (exiting with clap's message when it is wrong).
pub fn parse() -> Invocation {
    let mut command = Cli::command();
    for layer in LAYERS.iter().filter(|l| !l.reports.is_empty()) {
        let about = format!("The {} layer's reports", layer.name);
        let reports = clap::Command::new(layer.name).about(about).subcommand_required(true);
        command = command.subcommand(layer.reports.iter().fold(reports, |c, r| c.subcommand(report_command(r))));
    }
    let matches = command.get_matches();
    if let Some((name, reports)) = matches.subcommand()
        && let Some(layer) = LAYERS.iter().find(|l| l.name == name)
    {
        let (name, given) = reports.subcommand().expect("clap requires a report");
        let report = layer.report(name).expect("clap accepts only known reports");
        let args = report.options.as_ref().map(|o| {
            let value = |name: &str| given.get_one::<String>(name).cloned().unwrap_or_default();
            o.options.iter().map(|option| (option.name.to_owned(), value(option.name))).collect()
        });
        let options = GlobalOptions::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        return Invocation::Report { options, report, args };
    }
    Invocation::Command(Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit()))
}
