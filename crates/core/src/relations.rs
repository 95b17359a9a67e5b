//! [`Relations`]: how refs and sources map to the warehouse's schema-qualified relations.

use std::collections::BTreeMap;

use datafusion::common::TableReference;

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

    /// Every schema a project reads or writes: its sources', the target and the audit
    /// schema, sorted, each once.
    pub fn schemas(&self) -> Vec<String> {
        let mut schemas: Vec<String> = self.source_schemas.values().cloned().collect();
        schemas.extend([self.target_schema.clone(), self.audit_schema()]);
        schemas.sort();
        schemas.dedup();
        schemas
    }

    pub fn model(&self, name: &str) -> TableReference {
        TableReference::partial(self.target_schema.as_str(), name)
    }

    pub fn source(&self, source: &str, table: &str) -> Option<TableReference> {
        self.source_schemas.get(source).map(|schema| TableReference::partial(schema.as_str(), table))
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
