//! What each `pitwall` command does.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use object_store::buffered::BufWriter;
use pitwall_core::config::Overrides;
use pitwall_core::dag::NodeId;
use pitwall_core::report::{self, Tally};
use pitwall_core::testing::TestSpec;
use pitwall_core::warehouse::{child, open_store, write_file};
use pitwall_core::{Node, Plan, ProjectConfig, RunEvent, Runner, Warehouse};
use tokio::io::AsyncWriteExt;

use crate::artifacts;
use crate::cli::{Cli, Command, IndirectSelection, LsOutput, MlCommand, ResourceType, Selection};
use crate::project::Project;
use crate::select::{NodeInfo, select};

pub async fn dispatch(cli: Cli, overrides: Overrides) -> Result<bool> {
    let root = match &cli.project_dir {
        Some(dir) => dir.clone(),
        None => ProjectConfig::discover(&std::env::current_dir()?)?,
    };
    let project = Project::load(&root, &overrides).await?;
    let target = project.config.target_path.display().to_string();
    write_file(&target, "manifest.json", artifacts::manifest(&project)).await?;
    match cli.command {
        Command::Run(selection) => execute(&project, "run", &selection, false, false).await,
        Command::Test(args) => execute(&project, "test", &args.selection, true, args.store_failures).await,
        Command::Build(args) => execute(&project, "build", &args.selection, true, args.store_failures).await,
        Command::Ls { selection, resource_type, output } => ls(&project, &selection, &resource_type, output),
        Command::Compile(selection) => compile(&project, &selection),
        Command::Show { model, limit } => show(&project, &model, limit).await,
        Command::Query { sql, limit } => query(&project, &sql, limit).await,
        Command::Export { out, selection } => export(&project, &out, &selection).await,
        Command::Ml(MlCommand::Report) => {
            println!("{}", ml::metrics_report(&project.config.model_stage).await?);
            Ok(true)
        }
    }
}

fn node_infos(project: &Project) -> Vec<NodeInfo> {
    let mut infos: Vec<NodeInfo> = project
        .source
        .tables
        .iter()
        .map(|t| NodeInfo {
            id: NodeId::Source(t.reference()),
            fqn: vec![t.source.clone(), t.name.clone()],
            tags: Vec::new(),
            path: project.source.properties_path.to_owned(),
            materialized: None,
        })
        .collect();
    infos.extend(project.nodes.iter().map(|n| NodeInfo {
        id: NodeId::Model(n.name().to_owned()),
        fqn: n.spec().fqn.iter().cloned().chain([n.name().to_owned()]).collect(),
        tags: n.config.tags.clone(),
        path: n.spec().original_file_path.clone(),
        materialized: Some(n.config.materialized.to_string()),
    }));
    infos.extend(project.tests.iter().map(|t| NodeInfo {
        id: NodeId::Test(t.name.clone()),
        fqn: t.fqn.clone(),
        tags: t.config.tags.clone(),
        path: t.original_file_path.clone(),
        materialized: None,
    }));
    infos
}

/// The selected nodes; tests whose parents are selected come along per `indirect`.
fn select_nodes(project: &Project, selection: &Selection, default: IndirectSelection) -> Result<BTreeSet<NodeId>> {
    let infos = node_infos(project);
    let mut picked = select(&infos, &project.dag, &selection.select, &selection.exclude)?;
    let excluded = select(&infos, &project.dag, &selection.exclude, &[])?;
    let excluded = if selection.exclude.is_empty() { BTreeSet::new() } else { excluded };
    let mode = selection.indirect_selection.unwrap_or(default);
    if mode != IndirectSelection::Empty {
        for test in &project.tests {
            let id = NodeId::Test(test.name.clone());
            let parents = project.dag.parents(&id);
            let take = match mode {
                IndirectSelection::Eager => parents.iter().any(|p| picked.contains(*p)),
                IndirectSelection::Cautious => parents.iter().all(|p| picked.contains(*p)),
                IndirectSelection::Empty => false,
            };
            if take && !excluded.contains(&id) {
                picked.insert(id);
            }
        }
    }
    Ok(picked)
}

/// The selected models, in topological order.
fn selected_models<'p>(project: &'p Project, selection: &Selection) -> Result<Vec<&'p Node>> {
    let picked = select_nodes(project, selection, IndirectSelection::Empty)?;
    Ok(project.nodes.iter().filter(|n| picked.contains(&NodeId::Model(n.name().to_owned()))).collect())
}

async fn open_warehouse(project: &Project) -> Result<(Arc<Warehouse>, SessionContext)> {
    let warehouse = Arc::new(Warehouse::open(&project.config.warehouse)?);
    let session = warehouse.session(&project.relations)?;
    let schemas = project.schemas();
    warehouse.attach(&session, &schemas.iter().map(String::as_str).collect::<Vec<_>>()).await?;
    Ok((warehouse, session))
}

