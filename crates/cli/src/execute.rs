//! The run loop shared by `pitwall run/test/build` and the layer binaries.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use datafusion::prelude::SessionContext;
use pitwall_core::report::{self, Tally};
use pitwall_core::{
    Job, NodeOutcome, NodeStatus, Plan, ProjectConfig, Report, RunEvent, Runner, Source, SourceLoader, Warehouse,
};

/// The warehouse of `config`, and a session with every relation it holds in the
/// project's schemas (sources', target, audit) attached.
pub async fn open_warehouse(config: &ProjectConfig) -> Result<(Arc<Warehouse>, SessionContext)> {
    let relations = config.relations();
    let warehouse = Arc::new(Warehouse::open(&config.warehouse)?);
    let session = warehouse.session(&relations)?;
    let mut schemas: Vec<String> = relations.source_schemas.values().cloned().collect();
    schemas.push(relations.target_schema.clone());
    schemas.push(relations.audit_schema());
    schemas.sort();
    schemas.dedup();
    warehouse.attach(&session, &schemas.iter().map(String::as_str).collect::<Vec<_>>()).await?;
    Ok((warehouse, session))
}

/// One run: sources to load first, then a plan.
pub struct Execution<'a> {
    pub config: &'a ProjectConfig,
    /// Sources to (re)load before the plan runs; their raw tables then replace the stored
    /// ones. Empty: the plan reads the raw tables the warehouse holds, as dbt reads its
    /// warehouse.
    pub sources: Vec<(&'a Source, &'a SourceLoader)>,
    pub plan: Plan,
    /// Keep each test's failing rows in the audit schema (`--store-failures`).
    pub store_failures: bool,
    /// Printed after the run when the model they follow was built.
    pub reports: Vec<&'static Report>,
}

pub struct Executed {
    pub outcomes: Vec<NodeOutcome>,
    pub elapsed: Duration,
    pub tally: Tally,
}

/// Runs an [`Execution`], printing dbt's lines as it goes: one per node, then the
/// errors and warnings, the reports and the summary.
pub async fn execute(run: Execution<'_>) -> Result<Executed> {
    let clock = Instant::now();
    if run.plan.is_empty() && run.sources.is_empty() {
        println!("Nothing to do. Try checking your model configs and model specification args");
        return Ok(Executed { outcomes: Vec::new(), elapsed: clock.elapsed(), tally: Tally::default() });
    }
    let relations = run.config.relations();
    let (warehouse, session) = open_warehouse(run.config).await?;
    let mut storing = Vec::new();
    for (source, loader) in &run.sources {
        let location = run.config.sources.get(&source.name).with_context(|| {
            format!("{}: no [sources.{}] section giving its location", run.config.root.display(), source.name)
        })?;
        let loading = Instant::now();
        let tables = (loader.load)(source, location, run.config).await?;
        println!("Loaded in {}\n", report::elapsed(loading.elapsed()));
        for table in &tables {
            table.register(&session, &location.schema)?;
        }
        // The models read the loaded tables from memory; storing them as the warehouse's
        // raw tables (for later runs and the layer binaries) overlaps with the models.
        let (warehouse, schema) = (warehouse.clone(), location.schema.clone());
        storing.push(tokio::spawn(async move {
            warehouse.store_raw(&schema, &tables).await.map(|()| (schema, tables.len()))
        }));
    }
    let models = run.plan.jobs.iter().filter(|j| matches!(j, Job::Model(_))).count();
    let tests = run.plan.jobs.len() - models;
    let runner = Runner::new(session, warehouse.clone(), relations.clone())
        .with_model_stage(run.config.model_stage.clone())
        .with_store_failures(run.store_failures);
    let total = run.plan.jobs.len();
    let done = Mutex::new(0usize);
    let outcomes = runner
        .run(&run.plan, &|event| {
            if let RunEvent::Finished(outcome) = event {
                let mut n = done.lock().expect("not poisoned");
                *n += 1;
                println!("{}", report::node_line(*n, total, outcome));
            }
        })
        .await;
    for stored in storing {
        let (schema, count) = stored.await?.context("storing the raw tables in the warehouse")?;
        println!("Stored {count} raw tables in {}", warehouse.location().join(&schema));
    }
    let elapsed = clock.elapsed();
    let tally = Tally::of(&outcomes);
    if total > 0 {
        print_outcome(&tally, &outcomes, models, tests, elapsed);
    }
    if run.store_failures && tally.tests_fail + tally.tests_warn > 0 {
        println!("\nFailing rows are stored in schema {} (pitwall query to read them).", relations.audit_schema());
    }
    for report in &run.reports {
        let built = |o: &NodeOutcome| {
            Some(o.name.as_str()) == report.after_model && matches!(o.status, NodeStatus::Success { .. })
        };
        if outcomes.iter().any(built) {
            println!("\n{}", (report.render)(run.config).await?);
        }
    }
    if total > 0 {
        println!("\n{}", tally.summary());
    }
    Ok(Executed { outcomes, elapsed, tally })
}

fn print_outcome(tally: &Tally, outcomes: &[NodeOutcome], models: usize, tests: usize, elapsed: Duration) {
    println!("\nFinished running {models} models and {tests} tests in {}.", report::elapsed(elapsed));
    let details = report::error_details(outcomes);
    if tally.ok() && details.is_empty() {
        println!("Completed successfully");
    } else {
        println!("Completed with {} {}:", details.len(), if tally.ok() { "warnings" } else { "errors and warnings" });
        for d in details {
            println!("\n{d}");
        }
    }
}
