//! A loaded project: its config, sources, every layer's models, tests and descriptions,
//! and the DAG over them. Loading validates everything it can without running a model:
//! properties files, test definitions, refs, and (for SQL models, by planning them over
//! empty source tables) the columns tests name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Result, bail};
use datafusion::datasource::MemTable;
use pitwall_core::config::Overrides;
use pitwall_core::dag::NodeId;
use pitwall_core::properties::PropertiesFile;
use pitwall_core::template::{Segment, Template, blocks};
use pitwall_core::testing::{GenericTest, Target, TestCollector, TestSpec, generic_tests, singular_test};
use pitwall_core::{Dag, Error, FileKind, Node, ProjectConfig, ProjectFile, Relations};

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

pub struct Project {
    pub config: ProjectConfig,
    pub source: ingestion::Source,
    /// Enabled models, in the DAG's topological order.
    pub nodes: Vec<Node>,
    /// Enabled tests, by name.
    pub tests: Vec<Arc<TestSpec>>,
    pub dag: Dag,
    pub relations: Relations,
    /// Model and source descriptions and columns, keyed by node.
    pub docs: BTreeMap<NodeId, NodeDoc>,
    /// `{% docs %}` blocks by name.
    pub doc_blocks: BTreeMap<String, String>,
}

fn layer_files() -> Vec<ProjectFile> {
    let mut files = ingestion::files();
    files.extend(intermediate::files());
    files.extend(marts::files());
    files
}

impl Project {
    pub async fn load(root: &Path, overrides: &Overrides) -> Result<Project> {
        Self::load_with(root, overrides, &[]).await
    }

