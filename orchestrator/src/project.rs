//! A loaded project: its config, sources, every layer's models and the DAG over them.

use std::path::Path;

use anyhow::Result;
use pitwall_core::config::Overrides;
use pitwall_core::dag::NodeId;
use pitwall_core::{Dag, Node, ProjectConfig, Relations};

pub struct Project {
    pub config: ProjectConfig,
    pub source: ingestion::Source,
    /// Enabled models, in the DAG's topological order.
    pub nodes: Vec<Node>,
    pub dag: Dag,
    pub relations: Relations,
}

impl Project {
    pub fn load(root: &Path, overrides: &Overrides) -> Result<Project> {
        let config = ProjectConfig::load(root, overrides)?;
        let source = ingestion::formula1()?;
        if !config.sources.contains_key(&source.name) {
            anyhow::bail!(
                "{}: no [sources.{}] section giving the location of the {} source",
                root.join(pitwall_core::config::PROJECT_FILE).display(),
                source.name,
                source.name
            );
        }
        let mut models = staging::models()?;
        models.extend(intermediate::models()?);
        models.extend(marts::models()?);
        models.extend(ml::models()?);
        let nodes: Vec<Node> = models
            .into_iter()
            .map(|m| Node::new(m, &config))
            .filter(|n| n.as_ref().map_or(true, |n| n.config.enabled))
            .collect::<pitwall_core::Result<_>>()?;
        let dag = Dag::build(nodes.iter().map(Node::spec), &source.references())?;
        let order: Vec<String> = dag
            .topological()
            .into_iter()
            .filter_map(|id| match id {
                NodeId::Model(name) => Some(name.clone()),
                _ => None,
            })
            .collect();
        let mut nodes = nodes;
        nodes.sort_by_key(|n| order.iter().position(|o| o == n.name()));
        let relations = Relations {
            target_schema: config.schema.clone(),
            source_schemas: config.sources.iter().map(|(n, s)| (n.clone(), s.schema.clone())).collect(),
        };
        Ok(Project { config, source, nodes, dag, relations })
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name() == name)
    }

    /// Schemas to attach from the warehouse: the sources' and the target's.
    pub fn schemas(&self) -> Vec<&str> {
        let mut schemas: Vec<&str> = self.relations.source_schemas.values().map(String::as_str).collect();
        schemas.push(&self.relations.target_schema);
        schemas.dedup();
        schemas
    }
}
