//! [`ModelContext`]: what a model body sees — its declared refs and sources, resolved to
//! relations of the current session, and nothing else.

use std::collections::BTreeMap;

use datafusion::common::TableReference;
use datafusion::dataframe::DataFrame;
use datafusion::prelude::SessionContext;

use crate::config::ModelConfig;
use crate::error::{Error, Result};
use crate::location::Location;
use crate::model::ModelSpec;
use crate::template::{Segment, Template};

/// How refs and sources map to warehouse relations (schema-qualified names).
#[derive(Clone, Debug, Default)]
pub struct Relations {
    /// The schema models are built into.
    pub target_schema: String,
    /// Source name -> the schema its raw tables live in.
    pub source_schemas: BTreeMap<String, String>,
}

impl Relations {
    /// Where `--store-failures` keeps failing rows (dbt's `<schema>_dbt_test__audit`).
    pub fn audit_schema(&self) -> String {
        format!("{}_dbt_test__audit", self.target_schema)
    }

    pub fn model(&self, name: &str) -> TableReference {
        TableReference::partial(self.target_schema.as_str(), name)
    }

    pub fn source(&self, source: &str, table: &str) -> Option<TableReference> {
        self.source_schemas.get(source).map(|schema| TableReference::partial(schema.as_str(), table))
    }

    /// Compiles a template: refs and sources become quoted, schema-qualified names.
    pub fn compile(&self, template: &Template, model: &str) -> Result<String> {
        self.compile_with(template, model, quoted)
    }

    /// Compiles a template with refs and sources named by `name` (another warehouse's
    /// spelling of the same relations).
    pub fn compile_with(
        &self,
        template: &Template,
        model: &str,
        name: impl Fn(&TableReference) -> String,
    ) -> Result<String> {
        template.render(|segment| match segment {
            Segment::Ref(referenced) => Ok(name(&self.model(referenced))),
            Segment::Source(source, table) => self.source(source, table).map(|r| name(&r)).ok_or_else(|| {
                Error::UnknownSource { model: model.to_owned(), source_name: source.clone(), table: table.clone() }
            }),
            Segment::Doc(name) => Err(Error::model(model, format!("doc('{name}') is only allowed in descriptions"))),
            Segment::Config(_) => Ok(String::new()),
            Segment::Var(name) => Err(Error::model(model, format!("unknown variable {{{{ {name} }}}}"))),
            Segment::Text(t) => Ok(t.clone()),
        })
    }
}

/// `schema.table`, for messages.
pub fn display(r: &TableReference) -> String {
    r.to_string()
}

/// `"schema"."table"`, for SQL.
pub fn quoted(r: &TableReference) -> String {
    match r {
        TableReference::Bare { table } => format!("\"{table}\""),
        TableReference::Partial { schema, table } => format!("\"{schema}\".\"{table}\""),
        TableReference::Full { catalog, schema, table } => format!("\"{catalog}\".\"{schema}\".\"{table}\""),
    }
}

/// The context a model body runs in.
pub struct ModelContext {
    session: SessionContext,
    relations: Relations,
    spec: ModelSpec,
    config: ModelConfig,
    model_stage: Option<Location>,
}

impl ModelContext {
    /// A context whose config is the model's own (no folder configs); the runner sets the
    /// resolved one with [`ModelContext::with_config`].
    pub fn new(session: SessionContext, relations: Relations, spec: ModelSpec) -> Self {
        let mut config = ModelConfig::default();
        config.apply(&spec.own_config);
        ModelContext { session, relations, spec, config, model_stage: None }
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

    pub fn compile(&self, template: &Template) -> Result<String> {
        self.relations.compile(template, &self.spec.name)
    }
}
