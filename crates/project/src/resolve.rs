//! Resolving a project: its files read ([`crate::files`]), properties parsed, sources
//! declared, every SQL model and test rendered once ([`crate::jinja`]) and parsed as SQL,
//! Rust models bound by name, configs resolved (the model file's `config()` over its
//! properties entry over the folder configs of `pitwall.toml`), the DAG built, tests
//! attached and descriptions read. Every problem is collected, so one load reports them
//! all; a project with any is refused.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use pitwall_core::config::ConfigPatch;
use pitwall_core::dag::NodeId;
use pitwall_core::source::{ColumnType, SourceColumn, SourceTable};
use pitwall_core::testing::{Target, TestSpec};
use pitwall_core::{CompiledModel, Dag, Error, Language, Layer, ModelSpec, Node, ProjectConfig, Source, SqlModel};

use crate::data_tests::{TestCollector, singular_test};
use crate::diagnostics::{Diagnostic, Diagnostics, did_you_mean};
use crate::docs::{DocBlock, doc_blocks};
use crate::files::{Discovered, ProjectFile, discover};
use crate::jinja::{Jinja, Known, find_call};
use crate::project::{ColumnDoc, NodeDoc, Project, ProjectSource};
use crate::properties::{ModelProperties, PropertiesFile};

/// dbt's built-in generic tests, written as `{% test %}` blocks.
const BUILTIN_TESTS: &str = include_str!("builtin_tests.sql");

/// How strictly a load binds Rust models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bindings {
    /// Every `rust_model` must be compiled into this binary (`pitwall`).
    Required,
    /// A model bound to a Rust model this binary lacks is left out (a layer binary, which
    /// runs only its own layer's models).
    Available,
}

/// Reads and resolves the project `config` describes, with the Rust models and loaders of
/// `layers`.
pub fn load(config: ProjectConfig, layers: &[&'static Layer], bindings: Bindings) -> Result<Project, Diagnostics> {
    let mut diags = Diagnostics::default();
    let files = discover(&config.paths, &mut diags);
    let properties = parse_properties(&files.properties, &mut diags);
    let sources = declare_sources(&config, &properties, layers, &mut diags);
    let doc_blocks = doc_blocks(&files.docs, &mut diags);
    let bound = bound_models(&config, &properties, &files, &mut diags);
    let known = known(&config, &files, &bound, &sources, &doc_blocks);
    let builtins = ProjectFile { path: "<built-in tests>".into(), folder: Vec::new(), text: BUILTIN_TESTS.into() };
    let jinja = Jinja::new(known, &files.macros, &files.generic_tests, &builtins, &mut diags);
    let patches = properties_patches(&properties);
    let mut models = sql_models(&config, &files.models, &patches, &jinja, &mut diags);
    models.nodes.extend(rust_models(&config, &bound, layers, bindings, &mut diags));
    // A bound model this binary left out, or a disabled one, takes its tests with it.
    let present: BTreeSet<&str> = models.nodes.iter().map(Node::name).collect();
    let absent: BTreeSet<String> =
        bound.iter().map(|b| b.entry.name.clone()).filter(|n| !present.contains(n.as_str())).collect();
    models.disabled.extend(absent);
    let source_refs: Vec<_> = sources.iter().flat_map(|s| s.source.references()).collect();
    let mut dag = match Dag::build(models.nodes.iter().map(Node::spec), &source_refs) {
        Ok(dag) => dag,
        Err(e) => {
            diags.push(dag_problem(&e, &models.nodes));
            Dag::default()
        }
    };
    sort_topologically(&mut models.nodes, &dag);
    let mut tests = collect_tests(&files, &properties, &jinja, &dag, &models.disabled, &mut diags);
    tests.retain(|t| !t.depends_on.iter().any(|d| matches!(d, Target::Model(m) if models.disabled.contains(m))));
    attach_tests(&mut dag, &tests, diags.is_empty(), &mut diags);
    let docs = describe(&sources, &properties, &dag, &jinja, &mut diags);
    let relations = config.relations();
    let project = Project {
        relations,
        sources,
        nodes: models.nodes,
        tests: tests.into_iter().map(Arc::new).collect(),
        dag,
        docs,
        doc_blocks,
        statements: models.statements,
        planned: None,
        config,
    };
    diags.into_result(project)
}

fn parse_properties<'f>(files: &'f [ProjectFile], diags: &mut Diagnostics) -> Vec<(&'f ProjectFile, PropertiesFile)> {
    files
        .iter()
        .filter_map(|f| match PropertiesFile::parse(&f.path, &f.text) {
            Ok(props) => Some((f, props)),
            Err(d) => {
                diags.push(d);
                None
            }
        })
        .collect()
}

