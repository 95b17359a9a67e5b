//! What each `pitwall` command does.

use std::collections::BTreeSet;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow::util::pretty::pretty_format_batches;
use futures::StreamExt;
use object_store::buffered::BufWriter;
use pitwall_cli::{Access, Deferral, Executed, Execution, execute, open_warehouse};
use pitwall_core::dag::NodeId;
use pitwall_core::testing::TestSpec;
use pitwall_core::{Location, Node, Plan, Source, SourceLoader};
use tokio::io::AsyncWriteExt;

use crate::artifacts;
use pitwall_project::{Bindings, Project};

use crate::cli::{
    Cli, Command, DocsCommand, IndirectSelection, Invocation, LsOutput, ResourceType, RunArgs, Selection,
};
use crate::jobs;
use crate::registry::LAYERS;
use crate::select::select;
use crate::snowflake;
use crate::state::PreviousState;

/// dbt's three commands that run nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Run,
    Test,
    Build,
}

impl Verb {
    /// The name dbt's `run_results.json` gives it (`args.which`).
    pub fn name(self) -> &'static str {
        match self {
            Verb::Run => "run",
            Verb::Test => "test",
            Verb::Build => "build",
        }
    }

    fn builds_models(self) -> bool {
        self != Verb::Test
    }

    fn runs_tests(self) -> bool {
        self != Verb::Run
    }
}

pub async fn dispatch(invocation: Invocation) -> Result<bool> {
    let cli: Cli = match invocation {
        Invocation::Report { options, report, args } => {
            let config = options.config()?;
            let text = match (&report.options, &args) {
                (Some(with), Some(args)) => (with.render)(&config, args).await?,
                _ => (report.render)(&config).await?,
            };
            println!("{text}");
            return Ok(true);
        }
        Invocation::Command(cli) => cli,
    };
    match &cli.command {
        // A job's steps load the project themselves, on the job's target.
        Command::Job { command } => return jobs::dispatch(&cli.options, command).await,
        Command::Init { dir } => return crate::init::init(dir),
        _ => {}
    }
    // A cluster process serves any project: it reads none.
    if let Command::Cluster { command } = cli.command {
        return crate::cluster::run(command).await.map(|()| true);
    }
    let clock = std::time::Instant::now();
    let mut project = pitwall_project::load(cli.options.config()?, LAYERS, Bindings::Required)?;
    // An adapter's keys are checked before anything runs, as the project's are.
    let adapter = snowflake::target(&project.config)?;
    tracing::info!(models = project.nodes.len(), tests = project.tests.len(), elapsed = ?clock.elapsed(), "project loaded");
    if needs_plans(&cli.command) {
        project.plan().await?;
        tracing::info!(elapsed = ?clock.elapsed(), "project planned");
    }
    let manifest = artifacts::manifest(&project);
    tracing::info!(bytes = manifest.len(), elapsed = ?clock.elapsed(), "manifest made");
    project.config.target_path.write("manifest.json", manifest).await?;
    let no_wait = cli.options.no_wait;
    let result = command(&project, adapter.as_ref(), cli.command, no_wait).await;
    // The project lives until the process ends, which frees it at once (dropping a large
    // one node by node costs a tenth of a second).
    std::mem::forget(project);
    result
}

/// Runs a command that reads a loaded project.
async fn command(
    project: &Project,
    adapter: Option<&snowflake::Target>,
    command: Command,
    no_wait: bool,
) -> Result<bool> {
    match command {
        Command::Run(args) => run(project, adapter, Verb::Run, &args, false, no_wait).await,
        Command::Test(args) => run(project, adapter, Verb::Test, &args.run, args.store_failures, no_wait).await,
        Command::Build(args) => run(project, adapter, Verb::Build, &args.run, args.store_failures, no_wait).await,
        Command::Ls { selection, resource_type, output } => ls(project, &selection, &resource_type, output),
        Command::Compile(selection) => compile(project, &selection),
        Command::Show { model, limit } => show(project, &model, limit, no_wait).await,
        Command::Query { sql, limit, local } => query(project, adapter, &sql, limit, local, no_wait).await,
        Command::Export { out, selection } => export(project, &out, &selection, no_wait).await,
        Command::Lineage { column, downstream } => pitwall_docs::lineage::print(project, &column, downstream).await,
        Command::Docs { command } => docs(project, &command, no_wait).await,
        Command::Job { .. } | Command::Init { .. } | Command::Cluster { .. } => {
            unreachable!("job, init and cluster are dispatched before the project is loaded")
        }
    }
}

