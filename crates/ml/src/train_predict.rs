//! The two Rust models of `ml/train_predict`:
//!
//! - `train_test_position` (tag `train`) splits `train_test_dataset` 70/30 exactly as
//!   scikit-learn's `train_test_split(..., train_size=0.7, random_state=42)` does, fits
//!   the classifier on the 70%, scores it on the 30% and on the 2020 hold-out, saves the
//!   model and its metrics to the model stage, and returns the dataset's rows with
//!   `dataset_type` 'train' or 'test' (distinct rows, as the workshop's Snowpark union).
//! - `predict_position` (tag `predict`) loads that model from the stage and adds
//!   `position_predicted` to every hold-out row through a vectorised scalar UDF, as the
//!   workshop does with a Snowpark UDF. It refs `train_test_position` so the DAG runs
//!   training first.
//!
//! Row order: the split consumes `train_test_dataset` in `result_id` order (the order of
//! the workshop's pandas frame), sorted here explicitly; storage order is never trusted.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray, UInt64Array};
use arrow::compute::{concat, take};
use arrow::datatypes::{DataType, Field, Schema};
use async_trait::async_trait;
use datafusion::common::JoinType;
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::functions_aggregate::expr_fn::min;
use datafusion::logical_expr::{ColumnarValue, Expr, ScalarUDF, Volatility, create_udf};
use datafusion::prelude::{cast, ident};
use ndarray::{Array1, ArrayView2};
use pitwall_core::{CompiledModel, Error, Model, ModelContext, ModelSpec, Result};

use crate::candidates::{self, Candidate};
use crate::classifier::{self, ModelArtifact, TrainSettings};
use crate::compare;
use crate::dataset::collect_in_key_order;
pub use crate::dataset::{HOLD_OUT_DATASET, ROW_KEY, SplitData, TRAIN_TEST_DATASET};
use crate::error::MlError;
use crate::features;
use crate::metrics::SplitMetrics;
use crate::split;
use crate::stage::{self, Metrics};

pub const TRAIN_TEST_POSITION: &str = "train_test_position";
pub const PREDICT_POSITION: &str = "predict_position";

const SOURCE_FILE: &str = "crates/ml/src/train_predict.rs";
const SOURCE: &str = include_str!("train_predict.rs");

/// `train_test_position`, as a project binds it. The hold-out is read only to score the
/// fitted model on 2020; it never trains it.
pub const TRAIN: CompiledModel = CompiledModel {
    name: TRAIN_TEST_POSITION,
    refs: &[TRAIN_TEST_DATASET, HOLD_OUT_DATASET],
    code: SOURCE,
    code_path: SOURCE_FILE,
    make: |spec| Arc::new(TrainTestPosition { spec }),
};

/// `predict_position`, as a project binds it. `train_test_position` is not read: the ref
/// makes the DAG train before predicting.
pub const PREDICT: CompiledModel = CompiledModel {
    name: PREDICT_POSITION,
    refs: &[HOLD_OUT_DATASET, TRAIN_TEST_POSITION],
    code: SOURCE,
    code_path: SOURCE_FILE,
    make: |spec| Arc::new(PredictPosition { spec }),
};

/// A trained model with everything learnt about it.
pub struct Trained {
    pub artifact: ModelArtifact,
    pub metrics: Metrics,
    pub split: split::Split,
}

/// Which model `train_test_position` trains (`meta.model`).
#[derive(Clone, Debug, PartialEq)]
pub enum ModelChoice {
    /// No `meta.model`: the workshop's model, with `meta.standardize` as given.
    Workshop,
    /// `model = "auto"`: the cross-validation winner of `pitwall ml compare`'s candidates.
    Auto,
    /// `model = "<candidate>"`.
    Named(Candidate),
}

