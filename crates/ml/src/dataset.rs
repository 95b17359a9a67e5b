//! The datasets the ml models read: `train_test_dataset` (split 70/30 exactly as
//! scikit-learn's `train_test_split(..., train_size=0.7, random_state=42)` splits it) and
//! the 2020 hold-out, as matrices, their rows in `result_id` order (the order of the
//! workshop's pandas frame; storage order is never trusted).

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use datafusion::dataframe::DataFrame;
use datafusion::prelude::ident;
use ndarray::{Array1, Array2, Axis};
use pitwall_core::Result;

use crate::classifier::{FEATURES, SplitRecord, TARGET, TrainSettings};
use crate::error::MlError;
use crate::features;
use crate::split;

/// The dataset training reads (a ref of `train_test_position`).
pub const TRAIN_TEST_DATASET: &str = "train_test_dataset";
/// The 2020 rows, scored but never trained on.
pub const HOLD_OUT_DATASET: &str = "hold_out_dataset_for_prediction";
/// The row key that orders the split.
pub const ROW_KEY: &str = "result_id";

/// The datasets as matrices: `train_test_dataset` split 70/30 as scikit-learn splits it,
/// and the hold-out.
pub struct SplitData {
    pub x_train: Array2<f64>,
    pub y_train: Array1<i64>,
    pub x_test: Array2<f64>,
    pub y_test: Array1<i64>,
    pub x_hold: Array2<f64>,
    pub y_hold: Array1<i64>,
    pub split: split::Split,
    pub rows: usize,
    pub(crate) description: String,
}

impl SplitData {
    /// Splits `train_test` (rows in split order); both batches need the features and labels.
    pub fn new(
        train_test: &RecordBatch,
        hold_out: &RecordBatch,
        settings: &TrainSettings,
    ) -> std::result::Result<SplitData, MlError> {
        let names: Vec<String> = FEATURES.iter().map(|f| f.to_string()).collect();
        let x = features::batch_matrix(train_test, &names)?;
        let y = features::integers(train_test, TARGET)?;
        let (n_train, n_test) = split::split_sizes(x.nrows(), settings.train_size);
        if n_train == 0 || n_test == 0 {
            return Err(MlError::Data(format!(
                "{TRAIN_TEST_DATASET} has {} rows, too few to split {} / {} and train \
                 (it holds the 2010-2019 results of drivers and constructors active in 2020)",
                x.nrows(),
                n_train,
                n_test
            )));
        }
        let split = split::train_test_split(x.nrows(), settings.train_size, settings.seed);
        Ok(SplitData {
            x_train: x.select(Axis(0), &split.train),
            y_train: y.select(Axis(0), &split.train),
            x_test: x.select(Axis(0), &split.test),
            y_test: y.select(Axis(0), &split.test),
            x_hold: features::batch_matrix(hold_out, &names)?,
            y_hold: features::integers(hold_out, TARGET)?,
            rows: x.nrows(),
            description: format!(
                "scikit-learn train_test_split(train_size={}, random_state={}) over rows in {ROW_KEY} order",
                settings.train_size, settings.seed
            ),
            split,
        })
    }

    /// How the training rows were drawn, for the stored model.
    pub fn record(&self) -> SplitRecord {
        SplitRecord { rows: self.rows, test_rows: self.split.test.len(), description: self.description.clone() }
    }
}

/// All rows of `frame` sorted by the row key, as one batch.
pub(crate) async fn collect_in_key_order(frame: DataFrame) -> Result<RecordBatch> {
    let schema = Arc::new(frame.schema().as_arrow().clone());
    let batches = frame.sort(vec![ident(ROW_KEY).sort(true, false)])?.collect().await?;
    Ok(concat_batches(&schema, &batches)?)
}
