//! The [`Runner`]: executes a [`Plan`] of models and tests against a session and a
//! warehouse, each job as soon as the jobs it waits on have finished, independent ones
//! concurrently.
//!
//! A job whose prerequisite failed (a model error, an error-severity test failure) is
//! skipped, and so is everything waiting on it; relations outside the plan are read
//! from the warehouse as they are, and a missing one is an error naming it. On an
//! engine with an [`EngineWatch`], losing part of it ends the work on it: what runs
//! there fails, what has not started is skipped, and nothing computed after the loss
//! is committed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use datafusion::prelude::{DataFrame, SessionContext};
use futures::FutureExt;
use tokio::task::JoinSet;

use crate::config::Materialization;
use crate::context::ModelContext;
use crate::dag::{Dag, NodeId};
use crate::error::{Error, Result};
use crate::loading::LoadWatch;
use crate::location::Location;
use crate::model::Node;
use crate::relations::{Relations, display};
use crate::state::{Fingerprints, Stamp};
use crate::testing::{Severity, Target, TestSpec};
use crate::warehouse::{StagedTable, Warehouse};
use crate::watch::EngineWatch;

/// Something the runner executes.
#[derive(Clone)]
pub enum Job {
    Model(Node),
    Test(Arc<TestSpec>),
}

impl Job {
    pub fn id(&self) -> NodeId {
        match self {
            Job::Model(n) => NodeId::Model(n.name().to_owned()),
            Job::Test(t) => NodeId::Test(t.name.clone()),
        }
    }
}

/// Jobs and, for each, the jobs it waits on, read off the project's [`Dag`].
#[derive(Clone, Default)]
pub struct Plan {
    pub jobs: Vec<Job>,
    pub waits_on: BTreeMap<NodeId, BTreeSet<NodeId>>,
}

impl Plan {
    /// `models` and `tests`, each waiting on its parents in `dag` that are in the plan
    /// and on the raw tables it reads (a runner with a load waits for those the load
    /// writes; anything else is read from the warehouse as it is). With `gate` (dbt
    /// build), a model also waits on every test of what it reads, unless that test also
    /// reads the model or something built from it (a relationships test, say), which must
    /// run after.
    pub fn new(dag: &Dag, models: Vec<Node>, tests: Vec<Arc<TestSpec>>, gate: bool) -> Plan {
        let mut jobs: Vec<Job> = models.into_iter().map(Job::Model).collect();
        jobs.extend(tests.into_iter().map(Job::Test));
        let planned: BTreeSet<NodeId> = jobs.iter().map(Job::id).collect();
        let parents_in_plan = |id: &NodeId| -> BTreeSet<NodeId> {
            let waits = |p: &&NodeId| planned.contains(*p) || matches!(p, NodeId::Source(_));
            dag.parents(id).into_iter().filter(waits).cloned().collect()
        };
        let mut waits_on: BTreeMap<NodeId, BTreeSet<NodeId>> =
            planned.iter().map(|id| (id.clone(), parents_in_plan(id))).collect();
        if gate {
            let tests = planned.iter().filter(|id| matches!(id, NodeId::Test(_)));
            for test in tests {
                let checks = dag.parents(test);
                for model in planned.iter().filter(|id| matches!(id, NodeId::Model(_))) {
                    let reads_checked = dag.parents(model).iter().any(|p| checks.contains(p));
                    let downstream = dag.descendants(model, None);
                    let reads_downstream = checks.iter().any(|c| *c == model || downstream.contains(c));
                    if reads_checked && !reads_downstream {
                        waits_on.entry(model.clone()).or_default().insert(test.clone());
                    }
                }
            }
        }
        Plan { jobs, waits_on }
    }

    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }
}

#[derive(Clone, Debug)]
pub enum NodeStatus {
    /// A model was built: a table with its row count; a view, `None`, is created
    /// (its SQL planned and stored) without running it, as a warehouse creates a view.
    Success {
        rows: Option<u64>,
    },
    /// A model or test could not run.
    Error(String),
    Skipped {
        because: String,
    },
    /// A test returned no rows.
    Pass,
    /// An error-severity test returned rows.
    Fail {
        failures: u64,
    },
    /// A warn-severity test returned rows.
    Warn {
        failures: u64,
    },
    /// Not run: the stored relation (or the test's last pass) has the fingerprint this
    /// run would build, stored at `built_at`.
    Reused {
        built_at: Option<SystemTime>,
    },
}

impl NodeStatus {
    /// Whether jobs waiting on this one must be skipped.
    pub fn blocks_downstream(&self) -> bool {
        matches!(self, NodeStatus::Error(_) | NodeStatus::Fail { .. } | NodeStatus::Skipped { .. })
    }

