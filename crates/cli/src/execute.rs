//! The run loop shared by `pitwall run/test/build` and the layer binaries, on a warehouse
//! [`crate::open`] opened.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::FutureExt;
use pitwall_core::config::SourceLocation;
use pitwall_core::dag::NodeId;
use pitwall_core::loading::{self, LoadFailed, LoadWatch, Loading};
use pitwall_core::progress;
use pitwall_core::report::{self, Tally};
use pitwall_core::runner::State;
use pitwall_core::state::{self, Fingerprints, Stamp, definition, reuse_disabled_by_env};
use pitwall_core::warehouse::{Access, RawStage, WarehouseLock};
use pitwall_core::{
    Dag, Job, NodeOutcome, NodeStatus, Plan, ProjectConfig, Report, RunEvent, Runner, Source, SourceLoader, SourceRef,
};

use crate::defer::{Deferral, defer};
use crate::engine::Engine;
use crate::open::{OpenWarehouse, open_warehouse};

/// One run: sources to load first, then a plan.
pub struct Execution<'a> {
    pub config: &'a ProjectConfig,
    /// The project's graph, which fingerprints are read along.
    pub dag: &'a Dag,
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
    /// Rebuild every node and reload every raw table, even those whose stored
    /// fingerprint matches (`--full-refresh`; also `PITWALL_NO_REUSE=1`).
    pub full_refresh: bool,
    /// Refs to models outside the plan that the warehouse lacks are read from there
    /// (`--defer --state DIR`).
    pub deferral: Option<Deferral>,
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
    /// The warehouse lock, kept until [`Executed::result`], so that the caller's
    /// artifacts (run_results.json) are written before another build can start.
    lock: Option<WarehouseLock>,
}

impl Executed {
    /// Releases the warehouse lock and returns the run's result: its fatal error, or
    /// whether every node succeeded.
    pub async fn result(mut self) -> Result<bool> {
        if let Some(lock) = self.lock.take() {
            lock.release().await;
        }
        match self.fatal {
            Some(e) => Err(e),
            None => Ok(self.tally.ok()),
        }
    }
}

/// The first line of a run, as dbt's `Running with dbt=...`: the version and the target,
/// and where an adapter's target delivers (`delivered`, in the adapter's words).
pub fn header(config: &ProjectConfig, delivered: Option<&str>) -> String {
    let delivered = delivered.map(|d| format!(", {d}")).unwrap_or_default();
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
            lock: None,
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
    Executed { outcomes, elapsed, tally, fatal, refused, lock }
}

/// Takes the warehouse (its lock into `lock`), loads the sources while the plan runs
/// beside the load (its outcomes into `outcomes`), reusing what its fingerprints say is
/// unchanged.
async fn run_plan(
    run: &Execution<'_>,
    outcomes: &mut Vec<NodeOutcome>,
    lock: &mut Option<WarehouseLock>,
) -> Result<()> {
    let open = open_warehouse(run.config, Access::Write, run.no_wait).await?;
    let full_refresh = run.full_refresh || reuse_disabled_by_env();
    let mut stored = stored_stamps(run.config, &open).await;
    if let Some(deferral) = &run.deferral {
        let deferred = defer(&open, deferral, &run.config.relations(), &mut stored).await?;
        if !deferred.is_empty() {
            println!("Deferred to {}: {}\n", deferral.warehouse, deferred.join(", "));
        }
    }
    let ran = match stale_sources(run, stored, full_refresh).await {
        Ok((loads, state)) => load_and_run(run, &open, loads, state, outcomes).await,
        Err(e) => Err(e),
    };
    *lock = Some(open.lock);
    ran
}

/// Loads `loads` and runs the plan. On the local engine both go at once: a job starts as
/// soon as the raw tables it reads are loaded, and commits only once the whole load has
/// (see `pitwall_core::loading`), so a failed load still leaves the warehouse as it was
/// and the run reports no job. A cluster's run waits for the load (its executors read
/// only committed tables, and a lost one must not meet a half-done load).
async fn load_and_run(
    run: &Execution<'_>,
    open: &OpenWarehouse,
    loads: Vec<SourceLoad<'_>>,
    state: State,
    outcomes: &mut Vec<NodeOutcome>,
) -> Result<()> {
    if loads.is_empty() || !matches!(open.engine, Engine::Local) {
        load_all(run, open, &loads, None).await?;
        *outcomes = run_jobs(run, open, state, None).await;
    } else {
        let pending: BTreeSet<SourceRef> = loads
            .iter()
            .flat_map(|load| load.stamps.keys().map(|table| SourceRef::new(&load.source.name, table)))
            .collect();
        let (loading, watch) = loading::channel(pending);
        let (loaded, ran) =
            futures::join!(load_all(run, open, &loads, Some(&loading)), run_jobs(run, open, state, Some(watch)));
        *outcomes = ran;
        for stage in loaded? {
            stage.release().await;
        }
    }
    if let Some(lost) = stopped_by_engine_loss(open, outcomes).await {
        bail!("{lost}: the build stopped there; what it committed before is whole, and the next build reuses it");
    }
    Ok(())
}

