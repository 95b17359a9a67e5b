//! The inputs a model reads, derived from its features: each feature as it is, or one
//! 0/1 column per category it takes (one-hot), learnt from the training rows and stored
//! with the model so predictions encode exactly as training did.

use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::error::MlError;

/// Derived input columns: a feature as it is, or one 0/1 column per category it takes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Encoding {
    pub columns: Vec<EncodedColumn>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EncodedColumn {
    /// Position of the feature in the model's `features`.
    pub feature: usize,
    /// `None`: the feature's value; `Some(c)`: 1 where the feature equals `c`, else 0 (a
    /// category unseen in training sets none of its feature's columns).
    pub equals: Option<i64>,
}

impl Encoding {
    /// One-hot columns for the `categorical` features' training values, the others as they are.
    pub fn one_hot(x: ArrayView2<'_, f64>, categorical: &[usize]) -> Encoding {
        let mut columns = Vec::new();
        for (feature, values) in x.axis_iter(Axis(1)).enumerate() {
            if !categorical.contains(&feature) {
                columns.push(EncodedColumn { feature, equals: None });
                continue;
            }
            let mut categories: Vec<i64> = values.iter().map(|v| *v as i64).collect();
            categories.sort_unstable();
            categories.dedup();
            columns.extend(categories.into_iter().map(|c| EncodedColumn { feature, equals: Some(c) }));
        }
        Encoding { columns }
    }

    pub fn apply(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        let mut out = Array2::zeros((x.nrows(), self.columns.len()));
        for (mut target, column) in out.axis_iter_mut(Axis(1)).zip(&self.columns) {
            let source = x.column(column.feature);
            match column.equals {
                None => target.assign(&source),
                Some(c) => target.zip_mut_with(&source, |t, v| *t = if *v == c as f64 { 1.0 } else { 0.0 }),
            }
        }
        out
    }

    /// Checks a stored model's encoding against its features.
    pub fn validate(&self, features: usize) -> Result<(), MlError> {
        match self.columns.iter().find(|c| c.feature >= features) {
            Some(c) => {
                Err(MlError::Stored(format!("encoding reads feature {} but the model has {features}", c.feature)))
            }
            None if self.columns.is_empty() => Err(MlError::Stored("encoding has no columns".into())),
            None => Ok(()),
        }
    }
}
