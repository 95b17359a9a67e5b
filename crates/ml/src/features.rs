//! Arrow columns to ndarray matrices, in bulk: one copy per column, never row by row.

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use ndarray::{Array1, Array2, ShapeBuilder};

use crate::error::MlError;

/// The feature matrix (rows x columns, in `columns` order) of float-castable columns;
/// a NULL or an uncastable value is an error naming the column.
pub fn matrix(columns: &[(&str, &ArrayRef)]) -> Result<Array2<f64>, MlError> {
    let rows = columns.first().map_or(0, |(_, c)| c.len());
    // Column-major storage: each column is one contiguous copy of its Arrow buffer.
    let mut data = Vec::with_capacity(rows * columns.len());
    for (name, column) in columns {
        if column.len() != rows {
            return Err(MlError::Data(format!("column {name} has {} rows, expected {rows}", column.len())));
        }
        let floats = cast_with_options(column, &DataType::Float64, &CastOptions { safe: false, ..Default::default() })
            .map_err(|e| MlError::Data(format!("column {name} cannot be read as a float feature: {e}")))?;
        if floats.null_count() > 0 {
            return Err(MlError::Data(format!(
                "column {name} has {} NULL values; features must not be NULL",
                floats.null_count()
            )));
        }
        data.extend_from_slice(floats.as_primitive::<Float64Type>().values());
    }
    // Every column was checked to have `rows` values, so the shape always fits.
    Array2::from_shape_vec((rows, columns.len()).f(), data).map_err(|e| MlError::Internal(e.to_string()))
}

/// The named columns of `batch` as a feature matrix.
pub fn batch_matrix(batch: &RecordBatch, names: &[String]) -> Result<Array2<f64>, MlError> {
    let columns =
        names.iter().map(|name| Ok((name.as_str(), column(batch, name)?))).collect::<Result<Vec<_>, MlError>>()?;
    matrix(&columns)
}

/// An integer column (labels, ids) without NULLs.
pub fn integers(batch: &RecordBatch, name: &str) -> Result<Array1<i64>, MlError> {
    let values = cast_with_options(column(batch, name)?, &DataType::Int64, &CastOptions::default())
        .map_err(|e| MlError::Data(format!("column {name} cannot be read as integers: {e}")))?;
    if values.null_count() > 0 {
        return Err(MlError::Data(format!("column {name} has {} NULL values", values.null_count())));
    }
    Ok(Array1::from(values.as_primitive::<Int64Type>().values().to_vec()))
}

pub fn column<'b>(batch: &'b RecordBatch, name: &str) -> Result<&'b ArrayRef, MlError> {
    batch
        .column_by_name(name)
        .ok_or_else(|| MlError::Data(format!("no column {name} (columns: {})", column_names(batch))))
}

fn column_names(batch: &RecordBatch) -> String {
    batch.schema().fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Float64Array, Int32Array, Int64Array};
    use ndarray::array;

    use super::*;

    #[test]
    fn integer_and_float_columns_become_one_matrix_in_column_order() {
        let a: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3]));
        let b: ArrayRef = Arc::new(Float64Array::from(vec![0.5, 0.25, 0.125]));
        let c: ArrayRef = Arc::new(Int32Array::from(vec![7, 8, 9]));
        let x = matrix(&[("a", &a), ("b", &b), ("c", &c)]).unwrap();
        assert_eq!(x, array![[1.0, 0.5, 7.0], [2.0, 0.25, 8.0], [3.0, 0.125, 9.0]]);
    }

    #[test]
    fn nulls_and_ragged_columns_are_errors_naming_the_column() {
        let a: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None]));
        let b: ArrayRef = Arc::new(Int64Array::from(vec![1]));
        assert!(matrix(&[("grid", &a)]).unwrap_err().to_string().contains("grid has 1 NULL"));
        assert!(matrix(&[("b", &b), ("grid", &a)]).unwrap_err().to_string().contains("grid has 2 rows"));
        assert_eq!(matrix(&[]).unwrap().dim(), (0, 0));
    }
}
