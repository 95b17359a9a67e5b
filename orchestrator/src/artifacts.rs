//! dbt-compatible artifacts: `manifest.json` (every node, its dependencies, configs,
//! descriptions, columns and tests) and `run_results.json` (one result per executed
//! node), with dbt's field names where they exist, so tooling habits carry over.
//!
//! Both validate against dbt's published schemas (manifest v12, run results v6; checked
//! by `.ci/dbt-artifacts` in the end-to-end tests), which forbid unknown fields almost
//! everywhere: what only pitwall knows goes where dbt allows it, `metadata.env` (a map of
//! strings) or a node's `config` and `meta`, never into fields of its own.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, SecondsFormat, Utc};
use pitwall_core::dag::NodeId;
use pitwall_core::runner::OutcomeKind;
use pitwall_core::source::SourceTable;
use pitwall_core::state::definition;
use pitwall_core::testing::{Target, TestSpec};
use pitwall_core::{Language, Node, NodeOutcome, NodeStatus};
use serde_json::{Map, Value, json};

use crate::cli::Selection;
use crate::state::CHECKSUM_NAME;
use pitwall_project::{NodeDoc, Project, ProjectSource};

/// The adapter type the manifest names (dbt's is the warehouse's: `snowflake`, ...).
const ADAPTER_TYPE: &str = "pitwall";

fn timestamp(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// One id per process, so the manifest and the run results of one invocation share it,
/// as dbt's do.
fn invocation_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_nanos();
        format!("{:032x}", nanos ^ u128::from(std::process::id()))
    })
}

/// The metadata both artifacts share. dbt keeps custom environment values in `env` (a map
/// of strings): pitwall's target, its version (dbt's `dbt_version` is left out: this is
/// not dbt), and the project name and adapter type, which run results have no field for.
fn metadata(project: &Project, schema: &str) -> Value {
    json!({
        "dbt_schema_version": format!("https://schemas.getdbt.com/dbt/{schema}"),
        "generated_at": timestamp(SystemTime::now()),
        "invocation_id": invocation_id(),
        "env": {
            "PITWALL_TARGET": project.config.target,
            "PITWALL_VERSION": env!("CARGO_PKG_VERSION"),
            "PITWALL_PROJECT_NAME": project.config.name,
            "PITWALL_ADAPTER_TYPE": ADAPTER_TYPE,
        },
    })
}

fn columns(doc: Option<&NodeDoc>) -> Value {
    let mut out = Map::new();
    for c in doc.map(|d| d.columns.as_slice()).unwrap_or_default() {
        out.insert(
            c.name.clone(),
            json!({"name": c.name, "description": c.description, "data_type": c.data_type, "meta": {}, "tags": []}),
        );
    }
    Value::Object(out)
}

fn uid(project: &Project, id: &NodeId) -> String {
    id.unique_id(&project.config.name)
}

/// A node of the manifest, described on its own: nodes are serialized on every core.
enum Described<'p> {
    Model(&'p Node),
    Test(&'p TestSpec),
}

/// Every model and test as (unique id, its JSON text), made on every core: a project of
/// ten thousand models has twenty thousand nodes.
fn nodes(project: &Project) -> Vec<(String, Vec<u8>)> {
    let described: Vec<Described<'_>> =
        project.nodes.iter().map(Described::Model).chain(project.tests.iter().map(|t| Described::Test(t))).collect();
    let mut json = pitwall_project::par_map(&described, |d| {
        let (id, value) = match d {
            Described::Model(node) => (NodeId::Model(node.name().to_owned()), model_node(project, node)),
            Described::Test(test) => (NodeId::Test(test.name.clone()), test_node(project, test)),
        };
        (uid(project, &id), serde_json::to_vec(&value).expect("JSON values serialize"))
    });
    json.sort_by(|a, b| a.0.cmp(&b.0));
    json
}

/// `{"key": <json>, ...}` from pieces already serialized.
fn object_of(pieces: &[(String, Vec<u8>)], out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (key, json)) in pieces.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, key).expect("a key serializes");
        out.push(b':');
        out.extend_from_slice(json);
    }
    out.push(b'}');
}

