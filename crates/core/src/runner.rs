//! The [`Runner`]: executes a [`Plan`] of models and tests against a session and a
//! warehouse, each job as soon as the jobs it waits on have finished, independent ones
//! concurrently.
//!
//! A job whose prerequisite failed (a model error, an error-severity test failure) is
//! skipped, and so is everything waiting on it; relations outside the plan are read
//! from the warehouse as they are, and a missing one is an error naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use datafusion::prelude::SessionContext;
use tokio::task::JoinSet;

use crate::config::Materialization;
use crate::context::{ModelContext, Relations, display};
use crate::dag::NodeId;
use crate::error::{Error, Result};
use crate::model::Node;
use crate::testing::{Severity, Target, TestSpec};
use crate::warehouse::Warehouse;

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

/// Jobs and, for each, the jobs it waits on.
#[derive(Clone, Default)]
pub struct Plan {
    pub jobs: Vec<Job>,
    pub waits_on: BTreeMap<NodeId, BTreeSet<NodeId>>,
}

impl Plan {
    /// Models only, each waiting on the models it refs that are in the plan.
    pub fn models(nodes: &[Node]) -> Plan {
        let names: BTreeSet<&str> = nodes.iter().map(Node::name).collect();
        let waits_on = nodes
            .iter()
            .map(|n| {
                let deps = n
                    .spec()
                    .refs
                    .iter()
                    .filter(|r| names.contains(r.as_str()))
                    .map(|r| NodeId::Model(r.clone()))
                    .collect();
                (NodeId::Model(n.name().to_owned()), deps)
            })
            .collect();
        Plan { jobs: nodes.iter().cloned().map(Job::Model).collect(), waits_on }
    }

    /// Adds `tests`. Each waits on the models it reads that are in the plan; with `gate`,
    /// every model downstream of what a test checks also waits on the test (dbt build).
    pub fn add_tests(&mut self, tests: &[Arc<TestSpec>], gate: bool) {
        let model_specs: BTreeMap<&str, &crate::ModelSpec> = self
            .jobs
            .iter()
            .filter_map(|j| match j {
                Job::Model(n) => Some((n.name(), n.spec())),
                Job::Test(_) => None,
            })
            .collect();
        let models: BTreeMap<String, Vec<String>> =
            model_specs.iter().map(|(name, spec)| (name.to_string(), spec.refs.clone())).collect();
        let sources_of: BTreeMap<String, Vec<crate::SourceRef>> =
            model_specs.iter().map(|(name, spec)| (name.to_string(), spec.sources.clone())).collect();
        for test in tests {
            let id = NodeId::Test(test.name.clone());
            let reads = test.depends_on();
            let deps = reads
                .iter()
                .filter_map(|t| match t {
                    Target::Model(m) if models.contains_key(m) => Some(NodeId::Model(m.clone())),
                    _ => None,
                })
                .collect();
            self.waits_on.insert(id.clone(), deps);
            if gate {
                for (model, refs) in &models {
                    let reads_checked = reads.iter().any(|t| match t {
                        Target::Model(m) => refs.contains(m),
                        Target::Source(s) => sources_of[model].contains(s),
                    });
                    // A test that also reads this model or anything built from it runs
                    // after it, so it cannot gate it (a relationships test, say).
                    let downstream = descendants(&models, model);
                    let reads_downstream =
                        reads.iter().any(|t| matches!(t, Target::Model(m) if downstream.contains(m)));
                    if reads_checked && !reads_downstream {
                        self.waits_on.entry(NodeId::Model(model.clone())).or_default().insert(id.clone());
                    }
                }
            }
            self.jobs.push(Job::Test(test.clone()));
        }
    }
}

/// `model` and every model in `refs_of` built from it, directly or not.
fn descendants(refs_of: &BTreeMap<String, Vec<String>>, model: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::from([model.to_owned()]);
    let mut frontier = vec![model.to_owned()];
    while let Some(upstream) = frontier.pop() {
        for (m, refs) in refs_of {
            if refs.contains(&upstream) && found.insert(m.clone()) {
                frontier.push(m.clone());
            }
        }
    }
    found
}