/// The line of `name: <entry>` in a properties file.
fn entry_line(text: &str, entry: &str) -> usize {
    text.find(&format!("name: {entry}")).map(|i| text[..i].matches('\n').count() + 1).unwrap_or(1)
}

/// Every source declared in properties files, with its columns' warehouse types; each needs
/// a `[sources.<name>]` location in `pitwall.toml`.
fn declare_sources(
    config: &ProjectConfig,
    properties: &[(&ProjectFile, PropertiesFile)],
    layers: &[&'static Layer],
    diags: &mut Diagnostics,
) -> Vec<ProjectSource> {
    let loader = layers.iter().find_map(|l| l.loader.as_ref().map(|loader| (l.name, loader)));
    let mut sources: Vec<ProjectSource> = Vec::new();
    for (file, props) in properties {
        for declared in &props.sources {
            let line = entry_line(&file.text, &declared.name);
            if sources.iter().any(|s| s.source.name == declared.name) {
                diags.push(Diagnostic::at(
                    &file.path,
                    line,
                    None,
                    format!("source '{}' is declared twice", declared.name),
                ));
                continue;
            }
            if !config.sources.contains_key(&declared.name) {
                let message = format!(
                    "source '{}' has no [sources.{}] section in pitwall.toml giving the location of its files",
                    declared.name, declared.name
                );
                diags.push(Diagnostic::at(&file.path, line, None, message));
            }
            let tables = declared.tables.iter().map(|t| source_table(file, &declared.name, t, diags)).collect();
            let source = Source {
                name: declared.name.clone(),
                description: declared.description.clone(),
                tables,
                properties_path: file.path.clone(),
            };
            sources.push(ProjectSource {
                source,
                layer: loader.map(|(layer, _)| layer).unwrap_or_default(),
                loader: loader.map(|(_, l)| l),
            });
        }
    }
    sources
}

fn source_table(
    file: &ProjectFile,
    source: &str,
    table: &crate::properties::TableProperties,
    diags: &mut Diagnostics,
) -> SourceTable {
    let columns = table
        .columns
        .iter()
        .filter_map(|c| {
            let problem = |m: String| Diagnostic::at(&file.path, entry_line(&file.text, &c.name), None, m);
            let Some(data_type) = c.data_type.clone() else {
                let m = format!("column {}.{} has no data_type (pitwall loads each column as its type)", table.name, c.name);
                diags.push(problem(m));
                return None;
            };
            let Some(column_type) = ColumnType::parse(&data_type) else {
                let m = format!(
                    "column {}.{}: unsupported data_type '{data_type}' (pitwall loads NUMBER(p,0), FLOAT, VARCHAR, DATE)",
                    table.name, c.name
                );
                diags.push(problem(m));
                return None;
            };
            Some(SourceColumn { name: c.name.clone(), column_type, data_type, description: c.description.clone() })
        })
        .collect();
    SourceTable {
        source: source.to_owned(),
        name: table.name.clone(),
        description: table.description.clone(),
        file: format!("{}.csv", table.identifier.as_deref().unwrap_or(&table.name)),
        columns,
    }
}

/// A properties entry that makes a model of its own: a Rust model bound by name.
struct Bound<'f> {
    file: &'f ProjectFile,
    entry: &'f ModelProperties,
    rust_model: String,
}

/// The properties entries that bind Rust models (`rust_model`, set in the entry's config
/// or a folder config); a name bound twice, or also a SQL file, is a problem.
fn bound_models<'f>(
    config: &ProjectConfig,
    properties: &'f [(&'f ProjectFile, PropertiesFile)],
    files: &Discovered,
    diags: &mut Diagnostics,
) -> Vec<Bound<'f>> {
    let sql: BTreeMap<&str, &str> = files.models.iter().map(|f| (f.stem(), f.path.as_str())).collect();
    let mut bound: Vec<Bound<'f>> = Vec::new();
    for (file, props) in properties {
        for entry in &props.models {
            let resolved = config.model_config(&file.folder, &[&entry.config]);
            let Some(rust_model) = resolved.rust_model else { continue };
            let line = entry_line(&file.text, &entry.name);
            if let Some(path) = sql.get(entry.name.as_str()) {
                let m = format!("'{}' binds rust_model '{rust_model}' but is also the SQL model {path}", entry.name);
                diags.push(Diagnostic::at(&file.path, line, None, m));
            } else if let Some(other) = bound.iter().find(|b| b.entry.name == entry.name) {
                let m = format!("model '{}' is also bound in {}", entry.name, other.file.path);
                diags.push(Diagnostic::at(&file.path, line, None, m));
            } else {
                bound.push(Bound { file, entry, rust_model });
            }
        }
    }
    bound
}

