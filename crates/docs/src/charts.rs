//! The charts of the docs site, the workshop's answers drawn from what the warehouse and
//! the model stage hold: the 2021 pit stop distribution per constructor
//! (`fastest_pit_stops_by_constructor`), the lap time trend with its 5-year moving
//! average (`lap_times_moving_avg`), and the trained model's confusion matrices and
//! per-class metrics (the model stage's `metrics.json`, read with the ml crate's own
//! reader), and `pitwall ml compare`'s candidates (`ml_compare.json` under the target
//! path). Each chart that cannot be drawn says why, with the command that builds what
//! it needs, and the site is generated all the same.
//!
//! This module names models: its charts are of those models, as the workshop's are.

use anyhow::{Context, Result};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type};
use datafusion::common::TableReference;
use datafusion::prelude::{SessionContext, ident};
use serde::Serialize;

use pitwall_project::Project;

const PIT_STOPS: &str = "fastest_pit_stops_by_constructor";
const LAP_TIMES: &str = "lap_times_moving_avg";
const TRAINING: &str = "train_test_position";
/// A value that does not convert leaves the chart out, saying so, rather than plotting a gap.
const STRICT: arrow::compute::CastOptions<'static> =
    arrow::compute::CastOptions { safe: false, format_options: arrow::util::display::FormatOptions::new() };

/// One constructor's 2021 pit stop summary, in seconds.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PitStops {
    pub constructor: String,
    pub count: Option<f64>,
    pub mean: Option<f64>,
    pub std: Option<f64>,
    pub min: Option<f64>,
    pub q1: Option<f64>,
    pub median: Option<f64>,
    pub q3: Option<f64>,
    pub max: Option<f64>,
}

/// One race year's mean lap time and its 5-year moving average, in seconds.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LapTimes {
    pub year: i64,
    pub seconds: Option<f64>,
    pub moving_avg: Option<f64>,
}

/// A chart's data, or why there is none.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Chart<T> {
    Ok { data: T },
    Missing { message: String },
}

/// Every chart's data, embedded in the site for readers and tests.
#[derive(Clone, Debug, Serialize)]
pub struct ChartData {
    pub pit_stops: Chart<Vec<PitStops>>,
    pub lap_times: Chart<Vec<LapTimes>>,
    pub ml: Chart<ml::stage::Metrics>,
    /// `pitwall ml compare`'s table (`<target-path>/ml_compare.json`).
    pub ml_compare: Chart<ml::compare::Comparison>,
}

/// Reads what the charts need from the opened warehouse and the model stage (`plots`
/// draws them). Never fails: a chart whose data cannot be read carries the reason
/// instead, also printed as a warning.
pub async fn read(project: &Project, session: &SessionContext) -> ChartData {
    let pit_stops = model_chart(project, session, PIT_STOPS, read_pit_stops).await;
    let lap_times = model_chart(project, session, LAP_TIMES, read_lap_times).await;
    let ml = match ml::stage::load_metrics(&project.config.model_stage).await {
        Ok(Some(metrics)) => Chart::Ok { data: metrics },
        Ok(None) => Chart::Missing {
            message: format!(
                "no trained model in the model stage at {}: train it first (pitwall build --select +{TRAINING})",
                project.config.model_stage
            ),
        },
        Err(e) => Chart::Missing { message: format!("the model's metrics could not be read: {e}") },
    };
    let target = &project.config.target_path;
    let ml_compare = match ml::compare::load(target).await {
        Ok(Some(comparison)) => Chart::Ok { data: comparison },
        Ok(None) => Chart::Missing {
            message: format!(
                "no model comparison at {}: run pitwall ml compare",
                target.join(ml::compare::COMPARE_FILE)
            ),
        },
        Err(e) => Chart::Missing { message: format!("the model comparison could not be read: {e}") },
    };
    for chart in [missing(&pit_stops), missing(&lap_times), missing(&ml), missing(&ml_compare)].into_iter().flatten() {
        eprintln!("warning: docs chart left out: {chart}");
    }
    ChartData { pit_stops, lap_times, ml, ml_compare }
}

