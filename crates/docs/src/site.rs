//! The site itself: one `index.html` holding its CSS, its script, the lineage graph and
//! charts as SVG, and the project as JSON in a `<script type="application/json">` tag,
//! from which the script renders every page. Nothing is fetched, so the file works
//! from `file://` as well as from `pitwall docs serve`.

use std::collections::BTreeMap;

use chrono::{SecondsFormat, Utc};
use pitwall_core::dag::NodeId;
use pitwall_core::source::SourceTable;
use pitwall_core::testing::TestSpec;
use pitwall_core::{Language, Node};
use serde_json::{Map, Value, json};

use super::graph::{self, node_color};
use super::markdown::{escape, to_html};
use super::plots::Charts;
use crate::lineage::Lineage;
use pitwall_project::{ColumnDoc, NodeInfo, Project};

const TEMPLATE: &str = include_str!("index.html");
const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("app.js");

/// What the site is made from besides the project.
pub struct Inputs<'a> {
    pub project: &'a Project,
    /// `run_results.json` of the last run, if any.
    pub run_results: Option<Value>,
    /// `catalog.json`, if one was made: column types as the warehouse holds them.
    pub catalog: Option<Value>,
    /// Column lineage, when it could be computed.
    pub lineage: Option<&'a Lineage>,
    pub charts: &'a Charts,
}

/// The whole `index.html`.
pub fn render(inputs: &Inputs) -> String {
    let project = inputs.project;
    let graph = graph::drawing(project);
    let data = serde_json::to_string(&data(inputs)).expect("JSON values serialize");
    fill(
        TEMPLATE,
        &[
            ("title", &escape(&format!("{} docs", project.config.name))),
            ("style", STYLE),
            ("graph", &graph),
            ("charts", &inputs.charts.html),
            ("data", &script_safe(&data)),
            ("script", SCRIPT),
        ],
    )
}

/// Fills each `<!--@name-->` marker of `template` in one pass, so a value that happens to
/// contain a marker (a model's code could) is never filled in turn.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + values.iter().map(|(_, v)| v.len()).sum::<usize>());
    let mut rest = template;
    while let Some(start) = rest.find("<!--@") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 5..];
        let Some(end) = after.find("-->") else { break };
        let key = &after[..end];
        match values.iter().find(|(k, _)| *k == key) {
            Some((_, value)) => out.push_str(value),
            None => out.push_str(&rest[start..start + 5 + end + 3]),
        }
        rest = &after[end + 3..];
    }
    out.push_str(rest);
    out
}

/// JSON that cannot end its `<script>` element or open a comment in it: `<`, `>` and `&`
/// only occur inside JSON strings, where their `\u` escapes mean the same.
fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

/// The JSON the script renders pages from.
fn data(inputs: &Inputs) -> Value {
    let project = inputs.project;
    let infos = project.node_infos();
    let runs = run_index(inputs.run_results.as_ref());
    let mut nodes = Map::new();
    let mut order = Vec::new();
    for id in project.dag.topological() {
        let Some(info) = infos.iter().find(|i| &i.id == id) else { continue };
        let uid = id.unique_id(&project.config.name);
        let mut node = common(project, id, info);
        let specific = match id {
            NodeId::Model(name) => project.node(name).map(|n| model(inputs, n)),
            NodeId::Source(s) => project
                .sources
                .iter()
                .flat_map(|p| p.source.tables.iter().map(move |t| (p, t)))
                .find(|(_, t)| t.source == s.source && t.name == s.table)
                .map(|(p, t)| source(inputs, t, p.layer)),
            NodeId::Test(name) => project.tests.iter().find(|t| &t.name == name).map(|t| test(project, t)),
        };
        if let Some(Value::Object(fields)) = specific {
            node.extend(fields);
        }
        if matches!(id, NodeId::Model(_) | NodeId::Source(_)) {
            node.insert("columns".into(), columns(inputs, id));
        }
        node.insert("run".into(), runs.get(&uid).cloned().unwrap_or(Value::Null));
        order.push(Value::from(uid.clone()));
        nodes.insert(uid, Value::Object(node));
    }
    json!({
        "project": {
            "name": project.config.name,
            "target": project.config.target,
            "version": env!("CARGO_PKG_VERSION"),
            "generated_at": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
            "warehouse": project.config.warehouse.to_string(),
            "catalog": inputs.catalog.is_some(),
            "column_lineage": inputs.lineage.is_some(),
        },
        "nodes": nodes,
        "order": order,
        "run": run_summary(inputs.run_results.as_ref()),
        "charts": inputs.charts.data,
    })
}

