//! [`ModelContext`]: what a model body sees — its declared refs and sources, resolved to
//! relations of the current session, and nothing else.

use datafusion::dataframe::DataFrame;
use datafusion::prelude::SessionContext;

use crate::config::ModelConfig;
use crate::error::{Error, Result};
use crate::location::Location;
use crate::relations::Relations;
use crate::spec::ModelSpec;
use crate::sql::CompiledSql;

/// The context a model body runs in.
pub struct ModelContext {
    session: SessionContext,
    relations: Relations,
    spec: ModelSpec,
    config: ModelConfig,
    model_stage: Option<Location>,
    fingerprint: Option<String>,
}

impl ModelContext {
    /// A context whose config is the model's own (no folder configs); the runner sets the
    /// resolved one with [`ModelContext::with_config`].
    pub fn new(session: SessionContext, relations: Relations, spec: ModelSpec) -> Self {
        let mut config = ModelConfig::default();
        config.apply(&spec.own_config);
        ModelContext { session, relations, spec, config, model_stage: None, fingerprint: None }
    }

    /// Sets the fingerprint the model is built with (see [`crate::state`]).
    pub fn with_fingerprint(mut self, fingerprint: Option<String>) -> Self {
        self.fingerprint = fingerprint;
        self
    }

    /// The fingerprint the model is built with: a model that keeps something outside the
    /// warehouse (a trained model in the stage) stores it there too, so a later run can
    /// tell that it is current ([`Model::is_current`](crate::Model::is_current)).
    pub fn fingerprint(&self) -> Option<&str> {
        self.fingerprint.as_deref()
    }

    /// Sets the model's resolved config (project folders, then its own).
    pub fn with_config(mut self, config: ModelConfig) -> Self {
        self.config = config;
        self
    }

    /// The model's resolved config, as `dbt.config.get(...)` reads it.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Sets where trained ML models are stored.
    pub fn with_model_stage(mut self, location: Option<Location>) -> Self {
        self.model_stage = location;
        self
    }

    /// The model stage, or an error naming the model when the caller set none.
    pub fn model_stage(&self) -> Result<&Location> {
        self.model_stage.as_ref().ok_or_else(|| Error::model(&self.spec.name, "no model stage location is set"))
    }

    pub fn session(&self) -> &SessionContext {
        &self.session
    }

    pub fn relations(&self) -> &Relations {
        &self.relations
    }

    /// `ref('name')`: the named model, which must be among the declared refs, so the DAG
    /// the orchestrator built is the DAG that runs.
    pub async fn reference(&self, name: &str) -> Result<DataFrame> {
        if !self.spec.refs.iter().any(|r| r == name) {
            return Err(Error::model(
                &self.spec.name,
                format!("ref('{name}') is used but not declared in the model's refs"),
            ));
        }
        Ok(self.session.table(self.relations.model(name)).await?)
    }

    /// `source('source', 'table')`: a raw table, which must be among the declared sources.
    pub async fn source(&self, source: &str, table: &str) -> Result<DataFrame> {
        if !self.spec.sources.iter().any(|s| s.source == source && s.table == table) {
            return Err(Error::model(
                &self.spec.name,
                format!("source('{source}', '{table}') is used but not declared in the model's sources"),
            ));
        }
        let relation = self.relations.source(source, table).ok_or_else(|| Error::UnknownSource {
            model: self.spec.name.clone(),
            source_name: source.to_owned(),
            table: table.to_owned(),
        })?;
        Ok(self.session.table(relation).await?)
    }

    /// Compiled SQL with this context's relations.
    pub fn render(&self, sql: &CompiledSql) -> Result<String> {
        sql.render(&self.relations, &self.spec.name)
    }
}