fn known(
    config: &ProjectConfig,
    files: &Discovered,
    bound: &[Bound<'_>],
    sources: &[ProjectSource],
    docs: &BTreeMap<String, DocBlock>,
) -> Known {
    let mut models: BTreeSet<String> = files.models.iter().map(|f| f.stem().to_owned()).collect();
    models.extend(bound.iter().map(|b| b.entry.name.clone()));
    let relations = config.relations();
    Known {
        project: config.name.clone(),
        target: config.target.clone(),
        target_schema: config.schema.clone(),
        models,
        sources: sources
            .iter()
            .map(|s| {
                let schema = relations.source_schemas.get(&s.source.name).cloned().unwrap_or_else(|| "raw".into());
                (s.source.name.clone(), (schema, s.source.tables.iter().map(|t| t.name.clone()).collect()))
            })
            .collect(),
        vars: config.vars.clone(),
        docs: docs.iter().map(|(name, block)| (name.clone(), block.body.clone())).collect(),
    }
}

/// Each model's properties-level config, by name.
fn properties_patches<'p>(properties: &'p [(&ProjectFile, PropertiesFile)]) -> BTreeMap<&'p str, &'p ConfigPatch> {
    properties.iter().flat_map(|(_, p)| p.models.iter().map(|m| (m.name.as_str(), &m.config))).collect()
}

#[derive(Default)]
struct SqlModels {
    nodes: Vec<Node>,
    statements: BTreeMap<String, Statement>,
    /// Models turned off (`enabled = false`): their tests are off too, as in dbt.
    disabled: BTreeSet<String>,
}

/// Every SQL model file rendered, configured and parsed, on every core; a model named
/// twice (in two folders) is a problem naming both files.
fn sql_models(
    config: &ProjectConfig,
    files: &[ProjectFile],
    patches: &BTreeMap<&str, &ConfigPatch>,
    jinja: &Jinja,
    diags: &mut Diagnostics,
) -> SqlModels {
    let mut out = SqlModels::default();
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    let mut unique = Vec::with_capacity(files.len());
    for file in files {
        match seen.insert(file.stem(), &file.path) {
            Some(first) => {
                let message = format!("a second model is named '{}' (the first is {first})", file.stem());
                diags.push(Diagnostic::at(&file.path, 1, None, message));
            }
            None => unique.push(file),
        }
    }
    let results = par_map(&unique, |file| sql_model(config, file, patches.get(file.stem()).copied(), jinja));
    for (file, result) in unique.iter().zip(results) {
        match result {
            Ok(Some((node, statement))) => {
                out.statements.insert(node.name().to_owned(), statement);
                out.nodes.push(node);
            }
            Ok(None) => {
                out.disabled.insert(file.stem().to_owned());
            }
            Err(d) => diags.push(d),
        }
    }
    out
}

/// `f` of every item, in order, the items shared out over the machine's cores: rendering
/// and parsing a model depends on no other, and a large project has thousands (so does
/// describing them, in the manifest).
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    if threads < 2 || items.len() < 64 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            items.chunks(chunk).map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<R>>())).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    })
}

/// One SQL model: rendered, its config resolved, its SQL parsed; `None` when disabled.
fn sql_model(
    config: &ProjectConfig,
    file: &ProjectFile,
    patch: Option<&ConfigPatch>,
    jinja: &Jinja,
) -> Result<Option<(Node, Statement)>, Diagnostic> {
    let name = file.stem();
    let rendered = jinja.render(&file.path, &file.text, Some(name))?;
    let own_config: ConfigPatch =
        serde_json::from_value(serde_json::Value::Object(rendered.captured.config)).map_err(|e| {
            let line = find_call(&file.text, "config").map(|(l, _)| l).unwrap_or(1);
            Diagnostic::at(&file.path, line, None, format!("config(): {e}"))
        })?;
    let spec = ModelSpec {
        name: name.to_owned(),
        fqn: file.folder.clone(),
        refs: rendered.captured.refs,
        sources: rendered.captured.sources,
        own_config,
        language: Language::Sql,
        raw_code: file.text.clone(),
        original_file_path: file.path.clone(),
    };
    let patches: Vec<&ConfigPatch> = patch.into_iter().chain([&spec.own_config]).collect();
    let resolved = config.model_config(&spec.fqn, &patches);
    if !resolved.enabled {
        return Ok(None);
    }
    let sql = rendered.sql.render(&config.relations(), name).map_err(|e| Diagnostic::new(&file.path, e.to_string()))?;
    let statement = parse_sql(file, &sql)?;
    let node = Node::new(Arc::new(SqlModel::new(spec, rendered.sql)), resolved)
        .map_err(|e| Diagnostic::new(&file.path, e.to_string()))?;
    Ok(Some((node, statement)))
}

