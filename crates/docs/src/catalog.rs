//! dbt's `catalog.json` (catalog v1), as `dbt docs generate` writes it: each model and
//! source table the warehouse holds, with its columns as the warehouse types them, their
//! positions, and stats. A relation not built yet is left out, as dbt leaves out what
//! its warehouse lacks.
//!
//! It validates against dbt's catalog v1 schema (dbt-artifacts-parser, through
//! `.ci/dbt-artifacts validate`), which forbids unknown fields: so, unlike the manifest,
//! nothing of pitwall's own goes in but the `metadata.env` strings. Types are Arrow's
//! under their SQL names (BIGINT, DOUBLE, VARCHAR, DATE, DECIMAL(6, 3), ...), read from
//! the relations themselves, not from declarations; a table's row count is exact (Parquet
//! metadata), a view has no stats, as dbt-snowflake reports them.

use std::collections::BTreeMap;
use std::time::SystemTime;

use anyhow::Result;
use arrow::datatypes::DataType;
use chrono::{DateTime, SecondsFormat, Utc};
use datafusion::common::TableReference;
use pitwall_cli::{Access, OpenWarehouse, open_warehouse};
use pitwall_core::dag::NodeId;
use pitwall_core::warehouse::RelationKind;
use serde_json::{Map, Value, json};

use pitwall_project::Project;

/// `catalog.json`, serialized: the warehouse of `project`'s target, opened to read (a
/// shared lock, waited for unless `no_wait`) for as long as this takes.
pub async fn catalog(project: &Project, no_wait: bool) -> Result<Vec<u8>> {
    let open = open_warehouse(&project.config, Access::Read, no_wait).await?;
    Ok(serde_json::to_vec_pretty(&catalog_value(project, &open).await?)?)
}

/// The catalog of an already opened warehouse, as JSON (for a caller that also embeds it).
/// A relation that exists but cannot be read (a view whose upstream is gone) is left out
/// and named in `errors`, as dbt reports a failed catalog query.
pub async fn catalog_value(project: &Project, open: &OpenWarehouse) -> Result<Value> {
    let mut wanted = Vec::new();
    for node in &project.nodes {
        wanted.push((NodeId::Model(node.name().to_owned()), project.relations.model(node.name())));
    }
    for table in project.sources.iter().flat_map(|s| &s.source.tables) {
        let reference = project.relations.source(&table.source, &table.name).expect("a declared source");
        wanted.push((NodeId::Source(table.reference()), reference));
    }
    // What each schema holds, and as which kind: one listing per schema.
    let mut stored: BTreeMap<String, BTreeMap<String, RelationKind>> = BTreeMap::new();
    for (_, reference) in &wanted {
        let schema = reference.schema().unwrap_or_default();
        if !stored.contains_key(schema) {
            let relations = open.warehouse.relations(schema).await?;
            stored.insert(schema.to_owned(), relations.into_iter().map(|r| (r.name, r.kind)).collect());
        }
    }
    let (mut nodes, mut sources, mut errors) = (Map::new(), Map::new(), Vec::new());
    for (id, reference) in wanted {
        let Some(&kind) = stored[reference.schema().unwrap_or_default()].get(reference.table()) else { continue };
        let unique_id = id.unique_id(&project.config.name);
        match entry(open, &reference, kind, &unique_id).await {
            Ok(entry) if matches!(id, NodeId::Source(_)) => sources.insert(unique_id, entry),
            Ok(entry) => nodes.insert(unique_id, entry),
            Err(e) => {
                errors.push(format!("{reference}: {e:#}"));
                None
            }
        };
    }
    Ok(json!({
        "metadata": metadata(project),
        "nodes": nodes,
        "sources": sources,
        "errors": if errors.is_empty() { Value::Null } else { json!(errors) },
    }))
}

/// dbt's catalog metadata; pitwall's own values in `env`, the one map of strings it allows,
/// under the same names as the manifest's.
fn metadata(project: &Project) -> Value {
    json!({
        "dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json",
        "generated_at": DateTime::<Utc>::from(SystemTime::now()).to_rfc3339_opts(SecondsFormat::Micros, true),
        "env": {
            "PITWALL_TARGET": project.config.target,
            "PITWALL_VERSION": env!("CARGO_PKG_VERSION"),
            "PITWALL_PROJECT_NAME": project.config.name,
            "PITWALL_ADAPTER_TYPE": "pitwall",
        },
    })
}