#[derive(Clone, Debug)]
pub enum NodeStatus {
    /// A model was built.
    Success {
        rows: u64,
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
}

pub enum RunEvent<'a> {
    Started { id: &'a NodeId },
    Finished(&'a NodeOutcome),
}

#[derive(Clone)]
pub struct Runner {
    session: SessionContext,
    warehouse: Arc<Warehouse>,
    relations: Relations,
    model_stage: String,
    store_failures: bool,
}

impl Runner {
    pub fn new(session: SessionContext, warehouse: Arc<Warehouse>, relations: Relations) -> Self {
        Runner { session, warehouse, relations, model_stage: String::new(), store_failures: false }
    }

    /// Where models that train or load ML models keep them.
    pub fn with_model_stage(mut self, location: impl Into<String>) -> Self {
        self.model_stage = location.into();
        self
    }

    /// Keep each test's failing rows as a table in the audit schema.
    pub fn with_store_failures(mut self, store: bool) -> Self {
        self.store_failures = store;
        self
    }

    pub fn session(&self) -> &SessionContext {
        &self.session
    }

    /// Runs `plan`; returns one outcome per job, in finishing order.
    pub async fn run(&self, plan: &Plan, on_event: &(dyn Fn(RunEvent<'_>) + Send + Sync)) -> Vec<NodeOutcome> {
        let jobs: BTreeMap<NodeId, &Job> = plan.jobs.iter().map(|j| (j.id(), j)).collect();
        let mut waiting: BTreeMap<NodeId, BTreeSet<NodeId>> = jobs
            .keys()
            .map(|id| {
                let deps = plan.waits_on.get(id).cloned().unwrap_or_default();
                (id.clone(), deps.into_iter().filter(|d| jobs.contains_key(d)).collect())
            })
            .collect();
        let mut outcomes = Vec::with_capacity(jobs.len());
        let mut tasks = JoinSet::new();
        let mut started = BTreeSet::new();
        loop {
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
            let Some(joined) = tasks.join_next().await else {
                // Nothing running and nothing ready: whatever still waits is in a cycle
                // of the plan. Report it rather than drop it.
                for id in std::mem::take(&mut waiting).into_keys() {
                    let mut outcome = self.outcome_shell(jobs[&id]);
                    outcome.status = NodeStatus::Error("waits on itself through the plan (a dependency cycle)".into());
                    on_event(RunEvent::Finished(&outcome));
                    outcomes.push(outcome);
                }
                break;
            };
            let outcome = joined.unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()));
            let id = outcome.id.clone();
            waiting.remove(&id);
            on_event(RunEvent::Finished(&outcome));
            let blocks = outcome.status.blocks_downstream();
            outcomes.push(outcome);
            if blocks {
                for skipped in self.skip_dependents(&id, &mut waiting, &jobs) {
                    on_event(RunEvent::Finished(&skipped));
                    outcomes.push(skipped);
                }
            } else {
                for deps in waiting.values_mut() {
                    deps.remove(&id);
                }
            }
        }
        outcomes
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
        }
    }

    async fn run_one(self, job: Job) -> NodeOutcome {
        let mut outcome = self.outcome_shell(&job);
        let clock = Instant::now();
        let result = match &job {
            Job::Model(node) => {
                outcome.compiled_code = node.model.compiled_sql(&self.relations).and_then(|r| r.ok());
                self.materialize(node).await.map(|rows| NodeStatus::Success { rows })
            }
            Job::Test(test) => {
                outcome.compiled_code = test.compile(&self.relations).ok();
                self.test(test).await
            }
        };
        outcome.status = result.unwrap_or_else(|e| NodeStatus::Error(e.to_string()));
        outcome.elapsed = clock.elapsed();
        outcome
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
                warehouse: self.warehouse.location().to_owned(),
            })
        }
    }

    async fn materialize(&self, node: &Node) -> Result<u64> {
        let spec = node.spec();
        for r in &spec.refs {
            self.check_exists(&spec.name, &Target::Model(r.clone()))?;
        }
        for s in &spec.sources {
            self.check_exists(&spec.name, &Target::Source(s.clone()))?;
        }
        let schema = self.relations.target_schema.as_str();
        match node.config.materialized {
            Materialization::Table => {
                let ctx = ModelContext::new(self.session.clone(), self.relations.clone(), spec.clone())
                    .with_config(node.config.clone())
                    .with_model_stage(&self.model_stage);
                let frame = node.model.build(&ctx).await?;
                let stream = frame.execute_stream().await?;
                let rows = self.warehouse.write_table(schema, &spec.name, stream).await?;
                self.warehouse.register_table(&self.session, schema, &spec.name).await?;
                Ok(rows)
            }
            Materialization::View => {
                let sql = node
                    .model
                    .compiled_sql(&self.relations)
                    .ok_or_else(|| Error::model(&spec.name, "only SQL models can be views"))??;
                Warehouse::register_view(&self.session, schema, &spec.name, &sql).await?;
                let rows = self.session.table(self.relations.model(&spec.name)).await?.count().await? as u64;
                self.warehouse.write_view(schema, &spec.name, &sql).await?;
                Ok(rows)
            }
        }
    }

    async fn test(&self, test: &TestSpec) -> Result<NodeStatus> {
        for target in test.depends_on() {
            self.check_exists(&test.name, &target)?;
        }
        let sql = test.compile(&self.relations)?;
        let frame = self.session.sql(&sql).await?;
        let failures = if test.config.store_failures.unwrap_or(self.store_failures) {
            let audit = self.relations.audit_schema();
            let rows = self.warehouse.write_table(&audit, &test.name, frame.execute_stream().await?).await?;
            self.warehouse.register_table(&self.session, &audit, &test.name).await?;
            rows
        } else {
            frame.count().await? as u64
        };
        Ok(match (failures, test.config.severity) {
            (0, _) => NodeStatus::Pass,
            (n, Severity::Warn) => NodeStatus::Warn { failures: n },
            (n, Severity::Error) => NodeStatus::Fail { failures: n },
        })
    }
}