fn missing<T>(chart: &Chart<T>) -> Option<&str> {
    match chart {
        Chart::Ok { .. } => None,
        Chart::Missing { message } => Some(message),
    }
}

/// A chart of one model's rows, or a message saying how to build the model.
async fn model_chart<T, F>(project: &Project, session: &SessionContext, model: &str, read: F) -> Chart<T>
where
    F: AsyncFnOnce(&SessionContext, TableReference) -> Result<T>,
{
    let relation = project.relations.model(model);
    match session.table_exist(relation.clone()) {
        Ok(true) => match read(session, relation).await {
            Ok(data) => Chart::Ok { data },
            Err(e) => Chart::Missing { message: format!("{model} could not be read: {e:#}") },
        },
        Ok(false) => Chart::Missing {
            message: format!(
                "{model} is not in the warehouse at {}: build it first (pitwall build --select +{model})",
                project.config.warehouse
            ),
        },
        Err(e) => Chart::Missing { message: format!("{model} could not be looked up: {e}") },
    }
}

async fn read_pit_stops(session: &SessionContext, relation: TableReference) -> Result<Vec<PitStops>> {
    let columns = ["constructor_name", "count", "mean", "std", "min", "25%", "50%", "75%", "max"];
    let frame = session.table(relation).await?.select_columns(&columns)?;
    // The model orders by mean, but a table's rows come back in no particular order.
    let frame = frame.sort(vec![ident("mean").sort(true, false), ident("constructor_name").sort(true, false)])?;
    let batches = frame.collect().await?;
    let names = strings(&batches, "constructor_name")?;
    let column = |name: &str| floats(&batches, name);
    let (count, mean, std, min) = (column("count")?, column("mean")?, column("std")?, column("min")?);
    let (q1, median, q3, max) = (column("25%")?, column("50%")?, column("75%")?, column("max")?);
    Ok((0..names.len())
        .map(|i| PitStops {
            constructor: names[i].clone().unwrap_or_default(),
            count: count[i],
            mean: mean[i],
            std: std[i],
            min: min[i],
            q1: q1[i],
            median: median[i],
            q3: q3[i],
            max: max[i],
        })
        .collect())
}

async fn read_lap_times(session: &SessionContext, relation: TableReference) -> Result<Vec<LapTimes>> {
    let frame =
        session.table(relation).await?.select_columns(&["race_year", "lap_time_seconds", "lap_moving_avg_5_years"])?;
    let batches = frame.sort(vec![ident("race_year").sort(true, false)])?.collect().await?;
    let years = floats(&batches, "race_year")?;
    let seconds = floats(&batches, "lap_time_seconds")?;
    let moving = floats(&batches, "lap_moving_avg_5_years")?;
    Ok((0..years.len())
        .filter_map(|i| Some(LapTimes { year: years[i]? as i64, seconds: seconds[i], moving_avg: moving[i] }))
        .collect())
}

/// A column of every batch as floats, whatever its numeric type (decimal, integer, float).
fn floats(batches: &[RecordBatch], name: &str) -> Result<Vec<Option<f64>>> {
    let mut out = Vec::new();
    for batch in batches {
        let column = batch.column_by_name(name).with_context(|| format!("no column {name}"))?;
        let cast = arrow::compute::cast_with_options(column, &DataType::Float64, &STRICT)
            .with_context(|| format!("column {name}"))?;
        let values = cast.as_primitive::<Float64Type>();
        out.extend((0..values.len()).map(|i| values.is_valid(i).then(|| values.value(i))));
    }
    Ok(out)
}

/// A column of every batch as text (Utf8, or the Utf8View Parquet reads give).
fn strings(batches: &[RecordBatch], name: &str) -> Result<Vec<Option<String>>> {
    let mut out = Vec::new();
    for batch in batches {
        let column = batch.column_by_name(name).with_context(|| format!("no column {name}"))?;
        let cast = arrow::compute::cast_with_options(column, &DataType::Utf8, &STRICT)
            .with_context(|| format!("column {name}"))?;
        let values = cast.as_string::<i32>();
        out.extend((0..values.len()).map(|i| values.is_valid(i).then(|| values.value(i).to_owned())));
    }
    Ok(out)
}