/// Whether a command reads the models' plans (columns, lineage), so the project is planned
/// first; a run is planned so a model that does not plan, or a test on a missing column,
/// refuses the project before anything runs. `ls` and `compile` only read the DAG and the
/// rendered SQL, so a large project lists at once.
fn needs_plans(command: &Command) -> bool {
    matches!(
        command,
        Command::Run(_) | Command::Test(_) | Command::Build(_) | Command::Lineage { .. } | Command::Docs { .. }
    )
}

/// The selected models, in topological order.
fn selected_models<'p>(project: &'p Project, selection: &Selection) -> Result<Vec<&'p Node>> {
    let picked = select(project, selection, IndirectSelection::Empty)?;
    Ok(project.nodes.iter().filter(|n| picked.contains(&NodeId::Model(n.name().to_owned()))).collect())
}

/// `run`, `test` and `build`: the selected models and/or tests as one plan on the DAG.
/// `run_results.json` is written whatever fails, with what ran, unless the run was
/// refused the warehouse (`--no-wait`): then the holder's run owns it.
async fn run(
    project: &Project,
    adapter: Option<&snowflake::Target>,
    verb: Verb,
    args: &RunArgs,
    store_failures: bool,
    no_wait: bool,
) -> Result<bool> {
    let selection = &args.selection;
    let picked = select(project, selection, IndirectSelection::Eager)?;
    let models: Vec<Node> = if verb.builds_models() {
        project.nodes.iter().filter(|n| picked.contains(&NodeId::Model(n.name().to_owned()))).cloned().collect()
    } else {
        Vec::new()
    };
    let tests: Vec<Arc<TestSpec>> = if verb.runs_tests() {
        project.tests.iter().filter(|t| picked.contains(&NodeId::Test(t.name.clone()))).cloned().collect()
    } else {
        Vec::new()
    };
    // A Snowflake target logs in first, so a wrong password or host fails before the build.
    let snowflake = snowflake_login(project, adapter, verb).await?;
    println!("{}", pitwall_cli::header(&project.config, adapter.map(snowflake::describe).as_deref()));
    println!(
        "Found {} models, {} data tests and {} sources; running {} models and {} tests",
        project.nodes.len(),
        project.tests.len(),
        project.sources.iter().map(|s| s.source.tables.len()).sum::<usize>(),
        models.len(),
        tests.len()
    );
    let sources = sources_read(project, &models)?;
    let loaded: Vec<String> = sources.iter().map(|(s, _)| s.name.clone()).collect();
    let deferral = deferral(project, args, &models, &tests)?;
    let execution = Execution {
        config: &project.config,
        dag: &project.dag,
        sources,
        deferral,
        plan: Plan::new(&project.dag, models, tests, verb.builds_models()),
        store_failures,
        reports: LAYERS.iter().flat_map(|l| l.reports.iter()).collect(),
        no_wait,
        full_refresh: args.full_refresh,
    };
    let executed = execute(execution).await;
    let succeeded = !executed.refused && executed.fatal.is_none() && executed.tally.ok();
    let outcomes = executed.outcomes.clone();
    if !executed.refused {
        write_run_results(project, verb, selection, &executed).await?;
    }
    // The lock is released here: delivery reads the warehouse under a shared one.
    let result = executed.result().await;
    if let Some((target, session)) = snowflake {
        snowflake::deliver_run(project, target, session, succeeded, &loaded, &outcomes).await?;
    }
    result
}

/// The sources `models` read, each with its loader. A source is (re)loaded when a selected
/// model reads it (only its changed tables); otherwise the raw tables the warehouse holds
/// are used, as dbt uses what its warehouse holds.
fn sources_read<'p>(project: &'p Project, models: &[Node]) -> Result<Vec<(&'p Source, &'p SourceLoader)>> {
    let read: BTreeSet<&str> = models.iter().flat_map(|n| n.spec().sources.iter().map(|s| s.source.as_str())).collect();
    project
        .sources
        .iter()
        .filter(|s| read.contains(s.source.name.as_str()))
        .map(|s| Ok((&s.source, s.loader.with_context(|| format!("no loader for source {}", s.source.name))?)))
        .collect()
}

