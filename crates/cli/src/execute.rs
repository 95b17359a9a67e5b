//! The run loop shared by `pitwall run/test/build` and the layer binaries, and the one
//! place a command opens the warehouse, taking its lock.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use datafusion::prelude::SessionContext;
use pitwall_core::report::{self, Tally};
use pitwall_core::warehouse::{Access, RawStage, WarehouseLock};
use pitwall_core::{
    Job, NodeOutcome, NodeStatus, Plan, ProjectConfig, Report, RunEvent, Runner, Source, SourceLoader, Warehouse,
};

use crate::engine::{self, Engine, Sessions};

/// An opened warehouse: the warehouse, a session with every relation it holds in the
/// project's schemas (sources', target, audit) attached, and its lock, held as long as
/// this value lives (keep it for the whole command, not just the session).
pub struct OpenWarehouse {
    pub warehouse: Arc<Warehouse>,
    /// On the configured engine (see [`Engine`]).
    pub session: SessionContext,
    /// In this process, over the same catalog: for what cannot leave it (Rust models).
    pub client: SessionContext,
    pub engine: Engine,
    pub lock: WarehouseLock,
}

/// Opens the warehouse of `config` for `access`: takes its lock first (shared to read,
/// exclusive to write; see [`Warehouse::lock`]), waiting for another process's unless
/// `no_wait`, then, as the writer, removes what dead processes left behind, and attaches
/// every relation.
pub async fn open_warehouse(config: &ProjectConfig, access: Access, no_wait: bool) -> Result<OpenWarehouse> {
    let relations = config.relations();
    let engine = Engine::parse(config.engine.as_deref())?;
    let warehouse = Arc::new(Warehouse::open(&config.warehouse)?.with_resources(config.resources.clone()));
    let lock = warehouse
        .lock(access, !no_wait, |holder| {
            eprintln!("Waiting for the warehouse at {}: it is in use by {holder}", config.warehouse);
        })
        .await
        .with_context(|| match no_wait {
            true => "not waiting for the warehouse (--no-wait, PITWALL_NO_WAIT)",
            false => "locking the warehouse",
        })?;
    if access == Access::Write {
        let removed = warehouse.remove_leftovers(&lock);
        if !removed.is_empty() {
            println!(
                "Removed {} temporary file{} an interrupted run left in the warehouse",
                removed.len(),
                if removed.len() == 1 { "" } else { "s" }
            );
        }
    }
    let Sessions { engine: session, client } = engine::sessions(&engine, &warehouse, &relations).await?;
    let mut schemas: Vec<String> = relations.source_schemas.values().cloned().collect();
    schemas.push(relations.target_schema.clone());
    schemas.push(relations.audit_schema());
    schemas.sort();
    schemas.dedup();
    warehouse
        .attach(&session, &schemas.iter().map(String::as_str).collect::<Vec<_>>())
        .await
        .with_context(|| format!("reading the warehouse at {}", config.warehouse))?;
    Ok(OpenWarehouse { warehouse, session, client, engine, lock })
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
    /// Fail at once, rather than wait, when another process holds the warehouse lock.
    pub no_wait: bool,
}

pub struct Executed {
    /// What ran, even when the run then failed (`fatal`).
    pub outcomes: Vec<NodeOutcome>,
    pub elapsed: Duration,
    pub tally: Tally,
    /// An error that failed the whole run (the warehouse, a source file, storing the raw
    /// tables, a report); `outcomes` still says what ran before or beside it.
    pub fatal: Option<anyhow::Error>,
    /// Another process holds the warehouse and the run was told not to wait: nothing
    /// ran, and that process's artifacts (likely in the same target folder) stand.
    pub refused: bool,
    /// The warehouse lock, kept until this value is dropped, so that the caller's
    /// artifacts (run_results.json) are written before another build can start.
    _lock: Option<WarehouseLock>,
}

impl Executed {
    /// The run's result: its fatal error, or whether every node succeeded.
    pub fn result(self) -> Result<bool> {
        match self.fatal {
            Some(e) => Err(e),
            None => Ok(self.tally.ok()),
        }
    }
}

/// The first line of a run, as dbt's `Running with dbt=...`: the version and the target
/// (and where a Snowflake target delivers).
pub fn header(config: &ProjectConfig) -> String {
    let delivered = match &config.snowflake {
        Some(snowflake) => {
            format!(", delivered to Snowflake at {} (database {})", snowflake.endpoint(), snowflake.database)
        }
        None => String::new(),
    };
    format!(
        "Running with pitwall {} on target {}: schema {} in {}{delivered}",
        env!("CARGO_PKG_VERSION"),
        config.target,
        config.schema,
        config.warehouse
    )
}