    /// dbt's `run_results.json` status.
    pub fn dbt_status(&self) -> &'static str {
        match self {
            NodeStatus::Success { .. } => "success",
            NodeStatus::Error(_) => "error",
            NodeStatus::Skipped { .. } => "skipped",
            NodeStatus::Pass => "pass",
            NodeStatus::Fail { .. } => "fail",
            NodeStatus::Warn { .. } => "warn",
            NodeStatus::Reused { .. } => "reused",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutcomeKind {
    Model(Materialization),
    Test(Severity),
}

#[derive(Clone, Debug)]
pub struct NodeOutcome {
    pub id: NodeId,
    pub name: String,
    pub kind: OutcomeKind,
    /// The relation a model builds (`schema.name`); empty for tests.
    pub relation: String,
    pub status: NodeStatus,
    pub started_at: SystemTime,
    pub elapsed: Duration,
    pub compiled_code: Option<String>,
    /// The fingerprint it was built (or reused) with; `None` when it has none.
    pub fingerprint: Option<String>,
}

pub enum RunEvent<'a> {
    Started { id: &'a NodeId },
    Finished(&'a NodeOutcome),
}

#[derive(Clone)]
pub struct Runner {
    session: SessionContext,
    /// Where Rust models run: `session` unless the engine is a cluster, whose plans
    /// cannot carry their in-memory batches and closures (see `with_client_session`).
    client: SessionContext,
    warehouse: Arc<Warehouse>,
    relations: Relations,
    model_stage: Option<Location>,
    store_failures: bool,
    state: Arc<State>,
    /// The engine's health, when it can lose part of itself (a cluster).
    watch: Option<Arc<dyn EngineWatch>>,
    /// The load this run starts beside, before it commits.
    load: Option<LoadWatch>,
    held: Arc<Mutex<Held>>,
}

/// What a run knows of the state: the fingerprint each job is built with, what the
/// warehouse holds, and whether reuse is allowed.
#[derive(Default)]
pub struct State {
    pub fingerprints: Fingerprints,
    /// The stamps stored with each relation and passed test, by node.
    pub stored: BTreeMap<NodeId, Stamp>,
    /// Rebuild everything (`--full-refresh`), still stamping what is built.
    pub full_refresh: bool,
}

/// Passes the run's finished outcomes on, in finishing order, once they are final: at
/// once without a load, and beside one only after it committed and what was held for it
/// was committed too (a failed load takes the run's work with it).
struct Emitter<'a> {
    on_event: &'a (dyn Fn(RunEvent<'_>) + Send + Sync),
    emitted: usize,
    open: bool,
}

impl Emitter<'_> {
    fn emit(&mut self, outcomes: &[NodeOutcome]) {
        if !self.open {
            return;
        }
        for outcome in &outcomes[self.emitted..] {
            (self.on_event)(RunEvent::Finished(outcome));
        }
        self.emitted = outcomes.len();
    }
}

/// What a run beside an uncommitted load built: committed once the load is, in the order
/// it was built. Until then what runs next reads it from where it is staged.
#[derive(Default)]
struct Held {
    commits: Vec<(NodeId, Pending)>,
    /// Committed, their staged data kept readable for the run's readers until it ends.
    shared: Vec<StagedTable>,
    /// Jobs whose held commit failed before their outcome came in, with why.
    failed: BTreeMap<NodeId, String>,
}

enum Pending {
    Table(StagedTable),
    View { schema: String, name: String, sql: String, stamp: Option<Stamp> },
}

impl Runner {
    pub fn new(session: SessionContext, warehouse: Arc<Warehouse>, relations: Relations) -> Self {
        Runner {
            client: session.clone(),
            session,
            warehouse,
            relations,
            model_stage: None,
            store_failures: false,
            state: Arc::default(),
            watch: None,
            load: None,
            held: Arc::default(),
        }
    }

    /// Reuses what `state` says is unchanged, and stamps what it builds.
    pub fn with_state(mut self, state: State) -> Self {
        self.state = Arc::new(state);
        self
    }

    /// Runs models without SQL (Rust models) on `client`, a session in this process
    /// sharing `session`'s catalog; SQL models and tests stay on `session`.
    pub fn with_client_session(mut self, client: SessionContext) -> Self {
        self.client = client;
        self
    }

    /// Where models that train or load ML models keep them.
    pub fn with_model_stage(mut self, location: Location) -> Self {
        self.model_stage = Some(location);
        self
    }

    /// Keep each test's failing rows as a table in the audit schema.
    pub fn with_store_failures(mut self, store: bool) -> Self {
        self.store_failures = store;
        self
    }

    /// Stops the work on `session` when `watch` says the engine lost part of itself, and
    /// commits nothing computed there after that.
    pub fn with_engine_watch(mut self, watch: Arc<dyn EngineWatch>) -> Self {
        self.watch = Some(watch);
        self
    }

    /// Runs beside `load`, which is still writing raw tables: a job starts once the raw
    /// tables it reads are readable, nothing built is committed before the load is, and
    /// when the load fails nothing of the run is: it returns no outcome.
    pub fn with_load(mut self, load: LoadWatch) -> Self {
        self.load = Some(load);
        self
    }