    /// Loads the project with `extra` files besides the layers' own (for tests).
    pub async fn load_with(root: &Path, overrides: &Overrides, extra: &[ProjectFile]) -> Result<Project> {
        let config = ProjectConfig::load(root, overrides)?;
        let source = ingestion::formula1()?;
        if !config.sources.contains_key(&source.name) {
            bail!(
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
        let mut nodes: Vec<Node> = models
            .into_iter()
            .map(|m| Node::new(m, &config))
            .filter(|n| n.as_ref().map_or(true, |n| n.config.enabled))
            .collect::<pitwall_core::Result<_>>()?;
        let mut dag = Dag::build(nodes.iter().map(Node::spec), &source.references())?;
        let order: Vec<String> = dag
            .topological()
            .into_iter()
            .filter_map(|id| match id {
                NodeId::Model(name) => Some(name.clone()),
                _ => None,
            })
            .collect();
        nodes.sort_by_key(|n| order.iter().position(|o| o == n.name()));
        let relations = Relations {
            target_schema: config.schema.clone(),
            source_schemas: config.sources.iter().map(|(n, s)| (n.clone(), s.schema.clone())).collect(),
        };

        let mut files = layer_files();
        files.extend_from_slice(extra);
        let mut generics: BTreeMap<String, GenericTest> = BTreeMap::new();
        let mut doc_blocks: BTreeMap<String, String> = BTreeMap::new();
        for file in &files {
            match file.kind {
                FileKind::GenericTest => {
                    for g in generic_tests(file.path, file.text)? {
                        if let Some(other) = generics.get(&g.name) {
                            bail!("{}: generic test '{}' is also defined in {}", file.path, g.name, other.path);
                        }
                        generics.insert(g.name.clone(), g);
                    }
                }
                FileKind::Docs => {
                    for b in blocks(file.text, "docs").map_err(|e| Error::config(file.path, e))? {
                        if doc_blocks.insert(b.name.clone(), b.body).is_some() {
                            bail!("{}:{}: docs block '{}' is defined twice", file.path, b.line, b.name);
                        }
                    }
                }
                FileKind::Properties | FileKind::SingularTest => {}
            }
        }

        let collector = TestCollector::new(&generics);
        let mut tests: Vec<TestSpec> = Vec::new();
        let mut docs: BTreeMap<NodeId, NodeDoc> = BTreeMap::new();
        for table in &source.tables {
            let columns = table
                .columns
                .iter()
                .map(|c| ColumnDoc {
                    name: c.name.clone(),
                    description: c.description.clone(),
                    data_type: Some(c.data_type.clone()),
                })
                .collect();
            let doc = NodeDoc {
                description: table.description.clone(),
                columns,
                patch_path: Some(source.properties_path.to_owned()),
            };
            docs.insert(NodeId::Source(table.reference()), doc);
        }
        for file in &files {
            let fqn: Vec<String> = file.fqn.iter().map(|s| s.to_string()).collect();
            match file.kind {
                FileKind::Properties => {
                    let props = PropertiesFile::parse(file.path, file.text)?;
                    tests.extend(collector.properties(file.path, file.text, &props, &fqn)?);
                    for m in &props.models {
                        let id = NodeId::Model(m.name.clone());
                        if !dag.contains(&id) {
                            bail!(
                                "{}:{}: properties for '{}', which is not a model of this project",
                                file.path,
                                line_of(file.text, &m.name),
                                m.name
                            );
                        }
                        let description = resolve_docs(&m.description, &doc_blocks, file.path)?;
                        let mut columns = Vec::new();
                        for c in &m.columns {
                            columns.push(ColumnDoc {
                                name: c.name.clone(),
                                description: resolve_docs(&c.description, &doc_blocks, file.path)?,
                                data_type: c.data_type.clone(),
                            });
                        }
                        docs.insert(id, NodeDoc { description, columns, patch_path: Some(file.path.to_owned()) });
                    }
                }
                FileKind::SingularTest => tests.extend(singular_test(file.path, file.text, &fqn)?),
                FileKind::Docs | FileKind::GenericTest => {}
            }
        }

        let mut seen = BTreeSet::new();
        for test in &tests {
            if !seen.insert(test.name.clone()) {
                bail!("{}:{}: a second test is named '{}'", test.original_file_path, test.line, test.name);
            }
            let mut depends_on = Vec::new();
            for target in test.depends_on() {
                let id = target.node_id();
                if !dag.contains(&id) {
                    let what = match target {
                        Target::Model(_) => "model",
                        Target::Source(_) => "source",
                    };
                    bail!(
                        "{}:{}: test '{}' reads {what} '{}', which is not in this project",
                        test.original_file_path,
                        test.line,
                        test.name,
                        id.name()
                    );
                }
                depends_on.push(id);
            }
            dag.add_test(&test.name, &depends_on)?;
        }

        let mut project = Project {
            config,
            source,
            nodes,
            tests: tests.into_iter().map(Arc::new).collect(),
            dag,
            relations,
            docs,
            doc_blocks,
        };
        project.check_test_columns().await?;
        Ok(project)
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name() == name)
    }

    pub fn test(&self, name: &str) -> Option<&Arc<TestSpec>> {
        self.tests.iter().find(|t| t.name == name)
    }

    /// Schemas to attach from the warehouse: the sources', the target's and the audit one.
    pub fn schemas(&self) -> Vec<String> {
        let mut schemas: Vec<String> = self.relations.source_schemas.values().cloned().collect();
        schemas.push(self.relations.target_schema.clone());
        schemas.push(self.relations.audit_schema());
        schemas.dedup();
        schemas
    }

    /// Plans every SQL model over empty source tables (no data is read) to learn its
    /// columns, records their types, and checks that each test's column exists.
    async fn check_test_columns(&mut self) -> Result<()> {
        // Planning only: no warehouse behind this session.
        let session = pitwall_core::warehouse::project_session(&self.relations)?;
        for table in &self.source.tables {
            let provider = MemTable::try_new(table.schema(), vec![vec![]])?;
            let reference = self.relations.source(&table.source, &table.name).expect("declared source");
            session.register_table(reference, Arc::new(provider))?;
        }
        let mut known: BTreeMap<NodeId, Vec<(String, String)>> = BTreeMap::new();
        for table in &self.source.tables {
            let cols = table.columns.iter().map(|c| (c.name.clone(), c.data_type.clone())).collect();
            known.insert(NodeId::Source(table.reference()), cols);
        }
        for node in &self.nodes {
            let Some(sql) = node.model.compiled_sql(&self.relations) else { continue };
            if node.spec().refs.iter().any(|r| !known.contains_key(&NodeId::Model(r.clone()))) {
                continue; // reads a model whose columns are only known once it runs
            }
            // A model that does not plan fails at run time with DataFusion's message; here
            // it only leaves its columns unchecked.
            let Ok(plan) = session.state().create_logical_plan(&sql?).await else { continue };
            let columns: Vec<(String, String)> =
                plan.schema().fields().iter().map(|f| (f.name().clone(), f.data_type().to_string())).collect();
            // Register the plan itself so models downstream can be planned in turn.
            session.register_table(
                self.relations.model(node.name()),
                Arc::new(datafusion::datasource::ViewTable::new(plan, None)),
            )?;
            known.insert(NodeId::Model(node.name().to_owned()), columns);
        }
        for test in &self.tests {
            let (Some(target), Some(column)) = (&test.attached, &test.column) else { continue };
            let Some(columns) = known.get(&target.node_id()) else { continue };
            if !columns.iter().any(|(c, _)| c == column) {
                bail!(
                    "{}:{}: test '{}' is on column '{column}', which {} '{}' does not have (it has: {})",
                    test.original_file_path,
                    test.line,
                    test.name,
                    target.node_id().resource_type(),
                    target.node_id().name(),
                    columns.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>().join(", ")
                );
            }
        }
        for (id, columns) in known {
            let doc = self.docs.entry(id).or_default();
            for (name, data_type) in columns {
                match doc.columns.iter_mut().find(|c| c.name == name) {
                    Some(c) => {
                        c.data_type.get_or_insert(data_type);
                    }
                    None => {
                        doc.columns.push(ColumnDoc { name, description: String::new(), data_type: Some(data_type) })
                    }
                }
            }
        }
        Ok(())
    }
}

/// `{{ doc('name') }}` in a description, replaced by the docs block.
fn resolve_docs(text: &str, blocks: &BTreeMap<String, String>, path: &str) -> Result<String> {
    let template = Template::parse(text).map_err(|e| Error::config(path, e))?;
    Ok(template.render(|s| match s {
        Segment::Doc(name) => {
            blocks.get(name).cloned().ok_or_else(|| Error::config(path, format!("no docs block named '{name}'")))
        }
        Segment::Text(t) => Ok(t.clone()),
        _ => Err(Error::config(path, format!("only doc() may be used in a description: '{text}'"))),
    })?)
}

fn line_of(text: &str, word: &str) -> usize {
    text.find(&format!("name: {word}")).map(|i| text[..i].matches('\n').count() + 1).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &'static str, text: &'static str) -> ProjectFile {
        ProjectFile { kind: FileKind::Properties, path: name, text, fqn: &["fixtures"] }
    }

