//! A loaded project: its config, every layer's sources, models, tests and descriptions,
//! and the DAG over them. Loading validates everything it can without running a model:
//! properties files, test definitions, refs, and (for SQL models, by planning them over
//! empty source tables) the columns tests name. Each phase is a function below, in the
//! order [`Project::load_with`] runs them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use anyhow::{Result, bail};
use datafusion::datasource::{MemTable, ViewTable};
use pitwall_core::dag::NodeId;
use pitwall_core::properties::PropertiesFile;
use pitwall_core::template::{Segment, Template, blocks};
use pitwall_core::testing::{GenericTest, Target, TestCollector, TestSpec, generic_tests, singular_test};
use pitwall_core::{
    Dag, Error, FileKind, Layer, Node, ProjectConfig, ProjectFile, Relations, Report, Source, SourceLoader,
};

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

/// A declared source and the layer that loads it.
pub struct ProjectSource {
    pub source: Source,
    pub layer: &'static str,
    pub loader: &'static SourceLoader,
}

pub struct Project {
    pub config: ProjectConfig,
    pub layers: &'static [&'static Layer],
    pub sources: Vec<ProjectSource>,
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

/// Generic test definitions and doc blocks, read before anything that uses them.
#[derive(Default)]
struct Definitions {
    generics: BTreeMap<String, GenericTest>,
    doc_blocks: BTreeMap<String, String>,
}

impl Project {
    pub async fn load(config: ProjectConfig, layers: &'static [&'static Layer]) -> Result<Project> {
        Self::load_with(config, layers, &[]).await
    }

    /// Loads the project with `extra` files besides the layers' own (for tests).
    pub async fn load_with(
        config: ProjectConfig,
        layers: &'static [&'static Layer],
        extra: &[ProjectFile],
    ) -> Result<Project> {
        let sources = declare_sources(&config, layers)?;
        let mut nodes = enabled_nodes(&config, layers)?;
        let source_refs: Vec<_> = sources.iter().flat_map(|s| s.source.references()).collect();
        let mut dag = Dag::build(nodes.iter().map(Node::spec), &source_refs)?;
        sort_topologically(&mut nodes, &dag);
        let files: Vec<ProjectFile> =
            layers.iter().flat_map(|l| l.files.iter().copied()).chain(extra.iter().copied()).collect();
        let definitions = read_definitions(&files)?;
        let mut docs = source_docs(&sources);
        let tests = collect_tests_and_docs(&files, &definitions, &dag, &mut docs)?;
        attach_tests(&mut dag, &tests)?;
        let relations = config.relations();
        let mut project = Project {
            config,
            layers,
            sources,
            nodes,
            tests: tests.into_iter().map(Arc::new).collect(),
            dag,
            relations,
            docs,
            doc_blocks: definitions.doc_blocks,
        };
        project.check_test_columns().await?;
        Ok(project)
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name() == name)
    }

    /// Every report of every layer.
    pub fn reports(&self) -> Vec<&'static Report> {
        self.layers.iter().flat_map(|l| l.reports.iter()).collect()
    }

    /// Plans every SQL model over empty source tables (no data is read) to learn its
    /// columns, records their types, and checks that each test's column exists.
    async fn check_test_columns(&mut self) -> Result<()> {
        let known = self.plan_columns().await?;
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

    /// The columns (name, type) of every source and of every SQL model that plans over
    /// them, without reading data.
    async fn plan_columns(&self) -> Result<BTreeMap<NodeId, Vec<(String, String)>>> {
        // Planning only: no warehouse behind this session.
        let session = pitwall_core::warehouse::project_session(&self.relations)?;
        let mut known: BTreeMap<NodeId, Vec<(String, String)>> = BTreeMap::new();
        for table in self.sources.iter().flat_map(|s| &s.source.tables) {
            let reference = self.relations.source(&table.source, &table.name).expect("a declared source");
            session.register_table(reference, Arc::new(MemTable::try_new(table.schema(), vec![vec![]])?))?;
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
            session.register_table(self.relations.model(node.name()), Arc::new(ViewTable::new(plan, None)))?;
            known.insert(NodeId::Model(node.name().to_owned()), columns);
        }
        Ok(known)
    }
}

