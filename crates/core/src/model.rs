//! What a model is: a declaration ([`ModelSpec`]) the orchestrator can read without
//! running anything, and a body ([`Model::build`]) that yields a DataFusion plan. A SQL
//! model is data ([`SqlModel`]: its compiled SQL); a model that needs Rust is compiled
//! into pitwall and bound to a name by the project ([`CompiledModel`]).

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::dataframe::DataFrame;

use crate::config::{Materialization, ModelConfig};
use crate::context::ModelContext;
use crate::error::{Error, Result};
use crate::relations::Relations;
use crate::spec::ModelSpec;
use crate::sql::CompiledSql;

/// A model: the declaration plus a body that yields a DataFusion plan.
///
/// Bodies must not loop over rows: every relational step is a DataFusion plan, so that
/// the engine can stream, parallelise and optimise it.
#[async_trait]
pub trait Model: Send + Sync + 'static {
    fn spec(&self) -> &ModelSpec;
    async fn build(&self, ctx: &ModelContext) -> Result<DataFrame>;

    /// Whether what the model keeps outside its relation (a trained model in the stage)
    /// is the one `ctx.fingerprint()` describes, so a stored relation with that
    /// fingerprint may be reused. Most models keep nothing else.
    async fn is_current(&self, _ctx: &ModelContext) -> Result<bool> {
        Ok(true)
    }

    /// The compiled SQL of a model written in SQL; views are stored as its text.
    fn compiled(&self) -> Option<&CompiledSql> {
        None
    }

    /// The model's SQL with refs and sources resolved to `relations`, for models written
    /// in SQL.
    fn compiled_sql(&self, relations: &Relations) -> Option<Result<String>> {
        self.compiled().map(|sql| sql.render(relations, &self.spec().name))
    }
}

/// A model as the project sees it: its declaration with its config resolved (folder
/// configs, properties, then the model's own).
#[derive(Clone)]
pub struct Node {
    pub model: Arc<dyn Model>,
    pub config: ModelConfig,
}

impl Node {
    /// A node, refused when a model without SQL is not a table (as dbt refuses a Python
    /// model that is not).
    pub fn new(model: Arc<dyn Model>, config: ModelConfig) -> Result<Node> {
        let spec = model.spec();
        if model.compiled().is_none() && config.materialized != Materialization::Table {
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

/// A model written in SQL: its declaration and its compiled SQL.
pub struct SqlModel {
    spec: ModelSpec,
    sql: CompiledSql,
}

impl SqlModel {
    pub fn new(spec: ModelSpec, sql: CompiledSql) -> SqlModel {
        SqlModel { spec, sql }
    }
}

#[async_trait]
impl Model for SqlModel {
    fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    async fn build(&self, ctx: &ModelContext) -> Result<DataFrame> {
        let sql = ctx.render(&self.sql)?;
        Ok(ctx.session().sql(&sql).await?)
    }

    fn compiled(&self) -> Option<&CompiledSql> {
        Some(&self.sql)
    }
}

/// A model written in Rust and compiled into pitwall, which a project binds to a model
/// name in a properties file (`config: {rust_model: <name>}`), so its description, tags,
/// meta and folder are the project's like any model's.
pub struct CompiledModel {
    /// The name a project binds it by.
    pub name: &'static str,
    /// The models it reads (`ctx.reference`), by name: the DAG's edges into it.
    pub refs: &'static [&'static str],
    /// Its Rust source, as the manifest's `raw_code`.
    pub code: &'static str,
    /// Where that source is, for messages.
    pub code_path: &'static str,
    /// The model, declared by the project as `spec`.
    pub make: fn(ModelSpec) -> Arc<dyn Model>,
}
