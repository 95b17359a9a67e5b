//! Planning: every SQL model planned once, without data, over its inputs' schemas, in DAG
//! order. Source tables are registered empty with their declared columns; each planned
//! model is then registered as an empty table of its planned schema, so a ref in a plan
//! is a scan of that model, never its plan inlined. The plans are what column lineage,
//! the catalog, the docs and the check of test columns read.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::datasource::MemTable;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use pitwall_core::dag::NodeId;

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::project::{ColumnDoc, Planned, Project};

impl Project {
    /// Plans every SQL model (once; later calls return at once) and checks that each
    /// test's column exists. A model that does not plan, or a test on a column its model
    /// lacks, is a problem naming the file; the project is then refused.
    pub async fn plan(&mut self) -> Result<(), Diagnostics> {
        if self.planned.is_some() {
            return Ok(());
        }
        let mut diags = Diagnostics::default();
        let planned = self.plan_models(&mut diags).await;
        self.check_test_columns(&planned.columns, &mut diags);
        self.record_column_types(&planned.columns);
        self.planned = Some(planned);
        diags.into_result(())
    }

    async fn plan_models(&self, diags: &mut Diagnostics) -> Planned {
        let mut planned = Planned::default();
        let session = match pitwall_core::warehouse::project_session(&self.relations) {
            Ok(session) => session,
            Err(e) => {
                diags.push(Diagnostic::new("<planning>", e.to_string()));
                return planned;
            }
        };
        for table in self.sources.iter().flat_map(|s| &s.source.tables) {
            let Some(reference) = self.relations.source(&table.source, &table.name) else { continue };
            if let Err(e) = register_empty(&session, reference, table.schema()) {
                diags.push(Diagnostic::new(&table.source, e.to_string()));
            }
            let cols = table.columns.iter().map(|c| (c.name.clone(), c.data_type.clone())).collect();
            planned.columns.insert(NodeId::Source(table.reference()), cols);
        }
        for node in &self.nodes {
            let Some(statement) = self.statements.get(node.name()) else { continue };
            if node.spec().refs.iter().any(|r| !planned.columns.contains_key(&NodeId::Model(r.clone()))) {
                continue; // reads a model whose columns are only known once it runs
            }
            let path = &node.spec().original_file_path;
            let plan = match session.state().statement_to_plan(statement.clone()).await {
                Ok(plan) => plan,
                Err(e) => {
                    diags.push(Diagnostic::new(path, format!("SQL does not plan: {e}")));
                    continue;
                }
            };
            let schema = Arc::new(plan.schema().as_arrow().clone());
            if let Err(e) = register_empty(&session, self.relations.model(node.name()), schema) {
                diags.push(Diagnostic::new(path, e.to_string()));
            }
            planned.columns.insert(NodeId::Model(node.name().to_owned()), columns(&plan));
            planned.plans.insert(node.name().to_owned(), plan);
        }
        planned
    }

    fn check_test_columns(&self, known: &BTreeMap<NodeId, Vec<(String, String)>>, diags: &mut Diagnostics) {
        for test in &self.tests {
            let (Some(target), Some(column)) = (&test.attached, &test.column) else { continue };
            let Some(columns) = known.get(&target.node_id()) else { continue };
            if !columns.iter().any(|(c, _)| c == column) {
                let names: Vec<&str> = columns.iter().map(|(c, _)| c.as_str()).collect();
                let message = format!(
                    "test '{}' is on column '{column}', which {} '{}' does not have{} (it has: {})",
                    test.name,
                    target.node_id().resource_type(),
                    target.node_id().name(),
                    crate::diagnostics::did_you_mean(column, names.iter().copied()),
                    names.join(", ")
                );
                diags.push(Diagnostic::at(&test.original_file_path, test.line, None, message));
            }
        }
    }

    /// Each documented model's columns with their planned types; undocumented ones added.
    fn record_column_types(&mut self, known: &BTreeMap<NodeId, Vec<(String, String)>>) {
        for (id, columns) in known {
            let doc = self.docs.entry(id.clone()).or_default();
            for (name, data_type) in columns {
                match doc.columns.iter_mut().find(|c| &c.name == name) {
                    Some(c) => {
                        c.data_type.get_or_insert(data_type.clone());
                    }
                    None => doc.columns.push(ColumnDoc {
                        name: name.clone(),
                        description: String::new(),
                        data_type: Some(data_type.clone()),
                    }),
                }
            }
        }
    }
}

fn register_empty(
    session: &SessionContext,
    reference: datafusion::common::TableReference,
    schema: datafusion::arrow::datatypes::SchemaRef,
) -> datafusion::error::Result<()> {
    let table = MemTable::try_new(schema, vec![vec![]])?;
    session.register_table(reference, Arc::new(table)).map(|_| ())
}

fn columns(plan: &LogicalPlan) -> Vec<(String, String)> {
    plan.schema().fields().iter().map(|f| (f.name().clone(), f.data_type().to_string())).collect()
}