/// Every layer's source, each of which needs a `[sources.<name>]` section.
fn declare_sources(config: &ProjectConfig, layers: &[&'static Layer]) -> Result<Vec<ProjectSource>> {
    let mut sources = Vec::new();
    for (layer, loader) in layers.iter().filter_map(|l| Some((l.name, l.source.as_ref()?))) {
        let source = (loader.declare)()?;
        if !config.sources.contains_key(&source.name) {
            bail!(
                "{}: no [sources.{}] section giving the location of the {} source",
                config.root.join(pitwall_core::config::PROJECT_FILE).display(),
                source.name,
                source.name
            );
        }
        sources.push(ProjectSource { source, layer, loader });
    }
    Ok(sources)
}

/// Every layer's models with the project's folder configs, disabled ones left out.
fn enabled_nodes(config: &ProjectConfig, layers: &[&'static Layer]) -> Result<Vec<Node>> {
    let mut nodes = Vec::new();
    for layer in layers {
        for model in (layer.models)()? {
            let node = Node::new(model, config)?;
            if node.config.enabled {
                nodes.push(node);
            }
        }
    }
    Ok(nodes)
}

fn sort_topologically(nodes: &mut [Node], dag: &Dag) {
    let order: BTreeMap<&str, usize> = dag
        .topological()
        .into_iter()
        .filter_map(|id| match id {
            NodeId::Model(name) => Some(name.as_str()),
            _ => None,
        })
        .enumerate()
        .map(|(i, name)| (name, i))
        .collect();
    nodes.sort_by_key(|n| order.get(n.name()).copied());
}

fn read_definitions(files: &[ProjectFile]) -> Result<Definitions> {
    let mut definitions = Definitions::default();
    for file in files {
        match file.kind {
            FileKind::GenericTest => {
                for g in generic_tests(file.path, file.text)? {
                    if let Some(other) = definitions.generics.get(&g.name) {
                        bail!("{}: generic test '{}' is also defined in {}", file.path, g.name, other.path);
                    }
                    definitions.generics.insert(g.name.clone(), g);
                }
            }
            FileKind::Docs => {
                for b in blocks(file.text, "docs").map_err(|e| Error::config(file.path, e))? {
                    if definitions.doc_blocks.insert(b.name.clone(), b.body).is_some() {
                        bail!("{}:{}: docs block '{}' is defined twice", file.path, b.line, b.name);
                    }
                }
            }
            FileKind::Properties | FileKind::SingularTest => {}
        }
    }
    Ok(definitions)
}

fn source_docs(sources: &[ProjectSource]) -> BTreeMap<NodeId, NodeDoc> {
    let mut docs = BTreeMap::new();
    for s in sources {
        for table in &s.source.tables {
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
                patch_path: Some(s.source.properties_path.to_owned()),
            };
            docs.insert(NodeId::Source(table.reference()), doc);
        }
    }
    docs
}

/// The tests of properties files and singular test files, and the models' descriptions.
fn collect_tests_and_docs(
    files: &[ProjectFile],
    definitions: &Definitions,
    dag: &Dag,
    docs: &mut BTreeMap<NodeId, NodeDoc>,
) -> Result<Vec<TestSpec>> {
    let collector = TestCollector::new(&definitions.generics);
    let mut tests: Vec<TestSpec> = Vec::new();
    for file in files {
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
                    let description = resolve_docs(&m.description, &definitions.doc_blocks, file.path)?;
                    let mut columns = Vec::new();
                    for c in &m.columns {
                        columns.push(ColumnDoc {
                            name: c.name.clone(),
                            description: resolve_docs(&c.description, &definitions.doc_blocks, file.path)?,
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
    Ok(tests)
}

/// Adds each test to the DAG under what it reads; a test reading an unknown node, or a
/// second test of the same name, is an error naming its file and line.
fn attach_tests(dag: &mut Dag, tests: &[TestSpec]) -> Result<()> {
    let mut seen = BTreeSet::new();
    for test in tests {
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
    Ok(())
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
    use std::path::Path;

    use pitwall_core::config::Overrides;

    use super::*;
    use crate::registry::LAYERS;

    fn fixture(name: &'static str, text: &'static str) -> ProjectFile {
        ProjectFile { kind: FileKind::Properties, path: name, text, fqn: &["fixtures"] }
    }

    fn workspace_config() -> ProjectConfig {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        ProjectConfig::load(root, &Overrides::default()).unwrap()
    }

    async fn load_error(file: ProjectFile) -> String {
        match Project::load_with(workspace_config(), LAYERS, &[file]).await {
            Ok(_) => panic!("{} loaded without error", file.path),
            Err(e) => format!("{e:#}"),
        }
    }

    #[tokio::test]
    async fn the_workspace_project_loads_with_its_seventeen_tests() {
        let project = Project::load(workspace_config(), LAYERS).await.unwrap();
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