/// What the engine lost, when that stopped the run short (a failed or skipped node), after
/// ending the jobs the run left on it. A loss after the last commit changed nothing.
async fn stopped_by_engine_loss(open: &OpenWarehouse, outcomes: &[NodeOutcome]) -> Option<String> {
    let watch = open.engine_watch.as_ref()?;
    let lost = watch.lost().now_or_never()?;
    let stopped = outcomes.iter().any(|o| matches!(o.status, NodeStatus::Error(_) | NodeStatus::Skipped { .. }));
    if !stopped {
        return None;
    }
    watch.abandon().await;
    Some(lost)
}

/// Runs the plan's jobs, beside `load` when sources are loading, printing a line as each
/// finishes.
async fn run_jobs(
    run: &Execution<'_>,
    open: &OpenWarehouse,
    state: State,
    load: Option<LoadWatch>,
) -> Vec<NodeOutcome> {
    let total = run.plan.jobs.len();
    let mut runner = Runner::new(open.session.clone(), open.warehouse.clone(), run.config.relations())
        .with_client_session(open.client.clone())
        .with_model_stage(run.config.model_stage.clone())
        .with_store_failures(run.store_failures)
        .with_state(state);
    if let Some(watch) = &open.engine_watch {
        runner = runner.with_engine_watch(watch.clone());
    }
    if let Some(load) = &load {
        runner = runner.with_load(load.clone());
    }
    let done = Mutex::new(0usize);
    let running: Arc<Mutex<BTreeMap<String, Instant>>> = Arc::default();
    let _progress = long_running(running.clone(), load);
    runner
        .run(&run.plan, &|event| match event {
            RunEvent::Started { id } => {
                running.lock().expect("not poisoned").insert(id.name(), Instant::now());
            }
            RunEvent::Finished(outcome) => {
                running.lock().expect("not poisoned").remove(&outcome.name);
                let mut n = done.lock().expect("not poisoned");
                *n += 1;
                println!("{}", report::node_line(*n, total, outcome));
            }
        })
        .await
}

/// A node that runs longer than this gets a progress line.
const LONG_RUNNING: Duration = Duration::from_secs(5);

/// Shows the nodes of `running` (by name, since when) that have run for long, once `load`
/// (which shows its own progress) is over.
fn long_running(running: Arc<Mutex<BTreeMap<String, Instant>>>, load: Option<LoadWatch>) -> progress::Progress {
    progress::show(move || {
        if load.as_ref().is_some_and(|load| load.ended().is_none()) {
            return None;
        }
        let running = running.lock().expect("not poisoned");
        let long: Vec<String> = running
            .iter()
            .filter(|(_, since)| since.elapsed() >= LONG_RUNNING)
            .map(|(name, since)| format!("{name} ({:.0} s)", since.elapsed().as_secs_f64()))
            .collect();
        (!long.is_empty()).then(|| format!("Still running: {}", long.join(", ")))
    })
}

/// The stamps the warehouse holds, by node: each model's relation in the target schema,
/// each raw table in its source's schema, and each test's last pass.
async fn stored_stamps(config: &ProjectConfig, open: &OpenWarehouse) -> BTreeMap<NodeId, Stamp> {
    let relations = config.relations();
    let source_of_schema: BTreeMap<&str, &str> =
        relations.source_schemas.iter().map(|(source, schema)| (schema.as_str(), source.as_str())).collect();
    let mut stored = BTreeMap::new();
    for relation in &open.attached {
        let Some(stamp) = &relation.stamp else { continue };
        let id = if relation.schema == relations.target_schema {
            NodeId::Model(relation.name.clone())
        } else if let Some(source) = source_of_schema.get(relation.schema.as_str()) {
            NodeId::Source(pitwall_core::SourceRef::new(*source, &relation.name))
        } else {
            continue;
        };
        stored.insert(id, stamp.clone());
    }
    // Unreadable, they are unknown: every test runs, and a schema the run cannot write
    // fails where it writes, naming the model.
    let tests = open.warehouse.test_stamps(&relations.target_schema).await.unwrap_or_else(|e| {
        eprintln!("warning: cannot read which tests passed before, so every test runs: {e}");
        BTreeMap::new()
    });
    stored.extend(tests.into_iter().map(|(name, stamp)| (NodeId::Test(name), stamp)));
    stored
}

/// A source to reload: the tables of it whose file or definition changed, each with the
/// stamp it is stored with.
struct SourceLoad<'a> {
    source: &'a Source,
    loader: &'a SourceLoader,
    location: &'a SourceLocation,
    stamps: BTreeMap<String, Stamp>,
    /// Its tables that stay as stored.
    unchanged: usize,
}

