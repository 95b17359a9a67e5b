//! The models `pitwall ml compare` chooses between ([`candidates`]), and how each is fitted
//! into a [`ModelArtifact`] that predicts without linfa.
//!
//! - the workshop's logistic regression on raw features and on standardized ones
//!   (fitted by [`classifier::fit`], the default path, when trained for good);
//! - logistic regression on one-hot categoricals (`circuit_name`, `constructor_name`,
//!   `driver`: label codes, not quantities) plus standardized numerics, as scikit-learn's
//!   `OneHotEncoder` + `StandardScaler`, at three regularisation strengths, with and
//!   without class balancing. linfa-logistic takes no sample weights, so balancing
//!   resamples the training rows ([`balanced_rows`]): every class is replicated up to the
//!   largest class's count (whole copies, then a seeded draw of the remainder), which
//!   weighs each class like scikit-learn's `class_weight="balanced"` up to a constant;
//! - a class-weighted decision tree and random forest ([`crate::trees`]) at a few depths.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use linfa::DatasetBase;
use linfa::traits::Fit;
use linfa_logistic::MultiLogisticRegression;
use ndarray::{ArrayView1, ArrayView2, Axis};
use serde_json::{Value, json};

use crate::classifier::{
    self, CandidateRecord, FEATURES, LAYOUT, MODEL_NAME, MODEL_VERSION, ModelArtifact, SplitRecord, Standardization,
    TARGET, TrainSettings, TrainingInfo,
};
use crate::encoding::Encoding;
use crate::error::MlError;
use crate::split::Mt19937;
use crate::trees::{Forest, TreeSettings};

/// The features that are label-encoded categories (positions in [`FEATURES`]).
pub const CATEGORICAL: [usize; 3] = [1, 3, 4];

/// One model to compare: a name (what `meta.model` names) and how to fit it.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub name: String,
    pub spec: Spec,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Spec {
    /// The workshop's model, as [`classifier::fit`] trains it.
    Workshop {
        standardize: bool,
    },
    OneHotLogistic {
        balanced: bool,
        alpha: f64,
        max_iterations: u64,
    },
    Trees(TreeSettings),
}

/// Every candidate, in the order the comparison lists them (and breaks ties: earlier wins).
pub fn candidates(seed: u32) -> Vec<Candidate> {
    let mut all = vec![
        Candidate { name: "logistic_raw".into(), spec: Spec::Workshop { standardize: false } },
        Candidate { name: "logistic_standardized".into(), spec: Spec::Workshop { standardize: true } },
    ];
    for balanced in [false, true] {
        for c in [0.1, 1.0, 10.0] {
            let prefix = if balanced { "logistic_onehot_balanced" } else { "logistic_onehot" };
            let spec = Spec::OneHotLogistic { balanced, alpha: 1.0 / c, max_iterations: 300 };
            all.push(Candidate { name: format!("{prefix}_c{c}"), spec });
        }
    }
    let tree = |trees, max_depth, min_leaf, max_features, bootstrap| TreeSettings {
        trees,
        max_depth,
        min_leaf,
        max_features,
        bootstrap,
        class_weighted: true,
        seed,
    };
    for depth in [4, 6, 8] {
        all.push(Candidate { name: format!("tree_d{depth}"), spec: Spec::Trees(tree(1, Some(depth), 5, None, false)) });
    }
    for (depth, leaf) in [(Some(6), 5), (Some(10), 3), (None, 1)] {
        let name = format!("forest_d{}_l{leaf}", depth.map_or("max".to_owned(), |d: usize| d.to_string()));
        all.push(Candidate { name, spec: Spec::Trees(tree(100, depth, leaf, Some(3), true)) });
    }
    all
}

/// The candidate called `name`, or an error listing the names there are.
pub fn find(name: &str, seed: u32) -> Result<Candidate, MlError> {
    let all = candidates(seed);
    let names: Vec<String> = all.iter().map(|c| c.name.clone()).collect();
    all.into_iter().find(|c| c.name == name).ok_or_else(|| {
        MlError::Config(format!("meta.model names no candidate '{name}': use auto or one of {}", names.join(", ")))
    })
}