/// Runs an [`Execution`], printing dbt's lines as it goes: one per node (an error's
/// reason under it), then the errors and warnings, the reports and the summary. A fatal
/// error does not stop the reporting of what ran: it comes back in [`Executed::fatal`].
pub async fn execute(run: Execution<'_>) -> Executed {
    let clock = Instant::now();
    if run.plan.is_empty() && run.sources.is_empty() {
        println!("Nothing to do. Try checking your model configs and model specification args");
        return Executed {
            outcomes: Vec::new(),
            elapsed: clock.elapsed(),
            tally: Tally::default(),
            fatal: None,
            refused: false,
            _lock: None,
        };
    }
    let mut outcomes = Vec::new();
    let mut lock = None;
    let mut fatal = run_plan(&run, &mut outcomes, &mut lock).await.err();
    let refused = fatal
        .as_ref()
        .and_then(|e| e.downcast_ref::<pitwall_core::Error>())
        .is_some_and(|e| matches!(e, pitwall_core::Error::WarehouseLocked { .. }));
    let elapsed = clock.elapsed();
    let tally = Tally::of(&outcomes);
    let models = run.plan.jobs.iter().filter(|j| matches!(j, Job::Model(_))).count();
    let tests = run.plan.jobs.len() - models;
    if !outcomes.is_empty() {
        print_outcome(&tally, &outcomes, models, tests, elapsed);
    }
    if run.store_failures && tally.tests_fail + tally.tests_warn > 0 {
        println!(
            "\nFailing rows are stored in schema {} (pitwall query to read them).",
            run.config.relations().audit_schema()
        );
    }
    for report in &run.reports {
        let built = |o: &NodeOutcome| {
            Some(o.name.as_str()) == report.after_model && matches!(o.status, NodeStatus::Success { .. })
        };
        if outcomes.iter().any(built) {
            match (report.render)(run.config).await {
                Ok(text) => println!("\n{text}"),
                Err(e) => fatal = fatal.or(Some(e.into())),
            }
        }
    }
    if !outcomes.is_empty() {
        println!("\n{}", tally.summary());
    }
    Executed { outcomes, elapsed, tally, fatal, refused, _lock: lock }
}

/// Takes the warehouse (its lock into `lock`), loads the sources, runs the plan (its
/// outcomes into `outcomes`).
async fn run_plan(
    run: &Execution<'_>,
    outcomes: &mut Vec<NodeOutcome>,
    lock: &mut Option<WarehouseLock>,
) -> Result<()> {
    let open = open_warehouse(run.config, Access::Write, run.no_wait).await?;
    let OpenWarehouse { warehouse, session, .. } = &open;
    let loaded = load_sources(run, &open).await;
    if loaded.is_ok() {
        let total = run.plan.jobs.len();
        let runner = Runner::new(session.clone(), warehouse.clone(), run.config.relations())
            .with_client_session(open.client.clone())
            .with_model_stage(run.config.model_stage.clone())
            .with_store_failures(run.store_failures);
        let done = Mutex::new(0usize);
        *outcomes = runner
            .run(&run.plan, &|event| {
                if let RunEvent::Finished(outcome) = event {
                    let mut n = done.lock().expect("not poisoned");
                    *n += 1;
                    println!("{}", report::node_line(*n, total, outcome));
                }
            })
            .await;
    }
    *lock = Some(open.lock);
    loaded
}

/// Loads each source of `run` into the warehouse. Its tables stream into the source's
/// raw schema as they are parsed, staged unseen, and become current only once the whole
/// source has loaded, so a failed load leaves the stored raw tables as they were. The
/// models then read them from the warehouse like any table, on any engine, and no loaded
/// table is held in memory.
async fn load_sources(run: &Execution<'_>, open: &OpenWarehouse) -> Result<()> {
    let OpenWarehouse { warehouse, session, .. } = open;
    for (source, loader) in &run.sources {
        let location = run.config.sources.get(&source.name).with_context(|| {
            format!("{}: no [sources.{}] section giving its location", run.config.root.display(), source.name)
        })?;
        let loading = Instant::now();
        let stage = RawStage::new(warehouse.clone(), &location.schema);
        if let Err(e) = (loader.load)(source, location, run.config, &stage).await {
            stage.discard().await;
            return Err(e.into());
        }
        let tables = stage.commit().await?;
        for table in &tables {
            warehouse.register_table(session, &location.schema, table).await?;
        }
        println!(
            "Loaded and stored {} raw tables in {} in {}\n",
            tables.len(),
            warehouse.location().join(&location.schema),
            report::elapsed(loading.elapsed())
        );
    }
    Ok(())
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
