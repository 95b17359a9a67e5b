//! [`Project`]: a project read from disk and resolved: its sources, models (SQL and bound
//! Rust models), tests, descriptions and the DAG over them, everything a command needs.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::parser::Statement;
use pitwall_core::dag::NodeId;
use pitwall_core::testing::TestSpec;
use pitwall_core::{Dag, Node, ProjectConfig, Relations, Source, SourceLoader};

use crate::docs::DocBlock;

/// A documented column: description from properties, type from the plan when known.
#[derive(Clone, Debug, Default)]
pub struct ColumnDoc {
    pub name: String,
    pub description: String,
    pub data_type: Option<String>,
}

/// A node's documentation.
#[derive(Clone, Debug, Default)]
pub struct NodeDoc {
    pub description: String,
    pub columns: Vec<ColumnDoc>,
    /// The properties file that describes it, if any.
    pub patch_path: Option<String>,
}

/// A declared source and what loads it.
pub struct ProjectSource {
    pub source: Source,
    /// The layer whose loader loads it (`ingestion`); empty when this binary has none.
    pub layer: &'static str,
    pub loader: Option<&'static SourceLoader>,
}

/// Each SQL model planned once, without data, over its inputs' schemas.
#[derive(Default)]
pub struct Planned {
    /// The unoptimized logical plan of every SQL model that could be planned (a model
    /// reading a Rust model's output cannot be, before that runs).
    pub plans: BTreeMap<String, LogicalPlan>,
    /// The columns (name, type) of every source table and planned model.
    pub columns: BTreeMap<NodeId, Vec<(String, String)>>,
}

pub struct Project {
    pub config: ProjectConfig,
    pub sources: Vec<ProjectSource>,
    /// Enabled models, in the DAG's topological order.
    pub nodes: Vec<Node>,
    /// Enabled tests.
    pub tests: Vec<Arc<TestSpec>>,
    pub dag: Dag,
    pub relations: Relations,
    /// Model and source descriptions and columns, keyed by node.
    pub docs: BTreeMap<NodeId, NodeDoc>,
    /// `{% docs %}` blocks by name.
    pub doc_blocks: BTreeMap<String, DocBlock>,
    /// Each SQL model's parsed statement, by name.
    pub(crate) statements: BTreeMap<String, Statement>,
    /// Set by [`Project::plan`].
    pub(crate) planned: Option<Planned>,
}

/// What selectors can match a node on, and what the docs site shows of it.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    pub id: NodeId,
    /// Folder path plus name for models and tests; `[source, table]` for sources.
    pub fqn: Vec<String>,
    pub tags: Vec<String>,
    pub path: String,
    /// The node's resolved config, as the manifest shows it, for `config.<key>:`.
    pub config: serde_json::Value,
}

impl Project {
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name() == name)
    }

    /// The plans, once [`Project::plan`] has run.
    pub fn planned(&self) -> Option<&Planned> {
        self.planned.as_ref()
    }

    /// The plan of SQL model `name`, once planned.
    /// What selectors match and the docs site shows of every source table, model and
    /// test, in that order.
    pub fn node_infos(&self) -> Vec<NodeInfo> {
        let mut infos: Vec<NodeInfo> = Vec::new();
        for s in &self.sources {
            infos.extend(s.source.tables.iter().map(|t| NodeInfo {
                id: NodeId::Source(t.reference()),
                fqn: vec![t.source.clone(), t.name.clone()],
                tags: Vec::new(),
                path: s.source.properties_path.clone(),
                config: serde_json::json!({"enabled": true}),
            }));
        }
        infos.extend(self.nodes.iter().map(|n| NodeInfo {
            id: NodeId::Model(n.name().to_owned()),
            fqn: n.spec().fqn.iter().cloned().chain([n.name().to_owned()]).collect(),
            tags: n.config.tags.clone(),
            path: n.spec().original_file_path.clone(),
            config: serde_json::to_value(&n.config).unwrap_or_default(),
        }));
        infos.extend(self.tests.iter().map(|t| NodeInfo {
            id: NodeId::Test(t.name.clone()),
            fqn: t.fqn.clone(),
            tags: t.config.tags.clone(),
            path: t.original_file_path.clone(),
            config: serde_json::to_value(&t.config).unwrap_or_default(),
        }));
        infos
    }

    pub fn plan_of(&self, name: &str) -> Option<&LogicalPlan> {
        self.planned.as_ref().and_then(|p| p.plans.get(name))
    }
}