/// One relation's catalog entry: metadata, columns (1-based index, as dbt's), stats.
async fn entry(open: &OpenWarehouse, reference: &TableReference, kind: RelationKind, unique_id: &str) -> Result<Value> {
    let frame = open.session.table(reference.clone()).await?;
    let mut columns = Map::new();
    for (i, field) in frame.schema().fields().iter().enumerate() {
        let column =
            json!({"type": sql_type(field.data_type()), "index": i + 1, "name": field.name(), "comment": null});
        columns.insert(field.name().clone(), column);
    }
    let (type_name, stats) = match kind {
        RelationKind::Table => {
            // Exact, and cheap: DataFusion answers count(*) from the Parquet footers.
            let rows = frame.count().await? as f64;
            let row_count = stat("row_count", "Row Count", json!(rows), true, "The number of rows in the table");
            ("BASE TABLE", json!({"row_count": row_count, "has_stats": has_stats(true)}))
        }
        RelationKind::View => ("VIEW", json!({"has_stats": has_stats(false)})),
    };
    Ok(json!({
        "metadata": {
            "type": type_name,
            "schema": reference.schema(),
            "name": reference.table(),
            // As the manifest: a warehouse folder has no database name.
            "database": null,
            "comment": null,
            "owner": null,
        },
        "columns": columns,
        "stats": stats,
        "unique_id": unique_id,
    }))
}

fn stat(id: &str, label: &str, value: Value, include: bool, description: &str) -> Value {
    json!({"id": id, "label": label, "value": value, "include": include, "description": description})
}

/// dbt's marker of whether any other stat is present.
fn has_stats(present: bool) -> Value {
    stat("has_stats", "Has Stats?", json!(present), false, "Indicates whether there are statistics for this table")
}

