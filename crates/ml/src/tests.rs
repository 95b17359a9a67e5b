//! The ml models run over the hand-made tables in `fixtures/ml` (see its README), each
//! model's output registered for the next, as the runner would.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema};
use datafusion::common::TableReference;
use datafusion::datasource::MemTable;
use datafusion::prelude::{CsvReadOptions, SessionContext};
use pitwall_core::{Location, ModelContext, Relations, Warehouse};

use crate::classifier::{FEATURES, ModelArtifact};
use crate::stage;

const SCHEMA: &str = "analytics";

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ml").join(name).display().to_string()
}

fn relations() -> Relations {
    Relations { target_schema: SCHEMA.into(), source_schemas: BTreeMap::new() }
}

fn fields(spec: &[(&str, DataType)]) -> Schema {
    Schema::new(spec.iter().map(|(n, t)| Field::new(*n, t.clone(), true)).collect::<Vec<_>>())
}

fn fct_results_schema() -> Schema {
    use DataType::{Date32, Float64, Int64, Utf8};
    let mut spec: Vec<(&str, DataType)> = vec![];
    for (name, t) in [
        ("result_id", Int64),
        ("race_id", Int64),
        ("race_year", Int64),
        ("race_round", Int64),
        ("circuit_id", Int64),
        ("circuit_name", Utf8),
        ("circuit_ref", Utf8),
        ("location", Utf8),
        ("country", Utf8),
        ("latitude", Float64),
        ("longitude", Float64),
        ("altitude", Int64),
        ("total_pit_stops_per_race", Int64),
        ("race_date", Date32),
        ("race_time", Utf8),
        ("driver_id", Int64),
        ("driver", Utf8),
        ("driver_number", Int64),
        ("drivers_age_years", Int64),
        ("driver_nationality", Utf8),
        ("constructor_id", Int64),
        ("constructor_name", Utf8),
        ("constructor_nationality", Utf8),
        ("grid", Int64),
        ("position", Int64),
        ("position_text", Utf8),
        ("position_order", Int64),
        ("points", Int64),
        ("laps", Int64),
        ("results_time_formatted", Utf8),
        ("results_milliseconds", Int64),
        ("fastest_lap", Int64),
        ("results_rank", Int64),
        ("fastest_lap_time_formatted", Utf8),
        ("fastest_lap_speed", Float64),
        ("status_id", Int64),
        ("status", Utf8),
        ("dnf_flag", Int64),
    ] {
        spec.push((name, t));
    }
    fields(&spec)
}

fn encoded_schema() -> Schema {
    use DataType::{Float64, Int64};
    fields(&[
        ("result_id", Int64),
        ("race_year", Int64),
        ("circuit_name", Int64),
        ("grid", Int64),
        ("constructor_name", Int64),
        ("driver", Int64),
        ("drivers_age_years", Int64),
        ("driver_confidence", Float64),
        ("constructor_relaiblity", Float64),
        ("total_pit_stops_per_race", Int64),
        ("position_label", Int64),
    ])
}

struct Bench {
    _dir: tempfile::TempDir,
    session: SessionContext,
    stage: Location,
}

impl Bench {
    async fn new(tables: &[(&str, Schema)]) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let session =
            Warehouse::open(&Location::local(dir.path().join("warehouse"))).unwrap().session(&relations()).unwrap();
        for (name, schema) in tables {
            let options = CsvReadOptions::new().schema(schema);
            session
                .register_csv(TableReference::partial(SCHEMA, *name), fixture(&format!("{name}.csv")), options)
                .await
                .unwrap();
        }
        let stage = Location::local(dir.path().join("model_stage"));
        Bench { _dir: dir, session, stage }
    }

    fn context(&self, model: &str, meta: &[(&str, serde_json::Value)]) -> (Arc<dyn pitwall_core::Model>, ModelContext) {
        let node = checkout_project().node(model).unwrap().clone();
        let model = node.model;
        let mut config = node.config;
        config.meta = meta.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        let ctx = ModelContext::new(self.session.clone(), relations(), model.spec().clone())
            .with_config(config)
            .with_model_stage(Some(self.stage.clone()));
        (model, ctx)
    }

    /// Builds `model` and registers its output under its name, as the runner would.
    async fn build(&self, model: &str) -> RecordBatch {
        self.try_build(model, &[]).await.unwrap()
    }

    async fn try_build(&self, model: &str, meta: &[(&str, serde_json::Value)]) -> pitwall_core::Result<RecordBatch> {
        let (m, ctx) = self.context(model, meta);
        let frame = m.build(&ctx).await?;
        let schema = Arc::new(frame.schema().as_arrow().clone());
        let batches = frame.collect().await?;
        let batch = arrow::compute::concat_batches(&schema, &batches)?;
        let reference = TableReference::partial(SCHEMA, model);
        self.session.deregister_table(reference.clone())?;
        self.session.register_table(reference, Arc::new(MemTable::try_new(schema, vec![vec![batch.clone()]])?))?;
        Ok(batch)
    }
}