/// The manifest, serialized.
pub fn manifest(project: &Project) -> Vec<u8> {
    let (parent_map, child_map) = graph_maps(project);
    // Resource kinds pitwall does not have are there, empty: dbt's schema requires them.
    let rest = json!({
        "metadata": manifest_metadata(project),
        "sources": source_nodes(project),
        "macros": {},
        "docs": doc_nodes(project),
        "exposures": {},
        "metrics": {},
        "groups": {},
        "selectors": {},
        "disabled": {},
        "semantic_models": {},
        "saved_queries": {},
        "unit_tests": {},
        "parent_map": parent_map,
        "child_map": child_map,
        "group_map": {},
    });
    // Compact, as dbt writes it: a large project's manifest is tens of megabytes pretty.
    // The nodes are serialized on every core, then the rest of the object after them.
    let mut bytes = b"{\"nodes\":".to_vec();
    object_of(&nodes(project), &mut bytes);
    let rest = serde_json::to_vec(&rest).expect("JSON values serialize");
    if rest.len() > 2 {
        bytes.push(b',');
        bytes.extend_from_slice(&rest[1..]);
    } else {
        bytes.push(b'}');
    }
    bytes
}

/// The manifest's metadata: the shared one, with the fields only the manifest has.
fn manifest_metadata(project: &Project) -> Value {
    let mut metadata = metadata(project, "manifest/v12.json");
    metadata["project_name"] = json!(project.config.name);
    metadata["adapter_type"] = json!(ADAPTER_TYPE);
    // pitwall sends no usage statistics anywhere.
    metadata["send_anonymous_usage_stats"] = json!(false);
    metadata
}

/// Every table of every source, by unique id.
fn source_nodes(project: &Project) -> Map<String, Value> {
    let mut sources = Map::new();
    for s in &project.sources {
        for table in &s.source.tables {
            let id = NodeId::Source(table.reference());
            sources.insert(uid(project, &id), source_node(project, s, table));
        }
    }
    sources
}

/// Every `{% docs %}` block, by unique id.
fn doc_nodes(project: &Project) -> Map<String, Value> {
    let name = &project.config.name;
    project
        .doc_blocks
        .iter()
        .map(|(n, block)| {
            let id = format!("doc.{name}.{n}");
            let (path, body) = (&block.path, &block.body);
            let doc = json!({
                "unique_id": id,
                "resource_type": "doc",
                "name": n,
                "package_name": name,
                "path": path,
                "original_file_path": path,
                "block_contents": body,
            });
            (id, doc)
        })
        .collect()
}

fn model_node(project: &Project, node: &Node) -> Value {
    let name = &project.config.name;
    let spec = node.spec();
    let id = NodeId::Model(spec.name.clone());
    let doc = project.docs.get(&id);
    let mut depends: Vec<String> = spec.refs.iter().map(|r| uid(project, &NodeId::Model(r.clone()))).collect();
    depends.extend(spec.sources.iter().map(|s| s.unique_id(name)));
    let mut fqn = vec![name.clone()];
    fqn.extend(spec.fqn.iter().cloned());
    fqn.push(spec.name.clone());
    let docs = json!({"show": true, "node_color": node.config.node_color});
    json!({
        "unique_id": uid(project, &id),
        "resource_type": "model",
        "name": spec.name,
        "package_name": name,
        "path": project_path(&spec.fqn, &spec.original_file_path),
        "original_file_path": spec.original_file_path,
        "patch_path": doc.and_then(|d| d.patch_path.clone()),
        "fqn": fqn,
        "database": project.config.warehouse.to_string(),
        "schema": project.relations.target_schema,
        "alias": spec.name,
        "relation_name": format!("{}.{}", project.relations.target_schema, spec.name),
        "language": match spec.language { Language::Sql => "sql", Language::Rust => "rust" },
        "raw_code": spec.raw_code,
        "checksum": checksum(definition::model(node)),
        "description": doc.map(|d| d.description.clone()).unwrap_or_default(),
        "columns": columns(doc),
        "config": {
            "enabled": node.config.enabled,
            "materialized": node.config.materialized.to_string(),
            "tags": node.config.tags,
            "meta": node.config.meta,
            "docs": docs,
        },
        "tags": node.config.tags,
        "meta": node.config.meta,
        "docs": docs,
        "refs": spec.refs.iter().map(|r| json!({"name": r, "package": null, "version": null})).collect::<Vec<_>>(),
        "sources": spec.sources.iter().map(|s| json!([s.source, s.table])).collect::<Vec<_>>(),
        "depends_on": {"nodes": depends, "macros": []},
    })
}

