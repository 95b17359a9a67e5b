//! SQL functions pitwall adds to every session, so models, tests and `pitwall query`
//! share one dialect.
//!
//! `round_half_even(x, digits)` rounds as numpy's `round` (and so pandas' `DataFrame.round`)
//! does: scale by 10^digits, round half to even on the binary double, scale back. Plain
//! `round()` rounds half away from zero, which differs on ties such as 0.125 -> 0.12.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray};
use arrow::compute::kernels::arity::binary;
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use datafusion::prelude::SessionContext;

/// numpy's `round(x, digits)` for one value.
pub fn round_half_even(x: f64, digits: i64) -> f64 {
    if digits >= 0 {
        let scale = 10f64.powi(digits as i32);
        (x * scale).round_ties_even() / scale
    } else {
        let scale = 10f64.powi(-digits as i32);
        (x / scale).round_ties_even() * scale
    }
}

fn round_half_even_udf(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let arrays = ColumnarValue::values_to_arrays(args)?;
    let x = arrays[0].as_primitive::<Float64Type>();
    let digits = arrays[1].as_primitive::<Int64Type>();
    let rounded = binary::<_, _, _, Float64Type>(x, digits, round_half_even)?;
    let out: ArrayRef = Arc::new(rounded);
    if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
        Ok(ColumnarValue::Scalar(datafusion::scalar::ScalarValue::try_from_array(&out, 0)?))
    } else {
        Ok(ColumnarValue::Array(out))
    }
}

/// pitwall's functions, for a session state built by hand (a Ballista scheduler's or
/// executor's) rather than a [`SessionContext`].
pub fn udfs() -> Vec<ScalarUDF> {
    vec![create_udf(
        "round_half_even",
        vec![DataType::Float64, DataType::Int64],
        DataType::Float64,
        Volatility::Immutable,
        Arc::new(round_half_even_udf),
    )]
}

/// Registers pitwall's functions in `session`.
pub fn register(session: &SessionContext) {
    for udf in udfs() {
        session.register_udf(udf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Array;

    #[test]
    fn ties_round_to_even_on_the_scaled_double() {
        assert_eq!(round_half_even(0.125, 2), 0.12);
        assert_eq!(round_half_even(0.375, 2), 0.38);
        assert_eq!(round_half_even(2.5, 0), 2.0);
        assert_eq!(round_half_even(-2.5, 0), -2.0);
        assert_eq!(round_half_even(95.85, 1), 95.8); // 95.85 * 10 is 958.5: the tie goes to even
        assert_eq!(round_half_even(14.875, 2), 14.88);
        assert_eq!(round_half_even(1250.0, -2), 1200.0);
        assert!(round_half_even(f64::NAN, 2).is_nan());
    }

    #[tokio::test]
    async fn the_sql_function_rounds_columns_and_scalars_and_keeps_nulls() {
        let session = SessionContext::new();
        register(&session);
        let batches = session
            .sql("select round_half_even(x, 2) as r from (values (0.125), (null), (2.675)) as t(x)")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let r = batches[0].column(0).as_primitive::<Float64Type>();
        assert_eq!(r.value(0), 0.12);
        assert!(r.is_null(1));
        // numpy scales first: 2.675 * 100 is exactly 267.5 as a double, so the tie goes to
        // even (2.68), although 2.675 itself is 2.67499999... (Python's round() says 2.67).
        assert_eq!(r.value(2), 2.68);
        let scalar = session.sql("select round_half_even(0.5, 0)").await.unwrap().collect().await.unwrap();
        assert_eq!(scalar[0].column(0).as_primitive::<Float64Type>().value(0), 0.0);
    }
}