    /// Runs `plan`; returns one outcome per job, in finishing order.
    pub async fn run(&self, plan: &Plan, on_event: &(dyn Fn(RunEvent<'_>) + Send + Sync)) -> Vec<NodeOutcome> {
        let jobs: BTreeMap<NodeId, &Job> = plan.jobs.iter().map(|j| (j.id(), j)).collect();
        let mut waiting = self.waits(plan, &jobs);
        let mut emitter = Emitter { on_event, emitted: 0, open: self.load.is_none() };
        let mut outcomes = Vec::with_capacity(jobs.len());
        let mut tasks = JoinSet::new();
        let mut started = BTreeSet::new();
        let mut load = self.load.clone();
        loop {
            if let Some(load) = &load {
                match load.ended() {
                    Some(Err(_)) => break,
                    Some(Ok(())) => self.commit_held(&mut outcomes, &mut emitter).await,
                    None => {}
                }
                for deps in waiting.values_mut() {
                    deps.retain(|d| !matches!(d, NodeId::Source(table) if load.is_ready(table)));
                }
            }
            let ready: Vec<NodeId> = waiting
                .iter()
                .filter(|(id, deps)| deps.is_empty() && !started.contains(*id))
                .map(|(id, _)| id.clone())
                .collect();
            for id in ready {
                on_event(RunEvent::Started { id: &id });
                started.insert(id.clone());
                let job = jobs[&id].clone();
                let runner = self.clone();
                tasks.spawn(async move { runner.run_one(job).await });
            }
            let joined = match &mut load {
                Some(load) if load.ended().is_none() => tokio::select! {
                    joined = tasks.join_next(), if !tasks.is_empty() => joined,
                    () = load.changed() => continue,
                },
                _ => tasks.join_next().await,
            };
            let Some(joined) = joined else {
                // Nothing running and nothing ready: whatever still waits is in a cycle
                // of the plan. Report it rather than drop it.
                for id in std::mem::take(&mut waiting).into_keys() {
                    let mut outcome = self.outcome_shell(jobs[&id]);
                    outcome.status = NodeStatus::Error("waits on itself through the plan (a dependency cycle)".into());
                    outcomes.push(outcome);
                }
                break;
            };
            let outcome = joined.unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()));
            self.settle(outcome, &mut waiting, &jobs, &mut outcomes);
            if load.as_ref().is_some_and(|load| matches!(load.ended(), Some(Ok(())))) {
                // A job that saw the load still running holds its result even when the
                // load committed just after: commit it before its line goes out.
                self.commit_held(&mut outcomes, &mut emitter).await;
            }
            emitter.emit(&outcomes);
        }
        self.finish(tasks, emitter, outcomes).await
    }

    /// What each job waits on: the jobs of the plan it reads, and the raw tables of the
    /// load it reads.
    fn waits(&self, plan: &Plan, jobs: &BTreeMap<NodeId, &Job>) -> BTreeMap<NodeId, BTreeSet<NodeId>> {
        let loading: BTreeSet<NodeId> =
            self.load.iter().flat_map(|load| load.pending().iter().cloned().map(NodeId::Source)).collect();
        jobs.keys()
            .map(|id| {
                let deps = plan.waits_on.get(id).cloned().unwrap_or_default();
                (id.clone(), deps.into_iter().filter(|d| jobs.contains_key(d) || loading.contains(d)).collect())
            })
            .collect()
    }

    /// Records a finished job: jobs waiting on it may start, or are skipped when it
    /// failed.
    fn settle(
        &self,
        outcome: NodeOutcome,
        waiting: &mut BTreeMap<NodeId, BTreeSet<NodeId>>,
        jobs: &BTreeMap<NodeId, &Job>,
        outcomes: &mut Vec<NodeOutcome>,
    ) {
        let outcome = self.with_commit_failure(outcome);
        let id = outcome.id.clone();
        waiting.remove(&id);
        let blocks = outcome.status.blocks_downstream();
        outcomes.push(outcome);
        if blocks {
            outcomes.extend(self.skip_dependents(&id, waiting, jobs));
        } else {
            for deps in waiting.values_mut() {
                deps.remove(&id);
            }
        }
    }