/// An Arrow type's SQL name, as DataFusion's SQL spells the type it maps to it (a Parquet
/// string reads back as Utf8View: still VARCHAR). A type SQL has no name for keeps Arrow's.
pub fn sql_type(data_type: &DataType) -> String {
    let name = match data_type {
        DataType::Null => "NULL",
        DataType::Boolean => "BOOLEAN",
        DataType::Int8 => "TINYINT",
        DataType::Int16 => "SMALLINT",
        DataType::Int32 => "INTEGER",
        DataType::Int64 => "BIGINT",
        DataType::UInt8 => "TINYINT UNSIGNED",
        DataType::UInt16 => "SMALLINT UNSIGNED",
        DataType::UInt32 => "INTEGER UNSIGNED",
        DataType::UInt64 => "BIGINT UNSIGNED",
        DataType::Float16 | DataType::Float32 => "FLOAT",
        DataType::Float64 => "DOUBLE",
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "VARCHAR",
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => "BYTEA",
        DataType::Date32 | DataType::Date64 => "DATE",
        DataType::Time32(_) | DataType::Time64(_) => "TIME",
        DataType::Timestamp(_, None) => "TIMESTAMP",
        DataType::Timestamp(_, Some(_)) => "TIMESTAMP WITH TIME ZONE",
        DataType::Interval(_) => "INTERVAL",
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) => return format!("DECIMAL({p}, {s})"),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => return format!("DECIMAL({p}, {s})"),
        DataType::List(item) | DataType::LargeList(item) | DataType::ListView(item) | DataType::LargeListView(item) => {
            return format!("{}[]", sql_type(item.data_type()));
        }
        DataType::FixedSizeList(item, _) => return format!("{}[]", sql_type(item.data_type())),
        DataType::Dictionary(_, values) => return sql_type(values),
        other => return other.to_string(),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{Field, Schema, TimeUnit};
    use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
    use pitwall_core::config::Overrides;
    use pitwall_core::{ProjectConfig, Warehouse};

    use super::*;

    /// Writes a two-row table `(<id>, <text>)` of BIGINT and VARCHAR.
    async fn write(warehouse: &Warehouse, schema: &str, name: &str, id: &str, text: &str) {
        let fields = vec![Field::new(id, DataType::Int64, false), Field::new(text, DataType::Utf8, true)];
        let schema_ref = Arc::new(Schema::new(fields));
        let columns: Vec<ArrayRef> =
            vec![Arc::new(Int64Array::from(vec![1, 2])), Arc::new(StringArray::from(vec!["Finished", "+1 Lap"]))];
        let batch = RecordBatch::try_new(schema_ref.clone(), columns).unwrap();
        let stream = RecordBatchStreamAdapter::new(schema_ref, futures::stream::iter([Ok(batch)]));
        warehouse.write_table(schema, name, Box::pin(stream), None).await.unwrap();
    }

    /// A warehouse with one raw table, a model's table, a model's view on it, and a table
    /// that is no node of the project; every other model is not built.
    #[tokio::test]
    async fn the_catalog_lists_what_the_warehouse_holds_with_sql_types_indexes_and_row_counts() {
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let overrides = Overrides { warehouse: Some(dir.path().to_str().unwrap().to_owned()), ..Default::default() };
        let config = ProjectConfig::load(&root, &overrides).unwrap();
        // SQL models only: the Rust ones are bound by the orchestrator's registry.
        let project = pitwall_project::load(config, &[], pitwall_project::Bindings::Available).unwrap();
        let (models, raw) = (&project.relations.target_schema, &project.relations.source_schemas["formula1"]);
        let warehouse = Warehouse::open(&project.config.warehouse).unwrap();
        write(&warehouse, raw, "status", "statusid", "status").await;
        write(&warehouse, models, "stg_f1_status", "status_id", "status").await;
        write(&warehouse, models, "not_a_model", "id", "text").await;
        let view =
            format!("select status_id as constructor_id, status as constructor_name from {models}.stg_f1_status");
        warehouse.write_view(models, "stg_f1_constructors", &view, None).await.unwrap();

        let catalog: Value = serde_json::from_slice(&catalog(&project, true).await.unwrap()).unwrap();
        let name = &project.config.name;
        assert_eq!(catalog["metadata"]["dbt_schema_version"], "https://schemas.getdbt.com/dbt/catalog/v1.json");
        assert_eq!(catalog["errors"], Value::Null);
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        let (status, constructors) =
            (format!("model.{name}.stg_f1_status"), format!("model.{name}.stg_f1_constructors"));
        assert_eq!(keys(&catalog["nodes"]), [constructors.clone(), status.clone()]);
        assert_eq!(keys(&catalog["sources"]), [format!("source.{name}.formula1.status")]);

        let table = &catalog["nodes"][&status];
        let expected_metadata = json!({"type": "BASE TABLE", "schema": models, "name": "stg_f1_status",
                                       "database": null, "comment": null, "owner": null});
        assert_eq!(table["metadata"], expected_metadata);
        assert_eq!(
            table["columns"]["status_id"],
            json!({"type": "BIGINT", "index": 1, "name": "status_id", "comment": null})
        );
        assert_eq!(
            table["columns"]["status"],
            json!({"type": "VARCHAR", "index": 2, "name": "status", "comment": null})
        );
        assert_eq!(table["stats"]["row_count"]["value"], json!(2.0));
        assert_eq!(table["stats"]["has_stats"]["value"], json!(true));
        assert_eq!(table["unique_id"], json!(status));

        let view = &catalog["nodes"][&constructors];
        assert_eq!(view["metadata"]["type"], "VIEW");
        assert_eq!(view["columns"]["constructor_name"]["index"], 2);
        assert_eq!(keys(&view["stats"]), ["has_stats"]);
        assert_eq!(
            catalog["sources"][format!("source.{name}.formula1.status")]["columns"]["statusid"]["type"],
            "BIGINT"
        );
    }

    #[test]
    fn arrow_types_take_their_sql_names() {
        assert_eq!(sql_type(&DataType::Utf8View), "VARCHAR");
        assert_eq!(sql_type(&DataType::Decimal128(6, 3)), "DECIMAL(6, 3)");
        assert_eq!(sql_type(&DataType::Timestamp(TimeUnit::Microsecond, None)), "TIMESTAMP");
        assert_eq!(sql_type(&DataType::Time64(TimeUnit::Nanosecond)), "TIME");
        assert_eq!(sql_type(&DataType::Float64), "DOUBLE");
        let list = DataType::List(Arc::new(Field::new("item", DataType::Int32, true)));
        assert_eq!(sql_type(&list), "INTEGER[]");
    }
}