/// `run`, `test` and `build`: the selected models and/or tests as one plan.
async fn execute(
    project: &Project,
    which: &str,
    selection: &Selection,
    with_tests: bool,
    store_failures: bool,
) -> Result<bool> {
    let clock = Instant::now();
    let picked = select_nodes(project, selection, IndirectSelection::Eager)?;
    let with_models = which != "test";
    let nodes: Vec<Node> = if with_models {
        project.nodes.iter().filter(|n| picked.contains(&NodeId::Model(n.name().to_owned()))).cloned().collect()
    } else {
        Vec::new()
    };
    let tests: Vec<Arc<TestSpec>> = if with_tests {
        project.tests.iter().filter(|t| picked.contains(&NodeId::Test(t.name.clone()))).cloned().collect()
    } else {
        Vec::new()
    };
    println!(
        "Found {} models, {} data tests and {} sources; running {} models and {} tests",
        project.nodes.len(),
        project.tests.len(),
        project.source.tables.len(),
        nodes.len(),
        tests.len()
    );
    let (warehouse, session) = open_warehouse(project).await?;
    let mut storing_raw = None;
    // Sources are (re)loaded when a selected model reads one; otherwise the raw tables
    // the warehouse holds are used, as dbt uses what its warehouse holds.
    if nodes.iter().any(|n| !n.spec().sources.is_empty()) {
        let loading = Instant::now();
        let tables = ingestion::ingest(&project.config, &project.source, &session).await?;
        println!("Loaded in {}\n", report::elapsed(loading.elapsed()));
        // The models read the loaded tables from memory; storing them as the warehouse's
        // raw tables (for later runs and layer binaries) overlaps with the models.
        let (warehouse, schema) = (warehouse.clone(), project.relations.source_schemas[&project.source.name].clone());
        storing_raw = Some(tokio::spawn(async move { ingestion::store_raw(&warehouse, &schema, &tables).await }));
    }
    let mut plan = Plan::models(&nodes);
    plan.add_tests(&tests, with_models);
    let total = plan.jobs.len();
    let done = Mutex::new(0usize);
    let runner = Runner::new(session, warehouse, project.relations.clone())
        .with_model_stage(&project.config.model_stage)
        .with_store_failures(store_failures);
    let outcomes = runner
        .run(&plan, &|event| {
            if let RunEvent::Finished(outcome) = event {
                let mut n = done.lock().expect("not poisoned");
                *n += 1;
                println!("{}", report::node_line(*n, total, outcome));
            }
        })
        .await;
    if let Some(storing) = storing_raw {
        storing.await?.context("storing the raw tables in the warehouse")?;
    }
    let elapsed = clock.elapsed();
    let tally = Tally::of(&outcomes);
    println!("\nFinished running {} models and {} tests in {}.", nodes.len(), tests.len(), report::elapsed(elapsed));
    let details = report::error_details(&outcomes);
    if tally.ok() && details.is_empty() {
        println!("Completed successfully");
    } else {
        println!("Completed with {} {}:", details.len(), if tally.ok() { "warnings" } else { "errors and warnings" });
        for d in details {
            println!("\n{d}");
        }
    }
    if store_failures && tally.tests_fail + tally.tests_warn > 0 {
        println!(
            "\nFailing rows are stored in schema {} (pitwall query to read them).",
            project.relations.audit_schema()
        );
    }
    let trained = outcomes
        .iter()
        .any(|o| o.name == ml::TRAIN_TEST_POSITION && matches!(o.status, pitwall_core::NodeStatus::Success { .. }));
    if trained {
        println!("\n{}", ml::metrics_report(&project.config.model_stage).await?);
    }
    println!("\n{}", tally.summary());
    let target = project.config.target_path.display().to_string();
    let results = artifacts::run_results(project, which, selection, &outcomes, elapsed);
    write_file(&target, "run_results.json", results).await?;
    Ok(tally.ok())
}

fn ls(project: &Project, selection: &Selection, types: &[ResourceType], output: LsOutput) -> Result<bool> {
    let infos = node_infos(project);
    let picked = select_nodes(project, selection, IndirectSelection::Empty)?;
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
        let info = infos.iter().find(|i| &i.id == id).expect("every DAG node has info");
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

async fn show(project: &Project, model: &str, limit: usize) -> Result<bool> {
    if project.node(model).is_none() {
        bail!("'{model}' is not a model of this project (pitwall ls lists them)");
    }
    let (_, session) = open_warehouse(project).await?;
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

async fn query(project: &Project, sql: &str, limit: Option<usize>) -> Result<bool> {
    let (_, session) = open_warehouse(project).await?;
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

async fn export(project: &Project, out: &str, selection: &Selection) -> Result<bool> {
    let nodes = selected_models(project, selection)?;
    let (_, session) = open_warehouse(project).await?;
    if !out.contains("://") {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {out}"))?;
    }
    let (store, _, root) = open_store(out)?;
    let mut missing = BTreeSet::new();
    for node in &nodes {
        let relation = project.relations.model(node.name());
        if !session.table_exist(relation.clone())? {
            missing.insert(node.name().to_owned());
            continue;
        }
        let mut stream = session.table(relation).await?.execute_stream().await?;
        let mut writer = BufWriter::new(store.clone(), child(&root, &format!("{}.csv", node.name())));
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