/// Parses a model's rendered SQL as DataFusion will: one statement, or a problem at the
/// line and column of the model file where the parser stopped.
fn parse_sql(file: &ProjectFile, sql: &str) -> Result<Statement, Diagnostic> {
    let mut statements = DFParser::parse_sql_with_dialect(sql, &GenericDialect {})
        .map_err(|e| parse_problem(file, sql, &e.to_string()))?;
    match (statements.pop_front(), statements.is_empty()) {
        (Some(statement), true) => Ok(statement),
        (None, _) => Err(Diagnostic::new(&file.path, "the model has no SQL statement")),
        (Some(_), false) => Err(Diagnostic::new(&file.path, "a model is one SQL statement; this file has several")),
    }
}

/// A parser error at the model file's line; the column too when that line compiled to
/// itself (no Jinja on it), else the compiled line is quoted.
fn parse_problem(file: &ProjectFile, sql: &str, error: &str) -> Diagnostic {
    // DataFusion wraps sqlparser's message: `SQL error: ParserError("...")`.
    let inner = error.split_once("ParserError(\"").map_or(error, |(_, rest)| rest.trim_end_matches("\")"));
    let (line, column) = parser_position(inner).unwrap_or((1, 1));
    let message = inner.replace(&format!(" at Line: {line}, Column: {column}"), "");
    let compiled = sql.lines().nth(line.saturating_sub(1)).unwrap_or("").trim();
    let source = source_line(&file.text, sql, line);
    let same = file.text.lines().nth(source - 1).is_some_and(|l| l.trim() == compiled);
    match same {
        true => Diagnostic::at(&file.path, source, Some(column), format!("SQL does not parse: {message}")),
        false => Diagnostic::at(
            &file.path,
            source,
            None,
            format!("SQL does not parse: {message} (at column {column} of the compiled line: {compiled})"),
        ),
    }
}