impl Candidate {
    pub fn family(&self) -> &'static str {
        match &self.spec {
            Spec::Workshop { standardize: false } => "logistic regression, raw features (workshop)",
            Spec::Workshop { standardize: true } => "logistic regression, standardized features",
            Spec::OneHotLogistic { .. } => "logistic regression, one-hot categoricals + standardized numerics",
            Spec::Trees(s) if s.trees == 1 => "decision tree",
            Spec::Trees(_) => "random forest",
        }
    }

    pub fn class_balancing(&self) -> &'static str {
        match &self.spec {
            Spec::Workshop { .. } | Spec::OneHotLogistic { balanced: false, .. } => "none",
            Spec::OneHotLogistic { balanced: true, .. } => "resampling: classes replicated to the largest's count",
            Spec::Trees(_) => "class weights n / (classes * n_class)",
        }
    }

    pub fn hyperparameters(&self) -> BTreeMap<String, Value> {
        let settings = TrainSettings::default();
        let pairs: Vec<(&str, Value)> = match &self.spec {
            Spec::Workshop { .. } => {
                vec![("alpha", json!(settings.alpha)), ("max_iterations", json!(settings.max_iterations))]
            }
            Spec::OneHotLogistic { alpha, max_iterations, .. } => {
                vec![("alpha", json!(alpha)), ("C", json!(1.0 / alpha)), ("max_iterations", json!(max_iterations))]
            }
            Spec::Trees(s) => vec![
                ("trees", json!(s.trees)),
                ("max_depth", json!(s.max_depth)),
                ("min_leaf", json!(s.min_leaf)),
                ("max_features", json!(s.max_features)),
                ("bootstrap", json!(s.bootstrap)),
                ("seed", json!(s.seed)),
            ],
        };
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    pub fn record(&self, chosen_by: String) -> CandidateRecord {
        CandidateRecord {
            name: self.name.clone(),
            family: self.family().into(),
            hyperparameters: self.hyperparameters(),
            class_balancing: self.class_balancing().into(),
            chosen_by,
        }
    }

    /// Fits the candidate on raw feature rows `x` (in [`FEATURES`] order) and labels `y`.
    /// `for_keeps`: the model is stored, so record its iterations and convergence (the
    /// refits that costs are skipped inside cross-validation).
    pub fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, i64>,
        split: SplitRecord,
        for_keeps: bool,
    ) -> Result<classifier::Fitted, MlError> {
        match &self.spec {
            Spec::Workshop { standardize } if for_keeps => {
                classifier::fit(x, y, &TrainSettings { standardize: *standardize, ..Default::default() }, split)
            }
            Spec::Workshop { standardize } => {
                let settings = TrainSettings::default();
                let encoding = None;
                fit_logistic(x, y, encoding, *standardize, settings.alpha, settings.max_iterations, split, false)
            }
            Spec::OneHotLogistic { balanced, alpha, max_iterations } => {
                let rows = x.nrows();
                let (x, y) = match balanced {
                    true => {
                        let rows = balanced_rows(y, TrainSettings::default().seed);
                        (x.select(Axis(0), &rows), y.select(Axis(0), &rows))
                    }
                    false => (x.to_owned(), y.to_owned()),
                };
                let encoding = Some(Encoding::one_hot(x.view(), &CATEGORICAL));
                let mut fitted =
                    fit_logistic(x.view(), y.view(), encoding, true, *alpha, *max_iterations, split, for_keeps)?;
                // The rows trained on, before any resampling.
                fitted.artifact.training.train_rows = rows;
                Ok(fitted)
            }
            Spec::Trees(settings) => Ok(fit_trees(x, y, settings, split)),
        }
    }
}

/// Row positions that balance the classes of `y`: each class's rows repeated up to the
/// largest class's count, whole copies first, then a seeded draw without replacement
/// for the remainder.
pub fn balanced_rows(y: ArrayView1<'_, i64>, seed: u32) -> Vec<usize> {
    let mut by_class: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    y.iter().enumerate().for_each(|(i, c)| by_class.entry(*c).or_default().push(i));
    let largest = by_class.values().map(Vec::len).max().unwrap_or(0);
    let mut rng = Mt19937::new(seed);
    let mut rows = Vec::with_capacity(largest * by_class.len());
    for members in by_class.values() {
        for _ in 0..largest / members.len() {
            rows.extend_from_slice(members);
        }
        let extra = rng.permutation(members.len());
        rows.extend(extra.iter().take(largest % members.len()).map(|&i| members[i]));
    }
    rows
}

