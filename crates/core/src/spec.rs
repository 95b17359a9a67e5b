//! What the orchestrator knows of a model before running it: [`ModelSpec`].

use serde::Serialize;

use crate::config::ConfigPatch;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct SourceRef {
    pub source: String,
    pub table: String,
}

impl SourceRef {
    pub fn new(source: impl Into<String>, table: impl Into<String>) -> Self {
        SourceRef { source: source.into(), table: table.into() }
    }

    /// dbt's unique id for a source table.
    pub fn unique_id(&self, project: &str) -> String {
        format!("source.{project}.{}.{}", self.source, self.table)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Sql,
    Rust,
}

/// Everything the orchestrator knows about a model before running it.
#[derive(Clone, Debug)]
pub struct ModelSpec {
    pub name: String,
    /// Folder path in the project, e.g. `["marts", "aggregates"]`: its path under the model
    /// path it was found in, as dbt's fqn (without the project name and the model's own).
    pub fqn: Vec<String>,
    pub refs: Vec<String>,
    pub sources: Vec<SourceRef>,
    /// The config the model file sets (`{{ config(...) }}`), the strongest level.
    pub own_config: ConfigPatch,
    pub language: Language,
    /// The code as written: the model's file, or for a compiled model its Rust source.
    pub raw_code: String,
    /// The file that defines the model (a SQL file, or the properties file that binds a
    /// compiled model), relative to the project root.
    pub original_file_path: String,
}

impl ModelSpec {
    /// The project's top folder the model is in (a layer, in the workshop's layout).
    pub fn layer(&self) -> &str {
        self.fqn.first().map(String::as_str).unwrap_or("")
    }
}