    /// Ends a run once nothing more starts: the jobs still running finish (after a failed
    /// load, each stops short of committing), the load is waited for, what was held for
    /// it committed or thrown away, and the tests that passed are recorded. A run beside a
    /// load that failed committed nothing, and says so by returning no outcome.
    async fn finish(
        &self,
        mut tasks: JoinSet<NodeOutcome>,
        mut emitter: Emitter<'_>,
        mut outcomes: Vec<NodeOutcome>,
    ) -> Vec<NodeOutcome> {
        while let Some(joined) = tasks.join_next().await {
            let outcome = joined.unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()));
            outcomes.push(self.with_commit_failure(outcome));
        }
        if let Some(load) = &self.load {
            if load.committed().await.is_err() {
                self.drop_held().await;
                return Vec::new();
            }
            self.commit_held(&mut outcomes, &mut emitter).await;
        }
        emitter.emit(&outcomes);
        self.release_shared().await;
        if let Err(e) = self.save_test_stamps(&outcomes).await {
            // Only reuse is lost: the tests run again next time.
            tracing::warn!("cannot save which tests passed in the warehouse: {e}");
        }
        outcomes
    }

    /// The load committed: what was held for it is committed in the order it was built (a
    /// job whose commit fails is an error), and the outcomes so far are final.
    async fn commit_held(&self, outcomes: &mut [NodeOutcome], emitter: &mut Emitter<'_>) {
        let commits = std::mem::take(&mut self.held.lock().expect("not poisoned").commits);
        for (id, pending) in commits {
            let committed = match pending {
                Pending::Table(staged) => {
                    let committed = self.warehouse.commit_table_shared(&staged).await.map(drop);
                    self.held.lock().expect("not poisoned").shared.push(staged);
                    committed
                }
                Pending::View { schema, name, sql, stamp } => {
                    self.warehouse.write_view(&schema, &name, &sql, stamp.as_ref()).await
                }
            };
            if let Err(e) = committed {
                match outcomes.iter_mut().find(|o| o.id == id) {
                    Some(outcome) => outcome.status = NodeStatus::Error(e.to_string()),
                    None => _ = self.held.lock().expect("not poisoned").failed.insert(id, e.to_string()),
                }
            }
        }
        emitter.open = true;
    }

    /// `outcome`, an error when its held result failed to commit before it came in.
    fn with_commit_failure(&self, mut outcome: NodeOutcome) -> NodeOutcome {
        if let Some(why) = self.held.lock().expect("not poisoned").failed.remove(&outcome.id) {
            outcome.status = NodeStatus::Error(why);
        }
        outcome
    }

    /// The load failed: what was held for it is deleted.
    async fn drop_held(&self) {
        let commits = std::mem::take(&mut self.held.lock().expect("not poisoned").commits);
        for (_, pending) in commits {
            if let Pending::Table(staged) = pending {
                self.warehouse.discard_table(staged).await;
            }
        }
    }

    /// The run is over: what held commits kept readable for it goes.
    async fn release_shared(&self) {
        let shared = std::mem::take(&mut self.held.lock().expect("not poisoned").shared);
        for staged in shared {
            self.warehouse.release_staged(staged).await;
        }
    }

    fn skip_dependents(
        &self,
        failed: &NodeId,
        waiting: &mut BTreeMap<NodeId, BTreeSet<NodeId>>,
        jobs: &BTreeMap<NodeId, &Job>,
    ) -> Vec<NodeOutcome> {
        let mut skipped = Vec::new();
        let mut frontier = vec![failed.clone()];
        while let Some(upstream) = frontier.pop() {
            let dependents: Vec<NodeId> =
                waiting.iter().filter(|(_, deps)| deps.contains(&upstream)).map(|(id, _)| id.clone()).collect();
            for id in dependents {
                waiting.remove(&id);
                let mut outcome = self.outcome_shell(jobs[&id]);
                outcome.status = NodeStatus::Skipped { because: format!("'{}' failed", upstream.name()) };
                skipped.push(outcome);
                frontier.push(id);
            }
        }
        skipped
    }

    fn outcome_shell(&self, job: &Job) -> NodeOutcome {
        let (kind, relation) = match job {
            Job::Model(n) => (OutcomeKind::Model(n.config.materialized), display(&self.relations.model(n.name()))),
            Job::Test(t) => (OutcomeKind::Test(t.config.severity), String::new()),
        };
        NodeOutcome {
            id: job.id(),
            name: job.id().name(),
            kind,
            relation,
            status: NodeStatus::Pass,
            started_at: SystemTime::now(),
            elapsed: Duration::ZERO,
            compiled_code: None,
            fingerprint: self.state.fingerprints.get(&job.id()).map(str::to_owned),
        }
    }

    async fn run_one(self, job: Job) -> NodeOutcome {
        let mut outcome = self.outcome_shell(&job);
        let clock = Instant::now();
        // Stamped with when the build started, as run_results.json says it was built.
        let stamp = outcome.fingerprint.as_deref().map(|f| Stamp::at(f, outcome.started_at));
        let result = match &job {
            Job::Model(node) => {
                outcome.compiled_code = node.model.compiled_sql(&self.relations).and_then(|r| r.ok());
                let on_engine = outcome.compiled_code.is_some();
                match (self.reusable(&job).await, self.engine_lost().filter(|_| on_engine)) {
                    (Some(built_at), _) => Ok(NodeStatus::Reused { built_at }),
                    (None, Some(because)) => Ok(NodeStatus::Skipped { because }),
                    (None, None) => {
                        self.materialize(node, stamp.as_ref()).await.map(|rows| NodeStatus::Success { rows })
                    }
                }
            }
            Job::Test(test) => {
                outcome.compiled_code = test.compile(&self.relations).ok();
                match (self.reusable(&job).await, self.engine_lost()) {
                    (Some(built_at), _) => Ok(NodeStatus::Reused { built_at }),
                    (None, Some(because)) => Ok(NodeStatus::Skipped { because }),
                    (None, None) => self.test(test).await,
                }
            }
        };
        outcome.status = result.unwrap_or_else(|e| NodeStatus::Error(e.to_string()));
        outcome.elapsed = clock.elapsed();
        // With the loader's events, a build's timeline (`RUST_LOG=pitwall_core=debug`).
        tracing::debug!(node = %outcome.name, elapsed = ?outcome.elapsed, status = outcome.status.dbt_status(), "node ran");
        outcome
    }

    /// `Some(when it was built)` when `job` need not run: reuse is on, the job has a
    /// fingerprint, the warehouse holds a relation (or a test's pass) stamped with it,
    /// and for a model, what it keeps outside the warehouse is the one its fingerprint
    /// describes ([`Model::is_current`](crate::Model::is_current)).
    async fn reusable(&self, job: &Job) -> Option<Option<SystemTime>> {
        let id = job.id();
        let fingerprint = self.state.fingerprints.get(&id).filter(|_| !self.state.full_refresh)?;
        let stored = self.state.stored.get(&id).filter(|s| s.fingerprint == fingerprint)?;
        if let Job::Model(node) = job {
            let ctx = self.context(node, &self.client).with_fingerprint(Some(fingerprint.to_owned()));
            match node.model.is_current(&ctx).await {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => {
                    tracing::warn!("{}: cannot tell whether it is current, so it is rebuilt: {e}", node.name());
                    return None;
                }
            }
        }
        Some(stored.built_at())
    }

    fn context(&self, node: &Node, session: &SessionContext) -> ModelContext {
        ModelContext::new(session.clone(), self.relations.clone(), node.spec().clone())
            .with_config(node.config.clone())
            .with_model_stage(self.model_stage.clone())
    }

    /// The stamps of passed tests after `outcomes`: a test that passed now is recorded
    /// with its fingerprint, one that ran and did not pass is forgotten, the rest kept.
    /// Saved in the target schema, so the next run can reuse a pass.
    pub async fn save_test_stamps(&self, outcomes: &[NodeOutcome]) -> Result<()> {
        let mut stamps: BTreeMap<String, Stamp> = self
            .state
            .stored
            .iter()
            .filter_map(|(id, stamp)| match id {
                NodeId::Test(name) => Some((name.clone(), stamp.clone())),
                _ => None,
            })
            .collect();
        let mut changed = false;
        for outcome in outcomes.iter().filter(|o| matches!(o.kind, OutcomeKind::Test(_))) {
            match (&outcome.status, &outcome.fingerprint) {
                (NodeStatus::Reused { .. }, _) => {}
                (NodeStatus::Pass, Some(fingerprint)) => {
                    stamps.insert(outcome.name.clone(), Stamp::at(fingerprint, outcome.started_at));
                    changed = true;
                }
                _ => changed |= stamps.remove(&outcome.name).is_some(),
            }
        }
        if !changed {
            return Ok(());
        }
        self.warehouse.save_test_stamps(&self.relations.target_schema, &stamps).await
    }

    fn check_exists(&self, reader: &str, target: &Target) -> Result<()> {
        let (reference, model) = match target {
            Target::Model(m) => (self.relations.model(m), m.clone()),
            Target::Source(s) => (
                self.relations.source(&s.source, &s.table).ok_or_else(|| Error::UnknownSource {
                    model: reader.to_owned(),
                    source_name: s.source.clone(),
                    table: s.table.clone(),
                })?,
                reader.to_owned(),
            ),
        };
        if self.session.table_exist(reference.clone())? {
            Ok(())
        } else {
            Err(Error::MissingUpstream {
                relation: display(&reference),
                model,
                warehouse: self.warehouse.location().to_string(),
            })
        }
    }

    /// Builds a model: a table is computed and written, returning its row count; a view
    /// is planned (so a bad reference fails here) and its SQL stored, but not run (`None`).
    /// Either is stored with `stamp`, when it has one; beside an uncommitted load, it is
    /// held until the load commits, and what runs next reads it meanwhile.
    async fn materialize(&self, node: &Node, stamp: Option<&Stamp>) -> Result<Option<u64>> {
        let spec = node.spec();
        for r in &spec.refs {
            self.check_exists(&spec.name, &Target::Model(r.clone()))?;
        }
        for s in &spec.sources {
            self.check_exists(&spec.name, &Target::Source(s.clone()))?;
        }
        let schema = self.relations.target_schema.as_str();
        match node.config.materialized {
            Materialization::Table => self.build_table(node, stamp).await.map(Some),
            Materialization::View => {
                let sql = node
                    .model
                    .compiled_sql(&self.relations)
                    .ok_or_else(|| Error::model(&spec.name, "only SQL models can be views"))??;
                Warehouse::register_view(&self.session, schema, &spec.name, &sql).await?;
                if self.must_hold()? {
                    let (schema, name, stamp) = (schema.to_owned(), spec.name.clone(), stamp.cloned());
                    self.hold(node, Pending::View { schema, name, sql, stamp });
                } else {
                    self.warehouse.write_view(schema, &spec.name, &sql, stamp).await?;
                }
                Ok(None)
            }
        }
    }

    /// Computes and stores a table model; returns its row count.
    async fn build_table(&self, node: &Node, stamp: Option<&Stamp>) -> Result<u64> {
        let (schema, name) = (self.relations.target_schema.as_str(), node.name());
        let is_sql = node.model.compiled_sql(&self.relations).is_some();
        if !is_sql {
            // A Rust model may keep things outside the warehouse as it builds (the trained
            // model in the stage), so it starts only once the load is in.
            self.load_committed().await?;
        }
        let session = if is_sql { &self.session } else { &self.client };
        let ctx = self.context(node, session).with_fingerprint(stamp.map(|s| s.fingerprint.clone()));
        let frame = node.model.build(&ctx).await?;
        tracing::trace!(node = name, "planned");
        let staged = self.stage_checked(schema, name, frame, stamp, is_sql).await?;
        tracing::trace!(node = name, "staged");
        let rows = staged.rows();
        if self.must_hold()? {
            if let Err(e) = self.warehouse.register_staged(&self.session, &staged).await {
                self.warehouse.discard_table(staged).await;
                return Err(e);
            }
            self.hold(node, Pending::Table(staged));
        } else {
            self.warehouse.commit_table(staged).await?;
            self.warehouse.register_table(&self.session, schema, name).await?;
        }
        Ok(rows)
    }

    /// Whether what is built now waits for the load the run started beside: `Err` once
    /// that load failed.
    fn must_hold(&self) -> Result<bool> {
        match self.load.as_ref().map(LoadWatch::ended) {
            None | Some(Some(Ok(()))) => Ok(false),
            Some(None) => Ok(true),
            Some(Some(Err(why))) => Err(Error::LoadFailed(why)),
        }
    }

    fn hold(&self, node: &Node, pending: Pending) {
        let id = NodeId::Model(node.name().to_owned());
        self.held.lock().expect("not poisoned").commits.push((id, pending));
    }

    /// Writes `frame`'s rows as table `schema.name` once the load the run started beside
    /// committed (see [`Runner::stage_checked`] for the engine's part).
    async fn write_table(
        &self,
        schema: &str,
        name: &str,
        frame: DataFrame,
        stamp: Option<&Stamp>,
        on_engine: bool,
    ) -> Result<u64> {
        let staged = self.stage_checked(schema, name, frame, stamp, on_engine).await?;
        if let Err(e) = self.load_committed().await {
            self.warehouse.discard_table(staged).await;
            return Err(e);
        }
        self.warehouse.commit_table(staged).await
    }

    /// Computes `frame` into a staged table of `schema.name`, trusted only if the engine
    /// was whole until it finished (when the frame ran `on_engine`, not in this process).
    async fn stage_checked(
        &self,
        schema: &str,
        name: &str,
        frame: DataFrame,
        stamp: Option<&Stamp>,
        on_engine: bool,
    ) -> Result<StagedTable> {
        let stage = async {
            let stream = frame.execute_stream().await?;
            self.warehouse.stage_table(schema, name, stream, stamp).await
        };
        if !on_engine {
            return stage.await;
        }
        let staged = self.until_engine_lost(stage).await?;
        if let Err(lost) = self.engine_whole().await {
            self.warehouse.discard_table(staged).await;
            return Err(lost);
        }
        Ok(staged)
    }

    /// Waits for the load this run started beside to commit (at once without one).
    async fn load_committed(&self) -> Result<()> {
        match &self.load {
            Some(load) => load.committed().await.map_err(Error::LoadFailed),
            None => Ok(()),
        }
    }

    /// `work` on the engine, ended with an error when the engine loses part of itself.
    async fn until_engine_lost<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        let Some(watch) = &self.watch else { return work.await };
        tokio::select! {
            done = work => done,
            lost = watch.lost() => Err(Error::EngineLost(lost)),
        }
    }

    /// `Err` when the engine has lost part of itself, looking again now: a result
    /// computed there is about to be trusted.
    async fn engine_whole(&self) -> Result<()> {
        match &self.watch {
            Some(watch) => watch.check().await.map_err(Error::EngineLost),
            None => Ok(()),
        }
    }

    /// What the engine has lost so far, if anything (without waiting).
    fn engine_lost(&self) -> Option<String> {
        self.watch.as_ref().and_then(|watch| watch.lost().now_or_never())
    }

    async fn test(&self, test: &TestSpec) -> Result<NodeStatus> {
        for target in test.depends_on.clone() {
            self.check_exists(&test.name, &target)?;
        }
        let sql = test.compile(&self.relations)?;
        let frame = self.session.sql(&sql).await?;
        let failures = if test.config.store_failures.unwrap_or(self.store_failures) {
            let audit = self.relations.audit_schema();
            let rows = self.write_table(&audit, &test.name, frame, None, true).await?;
            self.warehouse.register_table(&self.session, &audit, &test.name).await?;
            rows
        } else {
            let rows = self.until_engine_lost(async { Ok(frame.count().await?) }).await?;
            self.engine_whole().await?;
            rows as u64
        };
        Ok(match (failures, test.config.severity) {
            (0, _) => NodeStatus::Pass,
            (n, Severity::Warn) => NodeStatus::Warn { failures: n },
            (n, Severity::Error) => NodeStatus::Fail { failures: n },
        })
    }
}

