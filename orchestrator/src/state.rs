//! dbt's state comparison: `--state DIR` reads a previous run's `manifest.json`; the
//! `state:` selectors compare each node's definition (the manifest's checksum, see
//! [`pitwall_core::state`]) with it; `--defer` reads refs to unbuilt models from where
//! it says they live (each node's `database`, the warehouse, and `schema`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use pitwall_cli::Deferral;
use pitwall_core::dag::NodeId;
use pitwall_core::state::definition;
use pitwall_core::{Location, Relations};
use pitwall_project::Project;
use serde::Deserialize;

/// The checksum name of a manifest node whose checksum is pitwall's definition digest.
pub const CHECKSUM_NAME: &str = "pitwall-definition";

/// How a node compares with the previous state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// Not in the previous manifest.
    New,
    /// In it with another definition.
    Modified,
    /// In it with the same definition.
    Unmodified,
}

/// A node of the previous manifest: its definition and where its relation lives.
#[derive(Clone, Debug, Deserialize)]
struct PreviousNode {
    #[serde(default)]
    checksum: Option<Checksum>,
    #[serde(default)]
    database: Option<String>,
    #[serde(default)]
    schema: Option<String>,
    #[serde(default)]
    resource_type: String,
    #[serde(default)]
    source_name: Option<String>,
    /// A source's checksum is in its config (dbt's sources have no `checksum` field).
    #[serde(default)]
    config: Option<SourceConfig>,
}

#[derive(Clone, Debug, Deserialize)]
struct SourceConfig {
    #[serde(default)]
    checksum: Option<Checksum>,
}

impl PreviousNode {
    fn checksum(&self) -> Option<&Checksum> {
        self.checksum.as_ref().or_else(|| self.config.as_ref()?.checksum.as_ref())
    }
}

#[derive(Clone, Debug, Deserialize)]
struct Checksum {
    name: String,
    checksum: String,
}

#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    nodes: BTreeMap<String, PreviousNode>,
    #[serde(default)]
    sources: BTreeMap<String, PreviousNode>,
}

/// A previous run's manifest.
pub struct PreviousState {
    path: PathBuf,
    nodes: BTreeMap<String, PreviousNode>,
}

impl PreviousState {
    /// Reads `DIR/manifest.json`.
    pub fn load(dir: &Path) -> Result<PreviousState> {
        let path = dir.join("manifest.json");
        let bytes = std::fs::read(&path).with_context(|| {
            format!(
                "--state {}: cannot read {} (the folder of a previous run's artifacts)",
                dir.display(),
                path.display()
            )
        })?;
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .with_context(|| format!("--state {}: {} is not a manifest", dir.display(), path.display()))?;
        let mut nodes = manifest.nodes;
        nodes.extend(manifest.sources);
        Ok(PreviousState { path, nodes })
    }

    /// How each node of `project` compares with this state, by node.
    pub fn compare(&self, project: &Project) -> BTreeMap<NodeId, Comparison> {
        definitions(project)
            .into_iter()
            .map(|(id, definition)| {
                let comparison = match self.nodes.get(&id.unique_id(&project.config.name)) {
                    None => Comparison::New,
                    Some(node) => match node.checksum() {
                        Some(c) if c.name == CHECKSUM_NAME && c.checksum == definition => Comparison::Unmodified,
                        _ => Comparison::Modified,
                    },
                };
                (id, comparison)
            })
            .collect()
    }

    /// The deferral of `models` to this state's warehouse: those it has a relation for.
    pub fn deferral(&self, project: &Project, models: Vec<String>) -> Result<Option<Deferral>> {
        let project_name = &project.config.name;
        let found: Vec<(&String, &PreviousNode)> = models
            .iter()
            .filter_map(|m| self.nodes.get(&NodeId::Model(m.clone()).unique_id(project_name)).map(|n| (m, n)))
            .collect();
        let Some((_, first)) = found.first() else {
            return Ok(None);
        };
        let (Some(database), Some(schema)) = (&first.database, &first.schema) else {
            bail!(
                "--defer: {} does not say where its relations live (no database and schema on its nodes; \
                 it was written by an older pitwall: build once more to write a new one)",
                self.path.display()
            );
        };
        let warehouse = match (Location::parse(database, &project.config.root)?, &project.config.warehouse) {
            // The same credentials and endpoint as this target's object store.
            (Location::Url(url, _), Location::Url(_, options)) => Location::Url(url, options.clone()),
            (other, _) => other,
        };
        let source_schemas = self
            .nodes
            .values()
            .filter(|n| n.resource_type == "source")
            .filter_map(|n| Some((n.source_name.clone()?, n.schema.clone()?)))
            .collect();
        let relations = Relations { target_schema: schema.clone(), source_schemas };
        Ok(Some(Deferral { warehouse, relations, models: found.into_iter().map(|(m, _)| m.clone()).collect() }))
    }
}

/// Every node's definition digest: what the manifest's checksum holds and `state:`
/// compares. A test's is taken without `--store-failures` (a flag of one run, not of the
/// project).
pub fn definitions(project: &Project) -> BTreeMap<NodeId, String> {
    let mut out = BTreeMap::new();
    for s in &project.sources {
        let Some(location) = project.config.sources.get(&s.source.name) else { continue };
        for table in &s.source.tables {
            out.insert(NodeId::Source(table.reference()), definition::raw_table(table, location));
        }
    }
    for node in &project.nodes {
        out.insert(NodeId::Model(node.name().to_owned()), definition::model(node));
    }
    for test in &project.tests {
        out.insert(NodeId::Test(test.name.clone()), definition::test(test, false));
    }
    out
}