/// What every node has: identity, what selectors match on, and its place in the DAG
/// (tests included, as the selector's graph operators walk them).
fn common(project: &Project, id: &NodeId, info: &NodeInfo) -> Map<String, Value> {
    let uid = |i: &NodeId| Value::from(i.unique_id(&project.config.name));
    let json = json!({
        "unique_id": uid(id),
        "name": id.name(),
        "resource_type": id.resource_type(),
        "fqn": info.fqn,
        "tags": info.tags,
        "path": info.path,
        "materialized": info.config.get("materialized"),
        "config": info.config,
        "color": node_color(project, id),
        "parents": project.dag.parents(id).into_iter().map(uid).collect::<Vec<_>>(),
        "children": project.dag.children(id).into_iter().map(uid).collect::<Vec<_>>(),
    });
    match json {
        Value::Object(map) => map,
        _ => unreachable!("json! of an object is an object"),
    }
}

fn description(project: &Project, id: &NodeId) -> (String, String) {
    let text = project.docs.get(id).map(|d| d.description.trim().to_owned()).unwrap_or_default();
    let html = to_html(&text);
    (text, html)
}

fn model(inputs: &Inputs, node: &Node) -> Value {
    let project = inputs.project;
    let spec = node.spec();
    let id = NodeId::Model(spec.name.clone());
    let (text, html) = description(project, &id);
    // A model that does not compile still gets its page; the message stands in for the SQL.
    let compiled = node.model.compiled_sql(&project.relations).map(|sql| sql.unwrap_or_else(|e| format!("-- {e}")));
    let lineage = inputs.lineage.and_then(|l| l.models.get(&spec.name));
    json!({
        "description": text,
        "description_html": html,
        "language": match spec.language { Language::Sql => "sql", Language::Rust => "rust" },
        "node_color": node.config.node_color,
        "raw_code": spec.raw_code,
        "compiled_code": compiled,
        "relation_name": format!("{}.{}", project.relations.target_schema, spec.name),
        "meta": node.config.meta,
        "lineage_note": lineage.and_then(|m| m.note.clone()),
        "row_inputs": lineage.map(|m| m.row_inputs.as_slice()),
    })
}

fn source(inputs: &Inputs, table: &SourceTable, layer: &str) -> Value {
    let project = inputs.project;
    let id = NodeId::Source(table.reference());
    let (text, html) = description(project, &id);
    let location = project.config.sources.get(&table.source);
    json!({
        "description": text,
        "description_html": html,
        "source_name": table.source,
        "table_name": table.name,
        "loader": format!("pitwall {layer}"),
        "relation_name": location.map(|l| format!("{}.{}", l.schema, table.name)),
        "location": location.map(|l| l.location.join(&table.file).to_string()),
    })
}

fn test(project: &Project, test: &TestSpec) -> Value {
    json!({
        "test_name": test.test_name,
        "column_name": test.column,
        "attached_node": test.attached.as_ref().map(|t| t.node_id().unique_id(&project.config.name)),
        "severity": test.config.severity,
        "kwargs": test.kwargs,
        "raw_code": test.raw_code,
        "compiled_code": test.compile(&project.relations).unwrap_or_else(|e| format!("-- {e}")),
        "language": "sql",
    })
}

/// A node's columns: the documented ones first, in their order, then any other the
/// catalog knows; each with its type (the catalog's, else the declared or planned one),
/// description, tests and upstream columns.
fn columns(inputs: &Inputs, id: &NodeId) -> Value {
    let project = inputs.project;
    let uid = id.unique_id(&project.config.name);
    let mut documented: Vec<ColumnDoc> = project.docs.get(id).map(|d| d.columns.clone()).unwrap_or_default();
    let catalog = catalog_columns(inputs.catalog.as_ref(), &uid);
    for (name, _) in &catalog {
        if !documented.iter().any(|c| c.name.eq_ignore_ascii_case(name)) {
            documented.push(ColumnDoc { name: name.clone(), ..ColumnDoc::default() });
        }
    }
    let name = id.name();
    let columns: Vec<Value> = documented
        .iter()
        .map(|c| {
            let from_catalog = catalog.iter().find(|(n, _)| n.eq_ignore_ascii_case(&c.name)).map(|(_, t)| t.clone());
            let tests: Vec<String> = project
                .tests
                .iter()
                .filter(|t| {
                    t.attached.as_ref().is_some_and(|a| &a.node_id() == id) && t.column.as_ref() == Some(&c.name)
                })
                .map(|t| t.name.clone())
                .collect();
            json!({
                "name": c.name,
                "type": from_catalog.or_else(|| c.data_type.clone()),
                "description": c.description,
                "description_html": to_html(&c.description),
                "tests": tests,
                "upstream": inputs.lineage.and_then(|l| l.direct(&name, &c.name)),
            })
        })
        .collect();
    Value::from(columns)
}