fn test_node(project: &Project, test: &TestSpec) -> Value {
    let name = &project.config.name;
    let id = NodeId::Test(test.name.clone());
    let depends: Vec<String> = test.depends_on.iter().map(|t| uid(project, &t.node_id())).collect();
    let mut fqn = vec![name.clone()];
    fqn.extend(test.fqn.iter().cloned());
    let macros: Vec<String> = test.test_name.iter().map(|t| format!("macro.{name}.test_{t}")).collect();
    json!({
        "unique_id": uid(project, &id),
        "resource_type": "test",
        "name": test.name,
        "package_name": name,
        "path": project_path(&test.fqn[..test.fqn.len().saturating_sub(1)], &test.original_file_path),
        "original_file_path": test.original_file_path,
        "fqn": fqn,
        "database": project.config.warehouse.to_string(),
        "schema": project.relations.audit_schema(),
        "alias": test.name,
        "language": "sql",
        "raw_code": test.raw_code,
        "checksum": checksum(definition::test(test, false)),
        "description": "",
        "column_name": test.column,
        "attached_node": test.attached.as_ref().map(|t: &Target| uid(project, &t.node_id())),
        "test_metadata": test.test_name.as_ref().map(|t| json!({"name": t, "kwargs": test.kwargs, "namespace": null})),
        "config": {
            "enabled": test.config.enabled,
            "materialized": "test",
            "severity": test.config.severity,
            "tags": test.config.tags,
            "store_failures": test.config.store_failures,
        },
        "tags": test.config.tags,
        "depends_on": {"nodes": depends, "macros": macros},
    })
}

fn source_node(project: &Project, loaded_by: &ProjectSource, table: &SourceTable) -> Value {
    let source = &loaded_by.source;
    let name = &project.config.name;
    let id = NodeId::Source(table.reference());
    let location = &project.config.sources[&table.source];
    json!({
        "unique_id": uid(project, &id),
        "resource_type": "source",
        "name": table.name,
        "source_name": table.source,
        "package_name": name,
        "path": source.properties_path,
        "original_file_path": source.properties_path,
        "fqn": [name, table.source, table.name],
        "database": project.config.warehouse.to_string(),
        "schema": location.schema,
        "identifier": table.name,
        "relation_name": format!("{}.{}", location.schema, table.name),
        "description": table.description,
        "source_description": source.description,
        "columns": columns(project.docs.get(&id)),
        "loader": format!("pitwall {} (COPY INTO semantics, on_error = continue)", loaded_by.layer),
        "external": {"location": location.location.join(&table.file).to_string()},
        // dbt's sources have no checksum; their config takes any key, and state:modified
        // reads it there.
        "config": {"enabled": true, "checksum": checksum(definition::raw_table(table, location))},
        "tags": [],
    })
}

/// dbt's `FileHash`, holding what dbt's state comparison uses it for: what the node is.
/// pitwall's is its definition digest (see `pitwall_core::state`: its SQL after Jinja
/// without whitespace and comments, and its config), so `state:modified` sees a changed
/// macro or var and ignores a reformatted file, as dbt State does.
fn checksum(definition: String) -> Value {
    json!({"name": CHECKSUM_NAME, "checksum": definition})
}

