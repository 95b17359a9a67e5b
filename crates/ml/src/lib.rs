//! ml: the machine-learning layer of the workshop, predicting a driver's finishing
//! position class (podium / points / none) from marts data.
//!
//! - `ml/prep` (SQL in `models/prep/`): `ml_data_prep` (2010-2020 results cleaned, with
//!   driver confidence, constructor reliability and 2020-activity flags),
//!   `covariate_encoding` (label-encoded covariates of active drivers and constructors,
//!   `position_label`), `train_test_dataset` (2010-2019, tag `train`) and
//!   `hold_out_dataset_for_prediction` (2020, tag `predict`). `result_id` is carried
//!   through them as the row key that orders the split.
//! - `ml/train_predict` (Rust, [`train_predict`]): `train_test_position` (tag `train`)
//!   reproduces scikit-learn's seeded 70/30 split exactly ([`split`]), fits a multinomial
//!   logistic regression with linfa-logistic ([`classifier`]), scores it ([`metrics`]) and
//!   saves model and metrics as JSON in the model stage ([`stage`]);
//!   `predict_position` (tag `predict`) applies the stored model to the 2020 hold-out.
//!   [`metrics_report`] renders the stored metrics.
//!
//! The prep models and the properties binding the two Rust models (`rust_model`) are
//! files in `models/`, read from disk at every run; this crate compiles in the two Rust
//! models ([`COMPILED_MODELS`]) and the report.
//!
//! Setting: `[models.ml.train_predict.meta] standardize = true` in `pitwall.toml` (or the
//! model's own `meta` in its properties entry) standardises features before fitting; the
//! default trains on the raw features, as the workshop does.
//!
//! This crate must never read a source or a staging/intermediate model (it refs marts'
//! `fct_results` and its own models), write to the warehouse itself (the runner
//! materializes what its models return), or loop over rows in Rust: relational steps are
//! DataFusion plans, and the numeric steps move whole columns into ndarray at once.

use futures::future::BoxFuture;
use pitwall_core::layer::{ReportArgs, ReportOption, ReportOptions};
use pitwall_core::{CompiledModel, Error, Layer, Location, ProjectConfig, Report, Result};

pub mod candidates;
pub mod classifier;
pub mod compare;
pub mod dataset;
pub mod encoding;
pub mod error;
pub mod features;
pub mod metrics;
pub mod split;
pub mod stage;
pub mod train_predict;
pub mod trees;

use classifier::TrainSettings;
pub use error::MlError;
pub use train_predict::{PREDICT_POSITION, PredictPosition, TRAIN_TEST_POSITION, TrainTestPosition, Trained};

/// The ml layer: its two Rust models and the trained model's report.
pub static LAYER: Layer = Layer {
    name: "ml",
    about: "The ml layer: prep tables, training (train_test_position) and prediction (predict_position)",
    compiled_models: COMPILED_MODELS,
    loader: None,
    reports: &[
        Report {
            name: "report",
            about: "The stored model's metrics (balanced accuracy, per-class precision/recall/F1, confusion \
                    matrix, iterations, convergence) for the test split and the 2020 hold-out",
            after_model: Some(TRAIN_TEST_POSITION),
            render: render_metrics,
            options: None,
        },
        Report {
            name: "compare",
            about: "Model selection: stratified k-fold cross-validation on the training split of every candidate \
                    (the workshop's logistic regression, standardized, one-hot and class-balanced variants, a \
                    decision tree and random forests); prints CV balanced accuracy mean ± sd, test, 2020 hold-out \
                    and fit time, and writes <target-path>/ml_compare.json. Needs train_test_dataset and \
                    hold_out_dataset_for_prediction in the warehouse",
            after_model: None,
            render: render_compare_defaults,
            options: Some(ReportOptions { options: COMPARE_OPTIONS, render: render_compare }),
        },
    ],
};

const COMPARE_OPTIONS: &[ReportOption] = &[
    ReportOption { name: "folds", help: "Cross-validation folds", default: "5" },
    ReportOption { name: "seed", help: "Seed of the folds, the resampling and the forests", default: "42" },
];

fn render_compare_defaults(config: &ProjectConfig) -> BoxFuture<'_, Result<String>> {
    Box::pin(compare::run(config, compare::DEFAULT_FOLDS, TrainSettings::default().seed))
}

fn render_compare<'a>(config: &'a ProjectConfig, args: &'a ReportArgs) -> BoxFuture<'a, Result<String>> {
    Box::pin(async move {
        let number = |name: &str| -> Result<u64> {
            let text = args.get(name).map(String::as_str).unwrap_or_default();
            text.parse().map_err(|_| Error::config(format!("--{name}"), format!("not a whole number: '{text}'")))
        };
        let folds = usize::try_from(number("folds")?).unwrap_or(usize::MAX);
        let seed = u32::try_from(number("seed")?).map_err(|_| Error::config("--seed", "must be at most 4294967295"))?;
        compare::run(config, folds, seed).await
    })
}

/// The Rust models a project binds by name (`config: {rust_model: train_test_position}`).
pub const COMPILED_MODELS: &[CompiledModel] = &[train_predict::TRAIN, train_predict::PREDICT];

fn render_metrics(config: &ProjectConfig) -> BoxFuture<'_, Result<String>> {
    Box::pin(metrics_report(&config.model_stage))
}

/// The metrics stored beside the model in `stage` (the model stage location), rendered
/// for reading: training details, then balanced accuracy, the per-class table and the
/// confusion matrix for the test split and for the 2020 hold-out.
pub async fn metrics_report(stage: &Location) -> Result<String> {
    let metrics = stage::load_metrics(stage).await?.ok_or_else(|| {
        Error::config(
            stage::metrics_location(stage).to_string(),
            "no metrics here: train the model first (pitwall build --select +train_test_position)",
        )
    })?;
    let t = &metrics.training;
    let splits = format!("{}\n{}", metrics.test.render("Test split"), metrics.hold_out.render("2020 hold-out"));
    if let Some(candidate) = &t.candidate {
        let hyperparameters: Vec<String> = candidate.hyperparameters.iter().map(|(k, v)| format!("{k} {v}")).collect();
        return Ok(format!(
            "Model {} (candidate {}: {}; {} {})\nHyperparameters: {}; class balancing: {}\nChosen by: {}\n\
             Trained on {} of {} rows ({}), tested on {}, fit in {:.1} ms\n\n{splits}",
            metrics.model,
            candidate.name,
            candidate.family,
            t.library,
            t.library_version,
            hyperparameters.join(", "),
            candidate.class_balancing,
            candidate.chosen_by,
            t.train_rows,
            t.rows,
            t.split,
            t.test_rows,
            metrics.fit_ms,
        ));
    }
    let features = if t.standardized { "standardized features" } else { "raw features" };
    let converged = if t.converged { "yes" } else { "no" };
    Ok(format!(
        "Model {} ({} {}, {features})\n\
         Trained on {} of {} rows ({}), tested on {}\n\
         L2 alpha {} (scikit-learn C = {}), {} L-BFGS iterations of at most {}, converged: {converged} \
         (gradient norm {:.3e}, tolerance {:e}), fit in {:.1} ms\n\n{splits}",
        metrics.model,
        t.library,
        t.library_version,
        t.train_rows,
        t.rows,
        t.split,
        t.test_rows,
        t.alpha,
        1.0 / t.alpha,
        t.iterations,
        t.max_iterations,
        t.gradient_norm,
        t.gradient_tolerance,
        metrics.fit_ms,
    ))
}

#[cfg(test)]
mod tests;
