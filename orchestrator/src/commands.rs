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
use pitwall_core::warehouse::{child, open_store};
use pitwall_core::{Node, ProjectConfig, RunEvent, Runner, Warehouse};
use tokio::io::AsyncWriteExt;

use crate::cli::{Cli, Command, LsOutput, ResourceType, Selection};
use crate::project::Project;
use crate::select::{NodeInfo, select};

pub async fn dispatch(cli: Cli, overrides: Overrides) -> Result<bool> {
    let root = match &cli.project_dir {
        Some(dir) => dir.clone(),
        None => ProjectConfig::discover(&std::env::current_dir()?)?,
    };
    let project = Project::load(&root, &overrides)?;
    match cli.command {
        Command::Run(selection) | Command::Build(selection) => run(&project, &selection).await,
        Command::Ls { selection, resource_type, output } => ls(&project, &selection, &resource_type, output),
        Command::Compile(selection) => compile(&project, &selection),
        Command::Show { model, limit } => show(&project, &model, limit).await,
        Command::Query { sql, limit } => query(&project, &sql, limit).await,
        Command::Export { out, selection } => export(&project, &out, &selection).await,
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
    infos
}

/// The selected models, in topological order.
fn selected_models<'p>(project: &'p Project, selection: &Selection) -> Result<Vec<&'p Node>> {
    let picked = select(&node_infos(project), &project.dag, &selection.select, &selection.exclude)?;
    Ok(project.nodes.iter().filter(|n| picked.contains(&NodeId::Model(n.name().to_owned()))).collect())
}

async fn open_warehouse(project: &Project) -> Result<(Arc<Warehouse>, SessionContext)> {
    let warehouse = Arc::new(Warehouse::open(&project.config.warehouse)?);
    let session = warehouse.session(&project.relations)?;
    warehouse.attach(&session, &project.schemas()).await?;
    Ok((warehouse, session))
}

async fn run(project: &Project, selection: &Selection) -> Result<bool> {
    let clock = Instant::now();
    let nodes: Vec<Node> = selected_models(project, selection)?.into_iter().cloned().collect();
    println!(
        "Found {} models and {} sources; {} selected",
        project.nodes.len(),
        project.source.tables.len(),
        nodes.len()
    );
    if nodes.is_empty() {
        println!("Nothing to do: the selection matched no models.");
        return Ok(true);
    }
    let (warehouse, session) = open_warehouse(project).await?;
    // Sources are (re)loaded when a selected model reads one; otherwise the raw tables
    // the warehouse holds are used, as dbt uses what its warehouse holds.
    if nodes.iter().any(|n| !n.spec().sources.is_empty()) {
        let tables = ingestion::ingest(&project.config, &project.source, &session).await?;
        let schema = &project.relations.source_schemas[&project.source.name];
        ingestion::store_raw(&warehouse, schema, &tables).await?;
        println!();
    }
    let total = nodes.len();
    let done = Mutex::new(0usize);
    let runner =
        Runner::new(session, warehouse, project.relations.clone()).with_model_stage(&project.config.model_stage);
    let outcomes = runner
        .run(&nodes, &|event| {
            if let RunEvent::Finished(outcome) = event {
                let mut n = done.lock().expect("not poisoned");
                *n += 1;
                println!("{}", report::node_line(*n, total, outcome));
            }
        })
        .await;
    let mut tally = Tally::default();
    outcomes.iter().for_each(|o| tally.add_model(o));
    let tables = nodes.iter().filter(|n| n.config.materialized == pitwall_core::Materialization::Table).count();
    println!(
        "\nFinished running {} table models and {} view models in {}.",
        tables,
        total - tables,
        report::elapsed(clock.elapsed())
    );
    let errors = report::error_details(&outcomes);
    if errors.is_empty() {
        println!("Completed successfully");
    } else {
        println!("Completed with {} errors:", errors.len());
        for e in errors {
            println!("\n{e}");
        }
    }
    println!("\n{}", tally.summary());
    Ok(tally.error == 0)
}

fn ls(project: &Project, selection: &Selection, types: &[ResourceType], output: LsOutput) -> Result<bool> {
    let infos = node_infos(project);
    let picked = select(&infos, &project.dag, &selection.select, &selection.exclude)?;
    let wanted = |id: &NodeId| {
        let t = match id {
            NodeId::Source(_) => ResourceType::Source,
            NodeId::Model(_) => ResourceType::Model,
            NodeId::Test(_) => ResourceType::Test,
        };
        if types.is_empty() {
            t == ResourceType::Model
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