/// A linfa-logistic fit on the encoded (and standardized) rows, kept as an artifact.
#[allow(clippy::too_many_arguments)] // one call per candidate family, each reads better spelt out
fn fit_logistic(
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, i64>,
    encoding: Option<Encoding>,
    standardize: bool,
    alpha: f64,
    max_iterations: u64,
    split: SplitRecord,
    for_keeps: bool,
) -> Result<classifier::Fitted, MlError> {
    let encoded = encoding.as_ref().map_or_else(|| x.to_owned(), |e| e.apply(x));
    let standardization = standardize.then(|| one_hot_aware_standardization(encoded.view(), encoding.as_ref()));
    let input = standardization.as_ref().map_or_else(|| encoded.clone(), |s| s.apply(encoded.view()));
    let tolerance = TrainSettings::default().gradient_tolerance;
    let dataset = DatasetBase::new(input.view(), y);
    let run = |cap: u64| {
        MultiLogisticRegression::default()
            .alpha(alpha)
            .max_iterations(cap)
            .gradient_tolerance(tolerance)
            .fit(&dataset)
            .map_err(|e| MlError::Fit(format!("{} could not fit the model: {e}", classifier::LIBRARY)))
    };
    let clock = Instant::now();
    let model = run(max_iterations)?;
    let fit_time = clock.elapsed();
    let iterations = match for_keeps {
        true => classifier::iterations_used(max_iterations, |k| {
            let m = run(k)?;
            Ok(m.params() == model.params() && m.intercept() == model.intercept())
        })?,
        false => max_iterations,
    };
    let mut info = training_info(x.nrows(), split, "L-BFGS (argmin, memory 10, More-Thuente line search)");
    (info.alpha, info.max_iterations, info.gradient_tolerance) = (alpha, max_iterations, tolerance);
    (info.standardized, info.iterations) = (standardize, iterations);
    let mut artifact = artifact("multinomial logistic regression", model.classes().to_vec(), info);
    artifact.coefficients = model.params().rows().into_iter().map(|r| r.to_vec()).collect();
    artifact.intercepts = model.intercept().to_vec();
    (artifact.standardization, artifact.encoding) = (standardization, encoding);
    if for_keeps {
        let norm = classifier::gradient_norm(&artifact, input.view(), y, alpha);
        artifact.training.gradient_norm = norm;
        artifact.training.converged = iterations < max_iterations || norm < tolerance;
    }
    Ok(classifier::Fitted { artifact, fit_time })
}

/// Standardization of encoded columns that leaves one-hot columns as 0/1, as a
/// `ColumnTransformer` scaling only the numerics does.
fn one_hot_aware_standardization(x: ArrayView2<'_, f64>, encoding: Option<&Encoding>) -> Standardization {
    let mut s = Standardization::fit(x);
    for (i, column) in encoding.map(|e| e.columns.as_slice()).unwrap_or_default().iter().enumerate() {
        if column.equals.is_some() {
            (s.mean[i], s.scale[i]) = (0.0, 1.0);
        }
    }
    s
}

fn fit_trees(
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, i64>,
    settings: &TreeSettings,
    split: SplitRecord,
) -> classifier::Fitted {
    let mut classes: Vec<i64> = y.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let index: Vec<usize> = y.iter().map(|c| classes.partition_point(|k| k < c)).collect();
    let clock = Instant::now();
    let forest = Forest::fit(x, &index, classes.len(), settings);
    let fit_time: Duration = clock.elapsed();
    let solver = "CART (Gini impurity, weighted by class), grown by crates/ml/src/trees.rs";
    let mut info = training_info(x.nrows(), split, solver);
    info.converged = true;
    let kind = if settings.trees == 1 { "decision tree" } else { "random forest" };
    let mut artifact = artifact(kind, classes, info);
    artifact.forest = Some(forest);
    classifier::Fitted { artifact, fit_time }
}

fn training_info(train_rows: usize, split: SplitRecord, solver: &str) -> TrainingInfo {
    let defaults = TrainSettings::default();
    let library = if solver.starts_with("CART") { "pitwall-ml" } else { classifier::LIBRARY };
    TrainingInfo {
        rows: split.rows,
        train_rows,
        test_rows: split.test_rows,
        split: split.description,
        seed: defaults.seed,
        train_size: defaults.train_size,
        library: library.into(),
        library_version: if solver.starts_with("CART") { "0.0.0".into() } else { classifier::LIBRARY_VERSION.into() },
        solver: solver.into(),
        alpha: 0.0,
        max_iterations: 0,
        gradient_tolerance: 0.0,
        standardized: false,
        iterations: 0,
        converged: false,
        gradient_norm: 0.0,
        candidate: None,
    }
}

fn artifact(kind: &str, classes: Vec<i64>, training: TrainingInfo) -> ModelArtifact {
    let layout = match kind {
        "multinomial logistic regression" => format!(
            "{LAYOUT}; with an encoding, x is first the encoding's columns (a feature's value, or 1 where it \
             equals the category)"
        ),
        _ => "each tree: from nodes[0], go left when features[feature] <= threshold, until a leaf; average the \
              leaves' distributions over the trees; prediction = classes[argmax] (first on ties)"
            .to_owned(),
    };
    ModelArtifact {
        name: MODEL_NAME.into(),
        version: MODEL_VERSION.into(),
        kind: kind.into(),
        layout,
        target: TARGET.into(),
        features: FEATURES.iter().map(|f| f.to_string()).collect(),
        classes,
        coefficients: Vec::new(),
        intercepts: Vec::new(),
        standardization: None,
        training,
        encoding: None,
        forest: None,
    }
}