impl ModelChoice {
    pub fn from_meta(meta: &BTreeMap<String, serde_json::Value>) -> std::result::Result<ModelChoice, MlError> {
        let Some(value) = meta.get("model") else {
            return Ok(ModelChoice::Workshop);
        };
        let name = value.as_str().ok_or_else(|| {
            MlError::Config(format!("meta.model must be a string (auto or a candidate), not {value}"))
        })?;
        if meta.contains_key("standardize") {
            return Err(MlError::Config(
                "meta.standardize and meta.model cannot both be set: each candidate fixes its own features".into(),
            ));
        }
        match name {
            "auto" => Ok(ModelChoice::Auto),
            name => Ok(ModelChoice::Named(candidates::find(name, TrainSettings::default().seed)?)),
        }
    }
}

/// Splits `train_test` (rows in split order), fits on the training part and scores the
/// model on the test part and on `hold_out`; both batches need the features and labels.
pub fn train_and_evaluate(
    train_test: &RecordBatch,
    hold_out: &RecordBatch,
    settings: &TrainSettings,
) -> std::result::Result<Trained, MlError> {
    train_chosen(train_test, hold_out, settings, &ModelChoice::Workshop)
}

/// [`train_and_evaluate`] for the model `choice` names.
pub fn train_chosen(
    train_test: &RecordBatch,
    hold_out: &RecordBatch,
    settings: &TrainSettings,
    choice: &ModelChoice,
) -> std::result::Result<Trained, MlError> {
    let data = SplitData::new(train_test, hold_out, settings)?;
    let (x, y) = (data.x_train.view(), data.y_train.view());
    let fitted = match choice {
        ModelChoice::Workshop => classifier::fit(x, y, settings, data.record())?,
        ModelChoice::Named(candidate) => {
            with_record(candidate, candidate.fit(x, y, data.record(), true)?, "named in meta.model".into())
        }
        ModelChoice::Auto => {
            let (candidate, cv) = compare::choose(x, y, compare::DEFAULT_FOLDS, settings.seed)?;
            let chosen_by = format!(
                "auto: highest mean balanced accuracy ({cv:.4}) in {}-fold stratified cross-validation (seed {}) \
                 on the training split",
                compare::DEFAULT_FOLDS,
                settings.seed
            );
            with_record(&candidate, candidate.fit(x, y, data.record(), true)?, chosen_by)
        }
    };
    let artifact = fitted.artifact;
    let score = |x: ArrayView2<'_, f64>, y: &Array1<i64>| {
        SplitMetrics::compute(&y.to_vec(), &artifact.predict(x).to_vec(), &artifact.classes)
    };
    let metrics = Metrics {
        model: stage::model_id(),
        training: artifact.training.clone(),
        fit_ms: fitted.fit_time.as_secs_f64() * 1000.0,
        test: score(data.x_test.view(), &data.y_test),
        hold_out: score(data.x_hold.view(), &data.y_hold),
    };
    Ok(Trained { artifact, metrics, split: data.split })
}

fn with_record(candidate: &Candidate, mut fitted: classifier::Fitted, chosen_by: String) -> classifier::Fitted {
    fitted.artifact.training.candidate = Some(candidate.record(chosen_by));
    fitted
}

pub struct TrainTestPosition {
    spec: ModelSpec,
}