/// `(column, type)` of a node in dbt's catalog shape (`nodes` or `sources`, then
/// `<unique_id>.columns.<name>.type`), in the catalog's column order (`index`).
fn catalog_columns(catalog: Option<&Value>, uid: &str) -> Vec<(String, String)> {
    let Some(catalog) = catalog else { return Vec::new() };
    let entry = catalog["nodes"].get(uid).or_else(|| catalog["sources"].get(uid));
    let Some(Value::Object(columns)) = entry.map(|e| &e["columns"]) else { return Vec::new() };
    let mut out: Vec<(i64, String, String)> = columns
        .iter()
        .map(|(key, c)| {
            let name = c["name"].as_str().unwrap_or(key).to_owned();
            (c["index"].as_i64().unwrap_or(i64::MAX), name, c["type"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    out.sort();
    out.into_iter().map(|(_, n, t)| (n, t)).collect()
}

/// Each executed node's result in `run_results.json`, by unique id.
fn run_index(run_results: Option<&Value>) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let results = run_results.and_then(|r| r["results"].as_array()).map(Vec::as_slice).unwrap_or_default();
    for r in results {
        let Some(uid) = r["unique_id"].as_str() else { continue };
        out.insert(
            uid.to_owned(),
            json!({
                "status": r["status"],
                "rows": r["adapter_response"]["rows_affected"],
                "failures": r["failures"],
                "time": r["execution_time"],
                "message": r["message"],
                "started_at": r["timing"][0]["started_at"],
                // When what the warehouse holds was made: by this run, or earlier for a
                // node it reused (status `reused`); null when it built nothing.
                "built_at": r["adapter_response"]["built_at"],
            }),
        );
    }
    out
}

/// The last run's command, time and how many nodes ended in each status, in all and per
/// resource type (`model`, `test`), so the overview can say how many models it reused.
fn run_summary(run_results: Option<&Value>) -> Value {
    let Some(r) = run_results else { return Value::Null };
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_type: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for result in r["results"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let status = result["status"].as_str().unwrap_or("unknown");
        let kind = result["unique_id"].as_str().and_then(|u| u.split('.').next()).unwrap_or("unknown");
        *counts.entry(status.to_owned()).or_default() += 1;
        *by_type.entry(kind.to_owned()).or_default().entry(status.to_owned()).or_default() += 1;
    }
    json!({
        "command": r["args"]["which"],
        "select": r["args"]["select"],
        "target": r["args"]["target"],
        "generated_at": r["metadata"]["generated_at"],
        "elapsed": r["elapsed_time"],
        "counts": counts,
        "by_type": by_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_filled_once_and_unknown_ones_kept() {
        let filled = fill("a<!--@x-->b<!--@y-->c<!--@z-->", &[("x", "<!--@y-->"), ("y", "Y")]);
        assert_eq!(filled, "a<!--@y-->bYc<!--@z-->");
    }

    #[test]
    fn embedded_json_cannot_close_its_script() {
        let json = serde_json::to_string(&json!({"sql": "</script><!-- a & b"})).unwrap();
        let safe = script_safe(&json);
        assert!(!safe.contains('<') && !safe.contains('>') && !safe.contains('&'));
        assert_eq!(serde_json::from_str::<Value>(&safe).unwrap()["sql"], "</script><!-- a & b");
    }

    #[test]
    fn the_run_summary_counts_reused_nodes_per_resource_type() {
        let results = json!({"results": [
            {"unique_id": "model.p.a", "status": "success"}, {"unique_id": "model.p.b", "status": "reused"},
            {"unique_id": "model.p.c", "status": "reused"}, {"unique_id": "test.p.t", "status": "reused"},
            {"unique_id": "test.p.u", "status": "pass"}]});
        let summary = run_summary(Some(&results));
        assert_eq!(summary["counts"], json!({"pass": 1, "reused": 3, "success": 1}));
        assert_eq!(summary["by_type"], json!({"model": {"reused": 2, "success": 1}, "test": {"pass": 1, "reused": 1}}));
    }

    #[test]
    fn catalog_columns_come_in_index_order_with_their_names() {
        let catalog = json!({"nodes": {"model.p.m": {"columns": {
            "B": {"name": "b", "type": "INT", "index": 2},
            "A": {"name": "a", "type": "TEXT", "index": 1},
        }}}, "sources": {}});
        assert_eq!(
            catalog_columns(Some(&catalog), "model.p.m"),
            vec![("a".to_owned(), "TEXT".to_owned()), ("b".to_owned(), "INT".to_owned())]
        );
        assert!(catalog_columns(Some(&catalog), "model.p.other").is_empty());
    }
}
