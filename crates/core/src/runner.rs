//! The [`Runner`]: executes a set of models against a session and a warehouse, each as
//! soon as the models it refs have finished, independent ones concurrently.
//!
//! A model whose upstream failed is skipped, not run; models outside the set are read
//! from the warehouse as they are, and a missing one is an error naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use datafusion::prelude::SessionContext;
use tokio::task::JoinSet;

use crate::config::Materialization;
use crate::context::{ModelContext, Relations, display};
use crate::error::{Error, Result};
use crate::model::Node;
use crate::warehouse::Warehouse;

#[derive(Clone, Debug)]
pub enum NodeStatus {
    Success { rows: u64 },
    Error(String),
    Skipped { because: String },
}

#[derive(Clone, Debug)]
pub struct NodeOutcome {
    pub name: String,
    pub materialized: Materialization,
    pub relation: String,
    pub status: NodeStatus,
    pub started_at: SystemTime,
    pub elapsed: Duration,
    pub compiled_code: Option<String>,
}

pub enum RunEvent<'a> {
    Started { name: &'a str, materialized: Materialization, relation: &'a str },
    Finished(&'a NodeOutcome),
}

#[derive(Clone)]
pub struct Runner {
    session: SessionContext,
    warehouse: Arc<Warehouse>,
    relations: Relations,
    model_stage: String,
}

impl Runner {
    pub fn new(session: SessionContext, warehouse: Arc<Warehouse>, relations: Relations) -> Self {
        Runner { session, warehouse, relations, model_stage: String::new() }
    }

    /// Where models that train or load ML models keep them.
    pub fn with_model_stage(mut self, location: impl Into<String>) -> Self {
        self.model_stage = location.into();
        self
    }

    pub fn session(&self) -> &SessionContext {
        &self.session
    }

    /// Runs `nodes` in dependency order; returns one outcome per node, in finishing order.
    pub async fn run(&self, nodes: &[Node], on_event: &(dyn Fn(RunEvent<'_>) + Send + Sync)) -> Vec<NodeOutcome> {
        let by_name: BTreeMap<&str, &Node> = nodes.iter().map(|n| (n.name(), n)).collect();
        // Upstream edges inside the set; refs outside it are read from the warehouse.
        let mut waiting_on: BTreeMap<&str, BTreeSet<&str>> = nodes
            .iter()
            .map(|n| {
                let deps = n.spec().refs.iter().map(String::as_str).filter(|r| by_name.contains_key(r)).collect();
                (n.name(), deps)
            })
            .collect();
        let mut outcomes = Vec::with_capacity(nodes.len());
        let mut tasks = JoinSet::new();
        let mut started = BTreeSet::new();

        loop {
            let ready: Vec<&str> = waiting_on
                .iter()
                .filter(|(name, deps)| deps.is_empty() && !started.contains(*name))
                .map(|(name, _)| *name)
                .collect();
            for name in ready {
                started.insert(name);
                let node = by_name[name].clone();
                let relation = display(&self.relations.model(name));
                on_event(RunEvent::Started { name, materialized: node.config.materialized, relation: &relation });
                let runner = self.clone();
                tasks.spawn(async move { runner.run_one(node, relation).await });
            }
            let Some(joined) = tasks.join_next().await else {
                break;
            };
            let outcome = joined.unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()));
            let name = outcome.name.clone();
            waiting_on.remove(name.as_str());
            on_event(RunEvent::Finished(&outcome));
            let failed = matches!(outcome.status, NodeStatus::Error(_));
            outcomes.push(outcome);
            if failed {
                for skipped in self.skip_descendants(&name, &mut waiting_on, &by_name) {
                    on_event(RunEvent::Finished(&skipped));
                    outcomes.push(skipped);
                }
            } else {
                for deps in waiting_on.values_mut() {
                    deps.remove(name.as_str());
                }
            }
        }
        outcomes
    }

    fn skip_descendants(
        &self,
        failed: &str,
        waiting_on: &mut BTreeMap<&str, BTreeSet<&str>>,
        by_name: &BTreeMap<&str, &Node>,
    ) -> Vec<NodeOutcome> {
        let mut skipped = Vec::new();
        let mut frontier = vec![failed.to_owned()];
        while let Some(upstream) = frontier.pop() {
            let dependents: Vec<&str> =
                waiting_on.iter().filter(|(_, deps)| deps.contains(upstream.as_str())).map(|(n, _)| *n).collect();
            for name in dependents {
                waiting_on.remove(name);
                let node = by_name[name];
                skipped.push(NodeOutcome {
                    name: name.to_owned(),
                    materialized: node.config.materialized,
                    relation: display(&self.relations.model(name)),
                    status: NodeStatus::Skipped { because: format!("upstream '{upstream}' failed") },
                    started_at: SystemTime::now(),
                    elapsed: Duration::ZERO,
                    compiled_code: None,
                });
                frontier.push(name.to_owned());
            }
        }
        skipped
    }

    async fn run_one(self, node: Node, relation: String) -> NodeOutcome {
        let started_at = SystemTime::now();
        let clock = Instant::now();
        let compiled_code = node.model.compiled_sql(&self.relations).and_then(|r| r.ok());
        let status = match self.materialize(&node).await {
            Ok(rows) => NodeStatus::Success { rows },
            Err(e) => NodeStatus::Error(e.to_string()),
        };
        NodeOutcome {
            name: node.name().to_owned(),
            materialized: node.config.materialized,
            relation,
            status,
            started_at,
            elapsed: clock.elapsed(),
            compiled_code,
        }
    }

    async fn check_upstream(&self, node: &Node) -> Result<()> {
        let spec = node.spec();
        for r in &spec.refs {
            if !self.session.table_exist(self.relations.model(r))? {
                return Err(Error::MissingUpstream {
                    relation: display(&self.relations.model(r)),
                    model: r.clone(),
                    warehouse: self.warehouse.location().to_owned(),
                });
            }
        }
        for s in &spec.sources {
            let reference = self.relations.source(&s.source, &s.table).ok_or_else(|| Error::UnknownSource {
                model: spec.name.clone(),
                source_name: s.source.clone(),
                table: s.table.clone(),
            })?;
            if !self.session.table_exist(reference.clone())? {
                return Err(Error::MissingUpstream {
                    relation: display(&reference),
                    model: spec.name.clone(),
                    warehouse: self.warehouse.location().to_owned(),
                });
            }
        }
        Ok(())
    }

    async fn materialize(&self, node: &Node) -> Result<u64> {
        self.check_upstream(node).await?;
        let spec = node.spec();
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
}