#[async_trait]
impl Model for TrainTestPosition {
    fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    async fn build(&self, ctx: &ModelContext) -> Result<DataFrame> {
        let fail = |e: MlError| Error::model(&self.spec.name, e.to_string());
        let meta = &ctx.config().meta;
        let choice = ModelChoice::from_meta(meta).map_err(fail)?;
        let settings = TrainSettings::from_meta(meta).map_err(fail)?;
        let dataset = ctx.reference(TRAIN_TEST_DATASET).await?;
        let rows = collect_in_key_order(dataset.clone()).await?;
        let hold_out = collect_in_key_order(ctx.reference(HOLD_OUT_DATASET).await?).await?;
        let trained = train_chosen(&rows, &hold_out, &settings, &choice).map_err(fail)?;
        stage::save(ctx.model_stage()?, &trained.artifact, &trained.metrics, ctx.fingerprint()).await?;

        // Which row went where, as a small table joined back to the dataset.
        let ids = features::column(&rows, ROW_KEY).map_err(fail)?;
        let positions = |p: &[usize]| UInt64Array::from_iter_values(p.iter().map(|&i| i as u64));
        let train_ids = take(ids, &positions(&trained.split.train), None)?;
        let test_ids = take(ids, &positions(&trained.split.test), None)?;
        let labels = std::iter::repeat_n("train", train_ids.len()).chain(std::iter::repeat_n("test", test_ids.len()));
        let assignment = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("split_result_id", ids.data_type().clone(), false),
                Field::new("dataset_type", DataType::Utf8, false),
            ])),
            vec![concat(&[train_ids.as_ref(), test_ids.as_ref()])?, Arc::new(StringArray::from_iter_values(labels))],
        )?;
        let assignment = ctx.session().read_batch(assignment)?;

        // Distinct output rows (Snowpark's union is distinct), in the dataset's order.
        let mut output: Vec<Expr> =
            dataset.schema().fields().iter().filter(|f| f.name() != ROW_KEY).map(|f| ident(f.name())).collect();
        output.push(ident("dataset_type"));
        Ok(dataset
            .join(assignment, JoinType::Inner, &[ROW_KEY], &["split_result_id"], None)?
            .aggregate(output.clone(), vec![min(ident(ROW_KEY)).alias("first_result_id")])?
            .sort(vec![ident("first_result_id").sort(true, false)])?
            .select(output)?)
    }

    /// The stage must hold the model this fingerprint trained: a stored table alone
    /// does not say which model predict_position would load.
    async fn is_current(&self, ctx: &ModelContext) -> Result<bool> {
        match ctx.fingerprint() {
            Some(fingerprint) => stage::is_current(ctx.model_stage()?, fingerprint).await,
            None => Ok(false),
        }
    }
}

pub struct PredictPosition {
    spec: ModelSpec,
}

#[async_trait]
impl Model for PredictPosition {
    fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    async fn build(&self, ctx: &ModelContext) -> Result<DataFrame> {
        let stage = ctx.model_stage()?;
        let artifact = stage::load_model(stage).await?.ok_or_else(|| {
            Error::model(
                &self.spec.name,
                format!(
                    "no trained model at {}: build the training model first \
                     (pitwall build --select +predict_position, or pitwall build --select train_test_position)",
                    stage::model_location(stage)
                ),
            )
        })?;
        let hold_out = ctx.reference(HOLD_OUT_DATASET).await?;
        let inputs: Vec<Expr> = artifact.features.iter().map(|f| cast(ident(f), DataType::Float64)).collect();
        let mut output: Vec<Expr> = artifact.features.iter().map(ident).collect();
        output.push(prediction_udf(Arc::new(artifact)).call(inputs).alias("position_predicted"));
        Ok(hold_out.sort(vec![ident(ROW_KEY).sort(true, false)])?.select(output)?)
    }

    /// Its predictions came from the stage's model, so they are current only while the
    /// stage holds one (training, reused or rebuilt, keeps it the one its fingerprint
    /// trained).
    async fn is_current(&self, ctx: &ModelContext) -> Result<bool> {
        Ok(stage::load_model(ctx.model_stage()?).await?.is_some())
    }
}

/// The model as a scalar function of its features (as floats), one batch at a time.
fn prediction_udf(artifact: Arc<ModelArtifact>) -> ScalarUDF {
    let inputs = vec![DataType::Float64; artifact.features.len()];
    let predict = move |args: &[ColumnarValue]| -> datafusion::error::Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(args)?;
        let named: Vec<(&str, &ArrayRef)> = artifact.features.iter().map(String::as_str).zip(&arrays).collect();
        let x = features::matrix(&named).map_err(|e| DataFusionError::Execution(format!("{PREDICT_POSITION}: {e}")))?;
        let predicted: ArrayRef = Arc::new(Int64Array::from(artifact.predict(x.view()).to_vec()));
        if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) && predicted.len() == 1 {
            Ok(ColumnarValue::Scalar(datafusion::scalar::ScalarValue::try_from_array(&predicted, 0)?))
        } else {
            Ok(ColumnarValue::Array(predicted))
        }
    };
    create_udf(PREDICT_POSITION, inputs, DataType::Int64, Volatility::Immutable, Arc::new(predict))
}