/// dbt's `path`: the file's path under its model or test path (its project folder).
fn project_path(folder: &[String], original_file_path: &str) -> String {
    let file = original_file_path.rsplit('/').next().unwrap_or(original_file_path);
    folder.iter().map(String::as_str).chain([file]).collect::<Vec<_>>().join("/")
}

/// dbt's `parent_map` and `child_map`, read off the DAG.
fn graph_maps(project: &Project) -> (BTreeMap<String, Vec<String>>, BTreeMap<String, Vec<String>>) {
    let mut parent_map = BTreeMap::new();
    let mut child_map = BTreeMap::new();
    for id in project.dag.nodes() {
        parent_map.insert(uid(project, id), project.dag.parents(id).iter().map(|p| uid(project, p)).collect());
        child_map.insert(uid(project, id), project.dag.children(id).iter().map(|c| uid(project, c)).collect());
    }
    (parent_map, child_map)
}

/// The run results of one command, serialized.
pub fn run_results(
    project: &Project,
    which: &str,
    selection: &Selection,
    outcomes: &[NodeOutcome],
    elapsed: Duration,
) -> Vec<u8> {
    let results: Vec<Value> = outcomes
        .iter()
        .map(|o| {
            let (message, failures, rows) = match &o.status {
                NodeStatus::Success { rows: Some(rows) } => (format!("OK {rows} rows"), Value::Null, json!(rows)),
                // A view is created, not run: no row count, as dbt reports a view.
                NodeStatus::Success { rows: None } => ("CREATE VIEW".to_owned(), Value::Null, Value::Null),
                NodeStatus::Error(m) => (m.clone(), Value::Null, Value::Null),
                NodeStatus::Skipped { because } => (format!("skipped: {because}"), Value::Null, Value::Null),
                NodeStatus::Pass => ("PASS".to_owned(), json!(0), Value::Null),
                NodeStatus::Fail { failures } => (format!("Got {failures} results, configured to fail if != 0"), json!(failures), Value::Null),
                NodeStatus::Warn { failures } => (format!("Got {failures} results, configured to warn if != 0"), json!(failures), Value::Null),
                NodeStatus::Reused { .. } => {
                    let failures = match o.kind { OutcomeKind::Test(_) => json!(0), OutcomeKind::Model(_) => Value::Null };
                    ("Reused: nothing it depends on changed since it was built".to_owned(), failures, Value::Null)
                }
            };
            let completed = o.started_at + o.elapsed;
            // When what the warehouse holds was built: this run's start of it for a node
            // that ran, an earlier run's for a reused one (the stamp's time, the same).
            let built_at = match &o.status {
                NodeStatus::Reused { built_at } => built_at.map(timestamp).map(Value::from).unwrap_or(Value::Null),
                NodeStatus::Success { .. } | NodeStatus::Pass | NodeStatus::Warn { .. } | NodeStatus::Fail { .. } => Value::from(timestamp(o.started_at)),
                NodeStatus::Error(_) | NodeStatus::Skipped { .. } => Value::Null,
            };
            json!({
                "unique_id": uid(project, &o.id),
                "status": o.status.dbt_status(),
                "timing": [{"name": "execute", "started_at": timestamp(o.started_at), "completed_at": timestamp(completed)}],
                "thread_id": "Thread-1",
                "execution_time": o.elapsed.as_secs_f64(),
                "adapter_response": {"_message": message, "rows_affected": rows, "built_at": built_at, "fingerprint": o.fingerprint},
                "message": message,
                "failures": failures,
                "compiled": o.compiled_code.is_some(),
                "compiled_code": o.compiled_code,
                "relation_name": match o.kind { OutcomeKind::Model(_) => Value::from(o.relation.clone()), OutcomeKind::Test(_) => Value::Null },
            })
        })
        .collect();
    let doc = json!({
        "metadata": metadata(project, "run-results/v6.json"),
        "results": results,
        "elapsed_time": elapsed.as_secs_f64(),
        "args": {"which": which, "select": selection.select, "exclude": selection.exclude, "target": project.config.target},
    });
    serde_json::to_vec_pretty(&doc).expect("JSON values serialize")
}