/// `(line, column)` of sqlparser's "... at Line: 3, Column: 7".
fn parser_position(message: &str) -> Option<(usize, usize)> {
    let at = message.rfind("Line: ")?;
    let rest = &message[at + 6..];
    let (line, rest) = rest.split_once(", Column: ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

/// The line of the model file that rendered as line `line` of `rendered`: the one with
/// the same text when it is unique, else counted from the end, since Jinja that renders to
/// nothing (a `config()` block) sits at the top of a file.
fn source_line(source: &str, rendered: &str, line: usize) -> usize {
    let text = rendered.lines().nth(line.saturating_sub(1)).unwrap_or("").trim();
    if !text.is_empty() {
        let mut same = source.lines().enumerate().filter(|(_, l)| l.trim() == text);
        if let (Some((i, _)), None) = (same.next(), same.next()) {
            return i + 1;
        }
    }
    let shift = source.lines().count().saturating_sub(rendered.lines().count());
    line + shift
}

/// The models bound to Rust models, configured; a binding to a Rust model this binary
/// does not have is a problem (or, for [`Bindings::Available`], leaves the model out).
fn rust_models(
    config: &ProjectConfig,
    bound: &[Bound<'_>],
    layers: &[&'static Layer],
    bindings: Bindings,
    diags: &mut Diagnostics,
) -> Vec<Node> {
    let compiled: Vec<&'static CompiledModel> = layers.iter().flat_map(|l| l.compiled_models.iter()).collect();
    let mut nodes = Vec::new();
    for b in bound {
        let line = entry_line(&b.file.text, &b.entry.name);
        let Some(model) = compiled.iter().find(|m| m.name == b.rust_model) else {
            if bindings == Bindings::Required {
                let names: Vec<&str> = compiled.iter().map(|m| m.name).collect();
                let message = format!(
                    "rust_model '{}' is not compiled into pitwall{} (it has: {})",
                    b.rust_model,
                    did_you_mean(&b.rust_model, names.iter().copied()),
                    names.join(", ")
                );
                diags.push(Diagnostic::at(&b.file.path, line, None, message));
            }
            continue;
        };
        let spec = ModelSpec {
            name: b.entry.name.clone(),
            fqn: b.file.folder.clone(),
            refs: model.refs.iter().map(|r| r.to_string()).collect(),
            sources: Vec::new(),
            own_config: ConfigPatch::default(),
            language: Language::Rust,
            raw_code: model.code.to_owned(),
            original_file_path: b.file.path.clone(),
        };
        let resolved = config.model_config(&spec.fqn, &[&b.entry.config]);
        if !resolved.enabled {
            continue;
        }
        match Node::new((model.make)(spec), resolved) {
            Ok(node) => nodes.push(node),
            Err(e) => diags.push(Diagnostic::at(&b.file.path, line, None, e.to_string())),
        }
    }
    nodes
}

/// A DAG error as a problem at the file of the model it names.
fn dag_problem(e: &Error, nodes: &[Node]) -> Diagnostic {
    let path_of = |name: &str| {
        nodes.iter().find(|n| n.name() == name).map(|n| n.spec().original_file_path.clone()).unwrap_or_default()
    };
    match e {
        Error::Cycle(path) => Diagnostic::new(path_of(&path[0]), format!("dependency cycle: {}", path.join(" -> "))),
        Error::UnknownRef { model, target } => {
            let near = did_you_mean(target, nodes.iter().map(|n| n.name()));
            Diagnostic::new(path_of(model), format!("model '{model}' refs '{target}', which is not a model{near}"))
        }
        other => Diagnostic::new("<project>", other.to_string()),
    }
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

/// The tests of properties files and of singular test files.
fn collect_tests(
    files: &Discovered,
    properties: &[(&ProjectFile, PropertiesFile)],
    jinja: &Jinja,
    dag: &Dag,
    disabled: &BTreeSet<String>,
    diags: &mut Diagnostics,
) -> Vec<TestSpec> {
    let collector = TestCollector::new(jinja);
    let mut tests = Vec::new();
    for (file, props) in properties {
        for entry in &props.models {
            let off = disabled.contains(&entry.name) || entry.config.enabled == Some(false);
            if !dag.contains(&NodeId::Model(entry.name.clone())) && !off && !jinja.known().models.contains(&entry.name)
            {
                let near = did_you_mean(&entry.name, jinja.known().models.iter().map(String::as_str));
                let message = format!("properties for '{}', which is not a model of this project{near}", entry.name);
                diags.push(Diagnostic::at(&file.path, entry_line(&file.text, &entry.name), None, message));
            }
        }
    }
    // Each file's tests render on their own: shared out over the cores, kept in order.
    let per_file = par_map(properties, |(file, props)| {
        let mut found = Diagnostics::default();
        (collector.properties(file, props, &mut found), found)
    });
    for (found, problems) in per_file {
        tests.extend(found);
        diags.0.extend(problems.0);
    }
    for file in &files.singular_tests {
        match singular_test(jinja, file) {
            Ok(test) => tests.extend(test),
            Err(d) => diags.push(d),
        }
    }
    tests
}

/// Adds each test to the DAG under what it reads; a test reading an unknown node, or a
/// second test of the same name, is a problem naming its file and line.
fn attach_tests(dag: &mut Dag, tests: &[TestSpec], dag_is_whole: bool, diags: &mut Diagnostics) {
    let mut seen = BTreeSet::new();
    for test in tests {
        let at = |m: String| Diagnostic::at(&test.original_file_path, test.line, None, m);
        if !seen.insert(test.name.clone()) {
            diags.push(at(format!("a second test is named '{}'", test.name)));
            continue;
        }
        let missing = test.depends_on.iter().map(Target::node_id).find(|id| !dag.contains(id));
        if let Some(id) = missing {
            if dag_is_whole {
                let message = format!(
                    "test '{}' reads {} '{}', which is not in this project",
                    test.name,
                    id.resource_type(),
                    id.name()
                );
                diags.push(at(message));
            }
            continue;
        }
        let depends_on: Vec<NodeId> = test.depends_on.iter().map(Target::node_id).collect();
        if let Err(e) = dag.add_test(&test.name, &depends_on) {
            diags.push(at(e.to_string()));
        }
    }
}

/// Source and model descriptions, `doc()` blocks rendered in.
fn describe(
    sources: &[ProjectSource],
    properties: &[(&ProjectFile, PropertiesFile)],
    dag: &Dag,
    jinja: &Jinja,
    diags: &mut Diagnostics,
) -> BTreeMap<NodeId, NodeDoc> {
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
            let patch_path = Some(s.source.properties_path.clone());
            docs.insert(
                NodeId::Source(table.reference()),
                NodeDoc { description: table.description.clone(), columns, patch_path },
            );
        }
    }
    for (file, props) in properties {
        for m in props.models.iter().filter(|m| dag.contains(&NodeId::Model(m.name.clone()))) {
            let mut render = |text: &str| {
                jinja.render_description(&file.path, text).unwrap_or_else(|d| {
                    diags.push(d);
                    String::new()
                })
            };
            let description = render(&m.description);
            let columns = m
                .columns
                .iter()
                .map(|c| ColumnDoc {
                    name: c.name.clone(),
                    description: render(&c.description),
                    data_type: c.data_type.clone(),
                })
                .collect();
            docs.insert(
                NodeId::Model(m.name.clone()),
                NodeDoc { description, columns, patch_path: Some(file.path.clone()) },
            );
        }
    }
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loads a project of `files` (path, text) written to a temporary folder.
    fn load_files(files: &[(&str, &str)]) -> Result<Project, Diagnostics> {
        let dir = tempfile::tempdir().unwrap();
        let toml = "[project]\nname = \"p\"\n[sources.f]\nlocation = \"data\"\n[warehouse]\nschema = \"a\"\n\
                    [models.marts]\nmaterialized = \"table\"\ntags = [\"folder\"]\n";
        let mut all = vec![("pitwall.toml", toml)];
        all.extend_from_slice(files);
        for (path, text) in all {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let config = ProjectConfig::load(dir.path(), &Default::default()).unwrap();
        load(config, &[], Bindings::Required)
    }

    const SOURCES: (&str, &str) = (
        "models/sources.yml",
        "version: 2\nsources:\n  - name: f\n    tables:\n      - name: t\n        columns:\n          - {name: id, data_type: 'NUMBER(38,0)'}\n",
    );

    #[test]
    fn the_model_files_config_beats_its_properties_which_beat_the_folders() {
        let project = load_files(&[
            SOURCES,
            ("models/marts/m.sql", "{{ config(materialized='view') }}select id from {{ source('f', 't') }}"),
            ("models/marts/n.sql", "select id from {{ ref('m') }}"),
            ("models/marts/m.yml", "version: 2\nmodels:\n  - name: m\n    config: {materialized: table, tags: [props]}\n  - name: n\n    config: {tags: [props]}\n"),
        ])
        .unwrap();
        let (m, n) = (project.node("m").unwrap(), project.node("n").unwrap());
        assert_eq!(m.config.materialized.to_string(), "view");
        assert_eq!(m.config.tags, ["folder", "props"]);
        assert_eq!(n.config.materialized.to_string(), "table");
        assert_eq!(n.spec().refs, ["m"]);
        assert_eq!(n.spec().fqn, ["marts"]);
    }

    #[test]
    fn a_cycle_an_unbound_rust_model_and_a_missing_data_type_are_all_reported() {
        let sources = SOURCES.1.replace(", data_type: 'NUMBER(38,0)'", "");
        let error = load_files(&[
            ("models/sources.yml", &sources),
            ("models/a.sql", "select * from {{ ref('b') }}"),
            ("models/b.sql", "select * from {{ ref('a') }}"),
            ("models/r.yml", "version: 2\nmodels:\n  - name: r\n    config: {rust_model: trian}\n"),
        ])
        .err()
        .expect("the project is refused")
        .to_string();
        assert!(error.contains("models/sources.yml:7: column t.id has no data_type"), "{error}");
        assert!(error.contains("models/r.yml:3: rust_model 'trian' is not compiled into pitwall"), "{error}");
        assert!(error.contains("models/a.sql: dependency cycle: a -> b -> a"), "{error}");
    }

    #[test]
    fn a_parser_error_is_placed_on_the_line_of_the_model_file() {
        assert_eq!(parser_position("sql parser error: Expected: x, found: y at Line: 3, Column: 7"), Some((3, 7)));
        let source = "{{ config(\n  tags=['x']\n) }}\nselect a,\nfrom t";
        let rendered = "\nselect a,\nfrom t";
        assert_eq!(source_line(source, rendered, 3), 5);
        assert_eq!(source_line(source, rendered, 2), 4);
    }
}