/// Which raw tables of `run`'s sources changed since they were stored (all of them with
/// `full_refresh`), and the state the plan runs with: the fingerprint of every raw table
/// of those sources, read from their files before anything is loaded, and of every job.
async fn stale_sources<'a>(
    run: &Execution<'a>,
    stored: BTreeMap<NodeId, Stamp>,
    full_refresh: bool,
) -> Result<(Vec<SourceLoad<'a>>, State)> {
    let mut definitions = BTreeMap::new();
    let mut loads = Vec::new();
    for &(source, loader) in &run.sources {
        let location = run.config.sources.get(&source.name).with_context(|| {
            format!("{}: no [sources.{}] section giving its location", run.config.root.display(), source.name)
        })?;
        let current = state::raw_fingerprints(source, location).await?;
        let changed = |id: &NodeId, fingerprint: &String| {
            full_refresh || stored.get(id).is_none_or(|s| &s.fingerprint != fingerprint)
        };
        let stamps: BTreeMap<String, Stamp> = current
            .iter()
            .filter_map(|(id, fingerprint)| match id {
                NodeId::Source(table) if changed(id, fingerprint) => {
                    Some((table.table.clone(), Stamp::now(fingerprint)))
                }
                _ => None,
            })
            .collect();
        let unchanged = source.tables.len() - stamps.len();
        definitions.extend(current);
        if stamps.is_empty() {
            println!("Reused the {unchanged} raw tables of source {}: no file of it changed\n", source.name);
        } else {
            loads.push(SourceLoad { source, loader, location, stamps, unchanged });
        }
    }
    for job in &run.plan.jobs {
        let definition = match job {
            Job::Model(node) => definition::model(node),
            Job::Test(test) => definition::test(test, run.store_failures),
        };
        definitions.insert(job.id(), definition);
    }
    let fingerprints = Fingerprints::compute(run.dag, &definitions, &stored);
    Ok((loads, State { fingerprints, stored, full_refresh }))
}

/// Loads `loads` one source after another, then says how the load ended through
/// `loading`, when a run reads beside it. Returns each source's stage, committed, to
/// release once that run is over.
async fn load_all(
    run: &Execution<'_>,
    open: &OpenWarehouse,
    loads: &[SourceLoad<'_>],
    loading: Option<&Loading>,
) -> Result<Vec<RawStage>> {
    let mut stages = Vec::new();
    let mut failed = None;
    for load in loads {
        match load_source(run, open, load, loading).await {
            Ok(stage) => stages.push(stage),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    if let Some(loading) = loading {
        loading.end(failed.as_ref().map_or(Ok(()), |e| Err(LoadFailed(format!("{e:#}")))));
    }
    match failed {
        None => Ok(stages),
        Some(e) => {
            for stage in stages {
                stage.release().await;
            }
            Err(e)
        }
    }
}

/// Loads the tables of `load` into its source's raw schema, streamed and staged unseen,
/// and commits them together when the whole source loaded, so a failed load leaves the
/// stored raw tables as they were. With `loading`, the run reads each table from where it
/// is staged once it is final; without, the committed tables are registered for it. The
/// models read them from the warehouse like any table, on any engine, and no loaded table
/// is held in memory.
async fn load_source(
    run: &Execution<'_>,
    open: &OpenWarehouse,
    load: &SourceLoad<'_>,
    loading: Option<&Loading>,
) -> Result<RawStage> {
    let since = Instant::now();
    let SourceLoad { source, loader, location, stamps, unchanged } = load;
    let tables = source.tables.iter().filter(|t| stamps.contains_key(&t.name)).cloned().collect();
    let subset = Source { tables, ..(*source).clone() };
    let mut stage = RawStage::new(open.warehouse.clone(), &location.schema).with_stamps(stamps.clone());
    if let Some(loading) = loading {
        stage = stage.with_readers(open.session.clone(), loading.clone(), &source.name);
    }
    if let Err(e) = (loader.load)(&subset, location, run.config, &stage).await {
        stage.discard().await;
        return Err(e.into());
    }
    let tables = match stage.commit().await {
        Ok(tables) => tables,
        Err(e) => {
            stage.release().await;
            return Err(e.into());
        }
    };
    if loading.is_none() {
        for table in &tables {
            open.warehouse.register_table(&open.session, &location.schema, table).await?;
        }
    }
    let reused = if *unchanged > 0 { format!(" ({unchanged} unchanged, reused)") } else { String::new() };
    println!(
        "Loaded and stored {} raw table{} in {} in {}{reused}\n",
        tables.len(),
        if tables.len() == 1 { "" } else { "s" },
        open.warehouse.location().join(&location.schema),
        report::elapsed(since.elapsed())
    );
    Ok(stage)
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