/// Writes `run_results.json`; when the run failed anyway, failing to write it is only
/// warned about (the run's own error is the one to report).
async fn write_run_results(project: &Project, verb: Verb, selection: &Selection, executed: &Executed) -> Result<()> {
    let results = artifacts::run_results(project, verb.name(), selection, &executed.outcomes, executed.elapsed);
    let written = project.config.target_path.write("run_results.json", results).await;
    let written = written.with_context(|| format!("writing {}", project.config.target_path.join("run_results.json")));
    match (&executed.fatal, written) {
        (Some(_), Err(e)) => eprintln!("warning: {e:#}"),
        (None, Err(e)) => return Err(e),
        (_, Ok(())) => {}
    }
    Ok(())
}

/// With `--defer`: the models the plan reads but does not build, to read from the
/// `--state` manifest's warehouse when this one lacks them.
fn deferral(project: &Project, args: &RunArgs, models: &[Node], tests: &[Arc<TestSpec>]) -> Result<Option<Deferral>> {
    let (true, Some(dir)) = (args.defer, &args.selection.state) else {
        return Ok(None);
    };
    let built: BTreeSet<NodeId> = models.iter().map(|n| NodeId::Model(n.name().to_owned())).collect();
    let readers = built.iter().cloned().chain(tests.iter().map(|t| NodeId::Test(t.name.clone())));
    let mut unbuilt = BTreeSet::new();
    for reader in readers {
        for parent in project.dag.parents(&reader) {
            if let NodeId::Model(name) = parent
                && !built.contains(parent)
            {
                unbuilt.insert(name.clone());
            }
        }
    }
    PreviousState::load(dir)?.deferral(project, unbuilt.into_iter().collect())
}

/// On a Snowflake target, for a command that builds models: the session delivery will use.
async fn snowflake_login<'t>(
    project: &Project,
    adapter: Option<&'t snowflake::Target>,
    verb: Verb,
) -> Result<Option<(&'t snowflake::Target, snowflake::Session)>> {
    match adapter.filter(|_| verb.builds_models()) {
        Some(target) => Ok(Some((target, snowflake::connect(project, target).await?))),
        None => Ok(None),
    }
}

fn ls(project: &Project, selection: &Selection, types: &[ResourceType], output: LsOutput) -> Result<bool> {
    let infos: std::collections::BTreeMap<NodeId, pitwall_project::NodeInfo> =
        project.node_infos().into_iter().map(|i| (i.id.clone(), i)).collect();
    let picked = select(project, selection, IndirectSelection::Empty)?;
    let wanted = |id: &NodeId| {
        let t = match id {
            NodeId::Source(_) => ResourceType::Source,
            NodeId::Model(_) => ResourceType::Model,
            NodeId::Test(_) => ResourceType::Test,
        };
        if types.is_empty() {
            t != ResourceType::Source
        } else {
            types.contains(&t) || types.contains(&ResourceType::All)
        }
    };
    let project_name = &project.config.name;
    let mut lines = Vec::new();
    for id in project.dag.topological() {
        if !picked.contains(id) || !wanted(id) {
            continue;
        }
        let info = &infos[id];
        let line = match output {
            LsOutput::Name => id.name(),
            LsOutput::Path => info.path.clone(),
            LsOutput::Selector => match id {
                NodeId::Source(_) => format!("source:{project_name}.{}", info.fqn.join(".")),
                _ => format!("{project_name}.{}", info.fqn.join(".")),
            },
        };
        lines.push(line);
    }
    // Sorted, as dbt ls prints.
    lines.sort();
    for line in lines {
        println!("{line}");
    }
    Ok(true)
}