fn ints(batch: &RecordBatch, name: &str) -> Vec<Option<i64>> {
    let c = batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
    let c = c.as_primitive::<Int64Type>();
    (0..c.len()).map(|i| c.is_valid(i).then(|| c.value(i))).collect()
}

fn floats(batch: &RecordBatch, name: &str) -> Vec<Option<f64>> {
    let c = batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
    let c = c.as_primitive::<Float64Type>();
    (0..c.len()).map(|i| c.is_valid(i).then(|| c.value(i))).collect()
}

fn strings(batch: &RecordBatch, name: &str) -> Vec<String> {
    let strict = arrow::compute::CastOptions { safe: false, ..Default::default() };
    let c = arrow::compute::cast_with_options(batch.column_by_name(name).unwrap(), &DataType::Utf8, &strict).unwrap();
    c.as_string::<i32>().iter().map(|s| s.unwrap_or("NULL").to_owned()).collect()
}

fn some<T: Clone>(values: &[T]) -> Vec<Option<T>> {
    values.iter().cloned().map(Some).collect()
}

#[tokio::test]
async fn prep_models_clean_flag_encode_and_split_by_year() {
    let bench = Bench::new(&[("fct_results", fct_results_schema())]).await;

    let prep = bench.build("ml_data_prep").await;
    // 2010-2020 only, in result_id order whatever the file order.
    assert_eq!(ints(&prep, "result_id"), some(&[2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
    assert_eq!(
        strings(&prep, "constructor_name"),
        [
            "McLaren",
            "Alfa Romeo",
            "Ferrari",
            "Renault",
            "Racing Point",
            "McLaren",
            "Marussia",
            "Racing Point",
            "AlphaTauri",
            "Mercedes",
            "Racing Point"
        ]
    );
    // NULL pit stops become 0; position is a float with its NULLs kept.
    assert_eq!(
        floats(&prep, "total_pit_stops_per_race"),
        some(&[0.0, 1.0, 2.0, 10.0, 2.0, 0.0, 2.0, 1.0, 2.0, 2.0, 0.0])
    );
    assert_eq!(prep.schema().field_with_name("position").unwrap().data_type(), &DataType::Float64);
    assert_eq!(floats(&prep, "position")[1], None);
    // Pérez: 4 entries, 2 DNFs -> 0.5; Räikkönen: 1 DNF in 3 -> 2/3; Hamilton none -> 1.
    // Racing Point (incl. Force India): 1 DNF in 3; Marussia: 1 in 1 -> 0.
    let third = 1.0 - 1.0 / 3.0;
    assert_eq!(
        floats(&prep, "driver_confidence"),
        some(&[1.0, 0.5, 1.0, third, 0.5, 1.0, third, 0.5, third, 1.0, 0.5])
    );
    assert_eq!(
        floats(&prep, "constructor_relaiblity"),
        some(&[1.0, 0.0, 1.0, 1.0, third, 1.0, 0.0, third, 1.0, 1.0, third])
    );
    assert_eq!(ints(&prep, "active_driver"), some(&[1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1]));
    assert_eq!(ints(&prep, "active_constructor"), some(&[1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1]));

    let encoded = bench.build("covariate_encoding").await;
    // Alonso (4) and Marussia (8) are filtered out.
    assert_eq!(ints(&encoded, "result_id"), some(&[2, 3, 5, 6, 7, 9, 10, 11, 12]));
    // Byte order: Monza 0 < Zandvoort 1 < monaco 2 < Ägypten 3.
    assert_eq!(ints(&encoded, "circuit_name"), some(&[0, 0, 1, 1, 2, 2, 0, 1, 3]));
    // Alfa Romeo 0, AlphaTauri 1, McLaren 2, Mercedes 3, Racing Point 4, Renault 5.
    assert_eq!(ints(&encoded, "constructor_name"), some(&[2, 0, 5, 4, 2, 4, 1, 3, 4]));
    // Kimi Räikkönen 0, Lewis Hamilton 1, Sergio Pérez 2.
    assert_eq!(ints(&encoded, "driver"), some(&[1, 2, 0, 2, 1, 2, 0, 1, 2]));
    // Numeric order: 0 -> 0, 1 -> 1, 2 -> 2, 10 -> 3 (as text, "10" would sort before "2").
    assert_eq!(ints(&encoded, "total_pit_stops_per_race"), some(&[0, 1, 3, 2, 0, 1, 2, 2, 0]));
    // Positions 1, NULL, 4, 11, 10, 3, 15, 1, NULL.
    assert_eq!(ints(&encoded, "position_label"), some(&[1, 2, 2, 3, 2, 1, 3, 1, 2]));
    let columns: Vec<String> = encoded.schema().fields().iter().map(|f| f.name().clone()).collect();
    let mut expected = vec!["result_id", "race_year"];
    expected.extend(FEATURES.iter().skip(1));
    expected.push("position_label");
    assert_eq!(columns, expected);

    let train_test = bench.build("train_test_dataset").await;
    assert_eq!(ints(&train_test, "result_id"), some(&[2, 3, 5, 6, 7, 9, 10]));
    let hold_out = bench.build("hold_out_dataset_for_prediction").await;
    assert_eq!(ints(&hold_out, "result_id"), some(&[11, 12]));
}

async fn training_bench() -> Bench {
    Bench::new(&[("train_test_dataset", encoded_schema()), ("hold_out_dataset_for_prediction", encoded_schema())]).await
}

#[tokio::test]
async fn training_splits_as_sklearn_saves_the_model_and_returns_tagged_rows() {
    let bench = training_bench().await;
    let out = bench.build("train_test_position").await;
    assert_eq!(out.num_rows(), 30);
    let columns: Vec<String> = out.schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(columns.last().map(String::as_str), Some("dataset_type"));
    assert!(!columns.iter().any(|c| c == "result_id"));

    // Recover each output row's result_id from its (unique) feature values.
    let fixture = bench.session.table(TableReference::partial(SCHEMA, "train_test_dataset")).await.unwrap();
    let fixture = arrow::compute::concat_batches(
        &Arc::new(fixture.schema().as_arrow().clone()),
        &fixture.collect().await.unwrap(),
    )
    .unwrap();
    let key = |batch: &RecordBatch, i: usize| {
        let named = ["race_year", "circuit_name", "grid", "constructor_name", "driver", "drivers_age_years"];
        named.map(|name| ints(batch, name)[i])
    };
    let ids: BTreeMap<_, i64> =
        (0..fixture.num_rows()).map(|i| (key(&fixture, i), ints(&fixture, "result_id")[i].unwrap())).collect();
    assert_eq!(ids.len(), 30, "the fixture's keys are unique");
    let types = strings(&out, "dataset_type");
    let test: BTreeSet<i64> = (0..out.num_rows()).filter(|&i| types[i] == "test").map(|i| ids[&key(&out, i)]).collect();
    assert_eq!(test, BTreeSet::from([1104, 1117, 1156, 1195, 1221, 1299, 1312, 1351, 1364]));
    assert_eq!(types.iter().filter(|t| *t == "train").count(), 21);

    let artifact = stage::load_model(&bench.stage).await.unwrap().expect("the model is in the stage");
    assert_eq!(artifact.features, FEATURES);
    assert_eq!(artifact.classes, vec![1, 2, 3]);
    assert!(artifact.standardization.is_none());
    assert_eq!((artifact.training.train_rows, artifact.training.test_rows, artifact.training.rows), (21, 9, 30));
    let metrics = stage::load_metrics(&bench.stage).await.unwrap().unwrap();
    assert_eq!((metrics.test.rows, metrics.hold_out.rows), (9, 6));
    assert_eq!(metrics.training, artifact.training);
    let report = crate::metrics_report(&bench.stage).await.unwrap();
    assert!(report.starts_with("Model driver_position_1.0 (linfa-logistic 0.8.1, raw features)"), "{report}");
    for part in
        ["Trained on 21 of 30 rows", "Test split: 9 rows", "2020 hold-out: 6 rows", "confusion matrix", "converged"]
    {
        assert!(report.contains(part), "{part}:\n{report}");
    }

    // Standardising is a model config (meta), recorded in the artifact.
    bench.try_build("train_test_position", &[("standardize", serde_json::json!(true))]).await.unwrap();
    let standardized: ModelArtifact = stage::load_model(&bench.stage).await.unwrap().unwrap();
    assert!(standardized.training.standardized);
    assert_eq!(standardized.standardization.as_ref().map(|s| s.mean.len()), Some(9));
    assert!(crate::metrics_report(&bench.stage).await.unwrap().contains("standardized features"));
    let bad = bench.try_build("train_test_position", &[("standardize", serde_json::json!("yes"))]).await;
    assert!(bad.unwrap_err().to_string().contains("meta.standardize must be true or false"));
}

#[tokio::test]
async fn prediction_needs_a_trained_model_then_labels_every_hold_out_row() {
    let bench = training_bench().await;
    let err = bench.try_build("predict_position", &[]).await.unwrap_err().to_string();
    assert!(err.contains("no trained model at") && err.contains("pitwall build --select +predict_position"), "{err}");
    let report = crate::metrics_report(&bench.stage).await.unwrap_err().to_string();
    assert!(report.contains("no metrics here"), "{report}");

    bench.build("train_test_position").await;
    let out = bench.build("predict_position").await;
    let columns: Vec<String> = out.schema().fields().iter().map(|f| f.name().clone()).collect();
    let mut expected: Vec<&str> = FEATURES.to_vec();
    expected.push("position_predicted");
    assert_eq!(columns, expected);
    assert_eq!(out.num_rows(), 6);
    // Features are used and returned as they are: the floats stay floats.
    assert_eq!(out.schema().field_with_name("driver_confidence").unwrap().data_type(), &DataType::Float64);
    let predicted = ints(&out, "position_predicted");
    assert!(predicted.iter().all(|p| matches!(p, Some(1..=3))), "{predicted:?}");
    // Hold-out rows come out in result_id order: 1390, 1403, ... have grids 11, 18, 5, 12, 19, 6.
    assert_eq!(ints(&out, "grid"), some(&[11, 18, 5, 12, 19, 6]));

    // The UDF's predictions are the artifact's own.
    let artifact = stage::load_model(&bench.stage).await.unwrap().unwrap();
    let names: Vec<String> = FEATURES.iter().map(|f| f.to_string()).collect();
    let x = crate::features::batch_matrix(&out, &names).unwrap();
    assert_eq!(artifact.predict(x.view()).to_vec(), predicted.into_iter().map(Option::unwrap).collect::<Vec<_>>());
}

/// The checkout's project, with this crate's Rust models bound.
fn checkout_project() -> pitwall_project::Project {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let config = pitwall_core::ProjectConfig::load(&root, &Default::default()).unwrap();
    pitwall_project::load(config, &[&crate::LAYER], pitwall_project::Bindings::Available).unwrap()
}

#[test]
fn models_declare_their_folders_tags_and_refs() {
    let project = checkout_project();
    let models: Vec<_> = project.nodes.iter().filter(|n| n.spec().layer() == "ml").collect();
    let find = |name: &str| models.iter().find(|m| m.name() == name).unwrap();
    for (name, fqn, tags, refs) in [
        ("ml_data_prep", "prep", vec![], vec!["fct_results"]),
        ("covariate_encoding", "prep", vec![], vec!["ml_data_prep"]),
        ("train_test_dataset", "prep", vec!["train"], vec!["covariate_encoding"]),
        ("hold_out_dataset_for_prediction", "prep", vec!["predict"], vec!["covariate_encoding"]),
        (
            "train_test_position",
            "train_predict",
            vec!["train"],
            vec!["train_test_dataset", "hold_out_dataset_for_prediction"],
        ),
        (
            "predict_position",
            "train_predict",
            vec!["predict"],
            vec!["hold_out_dataset_for_prediction", "train_test_position"],
        ),
    ] {
        let node = find(name);
        let spec = node.spec();
        assert_eq!(spec.fqn, vec!["ml", fqn], "{name}");
        assert_eq!(node.config.tags, tags, "{name}");
        assert_eq!(spec.refs, refs, "{name}");
        assert!(spec.sources.is_empty(), "{name}");
        assert!(
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
                .join(&spec.original_file_path)
                .is_file()
        );
    }
    assert_eq!(models.len(), 6);
}

#[tokio::test]
async fn too_few_rows_to_split_is_a_clear_error() {
    let bench = training_bench().await;
    let frame = bench.session.table(TableReference::partial(SCHEMA, "train_test_dataset")).await.unwrap();
    let schema = Arc::new(frame.schema().as_arrow().clone());
    let rows = arrow::compute::concat_batches(&schema, &frame.collect().await.unwrap()).unwrap();
    let settings = crate::classifier::TrainSettings::default();
    for n in [0, 1] {
        let err = crate::train_predict::train_and_evaluate(&rows.slice(0, n), &rows, &settings).err().unwrap();
        assert!(
            matches!(&err, crate::MlError::Data(m)
                if m.starts_with(&format!("train_test_dataset has {n} rows, too few to split 0 / {n} and train"))),
            "{err}"
        );
    }
}

/// For each model kind: train through `train_test_position` with `meta.model`, store,
/// load, and predict identically; `predict_position`'s rows score as the stored metrics say.
#[tokio::test]
async fn every_model_kind_is_stored_readably_and_predicts_the_same_after_loading() {
    let bench = training_bench().await;
    for name in ["logistic_onehot_balanced_c1", "tree_d4", "forest_d6_l5", "logistic_raw"] {
        bench.try_build("train_test_position", &[("model", serde_json::json!(name))]).await.unwrap();
        let stored = std::fs::read(stage::model_location(&bench.stage).to_string()).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&stored).unwrap();
        assert_eq!(json["training"]["candidate"]["name"], name, "the file says which model");
        assert_eq!(json["training"]["candidate"]["chosen_by"], "named in meta.model");
        assert!(json["training"]["candidate"]["hyperparameters"].is_object());
        let loaded = stage::load_model(&bench.stage).await.unwrap().unwrap();
        let again: ModelArtifact = stage::from_json(&stage::to_json(&loaded).unwrap()).unwrap();
        assert_eq!(again, loaded, "{name}: the file round-trips exactly");

        let out = bench.build("predict_position").await;
        let names: Vec<String> = FEATURES.iter().map(|f| f.to_string()).collect();
        let x = crate::features::batch_matrix(&out, &names).unwrap();
        let predicted: Vec<i64> = ints(&out, "position_predicted").into_iter().map(Option::unwrap).collect();
        assert_eq!(loaded.predict(x.view()).to_vec(), predicted, "{name}: the UDF applies the stored model");

        // The hold-out figure the metrics report equals one recomputed from the rows.
        let truth: Vec<i64> =
            ints(&hold_out_rows(&bench).await, "position_label").into_iter().map(Option::unwrap).collect();
        let recomputed = crate::metrics::SplitMetrics::compute(&truth, &predicted, &loaded.classes);
        let metrics = stage::load_metrics(&bench.stage).await.unwrap().unwrap();
        assert_eq!(metrics.hold_out.balanced_accuracy, recomputed.balanced_accuracy, "{name}");
        let report = crate::metrics_report(&bench.stage).await.unwrap();
        assert!(report.contains(name), "{report}");
    }
    let tree = stage::load_model(&bench.stage).await.unwrap().unwrap();
    assert!(tree.forest.is_none() && tree.training.candidate.is_some(), "logistic_raw was last");
}

/// The hold-out rows in `result_id` order (predict_position's order).
async fn hold_out_rows(bench: &Bench) -> RecordBatch {
    let frame = bench.session.table(TableReference::partial(SCHEMA, "hold_out_dataset_for_prediction")).await.unwrap();
    let frame = frame.sort(vec![datafusion::prelude::ident("result_id").sort(true, false)]).unwrap();
    let schema = Arc::new(frame.schema().as_arrow().clone());
    arrow::compute::concat_batches(&schema, &frame.collect().await.unwrap()).unwrap()
}

#[tokio::test]
async fn auto_trains_the_cross_validation_winner_and_bad_settings_are_named() {
    let bench = training_bench().await;
    bench.try_build("train_test_position", &[("model", serde_json::json!("auto"))]).await.unwrap();
    let artifact = stage::load_model(&bench.stage).await.unwrap().unwrap();
    let candidate = artifact.training.candidate.expect("auto records the candidate");
    assert!(candidate.chosen_by.starts_with("auto: highest mean balanced accuracy"), "{candidate:?}");

    let unknown = bench.try_build("train_test_position", &[("model", serde_json::json!("xgboost"))]).await;
    let err = unknown.unwrap_err().to_string();
    assert!(err.contains("meta.model names no candidate 'xgboost'") && err.contains("forest_dmax_l1"), "{err}");
    let both = [("model", serde_json::json!("auto")), ("standardize", serde_json::json!(true))];
    let err = bench.try_build("train_test_position", &both).await.unwrap_err().to_string();
    assert!(err.contains("cannot both be set"), "{err}");
}
