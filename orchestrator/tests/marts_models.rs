//! The marts models on hand-made fixture tables standing in for their refs: the pandas
//! edge cases of the pit-stop summary and the moving average's first years.

use std::collections::BTreeMap;
use std::path::PathBuf;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema};
use pitwall_core::config::Overrides;
use pitwall_core::datafusion::common::TableReference;
use pitwall_core::datafusion::prelude::CsvReadOptions;
use pitwall_core::{ModelContext, ProjectConfig, Relations};
use pitwall_project::Bindings;

fn fixture(name: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/aggregates");
    root.join(name).display().to_string()
}

/// Runs one marts model over fixture tables standing in for its refs.
async fn run(model: &str, upstream: &[(&str, Schema)]) -> RecordBatch {
    let relations = Relations { target_schema: "analytics".into(), source_schemas: BTreeMap::new() };
    let session = pitwall_core::warehouse::project_session(&relations).unwrap();
    for (name, schema) in upstream {
        let options = CsvReadOptions::new().schema(schema);
        session
            .register_csv(TableReference::partial("analytics", *name), fixture(&format!("{name}.csv")), options)
            .await
            .unwrap();
    }
    // The model as the checkout's project reads it from the marts crate's folder.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let config = ProjectConfig::load(&root, &Overrides::default()).unwrap();
    let project = pitwall_project::load(config, &[], Bindings::Available).unwrap();
    let node = project.node(model).unwrap();
    let ctx = ModelContext::new(session, relations, node.spec().clone());
    let batches = node.model.build(&ctx).await.unwrap().collect().await.unwrap();
    arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

fn column(batch: &RecordBatch, name: &str) -> Vec<Option<f64>> {
    let c = batch.column_by_name(name).unwrap().as_primitive::<Float64Type>();
    (0..c.len()).map(|i| c.is_valid(i).then(|| c.value(i))).collect()
}

#[tokio::test]
async fn pit_stop_describe_matches_pandas_on_edge_cases() {
    let schema = Schema::new(vec![
        Field::new("race_year", DataType::Int64, true),
        Field::new("constructor_name", DataType::Utf8, true),
        Field::new("pit_stop_milliseconds", DataType::Int64, true),
    ]);
    let out = run("fastest_pit_stops_by_constructor", &[("pit_stops_joined", schema)]).await;
    let names: Vec<&str> = (0..out.num_rows()).map(|i| out.column(0).as_string::<i32>().value(i)).collect();
    // Sorted by mean; the all-NULL constructor's mean is NULL and sorts last.
    assert_eq!(names, ["Tie", "Quartiles", "Solo", "WithNulls", "OnlyNulls"]);
    let row = |name: &str| names.iter().position(|n| *n == name).unwrap();
    let stat = |stat: &str, name: &str| column(&out, stat)[row(name)];

    assert_eq!(stat("count", "Quartiles"), Some(4.0));
    assert_eq!(stat("25%", "Quartiles"), Some(1.75));
    assert_eq!(stat("50%", "Quartiles"), Some(2.5));
    assert_eq!(stat("75%", "Quartiles"), Some(3.25));
    assert_eq!(stat("std", "Quartiles"), Some(1.29)); // sample std of 1..4 = 1.2910
    assert_eq!(stat("max", "Quartiles"), Some(4.0)); // the 2020 stop is not counted

    assert_eq!(stat("count", "Solo"), Some(1.0));
    assert_eq!(stat("std", "Solo"), None);
    assert_eq!(stat("25%", "Solo"), Some(22.5));

    // 0.125 s: numpy rounds the tie to even (0.12), not away from zero (0.13).
    assert_eq!(stat("mean", "Tie"), Some(0.12));
    assert_eq!(stat("min", "Tie"), Some(0.12));

    assert_eq!(stat("count", "WithNulls"), Some(2.0));
    assert_eq!(stat("mean", "WithNulls"), Some(25.0));

    assert_eq!(stat("count", "OnlyNulls"), Some(0.0));
    for s in ["mean", "std", "min", "25%", "50%", "75%", "max"] {
        assert_eq!(stat(s, "OnlyNulls"), None, "{s}");
    }
}

#[tokio::test]
async fn moving_average_is_null_for_the_first_four_years_and_drops_null_years() {
    let schema = Schema::new(vec![
        Field::new("race_year", DataType::Int64, true),
        Field::new("lap_time_milliseconds", DataType::Int64, true),
    ]);
    let out = run("lap_times_moving_avg", &[("int_lap_times_years", schema)]).await;
    let years = out.column_by_name("race_year").unwrap().as_primitive::<Int64Type>();
    assert_eq!(years.values().to_vec(), vec![2001, 2002, 2003, 2004, 2005, 2006]);
    assert_eq!(
        column(&out, "lap_time_seconds"),
        [Some(101.0), Some(100.0), Some(99.0), Some(98.0), Some(97.0), Some(96.0)]
    );
    // (101 + 100 + 99 + 98 + 97) / 5 = 99.0, then (100 + ... + 96) / 5 = 98.0
    assert_eq!(column(&out, "lap_moving_avg_5_years"), [None, None, None, None, Some(99.0), Some(98.0)]);
}