    async fn load_error(file: ProjectFile) -> String {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        match Project::load_with(root, &Overrides::default(), &[file]).await {
            Ok(_) => panic!("{} loaded without error", file.path),
            Err(e) => format!("{e:#}"),
        }
    }

    #[tokio::test]
    async fn the_workspace_project_loads_with_its_seventeen_tests() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let project = Project::load(root, &Overrides::default()).await.unwrap();
        assert_eq!(project.tests.len(), 17);
        let doc = &project.docs[&NodeId::Model("int_results".into())];
        assert!(doc.description.starts_with("In this query"), "{}", doc.description);
        let fct = &project.docs[&NodeId::Model("fct_results".into())];
        assert!(
            fct.columns
                .iter()
                .any(|c| c.name == "fastest_lap_speed" && c.data_type.as_deref() == Some("Decimal128(6, 3)"))
        );
    }

    #[tokio::test]
    async fn a_test_on_a_missing_column_names_file_line_and_the_columns() {
        let e = load_error(fixture(
            "fixtures/properties/test_on_missing_column.yml",
            include_str!("../../fixtures/properties/test_on_missing_column.yml"),
        ))
        .await;
        assert!(e.starts_with("fixtures/properties/test_on_missing_column.yml:9:"), "{e}");
        assert!(e.contains("column 'fastest_lap_sped'") && e.contains("fastest_lap_speed"), "{e}");
    }

    #[tokio::test]
    async fn a_relationship_to_an_unknown_model_names_file_and_line() {
        let e = load_error(fixture(
            "fixtures/properties/relationship_to_unknown_model.yml",
            include_str!("../../fixtures/properties/relationship_to_unknown_model.yml"),
        ))
        .await;
        assert!(e.starts_with("fixtures/properties/relationship_to_unknown_model.yml:9:"), "{e}");
        assert!(e.contains("model 'int_lap_time_years', which is not in this project"), "{e}");
    }

    #[tokio::test]
    async fn an_unknown_key_names_file_and_line() {
        let e = load_error(fixture(
            "fixtures/properties/unknown_key.yml",
            include_str!("../../fixtures/properties/unknown_key.yml"),
        ))
        .await;
        assert!(e.starts_with("fixtures/properties/unknown_key.yml:6:"), "{e}");
        assert!(e.contains("unknown field `test`"), "{e}");
    }

    #[tokio::test]
    async fn properties_for_an_unknown_model_name_file_and_line() {
        let e = load_error(fixture(
            "fixtures/properties/unknown_model.yml",
            include_str!("../../fixtures/properties/unknown_model.yml"),
        ))
        .await;
        assert!(e.starts_with("fixtures/properties/unknown_model.yml:4:"), "{e}");
    }
}
