//! What a model is: a declaration ([`ModelSpec`]) the orchestrator can read without
//! running anything, and a body ([`Model::build`]) that yields a DataFusion plan.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::dataframe::DataFrame;
use serde::Serialize;

use crate::config::{ConfigPatch, ModelConfig, ProjectConfig};
use crate::context::{ModelContext, Relations};
use crate::error::{Error, Result};
use crate::template::Template;

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
    /// Folder path under the project, e.g. `["marts", "aggregates"]`; its first element
    /// is the layer.
    pub fqn: Vec<String>,
    pub refs: Vec<String>,
    pub sources: Vec<SourceRef>,
    /// The model's own config, as `dbt.config(...)` or `{{ config(...) }}` would set it.
    pub own_config: ConfigPatch,
    pub language: Language,
    /// The code as written: the SQL template, or the Rust file that defines the model.
    pub raw_code: String,
    /// Where the model is defined, relative to the workspace root.
    pub original_file_path: String,
}

impl ModelSpec {
    pub fn layer(&self) -> &str {
        self.fqn.first().map(String::as_str).unwrap_or("")
    }
}

/// A model: the declaration plus a body that yields a DataFusion plan.
///
/// Bodies must not loop over rows: every relational step is a DataFusion plan, so that
/// the engine can stream, parallelise and optimise it.
#[async_trait]
pub trait Model: Send + Sync + 'static {
    fn spec(&self) -> &ModelSpec;
    async fn build(&self, ctx: &ModelContext) -> Result<DataFrame>;

    /// The model's SQL with refs and sources resolved, for models written in SQL; views
    /// are stored as this text.
    fn compiled_sql(&self, _relations: &Relations) -> Option<Result<String>> {
        None
    }

    /// The SQL template of a model written in SQL, to compile for another warehouse
    /// ([`Relations::compile_with`]).
    fn sql_template(&self) -> Option<&Template> {
        None
    }
}

/// A model as the project sees it: its declaration with the project's folder configs
/// resolved.
#[derive(Clone)]
pub struct Node {
    pub model: Arc<dyn Model>,
    pub config: ModelConfig,
}

impl Node {
    pub fn new(model: Arc<dyn Model>, project: &ProjectConfig) -> Result<Node> {
        let spec = model.spec();
        let config = project.model_config(&spec.fqn, &spec.own_config);
        if model.compiled_sql(&Relations::default()).is_none() && config.materialized != crate::Materialization::Table {
            return Err(Error::config(
                spec.original_file_path.clone(),
                format!(
                    "model '{}' is written in Rust and must be materialized as a table (as dbt requires of Python models), not {}",
                    spec.name, config.materialized
                ),
            ));
        }
        Ok(Node { model, config })
    }

    pub fn spec(&self) -> &ModelSpec {
        self.model.spec()
    }

    pub fn name(&self) -> &str {
        &self.model.spec().name
    }
}

/// A model written as a SQL template, with its refs and sources read from the text.
pub struct SqlModel {
    spec: ModelSpec,
    template: Template,
}

impl SqlModel {
    pub fn new(
        name: impl Into<String>,
        fqn: &[&str],
        sql: impl Into<String>,
        original_file_path: impl Into<String>,
        own_config: ConfigPatch,
    ) -> Result<SqlModel> {
        let sql = sql.into();
        let original_file_path = original_file_path.into();
        let template = Template::parse(&sql).map_err(|e| Error::config(original_file_path.clone(), e))?;
        let spec = ModelSpec {
            name: name.into(),
            fqn: fqn.iter().map(|s| s.to_string()).collect(),
            refs: template.refs(),
            sources: template.sources().into_iter().map(|(s, t)| SourceRef::new(s, t)).collect(),
            own_config,
            language: Language::Sql,
            raw_code: sql,
            original_file_path,
        };
        Ok(SqlModel { spec, template })
    }
}

#[async_trait]
impl Model for SqlModel {
    fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    async fn build(&self, ctx: &ModelContext) -> Result<DataFrame> {
        let sql = ctx.compile(&self.template)?;
        Ok(ctx.session().sql(&sql).await?)
    }

    fn compiled_sql(&self, relations: &Relations) -> Option<Result<String>> {
        Some(relations.compile(&self.template, &self.spec.name))
    }

    fn sql_template(&self) -> Option<&Template> {
        Some(&self.template)
    }
}

/// The name a model or singular test takes from its file: the file's stem.
pub fn name_from_path(path: &str) -> Result<&str> {
    std::path::Path::new(path)
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| Error::config(path, "the file needs a name to name its node"))
}

/// A SQL model from an embedded `(path, text)` file, named after the file, in folder `fqn`.
pub fn sql_model(fqn: &[&str], (path, text): (&str, &str), own_config: ConfigPatch) -> Result<Arc<dyn Model>> {
    Ok(Arc::new(SqlModel::new(name_from_path(path)?, fqn, text, path, own_config)?))
}

/// SQL models from embedded files, each with no config of its own.
pub fn sql_models(fqn: &[&str], files: &[(&str, &str)]) -> Result<Vec<Arc<dyn Model>>> {
    files.iter().map(|file| sql_model(fqn, *file, ConfigPatch::default())).collect()
}

/// What a non-model file of a layer holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// dbt-shaped properties YAML: descriptions, columns, tests.
    Properties,
    /// Markdown with `{% docs name %}` blocks.
    Docs,
    /// A SQL file returning failing rows.
    SingularTest,
    /// SQL with `{% test name(model, ...) %}` blocks.
    GenericTest,
}

/// A declarative file a layer ships beside its models, embedded at build time.
#[derive(Clone, Copy, Debug)]
pub struct ProjectFile {
    pub kind: FileKind,
    /// Relative to the workspace root.
    pub path: &'static str,
    pub text: &'static str,
    /// The folder path its nodes belong to (for selectors).
    pub fqn: &'static [&'static str],
}

impl ProjectFile {
    pub const fn new(kind: FileKind, (path, text): (&'static str, &'static str), fqn: &'static [&'static str]) -> Self {
        ProjectFile { kind, path, text, fqn }
    }
}

/// Embeds a file of the calling layer crate: `embed!("models/core/fct_results.sql")` is
/// `("crates/<crate>/models/core/fct_results.sql", <its text>)`, the path as messages and
/// the manifest show it, the text compiled into the binary.
#[macro_export]
macro_rules! embed {
    ($file:literal) => {
        (
            concat!("crates/", env!("CARGO_PKG_NAME"), "/", $file),
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $file)),
        )
    };
}