fn compile(project: &Project, selection: &Selection) -> Result<bool> {
    for node in selected_models(project, selection)? {
        match node.model.compiled_sql(&project.relations) {
            Some(sql) => println!("-- {} ({})\n{}\n", node.name(), node.spec().original_file_path, sql?.trim_end()),
            None => println!("-- {} is written in Rust ({})\n", node.name(), node.spec().original_file_path),
        }
    }
    Ok(true)
}

/// `docs generate` and `docs serve`, by the docs crate.
async fn docs(project: &Project, command: &DocsCommand, no_wait: bool) -> Result<bool> {
    match command {
        DocsCommand::Generate => pitwall_docs::generate(project, no_wait).await,
        DocsCommand::Serve { port, host } => pitwall_docs::serve::serve(&project.config.target_path, host, *port).await,
    }
}

async fn show(project: &Project, model: &str, limit: usize, no_wait: bool) -> Result<bool> {
    if project.node(model).is_none() {
        bail!("'{model}' is not a model of this project (pitwall ls lists them)");
    }
    // Held to the end: the rows are read after attaching, and must be one version's.
    let open = open_warehouse(&project.config, Access::Read, no_wait).await?;
    let session = &open.session;
    let relation = project.relations.model(model);
    if !session.table_exist(relation.clone())? {
        bail!(
            "model '{model}' is not in the warehouse at {}: build it first (pitwall build --select +{model})",
            project.config.warehouse
        );
    }
    let batches = session.table(relation).await?.limit(0, Some(limit))?.collect().await?;
    println!("Previewing model '{model}' (at most {limit} rows):");
    println!("{}", pretty_format_batches(&batches)?);
    Ok(true)
}

async fn query(
    project: &Project,
    adapter: Option<&snowflake::Target>,
    sql: &str,
    limit: Option<usize>,
    local: bool,
    no_wait: bool,
) -> Result<bool> {
    if let Some(target) = adapter.filter(|_| !local) {
        return snowflake::query(project, target, sql, limit).await;
    }
    let open = open_warehouse(&project.config, Access::Read, no_wait).await?;
    let session = &open.session;
    let mut frame = session.sql(sql).await.with_context(|| format!("query: {sql}"))?;
    if let Some(n) = limit {
        frame = frame.limit(0, Some(n))?;
    }
    let batches = frame.collect().await?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    println!("{}", pretty_format_batches(&batches)?);
    println!("{rows} rows");
    Ok(true)
}

async fn export(project: &Project, out: &Location, selection: &Selection, no_wait: bool) -> Result<bool> {
    let nodes = selected_models(project, selection)?;
    let open = open_warehouse(&project.config, Access::Read, no_wait).await?;
    let session = &open.session;
    let store = out.open()?;
    let mut missing = BTreeSet::new();
    for node in &nodes {
        let relation = project.relations.model(node.name());
        if !session.table_exist(relation.clone())? {
            missing.insert(node.name().to_owned());
            continue;
        }
        // Sorted by every column, so an export of the same data is the same file, whatever
        // order parallel execution produced the rows in.
        let frame = session.table(relation).await?;
        let order: Vec<_> =
            frame.schema().fields().iter().map(|f| datafusion::prelude::ident(f.name()).sort(true, true)).collect();
        let mut stream = frame.sort(order)?.execute_stream().await?;
        let mut writer = BufWriter::new(store.store.clone(), store.child(&format!("{}.csv", node.name())));
        let mut header = true;
        let mut rows = 0usize;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            rows += batch.num_rows();
            let mut csv = arrow::csv::WriterBuilder::new().with_header(std::mem::take(&mut header)).build(Vec::new());
            csv.write(&batch)?;
            writer.write_all(&csv.into_inner()).await?;
        }
        if header {
            // No batch at all: still write the header line.
            let mut csv = arrow::csv::WriterBuilder::new().with_header(true).build(Vec::new());
            csv.write(&arrow::record_batch::RecordBatch::new_empty(stream.schema()))?;
            writer.write_all(&csv.into_inner()).await?;
        }
        writer.shutdown().await?;
        println!("  {:<36} {rows:>8} rows", format!("{}.csv", node.name()));
    }
    println!("Exported {} models to {out}", nodes.len() - missing.len());
    if !missing.is_empty() {
        bail!(
            "not in the warehouse, so not exported: {} (build them first)",
            missing.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(true)
}