#[cfg(test)]
mod tests {
    use futures::future::BoxFuture;

    use super::*;
    use crate::config::ModelConfig;
    use crate::model::SqlModel;
    use crate::source::RawSink;
    use crate::spec::{Language, ModelSpec, SourceRef};
    use crate::sql::{CompiledSql, Piece};

    /// An engine that has lost part of itself: seen at once (`seen`), or only by the
    /// check before a commit.
    struct Lost {
        seen: bool,
    }

    const LOST: &str = "lost the executor e1";

    impl EngineWatch for Lost {
        fn lost(&self) -> BoxFuture<'_, String> {
            let seen = self.seen;
            Box::pin(async move {
                if !seen {
                    std::future::pending::<()>().await;
                }
                LOST.to_owned()
            })
        }

        fn check(&self) -> BoxFuture<'_, std::result::Result<(), String>> {
            Box::pin(async { Err(LOST.to_owned()) })
        }
    }

    fn table(name: &str, sql: Vec<Piece>, refs: &[&str]) -> Node {
        table_reading(name, sql, refs, &[])
    }

    fn table_reading(name: &str, sql: Vec<Piece>, refs: &[&str], sources: &[SourceRef]) -> Node {
        let spec = ModelSpec {
            name: name.into(),
            fqn: vec![],
            refs: refs.iter().map(|r| r.to_string()).collect(),
            sources: sources.to_vec(),
            own_config: Default::default(),
            language: Language::Sql,
            raw_code: String::new(),
            original_file_path: format!("models/{name}.sql"),
        };
        let config = ModelConfig { materialized: Materialization::Table, ..Default::default() };
        Node::new(Arc::new(SqlModel::new(spec, CompiledSql::new(sql))), config).unwrap()
    }

    /// Tables `a` (`rows` rows) and `b`, read from `a`.
    fn a_then_b(rows: i64) -> Plan {
        let values = (0..rows).map(|x| format!("({x})")).collect::<Vec<_>>().join(", ");
        let a = table("a", vec![Piece::Text(format!("select * from (values {values}) as t(x)"))], &[]);
        let b = table("b", vec![Piece::Text("select * from ".into()), Piece::Model("a".into())], &["a"]);
        let dag = Dag::build([a.spec(), b.spec()], &[]).unwrap();
        Plan::new(&dag, vec![a, b], vec![], false)
    }

    /// A runner on a memory warehouse that holds `a` and `b` with 3 rows each.
    async fn built_runner() -> Runner {
        let warehouse = Arc::new(Warehouse::open(&Location::parse("memory:///wh", "/".as_ref()).unwrap()).unwrap());
        let relations = Relations { target_schema: "s".into(), source_schemas: Default::default() };
        let runner = Runner::new(warehouse.session(&relations).unwrap(), warehouse, relations);
        let built = runner.run(&a_then_b(3), &|_| {}).await;
        assert!(built.iter().all(|o| matches!(o.status, NodeStatus::Success { .. })), "{built:?}");
        runner
    }

    async fn rows_of(runner: &Runner, name: &str) -> usize {
        runner.session.sql(&format!("select * from s.{name}")).await.unwrap().count().await.unwrap()
    }

    fn status<'a>(outcomes: &'a [NodeOutcome], name: &str) -> &'a NodeStatus {
        &outcomes.iter().find(|o| o.name == name).unwrap().status
    }

    #[tokio::test]
    async fn a_result_computed_while_the_engine_lost_part_of_itself_is_not_committed() {
        let runner = built_runner().await;
        let watched = runner.clone().with_engine_watch(Arc::new(Lost { seen: false }));
        let outcomes = watched.run(&a_then_b(5), &|_| {}).await;
        let NodeStatus::Error(refused) = status(&outcomes, "a") else { panic!("{outcomes:?}") };
        assert!(refused.starts_with("lost the executor e1; this result is not trusted"), "{refused}");
        assert!(matches!(status(&outcomes, "b"), NodeStatus::Skipped { .. }));
        assert_eq!(
            (rows_of(&runner, "a").await, rows_of(&runner, "b").await),
            (3, 3),
            "the warehouse keeps what it had"
        );
    }

    #[tokio::test]
    async fn once_the_engine_is_known_lost_nothing_more_runs_on_it() {
        let runner = built_runner().await;
        let watched = runner.clone().with_engine_watch(Arc::new(Lost { seen: true }));
        let outcomes = watched.run(&a_then_b(5), &|_| {}).await;
        assert!(matches!(status(&outcomes, "a"), NodeStatus::Skipped { because } if because == LOST), "{outcomes:?}");
        assert!(matches!(status(&outcomes, "b"), NodeStatus::Skipped { .. }));
        assert_eq!(rows_of(&runner, "a").await, 3);
    }

    /// Table `m` read from raw table `f1.t` (schema `raw`) and table `c` reading nothing,
    /// with a runner on a memory warehouse that holds neither, beside a load of `f1.t`.
    fn beside_a_load() -> (Runner, Plan, crate::loading::Loading, crate::warehouse::RawStage) {
        let warehouse = Arc::new(Warehouse::open(&Location::parse("memory:///wh", "/".as_ref()).unwrap()).unwrap());
        let relations =
            Relations { target_schema: "s".into(), source_schemas: [("f1".to_owned(), "raw".to_owned())].into() };
        let raw = SourceRef::new("f1", "t");
        let sql = vec![Piece::Text("select * from ".into()), Piece::Source(raw.clone())];
        let m = table_reading("m", sql, &[], std::slice::from_ref(&raw));
        let c = table("c", vec![Piece::Text("select 1 as x".into())], &[]);
        let dag = Dag::build([m.spec(), c.spec()], std::slice::from_ref(&raw)).unwrap();
        let plan = Plan::new(&dag, vec![m, c], vec![], true);
        let (loading, watch) = crate::loading::channel([raw].into());
        let session = warehouse.session(&relations).unwrap();
        let stage = crate::warehouse::RawStage::new(warehouse.clone(), "raw").with_readers(
            session.clone(),
            loading.clone(),
            "f1",
        );
        let runner = Runner::new(session, warehouse, relations).with_load(watch);
        (runner, plan, loading, stage)
    }

    fn rows(n: i64) -> datafusion::execution::SendableRecordBatchStream {
        use datafusion::arrow::array::{ArrayRef, Int64Array};
        use datafusion::arrow::record_batch::RecordBatch;
        use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
        let column: ArrayRef = Arc::new(Int64Array::from_iter_values(0..n));
        let batch = RecordBatch::try_from_iter([("x", column)]).unwrap();
        Box::pin(RecordBatchStreamAdapter::new(batch.schema(), futures::stream::iter([Ok(batch)])))
    }

    /// The tables the warehouse shows a new reader in schema `s`.
    async fn stored(runner: &Runner) -> Vec<String> {
        let session = runner.warehouse.session(&runner.relations).unwrap();
        let attached = runner.warehouse.attach(&session, &["s"]).await.unwrap();
        attached.into_iter().map(|r| r.name).collect()
    }

    /// Runs `plan` on `runner` in a task of its own, recording each event.
    fn spawn_run(
        runner: &Runner,
        plan: &Plan,
    ) -> (tokio::task::JoinHandle<Vec<NodeOutcome>>, Arc<std::sync::Mutex<Vec<String>>>) {
        let events = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (runner, plan, seen) = (runner.clone(), plan.clone(), events.clone());
        let run = tokio::spawn(async move {
            runner
                .run(&plan, &move |event| {
                    let line = match event {
                        RunEvent::Started { id } => format!("started {}", id.name()),
                        RunEvent::Finished(outcome) => format!("finished {}", outcome.name),
                    };
                    seen.lock().unwrap().push(line);
                })
                .await
        });
        (run, events)
    }

    /// Waits until `line` is among `events`; fails after 10 s rather than hang.
    async fn until(events: &std::sync::Mutex<Vec<String>>, line: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !events.lock().unwrap().iter().any(|l| l == line) {
            assert!(Instant::now() < deadline, "no '{line}' in {events:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn a_job_starts_once_the_raw_table_it_reads_is_loaded_and_commits_only_with_the_load() {
        let (runner, plan, loading, stage) = beside_a_load();
        let (run, events) = spawn_run(&runner, &plan);
        until(&events, "started c").await;
        assert!(!events.lock().unwrap().contains(&"started m".to_owned()), "m waits for raw.t");
        stage.store("t", rows(4)).await.unwrap();
        stage.finished("t").await.unwrap();
        until(&events, "started m").await;
        // Time for both to compute; neither may be stored or reported before the load is.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(stored(&runner).await, Vec::<String>::new());
        assert!(events.lock().unwrap().iter().all(|l| l.starts_with("started")), "{events:?}");

        stage.commit().await.unwrap();
        loading.end(Ok(()));
        let outcomes = run.await.unwrap();
        assert!(outcomes.iter().all(|o| matches!(o.status, NodeStatus::Success { .. })), "{outcomes:?}");
        assert_eq!(stored(&runner).await, ["c", "m"]);
        assert_eq!(rows_of(&runner, "m").await, 4);
        assert_eq!(events.lock().unwrap().iter().filter(|l| l.starts_with("finished")).count(), 2);
        stage.release().await;
    }

    #[tokio::test]
    async fn beside_a_load_that_fails_the_run_commits_nothing_and_reports_no_job() {
        let (runner, plan, loading, stage) = beside_a_load();
        let (run, events) = spawn_run(&runner, &plan);
        stage.store("t", rows(4)).await.unwrap();
        stage.finished("t").await.unwrap();
        until(&events, "started m").await;
        stage.discard().await;
        loading.end(Err(crate::loading::LoadFailed("lap_times.csv: line 9: not a number".into())));
        assert!(run.await.unwrap().is_empty());
        assert_eq!(stored(&runner).await, Vec::<String>::new());
        assert!(events.lock().unwrap().iter().all(|l| l.starts_with("started")), "{events:?}");
    }
}
